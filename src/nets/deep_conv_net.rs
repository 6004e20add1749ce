//! The book's `DeepConvNet` (chapter 8), VGG-like:
//!
//! ```text
//! conv 16 - relu - conv 16 - relu - pool -
//! conv 32 - relu - conv 32 - relu - pool -
//! conv 64 - relu - conv 64 - relu - pool -
//! affine 50 - relu - dropout - affine 10 - dropout - softmax
//! ```
//!
//! Every filter is 3x3 with stride 1 and padding 1, but the fourth, padded by 2 (so 28 x 28
//! pools down to 4 x 4); weights are drawn by He's rule, as the book.

use ndarray::Array1;

use super::architecture::conv_output;
use super::{Architecture, DropoutConfig, Network, WeightInit, gaussian, gaussian_array};
use crate::Float;
use crate::layers::{
    Affine, BatchNormalization, Convolution, Dropout, DropoutMode, Layer, LossLayer, Pooling, Relu,
    SoftmaxWithLoss,
};

/// The book's six convolutions: (filters, padding), each 3x3 with stride 1; a 2x2 max
/// pooling follows every second one.
pub(crate) const CONVOLUTIONS: [(usize, usize); 6] = [(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)];

/// The filters' side.
pub(super) const FILTER: usize = 3;

/// The side of the last pooling's output for an input side of `side`: the six convolutions
/// and three poolings applied in turn, or `None` when the input is too small for them.
pub(super) fn deep_conv_output_side(mut side: usize) -> Option<usize> {
    for (i, &(_, pad)) in CONVOLUTIONS.iter().enumerate() {
        side = conv_output(side, FILTER, 1, pad)?;
        if i % 2 == 1 {
            side = conv_output(side, 2, 2, 0)?;
        }
    }
    Some(side)
}

/// The shape of a [`DeepConvNet`]. `Default` is the book's: input `(1, 28, 28)`, a hidden
/// layer of 50, 10 classes, dropout 0.5 (inverted; the book's variant is selectable), He
/// initialisation, no batch normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepConvNetConfig {
    /// One input sample: `(channels, height, width)`.
    pub input_dim: [usize; 3],
    /// The hidden affine layer's width.
    pub hidden_size: usize,
    /// Classes.
    pub output_size: usize,
    /// Dropout after the hidden layer and after the output (the book's 0.5).
    pub dropout: Option<DropoutConfig>,
    /// Batch normalisation after each convolution (not in the book's network).
    pub batch_norm: bool,
    /// How weights are drawn (the book: He).
    pub weight_init: WeightInit,
}

impl Default for DeepConvNetConfig {
    fn default() -> Self {
        DeepConvNetConfig {
            input_dim: [1, 28, 28],
            hidden_size: 50,
            output_size: 10,
            dropout: Some(DropoutConfig { ratio: 0.5, mode: DropoutMode::Inverted }),
            batch_norm: false,
            weight_init: WeightInit::He,
        }
    }
}

impl DeepConvNetConfig {
    /// The [`Architecture`] of the network this config builds (what its model file keeps).
    pub fn architecture(&self) -> Architecture {
        Architecture::DeepConvnet {
            input_dim: self.input_dim,
            hidden_size: self.hidden_size,
            output_size: self.output_size,
            dropout: self.dropout,
            batch_norm: self.batch_norm,
        }
    }
}

/// The deep convolutional classifier of chapter 8. Parameters `W1, b1 ... W6, b6` (the
/// filters), `W7, b7`, `W8, b8`; with batch normalisation also `gamma1, beta1 ... gamma6, beta6`.
pub struct DeepConvNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    architecture: Architecture,
}

impl<T: Float> DeepConvNet<T> {
    /// A network with weights drawn by `config.weight_init` from `rng`, and zero biases.
    ///
    /// **Panics** if the input is too small for three poolings ([`Architecture::check`] says).
    pub fn new<R: rand::Rng + ?Sized>(config: &DeepConvNetConfig, rng: &mut R) -> Self {
        let [mut channels, h, w] = config.input_dim;
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::new();
        for (i, &(filters, pad)) in CONVOLUTIONS.iter().enumerate() {
            let fan_in = channels * FILTER * FILTER;
            let weights =
                gaussian_array(&[filters, channels, FILTER, FILTER], config.weight_init.std(fan_in), rng);
            layers.push(Box::new(Convolution::new(
                weights.into_dimensionality().expect("4 axes"),
                Array1::zeros(filters),
                1,
                pad,
            )));
            if config.batch_norm {
                layers.push(Box::new(BatchNormalization::new(filters)));
            }
            layers.push(Box::new(Relu::new()));
            channels = filters;
            if i % 2 == 1 {
                layers.push(Box::new(Pooling::max_2x2()));
            }
        }
        let too_small = "an input too small for three poolings (Architecture::check says)";
        let flat = channels
            * deep_conv_output_side(h).expect(too_small)
            * deep_conv_output_side(w).expect(too_small);
        let w7 = gaussian(flat, config.hidden_size, config.weight_init.std(flat), rng);
        let w8 =
            gaussian(config.hidden_size, config.output_size, config.weight_init.std(config.hidden_size), rng);
        let dropout_seed = rng.next_u64();
        layers.push(Box::new(Affine::new(w7, Array1::zeros(config.hidden_size))));
        layers.push(Box::new(Relu::new()));
        if let Some(d) = config.dropout {
            layers.push(Box::new(Dropout::new(d.ratio, d.mode, dropout_seed)));
        }
        layers.push(Box::new(Affine::new(w8, Array1::zeros(config.output_size))));
        if let Some(d) = config.dropout {
            layers.push(Box::new(Dropout::new(d.ratio, d.mode, dropout_seed.wrapping_add(1))));
        }
        DeepConvNet {
            layers,
            last_layer: Box::new(SoftmaxWithLoss::new()),
            architecture: config.architecture(),
        }
    }
}

impl<T: Float> Network<T> for DeepConvNet<T> {
    fn name(&self) -> &'static str {
        "DeepConvNet"
    }

    fn layers(&mut self) -> (&mut [Box<dyn Layer<T>>], &mut dyn LossLayer<T>) {
        (&mut self.layers, self.last_layer.as_mut())
    }

    fn architecture(&self) -> Architecture {
        self.architecture.clone()
    }
}
