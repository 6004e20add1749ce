//! ONNX export: a network as an ONNX model (opset 17), for ONNX Runtime and the other
//! engines that read ONNX (in a browser, on a phone, from another language).
//!
//! The graph is the network's layers in inference form, one node each, and keeps the model
//! file's tensor names (`W1`, `b1`, `gamma1`, `running_mean1` ...):
//!
//! ```text
//! Affine              Gemm(x, Wk, bk)                  y = x·W + b   (Flatten first after a pooling)
//! Convolution         Conv(x, Wk, bk)                  kernel from W; the network's pads and strides
//! Pooling             MaxPool                          2x2 windows, stride 2
//! BatchNormalization  BatchNormalization(x, gammak, betak, running_meank, running_vark)
//!                                                      y = γ·(x - mean) / √(var + 1e-6) + β
//! Relu, Sigmoid       Relu, Sigmoid
//! Dropout             inverted: nothing at test time;  the book's: Mul by (1 - ratio)
//! SoftmaxWithLoss     Softmax(axis 1)
//! ```
//!
//! Input `x`: `(N, 784)` for an MLP, `(N, 1, 28, 28)` for a conv net (the network's input
//! shape), MNIST's bytes divided by 255. Output `probabilities`: `(N, classes)`, the softmax
//! of the scores, as `mitbadak predict` prints them (a regression's head gives its values as
//! `output`). The model's `metadata_props` hold the model file's metadata (its test
//! accuracy ...), the architecture as JSON and its description.

pub mod proto;

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;

use crate::Error;
use crate::atomic::write_atomic;
use crate::error::Result;
use crate::layers::{BatchNormalization, DropoutMode};
use crate::model_file::{ARCHITECTURE_KEY, FORMAT_KEY};
use crate::nets::Trainable;
use crate::nets::{Architecture, DropoutConfig, LayerSpec, Network};
use proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

/// The ONNX operator set the graph uses.
pub const OPSET: i64 = 17;

/// The ONNX IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 8;

/// The graph's input.
pub const INPUT: &str = "x";

/// The graph's output for a classifier.
pub const PROBABILITIES: &str = "probabilities";

/// The graph's output for a regression.
pub const OUTPUT: &str = "output";

/// The metadata key of the network's description for people.
pub const DESCRIPTION_KEY: &str = "description";

/// One layer of a network in inference form, as the graph writes it; `k` numbers the
/// parameters as the network does (`Wk`, `bk`, `gammak`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Affine { k: usize },
    Convolution { k: usize, stride: usize, pad: usize },
    Pooling,
    BatchNormalization { k: usize },
    Relu,
    Sigmoid,
    Dropout(DropoutConfig),
}

impl Step {
    /// The name of the mitbadak layer this step is ([`crate::layers::Layer::name`]).
    fn layer_name(self) -> &'static str {
        match self {
            Step::Affine { .. } => "Affine",
            Step::Convolution { .. } => "Convolution",
            Step::Pooling => "Pooling",
            Step::BatchNormalization { .. } => "BatchNormalization",
            Step::Relu => "Relu",
            Step::Sigmoid => "Sigmoid",
            Step::Dropout(_) => "Dropout",
        }
    }
}

/// The layers of a network of `architecture`, in order, as [`Architecture::layers`] lists
/// them (and the networks of [`crate::nets`] are built from that list).
///
/// **Errors** as [`Architecture::layers`].
fn steps(architecture: &Architecture) -> Result<Vec<Step>> {
    // k: the number of the layers with weights so far, as the parameters are named
    let mut k = 0;
    let mut step = |layer: &LayerSpec| match *layer {
        LayerSpec::Affine { .. } => {
            k += 1;
            Step::Affine { k }
        }
        LayerSpec::Convolution { stride, pad, .. } => {
            k += 1;
            Step::Convolution { k, stride, pad }
        }
        LayerSpec::Pooling { .. } => Step::Pooling,
        LayerSpec::BatchNormalization { .. } => Step::BatchNormalization { k },
        LayerSpec::Relu => Step::Relu,
        LayerSpec::Sigmoid => Step::Sigmoid,
        LayerSpec::Dropout(dropout) => Step::Dropout(dropout),
    };
    Ok(architecture.layers()?.iter().map(&mut step).collect())
}

/// The ONNX model of `network`: its graph in inference form, its weights, and `metadata`
/// (a model file's: the test accuracy ...) with the architecture and its description added.
///
/// **Errors** if the network's layers are not those its architecture names (a network this
/// exporter does not know).
pub fn to_onnx(network: &mut dyn Network<f32>, metadata: &BTreeMap<String, String>) -> Result<ModelProto> {
    let architecture = network.architecture();
    let steps = steps(&architecture)?;
    let (layers, _) = network.layers();
    let layer_names: Vec<&str> = layers.iter().map(|layer| layer.name()).collect();
    let step_names: Vec<&str> = steps.iter().map(|step| step.layer_name()).collect();
    if layer_names != step_names {
        return Err(Error::invalid(
            "ONNX export",
            format!(
                "{} has the layers {}, and ONNX export knows {} for it: this network cannot be exported",
                architecture.describe(),
                layer_names.join(" - "),
                step_names.join(" - ")
            ),
        ));
    }
    let state: BTreeMap<String, (Vec<usize>, Vec<f32>)> = network
        .state()
        .into_iter()
        .map(|(name, value)| (name, (value.shape().to_vec(), value.iter().copied().collect())))
        .collect();
    let mut graph = Graph::new(state, architecture.input_shape().len() + 1);
    for step in steps {
        graph.add(step)?;
    }
    let output = if architecture.is_classifier() {
        graph.node("Softmax", "Softmax", &[], vec![int("axis", 1)]);
        PROBABILITIES
    } else {
        OUTPUT
    };
    graph.rename_last(output);

    let mut props = metadata.clone();
    props.remove(FORMAT_KEY); // the safetensors file's writer, not this file's
    props.insert(
        ARCHITECTURE_KEY.into(),
        serde_json::to_string(&architecture).expect("an architecture serialises"),
    );
    props.insert(DESCRIPTION_KEY.into(), architecture.describe());

    let input_shape: Vec<String> = architecture.input_shape().iter().map(|d| d.to_string()).collect();
    let classes = architecture.output_size();
    let doc = format!(
        "{} from mitbadak. Input {INPUT}: (N, {}), float32 pixels in [0, 1] (MNIST's bytes / 255). \
         Output {output}: (N, {classes}){}.",
        architecture.describe(),
        input_shape.join(", "),
        if output == PROBABILITIES {
            ", the softmax of the scores, as `mitbadak predict` prints them"
        } else {
            ""
        }
    );
    let mut input_dims = vec![None];
    input_dims.extend(architecture.input_shape().into_iter().map(Some));
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("mitbadak".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(doc),
        graph: Some(GraphProto {
            node: graph.nodes,
            name: Some(network.name().into()),
            initializer: graph.initializers,
            doc_string: None,
            input: vec![value_info(INPUT, &input_dims)],
            output: vec![value_info(output, &[None, Some(classes)])],
        }),
        metadata_props: props
            .into_iter()
            .map(|(key, value)| StringStringEntryProto { key: Some(key), value: Some(value) })
            .collect(),
    })
}

/// Writes [`to_onnx`]'s model of `network` to `path` (atomically: the old file, if any, stays
/// whole until the new one is complete).
///
/// **Errors** as [`to_onnx`], and if the file cannot be written (naming it).
pub fn save_onnx(
    network: &mut dyn Network<f32>,
    path: &Path,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let model = to_onnx(network, metadata)?;
    write_atomic(path, &model.encode_to_vec())
}

/// The graph as it is built: its nodes, the weights they use, and the value the last one gives.
struct Graph {
    state: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    /// How many nodes of each kind so far, to name them as the book does (`Affine1`, `Relu2`).
    counts: BTreeMap<&'static str, usize>,
    last: String,
    /// The rank of the last value: 2 for `(N, D)`, 4 for `(N, C, H, W)`.
    rank: usize,
}

impl Graph {
    fn new(state: BTreeMap<String, (Vec<usize>, Vec<f32>)>, input_rank: usize) -> Self {
        Graph {
            state,
            nodes: Vec::new(),
            initializers: Vec::new(),
            counts: BTreeMap::new(),
            last: INPUT.into(),
            rank: input_rank,
        }
    }

    fn add(&mut self, step: Step) -> Result<()> {
        match step {
            Step::Affine { k } => {
                if self.rank > 2 {
                    // Affine takes (N, C, H, W) as (N, C·H·W), row-major, as Flatten does
                    self.node("Flatten", "Flatten", &[], vec![int("axis", 1)]);
                    self.rank = 2;
                }
                let params = self.weights(&[format!("W{k}"), format!("b{k}")])?;
                self.node("Gemm", "Affine", &params, Vec::new());
            }
            Step::Convolution { k, stride, pad } => {
                let params = self.weights(&[format!("W{k}"), format!("b{k}")])?;
                let shape = &self.state[&params[0]].0; // (FN, C, FH, FW)
                let kernel = vec![shape[2] as i64, shape[3] as i64];
                let (stride, pad) = (stride as i64, pad as i64);
                let attributes = vec![
                    ints("kernel_shape", kernel),
                    ints("pads", vec![pad; 4]),
                    ints("strides", vec![stride; 2]),
                ];
                self.node("Conv", "Conv", &params, attributes);
            }
            Step::Pooling => {
                let attributes = vec![ints("kernel_shape", vec![2, 2]), ints("strides", vec![2, 2])];
                self.node("MaxPool", "Pool", &[], attributes);
            }
            Step::BatchNormalization { k } => {
                let names = ["gamma", "beta", "running_mean", "running_var"].map(|name| format!("{name}{k}"));
                let params = self.weights(&names)?;
                let epsilon = float("epsilon", BatchNormalization::<f32>::EPS as f32);
                self.node("BatchNormalization", "BatchNorm", &params, vec![epsilon]);
            }
            Step::Relu => self.node("Relu", "Relu", &[], Vec::new()),
            Step::Sigmoid => self.node("Sigmoid", "Sigmoid", &[], Vec::new()),
            // inverted dropout scaled in training: at test time it passes x through
            Step::Dropout(DropoutConfig { mode: DropoutMode::Inverted, .. }) => {}
            Step::Dropout(DropoutConfig { mode: DropoutMode::Book, ratio }) => {
                // the book's test time: y = x·(1 - ratio), in f32 as the layer computes it
                let n = self.counts.get("Dropout").copied().unwrap_or(0) + 1;
                let keep = format!("Dropout{n}_keep");
                self.initializers.push(tensor(&keep, &[], &[(1.0 - ratio) as f32]));
                self.node("Mul", "Dropout", &[keep], Vec::new());
            }
        }
        Ok(())
    }

    /// Adds the named tensors of the network's state as initializers; returns their names.
    fn weights(&mut self, names: &[String]) -> Result<Vec<String>> {
        for name in names {
            let (shape, values) = self.state.get(name).ok_or_else(|| {
                Error::invalid(
                    "ONNX export",
                    format!(
                        "the network has no tensor {name} (it has {}): this network cannot be exported",
                        self.state.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            self.initializers.push(tensor(name, shape, values));
        }
        Ok(names.to_vec())
    }

    /// Adds a node `op` reading the last value and `inputs`; it and its output are named
    /// `{base}{n}` for the n-th node of that base.
    fn node(&mut self, op: &str, base: &'static str, inputs: &[String], attribute: Vec<AttributeProto>) {
        let count = self.counts.entry(base).or_insert(0);
        *count += 1;
        let name = format!("{base}{count}");
        let mut input = vec![self.last.clone()];
        input.extend_from_slice(inputs);
        self.nodes.push(NodeProto {
            input,
            output: vec![name.clone()],
            name: Some(name.clone()),
            op_type: Some(op.into()),
            attribute,
            doc_string: None,
        });
        self.last = name;
    }

    /// Names the last node's output `name`: the graph's output.
    fn rename_last(&mut self, name: &str) {
        if let Some(node) = self.nodes.last_mut() {
            node.output = vec![name.to_string()];
        }
        self.last = name.to_string();
    }
}

/// A float32 tensor named `name` of `shape` (none for a scalar), values row-major.
fn tensor(name: &str, shape: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: Some(proto::FLOAT),
        name: Some(name.into()),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    }
}

/// A float32 graph input or output named `name`; a `None` dimension is the batch `N`.
fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| match d {
            Some(size) => Dimension { dim_value: Some(*size as i64), dim_param: None },
            None => Dimension { dim_value: None, dim_param: Some("N".into()) },
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: Some(proto::FLOAT),
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: None,
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::ATTRIBUTE_INT),
        i: Some(i),
        ..Default::default()
    }
}

fn ints(name: &str, ints: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::ATTRIBUTE_INTS),
        ints,
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::ATTRIBUTE_FLOAT),
        f: Some(f),
        ..Default::default()
    }
}
