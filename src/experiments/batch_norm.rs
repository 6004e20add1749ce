//! `batch-norm`: the book's `ch06/batch_norm_test.py` (figure 6-19).
//!
//! The first 1000 training images; `MultiLayerNet` 784-100×5-10 (ReLU) with weights drawn
//! with each of 16 standard deviations from 1 down to 0.0001 (`np.logspace(0, -4, 16)`),
//! with and without batch normalisation; SGD lr 0.01, mini-batches of 100, 20 epochs; the
//! training accuracy at the start of each epoch.

use super::shared::{
    Report, accuracy_panel, available_threads, epoch_points, first_images, last, parallel_map, train_with_sgd,
};
use crate::data::Mnist;
use crate::error::Result;
use crate::nets::{MultiLayerNetConfig, WeightInit};
use crate::plot::{Corner, Figure, Line, Marker, figure_png};
use crate::train::{AccuracyCurves, EpochTraining};

/// The experiment's setup. `Default` is the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormConfig {
    /// Training images used: the first this many.
    pub train_size: usize,
    /// The hidden layers.
    pub hidden_size_list: Vec<usize>,
    /// The weights' standard deviations tried.
    pub weight_scales: Vec<f64>,
    /// SGD's learning rate.
    pub lr: f64,
    /// Batch size and epochs.
    pub training: EpochTraining,
    /// The seed of the weights (the same standard normal draws, scaled by each std) and the
    /// batches (the same for every run, as the book trains both networks on each batch).
    pub seed: u64,
    /// Runs trained at once.
    pub threads: usize,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            train_size: 1000,
            hidden_size_list: vec![100; 5],
            weight_scales: logspace(0.0, -4.0, 16),
            lr: 0.01,
            training: EpochTraining { batch_size: 100, epochs: 20 },
            seed: 0,
            threads: available_threads(),
        }
    }
}

/// NumPy's `np.logspace(start, stop, num)`: `num` powers of 10, evenly spaced exponents.
pub fn logspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let step = if num > 1 { (stop - start) / (num - 1) as f64 } else { 0.0 };
    (0..num).map(|i| 10f64.powf(start + step * i as f64)).collect()
}

/// The training accuracy per epoch at one weight scale, without and with batch normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleRun {
    /// The weights' standard deviation.
    pub weight_std: f64,
    /// Without batch normalisation.
    pub plain: Vec<f64>,
    /// With batch normalisation.
    pub batch_norm: Vec<f64>,
}

/// Trains the 2 × 16 networks, on `threads` threads.
///
/// **Errors** if there are fewer images than `train_size`, or a network does not take them.
pub fn compare_batch_norm(data: &Mnist, config: &BatchNormConfig) -> Result<Vec<ScaleRun>> {
    let train = first_images(&data.train, config.train_size)?;
    let jobs: Vec<(f64, bool)> =
        config.weight_scales.iter().flat_map(|&std| [(std, false), (std, true)]).collect();
    let curves = parallel_map(jobs, config.threads, |(std, use_batchnorm)| -> Result<AccuracyCurves> {
        let net = MultiLayerNetConfig {
            input_size: train.sample_size(),
            hidden_size_list: config.hidden_size_list.clone(),
            output_size: data.classes,
            use_batchnorm,
            ..MultiLayerNetConfig::default()
        };
        train_with_sgd(
            (&net, WeightInit::Std(std)),
            config.lr,
            &train,
            None,
            &config.training,
            0.0,
            config.seed,
        )
    });
    let mut curves = curves.into_iter();
    config
        .weight_scales
        .iter()
        .map(|&weight_std| {
            let (plain, batch_norm) =
                (curves.next().expect("two runs per scale"), curves.next().expect("two"));
            Ok(ScaleRun { weight_std, plain: plain?.train_acc, batch_norm: batch_norm?.train_acc })
        })
        .collect()
}

/// What the run prints and writes: the last epoch's training accuracy per weight scale with
/// and without batch normalisation, `batch-norm.png` (the book's 4×4 grid) and
/// `batch-norm.csv` (`weight_std,series,epoch,train_acc`).
///
/// **Errors** if the figure cannot be drawn.
pub fn report(runs: &[ScaleRun]) -> Result<Report> {
    let mut text = String::from("train accuracy after the last epoch, per weight init std:\n");
    text.push_str(&format!("{:>10} {:>10} {:>10}\n", "W std", "without BN", "with BN"));
    for run in runs {
        let (plain, bn) = (last(&run.plain), last(&run.batch_norm));
        text.push_str(&format!("{:>10.6} {plain:>10.3} {bn:>10.3}\n", run.weight_std));
    }
    let ahead = runs.iter().filter(|r| last(&r.batch_norm) > last(&r.plain)).count();
    text.push_str(&format!("batch normalisation ahead at {ahead} of {} weight scales\n", runs.len()));

    let mut csv = String::from("weight_std,series,epoch,train_acc\n");
    for run in runs {
        for (series, accuracies) in [("without BN", &run.plain), ("with BN", &run.batch_norm)] {
            for (epoch, acc) in accuracies.iter().enumerate() {
                csv.push_str(&format!("{},{series},{epoch},{acc}\n", run.weight_std));
            }
        }
    }
    Ok(Report {
        name: "batch-norm",
        text,
        files: vec![
            ("batch-norm.png".into(), figure_png(&figure(runs))?),
            ("batch-norm.csv".into(), csv.into_bytes()),
        ],
    })
}

/// Figure 6-19: one panel per scale, batch normalisation solid, without it dashed, accuracy
/// from 0 to 1, the legend in the last panel.
fn figure(runs: &[ScaleRun]) -> Figure {
    let panels = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let mut panel = accuracy_panel(format!("W:{:.4}", run.weight_std), run.plain.len())
                .line(
                    Line::new("Batch Normalization", epoch_points(&run.batch_norm), 0)
                        .marked(Marker::Circle, 2),
                )
                .line(Line::new("Normal (without BatchNorm)", epoch_points(&run.plain), 1).dashed());
            if i == runs.len() - 1 {
                panel = panel.legend(Corner::LowerRight);
            }
            if i % 4 != 0 {
                panel = panel.without_tick_labels();
            }
            panel
        })
        .collect();
    Figure { size: (1400, 1100), columns: 4, panels }
}
