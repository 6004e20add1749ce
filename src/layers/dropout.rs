//! `Dropout` (chapter 6): in training, each unit is dropped (set to 0) with probability
//! `ratio`, with a fresh random mask every step.
//!
//! ```text
//! inverted (default): train y = x·mask / (1 - ratio),  test y = x
//! the book's:         train y = x·mask,                test y = x·(1 - ratio)
//! backward:           dx = dout·mask (/ (1 - ratio) when inverted)
//! ```
//!
//! Both keep the expected output the same in training and at test time. The book's variant
//! is here so that the book's trained weights give the book's numbers.

use ndarray::ArrayD;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::Layer;
use crate::{Float, SeededRng, seeded_rng};

/// Where dropout's scaling happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DropoutMode {
    /// Scale by `1 / (1 - ratio)` in training, nothing at test time (PyTorch's).
    Inverted,
    /// Scale by `1 - ratio` at test time, nothing in training (the book's).
    Book,
}

/// Dropout, with its own seeded generator for the masks.
#[derive(Debug, Clone)]
pub struct Dropout {
    /// The probability of dropping a unit, in [0, 1).
    pub ratio: f64,
    /// Where the scaling happens.
    pub mode: DropoutMode,
    /// `true` for the units kept by the last training forward.
    pub mask: ArrayD<bool>,
    /// When set, training forwards reuse the last mask (for a gradient check).
    pub frozen: bool,
    rng: SeededRng,
}

impl Dropout {
    /// Dropout of `ratio` (in [0, 1)) in `mode`, its masks drawn from `seed`.
    ///
    /// **Panics** if `ratio` is not in [0, 1): the caller checks user input first.
    pub fn new(ratio: f64, mode: DropoutMode, seed: u64) -> Self {
        assert!((0.0..1.0).contains(&ratio), "dropout ratio has to be in [0, 1), got {ratio}");
        Dropout {
            ratio,
            mode,
            mask: ArrayD::from_elem(ndarray::IxDyn(&[0]), true),
            frozen: false,
            rng: seeded_rng(seed),
        }
    }

    fn kept_scale<T: Float>(&self) -> T {
        match self.mode {
            DropoutMode::Inverted => T::from_f64(1.0 / (1.0 - self.ratio)),
            DropoutMode::Book => T::one(),
        }
    }
}

impl<T: Float> Layer<T> for Dropout {
    fn name(&self) -> &'static str {
        "Dropout"
    }

    fn forward(&mut self, mut x: ArrayD<T>, train: bool) -> ArrayD<T> {
        if !train {
            if self.mode == DropoutMode::Book {
                let keep = T::from_f64(1.0 - self.ratio);
                x.mapv_inplace(|v| v * keep);
            }
            return x;
        }
        if !(self.frozen && self.mask.shape() == x.shape()) {
            let ratio = self.ratio;
            self.mask = ArrayD::from_shape_simple_fn(x.raw_dim(), || self.rng.random::<f64>() >= ratio);
        }
        let scale = self.kept_scale::<T>();
        x.zip_mut_with(&self.mask, |v, &kept| *v = if kept { *v * scale } else { T::zero() });
        x
    }

    fn backward(&mut self, mut dout: ArrayD<T>) -> ArrayD<T> {
        assert_eq!(dout.shape(), self.mask.shape(), "Dropout::backward: dout and the mask differ in shape");
        let scale = self.kept_scale::<T>();
        dout.zip_mut_with(&self.mask, |d, &kept| *d = if kept { *d * scale } else { T::zero() });
        dout
    }

    fn rng_mut(&mut self) -> Option<&mut SeededRng> {
        Some(&mut self.rng)
    }
}
