//! The fast matrix multiply against the plain triple loop, on the library's shapes and strides.

use mitbadak::matmul::{matmul, matmul_into, matmul_reference};
use mitbadak::seeded_rng;
use ndarray::{Array2, s};
use rand::RngExt;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = seeded_rng(seed);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

fn assert_close(a: &Array2<f64>, b: &Array2<f64>, tolerance: f64) {
    assert_eq!(a.dim(), b.dim());
    let worst = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst < tolerance, "max difference {worst:e}");
}

#[test]
fn matches_the_reference_on_the_seeds_shapes() {
    for (m, k, n) in [(100, 784, 50), (100, 50, 10), (1, 3, 2), (7, 1, 5), (3, 4, 1), (300, 300, 100)] {
        let (a, b) = (random(m, k, 1), random(k, n, 2));
        assert_close(&matmul(a.view(), b.view()), &matmul_reference(a.view(), b.view()), 1e-10);
    }
}

#[test]
fn works_on_transposed_and_sliced_views() {
    let (x, dout) = (random(20, 30, 3), random(20, 7, 4));
    // dW = xᵀ · dout, dx = dout · Wᵀ
    assert_close(&matmul(x.t(), dout.view()), &matmul_reference(x.t(), dout.view()), 1e-12);
    let w = random(30, 7, 5);
    assert_close(&matmul(dout.view(), w.t()), &matmul_reference(dout.view(), w.t()), 1e-12);
    let strided = x.slice(s![..;2, 1..;3]);
    let b = random(strided.ncols(), 4, 6);
    assert_close(&matmul(strided, b.view()), &matmul_reference(strided, b.view()), 1e-12);
}

#[test]
fn accumulates_into_c_when_asked() {
    let (a, b) = (random(5, 6, 7), random(6, 3, 8));
    let mut c = Array2::ones((5, 3));
    matmul_into(a.view(), b.view(), c.view_mut(), true);
    assert_close(&c, &(matmul_reference(a.view(), b.view()) + 1.0), 1e-12);
    matmul_into(a.view(), b.view(), c.view_mut(), false);
    assert_close(&c, &matmul_reference(a.view(), b.view()), 1e-12);
}

#[test]
fn handles_empty_dimensions() {
    let c = matmul(Array2::<f32>::zeros((3, 0)).view(), Array2::zeros((0, 4)).view());
    assert_eq!(c, Array2::<f32>::zeros((3, 4)));
    assert_eq!(matmul(Array2::<f32>::zeros((0, 5)).view(), Array2::zeros((5, 4)).view()).dim(), (0, 4));
}

#[test]
#[should_panic(expected = "matmul: shapes do not chain: a (2, 3) · b (4, 5)")]
fn panics_with_the_shapes_when_they_do_not_chain() {
    matmul(Array2::<f32>::zeros((2, 3)).view(), Array2::zeros((4, 5)).view());
}
