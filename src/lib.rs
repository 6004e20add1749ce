//! # mitbadak (밑바닥): deep learning from scratch, in Rust
//!
//! The code of *Deep Learning from Scratch* (Koki Saitoh; 밑바닥부터 시작하는 딥러닝) with its
//! names and its numbers: the functions of chapter 3, the numerical gradient of chapter 4, the
//! layers of chapter 5 with their forward and backward passes side by side, the optimizers,
//! initialisations and regularisers of chapter 6, the convolutional networks of chapters 7 and 8,
//! and a trainer fast enough to run the book's jobs in seconds on a CPU. The `mitbadak` program
//! (`cargo install mitbadak`) is a thin layer over this library.
//!
//! ```
//! use mitbadak::prelude::*;
//! use ndarray::array;
//!
//! // the book's TwoLayerNet, its backpropagation held to the numerical gradient (chapter 5)
//! let mut net = TwoLayerNet::<f64>::new(4, 5, 3, 0.5, &mut seeded_rng(42));
//! let x = array![[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]].into_dyn();
//! let t = vec![2usize, 0];
//! let checks = gradient_check(&mut net, &x, &t).unwrap();
//! assert!(checks.iter().all(|c| c.max_rel_error < 1e-6));
//! ```
//!
//! ## The book's names, and where they live
//!
//! | the book | mitbadak |
//! | --- | --- |
//! | `common/functions.py`: `sigmoid`, `relu`, `softmax`, `cross_entropy_error` ... | [`functions`] (same names) |
//! | `common/gradient.py`: `numerical_gradient` | [`gradient`]: [`numerical_gradient`](gradient::numerical_gradient), [`gradient_check`](gradient::gradient_check) |
//! | `common/layers.py`: `Relu`, `Sigmoid`, `Affine`, `SoftmaxWithLoss`, `BatchNormalization`, `Dropout`, `Convolution`, `Pooling` | [`layers`]: [`Relu`](layers::Relu), [`Sigmoid`](layers::Sigmoid), [`Affine`](layers::Affine), [`SoftmaxWithLoss`](layers::SoftmaxWithLoss), [`BatchNormalization`](layers::BatchNormalization), [`Dropout`](layers::Dropout), [`Convolution`](layers::Convolution), [`Pooling`](layers::Pooling) |
//! | `forward(x)`, `backward(dout)`; `mask`, `out`, `x`; `dW`, `db` | the [`Layer`](layers::Layer) trait: `forward(x, train)`, `backward(dout)`; fields `mask`, `out`; `dw`, `db` |
//! | `common/util.py`: `im2col`, `col2im` | [`layers::im2col`] |
//! | `ch05/two_layer_net.py`: `TwoLayerNet` | [`TwoLayerNet`](nets::TwoLayerNet); `predict`, `loss`, `accuracy`, `gradient` are the [`Network`](nets::Network) trait's |
//! | `common/multi_layer_net(_extend).py`: `MultiLayerNet` | [`MultiLayerNet`](nets::MultiLayerNet), built from [`MultiLayerNetConfig`](nets::MultiLayerNetConfig) (its `Default` is the book's) |
//! | `ch07/simple_convnet.py`, `ch08/deep_convnet.py` | [`SimpleConvNet`](nets::SimpleConvNet), [`DeepConvNet`](nets::DeepConvNet); [`Architecture`](nets::Architecture) builds any network from its description |
//! | `common/optimizer.py`: `SGD`, `Momentum`, `Nesterov`, `AdaGrad`, `RMSprop`, `Adam` | [`optim`]: [`Sgd`](optim::Sgd), [`Momentum`](optim::Momentum), [`Nesterov`](optim::Nesterov), [`AdaGrad`](optim::AdaGrad), [`RmsProp`](optim::RmsProp), [`Adam`](optim::Adam) (and PyTorch's [`AdamW`](optim::AdamW)) |
//! | `dataset/mnist.py`: `load_mnist(normalize, flatten, one_hot_label)` | [`data::load_mnist`] (same options; downloads MNIST on first use, as the book's does); [`data::Mnist`] keeps the images as bytes |
//! | the loop of `ch05/train_neuralnet.py`; `common/trainer.py` | [`train`](mod@train): [`train()`](train::train), [`TrainConfig`](train::TrainConfig), [`History`](train::History) |
//! | `pickle` of `params` | [`model_file`]: safetensors with the book's tensor names |
//! | `ch06/*.py` | [`experiments`], one module each |
//! | `np.dot` | [`matmul()`]; `np.random.randn` with a seed: [`seeded_rng`] |
//!
//! ## Two ways of training, in code
//!
//! The book's way, with whole arrays and a loop of your own (`ch05/train_neuralnet.py`):
//!
//! ```no_run
//! use mitbadak::prelude::*;
//! use mitbadak::data::load_mnist;
//! use ndarray::Axis;
//! use rand::RngExt;
//!
//! let ((x_train, t_train), (x_test, t_test)) = load_mnist(true, true, false)?; // normalize, flatten, one_hot_label
//! let mut rng = seeded_rng(0);
//! let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut rng);
//! for _ in 0..10_000 {
//!     let batch_mask: Vec<usize> = (0..100).map(|_| rng.random_range(0..60000)).collect();
//!     network.backprop(x_train.select(Axis(0), &batch_mask), &t_train.select(&batch_mask))?;
//!     for mut p in network.params() {             // W1, b1, W2, b2 with their gradients dw, db
//!         p.value.scaled_add(-0.1, &p.grad);      // params[key] -= learning_rate * grad[key]
//!     }
//! }
//! println!("{}", network.accuracy(&x_test, &t_test)?);
//! # Ok::<(), mitbadak::Error>(())
//! ```
//!
//! The trainer's way: [`train::train`] with an optimizer from [`optim`], the images kept as
//! bytes and gathered into mini-batches on the second core, the accuracies measured once per
//! epoch, and a [`Progress`](train::Progress) hook (the `mitbadak train` command is this call):
//!
//! ```no_run
//! use mitbadak::prelude::*;
//! use mitbadak::{data::Mnist, model_file::save_model, optim::Sgd, train::{train, Silent, TrainConfig}};
//!
//! let data = Mnist::load("data/mnist".as_ref())?;
//! let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
//! let history = train(&mut network, &mut Sgd::new(0.1), &data, &TrainConfig::default(), &mut Silent)?;
//! println!("{:?}", history.final_test_accuracy());
//! save_model(&mut network, "model.safetensors".as_ref(), &Default::default())?;
//! # Ok::<(), mitbadak::Error>(())
//! ```
//!
//! ## Examples
//!
//! The repository's `examples/` reproduce the book's results one script at a time
//! (`cargo run --release --example NAME`): `three_layer_forward`, `softmax` (chapter 3),
//! `neuralnet_mnist` (the book's pretrained network, 0.9352), `gradient_method`,
//! `gradient_simplenet`, `train_neuralnet_numerical` (chapter 4), `buy_apple_orange`,
//! `gradient_check`, `train_neuralnet` (chapter 5), `apply_filter`, `visualize_filter`
//! (chapter 7), `misclassified_mnist`, `half_float_network` (chapter 8), and `readme`, the
//! snippets above. The map of every script of the book to its counterpart is the repository's
//! `docs/book.md`.
//!
//! ## The modules: the book, the engine, the applications
//!
//! ### The book
//!
//! Its code, chapter by chapter, with its names and shapes: read these first.
//!
//! | module | the book's |
//! | --- | --- |
//! | [`perceptron`] | chapter 2: the logic gates |
//! | [`functions`] | chapter 3: `step_function`, `sigmoid`, `relu`, `softmax`, the two losses |
//! | [`gradient`] | chapter 4: `numerical_gradient`; the gradient check of chapter 5 |
//! | [`numerical_training`] | chapter 4.5: training by numerical gradients |
//! | [`layers`] | chapters 5 to 7 (`common/layers.py`): `Affine`, `Relu`, `SoftmaxWithLoss` ... `Convolution`, `Pooling` |
//! | [`nets`] | `TwoLayerNet`, `MultiLayerNet`, `SimpleConvNet`, `DeepConvNet` |
//! | [`optim`] | chapter 6 (`common/optimizer.py`): `SGD`, `Momentum`, `AdaGrad`, `RMSprop`, `Adam` |
//! | [`train`] | chapter 4.5 and `common/trainer.py`: the loop ([`train::book`] is the plain one) |
//! | [`data`] | `dataset/mnist.py`: `load_mnist` and the IDX files behind it |
//! | `experiments` | chapter 6's scripts, one function each (feature `figures`) |
//! | [`inspect`] | chapters 7 and 8: filters, misclassified images, 16-bit weights |
//!
//! ### The engine
//!
//! What makes the book's code fast and safe to run, behind its names.
//!
//! | module | what |
//! | --- | --- |
//! | [`float`] | `f32` for training, `f64` for gradient checks, one bound |
//! | [`matmul`](mod@matmul) | `np.dot`: one entry point, a plain reference, the fast kernels behind it |
//! | [`targets`] | one-hot rows or class indices |
//! | [`error`] | every failure names the thing, what was expected and what to do |
//! | [`model_file`], [`tensor_file`] | the book's pickle of `params`, as safetensors |
//! | [`memory`], [`limited_read`], [`atomic`] | memory kept between steps; files read within limits and written whole |
//!
//! ### The applications
//!
//! What the `mitbadak` command does with the two: [`classify`] and [`preprocess`] (a
//! picture of a digit into MNIST's form) for `predict` and `serve`; [`print`](mod@print) (arrays as
//! NumPy prints them); [`runs`] and [`run_lock`] (run directories); [`onnx`] (`export`);
//! and, behind the cargo
//! features of the same names, `plot`, `figures` and `tiles` (the book's matplotlib figures
//! as PNG) and `serve` (the draw-a-digit page and its JSON API). With
//! `default-features = false` the library builds none of the command line's, the server's
//! or the figures' crates.
//!
//! ## Cargo features
//!
//! `download` (on by default): fetch MNIST from a public mirror into the user's cache when no
//! copy is found, over HTTPS (`ureq` with `rustls`), checked by SHA-256. `cli` (on by
//! default): the `mitbadak` command, with `serve` (the server: axum on tokio) and `figures`
//! (PNG figures: plotters). A library user who needs none of them takes
//! `mitbadak = { version = "0.1", default-features = false }`.

#![warn(missing_docs)]

// The book (see the crate docs' table).
pub mod data;
#[cfg(feature = "figures")]
pub mod experiments;
pub mod functions;
pub mod gradient;
pub mod inspect;
pub mod layers;
pub mod nets;
pub mod numerical_training;
pub mod optim;
pub mod perceptron;
pub mod train;

// The engine.
pub mod atomic;
pub mod error;
pub mod float;
pub mod limited_read;
pub mod matmul;
pub mod memory;
pub mod model_file;
pub mod targets;
pub mod tensor_file;

// The applications.
pub mod classify;
#[cfg(feature = "figures")]
pub mod figures;
pub mod onnx;
#[cfg(feature = "figures")]
pub mod plot;
pub mod preprocess;
pub mod print;
pub mod run_lock;
pub mod runs;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "figures")]
pub mod tiles;

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
        Activation, Head, MultiLayerNet, MultiLayerNetConfig, Network, Trainable, TwoLayerNet, WeightInit,
    };
    pub use crate::targets::{AsTargets, Targets};
    pub use crate::{Error, Float, Result, SeededRng, seeded_rng};
}
