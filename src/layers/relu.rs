//! `Relu`: `y = max(0, x)`, `dy/dx = 1 where x > 0, else 0`.

use ndarray::{ArrayD, Zip};
use rayon::prelude::*;

use super::Layer;
use crate::Float;

/// Inputs with at least this many values are shared out between the cores: a conv net's
/// activations are megabytes a batch, the MLPs' a few thousand values, where handing work to
/// another thread would cost more than it saves.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// The rectified linear unit. Keeps `mask` (where `x <= 0`) for the backward pass.
#[derive(Debug, Clone, Default)]
pub struct Relu {
    /// `true` where the input was `<= 0`: those outputs are 0 and pass no gradient.
    pub mask: ArrayD<bool>,
    /// Whether the layer before runs this ReLU in its own passes ([`Relu::done_before`]).
    pub done_before: bool,
}

impl Relu {
    /// A new ReLU layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ReLU after a [`Convolution::with_relu`](super::Convolution::with_relu), which
    /// applies it as it writes its outputs and reads its `dout`: this layer passes values and
    /// gradients through as they are. The networks build the two together.
    pub fn done_before() -> Self {
        Relu { done_before: true, ..Self::default() }
    }
}

/// The book's ReLU of one value, `max(0, v)`, noting in `masked` whether it blocked (`v <= 0`,
/// the book's `mask`). The one place of the rule: the `Relu` layer, and the convolutions that
/// run it in their passes, call it.
#[inline(always)]
pub(crate) fn rectify<T: Float>(v: T, masked: &mut bool) -> T {
    *masked = v <= T::zero();
    if *masked { T::zero() } else { v }
}

/// The ReLU's backward pass for one value, the book's `dout[mask] = 0`: `d`, or 0 where it
/// blocked. A select rather than a branch: the mask is as good as random, and a branch on it
/// would be mispredicted half the time.
#[inline(always)]
pub(crate) fn pass_back<T: Float>(d: T, masked: bool) -> T {
    if masked { T::zero() } else { d }
}

impl<T: Float> Layer<T> for Relu {
    fn name(&self) -> &'static str {
        "Relu"
    }

    fn forward(&mut self, mut x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        if self.done_before {
            return x;
        }
        // one pass: note the mask and clear what it covers
        let relu = |v: &mut T, masked: &mut bool| *v = rectify(*v, masked);
        // every value of the mask is written below: last step's mask is reused when it fits
        if self.mask.shape() != x.shape() {
            self.mask = ArrayD::from_elem(x.raw_dim(), false);
        }
        match (x.as_slice_mut(), self.mask.as_slice_mut()) {
            // a conv net's activations (megabytes a batch): shared out between the cores
            (Some(values), Some(mask)) if values.len() >= PARALLEL_MIN_VALUES => {
                let chunk = values.len().div_ceil(rayon::current_num_threads());
                values.par_chunks_mut(chunk).zip(mask.par_chunks_mut(chunk)).for_each(|(values, mask)| {
                    values.iter_mut().zip(mask).for_each(|(v, m)| relu(v, m));
                });
            }
            _ => Zip::from(&mut x).and(&mut self.mask).for_each(relu),
        }
        x
    }

    fn backward(&mut self, mut dout: ArrayD<T>) -> ArrayD<T> {
        if self.done_before {
            return dout;
        }
        // dx = dout where x > 0, else 0
        assert_eq!(
            dout.shape(),
            self.mask.shape(),
            "Relu::backward: dout and the forward input differ in shape"
        );
        let pass = |d: &mut T, &masked: &bool| *d = pass_back(*d, masked);
        match (dout.as_slice_mut(), self.mask.as_slice()) {
            (Some(values), Some(mask)) if values.len() >= PARALLEL_MIN_VALUES => {
                let chunk = values.len().div_ceil(rayon::current_num_threads());
                values.par_chunks_mut(chunk).zip(mask.par_chunks(chunk)).for_each(|(values, mask)| {
                    values.iter_mut().zip(mask).for_each(|(d, m)| pass(d, m));
                });
            }
            _ => dout.zip_mut_with(&self.mask, pass),
        }
        dout
    }
}
