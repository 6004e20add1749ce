//! The book's `MultiLayerNet` (chapter 6), also the deep net of sigmoid layers trained on mean-squared error:
//! `(Affine - Activation) × hidden layers - Affine - head`.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::{Architecture, DropoutConfig, Network, WeightInit, check_weight_chain, gaussian};
use crate::Float;
use crate::error::Result;
use crate::layers::{
    Affine, BatchNormalization, Dropout, Layer, LossLayer, MeanSquaredError, Relu, Sigmoid, SoftmaxWithLoss,
};

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

/// The shape and initialisation of a [`MultiLayerNet`]. `Default` is the book's chapter 6
/// network: 784 - 100×4 - 10, ReLU, He initialisation, softmax with cross-entropy, without
/// batch normalisation or dropout (the book's `MultiLayerNetExtend` adds them).
#[derive(Debug, Clone, PartialEq)]
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
    /// How weights are drawn; `None` picks He for ReLU and Xavier for sigmoid, as the book.
    pub weight_init: Option<WeightInit>,
    /// Batch normalisation after each hidden affine layer (the book's `use_batchnorm`).
    pub use_batchnorm: bool,
    /// Dropout after each hidden activation (the book's `use_dropout`, `dropout_ration`).
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
            weight_init: None,
            use_batchnorm: false,
            dropout: None,
        }
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
    /// A network with weights drawn by `config.weight_init` from `rng`, and zero biases.
    pub fn new<R: rand::Rng + ?Sized>(config: &MultiLayerNetConfig, rng: &mut R) -> Self {
        let init = config.weight_init.unwrap_or(match config.activation {
            Activation::Relu => WeightInit::He,
            Activation::Sigmoid => WeightInit::Xavier,
        });
        let sizes: Vec<usize> = std::iter::once(config.input_size)
            .chain(config.hidden_size_list.iter().copied())
            .chain(std::iter::once(config.output_size))
            .collect();
        let weights = sizes
            .windows(2)
            .map(|pair| (gaussian(pair[0], pair[1], init.std(pair[0]), rng), Array1::zeros(pair[1])))
            .collect();
        let dropout_seed = rng.next_u64();
        Self::assemble(
            weights,
            config.activation,
            config.head,
            config.use_batchnorm,
            config.dropout,
            dropout_seed,
        )
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
        check_weight_chain(&weights)?;
        Ok(Self::assemble(weights, activation, head, false, None, 0))
    }

    fn assemble(
        weights: Vec<(Array2<T>, Array1<T>)>,
        activation: Activation,
        head: Head,
        batch_norm: bool,
        dropout: Option<DropoutConfig>,
        dropout_seed: u64,
    ) -> Self {
        let input_size = weights[0].0.nrows();
        let output_size = weights[weights.len() - 1].0.ncols();
        let hidden_size_list = weights[1..].iter().map(|(w, _)| w.nrows()).collect();
        let architecture = Architecture::Mlp {
            input_size,
            hidden_size_list,
            output_size,
            activation,
            head,
            batch_norm,
            dropout,
        };
        let hidden_count = weights.len() - 1;
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::new();
        for (i, (w, b)) in weights.into_iter().enumerate() {
            let width = w.ncols();
            layers.push(Box::new(Affine::new(w, b)));
            if i < hidden_count {
                // the book's order: Affine, BatchNorm, activation, Dropout
                if batch_norm {
                    layers.push(Box::new(BatchNormalization::new(width)));
                }
                layers.push(activation_layer(activation));
                if let Some(dropout) = dropout {
                    layers.push(Box::new(Dropout::new(
                        dropout.ratio,
                        dropout.mode,
                        dropout_seed.wrapping_add(i as u64),
                    )));
                }
            }
        }
        let last_layer: Box<dyn LossLayer<T>> = match head {
            Head::SoftmaxCrossEntropy => Box::new(SoftmaxWithLoss::new()),
            Head::IdentityMse => Box::new(MeanSquaredError::new()),
            Head::SigmoidMse => {
                layers.push(Box::new(Sigmoid::new()));
                Box::new(MeanSquaredError::new())
            }
        };
        MultiLayerNet { layers, last_layer, architecture }
    }
}

fn activation_layer<T: Float>(activation: Activation) -> Box<dyn Layer<T>> {
    match activation {
        Activation::Relu => Box::new(Relu::new()),
        Activation::Sigmoid => Box::new(Sigmoid::new()),
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
