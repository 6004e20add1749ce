//! The book's training loop, plain: the epoch loop of its small-data scripts and of its
//! `Trainer`, one step after another on one thread, nothing ahead and nothing beside. Read
//! this one first: [`super::train`] does the same work (and checkpoints) faster, with the
//! batches and the measurements on the second core.
//!
//! ```text
//! iter_per_epoch = max(train_size / batch_size, 1)
//! for i in 0..:
//!     batch_mask = np.random.choice(train_size, batch_size)
//!     grads = network.gradient(x_batch, t_batch)    # backprop (+ λ·W)
//!     optimizer.update(params, grads)
//!     if i % iter_per_epoch == 0: train_acc, test_acc = accuracy(...)
//! ```

use super::batch::input_batch;
use super::evaluate::evaluate;
use super::sampler::{choose_batch, iter_per_epoch};
use crate::data::Dataset;
use crate::error::Result;
use crate::layers::Input;
use crate::nets::Network;
use crate::nets::Trainable;
use crate::optim::Optimizer;
use crate::{BATCH_STREAM, rng_stream};

/// How the book's small-data scripts train (`overfit_weight_decay.py`, `batch_norm_test.py`,
/// and its `Trainer` with `evaluate_sample_num_per_epoch=None`).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochTraining {
    /// Images per mini-batch, drawn with replacement.
    pub batch_size: usize,
    /// Accuracy measurements to make: one per epoch.
    pub epochs: usize,
}

/// Train (and test) accuracy at the start of each epoch (the book's `train_acc_list`,
/// `test_acc_list`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccuracyCurves {
    /// Accuracy on the training set, one per epoch.
    pub train_acc: Vec<f64>,
    /// Accuracy on the test (or validation) set, one per epoch; empty when none was given.
    pub test_acc: Vec<f64>,
}

/// The book's epoch loop: `iter_per_epoch = max(train_size / batch_size, 1)`; at step `i` a
/// batch is drawn with replacement, the network steps, and when `i % iter_per_epoch == 0`
/// the accuracies are measured, until `epochs` measurements are made. (The `Trainer` goes on
/// for the `iter_per_epoch - 1` steps after its last measurement, which no figure shows.)
///
/// `weight_decay` is the book's `λ` (0 for none). The loss is not checked: a network that
/// diverges goes on, as in NumPy, and its accuracy says so.
///
/// **Errors** if the network does not take `train`'s images.
pub fn train_epochs(
    network: &mut dyn Network<f32>,
    optimizer: &mut dyn Optimizer<f32>,
    train: &Dataset,
    test: Option<&Dataset>,
    setup: &EpochTraining,
    weight_decay: f64,
    seed: u64,
) -> Result<AccuracyCurves> {
    let input_shape = network.input_shape();
    let iter_per_epoch = iter_per_epoch(train.len(), setup.batch_size);
    let mut batches = rng_stream(seed, BATCH_STREAM);
    let mut curves = AccuracyCurves::default();
    let mut i = 0;
    while curves.train_acc.len() < setup.epochs {
        let batch_mask = choose_batch(&mut batches, train.len(), setup.batch_size);
        let x_batch: Input<f32> = input_batch(train, &batch_mask, &input_shape);
        network.backprop_input(x_batch, &train.labels_of(&batch_mask))?;
        if weight_decay > 0.0 {
            network.apply_weight_decay(weight_decay);
        }
        optimizer.update(&mut network.params());
        if i % iter_per_epoch == 0 {
            curves.train_acc.push(evaluate(network, train)?);
            if let Some(test) = test {
                curves.test_acc.push(evaluate(network, test)?);
            }
        }
        i += 1;
    }
    Ok(curves)
}
