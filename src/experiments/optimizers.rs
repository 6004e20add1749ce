//! `optimizers`: the book's `ch06/optimizer_compare_mnist.py` (figure 6-9), and its 2-D
//! comparison `ch06/optimizer_compare_naive.py` (figure 6-8).
//!
//! On MNIST: `MultiLayerNet` 784-100×4-10 (ReLU, He), mini-batches of 128, 2000 iterations,
//! SGD (lr 0.01), Momentum (0.01, 0.9), AdaGrad (0.01), Adam (0.001, 0.9, 0.999); the loss
//! after each update, smoothed as the book smooths it. In 2-D: 30 steps on
//! `f(x, y) = x²/20 + y²` from (-7, 2) with SGD 0.95, Momentum 0.1, AdaGrad 1.5, Adam 0.3.

use ndarray::{ArrayD, IxDyn};

use super::shared::{Contender, LossCurves, Report, available_threads, race};
use crate::data::Mnist;
use crate::error::Result;
use crate::layers::Param;
use crate::nets::{MultiLayerNet, MultiLayerNetConfig, WeightInit};
use crate::optim::{Optimizer, OptimizerName};
use crate::plot::{Figure, Line, Marker, Panel, figure_png};
use crate::{WEIGHT_STREAM, rng_stream};

/// The MNIST comparison. `Default` is the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizersConfig {
    /// The hidden layers of the `MultiLayerNet` (ReLU, He initialisation).
    pub hidden_size_list: Vec<usize>,
    /// Images per mini-batch, drawn with replacement.
    pub batch_size: usize,
    /// Steps each optimizer takes.
    pub iterations: usize,
    /// The optimizers and their learning rates (their other hyperparameters are the book's).
    pub optimizers: Vec<(OptimizerName, f64)>,
    /// The seed of the weights (the same for every network) and of the batches.
    pub seed: u64,
    /// Networks trained at once.
    pub threads: usize,
}

impl Default for OptimizersConfig {
    fn default() -> Self {
        OptimizersConfig {
            hidden_size_list: vec![100; 4],
            batch_size: 128,
            iterations: 2000,
            optimizers: vec![
                (OptimizerName::Sgd, 0.01),
                (OptimizerName::Momentum, 0.01),
                (OptimizerName::AdaGrad, 0.01),
                (OptimizerName::Adam, 0.001),
            ],
            seed: 0,
            threads: available_threads(),
        }
    }
}

/// Trains one network per optimizer on the same mini-batches, from the same initial weights,
/// and records each one's loss after every update.
///
/// **Errors** if the images are not 784 pixels of 10 classes' worth of labels.
pub fn compare_optimizers(data: &Mnist, config: &OptimizersConfig) -> Result<LossCurves> {
    let net = MultiLayerNetConfig {
        input_size: data.train.sample_size(),
        hidden_size_list: config.hidden_size_list.clone(),
        output_size: data.classes,
        ..MultiLayerNetConfig::default()
    };
    let contenders = config
        .optimizers
        .iter()
        .map(|&(name, lr)| {
            let optimizer = name.build::<f32>(lr);
            Contender {
                name: optimizer.name().to_string(),
                network: Box::new(MultiLayerNet::<f32>::with_init(
                    &net,
                    WeightInit::He,
                    &mut rng_stream(config.seed, WEIGHT_STREAM),
                )),
                optimizer,
            }
        })
        .collect();
    race(contenders, &data.train, config.batch_size, config.iterations, config.seed, config.threads)
}

/// What the run prints and writes: the book's printout of the loss every 100 iterations,
/// `optimizers.png` (smoothed loss curves, loss from 0 to 1 as the book's figure),
/// `optimizers.csv`, and the 2-D comparison as `optimizers_naive.png` and `.csv`.
///
/// **Errors** if a figure cannot be drawn.
pub fn report(curves: &LossCurves) -> Result<Report> {
    let mut text = curves.printout();
    let paths = naive_paths();
    text.push_str("2-D, f(x, y) = x²/20 + y² from (-7, 2), position after 30 steps:");
    for (name, path) in &paths {
        let (x, y) = path[path.len() - 1];
        text.push_str(&format!(" {name} ({x:.3}, {y:.3}),"));
    }
    text.pop();
    text.push('\n');
    Ok(Report {
        name: "optimizers",
        text,
        files: vec![
            ("optimizers.png".into(), figure_png(&curves.figure("optimizers on MNIST", 1.0))?),
            ("optimizers.csv".into(), curves.to_csv().into_bytes()),
            ("optimizers_naive.png".into(), figure_png(&naive_figure(&paths))?),
            ("optimizers_naive.csv".into(), naive_csv(&paths).into_bytes()),
        ],
    })
}

/// `f(x, y) = x²/20 + y²`, the book's bowl stretched along x.
fn f(x: f64, y: f64) -> f64 {
    x * x / 20.0 + y * y
}

/// `∂f/∂x = x/10`, `∂f/∂y = 2y`.
fn df(x: f64, y: f64) -> (f64, f64) {
    (x / 10.0, 2.0 * y)
}

/// The 31 positions (the start, then one per step) of each optimizer of
/// `optimizer_compare_naive.py` on `f`, with the book's learning rates.
pub fn naive_paths() -> Vec<(String, Vec<(f64, f64)>)> {
    let optimizers = [
        (OptimizerName::Sgd, 0.95),
        (OptimizerName::Momentum, 0.1),
        (OptimizerName::AdaGrad, 1.5),
        (OptimizerName::Adam, 0.3),
    ];
    optimizers
        .iter()
        .map(|&(name, lr)| {
            let mut optimizer: Box<dyn Optimizer<f64>> = name.build(lr);
            let (mut x, mut y) = (ArrayD::from_elem(IxDyn(&[1]), -7.0), ArrayD::from_elem(IxDyn(&[1]), 2.0));
            let mut path = vec![(x[0], y[0])];
            for _ in 0..30 {
                let (dx, dy) = df(x[0], y[0]);
                let (mut gx, mut gy) =
                    (ArrayD::from_elem(IxDyn(&[1]), dx), ArrayD::from_elem(IxDyn(&[1]), dy));
                optimizer.update(&mut [
                    Param::new("x", x.view_mut(), gx.view_mut()),
                    Param::new("y", y.view_mut(), gy.view_mut()),
                ]);
                path.push((x[0], y[0]));
            }
            (optimizer.name().to_string(), path)
        })
        .collect()
}

/// Figure 6-8: each optimizer's path (red, a dot per step) over contours of `f`, in a 2×2 grid.
fn naive_figure(paths: &[(String, Vec<(f64, f64)>)]) -> Figure {
    let panels = paths
        .iter()
        .map(|(name, path)| {
            // the book's contour levels of f up to 7; f = c is the ellipse (√(20c) cos t, √c sin t)
            let mut panel = Panel::new(name.as_str(), -10.0..10.0, -10.0..10.0).axis_labels("x", "y");
            for level in [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] {
                let ellipse = (0..=100)
                    .map(|k| {
                        let t = k as f64 / 100.0 * std::f64::consts::TAU;
                        ((20.0f64 * level).sqrt() * t.cos(), level.sqrt() * t.sin())
                    })
                    .collect();
                panel = panel.line(Line::new("", ellipse, 7));
            }
            panel
                .line(Line::new("", path.clone(), 3).marked(Marker::Circle, 1))
                .line(Line::new("", vec![(0.0, 0.0)], 0).marked(Marker::Cross, 1))
        })
        .collect();
    Figure { size: (900, 800), columns: 2, panels }
}

/// `optimizer,step,x,y,f`.
fn naive_csv(paths: &[(String, Vec<(f64, f64)>)]) -> String {
    let mut csv = String::from("optimizer,step,x,y,f\n");
    for (name, path) in paths {
        for (step, &(x, y)) in path.iter().enumerate() {
            csv.push_str(&format!("{name},{step},{x},{y},{}\n", f(x, y)));
        }
    }
    csv
}
