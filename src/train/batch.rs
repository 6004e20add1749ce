//! A mini-batch as the network takes it. The trainer decides how: sparse rows when the
//! network's first layer is affine (flat samples) and the images are mostly zeros, as MNIST's
//! are (81%), so that `x·W1` skips the zeros; else the dense array, as the book's `x[batch_mask]`.

use crate::data::Dataset;
use crate::layers::Input;
use crate::matmul::SPARSE_MAX_DENSITY;

/// Images `indices` of `data` for a network whose samples are `sample_shape`, normalised to
/// [0, 1]: sparse rows `(N, D)` when the samples are flat and the images mostly zeros, else
/// the dense array of [`Dataset::batch`].
pub fn input_batch(data: &Dataset, indices: &[usize], sample_shape: &[usize]) -> Input<f32> {
    if sample_shape.len() != 1 || data.density() > SPARSE_MAX_DENSITY {
        return Input::Dense(data.batch(indices, sample_shape));
    }
    Input::Sparse(data.sparse_rows(indices))
}
