//! `Sigmoid`: `y = 1 / (1 + exp(-x))`, `dy/dx = y(1 - y)`.

use ndarray::ArrayD;

use super::Layer;
use crate::Float;
use crate::functions::sigmoid_scalar;

/// The sigmoid layer. Keeps its output `out` for the backward pass.
#[derive(Debug, Clone)]
pub struct Sigmoid<T> {
    /// The last output `y`.
    pub out: ArrayD<T>,
}

impl<T: Float> Sigmoid<T> {
    /// A new sigmoid layer.
    pub fn new() -> Self {
        Sigmoid { out: ArrayD::zeros(ndarray::IxDyn(&[0])) }
    }
}

impl<T: Float> Default for Sigmoid<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Layer<T> for Sigmoid<T> {
    fn name(&self) -> &'static str {
        "Sigmoid"
    }

    fn forward(&mut self, mut x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        x.mapv_inplace(sigmoid_scalar);
        self.out = x.clone();
        x
    }

    fn backward(&mut self, mut dout: ArrayD<T>) -> ArrayD<T> {
        // dx = dout · y(1 - y)
        assert_eq!(
            dout.shape(),
            self.out.shape(),
            "Sigmoid::backward: dout and the forward output differ in shape"
        );
        dout.zip_mut_with(&self.out, |d, &y| *d = *d * (T::one() - y) * y);
        dout
    }
}
