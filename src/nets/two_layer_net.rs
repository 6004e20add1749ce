//! The book's `TwoLayerNet` (chapters 4 and 5): `Affine1 - Relu1 - Affine2 - SoftmaxWithLoss`.

use ndarray::Array1;

use super::{Network, gaussian};
use crate::Float;
use crate::layers::{Affine, Layer, LossLayer, Relu, SoftmaxWithLoss};

/// A two-layer classifier: `input -> hidden (ReLU) -> output`, softmax with cross-entropy.
/// Its parameters are `W1, b1, W2, b2`.
pub struct TwoLayerNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    input_size: usize,
    output_size: usize,
}

impl<T: Float> TwoLayerNet<T> {
    /// A network with weights drawn from `N(0, weight_init_std²)` (the book uses 0.01) and
    /// zero biases. The same generator state gives the same network.
    ///
    /// ```
    /// use mitbadak::{nets::{Network, TwoLayerNet}, seeded_rng};
    /// let mut net = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
    /// assert_eq!(net.params().iter().map(|p| p.value.len()).sum::<usize>(), 39_760);
    /// ```
    pub fn new<R: rand::Rng + ?Sized>(
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        weight_init_std: f64,
        rng: &mut R,
    ) -> Self {
        let w1 = gaussian(input_size, hidden_size, weight_init_std, rng);
        let w2 = gaussian(hidden_size, output_size, weight_init_std, rng);
        let layers: Vec<Box<dyn Layer<T>>> = vec![
            Box::new(Affine::new(w1, Array1::zeros(hidden_size))),
            Box::new(Relu::new()),
            Box::new(Affine::new(w2, Array1::zeros(output_size))),
        ];
        TwoLayerNet { layers, last_layer: Box::new(SoftmaxWithLoss::new()), input_size, output_size }
    }

    /// The hidden layer's width.
    pub fn hidden_size(&mut self) -> usize {
        self.params()[0].value.shape()[1]
    }
}

impl<T: Float> Network<T> for TwoLayerNet<T> {
    fn name(&self) -> &'static str {
        "TwoLayerNet"
    }

    fn layers(&mut self) -> (&mut [Box<dyn Layer<T>>], &mut dyn LossLayer<T>) {
        (&mut self.layers, self.last_layer.as_mut())
    }

    fn input_shape(&self) -> Vec<usize> {
        vec![self.input_size]
    }

    fn output_size(&self) -> usize {
        self.output_size
    }
}
