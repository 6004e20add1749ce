//! `im2col` and `col2im` (chapter 7): a convolution as one matrix product.
//!
//! `im2col` lays every `FH x FW` window of every channel out as a row: input `(N, C, H, W)`
//! becomes `(N·OH·OW, C·FH·FW)`, with `OH = (H + 2·pad - FH) / stride + 1` (and `OW` alike).
//! `col2im` goes back, adding up the values of windows that overlap.

use std::mem::MaybeUninit;

use ndarray::{Array2, Array4, ArrayView4};

use super::relu::rectify;
use crate::Float;
use crate::matmul::shifted::Grid;
use crate::matmul::simd::{compiled_for, dispatch};
use crate::matmul::winograd::Planes;

/// The output size along one axis: `(size + 2·pad - filter) / stride + 1`.
///
/// **Panics** if the filter (with padding) does not fit or the stride is 0.
pub fn output_size(size: usize, filter: usize, stride: usize, pad: usize) -> usize {
    assert!(
        stride > 0 && size + 2 * pad >= filter,
        "a {filter}-wide filter does not fit {size} + 2·{pad} with stride {stride}"
    );
    (size + 2 * pad - filter) / stride + 1
}

/// The input index along one axis of `size` read by output position `o` at filter offset `d`:
/// `o·stride + d - pad`, or `None` where that falls on the padding.
pub(crate) fn tap_input(o: usize, d: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
    (o * stride + d).checked_sub(pad).filter(|&i| i < size)
}

/// The windows of `x: (N, C, H, W)` as rows `(N·OH·OW, C·FH·FW)`; padding reads as 0.
pub fn im2col<T: Float>(x: ArrayView4<T>, filter: (usize, usize), stride: usize, pad: usize) -> Array2<T> {
    let (n, c, h, w) = x.dim();
    let (fh, fw) = filter;
    let (oh, ow) = (output_size(h, fh, stride, pad), output_size(w, fw, stride, pad));
    let mut col = Array2::zeros((n * oh * ow, c * fh * fw));
    for_each_cell(x.dim(), filter, stride, pad, |row, tap, cell| col[[row, tap]] = x[cell]);
    col
}

/// The inverse of [`im2col`]: rows `(N·OH·OW, C·FH·FW)` added back into `(N, C, H, W)`.
///
/// **Panics** if `col` does not have the shape `im2col` gives for `shape`.
pub fn col2im<T: Float>(
    col: &Array2<T>,
    shape: (usize, usize, usize, usize),
    filter: (usize, usize),
    stride: usize,
    pad: usize,
) -> Array4<T> {
    let (n, c, h, w) = shape;
    let (fh, fw) = filter;
    let (oh, ow) = (output_size(h, fh, stride, pad), output_size(w, fw, stride, pad));
    assert_eq!(col.dim(), (n * oh * ow, c * fh * fw), "col2im: col does not match input {shape:?}");
    let mut x = Array4::zeros(shape);
    for_each_cell(shape, filter, stride, pad, |row, tap, cell| x[cell] += col[[row, tap]]);
    x
}

/// Calls `f(row, tap, [i, ch, y, x])` for every cell of every window of an `(N, C, H, W)`
/// input that lies inside the image: `row` is the window's row in the book's `col`
/// (`i·OH·OW + oy·OW + ox`), `tap` the filter position's column (`(ch·FH + dy)·FW + dx`).
fn for_each_cell(
    (n, c, h, w): (usize, usize, usize, usize),
    (fh, fw): (usize, usize),
    stride: usize,
    pad: usize,
    mut f: impl FnMut(usize, usize, [usize; 4]),
) {
    let (oh, ow) = (output_size(h, fh, stride, pad), output_size(w, fw, stride, pad));
    for row in 0..n * oh * ow {
        let (i, oy, ox) = (row / (oh * ow), row / ow % oh, row % ow);
        for ch in 0..c {
            for dy in 0..fh {
                for dx in 0..fw {
                    let y = tap_input(oy, dy, stride, pad, h);
                    if let (Some(y), Some(x)) = (y, tap_input(ox, dx, stride, pad, w)) {
                        f(row, (ch * fh + dy) * fw + dx, [i, ch, y, x]);
                    }
                }
            }
        }
    }
}

/// The windows of one image laid out as columns, the layout [`Convolution`] multiplies:
/// `x: (C, H, W)` becomes `col: (C·FH·FW, OH·OW)`, one row per filter tap, one column per
/// output position, so that `W: (FN, C·FH·FW) · col` is the output `(FN, OH·OW)` already in
/// `(C, H, W)` order. [`im2col`] is the book's layout of the same numbers (transposed, for a
/// whole batch), and the plain reference these are tested against.
///
/// Fast because a row of `col` is the input shifted by one tap: for stride 1 each output line
/// is one copy of an input line (all of a tap's lines one copy, for a "same" convolution), and
/// one image's columns stay in the cache between the layout and the product.
///
/// [`Convolution`]: super::Convolution
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Channels, height and width of the input image.
    input: (usize, usize, usize),
    /// The filter's height and width.
    filter: (usize, usize),
    /// The step between windows.
    stride: usize,
    /// Zeros around the input.
    pad: usize,
    /// The output's height and width, from the four above.
    output: (usize, usize),
}

impl Windows {
    /// The windows of a `(C, H, W)` input under `(FH, FW)` filters.
    ///
    /// **Panics** if the filter (with padding) does not fit or the stride is 0.
    pub fn new(
        (c, h, w): (usize, usize, usize),
        (fh, fw): (usize, usize),
        stride: usize,
        pad: usize,
    ) -> Self {
        let output = (output_size(h, fh, stride, pad), output_size(w, fw, stride, pad));
        Windows { input: (c, h, w), filter: (fh, fw), stride, pad, output }
    }

    /// The output's height and width: `(OH, OW)`.
    pub fn output(&self) -> (usize, usize) {
        self.output
    }

    /// Rows of `col`: `C·FH·FW`.
    pub fn taps(&self) -> usize {
        self.input.0 * self.filter.0 * self.filter.1
    }

    /// Columns of `col`: `OH·OW`.
    pub fn positions(&self) -> usize {
        self.output.0 * self.output.1
    }

    /// `col: (C·FH·FW, OH·OW)` from `x: (C, H, W)`; padding reads as 0.
    ///
    /// **Panics** if a slice has the wrong length.
    pub fn im2col_image<T: Float>(&self, x: &[T], col: &mut [T]) {
        let ow = self.output.1;
        for tap in self.taps_of(x.len(), col.len()) {
            let row = &mut col[tap.row.clone()];
            let Some((lines, taken, x_at)) = tap.inside else {
                row.fill(T::zero());
                continue;
            };
            row[..lines.start * ow].fill(T::zero());
            row[lines.end * ow..].fill(T::zero());
            if self.lines_follow_each_other() {
                // the inside of every line in one copy; then clear what it brought in from
                // beyond the image's left and right edges
                let (from, to) = (lines.start * ow + taken.start, (lines.end - 1) * ow + taken.end);
                row[from..to].copy_from_slice(&x[x_at..x_at + to - from]);
                clear_outside(&mut row[lines.start * ow..lines.end * ow], ow, &taken);
            } else {
                clear_outside(&mut row[lines.start * ow..lines.end * ow], ow, &taken);
                for (i, line) in row[lines.start * ow..lines.end * ow].chunks_exact_mut(ow).enumerate() {
                    let (at, inside) = (x_at + i * self.stride * self.input.2, &mut line[taken.clone()]);
                    if self.stride == 1 {
                        inside.copy_from_slice(&x[at..at + inside.len()]);
                    } else {
                        inside.iter_mut().enumerate().for_each(|(j, v)| *v = x[at + j * self.stride]);
                    }
                }
            }
        }
    }

    /// The inverse of [`Windows::im2col_image`]: adds `col: (C·FH·FW, OH·OW)` into
    /// `x: (C, H, W)`, the values of overlapping windows summed. `x` is not cleared first, and
    /// `col` is scratch: its values at padding positions are cleared.
    ///
    /// **Panics** if a slice has the wrong length.
    pub fn col2im_image<T: Float>(&self, col: &mut [T], x: &mut [T]) {
        let ow = self.output.1;
        for tap in self.taps_of(x.len(), col.len()) {
            let Some((lines, taken, x_at)) = tap.inside else { continue };
            let row = &mut col[tap.row.clone()];
            if self.lines_follow_each_other() {
                // what falls on padding must not spill into the neighbouring line: clear it,
                // then add the inside of every line in one pass
                clear_outside(&mut row[lines.start * ow..lines.end * ow], ow, &taken);
                let (from, to) = (lines.start * ow + taken.start, (lines.end - 1) * ow + taken.end);
                x[x_at..x_at + to - from].iter_mut().zip(&row[from..to]).for_each(|(x, &v)| *x += v);
            } else {
                for (i, line) in row[lines.start * ow..lines.end * ow].chunks_exact(ow).enumerate() {
                    let (at, inside) = (x_at + i * self.stride * self.input.2, &line[taken.clone()]);
                    if self.stride == 1 {
                        x[at..at + inside.len()].iter_mut().zip(inside).for_each(|(x, &v)| *x += v);
                    } else {
                        inside.iter().enumerate().for_each(|(j, &v)| x[at + j * self.stride] += v);
                    }
                }
            }
        }
    }

    /// With stride 1 and an output as wide as the input (a "same" convolution), consecutive
    /// lines of a tap are as far apart in `col` as in `x`, so a tap's lines can be moved at once.
    fn lines_follow_each_other(&self) -> bool {
        self.stride == 1 && self.output.1 == self.input.2
    }

    /// Each filter tap's row of `col` and where it reads inside the image.
    fn taps_of(&self, x_len: usize, col_len: usize) -> impl Iterator<Item = Tap> + use<> {
        let ((c, h, w), (fh, fw), (oh, ow)) = (self.input, self.filter, self.output);
        assert!(
            x_len == c * h * w && col_len == self.taps() * oh * ow,
            "im2col: slices do not match {self:?}"
        );
        let (stride, pad) = (self.stride, self.pad);
        // the outputs o along an axis of `size` whose input o·stride + d - pad is inside [0, size)
        let inside = move |d: usize, size: usize, out: usize| {
            let first = pad.saturating_sub(d).div_ceil(stride);
            let end = if size + pad > d { ((size + pad - d - 1) / stride + 1).min(out) } else { 0 };
            first.min(end)..end
        };
        (0..c * fh * fw).map(move |tap| {
            let (ch, dy, dx) = (tap / (fh * fw), tap / fw % fh, tap % fw);
            let (lines, taken) = (inside(dy, h, oh), inside(dx, w, ow));
            let row = tap * oh * ow..(tap + 1) * oh * ow;
            if lines.is_empty() || taken.is_empty() {
                return Tap { row, inside: None };
            }
            let x_at = (ch * h + lines.start * stride + dy - pad) * w + taken.start * stride + dx - pad;
            Tap { row, inside: Some((lines, taken, x_at)) }
        })
    }
}

/// One filter tap of [`Windows`]: its row of `col`, and unless it reads only padding, the
/// output lines and the positions in each line that read inside the image, and where the
/// first of them reads in `x` (the next line reads `stride` input lines further on).
struct Tap {
    row: std::ops::Range<usize>,
    inside: Option<(std::ops::Range<usize>, std::ops::Range<usize>, usize)>,
}

/// Sets to 0, in each line of `lines` (lines of `width` values), the values outside `taken`:
/// the positions that read padding. Column by column: these are a value or two a line, and a
/// call to `memset` for each would cost more than the values.
fn clear_outside<T: Float>(lines: &mut [T], width: usize, taken: &std::ops::Range<usize>) {
    for column in (0..taken.start).chain(taken.end..width) {
        lines.iter_mut().skip(column).step_by(width).for_each(|v| *v = T::zero());
    }
}

/// The channels of one image with their zero padding, line after line `WP = W + 2·pad` wide,
/// plane after plane: the layout in which the windows of a stride-1 convolution are the
/// buffer read at one shift per filter tap (see [`crate::matmul::shifted`]), with no `col`.
///
/// Output position `(y, x)` is grid position `q = y·WP + x`; the grid's last `WP - OW`
/// columns are not outputs. Tested against [`im2col`] through `Convolution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaddedPlanes {
    /// Channels, height and width of the image.
    input: (usize, usize, usize),
    /// The filter's height and width.
    filter: (usize, usize),
    /// Zeros around each plane.
    pad: usize,
}

impl PaddedPlanes {
    /// The padded planes of a `(C, H, W)` image under `(FH, FW)` filters with stride 1.
    ///
    /// **Panics** if the filter does not fit the padded image.
    pub fn new(input: (usize, usize, usize), filter: (usize, usize), pad: usize) -> Self {
        let (_, h, w) = input;
        assert!(
            h + 2 * pad >= filter.0 && w + 2 * pad >= filter.1,
            "a {filter:?} filter does not fit {h}x{w} + 2·{pad}"
        );
        PaddedPlanes { input, filter, pad }
    }

    /// The width of a padded line, `WP`.
    pub fn line(&self) -> usize {
        self.input.2 + 2 * self.pad
    }

    /// The values of one padded plane.
    fn plane(&self) -> usize {
        (self.input.1 + 2 * self.pad) * self.line()
    }

    /// The planes as [`FilterRows`](crate::matmul::winograd::FilterRows) takes them: channels,
    /// the distance between planes, and the output grid.
    pub fn planes(&self) -> Planes {
        Planes { channels: self.input.0, plane: self.plane(), grid: self.grid() }
    }

    /// The output's height and width: `(OH, OW)`.
    pub fn output(&self) -> (usize, usize) {
        let (_, h, w) = self.input;
        (h + 2 * self.pad - self.filter.0 + 1, w + 2 * self.pad - self.filter.1 + 1)
    }

    /// Grid positions of the output, `OH·WP`.
    pub fn positions(&self) -> usize {
        self.grid().positions()
    }

    /// The output on its grid: `OH` lines of `OW` outputs, `WP` apart.
    pub fn grid(&self) -> Grid {
        let (lines, width) = self.output();
        Grid { lines, width, line: self.line() }
    }

    /// The shift of each filter tap `(c, dy, dx)`, in the order of a filter's weights:
    /// `c·plane + dy·WP + dx`.
    pub fn offsets(&self) -> Vec<usize> {
        let (c, (fh, fw)) = (self.input.0, self.filter);
        let (plane, line) = (self.plane(), self.line());
        (0..c * fh * fw).map(|tap| tap / (fh * fw) * plane + tap / fw % fh * line + tap % fw).collect()
    }

    /// The buffer's length when `span >= positions()` grid positions are read at each shift:
    /// the planes, then room for the last shift's reach.
    pub fn buffer_len(&self, span: usize) -> usize {
        self.input.0 * self.plane() + self.filter.1 - 1 + span - self.positions()
    }

    /// Lays `x: (C, H, W)` out in `buffer` (of [`PaddedPlanes::buffer_len`]), zeros around,
    /// when the buffer already holds planes of this layout: zeros, or planes refilled before.
    /// Only the image's values are written (the padding is left as it is), a line in a few
    /// vector moves.
    ///
    /// **Panics** if a slice has the wrong length.
    pub fn refill<T: Float>(&self, x: &[T], buffer: &mut [T]) {
        let ((c, h, w), line, pad) = (self.input, self.line(), self.pad);
        assert_eq!(x.len(), c * h * w, "PaddedPlanes::refill: x is not {:?}", self.input);
        assert!(buffer.len() >= c * self.plane(), "PaddedPlanes::refill: the buffer is short");
        for (plane, x) in buffer.chunks_exact_mut(self.plane()).zip(x.chunks_exact(h * w)) {
            for (padded, x) in plane[pad * line..].chunks_exact_mut(line).zip(x.chunks_exact(w)) {
                copy_line(&mut padded[pad..pad + w], x);
            }
        }
    }

    /// Writes the outputs `(M, OH, OW)` off `grid`, whose row `m` starts at `m · stride`, into
    /// `out`, plus `bias[m]` when given: every value of `out` is written, so it needs no clearing
    /// first (it may be fresh memory). With `relu` (one flag a value), the outputs are the
    /// book's `Relu` of them, and each flag notes where the ReLU blocked (the sum was `<= 0`).
    ///
    /// **Panics** if `out` is not whole `(OH, OW)` planes, `bias` has not one value per plane,
    /// `relu` not one flag per value, or `grid` is short.
    pub fn write_outputs<T: Float>(
        &self,
        grid: &[T],
        stride: usize,
        out: &mut [MaybeUninit<T>],
        bias: Option<&[T]>,
        relu: Option<&mut [bool]>,
    ) {
        let ((oh, ow), line) = (self.output(), self.line());
        let planes = out.len() / (oh * ow).max(1);
        assert_eq!(out.len(), planes * oh * ow, "PaddedPlanes::write_outputs: out is not whole planes");
        assert!(bias.is_none_or(|b| b.len() == planes), "PaddedPlanes::write_outputs: a bias per plane");
        assert!(
            relu.as_ref().is_none_or(|r| r.len() == out.len()),
            "PaddedPlanes::write_outputs: a flag a value"
        );
        // compiled for the CPU's vectors: the loops are what the outputs cost to write
        compiled_for(
            dispatch(),
            #[inline(always)]
            || write_planes(grid, stride, (oh, ow, line), out, bias, relu),
        );
    }
}

/// `dst.copy_from_slice(src)` for a line of a few dozen values, 8 at a time and the last 8
/// overlapping those before: moves of a known length, which the compiler writes out, where
/// `copy_from_slice` of a length known only at run time is a call to `memmove` (a line of 28
/// floats cost more in the call than in the copy).
#[inline(always)]
fn copy_line<T: Copy>(dst: &mut [T], src: &[T]) {
    const LANES: usize = 8;
    let n = src.len();
    if n < LANES || dst.len() != n {
        dst.copy_from_slice(src);
        return;
    }
    let mut copy = |at: usize| {
        let from: &[T; LANES] = src[at..][..LANES].try_into().expect("8 values");
        let to: &mut [T; LANES] = (&mut dst[at..][..LANES]).try_into().expect("8 values");
        *to = *from;
    };
    (0..n - LANES).step_by(LANES).for_each(&mut copy);
    copy(n - LANES);
}

/// The loops of [`PaddedPlanes::write_outputs`] (checked there), inlined where they are
/// compiled.
#[inline(always)]
fn write_planes<T: Float>(
    grid: &[T],
    stride: usize,
    (oh, ow, line): (usize, usize, usize),
    out: &mut [MaybeUninit<T>],
    bias: Option<&[T]>,
    relu: Option<&mut [bool]>,
) {
    let rows = |m: usize| grid[m * stride..][..oh * line].chunks_exact(line);
    let bias = |m: usize| bias.map_or(T::zero(), |b| b[m]);
    match relu {
        None => {
            for (m, out) in out.chunks_exact_mut(oh * ow).enumerate() {
                let b = bias(m);
                for (out, row) in out.chunks_exact_mut(ow).zip(rows(m)) {
                    out.iter_mut().zip(row).for_each(|(o, &v)| {
                        o.write(v + b);
                    });
                }
            }
        }
        Some(blocked) => {
            let planes = out.chunks_exact_mut(oh * ow).zip(blocked.chunks_exact_mut(oh * ow));
            for (m, (out, blocked)) in planes.enumerate() {
                let b = bias(m);
                let lines = out.chunks_exact_mut(ow).zip(blocked.chunks_exact_mut(ow));
                for ((out, blocked), row) in lines.zip(rows(m)) {
                    out.iter_mut().zip(blocked).zip(row).for_each(|((o, blocked), &v)| {
                        o.write(rectify(v + b, blocked));
                    });
                }
            }
        }
    }
}
