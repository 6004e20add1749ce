//! Turning a picture of a digit, as people take them, into MNIST's form, as MNIST itself was
//! made: a white digit on black, its bounding box scaled to fit 20x20 (aspect kept), and placed
//! in 28x28 so that its centre of mass sits at the centre.
//!
//! Before that the paper is taken away, so that a photo of a digit on grey paper reads as
//! one drawn on a clean canvas:
//! 1. grayscale; a transparent background counts as the opposite of what is drawn on it;
//! 2. the ink made white: a picture whose dark tail lies further from its median than its
//!    light tail is dark on light, and is inverted;
//! 3. the paper's level estimated cell by cell (uneven lighting) and subtracted;
//! 4. the ink is what stands out (Otsu's threshold on the lightly blurred picture), and of it
//!    only the digit's connected strokes are kept: specks, grain and paper texture are dropped;
//! 5. the contrast stretched, so that the strokes are white (1) and the paper black (0).
//!
//! A picture with no strokes that stand out has no digit: [`Preprocessed::blank`].
//! A picture that is already 28x28 is cleaned but not resampled: it is in MNIST's form
//! already, and resampling it would only blur it.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{FilterType, resize};
use image::{DynamicImage, GenericImageView, GrayImage, ImageBuffer, ImageError, ImageReader, Limits, Luma};

use crate::Error;
use crate::error::Result;
use crate::limited_read::read_at_most;

/// MNIST's image side.
pub const SIDE: usize = 28;

/// The box MNIST's digits were scaled to fit.
pub const DIGIT_BOX: u32 = 20;

/// The least contrast (of 255) between strokes and paper that counts as a digit.
const MIN_CONTRAST: f32 = 32.0;

/// Pictures are cleaned at most this many pixels a side (a phone's photo is scaled down first).
const WORK_SIDE: u32 = 512;

/// The paper's level is estimated in a grid of this many cells along the longer side.
const BACKGROUND_CELLS: u32 = 8;

/// A piece of ink is kept as part of the digit if it is at least this fraction of the
/// largest piece: a broken stroke is kept, a speck is not.
const KEEP_FRACTION: usize = 10;

/// The digit's box holds the pixels above this level (of 1): the strokes, not the soft edge
/// around them, as MNIST boxed its digits before smoothing them.
const BOX_LEVEL: f32 = 0.5;

/// A grayscale picture of `f32` levels, 0 to 255.
type Plane = ImageBuffer<Luma<f32>, Vec<f32>>;

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
    /// No digit was found: nothing stands out from the paper (`pixels` are all 0).
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

/// Brings a picture into MNIST's form, taking the paper away first (see the module's steps).
pub fn to_mnist(picture: &DynamicImage) -> Preprocessed {
    let original_size = (picture.width(), picture.height());
    let mut gray = working_copy(&grayscale(picture));
    let inverted = ink_is_dark(&gray);
    if inverted {
        gray.iter_mut().for_each(|v| *v = 255.0 - *v);
    }
    let Some(digit) = digit_strokes(&above_background(&gray)) else {
        return Preprocessed {
            pixels: vec![0.0; SIDE * SIDE],
            inverted,
            original_size,
            recentred: false,
            blank: true,
        };
    };
    if original_size == (SIDE as u32, SIDE as u32) {
        let pixels = digit.iter().copied().collect();
        return Preprocessed { pixels, inverted, original_size, recentred: false, blank: false };
    }
    let (x0, y0, x1, y1) = bounds(&digit).expect("digit_strokes keeps at least one pixel");
    let digit = image::imageops::crop_imm(&digit, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image();
    let scale = DIGIT_BOX as f64 / digit.width().max(digit.height()) as f64;
    let width = ((digit.width() as f64 * scale).round() as u32).clamp(1, DIGIT_BOX);
    let height = ((digit.height() as f64 * scale).round() as u32).clamp(1, DIGIT_BOX);
    let digit = resize(&digit, width, height, FilterType::Triangle);
    let (cx, cy) = centre_of_mass(&digit);
    let left = (SIDE as f64 / 2.0 - cx).round() as i64;
    let top = (SIDE as f64 / 2.0 - cy).round() as i64;
    let mut canvas = Plane::new(SIDE as u32, SIDE as u32);
    image::imageops::overlay(&mut canvas, &digit, left, top);
    let pixels = canvas.iter().map(|v| v.clamp(0.0, 1.0)).collect();
    Preprocessed { pixels, inverted, original_size, recentred: true, blank: false }
}

/// The picture in grayscale. If part of it is transparent, what is drawn is its opaque part,
/// and the transparent part counts as the opposite: black under light ink, white under dark.
/// Each pixel is read as RGBA8 on its own: no RGBA copy of the whole picture is made.
fn grayscale(picture: &DynamicImage) -> GrayImage {
    let luma = |[r, g, b, _]: [u8; 4]| 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
    let (mut drawn, mut opacity) = (0.0, 0.0);
    for (_, _, p) in picture.pixels() {
        let alpha = p.0[3] as f64 / 255.0;
        drawn += luma(p.0) * alpha;
        opacity += alpha;
    }
    let underneath = if opacity > 0.0 && drawn / opacity > 127.5 { 0.0 } else { 255.0 };
    GrayImage::from_fn(picture.width(), picture.height(), |x, y| {
        let p = picture.get_pixel(x, y).0;
        let alpha = p[3] as f64 / 255.0;
        Luma([(luma(p) * alpha + underneath * (1.0 - alpha)).round() as u8])
    })
}

/// The picture as `f32` levels, scaled down (area-averaged) to at most [`WORK_SIDE`] a side.
fn working_copy(gray: &GrayImage) -> Plane {
    let (w, h) = gray.dimensions();
    let levels = Plane::from_fn(w, h, |x, y| Luma([gray.get_pixel(x, y).0[0] as f32]));
    let longer = w.max(h);
    if longer <= WORK_SIDE {
        return levels;
    }
    let scale = WORK_SIDE as f64 / longer as f64;
    let side = |s: u32| ((s as f64 * scale).round() as u32).max(1);
    resize(&levels, side(w), side(h), FilterType::Triangle)
}

/// Whether the ink is darker than the paper: the dark tail (1st percentile) lies further from
/// the median, the paper's level, than the light tail (99th percentile).
fn ink_is_dark(gray: &Plane) -> bool {
    let mut levels: Vec<f32> = gray.iter().copied().collect();
    if levels.is_empty() {
        return false;
    }
    levels.sort_by(f32::total_cmp);
    let at = |q: f64| levels[((levels.len() - 1) as f64 * q).round() as usize];
    let median = at(0.5);
    median - at(0.01) > at(0.99) - median
}

/// The ink's height above the paper, for a picture of light ink: the paper's level is the
/// lower quartile of each cell of a [`BACKGROUND_CELLS`] grid, the least of it and its eight
/// neighbours (a cell that is all stroke borrows its neighbour's paper), and is interpolated
/// between the cells' centres so that uneven lighting is followed.
fn above_background(gray: &Plane) -> Plane {
    let (w, h) = gray.dimensions();
    let cell = w.max(h).div_ceil(BACKGROUND_CELLS).max(1);
    let (cols, rows) = (w.div_ceil(cell) as usize, h.div_ceil(cell) as usize);
    let mut quartiles = vec![0.0f32; cols * rows];
    for (i, quartile) in quartiles.iter_mut().enumerate() {
        let (cx, cy) = ((i % cols) as u32 * cell, (i / cols) as u32 * cell);
        let mut levels: Vec<f32> = (cy..(cy + cell).min(h))
            .flat_map(|y| (cx..(cx + cell).min(w)).map(move |x| (x, y)))
            .map(|(x, y)| gray.get_pixel(x, y).0[0])
            .collect();
        levels.sort_by(f32::total_cmp);
        *quartile = levels[(levels.len() - 1) / 4];
    }
    let paper: Vec<f32> = (0..cols * rows)
        .map(|i| {
            let (c, r) = ((i % cols) as i64, (i / cols) as i64);
            let neighbours = (r - 1..=r + 1).flat_map(|nr| (c - 1..=c + 1).map(move |nc| (nc, nr)));
            neighbours
                .filter(|&(nc, nr)| (0..cols as i64).contains(&nc) && (0..rows as i64).contains(&nr))
                .map(|(nc, nr)| quartiles[nr as usize * cols + nc as usize])
                .fold(f32::INFINITY, f32::min)
        })
        .collect();
    // bilinear between the cells' centres: position (p + 0.5) / cell - 0.5 in cell units
    let between = |p: u32, count: usize| {
        let f = ((p as f32 + 0.5) / cell as f32 - 0.5).clamp(0.0, (count - 1) as f32);
        let lower = f.floor() as usize;
        (lower, (lower + 1).min(count - 1), f - lower as f32)
    };
    Plane::from_fn(w, h, |x, y| {
        let ((c0, c1, tx), (r0, r1, ty)) = (between(x, cols), between(y, rows));
        let row = |r: usize| paper[r * cols + c0] * (1.0 - tx) + paper[r * cols + c1] * tx;
        let level = row(r0) * (1.0 - ty) + row(r1) * ty;
        Luma([(gray.get_pixel(x, y).0[0] - level).max(0.0)])
    })
}

/// The digit's strokes in [0, 1], all else 0, or `None` when nothing stands out from the
/// paper by [`MIN_CONTRAST`].
///
/// The ink is what reaches Otsu's threshold on the picture blurred over 3x3 (grain averages
/// out, strokes do not); its 8-connected pieces that do not touch the picture's edge are
/// preferred (the paper's edge or a table in a photo does); of those, the pieces of at least
/// 1/[`KEEP_FRACTION`] of the largest are kept, with a pixel around them for their soft edge.
/// The levels are then stretched: the paper (the 99th percentile of what lies away from any
/// ink) to 0, the strokes' 90th percentile to 1.
fn digit_strokes(ink: &Plane) -> Option<Plane> {
    let (w, h) = ink.dimensions();
    let smooth = box_blur(ink);
    let peak = smooth.iter().copied().fold(0.0, f32::max);
    if peak < MIN_CONTRAST {
        return None;
    }
    let threshold = otsu_threshold(&smooth, peak);
    let mask: Vec<bool> = smooth.iter().map(|&v| v >= threshold).collect();
    let pieces = connected_pieces(&mask, w as usize, h as usize);
    let touches_edge = |piece: &[usize]| {
        piece.iter().any(|&i| {
            let (x, y) = (i % w as usize, i / w as usize);
            x == 0 || y == 0 || x + 1 == w as usize || y + 1 == h as usize
        })
    };
    let largest = pieces.iter().map(Vec::len).max()?;
    let inner: Vec<&Vec<usize>> =
        pieces.iter().filter(|p| !touches_edge(p) && p.len() * KEEP_FRACTION >= largest).collect();
    let candidates: Vec<&Vec<usize>> = if inner.is_empty() { pieces.iter().collect() } else { inner };
    let largest = candidates.iter().map(|p| p.len()).max()?;
    let mut strokes = vec![false; mask.len()];
    for piece in candidates.into_iter().filter(|p| p.len() * KEEP_FRACTION >= largest) {
        piece.iter().for_each(|&i| strokes[i] = true);
    }
    let near = dilate(&strokes, w as usize, h as usize);
    let any_ink = dilate(&mask, w as usize, h as usize);
    let stroke_levels = percentile(ink.iter().zip(&strokes).filter(|(_, s)| **s).map(|(v, _)| *v), 0.9);
    let paper_level = percentile(smooth.iter().zip(&any_ink).filter(|(_, n)| !**n).map(|(v, _)| *v), 0.99);
    if stroke_levels - paper_level < MIN_CONTRAST {
        return None;
    }
    let span = stroke_levels - paper_level;
    Some(Plane::from_fn(w, h, |x, y| {
        let i = (y * w + x) as usize;
        let v = if near[i] { ((ink.get_pixel(x, y).0[0] - paper_level) / span).clamp(0.0, 1.0) } else { 0.0 };
        Luma([v])
    }))
}

/// The mean over each pixel's 3x3 neighbourhood (as much of it as lies in the picture).
fn box_blur(plane: &Plane) -> Plane {
    let (w, h) = plane.dimensions();
    Plane::from_fn(w, h, |x, y| {
        let (mut sum, mut count) = (0.0, 0.0);
        for ny in y.saturating_sub(1)..(y + 2).min(h) {
            for nx in x.saturating_sub(1)..(x + 2).min(w) {
                sum += plane.get_pixel(nx, ny).0[0];
                count += 1.0;
            }
        }
        Luma([sum / count])
    })
}

/// Otsu's threshold: the level in (0, `peak`] that splits the levels into two classes of the
/// largest between-class variance, from a 256-bin histogram.
fn otsu_threshold(plane: &Plane, peak: f32) -> f32 {
    const BINS: usize = 256;
    let bin = |v: f32| ((v / peak * (BINS - 1) as f32).round() as usize).min(BINS - 1);
    let mut histogram = [0.0f64; BINS];
    plane.iter().for_each(|&v| histogram[bin(v)] += 1.0);
    let total: f64 = histogram.iter().sum();
    let sum_all: f64 = histogram.iter().enumerate().map(|(i, n)| i as f64 * n).sum();
    let (mut below, mut sum_below, mut best, mut best_variance) = (0.0, 0.0, 1, -1.0);
    for (t, &n) in histogram.iter().enumerate().take(BINS - 1) {
        below += n;
        sum_below += t as f64 * n;
        let above = total - below;
        if below == 0.0 || above == 0.0 {
            continue;
        }
        let difference = sum_below / below - (sum_all - sum_below) / above;
        let variance = below * above * difference * difference;
        if variance > best_variance {
            (best, best_variance) = (t + 1, variance);
        }
    }
    best as f32 / (BINS - 1) as f32 * peak
}

/// The 8-connected pieces of `mask` (`width x height`, row by row), each as its indices.
fn connected_pieces(mask: &[bool], width: usize, height: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mask.len()];
    let mut pieces = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let (mut piece, mut stack) = (Vec::new(), vec![start]);
        while let Some(i) = stack.pop() {
            piece.push(i);
            let (x, y) = ((i % width) as i64, (i / width) as i64);
            for (nx, ny) in (y - 1..=y + 1).flat_map(|ny| (x - 1..=x + 1).map(move |nx| (nx, ny))) {
                if (0..width as i64).contains(&nx) && (0..height as i64).contains(&ny) {
                    let n = ny as usize * width + nx as usize;
                    if mask[n] && !seen[n] {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
        }
        pieces.push(piece);
    }
    pieces
}

/// `mask` grown by one pixel in each of the eight directions.
fn dilate(mask: &[bool], width: usize, height: usize) -> Vec<bool> {
    (0..mask.len())
        .map(|i| {
            let (x, y) = (i % width, i / width);
            (y.saturating_sub(1)..(y + 2).min(height))
                .any(|ny| (x.saturating_sub(1)..(x + 2).min(width)).any(|nx| mask[ny * width + nx]))
        })
        .collect()
}

/// The `q` quantile of `levels` (0 when there are none).
fn percentile(levels: impl Iterator<Item = f32>, q: f64) -> f32 {
    let mut levels: Vec<f32> = levels.collect();
    if levels.is_empty() {
        return 0.0;
    }
    levels.sort_by(f32::total_cmp);
    levels[((levels.len() - 1) as f64 * q).round() as usize]
}

/// The smallest box `(x0, y0, x1, y1)` (inclusive) holding every pixel above [`BOX_LEVEL`].
fn bounds(plane: &Plane) -> Option<(u32, u32, u32, u32)> {
    plane.enumerate_pixels().filter(|(_, _, p)| p.0[0] > BOX_LEVEL).fold(None, |b, (x, y, _)| match b {
        None => Some((x, y, x, y)),
        Some((x0, y0, x1, y1)) => Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y))),
    })
}

/// The intensity-weighted centre `(x, y)`, in pixel-centre coordinates (+0.5).
fn centre_of_mass(plane: &Plane) -> (f64, f64) {
    let (mut mass, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (x, y, p) in plane.enumerate_pixels() {
        let m = p.0[0] as f64;
        mass += m;
        sx += m * (x as f64 + 0.5);
        sy += m * (y as f64 + 0.5);
    }
    if mass == 0.0 {
        (plane.width() as f64 / 2.0, plane.height() as f64 / 2.0)
    } else {
        (sx / mass, sy / mass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: u32, height: u32, level: impl Fn(u32, u32) -> u8) -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(width, height, |x, y| Luma([level(x, y)])))
    }

    /// A little deterministic grain in [-amplitude, amplitude].
    fn grain(x: u32, y: u32, amplitude: i32) -> i32 {
        let h = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)).wrapping_mul(2_654_435_761);
        (h >> 16) as i32 % (2 * amplitude + 1) - amplitude
    }

    /// A bar of ink `level` on `paper`, 8 wide and 40 high, in a 60x60 picture.
    fn bar(paper: i32, ink: i32, x: u32, y: u32) -> u8 {
        let on_bar = (26..34).contains(&x) && (10..50).contains(&y);
        (if on_bar { ink } else { paper } + grain(x, y, 12)).clamp(0, 255) as u8
    }

    #[test]
    fn pictures_without_a_digit_are_blank() {
        let blanks = [
            ("white", gray(60, 60, |_, _| 255)),
            ("grey paper with grain", gray(60, 60, |x, y| (200 + grain(x, y, 15)) as u8)),
            ("unevenly lit paper", gray(90, 60, |x, y| (120 + x + y / 2) as u8)),
            ("one grey pixel", gray(1, 1, |_, _| 128)),
            ("black", gray(30, 40, |_, _| 0)),
        ];
        for (what, picture) in blanks {
            let input = to_mnist(&picture);
            assert!(input.blank, "{what}");
            assert!(input.pixels.iter().all(|&p| p == 0.0), "{what}");
        }
    }

    #[test]
    fn the_paper_is_taken_away_whatever_its_grey_and_the_strokes_made_white() {
        for (paper, ink, inverted) in [(255, 0, true), (215, 40, true), (185, 90, true), (40, 230, false)] {
            let input = to_mnist(&gray(60, 60, |x, y| bar(paper, ink, x, y)));
            assert!(!input.blank && input.recentred, "paper {paper}");
            assert_eq!(input.inverted, inverted, "paper {paper}");
            // the bar's 40 rows are scaled to 20, centred on row 14; the rest stays black
            let ink_rows =
                (0..SIDE).filter(|r| input.pixels[r * SIDE..(r + 1) * SIDE].iter().any(|&p| p > 0.0));
            assert_eq!(ink_rows.collect::<Vec<_>>(), (4..24).collect::<Vec<_>>(), "paper {paper}");
            let brightest = input.pixels.iter().copied().fold(0.0, f32::max);
            assert!(brightest > 0.95, "paper {paper}: strokes stretched to white, got {brightest}");
        }
    }

    #[test]
    fn specks_away_from_the_digit_do_not_count() {
        let with_specks = gray(60, 60, |x, y| {
            let speck = (x, y) == (3, 3) || ((50..52).contains(&x) && (52..54).contains(&y));
            if speck { 0 } else { bar(230, 20, x, y) }
        });
        let clean = to_mnist(&gray(60, 60, |x, y| bar(230, 20, x, y)));
        let specked = to_mnist(&with_specks);
        // the same box, and the same levels but for the paper's, measured around fewer pixels
        let ink = |pixels: &[f32]| pixels.iter().map(|&p| p > 0.0).collect::<Vec<_>>();
        assert_eq!(ink(&specked.pixels), ink(&clean.pixels));
        let most = specked.pixels.iter().zip(&clean.pixels).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(most < 0.05, "{most}");
    }

    #[test]
    fn a_digit_on_a_transparent_background_is_read_light_or_dark() {
        for (colour, inverted) in [(255u8, false), (0u8, true)] {
            let picture = image::RgbaImage::from_fn(60, 60, |x, y| {
                let on_bar = (26..34).contains(&x) && (10..50).contains(&y);
                image::Rgba([colour, colour, colour, if on_bar { 255 } else { 0 }])
            });
            let input = to_mnist(&DynamicImage::ImageRgba8(picture));
            assert!(!input.blank, "ink {colour}");
            assert_eq!(input.inverted, inverted, "ink {colour}");
            assert!(input.pixels.iter().any(|&p| p > 0.95), "ink {colour}");
        }
    }
}
