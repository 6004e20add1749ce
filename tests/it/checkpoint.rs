//! Checkpoints through the library: a run stopped at any step and resumed ends bit for bit
//! where the unbroken run ends; a checkpoint refuses another run's settings or data; a
//! diverging run keeps its last good checkpoint.

use crate::common;

use std::path::Path;

use mitbadak::checkpoint::read_checkpoint;
use mitbadak::data::Mnist;
use mitbadak::layers::DropoutMode;
use mitbadak::model_file::load_model;
use mitbadak::nets::Trainable;
use mitbadak::nets::{Activation, Architecture, DropoutConfig, Head, MultiLayerNetConfig, Network};
use mitbadak::optim::{Optimizer, OptimizerName, Schedule};
use mitbadak::seeded_rng;
use mitbadak::train::{History, Progress, Sampling, TrainConfig, resume, train};
use mitbadak::{Error, Result};

/// Asks the run to stop after step `.0` (never for `usize::MAX`).
struct StopAt(usize, usize);

impl Progress for StopAt {
    fn on_step(&mut self, done: usize, _total: usize, _loss: f64) {
        self.1 = done;
    }

    fn should_stop(&mut self) -> bool {
        self.1 == self.0
    }
}

fn stop_at(step: usize) -> StopAt {
    StopAt(step, 0)
}

/// The dropout MLP with batch normalisation, trained by Adam in shuffled epochs: every kind
/// of state (optimizer arrays and count, dropout generators, running statistics, the
/// shuffled order) is in play.
fn dropout_mlp() -> Architecture {
    Architecture::Mlp(MultiLayerNetConfig {
        input_size: 784,
        hidden_size_list: vec![40, 30],
        output_size: 10,
        activation: Activation::Relu,
        head: Head::SoftmaxCrossEntropy,
        use_batchnorm: true,
        dropout: Some(DropoutConfig { ratio: 0.2, mode: DropoutMode::Inverted }),
    })
}

type Parts = (Box<dyn Network<f32>>, Box<dyn Optimizer<f32>>);

fn build(architecture: &Architecture, optimizer: OptimizerName, lr: f64) -> Parts {
    (architecture.build(None, &mut seeded_rng(7)), optimizer.build(lr))
}

fn bits(network: &mut dyn Network<f32>) -> Vec<Vec<u32>> {
    network.snapshot().iter().map(|a| a.iter().map(|v| v.to_bits()).collect()).collect()
}

/// Runs `config` unbroken, then stopped after each step of `stops` in turn and resumed
/// each time; asserts that both end with the same bits and the same history.
fn resumed_equals_unbroken(
    data: &Mnist,
    architecture: &Architecture,
    optimizer: OptimizerName,
    lr: f64,
    config: TrainConfig,
    stops: &[usize],
) {
    let (mut network, mut opt) = build(architecture, optimizer, lr);
    let unbroken = train(network.as_mut(), opt.as_mut(), data, &config, &mut stop_at(usize::MAX)).unwrap();
    let unbroken_bits = bits(network.as_mut());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let config = TrainConfig { checkpoint: Some(path.clone()), ..config };
    let (mut network, mut opt) = build(architecture, optimizer, lr);
    let mut outcome: Result<History> =
        train(network.as_mut(), opt.as_mut(), data, &config, &mut stop_at(stops[0]));
    for (k, &stop) in stops.iter().enumerate() {
        match outcome {
            Err(Error::Interrupted { iteration, .. }) => assert_eq!(iteration, stop),
            other => panic!("expected a stop after step {stop}, got {:?}", other.map(|h| h.loss.len())),
        }
        assert_eq!(read_checkpoint(&path).unwrap().state.iteration, stop);
        // a fresh process would build all anew: so do we, with another seed for the weights
        let (mut network, mut opt) = (architecture.build(None, &mut seeded_rng(99)), optimizer.build(lr));
        let next = stops.get(k + 1).copied().unwrap_or(usize::MAX);
        outcome = resume(network.as_mut(), opt.as_mut(), data, &config, &path, &mut stop_at(next));
        if k + 1 == stops.len() {
            let resumed = outcome.as_ref().unwrap();
            assert!(bits(network.as_mut()) == unbroken_bits, "stopped at {stops:?}: other weights");
            let first_other = resumed.loss.iter().zip(&unbroken.loss).position(|(a, b)| a != b);
            assert_eq!(first_other, None, "stopped at {stops:?}: the losses part at this step");
            assert_eq!(resumed.evaluations, unbroken.evaluations, "stopped at {stops:?}");
            return;
        }
    }
}

#[test]
fn a_run_stopped_anywhere_and_resumed_ends_bit_for_bit_as_the_unbroken_one() {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let two_layer = Architecture::two_layer(784, 30, 10);
    let config = TrainConfig {
        iterations: 700,
        seed: 3,
        weight_decay: 0.001,
        schedule: Schedule::Cosine { total: 700 },
        ..TrainConfig::default()
    };
    // mid-epoch, then just after an evaluation, then on an epoch's last step
    resumed_equals_unbroken(&data, &two_layer, OptimizerName::Sgd, 0.1, config, &[250, 601, 650]);

    let config = TrainConfig {
        iterations: 1300,
        batch_size: 100,
        sampling: Sampling::ShuffledEpochs,
        ..TrainConfig::default()
    };
    resumed_equals_unbroken(&data, &dropout_mlp(), OptimizerName::Adam, 0.001, config, &[600, 1001]);
}

#[test]
fn a_checkpoint_refuses_another_configuration_and_other_data() {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let architecture = Architecture::two_layer(784, 10, 10);
    let config = TrainConfig { iterations: 50, checkpoint: Some(path.clone()), ..TrainConfig::default() };
    let (mut network, mut opt) = build(&architecture, OptimizerName::Sgd, 0.1);
    assert!(train(network.as_mut(), opt.as_mut(), &data, &config, &mut stop_at(20)).is_err());

    let error = |config: &TrainConfig, data: &Mnist, optimizer: OptimizerName, lr: f64| {
        let (mut network, mut opt) = build(&architecture, optimizer, lr);
        resume(network.as_mut(), opt.as_mut(), data, config, &path, &mut stop_at(usize::MAX))
            .unwrap_err()
            .to_string()
    };
    let other = TrainConfig { batch_size: 50, ..config.clone() };
    let message = error(&other, &data, OptimizerName::Sgd, 0.1);
    assert!(message.contains("its run has batch size 100, not 50: resume it as it was"), "{message}");
    let message = error(&config, &data, OptimizerName::Sgd, 0.2);
    assert!(message.contains("its run has learning rate 0.1, not 0.2"), "{message}");
    let message = error(&config, &data, OptimizerName::Adam, 0.1);
    assert!(message.contains("its optimizer is SGD, not Adam"), "{message}");

    let mut shuffled = data.clone();
    shuffled.train.labels.swap(0, 1);
    let message = error(&config, &shuffled, OptimizerName::Sgd, 0.1);
    assert!(
        message.contains("its run trained on other data (60000 training and 10000 test images"),
        "{message}"
    );

    let wider = Architecture::two_layer(784, 11, 10);
    let (mut network, mut opt) = (wider.build(None, &mut seeded_rng(0)), OptimizerName::Sgd.build(0.1));
    let message = resume(network.as_mut(), opt.as_mut(), &data, &config, &path, &mut stop_at(usize::MAX))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("it holds TwoLayerNet 784-10-10 (ReLU), not TwoLayerNet 784-11-10"),
        "{message}"
    );
}

#[test]
fn a_diverging_run_names_the_iteration_and_keeps_its_last_good_checkpoint() {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let architecture = Architecture::two_layer(784, 20, 10);
    // the learning rate jumps 1e30-fold after the first epoch
    let config = TrainConfig {
        iterations: 1200,
        schedule: Schedule::Step { every: 600, gamma: 1e30 },
        checkpoint: Some(path.clone()),
        ..TrainConfig::default()
    };
    let (mut network, mut opt) = build(&architecture, OptimizerName::Sgd, 0.1);
    let message = train(network.as_mut(), opt.as_mut(), &data, &config, &mut stop_at(usize::MAX))
        .unwrap_err()
        .to_string();
    let iteration: usize = message
        .split("at iteration ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no iteration in {message:?}"));
    assert!((601..=1200).contains(&iteration), "{message}");
    assert!(
        message.contains("the learning rate 0.1 is too high for this network; try a lower --lr"),
        "{message}"
    );
    assert!(
        message.contains(&format!("the checkpoint of iteration 600 stays in {}", path.display())),
        "{message}"
    );
    assert_eq!(read_checkpoint(&path).unwrap().state.iteration, 600);
    let mut kept = load_model::<f32>(&path, None).unwrap();
    assert!(kept.network.snapshot().iter().all(|a| a.iter().all(|v| v.is_finite())));
    assert!(Path::new(&path).is_file());
}
