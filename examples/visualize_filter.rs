//! The book's `ch07/visualize_filter.py` (figure 7-24): the 30 filters (5x5) of SimpleConvNet's
//! convolution, drawn as the book draws them (8 a row, each on its own gray scale, large
//! values dark), before learning (weights N(0, 0.01²): noise) and after (edges and blobs).
//!
//! `cargo run --release --example visualize_filter [MODEL]`: the learned filters are the book's
//! (`data/reference/ch07_simple_convnet.safetensors`) or those of the model file given, whose
//! first layer must be a convolution. Writes `runs/visualize_filter/random.png` and
//! `runs/visualize_filter/learned.png`.

use std::path::{Path, PathBuf};

use mitbadak::atomic::write_atomic;
use mitbadak::inspect::{BOOK_SIMPLE_CONVNET, filter_tiles, first_filters, load_model_or_book};
use mitbadak::nets::{Architecture, SimpleConvNet, SimpleConvNetConfig};
use mitbadak::seeded_rng;
use mitbadak::tiles::{Layout, grid_png};

fn main() -> mitbadak::Result<()> {
    let model = std::env::args().nth(1).map_or_else(|| PathBuf::from(BOOK_SIMPLE_CONVNET), PathBuf::from);
    let layout = Layout { columns: 8, scale: 10, margin: 6 };
    let out = Path::new("runs/visualize_filter");

    let mut network = SimpleConvNet::<f32>::new(&SimpleConvNetConfig::default(), &mut seeded_rng(0));
    let random = first_filters(&mut network)?;
    write_atomic(&out.join("random.png"), &grid_png(&filter_tiles(&random, random.dim().0), layout)?)?;

    let mut loaded = load_model_or_book(&model, &Architecture::simple_convnet([1, 28, 28], 10))?;
    let learned = first_filters(loaded.network.as_mut())?;
    write_atomic(&out.join("learned.png"), &grid_png(&filter_tiles(&learned, learned.dim().0), layout)?)?;

    let std = |w: &ndarray::Array4<f32>| w.std(0.0);
    println!("random filters:  {:?}, std {:.4}", random.dim(), std(&random));
    println!("learned filters: {:?}, std {:.4} ({})", learned.dim(), std(&learned), model.display());
    println!("wrote random.png and learned.png to {}", out.display());
    Ok(())
}
