//! The book's `ch04/gradient_simplenet.py`: `simpleNet` (one `(2, 3)` weight matrix) with the
//! weights the book prints in its text, its prediction and loss for `x = [0.6, 0.9]`, `t = [0, 0,
//! 1]`, and the numerical gradient `dW`, within 2e-7 of the book's `[[ 0.21924763  0.14356247
//! -0.36281009] [ 0.32887144 0.2153437  -0.54421514]]` (the book prints its weights to 8
//! decimals, and computed with all of theirs).

use mitbadak::nets::SimpleNet;
use mitbadak::print::numpy_str;
use mitbadak::targets::argmax_rows;
use ndarray::array;

fn main() {
    let mut net = SimpleNet::book_weights();
    println!("{}", numpy_str(&net.w));
    let x = array![0.6, 0.9];
    let p = net.predict(&x);
    println!("{}", numpy_str(&p));
    println!("{}", argmax_rows(p.view().insert_axis(ndarray::Axis(0)))[0]); // np.argmax(p)
    let t = array![0.0, 0.0, 1.0];
    println!("{}", net.loss(&x, &t));
    let dw = net.numerical_gradient(&x, &t);
    println!("{}", numpy_str(&dw));
}
