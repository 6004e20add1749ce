//! The book's `ch03/mnist_show.py`: the first training image, its label and its shapes, and
//! the image itself (written as `runs/mnist_show.png`, where the book opens a window).

use mitbadak::atomic::write_atomic;
use mitbadak::data::load_mnist;
use mitbadak::targets::AsTargets;
use ndarray::Axis;

fn main() -> mitbadak::Result<()> {
    let ((x_train, t_train), _) = load_mnist(false, true, false)?;
    let img = x_train.index_axis(Axis(0), 0);
    let label = t_train.as_targets().class(0);
    println!("{label}"); // 5

    println!("{:?}", img.shape()); // [784]
    let img = img.to_shape((28, 28)).expect("784 = 28·28");
    println!("{:?}", img.shape()); // [28, 28]

    let pixels: Vec<u8> = img.iter().map(|&v| v as u8).collect();
    let image = image::GrayImage::from_raw(28, 28, pixels).expect("28·28 pixels");
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("PNG encodes");
    write_atomic(std::path::Path::new("runs/mnist_show.png"), &png)?;
    println!("wrote runs/mnist_show.png");
    Ok(())
}
