//! The book's `ch04/train_neuralnet.py` as chapter 4 runs it: `TwoLayerNet` 784-50-10, SGD lr
//! 0.1, batch 100, with the gradient by **numerical differentiation** (its
//! `network.numerical_gradient(x_batch, t_batch)` line): 79,520 forward passes of the batch a
//! step. It trains (the loss falls step by step), but so slowly that the book leaves the line
//! commented out: this runs 3 steps by default, with a progress bar, then says how long the
//! book's 10,000 would take and measures backpropagation's step in the same run for the ratio.
//!
//! One run on the shared 2-core machine this was written on, measured within the run: 217 s a
//! step by numerical gradients, 5.6 ms by backpropagation: 38,000 times faster, and the book's
//! 10,000 steps would take 600 hours instead of a minute.
//!
//! `cargo run --release --example train_neuralnet_numerical [-- --iters N] [--batch-size N]`
//! (in `f64`, as the book's NumPy; `--batch-size 1` makes a step about 100 times quicker, for a
//! look at the loss falling; the book's `ch05/train_neuralnet.py`, by backpropagation, is the
//! example `train_neuralnet` and `mitbadak train`).

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use mitbadak::data::load_mnist;
use mitbadak::nets::{Network, TwoLayerNet};
use mitbadak::numerical_training::numerical_sgd_step;
use mitbadak::seeded_rng;
use mitbadak::targets::OwnedTargets;
use ndarray::{ArrayD, Axis, s};
use rand::RngExt;

/// The book's iterations.
const BOOK_ITERS: usize = 10_000;

/// Backpropagation steps timed for the comparison.
const BACKPROP_REPEATS: usize = 20;

fn main() -> mitbadak::Result<()> {
    let Settings { iters_num, batch_size } = settings_from_args()?;
    let ((x_train, t_train), (x_test, t_test)) = load_mnist(true, true, false)?;
    let (x_train, x_test): (ArrayD<f64>, ArrayD<f64>) = (x_train.mapv(f64::from), x_test.mapv(f64::from));
    let (OwnedTargets::Classes(t_train), OwnedTargets::Classes(t_test)) = (t_train, t_test) else {
        unreachable!("one_hot_label = false gives class indices")
    };
    let mut rng = seeded_rng(0);
    let mut network = TwoLayerNet::<f64>::new(784, 50, 10, 0.01, &mut rng);
    let (train_size, learning_rate) = (x_train.shape()[0], 0.1);
    if batch_size > train_size {
        let message = format!("expected at most the {train_size} training images, got {batch_size}");
        return Err(mitbadak::Error::invalid("--batch-size", message));
    }
    let parameters: usize = network.params().iter().map(|p| p.value.len()).sum();
    let (x_check, t_check) =
        (x_test.slice_axis(Axis(0), (0..1000).into()).to_owned(), t_test.slice(s![..1000]).to_owned());

    println!("TwoLayerNet 784-50-10, {parameters} parameters: {} forward passes a step", 2 * parameters);
    println!("test accuracy (first 1000 images) before: {:.3}", network.accuracy(&x_check, &t_check)?);
    let bar = ProgressBar::new((iters_num * parameters) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:32.cyan/blue} step {msg} | {elapsed} elapsed, {eta} left")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    let start = Instant::now();
    for i in 0..iters_num {
        let batch_mask: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..train_size)).collect();
        let x_batch = x_train.select(Axis(0), &batch_mask);
        let t_batch = t_train.select(Axis(0), &batch_mask);
        bar.set_message(format!("{}/{iters_num}", i + 1));
        let loss = numerical_sgd_step(&mut network, &x_batch, &t_batch, learning_rate, |done, _| {
            bar.set_position((i * parameters + done) as u64)
        })?;
        bar.suspend(|| println!("step {:>2}: loss {loss:.4}", i + 1)); // shown without a terminal too
    }
    bar.finish_and_clear();
    let numerical = start.elapsed().as_secs_f64() / iters_num as f64;
    println!(
        "test accuracy (first 1000 images) after {iters_num} steps: {:.3}",
        network.accuracy(&x_check, &t_check)?
    );

    let x_batch = x_train.slice_axis(Axis(0), (0..batch_size).into()).to_owned();
    let t_batch = t_train.slice(s![..batch_size]).to_owned();
    let start = Instant::now();
    for _ in 0..BACKPROP_REPEATS {
        network.gradient(&x_batch, &t_batch)?;
    }
    let backprop = start.elapsed().as_secs_f64() / BACKPROP_REPEATS as f64;
    println!("numerical gradient: {numerical:.2} s a step of {batch_size} images");
    println!("backpropagation:    {:.3} ms a step (mean of {BACKPROP_REPEATS}, in this run)", backprop * 1e3);
    println!(
        "backpropagation is {:.0} times faster (measured now, on a machine that may be shared)",
        numerical / backprop
    );
    println!(
        "{BOOK_ITERS} steps, as the book's, would take {:.1} hours by numerical gradients, {:.1} s by backpropagation",
        numerical * BOOK_ITERS as f64 / 3600.0,
        backprop * BOOK_ITERS as f64
    );
    Ok(())
}

/// What the command line may change: the steps and the batch.
struct Settings {
    iters_num: usize,
    batch_size: usize,
}

/// `--iters N` (default 3) and `--batch-size N` (default 100, the book's), in any order.
fn settings_from_args() -> mitbadak::Result<Settings> {
    let mut settings = Settings { iters_num: 3, batch_size: 100 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let (target, what) = match pair[0].as_str() {
            "--iters" => (&mut settings.iters_num, "a number of steps"),
            "--batch-size" => (&mut settings.batch_size, "a number of images"),
            _ => {
                return Err(mitbadak::Error::invalid(
                    "arguments",
                    format!("expected --iters N and --batch-size N, got {args:?}"),
                ));
            }
        };
        let value = pair.get(1).and_then(|n| n.parse().ok()).filter(|&n| n > 0);
        *target = value.ok_or_else(|| {
            mitbadak::Error::invalid(
                &pair[0],
                format!("expected {what} of at least 1, got {:?}", pair.get(1)),
            )
        })?;
    }
    Ok(settings)
}
