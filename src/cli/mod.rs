//! The subcommands and the flags they share.

mod data;
mod eval;
mod gradcheck;
mod predict;
mod progress;
mod show;
mod train;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use mitbadak::nets::{Activation, Architecture, Head};

/// Deep learning from scratch (밑바닥부터 시작하는 딥러닝), in Rust.
#[derive(Debug, Parser)]
#[command(name = "mitbadak", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a network on MNIST (default: the book's TwoLayerNet, SGD lr 0.1, batch 100, 10000 iterations).
    Train(train::TrainArgs),
    /// Measure a model file's accuracy on the test set (and the training set with --train).
    Eval(eval::EvalArgs),
    /// Classify a picture of a digit, or an MNIST image by index, with a model file.
    Predict(predict::PredictArgs),
    /// Show an MNIST image: its label and shape, drawn in the terminal and written as a PNG.
    Show(show::ShowArgs),
    /// The book's gradient check: backpropagation against numerical gradients on 3 MNIST images.
    Gradcheck(gradcheck::GradcheckArgs),
}

/// Runs one subcommand.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Show(args) => show::run(args),
        Command::Gradcheck(args) => gradcheck::run(args),
    }
}

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// A directory with the four IDX files of MNIST or a data set of its layout (gzip or raw).
    /// Default: $MITBADAK_DATA, ./data/mnist, the crate's copy, the cache; else downloaded.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The network's names, as `--arch` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ArchName {
    /// The book's TwoLayerNet: Affine - ReLU - Affine - SoftmaxWithLoss.
    TwoLayer,
    /// The book's MultiLayerNet: (Affine - activation) per hidden layer, Affine, SoftmaxWithLoss.
    Mlp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ActivationName {
    Relu,
    Sigmoid,
}

/// Flags that name a network.
#[derive(Debug, Clone, Args)]
pub struct ArchArgs {
    /// The network [default for train: two-layer]; for a model file, overrides what the file says.
    #[arg(long, value_enum)]
    arch: Option<ArchName>,
    /// Hidden layer widths, comma-separated [default: 50 for two-layer, 100,100,100,100 for mlp].
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    hidden: Option<Vec<usize>>,
    /// The activation of an mlp's hidden layers [default: relu].
    #[arg(long, value_enum)]
    activation: Option<ActivationName>,
}

impl ArchArgs {
    /// The architecture these flags name, or `None` when no flag was given.
    fn architecture(&self, input_size: usize, classes: usize) -> Result<Option<Architecture>> {
        let Some(arch) = self.arch else {
            if self.hidden.is_some() || self.activation.is_some() {
                bail!(
                    "--hidden and --activation describe a network: name it with --arch two-layer or --arch mlp"
                );
            }
            return Ok(None);
        };
        if let Some(0) = self.hidden.iter().flatten().copied().min() {
            bail!(
                "--hidden: a layer needs at least one unit, got {:?}",
                self.hidden.as_deref().unwrap_or_default()
            );
        }
        Ok(Some(match arch {
            ArchName::TwoLayer => {
                if self.activation.is_some_and(|a| a != ActivationName::Relu) {
                    bail!(
                        "--activation: two-layer is the book's TwoLayerNet, with ReLU; use --arch mlp for sigmoid"
                    );
                }
                let hidden_size = match self.hidden.as_deref() {
                    None => 50,
                    Some(&[h]) => h,
                    Some(list) => bail!(
                        "--hidden: two-layer has one hidden layer, got {list:?}; use --arch mlp for more"
                    ),
                };
                Architecture::TwoLayer { input_size, hidden_size, output_size: classes }
            }
            ArchName::Mlp => Architecture::Mlp {
                input_size,
                hidden_size_list: self.hidden.clone().unwrap_or_else(|| vec![100; 4]),
                output_size: classes,
                activation: match self.activation.unwrap_or(ActivationName::Relu) {
                    ActivationName::Relu => Activation::Relu,
                    ActivationName::Sigmoid => Activation::Sigmoid,
                },
                head: Head::SoftmaxCrossEntropy,
            },
        }))
    }
}
