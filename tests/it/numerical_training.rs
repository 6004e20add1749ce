//! Chapter 4's training by numerical gradients really trains: its steps are those of
//! backpropagation's (chapter 5) to the central difference's error, and its loss falls.

use mitbadak::nets::{Network, TwoLayerNet};
use mitbadak::numerical_training::numerical_sgd_step;
use mitbadak::seeded_rng;
use ndarray::{Array2, ArrayD};
use rand::RngExt;

#[test]
fn numerical_gradient_steps_follow_backpropagation_s_and_lower_the_loss() {
    let mut rng = seeded_rng(7);
    let x: ArrayD<f64> = Array2::from_shape_simple_fn((8, 6), || rng.random::<f64>()).into_dyn();
    let t: Vec<usize> = (0..8).map(|i| i % 3).collect();
    let mut numerical = TwoLayerNet::<f64>::new(6, 4, 3, 0.5, &mut seeded_rng(1));
    let mut backprop = TwoLayerNet::<f64>::new(6, 4, 3, 0.5, &mut seeded_rng(1));
    let first_loss = numerical.loss(&x, &t).unwrap();
    let mut calls = Vec::new();
    let mut losses = Vec::new();
    for _ in 0..20 {
        losses.push(
            numerical_sgd_step(&mut numerical, &x, &t, 0.5, |done, total| calls.push((done, total))).unwrap(),
        );
        backprop.backprop(x.clone(), &t).unwrap();
        for mut p in backprop.params() {
            p.value.scaled_add(-0.5, &p.grad);
        }
    }
    let parameters = 6 * 4 + 4 + 4 * 3 + 3;
    assert!(calls.iter().all(|&(done, total)| total == parameters && done <= total));
    assert_eq!(
        calls.iter().filter(|&&(done, _)| done == parameters).count(),
        20,
        "each step reports its end"
    );
    for (n, b) in numerical.params().iter().zip(backprop.params()) {
        let worst = (&n.value - &b.value).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(worst < 1e-8, "{}: the two ways differ by {worst:e}", n.name);
    }
    assert!(losses[19] < 0.85 * first_loss, "the loss fell from {first_loss} to {}", losses[19]);
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "full-batch steps lower the loss each time: {losses:?}");
}
