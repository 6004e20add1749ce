//! The book's `ch03/sig_step_compare.py`: the figure, written as `runs/sig_step_compare.png` (the book opens a window).

fn main() -> mitbadak::Result<()> {
    let path = std::path::Path::new("runs/sig_step_compare.png");
    mitbadak::figures::write_png(&mitbadak::figures::sig_step_compare(), path)?;
    println!("wrote {}", path.display());
    Ok(())
}
