//! The book's functions (chapters 3 and 4): activations, softmax and the two losses.
//!
//! Each takes an array of any shape, as NumPy does; softmax and the losses read the last
//! axis as the classes and the first as the batch.

use ndarray::{Array, ArrayBase, Axis, Data, Dimension, Ix2};

use crate::Float;
use crate::targets::{AsTargets, Targets};

/// The book's `1e-7` inside the logarithm of the cross-entropy, so that `log(0)` never happens.
pub const CROSS_ENTROPY_DELTA: f64 = 1e-7;

/// `y = x`.
pub fn identity_function<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    x.to_owned()
}

/// `y = 1 if x > 0 else 0`.
pub fn step_function<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    x.mapv(|v| if v > T::zero() { T::one() } else { T::zero() })
}

/// `y = 1 / (1 + exp(-x))`.
pub fn sigmoid<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    x.mapv(sigmoid_scalar)
}

/// `dy/dx = (1 - y)·y` with `y = sigmoid(x)`.
pub fn sigmoid_grad<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    x.mapv(|v| {
        let y = sigmoid_scalar(v);
        (T::one() - y) * y
    })
}

/// `y = max(0, x)`.
pub fn relu<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    x.mapv(|v| if v > T::zero() { v } else { T::zero() })
}

/// `dy/dx = 1 if x >= 0 else 0` (the book's choice at 0).
pub fn relu_grad<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    x.mapv(|v| if v >= T::zero() { T::one() } else { T::zero() })
}

/// `y_k = exp(x_k - max x) / Σ_j exp(x_j - max x)` over the last axis: one vector, or each
/// row of a batch. Subtracting the maximum first keeps `exp` from overflowing, and does not
/// change the result.
///
/// ```
/// use ndarray::array;
/// let y = mitbadak::functions::softmax(&array![1000.0, 1001.0, 1002.0]);
/// assert!((y.sum() - 1.0f64).abs() < 1e-12 && y.iter().all(|v| v.is_finite()));
/// ```
pub fn softmax<T: Float, S: Data<Elem = T>, D: Dimension>(x: &ArrayBase<S, D>) -> Array<T, D> {
    let mut y = x.to_owned();
    if y.ndim() == 0 {
        y.fill(T::one());
        return y;
    }
    let last = Axis(y.ndim() - 1);
    for mut row in y.lanes_mut(last) {
        let c = row.fold(T::neg_infinity(), |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - c).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    y
}

/// Cross-entropy `-Σ t·log(y + 1e-7)`, averaged over the batch.
///
/// `y` is one vector of probabilities or a batch `(N, C)`; `t` is one-hot rows of the same
/// shape, or one class index per sample.
///
/// **Panics** if `t` does not fit `y`; the message gives both shapes.
pub fn cross_entropy_error<T: Float, S: Data<Elem = T>, D: Dimension>(
    y: &ArrayBase<S, D>,
    t: &(impl AsTargets<T> + ?Sized),
) -> T {
    let y = as_batch(y);
    let t = t.as_targets();
    if let Err(e) = t.check_against(y.shape(), "cross_entropy_error") {
        panic!("{e}");
    }
    let delta = T::from_f64(CROSS_ENTROPY_DELTA);
    let batch_size = T::from_f64(y.nrows() as f64);
    let total = match t {
        Targets::Dense(t) => y.iter().zip(t.iter()).fold(T::zero(), |s, (&y, &t)| s + t * (y + delta).ln()),
        Targets::Classes(t) => {
            t.iter().enumerate().fold(T::zero(), |s, (i, &k)| s + (y[[i, k]] + delta).ln())
        }
    };
    -total / batch_size
}

/// The book's sum of squares `0.5 · Σ (y - t)²`.
///
/// **Panics** if `y` and `t` differ in shape.
pub fn sum_squared_error<T: Float, S1, S2, D>(y: &ArrayBase<S1, D>, t: &ArrayBase<S2, D>) -> T
where
    S1: Data<Elem = T>,
    S2: Data<Elem = T>,
    D: Dimension,
{
    assert_eq!(y.shape(), t.shape(), "sum_squared_error: y and t must have the same shape");
    T::from_f64(0.5) * squared_distance(y, t)
}

/// Mean squared error `0.5 · mean((y - t)²)` over every element, as the deep-net seed prints it.
///
/// **Panics** if `y` and `t` differ in shape.
pub fn mean_squared_error<T: Float, S1, S2, D>(y: &ArrayBase<S1, D>, t: &ArrayBase<S2, D>) -> T
where
    S1: Data<Elem = T>,
    S2: Data<Elem = T>,
    D: Dimension,
{
    assert_eq!(y.shape(), t.shape(), "mean_squared_error: y and t must have the same shape");
    T::from_f64(0.5) * squared_distance(y, t) / T::from_f64(y.len().max(1) as f64)
}

fn squared_distance<T: Float, S1, S2, D>(y: &ArrayBase<S1, D>, t: &ArrayBase<S2, D>) -> T
where
    S1: Data<Elem = T>,
    S2: Data<Elem = T>,
    D: Dimension,
{
    y.iter().zip(t.iter()).fold(T::zero(), |s, (&y, &t)| s + (y - t) * (y - t))
}

pub(crate) fn sigmoid_scalar<T: Float>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

/// `y` as a batch `(N, C)`: one vector becomes one row, extra axes are flattened into `C`.
fn as_batch<T: Float, S: Data<Elem = T>, D: Dimension>(y: &ArrayBase<S, D>) -> Array<T, Ix2> {
    let (n, c) = match y.ndim() {
        0 => (1, 1),
        1 => (1, y.len()),
        _ => (y.shape()[0], y.len() / y.shape()[0].max(1)),
    };
    Array::from_shape_vec((n, c), y.iter().copied().collect()).expect("the sizes agree by construction")
}
