//! The figures of chapters 1, 3 and 4, as the book's scripts draw them with matplotlib:
//! each a [`Figure`] for [`crate::plot::figure_png`], from the values the script computes.
//!
//! | script | figure |
//! | --- | --- |
//! | `ch01/sin_graph.py`, `sin_cos_graph.py` | [`sin_cos`] |
//! | `ch03/step_function.py`, `sigmoid.py`, `relu.py`, `sig_step_compare.py` | [`step_function`], [`sigmoid`], [`relu`], [`sig_step_compare`] (figures 3-6 to 3-9) |
//! | `ch04/gradient_1d.py` | [`gradient_1d`]: `function_1` and its tangent at 5 (figure 4-7) |
//! | `ch04/gradient_2d.py` | [`gradient_2d`]: the field of `-∇f` for `f = x0² + x1²` (figure 4-9) |
//! | `ch04/gradient_method.py` | [`gradient_method`]: the path of gradient descent (figure 4-10) |

use ndarray::{Array1, array};

use crate::functions;
use crate::gradient::{gradient_descent, numerical_gradient, tangent_line};
use crate::plot::{Corner, FIGURE_SIZE, Figure, Line, Marker, Panel};

/// NumPy's `np.arange(start, stop, step)`, value for value: `ceil((stop - start) / step)`
/// values `start + i·delta`, where NumPy's `delta` is `(start + step) - start` (so that
/// `arange(-5.0, 5.0, 0.1)` ends at `4.899999999999965` and passes 0 at `-1.8e-14`).
pub fn arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let n = ((stop - start) / step).ceil().max(0.0) as usize;
    let delta = (start + step) - start;
    (0..n).map(|i| start + i as f64 * delta).collect()
}

/// The points `(x, f(x))` for each `x`.
fn curve(xs: &[f64], f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    xs.iter().map(|&x| (x, f(x))).collect()
}

fn one_panel(panel: Panel) -> Figure {
    Figure { size: FIGURE_SIZE, columns: 1, panels: vec![panel] }
}

/// `ch01/sin_cos_graph.py`: `sin` solid and `cos` dashed over `arange(0, 6, 0.1)`.
pub fn sin_cos() -> Figure {
    let x = arange(0.0, 6.0, 0.1);
    let panel = Panel::new("sin & cos", 0.0..6.0, -1.1..1.1)
        .axis_labels("x", "y")
        .line(Line::new("sin", curve(&x, f64::sin), 0))
        .line(Line::new("cos", curve(&x, f64::cos), 1).dashed())
        .legend(Corner::LowerLeft);
    one_panel(panel)
}

/// The x values of chapter 3's figures: `arange(-5.0, 5.0, 0.1)`.
fn chapter3_x() -> Array1<f64> {
    Array1::from(arange(-5.0, 5.0, 0.1))
}

fn activation(title: &str, y_range: std::ops::Range<f64>, y: Array1<f64>) -> Figure {
    let points = chapter3_x().iter().copied().zip(y).collect();
    one_panel(Panel::new(title, -5.0..5.0, y_range).line(Line::new("", points, 0)))
}

/// `ch03/step_function.py` (figure 3-6): the step function, `ylim(-0.1, 1.1)`.
pub fn step_function() -> Figure {
    activation("step function", -0.1..1.1, functions::step_function(&chapter3_x()))
}

/// `ch03/sigmoid.py` (figure 3-7): the sigmoid, `ylim(-0.1, 1.1)`.
pub fn sigmoid() -> Figure {
    activation("sigmoid", -0.1..1.1, functions::sigmoid(&chapter3_x()))
}

/// `ch03/relu.py` (figure 3-9): ReLU, `ylim(-1.0, 5.5)`.
pub fn relu() -> Figure {
    activation("ReLU", -1.0..5.5, functions::relu(&chapter3_x()))
}

/// `ch03/sig_step_compare.py` (figure 3-8): the sigmoid solid, the step function dashed.
pub fn sig_step_compare() -> Figure {
    let x = chapter3_x();
    let sigmoid = x.iter().copied().zip(functions::sigmoid(&x)).collect();
    let step = x.iter().copied().zip(functions::step_function(&x)).collect();
    let panel = Panel::new("sigmoid and step function", -5.0..5.0, -0.1..1.1)
        .line(Line::new("sigmoid", sigmoid, 0))
        .line(Line::new("step function", step, 7).dashed())
        .legend(Corner::UpperLeft);
    one_panel(panel)
}

/// The book's `function_1`: `0.01x² + 0.1x`.
pub fn function_1(x: f64) -> f64 {
    0.01 * (x * x) + 0.1 * x // 0.01*x**2 + 0.1*x, rounded in the book's order
}

/// The book's `function_2`: `x0² + x1²`.
pub fn function_2(x: &Array1<f64>) -> f64 {
    x.mapv(|v| v * v).sum()
}

/// `ch04/gradient_1d.py` (figure 4-7): `function_1` over `arange(0, 20, 0.1)` and its tangent
/// at `x = 5`; and the tangent's slope, which the script prints (`0.1999999999990898`).
pub fn gradient_1d() -> (Figure, f64) {
    let x = arange(0.0, 20.0, 0.1);
    let (slope, intercept) = tangent_line(function_1, 5.0);
    let panel = Panel::new("function_1 and its tangent at x = 5", 0.0..20.0, -1.0..6.0)
        .axis_labels("x", "f(x)")
        .line(Line::new("f(x)", curve(&x, function_1), 0))
        .line(Line::new("tangent at 5", curve(&x, |t| slope * t + intercept), 1))
        .legend(Corner::UpperLeft);
    (one_panel(panel), slope)
}

/// One arrow of a quiver: from `tail` by `(dx, dy)`, its head two short strokes.
fn arrow(tail: (f64, f64), (dx, dy): (f64, f64), color: usize) -> [Line; 2] {
    let tip = (tail.0 + dx, tail.1 + dy);
    // the head: strokes a third of the arrow long, 25° either side of its back
    let (back, turn) = ((-dx / 3.0, -dy / 3.0), 25f64.to_radians());
    let rotate = |(x, y): (f64, f64), a: f64| (x * a.cos() - y * a.sin(), x * a.sin() + y * a.cos());
    let (left, right) = (rotate(back, turn), rotate(back, -turn));
    let head = vec![(tip.0 + left.0, tip.1 + left.1), tip, (tip.0 + right.0, tip.1 + right.1)];
    [Line::new("", vec![tail, tip], color).thin(), Line::new("", head, color).thin()]
}

/// The grid of `ch04/gradient_2d.py`: `arange(-2, 2.5, 0.25)` in both directions, and
/// `-∇f` at each point by [`numerical_gradient`], as `(x0, x1, -∂f/∂x0, -∂f/∂x1)`.
pub fn gradient_field() -> Vec<(f64, f64, f64, f64)> {
    let axis = arange(-2.0, 2.5, 0.25);
    let mut field = Vec::with_capacity(axis.len() * axis.len());
    for &x1 in &axis {
        for &x0 in &axis {
            let grad = numerical_gradient(function_2, &mut array![x0, x1]);
            field.push((x0, x1, -grad[0], -grad[1]));
        }
    }
    field
}

/// `ch04/gradient_2d.py` (figure 4-9): the arrows of `-∇f` for `f = x0² + x1²`, pointing to
/// the minimum at the origin and longer the farther from it (scaled so the longest is a
/// grid step and a half).
pub fn gradient_2d() -> Figure {
    let field = gradient_field();
    let longest = field.iter().map(|&(_, _, u, v)| u.hypot(v)).fold(0.0, f64::max);
    let scale = 0.375 / longest;
    let mut panel =
        Panel::new("the gradient of x0² + x1², negated", -2.0..2.0, -2.0..2.0).axis_labels("x0", "x1");
    for (x0, x1, u, v) in field {
        panel.lines.extend(arrow((x0, x1), (u * scale, v * scale), 7));
    }
    Figure { size: (700, 700), columns: 1, panels: vec![panel] }
}

/// `ch04/gradient_method.py` (figure 4-10): 20 steps of gradient descent on `x0² + x1²`
/// with `lr = 0.1` from `(-3, 4)`, each `x` before its step as a circle, over dashed axes.
/// Also returns the path, for its numbers.
pub fn gradient_method() -> (Figure, Vec<Array1<f64>>) {
    let (_, x_history) = gradient_descent(function_2, &array![-3.0, 4.0], 0.1, 20);
    let mut panel = Panel::new("gradient descent on x0² + x1², lr 0.1", -3.5..3.5, -4.5..4.5)
        .axis_labels("X0", "X1")
        .line(Line::new("", vec![(-5.0, 0.0), (5.0, 0.0)], 0).dashed())
        .line(Line::new("", vec![(0.0, -5.0), (0.0, 5.0)], 0).dashed());
    for x in &x_history {
        // a line of one point: its marker alone, as matplotlib's 'o'
        panel = panel.line(Line::new("", vec![(x[0], x[1])], 0).marked(Marker::Circle, 1));
    }
    (Figure { size: (700, 800), columns: 1, panels: vec![panel] }, x_history)
}

/// Draws `figure` and writes it to `path` as PNG (atomically), for the examples.
pub fn write_png(figure: &Figure, path: &std::path::Path) -> crate::Result<()> {
    crate::atomic::write_atomic(path, &crate::plot::figure_png(figure)?)
}
