//! `mitbadak predict --model FILE (IMAGE | --index N)`: the top classes and their probabilities.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use mitbadak::classify::classify;
use mitbadak::data::Dataset;
use mitbadak::model_file::load_model;
use mitbadak::preprocess::{SIDE, load_image, to_mnist};

use super::{ArchArgs, DataArgs, data, image_number};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    Train,
    Test,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model file (safetensors).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// A picture of a digit, any size or colour: it is brought into MNIST's form first.
    #[arg(required_unless_present = "index", conflicts_with = "index")]
    image: Option<PathBuf>,
    /// Classify MNIST image number N instead of a picture.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = image_number)]
    index: Option<usize>,
    /// The split --index counts in.
    #[arg(long, value_enum, default_value = "test")]
    set: Split,
    /// How many classes to list (1 to all of them).
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Print one line of JSON instead: the class and every class's probability, in full.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    arch: ArchArgs,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: PredictArgs) -> Result<()> {
    if args.top == 0 {
        bail!("--top must be at least 1: it is how many of the most probable classes to list");
    }
    let (pixels, classes, image_shape) = match (&args.image, args.index) {
        (Some(path), _) => {
            let picture = load_image(path)?;
            let input = to_mnist(&picture);
            let (w, h) = input.original_size;
            let mut steps = Vec::new();
            if input.inverted {
                steps.push("inverted to a white digit on black".to_string());
            }
            if input.recentred {
                steps.push(format!("its box scaled to 20x20 and centred by mass in {SIDE}x{SIDE}"));
            }
            let done = if steps.is_empty() { "taken as it is".to_string() } else { steps.join("; ") };
            if input.blank {
                bail!(
                    "no digit found in {} ({w}x{h}): nothing in it stands out from its background; \
                     use a picture of one digit, dark on light or light on dark",
                    path.display()
                );
            }
            if !args.json {
                println!("{} ({w}x{h}): {done}", path.display());
            }
            (input.pixels, 10, (SIDE, SIDE))
        }
        (None, Some(index)) => {
            let mnist = data::load(args.data.data_dir.as_deref())?;
            let set: &Dataset = if args.set == Split::Train { &mnist.train } else { &mnist.test };
            if index >= set.len() {
                bail!(
                    "--index {index} is past the end: {}",
                    data::images_of(set, &format!("{:?}", args.set))
                );
            }
            if !args.json {
                println!("{:?} image {index} (label {})", args.set, set.labels[index]);
            }
            (set.image(index).into_iter().map(|p| p as f32 / 255.0).collect(), mnist.classes, set.image_shape)
        }
        (None, None) => unreachable!("clap requires an image or --index"),
    };
    let architecture = args.arch.architecture(image_shape, classes)?;
    let mut model = load_model::<f32>(&args.model, architecture.as_ref())?;
    let classification = classify(model.network.as_mut(), pixels)?;
    if args.json {
        let answer = serde_json::json!({
            "class": classification.class,
            "probabilities": classification.probabilities,
        });
        println!("{answer}");
        return Ok(());
    }
    println!("predicted: {}", classification.class);
    for (class, p) in classification.ranked().iter().take(args.top) {
        println!("  {class}  {p:.4}");
    }
    Ok(())
}
