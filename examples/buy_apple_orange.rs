//! The book's `ch05/buy_apple_orange.py` (figure 5-17): 2 apples at 100 and 3 oranges at 150
//! with tax 1.1, through `MulLayer`s and an `AddLayer`: `price: 715`, `dApple: 2.2`,
//! `dApple_num: 110`, `dOrange: 3.3000000000000003`, `dOrange_num: 165`, `dTax: 650`.

use mitbadak::layers::naive::buy_apple_orange;

fn main() {
    let purchase = buy_apple_orange(100.0, 2.0, 150.0, 3.0, 1.1);
    println!("price: {}", purchase.price as i64);
    println!("dApple: {}", purchase.dapple);
    println!("dApple_num: {}", purchase.dapple_num as i64);
    println!("dOrange: {}", purchase.dorange);
    println!("dOrange_num: {}", purchase.dorange_num as i64);
    println!("dTax: {}", purchase.dtax);
}
