//! The book's `ch02/nand_gate.py`: the truth table of NAND as one perceptron. Prints
//! `(0, 0) -> 1`, `(1, 0) -> 1`, `(0, 1) -> 1`, `(1, 1) -> 0`.

fn main() {
    print!("{}", mitbadak::perceptron::truth_table(mitbadak::perceptron::nand));
}
