//! Each optimizer against the book's own code (and AdamW against PyTorch's), two ways:
//!
//! - three steps on the quadratic 0.5·|p - target|², whose gradient is p - target, from the
//!   same start;
//! - ten steps on a fixed sequence of gradients, `g[k][i] = ((k + 1)(i + 2) mod 7 - 3) / 4`
//!   (every one exact in `f32`), in `f64` against the book's formula to 1e-12, and in `f32`
//!   against the same travel to 2e-6 of it: an update rule that is not the book's (Nesterov
//!   moving with the new velocity), or a constant rounded in `f32` (Adam's `1 - β2`), fails.
//!
//! The reference numbers come from the book's `common/optimizer.py` update rules, written out
//! element by element in Python floats (f64), and `torch.optim.AdamW` (PyTorch 2.15):
//!
//! ```python
//! # the book's update of one element; s holds its v, h, m between steps
//! nesterov: w += m*m*v; w -= (1 + m)*lr*g; v = m*v - lr*g
//! momentum: v = m*v - lr*g; w += v
//! adagrad:  h += g*g; w -= lr*g / (sqrt(h) + 1e-7)
//! rmsprop:  h *= d; h += (1 - d)*g*g; w -= lr*g / (sqrt(h) + 1e-7)
//! adam:     lr_t = lr*sqrt(1 - b2**t) / (1 - b1**t)
//!           m += (1 - b1)*(g - m); v += (1 - b2)*(g**2 - v); w -= lr_t*m / (sqrt(v) + 1e-7)
//! # start W1 = [[1, -2], [0.5, 3]], b1 = [0.25, -0.75]; SGD(0.1), the others the book's defaults
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
            0.9208939410000001,
            -1.762681823,
            0.38134091150000005,
            2.9208939409999997,
            0.30932954425,
            -0.69067045575,
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

/// The start of every run: W1 then b1, flattened.
const START: [f64; 6] = [1.0, -2.0, 0.5, 3.0, 0.25, -0.75];

/// `steps` updates of `optimizer` from `start` on the fixed gradients `g[k][i]`.
fn run_on_fixed_gradients<T: mitbadak::Float>(
    optimizer: &mut dyn Optimizer<T>,
    start: [f64; 6],
    steps: usize,
) -> Vec<f64> {
    let mut w =
        ArrayD::from_shape_vec(vec![2, 2], start[..4].iter().map(|&v| T::from_f64(v)).collect()).unwrap();
    let mut b =
        ArrayD::from_shape_vec(vec![2], start[4..].iter().map(|&v| T::from_f64(v)).collect()).unwrap();
    for k in 0..steps {
        let g: Vec<T> = (0..6).map(|i| T::from_f64((((k + 1) * (i + 2) % 7) as f64 - 3.0) / 4.0)).collect();
        let mut dw = ArrayD::from_shape_vec(vec![2, 2], g[..4].to_vec()).unwrap();
        let mut db = ArrayD::from_shape_vec(vec![2], g[4..].to_vec()).unwrap();
        let mut params = vec![
            Param::new("W1", w.view_mut(), dw.view_mut()),
            Param::new("b1", b.view_mut(), db.view_mut()),
        ];
        optimizer.update(&mut params);
    }
    w.iter().chain(b.iter()).map(|v| v.as_f64()).collect()
}

#[test]
fn every_book_optimizer_follows_the_book_on_fixed_gradients_in_f64_and_f32() {
    // the book's formula, in Python floats (the script in the header), after 10 steps
    let book: [(OptimizerName, [f64; 6]); 6] = [
        (
            OptimizerName::Sgd,
            [
                0.9249999999999996,
                -2.0500000000000003,
                0.47500000000000003,
                3.0,
                0.09999999999999998,
                -5.551115123125783e-17,
            ],
        ),
        (
            OptimizerName::Momentum,
            [
                0.9841807469724998,
                -2.0305575985749993,
                0.4872874495525,
                2.9725491040049996,
                0.18194056270749995,
                -0.43964205293249997,
            ],
        ),
        (
            OptimizerName::Nesterov,
            [
                0.9782626722752499,
                -2.0325018387175002,
                0.48605870459725004,
                2.9752941936045,
                0.17374650643675,
                -0.39567784763924996,
            ],
        ),
        (
            OptimizerName::AdaGrad,
            [
                0.9953560878258921,
                -2.007403346560257,
                0.4925635011773767,
                2.9951994016348493,
                0.2350216796649166,
                -0.699790024912364,
            ],
        ),
        (
            OptimizerName::RmsProp,
            [
                0.9526033526850705,
                -2.0739122760338002,
                0.4255861362468253,
                2.95302271964401,
                0.10022421772733614,
                -0.2435136554022128,
            ],
        ),
        (
            OptimizerName::Adam,
            [
                0.9998573409474149,
                -2.002062837855253,
                0.49860302100123366,
                2.9974078203335175,
                0.24546462610582345,
                -0.7400000211887355,
            ],
        ),
    ];
    for (name, want) in book {
        let lr = name.default_learning_rate();
        let got = run_on_fixed_gradients(name.build::<f64>(lr).as_mut(), START, 10);
        assert_matches(&format!("{name:?} in f64"), got, want);
        // the updates do not depend on the weights, so from 0 the weights are the travel;
        // from 0, f32 resolves it to about 1e-7 of itself
        let travel: Vec<f64> = want.iter().zip(START).map(|(w, s)| w - s).collect();
        let got = run_on_fixed_gradients(name.build::<f32>(lr).as_mut(), [0.0; 6], 10);
        for (g, t) in got.iter().zip(&travel) {
            assert!(
                (g - t).abs() <= 2e-6 * t.abs() + 1e-8,
                "{name:?} in f32 travelled {got:?}, the book's formula {travel:?}"
            );
        }
    }
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
