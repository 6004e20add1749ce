//! The book's `ch04/gradient_method.py` (figure 4-10): 20 steps of gradient descent on
//! `x0² + x1²` with learning rate 0.1 from `(-3, 4)`, each step 0.8 times the last point
//! (`runs/gradient_method.png`); and the book's text's run of 100 steps, which ends next to
//! the minimum (`[-6.11110793e-10  8.14814391e-10]`), with learning rates 10 and 1e-10.

use mitbadak::figures::function_2;
use mitbadak::gradient::gradient_descent;
use mitbadak::print::numpy_str;
use ndarray::array;

fn main() -> mitbadak::Result<()> {
    let (figure, x_history) = mitbadak::figures::gradient_method();
    for (i, x) in x_history.iter().enumerate() {
        println!("step {i:>2}: {}", numpy_str(x));
    }
    for lr in [0.1, 10.0, 1e-10] {
        let (x, _) = gradient_descent(function_2, &array![-3.0, 4.0], lr, 100);
        println!("lr {lr:e}, 100 steps: {}", numpy_str(&x));
    }
    let path = std::path::Path::new("runs/gradient_method.png");
    mitbadak::figures::write_png(&figure, path)?;
    println!("wrote {}", path.display());
    Ok(())
}
