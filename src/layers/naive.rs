//! The book's first layers (chapter 5.4, `ch05/layer_naive.py`): a multiplication and an
//! addition node of a computational graph, on plain numbers, before any array.
//!
//! ```text
//! MulLayer: out = x·y,  dx = dout·y,  dy = dout·x
//! AddLayer: out = x + y, dx = dout,   dy = dout
//! ```
//!
//! The apples of the book: 2 apples at 100 with tax 1.1 cost 220, and
//! `∂price/∂apple = 2.2`, `∂price/∂apple_num = 110`, `∂price/∂tax = 200`.
//!
//! ```
//! use mitbadak::layers::naive::MulLayer;
//! let (mut mul_apple_layer, mut mul_tax_layer) = (MulLayer::default(), MulLayer::default());
//! let apple_price = mul_apple_layer.forward(100.0, 2.0);
//! let price = mul_tax_layer.forward(apple_price, 1.1);
//! assert_eq!(price.round(), 220.0);
//! let (dapple_price, dtax) = mul_tax_layer.backward(1.0);
//! let (dapple, dapple_num) = mul_apple_layer.backward(dapple_price);
//! assert_eq!((dapple, dapple_num.round(), dtax), (2.2, 110.0, 200.0));
//! ```

/// A multiplication node: keeps its inputs for the backward pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MulLayer {
    /// The first input of the last forward.
    pub x: f64,
    /// The second input of the last forward.
    pub y: f64,
}

impl MulLayer {
    /// `out = x·y`, keeping `x` and `y`.
    pub fn forward(&mut self, x: f64, y: f64) -> f64 {
        (self.x, self.y) = (x, y);
        x * y
    }

    /// `(dx, dy) = (dout·y, dout·x)`: each input's gradient is the other input.
    pub fn backward(&self, dout: f64) -> (f64, f64) {
        let dx = dout * self.y;
        let dy = dout * self.x;
        (dx, dy)
    }
}

/// An addition node: passes the gradient on to both inputs unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddLayer;

impl AddLayer {
    /// `out = x + y`.
    pub fn forward(&mut self, x: f64, y: f64) -> f64 {
        x + y
    }

    /// `(dx, dy) = (dout·1, dout·1)`.
    pub fn backward(&self, dout: f64) -> (f64, f64) {
        (dout, dout)
    }
}

/// What `ch05/buy_apple_orange.py` computes: the price of 2 apples at 100 and 3 oranges at
/// 150 with tax 1.1, and its gradient with respect to each input.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    /// `(apple·apple_num + orange·orange_num)·tax`.
    pub price: f64,
    /// `∂price/∂apple`.
    pub dapple: f64,
    /// `∂price/∂apple_num`.
    pub dapple_num: f64,
    /// `∂price/∂orange`.
    pub dorange: f64,
    /// `∂price/∂orange_num`.
    pub dorange_num: f64,
    /// `∂price/∂tax`.
    pub dtax: f64,
}

/// The book's graph of figure 5-17, forward then backward from `dprice = 1`: apples and
/// oranges each through a `MulLayer`, summed by an `AddLayer`, times the tax.
pub fn buy_apple_orange(apple: f64, apple_num: f64, orange: f64, orange_num: f64, tax: f64) -> Purchase {
    let (mut mul_apple_layer, mut mul_orange_layer) = (MulLayer::default(), MulLayer::default());
    let (mut add_apple_orange_layer, mut mul_tax_layer) = (AddLayer, MulLayer::default());

    let apple_price = mul_apple_layer.forward(apple, apple_num); // (1)
    let orange_price = mul_orange_layer.forward(orange, orange_num); // (2)
    let all_price = add_apple_orange_layer.forward(apple_price, orange_price); // (3)
    let price = mul_tax_layer.forward(all_price, tax); // (4)

    let dprice = 1.0;
    let (dall_price, dtax) = mul_tax_layer.backward(dprice); // (4)
    let (dapple_price, dorange_price) = add_apple_orange_layer.backward(dall_price); // (3)
    let (dorange, dorange_num) = mul_orange_layer.backward(dorange_price); // (2)
    let (dapple, dapple_num) = mul_apple_layer.backward(dapple_price); // (1)
    Purchase { price, dapple, dapple_num, dorange, dorange_num, dtax }
}
