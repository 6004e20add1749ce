//! Where a training step of the book's conv nets spends its time: each layer's forward and
//! backward pass on a batch of 100 MNIST images, timed over `REPS` steps (the median), with
//! the multiply-adds of its products as GFLOP/s and as a share of `PEAK` GFLOP/s (the
//! machine's measured single-precision matrix-multiply peak; 0 leaves the column out).
//!
//! `cargo run --release --example convnet_layers -- deep|simple [REPS] [PEAK]`
//!
//! Run it on a quiet machine; `MITBADAK_ISA=avx2` (or `scalar`) measures a lower level.
//!
//! A ReLU, and a pooling after it, that follow a convolution run in the convolution's passes
//! (`Convolution::with_relu_and_pooling`): their rows show next to nothing, and the
//! convolution's time includes theirs.

use std::time::Instant;

use mitbadak::data::Mnist;
use mitbadak::matmul::simd::dispatch;
use mitbadak::nets::{Architecture, LayerSpec};
use mitbadak::seeded_rng;
use mitbadak::train::input_batch;
use ndarray::ArrayD;

fn main() -> mitbadak::Result<()> {
    // as `mitbadak train` does: freed batches stay with the process, not returned page by page
    mitbadak::memory::keep_freed_memory();
    let kind = std::env::args().nth(1).unwrap_or_else(|| "deep".into());
    let reps: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let peak: f64 = std::env::args().nth(3).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    let data = Mnist::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let architecture = match kind.as_str() {
        "simple" => Architecture::simple_convnet([1, 28, 28], 10),
        _ => Architecture::deep_convnet([1, 28, 28], 10, Architecture::deep_convnet_dropout(), false),
    };
    let mut network = architecture.build::<f32, _>(None, &mut seeded_rng(0));
    let batch: Vec<usize> = (0..100).collect();
    let x = input_batch(&data.train, &batch, &[1, 28, 28]).into_dense();
    let (layers, _) = network.layers();
    let specs = architecture.layers()?;

    // times[layer] = (forward seconds, backward seconds) of each rep
    let mut times = vec![Vec::new(); layers.len()];
    let mut shapes = vec![Vec::new(); layers.len()];
    for _ in 0..reps + 2 {
        let mut y = x.clone();
        for (i, layer) in layers.iter_mut().enumerate() {
            let start = Instant::now();
            y = layer.forward(y, true);
            times[i].push((start.elapsed().as_secs_f64(), 0.0));
            shapes[i] = y.shape().to_vec();
        }
        let mut dout = ArrayD::from_elem(y.raw_dim(), 0.01f32);
        for (i, layer) in layers.iter_mut().enumerate().rev() {
            let start = Instant::now();
            if i == 0 {
                layer.backward_params(std::mem::take(&mut dout));
            } else {
                dout = layer.backward(dout);
            }
            times[i].last_mut().expect("timed forward").1 = start.elapsed().as_secs_f64();
        }
    }
    println!("{} on {:?}, batch 100, median of {reps} steps", architecture.describe(), dispatch());
    println!(
        "| layer | output | forward ms | GFLOP/s | backward ms | GFLOP/s |{}",
        if peak > 0.0 { " share of peak |" } else { "" }
    );
    println!("| --- | --- | --- | --- | --- | --- |{}", if peak > 0.0 { " --- |" } else { "" });
    let (mut total_forward, mut total_backward, mut total_flop) = (0.0, 0.0, 0.0);
    for (i, layer) in layers.iter_mut().enumerate() {
        let mut forward: Vec<f64> = times[i][2..].iter().map(|t| t.0).collect();
        let mut backward: Vec<f64> = times[i][2..].iter().map(|t| t.1).collect();
        let (forward, backward) = (median(&mut forward), median(&mut backward));
        let flop = product_flop(&specs[i]);
        // backward: dW as forward, and dx as forward too, but for the first layer
        let backward_flop = if i == 0 { flop } else { 2.0 * flop };
        total_forward += forward;
        total_backward += backward;
        total_flop += flop + backward_flop;
        let share = if peak > 0.0 && flop > 0.0 {
            format!(" {:.0}% |", 100.0 * (flop + backward_flop) / (forward + backward) / 1e9 / peak)
        } else if peak > 0.0 {
            " |".into()
        } else {
            String::new()
        };
        println!(
            "| {} | {:?} | {:.2} | {} | {:.2} | {} |{share}",
            layer.name(),
            &shapes[i][1..],
            forward * 1e3,
            gflops(flop, forward),
            backward * 1e3,
            gflops(backward_flop, backward),
        );
    }
    let step = total_forward + total_backward;
    println!(
        "all layers: forward {:.2} ms, backward {:.2} ms, {:.0} images/s, {:.1} GFLOP/s{}",
        total_forward * 1e3,
        total_backward * 1e3,
        100.0 / step,
        total_flop / step / 1e9,
        if peak > 0.0 {
            format!(" ({:.0}% of {peak} GFLOP/s)", 100.0 * total_flop / step / 1e9 / peak)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// The floating-point operations (2 per multiply-add) of a layer's forward product on a batch
/// of 100: each output of a convolution (before any pooling) or affine layer takes one
/// multiply-add per weight of its filter (or column of `W`).
fn product_flop(spec: &LayerSpec) -> f64 {
    let per_image = match *spec {
        LayerSpec::Convolution { input: [c, _, _], output: [filters, oh, ow], size, .. } => {
            filters * oh * ow * c * size * size
        }
        LayerSpec::Affine { input, output } => input * output,
        _ => 0,
    };
    2.0 * 100.0 * per_image as f64
}

fn gflops(flop: f64, seconds: f64) -> String {
    if flop == 0.0 { "".into() } else { format!("{:.1}", flop / seconds / 1e9) }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
