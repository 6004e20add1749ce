//! The book's `ch01/sin_cos_graph.py` (and `sin_graph.py`, `simple_graph.py`, its first half):
//! `sin` and `cos` over `arange(0, 6, 0.1)`, written as `runs/sin_cos_graph.png`.

fn main() -> mitbadak::Result<()> {
    let path = std::path::Path::new("runs/sin_cos_graph.png");
    mitbadak::figures::write_png(&mitbadak::figures::sin_cos(), path)?;
    println!("wrote {}", path.display());
    Ok(())
}
