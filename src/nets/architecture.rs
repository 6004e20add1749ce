//! What a network is, in a form that model files keep: enough to build it again.

use serde::{Deserialize, Serialize};

use super::{
    Activation, DeepConvNet, DeepConvNetConfig, DropoutConfig, Head, MultiLayerNet, MultiLayerNetConfig,
    Network, SimpleConvNet, SimpleConvNetConfig, TwoLayerNet, WeightInit,
};
use crate::Float;

/// A network's architecture, saved as JSON in a model file's metadata, e.g.
/// `{"arch":"two-layer","input_size":784,"hidden_size":50,"output_size":10}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum Architecture {
    /// The book's `TwoLayerNet`: Affine - ReLU - Affine - SoftmaxWithLoss.
    TwoLayer {
        /// Values per input sample.
        input_size: usize,
        /// The hidden layer's width.
        hidden_size: usize,
        /// Classes.
        output_size: usize,
    },
    /// The book's `MultiLayerNet` (with `MultiLayerNetExtend`'s batch normalisation and dropout).
    Mlp {
        /// Values per input sample.
        input_size: usize,
        /// The hidden layers' widths.
        hidden_size_list: Vec<usize>,
        /// Outputs per sample.
        output_size: usize,
        /// The activation after each hidden layer.
        activation: Activation,
        /// The output and its loss.
        head: Head,
        /// Batch normalisation after each hidden affine layer.
        #[serde(default)]
        batch_norm: bool,
        /// Dropout after each hidden activation.
        #[serde(default)]
        dropout: Option<DropoutConfig>,
    },
    /// The book's `SimpleConvNet`.
    SimpleConvnet {
        /// One input sample: `(channels, height, width)`.
        input_dim: [usize; 3],
        /// Filters in the convolution.
        filter_num: usize,
        /// The filters' side.
        filter_size: usize,
        /// Zeros around the input.
        pad: usize,
        /// The step between windows.
        stride: usize,
        /// The hidden affine layer's width.
        hidden_size: usize,
        /// Classes.
        output_size: usize,
    },
    /// The book's `DeepConvNet`.
    DeepConvnet {
        /// One input sample: `(channels, height, width)`.
        input_dim: [usize; 3],
        /// The hidden affine layer's width.
        hidden_size: usize,
        /// Classes.
        output_size: usize,
        /// Dropout after the hidden layer and after the output.
        dropout: Option<DropoutConfig>,
        /// Batch normalisation after each convolution.
        #[serde(default)]
        batch_norm: bool,
    },
}

impl Architecture {
    /// The network of the book's chapter 3 sample weights (`sample_weight.pkl`): 784-50-100-10
    /// with sigmoid, a softmax output.
    pub fn ch03_sample_network() -> Architecture {
        Architecture::Mlp {
            input_size: 784,
            hidden_size_list: vec![50, 100],
            output_size: 10,
            activation: Activation::Sigmoid,
            head: Head::SoftmaxCrossEntropy,
            batch_norm: false,
            dropout: None,
        }
    }

    /// Builds the network with fresh weights drawn from `rng` by `init`, or by the network's
    /// own default: std 0.01 for `TwoLayerNet` and `SimpleConvNet`, He or Xavier by
    /// activation for `MultiLayerNet`, He for `DeepConvNet`, as the book.
    pub fn build<T: Float, R: rand::Rng + ?Sized>(
        &self,
        init: Option<WeightInit>,
        rng: &mut R,
    ) -> Box<dyn Network<T>> {
        match self.clone() {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                let init = init.unwrap_or(WeightInit::Std(0.01));
                Box::new(TwoLayerNet::with_init(input_size, hidden_size, output_size, init, rng))
            }
            Architecture::Mlp {
                input_size,
                hidden_size_list,
                output_size,
                activation,
                head,
                batch_norm,
                dropout,
            } => {
                let config = MultiLayerNetConfig {
                    input_size,
                    hidden_size_list,
                    output_size,
                    activation,
                    head,
                    weight_init: init,
                    use_batchnorm: batch_norm,
                    dropout,
                };
                Box::new(MultiLayerNet::new(&config, rng))
            }
            Architecture::SimpleConvnet {
                input_dim,
                filter_num,
                filter_size,
                pad,
                stride,
                hidden_size,
                output_size,
            } => {
                let defaults = SimpleConvNetConfig::default();
                let config = SimpleConvNetConfig {
                    input_dim,
                    filter_num,
                    filter_size,
                    pad,
                    stride,
                    hidden_size,
                    output_size,
                    weight_init: init.unwrap_or(defaults.weight_init),
                };
                Box::new(SimpleConvNet::new(&config, rng))
            }
            Architecture::DeepConvnet { input_dim, hidden_size, output_size, dropout, batch_norm } => {
                let config = DeepConvNetConfig {
                    input_dim,
                    hidden_size,
                    output_size,
                    dropout,
                    batch_norm,
                    weight_init: init.unwrap_or(WeightInit::He),
                };
                Box::new(DeepConvNet::new(&config, rng))
            }
        }
    }

    /// The book's `SimpleConvNet` for samples of `input_dim` and `classes` classes.
    pub fn simple_convnet(input_dim: [usize; 3], classes: usize) -> Architecture {
        let c = SimpleConvNetConfig { input_dim, output_size: classes, ..Default::default() };
        Architecture::SimpleConvnet {
            input_dim,
            filter_num: c.filter_num,
            filter_size: c.filter_size,
            pad: c.pad,
            stride: c.stride,
            hidden_size: c.hidden_size,
            output_size: classes,
        }
    }

    /// The book's `DeepConvNet` for samples of `input_dim` and `classes` classes, with
    /// `dropout` (the book's: 0.5) and optionally batch normalisation.
    pub fn deep_convnet(
        input_dim: [usize; 3],
        classes: usize,
        dropout: Option<DropoutConfig>,
        batch_norm: bool,
    ) -> Architecture {
        let hidden_size = DeepConvNetConfig::default().hidden_size;
        Architecture::DeepConvnet { input_dim, hidden_size, output_size: classes, dropout, batch_norm }
    }

    /// The book's DeepConvNet dropout: 0.5, inverted.
    pub fn deep_convnet_dropout() -> Option<DropoutConfig> {
        DeepConvNetConfig::default().dropout
    }

    /// A short description for people: `TwoLayerNet 784-50-10 (ReLU)`.
    pub fn describe(&self) -> String {
        match self {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                format!("TwoLayerNet {input_size}-{hidden_size}-{output_size} (ReLU)")
            }
            Architecture::Mlp {
                input_size,
                hidden_size_list,
                output_size,
                activation,
                head,
                batch_norm,
                dropout,
            } => {
                let sizes: Vec<String> = std::iter::once(input_size)
                    .chain(hidden_size_list)
                    .chain(std::iter::once(output_size))
                    .map(|s| s.to_string())
                    .collect();
                let mut extras = vec![activation.describe().to_string()];
                if *batch_norm {
                    extras.push("batch norm".into());
                }
                if let Some(d) = dropout {
                    extras.push(format!("dropout {}", d.ratio));
                }
                extras.push(head.describe().into());
                format!("MultiLayerNet {} ({})", sizes.join("-"), extras.join(", "))
            }
            Architecture::SimpleConvnet {
                input_dim,
                filter_num,
                filter_size,
                hidden_size,
                output_size,
                ..
            } => {
                let [c, h, w] = input_dim;
                format!(
                    "SimpleConvNet {c}x{h}x{w} - conv {filter_num}x{filter_size}x{filter_size} - {hidden_size} - {output_size}"
                )
            }
            Architecture::DeepConvnet { input_dim, hidden_size, output_size, dropout, batch_norm } => {
                let [c, h, w] = input_dim;
                let mut extras = Vec::new();
                if *batch_norm {
                    extras.push("batch norm".to_string());
                }
                match dropout {
                    Some(d) => extras.push(format!("dropout {} ({:?})", d.ratio, d.mode).to_lowercase()),
                    None => extras.push("no dropout".into()),
                }
                format!(
                    "DeepConvNet {c}x{h}x{w} - 6 conv - {hidden_size} - {output_size} ({})",
                    extras.join(", ")
                )
            }
        }
    }

    /// The number of outputs: classes for a classifier.
    pub fn output_size(&self) -> usize {
        match self {
            Architecture::TwoLayer { output_size, .. }
            | Architecture::Mlp { output_size, .. }
            | Architecture::SimpleConvnet { output_size, .. }
            | Architecture::DeepConvnet { output_size, .. } => *output_size,
        }
    }

    /// Whether the output is a softmax over classes (so [`crate::nets::Network::probabilities`]
    /// gives probabilities), rather than a regression's values.
    pub fn is_classifier(&self) -> bool {
        match self {
            Architecture::TwoLayer { .. }
            | Architecture::SimpleConvnet { .. }
            | Architecture::DeepConvnet { .. } => true,
            Architecture::Mlp { head, .. } => *head == Head::SoftmaxCrossEntropy,
        }
    }

    /// The shape of one input sample.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            Architecture::TwoLayer { input_size, .. } | Architecture::Mlp { input_size, .. } => {
                vec![*input_size]
            }
            Architecture::SimpleConvnet { input_dim, .. } | Architecture::DeepConvnet { input_dim, .. } => {
                input_dim.to_vec()
            }
        }
    }
}
