//! When a run's checkpoints are written: one is taken at the end of each epoch (and when the
//! run is asked to stop) and written once the accuracies measured up to its step are in. The
//! helper measures them while training goes on, and waiting for it would hold training up.
//! A checkpoint is written (synced to disk) on a thread of its own, one at a time and in
//! order. What a checkpoint holds, and how it is read back, is [`super::checkpoint`]'s.

use std::path::Path;
use std::thread::{Scope, ScopedJoinHandle};

use super::checkpoint::{CheckpointArrays, DataFingerprint, TrainingState};
use super::history::{History, Progress};
use super::pipeline::Measurements;
use crate::data::Mnist;
use crate::error::Result;
use crate::nets::Network;
use crate::optim::Optimizer;

/// The run's checkpoints: the one waiting for its measurements, the one being written.
pub(super) struct CheckpointWriter<'scope, 'env> {
    /// Where the threads that hash the data and write the checkpoints run.
    scope: &'scope Scope<'scope, 'env>,
    path: Option<&'scope Path>,
    /// The data's fingerprint, or the thread taking it.
    fingerprint: Option<DataFingerprint>,
    hashing: Option<ScopedJoinHandle<'scope, DataFingerprint>>,
    /// A checkpoint taken and not yet written, and how many measurements it waits for.
    waiting: Option<(CheckpointArrays, TrainingState, usize)>,
    writing: Option<ScopedJoinHandle<'scope, Result<()>>>,
    /// The step of the last checkpoint taken.
    pub(super) last: Option<usize>,
    /// The losses in the loss file once the checkpoints taken are written.
    losses_written: usize,
}

impl<'scope, 'env> CheckpointWriter<'scope, 'env> {
    /// The checkpoints of a run writing to `path` (none if `None`) on `data`, whose
    /// fingerprint is `fingerprint` if known (else it is taken on a thread of `scope` while
    /// the first epoch trains); `checkpointed` is the step of the checkpoint the run resumes
    /// from, when that is `path`.
    pub(super) fn new(
        scope: &'scope Scope<'scope, 'env>,
        path: Option<&'scope Path>,
        data: &'scope Mnist,
        fingerprint: Option<DataFingerprint>,
        checkpointed: Option<usize>,
    ) -> Self {
        CheckpointWriter {
            scope,
            path,
            hashing: (fingerprint.is_none() && path.is_some())
                .then(|| scope.spawn(move || DataFingerprint::of(data))),
            fingerprint,
            waiting: None,
            writing: None,
            last: checkpointed,
            losses_written: checkpointed.unwrap_or(0),
        }
    }

    /// Whether a checkpoint is to be taken after step `iteration`: at the end of each epoch,
    /// and when the run stops early.
    pub(super) fn due(&self, iteration: usize, iter_per_epoch: usize, stop: bool) -> bool {
        self.path.is_some() && (stop || iteration.is_multiple_of(iter_per_epoch))
    }

    /// Takes a checkpoint of the network and the optimizer at `state`, to be written once the
    /// measurements sent so far are in, after the last one is written (waiting for its
    /// measurements if they are not in yet, which only happens when the helper is an epoch
    /// behind, and for its write, which has ended by then in practice).
    pub(super) fn take(
        &mut self,
        network: &mut dyn Network<f32>,
        optimizer: &mut dyn Optimizer<f32>,
        state: TrainingState,
        measurements: &mut Measurements,
        history: &mut History,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let arrays = CheckpointArrays::capture(network, optimizer, history, self.losses_written);
        self.losses_written = state.iteration;
        self.finish(measurements, history, progress)?;
        self.last = Some(state.iteration);
        self.waiting = Some((arrays, state, measurements.sent));
        Ok(())
    }

    /// Writes the waiting checkpoint if the measurements it holds are all in.
    pub(super) fn write_if_complete(&mut self, measurements: &Measurements, history: &History) {
        if self.waiting.as_ref().is_some_and(|(_, _, needs)| measurements.received >= *needs) {
            let (arrays, mut state, _) = self.waiting.take().expect("checked just now");
            let measured = history.evaluations.iter().take_while(|e| e.iteration <= state.iteration);
            state.evaluations = measured.cloned().collect();
            if let Some(hashing) = self.hashing.take() {
                self.fingerprint = Some(join(hashing));
            }
            state.data = self.fingerprint.clone().expect("known when there is a checkpoint");
            let path = self.path.expect("a checkpoint is taken only with a path");
            // the last write was waited for when this checkpoint was taken: one at a time
            debug_assert!(self.writing.is_none(), "a checkpoint is written while another is");
            self.writing = Some(self.scope.spawn(move || arrays.write(path, &state)));
        }
    }

    /// Waits for the measurements the waiting checkpoint holds, writes it, and waits for the
    /// writing to end.
    pub(super) fn finish(
        &mut self,
        measurements: &mut Measurements,
        history: &mut History,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        if let Some((_, _, needs)) = self.waiting {
            measurements.wait_for(needs, history, progress)?;
            self.write_if_complete(measurements, history);
        }
        written(self.writing.take())
    }
}

/// Waits for the checkpoint being written, if one is, and returns how the write went.
fn written(writing: Option<ScopedJoinHandle<Result<()>>>) -> Result<()> {
    writing.map_or(Ok(()), join)
}

/// Waits for `thread` and returns what it returned (a panic goes on in the caller).
fn join<T>(thread: ScopedJoinHandle<T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
