//! `Adam`, in the book's form (bias correction folded into the step size):
//!
//! ```text
//! t ← t + 1,  lr_t = lr·√(1 - β2^t) / (1 - β1^t)
//! m ← m + (1 - β1)(g - m),  v ← v + (1 - β2)(g² - v)
//! W ← W - lr_t·m / (√v + 1e-7)
//! ```

use ndarray::{ArrayD, Zip};

use super::{Optimizer, OptimizerState, slots};
use crate::Float;
use crate::layers::Param;

/// Adam. `Default`: the book's `lr = 0.001`, `beta1 = 0.9`, `beta2 = 0.999`.
#[derive(Debug, Clone)]
pub struct Adam<T> {
    /// The learning rate.
    pub lr: f64,
    /// The decay of the mean of gradients.
    pub beta1: f64,
    /// The decay of the mean of squared gradients.
    pub beta2: f64,
    /// Updates made so far (the book's `iter`).
    pub iter: u64,
    /// The mean of gradients of each parameter.
    pub m: Vec<ArrayD<T>>,
    /// The mean of squared gradients of each parameter.
    pub v: Vec<ArrayD<T>>,
}

impl<T> Default for Adam<T> {
    fn default() -> Self {
        Adam { lr: 0.001, beta1: 0.9, beta2: 0.999, iter: 0, m: Vec::new(), v: Vec::new() }
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    fn name(&self) -> &'static str {
        "Adam"
    }

    fn update(&mut self, params: &mut [Param<'_, T>]) {
        self.iter += 1;
        let t = self.iter as i32;
        let lr_t = T::from_f64(self.lr * (1.0 - self.beta2.powi(t)).sqrt() / (1.0 - self.beta1.powi(t)));
        // 1 - β1 and 1 - β2 in f64, then converted: in f32, 1 - 0.999f32 is 0.00099998713, and
        // every step would come out 6.4e-6 (relative) longer than the book's formula gives
        let (one_minus_beta1, one_minus_beta2) =
            (T::from_f64(1.0 - self.beta1), T::from_f64(1.0 - self.beta2));
        let eps = T::from_f64(1e-7);
        let (m, v) = (slots(&mut self.m, params), slots(&mut self.v, params));
        for ((p, m), v) in params.iter_mut().zip(m).zip(v) {
            Zip::from(&mut p.value).and(&p.grad).and(m).and(v).for_each(|w, &g, m, v| {
                *m += one_minus_beta1 * (g - *m);
                *v += one_minus_beta2 * (g * g - *v);
                *w -= lr_t * *m / (v.sqrt() + eps);
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
        OptimizerState { slots: vec![("m", &mut self.m), ("v", &mut self.v)], updates: Some(&mut self.iter) }
    }
}
