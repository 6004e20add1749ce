//! What a network is, in a form that model files keep: enough to build it again. Each kind
//! holds its network's config (in the network's own file), which lists the network's layers:
//! the one description the network is checked, counted and built from.

use serde::{Deserialize, Serialize};

use super::layer_spec::{LayerSpec, state_values, too_large};
use super::{
    DeepConvNet, DeepConvNetConfig, DropoutConfig, Head, MultiLayerNet, MultiLayerNetConfig, Network,
    SimpleConvNet, SimpleConvNetConfig, TwoLayerNet, TwoLayerNetConfig, WeightInit,
};
use crate::{Float, Result};

/// The most values a network's state may hold: 2^30 (4 GiB as `f32`), thousands of times the
/// book's largest network, and refused before anything is allocated.
pub const MAX_STATE_VALUES: usize = 1 << 30;

/// A network's architecture, saved as JSON in a model file's metadata, e.g.
/// `{"arch":"two-layer","input_size":784,"hidden_size":50,"output_size":10}`: the kind, then
/// the fields of its config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum Architecture {
    /// The book's `TwoLayerNet`: Affine - ReLU - Affine - SoftmaxWithLoss.
    TwoLayer(TwoLayerNetConfig),
    /// The book's `MultiLayerNet` (with `MultiLayerNetExtend`'s batch normalisation and dropout).
    Mlp(MultiLayerNetConfig),
    /// The book's `SimpleConvNet`.
    SimpleConvnet(SimpleConvNetConfig),
    /// The book's `DeepConvNet`.
    DeepConvnet(DeepConvNetConfig),
}

impl Architecture {
    /// The book's `TwoLayerNet(input_size, hidden_size, output_size)`.
    pub fn two_layer(input_size: usize, hidden_size: usize, output_size: usize) -> Architecture {
        Architecture::TwoLayer(TwoLayerNetConfig { input_size, hidden_size, output_size })
    }

    /// The network of the book's chapter 3 sample weights (`sample_weight.pkl`): 784-50-100-10
    /// with sigmoid, a softmax output.
    pub fn ch03_sample_network() -> Architecture {
        Architecture::Mlp(MultiLayerNetConfig {
            hidden_size_list: vec![50, 100],
            activation: super::Activation::Sigmoid,
            ..Default::default()
        })
    }

    /// Checks that the network can be built, without building it: every size at least 1,
    /// the filters and poolings fitting their inputs, a dropout ratio in [0, 1), and at most
    /// `MAX_STATE_VALUES` (2^30) values. Returns how many values its state holds (parameters, and
    /// batch normalisation's statistics), so that a model file can be held to it.
    ///
    /// **Errors** name the field at fault and what it must be.
    ///
    /// ```
    /// use mitbadak::nets::Architecture;
    /// let net = Architecture::two_layer(784, 50, 10);
    /// assert_eq!(net.check().unwrap(), 784 * 50 + 50 + 50 * 10 + 10);
    /// let empty = Architecture::two_layer(784, 0, 10);
    /// assert!(empty.check().unwrap_err().to_string().contains("hidden_size is 0"));
    /// ```
    pub fn check(&self) -> Result<usize> {
        let values = state_values(&self.layers()?);
        match values {
            Some(n) if n <= MAX_STATE_VALUES => Ok(n),
            _ => Err(too_large(&self.describe(), values)),
        }
    }

    /// The network's layers with their shapes, in order, its loss layer aside: the one
    /// description it is built from and its state and memory are counted from (each layer's
    /// share is in `nets/layer_spec.rs`; each network's list in its own file).
    ///
    /// **Errors** as [`Architecture::check`], but for the count of values.
    ///
    /// ```
    /// use mitbadak::nets::{Architecture, LayerSpec};
    /// let net = Architecture::two_layer(784, 50, 10);
    /// let layers = net.layers().unwrap();
    /// assert_eq!(layers[0], LayerSpec::Affine { input: 784, output: 50 });
    /// assert_eq!(layers.iter().map(|l| l.name()).collect::<Vec<_>>(), ["Affine", "Relu", "Affine"]);
    /// ```
    pub fn layers(&self) -> Result<Vec<LayerSpec>> {
        match self {
            Architecture::TwoLayer(config) => config.layers(),
            Architecture::Mlp(config) => config.layers(),
            Architecture::SimpleConvnet(config) => config.layers(),
            Architecture::DeepConvnet(config) => config.layers(),
        }
    }

    /// Builds the network with fresh weights drawn from `rng` by `init`, or by the network's
    /// own default: std 0.01 for `TwoLayerNet` and `SimpleConvNet`, He or Xavier by
    /// activation for `MultiLayerNet`, He for `DeepConvNet`, as the book.
    ///
    /// **Panics** (or runs out of memory) if [`Architecture::check`] fails: check what comes
    /// from a user or a file first.
    pub fn build<T: Float, R: rand::Rng + ?Sized>(
        &self,
        init: Option<WeightInit>,
        rng: &mut R,
    ) -> Box<dyn Network<T>> {
        match self {
            Architecture::TwoLayer(c) => {
                let init = init.unwrap_or(WeightInit::Std(0.01));
                Box::new(TwoLayerNet::with_init(c.input_size, c.hidden_size, c.output_size, init, rng))
            }
            Architecture::Mlp(config) => {
                Box::new(MultiLayerNet::with_init(config, init.unwrap_or(config.default_init()), rng))
            }
            Architecture::SimpleConvnet(config) => match init {
                Some(init) => Box::new(SimpleConvNet::with_init(config, init, rng)),
                None => Box::new(SimpleConvNet::new(config, rng)),
            },
            Architecture::DeepConvnet(config) => match init {
                Some(init) => Box::new(DeepConvNet::with_init(config, init, rng)),
                None => Box::new(DeepConvNet::new(config, rng)),
            },
        }
    }

    /// The book's `SimpleConvNet` for samples of `input_dim` and `classes` classes.
    pub fn simple_convnet(input_dim: [usize; 3], classes: usize) -> Architecture {
        SimpleConvNetConfig { input_dim, output_size: classes, ..Default::default() }.architecture()
    }

    /// The book's `DeepConvNet` for samples of `input_dim` and `classes` classes, with
    /// `dropout` (the book's: 0.5) and optionally batch normalisation.
    pub fn deep_convnet(
        input_dim: [usize; 3],
        classes: usize,
        dropout: Option<DropoutConfig>,
        batch_norm: bool,
    ) -> Architecture {
        DeepConvNetConfig { input_dim, output_size: classes, dropout, batch_norm, ..Default::default() }
            .architecture()
    }

    /// The book's DeepConvNet dropout: 0.5, inverted.
    pub fn deep_convnet_dropout() -> Option<DropoutConfig> {
        DeepConvNetConfig::default().dropout
    }

    /// A short description for people: `TwoLayerNet 784-50-10 (ReLU)`.
    pub fn describe(&self) -> String {
        match self {
            Architecture::TwoLayer(config) => config.describe(),
            Architecture::Mlp(config) => config.describe(),
            Architecture::SimpleConvnet(config) => config.describe(),
            Architecture::DeepConvnet(config) => config.describe(),
        }
    }

    /// The number of outputs: classes for a classifier.
    pub fn output_size(&self) -> usize {
        match self {
            Architecture::TwoLayer(config) => config.output_size,
            Architecture::Mlp(config) => config.output_size,
            Architecture::SimpleConvnet(config) => config.output_size,
            Architecture::DeepConvnet(config) => config.output_size,
        }
    }

    /// Whether the output is a softmax over classes (so [`crate::nets::Trainable::probabilities`]
    /// gives probabilities), rather than a regression's values.
    pub fn is_classifier(&self) -> bool {
        match self {
            Architecture::Mlp(config) => config.head == Head::SoftmaxCrossEntropy,
            _ => true,
        }
    }

    /// The shape of one input sample.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            Architecture::TwoLayer(config) => vec![config.input_size],
            Architecture::Mlp(config) => vec![config.input_size],
            Architecture::SimpleConvnet(config) => config.input_dim.to_vec(),
            Architecture::DeepConvnet(config) => config.input_dim.to_vec(),
        }
    }
}
