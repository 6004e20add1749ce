//! Checkpoints: everything a training run needs to go on exactly where it stopped, in one
//! safetensors file written atomically, so that a crash leaves the last one whole.
//!
//! ```text
//! tensors   W1, b1 ...                     the network's state, as a model file holds it
//!           training/optimizer/<slot>/W1   the optimizer's arrays (Adam's m and v ...)
//! metadata  architecture, format           as a model file (a checkpoint loads as one)
//!           iteration                      steps done
//!           training                       JSON: the configuration, the optimizer's name,
//!                                          learning rate and update count, the random
//!                                          generators' positions, the evaluations so far,
//!                                          and the data's fingerprint
//! ```
//!
//! The loss of every step so far is in a file beside it, `checkpoint.loss` ([`loss_path`]):
//! little-endian `f64`s, appended at each checkpoint (synced before the checkpoint is
//! written), of which the checkpoint's `iteration` first are the run's. The bytes written
//! over a run grow linearly with its steps; when the losses were a tensor of the checkpoint,
//! each epoch rewrote them all, and a run of 10^7 steps would have written 670 GB.
//!
//! The mini-batch sampler's generator is not restored but replayed: a resumed run draws the
//! batches of the steps done again (without gathering them), which also restores the order of
//! a shuffled epoch, and checks that it arrives where the checkpoint says it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::history::{Evaluation, History};
use crate::data::Mnist;
use crate::error::{Result, shape_str};
use crate::limited_read::read_safetensors;
use crate::model_file::{ARCHITECTURE_KEY, FORMAT_KEY, TRAINING_STATE_PREFIX};
use crate::nets::Trainable;
use crate::nets::{Architecture, Network};
use crate::optim::Optimizer;
use crate::tensor_file::{TensorBytes, serialize_sorted};
use crate::{Error, SeededRng};

/// The metadata key of the training state's JSON.
pub const TRAINING_KEY: &str = "training";

/// Where a run stands at a checkpoint, apart from its arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Steps done.
    pub iteration: usize,
    /// The run's configuration (its checkpoint path aside).
    pub config: TrainConfig,
    /// The optimizer's name ([`Optimizer::name`]).
    pub optimizer: String,
    /// The optimizer's learning rate before any schedule.
    pub learning_rate: f64,
    /// The optimizer's count of updates, for the rules that keep one.
    pub optimizer_updates: Option<u64>,
    /// The mini-batch sampler's position in its random stream after the last step's batch.
    pub sampler_position: u128,
    /// The network's random generators (dropout's), in layer order.
    pub rngs: Vec<RngState>,
    /// The accuracies measured so far.
    pub evaluations: Vec<Evaluation>,
    /// The data the run trains on.
    pub data: DataFingerprint,
}

impl TrainingState {
    /// Where a run of `config` stands after step `iteration`, whose last batch left the
    /// sampler at `sampler_position`; `learning_rate` is the optimizer's before any schedule.
    /// The evaluations and the data's fingerprint are left empty: the checkpoint's writer
    /// fills them in once they are known.
    pub fn at(
        iteration: usize,
        config: &TrainConfig,
        network: &mut dyn Network<f32>,
        optimizer: &mut dyn Optimizer<f32>,
        learning_rate: f64,
        sampler_position: u128,
    ) -> TrainingState {
        TrainingState {
            iteration,
            config: config.clone(),
            optimizer: optimizer.name().to_string(),
            learning_rate,
            optimizer_updates: optimizer.state_mut().updates.map(|u| *u),
            sampler_position,
            rngs: network.rngs_mut().into_iter().map(|rng| RngState::of(rng)).collect(),
            evaluations: Vec::new(),
            data: DataFingerprint::default(),
        }
    }
}

/// A ChaCha generator's key, stream and position: all there is to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte key, in hexadecimal.
    pub seed: String,
    /// The stream.
    pub stream: u64,
    /// The position in the stream, in 32-bit words.
    pub word_pos: u128,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &SeededRng) -> RngState {
        let seed = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        RngState { seed, stream: rng.get_stream(), word_pos: rng.get_word_pos() }
    }

    /// A generator in this state, or `None` if the key is not 64 hexadecimal digits.
    pub fn to_rng(&self) -> Option<SeededRng> {
        let digits = self.seed.as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut seed = [0u8; 32];
        for (byte, pair) in seed.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        let mut rng = <SeededRng as rand::SeedableRng>::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos);
        Some(rng)
    }
}

/// Which data a run trains on: where it was read, its sizes, and a hash of its contents
/// (the default is no data: empty sizes, zero hash).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// The directory it was read from (absolute where it could be made so).
    pub dir: PathBuf,
    /// Training images.
    pub train: usize,
    /// Test images.
    pub test: usize,
    /// [`crate::data::Dataset::fingerprint`] of the training split, then of the test split.
    pub hash: [u64; 2],
}

impl DataFingerprint {
    /// The fingerprint of `data` (hashing it takes a few tens of milliseconds for MNIST).
    pub fn of(data: &Mnist) -> DataFingerprint {
        DataFingerprint {
            dir: std::fs::canonicalize(&data.dir).unwrap_or_else(|_| data.dir.clone()),
            train: data.train.len(),
            test: data.test.len(),
            hash: [data.train.fingerprint(), data.test.fingerprint()],
        }
    }

    /// Whether both describe the same images (wherever they were read from).
    pub fn same_data(&self, other: &DataFingerprint) -> bool {
        (self.train, self.test, self.hash) == (other.train, other.test, other.hash)
    }
}

/// What a checkpoint says without loading its arrays: enough to build the network and the
/// optimizer to resume into.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointInfo {
    /// The network.
    pub architecture: Architecture,
    /// Where the run stands.
    pub state: TrainingState,
}

/// A checkpoint's arrays, copied when it is taken, and its architecture. The training state
/// is given when it is encoded: the training loop writes a checkpoint once the accuracies
/// measured up to it are in, while training goes on (and `write_atomic`s the bytes).
#[derive(Debug, Clone)]
pub struct CheckpointArrays {
    architecture: String,
    /// Name, shape, type and little-endian bytes of each tensor.
    tensors: Vec<(String, Vec<usize>, Dtype, Vec<u8>)>,
    /// The losses not yet in the loss file, and the step of the first.
    new_losses: (usize, Vec<f64>),
}

impl CheckpointArrays {
    /// Copies the network's state, the optimizer's arrays and the losses from step
    /// `losses_from` on (those before it are in the loss file already).
    pub fn capture(
        network: &mut dyn Network<f32>,
        optimizer: &mut dyn Optimizer<f32>,
        history: &History,
        losses_from: usize,
    ) -> Self {
        let mut tensors: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
        let f32_bytes =
            |values: ndarray::ArrayViewD<f32>| values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let param_names: Vec<String> = network.params().into_iter().map(|p| p.name).collect();
        for (name, value) in network.state() {
            tensors.push((name, value.shape().to_vec(), Dtype::F32, f32_bytes(value.view())));
        }
        for (slot, arrays) in optimizer.state_mut().slots {
            for (name, array) in param_names.iter().zip(arrays.iter()) {
                let key = slot_key(slot, name);
                tensors.push((key, array.shape().to_vec(), Dtype::F32, f32_bytes(array.view())));
            }
        }
        let architecture =
            serde_json::to_string(&network.architecture()).expect("an architecture serialises");
        let new_losses = (losses_from, history.loss[losses_from.min(history.loss.len())..].to_vec());
        CheckpointArrays { architecture, tensors, new_losses }
    }

    /// Writes the checkpoint to `path` with `state`: the new losses appended to the loss file
    /// (cut first to the losses before them, of which a stopped run may have written more) and
    /// synced, then the checkpoint, atomically.
    ///
    /// **Errors** name the file that could not be written, or a loss file shorter than the
    /// losses it should hold.
    pub fn write(&self, path: &Path, state: &TrainingState) -> Result<()> {
        let losses = loss_path(path);
        let io = |source| Error::Io { path: losses.clone(), source };
        let (from, new) = &self.new_losses;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&losses).map_err(io)?;
        let held = file.metadata().map_err(io)?.len() / 8;
        if held < *from as u64 {
            return Err(Error::Format {
                path: losses.clone(),
                message: format!("it holds {held} losses, and the run's first {from} should be there"),
            });
        }
        file.set_len(*from as u64 * 8).map_err(io)?;
        let bytes: Vec<u8> = new.iter().flat_map(|l| l.to_le_bytes()).collect();
        std::io::Write::write_all(&mut file, &bytes).map_err(io)?;
        file.sync_data().map_err(io)?;
        crate::atomic::write_atomic(path, &self.encode(path, state)?)
    }

    /// The checkpoint's bytes, with `state`; `path` names the file in errors.
    ///
    /// **Errors** if the checkpoint cannot be encoded.
    pub fn encode(&self, path: &Path, state: &TrainingState) -> Result<Vec<u8>> {
        let metadata = BTreeMap::from([
            (ARCHITECTURE_KEY.to_string(), self.architecture.clone()),
            (FORMAT_KEY.to_string(), format!("mitbadak {} checkpoint", env!("CARGO_PKG_VERSION"))),
            ("iteration".to_string(), state.iteration.to_string()),
            (TRAINING_KEY.to_string(), serde_json::to_string(state).expect("a training state serialises")),
        ]);
        let views = self
            .tensors
            .iter()
            .map(|(name, shape, dtype, bytes)| TensorBytes {
                name: name.clone(),
                dtype: *dtype,
                shape: shape.clone(),
                bytes,
            })
            .collect();
        serialize_sorted(views, &metadata).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            message: format!("could not encode the checkpoint: {e}"),
        })
    }
}

/// Reads what a checkpoint says about its run, without its arrays.
///
/// **Errors** if the file cannot be read, is not a safetensors file, or is a model file
/// rather than a checkpoint.
pub fn read_checkpoint(path: &Path) -> Result<CheckpointInfo> {
    let format = |message: String| Error::Format { path: path.to_path_buf(), message };
    let bytes = read_safetensors(path)?;
    let metadata = crate::model_file::read_metadata_of(&bytes).map_err(format)?;
    let info = info_of(&metadata).map_err(format)?;
    holds_its_network(&bytes, &info.architecture).map_err(format)?;
    Ok(info)
}

/// Checks that the checkpoint's tensors hold as many values as the network its metadata
/// names, so that a damaged or forged file is refused before that network is built (a claim
/// of a hidden layer of 1,350,000 would otherwise allocate 4 GB first).
fn holds_its_network(bytes: &[u8], architecture: &Architecture) -> std::result::Result<(), String> {
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a safetensors checkpoint ({e}); the file is damaged"))?;
    let needed = architecture.check().map_err(|e| format!("{e}; the file is damaged"))?;
    let held: usize = tensors
        .tensors()
        .iter()
        .filter(|(name, _)| !name.starts_with(TRAINING_STATE_PREFIX))
        .map(|(_, view)| view.shape().iter().product::<usize>())
        .sum();
    if needed != held {
        return Err(format!(
            "its network, {}, has {needed} values, but its tensors hold {held}: the file is damaged; \
             start the run again",
            architecture.describe()
        ));
    }
    Ok(())
}

fn info_of(metadata: &BTreeMap<String, String>) -> std::result::Result<CheckpointInfo, String> {
    let field = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            format!(
                "not a checkpoint: it has no {key:?} entry (`mitbadak train` writes checkpoint.safetensors)"
            )
        })
    };
    let architecture = serde_json::from_str(field(ARCHITECTURE_KEY)?)
        .map_err(|e| format!("its architecture is not one this version knows ({e})"))?;
    let state = serde_json::from_str(field(TRAINING_KEY)?)
        .map_err(|e| format!("its training state is not one this version reads ({e})"))?;
    Ok(CheckpointInfo { architecture, state })
}

/// Puts a checkpoint's arrays into `network` and `optimizer` (built as the checkpoint
/// describes) and returns where the run stands and what it measured so far.
///
/// **Errors** name the file and what does not fit: another network or optimizer, a tensor
/// missing or of another shape, a loss history of the wrong length.
pub fn restore_checkpoint(
    path: &Path,
    network: &mut dyn Network<f32>,
    optimizer: &mut dyn Optimizer<f32>,
) -> Result<(TrainingState, History)> {
    let format = |message: String| Error::Format { path: path.to_path_buf(), message };
    let bytes = read_safetensors(path)?;
    let tensors = SafeTensors::deserialize(&bytes)
        .map_err(|e| format(format!("not a safetensors checkpoint ({e}); the file is damaged")))?;
    let metadata = crate::model_file::read_metadata_of(&bytes).map_err(format)?;
    let CheckpointInfo { architecture, state } = info_of(&metadata).map_err(format)?;
    if architecture != network.architecture() {
        return Err(format(format!(
            "it holds {}, not {}",
            architecture.describe(),
            network.architecture().describe()
        )));
    }
    if state.optimizer != optimizer.name() {
        return Err(format(format!("its optimizer is {}, not {}", state.optimizer, optimizer.name())));
    }
    for (name, mut value) in network.state() {
        read_f32(&tensors, &name, value.view_mut()).map_err(format)?;
    }
    let params: Vec<(String, Vec<usize>)> =
        network.params().into_iter().map(|p| (p.name, p.value.shape().to_vec())).collect();
    let optimizer_state = optimizer.state_mut();
    for (slot, arrays) in optimizer_state.slots {
        *arrays = params
            .iter()
            .map(|(name, shape)| {
                let mut array = ndarray::ArrayD::zeros(shape.as_slice());
                read_f32(&tensors, &slot_key(slot, name), array.view_mut()).map(|()| array)
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(format)?;
    }
    match (optimizer_state.updates, state.optimizer_updates) {
        (Some(updates), Some(saved)) => *updates = saved,
        (None, None) => {}
        _ => return Err(format("its optimizer's update count does not fit the optimizer".into())),
    }
    let mut rngs = network.rngs_mut();
    if rngs.len() != state.rngs.len() {
        return Err(format(format!(
            "it has {} random generators, the network {}",
            state.rngs.len(),
            rngs.len()
        )));
    }
    for (rng, saved) in rngs.iter_mut().zip(&state.rngs) {
        **rng = saved.to_rng().ok_or_else(|| {
            format(format!("a random generator's key {:?} is not 64 hex digits", saved.seed))
        })?;
    }
    // a checkpoint of an earlier version holds its losses as a tensor
    let loss = match tensors.tensor(&loss_key()) {
        Ok(_) => read_f64(&tensors, &loss_key()).map_err(format)?,
        Err(_) => read_losses(&loss_path(path), state.iteration)?,
    };
    if loss.len() != state.iteration {
        return Err(format(format!(
            "it holds {} losses for {} steps; the file is damaged",
            loss.len(),
            state.iteration
        )));
    }
    let history = History { loss, evaluations: state.evaluations.clone() };
    Ok((state, history))
}

/// The loss file of the checkpoint `checkpoint`: `checkpoint.loss` beside `checkpoint.safetensors`.
pub fn loss_path(checkpoint: &Path) -> PathBuf {
    checkpoint.with_extension("loss")
}

/// The first `count` losses of the loss file `path` (a stopped run may have written more after
/// them), reading no more than those.
fn read_losses(path: &Path, count: usize) -> Result<Vec<f64>> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(io)?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, count as u64 * 8), &mut bytes).map_err(io)?;
    if bytes.len() < count * 8 {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "it holds {} losses, and the checkpoint is at step {count}: the file is damaged",
                bytes.len() / 8
            ),
        });
    }
    Ok(bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8"))).collect())
}

fn slot_key(slot: &str, param: &str) -> String {
    format!("{TRAINING_STATE_PREFIX}optimizer/{slot}/{param}")
}

fn loss_key() -> String {
    format!("{TRAINING_STATE_PREFIX}loss")
}

/// Copies tensor `name` (F32, of `dst`'s shape) into `dst`.
fn read_f32(
    tensors: &SafeTensors,
    name: &str,
    mut dst: ndarray::ArrayViewMutD<f32>,
) -> std::result::Result<(), String> {
    let view = tensors.tensor(name).map_err(|_| format!("tensor {name} is missing; the file is damaged"))?;
    if view.dtype() != Dtype::F32 || view.shape() != dst.shape() {
        return Err(format!(
            "tensor {name} is {:?} {}, expected F32 {}",
            view.dtype(),
            shape_str(view.shape()),
            shape_str(dst.shape())
        ));
    }
    for (d, bytes) in dst.iter_mut().zip(view.data().chunks_exact(4)) {
        *d = f32::from_le_bytes(bytes.try_into().expect("chunks of 4"));
    }
    Ok(())
}

/// Tensor `name`, one-dimensional F64, as values.
fn read_f64(tensors: &SafeTensors, name: &str) -> std::result::Result<Vec<f64>, String> {
    let view = tensors.tensor(name).map_err(|_| format!("tensor {name} is missing; the file is damaged"))?;
    if view.dtype() != Dtype::F64 || view.shape().len() != 1 {
        return Err(format!(
            "tensor {name} is {:?} {}, expected F64 (N,)",
            view.dtype(),
            shape_str(view.shape())
        ));
    }
    Ok(view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8"))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_file::{TensorBytes, serialize_sorted};

    #[test]
    fn a_checkpoint_claiming_a_larger_network_than_its_tensors_is_refused_before_it_is_built() {
        let small = Architecture::two_layer(784, 50, 10);
        let claimed = Architecture::two_layer(784, 1_350_000, 10);
        let mut network = small.build::<f32, _>(None, &mut crate::seeded_rng(0));
        let state = TrainingState {
            iteration: 600,
            config: TrainConfig::default(),
            optimizer: "SGD".into(),
            learning_rate: 0.1,
            optimizer_updates: None,
            sampler_position: 0,
            rngs: Vec::new(),
            evaluations: Vec::new(),
            data: DataFingerprint::default(),
        };
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = network
            .state()
            .into_iter()
            .map(|(name, value)| {
                (name, value.shape().to_vec(), value.iter().flat_map(|v| v.to_le_bytes()).collect())
            })
            .collect();
        let tensors = bytes
            .iter()
            .map(|(name, shape, bytes)| TensorBytes {
                name: name.clone(),
                dtype: Dtype::F32,
                shape: shape.clone(),
                bytes,
            })
            .collect();
        let metadata = BTreeMap::from([
            (ARCHITECTURE_KEY.to_string(), serde_json::to_string(&claimed).unwrap()),
            (TRAINING_KEY.to_string(), serde_json::to_string(&state).unwrap()),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        std::fs::write(&path, serialize_sorted(tensors, &metadata).unwrap()).unwrap();
        let e = read_checkpoint(&path).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "its network, TwoLayerNet 784-1350000-10 (ReLU), has 1073250010 values, but its tensors hold \
                 39760: the file is damaged; start the run again"
            ),
            "{e}"
        );
    }
}
