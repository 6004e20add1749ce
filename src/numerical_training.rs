//! Training by numerical gradients (chapter 4.5, `ch04/train_neuralnet.py` with its
//! `network.numerical_gradient` line): SGD whose gradient is the central difference of the
//! loss for every parameter element, two forward passes each. For `TwoLayerNet` 784-50-10 that
//! is 79,520 forward passes of a batch per step, against one forward and one backward pass
//! by backpropagation (chapter 5): the reason chapter 5 exists.

use ndarray::ArrayD;

use crate::Float;
use crate::error::Result;
use crate::nets::Trainable;
use crate::nets::{NamedArrays, Network};
use crate::targets::AsTargets;

/// Elements computed between two calls of the progress callback.
const CHUNK: usize = 500;

/// The gradient by central differences, as [`Network::numerical_gradient`], calling
/// `progress(done, total)` every few hundred elements: one step takes long enough to want a
/// progress bar.
pub fn numerical_gradient_with_progress<T: Float>(
    network: &mut dyn Network<T>,
    x: &ArrayD<T>,
    t: &dyn AsTargets<T>,
    mut progress: impl FnMut(usize, usize),
) -> Result<NamedArrays<T>> {
    let shapes: Vec<(String, Vec<usize>)> =
        network.params().into_iter().map(|p| (p.name, p.value.shape().to_vec())).collect();
    let total: usize = shapes.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
    let mut done = 0;
    let mut grads = Vec::with_capacity(shapes.len());
    for (k, (name, shape)) in shapes.into_iter().enumerate() {
        let len: usize = shape.iter().product();
        let mut grad = Vec::with_capacity(len);
        for start in (0..len).step_by(CHUNK) {
            let indices: Vec<usize> = (start..(start + CHUNK).min(len)).collect();
            grad.extend(network.numerical_gradient_at(x, t, k, &indices)?);
            done += indices.len();
            progress(done, total);
        }
        grads.push((name, ArrayD::from_shape_vec(shape, grad).expect("one value per element")));
    }
    Ok(grads)
}

/// One step of SGD with the numerical gradient: `params[key] -= learning_rate * grad[key]`.
/// Returns the loss on the batch after the step, as the book records it.
pub fn numerical_sgd_step<T: Float>(
    network: &mut dyn Network<T>,
    x: &ArrayD<T>,
    t: &dyn AsTargets<T>,
    learning_rate: f64,
    progress: impl FnMut(usize, usize),
) -> Result<T> {
    let grad = numerical_gradient_with_progress(network, x, t, progress)?;
    let lr = T::from_f64(learning_rate);
    for (mut p, (_, g)) in network.params().into_iter().zip(&grad) {
        p.value.scaled_add(-lr, g);
    }
    network.loss(x, t)
}
