//! `Convolution` (chapter 7): filters `W: (FN, C, FH, FW)` slid over `x: (N, C, H, W)` with
//! a stride and zero padding, plus a bias per filter, as one matrix product per image:
//!
//! ```text
//! forward:  col = im2col(x[n]): (C·FH·FW, OH·OW);  out[n] = W · col + b: (FN, OH·OW)
//! backward: dWᵀ = Σn col · dout[n]ᵀ;  db = Σn Σ dout[n];  dx[n] = col2im(Wᵀ · dout[n])
//! ```
//!
//! `W` has the book's and PyTorch's layout, seen as `(FN, C·FH·FW)`. The book lays the
//! windows of the whole batch out at once (`im2col`, kept as the reference); here each image's
//! windows ([`Windows`]) are laid out, multiplied and dropped while they are in the cache,
//! and laid out again in backward from the kept input: that costs less than storing them
//! (tens of MB for a batch of DeepConvNet), and the images are shared out between the cores.

use ndarray::{Array1, Array4, ArrayD, ArrayView2, ArrayViewMut2, Ix4};
use rayon::prelude::*;

use super::im2col::Windows;
use super::{Layer, Param, per_core};
use crate::Float;
use crate::matmul::gemm_into;

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
    /// The last input, `(N, C, H, W)` in row-major order.
    x: Array4<T>,
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
            stride,
            pad,
            w,
            b,
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

    /// Fills `dw`, `db` and, when asked for, returns `dx`.
    fn backward_with(&mut self, dout: ArrayD<T>, want_dx: bool) -> Option<Array4<T>> {
        let dout =
            dout.into_dimensionality::<Ix4>().expect("Convolution::backward: dout must be (N, FN, OH, OW)");
        let dout = if dout.is_standard_layout() { dout } else { dout.as_standard_layout().into_owned() };
        let windows = self.windows();
        let (fn_, k, p) = (self.w.dim().0, windows.taps(), windows.positions());
        assert_eq!(
            dout.dim(),
            (self.x.dim().0, fn_, windows.output().0, windows.output().1),
            "Convolution::backward: dout"
        );
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
        let (gradients, dx) = if want_dx {
            let mut dx = Array4::zeros(self.x.raw_dim());
            let slices = dx.as_slice_mut().expect("new").par_chunks_mut(image.max(1));
            let slices = slices.with_min_len(per_core(self.x.dim().0));
            let g = slices.enumerate().map(|(n, dx)| (n, Some(dx))).fold(new, step).reduce(new, add);
            (g, Some(dx))
        } else {
            let images = (0..self.x.dim().0).into_par_iter().with_min_len(per_core(self.x.dim().0));
            (images.map(|n| (n, None)).fold(new, step).reduce(new, add), None)
        };
        let dw_t = ndarray::Array2::from_shape_vec((k, fn_), gradients.dw).expect("K·FN");
        self.dw = dw_t
            .t()
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(self.w.raw_dim())
            .expect("FN·C·FH·FW");
        self.db = Array1::from(gradients.db);
        dx
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
        let (n, c, _, _) = x.dim();
        let (fn_, wc, _, _) = self.w.dim();
        assert_eq!(c, wc, "Convolution::forward: input has {c} channels, the filters {wc}");
        self.x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
        let windows = self.windows();
        let (k, p, (oh, ow)) = (windows.taps(), windows.positions(), windows.output());
        let mut out = Array4::zeros((n, fn_, oh, ow));
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
