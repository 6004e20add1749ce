//! Matrix products whose left operand is mostly zeros, in compressed sparse rows (CSR).
//!
//! Why this is fast: 81% of MNIST's pixels are 0, so the first layer's `x·W` and `xᵀ·dout`
//! need a fifth of the multiply-adds of a dense product, and `x` in CSR (the position and
//! value of each nonzero) takes a third of the memory of the dense batch, so `x`, `W` and
//! `dW` together fit the L2 cache. [`SparseRows`] is built once per batch and serves both
//! products. For each nonzero `a[i][p]`:
//!
//! - [`SparseRows::dot_into`] adds `a[i][p]·b[p, :]` into a block of up to 64 columns of row
//!   `i` of `c`, held in registers;
//! - [`SparseRows::t_dot_into`] adds `a[r][p]·b[r, :]`, held in registers, into row `p` of `c`.
//!
//! The rows of `b` (or `c`) they visit at random stay in the L2 cache: for the seed's
//! network `W1`, `dW1` and the batch in CSR take 430 KB together. (Tiling them into L1, as a
//! dense GEMM blocks K, was measured: its bookkeeping cost what it saved.) The nonzeros of a
//! dense row are found 8 at a time with a vector compare and a table of permutations.
//! Everything is written once over [`Simd`] and runs with AVX2+FMA where the CPU has it.
//!
//! The plain reference is `super::matmul_reference`; `tests/matmul.rs` holds them together.

use super::simd::{Isa, Scalar, Simd, dispatch};

/// Vectors of `c` a block keeps in registers: 8 of AVX2's 16, the rest hold `b` and `a[i][p]`.
const BLOCK_VECTORS: usize = 8;

/// Floats in a 64-byte cache line.
const CACHE_LINE_FLOATS: usize = 16;

/// A `rows x cols` matrix as its nonzeros, row by row in column order: row `r` holds
/// `col[start[r]..start[r + 1]]` with values `value[start[r]..start[r + 1]]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRows {
    rows: usize,
    cols: usize,
    start: Vec<usize>,
    col: Vec<u32>,
    value: Vec<f32>,
    /// `selfᵀ·b` with its rows padded to whole vectors (scratch, kept to reuse its memory).
    padded: Vec<f32>,
}

impl SparseRows {
    /// The nonzeros of `a: (rows, cols)`, row-major.
    ///
    /// **Panics** if `a.len() != rows · cols`.
    pub fn from_dense(a: &[f32], rows: usize, cols: usize) -> Self {
        let mut sparse = SparseRows::default();
        sparse.fill_from(a, rows, cols);
        sparse
    }

    /// Refills this matrix with the nonzeros of `a`, reusing its memory.
    ///
    /// **Panics** if `a.len() != rows · cols`.
    pub fn fill_from(&mut self, a: &[f32], rows: usize, cols: usize) {
        assert_eq!(a.len(), rows * cols, "SparseRows: {} values for ({rows}, {cols})", a.len());
        match dispatch() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: dispatch() found avx2, fma and popcnt on this CPU.
            Isa::Avx2 => unsafe { self.fill_avx2(a, rows, cols) },
            _ => unsafe { self.fill_with(Scalar, a, rows, cols) },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    unsafe fn fill_avx2(&mut self, a: &[f32], rows: usize, cols: usize) {
        unsafe { self.fill_with(super::simd::Avx2, a, rows, cols) }
    }

    #[inline(always)]
    unsafe fn fill_with<S: Simd>(&mut self, s: S, a: &[f32], rows: usize, cols: usize) {
        (self.rows, self.cols) = (rows, cols);
        self.start.clear();
        self.col.clear();
        self.value.clear();
        self.start.push(0);
        let full = cols / S::LANES * S::LANES;
        for row in a.chunks_exact(cols.max(1)).take(rows) {
            // room for every value of the row, and the 8 positions pack_nonzeros may write
            // past the last nonzero
            let len = self.col.len();
            self.col.reserve(cols + S::LANES);
            let spare = unsafe { self.col.as_mut_ptr().add(len) };
            let mut kept = 0;
            for group in (0..full).step_by(S::LANES) {
                // SAFETY: kept <= group, and the spare capacity holds cols + LANES entries
                kept += unsafe { s.pack_nonzeros(row.as_ptr().add(group), group as u32, spare.add(kept)) };
            }
            for (p, &v) in row.iter().enumerate().skip(full) {
                unsafe { *spare.add(kept) = p as u32 };
                kept += (v != 0.0) as usize;
            }
            // SAFETY: the first `kept` entries past len were written above
            unsafe { self.col.set_len(len + kept) };
            self.value.extend(self.col[len..].iter().map(|&p| row[p as usize]));
            self.start.push(len + kept);
        }
    }

    /// An empty matrix of `cols` columns with room for `rows` rows and `nonzeros` nonzeros,
    /// to be filled with [`SparseRows::push_row`] or [`SparseRows::push_bytes`].
    pub fn with_capacity(cols: usize, rows: usize, nonzeros: usize) -> Self {
        let mut start = Vec::with_capacity(rows + 1);
        start.push(0);
        SparseRows {
            cols,
            start,
            col: Vec::with_capacity(nonzeros),
            value: Vec::with_capacity(nonzeros),
            ..SparseRows::default()
        }
    }

    /// Appends a row given as `(column, value)` pairs in increasing column order.
    ///
    /// **Panics** if a column is out of range or the columns do not increase.
    pub fn push_row(&mut self, entries: impl IntoIterator<Item = (u32, f32)>) {
        let row_start = self.col.len();
        for (p, v) in entries {
            let increasing = self.col.len() == row_start || p > self.col[self.col.len() - 1];
            assert!(
                (p as usize) < self.cols && increasing,
                "SparseRows::push_row: column {p} out of order or range"
            );
            self.col.push(p);
            self.value.push(v);
        }
        self.rows += 1;
        self.start.push(self.col.len());
    }

    /// Appends a row of bytes given by their positions (increasing) and values, each value
    /// multiplied by `scale`: an image of a data set, normalised as it is gathered.
    ///
    /// **Panics** if the lengths differ or a position is out of range (the positions'
    /// order is checked in debug builds).
    pub fn push_bytes(&mut self, positions: &[u16], values: &[u8], scale: f32) {
        assert_eq!(
            positions.len(),
            values.len(),
            "SparseRows::push_bytes: positions and values differ in length"
        );
        assert!(
            positions.last().is_none_or(|&p| (p as usize) < self.cols),
            "SparseRows::push_bytes: position out of range"
        );
        debug_assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "SparseRows::push_bytes: positions must increase"
        );
        self.col.extend(positions.iter().map(|&p| p as u32));
        self.value.extend(values.iter().map(|&v| v as f32 * scale));
        self.rows += 1;
        self.start.push(self.col.len());
    }

    /// `(rows, cols)`.
    pub fn dim(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The number of nonzeros.
    pub fn nonzeros(&self) -> usize {
        self.col.len()
    }

    /// `c = self·b` (or `c += self·b` when `accumulate`); `b: (cols, n)`, `c: (rows, n)`,
    /// row-major and contiguous.
    ///
    /// **Panics** if the lengths do not match.
    pub fn dot_into(&mut self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        self.dot_into_on(dispatch(), b, n, c, accumulate)
    }

    /// [`SparseRows::dot_into`] on a given instruction set (tests run both).
    ///
    /// **Panics** also if the CPU lacks `isa`.
    pub fn dot_into_on(&mut self, isa: Isa, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        let (m, k) = (self.rows, self.cols);
        assert!(
            b.len() == k * n && c.len() == m * n,
            "SparseRows::dot_into: b or c does not fit ({m}, {k}) · ({k}, {n})"
        );
        assert_runs_here(isa, "dot_into");
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: dispatch() found avx2, fma and popcnt on this CPU; the lengths were checked.
            Isa::Avx2 => unsafe { self.dot_avx2(b, n, c, accumulate) },
            _ => unsafe { self.dot_with(Scalar, b, n, c, accumulate) },
        }
    }

    /// `c = selfᵀ·b` (or `c += selfᵀ·b`): the weight gradient `xᵀ·dout`. `b: (rows, n)`,
    /// `c: (cols, n)`, row-major and contiguous.
    ///
    /// **Panics** if the lengths do not match.
    pub fn t_dot_into(&mut self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        self.t_dot_into_on(dispatch(), b, n, c, accumulate)
    }

    /// [`SparseRows::t_dot_into`] on a given instruction set (tests run both).
    ///
    /// **Panics** also if the CPU lacks `isa`.
    pub fn t_dot_into_on(&mut self, isa: Isa, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        let (k, m) = (self.rows, self.cols);
        assert!(
            b.len() == k * n && c.len() == m * n,
            "SparseRows::t_dot_into: b or c does not fit ({m}, {k}) · ({k}, {n})"
        );
        assert_runs_here(isa, "t_dot_into");
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in dot_into_on.
            Isa::Avx2 => unsafe { self.t_dot_avx2(b, n, c, accumulate) },
            _ => unsafe { self.t_dot_with(Scalar, b, n, c, accumulate) },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    unsafe fn dot_avx2(&mut self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        unsafe { self.dot_with(super::simd::Avx2, b, n, c, accumulate) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    unsafe fn t_dot_avx2(&mut self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        unsafe { self.t_dot_with(super::simd::Avx2, b, n, c, accumulate) }
    }

    #[inline(always)]
    unsafe fn dot_with<S: Simd>(&mut self, s: S, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        for i in 0..self.rows {
            let entries = self.start[i]..self.start[i + 1];
            let nonzeros = (&self.col[entries.clone()], &self.value[entries]);
            let mut j = 0;
            while j < n {
                let width = (n - j).min(BLOCK_VECTORS * S::LANES);
                // SAFETY: rows col[..] and columns j..j + width of b, and of row i of c, exist.
                unsafe {
                    gather_block(
                        s,
                        nonzeros,
                        b.as_ptr().add(j),
                        n,
                        c.as_mut_ptr().add(i * n + j),
                        width,
                        accumulate,
                    )
                };
                j += width;
            }
        }
    }

    /// Scatters into a copy of `c` whose rows are padded to whole vectors, so that every
    /// update of a row is whole-vector loads and stores: a masked store for the last few
    /// columns would cost more than the rest on AMD's Zen.
    #[inline(always)]
    unsafe fn t_dot_with<S: Simd>(&mut self, s: S, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        let (m, ldp) = (self.cols, n.div_ceil(S::LANES) * S::LANES);
        // zeros, aligned to a cache line so that no vector straddles two (left zero by the
        // copy-out below, so only new room is cleared here)
        let needed = m * ldp + CACHE_LINE_FLOATS;
        if self.padded.len() < needed {
            self.padded.clear();
            self.padded.resize(needed, 0.0);
        }
        let align = self.padded.as_ptr().align_offset(CACHE_LINE_FLOATS * 4).min(CACHE_LINE_FLOATS);
        let padded = &mut self.padded[align..align + m * ldp];
        for r in 0..self.rows {
            let entries = self.start[r]..self.start[r + 1];
            let nonzeros = (&self.col[entries.clone()], &self.value[entries]);
            let mut j = 0;
            while j < n {
                let width = (n - j).min(BLOCK_VECTORS * S::LANES);
                // SAFETY: columns j..j + width of row r of b exist; padded rows are ldp wide.
                unsafe {
                    scatter_block(
                        s,
                        nonzeros,
                        b.as_ptr().add(r * n + j),
                        width,
                        padded.as_mut_ptr().add(j),
                        ldp,
                    )
                };
                j += width;
            }
        }
        for (c_row, padded_row) in c.chunks_exact_mut(n.max(1)).zip(padded.chunks_exact_mut(ldp.max(1))) {
            if accumulate {
                c_row.iter_mut().zip(padded_row.iter()).for_each(|(c, p)| *c += p);
            } else {
                c_row.copy_from_slice(&padded_row[..n]);
            }
            padded_row.fill(0.0);
        }
    }

    /// The dense matrix, row-major (for tests).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.rows * self.cols];
        for r in 0..self.rows {
            for e in self.start[r]..self.start[r + 1] {
                dense[r * self.cols + self.col[e] as usize] = self.value[e];
            }
        }
        dense
    }
}

/// **Panics** unless this CPU can run `isa` (the scalar code runs everywhere).
fn assert_runs_here(isa: Isa, product: &str) {
    assert!(isa == Isa::Scalar || isa == dispatch(), "SparseRows::{product}: this CPU cannot run {isa:?}");
}

/// The number of nonzeros in `values`.
pub(crate) fn count_nonzeros(values: &[f32]) -> usize {
    match dispatch() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: dispatch() found avx2 on this CPU.
        Isa::Avx2 => unsafe { count_nonzeros_avx2(values) },
        _ => values.iter().filter(|&&v| v != 0.0).count(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,popcnt")]
unsafe fn count_nonzeros_avx2(values: &[f32]) -> usize {
    // compared 8 at a time by the compiler, counted in 32 bits (a plain loop: a closure would
    // not inherit this function's target features)
    let mut count = 0u32;
    for &v in values {
        count += (v != 0.0) as u32;
    }
    count as usize
}

/// Some nonzeros: their positions and their values.
type Nonzeros<'a> = (&'a [u32], &'a [f32]);

/// `c[0..width] (+)= Σ value·b[position][0..width]`, with `c` in registers.
#[inline(always)]
unsafe fn gather_block<S: Simd>(
    s: S,
    nz: Nonzeros,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    width: usize,
    accumulate: bool,
) {
    unsafe {
        match width / S::LANES {
            0 => gather_block_n::<S, 0>(s, nz, b, ldb, c, width, accumulate),
            1 => gather_block_n::<S, 1>(s, nz, b, ldb, c, width, accumulate),
            2 => gather_block_n::<S, 2>(s, nz, b, ldb, c, width, accumulate),
            3 => gather_block_n::<S, 3>(s, nz, b, ldb, c, width, accumulate),
            4 => gather_block_n::<S, 4>(s, nz, b, ldb, c, width, accumulate),
            5 => gather_block_n::<S, 5>(s, nz, b, ldb, c, width, accumulate),
            6 => gather_block_n::<S, 6>(s, nz, b, ldb, c, width, accumulate),
            7 => gather_block_n::<S, 7>(s, nz, b, ldb, c, width, accumulate),
            _ => gather_block_n::<S, 8>(s, nz, b, ldb, c, width, accumulate),
        }
    }
}

/// [`gather_block`] with `NV` full vectors (unrolled, so they stay in registers) and one partial.
#[inline(always)]
unsafe fn gather_block_n<S: Simd, const NV: usize>(
    s: S,
    (positions, values): Nonzeros,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    width: usize,
    accumulate: bool,
) {
    let tail = width - NV * S::LANES;
    unsafe {
        let mask = s.first_lanes(tail);
        let mut acc = [s.zero(); NV];
        let mut acc_tail = s.zero();
        for (&p, &value) in positions.iter().zip(values) {
            let v = s.splat(value);
            let row = b.add(p as usize * ldb);
            for (q, acc) in acc.iter_mut().enumerate() {
                *acc = s.mul_add(v, s.load(row.add(q * S::LANES)), *acc);
            }
            if tail > 0 {
                acc_tail = s.mul_add(v, s.load_masked(row.add(NV * S::LANES), mask), acc_tail);
            }
        }
        let one = s.splat(1.0);
        for (q, acc) in acc.iter().enumerate() {
            let out = c.add(q * S::LANES);
            let sum = if accumulate { s.mul_add(one, s.load(out), *acc) } else { *acc };
            s.store(out, sum);
        }
        if tail > 0 {
            let out = c.add(NV * S::LANES);
            let sum = if accumulate { s.mul_add(one, s.load_masked(out, mask), acc_tail) } else { acc_tail };
            s.store_masked(out, sum, mask);
        }
    }
}

/// `c[position][0..width] += value·b[0..width]` for each nonzero, with `b` in registers
/// (zero past `width`); `c`'s rows are padded, so whole vectors cover `width`.
#[inline(always)]
unsafe fn scatter_block<S: Simd>(s: S, nz: Nonzeros, b: *const f32, width: usize, c: *mut f32, ldc: usize) {
    unsafe {
        match width.div_ceil(S::LANES) {
            0 => {}
            1 => scatter_block_n::<S, 1>(s, nz, b, width, c, ldc),
            2 => scatter_block_n::<S, 2>(s, nz, b, width, c, ldc),
            3 => scatter_block_n::<S, 3>(s, nz, b, width, c, ldc),
            4 => scatter_block_n::<S, 4>(s, nz, b, width, c, ldc),
            5 => scatter_block_n::<S, 5>(s, nz, b, width, c, ldc),
            6 => scatter_block_n::<S, 6>(s, nz, b, width, c, ldc),
            7 => scatter_block_n::<S, 7>(s, nz, b, width, c, ldc),
            _ => scatter_block_n::<S, 8>(s, nz, b, width, c, ldc),
        }
    }
}

/// [`scatter_block`] over `NV` whole vectors, the last holding `b`'s final columns and zeros.
#[inline(always)]
unsafe fn scatter_block_n<S: Simd, const NV: usize>(
    s: S,
    (positions, values): Nonzeros,
    b: *const f32,
    width: usize,
    c: *mut f32,
    ldc: usize,
) {
    unsafe {
        let mut row = [s.zero(); NV];
        for (q, v) in row.iter_mut().enumerate() {
            let left = width - q * S::LANES;
            *v = if left >= S::LANES {
                s.load(b.add(q * S::LANES))
            } else {
                s.load_masked(b.add(q * S::LANES), s.first_lanes(left))
            };
        }
        for (&p, &value) in positions.iter().zip(values) {
            let v = s.splat(value);
            let out = c.add(p as usize * ldc);
            for (q, b) in row.iter().enumerate() {
                let o = out.add(q * S::LANES);
                s.store(o, s.mul_add(v, *b, s.load(o)));
            }
        }
    }
}
