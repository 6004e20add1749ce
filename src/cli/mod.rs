//! The subcommands and the flags they share.

mod data;
mod eval;
mod experiment;
mod export;
mod gradcheck;
mod interrupt;
mod predict;
mod progress;
mod serve;
mod show;
mod train;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use mitbadak::layers::DropoutMode;
use mitbadak::nets::{
    Activation, Architecture, DeepConvNetConfig, DropoutConfig, Head, MultiLayerNetConfig,
    SimpleConvNetConfig,
};

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
    /// Serve a page to draw a digit on and watch the network read it, and its JSON API.
    Serve(serve::ServeArgs),
    /// One of chapter 6's experiments: its figure as PNG, its numbers as CSV, and what the figure shows.
    Experiment(experiment::ExperimentArgs),
    /// Write a model file as ONNX for other engines (ONNX Runtime ...): its output is the class probabilities.
    Export(export::ExportArgs),
}

pub use interrupt::Interrupted;

/// Runs one subcommand.
pub fn run(cli: Cli) -> Result<()> {
    // training's arrays are kept for the next step; a server's bursts are given back
    match cli.command {
        Command::Serve(_) => mitbadak::memory::return_freed_memory(),
        _ => mitbadak::memory::keep_freed_memory(),
    }
    match cli.command {
        Command::Train(args) => train::run(args).map(drop),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Show(args) => show::run(args),
        Command::Gradcheck(args) => gradcheck::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Export(args) => export::run(args),
    }
}

/// Parses an image's number (`--index`): a whole number from 0, with mitbadak's own word for
/// a negative one.
fn image_number(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n < 0 => Err(format!("images are counted from 0, got {n}")),
        Ok(n) => usize::try_from(n).map_err(|_| format!("{n} is past any data set's end")),
        Err(_) => Err(format!("expected an image's number (0, 1, 2 ...), got {text:?}")),
    }
}

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// A directory with the four IDX files of MNIST or a data set of its layout (gzip or raw).
    /// Default: $MITBADAK_DATA, ./data/mnist (or above), the cache; else downloaded into the cache.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The network's names, as `--arch` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchName {
    /// The book's TwoLayerNet: Affine - ReLU - Affine - SoftmaxWithLoss.
    TwoLayer,
    /// The book's MultiLayerNet: (Affine - activation) per hidden layer, Affine, SoftmaxWithLoss.
    Mlp,
    /// The book's SimpleConvNet (chapter 7): one convolution, pooling, two affine layers.
    SimpleConvnet,
    /// The book's DeepConvNet (chapter 8): six convolutions, three poolings, dropout.
    DeepConvnet,
}

/// Flags that name a network.
#[derive(Debug, Clone, Args)]
pub struct ArchArgs {
    /// The network [train: two-layer; eval, predict, serve: the one the model file names, which
    /// this overrides].
    #[arg(long, value_enum)]
    arch: Option<ArchName>,
    /// Hidden layer widths, comma-separated [default: 50 for two-layer, 100,100,100,100 for mlp,
    /// 100 for simple-convnet, 50 for deep-convnet].
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    hidden: Option<Vec<usize>>,
    /// The activation of an mlp's hidden layers [default: relu].
    #[arg(long, value_enum)]
    activation: Option<Activation>,
    /// Batch normalisation after each hidden affine layer (mlp) or convolution (deep-convnet).
    #[arg(long)]
    batch_norm: bool,
    /// Dropout ratio after each hidden layer (mlp) [deep-convnet: 0.5, the book's, but 0.25 in train's recipe; 0 for none].
    #[arg(long, value_name = "RATIO")]
    dropout: Option<f64>,
    /// Where dropout scales: inverted (in training) or book (at test time, for the book's weights).
    #[arg(long, value_enum, default_value = "inverted")]
    dropout_mode: DropoutMode,
}

impl ArchArgs {
    /// Whether flags beyond `--arch` shape the network: `--hidden`, `--activation`,
    /// `--batch-norm` or `--dropout`.
    fn describe_a_network(&self) -> bool {
        self.hidden.is_some() || self.activation.is_some() || self.batch_norm || self.dropout.is_some()
    }

    /// The network these flags name, `default` when they do not name one (train's two-layer:
    /// `--hidden 100` alone widens it), for images of `image_shape` and `classes` classes.
    fn architecture_or(
        &self,
        default: ArchName,
        image_shape: (usize, usize),
        classes: usize,
    ) -> Result<Architecture> {
        let named = ArchArgs { arch: Some(self.arch.unwrap_or(default)), ..self.clone() };
        Ok(named.architecture(image_shape, classes)?.expect("a network named by --arch"))
    }

    /// The network these flags name, for images of `image_shape` and `classes` classes, or
    /// `None` when no flag was given.
    fn architecture(&self, image_shape: (usize, usize), classes: usize) -> Result<Option<Architecture>> {
        let Some(arch) = self.arch else {
            if self.describe_a_network() {
                bail!(
                    "--hidden, --activation, --batch-norm and --dropout describe a network: name it with --arch"
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
        if self.activation.is_some() && arch != ArchName::Mlp && self.activation != Some(Activation::Relu) {
            bail!("--activation sigmoid is for --arch mlp; the book's other networks use ReLU");
        }
        if self.batch_norm && matches!(arch, ArchName::TwoLayer | ArchName::SimpleConvnet) {
            bail!("--batch-norm is for --arch mlp or deep-convnet");
        }
        let dropout = match self.dropout {
            Some(ratio) if !(0.0..1.0).contains(&ratio) => {
                bail!(
                    "--dropout has to be in [0, 1), got {ratio}; the book uses 0.15 for its MLP and 0.5 for DeepConvNet"
                )
            }
            Some(ratio) if ratio > 0.0 => Some(ratio),
            Some(_) => None,
            None if arch == ArchName::DeepConvnet => Some(0.5),
            None => None,
        };
        if dropout.is_some() && matches!(arch, ArchName::TwoLayer | ArchName::SimpleConvnet) {
            bail!("--dropout is for --arch mlp or deep-convnet");
        }
        let dropout = dropout.map(|ratio| DropoutConfig { ratio, mode: self.dropout_mode });
        let one_hidden = |default: usize, name: &str| -> Result<usize> {
            match self.hidden.as_deref() {
                None => Ok(default),
                Some(&[h]) => Ok(h),
                Some(list) => {
                    bail!("--hidden: {name} has one hidden layer, got {list:?}; use --arch mlp for more")
                }
            }
        };
        let (rows, cols) = image_shape;
        let input_size = rows * cols;
        Ok(Some(match arch {
            ArchName::TwoLayer => Architecture::two_layer(input_size, one_hidden(50, "two-layer")?, classes),
            ArchName::Mlp => Architecture::Mlp(MultiLayerNetConfig {
                input_size,
                hidden_size_list: self.hidden.clone().unwrap_or_else(|| vec![100; 4]),
                output_size: classes,
                activation: self.activation.unwrap_or(Activation::Relu),
                head: Head::SoftmaxCrossEntropy,
                use_batchnorm: self.batch_norm,
                dropout,
            }),
            ArchName::SimpleConvnet => SimpleConvNetConfig {
                input_dim: [1, rows, cols],
                hidden_size: one_hidden(SimpleConvNetConfig::default().hidden_size, "simple-convnet")?,
                output_size: classes,
                ..Default::default()
            }
            .architecture(),
            ArchName::DeepConvnet => DeepConvNetConfig {
                input_dim: [1, rows, cols],
                hidden_size: one_hidden(DeepConvNetConfig::default().hidden_size, "deep-convnet")?,
                output_size: classes,
                dropout,
                batch_norm: self.batch_norm,
            }
            .architecture(),
        }))
    }
}
