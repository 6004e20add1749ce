//! `dropout`: the book's `ch06/overfit_dropout.py` (figure 6-23).
//!
//! The first 300 training images; `MultiLayerNet` 784-100×6-10 (ReLU, He) with dropout of
//! ratio 0.2 after each hidden layer (the book's form: scaled at test time); the book's
//! `Trainer` with SGD lr 0.01, mini-batches of 100, 301 epochs; train accuracy (300 images)
//! and test accuracy (all 10,000) at the start of each epoch; without dropout and with it.

use super::shared::{
    NamedCurves, Report, available_threads, first_images, overfitting_report, parallel_map, train_with_sgd,
};
use crate::data::Mnist;
use crate::error::Result;
use crate::layers::DropoutMode;
use crate::nets::{DropoutConfig, MultiLayerNetConfig};
use crate::train::EpochTraining;

/// The experiment's setup. `Default` is the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct DropoutExperimentConfig {
    /// Training images used: the first this many.
    pub train_size: usize,
    /// The hidden layers (ReLU, He initialisation).
    pub hidden_size_list: Vec<usize>,
    /// The dropout of the regularised run.
    pub dropout: DropoutConfig,
    /// SGD's learning rate.
    pub lr: f64,
    /// Batch size and epochs.
    pub training: EpochTraining,
    /// The seed of the weights and the batches, the same for both runs.
    pub seed: u64,
    /// Runs trained at once.
    pub threads: usize,
}

impl Default for DropoutExperimentConfig {
    fn default() -> Self {
        DropoutExperimentConfig {
            train_size: 300,
            hidden_size_list: vec![100; 6],
            dropout: DropoutConfig { ratio: 0.2, mode: DropoutMode::Book },
            lr: 0.01,
            training: EpochTraining { batch_size: 100, epochs: 301 },
            seed: 0,
            threads: available_threads(),
        }
    }
}

/// Trains without and with dropout, from the same weights on the same batches.
///
/// **Errors** if there are fewer images than `train_size`, or the network does not take them.
pub fn compare_dropout(data: &Mnist, config: &DropoutExperimentConfig) -> Result<Vec<NamedCurves>> {
    let train = first_images(&data.train, config.train_size)?;
    let runs = vec![
        ("without dropout".to_string(), None),
        (format!("dropout ratio {}", config.dropout.ratio), Some(config.dropout)),
    ];
    parallel_map(runs, config.threads, |(name, dropout)| {
        let net = MultiLayerNetConfig {
            input_size: train.sample_size(),
            hidden_size_list: config.hidden_size_list.clone(),
            output_size: data.classes,
            dropout,
            ..MultiLayerNetConfig::default()
        };
        let test = Some(&data.test);
        let curves = train_with_sgd(
            (&net, net.default_init()),
            config.lr,
            &train,
            test,
            &config.training,
            0.0,
            config.seed,
        )?;
        Ok((name, curves))
    })
    .into_iter()
    .collect()
}

/// What the run prints and writes: each run's last train and test accuracy and their gap,
/// `dropout.png` and `dropout.csv`.
///
/// **Errors** if the figure cannot be drawn.
pub fn report(runs: &[NamedCurves]) -> Result<Report> {
    overfitting_report("dropout", runs)
}
