//! Every layer's backward pass against central differences, in f64, on several shapes.
//!
//! For a layer `y = L(x)` and a random `dout`, backward must give the gradient of
//! `f(x) = Σ L(x) ⊙ dout` with respect to `x` and to each parameter.

use mitbadak::gradient::{GradientCheck, compare, numerical_gradient, numerical_gradient_by};
use mitbadak::layers::*;
use mitbadak::seeded_rng;
use mitbadak::targets::{AsTargets, one_hot};
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use rand::RngExt;
use rand_distr::StandardNormal;

const TOLERANCE: f64 = 1e-6;

fn random(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = seeded_rng(seed);
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.sample(StandardNormal))
}

fn assert_agrees(check: &GradientCheck, context: &str) {
    assert!(
        check.max_rel_error < TOLERANCE,
        "{context}: {} max relative error {:e} (max abs diff {:e})",
        check.name,
        check.max_rel_error,
        check.max_abs_diff
    );
}

/// Checks `dx` and every parameter gradient of `layer` on input `x`.
fn check_layer(layer: &mut dyn Layer<f64>, x: ArrayD<f64>, seed: u64) {
    let context = format!("{} on {:?}", layer.name(), x.shape());
    let out = layer.forward(x.clone(), true);
    let dout = random(out.shape(), seed + 1000);
    let dx = layer.backward(dout.clone());
    let param_grads: Vec<(String, ArrayD<f64>)> =
        layer.params().into_iter().map(|p| (p.name, p.grad.to_owned())).collect();

    let f = |layer: &mut dyn Layer<f64>, x: &ArrayD<f64>| (layer.forward(x.clone(), true) * &dout).sum();
    let mut x_probe = x.clone();
    let numerical_dx = numerical_gradient(|x| f(layer, x), &mut x_probe);
    assert_agrees(&compare("dx", &dx, &numerical_dx), &context);

    for (k, (name, grad)) in param_grads.iter().enumerate() {
        let numerical = numerical_gradient_by(grad.len(), |i, delta| {
            let original = element(layer, k, i, None);
            element(layer, k, i, Some(original + delta));
            let value = f(layer, &x);
            element(layer, k, i, Some(original));
            value
        });
        let numerical = ArrayD::from_shape_vec(grad.shape(), numerical).unwrap();
        assert_agrees(&compare(name, grad, &numerical), &context);
    }
}

fn element(layer: &mut dyn Layer<f64>, k: usize, i: usize, value: Option<f64>) -> f64 {
    let mut params = layer.params();
    let slot = &mut params[k].value.as_slice_memory_order_mut().unwrap()[i];
    let old = *slot;
    if let Some(v) = value {
        *slot = v;
    }
    old
}

/// Checks a loss layer's `dx` against the central difference of its loss.
fn check_loss_layer(layer: &mut dyn LossLayer<f64>, x: ArrayD<f64>, t: &dyn AsTargets<f64>) {
    let context = format!("{} on {:?}", layer.name(), x.shape());
    layer.forward(x.clone(), t.as_targets());
    let dx = layer.backward();
    let mut x_probe = x.clone();
    let numerical = numerical_gradient(|x| layer.forward(x.clone(), t.as_targets()), &mut x_probe);
    assert_agrees(&compare("dx", &dx, &numerical), &context);
}

const SHAPES: [&[usize]; 3] = [&[1, 3], &[4, 5], &[2, 3, 4]];

#[test]
fn relu_backward_matches_numerical_gradient() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        check_layer(&mut Relu::new(), random(shape, seed as u64), seed as u64);
    }
}

#[test]
fn sigmoid_backward_matches_numerical_gradient() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        check_layer(&mut Sigmoid::new(), random(shape, seed as u64), seed as u64);
    }
}

#[test]
fn softmax_backward_matches_numerical_gradient() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        check_layer(&mut Softmax::new(), random(shape, seed as u64), seed as u64);
    }
}

fn affine(d: usize, m: usize, seed: u64) -> Affine<f64> {
    let w = random(&[d, m], seed).into_dimensionality().unwrap();
    let b = random(&[m], seed + 1).into_dimensionality().unwrap();
    Affine::new(w, b)
}

#[test]
fn affine_backward_matches_numerical_gradient_on_2d_input() {
    check_layer(&mut affine(5, 3, 10), random(&[4, 5], 11), 12);
    check_layer(&mut affine(1, 1, 13), random(&[1, 1], 14), 15);
}

#[test]
fn affine_flattens_4d_input_and_restores_its_shape_in_backward() {
    let mut layer = affine(12, 4, 20);
    let x = random(&[2, 3, 2, 2], 21);
    let out = layer.forward(x.clone(), true);
    assert_eq!(out.shape(), &[2, 4]);
    assert_eq!(layer.backward(out).shape(), &[2, 3, 2, 2]);
    check_layer(&mut layer, x, 22);
}

#[test]
#[should_panic(
    expected = "Affine::forward: expected input (N, 5) or (N, ...) with 5 values per sample, got [4, 6]"
)]
fn affine_panics_with_the_shapes_on_the_wrong_input_width() {
    affine(5, 3, 1).forward(random(&[4, 6], 2), false);
}

#[test]
fn softmax_with_loss_backward_matches_numerical_gradient() {
    for (seed, (n, c)) in [(1, 3), (4, 5), (7, 10)].into_iter().enumerate() {
        let x = random(&[n, c], seed as u64);
        let labels: Vec<usize> = (0..n).map(|i| (i * 7 + seed) % c).collect();
        check_loss_layer(&mut SoftmaxWithLoss::new(), x.clone(), &labels);
        check_loss_layer(&mut SoftmaxWithLoss::new(), x, &one_hot::<f64>(&labels, c));
    }
}

#[test]
fn softmax_with_loss_gives_the_same_loss_and_gradient_for_one_hot_and_index_labels() {
    let x = random(&[6, 4], 30);
    let labels = vec![0usize, 3, 1, 1, 2, 0];
    let (mut by_index, mut by_one_hot) = (SoftmaxWithLoss::new(), SoftmaxWithLoss::new());
    let loss_index = by_index.forward(x.clone(), labels.as_targets());
    let loss_one_hot = by_one_hot.forward(x, one_hot::<f64>(&labels, 4).as_targets());
    assert!((loss_index - loss_one_hot).abs() < 1e-15, "{loss_index} vs {loss_one_hot}");
    let (dx_index, dx_one_hot) = (by_index.backward(), by_one_hot.backward());
    assert!(dx_index.iter().zip(dx_one_hot.iter()).all(|(a, b)| (a - b).abs() < 1e-16));
}

#[test]
fn softmax_with_loss_agrees_with_softmax_then_cross_entropy_error() {
    let x = random(&[5, 4], 31);
    let labels = vec![0usize, 3, 1, 1, 2];
    let fused = SoftmaxWithLoss::new().forward(x.clone(), labels.as_targets());
    let y = Softmax::new().forward(x, false);
    let separate = CrossEntropyError::new().forward(y, labels.as_targets());
    // the two differ only by the book's 1e-7 inside the log of cross_entropy_error
    assert!((fused - separate).abs() < 1e-6, "{fused} vs {separate}");
}

#[test]
fn cross_entropy_error_backward_matches_numerical_gradient() {
    let probabilities = mitbadak::functions::softmax(&random(&[4, 5], 40));
    check_loss_layer(&mut CrossEntropyError::new(), probabilities.clone(), &vec![1usize, 0, 4, 2]);
    check_loss_layer(&mut CrossEntropyError::new(), probabilities, &one_hot::<f64>(&[1, 0, 4, 2], 5));
}

#[test]
fn mean_squared_error_backward_matches_numerical_gradient() {
    let t: Array2<f64> = random(&[3, 4], 50).into_dimensionality().unwrap();
    check_loss_layer(&mut MeanSquaredError::new(), random(&[3, 4], 51), &t);
    check_loss_layer(&mut MeanSquaredError::new(), random(&[2, 3], 52), &vec![2usize, 0]);
}

#[test]
fn mean_squared_error_is_half_the_mean_of_squares() {
    let y = ndarray::array![[0.5, 1.0], [2.0, 0.0]].into_dyn();
    let t = ndarray::array![[0.0, 1.0], [1.0, 1.0]];
    // 0.5 · (0.25 + 0 + 1 + 1) / 4
    assert_eq!(MeanSquaredError::new().forward(y, t.as_targets()), 0.28125);
    let _: Array1<f64> = Array1::zeros(0);
}
