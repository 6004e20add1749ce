fn main() {
    println!("mitbadak: training arrives with the next work");
}
