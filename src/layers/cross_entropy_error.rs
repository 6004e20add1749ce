//! `CrossEntropyError` as a layer, for probabilities that come out of a separate `Softmax`.
//!
//! ```text
//! forward:  y: (N, C) probabilities -> loss = -Σ t·log(y + 1e-7) / N
//! backward: dy = -t / (y + 1e-7) / N
//! ```

use ndarray::{Array2, ArrayD, Ix2};

use super::LossLayer;
use crate::Float;
use crate::functions::{CROSS_ENTROPY_DELTA, cross_entropy_error};
use crate::targets::{OwnedTargets, Targets};

/// The cross-entropy error of probabilities against targets.
#[derive(Debug, Clone)]
pub struct CrossEntropyError<T> {
    /// The last loss.
    pub loss: T,
    /// The probabilities of the last forward, `(N, C)`.
    pub y: Array2<T>,
    /// The targets of the last forward.
    pub t: OwnedTargets<T>,
}

impl<T: Float> CrossEntropyError<T> {
    /// A new cross-entropy layer.
    pub fn new() -> Self {
        CrossEntropyError {
            loss: T::zero(),
            y: Array2::zeros((0, 0)),
            t: OwnedTargets::Classes(Default::default()),
        }
    }
}

impl<T: Float> Default for CrossEntropyError<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> LossLayer<T> for CrossEntropyError<T> {
    fn name(&self) -> &'static str {
        "CrossEntropyError"
    }

    fn forward(&mut self, y: ArrayD<T>, t: Targets<'_, T>) -> T {
        self.y = y.into_dimensionality::<Ix2>().expect("CrossEntropyError::forward: y must be (N, C)");
        self.loss = cross_entropy_error(&self.y, &t);
        self.t = t.to_owned_targets();
        self.loss
    }

    fn backward(&mut self) -> ArrayD<T> {
        // dy = -t / (y + δ) / N
        let delta = T::from_f64(CROSS_ENTROPY_DELTA);
        let batch_size = T::from_f64(self.y.nrows() as f64);
        let mut dy = Array2::zeros(self.y.raw_dim());
        match &self.t {
            OwnedTargets::Dense(t) => ndarray::Zip::from(&mut dy)
                .and(&self.y)
                .and(t)
                .for_each(|d, &y, &t| *d = -t / (y + delta) / batch_size),
            OwnedTargets::Classes(t) => {
                for (i, &k) in t.iter().enumerate() {
                    dy[[i, k]] = -T::one() / (self.y[[i, k]] + delta) / batch_size;
                }
            }
        }
        dy.into_dyn()
    }

    fn output(&self, y: ArrayD<T>) -> ArrayD<T> {
        y
    }
}
