//! On-the-fly data augmentation, as the book's chapter 8 suggests: each training image is
//! moved by a small random shift and rotation before the step sees it, so that a network
//! learns the digits rather than their exact place on the page.
//!
//! The random draws come from the run's seed, on a stream of their own
//! ([`AUGMENT_STREAM`]), at a position fixed by the batch's number: batch `k` of a run is
//! augmented the same way whether the run went straight through or was resumed before it.

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use crate::{AUGMENT_STREAM, rng_stream};
use rand::Rng;

/// How the training images are varied before each step.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Augment {
    /// The images as they are (the book's training).
    #[default]
    None,
    /// Each image shifted by up to `max_shift` pixels along each axis and rotated by up to
    /// `max_degrees` either way about its centre, each drawn uniformly.
    ShiftRotate {
        /// The largest shift, in pixels, along each axis.
        max_shift: f32,
        /// The largest rotation, in degrees, either way.
        max_degrees: f32,
    },
}

impl Augment {
    /// The shifts and rotations of the DeepConvNet recipe: up to 2 pixels and 10 degrees.
    pub const SHIFT_ROTATE: Augment = Augment::ShiftRotate { max_shift: 2.0, max_degrees: 10.0 };

    /// The name `--augment` gives it, with the sizes when they are not the flag's:
    /// `none`, `shift-rotate`.
    pub fn name(&self) -> String {
        match *self {
            Augment::None => "none".into(),
            augment if augment == Augment::SHIFT_ROTATE => "shift-rotate".into(),
            Augment::ShiftRotate { max_shift, max_degrees } => {
                format!("shift-rotate (up to {max_shift} pixels and {max_degrees} degrees)")
            }
        }
    }

    /// Whether this changes the images at all.
    pub fn is_none(&self) -> bool {
        *self == Augment::None
    }

    /// Varies batch number `batch_index` of a run seeded `seed`: `x` is `(N, ...)` with each
    /// sample one or more `(h, w)` planes (`(N, C, H, W)`, or flat `(N, H·W)` for an MLP),
    /// changed in place. Draws the same numbers for the same batch, whatever came before.
    pub fn apply(&self, x: &mut ArrayD<f32>, (h, w): (usize, usize), seed: u64, batch_index: usize) {
        let Augment::ShiftRotate { max_shift, max_degrees } = *self else { return };
        let n = x.shape().first().copied().unwrap_or(0);
        let per_image = x.len() / n.max(1);
        if n == 0 || h * w == 0 || !per_image.is_multiple_of(h * w) {
            return; // no planes of that size to move
        }
        let mut rng = rng_stream(seed, AUGMENT_STREAM);
        rng.set_word_pos((batch_index * n * WORDS_PER_IMAGE) as u128);
        let values = x.as_slice_mut().expect("a batch is contiguous");
        let mut plane = vec![0.0; h * w];
        for image in values.chunks_mut(per_image) {
            let move_ = Move {
                dx: max_shift * symmetric(rng.next_u32()),
                dy: max_shift * symmetric(rng.next_u32()),
                radians: max_degrees.to_radians() * symmetric(rng.next_u32()),
            };
            for channel in image.chunks_mut(h * w) {
                plane.copy_from_slice(channel);
                move_.apply(&plane, channel, h, w);
            }
        }
    }
}

/// Random words drawn for each image: the shift along x, along y, and the angle.
const WORDS_PER_IMAGE: usize = 3;

/// A 32-bit word as a number in `[-1, 1)`.
fn symmetric(word: u32) -> f32 {
    (word >> 8) as f32 / (1 << 23) as f32 - 1.0
}

/// A rotation about the image's centre, then a shift.
struct Move {
    dx: f32,
    dy: f32,
    radians: f32,
}

impl Move {
    /// `dst[y][x] = src` at the point that the move takes to `(x, y)`, read between pixels by
    /// bilinear interpolation; points off the image read 0 (the paper's background).
    fn apply(&self, src: &[f32], dst: &mut [f32], h: usize, w: usize) {
        let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
        let (sin, cos) = self.radians.sin_cos();
        for y in 0..h {
            for x in 0..w {
                // undo the shift, then the rotation: the inverse map, so every output pixel is set
                let (u, v) = (x as f32 - self.dx - cx, y as f32 - self.dy - cy);
                let (sx, sy) = (cos * u + sin * v + cx, -sin * u + cos * v + cy);
                dst[y * w + x] = bilinear(src, h, w, sx, sy);
            }
        }
    }
}

/// `src` read at `(x, y)`, between its pixels, 0 outside.
fn bilinear(src: &[f32], h: usize, w: usize, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| -> f32 {
        if xi < 0.0 || yi < 0.0 || xi >= w as f32 || yi >= h as f32 {
            0.0
        } else {
            src[yi as usize * w + xi as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    /// A 5x5 image with one lit pixel at (row 1, column 2).
    fn dot() -> ArrayD<f32> {
        let mut x = ArrayD::zeros(IxDyn(&[1, 1, 5, 5]));
        x[[0, 0, 1, 2]] = 1.0;
        x
    }

    #[test]
    fn a_whole_pixel_shift_moves_the_pixel() {
        let mut out = vec![0.0; 25];
        Move { dx: 1.0, dy: 2.0, radians: 0.0 }.apply(dot().as_slice().unwrap(), &mut out, 5, 5);
        assert_eq!(out[3 * 5 + 3], 1.0);
        assert_eq!(out.iter().sum::<f32>(), 1.0);
    }

    #[test]
    fn a_quarter_turn_turns_the_pixel_about_the_centre() {
        let mut out = vec![0.0; 25];
        // (x 2, y 1) is (0, -1) from the centre; a quarter turn (y down) takes it to (1, 0)
        Move { dx: 0.0, dy: 0.0, radians: std::f32::consts::FRAC_PI_2 }.apply(
            dot().as_slice().unwrap(),
            &mut out,
            5,
            5,
        );
        assert!((out[2 * 5 + 3] - 1.0).abs() < 1e-5, "{out:?}");
        assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn half_a_pixel_shares_the_ink_between_two() {
        let mut out = vec![0.0; 25];
        Move { dx: 0.5, dy: 0.0, radians: 0.0 }.apply(dot().as_slice().unwrap(), &mut out, 5, 5);
        assert_eq!((out[5 + 2], out[5 + 3]), (0.5, 0.5));
    }

    #[test]
    fn a_batch_is_moved_the_same_way_whatever_came_before() {
        let mut x =
            ArrayD::from_shape_fn(IxDyn(&[4, 1, 6, 6]), |i| (i[0] * 36 + i[2] * 6 + i[3]) as f32 / 144.0);
        let original = x.clone();
        let mut again = x.clone();
        Augment::SHIFT_ROTATE.apply(&mut x, (6, 6), 7, 3);
        Augment::SHIFT_ROTATE.apply(&mut again, (6, 6), 7, 3);
        assert_eq!(x, again);
        assert_ne!(x, original);
        let mut other_batch = original.clone();
        Augment::SHIFT_ROTATE.apply(&mut other_batch, (6, 6), 7, 4);
        assert_ne!(x, other_batch);
        let mut untouched = original.clone();
        Augment::None.apply(&mut untouched, (6, 6), 7, 3);
        assert_eq!(untouched, original);
    }

    #[test]
    fn the_draws_span_the_range_either_way() {
        assert_eq!(symmetric(0), -1.0);
        assert_eq!(symmetric(u32::MAX), 1.0 - 1.0 / (1 << 23) as f32);
        assert_eq!(symmetric(1 << 31), 0.0);
    }
}
