//! Each optimizer against the book's own code (and AdamW against PyTorch's): three steps on
//! the quadratic 0.5·|p - target|², whose gradient is p - target, from the same start.
//!
//! The reference numbers come from this script (the book's `common/optimizer.py`, condensed,
//! and `torch.optim.AdamW`), run with NumPy 2 and PyTorch 2.15 in float64:
//!
//! ```python
//! def run(opt):
//!     params = {"W1": np.array([[1.0, -2.0], [0.5, 3.0]]), "b1": np.array([0.25, -0.75])}
//!     target = {"W1": np.array([[0.0, 1.0], [-1.0, 2.0]]), "b1": np.array([1.0, 0.0])}
//!     for _ in range(3):
//!         grads = {k: params[k] - target[k] for k in params}
//!         opt.update(params, grads)
//!     return params["W1"].ravel().tolist() + params["b1"].tolist()
//! # SGD(0.1), Momentum(), Nesterov(), AdaGrad(), RMSprop(), Adam(): the book's defaults
//! # AdamW: torch.optim.AdamW([{"params": [W], "weight_decay": 0.01},
//! #                           {"params": [b], "weight_decay": 0.0}], lr=0.001)
//! ```

use mitbadak::layers::Param;
use mitbadak::optim::*;
use ndarray::{ArrayD, array};

fn run(optimizer: &mut dyn Optimizer<f64>) -> Vec<f64> {
    let mut w = array![[1.0, -2.0], [0.5, 3.0]].into_dyn();
    let mut b = array![0.25, -0.75].into_dyn();
    let (target_w, target_b) = (array![[0.0, 1.0], [-1.0, 2.0]].into_dyn(), array![1.0, 0.0].into_dyn());
    for _ in 0..3 {
        let (mut dw, mut db): (ArrayD<f64>, ArrayD<f64>) = (&w - &target_w, &b - &target_b);
        let mut params = vec![
            Param::new("W1", w.view_mut(), dw.view_mut()),
            Param::new("b1", b.view_mut(), db.view_mut()),
        ];
        optimizer.update(&mut params);
    }
    w.iter().chain(b.iter()).copied().collect()
}

fn assert_matches(name: &str, got: Vec<f64>, want: [f64; 6]) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{name}: got {got:?}, the reference gives {want:?}");
    }
}

#[test]
fn sgd_momentum_and_nesterov_match_the_book() {
    assert_matches("SGD", run(&mut Sgd::new(0.1)), [0.729, -1.187, 0.0935, 2.729, 0.45325, -0.54675]);
    assert_matches(
        "Momentum",
        run(&mut Momentum::default()),
        [0.944379, -1.833137, 0.4165685, 2.944379, 0.29171575, -0.70828425],
    );
    assert_matches(
        "Nesterov",
        run(&mut Nesterov::default()),
        [
            0.900137445489,
            -1.700412336467,
            0.3502061682335,
            2.900137445489,
            0.32489691588325,
            -0.67510308411675,
        ],
    );
}

#[test]
fn adagrad_rmsprop_and_adam_match_the_book() {
    assert_matches(
        "AdaGrad",
        run(&mut AdaGrad::default()),
        [
            0.977237941315679,
            -1.97718277918259,
            0.477210282888501,
            2.97723794131568,
            0.272734244837859,
            -0.727265755162141,
        ],
    );
    assert_matches(
        "RMSprop",
        run(&mut RmsProp::default()),
        [
            0.779982439279168,
            -1.77388862682401,
            0.276851612167268,
            2.77998243927917,
            0.466713164310388,
            -0.533286835689612,
        ],
    );
    assert_matches(
        "Adam",
        run(&mut Adam::default()),
        [
            0.997000103278165,
            -1.99700003430527,
            0.497000068731268,
            2.99700010327817,
            0.25299986205385,
            -0.74700013794615,
        ],
    );
}

#[test]
fn adamw_matches_pytorch_and_leaves_biases_undecayed() {
    assert_matches(
        "AdamW",
        run(&mut AdamW::default()),
        [
            0.996970127345402,
            -1.99694006314533,
            0.496985094403397,
            2.99691012987768,
            0.252999871652298,
            -0.747000128347702,
        ],
    );
}

#[test]
fn every_optimizer_by_name_descends_and_takes_its_learning_rate() {
    for name in OptimizerName::ALL {
        let mut optimizer = name.build::<f64>(name.default_learning_rate());
        let after = run(optimizer.as_mut());
        let distance = |p: &[f64]| {
            let target = [0.0, 1.0, -1.0, 2.0, 1.0, 0.0];
            p.iter().zip(target).map(|(a, t)| (a - t).powi(2)).sum::<f64>()
        };
        assert!(
            distance(&after) < distance(&[1.0, -2.0, 0.5, 3.0, 0.25, -0.75]),
            "{} did not descend",
            optimizer.name()
        );
        optimizer.set_learning_rate(0.5);
        assert_eq!(optimizer.learning_rate(), 0.5);
    }
}

#[test]
fn schedules_give_the_expected_factors() {
    let step = Schedule::Step { every: 100, gamma: 0.5 };
    assert_eq!((step.factor(0), step.factor(99), step.factor(100), step.factor(250)), (1.0, 1.0, 0.5, 0.25));
    let cosine = Schedule::Cosine { total: 1000 };
    assert_eq!(cosine.factor(0), 1.0);
    assert!((cosine.factor(250) - 0.8535533905932737).abs() < 1e-15);
    assert!(cosine.factor(1000).abs() < 1e-15 && cosine.factor(2000).abs() < 1e-15);
    assert_eq!(Schedule::Constant.factor(12345), 1.0);
}
