//! The book's `ch02/xor_gate.py`: the truth table of XOR as two layers of perceptrons,
//! `AND(NAND(x1, x2), OR(x1, x2))`. Prints
//! `(0, 0) -> 0`, `(1, 0) -> 1`, `(0, 1) -> 1`, `(1, 1) -> 0`.

fn main() {
    print!("{}", mitbadak::perceptron::truth_table(mitbadak::perceptron::xor));
}
