//! The README's library snippets, as they are printed there, each the body of a function:
//! `tests/readme.rs` checks that they are the README's line for line, and `cargo test`
//! compiles them. `cargo run --release --example readme -- book|trainer|serve` runs one.

/// "The book's way, with whole arrays".
#[rustfmt::skip]
fn book() -> mitbadak::Result<()> {
    use mitbadak::prelude::*;
    use mitbadak::data::load_mnist;
    use ndarray::Axis;
    use rand::RngExt;

    let ((x_train, t_train), (x_test, t_test)) = load_mnist(true, true, false)?; // normalize, flatten, one_hot_label
    let mut rng = seeded_rng(0);
    let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut rng);
    let batch_mask: Vec<usize> = (0..100).map(|_| rng.random_range(0..60000)).collect();
    let loss = network.backprop(x_train.select(Axis(0), &batch_mask), &t_train.select(&batch_mask))?;
    for mut p in network.params() {                 // W1, b1, W2, b2 with their gradients dw, db
        p.value.scaled_add(-0.1, &p.grad);          // params[key] -= learning_rate * grad[key]
    }
    println!("{}", network.accuracy(&x_test, &t_test)?);
    let _ = loss;
    Ok(())
}

/// "The trainer's way".
#[rustfmt::skip]
fn trainer() -> mitbadak::Result<()> {
    use mitbadak::prelude::*;
    use mitbadak::{data::Mnist, model_file::save_model, optim::Sgd, train::{train, Silent, TrainConfig}};

    let data = Mnist::load("data/mnist".as_ref())?;
    let mut network = TwoLayerNet::<f32>::new(784, 50, 10, 0.01, &mut seeded_rng(0));
    let history = train(&mut network, &mut Sgd::new(0.1), &data, &TrainConfig::default(), &mut Silent)?;
    println!("{:?}", history.final_test_accuracy());
    save_model(&mut network, "model.safetensors".as_ref(), &Default::default())?;
    Ok(())
}

/// "The draw-a-digit server, in a program of one's own".
#[rustfmt::skip]
fn serve() -> mitbadak::Result<()> {
    use mitbadak::serve::{ServedModel, Server};

    let server = Server::bind("127.0.0.1", 0, ServedModel::load("model.safetensors".as_ref(), None)?)?;
    println!("{}", server.url());                   // port 0: any free one
    server.run()?;                                  // blocks; run it on a thread of its own
    Ok(())
}

fn main() -> mitbadak::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("book") => book(),
        Some("trainer") => trainer(),
        Some("serve") => serve(),
        _ => {
            eprintln!("which snippet: book, trainer or serve");
            std::process::exit(2);
        }
    }
}
