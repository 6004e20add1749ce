//! `Affine`: the fully connected layer, `y = x·W + b`.
//!
//! ```text
//! forward:  x: (N, D) (any (N, ...) is flattened to (N, D)), W: (D, M), b: (M,) -> y: (N, M)
//! backward: dx = dout·Wᵀ (reshaped back to x's shape), dW = xᵀ·dout, db = Σ_N dout
//! ```
//!
//! `x` is kept as a [`Operand`]: when it is mostly zeros (MNIST's pixels), its nonzeros are
//! found once in the forward pass and both `x·W` and `xᵀ·dout` skip the zeros.

use ndarray::{Array1, Array2, ArrayD, Axis, Ix2};

use super::{Input, Layer, Param};
use crate::Float;
use crate::matmul::{Operand, matmul};

/// The fully connected layer of the book, with weights `w` (the book's `W`) and bias `b`.
#[derive(Debug, Clone)]
pub struct Affine<T> {
    /// Weights `W: (D, M)`.
    pub w: Array2<T>,
    /// Bias `b: (M,)`.
    pub b: Array1<T>,
    /// `∂L/∂W` from the last backward.
    pub dw: Array2<T>,
    /// `∂L/∂b` from the last backward.
    pub db: Array1<T>,
    /// The last input, flattened to `(N, D)` (with its nonzeros, when it is sparse).
    x: Operand<T>,
    /// The last input's shape, restored on `dx`.
    original_x_shape: Vec<usize>,
}

impl<T: Float> Affine<T> {
    /// An affine layer with the given weights `w: (D, M)` and bias `b: (M,)`.
    ///
    /// **Panics** if `b.len() != w.ncols()`.
    pub fn new(w: Array2<T>, b: Array1<T>) -> Self {
        assert_eq!(
            b.len(),
            w.ncols(),
            "Affine::new: b has {} entries but W has {} columns",
            b.len(),
            w.ncols()
        );
        Affine {
            dw: Array2::zeros(w.raw_dim()),
            db: Array1::zeros(b.raw_dim()),
            x: Operand::empty(w.nrows()),
            original_x_shape: Vec::new(),
            w,
            b,
        }
    }

    /// The input width `D` this layer expects.
    pub fn input_size(&self) -> usize {
        self.w.nrows()
    }

    /// The output width `M`.
    pub fn output_size(&self) -> usize {
        self.w.ncols()
    }
}

impl<T: Float> Layer<T> for Affine<T> {
    fn name(&self) -> &'static str {
        "Affine"
    }

    /// **Panics** if `x` is not `(N, ...)` with `D` values per sample.
    fn forward(&mut self, x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        let n = x.shape().first().copied().unwrap_or(0);
        let d = if x.ndim() >= 2 { x.len() / n.max(1) } else { usize::MAX };
        assert!(
            x.ndim() >= 2 && d == self.input_size(),
            "Affine::forward: expected input (N, {}) or (N, ...) with {} values per sample, got {:?}",
            self.input_size(),
            self.input_size(),
            x.shape()
        );
        self.original_x_shape = x.shape().to_vec();
        // x: (N, ...) -> (N, D), without a copy when x is already in row-major order
        let x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
        self.x.set(x.into_shape_with_order((n, d)).expect("standard layout"), self.output_size());
        let mut out = self.x.dot(self.w.view());
        out += &self.b;
        out.into_dyn()
    }

    /// Sparse rows go straight to the zero-skipping products, without a dense copy.
    fn forward_input(&mut self, x: Input<T>, train: bool) -> ArrayD<T> {
        match x {
            Input::Dense(x) => self.forward(x, train),
            Input::Sparse(rows) => {
                let (n, d) = rows.dim();
                assert_eq!(
                    d,
                    self.input_size(),
                    "Affine::forward: expected input (N, {}), got ({n}, {d})",
                    self.input_size()
                );
                self.original_x_shape = vec![n, d];
                self.x.set_sparse(rows);
                let mut out = self.x.dot(self.w.view());
                out += &self.b;
                out.into_dyn()
            }
        }
    }

    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        let dout = dout.into_dimensionality::<Ix2>().expect("Affine::backward: dout must be (N, M)");
        assert_eq!(dout.dim(), (self.x.rows(), self.output_size()), "Affine::backward: dout shape");
        // dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_N dout
        let dx = matmul(dout.view(), self.w.t());
        self.backward_params(dout.into_dyn());
        dx.into_shape_with_order(self.original_x_shape.as_slice()).expect("dx has x's size")
    }

    fn backward_params(&mut self, dout: ArrayD<T>) {
        let dout = dout.into_dimensionality::<Ix2>().expect("Affine::backward: dout must be (N, M)");
        assert_eq!(dout.dim(), (self.x.rows(), self.output_size()), "Affine::backward: dout shape");
        // dW = xᵀ·dout, db = Σ_N dout (into the buffers of the last step)
        self.x.t_dot_into(dout.view(), self.dw.view_mut());
        self.db = dout.sum_axis(Axis(0));
    }

    fn params(&mut self) -> Vec<Param<'_, T>> {
        vec![
            Param::new("W", self.w.view_mut().into_dyn(), self.dw.view_mut().into_dyn()),
            Param::new("b", self.b.view_mut().into_dyn(), self.db.view_mut().into_dyn()),
        ]
    }
}
