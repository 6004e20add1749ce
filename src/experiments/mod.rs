//! The experiments of chapter 6, one function each, as the book's `ch06/` scripts run them:
//! the same networks, data sizes and hyperparameters, mini-batches drawn with replacement
//! (`np.random.choice`), and a seed.
//!
//! | experiment | the book's script | figure |
//! | --- | --- | --- |
//! | [`optimizers`] | `optimizer_compare_mnist.py`, `optimizer_compare_naive.py` | 6-9, 6-8 |
//! | [`init`] | `weight_init_compare.py`, `weight_init_activation_histogram.py` | 6-15, 6-10 to 6-13 |
//! | [`batch_norm`] | `batch_norm_test.py` | 6-19 |
//! | [`weight_decay`] | `overfit_weight_decay.py` | 6-20, 6-21 |
//! | [`dropout`] | `overfit_dropout.py` | 6-23 |
//! | [`hyperparameters`] | `hyperparameter_optimization.py` | 6-24 |
//!
//! Each returns its measurements; its `report` turns them into what the command line prints
//! (what the book's figure shows) and the files it writes (`<name>.png`, `<name>.csv`).
//! Where the book compares networks, they start from the same weights (the same normal
//! draws, scaled) and see the same mini-batches, so that only the thing compared differs;
//! the book draws each anew. Independent runs go to several threads.

pub mod batch_norm;
pub mod dropout;
pub mod hyperparameters;
pub mod init;
pub mod optimizers;
mod shared;
pub mod weight_decay;

pub use crate::train::{AccuracyCurves, EpochTraining, train_epochs};
pub use shared::{
    Contender, LossCurves, NamedCurves, Report, RunDone, available_threads, kaiser, on_each_run,
    parallel_map, race, smooth_curve,
};
