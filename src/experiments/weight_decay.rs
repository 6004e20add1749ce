//! `weight-decay`: the book's `ch06/overfit_weight_decay.py` (figures 6-20 and 6-21).
//!
//! The first 300 training images; `MultiLayerNet` 784-100×6-10 (ReLU, He); SGD lr 0.01,
//! mini-batches of 100, 201 epochs; train accuracy (300 images) and test accuracy (all
//! 10,000) at the start of each epoch; without weight decay, and with `λ = 0.1`.

use super::shared::{
    NamedCurves, Report, available_threads, first_images, overfitting_report, parallel_map, train_with_sgd,
};
use crate::data::Mnist;
use crate::error::Result;
use crate::nets::MultiLayerNetConfig;
use crate::train::EpochTraining;

/// The experiment's setup. `Default` is the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightDecayConfig {
    /// Training images used: the first this many.
    pub train_size: usize,
    /// The hidden layers (ReLU, He initialisation).
    pub hidden_size_list: Vec<usize>,
    /// The weight decay `λ` of the regularised run.
    pub weight_decay_lambda: f64,
    /// SGD's learning rate.
    pub lr: f64,
    /// Batch size and epochs.
    pub training: EpochTraining,
    /// The seed of the weights and the batches, the same for both runs.
    pub seed: u64,
    /// Runs trained at once.
    pub threads: usize,
}

impl Default for WeightDecayConfig {
    fn default() -> Self {
        WeightDecayConfig {
            train_size: 300,
            hidden_size_list: vec![100; 6],
            weight_decay_lambda: 0.1,
            lr: 0.01,
            training: EpochTraining { batch_size: 100, epochs: 201 },
            seed: 0,
            threads: available_threads(),
        }
    }
}

/// Trains without and with weight decay, from the same weights on the same batches.
///
/// **Errors** if there are fewer images than `train_size`, or the network does not take them.
pub fn compare_weight_decay(data: &Mnist, config: &WeightDecayConfig) -> Result<Vec<NamedCurves>> {
    let train = first_images(&data.train, config.train_size)?;
    let runs = vec![
        ("without weight decay".to_string(), 0.0),
        (format!("weight decay λ={}", config.weight_decay_lambda), config.weight_decay_lambda),
    ];
    parallel_map(runs, config.threads, |(name, weight_decay)| {
        let net = MultiLayerNetConfig {
            input_size: train.sample_size(),
            hidden_size_list: config.hidden_size_list.clone(),
            output_size: data.classes,
            ..MultiLayerNetConfig::default()
        };
        let test = Some(&data.test);
        let curves = train_with_sgd(
            (&net, net.default_init()),
            config.lr,
            &train,
            test,
            &config.training,
            weight_decay,
            config.seed,
        )?;
        Ok((name, curves))
    })
    .into_iter()
    .collect()
}

/// What the run prints and writes: each run's last train and test accuracy and their gap,
/// `weight-decay.png` and `weight-decay.csv`.
///
/// **Errors** if the figure cannot be drawn.
pub fn report(runs: &[NamedCurves]) -> Result<Report> {
    overfitting_report("weight-decay", runs)
}
