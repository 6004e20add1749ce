//! Matrix multiply: the one place the library calls a matrix-multiply crate.
//!
//! `C = A·B` with `A: (M, K)`, `B: (K, N)`, `C: (M, N)`, for views of any strides, so a
//! transpose (`x.t()`) costs nothing. The `gemm` crate does the work: on the seed's small
//! shapes (100x784x50, 100x50x10) it was faster single-threaded than `matrixmultiply`
//! (`benches/matmul.rs` measures both). Large products (full-data evaluation) use both cores.
//!
//! [`matmul_reference`] is the plain triple loop the fast path is tested against.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::Float;

/// Products with at least this many multiply-adds are split across threads; smaller ones
/// run on the calling thread, where thread hand-off would cost more than it saves.
const PARALLEL_MIN_MULADDS: usize = 8 << 20;

/// Returns `a · b`.
///
/// **Panics** if `a.ncols() != b.nrows()`.
///
/// ```
/// use ndarray::array;
/// let c = mitbadak::matmul(array![[1.0, 2.0], [3.0, 4.0]].view(), array![[5.0], [6.0]].view());
/// assert_eq!(c, array![[17.0], [39.0]]);
/// ```
pub fn matmul<T: Float>(a: ArrayView2<T>, b: ArrayView2<T>) -> Array2<T> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_into(a, b, c.view_mut(), false);
    c
}

/// Writes `a · b` into `c` (`accumulate = false`) or adds it to `c` (`accumulate = true`).
///
/// **Panics** if the shapes do not chain: `a: (M, K)`, `b: (K, N)`, `c: (M, N)`.
pub fn matmul_into<T: Float>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, accumulate: bool) {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "matmul: shapes do not chain: a {:?} · b {:?} into c {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::zero());
        }
        return;
    }
    let parallelism =
        if m * k * n >= PARALLEL_MIN_MULADDS { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the pointers and strides come from live ndarray views whose shapes were
    // checked above to be (m, k), (k, n) and (m, n); `c` is borrowed mutably, so it does
    // not alias `a` or `b`. gemm's convention is dst = alpha·dst + beta·lhs·rhs, and with
    // read_dst = false it never reads dst.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The plain triple loop `c[i][j] = Σ_p a[i][p]·b[p][j]`, the reference [`matmul`] is tested against.
///
/// **Panics** if `a.ncols() != b.nrows()`.
pub fn matmul_reference<T: Float>(a: ArrayView2<T>, b: ArrayView2<T>) -> Array2<T> {
    assert_eq!(a.ncols(), b.nrows(), "matmul_reference: a {:?} · b {:?}", a.dim(), b.dim());
    Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
        (0..a.ncols()).fold(T::zero(), |sum, p| sum + a[[i, p]] * b[[p, j]])
    })
}
