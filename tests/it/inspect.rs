//! Chapters 7 and 8 on the book's trained weights: the first layer's filters
//! (`visualize_filter`), what they make of a picture (`apply_filter`), the test images a
//! network gets wrong (`misclassified_mnist`), its accuracy with 16-bit weights
//! (`half_float_network`), and model files written and read in F16 and BF16.

use crate::common;

use mitbadak::data::{Dataset, Mnist};
use mitbadak::inspect::*;
use mitbadak::model_file::{Dtype, load_model, save_model_as};
use mitbadak::nets::Trainable;
use mitbadak::nets::{Architecture, Network, SimpleConvNet, SimpleConvNetConfig};
use mitbadak::seeded_rng;
use mitbadak::tiles::{Layout, grid_png};
use mitbadak::train::evaluate;
use ndarray::Array2;

fn book_simple_convnet() -> Box<dyn Network<f32>> {
    let path = common::reference_file("ch07_simple_convnet.safetensors");
    load_model_or_book(&path, &Architecture::simple_convnet([1, 28, 28], 10)).unwrap().network
}

/// The first `n` test images.
fn test_images(n: usize) -> Dataset {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    data.test.subset(&(0..n).collect::<Vec<_>>())
}

#[test]
fn filters_before_learning_are_small_noise_and_after_it_are_not() {
    let mut fresh = SimpleConvNet::<f32>::new(&SimpleConvNetConfig::default(), &mut seeded_rng(0));
    let random = first_filters(&mut fresh).unwrap();
    assert_eq!(random.dim(), (30, 1, 5, 5));
    let std = random.std(0.0);
    assert!((0.0085..0.0115).contains(&std), "N(0, 0.01²) weights, std {std}");
    let learned = first_filters(book_simple_convnet().as_mut()).unwrap();
    assert_eq!(learned.dim(), (30, 1, 5, 5));
    assert!(learned.std(0.0) > 10.0 * std, "the book's learned filters, std {}", learned.std(0.0));

    let tiles = filter_tiles(&learned, 30);
    assert_eq!(tiles.len(), 30);
    let shades = tiles[0].shades();
    let values = &tiles[0].values;
    let (lo, hi) = values.iter().enumerate().fold((0, 0), |(lo, hi), (i, v)| {
        (if *v < values[lo] { i } else { lo }, if *v > values[hi] { i } else { hi })
    });
    assert_eq!((shades[lo], shades[hi]), (255, 0), "gray_r: the smallest white, the largest black");
    // 8 a row in 4 rows of 5x5 values at 10 pixels, 6 pixels apart
    let png = grid_png(&tiles, Layout { columns: 8, scale: 10, margin: 6 }).unwrap();
    let image = image::load_from_memory(&png).unwrap();
    assert_eq!((image.width(), image.height()), (8 * 56 + 6, 4 * 56 + 6));

    let mut mlp = mitbadak::nets::TwoLayerNet::<f32>::new(784, 5, 10, 0.01, &mut seeded_rng(0));
    let error = first_filters(&mut mlp).unwrap_err().to_string();
    assert!(error.contains("not a convolution") && error.contains("(784, 5)"), "{error}");
}

#[test]
fn a_filter_slid_over_a_single_dot_draws_itself_upside_down() {
    let filters = first_filters(book_simple_convnet().as_mut()).unwrap();
    let mut image = Array2::<f32>::zeros((28, 28));
    image[[10, 12]] = 1.0;
    let outputs = apply_filters(&filters, &image, 16).unwrap();
    assert_eq!((outputs.len(), outputs[0].dim()), (16, (24, 24)));
    for (k, out) in outputs.iter().enumerate() {
        // out[i, j] = Σ w[r, c]·image[i + r, j + c] = w[10 - i, 12 - j]
        for r in 0..5 {
            for c in 0..5 {
                assert_eq!(out[[10 - r, 12 - c]], filters[[k, 0, r, c]], "filter {k} at ({r}, {c})");
            }
        }
        assert_eq!(
            out.iter().filter(|v| **v != 0.0).count(),
            filters.slice(ndarray::s![k, 0, .., ..]).iter().filter(|v| **v != 0.0).count()
        );
    }
    let error = apply_filters(&filters, &Array2::zeros((4, 30)), 1).unwrap_err().to_string();
    assert!(error.contains("30x4") && error.contains("5x5"), "{error}");
}

#[test]
fn misclassified_images_are_those_the_accuracy_misses() {
    let data = test_images(2000);
    let mut network = book_simple_convnet();
    let (accuracy, wrong) = misclassified(network.as_mut(), &data).unwrap();
    assert_eq!(accuracy, evaluate(network.as_mut(), &data).unwrap());
    assert_eq!(wrong.len(), ((1.0 - accuracy) * 2000.0).round() as usize);
    assert!(!wrong.is_empty() && wrong.len() < 40, "the book's SimpleConvNet: {} of 2000 wrong", wrong.len());
    for m in &wrong {
        assert_eq!(m.label, data.labels[m.index] as usize);
        assert_ne!(m.label, m.guess);
    }
    assert!(wrong.windows(2).all(|w| w[0].index < w[1].index), "in the test set's order");
    let tiles = misclassified_tiles(&data, &wrong);
    assert_eq!(tiles[0].caption, format!("{} → {}", wrong[0].label, wrong[0].guess));
    assert_eq!(
        tiles[0].values[..],
        data.image(wrong[0].index).iter().map(|&p| f64::from(p)).collect::<Vec<_>>()[..]
    );
}

#[test]
fn sixteen_bit_weights_keep_the_accuracy() {
    let data = test_images(2000);
    let mut accuracies = Vec::new();
    for precision in [Precision::F32, Precision::F16, Precision::Bf16] {
        let mut network = book_simple_convnet();
        round_weights(network.as_mut(), precision);
        for (_, value) in network.state() {
            assert!(
                value.iter().all(|&v| precision.round(v) == v),
                "{precision:?}: rounding again changes nothing"
            );
        }
        accuracies.push(accuracy_rounded(network.as_mut(), &data, precision).unwrap());
    }
    assert_eq!(accuracies[0], evaluate(book_simple_convnet().as_mut(), &data).unwrap());
    assert!((accuracies[1] - accuracies[0]).abs() <= 0.001, "float16: {accuracies:?}");
    assert!((accuracies[2] - accuracies[0]).abs() <= 0.003, "bfloat16: {accuracies:?}");
    assert_eq!((Precision::F16.round(0.1), Precision::Bf16.round(0.1)), (0.099975586, 0.100097656));
}

#[test]
fn model_files_in_f16_and_bf16_hold_the_rounded_weights_in_half_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut network = book_simple_convnet();
    let f32_path = dir.path().join("f32.safetensors");
    save_model_as(network.as_mut(), &f32_path, &Default::default(), Dtype::F32).unwrap();
    let f32_bytes = std::fs::metadata(&f32_path).unwrap().len();
    for (dtype, precision) in [(Dtype::F16, Precision::F16), (Dtype::BF16, Precision::Bf16)] {
        let path = dir.path().join(format!("{dtype:?}.safetensors"));
        save_model_as(network.as_mut(), &path, &Default::default(), dtype).unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert!(bytes * 2 < f32_bytes + 4096, "{dtype:?}: {bytes} bytes against {f32_bytes}");
        let mut loaded = load_model::<f32>(&path, None).unwrap();
        for ((name, original), (_, value)) in network.state().into_iter().zip(loaded.network.state()) {
            assert!(
                original.iter().zip(value.iter()).all(|(&o, &v)| precision.round(o) == v),
                "{dtype:?} {name}"
            );
        }
    }
    let mut huge = SimpleConvNet::<f32>::new(&SimpleConvNetConfig::default(), &mut seeded_rng(0));
    huge.params()[2].value[[0, 0]] = 1e5;
    let error =
        save_model_as(&mut huge, &dir.path().join("huge.safetensors"), &Default::default(), Dtype::F16)
            .unwrap_err()
            .to_string();
    assert!(error.contains("W2") && error.contains("65504") && error.contains("BF16"), "{error}");
    save_model_as(&mut huge, &dir.path().join("huge.safetensors"), &Default::default(), Dtype::BF16).unwrap();
}

#[test]
fn train_writes_a_16_bit_model_file_that_eval_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run =
        common::mitbadak(&["train", "--iters", "20", "--save-dtype", "f16", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let model = out.join("model.safetensors");
    let bytes = std::fs::read(&model).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    assert!(header.contains("\"dtype\":\"F16\"") && !header.contains("\"F32\""), "{header}");
    let eval = common::mitbadak(&["eval", "--model", model.to_str().unwrap()]);
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    assert!(eval.stdout.contains("test accuracy: 0."), "{}", eval.stdout);
}

#[test]
fn the_book_s_deep_convnet_gets_the_book_s_65_images_wrong() {
    let path = common::reference_file("ch08_deep_convnet.safetensors");
    let dropout =
        Some(mitbadak::nets::DropoutConfig { ratio: 0.5, mode: mitbadak::layers::DropoutMode::Book });
    let mut network = load_model_or_book(&path, &Architecture::deep_convnet([1, 28, 28], 10, dropout, false))
        .unwrap()
        .network;
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let (accuracy, wrong) = misclassified(network.as_mut(), &data.test).unwrap();
    assert_eq!((accuracy, wrong.len()), (0.9935, 65));
    // misclassified_mnist.py's {view index: (label, inference)} for the first 20, as the book prints
    let book = [
        (6, 0),
        (3, 5),
        (3, 5),
        (8, 3),
        (7, 3),
        (1, 3),
        (8, 9),
        (6, 0),
        (6, 5),
        (7, 2),
        (9, 4),
        (7, 1),
        (5, 3),
        (1, 3),
        (0, 6),
        (9, 4),
        (7, 9),
        (6, 0),
        (9, 8),
        (4, 9),
    ];
    let pairs: Vec<(usize, usize)> = wrong.iter().take(20).map(|m| (m.label, m.guess)).collect();
    assert_eq!(pairs, book);
}
