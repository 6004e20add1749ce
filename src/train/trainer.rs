//! The training loop, as the book's `Trainer.train_step` runs it: draw a mini-batch, take
//! the gradients and step, measure train and test accuracy once per epoch, and (beyond the
//! book) write a checkpoint once per epoch, from which [`resume`] goes on.
//!
//! The drawing and gathering of the batches and the measuring run on the second core
//! ([`super::pipeline`]); the checkpoints are written in order, once their measurements are
//! in ([`super::checkpoint_writer`]). The loop itself is the book's.

use std::path::Path;

use super::checkpoint::{DataFingerprint, TrainingState, restore_checkpoint};
use super::checkpoint_writer::CheckpointWriter;
use super::config::TrainConfig;
use super::evaluate::{Measuring, check_network_takes};
use super::history::{History, Progress};
use super::pipeline::{Helper, record};
use super::sampler::Sampler;
use crate::Error;
use crate::data::Mnist;
use crate::error::Result;
use crate::nets::Network;
use crate::nets::Trainable;
use crate::optim::Optimizer;

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
///
/// ```
/// use mitbadak::data::{Dataset, Mnist};
/// use mitbadak::prelude::*;
/// use mitbadak::optim::Sgd;
/// use mitbadak::train::{Silent, TrainConfig, train};
///
/// // 2x2 images of two classes: class 0 lights the top left pixel, class 1 the bottom right
/// let mut split = Dataset::new((2, 2));
/// split.push_images(&[255, 0, 0, 0, 0, 0, 0, 255].repeat(50));
/// split.labels = [0, 1].repeat(50);
/// let data = Mnist { train: split.clone(), test: split, classes: 2, dir: "toy".into() };
///
/// let mut network = TwoLayerNet::<f32>::new(4, 8, 2, 0.1, &mut seeded_rng(0));
/// let config = TrainConfig { batch_size: 10, iterations: 200, ..TrainConfig::default() };
/// let history = train(&mut network, &mut Sgd::new(0.5), &data, &config, &mut Silent)?;
/// assert_eq!(history.final_test_accuracy(), Some(1.0));
/// assert!(history.loss[199] < history.loss[0] / 10.0);
/// # Ok::<(), mitbadak::Error>(())
/// ```
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
/// ([`super::checkpoint::read_checkpoint`]); `config` is its configuration (with a
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

/// The loop of [`train`] and [`resume`], from `start`.
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
        let (batches, mut measurements) = helper.spawn(scope);
        let checkpointed = start.checkpointed.then_some(start.iteration);
        let mut checkpoints =
            CheckpointWriter::new(scope, config.checkpoint.as_deref(), data, start.data, checkpointed);

        let base_lr = optimizer.learning_rate();
        for i in start.iteration..config.iterations {
            // draw: the helper has gathered the batch already
            let batch = batches.recv().expect("the helper makes every batch of the run");
            // step: the gradients by backpropagation, then the update
            let mut loss = network.backprop_input(batch.x, &batch.t)? as f64;
            if config.weight_decay > 0.0 {
                loss += network.apply_weight_decay(config.weight_decay) as f64;
            }
            if !loss.is_finite() {
                checkpoints.finish(&mut measurements, &mut history, progress)?;
                return Err(diverged(loss, i + 1, base_lr, config.checkpoint.as_deref(), checkpoints.last));
            }
            optimizer.set_learning_rate(base_lr * config.schedule.factor(i));
            optimizer.update(&mut network.params());
            history.loss.push(loss);
            progress.on_step(i + 1, config.iterations, loss);

            // measure: once per epoch, on a snapshot, by the helper
            if i % iter_per_epoch == 0 && i + 1 < config.iterations {
                measurements.request(i + 1, network.snapshot());
            }
            // checkpoint: at the end of each epoch, and when asked to stop
            let stop = i + 1 < config.iterations && progress.should_stop();
            if checkpoints.due(i + 1, iter_per_epoch, stop) {
                let state =
                    TrainingState::at(i + 1, config, network, optimizer, base_lr, batch.sampler_position);
                checkpoints.take(network, optimizer, state, &mut measurements, &mut history, progress)?;
            }
            if stop {
                checkpoints.finish(&mut measurements, &mut history, progress)?;
                return Err(Error::Interrupted {
                    iteration: i + 1,
                    total: config.iterations,
                    checkpoint: config.checkpoint.clone(),
                });
            }
            measurements.record_ready(&mut history, progress)?;
            checkpoints.write_if_complete(&measurements, &history);
        }
        measurements.close();
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
        checkpoints.finish(&mut measurements, &mut history, progress)
    })?;
    Ok(history)
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
