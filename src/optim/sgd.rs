//! `SGD`: stochastic gradient descent, `W ← W - lr · ∂L/∂W`.

use super::Optimizer;
use crate::Float;
use crate::layers::Param;

/// Plain stochastic gradient descent.
///
/// ```
/// use mitbadak::optim::{Optimizer, Sgd};
/// use mitbadak::prelude::*;
/// use ndarray::array;
///
/// let mut net = TwoLayerNet::<f64>::new(2, 3, 2, 0.5, &mut seeded_rng(1));
/// let (x, t) = (array![[1.0, -1.0], [0.5, 2.0]].into_dyn(), vec![0usize, 1]);
/// let before = net.backprop(x.clone(), &t)?;   // fills dw and db
/// Sgd::new(0.1).update(&mut net.params());     // W <- W - 0.1 * dW
/// let after = net.backprop(x, &t)?;
/// assert!(after < before);
/// # Ok::<(), mitbadak::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    /// The learning rate (the book's default is 0.01; its MNIST training uses 0.1).
    pub lr: f64,
}

impl Sgd {
    /// SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Sgd { lr }
    }
}

impl<T: Float> Optimizer<T> for Sgd {
    fn name(&self) -> &'static str {
        "SGD"
    }

    fn update(&mut self, params: &mut [Param<'_, T>]) {
        let lr = T::from_f64(self.lr);
        for p in params.iter_mut() {
            // params[key] -= lr * grads[key]
            p.value.scaled_add(-lr, &p.grad);
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
}
