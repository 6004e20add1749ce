//! The book's `ch08/misclassified_mnist.py` (figure 8-5): the test images a network gets
//! wrong, the first 20 drawn in a grid with their label and the network's guess. The book's
//! DeepConvNet gets 65 of 10,000 wrong (test accuracy 0.9935), and most of them are hard for
//! people too. Prints `test accuracy:0.9935`, then the first 20 as the book's dictionary
//! `{view index: (label, inference), ...}`.
//!
//! `cargo run --release --example misclassified_mnist [MODEL]`: the book's DeepConvNet weights
//! unless a model file is given. Writes `runs/misclassified_mnist.png`.

use std::path::{Path, PathBuf};

use mitbadak::atomic::write_atomic;
use mitbadak::data::Mnist;
use mitbadak::data::mnist::locate;
use mitbadak::inspect::{BOOK_DEEP_CONVNET, load_model_or_book, misclassified, misclassified_tiles};
use mitbadak::nets::Architecture;
use mitbadak::tiles::{Layout, grid_png};

const MAX_VIEW: usize = 20;

fn main() -> mitbadak::Result<()> {
    let model = std::env::args().nth(1).map_or_else(|| PathBuf::from(BOOK_DEEP_CONVNET), PathBuf::from);
    let book = Architecture::deep_convnet([1, 28, 28], 10, Some(book_dropout()), false);
    let mut loaded = load_model_or_book(&model, &book)?;
    let mnist = Mnist::load(&locate(None)?)?;
    println!("calculating test accuracy ... ");
    let (accuracy, wrong) = misclassified(loaded.network.as_mut(), &mnist.test)?;
    println!("test accuracy:{accuracy}");
    println!("misclassified: {} of {}", wrong.len(), mnist.test.len());

    let shown = &wrong[..wrong.len().min(MAX_VIEW)];
    println!("======= misclassified result =======");
    println!("{{view index: (label, inference), ...}}");
    let pairs: Vec<String> =
        shown.iter().enumerate().map(|(i, m)| format!("{}: ({}, {})", i + 1, m.label, m.guess)).collect();
    println!("{{{}}}", pairs.join(", "));
    if shown.is_empty() {
        return Ok(());
    }
    let path = Path::new("runs/misclassified_mnist.png");
    let png = grid_png(&misclassified_tiles(&mnist.test, shown), Layout { columns: 5, scale: 3, margin: 8 })?;
    write_atomic(path, &png)?;
    println!("wrote {} (each image with label → guess)", path.display());
    Ok(())
}

/// The book's weights were trained with its dropout, which scales at test time.
fn book_dropout() -> mitbadak::nets::DropoutConfig {
    mitbadak::nets::DropoutConfig { ratio: 0.5, mode: mitbadak::layers::DropoutMode::Book }
}
