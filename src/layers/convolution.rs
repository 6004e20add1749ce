//! `Convolution` (chapter 7): filters `W: (FN, C, FH, FW)` slid over `x: (N, C, H, W)` with
//! a stride and zero padding, plus a bias per filter, as one matrix product per image:
//!
//! ```text
//! forward:  col = im2col(x[n]): (C·FH·FW, OH·OW);  out[n] = W · col + b: (FN, OH·OW)
//! backward: dWᵀ = Σn col · dout[n]ᵀ;  db = Σn Σ dout[n];  dx[n] = col2im(Wᵀ · dout[n])
//! ```
//!
//! `W` has the book's and PyTorch's layout, seen as `(FN, C·FH·FW)`. The book lays the
//! windows of the whole batch out at once (`im2col`, kept as the reference). Here the images
//! are shared out between the cores, one image at a time, in one of two ways:
//!
//! - stride 1 with square filters (every convolution of the book's networks): the image's
//!   padded planes ([`PaddedPlanes`]) are read at one shift per filter tap, so `col` is never
//!   laid out ([`crate::matmul::shifted`]); `dx` is the same product of `dout`, padded by
//!   `FH - 1 - pad`, with the filters turned 180° and `C` and `FN` swapped:
//!   `dx[c, y, x] = Σ_f Σ_dy,dx W[f, c, FH-1-dy, FW-1-dx] · dout_padded[f, y + dy, x + dx]`.
//!   Where that is faster on every instruction set (3x3 filters, 32 channels and more, rows
//!   of whole 2x2 tiles a multiple of 4: [`crate::matmul::winograd::winograd_pays`]), both
//!   products take Winograd's F(2x2, 3x3): the same sums, rounded otherwise, with 16
//!   multiplies for each 2x2 block of outputs instead of 36;
//! - any other stride: each image's windows ([`Windows`]) are laid out, multiplied and
//!   dropped while they are in the cache.
//!
//! Either way backward lays the windows out again from the kept input: that costs less than
//! storing them (tens of MB for a batch of DeepConvNet).
//!
//! The book's `Relu` after a convolution, and its 2x2 max `Pooling` after that, can run in the
//! convolution's passes ([`Fused`]): each image's outputs rectified (and pooled) as they are
//! written, each image's `dout` laid out again as it is read, one pass over the activations
//! fewer each way for each. The networks build it so, and keep the book's layers after it.

use std::mem::MaybeUninit;
use std::ops::Range;

use ndarray::{Array1, Array4, ArrayD, ArrayView2, ArrayViewMut2, Dim, Ix4};
use rayon::prelude::*;

use super::im2col::{PaddedPlanes, Windows};
use super::pooling::{relu_max_pool_2x2, relu_max_pool_2x2_backward};
use super::relu::{pass_back, rectify};
use super::{Layer, Param, per_core, sum_in_lanes, written, zeros_par};
use crate::Float;
use crate::matmul::gemm_into;
use crate::matmul::shifted::{GradientOperands, gradient_of, round_positions};
use crate::matmul::simd::{Isa, compiled_for, dispatch};
use crate::matmul::winograd::FilterRows;

/// A 2-D convolution layer with filters `w` (the book's `W`) and bias `b`.
#[derive(Debug, Clone)]
pub struct Convolution<T> {
    /// Filters `(FN, C, FH, FW)`.
    pub w: Array4<T>,
    /// One bias per filter.
    pub b: Array1<T>,
    /// `∂L/∂W` from the last backward.
    pub dw: Array4<T>,
    /// `∂L/∂b` from the last backward.
    pub db: Array1<T>,
    /// The step between windows.
    pub stride: usize,
    /// Zeros added around the input.
    pub pad: usize,
    /// The layers after this one that it runs in its own passes.
    pub fused: Fused,
    /// With [`Fused::Relu`]: where the ReLU blocked in the last forward pass (the sum was `<= 0`).
    relu_blocked: Vec<bool>,
    /// With [`Fused::ReluAndPooling`]: the pooling's `arg_max` of the last forward pass (see
    /// [`relu_max_pool_2x2`]).
    arg_max: Vec<u32>,
    /// The last input, `(N, C, H, W)` in row-major order.
    x: Array4<T>,
    /// Scratch of the last backward pass, for the next.
    scratch: ScratchPool<T>,
}

/// The book's layers after a convolution that it can run in its own passes, with one pass over
/// the activations (megabytes a batch) fewer each way for each: see [`Convolution::with_relu`]
/// and [`Convolution::with_relu_and_pooling`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fused {
    /// None: the convolution alone.
    #[default]
    Nothing,
    /// The `Relu` after it.
    Relu,
    /// The `Relu` after it, then the 2x2 max `Pooling` (stride 2) after that.
    ReluAndPooling,
}

/// What a forward pass keeps for the backward pass of the fused layers: the whole batch's, or
/// one image's.
enum Kept<'a> {
    Nothing,
    /// Where the ReLU blocked.
    Relu(&'a mut [bool]),
    /// The pooling's `arg_max`.
    Pooled(&'a mut [u32]),
}

impl<'a> Kept<'a> {
    /// One for each of `n` images.
    fn per_image(self, n: usize) -> Vec<Kept<'a>> {
        let each = |len: usize| (len / n.max(1)).max(1);
        match self {
            Kept::Nothing => (0..n).map(|_| Kept::Nothing).collect(),
            Kept::Relu(b) => b.chunks_mut(each(b.len())).map(Kept::Relu).collect(),
            Kept::Pooled(a) => a.chunks_mut(each(a.len())).map(Kept::Pooled).collect(),
        }
    }
}

/// One core's share of the weight gradients, and its scratch columns.
struct Gradients<T> {
    dw: Vec<T>,
    db: Vec<T>,
    col: Vec<T>,
}

impl<T: Float> Convolution<T> {
    /// A convolution with filters `w: (FN, C, FH, FW)`, bias `b: (FN,)`, `stride` and `pad`.
    ///
    /// **Panics** if `b` does not have one value per filter or `stride` is 0.
    pub fn new(w: Array4<T>, b: Array1<T>, stride: usize, pad: usize) -> Self {
        assert_eq!(b.len(), w.dim().0, "Convolution::new: {} biases for {} filters", b.len(), w.dim().0);
        assert!(stride > 0, "Convolution::new: the stride must be at least 1");
        Convolution {
            dw: Array4::zeros(w.raw_dim()),
            db: Array1::zeros(b.raw_dim()),
            x: Array4::zeros((0, 0, 0, 0)),
            scratch: ScratchPool::default(),
            fused: Fused::Nothing,
            relu_blocked: Vec::new(),
            arg_max: Vec::new(),
            stride,
            pad,
            w,
            b,
        }
    }

    /// This convolution with the book's `Relu` after it run in its own passes: forward writes
    /// `max(0, ·)` of each output as it writes the output, and backward clears `dout` where the
    /// ReLU blocked while it has each image's `dout` in the cache anyway. The same numbers as
    /// the two layers, with one pass over the activations (megabytes a batch) fewer each way.
    /// The networks put a [`Relu::done_before`](super::Relu::done_before) after it, so that
    /// their layers stay the book's.
    pub fn with_relu(self) -> Self {
        Convolution { fused: Fused::Relu, ..self }
    }

    /// This convolution with the book's `Relu` and then its 2x2 max `Pooling` after it, run in
    /// its own passes: forward pools each image's outputs while they are in the cache, and
    /// never writes them out (its output is the pooling's); backward lays each image's `dout`
    /// out from the pooling's (the two layers' backward passes) as it reads it. The same
    /// numbers as the three layers. The networks put a
    /// [`Relu::done_before`](super::Relu::done_before) and a
    /// [`Pooling::done_before`](super::Pooling::done_before) after it.
    pub fn with_relu_and_pooling(self) -> Self {
        Convolution { fused: Fused::ReluAndPooling, ..self }
    }

    /// The height and width of this layer's output, `(LH, LW)`, for outputs of the convolution
    /// `(OH, OW)`: pooled with [`Fused::ReluAndPooling`].
    fn fused_output(&self, (oh, ow): (usize, usize)) -> (usize, usize) {
        match self.fused {
            Fused::ReluAndPooling => (oh / 2, ow / 2),
            _ => (oh, ow),
        }
    }

    /// The windows of one image of the last input.
    fn windows(&self) -> Windows {
        let (_, c, h, w) = self.x.dim();
        Windows::new((c, h, w), (self.w.dim().2, self.w.dim().3), self.stride, self.pad)
    }

    /// `W` as `(FN, C·FH·FW)`: one filter per row.
    fn w_rows(&self) -> ArrayView2<'_, T> {
        let fn_ = self.w.dim().0;
        self.w.view().into_shape_with_order((fn_, self.w.len() / fn_.max(1))).expect("W is contiguous")
    }

    /// The padded planes of one image of the last input, when the shifted products can run
    /// this convolution: stride 1, square filters, padding less than the filter.
    fn padded_planes(&self) -> Option<PaddedPlanes> {
        let (_, c, h, w) = self.x.dim();
        let (fh, fw) = (self.w.dim().2, self.w.dim().3);
        (self.stride == 1 && fh == fw && self.pad < fh)
            .then(|| PaddedPlanes::new((c, h, w), (fh, fw), self.pad))
    }

    /// Fills `dw`, `db` and, when asked for, returns `dx`.
    fn backward_with(&mut self, dout: ArrayD<T>, want_dx: bool) -> Option<Array4<T>> {
        let dout =
            dout.into_dimensionality::<Ix4>().expect("Convolution::backward: dout must be (N, FN, OH, OW)");
        let dout = if dout.is_standard_layout() { dout } else { dout.as_standard_layout().into_owned() };
        let (n, fn_) = (self.x.dim().0, self.w.dim().0);
        let (oh, ow) = self.windows().output();
        let (lh, lw) = self.fused_output((oh, ow));
        assert_eq!(dout.dim(), (n, fn_, lh, lw), "Convolution::backward: dout");
        // the fused layers' backward passes, on each image's dout as it is read
        let kept = match self.fused {
            Fused::Nothing => None,
            Fused::Relu => Some(Unfuse::Relu(&self.relu_blocked)),
            Fused::ReluAndPooling => Some(Unfuse::Pooled(&self.arg_max, (oh, ow))),
        };
        assert!(kept.is_none_or(|k| k.len() == dout.len()), "Convolution::backward: no forward pass before");
        let (dw, db, dx) = match self.padded_planes() {
            Some(planes) => self.backward_shifted(planes, &dout, kept, want_dx),
            None => {
                let dout = match kept {
                    Some(kept) => {
                        let mut unfused = Array4::zeros((n, fn_, oh, ow));
                        let unfused_values = unfused.as_slice_mut().expect("new");
                        let (d_image, image) = (dout.len() / n.max(1), fn_ * oh * ow);
                        let douts = dout.as_slice().expect("row-major").chunks_exact(d_image.max(1));
                        for (i, (dout, unfused)) in
                            douts.zip(unfused_values.chunks_exact_mut(image.max(1))).enumerate()
                        {
                            kept.image(i, d_image).backward(dout, unfused);
                        }
                        unfused
                    }
                    None => dout,
                };
                self.backward_windows(&dout, want_dx)
            }
        };
        self.dw = Array4::from_shape_vec(self.w.raw_dim(), dw).expect("FN·C·FH·FW");
        self.db = Array1::from(db);
        dx
    }

    /// [`Convolution::backward_with`] by shifted products: `dWᵀ = Σn col · dout[n]ᵀ` read off
    /// the padded planes, and `dx[n]` the product of the padded `dout[n]` with the turned filters.
    /// With `fused`, each image's `dout` is first that of the fused layers, laid out again.
    /// Returns `dW` (in `W`'s layout), `db` and `dx`.
    fn backward_shifted(
        &self,
        planes: PaddedPlanes,
        dout: &Array4<T>,
        fused: Option<Unfuse<'_>>,
        want_dx: bool,
    ) -> (Vec<T>, Vec<T>, Option<Array4<T>>) {
        let (n, c, h, w) = self.x.dim();
        let (fn_, _, fh, fw) = self.w.dim();
        let k = c * fh * fw;
        let ((oh, ow), positions) = (planes.output(), planes.positions());
        let span = round_positions(positions);
        let offsets = planes.offsets();
        // dx: dout padded by FH - 1 - pad, times W turned 180° with C and FN swapped: (C, FN·FH·FW)
        let back = PaddedPlanes::new((fn_, oh, ow), (fh, fw), fh - 1 - self.pad);
        let back_span = round_positions(back.positions());
        let turned = want_dx.then(|| {
            let turned = ndarray::Array4::from_shape_fn((c, fn_, fh, fw), |(ch, f, dy, dx)| {
                self.w[[f, ch, fh - 1 - dy, fw - 1 - dx]]
            });
            FilterRows::new(turned.into_raw_vec_and_offset().0, fh, back.offsets(), back.planes())
        });
        let (x, dout) = (self.x.as_slice().expect("row-major"), dout.as_slice().expect("row-major"));
        let (image, out_image, d_image) = (c * h * w, fn_ * oh * ow, dout.len() / n.max(1));
        // dout[n] laid out position by position for the weight gradient: (OH·OW, FN rounded up to 16)
        let m_stride = fn_.div_ceil(16) * 16;
        let (planes_len, rows_len) = (planes.buffer_len(span), oh * ow * m_stride);
        // the images a core takes at a time: their planes and rows stay in its L2 cache
        let group = (GROUP_BYTES / ((planes_len + rows_len) * size_of::<T>())).clamp(1, per_core(n));
        let lengths = [
            k * m_stride,
            fn_,
            group * planes_len,
            group * rows_len,
            if want_dx { back.buffer_len(back_span) } else { 0 },
            if want_dx { c * back_span } else { 0 },
            if fused.is_some() { out_image } else { 0 },
            turned.as_ref().map_or(0, FilterRows::scratch_len),
        ];
        // last batch's scratch when it has these lengths (its sums cleared), else new
        let layouts = (planes, back);
        let new = || self.scratch.take(lengths, layouts).unwrap_or_else(|| Scratch::new(lengths, layouts));
        // a group of images from `first`: each dx[n] from the turned filters, db += Σ dout[n],
        // and dWᵀ += Σ col · dout[n]ᵀ
        let step = |mut g: Scratch<T>, (first, dx): (usize, Option<&mut [MaybeUninit<T>]>)| {
            let images = group.min(n - first);
            let mut dx = dx.map(|dx| dx.chunks_exact_mut(image));
            for j in 0..images {
                let dout = &dout[(first + j) * d_image..][..d_image];
                // the fused layers' backward passes, as dout[n] is read
                let dout = match fused {
                    Some(fused) => {
                        fused.image(first + j, d_image).backward(dout, &mut g.dout);
                        &g.dout[..]
                    }
                    None => dout,
                };
                if let (Some(dx), Some(turned)) = (dx.as_mut().and_then(Iterator::next), &turned) {
                    // the scratch's planes are zeros or planes of this layout (ScratchPool::take)
                    back.refill(dout, &mut g.back);
                    turned.product(&g.back, &mut g.back_grid, back_span, &mut g.filter_scratch);
                    back.write_outputs(&g.back_grid, back_span, dx, None, None);
                }
                planes.refill(
                    &x[(first + j) * image..][..image],
                    &mut g.planes[j * planes_len..][..planes_len],
                );
                transpose_planes(dout, oh * ow, &mut g.rows[j * rows_len..][..rows_len], m_stride);
                g.db.iter_mut().zip(dout.chunks_exact(oh * ow)).for_each(|(db, plane)| {
                    *db += sum_in_lanes::<16, _>(plane, |v| v);
                });
            }
            let line = planes.line();
            let operands = GradientOperands {
                d: &g.rows,
                m_stride,
                x: &g.planes,
                x_image: planes_len,
                images,
                output: (oh, ow),
                line,
            };
            gradient_of(operands, &offsets, &mut g.dw_t);
            g
        };
        let add = |mut a: Scratch<T>, b: Scratch<T>| {
            a.dw_t.iter_mut().zip(&b.dw_t).for_each(|(a, &b)| *a += b);
            a.db.iter_mut().zip(&b.db).for_each(|(a, &b)| *a += b);
            self.scratch.keep(b);
            a
        };
        // one piece of rayon's work a group, whichever core takes it: the sums are then added
        // in the same order every run (pieces split as the cores happen to steal work would
        // give dW's sums, and the whole training run, other roundings run to run)
        let (sums, dx) = if want_dx {
            let mut sums = None;
            let write = |dx: &mut [MaybeUninit<T>]| {
                let groups = dx.par_chunks_mut((group * image).max(1)).enumerate().with_max_len(1);
                sums = Some(groups.map(|(i, dx)| (i * group, Some(dx))).fold(new, step).reduce(new, add));
            };
            // SAFETY: the groups' images tile dx, and write_outputs writes every value of each
            // image's (C, H, W) planes (it asserts whole planes).
            let dx = unsafe { written(self.x.raw_dim(), write) };
            (sums.expect("written calls write"), Some(dx))
        } else {
            let groups = (0..n).into_par_iter().step_by(group).with_max_len(1);
            (groups.map(|first| (first, None)).fold(new, step).reduce(new, add), None)
        };
        // dW (FN, K) from dWᵀ (K, FN rounded up)
        let dw = (0..fn_ * k).map(|i| sums.dw_t[i % k * m_stride + i / k]).collect();
        let db = sums.db.clone();
        self.scratch.keep(sums);
        (dw, db, dx)
    }

    /// [`Convolution::backward_with`] by laying each image's windows out ([`Windows`]).
    /// Returns `dW` (in `W`'s layout), `db` and `dx`.
    fn backward_windows(&self, dout: &Array4<T>, want_dx: bool) -> (Vec<T>, Vec<T>, Option<Array4<T>>) {
        let windows = self.windows();
        let (fn_, k, p) = (self.w.dim().0, windows.taps(), windows.positions());
        let (x, dout_values, w_rows) =
            (self.x.as_slice().expect("row-major"), dout.as_slice().expect("row-major"), self.w_rows());
        let image = x.len() / self.x.dim().0.max(1);
        let new = || Gradients {
            dw: vec![T::zero(); fn_ * k],
            db: vec![T::zero(); fn_],
            col: vec![T::zero(); k * p],
        };
        // one image: dWᵀ += col · dout[n]ᵀ, db += Σ dout[n], and dx[n] = col2im(Wᵀ · dout[n])
        let step = |mut g: Gradients<T>, (n, dx): (usize, Option<&mut [T]>)| {
            let dout =
                ArrayView2::from_shape((fn_, p), &dout_values[n * fn_ * p..][..fn_ * p]).expect("FN·P");
            windows.im2col_image(&x[n * image..][..image], &mut g.col);
            let col = ArrayView2::from_shape((k, p), &g.col[..]).expect("K·P");
            // (K, FN): the columns multiplied as they lie, with no copy of them packed for gemm
            gemm_into(col, dout.t(), ArrayViewMut2::from_shape((k, fn_), &mut g.dw[..]).expect("K·FN"), true);
            g.db.iter_mut().zip(dout.rows()).for_each(|(db, row)| *db += row.sum());
            if let Some(dx) = dx {
                let dcol = ArrayViewMut2::from_shape((k, p), &mut g.col[..]).expect("K·P");
                gemm_into(w_rows.t(), dout, dcol, false);
                windows.col2im_image(&mut g.col, dx);
            }
            g
        };
        let add = |mut a: Gradients<T>, b: Gradients<T>| {
            a.dw.iter_mut().zip(&b.dw).for_each(|(a, &b)| *a += b);
            a.db.iter_mut().zip(&b.db).for_each(|(a, &b)| *a += b);
            a
        };
        // a core's share of the images a piece, split the same way every run: the sums are
        // added in the same order (see backward_shifted)
        let share = per_core(self.x.dim().0);
        let (gradients, dx) = if want_dx {
            let mut dx = zeros_par(self.x.raw_dim());
            let slices = dx.as_slice_mut().expect("new").par_chunks_mut(image.max(1));
            let slices = slices.with_min_len(share).with_max_len(share);
            let g = slices.enumerate().map(|(n, dx)| (n, Some(dx))).fold(new, step).reduce(new, add);
            (g, Some(dx))
        } else {
            let images = (0..self.x.dim().0).into_par_iter().with_min_len(share).with_max_len(share);
            (images.map(|n| (n, None)).fold(new, step).reduce(new, add), None)
        };
        let dw_t = ndarray::Array2::from_shape_vec((k, fn_), gradients.dw).expect("K·FN");
        (dw_t.t().as_standard_layout().into_owned().into_raw_vec_and_offset().0, gradients.db, dx)
    }

    /// The forward pass by shifted products: `out[n] = b + W · col`, with `col` read off the
    /// padded planes of image `n`, and the fused layers run on it (noting what they keep).
    fn forward_shifted(&self, planes: PaddedPlanes, kept: Kept<'_>) -> Array4<T> {
        let (n, fn_) = (self.x.dim().0, self.w.dim().0);
        let ((oh, ow), positions) = (planes.output(), planes.positions());
        let (lh, lw) = self.fused_output((oh, ow));
        let span = round_positions(positions);
        let w_rows = FilterRows::new(
            self.w.iter().copied().collect(),
            self.w.dim().2,
            planes.offsets(),
            planes.planes(),
        );
        let x = self.x.as_slice().expect("row-major");
        let image = x.len() / n.max(1);
        let b = self.b.to_vec();
        let kept = kept.per_image(n);
        let write = |out: &mut [MaybeUninit<T>]| {
            let images = out.par_chunks_mut((fn_ * lh * lw).max(1)).zip(x.par_chunks(image.max(1))).zip(kept);
            images.with_min_len(per_core(n)).for_each_init(
                || {
                    let zeros = |len| vec![T::zero(); len];
                    (zeros(planes.buffer_len(span)), zeros(fn_ * span), zeros(w_rows.scratch_len()))
                },
                |(buffer, grid, scratch), ((out, x), kept)| {
                    // the buffer starts as zeros, then holds planes of this layout
                    planes.refill(x, buffer);
                    w_rows.product(buffer, grid, span, scratch);
                    // out[n] = W · col + b, each filter's plane written whole (or pooled)
                    match kept {
                        Kept::Nothing => planes.write_outputs(grid, span, out, Some(&b), None),
                        Kept::Relu(blocked) => planes.write_outputs(grid, span, out, Some(&b), Some(blocked)),
                        Kept::Pooled(arg_max) => {
                            relu_max_pool_2x2(grid, (span, planes.line()), (oh, ow), &b, out, arg_max)
                        }
                    }
                },
            );
        };
        // SAFETY: the images' (FN, LH, LW) outputs tile the array, and write_outputs writes
        // every value of each (it asserts whole planes), as relu_max_pool_2x2 every window.
        unsafe { written(Dim([n, fn_, lh, lw]), write) }
    }

    /// The forward pass by laying each image's windows out ([`Windows`]), then the fused
    /// layers run on it.
    fn forward_windows(&self, kept: Kept<'_>) -> Array4<T> {
        let windows = self.windows();
        let (n, fn_) = (self.x.dim().0, self.w.dim().0);
        let (k, p, (oh, ow)) = (windows.taps(), windows.positions(), windows.output());
        let mut out = zeros_par(Dim([n, fn_, oh, ow]));
        let (x, w_rows, b) = (self.x.as_slice().expect("row-major"), self.w_rows(), &self.b);
        let image = x.len() / n.max(1);
        let images =
            out.as_slice_mut().expect("new").par_chunks_mut((fn_ * p).max(1)).zip(x.par_chunks(image.max(1)));
        images.with_min_len(per_core(n)).for_each_init(
            || vec![T::zero(); k * p],
            |col, (out, x)| {
                // out[n] = b + W · col: each row starts as its filter's bias
                out.chunks_mut(p.max(1)).zip(b).for_each(|(row, &b)| row.fill(b));
                windows.im2col_image(x, col);
                let col = ArrayView2::from_shape((k, p), &col[..]).expect("K·P");
                gemm_into(w_rows, col, ArrayViewMut2::from_shape((fn_, p), out).expect("FN·P"), true);
            },
        );
        match kept {
            Kept::Nothing => out,
            Kept::Relu(blocked) => {
                out.iter_mut().zip(blocked).for_each(|(v, blocked)| *v = rectify(*v, blocked));
                out
            }
            Kept::Pooled(arg_max) => {
                let (lh, lw) = self.fused_output((oh, ow));
                let (image, pooled_image) = (fn_ * oh * ow, fn_ * lh * lw);
                let no_bias = vec![T::zero(); fn_];
                let sums = out.as_slice().expect("new").chunks_exact(image.max(1));
                let write = |pooled: &mut [MaybeUninit<T>]| {
                    let images = pooled
                        .chunks_exact_mut(pooled_image.max(1))
                        .zip(arg_max.chunks_exact_mut(pooled_image.max(1)));
                    for ((pooled, arg_max), sums) in images.zip(sums) {
                        relu_max_pool_2x2(sums, (oh * ow, ow), (oh, ow), &no_bias, pooled, arg_max);
                    }
                };
                // SAFETY: the images tile the array, and relu_max_pool_2x2 writes every window
                unsafe { written(Dim([n, fn_, lh, lw]), write) }
            }
        }
    }
}

/// What the backward pass of the fused layers reads of what their forward pass kept.
#[derive(Clone, Copy)]
enum Unfuse<'a> {
    /// Where the ReLU blocked.
    Relu(&'a [bool]),
    /// The pooling's `arg_max`, and the convolution's `(OH, OW)`.
    Pooled(&'a [u32], (usize, usize)),
}

impl<'a> Unfuse<'a> {
    /// One value a value of the fused layers' output.
    fn len(&self) -> usize {
        match self {
            Unfuse::Relu(blocked) => blocked.len(),
            Unfuse::Pooled(arg_max, _) => arg_max.len(),
        }
    }

    /// What image `i` kept, for a `dout` of `d_image` values an image.
    fn image(self, i: usize, d_image: usize) -> Unfuse<'a> {
        match self {
            Unfuse::Relu(blocked) => Unfuse::Relu(&blocked[i * d_image..][..d_image]),
            Unfuse::Pooled(arg_max, output) => Unfuse::Pooled(&arg_max[i * d_image..][..d_image], output),
        }
    }

    /// The fused layers' backward passes on one image: the convolution's `dout` from theirs.
    fn backward<T: Float>(self, dout: &[T], conv_dout: &mut [T]) {
        match self {
            Unfuse::Relu(blocked) => clear_blocked(dout, blocked, conv_dout),
            Unfuse::Pooled(arg_max, output) => relu_max_pool_2x2_backward(dout, arg_max, output, conv_dout),
        }
    }
}

/// The book's `Relu` backward ([`pass_back`]) of `dout` into `cleared`.
fn clear_blocked<T: Float>(dout: &[T], blocked: &[bool], cleared: &mut [T]) {
    assert!(dout.len() == blocked.len() && dout.len() == cleared.len(), "clear_blocked: lengths");
    compiled_for(
        dispatch(),
        #[inline(always)]
        || {
            let values = cleared.iter_mut().zip(dout).zip(blocked);
            values.for_each(|((c, &d), &blocked)| *c = pass_back(d, blocked));
        },
    );
}

/// `rows[r, m] = planes[m, r]` for `planes: (M, P)` and `rows: (P, m_stride)`; the columns of
/// `rows` past `M` are left as they are. In `f32` with AVX2 (or AVX-512), 8x8 blocks at a time
/// in registers ([`transpose_planes_avx2`]); else, and for the edges, [`transpose_planes_plain`].
fn transpose_planes<T: Float>(planes: &[T], p: usize, rows: &mut [T], m_stride: usize) {
    transpose_planes_on(dispatch(), planes, p, rows, m_stride)
}

/// [`transpose_planes`] on a given instruction set (the tests hold each to the plain loop).
fn transpose_planes_on<T: Float>(isa: Isa, planes: &[T], p: usize, rows: &mut [T], m_stride: usize) {
    let m = planes.len() / p.max(1);
    assert!(m <= m_stride && rows.len() >= p * m_stride, "transpose_planes: rows too small");
    match (isa, T::as_f32s(planes)) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2 | Isa::Avx512, Some(planes)) => {
            let rows = T::as_f32s_mut(rows).expect("f32 as the planes are");
            // SAFETY: dispatch() (or the test, from Isa::available) found avx2 on this CPU
            let (m8, p8) = unsafe { transpose_planes_avx2(planes, p, rows, m_stride) };
            // the edges: the last M % 8 planes whole, and the last P % 8 positions of the rest
            transpose_planes_plain(planes, p, (m8..m, 0..p), rows, m_stride);
            transpose_planes_plain(planes, p, (0..m8, p8..p), rows, m_stride);
        }
        _ => transpose_planes_plain(planes, p, (0..m, 0..p), rows, m_stride),
    }
}

/// The plain loop of [`transpose_planes`], for planes `ms` and positions `rs`. In tiles of 16
/// positions, so that the rows being written stay in L1 while every plane is read: a plain loop
/// either way strides through memory a cache line a value.
fn transpose_planes_plain<T: Copy>(
    planes: &[T],
    p: usize,
    (ms, rs): (Range<usize>, Range<usize>),
    rows: &mut [T],
    m_stride: usize,
) {
    for first in rs.clone().step_by(16) {
        let tile = first..(first + 16).min(rs.end);
        for m in ms.clone() {
            let plane = &planes[m * p..][..p];
            for r in tile.clone() {
                rows[r * m_stride + m] = plane[r];
            }
        }
    }
}

/// The 8x8 blocks of [`transpose_planes`] for `f32`, each transposed in registers; returns how
/// many planes and positions the blocks covered (`M` and `P` rounded down to 8).
///
/// # Safety
/// The CPU must have AVX2; `planes` must hold whole planes of `p` values and `rows` `p` rows of
/// `m_stride >= M` values (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose_planes_avx2(
    planes: &[f32],
    p: usize,
    rows: &mut [f32],
    m_stride: usize,
) -> (usize, usize) {
    use std::arch::x86_64::*;
    let m = planes.len() / p.max(1);
    let (m8, p8) = (m / 8 * 8, p / 8 * 8);
    for m0 in (0..m8).step_by(8) {
        for r0 in (0..p8).step_by(8) {
            // SAFETY: rows m0..m0 + 8 of planes, positions r0..r0 + 8, exist (m0 + 8 <= M,
            // r0 + 8 <= P); so do rows r0..r0 + 8 of rows, columns m0..m0 + 8 (m_stride >= M)
            unsafe {
                let from = planes.as_ptr().add(m0 * p + r0);
                let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(from.add(i * p)));
                let t0 = _mm256_unpacklo_ps(r[0], r[1]);
                let t1 = _mm256_unpackhi_ps(r[0], r[1]);
                let t2 = _mm256_unpacklo_ps(r[2], r[3]);
                let t3 = _mm256_unpackhi_ps(r[2], r[3]);
                let t4 = _mm256_unpacklo_ps(r[4], r[5]);
                let t5 = _mm256_unpackhi_ps(r[4], r[5]);
                let t6 = _mm256_unpacklo_ps(r[6], r[7]);
                let t7 = _mm256_unpackhi_ps(r[6], r[7]);
                let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let columns = [
                    _mm256_permute2f128_ps::<0x20>(s0, s4),
                    _mm256_permute2f128_ps::<0x20>(s1, s5),
                    _mm256_permute2f128_ps::<0x20>(s2, s6),
                    _mm256_permute2f128_ps::<0x20>(s3, s7),
                    _mm256_permute2f128_ps::<0x31>(s0, s4),
                    _mm256_permute2f128_ps::<0x31>(s1, s5),
                    _mm256_permute2f128_ps::<0x31>(s2, s6),
                    _mm256_permute2f128_ps::<0x31>(s3, s7),
                ];
                let to = rows.as_mut_ptr().add(r0 * m_stride + m0);
                for (i, column) in columns.into_iter().enumerate() {
                    _mm256_storeu_ps(to.add(i * m_stride), column);
                }
            }
        }
    }
    (m8, p8)
}

/// The bytes of padded planes and `dout` rows a core keeps at a time in the shifted backward
/// pass: about what its L2 cache holds (512 KB a core on the AMD EPYC of the first measurements,
/// 2 MB on the Xeon).
const GROUP_BYTES: usize = 512 << 10;

/// One core's share of the weight gradients, and its scratch buffers, for the shifted path.
struct Scratch<T> {
    /// The layouts of `planes` (each image's) and `back`, whose padding stays zeros.
    layouts: (PaddedPlanes, PaddedPlanes),
    dw_t: Vec<T>,
    db: Vec<T>,
    planes: Vec<T>,
    rows: Vec<T>,
    back: Vec<T>,
    back_grid: Vec<T>,
    /// One image's `dout` after the fused layers' backward passes.
    dout: Vec<T>,
    /// The scratch of the `dx` product's filters ([`FilterRows::scratch_len`]).
    filter_scratch: Vec<T>,
}

impl<T: Float> Scratch<T> {
    /// Zeros of the given lengths, in the order of the fields, for planes of these layouts.
    fn new(
        [dw_t, db, planes, rows, back, back_grid, dout, filter_scratch]: [usize; 8],
        layouts: (PaddedPlanes, PaddedPlanes),
    ) -> Self {
        let zeros = |len| vec![T::zero(); len];
        Scratch {
            layouts,
            dw_t: zeros(dw_t),
            db: zeros(db),
            planes: zeros(planes),
            rows: zeros(rows),
            back: zeros(back),
            back_grid: zeros(back_grid),
            dout: zeros(dout),
            filter_scratch: zeros(filter_scratch),
        }
    }

    /// The lengths of the fields, in their order.
    fn lengths(&self) -> [usize; 8] {
        let fields = [
            &self.dw_t,
            &self.db,
            &self.planes,
            &self.rows,
            &self.back,
            &self.back_grid,
            &self.dout,
            &self.filter_scratch,
        ];
        fields.map(Vec::len)
    }
}

/// The scratch of the shifted backward pass, kept from one batch to the next: setting up and
/// clearing megabytes of it for each piece of work took 3% of a DeepConvNet step. Only the sums
/// are cleared for reuse; what else a piece reads it writes first, but for the columns of `rows`
/// past `FN` and the padding of the planes, which nothing writes: zeros from the start.
#[derive(Default)]
struct ScratchPool<T>(std::sync::Mutex<Vec<Scratch<T>>>);

impl<T: Float> ScratchPool<T> {
    /// A kept scratch with these lengths and layouts, its sums cleared.
    fn take(&self, lengths: [usize; 8], layouts: (PaddedPlanes, PaddedPlanes)) -> Option<Scratch<T>> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let at = kept.iter().position(|g| g.lengths() == lengths && g.layouts == layouts)?;
        let mut g = kept.swap_remove(at);
        g.dw_t.fill(T::zero());
        g.db.fill(T::zero());
        Some(g)
    }

    /// Keeps `g` for the next batch (a few at most: one for each piece of work).
    fn keep(&self, g: Scratch<T>) {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() < KEPT_SCRATCH {
            kept.push(g);
        }
    }
}

/// The scratch a layer keeps at most: more than the pieces of work rayon makes of a batch.
const KEPT_SCRATCH: usize = 64;

impl<T> Clone for ScratchPool<T> {
    /// A copy of a layer starts with no scratch of its own.
    fn clone(&self) -> Self {
        ScratchPool(Default::default())
    }
}

impl<T> std::fmt::Debug for ScratchPool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScratchPool")
    }
}

impl<T: Float> Layer<T> for Convolution<T> {
    fn name(&self) -> &'static str {
        "Convolution"
    }

    /// **Panics** if `x` is not `(N, C, H, W)` with `W`'s channels, or a filter does not fit.
    fn forward(&mut self, x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        let x = x
            .into_dimensionality::<Ix4>()
            .unwrap_or_else(|x| panic!("Convolution::forward: expected (N, C, H, W), got {x:?}"));
        let c = x.dim().1;
        let wc = self.w.dim().1;
        assert_eq!(c, wc, "Convolution::forward: input has {c} channels, the filters {wc}");
        self.x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
        // what the fused layers keep, every value written: the last batch's reused when it fits
        let (mut blocked, mut arg_max) =
            (std::mem::take(&mut self.relu_blocked), std::mem::take(&mut self.arg_max));
        let (lh, lw) = self.fused_output(self.windows().output());
        let outputs = self.x.dim().0 * self.w.dim().0 * lh * lw;
        let kept = match self.fused {
            Fused::Nothing => Kept::Nothing,
            Fused::Relu => {
                blocked.resize(outputs, false);
                Kept::Relu(&mut blocked)
            }
            Fused::ReluAndPooling => {
                arg_max.resize(outputs, 0);
                Kept::Pooled(&mut arg_max)
            }
        };
        let out = match self.padded_planes() {
            Some(planes) => self.forward_shifted(planes, kept),
            None => self.forward_windows(kept),
        };
        (self.relu_blocked, self.arg_max) = (blocked, arg_max);
        out.into_dyn()
    }

    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        self.backward_with(dout, true).expect("dx was asked for").into_dyn()
    }

    fn backward_params(&mut self, dout: ArrayD<T>) {
        self.backward_with(dout, false);
    }

    fn params(&mut self) -> Vec<Param<'_, T>> {
        vec![
            Param::new("W", self.w.view_mut().into_dyn(), self.dw.view_mut().into_dyn()),
            Param::new("b", self.b.view_mut().into_dyn(), self.db.view_mut().into_dyn()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set this CPU has gives the plain loop's rows, for planes and positions
    /// that are and are not multiples of the 8x8 blocks, and leaves the columns past `M` alone.
    #[test]
    fn transpose_planes_gives_the_plain_loop_s_rows_on_every_instruction_set() {
        for isa in Isa::available() {
            for (m, p) in
                [(1usize, 1usize), (7, 9), (8, 8), (16, 576), (30, 576), (32, 196), (64, 64), (13, 17)]
            {
                let m_stride = m.div_ceil(16) * 16;
                let planes: Vec<f32> = (0..m * p).map(|i| i as f32).collect();
                let mut got = vec![-1.0f32; p * m_stride];
                transpose_planes_on(isa, &planes, p, &mut got, m_stride);
                let mut want = vec![-1.0f32; p * m_stride];
                for (mi, plane) in planes.chunks_exact(p).enumerate() {
                    for (r, &v) in plane.iter().enumerate() {
                        want[r * m_stride + mi] = v;
                    }
                }
                assert_eq!(got, want, "{isa:?} M={m} P={p}");
            }
        }
    }
}
