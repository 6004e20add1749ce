//! `Pooling` (chapter 7): each `PH x PW` window of each channel reduced to one value, its
//! maximum (the book's) or its mean.
//!
//! ```text
//! forward:  out[n, c, y, x] = max (or mean) of x[n, c, window(y, x)]     padding reads as 0
//! backward: max: dout goes to where the maximum was;  mean: dout / (PH·PW) to every cell
//! ```

use ndarray::{Array4, ArrayD, Ix4};
use serde::{Deserialize, Serialize};

use super::Layer;
use super::im2col::output_size;
use crate::Float;

/// How a window is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolingKind {
    /// The largest value (the book's).
    Max,
    /// The mean value.
    Average,
}

/// Max or average pooling over windows of `pool_h x pool_w`.
#[derive(Debug, Clone)]
pub struct Pooling {
    /// The window's height.
    pub pool_h: usize,
    /// The window's width.
    pub pool_w: usize,
    /// The step between windows.
    pub stride: usize,
    /// Zeros added around the input.
    pub pad: usize,
    /// Max or average.
    pub kind: PoolingKind,
    /// The last input's shape.
    x_shape: (usize, usize, usize, usize),
    /// For max pooling: where each output's maximum was, as a flat index into the input
    /// (`usize::MAX` when it was a padding zero).
    arg_max: Vec<usize>,
}

impl Pooling {
    /// Pooling over `pool_h x pool_w` windows with `stride` and `pad`.
    ///
    /// **Panics** if a size or the stride is 0.
    pub fn new(pool_h: usize, pool_w: usize, stride: usize, pad: usize, kind: PoolingKind) -> Self {
        assert!(
            pool_h > 0 && pool_w > 0 && stride > 0,
            "Pooling::new: window {pool_h}x{pool_w} and stride {stride} must be at least 1"
        );
        Pooling { pool_h, pool_w, stride, pad, kind, x_shape: (0, 0, 0, 0), arg_max: Vec::new() }
    }

    /// The book's pooling: 2x2 max windows with stride 2.
    pub fn max_2x2() -> Self {
        Pooling::new(2, 2, 2, 0, PoolingKind::Max)
    }

    /// The input cells `(y, x)` of the window at output `(oy, ox)` that lie inside an
    /// `h x w` image, and the number of padding cells it covers.
    fn window(&self, (oy, ox): (usize, usize), (h, w): (usize, usize)) -> (Vec<(usize, usize)>, usize) {
        let mut cells = Vec::with_capacity(self.pool_h * self.pool_w);
        for dy in 0..self.pool_h {
            for dx in 0..self.pool_w {
                let (y, x) = (
                    (oy * self.stride + dy) as isize - self.pad as isize,
                    (ox * self.stride + dx) as isize - self.pad as isize,
                );
                if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                    cells.push((y as usize, x as usize));
                }
            }
        }
        let padding = self.pool_h * self.pool_w - cells.len();
        (cells, padding)
    }
}

impl<T: Float> Layer<T> for Pooling {
    fn name(&self) -> &'static str {
        "Pooling"
    }

    /// **Panics** if `x` is not `(N, C, H, W)` or the window does not fit.
    fn forward(&mut self, x: ArrayD<T>, _train: bool) -> ArrayD<T> {
        let x = x
            .into_dimensionality::<Ix4>()
            .unwrap_or_else(|x| panic!("Pooling::forward: expected (N, C, H, W), got {x:?}"));
        let (n, c, h, w) = x.dim();
        let (oh, ow) = (
            output_size(h, self.pool_h, self.stride, self.pad),
            output_size(w, self.pool_w, self.stride, self.pad),
        );
        self.x_shape = (n, c, h, w);
        self.arg_max.clear();
        let area = T::from_f64((self.pool_h * self.pool_w) as f64);
        let mut out = Array4::zeros((n, c, oh, ow));
        for ((i, ch, oy, ox), o) in out.indexed_iter_mut() {
            let (cells, padding) = self.window((oy, ox), (h, w));
            *o = match self.kind {
                PoolingKind::Max => {
                    let index = |(y, xx): (usize, usize)| ((i * c + ch) * h + y) * w + xx;
                    let mut cells = cells.into_iter();
                    // padding reads as 0, as the book's im2col pads; else the first cell leads
                    let (mut best, mut at) = match padding {
                        0 => cells
                            .next()
                            .map(|cell| (x[[i, ch, cell.0, cell.1]], index(cell)))
                            .expect("a window has a cell"),
                        _ => (T::zero(), usize::MAX),
                    };
                    for cell in cells {
                        if x[[i, ch, cell.0, cell.1]] > best {
                            (best, at) = (x[[i, ch, cell.0, cell.1]], index(cell));
                        }
                    }
                    self.arg_max.push(at);
                    best
                }
                PoolingKind::Average => {
                    cells.iter().fold(T::zero(), |s, &(y, xx)| s + x[[i, ch, y, xx]]) / area
                }
            };
        }
        out.into_dyn()
    }

    fn backward(&mut self, dout: ArrayD<T>) -> ArrayD<T> {
        let dout = dout.into_dimensionality::<Ix4>().expect("Pooling::backward: dout must be (N, C, OH, OW)");
        let (n, c, h, w) = self.x_shape;
        let mut dx = Array4::zeros((n, c, h, w));
        let area = T::from_f64((self.pool_h * self.pool_w) as f64);
        match self.kind {
            PoolingKind::Max => {
                let dx_flat = dx.as_slice_mut().expect("a new array is contiguous");
                for (&at, &d) in self.arg_max.iter().zip(dout.iter()) {
                    if at != usize::MAX {
                        dx_flat[at] += d;
                    }
                }
            }
            PoolingKind::Average => {
                for ((i, ch, oy, ox), &d) in dout.indexed_iter() {
                    for (y, xx) in self.window((oy, ox), (h, w)).0 {
                        dx[[i, ch, y, xx]] += d / area;
                    }
                }
            }
        }
        dx.into_dyn()
    }
}
