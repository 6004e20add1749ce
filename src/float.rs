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

    /// The values as `f32`, when this type is `f32`: the way to the kernels written for
    /// `f32` alone (the SIMD ones), with `None` sending `f64` down the plain path.
    fn as_f32s(values: &[Self]) -> Option<&[f32]>;

    /// [`Float::as_f32s`] for a slice to write.
    fn as_f32s_mut(values: &mut [Self]) -> Option<&mut [f32]>;
}

impl Float for f32 {
    const NUMERICAL_H: Self = 1e-4;

    fn from_f64(x: f64) -> Self {
        x as f32
    }

    fn as_f64(self) -> f64 {
        self as f64
    }

    fn as_f32s(values: &[f32]) -> Option<&[f32]> {
        Some(values)
    }

    fn as_f32s_mut(values: &mut [f32]) -> Option<&mut [f32]> {
        Some(values)
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

    fn as_f32s(_: &[f64]) -> Option<&[f32]> {
        None
    }

    fn as_f32s_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}
