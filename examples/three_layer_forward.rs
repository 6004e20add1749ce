//! The book's 3-layer inference example (chapter 3.4): a sigmoid network 2-3-2-2 with the
//! book's weights, identity output, input [1.0, 0.5]. Prints `[0.31682708 0.69627909]`.

use mitbadak::nets::{Activation, Head, MultiLayerNet, Network};
use mitbadak::print::numpy_str;
use ndarray::{Axis, array};

fn main() -> mitbadak::Result<()> {
    let mut network = MultiLayerNet::from_weights(
        vec![
            (array![[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], array![0.1, 0.2, 0.3]),
            (array![[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], array![0.1, 0.2]),
            (array![[0.1, 0.3], [0.2, 0.4]], array![0.1, 0.2]),
        ],
        Activation::Sigmoid,
        Head::IdentityMse,
    )?;
    let x = array![[1.0f64, 0.5]].into_dyn();
    let y = network.predict(&x)?;
    println!("{}", numpy_str(&y.index_axis(Axis(0), 0)));
    Ok(())
}
