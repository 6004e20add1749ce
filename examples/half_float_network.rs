//! The book's `ch08/half_float_network.py`: a trained network's test accuracy with its weights
//! (and the test images) rounded to 16 bits, against 32: the book's DeepConvNet prints 0.9935
//! for both float64 and float16, and here prints `0.9935` for all three. Here also bfloat16, which keeps `f32`'s range and 8 bits of
//! mantissa. The rounding is to nearest; the sums are taken in `f32` (NumPy's are in float16).
//!
//! `cargo run --release --example half_float_network [MODEL]`: the book's DeepConvNet unless a
//! model file is given. A model file can be saved in 16 bits: `train --save-dtype f16`.

use std::path::PathBuf;

use mitbadak::data::Mnist;
use mitbadak::data::mnist::locate;
use mitbadak::inspect::{BOOK_DEEP_CONVNET, Precision, accuracy_rounded, load_model_or_book, round_weights};
use mitbadak::layers::DropoutMode;
use mitbadak::nets::{Architecture, DropoutConfig};

fn main() -> mitbadak::Result<()> {
    let model = std::env::args().nth(1).map_or_else(|| PathBuf::from(BOOK_DEEP_CONVNET), PathBuf::from);
    let book = Architecture::deep_convnet(
        [1, 28, 28],
        10,
        Some(DropoutConfig { ratio: 0.5, mode: DropoutMode::Book }),
        false,
    );
    let mnist = Mnist::load(&locate(None)?)?;
    for (precision, name) in
        [(Precision::F32, "float32"), (Precision::F16, "float16"), (Precision::Bf16, "bfloat16")]
    {
        let mut loaded = load_model_or_book(&model, &book)?;
        round_weights(loaded.network.as_mut(), precision);
        println!("calculate accuracy ({name}) ... ");
        println!("{}", accuracy_rounded(loaded.network.as_mut(), &mnist.test, precision)?);
    }
    Ok(())
}
