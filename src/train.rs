//! The training loop of the book (chapter 4.5, and its `Trainer`): draw a mini-batch, take
//! the gradient, update, and once per epoch measure train and test accuracy.
//!
//! ```text
//! iter_per_epoch = max(train_size / batch_size, 1)
//! for i in 0..iterations:
//!     batch_mask = random choice of batch_size images (with replacement, as the seed)
//!     loss = network.backprop(x_batch, t_batch); optimizer.update(network.params())
//!     if i % iter_per_epoch == 0 (and after the last step): train acc, test acc
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError, TrySendError};
use std::thread::ScopedJoinHandle;

use ndarray::ArrayD;
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointArrays, DataFingerprint, RngState, TrainingState, restore_checkpoint};
use crate::data::{Augment, Dataset, Mnist};
use crate::error::Result;
use crate::layers::Input;
use crate::nets::Architecture;
use crate::nets::Network;
use crate::optim::Optimizer;
use crate::optim::Schedule;
use crate::targets::argmax;
use crate::{BATCH_STREAM, Error, SeededRng, rng_stream, seeded_rng};

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
    /// (see [`crate::checkpoint`]): [`resume`] goes on from it, to the same weights and
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

/// Train and test accuracy at one point of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Steps done.
    pub iteration: usize,
    /// Epochs done: `iteration / iter_per_epoch`.
    pub epoch: f64,
    /// Accuracy on the whole training set.
    pub train_acc: f64,
    /// Accuracy on the whole test set.
    pub test_acc: f64,
}

/// What a training run measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// The loss of each step's mini-batch (the book's `train_loss_list`).
    pub loss: Vec<f64>,
    /// Accuracies once per epoch and after the last step (`train_acc_list`, `test_acc_list`).
    pub evaluations: Vec<Evaluation>,
}

impl History {
    /// The last test accuracy measured.
    pub fn final_test_accuracy(&self) -> Option<f64> {
        self.evaluations.last().map(|e| e.test_acc)
    }

    /// `metrics.csv`: one row per step (`iteration,loss`), with `epoch,train_acc,test_acc`
    /// filled on the steps after which accuracy was measured.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("iteration,loss,epoch,train_acc,test_acc\n");
        let mut evaluations = self.evaluations.iter().peekable();
        for (i, loss) in self.loss.iter().enumerate() {
            let iteration = i + 1;
            csv.push_str(&format!("{iteration},{loss}"));
            match evaluations.next_if(|e| e.iteration == iteration) {
                Some(e) => csv.push_str(&format!(",{},{},{}\n", e.epoch, e.train_acc, e.test_acc)),
                None => csv.push_str(",,,\n"),
            }
        }
        csv
    }
}

/// Hears about training as it goes (a progress bar, log lines, or nothing), and may ask it
/// to stop.
pub trait Progress {
    /// After each step: `done` of `total` steps, and the step's loss.
    fn on_step(&mut self, _done: usize, _total: usize, _loss: f64) {}

    /// After each evaluation.
    fn on_evaluation(&mut self, _evaluation: &Evaluation) {}

    /// Asked after each step but the last: `true` stops the run there, after writing its
    /// checkpoint; [`train`] then returns [`Error::Interrupted`]. The command line answers it
    /// from Ctrl-C.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// A [`Progress`] that says nothing.
pub struct Silent;

impl Progress for Silent {}

/// Trains `network` on `data.train` with `optimizer`, measuring accuracy on both splits
/// once per epoch and after the last step.
///
/// The second core works beside the training loop: it draws and gathers the mini-batches a
/// few steps ahead, and measures the accuracies on a snapshot of the weights, a chunk at a
/// time in between. The results are reported to `progress` in order as they arrive, and
/// are the numbers the same work done in line would give.
///
/// **Errors** if the configuration does not fit the data, the network does not take the
/// data's images, or the loss stops being a finite number (then lower the learning rate;
/// the last checkpoint stays as it was); [`Error::Interrupted`] when `progress` asked to stop.
pub fn train(
    network: &mut dyn Network<f32>,
    optimizer: &mut dyn Optimizer<f32>,
    data: &Mnist,
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<History> {
    run(network, optimizer, data, config, Start::default(), progress)
}

/// Goes on with the run saved in `checkpoint`, to the weights and history it would have
/// reached without stopping. `network` and `optimizer` are built as the checkpoint says
/// ([`crate::checkpoint::read_checkpoint`]); `config` is its configuration (with a
/// checkpoint path of its own, usually the same file).
///
/// **Errors** if the checkpoint does not fit: another network, optimizer, learning rate,
/// configuration or data set; or as [`train`].
pub fn resume(
    network: &mut dyn Network<f32>,
    optimizer: &mut dyn Optimizer<f32>,
    data: &Mnist,
    config: &TrainConfig,
    checkpoint: &Path,
    progress: &mut dyn Progress,
) -> Result<History> {
    let refuse = |message: String| Error::Format { path: checkpoint.to_path_buf(), message };
    let (state, history) = restore_checkpoint(checkpoint, network, optimizer)?;
    let differences = state.config.differences(config);
    if !differences.is_empty() {
        return Err(refuse(format!("its run has {}: resume it as it was", differences.join(", "))));
    }
    if state.learning_rate != optimizer.learning_rate() {
        return Err(refuse(format!(
            "its run has learning rate {}, not {}: resume it as it was",
            state.learning_rate,
            optimizer.learning_rate()
        )));
    }
    let fingerprint = DataFingerprint::of(data);
    if !state.data.same_data(&fingerprint) {
        return Err(refuse(format!(
            "its run trained on other data ({} training and {} test images from {}), not on {}'s",
            state.data.train,
            state.data.test,
            state.data.dir.display(),
            data.dir.display()
        )));
    }
    let start = Start {
        iteration: state.iteration,
        history,
        sampler_position: Some(state.sampler_position),
        data: Some(fingerprint),
        checkpointed: config.checkpoint.as_deref() == Some(checkpoint),
    };
    run(network, optimizer, data, config, start, progress)
}

/// Where a run starts: from nothing, or from a checkpoint.
#[derive(Default)]
struct Start {
    /// Steps done already.
    iteration: usize,
    /// What they measured.
    history: History,
    /// Where the sampler stood after them, to check the replay against.
    sampler_position: Option<u128>,
    /// The data's fingerprint, if known already.
    data: Option<DataFingerprint>,
    /// The run's checkpoint holds this start.
    checkpointed: bool,
}

fn run(
    network: &mut dyn Network<f32>,
    optimizer: &mut dyn Optimizer<f32>,
    data: &Mnist,
    config: &TrainConfig,
    start: Start,
    progress: &mut dyn Progress,
) -> Result<History> {
    let train_size = data.train.len();
    config.validate(train_size)?;
    check_network_takes(network, &data.train)?;
    let iter_per_epoch = config.iter_per_epoch(train_size);
    if start.iteration > config.iterations {
        return Err(Error::invalid(
            "checkpoint",
            format!("it is at iteration {} of a run of {}", start.iteration, config.iterations),
        ));
    }
    let sampler = Sampler::replayed(config, train_size, start.iteration);
    if let Some(saved) = start.sampler_position.filter(|&saved| saved != sampler.position()) {
        return Err(Error::invalid(
            "checkpoint",
            format!(
                "replaying its {} batches ends at position {} of the sampler, not {saved}: \
                 it was written by a version that draws batches otherwise; train the run again",
                start.iteration,
                sampler.position()
            ),
        ));
    }
    let train_eval_size = config.train_eval_size.map_or(train_size, |n| n.min(train_size));
    let test_size = data.test.len();
    let helper = Helper {
        config,
        data,
        train_eval_size,
        test_eval_size: config.test_eval_size.map_or(test_size, |n| n.min(test_size)),
        input_shape: network.input_shape(),
        architecture: network.architecture(),
        sampler,
        made: start.iteration,
    };
    let mut history = start.history;

    std::thread::scope(|scope| {
        let (batch_sender, batches) = mpsc::sync_channel::<Batch>(BATCHES_AHEAD);
        let (snapshots, jobs) = mpsc::channel::<(usize, Vec<ArrayD<f32>>)>();
        let (results, evaluations) = mpsc::channel::<Result<Evaluation>>();
        scope.spawn(move || helper.run(batch_sender, jobs, results));
        let mut measurements = Measurements { results: evaluations, sent: 0, received: 0 };
        let mut checkpoints = Checkpoints {
            path: config.checkpoint.as_deref(),
            // the first checkpoint needs the data's hash: it is taken while the first epoch trains
            hashing: (start.data.is_none() && config.checkpoint.is_some())
                .then(|| scope.spawn(move || DataFingerprint::of(data))),
            fingerprint: start.data,
            waiting: None,
            writing: None,
            last: start.checkpointed.then_some(start.iteration),
            losses_written: if start.checkpointed { start.iteration } else { 0 },
        };

        let base_lr = optimizer.learning_rate();
        for i in start.iteration..config.iterations {
            let batch = batches.recv().expect("the helper makes every batch of the run");
            let mut loss = network.backprop_input(batch.x, &batch.t)? as f64;
            if config.weight_decay > 0.0 {
                loss += network.apply_weight_decay(config.weight_decay) as f64;
            }
            if !loss.is_finite() {
                checkpoints.finish(scope, &mut measurements, &mut history, progress)?;
                return Err(diverged(loss, i + 1, base_lr, config.checkpoint.as_deref(), checkpoints.last));
            }
            optimizer.set_learning_rate(base_lr * config.schedule.factor(i));
            optimizer.update(&mut network.params());
            history.loss.push(loss);
            progress.on_step(i + 1, config.iterations, loss);

            if i % iter_per_epoch == 0 && i + 1 < config.iterations {
                snapshots.send((i + 1, network.snapshot())).expect("the helper runs until the snapshots end");
                measurements.sent += 1;
            }
            let stop = i + 1 < config.iterations && progress.should_stop();
            if checkpoints.path.is_some() && (stop || (i + 1) % iter_per_epoch == 0) {
                let state = TrainingState {
                    iteration: i + 1,
                    config: config.clone(),
                    optimizer: optimizer.name().to_string(),
                    learning_rate: base_lr,
                    optimizer_updates: optimizer.state_mut().updates.map(|u| *u),
                    sampler_position: batch.sampler_position,
                    rngs: network.rngs_mut().into_iter().map(|rng| RngState::of(rng)).collect(),
                    evaluations: Vec::new(), // those up to this step, once they are all measured
                    data: DataFingerprint::default(), // once the hash is taken
                };
                let arrays =
                    CheckpointArrays::capture(network, optimizer, &history, checkpoints.losses_written);
                checkpoints.losses_written = i + 1;
                checkpoints.take(scope, arrays, state, &mut measurements, &mut history, progress)?;
            }
            if stop {
                checkpoints.finish(scope, &mut measurements, &mut history, progress)?;
                return Err(Error::Interrupted {
                    iteration: i + 1,
                    total: config.iterations,
                    checkpoint: config.checkpoint.clone(),
                });
            }
            measurements.record_ready(&mut history, progress)?;
            checkpoints.write_if_complete(scope, &measurements, &history);
        }
        drop(snapshots);
        // the last measurement here, on the final weights, while the helper finishes its own
        let (mut last, input_shape) = (
            Measuring::new(config.iterations, iter_per_epoch, train_eval_size, test_size),
            network.input_shape(),
        );
        let last = loop {
            if let Some(evaluation) = last.next_chunk(network, data, &input_shape)? {
                break evaluation;
            }
        };
        measurements.wait_for(measurements.sent, &mut history, progress)?;
        record(last, &mut history, progress);
        checkpoints.finish(scope, &mut measurements, &mut history, progress)
    })?;
    Ok(history)
}

/// The measurements of the snapshots sent to the helper, as they come back (in order).
struct Measurements {
    results: Receiver<Result<Evaluation>>,
    /// Snapshots sent to be measured.
    sent: usize,
    /// Measurements received and recorded.
    received: usize,
}

impl Measurements {
    /// Records the measurements that have come in, without waiting.
    fn record_ready(&mut self, history: &mut History, progress: &mut dyn Progress) -> Result<()> {
        while let Ok(measured) = self.results.try_recv() {
            self.received += 1;
            record(measured?, history, progress);
        }
        Ok(())
    }

    /// Waits for the first `count` measurements and records them.
    fn wait_for(&mut self, count: usize, history: &mut History, progress: &mut dyn Progress) -> Result<()> {
        while self.received < count {
            let measured = self.results.recv().expect("the helper measures every snapshot");
            self.received += 1;
            record(measured?, history, progress);
        }
        Ok(())
    }
}

/// The run's checkpoints. One is taken at the end of each epoch (and when the run is asked to
/// stop) and written once the accuracies measured up to its step are in: the helper measures
/// them while training goes on, and waiting for it would hold training up. A checkpoint is
/// written (synced to disk) on a thread of its own, one at a time and in order.
struct Checkpoints<'scope, 'a> {
    path: Option<&'a Path>,
    /// The data's fingerprint, or the thread taking it.
    fingerprint: Option<DataFingerprint>,
    hashing: Option<ScopedJoinHandle<'scope, DataFingerprint>>,
    /// A checkpoint taken and not yet written, and how many measurements it waits for.
    waiting: Option<(CheckpointArrays, TrainingState, usize)>,
    writing: Option<ScopedJoinHandle<'scope, Result<()>>>,
    /// The step of the last checkpoint taken.
    last: Option<usize>,
    /// The losses in the loss file once the checkpoints taken are written.
    losses_written: usize,
}

impl<'scope, 'a: 'scope> Checkpoints<'scope, 'a> {
    /// Takes a checkpoint of `arrays` at `state`, to be written once the measurements sent so
    /// far are in, after the last one is written (waiting for its measurements if they are not
    /// in yet, which only happens when the helper is an epoch behind, and for its write, which
    /// has ended by then in practice: 0 ms in each of 16 checkpoints, measured).
    fn take(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        arrays: CheckpointArrays,
        state: TrainingState,
        measurements: &mut Measurements,
        history: &mut History,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        self.finish(scope, measurements, history, progress)?;
        self.last = Some(state.iteration);
        self.waiting = Some((arrays, state, measurements.sent));
        Ok(())
    }

    /// Writes the waiting checkpoint if the measurements it holds are all in.
    fn write_if_complete(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        measurements: &Measurements,
        history: &History,
    ) {
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
            self.writing = Some(scope.spawn(move || arrays.write(path, &state)));
        }
    }

    /// Waits for the measurements the waiting checkpoint holds, writes it, and waits for the
    /// writing to end.
    fn finish(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        measurements: &mut Measurements,
        history: &mut History,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        if let Some((_, _, needs)) = self.waiting {
            measurements.wait_for(needs, history, progress)?;
            self.write_if_complete(scope, measurements, history);
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

/// The error of a loss that is no longer a number, with what to do about it.
fn diverged(
    loss: f64,
    iteration: usize,
    learning_rate: f64,
    checkpoint: Option<&Path>,
    last_checkpoint: Option<usize>,
) -> Error {
    let kept = match (checkpoint, last_checkpoint) {
        (Some(path), Some(at)) => format!("; the checkpoint of iteration {at} stays in {}", path.display()),
        _ => String::new(),
    };
    Error::invalid(
        "training",
        format!(
            "the loss became {loss} at iteration {iteration}: the learning rate {learning_rate} is too high \
             for this network; try a lower --lr{kept}"
        ),
    )
}

/// Mini-batches the helper keeps ready: enough to cover one chunk of evaluation.
const BATCHES_AHEAD: usize = 8;

/// A mini-batch: the images (sparse rows, or a dense array), their labels, and where the
/// sampler stood after drawing it (a checkpoint keeps it).
struct Batch {
    x: Input<f32>,
    t: Vec<usize>,
    sampler_position: u128,
}

/// The second core's share of a training run.
struct Helper<'a> {
    config: &'a TrainConfig,
    data: &'a Mnist,
    train_eval_size: usize,
    test_eval_size: usize,
    input_shape: Vec<usize>,
    architecture: Architecture,
    /// Draws the batches, from where the run starts.
    sampler: Sampler,
    /// Batches made so far (counting those of the steps done before the run started).
    made: usize,
}

impl Helper<'_> {
    /// Keeps `batches` filled and measures each snapshot, a chunk at a time, until both the
    /// run's batches and its snapshots are done (or the training loop has stopped).
    fn run(
        mut self,
        batches: SyncSender<Batch>,
        jobs: Receiver<(usize, Vec<ArrayD<f32>>)>,
        results: Sender<Result<Evaluation>>,
    ) {
        let iter_per_epoch = self.config.iter_per_epoch(self.data.train.len());
        let (mut made, mut waiting): (usize, Option<Batch>) = (self.made, None);
        let mut twin: Box<dyn Network<f32>> = self.architecture.build(None, &mut seeded_rng(0));
        let mut measuring: Option<Measuring> = None;
        let mut jobs_open = true;
        loop {
            // batches first: the training loop waits on them
            while made < self.config.iterations || waiting.is_some() {
                let batch = waiting.take().unwrap_or_else(|| {
                    made += 1;
                    let batch_mask = self.sampler.next_batch();
                    let mut x = if self.config.augment.is_none() {
                        self.data.train.input_batch(&batch_mask, &self.input_shape)
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
                    Ok(()) => continue,
                    Err(TrySendError::Full(batch)) => {
                        waiting = Some(batch);
                        break;
                    }
                    Err(TrySendError::Disconnected(_)) => return, // training stopped early
                }
            }
            // then a chunk of the measurement under way, or a new one
            if measuring.is_none() && jobs_open {
                let all_made = made == self.config.iterations && waiting.is_none();
                let job = if all_made {
                    jobs.recv().map_err(|_| TryRecvError::Disconnected)
                } else {
                    jobs.try_recv()
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
                    // nothing to measure and the queue full: sleep until the training loop
                    // takes a batch. (Waking every few hundred microseconds to look instead
                    // took a core from the training's threads: a DeepConvNet run trained 30%
                    // slower.) A snapshot sent meanwhile waits at most a step.
                    Err(TryRecvError::Empty) => {
                        if let Some(batch) = waiting.take()
                            && batches.send(batch).is_err()
                        {
                            return; // training stopped early
                        }
                    }
                    Err(TryRecvError::Disconnected) => jobs_open = false,
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

/// An accuracy measurement under way: what has been counted so far.
struct Measuring {
    iteration: usize,
    iter_per_epoch: usize,
    train_size: usize,
    test_size: usize,
    train_correct: usize,
    test_correct: usize,
    next: usize,
}

impl Measuring {
    /// Measuring the weights after `iteration` steps, on the first `train_size` training images
    /// and the first `test_size` test images.
    fn new(iteration: usize, iter_per_epoch: usize, train_size: usize, test_size: usize) -> Self {
        Measuring {
            iteration,
            iter_per_epoch,
            train_size,
            test_size,
            train_correct: 0,
            test_correct: 0,
            next: 0,
        }
    }

    /// Counts one more chunk (the training images first, then the test images); returns the
    /// evaluation when all are counted.
    fn next_chunk(
        &mut self,
        network: &mut dyn Network<f32>,
        data: &Mnist,
        input_shape: &[usize],
    ) -> Result<Option<Evaluation>> {
        let (train_size, test_size) = (self.train_size, self.test_size.min(data.test.len()));
        if self.next < train_size {
            let chunk = self.next..(self.next + EVAL_CHUNK).min(train_size);
            self.train_correct += count_correct(network, &data.train, chunk.clone(), input_shape)?;
            self.next = chunk.end;
        } else if self.next < train_size + test_size {
            let chunk = self.next - train_size..(self.next - train_size + EVAL_CHUNK).min(test_size);
            self.test_correct += count_correct(network, &data.test, chunk.clone(), input_shape)?;
            self.next = train_size + chunk.end;
        }
        if self.next < train_size + test_size {
            return Ok(None);
        }
        Ok(Some(Evaluation {
            iteration: self.iteration,
            epoch: self.iteration as f64 / self.iter_per_epoch as f64,
            train_acc: self.train_correct as f64 / train_size.max(1) as f64,
            test_acc: self.test_correct as f64 / test_size.max(1) as f64,
        }))
    }
}

fn record(evaluation: Evaluation, history: &mut History, progress: &mut dyn Progress) {
    progress.on_evaluation(&evaluation);
    history.evaluations.push(evaluation);
}

/// Draws the mini-batches of a run, with replacement or in shuffled epochs.
struct Sampler {
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
    fn replayed(config: &TrainConfig, train_size: usize, steps: usize) -> Self {
        let mut sampler = Sampler::new(config, train_size);
        for _ in 0..steps {
            sampler.next_batch();
        }
        sampler
    }

    /// Where the generator stands in its stream, in 32-bit words.
    fn position(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// The indices of the next mini-batch (the book's `batch_mask`).
    fn next_batch(&mut self) -> Vec<usize> {
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

/// Images evaluated per forward pass: enough to amortise the per-call work, few enough that
/// the chunk's `f32` copy (1.5 MB) stays in the cache.
pub const EVAL_CHUNK: usize = 500;

/// The accuracy of `network` on all of `data`, in chunks, in inference mode.
///
/// **Errors** if the network does not take the data's images, the data has no images, or a
/// label is not one of the network's classes.
pub fn evaluate(network: &mut dyn Network<f32>, data: &Dataset) -> Result<f64> {
    check_network_takes(network, data)?;
    if data.is_empty() {
        return Err(Error::invalid("data", "the set has no images: there is no accuracy to measure"));
    }
    let classes = network.architecture().output_size();
    if let Some((index, label)) = data.labels.iter().enumerate().find(|&(_, &l)| l as usize >= classes) {
        let outside = data.labels.iter().filter(|&&l| l as usize >= classes).count();
        return Err(Error::invalid(
            "label",
            format!(
                "image {index} is labelled {label}, but the network has {classes} classes (0 to {}); \
                 {outside} labels are outside them: the data is not the network's",
                classes - 1
            ),
        ));
    }
    let input_shape = network.input_shape();
    // fewer at once where one image's activations are large (a wide padding), to stay in budget
    let chunk = network.architecture().eval_chunk(EVAL_CHUNK);
    let mut correct = 0;
    for start in (0..data.len()).step_by(chunk) {
        correct += count_correct(network, data, start..(start + chunk).min(data.len()), &input_shape)?;
    }
    Ok(correct as f64 / data.len().max(1) as f64)
}

/// How many of images `chunk` of `data` the network classifies right.
fn count_correct(
    network: &mut dyn Network<f32>,
    data: &Dataset,
    chunk: Range<usize>,
    input_shape: &[usize],
) -> Result<usize> {
    let indices: Vec<usize> = chunk.collect();
    let y = network.forward_input(data.input_batch(&indices, input_shape), false)?;
    let classes = y.len() / indices.len().max(1);
    let y = y.into_shape_with_order((indices.len(), classes)).expect("scores are (N, C)");
    Ok(indices.iter().zip(y.rows()).filter(|&(&i, row)| argmax(row) == data.labels[i] as usize).count())
}

fn check_network_takes(network: &dyn Network<f32>, data: &Dataset) -> Result<()> {
    let needs: usize = network.input_shape().iter().product();
    if needs != data.sample_size() {
        return Err(Error::shape(
            format!("{} input", network.name()),
            format!("{needs} values per image"),
            format!(
                "images of {}x{} = {} pixels",
                data.image_shape.0,
                data.image_shape.1,
                data.sample_size()
            ),
        ));
    }
    Ok(())
}
