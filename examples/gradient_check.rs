//! The book's gradient check (chapter 5.7): a `TwoLayerNet` 784-50-10 on 3 samples,
//! backpropagation against central differences, in `f64`. Prints each parameter's mean
//! absolute difference, as the book does (`W1:4.2e-10` and so on: tiny, so backprop is right).

use mitbadak::gradient::gradient_check;
use mitbadak::nets::TwoLayerNet;
use mitbadak::seeded_rng;
use ndarray::Array2;
use rand::RngExt;

fn main() -> mitbadak::Result<()> {
    let mut rng = seeded_rng(0);
    let mut network = TwoLayerNet::<f64>::new(784, 50, 10, 0.01, &mut rng);
    // three samples of random pixels in [0, 1] and their labels
    let x_batch = Array2::from_shape_simple_fn((3, 784), || rng.random::<f64>()).into_dyn();
    let t_batch: Vec<usize> = (0..3).map(|_| rng.random_range(0..10)).collect();

    for check in gradient_check(&mut network, &x_batch, &t_batch)? {
        println!("{}:{:e}", check.name, check.mean_abs_diff);
    }
    Ok(())
}
