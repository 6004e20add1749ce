//! Optimizers (chapter 6): they update parameters in place from their gradients.
//!
//! Every optimizer sees a network's parameters as (name, value, gradient) triples in a
//! fixed order ([`crate::nets::Network::params`]), so any optimizer updates any network.

mod sgd;

pub use sgd::Sgd;

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
}
