//! `mitbadak export --model FILE --format onnx --out model.onnx`: a model file for other engines.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use mitbadak::model_file::{load_model, read_metadata};
use mitbadak::onnx::{INPUT, OPSET, OUTPUT, PROBABILITIES, save_onnx};
use mitbadak::train::evaluate;

use super::{ArchArgs, DataArgs, data};

/// The metadata key `train` writes the final test accuracy under.
const TEST_ACCURACY_KEY: &str = "test_accuracy";

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// ONNX (opset 17): the network in inference form, its output the class probabilities.
    Onnx,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A model file (safetensors), as `train` writes it or with its architecture named by --arch.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The format to write.
    #[arg(long, value_enum, default_value = "onnx")]
    format: Format,
    /// Where to write it (replaced whole, or not at all).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    arch: ArchArgs,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: ExportArgs) -> Result<()> {
    if same_file(&args.model, &args.out) {
        bail!(
            "--out {} is the model file itself: writing it would replace the model; name another file, \
             for example model.onnx",
            args.out.display()
        );
    }
    if args.out.is_dir() {
        bail!(
            "--out {} is a directory: name the file to write, for example {}",
            args.out.display(),
            args.out.join("model.onnx").display()
        );
    }
    let mut metadata = read_metadata(&args.model)?;
    let accuracy_known = metadata.contains_key(TEST_ACCURACY_KEY);
    // the data gives the input's shape for --arch, and the accuracy a file does not state
    let data = match args.arch.describe_a_network() || args.arch.arch.is_some() || !accuracy_known {
        true => Some(data::load(args.data.data_dir.as_deref())?),
        false => None,
    };
    let (image_shape, classes) = data.as_ref().map_or(((28, 28), 10), |d| (d.test.image_shape, d.classes));
    let architecture = args.arch.architecture(image_shape, classes)?;
    let mut model = load_model::<f32>(&args.model, architecture.as_ref())?;
    if let (false, Some(data)) = (accuracy_known, &data) {
        let accuracy = evaluate(model.network.as_mut(), &data.test)?;
        println!("test accuracy: {accuracy:.4} (measured: {} does not state it)", args.model.display());
        metadata.insert(TEST_ACCURACY_KEY.into(), accuracy.to_string());
    }
    match args.format {
        Format::Onnx => save_onnx(model.network.as_mut(), &args.out, &metadata)
            .with_context(|| format!("could not export {} as ONNX", args.model.display()))?,
    }
    let input: Vec<String> = model.architecture.input_shape().iter().map(|d| d.to_string()).collect();
    let output = if model.architecture.is_classifier() { PROBABILITIES } else { OUTPUT };
    println!(
        "{}: {} as ONNX (opset {OPSET}); input {INPUT} (N, {}) of pixels in [0, 1], output {output} (N, {})",
        args.out.display(),
        model.architecture.describe(),
        input.join(", "),
        model.architecture.output_size()
    );
    Ok(())
}

/// Whether `a` and `b` name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
