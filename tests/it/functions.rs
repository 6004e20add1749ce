//! The book's functions against the numbers it prints (chapters 3 and 4).

use mitbadak::functions::*;
use mitbadak::gradient::numerical_gradient;
use mitbadak::print::numpy_str;
use ndarray::{Array1, array};

#[test]
fn softmax_reproduces_the_books_example_to_eight_digits() {
    let y = softmax(&array![0.3f64, 2.9, 4.0]);
    assert_eq!(numpy_str(&y), "[0.01821127 0.24519181 0.73659691]");
    assert!((y.sum() - 1.0).abs() < 1e-15);
}

#[test]
fn softmax_of_large_values_is_finite_and_shift_invariant() {
    let large = softmax(&array![1000.0f64, 1001.0, 1002.0]);
    let small = softmax(&array![0.0f64, 1.0, 2.0]);
    assert!(large.iter().all(|v| v.is_finite()), "{large}");
    for (a, b) in large.iter().zip(small.iter()) {
        assert!((a - b).abs() < 1e-15, "{large} != {small}");
    }
}

#[test]
fn softmax_works_row_by_row_on_a_batch() {
    let y = softmax(&array![[0.3f64, 2.9, 4.0], [1000.0, 1001.0, 1002.0]]);
    assert_eq!(numpy_str(&y.row(0)), "[0.01821127 0.24519181 0.73659691]");
    assert!((y.row(1).sum() - 1.0).abs() < 1e-15);
    assert!((y[[1, 2]] - 0.6652409557748219).abs() < 1e-15);
}

#[test]
fn activations_match_the_book() {
    let x = array![-1.0f64, 1.0, 2.0];
    assert_eq!(numpy_str(&sigmoid(&x)), "[0.26894142 0.73105858 0.88079708]");
    assert_eq!(step_function(&x), array![0.0, 1.0, 1.0]);
    assert_eq!(relu(&x), array![0.0, 1.0, 2.0]);
    assert_eq!(relu_grad(&array![-1.0f64, 0.0, 2.0]), array![0.0, 1.0, 1.0]);
    assert_eq!(identity_function(&x), x);
    let s = sigmoid(&x);
    let expected = (1.0 - &s) * &s;
    assert!(sigmoid_grad(&x).iter().zip(expected.iter()).all(|(a, b)| (a - b).abs() < 1e-15));
}

/// ch04: "2" is the answer; y is the network's output for the two cases of the book.
fn book_outputs() -> (Array1<f64>, Array1<f64>, Array1<f64>) {
    let t = array![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let y_right = array![0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0];
    let y_wrong = array![0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0];
    (t, y_right, y_wrong)
}

#[test]
fn losses_reproduce_the_books_figures() {
    let (t, y_right, y_wrong) = book_outputs();
    assert!((sum_squared_error(&y_right, &t) - 0.09750000000000003).abs() < 1e-15);
    assert!((sum_squared_error(&y_wrong, &t) - 0.5975).abs() < 1e-15);
    assert!((cross_entropy_error(&y_right, &t) - 0.510825457099338).abs() < 1e-14);
    assert!((cross_entropy_error(&y_wrong, &t) - 2.302584092994546).abs() < 1e-14);
    assert!((mean_squared_error(&y_right, &t) - 0.09750000000000003 / 10.0).abs() < 1e-15);
}

#[test]
fn cross_entropy_takes_one_hot_or_indices_and_averages_over_the_batch() {
    let (t, y_right, y_wrong) = book_outputs();
    let batch = ndarray::stack![ndarray::Axis(0), y_right, y_wrong];
    let one_hot = ndarray::stack![ndarray::Axis(0), t, t];
    let by_one_hot = cross_entropy_error(&batch, &one_hot);
    let by_index = cross_entropy_error(&batch, &[2usize, 2][..]);
    let mean = (0.510825457099338 + 2.302584092994546) / 2.0;
    assert!((by_one_hot - mean).abs() < 1e-14 && (by_index - mean).abs() < 1e-14);
    assert!((cross_entropy_error(&y_right, &[2usize][..]) - 0.510825457099338).abs() < 1e-14);
}

#[test]
#[should_panic(
    expected = "cross_entropy_error labels: expected 2 class indices, one per sample, got 3 labels"
)]
fn cross_entropy_with_labels_of_the_wrong_length_panics_with_the_sizes() {
    cross_entropy_error(&array![[0.5f64, 0.5], [0.5, 0.5]], &[0usize, 1, 1][..]);
}

#[test]
fn numerical_gradient_reproduces_chapter_four() {
    // function_2(x) = x0² + x1²
    let function_2 = |x: &Array1<f64>| x.mapv(|v| v * v).sum();
    for (point, expected) in [([3.0, 4.0], [6.0, 8.0]), ([0.0, 2.0], [0.0, 4.0]), ([3.0, 0.0], [6.0, 0.0])] {
        let mut x = Array1::from(point.to_vec());
        let grad = numerical_gradient(function_2, &mut x);
        assert_eq!(x, Array1::from(point.to_vec()), "x is restored");
        for (g, e) in grad.iter().zip(expected) {
            assert!((g - e).abs() < 1e-7, "grad at {point:?} = {grad}");
        }
    }
    // numerical_diff(function_1, 5) = 0.1999999999990898 in the book
    let mut x = array![5.0f64];
    let g = numerical_gradient(|x| 0.01 * x[0] * x[0] + 0.1 * x[0], &mut x);
    assert!((g[0] - 0.1999999999990898).abs() < 1e-12, "{}", g[0]);
}
