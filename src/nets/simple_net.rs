//! `simpleNet` (chapter 4.4.2, `ch04/gradient_simplenet.py`): one weight matrix `W` of shape
//! `(2, 3)`, no bias, no hidden layer: the smallest network whose loss has a gradient to take.
//!
//! ```text
//! predict: z = x·W            x: (2,), W: (2, 3), z: (3,)
//! loss:    L = cross_entropy_error(softmax(z), t)
//! ```
//!
//! Its gradient `dW` here is numerical, as in the chapter; backpropagation comes in chapter 5.

use ndarray::{Array1, Array2};

use crate::functions::{cross_entropy_error, softmax};
use crate::gradient::numerical_gradient;

/// The book's `simpleNet`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleNet {
    /// The weights, `(2, 3)`.
    pub w: Array2<f64>,
}

impl SimpleNet {
    /// The weights the book prints in the text (its script draws them with `randn`), so that
    /// the numbers come out as the book's.
    pub fn book_weights() -> SimpleNet {
        let w = ndarray::array![[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]];
        SimpleNet { w }
    }

    /// `z = x·W`.
    pub fn predict(&self, x: &Array1<f64>) -> Array1<f64> {
        x.dot(&self.w)
    }

    /// The cross-entropy of `softmax(x·W)` against the one-hot `t`.
    pub fn loss(&self, x: &Array1<f64>, t: &Array1<f64>) -> f64 {
        loss(&self.w, x, t)
    }

    /// `dW = ∂L/∂W` by central differences (the book's `numerical_gradient(f, net.W)`), in
    /// `W`'s shape.
    pub fn numerical_gradient(&mut self, x: &Array1<f64>, t: &Array1<f64>) -> Array2<f64> {
        numerical_gradient(|w| loss(w, x, t), &mut self.w)
    }
}

fn loss(w: &Array2<f64>, x: &Array1<f64>, t: &Array1<f64>) -> f64 {
    let z = x.dot(w);
    let y = softmax(&z);
    cross_entropy_error(&y, t)
}
