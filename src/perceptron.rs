//! Perceptrons (chapter 2): the logic gates as one neuron, `y = 1 if w·x + b > 0 else 0`,
//! and XOR as two layers of them.
//!
//! | gate | w | b |
//! | --- | --- | --- |
//! | AND | (0.5, 0.5) | -0.7 |
//! | NAND | (-0.5, -0.5) | 0.7 |
//! | OR | (0.5, 0.5) | -0.2 |
//!
//! ```
//! use mitbadak::perceptron::{and, xor};
//! assert_eq!([and(0, 0), and(1, 0), and(0, 1), and(1, 1)], [0, 0, 0, 1]);
//! assert_eq!([xor(0, 0), xor(1, 0), xor(0, 1), xor(1, 1)], [0, 1, 1, 0]);
//! ```

/// The four inputs of a truth table, in the book's order.
pub const INPUTS: [(u8, u8); 4] = [(0, 0), (1, 0), (0, 1), (1, 1)];

/// One perceptron: `1` if `w·x + b > 0`, else `0`.
pub fn perceptron(x: (u8, u8), w: [f64; 2], b: f64) -> u8 {
    let tmp = w[0] * f64::from(x.0) + w[1] * f64::from(x.1) + b;
    if tmp <= 0.0 { 0 } else { 1 }
}

/// The book's `AND`: `w = (0.5, 0.5)`, `b = -0.7`.
pub fn and(x1: u8, x2: u8) -> u8 {
    perceptron((x1, x2), [0.5, 0.5], -0.7)
}

/// The book's `NAND`: `w = (-0.5, -0.5)`, `b = 0.7`.
pub fn nand(x1: u8, x2: u8) -> u8 {
    perceptron((x1, x2), [-0.5, -0.5], 0.7)
}

/// The book's `OR`: `w = (0.5, 0.5)`, `b = -0.2`.
pub fn or(x1: u8, x2: u8) -> u8 {
    perceptron((x1, x2), [0.5, 0.5], -0.2)
}

/// The book's `XOR`, which no single perceptron draws: `AND(NAND(x1, x2), OR(x1, x2))`.
pub fn xor(x1: u8, x2: u8) -> u8 {
    let s1 = nand(x1, x2);
    let s2 = or(x1, x2);
    and(s1, s2)
}

/// A gate's truth table as the book's scripts print it: `(0, 0) -> 0`, one line an input.
pub fn truth_table(gate: fn(u8, u8) -> u8) -> String {
    INPUTS.iter().map(|&(x1, x2)| format!("({x1}, {x2}) -> {}\n", gate(x1, x2))).collect()
}
