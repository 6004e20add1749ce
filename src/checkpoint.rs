//! Checkpoints: everything a training run needs to go on exactly where it stopped, in one
//! safetensors file written atomically, so that a crash leaves the last one whole.
//!
//! ```text
//! tensors   W1, b1 ...                     the network's state, as a model file holds it
//!           training/optimizer/<slot>/W1   the optimizer's arrays (Adam's m and v ...)
//!           training/loss                  the loss of every step so far (F64)
//! metadata  architecture, format           as a model file (a checkpoint loads as one)
//!           iteration                      steps done
//!           training                       JSON: the configuration, the optimizer's name,
//!                                          learning rate and update count, the random
//!                                          generators' positions, the evaluations so far,
//!                                          and the data's fingerprint
//! ```
//!
//! The mini-batch sampler's generator is not restored but replayed: a resumed run draws the
//! batches of the steps done again (without gathering them), which also restores the order of
//! a shuffled epoch, and checks that it arrives where the checkpoint says it was.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::data::Mnist;
use crate::error::{Result, shape_str};
use crate::model_file::{ARCHITECTURE_KEY, FORMAT_KEY, TRAINING_STATE_PREFIX};
use crate::nets::{Architecture, Network};
use crate::optim::Optimizer;
use crate::train::{Evaluation, History, TrainConfig};
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
}

impl CheckpointArrays {
    /// Copies the network's state, the optimizer's arrays and the losses so far.
    pub fn capture(
        network: &mut dyn Network<f32>,
        optimizer: &mut dyn Optimizer<f32>,
        history: &History,
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
        let loss: Vec<u8> = history.loss.iter().flat_map(|l| l.to_le_bytes()).collect();
        tensors.push((loss_key(), vec![history.loss.len()], Dtype::F64, loss));
        let architecture =
            serde_json::to_string(&network.architecture()).expect("an architecture serialises");
        CheckpointArrays { architecture, tensors }
    }

    /// The checkpoint's bytes, with `state`; `path` names the file in errors.
    ///
    /// **Errors** if the checkpoint cannot be encoded.
    pub fn encode(&self, path: &Path, state: &TrainingState) -> Result<Vec<u8>> {
        let metadata = HashMap::from([
            (ARCHITECTURE_KEY.to_string(), self.architecture.clone()),
            (FORMAT_KEY.to_string(), format!("mitbadak {} checkpoint", env!("CARGO_PKG_VERSION"))),
            ("iteration".to_string(), state.iteration.to_string()),
            (TRAINING_KEY.to_string(), serde_json::to_string(state).expect("a training state serialises")),
        ]);
        let views = self.tensors.iter().map(|(name, shape, dtype, bytes)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), bytes).expect("sizes agree by construction"),
            )
        });
        safetensors::serialize(views, Some(metadata)).map_err(|e| Error::Format {
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
    let metadata = crate::model_file::read_metadata(path)?;
    info_of(&metadata).map_err(|message| Error::Format { path: path.to_path_buf(), message })
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
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
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
    let loss = read_f64(&tensors, &loss_key()).map_err(format)?;
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
