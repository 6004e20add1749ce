//! The book's `TwoLayerNet` (chapters 4 and 5): `Affine1 - Relu1 - Affine2 - SoftmaxWithLoss`.

use serde::{Deserialize, Serialize};

use super::layer_spec::{LayerSpec, at_least_one, build_layers, draw_weights};
use super::{Architecture, Network, WeightInit};
use crate::Float;
use crate::error::Result;
use crate::layers::{Layer, LossLayer, SoftmaxWithLoss};

/// The shape of a [`TwoLayerNet`]: the book's `TwoLayerNet(input_size, hidden_size, output_size)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoLayerNetConfig {
    /// Values per input sample.
    pub input_size: usize,
    /// The hidden layer's width.
    pub hidden_size: usize,
    /// Classes.
    pub output_size: usize,
}

impl TwoLayerNetConfig {
    /// The network's layers, its loss layer aside: `Affine - Relu - Affine`.
    ///
    /// **Errors** if a size is 0.
    pub fn layers(&self) -> Result<Vec<LayerSpec>> {
        let TwoLayerNetConfig { input_size, hidden_size, output_size } = *self;
        at_least_one(&[
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("output_size", output_size),
        ])?;
        Ok(vec![
            LayerSpec::Affine { input: input_size, output: hidden_size },
            LayerSpec::Relu,
            LayerSpec::Affine { input: hidden_size, output: output_size },
        ])
    }

    /// `TwoLayerNet 784-50-10 (ReLU)`.
    pub fn describe(&self) -> String {
        let TwoLayerNetConfig { input_size, hidden_size, output_size } = self;
        format!("TwoLayerNet {input_size}-{hidden_size}-{output_size} (ReLU)")
    }
}

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
    /// **Panics** if a size is 0.
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
    ///
    /// **Panics** if a size is 0.
    pub fn with_init<R: rand::Rng + ?Sized>(
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        init: WeightInit,
        rng: &mut R,
    ) -> Self {
        let config = TwoLayerNetConfig { input_size, hidden_size, output_size };
        let specs = config.layers().expect("every size at least 1");
        let layers = build_layers(&specs, draw_weights(&specs, init, rng), 0);
        let architecture = Architecture::TwoLayer(config);
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
