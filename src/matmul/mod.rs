//! Matrix multiply: the one place the library multiplies matrices.
//!
//! `C = A·B` with `A: (M, K)`, `B: (K, N)`, `C: (M, N)`, for views of any strides, so a
//! transpose (`x.t()`) costs nothing. Two paths:
//!
//! - `f32` products whose left operand is mostly zeros (MNIST's pixels: 81% zeros) go to the
//!   zero-skipping kernels of [`sparse`], which do only the multiply-adds that matter;
//! - everything else goes to the `gemm` crate, which was faster single-threaded than
//!   `matrixmultiply` on the ch05 job's small shapes (`benches/matmul.rs` measures all three).
//!
//! [`matmul_reference`] is the plain triple loop both paths are tested against.
//!
//! The stride-1 convolutions multiply their filters by the planes without laying the windows
//! out: [`shifted`] (one shift of the planes a filter tap), and [`winograd`] (F(2x2, 3x3), 16
//! multiplies for 4 outputs, where that is faster), each beside its plain loop.

pub mod shifted;
pub mod simd;
pub mod sparse;
pub mod winograd;

pub use sparse::SparseRows;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use rayon::prelude::*;

use crate::Float;

/// Left operands with at most this fraction of nonzeros take the zero-skipping path, in
/// products small enough to run on one core (below 8M multiply-adds).
pub const SPARSE_MAX_DENSITY: f64 = 0.5;

/// The same for products large enough to be split between the cores, where the zero-skipping
/// kernels, on one core, race `gemm` on all of them: SimpleConvNet's `x·W1` shape, `(100,
/// 4320)·(4320, 100)`, with 40% of a random `x` nonzero, took 1.16 ms that way against 0.36 ms
/// dense on the Xeon (docs/performance.md).
pub const SPARSE_MAX_DENSITY_SPLIT: f64 = 0.1;

/// Products with at least this many multiply-adds are split across threads; smaller ones
/// run on the calling thread, where thread hand-off would cost more than it saves.
const PARALLEL_MIN_MULADDS: usize = 8 << 20;

/// Whether a left operand with `density` nonzeros takes the zero-skipping path in a product of
/// `muladds` multiply-adds.
fn sparse_pays(density: f64, muladds: usize) -> bool {
    let split = muladds >= PARALLEL_MIN_MULADDS && rayon::current_num_threads() > 1;
    density <= if split { SPARSE_MAX_DENSITY_SPLIT } else { SPARSE_MAX_DENSITY }
}

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
    if has_work(a, b, c.view_mut(), accumulate) && !try_sparse(a, b, c.view_mut(), accumulate) {
        dense(a, b, c, accumulate);
    }
}

/// [`matmul_into`] on the dense path (the `gemm` crate) whatever the operands hold.
///
/// **Panics** if the shapes do not chain.
pub fn gemm_into<T: Float>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, accumulate: bool) {
    if has_work(a, b, c.view_mut(), accumulate) {
        dense(a, b, c, accumulate);
    }
}

/// Checks that the shapes chain, and settles the products with an empty dimension (an empty
/// inner dimension gives zeros). Returns whether a product remains to be computed.
fn has_work<T: Float>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, accumulate: bool) -> bool {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "matmul: shapes do not chain: a {:?} · b {:?} into c {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    if k == 0 && !accumulate {
        c.fill(T::zero());
    }
    m > 0 && n > 0 && k > 0
}

/// Products whose inner dimension is at least this many times their output's larger side are
/// split along the inner dimension when they are shared out between the cores.
const SPLIT_INNER_RATIO: usize = 8;

/// `c (+)= a · b` by the `gemm` crate, shapes checked and nonempty.
fn dense<T: Float>(a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>, accumulate: bool) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let threads = rayon::current_num_threads();
    if m * k * n < PARALLEL_MIN_MULADDS || threads == 1 {
        gemm_call(a, b, c, accumulate, gemm::Parallelism::None);
    } else if k >= SPLIT_INNER_RATIO * m.max(n) {
        dense_split_inner(a, b, c, accumulate, threads);
    } else {
        gemm_call(a, b, c, accumulate, gemm::Parallelism::Rayon(0));
    }
}

/// `c (+)= a · b` as `threads` products over slices of the inner dimension, one a core,
/// summed: `Σ_p a[i][p]·b[p][j]` is the sum of its parts over `p`. For a small output of a long
/// sum (SimpleConvNet's `x·W1`, `(100, 4320)·(4320, 100)`), where `gemm`'s own threads share the
/// output, which is too small to share well: on 2 cores about twice as fast as `gemm`'s own
/// threads (docs/performance.md; `benches/matmul.rs` times this function on the shape).
fn dense_split_inner<T: Float>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    mut c: ArrayViewMut2<T>,
    accumulate: bool,
    threads: usize,
) {
    let k = a.ncols();
    let part = k.div_ceil(threads);
    let parts: Vec<Array2<T>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let inner = (t * part).min(k)..((t + 1) * part).min(k);
            let mut partial = Array2::zeros(c.dim());
            if !inner.is_empty() {
                let (a, b) = (a.slice(s![.., inner.clone()]), b.slice(s![inner, ..]));
                gemm_call(a, b, partial.view_mut(), false, gemm::Parallelism::None);
            }
            partial
        })
        .collect();
    if !accumulate {
        c.fill(T::zero());
    }
    for partial in parts {
        c += &partial;
    }
}

/// `c (+)= a · b` by one call of the `gemm` crate, shapes checked and nonempty.
fn gemm_call<T: Float>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    mut c: ArrayViewMut2<T>,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
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

/// Runs the product on the sparse kernels when `T` is `f32`, the operands are contiguous
/// (`a` row-major, or column-major as `xᵀ` is) and `a` is sparse enough. Returns whether it did.
fn try_sparse<T: Float>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    mut c: ArrayViewMut2<T>,
    accumulate: bool,
) -> bool {
    let (m, k) = a.dim();
    let n = b.ncols();
    // an f64 product has no f32 slices, and goes the dense way
    let (Some(b), Some(c)) = (b.as_slice().and_then(T::as_f32s), c.as_slice_mut().and_then(T::as_f32s_mut))
    else {
        return false;
    };
    let muladds = m * k * n;
    if let Some(a) = a.as_slice().and_then(T::as_f32s).filter(|a| sparse_pays(density(a, m), muladds)) {
        SparseRows::from_dense(a, m, k).dot_into(b, n, c, accumulate);
        return true;
    }
    if let Some(a_t) =
        a.t().as_slice().and_then(T::as_f32s).filter(|a_t| sparse_pays(density(a_t, k), muladds))
    {
        SparseRows::from_dense(a_t, k, m).t_dot_into(b, n, c, accumulate);
        return true;
    }
    false
}

/// The left operand of the products of a layer, `x` in `x·W` and `xᵀ·dout`: the array, and
/// its nonzeros in [`SparseRows`] when it is mostly zeros (found once, used by both), or the
/// sparse rows alone when that is how the batch came.
#[derive(Debug, Clone)]
pub struct Operand<T> {
    dense: Option<Array2<T>>,
    sparse: Option<SparseRows>,
    rows: usize,
}

impl<T: Float> Operand<T> {
    /// An empty `(0, cols)` operand.
    pub fn empty(cols: usize) -> Self {
        Operand { dense: Some(Array2::zeros((0, cols))), sparse: None, rows: 0 }
    }

    /// Holds `a` (it must be in row-major order), finding its nonzeros if there are few enough
    /// for the zero-skipping kernels to pay in products with a right operand `n` columns wide
    /// (`W`'s), into the memory of the last operand held.
    ///
    /// **Panics** if `a` is not in row-major order.
    pub fn set(&mut self, a: Array2<T>, n: usize) {
        assert!(a.is_standard_layout(), "Operand::set: the array must be in row-major order");
        let (rows, cols) = a.dim();
        let sparse_values = a
            .as_slice()
            .and_then(T::as_f32s)
            .filter(|values| sparse_pays(density(values, rows), rows * cols * n));
        match sparse_values {
            Some(values) => self.sparse.get_or_insert_with(SparseRows::default).fill_from(values, rows, cols),
            None => self.sparse = None,
        }
        (self.dense, self.rows) = (Some(a), rows);
    }

    /// Holds a batch given as its nonzeros.
    pub fn set_sparse(&mut self, rows: SparseRows) {
        (self.rows, self.dense, self.sparse) = (rows.dim().0, None, Some(rows));
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// `self · b`.
    ///
    /// **Panics** if the shapes do not chain.
    pub fn dot(&mut self, b: ArrayView2<T>) -> Array2<T> {
        let mut c = Array2::zeros((self.rows, b.ncols()));
        let f32s = b.as_slice().and_then(T::as_f32s).zip(c.as_slice_mut().and_then(T::as_f32s_mut));
        match (&mut self.sparse, &self.dense, f32s) {
            (Some(sparse), _, Some((b_values, c_values))) => {
                assert_eq!(b.nrows(), sparse.dim().1, "Operand::dot: shapes do not chain");
                sparse.dot_into(b_values, b.ncols(), c_values, false)
            }
            (_, Some(dense), _) => gemm_into(dense.view(), b, c.view_mut(), false),
            (Some(sparse), None, _) => {
                let dense = Array2::from_shape_vec(sparse.dim(), sparse.to_dense()).expect("rows·cols");
                gemm_into(dense.mapv(|v| T::from_f64(v as f64)).view(), b, c.view_mut(), false)
            }
            (None, None, _) => unreachable!("an operand holds its rows one way or the other"),
        }
        c
    }

    /// `c = selfᵀ · b`, into `c`.
    ///
    /// **Panics** if the shapes do not chain.
    pub fn t_dot_into(&mut self, b: ArrayView2<T>, mut c: ArrayViewMut2<T>) {
        let f32s = b.as_slice().and_then(T::as_f32s).zip(c.as_slice_mut().and_then(T::as_f32s_mut));
        match (&mut self.sparse, &self.dense, f32s) {
            (Some(sparse), _, Some((b_values, c_values))) => {
                sparse.t_dot_into(b_values, b.ncols(), c_values, false)
            }
            (_, Some(dense), _) => gemm_into(dense.t(), b, c, false),
            (Some(sparse), None, _) => {
                let dense = Array2::from_shape_vec(sparse.dim(), sparse.to_dense()).expect("rows·cols");
                gemm_into(dense.mapv(|v| T::from_f64(v as f64)).t(), b, c, false)
            }
            (None, None, _) => unreachable!("an operand holds its rows one way or the other"),
        }
    }
}

/// Rows whose nonzeros are counted to estimate a matrix's density: enough to tell MNIST
/// pixels or ReLU outputs from dense data, few enough to cost nothing next to the product.
const DENSITY_SAMPLE_ROWS: usize = 32;

/// The fraction of nonzeros, estimated on up to [`DENSITY_SAMPLE_ROWS`] rows spread evenly
/// over the `rows` rows of `values`.
fn density(values: &[f32], rows: usize) -> f64 {
    let cols = values.len() / rows.max(1);
    let step = rows.div_ceil(DENSITY_SAMPLE_ROWS).max(1);
    let sampled: Vec<&[f32]> = values.chunks_exact(cols.max(1)).step_by(step).collect();
    let nonzeros: usize = sampled.iter().map(|row| sparse::count_nonzeros(row)).sum();
    nonzeros as f64 / (sampled.len() * cols).max(1) as f64
}
