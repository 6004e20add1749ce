//! Training and test throughput of the book's conv nets, measured as
//! `../shared/bench/torch_convnets.py` measures PyTorch: Adam lr 0.001, batch 100, five
//! warm-up steps, then `ITERS` timed steps on random batches and one pass over the test set.
//! Prints one JSON line.
//!
//! `cargo run --release --example convnet_throughput -- simple|deep [ITERS]`

use std::time::Instant;

use mitbadak::data::Mnist;
use mitbadak::nets::Trainable;
use mitbadak::nets::{Architecture, Network};
use mitbadak::optim::OptimizerName;
use mitbadak::seeded_rng;
use mitbadak::train::{evaluate, input_batch};
use rand::RngExt;

fn main() -> mitbadak::Result<()> {
    mitbadak::memory::keep_freed_memory();
    let kind = std::env::args().nth(1).unwrap_or_else(|| "simple".into());
    let iters: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let data = Mnist::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let architecture = match kind.as_str() {
        "deep" => Architecture::deep_convnet([1, 28, 28], 10, Architecture::deep_convnet_dropout(), false),
        _ => Architecture::simple_convnet([1, 28, 28], 10),
    };
    let mut rng = seeded_rng(0);
    let mut network = architecture.build::<f32, _>(None, &mut rng);
    let mut optimizer = OptimizerName::Adam.build::<f32>(0.001);
    let mut step = |network: &mut dyn Network<f32>| -> mitbadak::Result<()> {
        let batch: Vec<usize> = (0..100).map(|_| rng.random_range(0..data.train.len())).collect();
        let x = input_batch(&data.train, &batch, &[1, 28, 28]);
        network.backprop_input(x, &data.train.labels_of(&batch))?;
        optimizer.update(&mut network.params());
        Ok(())
    };
    for _ in 0..5 {
        step(network.as_mut())?;
    }
    let start = Instant::now();
    for _ in 0..iters {
        step(network.as_mut())?;
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    evaluate(network.as_mut(), &data.test)?;
    let test_seconds = start.elapsed().as_secs_f64();
    println!(
        r#"{{"impl": "mitbadak", "model": "{kind}", "train_images_per_s": {:.1}, "test_images_per_s": {:.1}}}"#,
        iters as f64 * 100.0 / train_seconds,
        data.test.len() as f64 / test_seconds
    );
    Ok(())
}
