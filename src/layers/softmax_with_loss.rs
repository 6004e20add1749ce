//! `SoftmaxWithLoss`: softmax followed by the cross-entropy error, as one layer.
//!
//! ```text
//! forward:  x: (N, C) -> y = softmax(x), loss = -Σ t·log(y) / N
//! backward: dx = (y - t) / N      (t one-hot; with class indices, y with 1 taken off at each label)
//! ```
//!
//! The book computes the loss as `cross_entropy_error(y, t)`, with `1e-7` inside the log;
//! `(y - t) / N` is then not quite its derivative (off by about `1e-7 / y` relatively), and a
//! gradient check shows it. Here `log(y)` is computed as the log-softmax
//! `x - max x - log Σ exp(x - max x)`, which never takes `log(0)` and whose derivative is
//! exactly `(y - t) / N`. The two losses differ by less than `1e-6` relatively.

use ndarray::{Array2, ArrayD, Ix2};

use super::LossLayer;
use crate::Float;
use crate::functions::softmax;
use crate::targets::{OwnedTargets, Targets};

/// Softmax with the cross-entropy loss; the usual last layer of a classifier.
#[derive(Debug, Clone)]
pub struct SoftmaxWithLoss<T> {
    /// The last loss.
    pub loss: T,
    /// The softmax output of the last forward, `(N, C)`.
    pub y: Array2<T>,
    /// The targets of the last forward.
    pub t: OwnedTargets<T>,
}

impl<T: Float> SoftmaxWithLoss<T> {
    /// A new softmax-with-loss layer.
    pub fn new() -> Self {
        SoftmaxWithLoss {
            loss: T::zero(),
            y: Array2::zeros((0, 0)),
            t: OwnedTargets::Classes(Default::default()),
        }
    }
}

impl<T: Float> Default for SoftmaxWithLoss<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> LossLayer<T> for SoftmaxWithLoss<T> {
    fn name(&self) -> &'static str {
        "SoftmaxWithLoss"
    }

    fn forward(&mut self, x: ArrayD<T>, t: Targets<'_, T>) -> T {
        let x = x.into_dimensionality::<Ix2>().expect("SoftmaxWithLoss::forward: x must be (N, C)");
        if let Err(e) = t.check_against(x.shape(), "SoftmaxWithLoss") {
            panic!("{e}");
        }
        let log_y = log_softmax(&x);
        let total = match t {
            Targets::Dense(t) => log_y.iter().zip(t.iter()).fold(T::zero(), |s, (&log_y, &t)| s + t * log_y),
            Targets::Classes(t) => t.iter().enumerate().fold(T::zero(), |s, (i, &k)| s + log_y[[i, k]]),
        };
        self.loss = -total / T::from_f64(x.nrows().max(1) as f64);
        self.y = log_y.mapv(T::exp);
        self.t = t.to_owned_targets();
        self.loss
    }

    fn backward(&mut self) -> ArrayD<T> {
        let batch_size = T::from_f64(self.y.nrows() as f64);
        let mut dx = self.y.clone();
        match &self.t {
            OwnedTargets::Dense(t) => dx -= t,
            OwnedTargets::Classes(t) => {
                for (i, &k) in t.iter().enumerate() {
                    dx[[i, k]] -= T::one();
                }
            }
        }
        dx.mapv_inplace(|v| v / batch_size);
        dx.into_dyn()
    }

    fn output(&self, x: ArrayD<T>) -> ArrayD<T> {
        softmax(&x)
    }
}

/// `log(softmax(x))` of each row: `x - max x - log Σ exp(x - max x)`.
fn log_softmax<T: Float>(x: &Array2<T>) -> Array2<T> {
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        let c = row.fold(T::neg_infinity(), |m, &v| m.max(v));
        let log_sum = row.fold(T::zero(), |s, &v| s + (v - c).exp()).ln();
        row.mapv_inplace(|v| v - c - log_sum);
    }
    out
}
