//! The book's `ch03/step_function.py`: the figure, written as `runs/step_function.png` (the book opens a window).

fn main() -> mitbadak::Result<()> {
    let path = std::path::Path::new("runs/step_function.png");
    mitbadak::figures::write_png(&mitbadak::figures::step_function(), path)?;
    println!("wrote {}", path.display());
    Ok(())
}
