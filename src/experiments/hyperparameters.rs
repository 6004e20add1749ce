//! `hyperparameters`: the book's `ch06/hyperparameter_optimization.py` (figure 6-24).
//!
//! The first 500 training images, shuffled, the first 20% of them kept for validation;
//! `MultiLayerNet` 784-100×6-10 (ReLU, He); 100 trials of random search, each with weight
//! decay `10^U(-8, -4)` and learning rate `10^U(-6, -2)`, trained by the book's `Trainer`
//! with SGD, mini-batches of 100, 50 epochs; ranked by the validation accuracy of the last
//! epoch.

use std::ops::Range;

use rand::RngExt;
use rand::seq::SliceRandom;

use super::shared::{
    Report, accuracy_panel, available_threads, epoch_points, first_images, last, parallel_map, train_with_sgd,
};
use crate::data::Mnist;
use crate::error::Result;
use crate::nets::MultiLayerNetConfig;
use crate::plot::{Figure, Line, figure_png};
use crate::rng_stream;
use crate::train::{AccuracyCurves, EpochTraining};

/// The search's setup. `Default` is the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct HyperparametersConfig {
    /// Images used: the first this many, shuffled, then split.
    pub train_size: usize,
    /// The share of them kept for validation.
    pub validation_rate: f64,
    /// The hidden layers (ReLU, He initialisation).
    pub hidden_size_list: Vec<usize>,
    /// Trials of random search.
    pub trials: usize,
    /// The learning rate is `10^u`, `u` uniform in this range.
    pub lr_exponents: Range<f64>,
    /// The weight decay is `10^u`, `u` uniform in this range.
    pub weight_decay_exponents: Range<f64>,
    /// Batch size and epochs of each trial.
    pub training: EpochTraining,
    /// The seed of the shuffle and the draws of the search, and of the weights and batches,
    /// which are the same for every trial, so that only the hyperparameters differ.
    pub seed: u64,
    /// Trials trained at once.
    pub threads: usize,
}

impl Default for HyperparametersConfig {
    fn default() -> Self {
        HyperparametersConfig {
            train_size: 500,
            validation_rate: 0.2,
            hidden_size_list: vec![100; 6],
            trials: 100,
            lr_exponents: -6.0..-2.0,
            weight_decay_exponents: -8.0..-4.0,
            training: EpochTraining { batch_size: 100, epochs: 50 },
            seed: 0,
            threads: available_threads(),
        }
    }
}

/// One trial of the search: its hyperparameters, and its train and validation accuracy per
/// epoch (validation in `test_acc`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// SGD's learning rate.
    pub lr: f64,
    /// The weight decay `λ`.
    pub weight_decay: f64,
    /// The accuracies per epoch; `test_acc` holds the validation accuracy.
    pub curves: AccuracyCurves,
}

impl Trial {
    /// The validation accuracy of the last epoch, by which trials are ranked.
    pub fn val_acc(&self) -> f64 {
        last(&self.curves.test_acc)
    }
}

/// The stream the shuffle and the hyperparameters are drawn from.
const SEARCH_STREAM: u64 = 2;

/// Runs the random search, `threads` trials at once. Returns the trials in the order drawn.
///
/// **Errors** if there are fewer images than `train_size`, or the network does not take them.
pub fn search(data: &Mnist, config: &HyperparametersConfig) -> Result<Vec<Trial>> {
    let mut rng = rng_stream(config.seed, SEARCH_STREAM);
    // x_train, t_train = shuffle_dataset(x_train[:500], t_train[:500]), then the split
    let mut order: Vec<usize> = (0..config.train_size).collect();
    let all = first_images(&data.train, config.train_size)?;
    order.shuffle(&mut rng);
    let validation_num = (config.train_size as f64 * config.validation_rate) as usize;
    let (val, train) = (all.subset(&order[..validation_num]), all.subset(&order[validation_num..]));
    // weight_decay = 10 ** np.random.uniform(-8, -4); lr = 10 ** np.random.uniform(-6, -2)
    let draws: Vec<(f64, f64)> = (0..config.trials)
        .map(|_| {
            let weight_decay = 10f64.powf(rng.random_range(config.weight_decay_exponents.clone()));
            let lr = 10f64.powf(rng.random_range(config.lr_exponents.clone()));
            (lr, weight_decay)
        })
        .collect();
    let net = MultiLayerNetConfig {
        input_size: train.sample_size(),
        hidden_size_list: config.hidden_size_list.clone(),
        output_size: data.classes,
        ..MultiLayerNetConfig::default()
    };
    parallel_map(draws, config.threads, |(lr, weight_decay)| {
        let curves = train_with_sgd(
            (&net, net.default_init()),
            lr,
            &train,
            Some(&val),
            &config.training,
            weight_decay,
            config.seed,
        )?;
        Ok(Trial { lr, weight_decay, curves })
    })
    .into_iter()
    .collect()
}

/// The trials from the best validation accuracy down (ties in the order drawn, as Python's
/// stable `sorted(..., reverse=True)`).
pub fn ranked(trials: &[Trial]) -> Vec<&Trial> {
    let mut ranked: Vec<&Trial> = trials.iter().collect();
    ranked.sort_by(|a, b| b.val_acc().total_cmp(&a.val_acc()));
    ranked
}

/// The trials the figure and the printout show: the book's 20 best.
pub const SHOWN: usize = 20;

/// What the run prints and writes: the book's `Best-k(val acc:...) | lr:..., weight decay:...`
/// lines for the 20 best trials, `hyperparameters.png` (their curves, validation solid and
/// train dashed, in a 4×5 grid) and `hyperparameters.csv`
/// (`trial,lr,weight_decay,epoch,train_acc,val_acc`, every trial in the order drawn).
///
/// **Errors** if the figure cannot be drawn.
pub fn report(trials: &[Trial]) -> Result<Report> {
    let best = ranked(trials);
    let mut text = String::from("=========== Hyper-Parameter Optimization Result ===========\n");
    for (i, trial) in best.iter().take(SHOWN).enumerate() {
        text.push_str(&format!(
            "Best-{}(val acc:{:.2}) | lr:{:.3e}, weight decay:{:.3e}\n",
            i + 1,
            trial.val_acc(),
            trial.lr,
            trial.weight_decay
        ));
    }
    let top: Vec<f64> = best.iter().take(10).map(|t| t.lr.log10()).collect();
    if let (Some(low), Some(high)) =
        (top.iter().copied().reduce(f64::min), top.iter().copied().reduce(f64::max))
    {
        text.push_str(&format!(
            "the {} best have lr between 10^{low:.2} and 10^{high:.2} ({:.1e} to {:.1e})\n",
            top.len(),
            10f64.powf(low),
            10f64.powf(high)
        ));
    }

    let mut csv = String::from("trial,lr,weight_decay,epoch,train_acc,val_acc\n");
    for (k, trial) in trials.iter().enumerate() {
        for (epoch, (train, val)) in trial.curves.train_acc.iter().zip(&trial.curves.test_acc).enumerate() {
            csv.push_str(&format!("{k},{},{},{epoch},{train},{val}\n", trial.lr, trial.weight_decay));
        }
    }
    Ok(Report {
        name: "hyperparameters",
        text,
        files: vec![
            ("hyperparameters.png".into(), figure_png(&figure(&best))?),
            ("hyperparameters.csv".into(), csv.into_bytes()),
        ],
    })
}

/// Figure 6-24: the best 20 in a 4×5 grid, validation accuracy solid and training accuracy
/// dashed (the book's script plots the last trial's training curve in every panel; here
/// each panel has its own).
fn figure(best: &[&Trial]) -> Figure {
    let panels = best
        .iter()
        .take(SHOWN)
        .enumerate()
        .map(|(i, trial)| {
            let panel = accuracy_panel(format!("Best-{}", i + 1), trial.curves.train_acc.len())
                .line(Line::new("", epoch_points(&trial.curves.test_acc), 0))
                .line(Line::new("", epoch_points(&trial.curves.train_acc), 1).dashed());
            if i % 5 == 0 { panel } else { panel.without_tick_labels() }
        })
        .collect();
    Figure { size: (1500, 1000), columns: 5, panels }
}
