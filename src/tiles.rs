//! Grids of small gray images, as the book draws filters and digits with matplotlib's
//! `imshow(..., cmap=plt.cm.gray_r, interpolation='nearest')` in a grid of subplots: each
//! image scaled to its own range (its smallest value white, its largest black), every
//! pixel a square block, and an optional caption under each.

use std::io::Cursor;

use plotters::prelude::*;

use crate::Error;
use crate::error::Result;
use crate::plot::register_font_once;

/// One image of a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// `height · width` values, row by row.
    pub values: Vec<f64>,
    /// Pixels a row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// The text under the image (empty for none).
    pub caption: String,
}

impl Tile {
    /// A tile of `values` (row by row, `width` a row), without a caption.
    ///
    /// **Panics** if `values` does not hold `width · height` values.
    pub fn new(values: Vec<f64>, width: usize, height: usize) -> Tile {
        assert_eq!(values.len(), width * height, "a tile of {width}x{height} needs as many values");
        Tile { values, width, height, caption: String::new() }
    }

    /// The tile with `caption` under it.
    pub fn captioned(mut self, caption: impl Into<String>) -> Tile {
        self.caption = caption.into();
        self
    }

    /// The gray level of each value, 255 (white) for the smallest to 0 (black) for the
    /// largest: matplotlib's `gray_r` over the tile's own range. A flat tile is white.
    pub fn shades(&self) -> Vec<u8> {
        let (lo, hi) = self
            .values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let span = hi - lo;
        self.values
            .iter()
            .map(|&v| if span > 0.0 { 255.0 - ((v - lo) / span * 255.0).round() } else { 255.0 } as u8)
            .collect()
    }
}

/// How a grid is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// Tiles a row.
    pub columns: usize,
    /// Screen pixels a value's side.
    pub scale: u32,
    /// White pixels between and around tiles.
    pub margin: u32,
}

/// The height of a caption's row, in pixels.
const CAPTION_HEIGHT: u32 = 22;

/// Draws `tiles` in a grid (row by row) and returns it as PNG. Every tile takes the room of
/// the largest; captions, where any tile has one, go in a row under each.
///
/// **Errors** if there are no tiles, or drawing or encoding fails.
pub fn grid_png(tiles: &[Tile], layout: Layout) -> Result<Vec<u8>> {
    let invalid = |message: String| Error::invalid("tiles", message);
    if tiles.is_empty() {
        return Err(invalid("there is nothing to draw: no tiles".into()));
    }
    let columns = layout.columns.max(1);
    let rows = tiles.len().div_ceil(columns);
    let (cell_w, cell_h) = (
        tiles.iter().map(|t| t.width).max().unwrap_or(1) as u32 * layout.scale,
        tiles.iter().map(|t| t.height).max().unwrap_or(1) as u32 * layout.scale,
    );
    let caption_h = if tiles.iter().any(|t| !t.caption.is_empty()) { CAPTION_HEIGHT } else { 0 };
    let (step_x, step_y) = (cell_w + layout.margin, cell_h + caption_h + layout.margin);
    let (width, height) = (columns as u32 * step_x + layout.margin, rows as u32 * step_y + layout.margin);
    let mut image = image::RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let origin = |i: usize| {
        (layout.margin + (i % columns) as u32 * step_x, layout.margin + (i / columns) as u32 * step_y)
    };
    for (i, tile) in tiles.iter().enumerate() {
        let (x0, y0) = origin(i);
        for (k, shade) in tile.shades().into_iter().enumerate() {
            let (col, row) = ((k % tile.width) as u32, (k / tile.width) as u32);
            for dy in 0..layout.scale {
                for dx in 0..layout.scale {
                    image.put_pixel(
                        x0 + col * layout.scale + dx,
                        y0 + row * layout.scale + dy,
                        image::Rgb([shade; 3]),
                    );
                }
            }
        }
    }
    if caption_h > 0 {
        register_font_once();
        let mut pixels = image.into_raw();
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
            let style = TextStyle::from(("sans-serif", 16).into_font()).color(&BLACK);
            for (i, tile) in tiles.iter().enumerate() {
                let (x0, y0) = origin(i);
                let at = (x0 as i32 + 2, (y0 + cell_h + 3) as i32);
                root.draw_text(&tile.caption, &style, at)
                    .map_err(|e| invalid(format!("could not draw a caption: {e}")))?;
            }
            root.present().map_err(|e| invalid(format!("could not draw the captions: {e}")))?;
        }
        image = image::RgbImage::from_raw(width, height, pixels).expect("the buffer keeps its size");
    }
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| invalid(format!("could not encode the PNG: {e}")))?;
    Ok(png)
}
