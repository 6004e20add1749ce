//! The book's `ch05/train_neuralnet.py` as library code: `TwoLayerNet` 784-50-10, SGD
//! lr 0.1, batch 100, 10,000 iterations, train and test accuracy once per epoch.
//!
//! `cargo run --release --example train_neuralnet [-- --iters N]`: `--iters 1000` for a quick
//! look (two epochs' lines).
//!
//! The `train` subcommand runs the same job faster, through `mitbadak::train`, which keeps
//! the images as bytes; this example follows the book line by line with whole `f32` arrays.

use mitbadak::data::load_mnist;
use mitbadak::nets::{Network, TwoLayerNet};
use mitbadak::seeded_rng;
use ndarray::Axis;
use rand::RngExt;

fn main() -> mitbadak::Result<()> {
    let ((x_train, t_train), (x_test, t_test)) = load_mnist(true, true, true)?;
    let mut rng = seeded_rng(0);
    let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut rng);

    let iters_num = iters_from_args()?;
    let train_size = x_train.shape()[0];
    let batch_size = 100;
    let learning_rate = 0.1;
    let mut train_loss_list = Vec::new();
    let iter_per_epoch = (train_size / batch_size).max(1);

    for i in 0..iters_num {
        let batch_mask: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..train_size)).collect();
        let x_batch = x_train.select(Axis(0), &batch_mask);
        let t_batch = t_train.select(&batch_mask);

        let loss = network.backprop(x_batch, &t_batch)?; // the gradient, left in each layer
        for mut p in network.params() {
            p.value.scaled_add(-learning_rate, &p.grad); // params[key] -= learning_rate * grad[key]
        }
        train_loss_list.push(loss);

        if i % iter_per_epoch == 0 {
            let train_acc = network.accuracy(&x_train, &t_train)?;
            let test_acc = network.accuracy(&x_test, &t_test)?;
            println!("train acc, test acc | {train_acc:.4}, {test_acc:.4}");
        }
    }
    Ok(())
}

/// `--iters N` (default 10,000, the book's).
fn iters_from_args() -> mitbadak::Result<usize> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(10_000),
        [flag, n] if flag == "--iters" => n.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
            mitbadak::Error::invalid(
                "--iters",
                format!("expected a number of steps of at least 1, got {n:?}"),
            )
        }),
        _ => {
            Err(mitbadak::Error::invalid("arguments", format!("expected nothing or --iters N, got {args:?}")))
        }
    }
}
