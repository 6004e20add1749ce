//! `Relu`: `y = max(0, x)`, `dy/dx = 1 where x > 0, else 0`.

use ndarray::ArrayD;

use super::Layer;
use crate::Float;

/// The rectified linear unit. Keeps `mask` (where `x <= 0`) for the backward pass.
#[derive(Debug, Clone, Default)]
pub struct Relu {
    /// `true` where the input was `<= 0`: those outputs are 0 and pass no gradient.
    pub mask: ArrayD<bool>,
}

impl Relu {
    /// A new ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Float> Layer<T> for Relu {
    fn name(&self) -> &'static str {
        "Relu"
    }

    fn forward(&mut self, mut x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        // one pass: note the mask and clear what it covers
        self.mask = x.map_mut(|v| {
            let masked = *v <= T::zero();
            *v = if masked { T::zero() } else { *v };
            masked
        });
        x
    }

    fn backward(&mut self, mut dout: ArrayD<T>) -> ArrayD<T> {
        // dx = dout where x > 0, else 0
        assert_eq!(
            dout.shape(),
            self.mask.shape(),
            "Relu::backward: dout and the forward input differ in shape"
        );
        // the book's dout[self.mask] = 0, as a select rather than a branch: the mask is as
        // good as random, and a branch on it would be mispredicted half the time
        dout.zip_mut_with(&self.mask, |d, &masked| *d = if masked { T::zero() } else { *d });
        dout
    }
}
