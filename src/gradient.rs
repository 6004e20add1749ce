//! Numerical gradients (chapter 4) and the gradient check (chapter 5).
//!
//! The central difference `∂f/∂x_i ≈ (f(x + h·e_i) - f(x - h·e_i)) / 2h` with the book's
//! `h = 1e-4`, perturbing each element in place and restoring it exactly afterwards.

use ndarray::{Array, Array1, ArrayD, Dimension};

use crate::Float;
use crate::error::Result;
use crate::nets::Network;
use crate::nets::Trainable;
use crate::targets::AsTargets;

/// The gradient of `f` at `x` by central differences, in `x`'s shape.
///
/// `x` is perturbed one element at a time while `f` is evaluated, and restored after.
///
/// **Panics** if `x` is not contiguous in memory.
///
/// ```
/// use ndarray::array;
/// // the book's function_2: f(x0, x1) = x0² + x1², whose gradient at (3, 4) is (6, 8)
/// let mut x = array![3.0, 4.0];
/// let grad = mitbadak::gradient::numerical_gradient(|x| x.mapv(|v| v * v).sum(), &mut x);
/// assert!((grad[0] - 6.0f64).abs() < 1e-6 && (grad[1] - 8.0).abs() < 1e-6);
/// ```
pub fn numerical_gradient<T: Float, D: Dimension>(
    mut f: impl FnMut(&Array<T, D>) -> T,
    x: &mut Array<T, D>,
) -> Array<T, D> {
    let len = x.len();
    let values = numerical_gradient_by(len, |i, delta| {
        let original = memory(x)[i];
        memory(x)[i] = original + delta;
        let fx = f(x);
        memory(x)[i] = original;
        fx
    });
    let mut grad = x.clone();
    memory(&mut grad).copy_from_slice(&values);
    grad
}

/// The central difference over `len` elements, where `f_at(i, delta)` evaluates `f` with
/// element `i` moved by `delta` (and puts it back). This is the loop of
/// [`numerical_gradient`], for parameters that live inside a network.
pub fn numerical_gradient_by<T: Float>(len: usize, mut f_at: impl FnMut(usize, T) -> T) -> Vec<T> {
    let h = T::NUMERICAL_H;
    let two = T::one() + T::one();
    (0..len)
        .map(|i| {
            let fxh1 = f_at(i, h); // f(x + h)
            let fxh2 = f_at(i, -h); // f(x - h)
            (fxh1 - fxh2) / (two * h)
        })
        .collect()
}

fn memory<T, D: Dimension>(x: &mut Array<T, D>) -> &mut [T] {
    x.as_slice_memory_order_mut().expect("numerical_gradient: x must be contiguous")
}

/// How far a backpropagated gradient is from the numerical one, for one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientCheck {
    /// The parameter's name (`"W1"`).
    pub name: String,
    /// `mean |backprop - numerical|`: the figure the book prints.
    pub mean_abs_diff: f64,
    /// `max |backprop - numerical|`.
    pub max_abs_diff: f64,
    /// `max |backprop - numerical| / max(|backprop| + |numerical|, REL_FLOOR)`.
    pub max_rel_error: f64,
}

/// The smallest denominator of a relative error. A central difference with `h = 1e-4`
/// carries a rounding error of about `1e-12 · |loss|` in `f64`, so gradients far below this
/// floor cannot be resolved and are compared absolutely instead.
pub const REL_FLOOR: f64 = 1e-5;

/// Compares a backpropagated gradient with a numerical one.
///
/// **Panics** if the two differ in shape.
pub fn compare<T: Float>(name: &str, backprop: &ArrayD<T>, numerical: &ArrayD<T>) -> GradientCheck {
    assert_eq!(backprop.shape(), numerical.shape(), "compare: the gradients of {name} differ in shape");
    let mut sum = 0.0;
    let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
    for (&b, &n) in backprop.iter().zip(numerical.iter()) {
        let (b, n) = (b.as_f64(), n.as_f64());
        let diff = (b - n).abs();
        sum += diff;
        max_abs = max_abs.max(diff);
        max_rel = max_rel.max(diff / (b.abs() + n.abs()).max(REL_FLOOR));
    }
    GradientCheck {
        name: name.to_string(),
        mean_abs_diff: sum / backprop.len().max(1) as f64,
        max_abs_diff: max_abs,
        max_rel_error: max_rel,
    }
}

/// The book's gradient check: backpropagation against central differences, per parameter.
pub fn gradient_check<T: Float>(
    net: &mut (impl Network<T> + ?Sized),
    x: &ArrayD<T>,
    t: &dyn AsTargets<T>,
) -> Result<Vec<GradientCheck>> {
    let numerical = net.numerical_gradient(x, t)?;
    let backprop = net.gradient(x, t)?;
    Ok(backprop.iter().zip(&numerical).map(|((name, b), (_, n))| compare(name, b, n)).collect())
}

/// [`gradient_check`] on up to `per_param` elements of each parameter, drawn with `seed`
/// (all of a smaller parameter): for networks whose every element would take too long, such
/// as `DeepConvNet`'s 70,000.
pub fn gradient_check_sampled<T: Float>(
    net: &mut (impl Network<T> + ?Sized),
    x: &ArrayD<T>,
    t: &dyn AsTargets<T>,
    per_param: usize,
    seed: u64,
) -> Result<Vec<GradientCheck>> {
    use rand::seq::index::sample;
    let backprop = net.gradient(x, t)?;
    let mut rng = crate::seeded_rng(seed);
    let mut checks = Vec::with_capacity(backprop.len());
    for (k, (name, grad)) in backprop.iter().enumerate() {
        let mut indices = sample(&mut rng, grad.len(), per_param.min(grad.len())).into_vec();
        indices.sort_unstable();
        let numerical = net.numerical_gradient_at(x, t, k, &indices)?;
        let memory = grad.as_slice_memory_order().expect("gradients are contiguous");
        let picked: Vec<T> = indices.iter().map(|&i| memory[i]).collect();
        let (b, n) = (
            ArrayD::from_shape_vec(vec![picked.len()], picked),
            ArrayD::from_shape_vec(vec![numerical.len()], numerical),
        );
        checks.push(compare(name, &b.expect("1-D"), &n.expect("1-D")));
    }
    Ok(checks)
}

/// The book's `h` for [`numerical_diff`].
const H: f64 = 1e-4;

/// The derivative of `f` at `x` by the central difference `(f(x + h) - f(x - h)) / 2h`,
/// `h = 1e-4` (the book's `numerical_diff`, chapter 4.2).
///
/// ```
/// // the book's function_1 = 0.01x² + 0.1x at 5: the exact 0.2, less a rounding error
/// let d = mitbadak::gradient::numerical_diff(|x| 0.01 * x * x + 0.1 * x, 5.0);
/// assert_eq!(d, 0.1999999999990898);
/// ```
pub fn numerical_diff(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    (f(x + H) - f(x - H)) / (2.0 * H)
}

/// The tangent of `f` at `x`, with its slope by [`numerical_diff`]: `(slope, intercept)`,
/// the line `t ↦ slope·t + intercept` (the book's `tangent_line`).
pub fn tangent_line(f: impl Fn(f64) -> f64, x: f64) -> (f64, f64) {
    let d = numerical_diff(&f, x);
    let y = f(x) - d * x;
    (d, y)
}

/// Gradient descent by numerical gradients (chapter 4.4.1): `step_num` times
/// `x ← x - lr·∇f(x)`. Returns the last `x` and every `x` before each step (the book's
/// `x_history`, `step_num` points from `init_x`).
pub fn gradient_descent(
    f: impl Fn(&Array1<f64>) -> f64,
    init_x: &Array1<f64>,
    lr: f64,
    step_num: usize,
) -> (Array1<f64>, Vec<Array1<f64>>) {
    let mut x = init_x.clone();
    let mut x_history = Vec::with_capacity(step_num);
    for _ in 0..step_num {
        x_history.push(x.clone());
        let grad = numerical_gradient(&f, &mut x);
        x.scaled_add(-lr, &grad); // x -= lr * grad
    }
    (x, x_history)
}
