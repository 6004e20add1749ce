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

fn batch_norm(features: usize, seed: u64) -> BatchNormalization<f64> {
    let mut layer = BatchNormalization::new(features);
    layer.gamma = random(&[features], seed).into_dimensionality().unwrap();
    layer.beta = random(&[features], seed + 1).into_dimensionality().unwrap();
    layer
}

#[test]
fn batch_normalization_backward_matches_numerical_gradient_in_training() {
    check_layer(&mut batch_norm(4, 60), random(&[6, 4], 61), 62);
    // feature maps: normalised per channel over the batch and every position
    check_layer(&mut batch_norm(2, 63), random(&[3, 2, 3, 3], 64), 65);
}

#[test]
fn batch_normalization_normalises_in_training_and_uses_running_statistics_in_tests() {
    let mut layer = BatchNormalization::<f64>::new(2);
    let x = ndarray::array![[1.0, 10.0], [3.0, 20.0], [5.0, 30.0]].into_dyn();
    let y = layer.forward(x.clone(), true);
    // each column: mean 0, variance 1 (up to the 1e-6 added to the variance)
    for column in y.clone().into_dimensionality::<ndarray::Ix2>().unwrap().columns() {
        assert!(column.sum().abs() < 1e-12);
        assert!((column.mapv(|v| v * v).mean().unwrap() - 1.0).abs() < 1e-5);
    }
    // running statistics move 10% of the way from the book's (0, 0) to the batch's (3, 20) and (8/3, 200/3)
    assert!((layer.running_mean[0] - 0.3).abs() < 1e-12 && (layer.running_mean[1] - 2.0).abs() < 1e-12);
    assert!((layer.running_var[0] - 0.1 * 8.0 / 3.0).abs() < 1e-12);
    let test_out = layer.forward(x, false);
    assert!((test_out[[0, 0]] - (1.0 - 0.3) / (layer.running_var[0] + 1e-6).sqrt()).abs() < 1e-12);
}

#[test]
fn dropout_backward_matches_numerical_gradient_with_a_fixed_mask() {
    for mode in [DropoutMode::Inverted, DropoutMode::Book] {
        let mut layer = Dropout::new(0.4, mode, 70);
        let x = random(&[4, 5], 71);
        Layer::<f64>::forward(&mut layer, x.clone(), true);
        layer.frozen = true;
        check_layer(&mut layer, x, 72);
    }
}

#[test]
fn dropout_drops_about_its_ratio_and_scales_where_its_mode_says() {
    let x = ArrayD::<f64>::from_elem(IxDyn(&[200, 50]), 1.0);
    let mut inverted = Dropout::new(0.3, DropoutMode::Inverted, 1);
    let y = inverted.forward(x.clone(), true);
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / y.len() as f64;
    assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-12));
    assert_eq!(inverted.forward(x.clone(), false), x);
    let mut book = Dropout::new(0.3, DropoutMode::Book, 1);
    assert!(book.forward(x.clone(), true).iter().all(|&v| v == 0.0 || v == 1.0));
    assert!(book.forward(x, false).iter().all(|&v| (v - 0.7).abs() < 1e-12));
}

#[test]
#[should_panic(expected = "dropout ratio has to be in [0, 1), got 1.5")]
fn dropout_refuses_a_ratio_outside_zero_to_one() {
    Dropout::new(1.5, DropoutMode::Inverted, 0);
}

fn convolution(shape: [usize; 4], stride: usize, pad: usize, seed: u64) -> Convolution<f64> {
    let w = random(&shape, seed).into_dimensionality().unwrap();
    let b = random(&[shape[0]], seed + 1).into_dimensionality().unwrap();
    Convolution::new(w, b, stride, pad)
}

/// A convolution written as its definition: out[n,f,y,x] = b[f] + Σ W[f,c,i,j]·x[n,c,y·s+i-p,x·s+j-p].
fn naive_convolution(x: &ArrayD<f64>, layer: &Convolution<f64>) -> ArrayD<f64> {
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (f, _, fh, fw) = layer.w.dim();
    let (s, p) = (layer.stride as isize, layer.pad as isize);
    let (oh, ow) = ((h as isize + 2 * p - fh as isize) / s + 1, (w as isize + 2 * p - fw as isize) / s + 1);
    ArrayD::from_shape_fn(IxDyn(&[n, f, oh as usize, ow as usize]), |idx| {
        let (i, k, y, xx) = (idx[0], idx[1], idx[2] as isize, idx[3] as isize);
        let mut sum = layer.b[k];
        for ch in 0..c {
            for dy in 0..fh {
                for dx in 0..fw {
                    let (py, px) = (y * s + dy as isize - p, xx * s + dx as isize - p);
                    if py >= 0 && px >= 0 && py < h as isize && px < w as isize {
                        sum += layer.w[[k, ch, dy, dx]] * x[[i, ch, py as usize, px as usize]];
                    }
                }
            }
        }
        sum
    })
}

#[test]
fn convolution_equals_its_definition_with_stride_and_padding() {
    for (shape, stride, pad, input) in [
        ([3, 2, 3, 3], 1, 0, [2, 2, 5, 5]),
        ([4, 3, 3, 2], 2, 1, [2, 3, 7, 6]),
        ([2, 1, 5, 5], 1, 2, [1, 1, 4, 4]),
        ([3, 2, 3, 3], 1, 1, [2, 2, 6, 5]),
        ([2, 2, 3, 3], 1, 3, [1, 2, 2, 2]),
    ] {
        let mut layer = convolution(shape, stride, pad, 80);
        let x = random(&input, 81);
        let (got, want) = (layer.forward(x.clone(), false), naive_convolution(&x, &layer));
        assert_eq!(got.shape(), want.shape());
        assert!(
            got.iter().zip(want.iter()).all(|(a, b)| (a - b).abs() < 1e-12),
            "{shape:?} stride {stride} pad {pad}"
        );
    }
}

#[test]
fn convolution_backward_matches_numerical_gradient_with_stride_and_padding() {
    check_layer(&mut convolution([3, 2, 3, 3], 1, 0, 90), random(&[2, 2, 5, 5], 91), 92);
    check_layer(&mut convolution([4, 3, 3, 2], 2, 1, 93), random(&[2, 3, 7, 6], 94), 95);
    check_layer(&mut convolution([2, 1, 5, 5], 1, 2, 96), random(&[1, 1, 4, 4], 97), 98);
    check_layer(&mut convolution([3, 2, 3, 3], 1, 1, 99), random(&[2, 2, 6, 5], 100), 101);
    check_layer(&mut convolution([2, 2, 3, 3], 1, 3, 102), random(&[1, 2, 2, 2], 103), 104);
}

#[test]
fn im2col_of_one_image_is_the_books_im2col_transposed_and_col2im_adds_back() {
    use mitbadak::layers::im2col::{Windows, col2im, im2col};
    // stride 1 "same" (lines moved at once), stride 1 wider or narrower, stride 2, all padding
    for (input, filter, stride, pad) in [
        ([2, 3, 6, 5], (3, 3), 1, 1),
        ([2, 2, 5, 5], (5, 5), 1, 2),
        ([1, 2, 6, 6], (3, 3), 1, 2),
        ([2, 1, 7, 7], (5, 5), 1, 0),
        ([2, 3, 7, 6], (3, 2), 2, 1),
        ([1, 1, 2, 2], (3, 3), 1, 3),
    ] {
        let context = format!("input {input:?} filter {filter:?} stride {stride} pad {pad}");
        let x = random(&input, 120).into_dimensionality::<ndarray::Ix4>().unwrap();
        let windows = Windows::new((input[1], input[2], input[3]), filter, stride, pad);
        let (k, p) = (windows.taps(), windows.positions());
        let book = im2col(x.view(), filter, stride, pad);
        for (n, image) in x.outer_iter().enumerate() {
            let mut col = vec![f64::NAN; k * p];
            windows.im2col_image(image.as_standard_layout().as_slice().unwrap(), &mut col);
            let col = Array2::from_shape_vec((k, p), col).unwrap();
            assert_eq!(col.t(), book.slice(ndarray::s![n * p..(n + 1) * p, ..]), "im2col, {context}");
        }
        let dcol = random(book.shape(), 121).into_dimensionality::<ndarray::Ix2>().unwrap();
        let want = col2im(&dcol, x.dim(), filter, stride, pad);
        for (n, want) in want.outer_iter().enumerate() {
            let mut col =
                dcol.slice(ndarray::s![n * p..(n + 1) * p, ..]).t().as_standard_layout().into_owned();
            let mut got = vec![0.0; want.len()];
            windows.col2im_image(col.as_slice_mut().unwrap(), &mut got);
            let diff = got.iter().zip(want.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(diff < 1e-12, "col2im differs by {diff}, {context}");
        }
    }
}

/// `conv`'s forward pass, then those of the layers `after` it.
fn forward<T: mitbadak::Float>(
    conv: &mut Convolution<T>,
    after: &mut [Box<dyn Layer<T>>],
    x: &ArrayD<T>,
) -> ArrayD<T> {
    after.iter_mut().fold(conv.forward(x.clone(), true), |y, l| l.forward(y, true))
}

/// A convolution and the layers after it, as the book's layers or run in the convolution's
/// passes (`Convolution::with_relu` or `with_relu_and_pooling`, and `done_before` layers
/// after it): outputs, `dx`, `dW` and `db`. With `before`, the layers first take a step on
/// that input (their kept scratch then holds it).
fn convolution_then<T: mitbadak::Float>(
    (mut conv, mut after): (Convolution<T>, Vec<Box<dyn Layer<T>>>),
    before: Option<&ArrayD<T>>,
    x: &ArrayD<T>,
    dout: &ArrayD<T>,
    want_dx: bool,
) -> (ArrayD<T>, Option<ArrayD<T>>, ArrayD<T>, Array1<T>) {
    if let Some(before) = before {
        let y = forward(&mut conv, &mut after, before);
        let dout = after.iter_mut().rev().fold(y.mapv(|v| v + T::one()), |d, l| l.backward(d));
        conv.backward(dout);
    }
    let y = forward(&mut conv, &mut after, x);
    let dout = after.iter_mut().rev().fold(dout.clone(), |d, l| l.backward(d));
    let dx = if want_dx {
        Some(conv.backward(dout))
    } else {
        conv.backward_params(dout);
        None
    };
    (y, dx, conv.dw.into_dyn(), conv.b.mapv(|_| T::zero()) + &conv.db)
}

/// `conv` and the book's layers after it (a `Relu`, then perhaps its max `Pooling`), or
/// `conv` running them, with the layers that then pass values through.
fn and_after<T: mitbadak::Float>(
    conv: Convolution<T>,
    pooling: bool,
    fused: bool,
) -> (Convolution<T>, Vec<Box<dyn Layer<T>>>) {
    match (pooling, fused) {
        (false, false) => (conv, vec![Box::new(Relu::new())]),
        (false, true) => (conv.with_relu(), vec![Box::new(Relu::done_before())]),
        (true, false) => (conv, vec![Box::new(Relu::new()), Box::new(Pooling::max_2x2())]),
        (true, true) => (
            conv.with_relu_and_pooling(),
            vec![Box::new(Relu::done_before()), Box::new(Pooling::done_before())],
        ),
    }
}

#[test]
fn convolution_with_relu_and_pooling_gives_the_book_s_layers() {
    // stride 1 (shifted products; 16 filters and more for the vector kernels) and stride 2
    // (windows), outputs of odd height or width, f64 and f32, with and without dx; and whole
    // numbers, so that windows have equal maxima (the first one wins)
    for (shape, stride, pad, input, whole) in [
        ([3, 2, 3, 3], 1, 1, [2, 2, 6, 5], false),
        ([17, 3, 3, 3], 1, 1, [3, 3, 9, 11], false),
        ([17, 3, 3, 3], 1, 1, [3, 3, 9, 11], true),
        ([4, 3, 3, 2], 2, 1, [2, 3, 7, 6], false),
    ] {
        // exact zeros too (the book's ReLU blocks them): the first image blank, the first bias 0
        let mut conv = convolution(shape, stride, pad, 130);
        conv.b[0] = 0.0;
        let mut x = random(&input, 131);
        x.index_axis_mut(ndarray::Axis(0), 0).fill(0.0);
        if whole {
            x.mapv_inplace(f64::round);
            conv.w.mapv_inplace(f64::round);
            conv.b.mapv_inplace(f64::round);
        }
        // the fused layers take a step on other values first: their kept scratch is reused
        let before = random(&input, 133);
        let single = |c: &Convolution<f64>| {
            Convolution::new(c.w.mapv(|v| v as f32), c.b.mapv(|v| v as f32), c.stride, c.pad)
        };
        let f32s = |x: &ArrayD<f64>| x.mapv(|v| v as f32);
        for (pooling, want_dx) in [(false, true), (false, false), (true, true), (true, false)] {
            let context =
                format!("{shape:?} stride {stride} pad {pad} whole {whole}, pooling {pooling}, dx {want_dx}");
            let (mut book_conv, mut book_after) = and_after(conv.clone(), pooling, false);
            let dout = random(forward(&mut book_conv, &mut book_after, &x).shape(), 132);
            let want = convolution_then(and_after(conv.clone(), pooling, false), None, &x, &dout, want_dx);
            let fused = and_after(conv.clone(), pooling, true);
            assert_eq!(convolution_then(fused, Some(&before), &x, &dout, want_dx), want, "f64, {context}");
            if !pooling {
                let blocked = want.0.iter().filter(|&&v| v == 0.0).count() as f64 / want.0.len() as f64;
                assert!((0.2..0.8).contains(&blocked), "{blocked} of the outputs blocked, {context}");
            }

            let (x, dout, before) = (f32s(&x), f32s(&dout), f32s(&before));
            let want = convolution_then(and_after(single(&conv), pooling, false), None, &x, &dout, want_dx);
            let fused = and_after(single(&conv), pooling, true);
            assert_eq!(convolution_then(fused, Some(&before), &x, &dout, want_dx), want, "f32, {context}");
        }
    }
}

#[test]
fn convolution_in_f32_agrees_with_f64_on_mostly_zero_input() {
    // like MNIST, most pixels 0; gemm runs other kernels for f32 and f64
    let mut rng = mitbadak::seeded_rng(99);
    let x = ndarray::Array4::from_shape_simple_fn((4, 1, 12, 12), || {
        if rng.random::<f64>() < 0.2 { rng.random::<f32>() } else { 0.0 }
    })
    .into_dyn();
    let w: ndarray::Array4<f32> =
        ndarray::Array4::from_shape_simple_fn((5, 1, 3, 3), || rng.random_range(-1.0..1.0));
    let mut single = Convolution::new(w.clone(), ndarray::Array1::zeros(5), 1, 1);
    let mut double = Convolution::new(w.mapv(f64::from), ndarray::Array1::zeros(5), 1, 1);
    let close = |a: &ArrayD<f32>, b: &ArrayD<f64>, tolerance: f64| {
        a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(a, b)| (*a as f64 - b).abs() < tolerance)
    };
    let (got, want) = (single.forward(x.clone(), true), double.forward(x.mapv(f64::from), true));
    assert!(close(&got, &want, 1e-5), "forward");
    let dout = random(got.shape(), 100);
    let (dx, dx_want) = (single.backward(dout.mapv(|v| v as f32)), double.backward(dout));
    assert!(close(&dx, &dx_want, 1e-5), "dx");
    assert!(close(&single.dw.into_dyn(), &double.dw.into_dyn(), 1e-4), "dw");
}

#[test]
fn convolution_in_f32_agrees_with_f64_where_winograd_may_run() {
    // 32 channels to 32 and 64 on 8x8, and 32 to 32 on 14x14 padded by 2 (16x16 outputs):
    // DeepConvNet's layers that take Winograd's F(2x2, 3x3) with AVX2 and AVX-512 (CI runs
    // these tests at both on an AVX-512 machine); the shifted product at the scalar level
    for (filters, side, pad) in [(32, 8, 1), (64, 8, 1), (32, 14, 2)] {
        let context = format!("{filters} filters, {side}x{side} pad {pad}");
        let x = random(&[3, 32, side, side], 140);
        let conv = convolution([filters, 32, 3, 3], 1, pad, 141);
        let mut double = conv.clone();
        let mut single = Convolution::new(conv.w.mapv(|v| v as f32), conv.b.mapv(|v| v as f32), 1, pad);
        let close = |a: &ArrayD<f32>, b: &ArrayD<f64>| {
            a.shape() == b.shape()
                && a.iter().zip(b.iter()).all(|(a, b)| (*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()))
        };
        let (got, want) = (single.forward(x.mapv(|v| v as f32), true), double.forward(x, true));
        assert!(close(&got, &want), "forward, {context}");
        let dout = random(got.shape(), 142);
        let (dx, dx_want) = (single.backward(dout.mapv(|v| v as f32)), double.backward(dout));
        assert!(close(&dx, &dx_want), "dx, {context}");
        assert!(close(&single.dw.into_dyn(), &double.dw.into_dyn()), "dw, {context}");
    }
}

#[test]
fn pooling_backward_matches_numerical_gradient() {
    for kind in [PoolingKind::Max, PoolingKind::Average] {
        check_layer(&mut Pooling::new(2, 2, 2, 0, kind), random(&[2, 3, 4, 4], 110), 111);
        check_layer(&mut Pooling::new(3, 2, 1, 1, kind), random(&[1, 2, 5, 4], 112), 113);
    }
}

#[test]
fn pooling_passes_an_empty_batch_both_ways() {
    for kind in [PoolingKind::Max, PoolingKind::Average] {
        let mut pool = Pooling::new(2, 2, 2, 0, kind);
        let out = Layer::<f64>::forward(&mut pool, ArrayD::zeros(IxDyn(&[0, 3, 4, 4])), true);
        assert_eq!(out.shape(), [0, 3, 2, 2], "{kind:?}");
        assert_eq!(pool.backward(out).shape(), [0, 3, 4, 4], "{kind:?}");
    }
}

#[test]
#[should_panic(expected = "Pooling::backward: dout is not the last output's shape")]
fn pooling_backward_refuses_a_dout_of_another_shape() {
    let mut pool = Pooling::max_2x2();
    Layer::<f64>::forward(&mut pool, random(&[2, 3, 4, 4], 1), true);
    pool.backward(random(&[2, 3, 2, 1], 2));
}

#[test]
fn pooling_takes_the_maximum_or_the_mean_of_each_window() {
    let x = ndarray::Array4::from_shape_vec((1, 1, 2, 4), vec![1.0, 5.0, -1.0, -2.0, 3.0, 2.0, -3.0, -4.0])
        .unwrap()
        .into_dyn();
    let max = Layer::<f64>::forward(&mut Pooling::max_2x2(), x.clone(), false);
    assert_eq!(max.iter().copied().collect::<Vec<_>>(), [5.0, -1.0]);
    let mean = Layer::<f64>::forward(&mut Pooling::new(2, 2, 2, 0, PoolingKind::Average), x, false);
    assert_eq!(mean.iter().copied().collect::<Vec<_>>(), [2.75, -2.5]);
}

#[test]
fn max_pooling_2x2_keeps_the_first_maximum_of_each_window_on_odd_sides_too() {
    // values with many ties, an odd height and width (the last line and column are in no
    // window): the 2x2 path must give the definition's maxima and send dout to the first of
    // them; in f32 also on lines long enough for the vector code (18 windows: a vector of 16
    // and a tail) on each instruction set the CI holds the tests to
    first_maxima_2x2::<f64>((2, 3, 5, 7));
    first_maxima_2x2::<f32>((2, 3, 5, 7));
    first_maxima_2x2::<f32>((3, 2, 9, 37));
}

fn first_maxima_2x2<T: mitbadak::Float>((n, c, h, w): (usize, usize, usize, usize)) {
    let mut rng = mitbadak::seeded_rng(7);
    let x =
        ndarray::Array4::from_shape_simple_fn((n, c, h, w), || T::from_f64(rng.random_range(0..3) as f64));
    let dout =
        random(&[n, c, h / 2, w / 2], 8).mapv(T::from_f64).into_dimensionality::<ndarray::Ix4>().unwrap();
    let mut pool = Pooling::max_2x2();
    let out = Layer::<T>::forward(&mut pool, x.clone().into_dyn(), true);
    let dx = pool.backward(dout.clone().into_dyn());
    let mut dx_want = ndarray::Array4::<T>::zeros((n, c, h, w));
    for ((i, ch, oy, ox), &d) in dout.indexed_iter() {
        let cells = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(dy, dx)| (2 * oy + dy, 2 * ox + dx));
        let first = cells
            .iter()
            .copied()
            .reduce(|a, b| if x[[i, ch, b.0, b.1]] > x[[i, ch, a.0, a.1]] { b } else { a });
        let (y, x_at) = first.unwrap();
        assert_eq!(out[[i, ch, oy, ox]], x[[i, ch, y, x_at]], "maximum at {:?}", (i, ch, oy, ox));
        dx_want[[i, ch, y, x_at]] += d;
    }
    assert_eq!(dx, dx_want.into_dyn());
}

#[test]
fn a_convolution_s_later_backward_passes_equal_a_fresh_layer_s() {
    // the shifted backward pass keeps its scratch from one batch to the next: a layer that has
    // seen other batches (of another size, too) must give the same dW, db and dx, bit for bit,
    // as a new one. 5 filters: dout's rows are padded to 16 values, which nothing rewrites.
    let mut rng = mitbadak::seeded_rng(11);
    let w = uniform(&mut rng, (5, 2, 3, 3), 1.0);
    let b = Array1::from_shape_simple_fn(5, || rng.random_range(-1.0..1.0));
    let mut batch = |n: usize| {
        let x = uniform(&mut rng, (n, 2, 9, 9), 1.0);
        (x.into_dyn(), uniform(&mut rng, (n, 5, 9, 9), 1.0).into_dyn())
    };
    let batches = [batch(6), batch(3), batch(6)];
    let mut used = Convolution::new(w.clone(), b.clone(), 1, 1);
    for (x, dout) in &batches {
        used.forward(x.clone(), true);
        let dx = used.backward(dout.clone());
        let mut fresh = Convolution::new(w.clone(), b.clone(), 1, 1);
        fresh.forward(x.clone(), true);
        assert_eq!(dx, fresh.backward(dout.clone()), "dx");
        assert_eq!((&used.dw, &used.db), (&fresh.dw, &fresh.db), "dW and db");
    }
}

#[test]
fn a_convolution_s_gradients_are_the_same_every_pass_whichever_core_takes_which_images() {
    // DeepConvNet's second layer on a batch of 100: the shifted backward pass sums dW over a
    // dozen groups of images, which the cores share out as they go; the groups' sums must be
    // added in one order, or dW (and the training run after it) rounds differently run to run
    let mut rng = mitbadak::seeded_rng(12);
    let w = uniform(&mut rng, (16, 16, 3, 3), 0.2);
    let b = Array1::from_shape_simple_fn(16, || rng.random_range(-0.1..0.1));
    let x = uniform(&mut rng, (100, 16, 28, 28), 1.0);
    let dout = uniform(&mut rng, (100, 16, 28, 28), 1.0);
    let mut conv = Convolution::new(w, b, 1, 1);
    let mut pass = || {
        conv.forward(x.clone().into_dyn(), true);
        conv.backward_params(dout.clone().into_dyn());
        (conv.dw.clone(), conv.db.clone())
    };
    let first = pass();
    for i in 1..12 {
        assert!(pass() == first, "pass {i}: dW or db differs from the first pass's");
    }
}

/// An `f32` array of `shape` drawn uniformly from `(-limit, limit)`.
fn uniform(
    rng: &mut mitbadak::SeededRng,
    shape: (usize, usize, usize, usize),
    limit: f32,
) -> ndarray::Array4<f32> {
    ndarray::Array4::from_shape_simple_fn(shape, || rng.random_range(-limit..limit))
}
