//! One training step of the seed's job (gather a batch, forward, backward, SGD update) and
//! one evaluation pass over the test set, as `mitbadak train` runs them.
//!
//! `cargo bench --bench train`

use criterion::{Criterion, criterion_group, criterion_main};
use mitbadak::data::Mnist;
use mitbadak::nets::{Network, TwoLayerNet};
use mitbadak::optim::{Optimizer, Sgd};
use mitbadak::seeded_rng;
use mitbadak::train::evaluate;
use rand::RngExt;

fn seed_job(c: &mut Criterion) {
    let data = Mnist::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))
        .expect("data/mnist");
    let mut rng = seeded_rng(0);
    let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut rng);
    let mut optimizer = Sgd::new(0.1);
    let mut next_mask: Vec<usize> = (0..100).map(|_| rng.random_range(0..60_000)).collect();
    let mut step = || {
        let batch_mask =
            std::mem::replace(&mut next_mask, (0..100).map(|_| rng.random_range(0..60_000)).collect());
        let x_batch = data.train.input_batch(&batch_mask, &[784]);
        let t_batch = data.train.labels_of(&batch_mask);
        network.backprop_input(x_batch, &t_batch).unwrap();
        optimizer.update(&mut network.params());
    };
    for _ in 0..600 {
        step(); // an epoch first, so that the weights (and the activations' zeros) look trained
    }
    c.bench_function("training step (TwoLayerNet 784-50-10, batch 100)", |b| b.iter(&mut step));

    let mut trained = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
    c.bench_function("evaluation pass (10000 test images)", |b| {
        b.iter(|| evaluate(&mut trained, &data.test).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = seed_job
}
criterion_main!(benches);
