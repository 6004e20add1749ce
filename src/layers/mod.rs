//! Layers with the book's forward/backward design (chapter 5).
//!
//! Every layer keeps what its backward pass needs (`mask`, `out`, `x`) during `forward`, and
//! `backward(dout)` returns `dx` and fills the gradients of its parameters (`dw`, `db`).
//! Arrays move through by value, as in the book's NumPy code where `backward` may reuse `dout`.

mod affine;
mod batch_normalization;
mod convolution;
mod cross_entropy_error;
mod dropout;
pub mod im2col;
mod mean_squared_error;
pub mod naive;
mod pooling;
mod relu;
mod sigmoid;
mod softmax;
mod softmax_with_loss;

pub use affine::Affine;
pub use batch_normalization::BatchNormalization;
pub use convolution::{Convolution, Fused};
pub use cross_entropy_error::CrossEntropyError;
pub use dropout::{Dropout, DropoutMode};
pub use mean_squared_error::MeanSquaredError;
pub use pooling::{Pooling, PoolingKind};
pub use relu::Relu;
pub use sigmoid::Sigmoid;
pub use softmax::Softmax;
pub use softmax_with_loss::SoftmaxWithLoss;

use ndarray::{ArrayD, ArrayViewMutD};

use crate::matmul::SparseRows;
use crate::targets::Targets;
use crate::{Float, SeededRng};

/// A layer of a network: forward, backward, and its parameters with their gradients.
pub trait Layer<T: Float>: Send {
    /// The layer's name as the book writes it (`"Affine"`, `"Relu"`).
    fn name(&self) -> &'static str;

    /// Computes the output for `x`, keeping what `backward` needs. `train` selects the
    /// training behaviour of layers that have one (dropout, batch normalisation).
    fn forward(&mut self, x: ArrayD<T>, train: bool) -> ArrayD<T>;

    /// [`Layer::forward`] for an input that may come as sparse rows (a batch of MNIST pixels,
    /// 81% zeros, straight from the data set). Layers that can use the nonzeros directly
    /// (`Affine`) do; the rest see the dense array.
    fn forward_input(&mut self, x: Input<T>, train: bool) -> ArrayD<T> {
        self.forward(x.into_dense(), train)
    }

    /// Given `dout = ∂L/∂out`, fills the parameter gradients and returns `dx = ∂L/∂x`.
    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T>;

    /// Fills the parameter gradients only. A network's first layer needs no `dx` (nothing
    /// comes before it), and for `Affine` on MNIST that `dx` would cost as much as the
    /// forward pass; layers with parameters skip it here.
    fn backward_params(&mut self, dout: ArrayD<T>) {
        self.backward(dout);
    }

    /// The layer's parameters with their gradients, under the layer's own names (`"W"`,
    /// `"b"`); a network numbers them (`W1`, `b1` ...). Layers without parameters have none.
    fn params(&mut self) -> Vec<Param<'_, T>> {
        Vec::new()
    }

    /// Every array that defines the layer, under its own names: its parameters' values, and
    /// any state not trained by gradients (batch normalisation's running statistics), which
    /// the layers that have some add by overriding this.
    fn state(&mut self) -> Vec<(String, ArrayViewMutD<'_, T>)> {
        self.params().into_iter().map(|p| (p.name, p.value)).collect()
    }

    /// The layer's random generator, for the layers that draw (dropout's masks), so that a
    /// checkpoint can keep its position and a resumed run draw what the whole run would.
    fn rng_mut(&mut self) -> Option<&mut SeededRng> {
        None
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

/// The input of a network's first layer: an array, or a batch `(N, D)` as sparse rows.
#[derive(Debug, Clone)]
pub enum Input<T> {
    /// Any array `(N, ...)`.
    Dense(ArrayD<T>),
    /// The nonzeros of a batch `(N, D)` (in `f32`).
    Sparse(SparseRows),
}

impl<T: Float> Input<T> {
    /// The shape: `(N, ...)` of a dense input, `(N, D)` of sparse rows.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Input::Dense(x) => x.shape().to_vec(),
            Input::Sparse(rows) => vec![rows.dim().0, rows.dim().1],
        }
    }

    /// The dense array.
    pub fn into_dense(self) -> ArrayD<T> {
        match self {
            Input::Dense(x) => x,
            Input::Sparse(rows) => {
                let (n, d) = rows.dim();
                let values = rows.to_dense().into_iter().map(|v| T::from_f64(v as f64)).collect();
                ArrayD::from_shape_vec(ndarray::IxDyn(&[n, d]), values).expect("n·d values")
            }
        }
    }
}

impl<T> From<ArrayD<T>> for Input<T> {
    fn from(x: ArrayD<T>) -> Self {
        Input::Dense(x)
    }
}

/// How many of a batch's `items` (images, planes) a core takes in one piece when a layer
/// shares them out with rayon: one piece a core, so that each sets up its scratch (and its
/// share of a gradient) once a pass, and the pieces, and so the sums, are the same every run.
pub(crate) fn per_core(items: usize) -> usize {
    items.div_ceil(rayon::current_num_threads()).max(1)
}

/// `Σ f(v)` over `values`, in `LANES` running sums added up at the end: one sum waits on each
/// addition in turn (4 cycles), several let the compiler use a vector's lanes. The order of the
/// additions differs from a plain loop's, the same every run.
pub(crate) fn sum_in_lanes<const LANES: usize, T: Float>(values: &[T], f: impl Fn(T) -> T) -> T {
    let mut sums = [T::zero(); LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(T::zero(), |s, &v| s + f(v));
    for chunk in chunks {
        for (s, &v) in sums.iter_mut().zip(chunk) {
            *s += f(v);
        }
    }
    sums.into_iter().fold(rest, |total, s| total + s)
}

/// A new array of `shape` for kernels that write every value of it: fresh memory, not
/// cleared first. `write` is given the values as `MaybeUninit` (on one thread; it shares them
/// out itself). Clearing a conv net's megabytes of outputs only for the kernels to overwrite
/// them was a pass over memory for nothing.
///
/// # Safety
/// `write` must write every value of the slice it is given.
pub(crate) unsafe fn written<T, D: ndarray::Dimension>(
    shape: D,
    write: impl FnOnce(&mut [std::mem::MaybeUninit<T>]),
) -> ndarray::Array<T, D> {
    let mut values = ndarray::Array::<T, D>::uninit(shape);
    write(values.as_slice_mut().expect("a new array is contiguous"));
    // SAFETY: the caller's `write` wrote every value.
    unsafe { values.assume_init() }
}

/// An array of zeros of `shape`, cleared by all the cores. A conv net's activations and their
/// gradients are megabytes a batch; `Array::zeros` clears them on one core, which took
/// several percent of a DeepConvNet step.
pub(crate) fn zeros_par<T: Float, D: ndarray::Dimension>(shape: D) -> ndarray::Array<T, D> {
    use rayon::prelude::*;
    let len = shape.size();
    let mut values = Vec::with_capacity(len);
    values.par_extend((0..len).into_par_iter().map(|_| T::zero()));
    ndarray::Array::from_shape_vec(shape, values).expect("as many values as the shape holds")
}

/// One parameter of a layer and its gradient.
pub struct Param<'a, T> {
    /// The name: the layer's own (`"W"`), or numbered by the network (`"W1"`).
    pub name: String,
    /// The parameter's values; optimizers update them in place.
    pub value: ArrayViewMutD<'a, T>,
    /// The gradient filled by the last `backward` (weight decay adds to it).
    pub grad: ArrayViewMutD<'a, T>,
}

impl<'a, T> Param<'a, T> {
    /// A parameter named `name` with its gradient.
    pub fn new(name: &str, value: ArrayViewMutD<'a, T>, grad: ArrayViewMutD<'a, T>) -> Self {
        Param { name: name.to_string(), value, grad }
    }
}
