//! `Pooling` (chapter 7): each `PH x PW` window of each channel reduced to one value, its
//! maximum (the book's) or its mean.
//!
//! ```text
//! forward:  out[n, c, y, x] = max (or mean) of x[n, c, window(y, x)]     padding reads as 0
//! backward: max: dout goes to where the maximum was;  mean: dout / (PH·PW) to every cell
//! ```

use std::mem::MaybeUninit;

use ndarray::{ArrayD, Dim, Ix4};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::im2col::{output_size, tap_input};
use super::relu::{pass_back, rectify};
use super::{Layer, per_core, written, zeros_par};
use crate::Float;
use crate::matmul::simd::{Isa, compiled_for, dispatch};

/// How a window is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolingKind {
    /// The largest value (the book's).
    Max,
    /// The mean value.
    Average,
}

/// Max or average pooling over windows of `pool_h x pool_w`.
#[derive(Debug, Clone)]
pub struct Pooling {
    /// The window's height.
    pub pool_h: usize,
    /// The window's width.
    pub pool_w: usize,
    /// The step between windows.
    pub stride: usize,
    /// Zeros added around the input.
    pub pad: usize,
    /// Max or average.
    pub kind: PoolingKind,
    /// The last input's shape.
    x_shape: (usize, usize, usize, usize),
    /// For max pooling: where each output's maximum was, as an index into its plane of the
    /// input (`PADDING as u32` when it was a padding zero); 32 bits, half the memory of 64 and
    /// twice the indices a vector holds.
    arg_max: Vec<u32>,
    /// The last input's windows (see [`Pooling::windows`]), for backward.
    windows: Vec<usize>,
    /// Whether the convolution before runs this pooling in its own passes ([`Pooling::done_before`]).
    pub done_before: bool,
}

impl Pooling {
    /// `(OH, OW)` of the output for an `h x w` input plane.
    fn output_shape(&self, (h, w): (usize, usize)) -> (usize, usize) {
        (
            output_size(h, self.pool_h, self.stride, self.pad),
            output_size(w, self.pool_w, self.stride, self.pad),
        )
    }

    /// Pooling over `pool_h x pool_w` windows with `stride` and `pad`.
    ///
    /// **Panics** if a size or the stride is 0.
    pub fn new(pool_h: usize, pool_w: usize, stride: usize, pad: usize, kind: PoolingKind) -> Self {
        assert!(
            pool_h > 0 && pool_w > 0 && stride > 0,
            "Pooling::new: window {pool_h}x{pool_w} and stride {stride} must be at least 1"
        );
        Pooling {
            pool_h,
            pool_w,
            stride,
            pad,
            kind,
            x_shape: (0, 0, 0, 0),
            arg_max: Vec::new(),
            windows: Vec::new(),
            done_before: false,
        }
    }

    /// The book's pooling after a
    /// [`Convolution::with_relu_and_pooling`](super::Convolution::with_relu_and_pooling), which
    /// pools its outputs as it writes them and lays its `dout` out again as it reads it: this
    /// layer passes values and gradients through as they are. The networks build the two
    /// together.
    pub fn done_before() -> Self {
        Pooling { done_before: true, ..Pooling::max_2x2() }
    }

    /// Whether the windows are the book's, 2x2 with stride 2 and no padding: the case with
    /// kernels of its own ([`max_plane_2x2`]), which need no window list.
    fn book_windows(&self) -> bool {
        (self.pool_h, self.pool_w, self.stride, self.pad) == (2, 2, 2, 0)
    }

    /// The book's pooling: 2x2 max windows with stride 2.
    pub fn max_2x2() -> Self {
        Pooling::new(2, 2, 2, 0, PoolingKind::Max)
    }

    /// The windows of an `h x w` plane: for each output cell in turn, the flat indices in
    /// the plane of its `PH·PW` cells, `PADDING` for a cell outside the image. Built once a
    /// forward pass, shared by every plane of the batch and kept for backward.
    fn windows(&self, (h, w): (usize, usize)) -> Vec<usize> {
        let (oh, ow) = self.output_shape((h, w));
        let mut cells = Vec::with_capacity(oh * ow * self.pool_h * self.pool_w);
        for oy in 0..oh {
            for ox in 0..ow {
                for dy in 0..self.pool_h {
                    for dx in 0..self.pool_w {
                        let y = tap_input(oy, dy, self.stride, self.pad, h);
                        let cell = match (y, tap_input(ox, dx, self.stride, self.pad, w)) {
                            (Some(y), Some(x)) => y * w + x,
                            _ => PADDING,
                        };
                        cells.push(cell);
                    }
                }
            }
        }
        cells
    }
}

/// A window cell outside the image, which reads as 0.
const PADDING: usize = usize::MAX;

/// Max pooling of one plane `x: (H, W)` into `out: (OH, OW)`, given its `windows` (`padded`
/// if any of their cells is [`PADDING`]); `arg_max` receives where each maximum was. Padding
/// reads as 0, as the book's im2col pads, and the first maximum wins, as NumPy's argmax.
fn max_plane<T: Float>(
    windows: &[usize],
    padded: bool,
    x: &[T],
    out: &mut [MaybeUninit<T>],
    arg_max: &mut [u32],
) {
    let area = windows.len() / out.len().max(1);
    let windows = windows.chunks_exact(area).zip(out.iter_mut().zip(arg_max));
    if padded {
        let value = |cell: usize| if cell == PADDING { T::zero() } else { x[cell] };
        for (cells, (out, arg_max)) in windows {
            let (max, at) = first_maximum(cells.iter().map(|&cell| (value(cell), cell)));
            out.write(max);
            *arg_max = at as u32; // PADDING becomes u32::MAX
        }
    } else {
        // no padding in any window (the usual case): no check per cell
        for (cells, (out, arg_max)) in windows {
            let (max, at) = first_maximum(cells.iter().map(|&cell| (x[cell], cell)));
            out.write(max);
            *arg_max = at as u32;
        }
    }
}

/// [`max_plane`] for the book's windows, 2x2 with stride 2 and no padding, on an `(H, W)` plane
/// with `H` and `W` even or odd (a last odd line or column is in no window): the four cells
/// of each window read straight off two lines, with no window list. The same first maximum
/// as [`max_plane`], which it is tested against; faster, with no list of cells to read. Written
/// with selections, no branches, so that it vectorizes, and run [`compiled_for`] the kernels'
/// instruction set.
#[inline(always)]
fn max_plane_2x2<T: Float>(
    (w, ow): (usize, usize),
    x: &[T],
    out: &mut [MaybeUninit<T>],
    arg_max: &mut [u32],
) {
    if ow == 0 {
        return;
    }
    for (oy, (out, arg_max)) in out.chunks_exact_mut(ow).zip(arg_max.chunks_exact_mut(ow)).enumerate() {
        let top = 2 * oy * w;
        let (line0, line1) = (&x[top..top + 2 * ow], &x[top + w..top + w + 2 * ow]);
        let cells = line0.chunks_exact(2).zip(line1.chunks_exact(2));
        for (ox, ((out, arg_max), (upper, lower))) in out.iter_mut().zip(arg_max).zip(cells).enumerate() {
            let (max, at) = first_maximum_2x2([upper[0], upper[1], lower[0], lower[1]], w as u32);
            out.write(max);
            *arg_max = (top + 2 * ox) as u32 + at;
        }
    }
}

/// The first maximum of a 2x2 window's cells, in their order (upper left, upper right, lower
/// left, lower right), and where it is from the first: 0, 1, `line`, `line + 1`. By
/// selections, no branches (which cell wins is as good as random), so that the loops calling
/// it vectorize; positions in 32 bits, twice as many to a vector as 64.
#[inline(always)]
fn first_maximum_2x2<T: Float>(cells: [T; 4], line: u32) -> (T, u32) {
    let (max, at) = (cells[0], 0);
    let (max, at) = if cells[1] > max { (cells[1], 1) } else { (max, at) };
    let (max, at) = if cells[2] > max { (cells[2], line) } else { (max, at) };
    if cells[3] > max { (cells[3], line + 1) } else { (max, at) }
}

/// The backward pass of [`max_plane_2x2`] on one plane: `dx: (H, W)` is 0 but where a window's
/// maximum was, which gets the window's `dout`. The plane is cleared while it is in the cache,
/// then the maxima are set: the windows do not overlap, so nothing is added up.
fn max_plane_2x2_backward<T: Float>(dout: &[T], arg_max: &[u32], dx: &mut [MaybeUninit<T>]) {
    dx.iter_mut().for_each(|v| {
        v.write(T::zero());
    });
    for (&at, &d) in arg_max.iter().zip(dout) {
        dx[at as usize].write(d);
    }
}

/// Set in an `arg_max` of [`relu_max_pool_2x2`] where the ReLU blocked the window's maximum
/// (it was `<= 0`): the window's output is 0 and passes no gradient. The rest of the value is
/// the window's first cell, where the backward pass writes that 0.
pub(crate) const RELU_BLOCKED: u32 = 1 << 31;

/// The book's `Relu` and then its 2x2 max `Pooling` of the planes of a convolution's sums, in
/// one pass: plane `m` of the `(OH, OW)` outputs is `sums[m · plane ..]`, its lines `line`
/// apart, plus `bias[m]`. `out` and `arg_max` get what the two layers would give: each
/// window's maximum after the ReLU, and where the first one was in its `(OH, OW)` plane, or
/// [`RELU_BLOCKED`] where the ReLU blocked it (and so every cell of the window).
///
/// **Panics** if `out` and `arg_max` are not one value a window of every plane, or `sums` is short.
pub(crate) fn relu_max_pool_2x2<T: Float>(
    sums: &[T],
    (plane, line): (usize, usize),
    (oh, ow): (usize, usize),
    bias: &[T],
    out: &mut [MaybeUninit<T>],
    arg_max: &mut [u32],
) {
    let windows = (oh / 2) * (ow / 2);
    assert!(out.len() == bias.len() * windows && arg_max.len() == out.len(), "relu_max_pool_2x2: outputs");
    assert!(
        oh * ow < RELU_BLOCKED as usize,
        "relu_max_pool_2x2: a plane of {oh}x{ow} is past 31-bit indices"
    );
    if windows == 0 || bias.is_empty() {
        return;
    }
    assert!(
        ow <= line && sums.len() >= (bias.len() - 1) * plane + (oh - 1) * line + ow,
        "relu_max_pool_2x2: sums"
    );
    let planes = out.chunks_exact_mut(windows).zip(arg_max.chunks_exact_mut(windows)).zip(bias);
    compiled_for(
        dispatch(),
        #[inline(always)]
        || {
            for (m, ((out, arg_max), &b)) in planes.enumerate() {
                relu_max_plane_2x2(&sums[m * plane..], line, (oh, ow), b, out, arg_max);
            }
        },
    );
}

/// One plane of [`relu_max_pool_2x2`]: the four cells of each window read off two lines of
/// the sums, compared by selections as in [`max_plane_2x2`].
#[inline(always)]
fn relu_max_plane_2x2<T: Float>(
    sums: &[T],
    line: usize,
    (oh, ow): (usize, usize),
    b: T,
    out: &mut [MaybeUninit<T>],
    arg_max: &mut [u32],
) {
    let (pw, ow32) = (ow / 2, ow as u32);
    for (py, (out, arg_max)) in
        out.chunks_exact_mut(pw).zip(arg_max.chunks_exact_mut(pw)).enumerate().take(oh / 2)
    {
        let top = 2 * py * line;
        let (line0, line1) = (&sums[top..top + 2 * pw], &sums[top + line..top + line + 2 * pw]);
        let first_of_line = (2 * py * ow) as u32;
        // indexed, positions in 32 bits: the loop the compiler turns into vectors
        for px in 0..pw {
            // the first maximum of the outputs
            let cells = [line0[2 * px] + b, line0[2 * px + 1] + b, line1[2 * px] + b, line1[2 * px + 1] + b];
            let (max, at) = first_maximum_2x2(cells, ow32);
            // the ReLU: a window whose maximum it blocks is all 0, and the book's first maximum
            // is then its first cell, which passes no gradient
            let (first, mut blocked) = (first_of_line + 2 * px as u32, false);
            out[px].write(rectify(max, &mut blocked));
            arg_max[px] = if blocked { first | RELU_BLOCKED } else { first + at };
        }
    }
}

/// The backward pass of [`relu_max_pool_2x2`]: `dx: (M, OH, OW)` is 0 but where a window's
/// maximum passed the ReLU, which gets the window's `dout` (the Pooling's and the ReLU's
/// backward passes). In `f32` with AVX2 (or AVX-512), 4 windows at a time
/// ([`relu_max_pool_2x2_backward_avx2`]); else, and for the last windows of a line,
/// [`relu_max_lines_2x2_backward`].
///
/// **Panics** if the lengths do not agree.
pub(crate) fn relu_max_pool_2x2_backward<T: Float>(
    dout: &[T],
    arg_max: &[u32],
    output: (usize, usize),
    dx: &mut [T],
) {
    relu_max_pool_2x2_backward_on(dispatch(), dout, arg_max, output, dx)
}

/// [`relu_max_pool_2x2_backward`] on a given instruction set (the tests hold each to the plain
/// loop).
fn relu_max_pool_2x2_backward_on<T: Float>(
    isa: Isa,
    dout: &[T],
    arg_max: &[u32],
    (oh, ow): (usize, usize),
    dx: &mut [T],
) {
    let windows = (oh / 2) * (ow / 2);
    let planes = dx.len() / (oh * ow).max(1);
    assert!(
        dx.len() == planes * oh * ow && dout.len() == planes * windows,
        "relu_max_pool_2x2_backward: lengths"
    );
    assert_eq!(arg_max.len(), dout.len(), "relu_max_pool_2x2_backward: an arg_max a window");
    debug_assert!(Isa::available().contains(&isa), "relu_max_pool_2x2_backward: this CPU cannot run {isa:?}");
    if windows == 0 {
        dx.fill(T::zero());
        return;
    }
    let planes =
        dx.chunks_exact_mut(oh * ow).zip(dout.chunks_exact(windows)).zip(arg_max.chunks_exact(windows));
    for ((dx, dout), arg_max) in planes {
        // a last line and column that no window covers (odd sides) pass nothing back
        dx[oh / 2 * 2 * ow..].fill(T::zero());
        if ow % 2 == 1 {
            dx.chunks_exact_mut(ow).for_each(|line| line[ow - 1] = T::zero());
        }
        let from = match (isa, T::as_f32s(dout), T::as_f32s_mut(dx)) {
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2 | Isa::Avx512, Some(dout), Some(dx)) => {
                // SAFETY: dispatch() (or the test, from Isa::available) found AVX2 on this CPU; the
                // slices are one plane's (checked above)
                unsafe { relu_max_pool_2x2_backward_avx2(dout, arg_max, (oh, ow), dx) }
            }
            _ => 0,
        };
        relu_max_lines_2x2_backward(dout, arg_max, (oh, ow), from, dx);
    }
}

/// The windows `from..` of every line of windows of one plane, the plain loop: each window's
/// four cells cleared, then its maximum's set: `dout`, or 0 where the ReLU blocked ([`pass_back`]).
fn relu_max_lines_2x2_backward<T: Float>(
    dout: &[T],
    arg_max: &[u32],
    (oh, ow): (usize, usize),
    from: usize,
    dx: &mut [T],
) {
    let pw = ow / 2;
    for py in 0..oh / 2 {
        for px in from..pw {
            let (at, d) = (arg_max[py * pw + px], dout[py * pw + px]);
            let first = 2 * py * ow + 2 * px;
            for cell in [first, first + 1, first + ow, first + ow + 1] {
                dx[cell] = T::zero();
            }
            // a blocked window's first cell gets the ReLU's 0
            dx[(at & !RELU_BLOCKED) as usize] = pass_back(d, at & RELU_BLOCKED != 0);
        }
    }
}

/// The whole blocks of 4 windows of each line of windows of one plane (see
/// [`relu_max_lines_2x2_backward`]): the cell of each window that its `arg_max` names is compared
/// with the four cells at once, the `dout` of the 4 windows kept where they match, and the four
/// vectors of cells interleaved into 8 values of each of the windows' two lines: every value
/// written once, and no scattered stores. (Blocks of 8 in 256-bit vectors were no faster: the
/// pass waits on memory.) Returns the first window of a line it left.
///
/// # Safety
/// The CPU must have AVX2; `dx` is one `(OH, OW)` plane and `dout`, `arg_max` its windows'.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn relu_max_pool_2x2_backward_avx2(
    dout: &[f32],
    arg_max: &[u32],
    (oh, ow): (usize, usize),
    dx: &mut [f32],
) -> usize {
    use std::arch::x86_64::*;
    let pw = ow / 2;
    let whole = pw / 4 * 4;
    // SAFETY (the blocks): window py·PW + px + 3 < (OH / 2)·PW, and cell (2py + 1)·OW + 2px + 7
    // < OH·OW, for px + 4 <= PW
    unsafe {
        let steps = _mm_setr_epi32(0, 2, 4, 6);
        for py in 0..oh / 2 {
            for px in (0..whole).step_by(4) {
                let (window, first) = (py * pw + px, 2 * py * ow + 2 * px);
                let at = _mm_loadu_si128(arg_max.as_ptr().add(window).cast());
                let d = _mm_loadu_ps(dout.as_ptr().add(window));
                // the cell a window's maximum is at, from its first; a blocked one's is past any
                let cell = _mm_sub_epi32(at, _mm_add_epi32(_mm_set1_epi32(first as i32), steps));
                let keep =
                    |offset| _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(cell, _mm_set1_epi32(offset))), d);
                let lines = [(keep(0), keep(1), first), (keep(ow as i32), keep(ow as i32 + 1), first + ow)];
                for (left, right, start) in lines {
                    // [l0 r0 l1 r1] and [l2 r2 l3 r3]
                    let to = dx.as_mut_ptr().add(start);
                    _mm_storeu_ps(to, _mm_unpacklo_ps(left, right));
                    _mm_storeu_ps(to.add(4), _mm_unpackhi_ps(left, right));
                }
            }
        }
    }
    whole
}

/// The first largest value of `(value, at)` pairs, and its `at`. Chosen by selects rather than
/// branches: which cell holds a window's maximum is as good as random, and a branch on it would
/// be mispredicted about half the time.
fn first_maximum<T: Float>(mut cells: impl Iterator<Item = (T, usize)>) -> (T, usize) {
    let first = cells.next().expect("a window has a cell");
    cells.fold(first, |(best, at), (value, cell)| {
        let better = value > best;
        (if better { value } else { best }, if better { cell } else { at })
    })
}

impl<T: Float> Layer<T> for Pooling {
    fn name(&self) -> &'static str {
        "Pooling"
    }

    /// **Panics** if `x` is not `(N, C, H, W)` or the window does not fit.
    fn forward(&mut self, x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        if self.done_before {
            return x;
        }
        let x = x
            .into_dimensionality::<Ix4>()
            .unwrap_or_else(|x| panic!("Pooling::forward: expected (N, C, H, W), got {x:?}"));
        let (n, c, h, w) = x.dim();
        assert!(h * w < u32::MAX as usize, "Pooling::forward: a plane of {h}x{w} is past 32-bit indices");
        let (oh, ow) = self.output_shape((h, w));
        self.x_shape = (n, c, h, w);
        let x = x.as_standard_layout();
        let (kind, book_windows) = (self.kind, self.book_windows());
        // the window list, which max pooling over the book's windows does without
        let listed = !(kind == PoolingKind::Max && book_windows);
        self.windows = if listed { self.windows((h, w)) } else { Vec::new() };
        let windows = &self.windows;
        let planes = (n * c).max(1);
        let (pool_h, pool_w, padded) = (self.pool_h, self.pool_w, self.pad > 0);
        let arg_max = &mut self.arg_max;
        let write = |out: &mut [MaybeUninit<T>]| {
            let (x_planes, out_planes) =
                (x.as_slice().expect("row-major").par_chunks(h * w), out.par_chunks_mut(oh * ow));
            match kind {
                PoolingKind::Max => {
                    arg_max.resize(n * c * oh * ow, PADDING as u32);
                    let arg_max = arg_max.par_chunks_mut(oh * ow);
                    let planes = x_planes.zip(out_planes).zip(arg_max).with_min_len(per_core(planes));
                    // a padded window reads padding from the first one on; without padding, none does
                    if book_windows {
                        let isa = dispatch();
                        planes.for_each(|((x, out), arg_max)| {
                            compiled_for(
                                isa,
                                #[inline(always)]
                                || max_plane_2x2((w, ow), x, out, arg_max),
                            )
                        });
                    } else {
                        planes.for_each(|((x, out), arg_max)| max_plane(windows, padded, x, out, arg_max));
                    }
                }
                PoolingKind::Average => {
                    let area = T::from_f64((pool_h * pool_w) as f64);
                    x_planes.zip(out_planes).with_min_len(per_core(planes)).for_each(|(x, out)| {
                        for (out, cells) in out.iter_mut().zip(windows.chunks_exact(pool_h * pool_w)) {
                            out.write(
                                cells
                                    .iter()
                                    .filter(|&&cell| cell != PADDING)
                                    .fold(T::zero(), |s, &cell| s + x[cell])
                                    / area,
                            );
                        }
                    });
                }
            }
        };
        // SAFETY: the planes tile the output, and each kind writes every output of its plane:
        // one per window, the windows as many as the outputs.
        unsafe { written(Dim([n, c, oh, ow]), write) }.into_dyn()
    }

    /// **Panics** if `dout` is not the shape of the last forward pass's output.
    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        if self.done_before {
            return dout;
        }
        let (n, c, h, w) = self.x_shape;
        let (oh, ow) = self.output_shape((h, w));
        let dout = dout.into_dimensionality::<Ix4>().expect("Pooling::backward: dout must be (N, C, OH, OW)");
        assert_eq!(dout.dim(), (n, c, oh, ow), "Pooling::backward: dout is not the last output's shape");
        let dout = dout.as_standard_layout();
        let dout_planes = dout.as_slice().expect("row-major");
        if self.kind == PoolingKind::Max && self.book_windows() {
            let write = |dx: &mut [MaybeUninit<T>]| {
                let planes = dout_planes.par_chunks(oh * ow).zip(dx.par_chunks_mut(h * w));
                let planes = planes.zip(self.arg_max.par_chunks(oh * ow)).with_min_len(per_core(n * c));
                planes.for_each(|((dout, dx), arg_max)| max_plane_2x2_backward(dout, arg_max, dx));
            };
            // SAFETY: the planes tile dx, and max_plane_2x2_backward clears each whole plane first
            return unsafe { written(Dim([n, c, h, w]), write) }.into_dyn();
        }
        let mut dx = zeros_par(Dim([n, c, h, w]));
        let dx_planes = dx.as_slice_mut().expect("new");
        match self.kind {
            PoolingKind::Max => {
                let planes = dout_planes.par_chunks(oh * ow).zip(dx_planes.par_chunks_mut(h * w));
                let planes = planes.zip(self.arg_max.par_chunks(oh * ow));
                planes.with_min_len(per_core(n * c)).for_each(|((dout, dx), arg_max)| {
                    for (&at, &d) in arg_max.iter().zip(dout) {
                        if at != PADDING as u32 {
                            dx[at as usize] += d;
                        }
                    }
                });
            }
            PoolingKind::Average => {
                let (windows, window_cells) = (&self.windows, self.pool_h * self.pool_w);
                let area = T::from_f64(window_cells as f64);
                for (dout, dx) in dout_planes.chunks_exact(oh * ow).zip(dx_planes.chunks_exact_mut(h * w)) {
                    for (&d, cells) in dout.iter().zip(windows.chunks_exact(window_cells)) {
                        cells.iter().filter(|&&cell| cell != PADDING).for_each(|&cell| dx[cell] += d / area);
                    }
                }
            }
        }
        dx.into_dyn()
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    /// Every instruction set this CPU has gives the fused layers' backward pass as the book
    /// has it (dx cleared, then each window's `dout` set where its maximum passed the ReLU),
    /// bit for bit, on sides that are and are not whole blocks of 4 windows, and odd ones.
    #[test]
    fn relu_max_pool_backward_gives_the_book_s_dx_on_every_instruction_set() {
        let mut rng = crate::seeded_rng(7);
        for (oh, ow) in [(28, 28), (16, 16), (8, 8), (14, 14), (7, 9), (2, 34), (1, 5)] {
            let (planes, windows) = (3, (oh / 2) * (ow / 2));
            // sums with ties and with windows the ReLU blocks
            let sums: Vec<f32> =
                (0..planes * oh * ow).map(|_| (rng.random_range(-4..6) as f32) / 2.0).collect();
            let bias = vec![0.0f32; planes];
            let mut out = vec![MaybeUninit::uninit(); planes * windows];
            let mut arg_max = vec![0u32; planes * windows];
            relu_max_pool_2x2(&sums, (oh * ow, ow), (oh, ow), &bias, &mut out, &mut arg_max);
            let dout: Vec<f32> = (0..planes * windows).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut book = vec![0.0f32; planes * oh * ow];
            for (p, (arg_max, dout)) in
                arg_max.chunks(windows.max(1)).zip(dout.chunks(windows.max(1))).enumerate()
            {
                for (&at, &d) in arg_max.iter().zip(dout) {
                    if at & RELU_BLOCKED == 0 {
                        book[p * oh * ow + at as usize] = d;
                    }
                }
            }
            for isa in Isa::available() {
                let mut dx = vec![f32::NAN; planes * oh * ow];
                relu_max_pool_2x2_backward_on(isa, &dout, &arg_max, (oh, ow), &mut dx);
                let same = dx.iter().zip(&book).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{isa:?}, {oh}x{ow}: {dx:?} against {book:?}");
            }
        }
    }
}
