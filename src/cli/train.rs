//! `mitbadak train`: the book's ch05/train_neuralnet.py job by default, and any network of the library by flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, FromArgMatches, ValueEnum};
use mitbadak::atomic::write_atomic;
use mitbadak::checkpoint::{CheckpointInfo, loss_path, read_checkpoint};
use mitbadak::data::{Augment, Mnist};
use mitbadak::model_file::{Dtype, save_model_as};
use mitbadak::nets::{Architecture, WeightInit};
use mitbadak::optim::{OptimizerName, ScheduleName};
use mitbadak::plot::save_plots;
use mitbadak::run_lock::RunLock;
use mitbadak::runs::{ACCURACY_FILE, CHECKPOINT_FILE, LOSS_FILE, MODEL_FILE, RUNS_DIR, new_run_dir};
use mitbadak::seeded_rng;
use mitbadak::train::{EVAL_CHUNK, Recipe, RunLength, Sampling, TrainConfig, resume, train};

use super::interrupt::{self, Interrupted};
use super::progress::TrainingProgress;
use super::{ArchArgs, ArchName, DataArgs, data};

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    arch: ArchArgs,
    /// The optimizer [default: sgd for two-layer and mlp, adam for the conv nets, as the book].
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerName>,
    /// Learning rate [default: 0.1 for SGD (the book's ch05/train_neuralnet.py), 0.002 for deep-convnet's recipe, otherwise the book's for the optimizer].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// How the learning rate changes: constant, cosine (down to 0 over the run), or step
    /// (times 0.1 at a third and at two thirds of the run) [default: cosine for deep-convnet,
    /// otherwise constant].
    #[arg(long, value_enum)]
    schedule: Option<ScheduleName>,
    /// Vary the training images before each step: none, or shift-rotate (each image moved by up
    /// to 2 pixels and turned by up to 10 degrees, drawn from --seed; the book's chapter 8
    /// augmentation) [default: shift-rotate for deep-convnet, otherwise none].
    #[arg(long, value_enum)]
    augment: Option<AugmentArg>,
    /// Initial weights: a standard deviation (0.01), xavier or he [default: the network's, as the book].
    #[arg(long, value_parser = parse_init, value_name = "STD|xavier|he")]
    init: Option<WeightInit>,
    /// Weight decay λ: the loss gains ½λ·ΣW², each gradient λ·W (the book's L2) [default: 0].
    #[arg(long, value_name = "LAMBDA", allow_negative_numbers = true)]
    weight_decay: Option<f64>,
    /// Images per mini-batch [default: 100].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Steps to take, each on a batch drawn with replacement (the book's ch05/train_neuralnet.py way) [default: 10000].
    #[arg(long, conflicts_with = "epochs")]
    iters: Option<usize>,
    /// Epochs to train, each a pass over the training set in a new random order
    /// [default: 20 for simple-convnet, as the book; 8 for deep-convnet].
    #[arg(long)]
    epochs: Option<usize>,
    /// The seed of the weights and the batches: the same seed gives the same numbers [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    data: DataArgs,
    /// The directory for model.safetensors, checkpoint.safetensors, metrics.csv and the
    /// figures [default: runs/<time>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the finished run in --out DIR (its model, metrics and figures); without it, a
    /// directory holding a finished run is refused.
    #[arg(long, requires = "out")]
    overwrite: bool,
    /// Go on with the unfinished run in DIR (stopped by Ctrl-C, a crash or a kill) from its
    /// checkpoint, to the weights and metrics it would have had unstopped. The run keeps its
    /// settings: other flags may be repeated, not changed.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "init"])]
    resume: Option<PathBuf>,
    /// The number type of model.safetensors: f32, or the 16-bit f16 and bf16 (half the file;
    /// the accuracy hardly moves, as the book's half_float_network.py shows).
    #[arg(long, value_enum, default_value = "f32")]
    save_dtype: SaveDtypeArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SaveDtypeArg {
    F32,
    F16,
    Bf16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AugmentArg {
    None,
    ShiftRotate,
}

impl AugmentArg {
    fn augment(self) -> Augment {
        match self {
            AugmentArg::None => Augment::None,
            AugmentArg::ShiftRotate => Augment::SHIFT_ROTATE,
        }
    }
}

/// `0.01` (a standard deviation), `xavier` or `he`.
fn parse_init(text: &str) -> Result<WeightInit, String> {
    match text {
        "xavier" => Ok(WeightInit::Xavier),
        "he" => Ok(WeightInit::He),
        _ => match text.parse::<f64>() {
            Ok(std) if std > 0.0 && std.is_finite() => Ok(WeightInit::Std(std)),
            _ => Err(format!(
                "expected a standard deviation > 0 (the book's 0.01), xavier or he, got {text:?}"
            )),
        },
    }
}

impl TrainArgs {
    /// The book's ch05/train_neuralnet.py job: `mitbadak train` without flags but `data`'s.
    pub fn seed_job(data: DataArgs) -> TrainArgs {
        let matches = TrainArgs::augment_args(clap::Command::new("train")).get_matches_from(["train"]);
        let args = TrainArgs::from_arg_matches(&matches).expect("train's defaults are valid flags");
        TrainArgs { data, ..args }
    }
}

/// The network `architecture` (as the flags name it) trained with its recipe's dropout, unless
/// `--dropout` gives one.
fn trained_network(args: &TrainArgs, architecture: Architecture) -> Architecture {
    match args.arch.dropout {
        Some(_) => architecture,
        None => Recipe::for_network(&architecture).network(architecture),
    }
}

/// What a run is: its network, its optimizer and its configuration.
struct Plan {
    architecture: Architecture,
    optimizer: OptimizerName,
    lr: f64,
    config: TrainConfig,
}

impl Plan {
    /// The run the flags describe, on `data`.
    fn from_flags(args: &TrainArgs, data: &Mnist) -> Result<Plan> {
        let (image_shape, classes) = (data.train.image_shape, data.classes);
        let architecture =
            trained_network(args, args.arch.architecture_or(ArchName::TwoLayer, image_shape, classes)?);
        // the network's recipe (the library's), with what the flags change
        let mut recipe = Recipe::for_network(&architecture);
        if let Some(optimizer) = args.optimizer {
            recipe = recipe.with_optimizer(optimizer);
        }
        let lr = args.lr.unwrap_or(recipe.learning_rate);
        if !(lr > 0.0 && lr.is_finite()) {
            bail!("--lr must be a positive number, got {lr}; the book uses 0.1 with SGD");
        }
        if args.epochs == Some(0) {
            bail!("--epochs must be at least 1: an epoch is one pass over the training set");
        }
        recipe.length = match (args.iters, args.epochs) {
            (_, Some(epochs)) => RunLength::Epochs(epochs),
            (Some(iters), None) => RunLength::Iterations(iters),
            (None, None) => recipe.length,
        };
        recipe.batch_size = args.batch_size.unwrap_or(recipe.batch_size);
        recipe.weight_decay = args.weight_decay.unwrap_or(recipe.weight_decay);
        recipe.schedule = args.schedule.unwrap_or(recipe.schedule);
        recipe.augment = args.augment.map_or(recipe.augment, AugmentArg::augment);
        let config = recipe.config(data.train.len())?;
        let config = TrainConfig { seed: args.seed.unwrap_or(config.seed), ..config };
        let optimizer = recipe.optimizer;
        Ok(Plan { architecture, optimizer, lr, config })
    }

    /// The run a checkpoint holds.
    ///
    /// **Errors** if its optimizer is not one of the command line's.
    fn from_checkpoint(info: &CheckpointInfo) -> Result<Plan> {
        let state = &info.state;
        let optimizer = OptimizerName::from_name(&state.optimizer).with_context(|| {
            format!("the checkpoint's optimizer {:?} is not one `train` knows", state.optimizer)
        })?;
        Ok(Plan {
            architecture: info.architecture.clone(),
            optimizer,
            lr: state.learning_rate,
            config: state.config.clone(),
        })
    }

    /// The flags of `args` that say otherwise than this plan, for a resumed run, which keeps
    /// its settings: `--lr 0.05 (the run has 0.1)`.
    fn contradictions(&self, args: &TrainArgs, data: &Mnist) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut compare = |flag: &str, given: String, kept: String| {
            if given != kept {
                found.push(format!("{flag} {given} (the run has {kept})"));
            }
        };
        if let Some(architecture) = args.arch.architecture(data.train.image_shape, data.classes)?
            && let architecture = trained_network(args, architecture)
            && architecture != self.architecture
        {
            compare("--arch", architecture.describe(), self.architecture.describe());
        }
        let flag_name = |name: OptimizerName| format!("{name:?}").to_lowercase();
        if let Some(optimizer) = args.optimizer {
            compare("--optimizer", flag_name(optimizer), flag_name(self.optimizer));
        }
        if let Some(lr) = args.lr {
            compare("--lr", lr.to_string(), self.lr.to_string());
        }
        let config = &self.config;
        if let Some(name) = args.schedule {
            compare("--schedule", name.name().into(), ScheduleName::of(&config.schedule).name().into());
        }
        if let Some(arg) = args.augment {
            compare("--augment", arg.augment().name(), config.augment.name());
        }
        if let Some(decay) = args.weight_decay {
            compare("--weight-decay", decay.to_string(), config.weight_decay.to_string());
        }
        if let Some(batch_size) = args.batch_size {
            compare("--batch-size", batch_size.to_string(), config.batch_size.to_string());
        }
        if let Some(seed) = args.seed {
            compare("--seed", seed.to_string(), config.seed.to_string());
        }
        let (iterations, per_epoch) = (config.iterations, config.iter_per_epoch(data.train.len()));
        let kept = match config.sampling {
            Sampling::WithReplacement => format!("--iters {iterations}"),
            Sampling::ShuffledEpochs => format!("--epochs {}", iterations / per_epoch),
        };
        let given = match (args.iters, args.epochs) {
            (Some(iters), _) => Some(format!("--iters {iters}")),
            (None, Some(epochs)) => Some(format!("--epochs {epochs}")),
            (None, None) => None,
        };
        if let Some(given) = given.filter(|given| *given != kept) {
            found.push(format!("{given} (the run has {kept})"));
        }
        Ok(found)
    }

    /// `SGD lr 0.1, cosine schedule, weight decay 0.01, images shift-rotate`.
    fn describe_optimizer(&self, optimizer_name: &str) -> String {
        let schedule = match ScheduleName::of(&self.config.schedule) {
            ScheduleName::Constant => String::new(),
            name => format!(", {} schedule", name.name()),
        };
        let decay = self.config.weight_decay;
        let decay = if decay > 0.0 { format!(", weight decay {decay}") } else { String::new() };
        let augment = &self.config.augment;
        let augment = if augment.is_none() { String::new() } else { format!(", images {}", augment.name()) };
        format!("{optimizer_name} lr {}{schedule}{decay}{augment}", self.lr)
    }
}

/// Trains (or resumes) and writes the run directory; returns its path.
pub fn run(args: TrainArgs) -> Result<PathBuf> {
    let started = Instant::now();
    let (plan, data, out, resuming, _lock) = match &args.resume {
        None => {
            let data = data::load(args.data.data_dir.as_deref())?;
            if data.test.is_empty() {
                bail!(
                    "{}: the test set has no images, so the run's accuracy could not be measured",
                    data.dir.display()
                );
            }
            let plan = Plan::from_flags(&args, &data)?;
            plan.architecture.check()?;
            plan.architecture.check_memory(Some(plan.config.batch_size), EVAL_CHUNK)?;
            let out = args.out.clone().unwrap_or_else(|| new_run_dir(Path::new(RUNS_DIR)));
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create the run directory {}", out.display()))?;
            let lock = RunLock::acquire(&out)?;
            refuse_unfinished(&out)?;
            if !args.overwrite {
                refuse_finished(&out)?;
            }
            (plan, data, out, None, lock)
        }
        Some(dir) => {
            let checkpoint = dir.join(CHECKPOINT_FILE);
            if !checkpoint.is_file() {
                bail!(
                    "{}: no {CHECKPOINT_FILE} to resume from; a run writes one after its first epoch, \
                     and removes it when it completes",
                    dir.display()
                );
            }
            let lock = RunLock::acquire(dir)?;
            let info = read_checkpoint(&checkpoint)?;
            let data_dir = args.data.data_dir.clone().unwrap_or_else(|| info.state.data.dir.clone());
            let data = data::load(Some(&data_dir))?;
            let plan = Plan::from_checkpoint(&info)?;
            plan.architecture.check_memory(Some(plan.config.batch_size), EVAL_CHUNK)?;
            let contradictions = plan.contradictions(&args, &data)?;
            if !contradictions.is_empty() {
                bail!(
                    "{}: a resumed run keeps its settings, and these flags say otherwise: {}; \
                     drop them, or start a new run with --out",
                    checkpoint.display(),
                    contradictions.join(", ")
                );
            }
            (plan, data, dir.clone(), Some((checkpoint, info.state.iteration)), lock)
        }
    };
    let Plan { architecture, optimizer: optimizer_name, lr, config } = &plan;
    architecture.check()?;
    let config = TrainConfig { checkpoint: Some(out.join(CHECKPOINT_FILE)), ..config.clone() };

    let mut network = architecture.build::<f32, _>(args.init, &mut seeded_rng(config.seed));
    let mut optimizer = optimizer_name.build::<f32>(*lr);
    let described_optimizer = plan.describe_optimizer(optimizer.name());
    println!(
        "{}, {described_optimizer}, batch {}, {} iterations ({} per epoch), seed {}",
        architecture.describe(),
        config.batch_size,
        config.iterations,
        config.iter_per_epoch(data.train.len()),
        config.seed
    );
    let (image_shape, classes) = (data.train.image_shape, data.classes);
    println!(
        "data: {} ({} training and {} test images of {}x{}, {} classes)",
        data.dir.display(),
        data.train.len(),
        data.test.len(),
        image_shape.0,
        image_shape.1,
        classes
    );
    warn_of_classes(&data);
    if let Some((checkpoint, iteration)) = &resuming {
        println!("resuming at iteration {iteration} from {}", checkpoint.display());
    }

    let start = Instant::now();
    let first = resuming.as_ref().map_or(0, |(_, iteration)| *iteration);
    let mut progress = TrainingProgress::new(first, config.iterations);
    let catching = interrupt::catch();
    let history = match &resuming {
        None => train(network.as_mut(), optimizer.as_mut(), &data, &config, &mut progress),
        Some((checkpoint, _)) => {
            resume(network.as_mut(), optimizer.as_mut(), &data, &config, checkpoint, &mut progress)
        }
    };
    drop(catching);
    progress.finish();
    let history = match history {
        Err(mitbadak::Error::Interrupted { iteration, total, checkpoint: Some(checkpoint) }) => {
            let signal = interrupt::caught().unwrap_or_default();
            return Err(Interrupted {
                signal,
                message: format!(
                    "stopped by {} after iteration {iteration} of {total}; the run is saved in {}\n\
                     resume it with: mitbadak train --resume {}",
                    interrupt::name(signal),
                    checkpoint.display(),
                    out.display()
                ),
            }
            .into());
        }
        history => history.map_err(|e| explain_failure(e, &out))?,
    };
    let seconds = start.elapsed().as_secs_f64();

    let last = history.evaluations.last().expect("training evaluates after its last step");
    let metadata = BTreeMap::from([
        ("test_accuracy".to_string(), last.test_acc.to_string()),
        ("train_accuracy".to_string(), last.train_acc.to_string()),
        ("iterations".to_string(), config.iterations.to_string()),
        ("optimizer".to_string(), described_optimizer),
        ("batch_size".to_string(), config.batch_size.to_string()),
        ("seed".to_string(), config.seed.to_string()),
    ]);
    let dtype = match args.save_dtype {
        SaveDtypeArg::F32 => Dtype::F32,
        SaveDtypeArg::F16 => Dtype::F16,
        SaveDtypeArg::Bf16 => Dtype::BF16,
    };
    save_model_as(network.as_mut(), &out.join(MODEL_FILE), &metadata, dtype)
        .and_then(|()| write_atomic(&out.join("metrics.csv"), history.to_csv().as_bytes()))
        .and_then(|()| save_plots(&history, &out))
        .map_err(|e| explain_failure(e, &out))?;
    // the run is complete: its checkpoint would only say it was not
    if let Some(checkpoint) = &config.checkpoint {
        for file in [checkpoint.clone(), loss_path(checkpoint)] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    eprintln!("warning: could not remove {}: {e}", file.display())
                }
                _ => {}
            }
        }
    }
    println!(
        "test accuracy {:.4} (train {:.4}) after {} iterations in {:.1} s",
        last.test_acc, last.train_acc, config.iterations, seconds
    );
    println!("wrote {MODEL_FILE}, metrics.csv, accuracy.png and loss.png to {}", out.display());
    if resuming.is_none() {
        report_goal(&args, architecture, last.test_acc, started.elapsed().as_secs_f64());
    }
    Ok(out)
}

impl TrainArgs {
    /// Whether the run is its network's recipe as it stands: no flag changes the network or
    /// how it is trained (the seed, the data and where the run is written aside).
    fn runs_the_recipe(&self) -> bool {
        !self.arch.describe_a_network()
            && self.optimizer.is_none()
            && self.lr.is_none()
            && self.schedule.is_none()
            && self.augment.is_none()
            && self.init.is_none()
            && self.weight_decay.is_none()
            && self.batch_size.is_none()
            && self.iters.is_none()
            && self.epochs.is_none()
    }
}

/// For a run of a recipe with a goal, and none of its settings changed by flags: whether it
/// reached the goal's test accuracy within its time, data loading included.
fn report_goal(args: &TrainArgs, architecture: &Architecture, test_acc: f64, seconds: f64) {
    if let (Some(goal), true) = (Recipe::for_network(architecture).goal, args.runs_the_recipe()) {
        let (accuracy, limit) = (goal.test_accuracy, goal.seconds);
        let met = test_acc >= accuracy && seconds <= limit;
        println!(
            "goal of this recipe, test accuracy >= {:.2}% within {:.0} minutes: {} ({:.2}% in {:.1} minutes)",
            accuracy * 100.0,
            limit / 60.0,
            if met { "met" } else { "NOT met" },
            test_acc * 100.0,
            seconds / 60.0
        );
    }
}

/// Refuses to start a new run over an unfinished one, which `--resume` would go on with.
fn refuse_unfinished(out: &Path) -> Result<()> {
    let checkpoint = out.join(CHECKPOINT_FILE);
    if !checkpoint.is_file() {
        return Ok(());
    }
    let at = match read_checkpoint(&checkpoint) {
        Ok(info) => format!(" at iteration {} of {}", info.state.iteration, info.state.config.iterations),
        Err(_) => String::new(),
    };
    bail!(
        "{} holds an unfinished run ({CHECKPOINT_FILE}{at}): go on with `mitbadak train --resume {}`, \
         or choose another --out (or delete the checkpoint to start over there)",
        out.display(),
        out.display()
    )
}

/// Warns when the labels make another number of classes than MNIST's 10 for images of its
/// size, or leave classes without a training image: a stray label (200) would otherwise
/// build a network of 201 classes without a word.
fn warn_of_classes(data: &Mnist) {
    let mut seen = vec![false; data.classes];
    for &label in &data.train.labels {
        seen[label as usize] = true;
    }
    let unseen = seen.iter().filter(|s| !**s).count();
    if data.train.image_shape == (28, 28) && data.classes != 10 {
        eprintln!(
            "warning: the labels go from 0 to {}, so the network gets {} classes, where MNIST has 10; \
             check the label files",
            data.classes.saturating_sub(1),
            data.classes
        );
    }
    if unseen > 0 {
        eprintln!("warning: {unseen} of the {} classes have no training image", data.classes);
    }
}

/// A run's error, and when the disk is full, what survives of the run and what to do next.
fn explain_failure(e: mitbadak::Error, out: &Path) -> anyhow::Error {
    let disk_full = std::error::Error::source(&e)
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull);
    if !disk_full {
        return e.into();
    }
    let checkpoint = out.join(CHECKPOINT_FILE);
    let survives = match read_checkpoint(&checkpoint) {
        Ok(info) => format!(
            "{} holds the run at iteration {} of {}: free some space and resume it with \
             `mitbadak train --resume {}`",
            checkpoint.display(),
            info.state.iteration,
            info.state.config.iterations,
            out.display()
        ),
        Err(_) => "no checkpoint was written yet (one is written after each epoch): free some space and \
                   start the run again"
            .into(),
    };
    anyhow::anyhow!("{e}\nthe disk is full; {survives}")
}

/// Refuses to replace a finished run (its model, metrics or figures) unless `--overwrite` says so.
fn refuse_finished(out: &Path) -> Result<()> {
    let products = [MODEL_FILE, "metrics.csv", ACCURACY_FILE, LOSS_FILE];
    let found: Vec<&str> = products.into_iter().filter(|name| out.join(name).exists()).collect();
    if found.is_empty() {
        return Ok(());
    }
    bail!(
        "{} holds a finished run ({}): choose another --out, or add --overwrite to replace it",
        out.display(),
        found.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use mitbadak::data::{Dataset, Mnist};
    use mitbadak::train::{Recipe, TrainConfig};

    use super::super::{Cli, Command};
    use super::{Plan, TrainArgs};

    fn train_args(flags: &[&str]) -> TrainArgs {
        let cli = Cli::try_parse_from(["mitbadak", "train"].iter().chain(flags)).unwrap();
        match cli.command {
            Command::Train(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn only_the_recipe_as_it_stands_is_held_to_its_goal() {
        let arch = ["--arch", "deep-convnet"];
        assert!(
            train_args(&[&arch[..], &["--seed", "3", "--out", "runs/x", "--data-dir", "d"]].concat())
                .runs_the_recipe()
        );
        let changes: [&[&str]; 11] = [
            &["--hidden", "64"],
            &["--batch-norm"],
            &["--dropout", "0.3"],
            &["--optimizer", "sgd"],
            &["--lr", "0.01"],
            &["--schedule", "constant"],
            &["--init", "he"],
            &["--weight-decay", "0.001"],
            &["--batch-size", "50"],
            &["--iters", "100"],
            &["--epochs", "2"],
        ];
        for flags in changes {
            assert!(!train_args(&[&arch[..], flags].concat()).runs_the_recipe(), "{flags:?}");
        }
        assert!(!train_args(&["--arch", "mlp", "--activation", "sigmoid"]).runs_the_recipe());
    }

    /// 1200 blank 28x28 images of 10 classes: 12 batches of 100 an epoch.
    fn blank_mnist() -> Mnist {
        let mut train = Dataset::new((28, 28));
        train.push_images(&vec![0; 1200 * 784]);
        train.labels = (0..1200).map(|i| (i % 10) as u8).collect();
        let mut test = Dataset::new((28, 28));
        test.push_images(&vec![0; 10 * 784]);
        test.labels = (0..10).collect();
        Mnist { train, test, classes: 10, dir: "blank".into() }
    }

    #[test]
    fn train_without_flags_runs_the_library_s_recipe() {
        let data = blank_mnist();
        for arch in ["two-layer", "mlp", "simple-convnet", "deep-convnet"] {
            let plan = Plan::from_flags(&train_args(&["--arch", arch]), &data).unwrap();
            let recipe = Recipe::for_network(&plan.architecture);
            assert_eq!((plan.optimizer, plan.lr), (recipe.optimizer, recipe.learning_rate), "{arch}");
            assert_eq!(plan.config, recipe.config(data.train.len()).unwrap(), "{arch}");
        }
        let plan = Plan::from_flags(&train_args(&[]), &data).unwrap();
        assert_eq!(plan.config, TrainConfig::default());
        assert_eq!((plan.optimizer, plan.lr), (Recipe::book().optimizer, 0.1));
        let deep = Plan::from_flags(&train_args(&["--arch", "deep-convnet"]), &data).unwrap();
        assert_eq!(deep.config.iterations, 10 * 12);
        // the recipe's dropout, unless --dropout names one (the book's 0.5)
        assert!(deep.architecture.describe().contains("(dropout 0.25 (inverted))"));
        let book =
            Plan::from_flags(&train_args(&["--arch", "deep-convnet", "--dropout", "0.5"]), &data).unwrap();
        assert!(book.architecture.describe().contains("(dropout 0.5 (inverted))"));
    }
}
