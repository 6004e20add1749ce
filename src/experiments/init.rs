//! `init`: the book's `ch06/weight_init_compare.py` (figure 6-15), and the activation
//! histograms of `ch06/weight_init_activation_histogram.py` (figures 6-10, 6-11, 6-13).
//!
//! On MNIST: `MultiLayerNet` 784-100×4-10 with ReLU, weights drawn with std 0.01, Xavier's
//! `√(1/n)` or He's `√(2/n)`, SGD lr 0.01, mini-batches of 128, 2000 iterations. The
//! histograms: 1000 inputs of 100 values N(0, 1) through 5 sigmoid layers of 100 without
//! biases, weights N(0, 1), N(0, 0.01²) and Xavier; each layer's activations in 30 bins
//! over (0, 1).

use ndarray::Array2;

use super::shared::{Contender, LossCurves, Report, available_threads, race};
use crate::data::Mnist;
use crate::error::Result;
use crate::functions::sigmoid;
use crate::matmul;
use crate::nets::{MultiLayerNet, MultiLayerNetConfig, WeightInit, gaussian};
use crate::optim::OptimizerName;
use crate::plot::{Bar, Figure, Panel, figure_png};
use crate::{WEIGHT_STREAM, rng_stream};

/// The MNIST comparison. `Default` is the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct InitConfig {
    /// The hidden layers of the `MultiLayerNet` (ReLU).
    pub hidden_size_list: Vec<usize>,
    /// The initialisations compared, with their names in the figure.
    pub inits: Vec<(String, WeightInit)>,
    /// SGD's learning rate.
    pub lr: f64,
    /// Images per mini-batch, drawn with replacement.
    pub batch_size: usize,
    /// Steps each network takes.
    pub iterations: usize,
    /// The seed of the weights and the batches. Every network scales the same standard
    /// normal draws, so that only the scale differs.
    pub seed: u64,
    /// Networks trained at once.
    pub threads: usize,
}

impl Default for InitConfig {
    fn default() -> Self {
        InitConfig {
            hidden_size_list: vec![100; 4],
            inits: vec![
                ("std=0.01".into(), WeightInit::Std(0.01)),
                ("Xavier".into(), WeightInit::Xavier),
                ("He".into(), WeightInit::He),
            ],
            lr: 0.01,
            batch_size: 128,
            iterations: 2000,
            seed: 0,
            threads: available_threads(),
        }
    }
}

/// Trains one network per initialisation with SGD on the same mini-batches, and records each
/// one's loss after every update.
///
/// **Errors** if a network does not take the images.
pub fn compare_inits(data: &Mnist, config: &InitConfig) -> Result<LossCurves> {
    let contenders = config
        .inits
        .iter()
        .map(|(name, init)| {
            let net = MultiLayerNetConfig {
                input_size: data.train.sample_size(),
                hidden_size_list: config.hidden_size_list.clone(),
                output_size: data.classes,
                ..MultiLayerNetConfig::default()
            };
            Contender {
                name: name.clone(),
                network: Box::new(MultiLayerNet::<f32>::with_init(
                    &net,
                    *init,
                    &mut rng_stream(config.seed, WEIGHT_STREAM),
                )),
                optimizer: OptimizerName::Sgd.build(config.lr),
            }
        })
        .collect();
    race(contenders, &data.train, config.batch_size, config.iterations, config.seed, config.threads)
}

/// The activations of each of 5 sigmoid layers for one initialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    /// The name: `std=1`, `std=0.01`, `Xavier`.
    pub name: String,
    /// Each layer's activations, `(1000, 100)`.
    pub layers: Vec<Array2<f64>>,
}

/// `weight_init_activation_histogram.py` for weights N(0, 1), N(0, 0.01²) and Xavier:
/// 1000 inputs of 100 values N(0, 1) (the same for all three), 5 layers of 100 sigmoid units.
pub fn activation_histograms(seed: u64) -> Vec<Activations> {
    let (node_num, hidden_layer_size) = (100, 5);
    let x: Array2<f64> = gaussian(1000, node_num, 1.0, &mut rng_stream(seed, WEIGHT_STREAM));
    [("std=1", WeightInit::Std(1.0)), ("std=0.01", WeightInit::Std(0.01)), ("Xavier", WeightInit::Xavier)]
        .into_iter()
        .map(|(name, init)| {
            let mut weights = rng_stream(seed, 2); // the same draws for each, scaled by its std
            let mut layers: Vec<Array2<f64>> = Vec::new();
            for _ in 0..hidden_layer_size {
                let input = layers.last().unwrap_or(&x);
                let w = gaussian(node_num, node_num, init.std(node_num), &mut weights);
                // a = np.dot(x, w); z = sigmoid(a)
                layers.push(sigmoid(&matmul(input.view(), w.view())));
            }
            Activations { name: name.into(), layers }
        })
        .collect()
}

/// The book's `plt.hist(a.flatten(), 30, range=(0,1))`: counts in 30 equal bins over [0, 1].
pub fn histogram(a: &Array2<f64>) -> [usize; 30] {
    let mut counts = [0; 30];
    for &v in a.iter().filter(|v| (0.0..=1.0).contains(*v)) {
        counts[((v * 30.0) as usize).min(29)] += 1;
    }
    counts
}

/// The standard deviation of all of `a`'s values: how spread the activations are.
fn spread(a: &Array2<f64>) -> f64 {
    a.std(0.0)
}

/// What the run prints and writes: the loss every 100 iterations, `init.png` (smoothed loss,
/// 0 to 2.5 as the book), `init.csv`, and the histograms as `init_activations.png` and `.csv`.
///
/// **Errors** if a figure cannot be drawn.
pub fn report(curves: &LossCurves, activations: &[Activations]) -> Result<Report> {
    let mut text = curves.printout();
    text.push_str("sigmoid activations of 5 layers (1000 N(0,1) inputs): std of each layer's values\n");
    for a in activations {
        let spreads: Vec<String> = a.layers.iter().map(|l| format!("{:.3}", spread(l))).collect();
        let ends = a.layers.last().map_or(0.0, |l| {
            l.iter().filter(|&&v| !(0.05..=0.95).contains(&v)).count() as f64 / l.len() as f64
        });
        text.push_str(&format!(
            "  {:<9} {}  (layer 5: {:.0}% of values below 0.05 or above 0.95)\n",
            a.name,
            spreads.join(" "),
            100.0 * ends
        ));
    }
    Ok(Report {
        name: "init",
        text,
        files: vec![
            ("init.png".into(), figure_png(&curves.figure("weight initialisation on MNIST", 2.5))?),
            ("init.csv".into(), curves.to_csv().into_bytes()),
            ("init_activations.png".into(), figure_png(&histogram_figure(activations))?),
            ("init_activations.csv".into(), histogram_csv(activations).into_bytes()),
        ],
    })
}

/// One row per initialisation, one panel per layer, as the book's three figures.
fn histogram_figure(activations: &[Activations]) -> Figure {
    let mut panels = Vec::new();
    for (k, a) in activations.iter().enumerate() {
        let counts: Vec<[usize; 30]> = a.layers.iter().map(histogram).collect();
        let top = counts.iter().flatten().copied().max().unwrap_or(1) as f64 * 1.05;
        for (i, layer) in counts.iter().enumerate() {
            let bars = layer
                .iter()
                .enumerate()
                .map(|(b, &c)| Bar { x: b as f64 / 30.0..(b + 1) as f64 / 30.0, height: c as f64, color: k })
                .collect();
            let mut panel =
                Panel { bars, ..Panel::new(format!("{} {}-layer", a.name, i + 1), 0.0..1.0, 0.0..top) };
            if i > 0 {
                panel = panel.without_tick_labels();
            }
            panels.push(panel);
        }
    }
    Figure { size: (1500, 900), columns: 5, panels }
}

/// `init,layer,bin_start,bin_end,count`.
fn histogram_csv(activations: &[Activations]) -> String {
    let mut csv = String::from("init,layer,bin_start,bin_end,count\n");
    for a in activations {
        for (i, layer) in a.layers.iter().enumerate() {
            for (b, count) in histogram(layer).iter().enumerate() {
                csv.push_str(&format!(
                    "{},{},{},{},{count}\n",
                    a.name,
                    i + 1,
                    b as f64 / 30.0,
                    (b + 1) as f64 / 30.0
                ));
            }
        }
    }
    csv
}
