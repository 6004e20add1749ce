//! The book's softmax (chapter 3.5): `softmax([0.3, 2.9, 4.0])` prints
//! `[0.01821127 0.24519181 0.73659691]`, and its values sum to 1. The maximum is subtracted
//! first, so `[1010, 1000, 990]` does not overflow.

use mitbadak::functions::softmax;
use mitbadak::print::numpy_str;
use ndarray::array;

fn main() {
    let a = array![0.3f64, 2.9, 4.0];
    let y = softmax(&a);
    println!("{}", numpy_str(&y));
    println!("sum: {:?}", y.sum());

    let large = array![1010.0f64, 1000.0, 990.0];
    println!("softmax({}) = {}", numpy_str(&large), numpy_str(&softmax(&large)));
}
