//! `MeanSquaredError`: the loss of a regression, after an identity (or sigmoid) output.
//!
//! ```text
//! forward:  y: (N, C), t: (N, C) -> loss = 0.5 · mean((y - t)²) over all N·C elements
//! backward: dy = (y - t) / (N·C)
//! ```

use ndarray::{Array2, ArrayD, Ix2};

use super::LossLayer;
use crate::Float;
use crate::functions::mean_squared_error;
use crate::targets::Targets;

/// Mean squared error, `0.5 · mean((y - t)²)`; class-index targets are read as one-hot rows.
#[derive(Debug, Clone)]
pub struct MeanSquaredError<T> {
    /// The last loss.
    pub loss: T,
    /// The outputs of the last forward, `(N, C)`.
    pub y: Array2<T>,
    /// The targets of the last forward, `(N, C)`.
    pub t: Array2<T>,
}

impl<T: Float> MeanSquaredError<T> {
    /// A new mean-squared-error layer.
    pub fn new() -> Self {
        MeanSquaredError { loss: T::zero(), y: Array2::zeros((0, 0)), t: Array2::zeros((0, 0)) }
    }
}

impl<T: Float> Default for MeanSquaredError<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> LossLayer<T> for MeanSquaredError<T> {
    fn name(&self) -> &'static str {
        "MeanSquaredError"
    }

    fn forward(&mut self, y: ArrayD<T>, t: Targets<'_, T>) -> T {
        self.y = y.into_dimensionality::<Ix2>().expect("MeanSquaredError::forward: y must be (N, C)");
        if let Err(e) = t.check_against(self.y.shape(), "MeanSquaredError") {
            panic!("{e}");
        }
        self.t = t.to_dense(self.y.ncols());
        self.loss = mean_squared_error(&self.y, &self.t);
        self.loss
    }

    fn backward(&mut self) -> ArrayD<T> {
        // dy = (y - t) / (N·C): the derivative of 0.5·mean((y - t)²)
        let count = T::from_f64(self.y.len().max(1) as f64);
        ((&self.y - &self.t) / count).into_dyn()
    }

    fn output(&self, y: ArrayD<T>) -> ArrayD<T> {
        y
    }
}
