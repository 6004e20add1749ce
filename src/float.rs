//! The number type: `f32` for training, `f64` for gradient checks.
//!
//! Every layer, network and function is generic over one bound, [`Float`], which both
//! `f32` and `f64` satisfy. Nothing else in the library is generic over numbers.

use ndarray::NdFloat;

/// A floating-point element type the library computes with: `f32` or `f64`.
pub trait Float: NdFloat + Default {
    /// The book's `h` for a central difference in this precision.
    const NUMERICAL_H: Self;

    /// Converts an `f64` constant (a learning rate, a drawn weight) to this type.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` for reporting (losses, accuracies, gradient-check errors).
    fn as_f64(self) -> f64;
}

impl Float for f32 {
    const NUMERICAL_H: Self = 1e-4;

    fn from_f64(x: f64) -> Self {
        x as f32
    }

    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const NUMERICAL_H: Self = 1e-4;

    fn from_f64(x: f64) -> Self {
        x
    }

    fn as_f64(self) -> f64 {
        self
    }
}
