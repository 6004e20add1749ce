//! Products with shifted rows: a stride-1 convolution as a matrix product, with no `im2col`.
//!
//! Lay an image's channels out with their zero padding, each line `WP` values wide, one plane
//! after another in one buffer `x`. Then the window value that filter tap `k = (c, dy, dx)`
//! multiplies at output position `q = y·WP + x` is `x[offset[k] + q]`, with
//! `offset[k] = c·plane + dy·WP + dx`: the `K` rows of the book's `col` are the same buffer read
//! at `K` shifts. So
//!
//! ```text
//! product:   out[m, q]     = Σ_k a[m, k] · x[offset[k] + q]          (W · col: forward, and dx)
//! gradient:  grad_t[k, m] += Σ_q x[offset[k] + q] · d[q, m]           (col · doutᵀ: dWᵀ)
//! ```
//!
//! The product runs over a grid `WP` wide whose last `WP - OW` columns are not outputs (they
//! are computed and dropped): for DeepConvNet's 3x3 layers 7-25% more multiply-adds than the
//! outputs need, and no `col` laid out (9 copies of the input). Where a line's outputs are
//! whole vectors and that computes fewer, the product takes each line's vectors instead (the
//! 8x8 and 16x16 layers with 8 lanes: 20% and 11% fewer). The gradient visits the outputs only.
//!
//! Why the kernels are fast: the product sums a block of `MB` rows of `a` by `NB` vectors of
//! positions in registers over every `k` (one load of `x` per vector, one broadcast of `a`
//! per row, `MB·NB` fused multiply-adds), and writes it once; `x` is read where it lies, in
//! L1. The gradient, with `dout` laid out position by position (`M` values a row), sums a
//! block of `KB` shifts by `MV` vectors of `m` over every position of every image (`MV`
//! loads of `d`, `KB` broadcasts of `x`), with no adding up of lanes. [`product_reference`]
//! and [`gradient_reference`] are the plain loops, for `f64` and for the tests.

use super::simd::{Isa, Scalar, Simd, dispatch};
use crate::Float;

/// The rows of `out` and the room after the last offset in `x` are rounded up to a multiple of
/// this many positions (a multiple of every kernel's vector); the [`product`] itself stops at
/// the positions rounded up to a vector.
pub const POSITION_BLOCK: usize = 48;

/// The outputs of a product: `lines` lines of `width` positions on a grid `line` wide, output
/// `(y, x)` at position `q = y·line + x`; the grid's other columns are not outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Output lines, `OH`.
    pub lines: usize,
    /// Outputs a line, `OW`.
    pub width: usize,
    /// The grid's width, `WP >= OW`.
    pub line: usize,
}

impl Grid {
    /// The grid's positions, `OH·WP`.
    pub fn positions(&self) -> usize {
        self.lines * self.line
    }

    /// How many vectors of `lanes` positions hold the outputs, and, when they are taken line
    /// by line, how many a line: line by line where each line's outputs are whole vectors and
    /// that takes fewer than along the grid.
    fn vectors(&self, lanes: usize) -> (usize, Option<usize>) {
        let (along, per_line) = (self.positions().div_ceil(lanes), self.width / lanes);
        if self.width.is_multiple_of(lanes) && self.lines * per_line < along {
            (self.lines * per_line, Some(per_line))
        } else {
            (along, None)
        }
    }
}

/// Rounds `positions` up to a whole number of [`POSITION_BLOCK`]s.
pub fn round_positions(positions: usize) -> usize {
    positions.div_ceil(POSITION_BLOCK) * POSITION_BLOCK
}

/// `out[m, q] = Σ_k a[m, k] · x[offsets[k] + q]` for `q < positions`, the plain loop.
/// `a: (M, K)` row-major; row `m` of `out` starts at `m · out_stride`.
///
/// **Panics** if a slice is too short.
pub fn product_reference<T: Float>(
    a: &[T],
    offsets: &[usize],
    x: &[T],
    positions: usize,
    out: &mut [T],
    out_stride: usize,
) {
    let k = offsets.len();
    for (m, a_row) in a.chunks_exact(k.max(1)).enumerate() {
        let out_row = &mut out[m * out_stride..][..positions];
        out_row.fill(T::zero());
        for (&a_mk, &offset) in a_row.iter().zip(offsets) {
            out_row.iter_mut().zip(&x[offset..offset + positions]).for_each(|(o, &x)| *o += a_mk * x);
        }
    }
}

/// `grad_t[k, m] += Σ_i Σ_(y, x) x[i][offsets[k] + y·WP + x] · d[i][y·OW + x, m]`, over the
/// images `i` and output positions of [`GradientOperands`], the plain loop: the weight
/// gradient `dWᵀ = col · dout[n]ᵀ`, summed over the images. `grad_t: (K, m_stride)` row-major.
///
/// **Panics** if a slice is too short.
pub fn gradient_reference<T: Float>(operands: GradientOperands<'_, T>, offsets: &[usize], grad_t: &mut [T]) {
    let GradientOperands { d, m_stride, x, x_image, images, output: (oh, ow), line } = operands;
    for i in 0..images {
        let (d, x) = (&d[i * oh * ow * m_stride..], &x[i * x_image..]);
        for (row, &offset) in grad_t.chunks_exact_mut(m_stride).zip(offsets) {
            for (r, d_row) in d.chunks_exact(m_stride).take(oh * ow).enumerate() {
                let x_at = x[offset + r / ow * line + r % ow];
                row.iter_mut().zip(d_row).for_each(|(g, &d)| *g += x_at * d);
            }
        }
    }
}

/// The operands of a weight gradient, image after image: `dout` with one row per output
/// position, `d[i][y·OW + x, m]` (rows `m_stride` long: `M` rounded up to 16, zeros after
/// `M`), and each image's padded planes `x` (images `x_image` apart, lines `line` long).
#[derive(Debug, Clone, Copy)]
pub struct GradientOperands<'a, T> {
    /// `dout` as position rows, `(images·OH·OW, m_stride)`.
    pub d: &'a [T],
    /// The length of a row of `d`, a multiple of 16.
    pub m_stride: usize,
    /// The padded planes.
    pub x: &'a [T],
    /// The distance between images of `x`.
    pub x_image: usize,
    /// How many images.
    pub images: usize,
    /// The output's height and width, `(OH, OW)`.
    pub output: (usize, usize),
    /// The width of a padded line, `WP`.
    pub line: usize,
}

impl<T> GradientOperands<'_, T> {
    /// **Panics** unless `d` holds every image's rows and every shift's positions lie in `x`.
    fn check(&self, offsets: &[usize]) {
        let (oh, ow) = self.output;
        assert_eq!(
            self.m_stride % 16,
            0,
            "shifted::gradient: rows of {} values, not a multiple of 16",
            self.m_stride
        );
        assert!(self.d.len() >= self.images * oh * ow * self.m_stride, "shifted::gradient: d is short");
        let reach = (self.images.max(1) - 1) * self.x_image + (oh.max(1) - 1) * self.line + ow;
        assert!(
            ow <= self.line && offsets.iter().all(|&o| o + reach <= self.x.len()),
            "shifted::gradient: x ends before an offset's positions"
        );
    }
}

/// The rows of `a: (M, K)` laid out for [`product`]: in panels of as many rows as the kernel
/// of `isa` sums at once, each panel column by column (`K x MB`), the last one as many rows
/// as are left (`K x (M % MB)`). Packed once per batch, read by every image's product.
#[derive(Debug, Clone)]
pub struct PackedRows {
    isa: Isa,
    rows: usize,
    cols: usize,
    panels: Vec<f32>,
}

impl PackedRows {
    /// Packs `a: (rows, cols)` (row-major) for the kernels of `isa`.
    ///
    /// **Panics** if `a.len() != rows · cols` or the CPU lacks `isa`.
    pub fn new(isa: Isa, a: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(a.len(), rows * cols, "PackedRows: {} values for ({rows}, {cols})", a.len());
        assert!(Isa::available().contains(&isa), "PackedRows: this CPU cannot run {isa:?}");
        let mb = product_rows(isa);
        let mut panels = vec![0.0; rows * cols];
        for (m, row) in a.chunks_exact(cols.max(1)).enumerate() {
            let first = m / mb * mb;
            let (panel, width) = (&mut panels[first * cols..], mb.min(rows - first));
            for (k, &v) in row.iter().enumerate() {
                panel[k * width + m - first] = v;
            }
        }
        PackedRows { isa, rows, cols, panels }
    }

    /// Packs `a` for the instruction set [`dispatch`] chose.
    pub fn for_this_cpu(a: &[f32], rows: usize, cols: usize) -> Self {
        PackedRows::new(dispatch(), a, rows, cols)
    }

    /// `(rows, cols)` of `a`.
    pub fn dim(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
}

/// Rows of `a` the product kernel of `isa` sums at once.
fn product_rows(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 8,
        Isa::Avx2 => 6,
        Isa::Scalar => 4,
    }
}

/// `out[m, q] = Σ_k a[m, k] · x[offsets[k] + q]` for every output `q` of the `grid`. Other
/// positions of each row of `out`, up to `round_positions(grid.positions())`, may be written
/// too (with the sum at that position, from what `x` holds there) or left as they were.
///
/// **Panics** if `offsets` does not have one shift per column of `a`, `out` does not have
/// `M` rows of `out_stride >= round_positions(grid.positions())`, `x` ends before the last
/// offset plus the rounded positions, or the grid's lines are narrower than its width.
pub fn product(a: &PackedRows, offsets: &[usize], x: &[f32], grid: Grid, out: &mut [f32], out_stride: usize) {
    let (m, k) = a.dim();
    let span = round_positions(grid.positions());
    assert!(grid.width <= grid.line, "shifted::product: {grid:?} has lines narrower than its width");
    assert_eq!(offsets.len(), k, "shifted::product: {} offsets for {k} columns", offsets.len());
    assert!(
        out_stride >= span && out.len() >= (m.max(1) - 1) * out_stride + span,
        "shifted::product: out is short"
    );
    assert!(
        offsets.iter().all(|&o| o + span <= x.len()),
        "shifted::product: x ends before an offset's positions"
    );
    if m == 0 || grid.positions() == 0 {
        return;
    }
    // SAFETY: the lengths were checked above; `a` was packed for an instruction set this CPU
    // has (PackedRows::new checks), which the arms below run.
    unsafe {
        match a.isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => product_avx512(a, offsets, x, grid, out, out_stride),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => product_avx2(a, offsets, x, grid, out, out_stride),
            _ => product_with::<_, 4, 4>(Scalar, a, offsets, x, grid, out, out_stride),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn product_avx512(
    a: &PackedRows,
    offsets: &[usize],
    x: &[f32],
    grid: Grid,
    out: &mut [f32],
    stride: usize,
) {
    // 8 rows x 3 vectors: 24 of the 32 registers hold sums
    unsafe { product_with::<_, 8, 3>(super::simd::Avx512, a, offsets, x, grid, out, stride) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2(
    a: &PackedRows,
    offsets: &[usize],
    x: &[f32],
    grid: Grid,
    out: &mut [f32],
    stride: usize,
) {
    // 6 rows x 2 vectors: 12 of the 16 registers hold sums. Fewer vectors of `x` a step
    // than 4 rows x 3 (2 loads, most of them across two cache lines, for 12 multiply-adds,
    // against 3): 18% faster on DeepConvNet's layers (docs/performance.md)
    unsafe { product_with::<_, 6, 2>(super::simd::Avx2, a, offsets, x, grid, out, stride) }
}

/// The product in panels of `MB` rows by blocks of `NB` vectors, over the vectors that hold the
/// grid's outputs ([`Grid::vectors`]): along the grid, or line by line.
#[inline(always)]
unsafe fn product_with<S: Simd, const MB: usize, const NB: usize>(
    s: S,
    a: &PackedRows,
    offsets: &[usize],
    x: &[f32],
    grid: Grid,
    out: &mut [f32],
    out_stride: usize,
) {
    debug_assert_eq!(MB, product_rows(a.isa));
    // the last vector ends within the positions rounded up to a block
    debug_assert_eq!(POSITION_BLOCK % S::LANES, 0);
    let (vectors, per_line) = grid.vectors(S::LANES);
    // SAFETY: as the caller's
    unsafe {
        match per_line {
            None => {
                product_vectors::<S, MB, NB>(s, a, offsets, x, (vectors, |v| v * S::LANES), out, out_stride)
            }
            Some(per_line) => {
                let start = |v| v / per_line * grid.line + v % per_line * S::LANES;
                product_vectors::<S, MB, NB>(s, a, offsets, x, (vectors, start), out, out_stride)
            }
        }
    }
}

/// [`product_with`] over `(vectors, start)`: that many vectors, vector `v` starting at
/// position `start(v)`.
#[inline(always)]
unsafe fn product_vectors<S: Simd, const MB: usize, const NB: usize>(
    s: S,
    a: &PackedRows,
    offsets: &[usize],
    x: &[f32],
    (vectors, start): (usize, impl Fn(usize) -> usize),
    out: &mut [f32],
    out_stride: usize,
) {
    let (m, k) = a.dim();
    for first in (0..m).step_by(MB) {
        let count = MB.min(m - first);
        let rows = Rows { panel: &a.panels[first * k..][..k * count], first };
        let vectors = (vectors, &start);
        // SAFETY: as the caller's
        unsafe {
            if count == MB {
                panel_product::<S, MB, NB>(s, &rows, offsets, x, vectors, out, out_stride);
                continue;
            }
            // the last rows, fewer than a panel, in a narrower panel, where rows of zeros
            // filled a whole one (a 16-row `a` took 18 rows' time with 6 rows a panel, a
            // 32-row one 36): blocks of 7-12 sums (held to AVX2, DeepConvNet's 2 and 4 rows
            // by 4 and 2 vectors were faster than by 6 and 3, docs/performance.md)
            match count {
                1 => panel_product::<S, 1, 8>(s, &rows, offsets, x, vectors, out, out_stride),
                2 => panel_product::<S, 2, 4>(s, &rows, offsets, x, vectors, out, out_stride),
                3 => panel_product::<S, 3, 3>(s, &rows, offsets, x, vectors, out, out_stride),
                4 => panel_product::<S, 4, 2>(s, &rows, offsets, x, vectors, out, out_stride),
                5 => panel_product::<S, 5, 2>(s, &rows, offsets, x, vectors, out, out_stride),
                6 => panel_product::<S, 6, 2>(s, &rows, offsets, x, vectors, out, out_stride),
                _ => panel_product::<S, 7, 1>(s, &rows, offsets, x, vectors, out, out_stride),
            }
        }
    }
}

/// A panel of `MB` rows of `a` (`K x MB`, column by column), from row `first`.
struct Rows<'a> {
    panel: &'a [f32],
    first: usize,
}

/// The product of one panel of `MB` rows, in blocks of `NB` vectors: whole blocks, then the
/// last `1..NB` vectors in blocks of at most 3 (not a whole block past the positions: on
/// DeepConvNet's 8x8 layers 80 positions, where blocks of 48 would compute 96).
///
/// # Safety
/// As [`product_block`]'s, for every vector.
#[inline(always)]
unsafe fn panel_product<S: Simd, const MB: usize, const NB: usize>(
    s: S,
    rows: &Rows<'_>,
    offsets: &[usize],
    x: &[f32],
    (vectors, start): (usize, impl Fn(usize) -> usize),
    out: &mut [f32],
    out_stride: usize,
) {
    let whole = vectors / NB * NB;
    // SAFETY (each call): the caller's promise
    unsafe {
        for v in (0..whole).step_by(NB) {
            let starts = std::array::from_fn(|j| start(v + j));
            product_block::<S, MB, NB>(s, rows, offsets, x, starts, out, out_stride);
        }
        for v in (whole..vectors).step_by(3) {
            match vectors - v {
                1 => product_block::<S, MB, 1>(s, rows, offsets, x, [start(v)], out, out_stride),
                2 => {
                    product_block::<S, MB, 2>(s, rows, offsets, x, [start(v), start(v + 1)], out, out_stride)
                }
                _ => {
                    let starts = [start(v), start(v + 1), start(v + 2)];
                    product_block::<S, MB, 3>(s, rows, offsets, x, starts, out, out_stride)
                }
            }
        }
    }
}

/// One block: `out[first + i, starts[j] ..]` for the panel's rows `i` and `NB` vectors `j`, the
/// sums kept in `MB·NB` registers over every shift, then stored once.
///
/// # Safety
/// `x` holds `offset + start + LANES` values for every offset and start, and `out` the panel's
/// real rows `out_stride` apart with `start + LANES` values each; the CPU runs `S`.
#[inline(always)]
unsafe fn product_block<S: Simd, const MB: usize, const NB: usize>(
    s: S,
    rows: &Rows<'_>,
    offsets: &[usize],
    x: &[f32],
    starts: [usize; NB],
    out: &mut [f32],
    out_stride: usize,
) {
    let panel = rows.panel.as_ptr();
    let mut sums = [[unsafe { s.zero() }; NB]; MB];
    for (column, &offset) in offsets.iter().enumerate() {
        // SAFETY: offset + start + LANES <= x.len() (the caller's promise); the panel holds K·MB
        unsafe {
            let at = x.as_ptr().add(offset);
            let xs: [S::V; NB] = std::array::from_fn(|j| s.load(at.add(starts[j])));
            for (i, row_sums) in sums.iter_mut().enumerate() {
                let a_ik = s.splat(*panel.add(column * MB + i));
                for (sum, &xj) in row_sums.iter_mut().zip(&xs) {
                    *sum = s.mul_add(a_ik, xj, *sum);
                }
            }
        }
    }
    for (i, row_sums) in sums.iter().enumerate() {
        for (&sum, &start) in row_sums.iter().zip(&starts) {
            // SAFETY: row first + i is real, and start + LANES <= the row's values
            unsafe { s.store(out.as_mut_ptr().add((rows.first + i) * out_stride + start), sum) };
        }
    }
}

/// [`gradient_reference`] on the instruction set [`dispatch`] chose.
///
/// **Panics** if `grad_t` is not `(K, m_stride)` or the operands are short.
pub fn gradient(operands: GradientOperands<'_, f32>, offsets: &[usize], grad_t: &mut [f32]) {
    gradient_on(dispatch(), operands, offsets, grad_t)
}

/// [`gradient`] on a given instruction set (tests run each).
///
/// **Panics** also if the CPU lacks `isa`.
pub fn gradient_on(isa: Isa, operands: GradientOperands<'_, f32>, offsets: &[usize], grad_t: &mut [f32]) {
    assert!(Isa::available().contains(&isa), "shifted::gradient: this CPU cannot run {isa:?}");
    operands.check(offsets);
    assert_eq!(
        grad_t.len(),
        offsets.len() * operands.m_stride,
        "shifted::gradient: grad_t is not (K, m_stride)"
    );
    if offsets.is_empty() || operands.m_stride == 0 || operands.images == 0 {
        return;
    }
    // SAFETY: the lengths were checked above, and the CPU has `isa`.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => gradient_avx512(operands, offsets, grad_t),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => gradient_avx2(operands, offsets, grad_t),
            _ => gradient_with::<_, 1, 4>(Scalar, operands, offsets, grad_t),
        }
    }
}

/// AVX-512: as many vectors of `m` a block as a row holds, up to 4, and as many shifts as
/// leave 24 of the 32 registers holding sums (12 with one vector).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gradient_avx512(operands: GradientOperands<'_, f32>, offsets: &[usize], grad_t: &mut [f32]) {
    let s = super::simd::Avx512;
    unsafe {
        match operands.m_stride / 16 {
            1 => gradient_with::<_, 1, 12>(s, operands, offsets, grad_t),
            2 => gradient_with::<_, 2, 12>(s, operands, offsets, grad_t),
            3 => gradient_with::<_, 3, 8>(s, operands, offsets, grad_t),
            _ => gradient_with::<_, 4, 6>(s, operands, offsets, grad_t),
        }
    }
}

/// AVX2: 2 vectors of `m` by 6 shifts, 12 of the 16 registers holding sums, whatever `M`: 8
/// loads a position for 12 multiply-adds, and on DeepConvNet's layers faster than 4 vectors
/// by 3 shifts (7 loads) by 12% (docs/performance.md).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gradient_avx2(operands: GradientOperands<'_, f32>, offsets: &[usize], grad_t: &mut [f32]) {
    unsafe { gradient_with::<_, 2, 6>(super::simd::Avx2, operands, offsets, grad_t) }
}

/// The gradient in blocks of `KB` shifts by `MV` vectors of `m`: for every output position of
/// every image, `MV` loads of `d`'s row, `KB` broadcasts of `x`, and `KB·MV` fused
/// multiply-adds into sums kept in registers, written once a block. A block at the edge
/// repeats the last shift or vector in its spare places, and stores only the real ones.
#[inline(always)]
unsafe fn gradient_with<S: Simd, const MV: usize, const KB: usize>(
    s: S,
    operands: GradientOperands<'_, f32>,
    offsets: &[usize],
    grad_t: &mut [f32],
) {
    let GradientOperands { d, m_stride, x, x_image, images, output: (oh, ow), line } = operands;
    let (k, vectors) = (offsets.len(), m_stride / S::LANES);
    for first_vector in (0..vectors).step_by(MV) {
        let columns: [usize; MV] = std::array::from_fn(|v| (first_vector + v).min(vectors - 1) * S::LANES);
        for first_shift in (0..k).step_by(KB) {
            let shifts: [usize; KB] = std::array::from_fn(|j| offsets[(first_shift + j).min(k - 1)]);
            let mut sums = [[unsafe { s.zero() }; MV]; KB];
            for image in 0..images {
                let (d, x) = (d[image * oh * ow * m_stride..].as_ptr(), x[image * x_image..].as_ptr());
                for y in 0..oh {
                    for ox in 0..ow {
                        // SAFETY: GradientOperands::check: row y·OW + x of d and every shift's
                        // position y·WP + x of x lie inside their slices
                        unsafe {
                            let row = d.add((y * ow + ox) * m_stride);
                            let ds: [S::V; MV] = std::array::from_fn(|v| s.load(row.add(columns[v])));
                            let at = x.add(y * line + ox);
                            for (shift_sums, &shift) in sums.iter_mut().zip(&shifts) {
                                let x_at = s.splat(*at.add(shift));
                                for (sum, &d_v) in shift_sums.iter_mut().zip(&ds) {
                                    *sum = s.mul_add(x_at, d_v, *sum);
                                }
                            }
                        }
                    }
                }
            }
            for (j, shift_sums) in sums.iter().enumerate().take(k - first_shift) {
                for (v, &sum) in shift_sums.iter().enumerate().take(vectors - first_vector) {
                    // SAFETY: row first_shift + j < K and column + LANES <= m_stride of grad_t
                    unsafe {
                        let at = grad_t.as_mut_ptr().add((first_shift + j) * m_stride + columns[v]);
                        s.store(at, s.mul_add(sum, s.splat(1.0), s.load(at)));
                    }
                }
            }
        }
    }
}

/// The left operand `a: (M, K)` of shifted products with its `K` shifts, for any [`Float`]:
/// packed for the SIMD kernels when `T` is `f32`, multiplied by the plain loop otherwise.
#[derive(Debug, Clone)]
pub struct ShiftedRows<T> {
    a: Vec<T>,
    offsets: Vec<usize>,
    packed: Option<PackedRows>,
}

impl<T: Float> ShiftedRows<T> {
    /// `a: (M, K)` row-major, with one shift per column.
    ///
    /// **Panics** if `a.len()` is not a multiple of the number of shifts.
    pub fn new(a: Vec<T>, offsets: Vec<usize>) -> Self {
        let k = offsets.len();
        assert!(k > 0 && a.len().is_multiple_of(k), "ShiftedRows: {} values for {k} shifts", a.len());
        let packed = T::as_f32s(&a).map(|a32| PackedRows::for_this_cpu(a32, a32.len() / k, k));
        ShiftedRows { a, offsets, packed }
    }

    /// The shifts.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// `out[m, q] = Σ_k a[m, k] · x[offsets[k] + q]` for the grid's outputs (see [`product`]).
    pub fn product(&self, x: &[T], grid: Grid, out: &mut [T], out_stride: usize) {
        if let (Some(packed), Some(x32)) = (&self.packed, T::as_f32s(x)) {
            let out32 = T::as_f32s_mut(out).expect("out has the type of x");
            product(packed, &self.offsets, x32, grid, out32, out_stride);
        } else {
            product_reference(&self.a, &self.offsets, x, grid.positions(), out, out_stride);
        }
    }
}

/// [`gradient`] for any [`Float`]: the SIMD kernels for `f32`, the plain loop otherwise.
pub fn gradient_of<T: Float>(operands: GradientOperands<'_, T>, offsets: &[usize], grad_t: &mut [T]) {
    if let (Some(d), Some(x)) = (T::as_f32s(operands.d), T::as_f32s(operands.x)) {
        let grad_t32 = T::as_f32s_mut(grad_t).expect("grad_t has the type of d");
        let GradientOperands { m_stride, x_image, images, output, line, .. } = operands;
        gradient(GradientOperands { d, m_stride, x, x_image, images, output, line }, offsets, grad_t32);
    } else {
        gradient_reference(operands, offsets, grad_t);
    }
}
