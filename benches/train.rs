//! One training step of the seed's job (gather a batch, forward, backward, SGD update), the
//! batch gathering alone (the helper thread does it in a run), and one evaluation pass over
//! the test set, as `mitbadak train` runs them.
//!
//! `cargo bench --bench train`

use criterion::{Criterion, criterion_group, criterion_main};
use mitbadak::data::Mnist;
use mitbadak::layers::Input;
use mitbadak::nets::Trainable;
use mitbadak::nets::{Network, TwoLayerNet};
use mitbadak::optim::{Optimizer, Sgd};
use mitbadak::seeded_rng;
use mitbadak::train::{evaluate, input_batch};
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
        let x_batch = input_batch(&data.train, &batch_mask, &[784]);
        let t_batch = data.train.labels_of(&batch_mask);
        network.backprop_input(x_batch, &t_batch).unwrap();
        optimizer.update(&mut network.params());
    };
    for _ in 0..600 {
        step(); // an epoch first, so that the weights (and the activations' zeros) look trained
    }
    c.bench_function("training step (TwoLayerNet 784-50-10, batch 100)", |b| b.iter(&mut step));

    // the helper thread's share of a step: a random batch, gathered and sorted by column
    let masks: Vec<Vec<usize>> =
        (0..1000).map(|_| (0..100).map(|_| rng.random_range(0..60_000)).collect()).collect();
    let mut next = masks.iter().cycle();
    c.bench_function("gathering a random batch of 100 (sparse rows)", |b| {
        b.iter(|| input_batch(&data.train, next.next().unwrap(), &[784]))
    });
    c.bench_function("gathering a random batch of 100 and sorting it by column", |b| {
        b.iter(|| {
            let mut x = input_batch(&data.train, next.next().unwrap(), &[784]);
            if let Input::Sparse(rows) = &mut x {
                rows.index_columns();
            }
            x
        })
    });

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
