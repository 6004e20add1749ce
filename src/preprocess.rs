//! Turning any picture of a digit into MNIST's form, as MNIST itself was made: grayscale,
//! a white digit on black, its bounding box scaled to fit 20x20 (aspect kept), and placed in
//! 28x28 so that its centre of mass sits at the centre.
//!
//! A picture that is already 28x28 is taken as it is (only inverted if it is dark on light):
//! it is in MNIST's form already, and resampling it would only blur it.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{FilterType, resize};
use image::{DynamicImage, GenericImageView, GrayImage, ImageError, ImageReader, Limits, Luma};

use crate::Error;
use crate::error::Result;
use crate::limited_read::read_at_most;

/// MNIST's image side.
pub const SIDE: usize = 28;

/// The box MNIST's digits were scaled to fit.
pub const DIGIT_BOX: u32 = 20;

/// Pixels below this (of 255) do not count as ink when the digit's bounding box is found.
const INK_THRESHOLD: u8 = 32;

/// A picture in MNIST's form, and what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    /// 784 values in [0, 1], row-major, white (1) digit on black (0).
    pub pixels: Vec<f32>,
    /// The picture was dark on light and has been inverted.
    pub inverted: bool,
    /// The picture's size, `(width, height)`.
    pub original_size: (u32, u32),
    /// The bounding box was scaled to 20x20 and centred by its centre of mass (false when
    /// the picture was 28x28 already, or blank).
    pub recentred: bool,
    /// Nothing was drawn: no pixel reached the ink threshold.
    pub blank: bool,
}

/// The largest picture side decoded, in pixels: a phone's photo fits, and a file that claims
/// more is refused before its pixels are allocated (at most 4096² RGBA16, 128 MiB).
pub const MAX_PICTURE_SIDE: u32 = 4096;

/// The most memory one picture's pixels may take once decoded: 48 MiB, a 4096x4096 RGB picture
/// (a phone's photo takes 36 MiB); a 4096x4096 RGBA one, or one of 16 bits a channel, is
/// refused before its pixels are allocated. Bringing it into MNIST's form takes at most two
/// bytes a pixel more.
pub const MAX_DECODE_BYTES: u64 = 48 << 20;

/// The largest picture file read: 64 MiB.
pub const MAX_PICTURE_FILE_BYTES: u64 = 64 << 20;

/// Reads a picture file of any common format (PNG, JPEG, BMP, GIF, WebP, PNM), of at most
/// [`MAX_PICTURE_SIDE`] pixels a side.
///
/// **Errors** name the file: missing, too large, or not a picture this build can decode.
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let bytes = read_at_most(path, MAX_PICTURE_FILE_BYTES, "a picture of a digit")?;
    decode_image(&bytes).map_err(|message| Error::Format { path: path.to_path_buf(), message })
}

/// Decodes a picture from bytes, of at most [`MAX_PICTURE_SIDE`] pixels a side, so that one
/// from a stranger (a server's request) cannot make it allocate more than such a picture
/// takes; the error says why it could not be read.
pub fn decode_image(bytes: &[u8]) -> std::result::Result<DynamicImage, String> {
    decode_within_limits(bytes).map_err(|e| match e {
        ImageError::Limits(e) => format!(
            "too large a picture ({e}): use one of at most {MAX_PICTURE_SIDE}x{MAX_PICTURE_SIDE} pixels \
             taking at most {} MiB (4096x4096 in RGB)",
            MAX_DECODE_BYTES >> 20
        ),
        e => format!("not a picture that can be read ({e}); expected PNG, JPEG, BMP, GIF, WebP or PNM"),
    })
}

fn decode_within_limits(bytes: &[u8]) -> image::ImageResult<DynamicImage> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_PICTURE_SIDE);
    limits.max_image_height = Some(MAX_PICTURE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits);
    reader.decode()
}

/// Brings a picture into MNIST's form. Transparent parts count as white paper.
pub fn to_mnist(picture: &DynamicImage) -> Preprocessed {
    let original_size = (picture.width(), picture.height());
    let mut gray = on_white(picture);
    let inverted = border_mean(&gray) > 127.0;
    if inverted {
        image::imageops::invert(&mut gray);
    }
    let Some((x0, y0, x1, y1)) = ink_bounds(&gray) else {
        return Preprocessed {
            pixels: vec![0.0; SIDE * SIDE],
            inverted,
            original_size,
            recentred: false,
            blank: true,
        };
    };
    if original_size == (SIDE as u32, SIDE as u32) {
        return Preprocessed {
            pixels: to_unit(&gray),
            inverted,
            original_size,
            recentred: false,
            blank: false,
        };
    }
    let digit = image::imageops::crop_imm(&gray, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image();
    let scale = DIGIT_BOX as f64 / digit.width().max(digit.height()) as f64;
    let width = ((digit.width() as f64 * scale).round() as u32).clamp(1, DIGIT_BOX);
    let height = ((digit.height() as f64 * scale).round() as u32).clamp(1, DIGIT_BOX);
    let digit = resize(&digit, width, height, FilterType::Triangle);
    let (cx, cy) = centre_of_mass(&digit);
    let left = (SIDE as f64 / 2.0 - cx).round() as i64;
    let top = (SIDE as f64 / 2.0 - cy).round() as i64;
    let mut canvas = GrayImage::new(SIDE as u32, SIDE as u32);
    image::imageops::overlay(&mut canvas, &digit, left, top);
    Preprocessed { pixels: to_unit(&canvas), inverted, original_size, recentred: true, blank: false }
}

/// The picture in grayscale, transparent pixels composited onto white (each pixel read as
/// RGBA8 on its own: no RGBA copy of the whole picture is made).
fn on_white(picture: &DynamicImage) -> GrayImage {
    GrayImage::from_fn(picture.width(), picture.height(), |x, y| {
        let [r, g, b, a] = picture.get_pixel(x, y).0;
        let luma = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
        let alpha = a as f64 / 255.0;
        Luma([(luma * alpha + 255.0 * (1.0 - alpha)).round() as u8])
    })
}

/// The mean of the outermost ring of pixels: the background's brightness.
fn border_mean(gray: &GrayImage) -> f64 {
    let (w, h) = gray.dimensions();
    let ring = gray.enumerate_pixels().filter(|(x, y, _)| *x == 0 || *y == 0 || *x + 1 == w || *y + 1 == h);
    let (sum, count) = ring.fold((0.0, 0usize), |(s, n), (_, _, p)| (s + p.0[0] as f64, n + 1));
    sum / count.max(1) as f64
}

/// The smallest box `(x0, y0, x1, y1)` (inclusive) holding every pixel of ink.
fn ink_bounds(gray: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    gray.enumerate_pixels().filter(|(_, _, p)| p.0[0] >= INK_THRESHOLD).fold(None, |b, (x, y, _)| match b {
        None => Some((x, y, x, y)),
        Some((x0, y0, x1, y1)) => Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y))),
    })
}

/// The intensity-weighted centre `(x, y)`, in pixel-centre coordinates (+0.5).
fn centre_of_mass(gray: &GrayImage) -> (f64, f64) {
    let (mut mass, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (x, y, p) in gray.enumerate_pixels() {
        let m = p.0[0] as f64;
        mass += m;
        sx += m * (x as f64 + 0.5);
        sy += m * (y as f64 + 0.5);
    }
    if mass == 0.0 { (gray.width() as f64 / 2.0, gray.height() as f64 / 2.0) } else { (sx / mass, sy / mass) }
}

fn to_unit(gray: &GrayImage) -> Vec<f32> {
    gray.pixels().map(|p| p.0[0] as f32 / 255.0).collect()
}
