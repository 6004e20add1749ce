//! Targets of a loss: one-hot rows (or any real-valued targets) or class indices.
//!
//! The book accepts both forms (`one_hot_label=True` or `False`) and so does every loss and
//! accuracy here: pass `&Array2<f32>` (one-hot), `&Array1<usize>` or `&[usize]` (indices)
//! wherever a `&dyn AsTargets<T>` is asked for.

use ndarray::{Array, ArrayView, ArrayView1, ArrayView2, Axis, Dimension, Ix2};

use crate::error::{Result, shape_str};
use crate::{Error, Float};

/// A view of targets for `N` samples.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a, T> {
    /// One row per sample, `(N, C)`, as wide as the output: one-hot labels or regression targets.
    Dense(ArrayView2<'a, T>),
    /// One class index per sample.
    Classes(ArrayView1<'a, usize>),
}

impl<'a, T: Float> Targets<'a, T> {
    /// Dense targets from an array of any shape: one vector is one sample, and every axis
    /// after the first is flattened into the row.
    ///
    /// **Panics** if an array of more than two axes is not contiguous.
    pub fn dense<D: Dimension>(t: ArrayView<'a, T, D>) -> Self {
        let rows = match t.ndim() {
            0 | 1 => (1, t.len()),
            _ => (t.shape()[0], t.len() / t.shape()[0].max(1)),
        };
        Targets::Dense(
            t.into_shape_with_order(rows).expect("dense targets of more than two axes must be contiguous"),
        )
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Dense(t) => t.nrows(),
            Targets::Classes(t) => t.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class of sample `i`: its index, or the position of the largest entry of its row.
    pub fn class(&self, i: usize) -> usize {
        match self {
            Targets::Dense(t) => argmax(t.row(i)),
            Targets::Classes(t) => t[i],
        }
    }

    /// Checks that these targets fit outputs `y` of shape `(N, C)`; `context` names the caller.
    pub fn check_against(&self, y_shape: &[usize], context: &str) -> Result<()> {
        let (n, c) = (y_shape[0], y_shape[1..].iter().product::<usize>());
        match self {
            Targets::Dense(t) if t.dim() == (n, c) => Ok(()),
            Targets::Dense(t) => Err(Error::shape(
                format!("{context} targets"),
                format!("one-hot targets of shape ({n}, {c}) matching the output"),
                shape_str(t.shape()),
            )),
            Targets::Classes(t) if t.len() != n => Err(Error::shape(
                format!("{context} labels"),
                format!("{n} class indices, one per sample"),
                format!("{} labels", t.len()),
            )),
            Targets::Classes(t) => match t.iter().position(|&k| k >= c) {
                Some(i) => Err(Error::invalid(
                    format!("{context} label"),
                    format!("label {} at position {i} is not a class of an output with {c} classes", t[i]),
                )),
                None => Ok(()),
            },
        }
    }
}

/// Anything that can be read as targets: one-hot arrays and class-index arrays or slices.
pub trait AsTargets<T> {
    /// A view of the targets.
    fn as_targets(&self) -> Targets<'_, T>;
}

impl<T: Float, D: Dimension> AsTargets<T> for Array<T, D> {
    fn as_targets(&self) -> Targets<'_, T> {
        Targets::dense(self.view())
    }
}

impl<T: Float, D: Dimension> AsTargets<T> for ArrayView<'_, T, D> {
    fn as_targets(&self) -> Targets<'_, T> {
        Targets::dense(self.view())
    }
}

impl<T: Float> AsTargets<T> for ndarray::Array1<usize> {
    fn as_targets(&self) -> Targets<'_, T> {
        Targets::Classes(self.view())
    }
}

impl<T: Float> AsTargets<T> for ArrayView1<'_, usize> {
    fn as_targets(&self) -> Targets<'_, T> {
        Targets::Classes(self.view())
    }
}

impl<T: Float> AsTargets<T> for [usize] {
    fn as_targets(&self) -> Targets<'_, T> {
        Targets::Classes(ArrayView1::from(self))
    }
}

impl<T: Float> AsTargets<T> for Vec<usize> {
    fn as_targets(&self) -> Targets<'_, T> {
        Targets::Classes(ArrayView1::from(self.as_slice()))
    }
}

impl<'a, T: Float> AsTargets<T> for Targets<'a, T> {
    fn as_targets(&self) -> Targets<'_, T> {
        match *self {
            Targets::Dense(t) => Targets::Dense(t),
            Targets::Classes(t) => Targets::Classes(t),
        }
    }
}

/// The index of the largest entry (the first one on ties), as NumPy's `argmax`.
pub fn argmax<T: Float>(row: ArrayView1<T>) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// The class of each row of `y: (N, C)` (NumPy's `np.argmax(y, axis=1)`).
pub fn argmax_rows<T: Float>(y: ArrayView2<T>) -> Vec<usize> {
    y.axis_iter(Axis(0)).map(argmax).collect()
}

/// Turns class indices into one-hot rows of width `classes`.
///
/// **Panics** if an index is `>= classes`.
pub fn one_hot<T: Float>(classes_of: &[usize], classes: usize) -> Array<T, Ix2> {
    let mut t = Array::zeros((classes_of.len(), classes));
    for (i, &k) in classes_of.iter().enumerate() {
        t[[i, k]] = T::one();
    }
    t
}

/// Targets kept by a loss layer between its forward and backward passes.
#[derive(Debug, Clone)]
pub enum OwnedTargets<T> {
    /// One-hot rows or real-valued targets, `(N, C)`.
    Dense(ndarray::Array2<T>),
    /// One class index per sample.
    Classes(ndarray::Array1<usize>),
}

impl<T: Float> Targets<'_, T> {
    /// An owned copy; dense targets become `(N, C)`.
    pub fn to_owned_targets(&self) -> OwnedTargets<T> {
        match self {
            Targets::Dense(t) => OwnedTargets::Dense(t.to_owned()),
            Targets::Classes(t) => OwnedTargets::Classes(t.to_owned()),
        }
    }

    /// Dense `(N, classes)` rows: dense targets as they are, class indices as one-hot rows.
    pub fn to_dense(&self, classes: usize) -> ndarray::Array2<T> {
        match self {
            Targets::Dense(t) => t.to_owned(),
            Targets::Classes(t) => one_hot(t.as_slice().unwrap_or(&t.to_vec()), classes),
        }
    }
}

impl<T: Float> AsTargets<T> for OwnedTargets<T> {
    fn as_targets(&self) -> Targets<'_, T> {
        match self {
            OwnedTargets::Dense(t) => Targets::Dense(t.view()),
            OwnedTargets::Classes(t) => Targets::Classes(t.view()),
        }
    }
}

impl<T: Float> OwnedTargets<T> {
    /// The targets of samples `indices`, in that order (NumPy's `t[batch_mask]`).
    ///
    /// **Panics** if an index is out of range.
    pub fn select(&self, indices: &[usize]) -> OwnedTargets<T> {
        match self {
            OwnedTargets::Dense(t) => OwnedTargets::Dense(t.select(Axis(0), indices)),
            OwnedTargets::Classes(t) => OwnedTargets::Classes(t.select(Axis(0), indices)),
        }
    }
}
