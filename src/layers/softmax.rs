//! `Softmax` as a layer: `y = softmax(x)` over the last axis,
//! `dx = y ⊙ (dout - Σ_k dout_k·y_k)` (the Jacobian of softmax applied to `dout`).

use ndarray::{ArrayD, Axis};

use super::Layer;
use crate::Float;
use crate::functions::softmax;

/// The softmax layer. Keeps its output `out` for the backward pass.
#[derive(Debug, Clone)]
pub struct Softmax<T> {
    /// The last output `y`.
    pub out: ArrayD<T>,
}

impl<T: Float> Softmax<T> {
    /// A new softmax layer.
    pub fn new() -> Self {
        Softmax { out: ArrayD::zeros(ndarray::IxDyn(&[0])) }
    }
}

impl<T: Float> Default for Softmax<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Layer<T> for Softmax<T> {
    fn name(&self) -> &'static str {
        "Softmax"
    }

    fn forward(&mut self, x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        self.out = softmax(&x);
        self.out.clone()
    }

    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        assert_eq!(
            dout.shape(),
            self.out.shape(),
            "Softmax::backward: dout and the forward output differ in shape"
        );
        let last = Axis(self.out.ndim() - 1);
        let mut dx = dout;
        for (mut d, y) in dx.lanes_mut(last).into_iter().zip(self.out.lanes(last)) {
            // dx_k = y_k (dout_k - Σ_j dout_j y_j)
            let dot = d.iter().zip(y.iter()).fold(T::zero(), |s, (&d, &y)| s + d * y);
            d.zip_mut_with(&y, |d, &y| *d = y * (*d - dot));
        }
        dx
    }
}
