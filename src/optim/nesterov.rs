//! `Nesterov`: momentum that looks ahead, in the book's form (`common/optimizer.py`): the
//! weights move with the velocity of the last step, then the velocity takes this gradient:
//!
//! ```text
//! W ← W + momentum²·v - (1 + momentum)·lr·g      (v of the last step)
//! v ← momentum·v - lr·g
//! ```
//!
//! So the first step moves `1.9·lr·g` (with `momentum = 0.9`), as the book's does.

use ndarray::{ArrayD, Zip};

use super::{Optimizer, OptimizerState, slots};
use crate::Float;
use crate::layers::Param;

/// Nesterov's accelerated gradient. `Default`: the book's `lr = 0.01`, `momentum = 0.9`.
#[derive(Debug, Clone)]
pub struct Nesterov<T> {
    /// The learning rate.
    pub lr: f64,
    /// How much of the last step carries into the next.
    pub momentum: f64,
    /// The velocity of each parameter.
    pub v: Vec<ArrayD<T>>,
}

impl<T> Default for Nesterov<T> {
    fn default() -> Self {
        Nesterov { lr: 0.01, momentum: 0.9, v: Vec::new() }
    }
}

impl<T: Float> Optimizer<T> for Nesterov<T> {
    fn name(&self) -> &'static str {
        "Nesterov"
    }

    fn update(&mut self, params: &mut [Param<'_, T>]) {
        let (lr, m) = (T::from_f64(self.lr), T::from_f64(self.momentum));
        let state = slots(&mut self.v, params);
        for (p, v) in params.iter_mut().zip(state) {
            Zip::from(&mut p.value).and(&p.grad).and(v).for_each(|w, &g, v| {
                // params[key] += momentum² · v;  params[key] -= (1 + momentum) · lr · grads[key]
                *w += m * m * *v;
                *w -= (T::one() + m) * lr * g;
                // v[key] *= momentum;  v[key] -= lr · grads[key]
                *v = m * *v - lr * g;
            });
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn state_mut(&mut self) -> OptimizerState<'_, T> {
        OptimizerState { slots: vec![("v", &mut self.v)], updates: None }
    }
}
