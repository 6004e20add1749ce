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

use serde::{Deserialize, Serialize};

use super::layer_spec::{
    LayerSpec, at_least_one, build_layers, check_dropout, conv_output, draw_weights, too_large,
};
use super::{Architecture, DropoutConfig, Network, WeightInit};
use crate::layers::{DropoutMode, Layer, LossLayer, SoftmaxWithLoss};
use crate::{Error, Float, Result};

/// The book's six convolutions: (filters, padding), each 3x3 with stride 1; a 2x2 max
/// pooling follows every second one.
const CONVOLUTIONS: [(usize, usize); 6] = [(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)];

/// The filters' side.
const FILTER: usize = 3;

/// The shape of a [`DeepConvNet`]. `Default` is the book's: input `(1, 28, 28)`, a hidden
/// layer of 50, 10 classes, dropout 0.5 (inverted; the book's variant is selectable), no
/// batch normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub batch_norm: bool,
}

impl Default for DeepConvNetConfig {
    fn default() -> Self {
        DeepConvNetConfig {
            input_dim: [1, 28, 28],
            hidden_size: 50,
            output_size: 10,
            dropout: Some(DropoutConfig { ratio: 0.5, mode: DropoutMode::Inverted }),
            batch_norm: false,
        }
    }
}

impl DeepConvNetConfig {
    /// The network's layers, its loss layer aside: the six convolutions (each with batch
    /// normalisation when asked, and ReLU), a pooling after every second, then
    /// `Affine - Relu - [Dropout] - Affine - [Dropout]`.
    ///
    /// **Errors** if a size is 0, the input is smaller than 4x4 (the three poolings), or the
    /// dropout ratio is not in [0, 1).
    pub fn layers(&self) -> Result<Vec<LayerSpec>> {
        let [c, h, w] = self.input_dim;
        at_least_one(&[
            ("input_dim channels", c),
            ("input_dim height", h),
            ("input_dim width", w),
            ("hidden_size", self.hidden_size),
            ("output_size", self.output_size),
        ])?;
        check_dropout(&self.dropout)?;
        let overflow = || too_large(&self.describe(), None);
        // a side so large that padding it overflows is not too small: its count is refused later
        let too_small = |side: usize| side < usize::MAX / 2 && output_side(side).is_none();
        if too_small(h) || too_small(w) {
            return Err(Error::invalid(
                "architecture",
                format!(
                    "a {h}x{w} input is too small for DeepConvNet's three 2x2 poolings: it needs at least 4x4"
                ),
            ));
        }
        let mut layers = Vec::new();
        let (mut channels, mut h, mut w) = (c, h, w);
        for (i, &(filters, pad)) in CONVOLUTIONS.iter().enumerate() {
            let oh = conv_output(h, FILTER, 1, pad).ok_or_else(overflow)?;
            let ow = conv_output(w, FILTER, 1, pad).ok_or_else(overflow)?;
            layers.push(LayerSpec::Convolution {
                input: [channels, h, w],
                output: [filters, oh, ow],
                size: FILTER,
                stride: 1,
                pad,
            });
            if self.batch_norm {
                layers.push(LayerSpec::BatchNormalization { features: filters });
            }
            layers.push(LayerSpec::Relu);
            (channels, h, w) = (filters, oh, ow);
            if i % 2 == 1 {
                (h, w) = (h / 2, w / 2);
                layers.push(LayerSpec::Pooling { output: [channels, h, w] });
            }
        }
        let flat = channels.checked_mul(h).and_then(|n| n.checked_mul(w)).ok_or_else(overflow)?;
        layers.extend([LayerSpec::Affine { input: flat, output: self.hidden_size }, LayerSpec::Relu]);
        layers.extend(self.dropout.map(LayerSpec::Dropout));
        layers.push(LayerSpec::Affine { input: self.hidden_size, output: self.output_size });
        layers.extend(self.dropout.map(LayerSpec::Dropout));
        Ok(layers)
    }

    /// The [`Architecture`] of the network this config builds (what its model file keeps).
    pub fn architecture(&self) -> Architecture {
        Architecture::DeepConvnet(self.clone())
    }

    /// `DeepConvNet 1x28x28 - 6 conv - 50 - 10 (dropout 0.5 (inverted))`.
    pub fn describe(&self) -> String {
        let [c, h, w] = self.input_dim;
        let mut extras = Vec::new();
        if self.batch_norm {
            extras.push("batch norm".to_string());
        }
        match self.dropout {
            Some(d) => extras.push(format!("dropout {} ({:?})", d.ratio, d.mode).to_lowercase()),
            None => extras.push("no dropout".into()),
        }
        format!(
            "DeepConvNet {c}x{h}x{w} - 6 conv - {} - {} ({})",
            self.hidden_size,
            self.output_size,
            extras.join(", ")
        )
    }
}

/// The side of the last pooling's output for an input side of `side`: the six convolutions
/// and three poolings applied in turn, or `None` when the input is too small for them.
fn output_side(mut side: usize) -> Option<usize> {
    for (i, &(_, pad)) in CONVOLUTIONS.iter().enumerate() {
        side = conv_output(side, FILTER, 1, pad)?;
        if i % 2 == 1 {
            side = conv_output(side, 2, 2, 0)?;
        }
    }
    Some(side)
}

/// The deep convolutional classifier of chapter 8. Parameters `W1, b1 ... W6, b6` (the
/// filters), `W7, b7`, `W8, b8`; with batch normalisation also `gamma1, beta1 ... gamma6, beta6`.
pub struct DeepConvNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    architecture: Architecture,
}

impl<T: Float> DeepConvNet<T> {
    /// A network with weights drawn by He's rule from `rng` (the book's), and zero biases.
    ///
    /// **Panics** if [`DeepConvNetConfig::layers`] fails.
    pub fn new<R: rand::Rng + ?Sized>(config: &DeepConvNetConfig, rng: &mut R) -> Self {
        Self::with_init(config, WeightInit::He, rng)
    }

    /// A network with weights drawn by `init` from `rng`, and zero biases.
    ///
    /// **Panics** if [`DeepConvNetConfig::layers`] fails.
    pub fn with_init<R: rand::Rng + ?Sized>(
        config: &DeepConvNetConfig,
        init: WeightInit,
        rng: &mut R,
    ) -> Self {
        let specs = config.layers().expect("a network DeepConvNetConfig::layers accepts");
        let weights = draw_weights(&specs, init, rng);
        let dropout_seed = rng.next_u64();
        DeepConvNet {
            layers: build_layers(&specs, weights, dropout_seed),
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
