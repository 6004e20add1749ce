//! # mitbadak (밑바닥): deep learning from scratch, in Rust
//!
//! The code of *Deep Learning from Scratch* (Koki Saitoh; 밑바닥부터 시작하는 딥러닝) with its
//! names: the functions of chapter 3, the numerical gradient of chapter 4, the layers of
//! chapter 5 (`Relu`, `Sigmoid`, `Affine`, `SoftmaxWithLoss`) and the networks built from
//! them (`TwoLayerNet`, `MultiLayerNet`).
//!
//! ```
//! use mitbadak::prelude::*;
//! use ndarray::array;
//!
//! let mut net = TwoLayerNet::<f64>::new(4, 5, 3, 0.5, &mut seeded_rng(42));
//! let x = array![[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]].into_dyn();
//! let t = vec![2usize, 0];
//! let checks = gradient_check(&mut net, &x, &t).unwrap();
//! assert!(checks.iter().all(|c| c.max_rel_error < 1e-6));
//! ```

pub mod atomic;
pub mod classify;
pub mod data;
pub mod error;
pub mod experiments;
pub mod figures;
pub mod float;
pub mod functions;
pub mod gradient;
pub mod inspect;
pub mod layers;
pub mod limited_read;
pub mod matmul;
pub mod memory;
pub mod model_file;
pub mod nets;
pub mod numerical_training;
pub mod onnx;
pub mod optim;
pub mod perceptron;
pub mod plot;
pub mod preprocess;
pub mod print;
pub mod run_lock;
pub mod runs;
pub mod serve;
pub mod targets;
pub mod tensor_file;
pub mod tiles;
pub mod train;

pub use error::{Error, Result};
pub use float::Float;
pub use matmul::matmul;
/// The checkpoint files of a training run (their home is [`train::checkpoint`]).
pub use train::checkpoint;

/// The random generator used everywhere a seed is given: ChaCha8, named so that the same
/// seed gives the same numbers whatever version of `rand` is in use.
pub type SeededRng = rand_chacha::ChaCha8Rng;

/// A [`SeededRng`] from a `u64` seed.
pub fn seeded_rng(seed: u64) -> SeededRng {
    <SeededRng as rand::SeedableRng>::seed_from_u64(seed)
}

/// The generator of stream `stream` of `seed`: a run draws its weights, its mini-batches (and
/// an experiment its hyperparameters) from streams of their own, so that none of them shifts
/// another's numbers, whatever order threads take.
pub fn rng_stream(seed: u64, stream: u64) -> SeededRng {
    let mut rng = seeded_rng(seed);
    rng.set_stream(stream);
    rng
}

/// The stream the initial weights come from: [`seeded_rng`]'s own.
pub const WEIGHT_STREAM: u64 = 0;

/// The stream the mini-batches come from.
pub const BATCH_STREAM: u64 = 1;

/// The stream the training images' random shifts and rotations come from ([`data::Augment`]).
pub const AUGMENT_STREAM: u64 = 2;

/// The names most programs need: `use mitbadak::prelude::*;`.
pub mod prelude {
    pub use crate::gradient::{gradient_check, numerical_gradient};
    pub use crate::layers::{Affine, Layer, LossLayer, Relu, Sigmoid, Softmax, SoftmaxWithLoss};
    pub use crate::nets::{
        Activation, Head, MultiLayerNet, MultiLayerNetConfig, Network, TwoLayerNet, WeightInit,
    };
    pub use crate::targets::{AsTargets, Targets};
    pub use crate::{Error, Float, Result, SeededRng, seeded_rng};
}
