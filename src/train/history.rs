//! What a training run measured ([`History`]: the book's `train_loss_list`, `train_acc_list`,
//! `test_acc_list`), and who hears about it as it goes ([`Progress`]).

use serde::{Deserialize, Serialize};

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
    /// checkpoint; [`super::train`] then returns [`crate::Error::Interrupted`]. The command line answers it
    /// from Ctrl-C.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// A [`Progress`] that says nothing.
pub struct Silent;

impl Progress for Silent {}
