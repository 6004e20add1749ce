//! `mitbadak experiment NAME`: one of chapter 6's experiments, its figure and its numbers.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use mitbadak::experiments::{
    EpochTraining, Report, available_threads, batch_norm, dropout, hyperparameters, init, on_each_run,
    optimizers, weight_decay,
};

use super::{DataArgs, data};

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment.
    #[arg(value_enum)]
    name: ExperimentName,
    /// The seed of the weights, the mini-batches and any random draw: the same seed gives the
    /// same numbers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Independent runs trained at once [default: the number of cores].
    #[arg(long)]
    threads: Option<usize>,
    /// hyperparameters only: trials of random search [default: 100, the book's].
    #[arg(long)]
    trials: Option<usize>,
    /// optimizers and init only: steps of each network [default: 2000, the book's]; fewer for a
    /// quick look.
    #[arg(long)]
    iters: Option<usize>,
    /// batch-norm, weight-decay, dropout and hyperparameters only: epochs of each run
    /// [default: the book's, 20, 201, 301 and 50]; fewer for a quick look.
    #[arg(long)]
    epochs: Option<usize>,
    #[command(flatten)]
    data: DataArgs,
    /// The directory for <name>.png and <name>.csv.
    #[arg(long, value_name = "DIR", default_value = "runs/experiments")]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExperimentName {
    /// SGD, Momentum, AdaGrad, Adam on MNIST (figure 6-9), and on x²/20 + y² (6-8).
    Optimizers,
    /// Weights of std 0.01, Xavier, He on MNIST (6-15), and sigmoid activation histograms (6-10 to 6-13).
    Init,
    /// With and without batch normalisation at 16 weight scales (6-19).
    BatchNorm,
    /// Overfitting 300 images, without and with weight decay 0.1 (6-20, 6-21).
    WeightDecay,
    /// Overfitting 300 images, without and with dropout 0.2 (6-23).
    Dropout,
    /// Random search of learning rate and weight decay (6-24).
    Hyperparameters,
}

pub fn run(args: ExperimentArgs) -> Result<()> {
    let start = Instant::now();
    let threads = args.threads.unwrap_or_else(available_threads);
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    if args.trials.is_some() && args.name != ExperimentName::Hyperparameters {
        bail!("--trials is for `experiment hyperparameters`");
    }
    if args.trials == Some(0) {
        bail!("--trials must be at least 1; the book runs 100");
    }
    let by_iterations = matches!(args.name, ExperimentName::Optimizers | ExperimentName::Init);
    if args.iters.is_some() && !by_iterations {
        bail!("--iters is for `experiment optimizers` and `experiment init`; the others take --epochs");
    }
    if args.epochs.is_some() && by_iterations {
        bail!(
            "--epochs is for batch-norm, weight-decay, dropout and hyperparameters; {} takes --iters",
            args.name.to_possible_value().expect("no variant is skipped").get_name()
        );
    }
    if args.iters == Some(0) || args.epochs == Some(0) {
        bail!("--iters and --epochs must be at least 1");
    }
    let data = data::load(args.data.data_dir.as_deref())?;
    let seed = args.seed;
    on_each_run(move |done, total| {
        eprintln!("run {done} of {total} done, {:.1} s", start.elapsed().as_secs_f64());
    });
    let report: Report = match args.name {
        ExperimentName::Optimizers => {
            let defaults = optimizers::OptimizersConfig::default();
            let iterations = args.iters.unwrap_or(defaults.iterations);
            let config = optimizers::OptimizersConfig { seed, threads, iterations, ..defaults };
            optimizers::report(&optimizers::compare_optimizers(&data, &config)?)?
        }
        ExperimentName::Init => {
            let defaults = init::InitConfig::default();
            let iterations = args.iters.unwrap_or(defaults.iterations);
            let config = init::InitConfig { seed, threads, iterations, ..defaults };
            init::report(&init::compare_inits(&data, &config)?, &init::activation_histograms(seed))?
        }
        ExperimentName::BatchNorm => {
            let defaults = batch_norm::BatchNormConfig::default();
            let training = epochs(defaults.training, args.epochs);
            let config = batch_norm::BatchNormConfig { seed, threads, training, ..defaults };
            batch_norm::report(&batch_norm::compare_batch_norm(&data, &config)?)?
        }
        ExperimentName::WeightDecay => {
            let defaults = weight_decay::WeightDecayConfig::default();
            let training = epochs(defaults.training, args.epochs);
            let config = weight_decay::WeightDecayConfig { seed, threads, training, ..defaults };
            weight_decay::report(&weight_decay::compare_weight_decay(&data, &config)?)?
        }
        ExperimentName::Dropout => {
            let defaults = dropout::DropoutExperimentConfig::default();
            let training = epochs(defaults.training, args.epochs);
            let config = dropout::DropoutExperimentConfig { seed, threads, training, ..defaults };
            dropout::report(&dropout::compare_dropout(&data, &config)?)?
        }
        ExperimentName::Hyperparameters => {
            let defaults = hyperparameters::HyperparametersConfig::default();
            let trials = args.trials.unwrap_or(defaults.trials);
            let training = epochs(defaults.training, args.epochs);
            let config =
                hyperparameters::HyperparametersConfig { seed, threads, trials, training, ..defaults };
            hyperparameters::report(&hyperparameters::search(&data, &config)?)?
        }
    };
    print!("{}", report.text);
    let written = report.write(&args.out)?;
    let names: Vec<String> =
        written.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    println!("wrote {} to {}", names.join(", "), args.out.display());
    println!(
        "{} finished in {:.1} s ({threads} threads, seed {seed})",
        report.name,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The book's training of an experiment, with `--epochs` if given.
fn epochs(book: EpochTraining, epochs: Option<usize>) -> EpochTraining {
    EpochTraining { epochs: epochs.unwrap_or(book.epochs), ..book }
}
