//! The book's `SimpleConvNet` (chapter 7):
//! `Conv1 - Relu1 - Pool1 - Affine1 - Relu2 - Affine2 - SoftmaxWithLoss`.

use ndarray::Array1;

use super::{Architecture, Network, WeightInit, gaussian, gaussian_array};
use crate::Float;
use crate::layers::im2col::output_size;
use crate::layers::{Affine, Convolution, Layer, LossLayer, Pooling, Relu, SoftmaxWithLoss};

/// The shape of a [`SimpleConvNet`]. `Default` is the book's: input `(1, 28, 28)`, 30 filters
/// of 5x5 without padding, stride 1, a hidden layer of 100, 10 classes, weights N(0, 0.01²).
#[derive(Debug, Clone, PartialEq)]
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
    /// How weights are drawn (the book: a fixed std of 0.01).
    pub weight_init: WeightInit,
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
            weight_init: WeightInit::Std(0.01),
        }
    }
}

impl SimpleConvNetConfig {
    /// Values out of the pooling layer: `filter_num · (conv_output / 2)²`.
    pub fn pool_output_size(&self) -> usize {
        let [_, h, w] = self.input_dim;
        let (oh, ow) = (
            output_size(h, self.filter_size, self.stride, self.pad),
            output_size(w, self.filter_size, self.stride, self.pad),
        );
        self.filter_num * (oh / 2) * (ow / 2)
    }

    /// The [`Architecture`] of the network this config builds (what its model file keeps).
    pub fn architecture(&self) -> Architecture {
        Architecture::SimpleConvnet {
            input_dim: self.input_dim,
            filter_num: self.filter_num,
            filter_size: self.filter_size,
            pad: self.pad,
            stride: self.stride,
            hidden_size: self.hidden_size,
            output_size: self.output_size,
        }
    }
}

/// A one-convolution classifier. Parameters `W1, b1` (the filters), `W2, b2`, `W3, b3`.
pub struct SimpleConvNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    architecture: Architecture,
}

impl<T: Float> SimpleConvNet<T> {
    /// A network with weights drawn by `config.weight_init` from `rng`, and zero biases.
    pub fn new<R: rand::Rng + ?Sized>(config: &SimpleConvNetConfig, rng: &mut R) -> Self {
        let [channels, _, _] = config.input_dim;
        let (f, k) = (config.filter_num, config.filter_size);
        let pooled = config.pool_output_size();
        let init = config.weight_init;
        let w1 = gaussian_array(&[f, channels, k, k], init.std(channels * k * k), rng)
            .into_dimensionality()
            .expect("4 axes");
        let w2 = gaussian(pooled, config.hidden_size, init.std(pooled), rng);
        let w3 = gaussian(config.hidden_size, config.output_size, init.std(config.hidden_size), rng);
        let layers: Vec<Box<dyn Layer<T>>> = vec![
            Box::new(Convolution::new(w1, Array1::zeros(f), config.stride, config.pad)),
            Box::new(Relu::new()),
            Box::new(Pooling::max_2x2()),
            Box::new(Affine::new(w2, Array1::zeros(config.hidden_size))),
            Box::new(Relu::new()),
            Box::new(Affine::new(w3, Array1::zeros(config.output_size))),
        ];
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
