//! `mitbadak show --index N`: the book's `img_show`, in the terminal and as a PNG (or JPEG).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use image::imageops::{FilterType, resize};
use mitbadak::atomic::write_atomic;

use super::predict::Split;
use super::{DataArgs, data, image_number};

/// How much larger than 28x28 the PNG is.
const SCALE: u32 = 10;

/// Terminal shades from background to ink.
const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The image's number in its split.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = image_number)]
    index: usize,
    /// The split to take it from (test, as for `predict --index`).
    #[arg(long, value_enum, default_value = "test")]
    set: Split,
    /// Where to write the enlarged picture, PNG or JPEG by its extension
    /// [default: runs/show/<set>-<index>.png].
    #[arg(long, value_name = "FILE.png")]
    out: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: ShowArgs) -> Result<()> {
    let name = format!("{}-{}.png", if args.set == Split::Train { "train" } else { "test" }, args.index);
    let out = args.out.unwrap_or_else(|| PathBuf::from("runs/show").join(name));
    let format = match image::ImageFormat::from_path(&out) {
        Ok(format @ (image::ImageFormat::Png | image::ImageFormat::Jpeg)) => format,
        _ => bail!(
            "--out {}: write a .png or a .jpg (the picture's format follows its extension)",
            out.display()
        ),
    };
    let mnist = data::load(args.data.data_dir.as_deref())?;
    let set = if args.set == Split::Train { &mnist.train } else { &mnist.test };
    if args.index >= set.len() {
        bail!(
            "--index {} is past the end: {}",
            args.index,
            super::data::images_of(set, &format!("{:?}", args.set))
        );
    }
    let (rows, cols) = set.image_shape;
    let pixels = set.image(args.index);
    println!("label: {}", set.labels[args.index]);
    println!("shape: ({},) reshaped to ({rows}, {cols})", rows * cols);
    for row in pixels.chunks(cols) {
        // two characters per pixel, so the digit keeps its proportions
        let line: String = row.iter().flat_map(|&p| [SHADES[p as usize * SHADES.len() / 256]; 2]).collect();
        println!("{}", line.trim_end());
    }
    let image = image::GrayImage::from_raw(cols as u32, rows as u32, pixels).expect("rows·cols pixels");
    let large = resize(&image, cols as u32 * SCALE, rows as u32 * SCALE, FilterType::Nearest);
    let mut bytes = Vec::new();
    large.write_to(&mut std::io::Cursor::new(&mut bytes), format)?;
    write_atomic(&out, &bytes)?;
    println!("wrote {} ({}x{})", out.display(), large.width(), large.height());
    Ok(())
}
