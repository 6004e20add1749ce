//! The conv nets and the extended MultiLayerNet: gradients by backpropagation against
//! central differences in f64, the book's trained weights reaching the book's accuracies,
//! and state (batch normalisation's statistics) surviving a model file.

use crate::common;

use std::collections::BTreeMap;

use crate::common::{assert_checks_agree, assert_gradients_agree};
use mitbadak::data::Mnist;
use mitbadak::gradient::gradient_check_sampled;
use mitbadak::layers::DropoutMode;
use mitbadak::model_file::{load_model, save_model};
use mitbadak::nets::*;
use mitbadak::seeded_rng;
use mitbadak::train::evaluate;
use ndarray::{Array2, Array4, ArrayD};
use rand::RngExt;

fn images(n: usize, side: usize, seed: u64) -> ArrayD<f64> {
    let mut rng = seeded_rng(seed);
    Array4::from_shape_simple_fn((n, 1, side, side), || rng.random::<f64>()).into_dyn()
}

#[test]
fn simple_convnet_gradients_agree() {
    let config = SimpleConvNetConfig {
        input_dim: [1, 8, 8],
        filter_num: 3,
        filter_size: 3,
        pad: 1,
        stride: 1,
        hidden_size: 5,
        output_size: 3,
    };
    let mut net = SimpleConvNet::<f64>::with_init(&config, WeightInit::Std(0.3), &mut seeded_rng(1));
    let names: Vec<String> = net.params().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["W1", "b1", "W2", "b2", "W3", "b3"]);
    assert_gradients_agree(&mut net, &images(2, 8, 2), &vec![0usize, 2]);
}

/// DeepConvNet has about 12,000 ReLU and max-pooling units on three 8x8 images: a step of
/// h = 1e-4 in an early weight moves all of them, and in most draws one of them crosses its
/// kink (a pre-activation through 0, two maxima trading places), where a central difference
/// is meaningless. These seeds (weights 13, images 14, biases away from 0) draw a network and
/// images where none does; the layers themselves are checked one by one in tests/it/layers.rs.
#[test]
fn deep_convnet_gradients_agree_with_and_without_batch_norm() {
    for batch_norm in [false, true] {
        let config = DeepConvNetConfig {
            input_dim: [1, 8, 8],
            hidden_size: 4,
            output_size: 3,
            dropout: None,
            batch_norm,
        };
        let mut net = DeepConvNet::<f64>::new(&config, &mut seeded_rng(13));
        let weights: Vec<String> =
            net.params().into_iter().map(|p| p.name).filter(|n| n.starts_with('W')).collect();
        assert_eq!(weights, ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"]);
        let mut rng = seeded_rng(14);
        for mut p in net.params().into_iter().filter(|p| p.name.starts_with('b')) {
            p.value.mapv_inplace(|_| rng.random_range(-0.2..0.2)); // no pre-activation exactly at 0
        }
        let x = Array4::from_shape_simple_fn((3, 1, 8, 8), || rng.random::<f64>()).into_dyn();
        // 70,000 parameters: 200 elements of each (all of the smaller ones)
        let parameters = net.params().len();
        let checks = gradient_check_sampled(&mut net, &x, &vec![0usize, 2, 1], 200, 9).unwrap();
        assert_eq!(checks.len(), parameters, "batch norm {batch_norm}: every parameter is checked");
        assert_checks_agree(&format!("DeepConvNet, batch norm {batch_norm}"), &checks);
    }
}

#[test]
fn multi_layer_net_with_batch_norm_gradients_agree() {
    let config = MultiLayerNetConfig {
        input_size: 6,
        hidden_size_list: vec![5, 4],
        output_size: 3,
        use_batchnorm: true,
        ..Default::default()
    };
    let mut net = MultiLayerNet::<f64>::new(&config, &mut seeded_rng(5));
    let names: Vec<String> = net.params().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]);
    let mut rng = seeded_rng(6);
    let x = Array2::from_shape_simple_fn((5, 6), || rng.random::<f64>()).into_dyn();
    assert_gradients_agree(&mut net, &x, &vec![0usize, 1, 2, 1, 0]);
}

#[test]
fn batch_norm_statistics_survive_a_model_file() {
    let config = MultiLayerNetConfig {
        input_size: 6,
        hidden_size_list: vec![5],
        output_size: 3,
        use_batchnorm: true,
        dropout: Some(DropoutConfig { ratio: 0.2, mode: DropoutMode::Inverted }),
        ..Default::default()
    };
    let mut net = MultiLayerNet::<f32>::new(&config, &mut seeded_rng(7));
    let mut rng = seeded_rng(8);
    let x = Array2::from_shape_simple_fn((10, 6), || rng.random::<f32>() * 4.0 - 1.0).into_dyn();
    net.backprop(x.clone(), &vec![0usize, 1, 2, 0, 1, 2, 0, 1, 2, 0]).unwrap(); // moves the running statistics
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.safetensors");
    save_model(&mut net, &path, &BTreeMap::new()).unwrap();
    let mut loaded = load_model::<f32>(&path, None).unwrap();
    let names: Vec<String> = loaded.network.state().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["W1", "b1", "gamma1", "beta1", "running_mean1", "running_var1", "W2", "b2"]);
    assert_eq!(loaded.network.predict(&x).unwrap(), net.predict(&x).unwrap());
}

#[test]
fn the_books_convnet_weights_reach_the_books_accuracies() {
    let (ch07, ch08) = (
        common::reference_file("ch07_simple_convnet.safetensors"),
        common::reference_file("ch08_deep_convnet.safetensors"),
    );
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let mut simple = load_model::<f32>(&ch07, Some(&Architecture::simple_convnet([1, 28, 28], 10))).unwrap();
    assert_eq!(evaluate(simple.network.as_mut(), &data.test).unwrap(), 0.989);
    for (mode, accuracy) in [(DropoutMode::Book, 0.9935), (DropoutMode::Inverted, 0.9938)] {
        let dropout = Some(DropoutConfig { ratio: 0.5, mode });
        let mut deep =
            load_model::<f32>(&ch08, Some(&Architecture::deep_convnet([1, 28, 28], 10, dropout, false)))
                .unwrap();
        assert_eq!(evaluate(deep.network.as_mut(), &data.test).unwrap(), accuracy, "{mode:?} dropout");
    }
}
