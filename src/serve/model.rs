//! The model a server answers with: its network behind a lock (a forward pass keeps its
//! caches in the layers, so one request at a time uses it), what it is, and the curves of
//! the run that made it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::Error;
use crate::classify::{Classification, classify};
use crate::error::Result;
use crate::model_file::load_model;
use crate::nets::{Architecture, Network};
use crate::preprocess::SIDE;
use crate::runs::{ACCURACY_FILE, LOSS_FILE};

/// A model ready to serve: a classifier of 28x28 images.
pub struct ServedModel {
    network: Mutex<Box<dyn Network<f32>>>,
    info: ModelInfo,
    curves: BTreeMap<String, Vec<u8>>,
}

/// What `GET /api/model` says about the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The model file's name, without its directory (a client is told nothing of the
    /// server's disk).
    pub file: String,
    /// The architecture for people: `TwoLayerNet 784-50-10 (ReLU)`.
    pub architecture: String,
    /// The architecture as the model file keeps it.
    pub network: Architecture,
    /// The shape of one input: `[784]`.
    pub input_shape: Vec<usize>,
    /// The number of classes.
    pub classes: usize,
    /// The test accuracy the file records, if it does.
    pub test_accuracy: Option<f64>,
    /// Every metadata entry of the file (iterations, optimizer, seed ... as `train` wrote them).
    pub metadata: BTreeMap<String, String>,
    /// The addresses of the run's curves, by name (`accuracy`, `loss`): those its directory has.
    pub curves: BTreeMap<String, String>,
}

impl ServedModel {
    /// Loads a model file (with `architecture` when the file does not say, as `predict --arch`),
    /// and the run's `accuracy.png` and `loss.png` beside it where they are.
    ///
    /// **Errors** name the file: unreadable, not a model, or not a classifier of 28x28 images.
    pub fn load(path: &Path, architecture: Option<&Architecture>) -> Result<ServedModel> {
        let model = load_model::<f32>(path, architecture)?;
        let not_servable = |message: String| Error::Format { path: path.to_path_buf(), message };
        let architecture = model.architecture;
        let pixels = SIDE * SIDE;
        if architecture.input_shape().iter().product::<usize>() != pixels {
            return Err(not_servable(format!(
                "{} takes {} values per input, but the page draws {SIDE}x{SIDE} = {pixels} pixels: serve a model trained on MNIST",
                architecture.describe(),
                architecture.input_shape().iter().product::<usize>()
            )));
        }
        if !architecture.is_classifier() {
            return Err(not_servable(format!(
                "{} has no softmax output, so no class probabilities to show: serve a classifier",
                architecture.describe()
            )));
        }
        let curves = read_curves(path.parent().unwrap_or(Path::new(".")));
        let info = ModelInfo {
            file: path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
            architecture: architecture.describe(),
            input_shape: architecture.input_shape(),
            classes: architecture.output_size(),
            test_accuracy: model.metadata.get("test_accuracy").and_then(|a| a.parse().ok()),
            metadata: model.metadata,
            curves: curves.keys().map(|name| (curve_stem(name), format!("/api/model/{name}"))).collect(),
            network: architecture,
        };
        Ok(ServedModel { network: Mutex::new(model.network), info, curves })
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The bytes of a curve of the model's run (`accuracy.png`, `loss.png`), if it has it.
    pub fn curve(&self, file_name: &str) -> Option<&[u8]> {
        self.curves.get(file_name).map(Vec::as_slice)
    }

    /// Classifies one image of 784 values in [0, 1], white on black, row by row.
    ///
    /// **Errors** if there are not 784 values.
    pub fn classify(&self, pixels: Vec<f32>) -> Result<Classification> {
        // a panic elsewhere cannot leave the network half-changed: every forward pass
        // overwrites what the layers cache
        let mut network = self.network.lock().unwrap_or_else(PoisonError::into_inner);
        classify(network.as_mut(), pixels)
    }
}

/// The run's figures in `dir`, by file name; a missing or unreadable one is left out.
fn read_curves(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    [ACCURACY_FILE, LOSS_FILE]
        .into_iter()
        .filter_map(|name| Some((name.to_string(), std::fs::read(dir.join(name)).ok()?)))
        .collect()
}

/// `accuracy.png` -> `accuracy`.
fn curve_stem(file_name: &str) -> String {
    file_name.strip_suffix(".png").unwrap_or(file_name).to_string()
}
