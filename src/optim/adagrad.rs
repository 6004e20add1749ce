//! `AdaGrad`: each parameter's step shrinks with the squares of its past gradients:
//! `h ← h + g²`, `W ← W - lr·g / (√h + 1e-7)`.

use ndarray::{ArrayD, Zip};

use super::{Optimizer, OptimizerState, slots};
use crate::Float;
use crate::layers::Param;

/// AdaGrad. `Default`: the book's `lr = 0.01`.
#[derive(Debug, Clone)]
pub struct AdaGrad<T> {
    /// The learning rate.
    pub lr: f64,
    /// The sum of squared gradients of each parameter.
    pub h: Vec<ArrayD<T>>,
}

impl<T> Default for AdaGrad<T> {
    fn default() -> Self {
        AdaGrad { lr: 0.01, h: Vec::new() }
    }
}

impl<T: Float> Optimizer<T> for AdaGrad<T> {
    fn name(&self) -> &'static str {
        "AdaGrad"
    }

    fn update(&mut self, params: &mut [Param<'_, T>]) {
        let (lr, eps) = (T::from_f64(self.lr), T::from_f64(1e-7));
        let state = slots(&mut self.h, params);
        for (p, h) in params.iter_mut().zip(state) {
            Zip::from(&mut p.value).and(&p.grad).and(h).for_each(|w, &g, h| {
                *h += g * g;
                *w -= lr * g / (h.sqrt() + eps);
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
        OptimizerState { slots: vec![("h", &mut self.h)], updates: None }
    }
}
