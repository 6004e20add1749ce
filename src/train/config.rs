//! What a training run is asked to do: [`TrainConfig`] (the book's `batch_size`, `iters_num`,
//! weight decay `λ`) and how its mini-batches are drawn ([`Sampling`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::sampler::iter_per_epoch;
use crate::Error;
use crate::data::Augment;
use crate::error::Result;
use crate::optim::Schedule;

/// How mini-batches are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// `np.random.choice(train_size, batch_size)`: each batch drawn anew, with replacement (the book's ch05/train_neuralnet.py).
    WithReplacement,
    /// Each epoch visits every image once, in a new random order (the book's `Trainer`).
    ShuffledEpochs,
}

/// What to train for. `Default` is the book's ch05/train_neuralnet.py job: batch 100, 10,000 iterations, no weight
/// decay, a constant learning rate, no checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Images per mini-batch.
    pub batch_size: usize,
    /// Steps to take.
    pub iterations: usize,
    /// The seed of the mini-batch draws (the network's weights are drawn by its builder).
    pub seed: u64,
    /// How batches are drawn.
    pub sampling: Sampling,
    /// The book's weight decay `λ`: the loss gains `½λ·ΣW²` and each `dW` gains `λ·W`.
    pub weight_decay: f64,
    /// How the optimizer's learning rate changes over the run.
    pub schedule: Schedule,
    /// A checkpoint written (atomically) after every epoch and when the run is asked to stop
    /// (see [`super::checkpoint`]): [`super::resume`] goes on from it, to the same weights and
    /// history as a run that was never stopped. It loads as a model file too.
    #[serde(skip)]
    pub checkpoint: Option<PathBuf>,
    /// The training images the train accuracy is measured on: all of them (`None`, the
    /// book's ch05 job), or the first `n`, as the book's `Trainer` does for its conv nets
    /// (`evaluate_sample_num_per_epoch`): a pass over all 60,000 takes a conv net 0.4 to 0.6 of
    /// an epoch's training.
    #[serde(default)]
    pub train_eval_size: Option<usize>,
    /// The test images the test accuracy is measured on after each epoch but the last: all of
    /// them (`None`), or the first `n`, as the book's `Trainer` does for its conv nets. The
    /// final test accuracy is always measured on the whole test set.
    #[serde(default)]
    pub test_eval_size: Option<usize>,
    /// How the training images are varied before each step (none in the book).
    #[serde(default)]
    pub augment: Augment,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            batch_size: 100,
            iterations: 10_000,
            seed: 0,
            sampling: Sampling::WithReplacement,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            checkpoint: None,
            train_eval_size: None,
            test_eval_size: None,
            augment: Augment::None,
        }
    }
}

impl TrainConfig {
    /// The book's `iter_per_epoch` for this run's batch size: see [`iter_per_epoch`].
    pub fn iter_per_epoch(&self, train_size: usize) -> usize {
        iter_per_epoch(train_size, self.batch_size)
    }

    /// What in `self` differs from `other`, for people (`"batch size 50, not 100"`); the
    /// checkpoint paths aside.
    pub fn differences(&self, other: &TrainConfig) -> Vec<String> {
        let mut differences = Vec::new();
        let mut compare = |what: &str, mine: String, theirs: String| {
            if mine != theirs {
                differences.push(format!("{what} {mine}, not {theirs}"));
            }
        };
        compare("batch size", self.batch_size.to_string(), other.batch_size.to_string());
        compare("iterations", self.iterations.to_string(), other.iterations.to_string());
        compare("seed", self.seed.to_string(), other.seed.to_string());
        compare("sampling", format!("{:?}", self.sampling), format!("{:?}", other.sampling));
        compare("weight decay", self.weight_decay.to_string(), other.weight_decay.to_string());
        compare("schedule", format!("{:?}", self.schedule), format!("{:?}", other.schedule));
        compare("augmentation", self.augment.name(), other.augment.name());
        differences
    }

    /// Checks the configuration against a training set of `train_size` images.
    pub fn validate(&self, train_size: usize) -> Result<()> {
        if self.batch_size == 0 || self.batch_size > train_size {
            return Err(Error::invalid(
                "batch size",
                format!(
                    "{} is not between 1 and the {train_size} training images; the book's ch05/train_neuralnet.py uses 100",
                    self.batch_size
                ),
            ));
        }
        if self.iterations == 0 {
            return Err(Error::invalid("iterations", "0: train for at least one step"));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::invalid(
                "weight decay",
                format!("{} is not a number >= 0; the book tries 0.1", self.weight_decay),
            ));
        }
        Ok(())
    }
}
