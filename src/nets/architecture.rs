//! What a network is, in a form that model files keep: enough to build it again.

use serde::{Deserialize, Serialize};

use super::deep_conv_net::{CONVOLUTIONS, FILTER, deep_conv_output_side};
use super::layer_spec::{LayerSpec, state_values};
use super::{
    Activation, DeepConvNet, DeepConvNetConfig, DropoutConfig, Head, MultiLayerNet, MultiLayerNetConfig,
    Network, SimpleConvNet, SimpleConvNetConfig, TwoLayerNet, WeightInit,
};
use crate::{Error, Float, Result};

/// The most values a network's state may hold: 2^30 (4 GiB as `f32`), thousands of times the
/// book's largest network, and refused before anything is allocated.
pub const MAX_STATE_VALUES: usize = 1 << 30;

/// A network's architecture, saved as JSON in a model file's metadata, e.g.
/// `{"arch":"two-layer","input_size":784,"hidden_size":50,"output_size":10}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum Architecture {
    /// The book's `TwoLayerNet`: Affine - ReLU - Affine - SoftmaxWithLoss.
    TwoLayer {
        /// Values per input sample.
        input_size: usize,
        /// The hidden layer's width.
        hidden_size: usize,
        /// Classes.
        output_size: usize,
    },
    /// The book's `MultiLayerNet` (with `MultiLayerNetExtend`'s batch normalisation and dropout).
    Mlp {
        /// Values per input sample.
        input_size: usize,
        /// The hidden layers' widths.
        hidden_size_list: Vec<usize>,
        /// Outputs per sample.
        output_size: usize,
        /// The activation after each hidden layer.
        activation: Activation,
        /// The output and its loss.
        head: Head,
        /// Batch normalisation after each hidden affine layer.
        #[serde(default)]
        batch_norm: bool,
        /// Dropout after each hidden activation.
        #[serde(default)]
        dropout: Option<DropoutConfig>,
    },
    /// The book's `SimpleConvNet`.
    SimpleConvnet {
        /// One input sample: `(channels, height, width)`.
        input_dim: [usize; 3],
        /// Filters in the convolution.
        filter_num: usize,
        /// The filters' side.
        filter_size: usize,
        /// Zeros around the input.
        pad: usize,
        /// The step between windows.
        stride: usize,
        /// The hidden affine layer's width.
        hidden_size: usize,
        /// Classes.
        output_size: usize,
    },
    /// The book's `DeepConvNet`.
    DeepConvnet {
        /// One input sample: `(channels, height, width)`.
        input_dim: [usize; 3],
        /// The hidden affine layer's width.
        hidden_size: usize,
        /// Classes.
        output_size: usize,
        /// Dropout after the hidden layer and after the output.
        dropout: Option<DropoutConfig>,
        /// Batch normalisation after each convolution.
        #[serde(default)]
        batch_norm: bool,
    },
}

impl Architecture {
    /// The network of the book's chapter 3 sample weights (`sample_weight.pkl`): 784-50-100-10
    /// with sigmoid, a softmax output.
    pub fn ch03_sample_network() -> Architecture {
        Architecture::Mlp {
            input_size: 784,
            hidden_size_list: vec![50, 100],
            output_size: 10,
            activation: Activation::Sigmoid,
            head: Head::SoftmaxCrossEntropy,
            batch_norm: false,
            dropout: None,
        }
    }

    /// Checks that the network can be built, without building it: every size at least 1,
    /// the filters and poolings fitting their inputs, a dropout ratio in [0, 1), and at most
    /// `MAX_STATE_VALUES` (2^30) values. Returns how many values its state holds (parameters, and
    /// batch normalisation's statistics), so that a model file can be held to it.
    ///
    /// **Errors** name the field at fault and what it must be.
    ///
    /// ```
    /// use mitbadak::nets::Architecture;
    /// let net = Architecture::TwoLayer { input_size: 784, hidden_size: 50, output_size: 10 };
    /// assert_eq!(net.check().unwrap(), 784 * 50 + 50 + 50 * 10 + 10);
    /// let empty = Architecture::TwoLayer { input_size: 784, hidden_size: 0, output_size: 10 };
    /// assert!(empty.check().unwrap_err().to_string().contains("hidden_size is 0"));
    /// ```
    pub fn check(&self) -> Result<usize> {
        let values = state_values(&self.layers()?);
        match values {
            Some(n) if n <= MAX_STATE_VALUES => Ok(n),
            _ => Err(self.too_large(values)),
        }
    }

    /// The network's layers with their shapes, in order, its loss layer aside: the one
    /// description its state and its memory are counted from (each layer's share is in
    /// `nets/layer_spec.rs`).
    ///
    /// **Errors** as [`Architecture::check`], but for the count of values.
    ///
    /// ```
    /// use mitbadak::nets::{Architecture, LayerSpec};
    /// let net = Architecture::TwoLayer { input_size: 784, hidden_size: 50, output_size: 10 };
    /// let layers = net.layers().unwrap();
    /// assert_eq!(layers[0], LayerSpec::Affine { input: 784, output: 50 });
    /// assert_eq!(layers.iter().map(|l| l.name()).collect::<Vec<_>>(), ["Affine", "Relu", "Affine"]);
    /// ```
    pub fn layers(&self) -> Result<Vec<LayerSpec>> {
        let invalid = |message: String| Error::invalid("architecture", message);
        let overflow = || self.too_large(None);
        match self {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                at_least_one(&[
                    ("input_size", *input_size),
                    ("hidden_size", *hidden_size),
                    ("output_size", *output_size),
                ])?;
                Ok(vec![
                    LayerSpec::Affine { input: *input_size, output: *hidden_size },
                    LayerSpec::Relu,
                    LayerSpec::Affine { input: *hidden_size, output: *output_size },
                ])
            }
            Architecture::Mlp {
                input_size,
                hidden_size_list,
                output_size,
                activation,
                head,
                batch_norm,
                dropout,
            } => {
                at_least_one(&[("input_size", *input_size), ("output_size", *output_size)])?;
                if let Some(k) = hidden_size_list.iter().position(|&h| h == 0) {
                    return Err(invalid(format!(
                        "hidden layer {} has 0 units: every layer needs at least one",
                        k + 1
                    )));
                }
                check_dropout(dropout)?;
                let widths: Vec<usize> = std::iter::once(*input_size)
                    .chain(hidden_size_list.iter().copied())
                    .chain([*output_size])
                    .collect();
                let mut layers = Vec::new();
                for (k, pair) in widths.windows(2).enumerate() {
                    layers.push(LayerSpec::Affine { input: pair[0], output: pair[1] });
                    if k + 2 < widths.len() {
                        // the book's order: Affine, BatchNorm, activation, Dropout
                        if *batch_norm {
                            layers.push(LayerSpec::BatchNormalization { features: pair[1] });
                        }
                        layers.push(match activation {
                            Activation::Relu => LayerSpec::Relu,
                            Activation::Sigmoid => LayerSpec::Sigmoid,
                        });
                        if dropout.is_some() {
                            layers.push(LayerSpec::Dropout);
                        }
                    }
                }
                if *head == Head::SigmoidMse {
                    layers.push(LayerSpec::Sigmoid);
                }
                Ok(layers)
            }
            Architecture::SimpleConvnet {
                input_dim,
                filter_num,
                filter_size,
                pad,
                stride,
                hidden_size,
                output_size,
            } => {
                let [c, h, w] = *input_dim;
                at_least_one(&[
                    ("input_dim channels", c),
                    ("input_dim height", h),
                    ("input_dim width", w),
                    ("filter_num", *filter_num),
                    ("filter_size", *filter_size),
                    ("stride", *stride),
                    ("hidden_size", *hidden_size),
                    ("output_size", *output_size),
                ])?;
                let conv = conv_output(h, *filter_size, *stride, *pad).zip(conv_output(
                    w,
                    *filter_size,
                    *stride,
                    *pad,
                ));
                let Some((oh, ow)) = conv.filter(|&(oh, ow)| oh >= 2 && ow >= 2) else {
                    return Err(invalid(format!(
                        "a {filter_size}x{filter_size} filter with pad {pad} and stride {stride} on a {h}x{w} input leaves less than the 2x2 its pooling needs"
                    )));
                };
                let pooled = [*filter_num, oh / 2, ow / 2];
                let flat = filter_num
                    .checked_mul(oh / 2)
                    .and_then(|n| n.checked_mul(ow / 2))
                    .ok_or_else(overflow)?;
                Ok(vec![
                    LayerSpec::Convolution {
                        input: *input_dim,
                        output: [*filter_num, oh, ow],
                        size: *filter_size,
                    },
                    LayerSpec::Relu,
                    LayerSpec::Pooling { output: pooled },
                    LayerSpec::Affine { input: flat, output: *hidden_size },
                    LayerSpec::Relu,
                    LayerSpec::Affine { input: *hidden_size, output: *output_size },
                ])
            }
            Architecture::DeepConvnet { input_dim, hidden_size, output_size, dropout, batch_norm } => {
                let [c, h, w] = *input_dim;
                at_least_one(&[
                    ("input_dim channels", c),
                    ("input_dim height", h),
                    ("input_dim width", w),
                    ("hidden_size", *hidden_size),
                    ("output_size", *output_size),
                ])?;
                check_dropout(dropout)?;
                // a side so large that padding it overflows is not too small: its count is refused below
                let too_small = |side: usize| side < usize::MAX / 2 && deep_conv_output_side(side).is_none();
                if too_small(h) || too_small(w) {
                    return Err(invalid(format!(
                        "a {h}x{w} input is too small for DeepConvNet's three 2x2 poolings: it needs at least 4x4"
                    )));
                }
                let mut layers = Vec::new();
                let (mut channels, mut h, mut w) = (c, h, w);
                for (i, &(filters, pad)) in CONVOLUTIONS.iter().enumerate() {
                    let oh = conv_output(h, FILTER, 1, pad).ok_or_else(overflow)?;
                    let ow = conv_output(w, FILTER, 1, pad).ok_or_else(overflow)?;
                    layers.push(LayerSpec::Convolution {
                        input: [channels, h, w],
                        output: [filters, oh, ow],
                        size: FILTER,
                    });
                    if *batch_norm {
                        layers.push(LayerSpec::BatchNormalization { features: filters });
                    }
                    layers.push(LayerSpec::Relu);
                    (channels, h, w) = (filters, oh, ow);
                    if i % 2 == 1 {
                        (h, w) = (h / 2, w / 2);
                        layers.push(LayerSpec::Pooling { output: [channels, h, w] });
                    }
                }
                let flat = channels.checked_mul(h).and_then(|n| n.checked_mul(w)).ok_or_else(overflow)?;
                layers.extend([LayerSpec::Affine { input: flat, output: *hidden_size }, LayerSpec::Relu]);
                if dropout.is_some() {
                    layers.push(LayerSpec::Dropout);
                }
                layers.push(LayerSpec::Affine { input: *hidden_size, output: *output_size });
                if dropout.is_some() {
                    layers.push(LayerSpec::Dropout);
                }
                Ok(layers)
            }
        }
    }

    /// The error of a network of `values` values (`None`: more than 2^64), more than
    /// [`MAX_STATE_VALUES`].
    fn too_large(&self, values: Option<usize>) -> Error {
        Error::invalid(
            "architecture",
            format!(
                "{} holds {} values; mitbadak builds networks of at most 2^30 values (4 GiB as f32)",
                self.describe(),
                values.map_or("more than 2^64".to_string(), |n| n.to_string())
            ),
        )
    }

    /// Builds the network with fresh weights drawn from `rng` by `init`, or by the network's
    /// own default: std 0.01 for `TwoLayerNet` and `SimpleConvNet`, He or Xavier by
    /// activation for `MultiLayerNet`, He for `DeepConvNet`, as the book.
    ///
    /// **Panics** (or runs out of memory) if [`Architecture::check`] fails: check what comes
    /// from a user or a file first.
    pub fn build<T: Float, R: rand::Rng + ?Sized>(
        &self,
        init: Option<WeightInit>,
        rng: &mut R,
    ) -> Box<dyn Network<T>> {
        match self.clone() {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                let init = init.unwrap_or(WeightInit::Std(0.01));
                Box::new(TwoLayerNet::with_init(input_size, hidden_size, output_size, init, rng))
            }
            Architecture::Mlp {
                input_size,
                hidden_size_list,
                output_size,
                activation,
                head,
                batch_norm,
                dropout,
            } => {
                let config = MultiLayerNetConfig {
                    input_size,
                    hidden_size_list,
                    output_size,
                    activation,
                    head,
                    weight_init: init,
                    use_batchnorm: batch_norm,
                    dropout,
                };
                Box::new(MultiLayerNet::new(&config, rng))
            }
            Architecture::SimpleConvnet {
                input_dim,
                filter_num,
                filter_size,
                pad,
                stride,
                hidden_size,
                output_size,
            } => {
                let defaults = SimpleConvNetConfig::default();
                let config = SimpleConvNetConfig {
                    input_dim,
                    filter_num,
                    filter_size,
                    pad,
                    stride,
                    hidden_size,
                    output_size,
                    weight_init: init.unwrap_or(defaults.weight_init),
                };
                Box::new(SimpleConvNet::new(&config, rng))
            }
            Architecture::DeepConvnet { input_dim, hidden_size, output_size, dropout, batch_norm } => {
                let config = DeepConvNetConfig {
                    input_dim,
                    hidden_size,
                    output_size,
                    dropout,
                    batch_norm,
                    weight_init: init.unwrap_or(WeightInit::He),
                };
                Box::new(DeepConvNet::new(&config, rng))
            }
        }
    }

    /// The book's `SimpleConvNet` for samples of `input_dim` and `classes` classes.
    pub fn simple_convnet(input_dim: [usize; 3], classes: usize) -> Architecture {
        SimpleConvNetConfig { input_dim, output_size: classes, ..Default::default() }.architecture()
    }

    /// The book's `DeepConvNet` for samples of `input_dim` and `classes` classes, with
    /// `dropout` (the book's: 0.5) and optionally batch normalisation.
    pub fn deep_convnet(
        input_dim: [usize; 3],
        classes: usize,
        dropout: Option<DropoutConfig>,
        batch_norm: bool,
    ) -> Architecture {
        DeepConvNetConfig { input_dim, output_size: classes, dropout, batch_norm, ..Default::default() }
            .architecture()
    }

    /// The book's DeepConvNet dropout: 0.5, inverted.
    pub fn deep_convnet_dropout() -> Option<DropoutConfig> {
        DeepConvNetConfig::default().dropout
    }

    /// A short description for people: `TwoLayerNet 784-50-10 (ReLU)`.
    pub fn describe(&self) -> String {
        match self {
            Architecture::TwoLayer { input_size, hidden_size, output_size } => {
                format!("TwoLayerNet {input_size}-{hidden_size}-{output_size} (ReLU)")
            }
            Architecture::Mlp {
                input_size,
                hidden_size_list,
                output_size,
                activation,
                head,
                batch_norm,
                dropout,
            } => {
                let sizes: Vec<String> = std::iter::once(input_size)
                    .chain(hidden_size_list)
                    .chain(std::iter::once(output_size))
                    .map(|s| s.to_string())
                    .collect();
                let mut extras = vec![activation.describe().to_string()];
                if *batch_norm {
                    extras.push("batch norm".into());
                }
                if let Some(d) = dropout {
                    extras.push(format!("dropout {}", d.ratio));
                }
                extras.push(head.describe().into());
                format!("MultiLayerNet {} ({})", sizes.join("-"), extras.join(", "))
            }
            Architecture::SimpleConvnet {
                input_dim,
                filter_num,
                filter_size,
                hidden_size,
                output_size,
                ..
            } => {
                let [c, h, w] = input_dim;
                format!(
                    "SimpleConvNet {c}x{h}x{w} - conv {filter_num}x{filter_size}x{filter_size} - {hidden_size} - {output_size}"
                )
            }
            Architecture::DeepConvnet { input_dim, hidden_size, output_size, dropout, batch_norm } => {
                let [c, h, w] = input_dim;
                let mut extras = Vec::new();
                if *batch_norm {
                    extras.push("batch norm".to_string());
                }
                match dropout {
                    Some(d) => extras.push(format!("dropout {} ({:?})", d.ratio, d.mode).to_lowercase()),
                    None => extras.push("no dropout".into()),
                }
                format!(
                    "DeepConvNet {c}x{h}x{w} - 6 conv - {hidden_size} - {output_size} ({})",
                    extras.join(", ")
                )
            }
        }
    }

    /// The number of outputs: classes for a classifier.
    pub fn output_size(&self) -> usize {
        match self {
            Architecture::TwoLayer { output_size, .. }
            | Architecture::Mlp { output_size, .. }
            | Architecture::SimpleConvnet { output_size, .. }
            | Architecture::DeepConvnet { output_size, .. } => *output_size,
        }
    }

    /// Whether the output is a softmax over classes (so [`crate::nets::Trainable::probabilities`]
    /// gives probabilities), rather than a regression's values.
    pub fn is_classifier(&self) -> bool {
        match self {
            Architecture::TwoLayer { .. }
            | Architecture::SimpleConvnet { .. }
            | Architecture::DeepConvnet { .. } => true,
            Architecture::Mlp { head, .. } => *head == Head::SoftmaxCrossEntropy,
        }
    }

    /// The shape of one input sample.
    pub fn input_shape(&self) -> Vec<usize> {
        match self {
            Architecture::TwoLayer { input_size, .. } | Architecture::Mlp { input_size, .. } => {
                vec![*input_size]
            }
            Architecture::SimpleConvnet { input_dim, .. } | Architecture::DeepConvnet { input_dim, .. } => {
                input_dim.to_vec()
            }
        }
    }
}

/// [`crate::layers::im2col::output_size`], or `None` where the filter does not fit, the
/// stride is 0 or the sizes overflow.
pub(super) fn conv_output(size: usize, filter: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = size.checked_add(pad.checked_mul(2)?)?;
    Some(padded.checked_sub(filter)?.checked_div(stride)? + 1)
}

fn at_least_one(sizes: &[(&str, usize)]) -> Result<()> {
    match sizes.iter().find(|(_, size)| *size == 0) {
        Some((name, _)) => Err(Error::invalid(
            "architecture",
            format!("{name} is 0: every size of a network must be at least 1"),
        )),
        None => Ok(()),
    }
}

fn check_dropout(dropout: &Option<DropoutConfig>) -> Result<()> {
    match dropout {
        Some(d) if !(0.0..1.0).contains(&d.ratio) => Err(Error::invalid(
            "architecture",
            format!("the dropout ratio {} is not in [0, 1); the book uses 0.15 and 0.5", d.ratio),
        )),
        _ => Ok(()),
    }
}
