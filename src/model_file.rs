//! Model files: safetensors, with the book's tensor names (`W1`, `b1` ...) and the
//! architecture as JSON in the header's metadata, so that a file alone rebuilds its network.
//! PyTorch (`safetensors.torch.load_file`), candle and burn read them as they are.
//!
//! A file without the architecture (the book's weights, converted) loads when the
//! architecture is named by the caller.

use std::collections::BTreeMap;
use std::path::Path;

pub use safetensors::tensor::Dtype;
use safetensors::tensor::{SafeTensors, TensorView};

use crate::atomic::write_atomic;
use crate::error::{Result, shape_str};
use crate::limited_read::read_safetensors;
use crate::nets::Trainable;
use crate::nets::{Architecture, Network};
use crate::tensor_file::{TensorBytes, serialize_sorted};
use crate::{Error, Float, seeded_rng};

/// The metadata key of the architecture's JSON.
pub const ARCHITECTURE_KEY: &str = "architecture";

/// The metadata key naming the program that wrote the file.
pub const FORMAT_KEY: &str = "format";

/// Tensors whose names start with this are a checkpoint's training state (the optimizer's
/// arrays, the losses so far), not the network's: a checkpoint loads as a model file too.
pub const TRAINING_STATE_PREFIX: &str = "training/";

/// How many values an architecture may need beyond those the file holds and still be built
/// (4 MiB as `f32`), so that a near miss (`--arch` with another width) is told tensor by
/// tensor; past it, the file is refused before anything is allocated.
const BUILD_SLACK: usize = 1 << 20;

/// A network read from a model file, with the file's metadata.
pub struct LoadedModel<T: Float> {
    /// The network, with the file's weights.
    pub network: Box<dyn Network<T>>,
    /// Its architecture (from the file, or as given).
    pub architecture: Architecture,
    /// Every metadata entry of the file (test accuracy, seed ... where the writer kept them).
    pub metadata: BTreeMap<String, String>,
}

/// Saves the state of `network` (every parameter, and batch normalisation's running
/// statistics) to `path` (atomically), with its architecture and the `extra` metadata (for
/// example `test_accuracy`).
///
/// ```
/// use mitbadak::model_file::{load_model, save_model};
/// use mitbadak::prelude::*;
///
/// let dir = std::env::temp_dir().join(format!("mitbadak-doc-{}", std::process::id()));
/// let path = dir.join("model.safetensors");
/// let mut net = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
/// save_model(&mut net, &path, &Default::default())?;
///
/// // the file names its network: W1, b1, W2, b2 and the architecture
/// let loaded = load_model::<f32>(&path, None)?;
/// assert_eq!(loaded.network.name(), "TwoLayerNet");
/// assert_eq!(loaded.architecture.describe(), "TwoLayerNet 784-50-10 (ReLU)");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), mitbadak::Error>(())
/// ```
pub fn save_model<T: Float>(
    network: &mut dyn Network<T>,
    path: &Path,
    extra: &BTreeMap<String, String>,
) -> Result<()> {
    let dtype = if size_of::<T>() == 4 { Dtype::F32 } else { Dtype::F64 };
    save_model_as(network, path, extra, dtype)
}

/// [`save_model`] with every tensor written as `dtype`: `F32`, `F64`, or the 16-bit `F16`
/// and `BF16` (rounded to nearest: half the file, as the book's `half_float_network.py`
/// shows that the accuracy hardly moves).
///
/// **Errors** if `dtype` is not one of the four, or the file cannot be written.
pub fn save_model_as<T: Float>(
    network: &mut dyn Network<T>,
    path: &Path,
    extra: &BTreeMap<String, String>,
    dtype: Dtype,
) -> Result<()> {
    if !matches!(dtype, Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::BF16) {
        return Err(Error::invalid("save_model", format!("dtype {dtype:?}: expected F32, F64, F16 or BF16")));
    }
    if dtype == Dtype::F16 {
        let too_large = |v: &T| v.as_f64().abs() > f64::from(half::f16::MAX);
        if let Some((name, _)) = network.state().into_iter().find(|(_, value)| value.iter().any(too_large)) {
            return Err(Error::invalid(
                "save_model",
                format!("{name} has values beyond float16's 65504: save it as BF16 or F32 instead"),
            ));
        }
    }
    let architecture = serde_json::to_string(&network.architecture()).expect("an architecture serialises");
    let mut metadata = extra.clone();
    metadata.insert(ARCHITECTURE_KEY.into(), architecture);
    metadata.insert(FORMAT_KEY.into(), format!("mitbadak {}", env!("CARGO_PKG_VERSION")));

    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = network
        .state()
        .into_iter()
        .map(|(name, value)| (name, value.shape().to_vec(), le_bytes(dtype, value.iter().copied())))
        .collect();
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| TensorBytes { name: name.clone(), dtype, shape: shape.clone(), bytes })
        .collect();
    let bytes = serialize_sorted(views, &metadata).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("could not encode the model: {e}"),
    })?;
    write_atomic(path, &bytes)
}

/// Loads a model file. The architecture is `architecture` when given, else the file's own.
///
/// **Errors** name the file and what is wrong: not a safetensors file, no architecture
/// (then name one), an architecture that cannot be built or needs more values than the file
/// holds, a tensor missing, of another shape or of an unsupported dtype, or a tensor the
/// architecture does not have.
pub fn load_model<T: Float>(path: &Path, architecture: Option<&Architecture>) -> Result<LoadedModel<T>> {
    let bytes = read_safetensors(path)?;
    model_from_bytes(&bytes, path, architecture)
}

/// [`load_model`] for a file's bytes already in memory; `path` names it in errors. Nothing
/// is allocated beyond what the bytes really hold (and a few MiB): the architecture is held to
/// the number of values the file has before the network is built.
pub fn model_from_bytes<T: Float>(
    bytes: &[u8],
    path: &Path,
    architecture: Option<&Architecture>,
) -> Result<LoadedModel<T>> {
    let format = |message: String| Error::Format { path: path.to_path_buf(), message };
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| format(not_safetensors(bytes, &e)))?;
    let metadata = read_metadata_of(bytes).map_err(format)?;
    let architecture = match architecture {
        Some(a) => a.clone(),
        None => {
            let json = metadata.get(ARCHITECTURE_KEY).ok_or_else(|| {
                format(
                    "the file does not say which network its weights belong to; name it with the flags of \
                     `train`, for example --arch mlp --hidden 50,100 --activation sigmoid"
                        .into(),
                )
            })?;
            serde_json::from_str(json).map_err(|e| {
                format(format!(
                    "its architecture {json:?} is not one this version knows ({e}); name one with --arch"
                ))
            })?
        }
    };
    let needed = architecture
        .check()
        .map_err(|e| format(format!("{e}; the file is damaged, or name the network with --arch")))?;
    architecture.check_memory(None, 1).map_err(|e| format(e.to_string()))?;
    let held: usize = model_tensors(&tensors).map(|(_, view)| view.shape().iter().product::<usize>()).sum();
    if needed > held.saturating_add(BUILD_SLACK) {
        let mut found: Vec<String> = model_tensors(&tensors)
            .map(|(name, view)| format!("{name} {}", shape_str(view.shape())))
            .collect();
        found.sort();
        return Err(format(format!(
            "{} has {needed} values, the file's tensors only {held} ({}): the file holds another network",
            architecture.describe(),
            found.join(", ")
        )));
    }
    let mut network: Box<dyn Network<T>> = architecture.build(None, &mut seeded_rng(0));
    let mut expected = Vec::new();
    for (name, mut value) in network.state() {
        let view = tensors.tensor(&name).map_err(|_| {
            format(format!(
                "no tensor {name} for {}: the file has {}",
                architecture.describe(),
                sorted_names(&tensors).join(", ")
            ))
        })?;
        if view.shape() != value.shape() {
            return Err(format(format!(
                "tensor {name} has shape {}, but {} needs {}: the file holds another network",
                shape_str(view.shape()),
                architecture.describe(),
                shape_str(value.shape())
            )));
        }
        let values = decode(view.dtype(), view.data()).map_err(|e| format(format!("tensor {name}: {e}")))?;
        if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let count = values.iter().filter(|v| !v.is_finite()).count();
            return Err(format(format!(
                "tensor {name} holds {count} values that are not finite numbers, the first {value} at index {index}: \
                 the run that wrote it diverged (train again with a lower --lr), or the file is damaged"
            )));
        }
        for (dst, src) in value.iter_mut().zip(values) {
            *dst = T::from_f64(src);
        }
        expected.push(name);
    }
    if let Some(extra) = sorted_names(&tensors)
        .into_iter()
        .find(|n| !expected.contains(n) && !n.starts_with(TRAINING_STATE_PREFIX))
    {
        return Err(format(format!(
            "tensor {extra} is not a parameter of {} (which has {}): the file holds another network",
            architecture.describe(),
            expected.join(", ")
        )));
    }
    Ok(LoadedModel { network, architecture, metadata })
}

/// The metadata of a model file without loading its tensors.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = read_safetensors(path)?;
    read_metadata_of(&bytes).map_err(|message| Error::Format { path: path.to_path_buf(), message })
}

pub(crate) fn read_metadata_of(bytes: &[u8]) -> std::result::Result<BTreeMap<String, String>, String> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| not_safetensors(bytes, &e))?;
    Ok(metadata.metadata().clone().unwrap_or_default().into_iter().collect())
}

/// Why `bytes` are not a safetensors file, for people: a header longer than the file (a
/// truncated download) said as such, else what safetensors found.
fn not_safetensors(bytes: &[u8], e: &safetensors::SafeTensorError) -> String {
    let claimed = bytes.get(..8).map(|n| u64::from_le_bytes(n.try_into().expect("8 bytes")));
    match claimed {
        None => format!(
            "not a safetensors model file: {} bytes are too few for its header; `mitbadak train` writes one",
            bytes.len()
        ),
        Some(n) if n > bytes.len() as u64 - 8 => format!(
            "not a safetensors model file: its first 8 bytes promise a header of {n} bytes, and the file \
             has {} (a download cut short?); `mitbadak train` writes one",
            bytes.len()
        ),
        Some(_) if matches!(e, safetensors::SafeTensorError::MetadataIncompleteBuffer) => {
            format!(
                "the tensors its header describes do not fill the file's {} bytes exactly: \
                 it is cut short or damaged",
                bytes.len()
            )
        }
        Some(_) => format!("not a safetensors model file ({e}); `mitbadak train` writes one"),
    }
}

/// The tensors of the network, leaving out a checkpoint's training state.
fn model_tensors<'a>(tensors: &'a SafeTensors<'a>) -> impl Iterator<Item = (String, TensorView<'a>)> + 'a {
    tensors.tensors().into_iter().filter(|(name, _)| !name.starts_with(TRAINING_STATE_PREFIX))
}

fn sorted_names(tensors: &SafeTensors) -> Vec<String> {
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
    names.sort();
    names
}

fn decode(dtype: Dtype, data: &[u8]) -> std::result::Result<Vec<f64>, String> {
    match dtype {
        Dtype::F32 => {
            Ok(data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect())
        }
        Dtype::F64 => Ok(data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()),
        Dtype::F16 => {
            Ok(data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64()).collect())
        }
        Dtype::BF16 => {
            Ok(data.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f64()).collect())
        }
        other => Err(format!("dtype {other:?} is not supported: expected F32, F64, F16 or BF16")),
    }
}

/// `values` as little-endian bytes of `dtype` (one of the four [`save_model_as`] takes).
fn le_bytes<T: Float>(dtype: Dtype, values: impl Iterator<Item = T>) -> Vec<u8> {
    match dtype {
        Dtype::F64 => values.flat_map(|v| v.as_f64().to_le_bytes()).collect(),
        // through f32, whose rounding to 16 bits `half` does exactly (its from_f64 first drops
        // the low 32 bits, and with them the rounding of a tie)
        Dtype::F16 => values.flat_map(|v| half::f16::from_f32(v.as_f64() as f32).to_le_bytes()).collect(),
        Dtype::BF16 => values.flat_map(|v| half::bf16::from_f32(v.as_f64() as f32).to_le_bytes()).collect(),
        _ => values.flat_map(|v| (v.as_f64() as f32).to_le_bytes()).collect(),
    }
}
