//! ONNX export: the graph of every network read back (prost decode) node by node and weight by
//! weight, and `mitbadak export`'s errors. ONNX Runtime's numbers against `mitbadak predict`
//! and `eval` are checked by tests/onnx/check.py, which `.ci/run` runs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{mitbadak, reference_file};
use mitbadak::layers::DropoutMode;
use mitbadak::model_file::{Dtype, save_model};
use mitbadak::nets::Trainable;
use mitbadak::nets::{
    Activation, Architecture, DropoutConfig, Head, MultiLayerNetConfig, Network, SimpleConvNetConfig,
};
use mitbadak::onnx::proto::{ModelProto, TensorProto};
use mitbadak::onnx::{IR_VERSION, OPSET, to_onnx};
use mitbadak::seeded_rng;
use mitbadak::tensor_file::{TensorBytes, serialize_sorted};
use prost::Message;

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The model of a network of `architecture` with seeded weights, encoded and decoded again.
fn round_trip(architecture: &Architecture) -> (Box<dyn Network<f32>>, ModelProto) {
    let mut network: Box<dyn Network<f32>> = architecture.build(None, &mut seeded_rng(7));
    let metadata = BTreeMap::from([("test_accuracy".to_string(), "0.25".to_string())]);
    let bytes = to_onnx(network.as_mut(), &metadata).unwrap().encode_to_vec();
    (network, ModelProto::decode(bytes.as_slice()).expect("the file parses back"))
}

fn op_types(model: &ModelProto) -> Vec<&str> {
    model.graph.as_ref().unwrap().node.iter().map(|n| n.op_type.as_deref().unwrap()).collect()
}

fn initializer<'a>(model: &'a ModelProto, name: &str) -> &'a TensorProto {
    let graph = model.graph.as_ref().unwrap();
    graph.initializer.iter().find(|t| t.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no {name}"))
}

fn floats(tensor: &TensorProto) -> Vec<f32> {
    let bytes = tensor.raw_data.as_deref().unwrap();
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Every tensor of the network's state is an initializer of its name, shape and values.
fn assert_weights_kept(network: &mut dyn Network<f32>, model: &ModelProto) {
    for (name, value) in network.state() {
        let tensor = initializer(model, &name);
        assert_eq!(tensor.data_type, Some(1), "{name} is float32");
        assert_eq!(tensor.dims, value.shape().iter().map(|&d| d as i64).collect::<Vec<_>>(), "{name}");
        assert_eq!(floats(tensor), value.iter().copied().collect::<Vec<_>>(), "{name}");
    }
}

fn metadata(model: &ModelProto) -> BTreeMap<&str, &str> {
    model.metadata_props.iter().map(|p| (p.key.as_deref().unwrap(), p.value.as_deref().unwrap())).collect()
}

fn dims(model: &ModelProto, output: bool) -> Vec<String> {
    let graph = model.graph.as_ref().unwrap();
    let value = if output { &graph.output[0] } else { &graph.input[0] };
    let shape = value.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap().shape.as_ref().unwrap();
    shape
        .dim
        .iter()
        .map(|d| d.dim_param.clone().unwrap_or_else(|| d.dim_value.unwrap().to_string()))
        .collect()
}

#[test]
fn a_two_layer_net_is_gemm_relu_gemm_softmax_with_its_weights_and_metadata() {
    let architecture = Architecture::two_layer(784, 50, 10);
    let (mut network, model) = round_trip(&architecture);
    assert_eq!((model.ir_version, model.opset_import[0].version), (Some(IR_VERSION), Some(OPSET)));
    assert_eq!(op_types(&model), ["Gemm", "Relu", "Gemm", "Softmax"]);
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.node[0].input, ["x", "W1", "b1"]);
    assert_eq!(graph.node[3].output, ["probabilities"]);
    assert_eq!(
        (dims(&model, false), dims(&model, true)),
        (vec!["N".into(), "784".into()], vec!["N".into(), "10".into()])
    );
    assert_weights_kept(network.as_mut(), &model);
    let props = metadata(&model);
    assert_eq!(props["test_accuracy"], "0.25");
    assert_eq!(props["description"], "TwoLayerNet 784-50-10 (ReLU)");
    assert_eq!(serde_json::from_str::<Architecture>(props["architecture"]).unwrap(), architecture);
}

/// A sigmoid MLP 20-8-6-4 with `dropout`, and batch normalisation if asked.
fn sigmoid_mlp(batch_norm: bool, dropout: DropoutConfig) -> Architecture {
    Architecture::Mlp(MultiLayerNetConfig {
        input_size: 20,
        hidden_size_list: vec![8, 6],
        output_size: 4,
        activation: Activation::Sigmoid,
        head: Head::SoftmaxCrossEntropy,
        use_batchnorm: batch_norm,
        dropout: Some(dropout),
    })
}

#[test]
fn an_mlp_keeps_batch_norm_in_inference_form_and_the_books_dropout_as_a_scale() {
    let book = DropoutConfig { ratio: 0.15, mode: DropoutMode::Book };
    let (mut network, model) = round_trip(&sigmoid_mlp(true, book));
    assert_eq!(
        op_types(&model),
        [
            "Gemm",
            "BatchNormalization",
            "Sigmoid",
            "Mul",
            "Gemm",
            "BatchNormalization",
            "Sigmoid",
            "Mul",
            "Gemm",
            "Softmax"
        ]
    );
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.node[1].input, ["Affine1", "gamma1", "beta1", "running_mean1", "running_var1"]);
    let epsilon = &graph.node[1].attribute[0];
    assert_eq!((epsilon.name.as_deref(), epsilon.f), (Some("epsilon"), Some(1e-6)));
    // the book's test time: x·(1 - ratio), the same f32 as the layer's
    assert_eq!(floats(initializer(&model, "Dropout2_keep")), [(1.0f64 - 0.15) as f32]);
    assert_weights_kept(network.as_mut(), &model);

    let inverted = DropoutConfig { mode: DropoutMode::Inverted, ..book };
    let (_, model) = round_trip(&sigmoid_mlp(false, inverted));
    assert_eq!(
        op_types(&model),
        ["Gemm", "Sigmoid", "Gemm", "Sigmoid", "Gemm", "Softmax"],
        "nothing at test time"
    );
}

#[test]
fn a_regression_mlp_gives_its_values_without_softmax() {
    let architecture = Architecture::Mlp(MultiLayerNetConfig {
        input_size: 3,
        hidden_size_list: vec![5],
        output_size: 2,
        activation: Activation::Relu,
        head: Head::SigmoidMse,
        use_batchnorm: false,
        dropout: None,
    });
    let (_, model) = round_trip(&architecture);
    assert_eq!(op_types(&model), ["Gemm", "Relu", "Gemm", "Sigmoid"]);
    assert_eq!(model.graph.as_ref().unwrap().output[0].name.as_deref(), Some("output"));
}

#[test]
fn the_conv_nets_keep_their_pads_strides_and_pooling() {
    let simple = Architecture::SimpleConvnet(SimpleConvNetConfig {
        input_dim: [1, 12, 12],
        filter_num: 3,
        filter_size: 3,
        pad: 1,
        stride: 2,
        hidden_size: 5,
        output_size: 10,
    });
    let (mut network, model) = round_trip(&simple);
    assert_eq!(op_types(&model), ["Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"]);
    let conv = &model.graph.as_ref().unwrap().node[0];
    let attributes: Vec<(&str, &[i64])> =
        conv.attribute.iter().map(|a| (a.name.as_deref().unwrap(), a.ints.as_slice())).collect();
    assert_eq!(attributes, [("kernel_shape", &[3, 3][..]), ("pads", &[1, 1, 1, 1]), ("strides", &[2, 2])]);
    assert_eq!(dims(&model, false), ["N", "1", "12", "12"]);
    assert_weights_kept(network.as_mut(), &model);

    let dropout = Some(DropoutConfig { ratio: 0.5, mode: DropoutMode::Book });
    let deep = Architecture::deep_convnet([1, 28, 28], 10, dropout, true);
    let (mut network, model) = round_trip(&deep);
    let ops = op_types(&model);
    assert_eq!(ops.iter().filter(|&&op| op == "Conv").count(), 6);
    assert_eq!(ops.iter().filter(|&&op| op == "BatchNormalization").count(), 6);
    assert_eq!(ops.iter().filter(|&&op| op == "MaxPool").count(), 3);
    assert_eq!(ops[ops.len() - 7..], ["Flatten", "Gemm", "Relu", "Mul", "Gemm", "Mul", "Softmax"]);
    let pads: Vec<i64> = model
        .graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("Conv"))
        .map(|n| n.attribute.iter().find(|a| a.name.as_deref() == Some("pads")).unwrap().ints[0])
        .collect();
    assert_eq!(pads, [1, 1, 1, 2, 1, 1], "the book's fourth convolution is padded by 2");
    assert_weights_kept(network.as_mut(), &model);
}

#[test]
fn export_writes_a_model_file_as_onnx_and_measures_an_accuracy_the_file_does_not_state() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.safetensors");
    let architecture = Architecture::two_layer(784, 20, 10);
    let mut network: Box<dyn Network<f32>> = architecture.build(None, &mut seeded_rng(1));
    save_model(network.as_mut(), &model, &BTreeMap::from([("test_accuracy".into(), "0.5".into())])).unwrap();
    let out = dir.path().join("onnx/model.onnx");
    let run = mitbadak(&["export", "--model", path_str(&model), "--format", "onnx", "--out", path_str(&out)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("TwoLayerNet 784-20-10 (ReLU) as ONNX (opset 17)"), "{}", run.stdout);
    let written = ModelProto::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
    assert_eq!(op_types(&written), ["Gemm", "Relu", "Gemm", "Softmax"]);
    assert_eq!(metadata(&written)["test_accuracy"], "0.5");
    assert!(!metadata(&written).contains_key("format"), "the safetensors writer is not the ONNX file's");
    assert_weights_kept(network.as_mut(), &written);

    // `predict --json`: what check.py compares ONNX Runtime's probabilities with, in full
    let run = mitbadak(&["predict", "--model", path_str(&model), "--index", "0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let answer: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one line of JSON");
    let probabilities: Vec<f64> =
        answer["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect();
    assert_eq!(probabilities.len(), 10);
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{probabilities:?}");
    let most = (0..10).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b])).unwrap();
    assert_eq!(answer["class"], most);

    // the book's weights state no accuracy: export measures it on the test set
    let reference = reference_file("ch03_sample_weight.safetensors");
    let flags = ["--arch", "mlp", "--hidden", "50,100", "--activation", "sigmoid"];
    let run = mitbadak(
        &[&["export", "--model", path_str(&reference), "--out", path_str(&out)][..], &flags].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("test accuracy: 0.9352 (measured:"), "{}", run.stdout);
    let written = ModelProto::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
    assert_eq!(metadata(&written)["test_accuracy"], "0.9352");
    assert_eq!(op_types(&written), ["Gemm", "Sigmoid", "Gemm", "Sigmoid", "Gemm", "Softmax"]);
}

/// Runs `export` with `args`, which must fail saying `expected`, and leave `kept` as it was.
fn assert_refused(args: &[&str], expected: &str, kept: &Path) {
    let before = std::fs::read(kept).unwrap();
    let run = mitbadak(&[&["export"][..], args].concat());
    assert_ne!(run.code, 0, "export {args:?} succeeded");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains(expected), "export {args:?}: expected {expected:?} in\n{}", run.stderr);
    assert_eq!(std::fs::read(kept).unwrap(), before, "{} was changed", kept.display());
}

#[test]
fn bad_input_gets_a_clear_error_and_an_existing_file_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.onnx");
    std::fs::write(&out, b"an earlier export").unwrap();
    let model = dir.path().join("model.safetensors");
    let mut network = Architecture::two_layer(784, 4, 10).build::<f32, _>(None, &mut seeded_rng(1));
    save_model(network.as_mut(), &model, &BTreeMap::from([("test_accuracy".into(), "0.5".into())])).unwrap();
    let (model_arg, out_arg) = (path_str(&model), path_str(&out));

    let missing = dir.path().join("missing.safetensors");
    assert_refused(&["--model", path_str(&missing), "--out", out_arg], "missing.safetensors", &out);
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a model at all, just some words").unwrap();
    assert_refused(&["--model", path_str(&garbage), "--out", out_arg], "not a safetensors model file", &out);

    // an architecture this version does not know
    let unknown = dir.path().join("unknown.safetensors");
    let bytes = [0u8; 4];
    let tensor = TensorBytes { name: "W1".into(), dtype: Dtype::F32, shape: vec![1], bytes: &bytes };
    let metadata = BTreeMap::from([("architecture".to_string(), r#"{"arch":"resnet-50"}"#.to_string())]);
    std::fs::write(&unknown, serialize_sorted(vec![tensor], &metadata).unwrap()).unwrap();
    assert_refused(&["--model", path_str(&unknown), "--out", out_arg], "is not one this version knows", &out);
    // the book's weights without --arch
    let reference = reference_file("ch03_sample_weight.safetensors");
    assert_refused(
        &["--model", path_str(&reference), "--out", out_arg],
        "name it with the flags of `train`",
        &out,
    );

    assert_refused(
        &["--model", model_arg, "--format", "tflite", "--out", out_arg],
        "[possible values: onnx]",
        &out,
    );
    assert_refused(&["--model", model_arg, "--out", model_arg], "is the model file itself", &model);
    assert_refused(&["--model", model_arg, "--out", "/dev/null/model.onnx"], "/dev/null/model.onnx", &out);
    assert_refused(
        &["--model", model_arg, "--out", path_str(dir.path())],
        "is a directory: name the file",
        &out,
    );

    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|name| !name.contains(".tmp")), "a temporary file was left: {left:?}");
}
