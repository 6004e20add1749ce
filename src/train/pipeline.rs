//! The batch pipeline: the second core's share of a training run. A helper thread draws and
//! gathers the mini-batches a few steps ahead of the training loop, and measures the
//! accuracies of the snapshots of the weights it is sent, a chunk at a time in between; the
//! measurements come back in order ([`Measurements`]), and are the numbers the same work done
//! in line would give.
//!
//! ```text
//! training loop  --snapshot (iteration, weights)-->  helper: twin network, Measuring
//!                <--Batch (x, t, sampler position)--  helper: Sampler, input_batch
//!                <--Evaluation----------------------
//! ```

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::thread::Scope;
use std::time::Duration;

use ndarray::ArrayD;

use super::batch::input_batch;
use super::config::TrainConfig;
use super::evaluate::Measuring;
use super::history::{Evaluation, History, Progress};
use super::sampler::Sampler;
use crate::data::Mnist;
use crate::error::Result;
use crate::layers::Input;
use crate::nets::Trainable;
use crate::nets::{Architecture, Network};
use crate::seeded_rng;

/// Mini-batches the helper keeps ready: enough to cover one chunk of evaluation.
const BATCHES_AHEAD: usize = 8;

/// How long the helper first waits for a snapshot when its queue of batches is full. Each
/// wait after which the queue is still full doubles the next, up to [`HELPER_NAP_MAX`]: waking
/// this often all through a conv net's long step took a core from the training's threads, which
/// wait on each other at every layer, and slowed the run (docs/performance.md); the ch05 job's
/// short steps need their queue refilled at once.
const HELPER_NAP: Duration = Duration::from_micros(200);

/// The longest wait for a snapshot when the queue of batches is full: the longest a
/// measurement the training loop waits for can be kept waiting.
const HELPER_NAP_MAX: Duration = Duration::from_millis(5);

/// A mini-batch: the images (sparse rows, or a dense array), their labels, and where the
/// sampler stood after drawing it (a checkpoint keeps it).
pub(super) struct Batch {
    pub(super) x: Input<f32>,
    pub(super) t: Vec<usize>,
    pub(super) sampler_position: u128,
}

/// A network's weights after `iteration` steps, to be measured.
type Snapshot = (usize, Vec<ArrayD<f32>>);

/// The second core's share of a training run.
pub(super) struct Helper<'a> {
    pub(super) config: &'a TrainConfig,
    pub(super) data: &'a Mnist,
    pub(super) train_eval_size: usize,
    pub(super) test_eval_size: usize,
    pub(super) input_shape: Vec<usize>,
    pub(super) architecture: Architecture,
    /// Draws the batches, from where the run starts.
    pub(super) sampler: Sampler,
    /// Batches made so far (counting those of the steps done before the run started).
    pub(super) made: usize,
}

impl<'a> Helper<'a> {
    /// Starts the helper on a thread of `scope`; returns the batches it makes, and the
    /// measurements of the snapshots it is sent.
    pub(super) fn spawn<'scope>(self, scope: &'scope Scope<'scope, '_>) -> (Receiver<Batch>, Measurements)
    where
        'a: 'scope,
    {
        let (batch_sender, batches) = mpsc::sync_channel::<Batch>(BATCHES_AHEAD);
        let (snapshots, jobs) = mpsc::channel::<Snapshot>();
        let (results, evaluations) = mpsc::channel::<Result<Evaluation>>();
        scope.spawn(move || self.run(batch_sender, jobs, results));
        (batches, Measurements { snapshots: Some(snapshots), results: evaluations, sent: 0, received: 0 })
    }

    /// Keeps `batches` filled and measures each snapshot, a chunk at a time, until both the
    /// run's batches and its snapshots are done (or the training loop has stopped).
    fn run(
        mut self,
        batches: SyncSender<Batch>,
        jobs: Receiver<Snapshot>,
        results: Sender<Result<Evaluation>>,
    ) {
        let iter_per_epoch = self.config.iter_per_epoch(self.data.train.len());
        let (mut made, mut waiting): (usize, Option<Batch>) = (self.made, None);
        let mut twin: Box<dyn Network<f32>> = self.architecture.build(None, &mut seeded_rng(0));
        let mut measuring: Option<Measuring> = None;
        let mut jobs_open = true;
        let mut nap = HELPER_NAP;
        loop {
            let mut sent = false;
            // batches first: the training loop waits on them
            while made < self.config.iterations || waiting.is_some() {
                let batch = waiting.take().unwrap_or_else(|| {
                    made += 1;
                    let batch_mask = self.sampler.next_batch();
                    let mut x = if self.config.augment.is_none() {
                        input_batch(&self.data.train, &batch_mask, &self.input_shape)
                    } else {
                        let mut x = self.data.train.batch(&batch_mask, &self.input_shape);
                        let image = self.data.train.image_shape;
                        self.config.augment.apply(&mut x, (image.0, image.1), self.config.seed, made - 1);
                        Input::Dense(x)
                    };
                    if let Input::Sparse(rows) = &mut x {
                        rows.index_columns(); // for xᵀ·dout, done here rather than in the step
                    }
                    Batch {
                        x,
                        t: self.data.train.labels_of(&batch_mask),
                        sampler_position: self.sampler.position(),
                    }
                });
                match batches.try_send(batch) {
                    Ok(()) => {
                        sent = true;
                        continue;
                    }
                    Err(TrySendError::Full(batch)) => {
                        waiting = Some(batch);
                        break;
                    }
                    Err(TrySendError::Disconnected(_)) => return, // training stopped early
                }
            }
            nap = if sent { HELPER_NAP } else { (nap * 2).min(HELPER_NAP_MAX) };
            // then a chunk of the measurement under way, or a new one
            if measuring.is_none() && jobs_open {
                let all_made = made == self.config.iterations && waiting.is_none();
                // nothing else to do: wait for a snapshot (a while, when batches remain to be made)
                let job = if all_made {
                    jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
                } else {
                    jobs.recv_timeout(nap)
                };
                match job {
                    Ok((iteration, snapshot)) => {
                        measuring = Some(match twin.restore(&snapshot) {
                            Ok(()) => Measuring::new(
                                iteration,
                                iter_per_epoch,
                                self.train_eval_size,
                                self.test_eval_size,
                            ),
                            Err(e) => return drop(results.send(Err(e))),
                        })
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => jobs_open = false,
                }
            }
            match measuring.as_mut().map(|m| m.next_chunk(twin.as_mut(), self.data, &self.input_shape)) {
                Some(Ok(Some(evaluation))) => {
                    measuring = None;
                    if results.send(Ok(evaluation)).is_err() {
                        return;
                    }
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => return drop(results.send(Err(e))),
                // no more snapshots: the batches are all that is left to do
                None if !jobs_open => {
                    let go_on = match waiting.take() {
                        Some(batch) => batches.send(batch).is_ok(), // an error: training stopped early
                        None => made < self.config.iterations,
                    };
                    if !go_on {
                        return;
                    }
                }
                None => {}
            }
        }
    }
}

/// The measurements of the snapshots sent to the helper, as they come back (in order).
pub(super) struct Measurements {
    /// Where snapshots go; `None` once the run has sent its last.
    snapshots: Option<Sender<Snapshot>>,
    results: Receiver<Result<Evaluation>>,
    /// Snapshots sent to be measured.
    pub(super) sent: usize,
    /// Measurements received and recorded.
    pub(super) received: usize,
}

impl Measurements {
    /// Sends the weights after `iteration` steps to be measured.
    pub(super) fn request(&mut self, iteration: usize, weights: Vec<ArrayD<f32>>) {
        let snapshots = self.snapshots.as_ref().expect("no snapshot is sent after the last");
        snapshots.send((iteration, weights)).expect("the helper runs until the snapshots end");
        self.sent += 1;
    }

    /// Tells the helper that no more snapshots come.
    pub(super) fn close(&mut self) {
        self.snapshots = None;
    }

    /// Records the measurements that have come in, without waiting.
    pub(super) fn record_ready(&mut self, history: &mut History, progress: &mut dyn Progress) -> Result<()> {
        while let Ok(measured) = self.results.try_recv() {
            self.received += 1;
            record(measured?, history, progress);
        }
        Ok(())
    }

    /// Waits for the first `count` measurements and records them.
    pub(super) fn wait_for(
        &mut self,
        count: usize,
        history: &mut History,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        while self.received < count {
            let measured = self.results.recv().expect("the helper measures every snapshot");
            self.received += 1;
            record(measured?, history, progress);
        }
        Ok(())
    }
}

/// Tells `progress` of `evaluation` and adds it to `history`.
pub(super) fn record(evaluation: Evaluation, history: &mut History, progress: &mut dyn Progress) {
    progress.on_evaluation(&evaluation);
    history.evaluations.push(evaluation);
}
