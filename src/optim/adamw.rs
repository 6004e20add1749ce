//! `AdamW` (Loshchilov and Hutter), as PyTorch has it: the weight decay is taken out of the
//! gradient and applied to the weights directly, then a bias-corrected Adam step:
//!
//! ```text
//! W ← W - lr·weight_decay·W                       (weights only: not biases or β, γ)
//! m ← β1·m + (1 - β1)·g,  v ← β2·v + (1 - β2)·g²
//! W ← W - lr·(m / (1 - β1^t)) / (√(v / (1 - β2^t)) + ε)
//! ```

use ndarray::{ArrayD, Zip};

use super::{Optimizer, OptimizerState, slots};
use crate::Float;
use crate::layers::Param;

/// Adam with decoupled weight decay. `Default`: PyTorch's `lr = 0.001`, `betas = (0.9,
/// 0.999)`, `eps = 1e-8`, `weight_decay = 0.01`.
#[derive(Debug, Clone)]
pub struct AdamW<T> {
    /// The learning rate.
    pub lr: f64,
    /// The decay of the mean of gradients.
    pub beta1: f64,
    /// The decay of the mean of squared gradients.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// The fraction of each weight taken off per unit of learning rate.
    pub weight_decay: f64,
    /// Updates made so far.
    pub iter: u64,
    /// The mean of gradients of each parameter.
    pub m: Vec<ArrayD<T>>,
    /// The mean of squared gradients of each parameter.
    pub v: Vec<ArrayD<T>>,
}

impl<T> Default for AdamW<T> {
    fn default() -> Self {
        AdamW {
            lr: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            iter: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }
}

impl<T: Float> Optimizer<T> for AdamW<T> {
    fn name(&self) -> &'static str {
        "AdamW"
    }

    fn update(&mut self, params: &mut [Param<'_, T>]) {
        self.iter += 1;
        let t = self.iter as i32;
        let (correction1, correction2) = (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t));
        let (beta1, beta2, eps) = (T::from_f64(self.beta1), T::from_f64(self.beta2), T::from_f64(self.eps));
        // 1 - β in f64, as PyTorch computes it: in f32, 1 - 0.999 would be 1.3e-5 (relative) off
        let (one_minus_beta1, one_minus_beta2) =
            (T::from_f64(1.0 - self.beta1), T::from_f64(1.0 - self.beta2));
        let (step, root_correction) = (T::from_f64(self.lr / correction1), T::from_f64(correction2.sqrt()));
        let (m, v) = (slots(&mut self.m, params), slots(&mut self.v, params));
        for ((p, m), v) in params.iter_mut().zip(m).zip(v) {
            if p.name.starts_with('W') {
                let shrink = T::from_f64(1.0 - self.lr * self.weight_decay);
                p.value.mapv_inplace(|w| w * shrink);
            }
            Zip::from(&mut p.value).and(&p.grad).and(m).and(v).for_each(|w, &g, m, v| {
                *m = beta1 * *m + one_minus_beta1 * g;
                *v = beta2 * *v + one_minus_beta2 * g * g;
                *w -= step * *m / (v.sqrt() / root_correction + eps);
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
