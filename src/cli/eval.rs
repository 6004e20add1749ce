//! `mitbadak eval --model FILE`: a model file's accuracy.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use mitbadak::model_file::load_model;
use mitbadak::train::evaluate;

use super::{ArchArgs, DataArgs, data};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A model file (safetensors), as `train` writes it or with its architecture named by --arch.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    #[command(flatten)]
    arch: ArchArgs,
    /// Also measure the accuracy on the training set.
    #[arg(long)]
    train: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let data = data::load(args.data.data_dir.as_deref())?;
    let architecture = args.arch.architecture(data.test.image_shape, data.classes)?;
    let mut model = load_model::<f32>(&args.model, architecture.as_ref())?;
    println!("{}: {}", args.model.display(), model.architecture.describe());
    println!("test accuracy: {:.4}", evaluate(model.network.as_mut(), &data.test)?);
    if args.train {
        println!("train accuracy: {:.4}", evaluate(model.network.as_mut(), &data.train)?);
    }
    Ok(())
}
