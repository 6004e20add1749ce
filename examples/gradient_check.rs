//! The book's gradient check (`ch05/gradient_check.py`): a `TwoLayerNet` 784-50-10 on the
//! first 3 MNIST training images, backpropagation against central differences, in `f64`.
//! Prints each parameter's mean absolute difference, as the book does (`W1:2.4e-13` and so
//! on: tiny, so backpropagation is right).

use mitbadak::data::load_mnist;
use mitbadak::gradient::gradient_check;
use mitbadak::nets::TwoLayerNet;
use mitbadak::seeded_rng;
use mitbadak::targets::AsTargets;
use ndarray::s;

fn main() -> mitbadak::Result<()> {
    let ((x_train, t_train), _) = load_mnist(true, true, false)?;
    let mut network = TwoLayerNet::<f64>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
    // x_batch = x_train[:3], t_batch = t_train[:3]
    let x_batch = x_train.slice(s![..3, ..]).mapv(f64::from).into_dyn();
    let t_batch: Vec<usize> = (0..3).map(|i| t_train.as_targets().class(i)).collect();

    for check in gradient_check(&mut network, &x_batch, &t_batch)? {
        println!("{}:{:e}", check.name, check.mean_abs_diff);
    }
    Ok(())
}
