//! The book's `ch03/relu.py`: the figure, written as `runs/relu.png` (the book opens a window).

fn main() -> mitbadak::Result<()> {
    let path = std::path::Path::new("runs/relu.png");
    mitbadak::figures::write_png(&mitbadak::figures::relu(), path)?;
    println!("wrote {}", path.display());
    Ok(())
}
