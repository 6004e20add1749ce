//! What a network is, in a form that model files keep: enough to build it again.

use serde::{Deserialize, Serialize};

use super::{Activation, Head, MultiLayerNet, MultiLayerNetConfig, Network, TwoLayerNet, WeightInit};
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
    /// The book's `MultiLayerNet`.
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
        }
    }

    /// Builds the network with fresh weights: `init` (or the architecture's default: std
    /// 0.01 for `TwoLayerNet`, He or Xavier by activation for `MultiLayerNet`) drawn from `rng`.
    pub fn build<T: Float, R: rand::Rng + ?Sized>(
        &self,
        init: Option<WeightInit>,
        rng: &mut R,
    ) -> Box<dyn Network<T>> {
        match self {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                let init = init.unwrap_or(WeightInit::Std(0.01));
                Box::new(TwoLayerNet::with_init(*input_size, *hidden_size, *output_size, init, rng))
            }
            Architecture::Mlp { input_size, hidden_size_list, output_size, activation, head } => {
                let config = MultiLayerNetConfig {
                    input_size: *input_size,
                    hidden_size_list: hidden_size_list.clone(),
                    output_size: *output_size,
                    activation: *activation,
                    head: *head,
                    weight_init: init,
                };
                Box::new(MultiLayerNet::new(&config, rng))
            }
        }
    }

    /// A short description for people: `TwoLayerNet 784-50-10 (ReLU)`.
    pub fn describe(&self) -> String {
        match self {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                format!("TwoLayerNet {input_size}-{hidden_size}-{output_size} (ReLU)")
            }
            Architecture::Mlp { input_size, hidden_size_list, output_size, activation, head } => {
                let sizes: Vec<String> = std::iter::once(input_size)
                    .chain(hidden_size_list)
                    .chain(std::iter::once(output_size))
                    .map(|s| s.to_string())
                    .collect();
                format!("MultiLayerNet {} ({}, {})", sizes.join("-"), activation.describe(), head.describe())
            }
        }
    }

    /// The shape of one input sample.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            Architecture::TwoLayer { input_size, .. } | Architecture::Mlp { input_size, .. } => {
                vec![*input_size]
            }
        }
    }
}
