//! `RMSprop`: AdaGrad with a fading memory:
//! `h ← decay·h + (1 - decay)·g²`, `W ← W - lr·g / (√h + 1e-7)`.

use ndarray::{ArrayD, Zip};

use super::{Optimizer, OptimizerState, slots};
use crate::Float;
use crate::layers::Param;

/// RMSprop. `Default`: the book's `lr = 0.01`, `decay_rate = 0.99`.
#[derive(Debug, Clone)]
pub struct RmsProp<T> {
    /// The learning rate.
    pub lr: f64,
    /// How much of the past squared gradients is kept at each step.
    pub decay_rate: f64,
    /// The decaying mean of squared gradients of each parameter.
    pub h: Vec<ArrayD<T>>,
}

impl<T> Default for RmsProp<T> {
    fn default() -> Self {
        RmsProp { lr: 0.01, decay_rate: 0.99, h: Vec::new() }
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    fn name(&self) -> &'static str {
        "RMSprop"
    }

    fn update(&mut self, params: &mut [Param<'_, T>]) {
        let (lr, decay, eps) = (T::from_f64(self.lr), T::from_f64(self.decay_rate), T::from_f64(1e-7));
        let keep_new = T::from_f64(1.0 - self.decay_rate); // in f64: exact where f32 would round twice
        let state = slots(&mut self.h, params);
        for (p, h) in params.iter_mut().zip(state) {
            Zip::from(&mut p.value).and(&p.grad).and(h).for_each(|w, &g, h| {
                *h = decay * *h + keep_new * g * g;
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
