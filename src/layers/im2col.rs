//! `im2col` and `col2im` (chapter 7): a convolution as one matrix product.
//!
//! `im2col` lays every `FH x FW` window of every channel out as a row: input `(N, C, H, W)`
//! becomes `(N·OH·OW, C·FH·FW)`, with `OH = (H + 2·pad - FH) / stride + 1` (and `OW` alike).
//! `col2im` goes back, adding up the values of windows that overlap.

use ndarray::{Array2, Array4, ArrayView4};

use crate::Float;

/// The output size along one axis: `(size + 2·pad - filter) / stride + 1`.
///
/// **Panics** if the filter (with padding) does not fit or the stride is 0.
pub fn output_size(size: usize, filter: usize, stride: usize, pad: usize) -> usize {
    assert!(
        stride > 0 && size + 2 * pad >= filter,
        "a {filter}-wide filter does not fit {size} + 2·{pad} with stride {stride}"
    );
    (size + 2 * pad - filter) / stride + 1
}

/// The windows of `x: (N, C, H, W)` as rows `(N·OH·OW, C·FH·FW)`; padding reads as 0.
pub fn im2col<T: Float>(x: ArrayView4<T>, (fh, fw): (usize, usize), stride: usize, pad: usize) -> Array2<T> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = (output_size(h, fh, stride, pad), output_size(w, fw, stride, pad));
    let mut col = Array2::zeros((n * oh * ow, c * fh * fw));
    for (row, mut out) in col.rows_mut().into_iter().enumerate() {
        let (i, y, xx) = (row / (oh * ow), row / ow % oh, row % ow);
        for ch in 0..c {
            for dy in 0..fh {
                for dx in 0..fw {
                    // the input position under this filter tap, in padded coordinates
                    let (py, px) = (
                        (y * stride + dy) as isize - pad as isize,
                        (xx * stride + dx) as isize - pad as isize,
                    );
                    if py >= 0 && px >= 0 && (py as usize) < h && (px as usize) < w {
                        out[(ch * fh + dy) * fw + dx] = x[[i, ch, py as usize, px as usize]];
                    }
                }
            }
        }
    }
    col
}

/// The inverse of [`im2col`]: rows `(N·OH·OW, C·FH·FW)` added back into `(N, C, H, W)`.
///
/// **Panics** if `col` does not have the shape `im2col` gives for `shape`.
pub fn col2im<T: Float>(
    col: &Array2<T>,
    shape: (usize, usize, usize, usize),
    (fh, fw): (usize, usize),
    stride: usize,
    pad: usize,
) -> Array4<T> {
    let (n, c, h, w) = shape;
    let (oh, ow) = (output_size(h, fh, stride, pad), output_size(w, fw, stride, pad));
    assert_eq!(col.dim(), (n * oh * ow, c * fh * fw), "col2im: col does not match input {shape:?}");
    let mut x = Array4::zeros(shape);
    for (row, values) in col.rows().into_iter().enumerate() {
        let (i, y, xx) = (row / (oh * ow), row / ow % oh, row % ow);
        for ch in 0..c {
            for dy in 0..fh {
                for dx in 0..fw {
                    let (py, px) = (
                        (y * stride + dy) as isize - pad as isize,
                        (xx * stride + dx) as isize - pad as isize,
                    );
                    if py >= 0 && px >= 0 && (py as usize) < h && (px as usize) < w {
                        x[[i, ch, py as usize, px as usize]] += values[(ch * fh + dy) * fw + dx];
                    }
                }
            }
        }
    }
    x
}
