//! The book's `ch04/gradient_2d.py` (figure 4-9): the gradient of `x0² + x1²`, negated, as
//! arrows on a grid from -2 to 2.25 by 0.25 (`runs/gradient_2d.png`). Each arrow points to the
//! minimum at the origin, and is longer the farther it starts from it. Prints the gradient at
//! the points the book computes in the text.

use mitbadak::figures::function_2;
use mitbadak::gradient::numerical_gradient;
use mitbadak::print::numpy_str;
use ndarray::array;

fn main() -> mitbadak::Result<()> {
    for point in [array![3.0, 4.0], array![0.0, 2.0], array![3.0, 0.0]] {
        let grad = numerical_gradient(function_2, &mut point.clone());
        println!("numerical_gradient(function_2, {}) = {}", numpy_str(&point), numpy_str(&grad));
    }
    let path = std::path::Path::new("runs/gradient_2d.png");
    mitbadak::figures::write_png(&mitbadak::figures::gradient_2d(), path)?;
    println!("wrote {}", path.display());
    Ok(())
}
