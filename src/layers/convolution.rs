//! `Convolution` (chapter 7): filters `W: (FN, C, FH, FW)` slid over `x: (N, C, H, W)` with
//! a stride and zero padding, plus a bias per filter, as one matrix product:
//!
//! ```text
//! forward:  col = im2col(x): (N·OH·OW, C·FH·FW);  out = col · Wᵀ + b: (N·OH·OW, FN) -> (N, FN, OH, OW)
//! backward: dout -> (N·OH·OW, FN);  db = Σ dout;  dW = colᵀ · dout;  dx = col2im(dout · W)
//! ```
//!
//! `W` has the book's and PyTorch's layout. The columns are kept as an [`Operand`]: the
//! windows of MNIST's images are mostly zeros, and both products skip them.

use ndarray::{Array1, Array2, Array4, ArrayD, Axis, Ix4};

use super::im2col::{col2im, im2col, output_size};
use super::{Layer, Param};
use crate::Float;
use crate::matmul::{Operand, matmul};

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
    /// The last input's windows as rows.
    col: Operand<T>,
    /// The last input's shape.
    x_shape: (usize, usize, usize, usize),
}

impl<T: Float> Convolution<T> {
    /// A convolution with filters `w: (FN, C, FH, FW)`, bias `b: (FN,)`, `stride` and `pad`.
    ///
    /// **Panics** if `b` does not have one value per filter or `stride` is 0.
    pub fn new(w: Array4<T>, b: Array1<T>, stride: usize, pad: usize) -> Self {
        assert_eq!(b.len(), w.dim().0, "Convolution::new: {} biases for {} filters", b.len(), w.dim().0);
        assert!(stride > 0, "Convolution::new: the stride must be at least 1");
        let k = w.len() / w.dim().0.max(1);
        Convolution {
            dw: Array4::zeros(w.raw_dim()),
            db: Array1::zeros(b.raw_dim()),
            col: Operand::empty(k),
            x_shape: (0, 0, 0, 0),
            stride,
            pad,
            w,
            b,
        }
    }

    fn filter(&self) -> (usize, usize) {
        (self.w.dim().2, self.w.dim().3)
    }

    /// `W` as `(FN, C·FH·FW)`: one filter per row.
    fn w_rows(&self) -> Array2<T> {
        let fn_ = self.w.dim().0;
        self.w
            .view()
            .into_shape_with_order((fn_, self.w.len() / fn_.max(1)))
            .expect("W is contiguous")
            .to_owned()
    }

    /// `dout: (N, FN, OH, OW)` as rows `(N·OH·OW, FN)`.
    fn dout_rows(&self, dout: ArrayD<T>) -> Array2<T> {
        let dout =
            dout.into_dimensionality::<Ix4>().expect("Convolution::backward: dout must be (N, FN, OH, OW)");
        let fn_ = dout.dim().1;
        let rows = dout.len() / fn_.max(1);
        dout.permuted_axes([0, 2, 3, 1])
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((rows, fn_))
            .expect("rows")
    }

    fn backward_weights(&mut self, dout: &Array2<T>) {
        // dW = colᵀ·dout: (C·FH·FW, FN), laid out as W: (FN, C, FH, FW)
        let mut dw_t = Array2::zeros((self.w.len() / self.w.dim().0.max(1), dout.ncols()));
        self.col.t_dot_into(dout.view(), dw_t.view_mut());
        self.dw = dw_t
            .reversed_axes()
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(self.w.raw_dim())
            .expect("FN·C·FH·FW");
        self.db = dout.sum_axis(Axis(0));
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
        let (n, c, h, w) = x.dim();
        let (fn_, wc, fh, fw) = self.w.dim();
        assert_eq!(c, wc, "Convolution::forward: input has {c} channels, the filters {wc}");
        let (oh, ow) = (output_size(h, fh, self.stride, self.pad), output_size(w, fw, self.stride, self.pad));
        self.x_shape = (n, c, h, w);
        self.col.set(im2col(x.view(), (fh, fw), self.stride, self.pad));
        // out = col · Wᵀ + b
        let mut out = self.col.dot(self.w_rows().t());
        out += &self.b;
        let out = out.into_shape_with_order((n, oh, ow, fn_)).expect("N·OH·OW rows");
        out.permuted_axes([0, 3, 1, 2]).as_standard_layout().into_owned().into_dyn()
    }

    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        let dout = self.dout_rows(dout);
        self.backward_weights(&dout);
        // dx = col2im(dout · W)
        let dcol = matmul(dout.view(), self.w_rows().view());
        col2im(&dcol, self.x_shape, self.filter(), self.stride, self.pad).into_dyn()
    }

    fn backward_params(&mut self, dout: ArrayD<T>) {
        let dout = self.dout_rows(dout);
        self.backward_weights(&dout);
    }

    fn params(&mut self) -> Vec<Param<'_, T>> {
        vec![
            Param::new("W", self.w.view_mut().into_dyn(), self.dw.view_mut().into_dyn()),
            Param::new("b", self.b.view_mut().into_dyn(), self.db.view_mut().into_dyn()),
        ]
    }
}
