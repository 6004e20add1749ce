//! How mini-batches are drawn: the book's `np.random.choice(train_size, batch_size)`
//! ([`choose_batch`]), or shuffled epochs as its `Trainer` draws them; and the book's
//! `iter_per_epoch`.
//!
//! A run's [`Sampler`] draws from a stream of its own ([`crate::BATCH_STREAM`] of the run's
//! seed). A resumed run does not restore it but replays it: the batches of the steps done are
//! drawn again (without gathering their images), which also restores the order of a shuffled
//! epoch.

use rand::RngExt;
use rand::seq::SliceRandom;

use super::config::{Sampling, TrainConfig};
use crate::{BATCH_STREAM, SeededRng, rng_stream};

/// Draws the mini-batches of a run, with replacement or in shuffled epochs.
pub(super) struct Sampler {
    rng: SeededRng,
    sampling: Sampling,
    batch_size: usize,
    order: Vec<usize>,
    next_in_order: usize,
}

impl Sampler {
    fn new(config: &TrainConfig, train_size: usize) -> Self {
        Sampler {
            rng: rng_stream(config.seed, BATCH_STREAM),
            sampling: config.sampling,
            batch_size: config.batch_size,
            order: (0..train_size).collect(),
            next_in_order: train_size,
        }
    }

    /// The sampler of a run after its first `steps` batches: drawn again, not gathered.
    pub(super) fn replayed(config: &TrainConfig, train_size: usize, steps: usize) -> Self {
        let mut sampler = Sampler::new(config, train_size);
        for _ in 0..steps {
            sampler.next_batch();
        }
        sampler
    }

    /// Where the generator stands in its stream, in 32-bit words.
    pub(super) fn position(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// The indices of the next mini-batch (the book's `batch_mask`).
    pub(super) fn next_batch(&mut self) -> Vec<usize> {
        let train_size = self.order.len();
        match self.sampling {
            Sampling::WithReplacement => choose_batch(&mut self.rng, train_size, self.batch_size),
            Sampling::ShuffledEpochs => {
                if self.next_in_order + self.batch_size > train_size {
                    self.order.shuffle(&mut self.rng);
                    self.next_in_order = 0;
                }
                self.next_in_order += self.batch_size;
                self.order[self.next_in_order - self.batch_size..self.next_in_order].to_vec()
            }
        }
    }
}

/// The book's `iter_per_epoch = max(train_size / batch_size, 1)`.
pub fn iter_per_epoch(train_size: usize, batch_size: usize) -> usize {
    (train_size / batch_size.max(1)).max(1)
}

/// The book's `np.random.choice(train_size, batch_size)`: indices drawn with replacement.
pub fn choose_batch(rng: &mut SeededRng, train_size: usize, batch_size: usize) -> Vec<usize> {
    (0..batch_size).map(|_| rng.random_range(0..train_size)).collect()
}
