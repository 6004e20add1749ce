//! `mitbadak serve`: the draw-a-digit page and its JSON API for a model file; without one,
//! the newest model under `runs/`, trained first when there is none.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use mitbadak::preprocess::SIDE;
use mitbadak::runs::{MODEL_FILE, RUNS_DIR, newest_model};
use mitbadak::serve::{ServedModel, Server};

use super::train::{self, TrainArgs};
use super::{ArchArgs, DataArgs};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A model file (safetensors) [default: the newest runs/*/model.safetensors; with none, the
    /// book's ch05/train_neuralnet.py job is trained first, on --data-dir's data].
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The port to listen on (0: any free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on: 127.0.0.1 for this machine only, 0.0.0.0 for the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[command(flatten)]
    arch: ArchArgs,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let path = match args.model {
        Some(path) => path,
        None => default_model(args.data)?,
    };
    let architecture = args.arch.architecture((SIDE, SIDE), 10)?;
    let model = ServedModel::load(&path, architecture.as_ref())?;
    let info = model.info();
    let accuracy = info.test_accuracy.map(|a| format!(", test accuracy {a:.4}")).unwrap_or_default();
    println!("model: {} ({}{accuracy})", path.display(), info.architecture);
    let server = Server::bind(&args.host, args.port, model)?;
    println!("serving the page and the API at {} (Ctrl-C stops)", server.url());
    Ok(server.run()?)
}

/// The newest model under `runs/`; the book's ch05/train_neuralnet.py job, trained now on
/// `data`, when there is none.
fn default_model(data: DataArgs) -> Result<PathBuf> {
    if let Some(newest) = newest_model(Path::new(RUNS_DIR))? {
        println!("no --model: the newest under {RUNS_DIR}/ is {}", newest.display());
        return Ok(newest);
    }
    println!(
        "no --model, and no model under {RUNS_DIR}/: training the book's ch05/train_neuralnet.py job first \
         (a few seconds)"
    );
    Ok(train::run(TrainArgs::seed_job(data))?.join(MODEL_FILE))
}
