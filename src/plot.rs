//! The book's figures as PNG: accuracy per epoch (train solid, test dashed) and loss per step.
//!
//! Drawn with `plotters` into memory, encoded with `image`, and written atomically. The text
//! uses DejaVu Sans, built into the binary, so no system font library is needed.

use std::io::Cursor;
use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::Error;
use crate::atomic::write_atomic;
use crate::error::Result;
use crate::train::History;

/// The size of every figure, in pixels.
pub const FIGURE_SIZE: (u32, u32) = (800, 600);

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // the font is built in and known to parse; a failure here is a bug, not input
        register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the built-in font parses"));
    });
}

/// The book's accuracy figure: train accuracy (solid) and test accuracy (dashed) against
/// epochs, accuracy from 0 to 1, legend at the lower right.
pub fn accuracy_png(history: &History) -> Result<Vec<u8>> {
    let epochs: Vec<f64> = history.evaluations.iter().map(|e| e.epoch).collect();
    let last = epochs.last().copied().unwrap_or(1.0).max(1.0);
    let train: Vec<(f64, f64)> = history.evaluations.iter().map(|e| (e.epoch, e.train_acc)).collect();
    let test: Vec<(f64, f64)> = history.evaluations.iter().map(|e| (e.epoch, e.test_acc)).collect();
    render(|root| {
        let mut chart = axes(root, "accuracy", ("epochs", last), ("accuracy", 1.0))?;
        let blue = RGBColor(31, 119, 180);
        let orange = RGBColor(255, 127, 14);
        chart
            .draw_series(LineSeries::new(train.clone(), blue.stroke_width(2)))?
            .label("train acc")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], blue.stroke_width(2)));
        chart.draw_series(train.iter().map(|&p| Circle::new(p, 4, blue.filled())))?;
        chart
            .draw_series(DashedLineSeries::new(test.clone(), 8, 5, orange.stroke_width(2)))?
            .label("test acc")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], orange.stroke_width(2)));
        let square = move |p| EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], orange.filled());
        chart.draw_series(test.iter().map(|&p| square(p)))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 18))
            .draw()?;
        Ok(())
    })
}

/// The loss of each step's mini-batch against iterations (the book's `train_loss_list`).
pub fn loss_png(history: &History) -> Result<Vec<u8>> {
    let points: Vec<(f64, f64)> =
        history.loss.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l)).collect();
    let top = points.iter().map(|p| p.1).filter(|l| l.is_finite()).fold(0.0f64, f64::max).max(1e-3) * 1.05;
    let last = points.len().max(1) as f64;
    render(|root| {
        let mut chart = axes(root, "loss", ("iteration", last), ("loss", top))?;
        chart.draw_series(LineSeries::new(points, RGBColor(31, 119, 180).stroke_width(1)))?;
        Ok(())
    })
}

/// The accuracy figure's file name in a run directory.
pub const ACCURACY_FILE: &str = "accuracy.png";

/// The loss figure's file name in a run directory.
pub const LOSS_FILE: &str = "loss.png";

/// Writes [`ACCURACY_FILE`] and [`LOSS_FILE`] into `dir`.
pub fn save_plots(history: &History, dir: &Path) -> Result<()> {
    write_atomic(&dir.join(ACCURACY_FILE), &accuracy_png(history)?)?;
    write_atomic(&dir.join(LOSS_FILE), &loss_png(history)?)
}

type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart from 0 to `x_max` and 0 to `y_max`, its axes labelled.
fn axes<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
    (x_desc, x_max): (&str, f64),
    (y_desc, y_max): (&str, f64),
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 28))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    let (x_decimals, y_decimals) = (decimals_for(x_max), decimals_for(y_max));
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.x_decimals$}"))
        .y_label_formatter(&|y| format!("{y:.y_decimals$}"))
        .label_style(("sans-serif", 16))
        .draw()?;
    Ok(chart)
}

/// Enough decimals that the ticks of an axis from 0 to `max` read apart.
fn decimals_for(max: f64) -> usize {
    if max >= 20.0 {
        0
    } else if max >= 2.0 {
        1
    } else {
        2
    }
}

/// Draws on a white canvas of [`FIGURE_SIZE`] and returns it encoded as PNG.
fn render(
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> DrawResult,
) -> Result<Vec<u8>> {
    register_font_once();
    let (width, height) = FIGURE_SIZE;
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, FIGURE_SIZE).into_drawing_area();
        let drawn: DrawResult = (|| {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        drawn.map_err(|e| Error::invalid("plot", format!("could not draw the figure: {e}")))?;
    }
    let image =
        image::RgbImage::from_raw(width, height, pixels).expect("the buffer has width·height·3 bytes");
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::invalid("plot", format!("could not encode the PNG: {e}")))?;
    Ok(png)
}
