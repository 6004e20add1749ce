//! The book's chapter 3 inference (`ch03/neuralnet_mnist.py`, in batches as
//! `ch03/neuralnet_mnist_batch.py`): the book's pretrained
//! sigmoid network 784-50-100-10 classifies the 10,000 test images in batches of 100.
//! Prints `Accuracy:0.9352`.
//!
//! The weights are read from `data/reference/ch03_sample_weight.safetensors` (the book's file,
//! MIT licence, as safetensors), or from the path given as the first argument.

use std::path::PathBuf;

use mitbadak::data::load_mnist;
use mitbadak::model_file::load_model;
use mitbadak::nets::Architecture;
use mitbadak::nets::Trainable;
use mitbadak::targets::{AsTargets, argmax_rows};
use ndarray::{Axis, Ix2, s};

fn main() -> mitbadak::Result<()> {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/reference/ch03_sample_weight.safetensors")
    });
    let (_, (x, t)) = load_mnist(true, true, false)?;
    // the file holds only W1..W3 and b1..b3: the architecture is named here
    let mut network = load_model::<f32>(&path, Some(&Architecture::ch03_sample_network()))?.network;

    let batch_size = 100;
    let mut accuracy_cnt = 0;
    let t = t.as_targets();
    for i in (0..x.shape()[0]).step_by(batch_size) {
        let x_batch = x.slice(s![i..i + batch_size, ..]).to_owned().into_dyn();
        let y_batch = network.probabilities(&x_batch)?.into_dimensionality::<Ix2>().expect("(N, 10)");
        let p = argmax_rows(y_batch.view());
        accuracy_cnt += p.iter().enumerate().filter(|&(j, &k)| k == t.class(i + j)).count();
    }
    println!("Accuracy:{}", accuracy_cnt as f64 / x.len_of(Axis(0)) as f64);
    Ok(())
}
