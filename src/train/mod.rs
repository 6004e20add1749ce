//! Training: the book's loop (chapter 4.5, and its `Trainer`): draw a mini-batch, take the
//! gradients, update, and once per epoch measure train and test accuracy.
//!
//! ```text
//! iter_per_epoch = max(train_size / batch_size, 1)
//! for i in 0..iterations:
//!     batch_mask = np.random.choice(train_size, batch_size)    # or shuffled epochs
//!     loss = network.backprop(x_batch, t_batch); optimizer.update(network.params())
//!     if i % iter_per_epoch == 0 (and after the last step): train acc, test acc
//! ```
//!
//! **The readable version is [`book`]**: [`train_epochs`], the book's loop as its scripts
//! write it, on one thread. [`train`] runs the same steps for the command line, faster and
//! safer: the batches are gathered and the accuracies measured on the second core, and a
//! checkpoint is written each epoch, from which [`resume`] goes on to the same weights.
//!
//! | file | what | the book's |
//! | --- | --- | --- |
//! | [`book`] | the plain epoch loop: [`train_epochs`] | `Trainer`, `ch06/overfit_*.py` |
//! | `trainer` | the loop of [`train`] and [`resume`]: draw, step, measure, checkpoint | `Trainer.train_step` |
//! | `config` | [`TrainConfig`], [`Sampling`] | `batch_size`, `iters_num` |
//! | `recipe` | [`Recipe`]: each network's optimizer, rate, run length ... (`mitbadak train`'s defaults) | the scripts' settings |
//! | `history` | [`History`], [`Evaluation`], [`Progress`] | `train_loss_list`, `train_acc_list` |
//! | `sampler` | drawing the batches: [`choose_batch`], [`iter_per_epoch`] | `np.random.choice` |
//! | `batch` | gathering them, sparse or dense: [`input_batch`] | `x_train[batch_mask]` |
//! | `evaluate` | accuracy in chunks: [`evaluate`] | `network.accuracy` |
//! | `pipeline` | the helper thread: batches ahead, measurements on a snapshot | |
//! | [`checkpoint`] | what a checkpoint file holds, and reading it back | |
//! | `checkpoint_writer` | when checkpoints are written, in order | |
//!
//! The files depend on each other one way only: `config`, `history`, `sampler` and `batch` on
//! nothing here; `recipe` on `config`; `evaluate` and `checkpoint` on those; `pipeline` and `book` on `evaluate`,
//! `sampler` and `batch`; `checkpoint_writer` on `checkpoint` and `pipeline`; `trainer` on all.

mod batch;
pub mod book;
pub mod checkpoint;
mod checkpoint_writer;
mod config;
mod evaluate;
mod history;
mod pipeline;
mod recipe;
mod sampler;
mod trainer;

pub use batch::input_batch;
pub use book::{AccuracyCurves, EpochTraining, train_epochs};
pub use config::{Sampling, TrainConfig};
pub use evaluate::{EVAL_CHUNK, evaluate};
pub use history::{Evaluation, History, Progress, Silent};
pub use recipe::{CONV_TRAIN_EVAL_SIZE, Goal, Recipe, RunLength};
pub use sampler::{choose_batch, iter_per_epoch};
pub use trainer::{resume, train};
