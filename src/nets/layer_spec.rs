//! Each network described once: the list of its layers with their shapes
//! (`Architecture::layers`, each network's in its own file), from which the network is built
//! ([`build_layers`]) and what it costs is counted before it is built: its state
//! (`Architecture::check`), and the memory of a pass (`memory_cost.rs`). A test builds every
//! kind of network and holds its layers and its state to the list.
//!
//! ```text
//! layer                      state values          activations per sample (upper estimate)
//! Affine a -> b              a·b + b               8·b   its output and gradient, and the activation,
//!                                                        batch norm and dropout after it with their masks
//! Convolution (c,h,w) -> (f,oh,ow), k x k
//!                            f·c·k² + f            c·h·w + 4·f·oh·ow   the kept input, outputs, the
//!                                                        ReLU after it, gradients
//! Pooling -> (c,oh,ow)       0                     3·c·oh·ow
//! BatchNormalization of n    4·n (γ, β, running mean and variance)
//! Relu, Sigmoid, Dropout     0                     (counted with the layer before)
//! ```
//!
//! plus the network's input when its first layer is affine (a convolution keeps its own), and
//! once per core, whatever the batch, a convolution's columns of one image: `c·k²·oh·ow`.

use ndarray::{Array1, ArrayD};

use super::{DropoutConfig, WeightInit, gaussian_array};
use crate::layers::{Affine, BatchNormalization, Convolution, Dropout, Layer, Pooling, Relu, Sigmoid};
use crate::{Error, Float, Result};

/// One layer of a network, with the shapes it maps: [`super::Architecture::layers`] lists them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerSpec {
    /// [`crate::layers::Affine`]: `x (N, input) · W (input, output) + b (output,)`.
    Affine {
        /// Values in.
        input: usize,
        /// Values out.
        output: usize,
    },
    /// [`crate::layers::Convolution`] of `FN` filters `size`x`size`.
    Convolution {
        /// `(C, H, W)` in.
        input: [usize; 3],
        /// `(FN, OH, OW)` out.
        output: [usize; 3],
        /// The filters' side.
        size: usize,
        /// The step between windows.
        stride: usize,
        /// Zeros around the input.
        pad: usize,
    },
    /// [`crate::layers::Pooling`], 2x2 max with stride 2.
    Pooling {
        /// `(C, OH, OW)` out.
        output: [usize; 3],
    },
    /// [`crate::layers::BatchNormalization`] over `features` values.
    BatchNormalization {
        /// Values normalised (per sample, or channels after a convolution).
        features: usize,
    },
    /// [`crate::layers::Relu`].
    Relu,
    /// [`crate::layers::Sigmoid`].
    Sigmoid,
    /// [`crate::layers::Dropout`] of a ratio and mode.
    Dropout(DropoutConfig),
}

impl LayerSpec {
    /// The layer's name, as its [`crate::layers::Layer::name`] says.
    pub fn name(&self) -> &'static str {
        match self {
            LayerSpec::Affine { .. } => "Affine",
            LayerSpec::Convolution { .. } => "Convolution",
            LayerSpec::Pooling { .. } => "Pooling",
            LayerSpec::BatchNormalization { .. } => "BatchNormalization",
            LayerSpec::Relu => "Relu",
            LayerSpec::Sigmoid => "Sigmoid",
            LayerSpec::Dropout(_) => "Dropout",
        }
    }

    /// The values in the layer's state (parameters, and batch normalisation's statistics),
    /// or `None` when the count overflows.
    pub fn state_values(&self) -> Option<usize> {
        match *self {
            LayerSpec::Affine { input, output } => input.checked_mul(output)?.checked_add(output),
            LayerSpec::Convolution { input: [c, _, _], output: [f, _, _], size, .. } => {
                f.checked_mul(c)?.checked_mul(size.checked_mul(size)?)?.checked_add(f)
            }
            LayerSpec::BatchNormalization { features } => features.checked_mul(4),
            LayerSpec::Pooling { .. } | LayerSpec::Relu | LayerSpec::Sigmoid | LayerSpec::Dropout(_) => {
                Some(0)
            }
        }
    }

    /// The `f32` values the layer's activations of one sample take in a forward and backward
    /// pass (an upper estimate; see the module's table), or `None` when the count overflows.
    pub fn activation_values(&self) -> Option<u64> {
        match *self {
            LayerSpec::Affine { output, .. } => (output as u64).checked_mul(8),
            LayerSpec::Convolution { input, output: [f, oh, ow], .. } => {
                let positions = (oh as u64).checked_mul(ow as u64)?;
                volume(input)?.checked_add(positions.checked_mul(4)?.checked_mul(f as u64)?)
            }
            LayerSpec::Pooling { output } => volume(output)?.checked_mul(3),
            LayerSpec::BatchNormalization { .. }
            | LayerSpec::Relu
            | LayerSpec::Sigmoid
            | LayerSpec::Dropout(_) => Some(0),
        }
    }

    /// The shape of the layer's weights `W` and the length of its bias `b`, for the layers
    /// with weights: `(input, output)` and `output` for [`LayerSpec::Affine`], `(FN, C, size,
    /// size)` and `FN` for a convolution.
    pub fn weight_shape(&self) -> Option<(Vec<usize>, usize)> {
        match *self {
            LayerSpec::Affine { input, output } => Some((vec![input, output], output)),
            LayerSpec::Convolution { input: [c, _, _], output: [f, _, _], size, .. } => {
                Some((vec![f, c, size, size], f))
            }
            _ => None,
        }
    }

    /// The `f32` values of the layer's columns of one image (a convolution's `c·k²·oh·ow`; 0
    /// for the others), or `None` when the count overflows.
    pub fn column_values(&self) -> Option<u64> {
        match *self {
            LayerSpec::Convolution { input: [c, _, _], output: [_, oh, ow], size, .. } => (oh as u64)
                .checked_mul(ow as u64)?
                .checked_mul(c as u64)?
                .checked_mul((size as u64).checked_mul(size as u64)?),
            _ => Some(0),
        }
    }
}

/// Fresh weights for `layers`, one `(W, b)` for each layer with weights, in order: `W` drawn
/// from `N(0, std²)` with `init`'s std for the layer's fan-in (the book's
/// `weight_init_std * np.random.randn(...)`), `b` zero.
pub fn draw_weights<T: Float, R: rand::Rng + ?Sized>(
    layers: &[LayerSpec],
    init: WeightInit,
    rng: &mut R,
) -> Vec<(ArrayD<T>, Array1<T>)> {
    let shapes = layers.iter().filter_map(LayerSpec::weight_shape);
    shapes
        .map(|(shape, outputs)| {
            // the fan-in: the values each output is computed from (`input`, or `C·size²`)
            let fan_in = shape.iter().product::<usize>() / outputs;
            (gaussian_array(&shape, init.std(fan_in), rng), Array1::zeros(outputs))
        })
        .collect()
}

/// The layers `specs` describe, with `weights` (one `(W, b)` for each layer with weights, in
/// order): the k-th dropout layer (from 0) draws its masks from the seed `dropout_seed + k`.
///
/// **Panics** if the weights are not one pair of the described shape for each layer with
/// weights: [`check_weight_chain`](super::check_weight_chain) checks weights from elsewhere.
pub fn build_layers<T: Float>(
    specs: &[LayerSpec],
    weights: Vec<(ArrayD<T>, Array1<T>)>,
    dropout_seed: u64,
) -> Vec<Box<dyn Layer<T>>> {
    let mut weights = weights.into_iter();
    let mut dropouts = 0;
    let mut next_weights = |spec: &LayerSpec| {
        let (shape, outputs) = spec.weight_shape().expect("a layer with weights");
        let (w, b) = weights.next().expect("weights for each layer with weights");
        assert_eq!((w.shape(), b.len()), (&shape[..], outputs), "the weights of {spec:?}");
        (w, b)
    };
    // a convolution runs the ReLU after it, and the pooling after that, in its own passes
    // (Convolution::with_relu, with_relu_and_pooling); those layers then pass values through
    let names: Vec<&str> = specs.iter().map(LayerSpec::name).collect();
    // the names of the n layers right after layer i, and right before it
    let after = |i: usize, n: usize| names.get(i + 1..i + 1 + n);
    let before = |i: usize, n: usize| i.checked_sub(n).map(|first| &names[first..i]);
    let layers = specs.iter().enumerate().map(|(i, spec)| -> Box<dyn Layer<T>> {
        match *spec {
            LayerSpec::Affine { .. } => {
                let (w, b) = next_weights(spec);
                Box::new(Affine::new(w.into_dimensionality().expect("checked above"), b))
            }
            LayerSpec::Convolution { stride, pad, .. } => {
                let (w, b) = next_weights(spec);
                let convolution =
                    Convolution::new(w.into_dimensionality().expect("checked above"), b, stride, pad);
                Box::new(match (after(i, 2), after(i, 1)) {
                    (Some(["Relu", "Pooling"]), _) => convolution.with_relu_and_pooling(),
                    (_, Some(["Relu"])) => convolution.with_relu(),
                    _ => convolution,
                })
            }
            LayerSpec::Pooling { .. } if before(i, 2) == Some(&["Convolution", "Relu"]) => {
                Box::new(Pooling::done_before())
            }
            LayerSpec::Pooling { .. } => Box::new(Pooling::max_2x2()),
            LayerSpec::BatchNormalization { features } => Box::new(BatchNormalization::new(features)),
            LayerSpec::Relu if before(i, 1) == Some(&["Convolution"]) => Box::new(Relu::done_before()),
            LayerSpec::Relu => Box::new(Relu::new()),
            LayerSpec::Sigmoid => Box::new(Sigmoid::new()),
            LayerSpec::Dropout(d) => {
                dropouts += 1;
                Box::new(Dropout::new(d.ratio, d.mode, dropout_seed.wrapping_add(dropouts - 1)))
            }
        }
    });
    let layers: Vec<_> = layers.collect();
    assert!(weights.next().is_none(), "more weights than layers with weights");
    layers
}

/// Checks that no size of a network is 0.
pub(super) fn at_least_one(sizes: &[(&str, usize)]) -> Result<()> {
    match sizes.iter().find(|(_, size)| *size == 0) {
        Some((name, _)) => Err(Error::invalid(
            "architecture",
            format!("{name} is 0: every size of a network must be at least 1"),
        )),
        None => Ok(()),
    }
}

/// Checks that a dropout ratio is in [0, 1).
pub(super) fn check_dropout(dropout: &Option<DropoutConfig>) -> Result<()> {
    match dropout {
        Some(d) if !(0.0..1.0).contains(&d.ratio) => Err(Error::invalid(
            "architecture",
            format!("the dropout ratio {} is not in [0, 1); the book uses 0.15 and 0.5", d.ratio),
        )),
        _ => Ok(()),
    }
}

/// [`crate::layers::im2col::output_size`], or `None` where the filter does not fit, the
/// stride is 0 or the sizes overflow.
pub(super) fn conv_output(size: usize, filter: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = size.checked_add(pad.checked_mul(2)?)?;
    Some(padded.checked_sub(filter)?.checked_div(stride)? + 1)
}

/// The error of a network `described` of `values` values (`None`: more than 2^64), more than
/// [`super::architecture::MAX_STATE_VALUES`].
pub(super) fn too_large(described: &str, values: Option<usize>) -> Error {
    Error::invalid(
        "architecture",
        format!(
            "{described} holds {} values; mitbadak builds networks of at most 2^30 values (4 GiB as f32)",
            values.map_or("more than 2^64".to_string(), |n| n.to_string())
        ),
    )
}

/// `c·h·w`, or `None` when it overflows.
fn volume([c, h, w]: [usize; 3]) -> Option<u64> {
    (c as u64).checked_mul(h as u64)?.checked_mul(w as u64)
}

/// The values in the state of a network of `layers`, or `None` when the count overflows.
pub fn state_values(layers: &[LayerSpec]) -> Option<usize> {
    layers.iter().try_fold(0usize, |sum, layer| sum.checked_add(layer.state_values()?))
}

/// The `f32` values the activations of one sample take in a network of `layers` taking
/// `input` values a sample, or `None` when the count overflows.
pub fn activation_values(input: usize, layers: &[LayerSpec]) -> Option<u64> {
    // an affine first layer shares its input with the caller; a convolution counts its own
    let kept_input = match layers.first() {
        Some(LayerSpec::Affine { .. }) => input as u64,
        _ => 0,
    };
    layers.iter().try_fold(kept_input, |sum, layer| sum.checked_add(layer.activation_values()?))
}

/// The largest columns of one image in a network of `layers`, or `None` when the count
/// overflows.
pub fn largest_columns(layers: &[LayerSpec]) -> Option<u64> {
    layers.iter().try_fold(0u64, |largest, layer| Some(largest.max(layer.column_values()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::DropoutMode;
    use crate::nets::{
        Activation, Architecture, DropoutConfig, Head, MultiLayerNetConfig, SimpleConvNetConfig, Trainable,
    };

    /// A network of each kind and option: the book's, and others.
    fn networks() -> Vec<Architecture> {
        let dropout = Some(DropoutConfig { ratio: 0.15, mode: DropoutMode::Book });
        let mlp = |activation, head, batch_norm, dropout| {
            Architecture::Mlp(MultiLayerNetConfig {
                input_size: 7,
                hidden_size_list: vec![5, 4, 3],
                output_size: 2,
                activation,
                head,
                use_batchnorm: batch_norm,
                dropout,
            })
        };
        vec![
            Architecture::two_layer(784, 50, 10),
            mlp(Activation::Relu, Head::SoftmaxCrossEntropy, false, None),
            mlp(Activation::Sigmoid, Head::SigmoidMse, true, dropout),
            mlp(Activation::Relu, Head::IdentityMse, true, None),
            Architecture::ch03_sample_network(),
            Architecture::simple_convnet([1, 28, 28], 10),
            SimpleConvNetConfig { input_dim: [3, 11, 9], pad: 2, stride: 2, ..Default::default() }
                .architecture(),
            Architecture::deep_convnet([1, 28, 28], 10, Architecture::deep_convnet_dropout(), false),
            Architecture::deep_convnet([2, 9, 13], 3, None, true),
        ]
    }

    #[test]
    fn every_network_is_built_as_its_description_says() {
        for architecture in networks() {
            let layers = architecture.layers().unwrap();
            let mut network = architecture.build::<f32, _>(None, &mut crate::seeded_rng(0));
            let (built, _) = network.layers();
            let names: Vec<&str> = built.iter().map(|layer| layer.name()).collect();
            let described: Vec<&str> = layers.iter().map(LayerSpec::name).collect();
            assert_eq!(names, described, "{}", architecture.describe());
            for (layer, spec) in built.iter_mut().zip(&layers) {
                let held: usize = layer.state().iter().map(|(_, values)| values.len()).sum();
                assert_eq!(Some(held), spec.state_values(), "{spec:?} of {}", architecture.describe());
            }
            let held: usize = network.state().iter().map(|(_, values)| values.len()).sum();
            assert_eq!(architecture.check().unwrap(), held, "{}", architecture.describe());
        }
    }

    #[test]
    fn the_book_s_deep_conv_net_is_counted_layer_by_layer() {
        let deep = Architecture::deep_convnet([1, 28, 28], 10, None, false);
        let layers = deep.layers().unwrap();
        // conv 16 · conv 16 · pool 14 · conv 32 · conv 32 (pad 2) · pool 8 · conv 64 · conv 64 · pool 4
        assert_eq!(layers[4], LayerSpec::Pooling { output: [16, 14, 14] });
        assert_eq!(
            layers[7],
            LayerSpec::Convolution { input: [32, 14, 14], output: [32, 16, 16], size: 3, stride: 1, pad: 2 }
        );
        assert_eq!(layers[15], LayerSpec::Affine { input: 64 * 4 * 4, output: 50 });
        let weights = 16 * 9 + 16 * 16 * 9 + 16 * 32 * 9 + 32 * 32 * 9 + 32 * 64 * 9 + 64 * 64 * 9;
        let biases = 16 + 16 + 32 + 32 + 64 + 64;
        assert_eq!(deep.check().unwrap(), weights + biases + 1024 * 50 + 50 + 50 * 10 + 10);
        // the largest columns: the second convolution's, 16 channels of 3x3 at 28x28 positions
        assert_eq!(largest_columns(&layers), Some(16 * 9 * 28 * 28));
    }
}
