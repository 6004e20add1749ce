//! Matrix products whose left operand is mostly zeros, in compressed sparse rows (CSR).
//!
//! Why this is fast: 81% of MNIST's pixels are 0, so the first layer's `x·W` and `xᵀ·dout`
//! need a fifth of the multiply-adds of a dense product, and `x` in CSR (the position and
//! value of each nonzero) takes a third of the memory of the dense batch. [`SparseRows`] is
//! built once per batch and serves both products, with one kernel: for each row `i`,
//! [`SparseRows::dot_into`] adds `a[i][p]·b[p, :]` over the row's nonzeros into a block of up
//! to 64 columns of row `i` of `c`, held in registers, and writes the block once.
//!
//! [`SparseRows::t_dot_into`] is the same kernel on `aᵀ`: the nonzeros sorted by column once
//! ([`SparseRows::index_columns`], a counting sort), so that row `p` of `xᵀ·dout` is summed in
//! registers from rows of `dout`, and written once: half the time of scattering each
//! `a[r][p]·b[r, :]` into row `p` of `c` (a load and a store of a row of `c` per nonzero). The
//! sort runs on the thread that makes the batches. The sums run over the same terms in the
//! same order either way, so the results are the same floats.
//!
//! Where the nonzeros read each row of `b` many times over, `b` is first copied so that its
//! rows start on cache lines (rows of 50 floats, 200 bytes, mostly do not, and then most loads
//! straddle two lines).
//!
//! The rows of `b` that `x·W` visits at random stay in the L2 cache (`W1` is 157 KB); tiling
//! them into L1, as a dense GEMM blocks K, cost more in bookkeeping than it saved. (The
//! figures are in docs/performance.md.) The nonzeros of a dense row are
//! found 8 at a time with a vector compare and a table of permutations. Everything is
//! written once over `simd::Simd` and runs with AVX-512 or AVX2+FMA where the CPU has them.
//!
//! The plain reference is `super::matmul_reference`; `tests/matmul.rs` holds them together.

use std::mem::MaybeUninit;

use super::simd::{Isa, Scalar, Simd, compiled_for, dispatch};

/// Floats in a cache line (64 bytes).
const LINE_FLOATS: usize = 16;

/// How many times over, at least, the nonzeros read the rows of `b` on average for a copy
/// of `b` whose rows start on cache lines to pay: the copy costs about a read of each row.
/// `xᵀ·dout` reads the rows of `dout` about 150 times over (an image's nonzeros) and takes
/// 21.1 µs instead of 27.1; `x·W1` reads those of `W1` about 19 times and takes 28.0 µs,
/// with the copy, instead of 30.3 (AVX-512, with the whole last vectors of [`RowsOfB`]).
const PAD_MIN_REUSE: usize = 8;

thread_local! {
    /// The copy of `b` whose rows start on cache lines (kept for the next product).
    static PADDED: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Vectors of `c` a block keeps in registers: 8 of AVX2's 16 (of AVX-512's 32); the rest hold `b` and `a[i][p]`.
const BLOCK_VECTORS: usize = 8;

/// A `rows x cols` matrix as its nonzeros, row by row in column order: row `r` holds
/// `col[start[r]..start[r + 1]]` with values `value[start[r]..start[r + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct SparseRows {
    rows: usize,
    cols: usize,
    start: Vec<usize>,
    col: Vec<u32>,
    value: Vec<f32>,
    /// The same nonzeros column by column, `selfᵀ` as sparse rows, for `selfᵀ·b` (kept with
    /// its memory when the matrix is refilled).
    columns: Option<Box<SparseRows>>,
    /// `columns` holds this matrix's nonzeros, not those of an earlier content.
    columns_indexed: bool,
}

/// Two matrices are equal when they hold the same nonzeros, whether or not either has
/// indexed its columns.
impl PartialEq for SparseRows {
    fn eq(&self, other: &Self) -> bool {
        (self.rows, self.cols, &self.start, &self.col, &self.value)
            == (other.rows, other.cols, &other.start, &other.col, &other.value)
    }
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
        self.fill_from_on(dispatch(), a, rows, cols)
    }

    /// [`SparseRows::fill_from`] on a given instruction set (tests run each).
    ///
    /// **Panics** also if the CPU lacks `isa`.
    pub fn fill_from_on(&mut self, isa: Isa, a: &[f32], rows: usize, cols: usize) {
        assert_eq!(a.len(), rows * cols, "SparseRows: {} values for ({rows}, {cols})", a.len());
        assert_runs_here(isa, "fill_from");
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has avx512f, avx2, fma and popcnt (checked above).
            Isa::Avx512 => unsafe { self.fill_avx512(a, rows, cols) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has avx2, fma and popcnt (checked above).
            Isa::Avx2 => unsafe { self.fill_avx2(a, rows, cols) },
            _ => unsafe { self.fill_with(Scalar, a, rows, cols) },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
    unsafe fn fill_avx512(&mut self, a: &[f32], rows: usize, cols: usize) {
        unsafe { self.fill_with(super::simd::Avx512, a, rows, cols) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    unsafe fn fill_avx2(&mut self, a: &[f32], rows: usize, cols: usize) {
        unsafe { self.fill_with(super::simd::Avx2, a, rows, cols) }
    }

    #[inline(always)]
    unsafe fn fill_with<S: Simd>(&mut self, s: S, a: &[f32], rows: usize, cols: usize) {
        (self.rows, self.cols, self.columns_indexed) = (rows, cols, false);
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
        self.columns_indexed = false;
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
        let len = self.col.len();
        self.col.reserve(positions.len());
        self.value.reserve(values.len());
        let spare = (
            &mut self.col.spare_capacity_mut()[..positions.len()],
            &mut self.value.spare_capacity_mut()[..values.len()],
        );
        compiled_for(
            dispatch(),
            #[inline(always)]
            || widen_bytes(positions, values, scale, spare),
        );
        // SAFETY: widen_bytes wrote the next positions.len() == values.len() entries of each
        unsafe {
            self.col.set_len(len + positions.len());
            self.value.set_len(len + values.len());
        }
        self.rows += 1;
        self.start.push(self.col.len());
        self.columns_indexed = false;
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
            // SAFETY: the CPU has avx512f, avx2, fma and popcnt (checked above); the lengths too.
            Isa::Avx512 => unsafe { self.dot_avx512(b, n, c, accumulate) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has avx2, fma and popcnt (checked above); the lengths were checked.
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
        self.index_columns();
        self.columns.as_mut().expect("indexed just now").dot_into_on(isa, b, n, c, accumulate)
    }

    /// Sorts the nonzeros by column (`selfᵀ` as sparse rows), for [`SparseRows::t_dot_into`],
    /// unless that is done already. `t_dot_into` does it when needed; calling it first moves
    /// the work elsewhere (the training loop has it done on the thread that makes the batches).
    pub fn index_columns(&mut self) {
        if self.columns_indexed {
            return;
        }
        let mut columns = self.columns.take().unwrap_or_default();
        self.transpose_into(&mut columns);
        (self.columns, self.columns_indexed) = (Some(columns), true);
    }

    /// `t = selfᵀ`, into `t`'s memory, by a counting sort: rows are visited in order, so each
    /// column's nonzeros come out in row order. Its stores land all over `t` and take most of
    /// its time; marking each column's rows in a bitmap kept in L1 first, and reading the
    /// columns off it, was slower (docs/performance.md).
    fn transpose_into(&self, t: &mut SparseRows) {
        let nonzeros = self.col.len();
        (t.rows, t.cols, t.columns_indexed) = (self.cols, self.rows, false);
        // count each column's nonzeros, then turn the counts into where each column starts
        t.start.clear();
        t.start.resize(self.cols + 1, 0);
        t.col.resize(nonzeros, 0);
        t.value.resize(nonzeros, 0.0);
        // (as slices, which the compiler knows do not overlap: it keeps each index in a register)
        let (start, col, value) = (&mut t.start[..], &mut t.col[..], &mut t.value[..]);
        for &p in &self.col {
            start[p as usize] += 1;
        }
        let mut begin = 0;
        for start in start.iter_mut() {
            (begin, *start) = (begin + *start, begin);
        }
        for r in 0..self.rows {
            for e in self.start[r]..self.start[r + 1] {
                let p = self.col[e] as usize;
                let next = start[p];
                (col[next], value[next]) = (r as u32, self.value[e]);
                start[p] = next + 1;
            }
        }
        // each column's start has moved to its end, which is the next column's start
        t.start.copy_within(0..self.cols, 1);
        t.start[0] = 0;
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
    unsafe fn dot_avx512(&mut self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        unsafe { self.dot_with(super::simd::Avx512, b, n, c, accumulate) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,popcnt")]
    unsafe fn dot_avx2(&mut self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        unsafe { self.dot_with(super::simd::Avx2, b, n, c, accumulate) }
    }

    #[inline(always)]
    unsafe fn dot_with<S: Simd>(&mut self, s: S, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        let b_rows = b.len() / n.max(1);
        if n.is_multiple_of(LINE_FLOATS) || self.col.len() < PAD_MIN_REUSE * b_rows {
            return unsafe { self.gather_rows(s, b, n, n, c, accumulate) };
        }
        // rows of b that start on a cache line: a row of n = 50 floats read from where it
        // happens to start touches 4 or 5 lines, and most of its loads straddle two
        // (taken out of the thread's cell rather than used in a closure, which would not
        // inherit this function's target features)
        let mut padded = PADDED.take();
        let ldb = n.next_multiple_of(LINE_FLOATS);
        padded.resize(b_rows * ldb + LINE_FLOATS, 0.0);
        let offset = padded.as_ptr().align_offset(LINE_FLOATS * size_of::<f32>()).min(LINE_FLOATS);
        let rows = &mut padded[offset..offset + b_rows * ldb];
        for (row, to) in b.chunks_exact(n).zip(rows.chunks_exact_mut(ldb)) {
            to[..n].copy_from_slice(row);
        }
        unsafe { self.gather_rows(s, rows, n, ldb, c, accumulate) };
        PADDED.set(padded);
    }

    /// `c (+)= self·b`, `b`'s rows `ldb` apart.
    #[inline(always)]
    unsafe fn gather_rows<S: Simd>(
        &self,
        s: S,
        b: &[f32],
        n: usize,
        ldb: usize,
        c: &mut [f32],
        accumulate: bool,
    ) {
        for i in 0..self.rows {
            let entries = self.start[i]..self.start[i + 1];
            let nonzeros = (&self.col[entries.clone()], &self.value[entries]);
            let mut j = 0;
            while j < n {
                let width = (n - j).min(BLOCK_VECTORS * S::LANES);
                // SAFETY: rows col[..] and columns j..j + width of b, and of row i of c, exist.
                unsafe {
                    let rows = RowsOfB { first: b.as_ptr().add(j), stride: ldb, whole_tail: ldb != n };
                    gather_block(s, nonzeros, rows, c.as_mut_ptr().add(i * n + j), width, accumulate)
                };
                j += width;
            }
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

/// Positions and byte values (times `scale`) into `col` and `value`, all of the same length:
/// plain loops, run [`compiled_for`] the instruction set of the kernels.
#[inline(always)]
fn widen_bytes(positions: &[u16], values: &[u8], scale: f32, (col, value): Spare) {
    for (col, &p) in col.iter_mut().zip(positions) {
        col.write(p as u32);
    }
    for (value, &v) in value.iter_mut().zip(values) {
        value.write(v as f32 * scale);
    }
}

/// The room for a row's positions and values, at the end of a matrix's.
type Spare<'a> = (&'a mut [MaybeUninit<u32>], &'a mut [MaybeUninit<f32>]);

/// **Panics** unless this CPU can run `isa`.
fn assert_runs_here(isa: Isa, product: &str) {
    assert!(Isa::available().contains(&isa), "SparseRows::{product}: this CPU cannot run {isa:?}");
}

/// The number of nonzeros in `values`.
pub(crate) fn count_nonzeros(values: &[f32]) -> usize {
    match dispatch() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: dispatch() found avx2 on this CPU (every AVX-512 CPU has it).
        Isa::Avx2 | Isa::Avx512 => unsafe { count_nonzeros_avx2(values) },
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

/// The rows of `b` a kernel reads: where the first starts, how far apart they are, and whether
/// each goes on to a whole vector past the columns read (in the aligned copy), so that the
/// last, partial vector is read whole (its extra lanes are summed and never stored), which is
/// faster than a masked read.
#[derive(Clone, Copy)]
struct RowsOfB {
    first: *const f32,
    stride: usize,
    whole_tail: bool,
}

/// `c[0..width] (+)= Σ value·b[position][0..width]`, with `c` in registers.
#[inline(always)]
unsafe fn gather_block<S: Simd>(s: S, nz: Nonzeros, b: RowsOfB, c: *mut f32, width: usize, accumulate: bool) {
    unsafe {
        match width / S::LANES {
            0 => gather_block_n::<S, 0>(s, nz, b, c, width, accumulate),
            1 => gather_block_n::<S, 1>(s, nz, b, c, width, accumulate),
            2 => gather_block_n::<S, 2>(s, nz, b, c, width, accumulate),
            3 => gather_block_n::<S, 3>(s, nz, b, c, width, accumulate),
            4 => gather_block_n::<S, 4>(s, nz, b, c, width, accumulate),
            5 => gather_block_n::<S, 5>(s, nz, b, c, width, accumulate),
            6 => gather_block_n::<S, 6>(s, nz, b, c, width, accumulate),
            7 => gather_block_n::<S, 7>(s, nz, b, c, width, accumulate),
            _ => gather_block_n::<S, 8>(s, nz, b, c, width, accumulate),
        }
    }
}

/// [`gather_block`] with `NV` full vectors (unrolled, so they stay in registers) and one partial.
#[inline(always)]
unsafe fn gather_block_n<S: Simd, const NV: usize>(
    s: S,
    (positions, values): Nonzeros,
    b: RowsOfB,
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
            let row = b.first.add(p as usize * b.stride);
            for (q, acc) in acc.iter_mut().enumerate() {
                *acc = s.mul_add(v, s.load(row.add(q * S::LANES)), *acc);
            }
            if tail > 0 {
                let tail_row = row.add(NV * S::LANES);
                let b_tail = if b.whole_tail { s.load(tail_row) } else { s.load_masked(tail_row, mask) };
                acc_tail = s.mul_add(v, b_tail, acc_tail);
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
