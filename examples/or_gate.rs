//! The book's `ch02/or_gate.py`: the truth table of OR as one perceptron. Prints
//! `(0, 0) -> 0`, `(1, 0) -> 1`, `(0, 1) -> 1`, `(1, 1) -> 1`.

fn main() {
    print!("{}", mitbadak::perceptron::truth_table(mitbadak::perceptron::or));
}
