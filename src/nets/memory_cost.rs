//! What a network costs in memory before it is built: its state, and the activations a pass
//! over a batch keeps (every layer's output and what its backward pass caches: ReLU's mask, a
//! convolution's input, pooling's choices). An architecture from a flag or a file is held to
//! [`MEMORY_BUDGET_BYTES`] with it, before anything large is allocated: counting parameters
//! alone let a SimpleConvNet file with `pad` 486 make `eval` take 4.46 GB, and
//! `--hidden 1350000` abort.
//!
//! The counts are upper estimates in `f32` values, per sample, added up layer by layer from
//! the network's one description, [`Architecture::layers`] (each layer's share is in
//! `nets/layer_spec.rs`); and once per core, whatever the batch, a convolution's columns of
//! one image, `c·k²·oh·ow`, and their gradient (see [`crate::layers::Convolution`]).

use super::Architecture;
use super::layer_spec::{activation_values, largest_columns};
use crate::{Error, Result};

/// The most memory a network's training or evaluation may take: 8 GiB.
pub const MEMORY_BUDGET_BYTES: u64 = 8 << 30;

/// The activations' share of an evaluation: chunks are made small enough to keep within it.
pub const EVAL_ACTIVATION_BYTES: u64 = 512 << 20;

/// Bytes of an `f32`.
const F32: u64 = 4;

/// Copies of the state training keeps: the weights, their gradients, an optimizer's two
/// arrays (Adam's m and v), and the snapshot the accuracies are measured on.
const TRAINING_STATE_COPIES: u64 = 5;

impl Architecture {
    /// The `f32` values the activations of one sample take in a forward and backward pass
    /// (an upper estimate), or `None` when the count overflows.
    pub fn activation_values(&self) -> Option<u64> {
        self.values_per_sample_and_columns().map(|(per_sample, _)| per_sample)
    }

    /// The `f32` values a pass needs once per core whatever the batch: the largest
    /// convolution's columns of one image, and their gradient.
    pub fn workspace_values(&self) -> Option<u64> {
        let (_, columns) = self.values_per_sample_and_columns()?;
        columns.checked_mul(2)?.checked_mul(cores())
    }

    fn values_per_sample_and_columns(&self) -> Option<(u64, u64)> {
        let layers = self.layers().ok()?;
        let input = self.input_shape().iter().product();
        Some((activation_values(input, &layers)?, largest_columns(&layers)?))
    }

    /// The bytes training takes with mini-batches of `batch` (and the accuracies measured
    /// `eval_chunk` images at a time beside it), or `None` when the count overflows.
    pub fn training_bytes(&self, batch: usize, eval_chunk: usize) -> Option<u64> {
        let state = (self.check().ok()? as u64).checked_mul(TRAINING_STATE_COPIES)?;
        let samples = (batch as u64).checked_add(eval_chunk as u64)?;
        let activations = self.activation_values()?.checked_mul(samples)?;
        let workspace = self.workspace_values()?.checked_mul(2)?;
        state.checked_add(activations)?.checked_add(workspace)?.checked_mul(F32)
    }

    /// The bytes evaluating takes, `chunk` images at a time, or `None` when the count overflows.
    pub fn evaluation_bytes(&self, chunk: usize) -> Option<u64> {
        let state = self.check().ok()? as u64;
        let activations = self.activation_values()?.checked_mul(chunk as u64)?;
        state.checked_add(activations)?.checked_add(self.workspace_values()?)?.checked_mul(F32)
    }

    /// The images an evaluation passes at once: `at_most`, or fewer when their activations
    /// would take more than [`EVAL_ACTIVATION_BYTES`]; at least 1.
    pub fn eval_chunk(&self, at_most: usize) -> usize {
        let per_sample = self.activation_values().unwrap_or(u64::MAX).saturating_mul(F32).max(1);
        usize::try_from(EVAL_ACTIVATION_BYTES / per_sample).unwrap_or(usize::MAX).clamp(1, at_most.max(1))
    }

    /// Refuses a network whose training (with mini-batches of `batch`, the accuracies
    /// measured `eval_chunk` images at a time), or when `batch` is `None` whose evaluation of
    /// one image, takes more than [`MEMORY_BUDGET_BYTES`].
    ///
    /// **Errors** say how much it would take, and what to make smaller.
    ///
    /// ```
    /// use mitbadak::nets::Architecture;
    /// let book = Architecture::two_layer(784, 50, 10);
    /// assert!(book.check_memory(Some(100), 500).is_ok());
    /// let huge = Architecture::two_layer(784, 1_350_000, 10);
    /// let e = huge.check_memory(Some(100), 500).unwrap_err().to_string();
    /// assert!(e.contains("needs about 44.1 GiB to train with batches of 100"), "{e}");
    /// ```
    pub fn check_memory(&self, batch: Option<usize>, eval_chunk: usize) -> Result<()> {
        let (needed, doing) = match batch {
            Some(batch) => {
                (self.training_bytes(batch, eval_chunk), format!("to train with batches of {batch}"))
            }
            None => (self.evaluation_bytes(1), "to evaluate one image".to_string()),
        };
        match needed {
            Some(bytes) if bytes <= MEMORY_BUDGET_BYTES => Ok(()),
            _ => Err(Error::invalid(
                "architecture",
                format!(
                    "{} needs about {} {doing} (its weights and the activations of its layers), more than \
                     mitbadak's budget of {} GiB: make it smaller{}",
                    self.describe(),
                    needed.map_or("more than 2^64 bytes".to_string(), |b| format!(
                        "{:.1} GiB",
                        b as f64 / (1u64 << 30) as f64
                    )),
                    MEMORY_BUDGET_BYTES >> 30,
                    if batch.is_some() { ", or its batches (--batch-size)" } else { "" }
                ),
            )),
        }
    }
}

/// The cores a pass shares its images out to.
fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::SimpleConvNetConfig;

    #[test]
    fn the_book_s_networks_fit_and_the_hostile_ones_do_not() {
        let simple = Architecture::simple_convnet([1, 28, 28], 10);
        let deep = Architecture::deep_convnet([1, 28, 28], 10, Architecture::deep_convnet_dropout(), false);
        for net in [&simple, &deep] {
            net.check_memory(Some(100), 500).unwrap();
            assert_eq!(net.eval_chunk(500), 500, "{}", net.describe());
        }
        // SimpleConvNet: 24x24 outputs of 30 filters, pooled to 12x12; columns of 25x576
        assert_eq!(simple.activation_values().unwrap(), 784 + 4 * 30 * 576 + 3 * 30 * 144 + 8 * 100 + 8 * 10);
        assert_eq!(simple.workspace_values().unwrap(), 2 * 25 * 576 * cores());

        // the file of a hostile run: one filter, a padding of 486 making each 28x28 image
        // 1000x1000, so 996x996 outputs an image
        let padded = SimpleConvNetConfig { pad: 486, filter_num: 1, hidden_size: 1, ..Default::default() }
            .architecture();
        assert_eq!(padded.activation_values().unwrap(), 784 + 4 * 992_016 + 3 * 248_004 + 8 + 80);
        assert_eq!(padded.eval_chunk(500), 28);
        let e = padded.check_memory(Some(10_000), 500).unwrap_err().to_string();
        assert!(e.contains("to train with batches of 10000"), "{e}");
    }
}
