//! The book's `MultiLayerNet` (chapter 6), also the deep net of sigmoid layers trained on mean-squared error:
//! `(Affine - Activation) × hidden layers - Affine - head`.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::layer_spec::{LayerSpec, at_least_one, build_layers, check_dropout, draw_weights};
use super::{Architecture, DropoutConfig, Network, WeightInit, check_weight_chain};
use crate::error::Result;
use crate::layers::{Layer, LossLayer, MeanSquaredError, SoftmaxWithLoss};
use crate::{Error, Float};

/// The activation after each hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
}

/// What follows the last affine layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Head {
    /// Softmax with cross-entropy: a classifier (`SoftmaxWithLoss`).
    SoftmaxCrossEntropy,
    /// Identity output with mean-squared error: a regression.
    IdentityMse,
    /// A sigmoid on the output, then mean-squared error: the deep net of sigmoid layers on mean-squared error, which puts a
    /// sigmoid after every layer.
    SigmoidMse,
}

impl Activation {
    /// The activation's usual name: `ReLU`, `sigmoid`.
    pub fn describe(self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

impl Head {
    /// How the head reads: `softmax with cross-entropy`.
    pub fn describe(self) -> &'static str {
        match self {
            Head::SoftmaxCrossEntropy => "softmax with cross-entropy",
            Head::IdentityMse => "identity with mean-squared error",
            Head::SigmoidMse => "sigmoid with mean-squared error",
        }
    }
}

/// The shape of a [`MultiLayerNet`]. `Default` is the book's chapter 6 network: 784 -
/// 100×4 - 10, ReLU, softmax with cross-entropy, without batch normalisation or dropout (the
/// book's `MultiLayerNetExtend` adds them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiLayerNetConfig {
    /// Values per input sample.
    pub input_size: usize,
    /// The widths of the hidden layers (the book's `hidden_size_list`).
    pub hidden_size_list: Vec<usize>,
    /// Outputs per sample.
    pub output_size: usize,
    /// The activation after each hidden layer.
    pub activation: Activation,
    /// The output and its loss.
    pub head: Head,
    /// Batch normalisation after each hidden affine layer (the book's `use_batchnorm`; a
    /// model file's `batch_norm`).
    #[serde(rename = "batch_norm", default)]
    pub use_batchnorm: bool,
    /// Dropout after each hidden activation (the book's `use_dropout`, `dropout_ration`).
    #[serde(default)]
    pub dropout: Option<DropoutConfig>,
}

impl Default for MultiLayerNetConfig {
    fn default() -> Self {
        MultiLayerNetConfig {
            input_size: 784,
            hidden_size_list: vec![100; 4],
            output_size: 10,
            activation: Activation::Relu,
            head: Head::SoftmaxCrossEntropy,
            use_batchnorm: false,
            dropout: None,
        }
    }
}

impl MultiLayerNetConfig {
    /// The network's layers, its loss layer aside: `Affine - [BatchNormalization] -
    /// activation - [Dropout]` for each hidden layer, then `Affine` (and `Sigmoid` for the
    /// sigmoid head).
    ///
    /// **Errors** if a size is 0 or the dropout ratio is not in [0, 1).
    pub fn layers(&self) -> Result<Vec<LayerSpec>> {
        at_least_one(&[("input_size", self.input_size), ("output_size", self.output_size)])?;
        if let Some(k) = self.hidden_size_list.iter().position(|&h| h == 0) {
            return Err(Error::invalid(
                "architecture",
                format!("hidden layer {} has 0 units: every layer needs at least one", k + 1),
            ));
        }
        check_dropout(&self.dropout)?;
        let widths: Vec<usize> = std::iter::once(self.input_size)
            .chain(self.hidden_size_list.iter().copied())
            .chain([self.output_size])
            .collect();
        let mut layers = Vec::new();
        for (k, pair) in widths.windows(2).enumerate() {
            layers.push(LayerSpec::Affine { input: pair[0], output: pair[1] });
            if k + 2 < widths.len() {
                // the book's order: Affine, BatchNorm, activation, Dropout
                if self.use_batchnorm {
                    layers.push(LayerSpec::BatchNormalization { features: pair[1] });
                }
                layers.push(match self.activation {
                    Activation::Relu => LayerSpec::Relu,
                    Activation::Sigmoid => LayerSpec::Sigmoid,
                });
                layers.extend(self.dropout.map(LayerSpec::Dropout));
            }
        }
        if self.head == Head::SigmoidMse {
            layers.push(LayerSpec::Sigmoid);
        }
        Ok(layers)
    }

    /// How the book draws this network's weights: He for ReLU, Xavier for sigmoid.
    pub fn default_init(&self) -> WeightInit {
        match self.activation {
            Activation::Relu => WeightInit::He,
            Activation::Sigmoid => WeightInit::Xavier,
        }
    }

    /// `MultiLayerNet 784-100-100-10 (ReLU, batch norm, dropout 0.15, softmax with cross-entropy)`.
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = std::iter::once(&self.input_size)
            .chain(&self.hidden_size_list)
            .chain(std::iter::once(&self.output_size))
            .map(|s| s.to_string())
            .collect();
        let mut extras = vec![self.activation.describe().to_string()];
        if self.use_batchnorm {
            extras.push("batch norm".into());
        }
        if let Some(d) = self.dropout {
            extras.push(format!("dropout {}", d.ratio));
        }
        extras.push(self.head.describe().into());
        format!("MultiLayerNet {} ({})", sizes.join("-"), extras.join(", "))
    }
}

/// A fully connected network of any depth. Parameters `W1, b1 ... Wn, bn` (and `gamma1,
/// beta1 ...` with batch normalisation).
///
/// ```
/// use mitbadak::prelude::*;
/// use ndarray::Array2;
///
/// // the book's MultiLayerNet(784, [100, 100, 100, 100], 10), with batch normalisation
/// let config = MultiLayerNetConfig { use_batchnorm: true, ..MultiLayerNetConfig::default() };
/// let mut net = MultiLayerNet::<f32>::new(&config, &mut seeded_rng(0));
/// let names: Vec<String> = net.params().iter().map(|p| p.name.clone()).collect();
/// assert_eq!(&names[..4], ["W1", "b1", "gamma1", "beta1"]);
/// let y = net.predict(&Array2::<f32>::zeros((3, 784)).into_dyn())?;
/// assert_eq!(y.shape(), &[3, 10]);
/// # Ok::<(), mitbadak::Error>(())
/// ```
pub struct MultiLayerNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    architecture: Architecture,
}

impl<T: Float> MultiLayerNet<T> {
    /// A network with weights drawn from `rng` as the book does (He for ReLU, Xavier for
    /// sigmoid), and zero biases.
    ///
    /// **Panics** if [`MultiLayerNetConfig::layers`] fails.
    pub fn new<R: rand::Rng + ?Sized>(config: &MultiLayerNetConfig, rng: &mut R) -> Self {
        Self::with_init(config, config.default_init(), rng)
    }

    /// A network with weights drawn by `init` from `rng`, and zero biases (the book's
    /// `weight_init_std`).
    ///
    /// **Panics** if [`MultiLayerNetConfig::layers`] fails.
    pub fn with_init<R: rand::Rng + ?Sized>(
        config: &MultiLayerNetConfig,
        init: WeightInit,
        rng: &mut R,
    ) -> Self {
        let specs = config.layers().expect("a network MultiLayerNetConfig::layers accepts");
        let weights = draw_weights(&specs, init, rng);
        let dropout_seed = rng.next_u64();
        Self::assemble(config.clone(), &specs, weights, dropout_seed)
    }

    /// A network with the given weights `[(W1, b1), ..., (Wn, bn)]`: the activation after
    /// each but the last, then `head`. The book's 3-layer inference example is built this way.
    ///
    /// **Errors** if the shapes do not chain (`Wk` must take `W(k-1)`'s output width).
    pub fn from_weights(
        weights: Vec<(Array2<T>, Array1<T>)>,
        activation: Activation,
        head: Head,
    ) -> Result<Self> {
        let (input_size, output_size) = check_weight_chain(&weights)?;
        let config = MultiLayerNetConfig {
            input_size,
            hidden_size_list: weights[1..].iter().map(|(w, _)| w.nrows()).collect(),
            output_size,
            activation,
            head,
            use_batchnorm: false,
            dropout: None,
        };
        let specs = config.layers()?;
        let weights = weights.into_iter().map(|(w, b)| (w.into_dyn(), b)).collect();
        Ok(Self::assemble(config, &specs, weights, 0))
    }

    /// The network of `specs` (`config`'s layers) with `weights`, and its loss layer.
    fn assemble(
        config: MultiLayerNetConfig,
        specs: &[LayerSpec],
        weights: Vec<(ndarray::ArrayD<T>, Array1<T>)>,
        dropout_seed: u64,
    ) -> Self {
        let layers = build_layers(specs, weights, dropout_seed);
        let last_layer: Box<dyn LossLayer<T>> = match config.head {
            Head::SoftmaxCrossEntropy => Box::new(SoftmaxWithLoss::new()),
            Head::IdentityMse | Head::SigmoidMse => Box::new(MeanSquaredError::new()),
        };
        MultiLayerNet { layers, last_layer, architecture: Architecture::Mlp(config) }
    }
}

impl<T: Float> Network<T> for MultiLayerNet<T> {
    fn name(&self) -> &'static str {
        "MultiLayerNet"
    }

    fn layers(&mut self) -> (&mut [Box<dyn Layer<T>>], &mut dyn LossLayer<T>) {
        (&mut self.layers, self.last_layer.as_mut())
    }

    fn architecture(&self) -> Architecture {
        self.architecture.clone()
    }
}
