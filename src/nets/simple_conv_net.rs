//! The book's `SimpleConvNet` (chapter 7):
//! `Conv1 - Relu1 - Pool1 - Affine1 - Relu2 - Affine2 - SoftmaxWithLoss`.

use serde::{Deserialize, Serialize};

use super::layer_spec::{LayerSpec, at_least_one, build_layers, conv_output, draw_weights, too_large};
use super::{Architecture, Network, WeightInit};
use crate::layers::{Layer, LossLayer, SoftmaxWithLoss};
use crate::{Error, Float, Result};

/// The shape of a [`SimpleConvNet`]. `Default` is the book's: input `(1, 28, 28)`, 30 filters
/// of 5x5 without padding, stride 1, a hidden layer of 100, 10 classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleConvNetConfig {
    /// One input sample: `(channels, height, width)`.
    pub input_dim: [usize; 3],
    /// Filters in the convolution.
    pub filter_num: usize,
    /// The filters' side.
    pub filter_size: usize,
    /// Zeros around the input.
    pub pad: usize,
    /// The step between windows.
    pub stride: usize,
    /// The hidden affine layer's width.
    pub hidden_size: usize,
    /// Classes.
    pub output_size: usize,
}

impl Default for SimpleConvNetConfig {
    fn default() -> Self {
        SimpleConvNetConfig {
            input_dim: [1, 28, 28],
            filter_num: 30,
            filter_size: 5,
            pad: 0,
            stride: 1,
            hidden_size: 100,
            output_size: 10,
        }
    }
}

impl SimpleConvNetConfig {
    /// The network's layers, its loss layer aside: `Convolution - Relu - Pooling - Affine -
    /// Relu - Affine`.
    ///
    /// **Errors** if a size is 0, or the filter and pooling do not fit the input.
    pub fn layers(&self) -> Result<Vec<LayerSpec>> {
        let SimpleConvNetConfig { input_dim, filter_num, filter_size, pad, stride, hidden_size, output_size } =
            *self;
        let [c, h, w] = input_dim;
        at_least_one(&[
            ("input_dim channels", c),
            ("input_dim height", h),
            ("input_dim width", w),
            ("filter_num", filter_num),
            ("filter_size", filter_size),
            ("stride", stride),
            ("hidden_size", hidden_size),
            ("output_size", output_size),
        ])?;
        let conv = conv_output(h, filter_size, stride, pad).zip(conv_output(w, filter_size, stride, pad));
        let Some((oh, ow)) = conv.filter(|&(oh, ow)| oh >= 2 && ow >= 2) else {
            return Err(Error::invalid(
                "architecture",
                format!(
                    "a {filter_size}x{filter_size} filter with pad {pad} and stride {stride} on a {h}x{w} input leaves less than the 2x2 its pooling needs"
                ),
            ));
        };
        let pooled = [filter_num, oh / 2, ow / 2];
        let flat = filter_num
            .checked_mul(oh / 2)
            .and_then(|n| n.checked_mul(ow / 2))
            .ok_or_else(|| too_large(&self.describe(), None))?;
        Ok(vec![
            LayerSpec::Convolution {
                input: input_dim,
                output: [filter_num, oh, ow],
                size: filter_size,
                stride,
                pad,
            },
            LayerSpec::Relu,
            LayerSpec::Pooling { output: pooled },
            LayerSpec::Affine { input: flat, output: hidden_size },
            LayerSpec::Relu,
            LayerSpec::Affine { input: hidden_size, output: output_size },
        ])
    }

    /// The [`Architecture`] of the network this config builds (what its model file keeps).
    pub fn architecture(&self) -> Architecture {
        Architecture::SimpleConvnet(self.clone())
    }

    /// `SimpleConvNet 1x28x28 - conv 30x5x5 - 100 - 10`.
    pub fn describe(&self) -> String {
        let [c, h, w] = self.input_dim;
        let (f, k) = (self.filter_num, self.filter_size);
        format!("SimpleConvNet {c}x{h}x{w} - conv {f}x{k}x{k} - {} - {}", self.hidden_size, self.output_size)
    }
}

/// A one-convolution classifier. Parameters `W1, b1` (the filters), `W2, b2`, `W3, b3`.
pub struct SimpleConvNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    architecture: Architecture,
}

impl<T: Float> SimpleConvNet<T> {
    /// A network with weights drawn from `N(0, 0.01²)` by `rng` (the book's
    /// `weight_init_std`), and zero biases.
    ///
    /// **Panics** if [`SimpleConvNetConfig::layers`] fails.
    pub fn new<R: rand::Rng + ?Sized>(config: &SimpleConvNetConfig, rng: &mut R) -> Self {
        Self::with_init(config, WeightInit::Std(0.01), rng)
    }

    /// A network with weights drawn by `init` from `rng`, and zero biases.
    ///
    /// **Panics** if [`SimpleConvNetConfig::layers`] fails.
    pub fn with_init<R: rand::Rng + ?Sized>(
        config: &SimpleConvNetConfig,
        init: WeightInit,
        rng: &mut R,
    ) -> Self {
        let specs = config.layers().expect("a network SimpleConvNetConfig::layers accepts");
        let layers = build_layers(&specs, draw_weights(&specs, init, rng), 0);
        SimpleConvNet {
            layers,
            last_layer: Box::new(SoftmaxWithLoss::new()),
            architecture: config.architecture(),
        }
    }
}

impl<T: Float> Network<T> for SimpleConvNet<T> {
    fn name(&self) -> &'static str {
        "SimpleConvNet"
    }

    fn layers(&mut self) -> (&mut [Box<dyn Layer<T>>], &mut dyn LossLayer<T>) {
        (&mut self.layers, self.last_layer.as_mut())
    }

    fn architecture(&self) -> Architecture {
        self.architecture.clone()
    }
}
