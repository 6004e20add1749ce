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

use rand::RngExt;
use rand::seq::SliceRandom;

use crate::data::{Dataset, Mnist};
use crate::error::Result;
use crate::nets::Network;
use crate::optim::Optimizer;
use crate::targets::argmax;
use crate::{Error, seeded_rng};

/// How mini-batches are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// `np.random.choice(train_size, batch_size)`: each batch drawn anew, with replacement (the seed's).
    WithReplacement,
    /// Each epoch visits every image once, in a new random order (the book's `Trainer`).
    ShuffledEpochs,
}

/// What to train for. `Default` is the seed's job: batch 100, 10,000 iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Images per mini-batch.
    pub batch_size: usize,
    /// Steps to take.
    pub iterations: usize,
    /// The seed of the mini-batch draws (the network's weights are drawn by its builder).
    pub seed: u64,
    /// How batches are drawn.
    pub sampling: Sampling,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { batch_size: 100, iterations: 10_000, seed: 0, sampling: Sampling::WithReplacement }
    }
}

impl TrainConfig {
    /// The book's `iter_per_epoch = max(train_size / batch_size, 1)`.
    pub fn iter_per_epoch(&self, train_size: usize) -> usize {
        (train_size / self.batch_size.max(1)).max(1)
    }

    /// Checks the configuration against a training set of `train_size` images.
    pub fn validate(&self, train_size: usize) -> Result<()> {
        if self.batch_size == 0 || self.batch_size > train_size {
            return Err(Error::invalid(
                "batch size",
                format!(
                    "{} is not between 1 and the {train_size} training images; the seed uses 100",
                    self.batch_size
                ),
            ));
        }
        if self.iterations == 0 {
            return Err(Error::invalid("iterations", "0: train for at least one step"));
        }
        Ok(())
    }
}

/// Train and test accuracy at one point of training.
#[derive(Debug, Clone, PartialEq)]
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

/// Hears about training as it goes: a progress bar, log lines, or nothing.
pub trait Progress {
    /// After each step: `done` of `total` steps, and the step's loss.
    fn on_step(&mut self, _done: usize, _total: usize, _loss: f64) {}

    /// After each evaluation.
    fn on_evaluation(&mut self, _evaluation: &Evaluation) {}
}

/// A [`Progress`] that says nothing.
pub struct Silent;

impl Progress for Silent {}

/// Trains `network` on `data.train` with `optimizer`, measuring accuracy on both splits
/// once per epoch and after the last step.
///
/// **Errors** if the configuration does not fit the data, the network does not take the
/// data's images, or the loss stops being a finite number (then lower the learning rate).
pub fn train(
    network: &mut dyn Network<f32>,
    optimizer: &mut dyn Optimizer<f32>,
    data: &Mnist,
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<History> {
    let train_size = data.train.len();
    config.validate(train_size)?;
    check_network_takes(network, &data.train)?;
    let input_shape = network.input_shape();
    let iter_per_epoch = config.iter_per_epoch(train_size);

    let mut rng = seeded_rng(config.seed);
    rng.set_stream(1); // a stream of its own, apart from the one that drew the weights
    let mut order: Vec<usize> = (0..train_size).collect();
    let mut next_in_order = train_size;
    let mut history = History::default();
    for i in 0..config.iterations {
        let batch_mask: Vec<usize> = match config.sampling {
            Sampling::WithReplacement => {
                (0..config.batch_size).map(|_| rng.random_range(0..train_size)).collect()
            }
            Sampling::ShuffledEpochs => {
                if next_in_order + config.batch_size > train_size {
                    order.shuffle(&mut rng);
                    next_in_order = 0;
                }
                next_in_order += config.batch_size;
                order[next_in_order - config.batch_size..next_in_order].to_vec()
            }
        };
        let x_batch = data.train.batch(&batch_mask, &input_shape);
        let t_batch = data.train.labels_of(&batch_mask);

        let loss = network.backprop(x_batch, &t_batch)? as f64;
        if !loss.is_finite() {
            return Err(Error::invalid(
                "training",
                format!(
                    "the loss became {loss} at iteration {}: the learning rate {} is too high for this network; try a lower --lr",
                    i + 1,
                    optimizer.learning_rate()
                ),
            ));
        }
        optimizer.update(&mut network.params());
        history.loss.push(loss);
        progress.on_step(i + 1, config.iterations, loss);

        if i % iter_per_epoch == 0 || i + 1 == config.iterations {
            let evaluation = Evaluation {
                iteration: i + 1,
                epoch: (i + 1) as f64 / iter_per_epoch as f64,
                train_acc: evaluate(network, &data.train)?,
                test_acc: evaluate(network, &data.test)?,
            };
            progress.on_evaluation(&evaluation);
            history.evaluations.push(evaluation);
        }
    }
    Ok(history)
}

/// Images evaluated per forward pass: large enough for an efficient matrix multiply, small
/// enough that the `f32` copy of a chunk stays a few megabytes.
const EVAL_CHUNK: usize = 2000;

/// The accuracy of `network` on all of `data`, in chunks, in inference mode.
pub fn evaluate(network: &mut dyn Network<f32>, data: &Dataset) -> Result<f64> {
    check_network_takes(network, data)?;
    let input_shape = network.input_shape();
    let mut correct = 0;
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(EVAL_CHUNK) {
        let y = network.forward(data.batch(chunk, &input_shape), false)?;
        let classes = y.len() / chunk.len();
        let y = y.into_shape_with_order((chunk.len(), classes)).expect("scores are (N, C)");
        correct +=
            chunk.iter().zip(y.rows()).filter(|&(&i, row)| argmax(row) == data.labels[i] as usize).count();
    }
    Ok(correct as f64 / data.len().max(1) as f64)
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
