//! `BatchNormalization` (chapter 6): each feature normalised over the batch, then scaled and
//! shifted by learned `γ`, `β`.
//!
//! ```text
//! train:    μ = mean(x), σ² = mean((x - μ)²), x̂ = (x - μ) / √(σ² + 1e-6), y = γ·x̂ + β
//!           running_mean ← m·running_mean + (1 - m)·μ, the same for running_var (m = 0.9)
//! test:     x̂ = (x - running_mean) / √(running_var + 1e-6)
//! backward: dβ = Σ dy, dγ = Σ x̂·dy, then through x̂ to x as the book derives it
//! ```
//!
//! Input `(N, D)` is normalised per feature; feature maps `(N, C, H, W)` per channel, over the
//! batch and every position (as PyTorch's `BatchNorm2d`; the book's code flattens them into
//! `C·H·W` features instead).

use ndarray::{Array1, Array2, ArrayD, Axis, IxDyn};

use super::{Layer, Param};
use crate::Float;

/// The book's `10e-7` added to the variance.
const EPS: f64 = 1e-6;

/// Batch normalisation with learned scale `gamma` and shift `beta`.
#[derive(Debug, Clone)]
pub struct BatchNormalization<T> {
    /// The scale `γ`, one per feature or channel.
    pub gamma: Array1<T>,
    /// The shift `β`.
    pub beta: Array1<T>,
    /// `∂L/∂γ` from the last backward.
    pub dgamma: Array1<T>,
    /// `∂L/∂β` from the last backward.
    pub dbeta: Array1<T>,
    /// The share of the running statistics kept at each training step.
    pub momentum: f64,
    /// The mean used at test time.
    pub running_mean: Array1<T>,
    /// The variance used at test time.
    pub running_var: Array1<T>,
    /// The last training input, centred, as rows `(M, features)`.
    xc: Array2<T>,
    /// The last training input, normalised.
    xn: Array2<T>,
    /// `√(σ² + ε)` of the last training batch.
    std: Array1<T>,
    /// The last input's shape.
    input_shape: Vec<usize>,
}

impl<T: Float> BatchNormalization<T> {
    /// `ε`, added to the variance before its square root (the book's `10e-7`).
    pub const EPS: f64 = EPS;

    /// Batch normalisation of `features` features (or channels): `γ = 1`, `β = 0`, running
    /// mean and variance 0, momentum 0.9 (the book's: its `running_var` starts at `zeros(D)`,
    /// so a network never trained divides by `√1e-6` at test time).
    pub fn new(features: usize) -> Self {
        BatchNormalization {
            gamma: Array1::ones(features),
            beta: Array1::zeros(features),
            dgamma: Array1::zeros(features),
            dbeta: Array1::zeros(features),
            momentum: 0.9,
            running_mean: Array1::zeros(features),
            running_var: Array1::zeros(features),
            xc: Array2::zeros((0, features)),
            xn: Array2::zeros((0, features)),
            std: Array1::zeros(features),
            input_shape: Vec::new(),
        }
    }

    fn features(&self) -> usize {
        self.gamma.len()
    }
}

/// `x` as rows of features: `(N, D)` as it is, `(N, C, H, W)` as `(N·H·W, C)`.
fn to_rows<T: Float>(x: ArrayD<T>) -> Array2<T> {
    if x.ndim() == 4 {
        let c = x.shape()[1];
        let rows = x.len() / c.max(1);
        let channels_last = x.permuted_axes(IxDyn(&[0, 2, 3, 1]));
        channels_last
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((rows, c))
            .expect("N·H·W rows of C")
    } else {
        let n = x.shape()[0];
        let d = x.len() / n.max(1);
        x.as_standard_layout().into_owned().into_shape_with_order((n, d)).expect("N rows")
    }
}

/// The inverse of [`to_rows`] for an input of `shape`.
fn from_rows<T: Float>(rows: Array2<T>, shape: &[usize]) -> ArrayD<T> {
    if shape.len() == 4 {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        let channels_last = rows.into_shape_with_order(IxDyn(&[n, h, w, c])).expect("rows of C");
        channels_last.permuted_axes(IxDyn(&[0, 3, 1, 2])).as_standard_layout().into_owned()
    } else {
        rows.into_shape_with_order(IxDyn(shape)).expect("the input's size")
    }
}

impl<T: Float> Layer<T> for BatchNormalization<T> {
    fn name(&self) -> &'static str {
        "BatchNormalization"
    }

    /// **Panics** if the input has not `features` values per sample (or channels per map).
    fn forward(&mut self, x: ArrayD<T>, train: bool) -> ArrayD<T> {
        let features = if x.ndim() == 4 { x.shape()[1] } else { x.len() / x.shape()[0].max(1) };
        assert_eq!(
            features,
            self.features(),
            "BatchNormalization: expected {} features, got input {:?}",
            self.features(),
            x.shape()
        );
        self.input_shape = x.shape().to_vec();
        let x = to_rows(x);
        let eps = T::from_f64(EPS);
        let (xc, std) = if train {
            let rows = T::from_f64(x.nrows().max(1) as f64);
            let mu = x.sum_axis(Axis(0)) / rows;
            let xc = &x - &mu;
            let var = xc.mapv(|v| v * v).sum_axis(Axis(0)) / rows;
            let m = T::from_f64(self.momentum);
            self.running_mean = &self.running_mean * m + &mu * (T::one() - m);
            self.running_var = &self.running_var * m + &var * (T::one() - m);
            (xc, var.mapv(|v| (v + eps).sqrt()))
        } else {
            (&x - &self.running_mean, self.running_var.mapv(|v| (v + eps).sqrt()))
        };
        let xn = &xc / &std;
        let out = &xn * &self.gamma + &self.beta;
        if train {
            (self.xc, self.xn, self.std) = (xc, xn, std);
        }
        from_rows(out, &self.input_shape)
    }

    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        let dout = to_rows(dout);
        assert_eq!(
            dout.dim(),
            self.xn.dim(),
            "BatchNormalization::backward: dout does not match the forward input"
        );
        let rows = T::from_f64(dout.nrows().max(1) as f64);
        // the book's derivation, step by step
        self.dbeta = dout.sum_axis(Axis(0));
        self.dgamma = (&self.xn * &dout).sum_axis(Axis(0));
        let dxn = &dout * &self.gamma;
        let mut dxc = &dxn / &self.std;
        let dstd = -((&dxn * &self.xc) / (&self.std * &self.std)).sum_axis(Axis(0));
        let dvar = dstd * T::from_f64(0.5) / &self.std;
        dxc = dxc + &self.xc * &(dvar * (T::from_f64(2.0) / rows));
        let dmu = dxc.sum_axis(Axis(0));
        let dx = dxc - &(dmu / rows);
        from_rows(dx, &self.input_shape)
    }

    fn params(&mut self) -> Vec<Param<'_, T>> {
        vec![
            Param::new("gamma", self.gamma.view_mut().into_dyn(), self.dgamma.view_mut().into_dyn()),
            Param::new("beta", self.beta.view_mut().into_dyn(), self.dbeta.view_mut().into_dyn()),
        ]
    }

    fn state(&mut self) -> Vec<(String, ndarray::ArrayViewMutD<'_, T>)> {
        vec![
            ("gamma".into(), self.gamma.view_mut().into_dyn()),
            ("beta".into(), self.beta.view_mut().into_dyn()),
            ("running_mean".into(), self.running_mean.view_mut().into_dyn()),
            ("running_var".into(), self.running_var.view_mut().into_dyn()),
        ]
    }
}
