//! Model files: what is saved comes back, files of other networks are refused with a reason,
//! and the book's reference weights reach the book's accuracy.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use mitbadak::data::Mnist;
use mitbadak::layers::DropoutMode;
use mitbadak::model_file::{ARCHITECTURE_KEY, load_model, read_metadata, save_model};
use mitbadak::nets::{
    Activation, Architecture, DropoutConfig, Head, MultiLayerNet, MultiLayerNetConfig, Network,
    SimpleConvNetConfig, TwoLayerNet,
};
use mitbadak::seeded_rng;
use mitbadak::train::evaluate;
use safetensors::tensor::{Dtype, TensorView};

fn values(net: &mut dyn Network<f32>) -> Vec<(String, Vec<f32>)> {
    net.params().into_iter().map(|p| (p.name, p.value.iter().copied().collect())).collect()
}

fn raw_file(
    path: &Path,
    tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
    metadata: Option<HashMap<String, String>>,
) {
    let views =
        tensors.iter().map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()));
    std::fs::write(path, safetensors::serialize(views, metadata).unwrap()).unwrap();
}

#[test]
fn a_saved_model_loads_back_with_its_architecture_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut net = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(3));
    let extra = BTreeMap::from([("test_accuracy".to_string(), "0.97".to_string())]);
    save_model(&mut net, &path, &extra).unwrap();

    let mut loaded = load_model::<f32>(&path, None).unwrap();
    assert_eq!(loaded.architecture, Architecture::two_layer(784, 50, 10));
    assert_eq!(values(loaded.network.as_mut()), values(&mut net));
    assert_eq!(loaded.metadata["test_accuracy"], "0.97");
    assert_eq!(
        read_metadata(&path).unwrap()[ARCHITECTURE_KEY],
        r#"{"arch":"two-layer","input_size":784,"hidden_size":50,"output_size":10}"#
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["model.safetensors"], "no temporary file is left");

    // F32 tensors load into an f64 network exactly
    let mut as_f64 = load_model::<f64>(&path, None).unwrap();
    let w1: Vec<f64> = as_f64.network.params()[0].value.iter().copied().collect();
    assert!(w1.iter().zip(&values(&mut net)[0].1).all(|(a, &b)| *a == b as f64));
}

#[test]
fn a_multi_layer_net_round_trips_through_f64_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.safetensors");
    let config = MultiLayerNetConfig {
        input_size: 6,
        hidden_size_list: vec![5, 4],
        output_size: 3,
        activation: Activation::Sigmoid,
        ..Default::default()
    };
    let mut net = MultiLayerNet::<f64>::new(&config, &mut seeded_rng(1));
    save_model(&mut net, &path, &BTreeMap::new()).unwrap();
    let mut loaded = load_model::<f64>(&path, None).unwrap();
    assert_eq!(loaded.architecture, net.architecture());
    let x = ndarray::Array2::from_shape_fn((2, 6), |(i, j)| (i * 6 + j) as f64 / 12.0).into_dyn();
    assert_eq!(loaded.network.predict(&x).unwrap(), net.predict(&x).unwrap());
}

#[test]
fn a_file_of_another_shape_is_refused_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_model(&mut TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0)), &path, &BTreeMap::new())
        .unwrap();
    let wider = Architecture::two_layer(784, 100, 10);
    let message = load_model::<f32>(&path, Some(&wider)).err().unwrap().to_string();
    assert!(
        message.contains("tensor W1 has shape (784, 50), but TwoLayerNet 784-100-10 (ReLU) needs (784, 100)"),
        "{message}"
    );
    let deeper = Architecture::Mlp(MultiLayerNetConfig {
        input_size: 784,
        hidden_size_list: vec![50],
        output_size: 10,
        activation: Activation::Relu,
        head: Head::SoftmaxCrossEntropy,
        use_batchnorm: false,
        dropout: None,
    });
    assert!(
        load_model::<f32>(&path, Some(&deeper)).is_ok(),
        "the same weights as a one-hidden-layer MultiLayerNet"
    );
    let three = Architecture::Mlp(MultiLayerNetConfig {
        input_size: 784,
        hidden_size_list: vec![50, 10],
        output_size: 10,
        activation: Activation::Relu,
        head: Head::SoftmaxCrossEntropy,
        use_batchnorm: false,
        dropout: None,
    });
    let message = load_model::<f32>(&path, Some(&three)).err().unwrap().to_string();
    assert!(message.contains("no tensor W3"), "{message}");
    let huge = Architecture::two_layer(784, 1 << 20, 10);
    let message = load_model::<f32>(&path, Some(&huge)).err().unwrap().to_string();
    assert!(
        message.contains(
            "has 833617930 values, the file's tensors only 39760 (W1 (784, 50), W2 (50, 10), b1 (50,), \
             b2 (10,)): the file holds another network"
        ),
        "{message}"
    );
}

#[test]
fn files_without_architecture_or_with_bad_tensors_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let two = Architecture::two_layer(2, 2, 2);
    let f32s = |n: usize| vec![0u8; 4 * n];
    let good = || {
        vec![
            ("W1", Dtype::F32, vec![2, 2], f32s(4)),
            ("b1", Dtype::F32, vec![2], f32s(2)),
            ("W2", Dtype::F32, vec![2, 2], f32s(4)),
            ("b2", Dtype::F32, vec![2], f32s(2)),
        ]
    };

    raw_file(&file("bare"), &good(), None);
    let message = load_model::<f32>(&file("bare"), None).err().unwrap().to_string();
    assert!(
        message.contains("does not say which network") && message.contains("--arch mlp --hidden 50,100"),
        "{message}"
    );
    assert!(load_model::<f32>(&file("bare"), Some(&two)).is_ok());

    let mut extra = good();
    extra.push(("W9", Dtype::F32, vec![1], f32s(1)));
    raw_file(&file("extra"), &extra, None);
    assert!(
        load_model::<f32>(&file("extra"), Some(&two))
            .err()
            .unwrap()
            .to_string()
            .contains("tensor W9 is not a parameter")
    );

    let mut integers = good();
    integers[0] = ("W1", Dtype::I32, vec![2, 2], vec![0u8; 16]);
    raw_file(&file("i32"), &integers, None);
    assert!(
        load_model::<f32>(&file("i32"), Some(&two))
            .err()
            .unwrap()
            .to_string()
            .contains("tensor W1: dtype I32 is not supported: expected F32, F64, F16 or BF16")
    );

    raw_file(
        &file("unknown"),
        &good(),
        Some(HashMap::from([(ARCHITECTURE_KEY.to_string(), r#"{"arch":"transformer"}"#.to_string())])),
    );
    assert!(
        load_model::<f32>(&file("unknown"), None)
            .err()
            .unwrap()
            .to_string()
            .contains("is not one this version knows")
    );

    std::fs::write(file("text"), "not a model").unwrap();
    let message = load_model::<f32>(&file("text"), Some(&two)).err().unwrap().to_string();
    assert!(message.contains("text: not a safetensors model file"), "{message}");

    let message = load_model::<f32>(&file("absent"), None).err().unwrap().to_string();
    assert!(message.contains("absent") && message.contains("No such file"), "{message}");
}

#[test]
fn the_books_chapter_3_weights_reach_0_9352() {
    let path = common::reference_file("ch03_sample_weight.safetensors");
    let mut model = load_model::<f32>(&path, Some(&Architecture::ch03_sample_network())).unwrap();
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    assert_eq!(evaluate(model.network.as_mut(), &data.test).unwrap(), 0.9352);
}

/// The header of a safetensors file: its JSON text.
fn header(bytes: &[u8]) -> &str {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    std::str::from_utf8(&bytes[8..8 + n]).unwrap()
}

#[test]
fn a_model_file_is_the_same_bytes_whatever_order_its_metadata_comes_in() {
    // a run's metadata has about a dozen keys: written through a HashMap (as safetensors'
    // own serialize takes it), their order changed from one map to the next, and so the bytes
    let extra: BTreeMap<String, String> =
        (0..12).map(|k| (format!("key{k:02}"), format!("value {k}"))).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut net = TwoLayerNet::<f32>::new(6, 4, 3, 0.1, &mut seeded_rng(5));
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("model{i}.safetensors"));
            save_model(&mut net, &path, &extra).unwrap();
            std::fs::read(&path).unwrap()
        })
        .collect();
    assert!(files.windows(2).all(|pair| pair[0] == pair[1]), "the same model and metadata, other bytes");
    // the keys in sorted order, in the header as written
    let text = header(&files[0]);
    let positions: Vec<usize> = ["\"architecture\"", "\"format\"", "\"key00\"", "\"key05\"", "\"key11\""]
        .iter()
        .map(|key| text.find(key).unwrap_or_else(|| panic!("{key} is not in {text}")))
        .collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "metadata keys out of order: {text}");
}

/// Model files written before each network's config became its one description (by mitbadak
/// at commit cde10c3: `Architecture::build(None, &mut seeded_rng(1))`, then `save_model`)
/// load as the networks they were, with the weights today's code draws from the same seed, and
/// today's code writes their architectures as they hold them.
#[test]
fn model_files_written_by_earlier_versions_still_load() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mlp = MultiLayerNetConfig {
        input_size: 4,
        hidden_size_list: vec![3, 3],
        output_size: 2,
        activation: Activation::Sigmoid,
        head: Head::SoftmaxCrossEntropy,
        use_batchnorm: true,
        dropout: Some(DropoutConfig { ratio: 0.25, mode: DropoutMode::Book }),
    };
    let simple = SimpleConvNetConfig {
        input_dim: [1, 6, 6],
        filter_num: 2,
        filter_size: 3,
        hidden_size: 3,
        output_size: 2,
        ..Default::default()
    };
    let files = [
        ("two-layer.safetensors", Architecture::two_layer(4, 3, 2)),
        ("mlp.safetensors", Architecture::Mlp(mlp)),
        ("simple-convnet.safetensors", simple.architecture()),
    ];
    for (name, architecture) in files {
        let path = fixtures.join(name);
        let mut loaded = load_model::<f32>(&path, None).unwrap();
        assert_eq!(loaded.architecture, architecture, "{name}");
        let mut fresh = architecture.build::<f32, _>(None, &mut seeded_rng(1));
        assert_eq!(values(loaded.network.as_mut()), values(fresh.as_mut()), "{name}");
        let written = serde_json::to_string(&architecture).unwrap();
        assert_eq!(written, read_metadata(&path).unwrap()[ARCHITECTURE_KEY], "{name}");
    }
    // DeepConvNet's, as that version wrote them (its smallest file is 140 kB)
    let deep = [
        (
            Architecture::deep_convnet([1, 28, 28], 10, Architecture::deep_convnet_dropout(), false),
            DEEP_BOOK_JSON,
        ),
        (Architecture::deep_convnet([3, 9, 13], 4, None, true), DEEP_SMALL_JSON),
    ];
    for (architecture, json) in deep {
        assert_eq!(serde_json::from_str::<Architecture>(json).unwrap(), architecture);
        assert_eq!(serde_json::to_string(&architecture).unwrap(), json);
    }
}

/// The book's DeepConvNet (`--arch deep-convnet`), as model files hold it.
const DEEP_BOOK_JSON: &str = r#"{"arch":"deep-convnet","input_dim":[1,28,28],"hidden_size":50,"output_size":10,"dropout":{"ratio":0.5,"mode":"inverted"},"batch_norm":false}"#;

/// A DeepConvNet of three channels, batch normalisation and no dropout.
const DEEP_SMALL_JSON: &str = r#"{"arch":"deep-convnet","input_dim":[3,9,13],"hidden_size":50,"output_size":4,"dropout":null,"batch_norm":true}"#;
