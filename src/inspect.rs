//! Looking inside a trained network (chapters 7 and 8): its first layer's filters
//! (`ch07/visualize_filter.py`), what they make of a picture (`ch07/apply_filter.py`), the
//! test images it gets wrong (`ch08/misclassified_mnist.py`), and its accuracy with weights
//! rounded to 16 bits (`ch08/half_float_network.py`).

use ndarray::{Array1, Array2, Array4, ArrayD, Axis, Ix4};

use crate::data::Dataset;
use crate::error::{Result, shape_str};
use crate::layers::{Convolution, Layer};
use crate::nets::Network;
use crate::nets::Trainable;
use crate::targets::argmax;
#[cfg(feature = "figures")]
use crate::tiles::Tile;
use crate::{Error, Float};

/// The images a batch of classification takes (the book's `batch_size = 100`).
const BATCH: usize = 100;

/// The filters of the network's first convolution: its parameter `W1`, `(FN, C, FH, FW)`.
///
/// **Errors** if the network has no `W1` of four axes (its first layer is not a convolution).
pub fn first_filters<T: Float>(network: &mut dyn Network<T>) -> Result<Array4<T>> {
    let name = network.name();
    let params = network.params();
    let w1 = params.iter().find(|p| p.name == "W1").ok_or_else(|| {
        Error::invalid("first_filters", format!("{name} has no parameter W1: it has no first layer to show"))
    })?;
    w1.value.to_owned().into_dimensionality::<Ix4>().map_err(|_| {
        Error::invalid(
            "first_filters",
            format!(
                "{name}'s W1 is {}, not filters (FN, C, FH, FW): its first layer is not a convolution; \
                 use a SimpleConvNet or DeepConvNet model",
                shape_str(w1.value.shape())
            ),
        )
    })
}

/// The first channel of each of the first `count` filters, as tiles (the book's
/// `filter_show`: `imshow(filters[i, 0], cmap=gray_r)`).
#[cfg(feature = "figures")]
pub fn filter_tiles<T: Float>(filters: &Array4<T>, count: usize) -> Vec<Tile> {
    let (_, _, fh, fw) = filters.dim();
    filters
        .outer_iter()
        .take(count)
        .map(|filter| Tile::new(filter.index_axis(Axis(0), 0).iter().map(|v| v.as_f64()).collect(), fw, fh))
        .collect()
}

/// Each of the first `count` filters (its first channel, bias 0) slid over `image` `(H, W)`
/// without padding, as `apply_filter.py` does with a `Convolution` of one filter: outputs
/// `(H - FH + 1, W - FW + 1)`.
///
/// **Errors** if the image is smaller than a filter.
pub fn apply_filters<T: Float>(
    filters: &Array4<T>,
    image: &Array2<T>,
    count: usize,
) -> Result<Vec<Array2<T>>> {
    let (_, _, fh, fw) = filters.dim();
    let (height, width) = image.dim();
    if height < fh || width < fw {
        return Err(Error::invalid(
            "apply_filter",
            format!("the picture is {width}x{height}, smaller than the {fw}x{fh} filters: use a larger one"),
        ));
    }
    let img: ArrayD<T> =
        image.clone().into_shape_with_order((1, 1, height, width)).expect("h·w values").into_dyn();
    let outputs = filters.outer_iter().take(count).map(|filter| {
        // w = network.params['W1'][i].reshape(1, C, FH, FW); the gray picture has one channel
        let w = filter.slice(ndarray::s![0..1, .., ..]).to_owned().insert_axis(Axis(0));
        let mut conv_layer = Convolution::new(w, Array1::zeros(1), 1, 0);
        let out = conv_layer.forward(img.clone(), false);
        out.into_shape_with_order((height - fh + 1, width - fw + 1)).expect("one output map")
    });
    Ok(outputs.collect())
}

/// A test image the network gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misclassified {
    /// Its index in the data set.
    pub index: usize,
    /// Its label.
    pub label: usize,
    /// The network's answer.
    pub guess: usize,
}

/// The network's answer for every image of `data`, in batches of 100 at test time
/// (`predict(x, train_flg=False)`, then `argmax`).
pub fn classify_all(network: &mut dyn Network<f32>, data: &Dataset) -> Result<Vec<usize>> {
    classify_all_with(network, data, |x| x)
}

/// [`classify_all`] with each batch of inputs passed through `transform` first.
fn classify_all_with(
    network: &mut dyn Network<f32>,
    data: &Dataset,
    transform: impl Fn(ArrayD<f32>) -> ArrayD<f32>,
) -> Result<Vec<usize>> {
    let input_shape = network.input_shape();
    let needs: usize = input_shape.iter().product();
    if needs != data.sample_size() {
        return Err(Error::shape(
            format!("{} input", network.name()),
            format!("{needs} values per image"),
            format!("images of {} values", data.sample_size()),
        ));
    }
    let mut guesses = Vec::with_capacity(data.len());
    for start in (0..data.len()).step_by(BATCH) {
        let indices: Vec<usize> = (start..(start + BATCH).min(data.len())).collect();
        let y = network.forward(transform(data.batch(&indices, &input_shape)), false)?;
        let classes = y.len() / indices.len();
        let y = y.into_shape_with_order((indices.len(), classes)).expect("scores are (N, C)");
        guesses.extend(y.rows().into_iter().map(argmax));
    }
    Ok(guesses)
}

/// The share of `guesses` that match `data`'s labels.
fn accuracy_of(guesses: &[usize], data: &Dataset) -> f64 {
    let correct = guesses.iter().zip(&data.labels).filter(|&(&g, &l)| g == l as usize).count();
    correct as f64 / data.len().max(1) as f64
}

/// The network's accuracy on `data`, and the images it gets wrong, in order.
pub fn misclassified(network: &mut dyn Network<f32>, data: &Dataset) -> Result<(f64, Vec<Misclassified>)> {
    let guesses = classify_all(network, data)?;
    let wrong = guesses
        .iter()
        .zip(&data.labels)
        .enumerate()
        .filter(|&(_, (&guess, &label))| guess != label as usize)
        .map(|(index, (&guess, &label))| Misclassified { index, label: label as usize, guess })
        .collect();
    Ok((accuracy_of(&guesses, data), wrong))
}

/// The misclassified images as tiles captioned `label → guess` (the book prints the pairs
/// as `{view index: (label, inference)}`).
#[cfg(feature = "figures")]
pub fn misclassified_tiles(data: &Dataset, wrong: &[Misclassified]) -> Vec<Tile> {
    let (rows, cols) = data.image_shape;
    wrong
        .iter()
        .map(|m| {
            let values = data.image(m.index).into_iter().map(f64::from).collect();
            Tile::new(values, cols, rows).captioned(format!("{} → {}", m.label, m.guess))
        })
        .collect()
}

/// A precision to round weights and inputs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats: as trained.
    F32,
    /// IEEE half precision (NumPy's `float16`): 11 bits of mantissa, up to 65504.
    F16,
    /// bfloat16: `f32`'s range with 8 bits of mantissa.
    Bf16,
}

impl Precision {
    /// `x` rounded to this precision (to nearest, ties to even), and back to `f32`.
    pub fn round(self, x: f32) -> f32 {
        match self {
            Precision::F32 => x,
            Precision::F16 => half::f16::from_f32(x).to_f32(),
            Precision::Bf16 => half::bf16::from_f32(x).to_f32(),
        }
    }
}

/// Rounds every value of the network's state (weights, biases, batch normalisation's
/// statistics) to `precision`, in place (the book's `param[...] = param.astype(np.float16)`).
pub fn round_weights(network: &mut dyn Network<f32>, precision: Precision) {
    for (_, mut value) in network.state() {
        value.mapv_inplace(|v| precision.round(v));
    }
}

/// The accuracy on `data` with the inputs rounded to `precision` too, as the book converts
/// `x_test` to `float16` (the sums are still taken in `f32`; NumPy takes them in `float16`).
pub fn accuracy_rounded(network: &mut dyn Network<f32>, data: &Dataset, precision: Precision) -> Result<f64> {
    let guesses = classify_all_with(network, data, |x| x.mapv(|v| precision.round(v)))?;
    Ok(accuracy_of(&guesses, data))
}

/// The book's SimpleConvNet trained (`ch07/params.pkl`, as safetensors in this repository).
pub const BOOK_SIMPLE_CONVNET: &str = "data/reference/ch07_simple_convnet.safetensors";

/// The book's DeepConvNet trained (`ch08/deep_convnet_params.pkl`, as safetensors).
pub const BOOK_DEEP_CONVNET: &str = "data/reference/ch08_deep_convnet.safetensors";

/// Loads a model file for the examples of chapters 7 and 8: as its own metadata describes
/// it, or, for the book's weights (which name no network), as `book`.
pub fn load_model_or_book(
    path: &std::path::Path,
    book: &crate::nets::Architecture,
) -> Result<crate::model_file::LoadedModel<f32>> {
    let named = crate::model_file::read_metadata(path)?.contains_key(crate::model_file::ARCHITECTURE_KEY);
    crate::model_file::load_model(path, if named { None } else { Some(book) })
}
