//! Optimizers (chapter 6): they update parameters in place from their gradients.
//!
//! Every optimizer sees a network's parameters as (name, value, gradient) triples in a
//! fixed order ([`crate::nets::Network::params`]), so any optimizer updates any network. The
//! `Default` of each holds the book's hyperparameters; the update rules are the book's.

mod adagrad;
mod adam;
mod adamw;
mod momentum;
mod nesterov;
mod rmsprop;
mod schedule;
mod sgd;

pub use adagrad::AdaGrad;
pub use adam::Adam;
pub use adamw::AdamW;
pub use momentum::Momentum;
pub use nesterov::Nesterov;
pub use rmsprop::RmsProp;
pub use schedule::{Schedule, ScheduleName};
pub use sgd::Sgd;

use ndarray::ArrayD;

use crate::Float;
use crate::layers::Param;

/// An update rule for parameters, given their gradients.
pub trait Optimizer<T: Float>: Send {
    /// The optimizer's name as the book writes it (`"SGD"`).
    fn name(&self) -> &'static str;

    /// Updates every parameter from its gradient (the book's `update(params, grads)`).
    fn update(&mut self, params: &mut [Param<'_, T>]);

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for a schedule).
    fn set_learning_rate(&mut self, lr: f64);

    /// What the optimizer carries from one update to the next, for a checkpoint: its arrays
    /// by name (the book's `v`, `h`, `m`), each one array per parameter in
    /// [`crate::nets::Network::params`] order (empty before the first update), and the count
    /// of updates where the rule uses one. SGD keeps nothing.
    fn state_mut(&mut self) -> OptimizerState<'_, T> {
        OptimizerState::default()
    }
}

/// Mutable access to an optimizer's state between updates (see [`Optimizer::state_mut`]):
/// reading it saves a checkpoint, writing it resumes one.
pub struct OptimizerState<'a, T> {
    /// Each kind of per-parameter array by its name in the book (`"v"`, `"h"`, `"m"`).
    pub slots: Vec<(&'static str, &'a mut Vec<ArrayD<T>>)>,
    /// Updates made so far, for rules that correct by it (Adam's `iter`).
    pub updates: Option<&'a mut u64>,
}

impl<T> Default for OptimizerState<'_, T> {
    fn default() -> Self {
        OptimizerState { slots: Vec::new(), updates: None }
    }
}

/// The optimizers by name, as the command line takes them (`--optimizer adagrad`): [`Sgd`],
/// [`Momentum`], [`Nesterov`], [`AdaGrad`], [`RmsProp`], [`Adam`], [`AdamW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OptimizerName {
    /// Stochastic gradient descent: W -= lr·dW.
    #[cfg_attr(feature = "cli", value(name = "sgd"))]
    Sgd,
    /// SGD with momentum 0.9.
    #[cfg_attr(feature = "cli", value(name = "momentum"))]
    Momentum,
    /// Nesterov's accelerated gradient.
    #[cfg_attr(feature = "cli", value(name = "nesterov"))]
    Nesterov,
    /// AdaGrad: each parameter's rate shrinks with its squared gradients.
    #[cfg_attr(feature = "cli", value(name = "adagrad"))]
    AdaGrad,
    /// RMSprop: AdaGrad with a decaying average.
    #[cfg_attr(feature = "cli", value(name = "rmsprop"))]
    RmsProp,
    /// Adam: momentum and RMSprop, with bias correction.
    #[cfg_attr(feature = "cli", value(name = "adam"))]
    Adam,
    /// AdamW: Adam with decoupled weight decay (PyTorch's).
    #[cfg_attr(feature = "cli", value(name = "adamw"))]
    AdamW,
}

impl OptimizerName {
    /// The book's learning rate for this optimizer (0.1 for SGD on MNIST, as the book's ch05/train_neuralnet.py).
    pub fn default_learning_rate(self) -> f64 {
        match self {
            OptimizerName::Sgd => 0.1,
            OptimizerName::Momentum
            | OptimizerName::Nesterov
            | OptimizerName::AdaGrad
            | OptimizerName::RmsProp => 0.01,
            OptimizerName::Adam | OptimizerName::AdamW => 0.001,
        }
    }

    /// The optimizer whose [`Optimizer::name`] is `name` (`"SGD"`, `"Adam"` ...), if any.
    pub fn from_name(name: &str) -> Option<OptimizerName> {
        Self::ALL.into_iter().find(|n| n.build::<f32>(n.default_learning_rate()).name() == name)
    }

    /// Every optimizer, in the book's order.
    pub const ALL: [OptimizerName; 7] = [
        OptimizerName::Sgd,
        OptimizerName::Momentum,
        OptimizerName::Nesterov,
        OptimizerName::AdaGrad,
        OptimizerName::RmsProp,
        OptimizerName::Adam,
        OptimizerName::AdamW,
    ];

    /// This optimizer with learning rate `lr` and the book's other hyperparameters.
    pub fn build<T: Float>(self, lr: f64) -> Box<dyn Optimizer<T>> {
        match self {
            OptimizerName::Sgd => Box::new(Sgd::new(lr)),
            OptimizerName::Momentum => Box::new(Momentum::<T> { lr, ..Default::default() }),
            OptimizerName::Nesterov => Box::new(Nesterov::<T> { lr, ..Default::default() }),
            OptimizerName::AdaGrad => Box::new(AdaGrad::<T> { lr, ..Default::default() }),
            OptimizerName::RmsProp => Box::new(RmsProp::<T> { lr, ..Default::default() }),
            OptimizerName::Adam => Box::new(Adam::<T> { lr, ..Default::default() }),
            OptimizerName::AdamW => Box::new(AdamW::<T> { lr, ..Default::default() }),
        }
    }
}

/// One array per parameter, shaped like it and zero at first: the state an optimizer keeps
/// (the book's `self.v`, `self.h`, `self.m` dictionaries).
fn slots<'s, T: Float>(slots: &'s mut Vec<ArrayD<T>>, params: &[Param<'_, T>]) -> &'s mut [ArrayD<T>] {
    let fits =
        slots.len() == params.len() && slots.iter().zip(params).all(|(s, p)| s.shape() == p.value.shape());
    if !fits {
        *slots = params.iter().map(|p| ArrayD::zeros(p.value.raw_dim())).collect();
    }
    slots
}
