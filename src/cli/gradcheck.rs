//! `mitbadak gradcheck`: the book's chapter 5 gradient check, on 3 MNIST training images.

use anyhow::{Result, bail};
use clap::Args;
use mitbadak::gradient::gradient_check;
use mitbadak::nets::TwoLayerNet;
use mitbadak::seeded_rng;
use ndarray::{ArrayD, IxDyn};

use super::{DataArgs, data};

/// Backpropagation is taken to be right when no element differs by more than this,
/// relatively, from the numerical gradient (in f64).
const TOLERANCE: f64 = 1e-6;

#[derive(Debug, Args)]
pub struct GradcheckArgs {
    /// The seed of the network's weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: GradcheckArgs) -> Result<()> {
    let mnist = data::load(args.data.data_dir.as_deref())?;
    let size = mnist.train.sample_size();
    let mut network = TwoLayerNet::<f64>::new(size, 50, mnist.classes, 0.01, &mut seeded_rng(args.seed));
    // x_batch = x_train[:3], t_batch = t_train[:3]
    let x_batch: Vec<f64> = (0..3).flat_map(|i| mnist.train.image(i)).map(|p| p as f64 / 255.0).collect();
    let x_batch = ArrayD::from_shape_vec(IxDyn(&[3, size]), x_batch)?;
    let t_batch = mnist.train.labels_of(&[0, 1, 2]);
    println!(
        "TwoLayerNet {size}-50-{} in f64, MNIST training images 0, 1, 2: |backprop - numerical|",
        mnist.classes
    );
    let checks = gradient_check(&mut network, &x_batch, &t_batch)?;
    for c in &checks {
        println!(
            "{}:{:e}  (max {:e}, max relative {:e})",
            c.name, c.mean_abs_diff, c.max_abs_diff, c.max_rel_error
        );
    }
    let worst = checks.iter().map(|c| c.max_rel_error).fold(0.0, f64::max);
    if worst >= TOLERANCE {
        bail!(
            "backpropagation disagrees with the numerical gradient: max relative error {worst:e} >= {TOLERANCE:e}"
        );
    }
    println!("backpropagation agrees: max relative error {worst:.1e} < {TOLERANCE:.0e}");
    Ok(())
}
