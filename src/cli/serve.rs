//! `mitbadak serve`: the draw-a-digit page and its JSON API for a model file; without one,
//! the newest model under `runs/`, trained first when there is none.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use mitbadak::preprocess::SIDE;
use mitbadak::runs::{MODEL_FILE, RUNS_DIR, newest_model};
use mitbadak::serve::{ServeOptions, ServedModel, Server};

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
    /// A host name the server answers for beyond its IP addresses and localhost (repeatable;
    /// `*` for any): requests naming another host in `Host` are refused, against DNS rebinding.
    #[arg(long, value_name = "NAME")]
    allow_host: Vec<String>,
    /// Seconds a client has to send a request's head, and then its body.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_seconds)]
    read_timeout: f64,
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
    let options = ServeOptions {
        read_timeout: Duration::from_secs_f64(args.read_timeout),
        allowed_hosts: args.allow_host,
    };
    let server = Server::bind(&args.host, args.port, model)?.with_options(options);
    if server.reaches_the_network() {
        eprintln!(
            "warning: listening on {}, beyond this machine: anyone who reaches it can use the model, \
             with no password; --host 127.0.0.1 keeps it to this machine",
            server.address()
        );
    }
    println!("serving the page and the API at {} (Ctrl-C stops)", server.url());
    Ok(server.run()?)
}

/// Seconds in (0, 1 day].
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!("expected seconds, more than 0 and at most 86400, got {text:?}")),
    }
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
