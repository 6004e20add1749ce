//! The book's `ch05/buy_apple.py`: 2 apples at 100 with tax 1.1 through two `MulLayer`s,
//! forward and backward: `price: 220`, `dApple: 2.2`, `dApple_num: 110`, `dTax: 200`.

use mitbadak::layers::naive::MulLayer;

fn main() {
    let (apple, apple_num, tax) = (100.0, 2.0, 1.1);
    let (mut mul_apple_layer, mut mul_tax_layer) = (MulLayer::default(), MulLayer::default());

    // forward
    let apple_price = mul_apple_layer.forward(apple, apple_num);
    let price = mul_tax_layer.forward(apple_price, tax);

    // backward
    let dprice = 1.0;
    let (dapple_price, dtax) = mul_tax_layer.backward(dprice);
    let (dapple, dapple_num) = mul_apple_layer.backward(dapple_price);

    println!("price: {}", price as i64); // the book's int(price): 220.00000000000003 → 220
    println!("dApple: {dapple}");
    println!("dApple_num: {}", dapple_num as i64);
    println!("dTax: {dtax}");
}
