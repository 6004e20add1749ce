//! Why backpropagation (chapter 5): one training step of `TwoLayerNet` 784-50-10 (39,760
//! parameters, batch 100), with the gradient by central differences (two forward passes per
//! parameter: 79,520 of them) and by backpropagation (one forward and one backward pass).
//! Random inputs stand in for MNIST here; the cost does not depend on the pixels.

use std::time::Instant;

use mitbadak::nets::{Network, TwoLayerNet};
use mitbadak::seeded_rng;
use ndarray::Array2;
use rand::RngExt;

const BACKPROP_REPEATS: usize = 100;

fn main() -> mitbadak::Result<()> {
    let mut rng = seeded_rng(0);
    let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut rng);
    let x_batch = Array2::from_shape_simple_fn((100, 784), || rng.random::<f32>()).into_dyn();
    let t_batch: Vec<usize> = (0..100).map(|_| rng.random_range(0..10)).collect();
    let parameters: usize = network.params().iter().map(|p| p.value.len()).sum();

    println!("TwoLayerNet 784-50-10, {parameters} parameters, batch 100");
    network.gradient(&x_batch, &t_batch)?; // once to warm up: first-touch memory, thread set-up
    let start = Instant::now();
    for _ in 0..BACKPROP_REPEATS {
        network.gradient(&x_batch, &t_batch)?;
    }
    let backprop = start.elapsed().as_secs_f64() / BACKPROP_REPEATS as f64;
    println!("backpropagation:       {:>10.6} s (mean of {BACKPROP_REPEATS})", backprop);

    println!("numerical gradient:    ({} forward passes) ...", 2 * parameters);
    let start = Instant::now();
    network.numerical_gradient(&x_batch, &t_batch)?;
    let numerical = start.elapsed().as_secs_f64();
    println!("numerical gradient:    {:>10.6} s", numerical);
    println!("ratio: backpropagation is {:.0} times faster", numerical / backprop);
    Ok(())
}
