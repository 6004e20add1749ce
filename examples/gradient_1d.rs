//! The book's `ch04/gradient_1d.py`: the numerical derivative of `0.01x² + 0.1x` at 5, printed
//! as the book prints it (`0.1999999999990898`: the exact 0.2, less a rounding error of the
//! central difference), and the function with its tangent there (`runs/gradient_1d.png`).

fn main() -> mitbadak::Result<()> {
    let (figure, slope) = mitbadak::figures::gradient_1d();
    println!("{slope}");
    let path = std::path::Path::new("runs/gradient_1d.png");
    mitbadak::figures::write_png(&figure, path)?;
    println!("wrote {}", path.display());
    Ok(())
}
