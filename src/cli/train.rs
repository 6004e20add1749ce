//! `mitbadak train`: the seed's job by default, and any network of the library by flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Args;
use mitbadak::atomic::write_atomic;
use mitbadak::model_file::save_model;
use mitbadak::nets::Architecture;
use mitbadak::optim::Sgd;
use mitbadak::plot::save_plots;
use mitbadak::seeded_rng;
use mitbadak::train::{Sampling, TrainConfig, train};

use super::progress::TrainingProgress;
use super::{ArchArgs, DataArgs, data};

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    arch: ArchArgs,
    /// Learning rate of SGD.
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    /// Images per mini-batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Steps to take, each on a batch drawn with replacement (the seed's way) [default: 10000].
    #[arg(long, conflicts_with = "epochs")]
    iters: Option<usize>,
    /// Epochs to train, each a pass over the training set in a new random order.
    #[arg(long)]
    epochs: Option<usize>,
    /// The seed of the weights and the batches: the same seed gives the same numbers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    data: DataArgs,
    /// The directory for model.safetensors, metrics.csv, accuracy.png, loss.png [default: runs/<time>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        bail!("--lr must be a positive number, got {}; the seed uses 0.1", args.lr);
    }
    let data = data::load(args.data.data_dir.as_deref())?;
    let (input_size, classes) = (data.train.sample_size(), data.classes);
    let architecture = args.arch.architecture(input_size, classes)?.unwrap_or(Architecture::TwoLayer {
        input_size,
        hidden_size: 50,
        output_size: classes,
    });
    let mut config = TrainConfig { batch_size: args.batch_size, seed: args.seed, ..TrainConfig::default() };
    match (args.iters, args.epochs) {
        (_, Some(epochs)) => {
            config.sampling = Sampling::ShuffledEpochs;
            config.iterations = epochs * config.iter_per_epoch(data.train.len());
        }
        (Some(iters), None) => config.iterations = iters,
        (None, None) => {}
    }
    config.validate(data.train.len())?;

    let out = match args.out {
        Some(dir) => dir,
        None => new_run_dir(Path::new("runs"))?,
    };
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the run directory {}", out.display()))?;

    let mut network = architecture.build::<f32, _>(None, &mut seeded_rng(args.seed));
    let mut optimizer = Sgd::new(args.lr);
    println!(
        "{}, SGD lr {}, batch {}, {} iterations ({} per epoch), seed {}",
        architecture.describe(),
        args.lr,
        config.batch_size,
        config.iterations,
        config.iter_per_epoch(data.train.len()),
        config.seed
    );
    println!(
        "data: {} ({} training and {} test images of {}x{}, {} classes)",
        data.dir.display(),
        data.train.len(),
        data.test.len(),
        data.train.image_shape.0,
        data.train.image_shape.1,
        classes
    );

    let start = Instant::now();
    let mut progress = TrainingProgress::new(config.iterations);
    let history = train(network.as_mut(), &mut optimizer, &data, &config, &mut progress);
    progress.finish();
    let history = history?;
    let seconds = start.elapsed().as_secs_f64();

    let last = history.evaluations.last().expect("training evaluates after its last step");
    let metadata = BTreeMap::from([
        ("test_accuracy".to_string(), last.test_acc.to_string()),
        ("train_accuracy".to_string(), last.train_acc.to_string()),
        ("iterations".to_string(), config.iterations.to_string()),
        ("optimizer".to_string(), format!("SGD lr {}", args.lr)),
        ("batch_size".to_string(), config.batch_size.to_string()),
        ("seed".to_string(), config.seed.to_string()),
    ]);
    save_model(network.as_mut(), &out.join("model.safetensors"), &metadata)?;
    write_atomic(&out.join("metrics.csv"), history.to_csv().as_bytes())?;
    save_plots(&history, &out)?;
    println!(
        "test accuracy {:.4} (train {:.4}) after {} iterations in {:.1} s",
        last.test_acc, last.train_acc, config.iterations, seconds
    );
    println!("wrote model.safetensors, metrics.csv, accuracy.png and loss.png to {}", out.display());
    Ok(())
}

/// `runs/2026-11-23T18-04-05Z`, with `-2`, `-3` ... when that already exists.
fn new_run_dir(runs: &Path) -> Result<PathBuf> {
    let stamp = utc_stamp(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0));
    let dir = (1..)
        .map(|n| if n == 1 { runs.join(&stamp) } else { runs.join(format!("{stamp}-{n}")) })
        .find(|dir| !dir.exists())
        .expect("an unused name exists");
    Ok(dir)
}

/// Seconds since 1970 as `YYYY-MM-DDTHH-MM-SSZ` (UTC), from the civil-calendar algorithm.
fn utc_stamp(seconds: u64) -> String {
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamp_gives_the_calendar_date() {
        assert_eq!(super::utc_stamp(0), "1970-01-01T00-00-00Z");
        assert_eq!(super::utc_stamp(951_782_400), "2000-02-29T00-00-00Z");
        assert_eq!(super::utc_stamp(1_795_453_445), "2026-11-23T17-04-05Z");
    }
}
