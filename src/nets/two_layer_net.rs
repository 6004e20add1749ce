//! The book's `TwoLayerNet` (chapters 4 and 5): `Affine1 - Relu1 - Affine2 - SoftmaxWithLoss`.

use ndarray::Array1;

use super::{Architecture, Network, WeightInit, gaussian};
use crate::Float;
use crate::layers::{Affine, Layer, LossLayer, Relu, SoftmaxWithLoss};

/// A two-layer classifier: `input -> hidden (ReLU) -> output`, softmax with cross-entropy.
/// Its parameters are `W1, b1, W2, b2`.
pub struct TwoLayerNet<T: Float> {
    layers: Vec<Box<dyn Layer<T>>>,
    last_layer: Box<dyn LossLayer<T>>,
    architecture: Architecture,
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
        Self::with_init(input_size, hidden_size, output_size, WeightInit::Std(weight_init_std), rng)
    }

    /// A network whose weights are drawn by `init` (a fixed std, Xavier or He, layer by layer).
    pub fn with_init<R: rand::Rng + ?Sized>(
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        init: WeightInit,
        rng: &mut R,
    ) -> Self {
        let w1 = gaussian(input_size, hidden_size, init.std(input_size), rng);
        let w2 = gaussian(hidden_size, output_size, init.std(hidden_size), rng);
        let layers: Vec<Box<dyn Layer<T>>> = vec![
            Box::new(Affine::new(w1, Array1::zeros(hidden_size))),
            Box::new(Relu::new()),
            Box::new(Affine::new(w2, Array1::zeros(output_size))),
        ];
        let architecture = Architecture::TwoLayer { input_size, hidden_size, output_size };
        TwoLayerNet { layers, last_layer: Box::new(SoftmaxWithLoss::new()), architecture }
    }
}

impl<T: Float> Network<T> for TwoLayerNet<T> {
    fn name(&self) -> &'static str {
        "TwoLayerNet"
    }

    fn layers(&mut self) -> (&mut [Box<dyn Layer<T>>], &mut dyn LossLayer<T>) {
        (&mut self.layers, self.last_layer.as_mut())
    }

    fn architecture(&self) -> Architecture {
        self.architecture.clone()
    }
}
