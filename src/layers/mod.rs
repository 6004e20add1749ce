//! Layers with the book's forward/backward design (chapter 5).
//!
//! Every layer keeps what its backward pass needs (`mask`, `out`, `x`) during `forward`, and
//! `backward(dout)` returns `dx` and fills the gradients of its parameters (`dw`, `db`).
//! Arrays move through by value, as in the book's NumPy code where `backward` may reuse `dout`.

mod affine;
mod cross_entropy_error;
mod mean_squared_error;
mod relu;
mod sigmoid;
mod softmax;
mod softmax_with_loss;

pub use affine::Affine;
pub use cross_entropy_error::CrossEntropyError;
pub use mean_squared_error::MeanSquaredError;
pub use relu::Relu;
pub use sigmoid::Sigmoid;
pub use softmax::Softmax;
pub use softmax_with_loss::SoftmaxWithLoss;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::Float;
use crate::targets::Targets;

/// A layer of a network: forward, backward, and its parameters with their gradients.
pub trait Layer<T: Float>: Send {
    /// The layer's name as the book writes it (`"Affine"`, `"Relu"`).
    fn name(&self) -> &'static str;

    /// Computes the output for `x`, keeping what `backward` needs. `train` selects the
    /// training behaviour of layers that have one (dropout, batch normalisation).
    fn forward(&mut self, x: ArrayD<T>, train: bool) -> ArrayD<T>;

    /// Given `dout = ∂L/∂out`, fills the parameter gradients and returns `dx = ∂L/∂x`.
    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T>;

    /// The layer's parameters with their gradients, under the layer's own names (`"W"`,
    /// `"b"`); a network numbers them (`W1`, `b1` ...). Layers without parameters have none.
    fn params(&mut self) -> Vec<Param<'_, T>> {
        Vec::new()
    }
}

/// The last layer of a network: takes the scores and the targets and gives the loss.
pub trait LossLayer<T: Float>: Send {
    /// The layer's name as the book writes it (`"SoftmaxWithLoss"`).
    fn name(&self) -> &'static str;

    /// The loss of outputs `x: (N, C)` against targets `t`.
    ///
    /// **Panics** if `t` does not fit `x`; networks check targets first and return an error.
    fn forward(&mut self, x: ArrayD<T>, t: Targets<'_, T>) -> T;

    /// `dx = ∂L/∂x` for the last forward (the book's `backward(dout=1)`).
    fn backward(&mut self) -> ArrayD<T>;

    /// The output the loss was computed on: probabilities for softmax, `x` itself for the
    /// identity output of a regression.
    fn output(&self, x: ArrayD<T>) -> ArrayD<T>;
}

/// One parameter of a layer and its gradient.
pub struct Param<'a, T> {
    /// The name: the layer's own (`"W"`), or numbered by the network (`"W1"`).
    pub name: String,
    /// The parameter's values; optimizers update them in place.
    pub value: ArrayViewMutD<'a, T>,
    /// The gradient filled by the last `backward`.
    pub grad: ArrayViewD<'a, T>,
}

impl<'a, T> Param<'a, T> {
    /// A parameter named `name` with its gradient.
    pub fn new(name: &str, value: ArrayViewMutD<'a, T>, grad: ArrayViewD<'a, T>) -> Self {
        Param { name: name.to_string(), value, grad }
    }
}
