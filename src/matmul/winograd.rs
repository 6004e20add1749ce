//! Winograd's F(2x2, 3x3): a stride-1 3x3 convolution that takes 16 multiplies for each 2x2
//! block of outputs, where the shifted product ([`super::shifted`]) takes 36.
//!
//! Cut the output into 2x2 tiles; tile `t` reads a 4x4 square `d` of each padded input plane.
//! With the book's `W` as 3x3 filters `g[m][c]`,
//!
//! ```text
//! U[m][c] = G · g[m][c] · Gᵀ            (4x4, once a batch)
//! V[c][t] = Bᵀ · d[c][t] · B            (4x4, a few additions)
//! Y[m][t] = Aᵀ · (Σ_c U[m][c] ⊙ V[c][t]) · A      (2x2 outputs)
//! ```
//!
//! so the sums over channels are 16 matrix products, one for each of the 16 places `ξ` of the
//! 4x4 squares: `M_ξ = U_ξ · V_ξ`, `(M, C)` by `(C, tiles)`. They run on the shifted product's
//! kernels, each row `c` of `V_ξ` one shift. The transforms are plain loops a tile at a time
//! and, with AVX2, 8 tiles at a time in registers, read and written along the planes' lines
//! (with AVX-512, 16: 4 tile rows of 4 or 2 of 8 in a vector). The sums are the same with AVX2 and
//! AVX-512 (the scalar kernel rounds each product before adding it), and differ from the
//! shifted product's in rounding only. [`super::shifted::product_reference`] is the plain loop
//! the tests hold this to.
//!
//! [`FilterRows`] is what a convolution multiplies its filters with: this where it pays
//! ([`winograd_pays`]), the shifted product otherwise.

use super::shifted::{Grid, PackedRows, ShiftedRows, product, round_positions};
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Simd};
use super::simd::{Isa, dispatch};
use crate::Float;

/// `G`, which turns a 3-tap filter into 4 values.
const G: [[f32; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];

/// 3x3 filters `(M, C, 3, 3)` transformed for [`WinogradRows::product`]: `U_ξ (M, C)` for each
/// of the 16 places of a tile's square, packed for the product's kernels.
#[derive(Debug, Clone)]
pub struct WinogradRows {
    isa: Isa,
    rows: usize,
    channels: usize,
    u: Vec<PackedRows>,
}

/// Where the input planes and the output lie: `channels` padded planes `plane` values apart,
/// and the output grid (the planes' lines are `grid.line` wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planes {
    /// Input channels, `C`.
    pub channels: usize,
    /// The distance between planes.
    pub plane: usize,
    /// The output on the planes' grid; its lines and width even.
    pub grid: Grid,
}

impl Planes {
    /// 2x2 tiles `(down, across)`.
    fn tiles(&self) -> (usize, usize) {
        (self.grid.lines / 2, self.grid.width / 2)
    }

    /// The distance between rows of `V_ξ`: the tiles rounded up to a vector of 8.
    fn tile_stride(&self) -> usize {
        let (down, across) = self.tiles();
        (down * across).div_ceil(8) * 8
    }
}

impl WinogradRows {
    /// Transforms `w: (M, C, 3, 3)` row-major, for the instruction set [`dispatch`] chose.
    ///
    /// **Panics** if `w.len() != rows · channels · 9`.
    pub fn new(w: &[f32], rows: usize, channels: usize) -> Self {
        WinogradRows::new_on(dispatch(), w, rows, channels)
    }

    /// [`WinogradRows::new`] for the kernels of `isa` (the tests hold each to the plain loop).
    ///
    /// **Panics** as [`WinogradRows::new`] does, or if the CPU lacks `isa`.
    pub fn new_on(isa: Isa, w: &[f32], rows: usize, channels: usize) -> Self {
        assert_eq!(
            w.len(),
            rows * channels * 9,
            "WinogradRows: {} values for ({rows}, {channels}, 3, 3)",
            w.len()
        );
        let mut u = vec![vec![0.0; rows * channels]; 16];
        for (at, g) in w.chunks_exact(9).enumerate() {
            // G · g (4x3), then (G · g) · Gᵀ (4x4)
            let gg: [[f32; 3]; 4] = std::array::from_fn(|i| {
                std::array::from_fn(|j| (0..3).map(|k| G[i][k] * g[k * 3 + j]).sum())
            });
            for (place, u) in u.iter_mut().enumerate() {
                let (i, j) = (place / 4, place % 4);
                u[at] = (0..3).map(|k| gg[i][k] * G[j][k]).sum();
            }
        }
        let u = u.iter().map(|u| PackedRows::new(isa, u, rows, channels)).collect();
        WinogradRows { isa, rows, channels, u }
    }

    /// Whether F(2x2, 3x3) can take a 3x3 convolution with this output: an even number of
    /// lines and outputs a line.
    pub fn fits(grid: Grid) -> bool {
        grid.lines.is_multiple_of(2) && grid.width.is_multiple_of(2) && grid.lines > 0
    }

    /// The scratch [`WinogradRows::product`] needs for `planes`, in values.
    pub fn scratch_len(&self, planes: Planes) -> usize {
        let (v, m) = self.scratch_parts(planes);
        v + m
    }

    /// The lengths of `V` (16 blocks of `C` rows) and `M` (16 blocks of `M` rows).
    fn scratch_parts(&self, planes: Planes) -> (usize, usize) {
        let (stride, (down, across)) = (planes.tile_stride(), planes.tiles());
        let span = round_positions(down * across);
        (16 * ((self.channels - 1) * stride + span), 16 * self.rows * span)
    }

    /// `out[m, q] = Σ_k w[m, k] · x[offsets[k] + q]` for every output `q` of `planes.grid`,
    /// the convolution's sums (as [`super::shifted::product`] with the filters' shifts, in
    /// another rounding); the grid's other positions are left as they were.
    ///
    /// **Panics** if the grid does not [`fit`](WinogradRows::fits), the planes are not this
    /// many channels, a slice is short, or the CPU lacks the instruction set the rows were
    /// packed for.
    pub fn product(
        &self,
        x: &[f32],
        planes: Planes,
        scratch: &mut [f32],
        out: &mut [f32],
        out_stride: usize,
    ) {
        let Planes { channels, plane, grid } = planes;
        assert!(WinogradRows::fits(grid), "WinogradRows::product: {grid:?} is not whole 2x2 tiles");
        assert_eq!(
            channels, self.channels,
            "WinogradRows::product: {channels} channels for {}",
            self.channels
        );
        assert!(grid.width + 2 <= grid.line, "WinogradRows::product: lines narrower than a tile row reads");
        assert!(
            x.len() >= (channels - 1) * plane + (grid.lines + 2) * grid.line,
            "WinogradRows::product: x is short"
        );
        assert!(
            out.len() >= (self.rows - 1) * out_stride + grid.positions(),
            "WinogradRows::product: out is short"
        );
        let (v_len, m_len) = self.scratch_parts(planes);
        assert!(scratch.len() >= v_len + m_len, "WinogradRows::product: the scratch is short");
        let (v, m) = scratch.split_at_mut(v_len);
        let (stride, (down, across)) = (planes.tile_stride(), planes.tiles());
        let (v_block, m_block) = (v_len / 16, m_len / 16);
        transform_input(self.isa, x, planes, (v, v_block, stride));
        // M_ξ = U_ξ · V_ξ: row c of V_ξ is the shift c · stride
        let shifts: Vec<usize> = (0..channels).map(|c| c * stride).collect();
        let tiles = Grid { lines: 1, width: down * across, line: down * across };
        let span = round_positions(down * across);
        for ((u, v), m) in self.u.iter().zip(v.chunks_exact(v_block)).zip(m.chunks_exact_mut(m_block)) {
            product(u, &shifts, v, tiles, m, span);
        }
        transform_output(self.isa, &m[..m_len], (m_block, span), planes, self.rows, out, out_stride);
    }
}

/// Whether [`WinogradRows`] multiplies `rows` 3x3 filters over `planes` faster than the shifted
/// product on `isa`. Measured one core, an image at a time (`examples/winograd_vs_shifted.rs`,
/// the Xeon, model 167): held to AVX2, 1.43-1.70x on DeepConvNet's 32- and 64-channel products
/// whose outputs are 8x8 and 16x16 (4 and 8 tiles across), 1.09-1.34x on the others (16
/// channels, or 14x14 and 28x28 outputs); with AVX-512, whose direct product takes 16 positions
/// a vector, 1.19-1.59x on the first (transforms 16 tiles a vector) and 0.68-0.91x on the
/// others (8 tiles a vector there). Taken where it wins on both,
/// so that a run writes the same model bytes on either: 32 channels and more both ways, tile
/// rows a multiple of 4 tiles.
pub fn winograd_pays(isa: Isa, rows: usize, planes: Planes) -> bool {
    let (_, across) = planes.tiles();
    isa >= Isa::Avx2
        && WinogradRows::fits(planes.grid)
        && planes.grid.width + 2 <= planes.grid.line
        && across.is_multiple_of(4)
        && planes.channels >= 32
        && rows >= 32
}

/// A stride-1 convolution's filters `(M, C, F, F)` over padded planes, and the product that
/// runs them: [`WinogradRows`] for `f32` 3x3 filters where it [pays](winograd_pays), the
/// shifted product otherwise.
#[derive(Debug, Clone)]
pub struct FilterRows<T> {
    planes: Planes,
    product: FilterProduct<T>,
}

#[derive(Debug, Clone)]
enum FilterProduct<T> {
    Shifted(ShiftedRows<T>),
    Winograd(WinogradRows),
}

impl<T: Float> FilterRows<T> {
    /// `w: (M, C, side, side)` row-major over `planes`, whose taps lie at `offsets` (one a
    /// value of a filter, as [`ShiftedRows::new`] takes them).
    ///
    /// **Panics** if `w` is not whole filters of `offsets.len()` taps.
    pub fn new(w: Vec<T>, side: usize, offsets: Vec<usize>, planes: Planes) -> Self {
        let rows = w.len() / offsets.len().max(1);
        let product = match T::as_f32s(&w) {
            Some(w32)
                if side == 3
                    && offsets.len() == 9 * planes.channels
                    && winograd_pays(dispatch(), rows, planes) =>
            {
                FilterProduct::Winograd(WinogradRows::new(w32, rows, planes.channels))
            }
            _ => FilterProduct::Shifted(ShiftedRows::new(w, offsets)),
        };
        FilterRows { planes, product }
    }

    /// The scratch [`FilterRows::product`] needs, in values.
    pub fn scratch_len(&self) -> usize {
        match &self.product {
            FilterProduct::Shifted(_) => 0,
            FilterProduct::Winograd(rows) => rows.scratch_len(self.planes),
        }
    }

    /// `out[m, q]`, the convolution's sum at output `q` of the planes' grid, for every output;
    /// row `m` of `out` from `m · out_stride`. Other positions may be written too.
    pub fn product(&self, x: &[T], out: &mut [T], out_stride: usize, scratch: &mut [T]) {
        match &self.product {
            FilterProduct::Shifted(rows) => rows.product(x, self.planes.grid, out, out_stride),
            FilterProduct::Winograd(rows) => {
                let (x, out) =
                    (T::as_f32s(x).expect("f32 filters, f32 planes"), T::as_f32s_mut(out).expect("f32"));
                rows.product(x, self.planes, T::as_f32s_mut(scratch).expect("f32"), out, out_stride);
            }
        }
    }
}

/// `d · B` of one line of a tile's square (or of 8 tiles', lane by lane):
/// `[d0 - d2, d1 + d2, d2 - d1, d1 - d3]`. Then `Bᵀ ·` the square's 4 such lines the same way.
#[inline(always)]
fn times_b<V: Copy + std::ops::Add<Output = V> + std::ops::Sub<Output = V>>(
    [d0, d1, d2, d3]: [V; 4],
) -> [V; 4] {
    [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
}

/// `[m0 + m1 + m2, m1 - m2 - m3]`: `Aᵀ ·` four values of a column of `M` (or `· A` a row's).
#[inline(always)]
fn times_a<V: Copy + std::ops::Add<Output = V> + std::ops::Sub<Output = V>>(
    [m0, m1, m2, m3]: [V; 4],
) -> [V; 2] {
    [m0 + m1 + m2, m1 - m2 - m3]
}

/// `V_ξ[c][t] = (Bᵀ · d[c][t] · B)_ξ` for every channel and tile `t = (ty, tx)`, whose square
/// is `d[r][s] = x[2ty + r][2tx + s]`, into `v` (block `ξ` from `ξ · block`, rows `stride`
/// apart): each line of the square times `B` first, then the lines combined.
fn transform_input(isa: Isa, x: &[f32], planes: Planes, v: (&mut [f32], usize, usize)) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the isa is one this CPU has (WinogradRows::new_on packed for it), and every
        // instruction set above scalar here has AVX2; the caller checked the lengths
        Isa::Avx512 if fills_16(planes) => unsafe { transform_input_avx512(x, planes, v) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512 => unsafe { transform_input_avx2(x, planes, v) },
        _ => transform_input_plain(x, planes, v),
    }
}

/// The plain loop of [`transform_input`], a tile at a time.
fn transform_input_plain(x: &[f32], planes: Planes, (v, block, stride): (&mut [f32], usize, usize)) {
    let Planes { channels, plane, grid } = planes;
    let (down, across) = planes.tiles();
    for c in 0..channels {
        for (ty, tx) in (0..down).flat_map(|ty| (0..across).map(move |tx| (ty, tx))) {
            let line = |r: usize| {
                times_b(std::array::from_fn(|s| x[c * plane + (2 * ty + r) * grid.line + 2 * tx + s]))
            };
            let lines = [line(0), line(1), line(2), line(3)];
            for j in 0..4 {
                let column = times_b([lines[0][j], lines[1][j], lines[2][j], lines[3][j]]);
                for (i, value) in column.into_iter().enumerate() {
                    v[(4 * i + j) * block + c * stride + ty * across + tx] = value;
                }
            }
        }
    }
}

/// `out[m][2x2 tile t] = Aᵀ · M[m][t] · A`, with `M_ξ` in `m` (block `ξ` from `ξ · block`, rows
/// `span` apart), onto the output grid: each column of `M`'s square times `Aᵀ` first, then the
/// two rows times `A`.
fn transform_output(
    isa: Isa,
    m: &[f32],
    m_layout: (usize, usize),
    planes: Planes,
    rows: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in transform_input
        Isa::Avx512 if fills_16(planes) => unsafe {
            transform_output_avx512(m, m_layout, planes, rows, out, out_stride)
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512 => unsafe {
            transform_output_avx2(m, m_layout, planes, rows, out, out_stride)
        },
        _ => transform_output_plain(m, m_layout, planes, rows, out, out_stride),
    }
}

/// The plain loop of [`transform_output`], a tile at a time.
fn transform_output_plain(
    m: &[f32],
    (block, span): (usize, usize),
    planes: Planes,
    rows: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    let line = planes.grid.line;
    let (down, across) = planes.tiles();
    for row in 0..rows {
        for (ty, tx) in (0..down).flat_map(|ty| (0..across).map(move |tx| (ty, tx))) {
            let e = |place: usize| m[place * block + row * span + ty * across + tx];
            let columns: [[f32; 2]; 4] =
                std::array::from_fn(|k| times_a([e(k), e(4 + k), e(8 + k), e(12 + k)]));
            for (r, at) in [0, line].into_iter().enumerate() {
                let y = times_a([columns[0][r], columns[1][r], columns[2][r], columns[3][r]]);
                out[row * out_stride + 2 * ty * line + at + 2 * tx..][..2].copy_from_slice(&y);
            }
        }
    }
}

/// A vector type of `f32` lanes with the arithmetic [`times_b`] and [`times_a`] use, so that the
/// AVX2 and AVX-512 transforms run the plain loop's formulas, in the same order.
macro_rules! lanes {
    ($(#[$doc:meta])* $name:ident($vector:ident), $add:ident, $sub:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[derive(Clone, Copy)]
        struct $name(std::arch::x86_64::$vector);

        #[cfg(target_arch = "x86_64")]
        impl std::ops::Add for $name {
            type Output = $name;
            #[inline(always)]
            fn add(self, other: $name) -> $name {
                // SAFETY: these lanes are only made in functions compiled for their instruction set
                $name(unsafe { std::arch::x86_64::$add(self.0, other.0) })
            }
        }

        #[cfg(target_arch = "x86_64")]
        impl std::ops::Sub for $name {
            type Output = $name;
            #[inline(always)]
            fn sub(self, other: $name) -> $name {
                // SAFETY: as in add
                $name(unsafe { std::arch::x86_64::$sub(self.0, other.0) })
            }
        }
    };
}

lanes!(
    /// 8 `f32` lanes of an AVX2 register.
    Lanes(__m256), _mm256_add_ps, _mm256_sub_ps
);
lanes!(
    /// 16 `f32` lanes of an AVX-512 register.
    Lanes16(__m512), _mm512_add_ps, _mm512_sub_ps
);

/// The blocks of 8 tiles the AVX2 transforms take, `(ty, tx, n, paired)`: `n` tiles of tile
/// row `ty` from `tx`, or, `paired`, tile rows `ty` and `ty + 1` of 4 tiles each (outputs 8
/// wide, whose rows alone would fill half a vector).
#[cfg(target_arch = "x86_64")]
fn blocks(down: usize, across: usize) -> impl Iterator<Item = (usize, usize, usize, bool)> {
    let paired = if across == 4 { down / 2 * 2 } else { 0 };
    let rows = (paired..down)
        .flat_map(move |ty| (0..across).step_by(8).map(move |tx| (ty, tx, (across - tx).min(8), false)));
    (0..paired).step_by(2).map(|ty| (ty, 0, 8, true)).chain(rows)
}

/// The first `k` lanes (all 8 if `k >= 8`) of 8 values at `at`: a load, or a masked one that
/// reads nothing past them.
///
/// # Safety
/// AVX2; `k.min(8)` values at `at`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load_first(at: *const f32, k: usize) -> Lanes {
    // SAFETY: the lanes read are k.min(8) values at `at` (the caller's)
    Lanes(unsafe { if k >= 8 { Avx2.load(at) } else { Avx2.load_masked(at, Avx2.first_lanes(k)) } })
}

/// Stores the first `k` lanes of `values` (all 8 if `k >= 8`) at `at`, and nothing past them.
///
/// # Safety
/// AVX2; room for `k.min(8)` values at `at`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_first(at: *mut f32, k: usize, values: Lanes) {
    // SAFETY: the lanes written are k.min(8) values at `at` (the caller's)
    unsafe {
        if k >= 8 { Avx2.store(at, values.0) } else { Avx2.store_masked(at, values.0, Avx2.first_lanes(k)) }
    }
}

/// [`transform_input`] with AVX2, 8 tiles of a tile row at a time: each line of their squares
/// read as 18 values and split into its even and odd columns (`d[r][0]`, `d[r][1]` of the 8
/// tiles from the line, `d[r][2]`, `d[r][3]` from 2 values on), all in registers. A tile row's
/// last block of fewer than 8 reads and writes only its own values (masked lanes).
///
/// # Safety
/// The CPU must have AVX2; `x` must hold the planes and `v` the blocks (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transform_input_avx2(x: &[f32], planes: Planes, (v, block, stride): (&mut [f32], usize, usize)) {
    use std::arch::x86_64::*;
    let Planes { channels, plane, grid } = planes;
    let (down, across) = planes.tiles();
    // (even, odd) values of each half of a and b together: [a0 a2 b0 b2 | a4 a6 b4 b6], ...
    let split_halves = |a: Lanes, b: Lanes| {
        (Lanes(_mm256_shuffle_ps::<0x88>(a.0, b.0)), Lanes(_mm256_shuffle_ps::<0xDD>(a.0, b.0)))
    };
    // (even, odd) lanes of 16 values a, b
    let split = |a: Lanes, b: Lanes| {
        let order = |v: Lanes| Lanes(_mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v.0))));
        let (even, odd) = split_halves(a, b);
        (order(even), order(odd))
    };
    for c in 0..channels {
        for (ty, tx, n, paired) in blocks(down, across) {
            let from = c * plane + 2 * ty * grid.line + 2 * tx;
            let line = |r: usize| -> [Lanes; 4] {
                let ((d0, d1), (d2, d3)) = if paired {
                    // 10 values of line 2ty + r in the low half, of line 2ty + 2 + r in the high
                    let (low, high) = (
                        x[from + r * grid.line..][..10].as_ptr(),
                        x[from + (r + 2) * grid.line..][..10].as_ptr(),
                    );
                    // SAFETY: 4 values at `at` of each, at <= 6
                    let load = |at: usize| Lanes(unsafe { _mm256_loadu2_m128(high.add(at), low.add(at)) });
                    (split_halves(load(0), load(4)), split_halves(load(2), load(6)))
                } else {
                    // the 2n + 2 values the tiles read of line 2ty + r
                    let values = x[from + r * grid.line..][..2 * n + 2].as_ptr();
                    // SAFETY: each load reads values up to 2n + 2 only
                    let load = |at: usize| unsafe {
                        load_first(values.wrapping_add(at), (2 * n + 2).saturating_sub(at))
                    };
                    (split(load(0), load(8)), split(load(2), load(10)))
                };
                times_b([d0, d1, d2, d3])
            };
            let lines = [line(0), line(1), line(2), line(3)];
            for j in 0..4 {
                let column = times_b([lines[0][j], lines[1][j], lines[2][j], lines[3][j]]);
                for (i, value) in column.into_iter().enumerate() {
                    let to = v[(4 * i + j) * block + c * stride + ty * across + tx..][..n].as_mut_ptr();
                    // SAFETY: n values at `to`
                    unsafe { store_first(to, n, value) };
                }
            }
        }
    }
}

/// [`transform_output`] with AVX2, 8 tiles of a tile row at a time: their 16 values of `M`
/// loaded, combined in registers, and each output line's 16 values (the tiles' two columns
/// interleaved) stored as two vectors. A tile row's last block of fewer than 8 reads and
/// writes only its own values (masked lanes).
///
/// # Safety
/// The CPU must have AVX2; `m` and `out` must hold what the planes' grid and `rows` ask
/// (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transform_output_avx2(
    m: &[f32],
    (block, span): (usize, usize),
    planes: Planes,
    rows: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    use std::arch::x86_64::*;
    let line = planes.grid.line;
    let (down, across) = planes.tiles();
    for row in 0..rows {
        for (ty, tx, n, paired) in blocks(down, across) {
            let e = |place: usize| {
                let values = m[place * block + row * span + ty * across + tx..][..n].as_ptr();
                // SAFETY: n values at `values`
                unsafe { load_first(values, n) }
            };
            let columns: [[Lanes; 2]; 4] =
                std::array::from_fn(|k| times_a([e(k), e(4 + k), e(8 + k), e(12 + k)]));
            for (r, at) in [0, line].into_iter().enumerate() {
                let [left, right] = times_a([columns[0][r], columns[1][r], columns[2][r], columns[3][r]]);
                // tile i's two outputs side by side: [l0 r0 l1 r1 l2 r2 l3 r3], [l4 r4 ... l7 r7]
                let (low, high) = (_mm256_unpacklo_ps(left.0, right.0), _mm256_unpackhi_ps(left.0, right.0));
                let pairs =
                    [_mm256_permute2f128_ps::<0x20>(low, high), _mm256_permute2f128_ps::<0x31>(low, high)];
                let to = row * out_stride + 2 * ty * line + at + 2 * tx;
                // the second 8 outputs: the same line on, or (paired) tile row ty + 1's
                let next = if paired { to + 2 * line } else { to + 8 };
                let (first, second) =
                    if paired { (8, 8) } else { ((2 * n).min(8), (2 * n).saturating_sub(8)) };
                let (first_at, second_at) =
                    (out[to..][..first].as_mut_ptr(), out[next..][..second].as_mut_ptr());
                // SAFETY: `first` values at first_at, `second` at second_at
                unsafe {
                    store_first(first_at, first, Lanes(pairs[0]));
                    if second > 0 {
                        store_first(second_at, second, Lanes(pairs[1]));
                    }
                }
            }
        }
    }
}

/// Whether the AVX-512 transforms take these planes: tile rows of 4 or 8 tiles, whole groups of
/// 4 or 2 of them filling a vector of 16 tiles.
#[cfg(target_arch = "x86_64")]
fn fills_16(planes: Planes) -> bool {
    let (down, across) = planes.tiles();
    (across == 4 || across == 8) && down.is_multiple_of(16 / across)
}

/// [`transform_input`] with AVX-512, 16 tiles at a time: 4 tile rows of 4, or 2 of 8, each row
/// read as [`transform_input_avx2`] reads it, in its 128- or 256-bit part of the vector. The
/// same additions in the same order, lane by lane, as the AVX2 and plain transforms.
///
/// # Safety
/// The CPU must have AVX-512F; `x` and `v` as [`transform_input_avx2`] asks; [`fills_16`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn transform_input_avx512(x: &[f32], planes: Planes, (v, block, stride): (&mut [f32], usize, usize)) {
    use std::arch::x86_64::*;
    let Planes { channels, plane, grid } = planes;
    let (down, across) = planes.tiles();
    let rows = 16 / across;
    for c in 0..channels {
        for ty in (0..down).step_by(rows) {
            let from = c * plane + 2 * ty * grid.line;
            let line = |r: usize| -> [Lanes16; 4] {
                // each tile row's `across` values of line 2 (ty + j) + r from `at`
                let part = |at: usize| -> __m512 {
                    let line_of = |j: usize| x[from + (2 * j + r) * grid.line + at..][..across].as_ptr();
                    // SAFETY: `across` values at each line_of(j)
                    unsafe {
                        if rows == 4 {
                            let v = _mm512_castps128_ps512(_mm_loadu_ps(line_of(0)));
                            let v = _mm512_insertf32x4::<1>(v, _mm_loadu_ps(line_of(1)));
                            let v = _mm512_insertf32x4::<2>(v, _mm_loadu_ps(line_of(2)));
                            _mm512_insertf32x4::<3>(v, _mm_loadu_ps(line_of(3)))
                        } else {
                            let low = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(line_of(0))));
                            let high = _mm256_castps_pd(_mm256_loadu_ps(line_of(1)));
                            _mm512_castpd_ps(_mm512_insertf64x4::<1>(low, high))
                        }
                    }
                };
                // even and odd columns of each row's 2 * across values
                let split = |a: __m512, b: __m512| {
                    let (even, odd) = (_mm512_shuffle_ps::<0x88>(a, b), _mm512_shuffle_ps::<0xDD>(a, b));
                    if rows == 4 {
                        (even, odd)
                    } else {
                        let order =
                            |v: __m512| _mm512_castpd_ps(_mm512_permutex_pd::<0xD8>(_mm512_castps_pd(v)));
                        (order(even), order(odd))
                    }
                };
                let ((d0, d1), (d2, d3)) = (split(part(0), part(across)), split(part(2), part(across + 2)));
                times_b([d0, d1, d2, d3].map(Lanes16))
            };
            let lines = [line(0), line(1), line(2), line(3)];
            for j in 0..4 {
                let column = times_b([lines[0][j], lines[1][j], lines[2][j], lines[3][j]]);
                for (i, value) in column.into_iter().enumerate() {
                    let to = v[(4 * i + j) * block + c * stride + ty * across..][..16].as_mut_ptr();
                    // SAFETY: 16 values at `to`
                    unsafe { _mm512_storeu_ps(to, value.0) };
                }
            }
        }
    }
}

/// [`transform_output`] with AVX-512, 16 tiles at a time (see [`transform_input_avx512`]): each
/// 128-bit part's 4 tiles give 8 outputs of a line, stored as two halves.
///
/// # Safety
/// The CPU must have AVX-512F; `m` and `out` as [`transform_output_avx2`] asks; [`fills_16`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn transform_output_avx512(
    m: &[f32],
    (block, span): (usize, usize),
    planes: Planes,
    rows: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    use std::arch::x86_64::*;
    let line = planes.grid.line;
    let (down, across) = planes.tiles();
    let group = 16 / across;
    for row in 0..rows {
        for ty in (0..down).step_by(group) {
            let e = |place: usize| {
                // SAFETY: 16 values at each place's tiles from ty * across
                Lanes16(unsafe {
                    _mm512_loadu_ps(m[place * block + row * span + ty * across..][..16].as_ptr())
                })
            };
            let columns: [[Lanes16; 2]; 4] =
                std::array::from_fn(|k| times_a([e(k), e(4 + k), e(8 + k), e(12 + k)]));
            for (r, at) in [0, line].into_iter().enumerate() {
                let [left, right] = times_a([columns[0][r], columns[1][r], columns[2][r], columns[3][r]]);
                let (mut low, mut high) = ([0.0f32; 16], [0.0f32; 16]);
                // SAFETY: 16 values each
                unsafe {
                    _mm512_storeu_ps(low.as_mut_ptr(), _mm512_unpacklo_ps(left.0, right.0));
                    _mm512_storeu_ps(high.as_mut_ptr(), _mm512_unpackhi_ps(left.0, right.0));
                }
                for part in 0..4 {
                    let (j, h) = (part / (across / 4), part % (across / 4));
                    let to = &mut out[row * out_stride + 2 * (ty + j) * line + at + 8 * h..][..8];
                    to[..4].copy_from_slice(&low[4 * part..][..4]);
                    to[4..].copy_from_slice(&high[4 * part..][..4]);
                }
            }
        }
    }
}
