//! Networks: gradients by backpropagation against central differences, the book's numbers,
//! seeding, and errors on inputs and labels that do not fit.

use crate::common::assert_gradients_agree;
use mitbadak::Error;
use mitbadak::gradient::gradient_check;
use mitbadak::nets::*;
use mitbadak::print::numpy_str;
use mitbadak::seeded_rng;
use mitbadak::targets::one_hot;
use ndarray::{Array2, ArrayD, Axis, array};
use rand::RngExt;

fn random_inputs(n: usize, d: usize, seed: u64) -> ArrayD<f64> {
    let mut rng = seeded_rng(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random::<f64>()).into_dyn()
}

#[test]
fn two_layer_net_gradients_agree_with_one_hot_and_index_labels() {
    let mut net = TwoLayerNet::<f64>::new(6, 5, 4, 0.5, &mut seeded_rng(1));
    let x = random_inputs(3, 6, 2);
    let labels = vec![3usize, 0, 2];
    assert_gradients_agree(&mut net, &x, &labels);
    assert_gradients_agree(&mut net, &x, &one_hot::<f64>(&labels, 4));
}

#[test]
fn two_layer_net_784_50_10_gradients_agree_as_in_the_book() {
    let mut net = TwoLayerNet::<f64>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
    let x = random_inputs(3, 784, 3);
    let checks = gradient_check(&mut net, &x, &vec![7usize, 2, 1]).unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["W1", "b1", "W2", "b2"]);
    for c in checks {
        assert!(c.mean_abs_diff < 1e-9, "{}: mean abs diff {:e}", c.name, c.mean_abs_diff);
        assert!(c.max_rel_error < 1e-6, "{}: max relative error {:e}", c.name, c.max_rel_error);
    }
}

#[test]
fn multi_layer_net_gradients_agree_for_every_activation_and_head() {
    let x = random_inputs(4, 5, 10);
    let labels = vec![0usize, 2, 1, 2];
    for activation in [Activation::Relu, Activation::Sigmoid] {
        for head in [Head::SoftmaxCrossEntropy, Head::IdentityMse, Head::SigmoidMse] {
            let config = MultiLayerNetConfig {
                input_size: 5,
                hidden_size_list: vec![6, 4, 5],
                output_size: 3,
                activation,
                head,
                ..Default::default()
            };
            let mut net = MultiLayerNet::<f64>::with_init(&config, WeightInit::Std(0.8), &mut seeded_rng(11));
            let names: Vec<String> = net.params().into_iter().map(|p| p.name).collect();
            assert_eq!(names, ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"]);
            assert_gradients_agree(&mut net, &x, &labels);
            let targets = Array2::from_shape_fn((4, 3), |(i, j)| (i + j) as f64 / 10.0);
            if head != Head::SoftmaxCrossEntropy {
                assert_gradients_agree(&mut net, &x, &targets);
            }
        }
    }
}

#[test]
fn the_books_three_layer_network_prints_its_numbers() {
    let mut net = MultiLayerNet::from_weights(
        vec![
            (array![[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], array![0.1, 0.2, 0.3]),
            (array![[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], array![0.1, 0.2]),
            (array![[0.1, 0.3], [0.2, 0.4]], array![0.1, 0.2]),
        ],
        Activation::Sigmoid,
        Head::IdentityMse,
    )
    .unwrap();
    let y = net.predict(&array![[1.0f64, 0.5]].into_dyn()).unwrap();
    assert_eq!(numpy_str(&y.index_axis(Axis(0), 0)), "[0.31682708 0.69627909]");
    assert!((y[[0, 0]] - 0.3168270764110298f64).abs() < 1e-15);
}

#[test]
fn from_weights_rejects_weights_that_do_not_chain() {
    let err = MultiLayerNet::<f64>::from_weights(
        vec![
            (Array2::zeros((2, 3)), ndarray::Array1::zeros(3)),
            (Array2::zeros((4, 2)), ndarray::Array1::zeros(2)),
        ],
        Activation::Relu,
        Head::SoftmaxCrossEntropy,
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "shape mismatch in W2: expected (3, M): 3 rows to take the previous width, got (4, 2)"
    );
}

#[test]
fn the_same_seed_gives_the_same_network_and_another_seed_another() {
    let weights = |seed| -> Vec<f32> {
        let mut net = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(seed));
        net.params().iter().flat_map(|p| p.value.iter().copied().collect::<Vec<_>>()).collect()
    };
    assert_eq!(weights(7), weights(7));
    assert_ne!(weights(7), weights(8));
    let w = weights(7);
    let std = (w[..784 * 50].iter().map(|v| v * v).sum::<f32>() / (784.0 * 50.0)).sqrt();
    assert!((std - 0.01).abs() < 0.0005, "W1 is drawn from N(0, 0.01²): std {std}");
}

#[test]
fn a_wrong_input_width_is_an_error_naming_both_shapes() {
    let mut net = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
    let x = ArrayD::zeros(ndarray::IxDyn(&[3, 783]));
    let err = net.predict(&x).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }));
    assert_eq!(err.to_string(), "shape mismatch in TwoLayerNet input: expected (N, 784), got (3, 783)");
    assert!(net.accuracy(&x, &vec![0usize; 3]).is_err());
}

#[test]
fn labels_of_the_wrong_length_or_class_are_errors() {
    let mut net = TwoLayerNet::<f32>::new(4, 3, 2, 0.1, &mut seeded_rng(0));
    let x = ArrayD::zeros(ndarray::IxDyn(&[3, 4]));
    let err = net.loss(&x, &vec![0usize, 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch in TwoLayerNet targets: expected 3 targets, one per input sample, got 2 targets"
    );
    let err = net.accuracy(&x, &vec![0usize, 1]).unwrap_err();
    assert!(err.to_string().contains("expected 3 class indices"), "{err}");
    let err = net.loss(&x, &Array2::<f32>::zeros((3, 5))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch in TwoLayerNet targets: expected one-hot targets of shape (3, 2) matching the output, got (3, 5)"
    );
    let err = net.gradient(&x, &vec![0usize, 1, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid TwoLayerNet label: label 2 at position 2 is not a class of an output with 2 classes"
    );
}

#[test]
fn accuracy_counts_the_argmax_against_indices_or_one_hot() {
    let mut net = MultiLayerNet::from_weights(
        vec![(Array2::eye(3), ndarray::Array1::zeros(3))],
        Activation::Relu,
        Head::SoftmaxCrossEntropy,
    )
    .unwrap();
    let x = array![[1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [0.0, 0.0, 3.0], [5.0, 6.0, 0.0]].into_dyn();
    let labels = vec![0usize, 1, 1, 1];
    assert_eq!(net.accuracy(&x, &labels).unwrap(), 0.75);
    assert_eq!(net.accuracy(&x, &one_hot::<f64>(&labels, 3)).unwrap(), 0.75);
}

/// The sparse path (a batch as sparse rows, the first `Affine` skipping zeros) against the
/// dense path: the same scores, loss and gradients.
#[test]
fn a_sparse_batch_gives_what_the_dense_batch_gives() {
    use mitbadak::layers::Input;
    use mitbadak::matmul::SparseRows;
    let mut rng = seeded_rng(4);
    let x = Array2::from_shape_simple_fn((32, 40), || {
        if rng.random::<f64>() < 0.2 { rng.random::<f32>() } else { 0.0 }
    });
    let labels: Vec<usize> = (0..32).map(|i| i % 10).collect();
    let sparse = || Input::Sparse(SparseRows::from_dense(x.as_slice().unwrap(), 32, 40));
    let dense = || Input::Dense(x.clone().into_dyn());
    let config = MultiLayerNetConfig {
        input_size: 40,
        hidden_size_list: vec![16, 12],
        output_size: 10,
        ..Default::default()
    };
    let (mut a, mut b) = (
        MultiLayerNet::<f32>::new(&config, &mut seeded_rng(5)),
        MultiLayerNet::<f32>::new(&config, &mut seeded_rng(5)),
    );

    let (ya, yb) = (a.forward_input(sparse(), false).unwrap(), b.forward_input(dense(), false).unwrap());
    assert!(ya.iter().zip(yb.iter()).all(|(p, q)| (p - q).abs() < 1e-5));
    let (la, lb) =
        (a.backprop_input(sparse(), &labels).unwrap(), b.backprop_input(dense(), &labels).unwrap());
    assert!((la - lb).abs() < 1e-5, "{la} vs {lb}");
    for (pa, pb) in a.params().iter().zip(b.params().iter()) {
        let worst = pa.grad.iter().zip(pb.grad.iter()).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{}: gradients differ by {worst:e}", pa.name);
    }
}

#[test]
fn architecture_check_counts_the_values_each_network_is_built_with() {
    let dropout = Some(DropoutConfig { ratio: 0.5, mode: mitbadak::layers::DropoutMode::Inverted });
    let architectures = [
        Architecture::two_layer(784, 50, 10),
        Architecture::Mlp(MultiLayerNetConfig {
            input_size: 20,
            hidden_size_list: vec![7, 5, 3],
            output_size: 4,
            activation: Activation::Relu,
            head: Head::SoftmaxCrossEntropy,
            use_batchnorm: true,
            dropout,
        }),
        Architecture::simple_convnet([1, 28, 28], 10),
        Architecture::SimpleConvnet(SimpleConvNetConfig {
            input_dim: [3, 9, 7],
            filter_num: 4,
            filter_size: 3,
            pad: 1,
            stride: 2,
            hidden_size: 6,
            output_size: 5,
        }),
        Architecture::deep_convnet([1, 28, 28], 10, dropout, true),
        Architecture::deep_convnet([2, 5, 9], 3, None, false),
        Architecture::deep_convnet([1, 4, 4], 2, None, false),
    ];
    for architecture in architectures {
        let mut network = architecture.build::<f32, _>(None, &mut seeded_rng(0));
        let built: usize = network.state().iter().map(|(_, value)| value.len()).sum();
        assert_eq!(architecture.check().unwrap(), built, "{}", architecture.describe());
    }
}

#[test]
fn deep_convnet_needs_a_4x4_input_for_its_three_poolings() {
    for [h, w] in [[3, 9], [9, 3], [3, 3]] {
        let err = Architecture::deep_convnet([1, h, w], 10, None, false).check().unwrap_err();
        assert!(err.to_string().contains(&format!("a {h}x{w} input is too small for DeepConvNet")), "{err}");
    }
    assert!(Architecture::deep_convnet([1, 4, 4], 10, None, false).check().is_ok());
    let huge = Architecture::deep_convnet([1, usize::MAX, usize::MAX], 10, None, false).check().unwrap_err();
    assert!(huge.to_string().contains("more than 2^64"), "{huge}");
}
