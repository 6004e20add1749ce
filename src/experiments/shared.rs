//! What the experiments share: the race of networks on the same mini-batches (the book's
//! `optimizer_compare_mnist.py` loop), the run of its small-data scripts (the epoch loop itself
//! is [`crate::train::book`]'s), `smooth_curve`, running independent runs on several threads,
//! and the report an experiment hands back.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::atomic::write_atomic;
use crate::data::Dataset;
use crate::error::Result;
use crate::nets::Trainable;
use crate::nets::{MultiLayerNet, MultiLayerNetConfig, Network, WeightInit};
use crate::optim::{Optimizer, OptimizerName};
use crate::plot::{Corner, Figure, Line, Marker, Panel, figure_png};
use crate::train::{AccuracyCurves, EpochTraining, choose_batch, input_batch, train_epochs};
use crate::{BATCH_STREAM, Error, WEIGHT_STREAM, rng_stream};

/// What an experiment found: the lines to print (what the book's figure shows) and the files
/// to write (`<name>.png`, `<name>.csv`, and any further figure).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The experiment's name, as the command line takes it.
    pub name: &'static str,
    /// What to print, line by line.
    pub text: String,
    /// File names and contents.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Report {
    /// Writes the files into `dir` (created if need be), each atomically; returns their paths.
    ///
    /// **Errors** name the file that could not be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        self.files
            .iter()
            .map(|(name, bytes)| {
                let path = dir.join(name);
                write_atomic(&path, bytes).map(|()| path)
            })
            .collect()
    }
}

/// The first `n` images of `set`: the book's `x_train[:n]`.
///
/// **Errors** if `set` has fewer.
pub fn first_images(set: &Dataset, n: usize) -> Result<Dataset> {
    if n > set.len() {
        return Err(Error::invalid(
            "training set",
            format!("the experiment takes the first {n} images, and the data set has {}", set.len()),
        ));
    }
    Ok(set.subset(&(0..n).collect::<Vec<_>>()))
}

/// The cores this machine has: the default number of threads of an experiment.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What is told each time a run of an experiment ends: `(runs done, runs in all)`.
pub type RunDone = dyn Fn(usize, usize) + Send + Sync;

static ON_RUN_DONE: OnceLock<Box<RunDone>> = OnceLock::new();

/// Calls `report(done, total)` whenever a job of [`parallel_map`] (a run of an experiment)
/// ends, from the thread that ran it: `mitbadak experiment` prints a line. It can be set once
/// per process; false if it was set already.
pub fn on_each_run(report: impl Fn(usize, usize) + Send + Sync + 'static) -> bool {
    ON_RUN_DONE.set(Box::new(report)).is_ok()
}

/// `work(job)` for every job, on up to `threads` threads, the results in the jobs' order.
/// Each job is a task of its own (`with_max_len(1)`), so that a thread takes the next job
/// as it finishes one and runs of unequal length even out. With one thread (or one job)
/// everything runs on the calling thread. Each job's end is told as [`on_each_run`] asked.
///
/// **Panics** if the threads cannot be started, or a job panics.
pub fn parallel_map<J: Send, R: Send>(jobs: Vec<J>, threads: usize, work: impl Fn(J) -> R + Sync) -> Vec<R> {
    let (total, done) = (jobs.len(), AtomicUsize::new(0));
    let work = |job: J| {
        let result = work(job);
        let done = done.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(report) = ON_RUN_DONE.get() {
            report(done, total);
        }
        result
    };
    let threads = threads.clamp(1, jobs.len().max(1));
    if threads == 1 {
        return jobs.into_iter().map(work).collect();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("could not start {threads} threads: {e}"));
    pool.install(|| jobs.into_par_iter().with_max_len(1).map(&work).collect())
}

/// A network and its optimizer, under the name the figure gives them.
pub struct Contender {
    /// The legend's name (`"Adam"`, `"He"`).
    pub name: String,
    /// The network, with its initial weights.
    pub network: Box<dyn Network<f32>>,
    /// How it is updated.
    pub optimizer: Box<dyn Optimizer<f32>>,
}

/// Loss per iteration, one series per contender (the book's `train_loss` dictionary).
#[derive(Debug, Clone, PartialEq)]
pub struct LossCurves {
    /// The contenders' names and losses, in the contenders' order.
    pub series: Vec<(String, Vec<f64>)>,
}

/// The loop of `optimizer_compare_mnist.py` and `weight_init_compare.py`: at each of
/// `iterations` steps one mini-batch of `batch_size` is drawn (with replacement) and every
/// contender takes a step on it, then its loss on that batch is measured again, after the
/// update, and recorded (as the book does).
///
/// The contenders are independent but for the batches, so they run on `threads` threads,
/// each drawing the same batches from the same seeded stream.
///
/// **Errors** if a network does not take `train`'s images.
pub fn race(
    contenders: Vec<Contender>,
    train: &Dataset,
    batch_size: usize,
    iterations: usize,
    seed: u64,
    threads: usize,
) -> Result<LossCurves> {
    let series = parallel_map(contenders, threads, |mut contender| -> Result<(String, Vec<f64>)> {
        let network = contender.network.as_mut();
        let input_shape = network.input_shape();
        let mut batches = rng_stream(seed, BATCH_STREAM);
        let mut losses = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let batch_mask = choose_batch(&mut batches, train.len(), batch_size);
            let (x_batch, t_batch) =
                (input_batch(train, &batch_mask, &input_shape), train.labels_of(&batch_mask));
            network.backprop_input(x_batch.clone(), &t_batch)?;
            contender.optimizer.update(&mut network.params());
            losses.push(network.loss_in_mode(x_batch, &t_batch, false)? as f64);
        }
        Ok((contender.name, losses))
    });
    Ok(LossCurves { series: series.into_iter().collect::<Result<_>>()? })
}

impl LossCurves {
    /// The book's loss figure: each series smoothed, a marker every 100 iterations, loss from 0
    /// to `y_max`, legend at the upper right.
    pub(crate) fn figure(&self, title: &str, y_max: f64) -> Figure {
        let markers = [Marker::Circle, Marker::Cross, Marker::Square, Marker::Triangle];
        let iterations = self.series.first().map_or(1, |(_, losses)| losses.len());
        let mut panel = Panel::new(title, 0.0..iterations as f64, 0.0..y_max)
            .axis_labels("iterations", "loss")
            .legend(Corner::UpperRight);
        for (k, (name, losses)) in self.series.iter().enumerate() {
            let points = smooth_curve(losses).into_iter().enumerate().map(|(i, l)| (i as f64, l)).collect();
            panel = panel.line(Line::new(name, points, k).marked(markers[k % markers.len()], 100));
        }
        Figure { size: (800, 600), columns: 1, panels: vec![panel] }
    }

    /// The book's printout as a table: the loss of each series at iterations 0, `every`,
    /// `2·every` ... and at the last iteration.
    pub fn table(&self, every: usize) -> String {
        let mut text = format!("{:>9}", "iteration");
        for (name, _) in &self.series {
            text.push_str(&format!(" {name:>9}"));
        }
        text.push('\n');
        let iterations = self.series.first().map_or(0, |(_, losses)| losses.len());
        let mut rows: Vec<usize> = (0..iterations).step_by(every.max(1)).collect();
        if iterations > 0 && rows.last() != Some(&(iterations - 1)) {
            rows.push(iterations - 1);
        }
        for i in rows {
            text.push_str(&format!("{i:>9}"));
            for (_, losses) in &self.series {
                text.push_str(&format!(" {:>9.4}", losses[i]));
            }
            text.push('\n');
        }
        text
    }

    /// What `optimizers` and `init` print of their curves: the loss every 100 iterations (the
    /// book's printout) and the mean of the last 100 of each series.
    pub fn printout(&self) -> String {
        let mut text =
            String::from("loss on the mini-batch after the update (the book prints every 100 iterations):\n");
        text.push_str(&self.table(100));
        let means: Vec<String> =
            self.final_means(100).iter().map(|(name, mean)| format!("{name} {mean:.4}")).collect();
        text.push_str(&format!("mean loss of the last 100 iterations: {}\n", means.join(", ")));
        text
    }

    /// The mean loss of each series over its last `n` iterations: a steadier measure of where
    /// a curve ended than one noisy batch.
    pub fn final_means(&self, n: usize) -> Vec<(String, f64)> {
        self.series
            .iter()
            .map(|(name, losses)| {
                let tail = &losses[losses.len().saturating_sub(n)..];
                (name.clone(), tail.iter().sum::<f64>() / tail.len().max(1) as f64)
            })
            .collect()
    }

    /// `series,iteration,loss,smoothed_loss`, one row per series and iteration (iterations
    /// counted from 0, as the book's `np.arange(max_iterations)`).
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("series,iteration,loss,smoothed_loss\n");
        for (name, losses) in &self.series {
            for (i, (loss, smooth)) in losses.iter().zip(smooth_curve(losses)).enumerate() {
                csv.push_str(&format!("{name},{i},{loss},{smooth}\n"));
            }
        }
        csv
    }
}

/// The book's `smooth_curve` (`common/util.py`), which smooths loss curves for its figures:
/// the values, mirrored by 10 at each end, convolved with a Kaiser window of 11 points and
/// β = 2 (`np.kaiser(11, 2)`), normalised to sum 1. The result is as long as `x`. Curves of
/// fewer than 11 values come back as they are.
///
/// ```
/// use mitbadak::experiments::smooth_curve;
/// assert_eq!(smooth_curve(&[2.0; 30]).len(), 30);
/// assert!(smooth_curve(&[2.0; 30]).iter().all(|v| (v - 2.0).abs() < 1e-12));
/// ```
pub fn smooth_curve(x: &[f64]) -> Vec<f64> {
    const WINDOW: usize = 11;
    let n = x.len();
    if n < WINDOW {
        return x.to_vec();
    }
    // s = np.r_[x[window_len-1:0:-1], x, x[-1:-window_len:-1]]
    let s: Vec<f64> =
        x[1..WINDOW].iter().rev().chain(x).chain(x[n - (WINDOW - 1)..].iter().rev()).copied().collect();
    let w = kaiser(WINDOW, 2.0);
    let total: f64 = w.iter().sum();
    // np.convolve(w/w.sum(), s, mode='valid')[5:len-5]; the window is symmetric
    (0..n).map(|i| w.iter().zip(&s[i + WINDOW / 2..]).map(|(w, s)| w * s).sum::<f64>() / total).collect()
}

/// NumPy's `np.kaiser(m, beta)`: `I0(β·√(1 - (2k/(m-1) - 1)²)) / I0(β)` for `k = 0 .. m-1`.
pub fn kaiser(m: usize, beta: f64) -> Vec<f64> {
    if m == 1 {
        return vec![1.0];
    }
    let half = (m - 1) as f64 / 2.0;
    (0..m)
        .map(|k| {
            let r = (k as f64 - half) / half;
            bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
        })
        .collect()
}

/// The modified Bessel function of the first kind, order 0: `Σ ((x/2)^k / k!)²`, summed until
/// the terms stop counting (quickly, for the small `x` of a window).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-17 {
        term *= (x / 2.0 / k) * (x / 2.0 / k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// The run of the book's small-data scripts: a `MultiLayerNet` of `net` with weights drawn by
/// its init from `seed`'s weight stream, trained by SGD at `lr` with [`train_epochs`].
///
/// **Errors** if the network does not take `train`'s images.
pub(super) fn train_with_sgd(
    net: (&MultiLayerNetConfig, WeightInit),
    lr: f64,
    train: &Dataset,
    test: Option<&Dataset>,
    training: &EpochTraining,
    weight_decay: f64,
    seed: u64,
) -> Result<AccuracyCurves> {
    let (net, init) = net;
    let mut network = MultiLayerNet::<f32>::with_init(net, init, &mut rng_stream(seed, WEIGHT_STREAM));
    let mut optimizer = OptimizerName::Sgd.build::<f32>(lr);
    train_epochs(&mut network, optimizer.as_mut(), train, test, training, weight_decay, seed)
}

/// A run of the overfitting experiments: its name, and its accuracies per epoch.
pub type NamedCurves = (String, AccuracyCurves);

/// What the overfitting experiments (`weight-decay`, `dropout`) print and write: each run's
/// last train and test accuracy and the gap between them, `<name>.png` (one panel per run as
/// the book's figures: train solid with circles, test dashed with squares, every 10 epochs)
/// and `<name>.csv` (`series,epoch,train_acc,test_acc`).
///
/// **Errors** if the figure cannot be drawn.
pub fn overfitting_report(name: &'static str, runs: &[NamedCurves]) -> Result<Report> {
    let mut text = format!("{:<28} {:>9} {:>9} {:>9}\n", "after the last epoch", "train", "test", "gap");
    let mut csv = String::from("series,epoch,train_acc,test_acc\n");
    let mut panels = Vec::new();
    for (series, curves) in runs {
        let (train, test) = (last(&curves.train_acc), last(&curves.test_acc));
        text.push_str(&format!("{series:<28} {train:>9.4} {test:>9.4} {:>9.4}\n", train - test));
        for (epoch, (train, test)) in curves.train_acc.iter().zip(&curves.test_acc).enumerate() {
            csv.push_str(&format!("{series},{epoch},{train},{test}\n"));
        }
        panels.push(
            accuracy_panel(series.as_str(), curves.train_acc.len())
                .axis_labels("epochs", "accuracy")
                .line(Line::new("train", epoch_points(&curves.train_acc), 0).marked(Marker::Circle, 10))
                .line(
                    Line::new("test", epoch_points(&curves.test_acc), 1).dashed().marked(Marker::Square, 10),
                )
                .legend(Corner::LowerRight),
        );
    }
    let figure = Figure { size: (600 * runs.len().max(1) as u32, 500), columns: runs.len().max(1), panels };
    Ok(Report {
        name,
        text,
        files: vec![(format!("{name}.png"), figure_png(&figure)?), (format!("{name}.csv"), csv.into_bytes())],
    })
}

/// The last accuracy measured; NaN when none was.
pub(super) fn last(accuracies: &[f64]) -> f64 {
    accuracies.last().copied().unwrap_or(f64::NAN)
}

/// A panel of accuracies per epoch as the book's figures show them: epochs from 0 to the
/// last of `measured`, accuracy from 0 to 1.
pub(super) fn accuracy_panel(title: impl Into<String>, measured: usize) -> Panel {
    Panel::new(title, 0.0..measured.max(2) as f64 - 1.0, 0.0..1.0).whole_numbers_on_x()
}

/// Accuracies per epoch as the points `(epoch, accuracy)`.
pub(super) fn epoch_points(accuracies: &[f64]) -> Vec<(f64, f64)> {
    accuracies.iter().enumerate().map(|(epoch, &acc)| (epoch as f64, acc)).collect()
}
