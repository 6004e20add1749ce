//! Accuracy: the book's `network.accuracy(x, t)` over a whole data set, in chunks of
//! [`EVAL_CHUNK`] images, in inference mode ([`evaluate`]); and the same count done a chunk
//! at a time ([`Measuring`]), so that the training run's helper can measure between
//! gathering batches.

use std::ops::Range;

use super::batch::input_batch;
use super::history::Evaluation;
use crate::Error;
use crate::data::{Dataset, Mnist};
use crate::error::Result;
use crate::nets::Network;
use crate::nets::Trainable;
use crate::targets::argmax;

/// Images evaluated per forward pass: enough to amortise the per-call work, few enough that
/// the chunk's `f32` copy (1.5 MB) stays in the cache.
pub const EVAL_CHUNK: usize = 500;

/// The accuracy of `network` on all of `data`, in chunks, in inference mode.
///
/// **Errors** if the network does not take the data's images, the data has no images, or a
/// label is not one of the network's classes.
pub fn evaluate(network: &mut dyn Network<f32>, data: &Dataset) -> Result<f64> {
    check_network_takes(network, data)?;
    if data.is_empty() {
        return Err(Error::invalid("data", "the set has no images: there is no accuracy to measure"));
    }
    let classes = network.architecture().output_size();
    if let Some((index, label)) = data.labels.iter().enumerate().find(|&(_, &l)| l as usize >= classes) {
        let outside = data.labels.iter().filter(|&&l| l as usize >= classes).count();
        return Err(Error::invalid(
            "label",
            format!(
                "image {index} is labelled {label}, but the network has {classes} classes (0 to {}); \
                 {outside} labels are outside them: the data is not the network's",
                classes - 1
            ),
        ));
    }
    let input_shape = network.input_shape();
    // fewer at once where one image's activations are large (a wide padding), to stay in budget
    let chunk = network.architecture().eval_chunk(EVAL_CHUNK);
    let mut correct = 0;
    for start in (0..data.len()).step_by(chunk) {
        correct += count_correct(network, data, start..(start + chunk).min(data.len()), &input_shape)?;
    }
    Ok(correct as f64 / data.len().max(1) as f64)
}

/// How many of images `chunk` of `data` the network classifies right.
fn count_correct(
    network: &mut dyn Network<f32>,
    data: &Dataset,
    chunk: Range<usize>,
    input_shape: &[usize],
) -> Result<usize> {
    let indices: Vec<usize> = chunk.collect();
    let y = network.forward_input(input_batch(data, &indices, input_shape), false)?;
    let classes = y.len() / indices.len().max(1);
    let y = y.into_shape_with_order((indices.len(), classes)).expect("scores are (N, C)");
    Ok(indices.iter().zip(y.rows()).filter(|&(&i, row)| argmax(row) == data.labels[i] as usize).count())
}

/// Checks that `network` takes `data`'s images (as many values per image as its input).
///
/// **Errors** name the network's input and the images' size.
pub(super) fn check_network_takes(network: &dyn Network<f32>, data: &Dataset) -> Result<()> {
    let needs: usize = network.input_shape().iter().product();
    if needs != data.sample_size() {
        return Err(Error::shape(
            format!("{} input", network.name()),
            format!("{needs} values per image"),
            format!(
                "images of {}x{} = {} pixels",
                data.image_shape.0,
                data.image_shape.1,
                data.sample_size()
            ),
        ));
    }
    Ok(())
}

/// An accuracy measurement under way: what has been counted so far.
pub(super) struct Measuring {
    iteration: usize,
    iter_per_epoch: usize,
    train_size: usize,
    test_size: usize,
    train_correct: usize,
    test_correct: usize,
    next: usize,
}

impl Measuring {
    /// Measuring the weights after `iteration` steps, on the first `train_size` training images
    /// and the first `test_size` test images.
    pub(super) fn new(iteration: usize, iter_per_epoch: usize, train_size: usize, test_size: usize) -> Self {
        Measuring {
            iteration,
            iter_per_epoch,
            train_size,
            test_size,
            train_correct: 0,
            test_correct: 0,
            next: 0,
        }
    }

    /// Counts one more chunk (the training images first, then the test images); returns the
    /// evaluation when all are counted.
    pub(super) fn next_chunk(
        &mut self,
        network: &mut dyn Network<f32>,
        data: &Mnist,
        input_shape: &[usize],
    ) -> Result<Option<Evaluation>> {
        let (train_size, test_size) = (self.train_size, self.test_size.min(data.test.len()));
        if self.next < train_size {
            let chunk = self.next..(self.next + EVAL_CHUNK).min(train_size);
            self.train_correct += count_correct(network, &data.train, chunk.clone(), input_shape)?;
            self.next = chunk.end;
        } else if self.next < train_size + test_size {
            let chunk = self.next - train_size..(self.next - train_size + EVAL_CHUNK).min(test_size);
            self.test_correct += count_correct(network, &data.test, chunk.clone(), input_shape)?;
            self.next = train_size + chunk.end;
        }
        if self.next < train_size + test_size {
            return Ok(None);
        }
        Ok(Some(Evaluation {
            iteration: self.iteration,
            epoch: self.iteration as f64 / self.iter_per_epoch as f64,
            train_acc: self.train_correct as f64 / train_size.max(1) as f64,
            test_acc: self.test_correct as f64 / test_size.max(1) as f64,
        }))
    }
}
