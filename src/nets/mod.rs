//! Networks built from layers: the book's `TwoLayerNet` (chapters 4-5), `MultiLayerNet`,
//! `SimpleConvNet` and `DeepConvNet`.
//!
//! A network is its `layers` in order and a `last_layer` that gives the loss, as in the book.
//! Each network's config (`TwoLayerNetConfig` ...) is its one description: it lists the
//! network's layers ([`LayerSpec`]), from which the network is built and its parameters and
//! memory are counted; an [`Architecture`] (what a model file keeps) holds the config.
//! The [`Network`] trait holds the methods every network shares (`predict`, `loss`,
//! `accuracy`, `gradient`, `numerical_gradient`, `params`), written once.

mod architecture;
mod deep_conv_net;
mod layer_spec;
mod memory_cost;
mod multi_layer_net;
mod simple_conv_net;
mod simple_net;
mod two_layer_net;

pub use architecture::Architecture;
pub use deep_conv_net::{DeepConvNet, DeepConvNetConfig};
pub use layer_spec::{LayerSpec, build_layers, draw_weights};
pub use memory_cost::{EVAL_ACTIVATION_BYTES, MEMORY_BUDGET_BYTES};
pub use multi_layer_net::{Activation, Head, MultiLayerNet, MultiLayerNetConfig};
pub use simple_conv_net::{SimpleConvNet, SimpleConvNetConfig};
pub use simple_net::SimpleNet;
pub use two_layer_net::{TwoLayerNet, TwoLayerNetConfig};

use ndarray::{Array1, Array2, ArrayD, ArrayViewMutD};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Result, shape_str};
use crate::gradient::numerical_gradient_by;
use crate::layers::{DropoutMode, Input, Layer, LossLayer, Param};
use crate::targets::{AsTargets, argmax_rows};
use crate::{Error, Float, SeededRng};

/// A parameter's name and an array of the same shape: a gradient, as the book's `grads` dict.
pub type NamedArrays<T> = Vec<(String, ArrayD<T>)>;

/// What every network of the book can do: its `predict`, `loss`, `accuracy`, `gradient`,
/// `numerical_gradient` and `params`. Implementors give their layers; the rest is shared. The
/// trainer's extras are [`Trainable`]'s.
pub trait Network<T: Float>: Send {
    /// The network's name as the book writes it (`"TwoLayerNet"`).
    fn name(&self) -> &'static str;

    /// The layers in order, and the loss layer at the end (the book's `layers`, `last_layer`).
    fn layers(&mut self) -> (&mut [Box<dyn Layer<T>>], &mut dyn LossLayer<T>);

    /// What the network is: enough to build it again (model files keep it).
    fn architecture(&self) -> Architecture;

    /// The shape of one input sample: `[784]`, or `[1, 28, 28]` for a conv net.
    fn input_shape(&self) -> Vec<usize> {
        self.architecture().input_shape()
    }

    /// Runs the layers on a batch `x: (N, ...)`; `train` selects training behaviour.
    ///
    /// **Errors** if a sample of `x` does not have [`Network::input_shape`]'s size.
    fn forward(&mut self, x: ArrayD<T>, train: bool) -> Result<ArrayD<T>> {
        self.forward_input(Input::Dense(x), train)
    }

    /// The scores `(N, C)` for a batch `x` (before the loss layer's softmax), in inference mode.
    fn predict(&mut self, x: &ArrayD<T>) -> Result<ArrayD<T>> {
        self.forward(x.clone(), false)
    }

    /// The loss for inputs `x` and targets `t` (one-hot rows or class indices), in inference mode.
    fn loss(&mut self, x: &ArrayD<T>, t: &dyn AsTargets<T>) -> Result<T> {
        self.loss_in_mode(Input::Dense(x.clone()), t, false)
    }

    /// The fraction of samples whose largest score is at their target class.
    fn accuracy(&mut self, x: &ArrayD<T>, t: &dyn AsTargets<T>) -> Result<f64> {
        let y = self.predict(x)?;
        let t = t.as_targets();
        t.check_against(y.shape(), self.name())?;
        let classes = y.len() / t.len().max(1);
        let y = y.into_shape_with_order((t.len(), classes)).expect("checked above");
        let correct = argmax_rows(y.view()).iter().enumerate().filter(|&(i, &k)| k == t.class(i)).count();
        Ok(correct as f64 / t.len().max(1) as f64)
    }

    /// Forward in training mode, then backward: every layer's gradients are filled. Returns the loss.
    fn backprop(&mut self, x: ArrayD<T>, t: &dyn AsTargets<T>) -> Result<T> {
        self.backprop_input(Input::Dense(x), t)
    }

    /// The gradients of the loss by backpropagation, by parameter name (the book's `gradient`).
    fn gradient(&mut self, x: &ArrayD<T>, t: &dyn AsTargets<T>) -> Result<NamedArrays<T>> {
        self.backprop(x.clone(), t)?;
        Ok(self.params().into_iter().map(|p| (p.name, p.grad.to_owned())).collect())
    }

    /// The gradients of the loss by central differences, by parameter name (the book's
    /// `numerical_gradient`): two forward passes per parameter element, so slow on purpose.
    fn numerical_gradient(&mut self, x: &ArrayD<T>, t: &dyn AsTargets<T>) -> Result<NamedArrays<T>> {
        let shapes: Vec<(String, Vec<usize>)> =
            self.params().into_iter().map(|p| (p.name, p.value.shape().to_vec())).collect();
        let mut grads = Vec::with_capacity(shapes.len());
        for (k, (name, shape)) in shapes.into_iter().enumerate() {
            let every: Vec<usize> = (0..shape.iter().product()).collect();
            let grad = self.numerical_gradient_at(x, t, k, &every)?;
            grads.push((name, ArrayD::from_shape_vec(shape, grad).expect("one value per element")));
        }
        Ok(grads)
    }

    /// Every parameter with its gradient, named as the book: the k-th layer with weights
    /// gives `Wk`, `bk`; layers after it without weights number theirs `k` too.
    fn params(&mut self) -> Vec<Param<'_, T>> {
        let (layers, _) = self.layers();
        let numbers = layer_numbers(layers);
        let mut params = Vec::new();
        for (layer, k) in layers.iter_mut().zip(numbers) {
            params.extend(layer.params().into_iter().map(|p| Param { name: format!("{}{k}", p.name), ..p }));
        }
        params
    }
}

/// What the trainer, the checkpoints and the applications need of a network beyond the book's
/// methods: inputs as sparse rows, the loss in either mode, weight decay, the state with its
/// buffers and random generators, snapshots, and class probabilities. Every [`Network`] has
/// them (`use mitbadak::nets::Trainable` to call them; the prelude has it).
pub trait Trainable<T: Float>: Network<T> {
    /// [`Network::forward`] for an input that may come as sparse rows (see [`Input`]).
    fn forward_input(&mut self, x: Input<T>, train: bool) -> Result<ArrayD<T>> {
        check_input(self.name(), &self.input_shape(), &x.shape())?;
        let (layers, _) = self.layers();
        let Some((first, rest)) = layers.split_first_mut() else { return Ok(x.into_dense()) };
        let y = first.forward_input(x, train);
        Ok(rest.iter_mut().fold(y, |y, layer| layer.forward(y, train)))
    }

    /// The network's output for a batch `x`, through its loss layer's output: class
    /// probabilities for a softmax head, the raw outputs for a regression.
    fn probabilities(&mut self, x: &ArrayD<T>) -> Result<ArrayD<T>> {
        let y = self.predict(x)?;
        let (_, last_layer) = self.layers();
        Ok(last_layer.output(y))
    }

    /// The loss in training (`train = true`) or inference mode.
    fn loss_in_mode(&mut self, x: Input<T>, t: &dyn AsTargets<T>, train: bool) -> Result<T> {
        let n = x.shape().first().copied().unwrap_or(0);
        let y = self.forward_input(x, train)?;
        let t = t.as_targets();
        if t.len() != n {
            return Err(Error::shape(
                format!("{} targets", self.name()),
                format!("{n} targets, one per input sample"),
                format!("{} targets", t.len()),
            ));
        }
        t.check_against(y.shape(), self.name())?;
        let (_, last_layer) = self.layers();
        Ok(last_layer.forward(y, t))
    }

    /// [`Network::backprop`] for an input that may come as sparse rows (see [`Input`]).
    fn backprop_input(&mut self, x: Input<T>, t: &dyn AsTargets<T>) -> Result<T> {
        let loss = self.loss_in_mode(x, t, true)?;
        let (layers, last_layer) = self.layers();
        let mut dout = last_layer.backward();
        if let Some((first, rest)) = layers.split_first_mut() {
            dout = rest.iter_mut().rev().fold(dout, |dout, layer| layer.backward(dout));
            first.backward_params(dout); // the input's gradient is nobody's business
        }
        Ok(loss)
    }

    /// The central difference for elements `indices` (in memory order) of parameter number
    /// `k` only: for networks too large to check element by element.
    fn numerical_gradient_at(
        &mut self,
        x: &ArrayD<T>,
        t: &dyn AsTargets<T>,
        k: usize,
        indices: &[usize],
    ) -> Result<Vec<T>> {
        let mut failure = None;
        let grad = numerical_gradient_by(indices.len(), |j, delta| {
            let i = indices[j];
            let original = set_param_element(self, k, i, None);
            set_param_element(self, k, i, Some(original + delta));
            let loss = self.loss_in_mode(Input::Dense(x.clone()), t, true);
            set_param_element(self, k, i, Some(original));
            loss.unwrap_or_else(|e| {
                failure.get_or_insert(e);
                T::nan()
            })
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(grad),
        }
    }

    /// The book's weight decay (L2): adds `λ·W` to the gradient of each weight `W…` and
    /// returns `½λ·ΣW²`, the term it adds to the loss. Biases and batch normalisation's
    /// `γ`, `β` are not decayed, as in the book.
    fn apply_weight_decay(&mut self, lambda: f64) -> T {
        let l = T::from_f64(lambda);
        let mut penalty = T::zero();
        for mut p in self.params().into_iter().filter(|p| p.name.starts_with('W')) {
            penalty += sum_of_squares(p.value.as_slice_memory_order().expect("parameters are contiguous"));
            p.grad.scaled_add(l, &p.value);
        }
        T::from_f64(0.5) * l * penalty
    }

    /// Everything that makes the network what it is, named and numbered as
    /// [`Network::params`]: parameters, and buffers such as batch normalisation's statistics.
    fn state(&mut self) -> Vec<(String, ArrayViewMutD<'_, T>)> {
        let (layers, _) = self.layers();
        let numbers = layer_numbers(layers);
        let mut state = Vec::new();
        for (layer, k) in layers.iter_mut().zip(numbers) {
            state.extend(layer.state().into_iter().map(|(name, value)| (format!("{name}{k}"), value)));
        }
        state
    }

    /// The random generators of the layers that draw (dropout), in layer order: with
    /// [`Trainable::state`], all a checkpoint needs to make the network go on as it would have.
    fn rngs_mut(&mut self) -> Vec<&mut SeededRng> {
        let (layers, _) = self.layers();
        layers.iter_mut().filter_map(|layer| layer.rng_mut()).collect()
    }

    /// A copy of [`Trainable::state`]: what an evaluation on another thread, or a checkpoint, needs.
    fn snapshot(&mut self) -> Vec<ArrayD<T>> {
        self.state().into_iter().map(|(_, value)| value.to_owned()).collect()
    }

    /// Puts a [`Trainable::snapshot`] back.
    ///
    /// **Errors** if it is not a snapshot of a network of this shape.
    fn restore(&mut self, snapshot: &[ArrayD<T>]) -> Result<()> {
        let name = self.name();
        let mut state = self.state();
        if state.len() != snapshot.len() {
            return Err(Error::shape(
                format!("{name} state"),
                format!("{} arrays", state.len()),
                format!("{} arrays", snapshot.len()),
            ));
        }
        for ((key, value), saved) in state.iter_mut().zip(snapshot) {
            if value.shape() != saved.shape() {
                return Err(Error::shape(
                    format!("{name} {key}"),
                    shape_str(value.shape()),
                    shape_str(saved.shape()),
                ));
            }
            value.assign(saved);
        }
        Ok(())
    }
}

impl<T: Float, N: Network<T> + ?Sized> Trainable<T> for N {}

/// `Σ w²`, in running sums ([`crate::layers::sum_in_lanes`]): one sum waits on each addition
/// in turn, and was a large share of a step with weight decay (docs/performance.md).
fn sum_of_squares<T: Float>(values: &[T]) -> T {
    crate::layers::sum_in_lanes::<8, _>(values, |w| w * w)
}

/// The number each layer's parameters get: the count of layers with weights (`W`) so far.
fn layer_numbers<T: Float>(layers: &mut [Box<dyn Layer<T>>]) -> Vec<usize> {
    let mut k = 0;
    layers
        .iter_mut()
        .map(|layer| {
            if layer.params().iter().any(|p| p.name == "W") {
                k += 1;
            }
            k
        })
        .collect()
}

/// Reads element `i` (in memory order) of parameter `k`, and writes `value` there if given.
fn set_param_element<T: Float, N: Network<T> + ?Sized>(
    net: &mut N,
    k: usize,
    i: usize,
    value: Option<T>,
) -> T {
    let mut params = net.params();
    let element = params[k].value.as_slice_memory_order_mut().expect("parameters are contiguous");
    let old = element[i];
    if let Some(v) = value {
        element[i] = v;
    }
    old
}

/// Checks that `x: (N, ...)` carries samples of `input_shape`: exactly that shape for a
/// network whose input has several axes, the same number of values for a flat input.
pub fn check_input(name: &str, input_shape: &[usize], x_shape: &[usize]) -> Result<()> {
    let sample = x_shape.get(1..).unwrap_or(&[]);
    let fits = if input_shape.len() == 1 {
        !sample.is_empty() && sample.iter().product::<usize>() == input_shape[0]
    } else {
        sample == input_shape
    };
    if fits {
        return Ok(());
    }
    let expected: Vec<String> =
        std::iter::once("N".to_string()).chain(input_shape.iter().map(|d| d.to_string())).collect();
    Err(Error::shape(format!("{name} input"), format!("({})", expected.join(", ")), shape_str(x_shape)))
}

/// Dropout in a network: the ratio dropped and where the scaling happens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DropoutConfig {
    /// The probability of dropping a unit, in [0, 1).
    pub ratio: f64,
    /// Inverted (scaled in training) or the book's (scaled at test time).
    pub mode: DropoutMode,
}

/// How initial weights are drawn: `N(0, std²)` with a fixed std, or scaled by the fan-in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightInit {
    /// A fixed standard deviation (the book's `weight_init_std = 0.01`).
    Std(f64),
    /// Xavier: std `sqrt(1 / fan_in)`, suited to sigmoid.
    Xavier,
    /// He: std `sqrt(2 / fan_in)`, suited to ReLU.
    He,
}

impl WeightInit {
    /// The standard deviation for a layer with `fan_in` inputs per output.
    pub fn std(self, fan_in: usize) -> f64 {
        match self {
            WeightInit::Std(std) => std,
            WeightInit::Xavier => (1.0 / fan_in as f64).sqrt(),
            WeightInit::He => (2.0 / fan_in as f64).sqrt(),
        }
    }
}

/// A `(rows, cols)` matrix of `N(0, std²)` draws, in row-major order.
pub fn gaussian<T: Float, R: rand::Rng + ?Sized>(
    rows: usize,
    cols: usize,
    std: f64,
    rng: &mut R,
) -> Array2<T> {
    gaussian_array(&[rows, cols], std, rng).into_dimensionality().expect("two axes")
}

/// An array of `shape` of `N(0, std²)` draws, in row-major order (the book's
/// `std * np.random.randn(*shape)`).
pub fn gaussian_array<T: Float, R: rand::Rng + ?Sized>(shape: &[usize], std: f64, rng: &mut R) -> ArrayD<T> {
    ArrayD::from_shape_simple_fn(ndarray::IxDyn(shape), || {
        let z: f64 = StandardNormal.sample(rng);
        T::from_f64(std * z)
    })
}

/// Checks that `weights` chain into a network: each `W` takes the previous output width,
/// each `b` matches its `W`. Returns the input and output widths.
pub fn check_weight_chain<T: Float>(weights: &[(Array2<T>, Array1<T>)]) -> Result<(usize, usize)> {
    let Some((first, _)) = weights.first() else {
        return Err(Error::invalid("weights", "a network needs at least one (W, b) pair"));
    };
    let mut width = first.nrows();
    for (i, (w, b)) in weights.iter().enumerate() {
        let k = i + 1;
        if w.nrows() != width {
            return Err(Error::shape(
                format!("W{k}"),
                format!("({width}, M): {width} rows to take the previous width"),
                shape_str(w.shape()),
            ));
        }
        if b.len() != w.ncols() {
            return Err(Error::shape(
                format!("b{k}"),
                format!("({},) to match W{k}", w.ncols()),
                shape_str(b.shape()),
            ));
        }
        width = w.ncols();
    }
    Ok((first.nrows(), width))
}
