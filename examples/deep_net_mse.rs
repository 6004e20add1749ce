//! The seed's deep net: input 10, a first layer of 32 then `hidden_depth = 5` more layers of
//! 32, an output of 2, a sigmoid after every layer (the output's too), weights drawn from
//! N(0, 0.01²), mean-squared error, 200 steps of gradient descent (lr 0.01) on one random sample.
//!
//! The seed prints its loss as 0.5·mean((y - t)²) but back-propagates (y - t), leaving out the
//! 1/n of the mean. Here the gradient is the true gradient of the printed loss, (y - t)/n, so
//! its steps are n = 2 times smaller than the seed's.

use std::time::Instant;

use mitbadak::nets::{Activation, Head, MultiLayerNet, MultiLayerNetConfig, Network, WeightInit};
use mitbadak::print::numpy_str;
use mitbadak::seeded_rng;
use ndarray::{Array2, Axis};
use rand::RngExt;

const HIDDEN_DEPTH: usize = 5;
const STEPS: usize = 200;
const LEARNING_RATE: f64 = 0.01;

fn main() -> mitbadak::Result<()> {
    let mut rng = seeded_rng(0);
    let config = MultiLayerNetConfig {
        input_size: 10,
        hidden_size_list: vec![32; 1 + HIDDEN_DEPTH],
        output_size: 2,
        activation: Activation::Sigmoid,
        head: Head::SigmoidMse,
        ..Default::default()
    };
    let mut network = MultiLayerNet::<f64>::with_init(&config, WeightInit::Std(0.01), &mut rng);
    let x = Array2::from_shape_simple_fn((1, 10), || rng.random::<f64>()).into_dyn();
    let t = Array2::from_shape_simple_fn((1, 2), || rng.random::<f64>());

    let start = Instant::now();
    for step in 1..=STEPS {
        let loss = network.backprop(x.clone(), &t)?;
        let y = network.predict(&x)?;
        println!(
            "step {step:3}: prediction {} target {} loss {loss:.8}",
            numpy_str(&y.index_axis(Axis(0), 0)),
            numpy_str(&t.row(0))
        );
        for mut p in network.params() {
            // the book's params[key] -= learning_rate * grads[key]
            p.value.scaled_add(-LEARNING_RATE, &p.grad);
        }
    }
    println!("{:.3} seconds", start.elapsed().as_secs_f64());
    Ok(())
}
