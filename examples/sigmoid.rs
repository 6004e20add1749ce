//! The book's `ch03/sigmoid.py`: the figure, written as `runs/sigmoid.png` (the book opens a window).

fn main() -> mitbadak::Result<()> {
    let path = std::path::Path::new("runs/sigmoid.png");
    mitbadak::figures::write_png(&mitbadak::figures::sigmoid(), path)?;
    println!("wrote {}", path.display());
    Ok(())
}
