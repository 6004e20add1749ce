//! The book's `ch07/apply_filter.py`: SimpleConvNet's first 16 learned filters, and what each
//! makes of a picture when slid over it (bias 0, no padding): one responds to vertical edges,
//! another to horizontal ones, as the book shows on its `lena_gray.png`.
//!
//! `cargo run --release --example apply_filter [PICTURE] [MODEL]`: the picture is MNIST's first
//! test image unless one is given (any PNG, JPEG ...; taken in gray); the filters are the
//! book's unless a model file is given. Writes `runs/apply_filter/filters.png` and
//! `runs/apply_filter/applied.png`.

use std::path::{Path, PathBuf};

use mitbadak::atomic::write_atomic;
use mitbadak::data::Mnist;
use mitbadak::data::mnist::locate;
use mitbadak::inspect::{
    BOOK_SIMPLE_CONVNET, apply_filters, filter_tiles, first_filters, load_model_or_book,
};
use mitbadak::nets::Architecture;
use mitbadak::preprocess::load_image;
use mitbadak::tiles::{Layout, Tile, grid_png};
use ndarray::Array2;

const SHOWN: usize = 16;

fn main() -> mitbadak::Result<()> {
    let picture = std::env::args().nth(1).filter(|a| a != "-").map(PathBuf::from);
    let model = std::env::args().nth(2).map_or_else(|| PathBuf::from(BOOK_SIMPLE_CONVNET), PathBuf::from);
    let image: Array2<f32> = match &picture {
        Some(path) => {
            let gray = load_image(path)?.to_luma8();
            let (w, h) = gray.dimensions();
            let values = gray.into_raw().into_iter().map(|p| f32::from(p) / 255.0).collect();
            Array2::from_shape_vec((h as usize, w as usize), values).expect("w·h pixels")
        }
        None => {
            let mnist = Mnist::load(&locate(None)?)?;
            let values = mnist.test.image(0).into_iter().map(|p| f32::from(p) / 255.0).collect();
            Array2::from_shape_vec(mnist.test.image_shape, values).expect("rows·cols pixels")
        }
    };
    let mut loaded = load_model_or_book(&model, &Architecture::simple_convnet([1, 28, 28], 10))?;
    let filters = first_filters(loaded.network.as_mut())?;
    let outputs = apply_filters(&filters, &image, SHOWN)?;

    let out = Path::new("runs/apply_filter");
    let (h, w) = outputs[0].dim();
    let scale = (280 / w.max(h)).max(1) as u32;
    let filters_png = grid_png(&filter_tiles(&filters, SHOWN), Layout { columns: 4, scale: 20, margin: 6 })?;
    let tiles: Vec<Tile> =
        outputs.iter().map(|o| Tile::new(o.iter().map(|&v| f64::from(v)).collect(), w, h)).collect();
    write_atomic(&out.join("filters.png"), &filters_png)?;
    write_atomic(&out.join("applied.png"), &grid_png(&tiles, Layout { columns: 4, scale, margin: 6 })?)?;
    let source = picture.map_or("MNIST test image 0".to_string(), |p| p.display().to_string());
    println!(
        "{source}: {}x{} through {} filters of {}: outputs {w}x{h}",
        image.dim().1,
        image.dim().0,
        outputs.len(),
        model.display()
    );
    println!("wrote filters.png and applied.png to {}", out.display());
    Ok(())
}
