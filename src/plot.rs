//! The book's figures as PNG: accuracy per epoch (train solid, test dashed) and loss per step,
//! and for the experiments of chapter 6 any [`Figure`] of panels in a grid, as matplotlib's
//! `subplot` draws them.
//!
//! Drawn with `plotters` into memory, encoded with `image`, and written atomically. The text
//! uses DejaVu Sans, built into the binary, so no system font library is needed.

use std::io::Cursor;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::Error;
use crate::atomic::write_atomic;
use crate::error::Result;
use crate::runs::{ACCURACY_FILE, LOSS_FILE};
use crate::train::{Evaluation, History};

/// The size of every figure, in pixels.
pub const FIGURE_SIZE: (u32, u32) = (800, 600);

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

pub(crate) fn register_font_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // the font is built in and known to parse; a failure here is a bug, not input
        register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the built-in font parses"));
    });
}

/// The book's accuracy figure: train accuracy (solid, circles) and test accuracy (dashed,
/// squares) against epochs, accuracy from 0 to 1, legend at the lower right.
pub fn accuracy_png(history: &History) -> Result<Vec<u8>> {
    let last = history.evaluations.last().map_or(1.0, |e| e.epoch).max(1.0);
    let curve = |acc: fn(&Evaluation) -> f64| history.evaluations.iter().map(|e| (e.epoch, acc(e))).collect();
    let panel = Panel::new("accuracy", 0.0..last, 0.0..1.0)
        .axis_labels("epochs", "accuracy")
        .whole_numbers_on_x()
        .line(Line::new("train acc", curve(|e| e.train_acc), 0).marked(Marker::Circle, 1))
        .line(Line::new("test acc", curve(|e| e.test_acc), 1).dashed().marked(Marker::Square, 1))
        .legend(Corner::LowerRight);
    figure_png(&Figure { size: FIGURE_SIZE, columns: 1, panels: vec![panel] })
}

/// The loss of each step's mini-batch against iterations (the book's `train_loss_list`).
pub fn loss_png(history: &History) -> Result<Vec<u8>> {
    let points: Vec<(f64, f64)> =
        history.loss.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l)).collect();
    let top = points.iter().map(|p| p.1).filter(|l| l.is_finite()).fold(0.0f64, f64::max).max(1e-3) * 1.05;
    let last = points.len().max(1) as f64;
    let panel = Panel::new("loss", 0.0..last, 0.0..top)
        .axis_labels("iteration", "loss")
        .line(Line::new("", points, 0).thin());
    figure_png(&Figure { size: FIGURE_SIZE, columns: 1, panels: vec![panel] })
}

/// Writes [`ACCURACY_FILE`] and [`LOSS_FILE`] into `dir`.
pub fn save_plots(history: &History, dir: &Path) -> Result<()> {
    write_atomic(&dir.join(ACCURACY_FILE), &accuracy_png(history)?)?;
    write_atomic(&dir.join(LOSS_FILE), &loss_png(history)?)
}

type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

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

/// Draws on a white canvas of `size` pixels and returns it encoded as PNG.
fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> DrawResult,
) -> Result<Vec<u8>> {
    register_font_once();
    let (width, height) = size;
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
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

/// matplotlib's colours (`tab10`) in its order: blue, orange, green, red, purple, brown ...
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A figure of panels in a grid of `columns` columns, filled row by row (matplotlib's
/// `subplot(rows, columns, i)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// Panels per row.
    pub columns: usize,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
}

/// One chart of a [`Figure`]: lines and bars over fixed ranges (matplotlib's `xlim`,
/// `ylim`). What falls outside the ranges is cut off at the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The title above the chart.
    pub title: String,
    /// The name of the x axis (empty for none).
    pub x_label: String,
    /// The name of the y axis (empty for none).
    pub y_label: String,
    /// The x values shown.
    pub x_range: Range<f64>,
    /// The y values shown.
    pub y_range: Range<f64>,
    /// The lines, drawn in order.
    pub lines: Vec<Line>,
    /// The bars of a histogram, drawn before the lines.
    pub bars: Vec<Bar>,
    /// Where the legend of the labelled lines goes; `None` for no legend.
    pub legend: Option<Corner>,
    /// Whether the axes carry numbers (the book's crowded grids leave them out).
    pub tick_labels: bool,
    /// Whether the x axis counts whole things (epochs): only whole numbers are written on it.
    pub whole_x: bool,
}

impl Panel {
    /// An empty panel over `x_range × y_range`, with numbers on its axes and no legend.
    pub fn new(title: impl Into<String>, x_range: Range<f64>, y_range: Range<f64>) -> Panel {
        Panel {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            x_range,
            y_range,
            lines: Vec::new(),
            bars: Vec::new(),
            legend: None,
            tick_labels: true,
            whole_x: false,
        }
    }

    /// Names the axes.
    pub fn axis_labels(mut self, x: &str, y: &str) -> Panel {
        (self.x_label, self.y_label) = (x.to_string(), y.to_string());
        self
    }

    /// Adds a line.
    pub fn line(mut self, line: Line) -> Panel {
        self.lines.push(line);
        self
    }

    /// Shows the labelled lines in a legend at `corner`.
    pub fn legend(mut self, corner: Corner) -> Panel {
        self.legend = Some(corner);
        self
    }

    /// Writes only whole numbers on the x axis (epochs: 0, 1, 2 rather than 0.0, 0.5, 1.0).
    pub fn whole_numbers_on_x(mut self) -> Panel {
        self.whole_x = true;
        self
    }

    /// Leaves the numbers off the axes.
    pub fn without_tick_labels(mut self) -> Panel {
        self.tick_labels = false;
        self
    }
}

/// A line through points, as matplotlib's `plot(x, y, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The name in the legend (empty: not in the legend).
    pub label: String,
    /// The points `(x, y)` in order; non-finite ones break the line.
    pub points: Vec<(f64, f64)>,
    /// An index into matplotlib's colours (blue, orange, green, red, purple ...).
    pub color: usize,
    /// Dashed rather than solid.
    pub dashed: bool,
    /// The stroke's width in pixels: 2, or 1 for a long noisy series (plotters draws a wider
    /// line through many steep segments with gaps).
    pub width: u32,
    /// A marker drawn on every `mark_every`-th point (matplotlib's `marker`, `markevery`).
    pub marker: Option<Marker>,
    /// See `marker`.
    pub mark_every: usize,
}

impl Line {
    /// A solid line without markers, in colour number `color`.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Line {
        Line { label: label.into(), points, color, dashed: false, width: 2, marker: None, mark_every: 1 }
    }

    /// The line dashed.
    pub fn dashed(mut self) -> Line {
        self.dashed = true;
        self
    }

    /// The line one pixel wide.
    pub fn thin(mut self) -> Line {
        self.width = 1;
        self
    }

    /// The line with `marker` on every `every`-th point, from the first.
    pub fn marked(mut self, marker: Marker, every: usize) -> Line {
        (self.marker, self.mark_every) = (Some(marker), every.max(1));
        self
    }
}

/// The shapes that mark points on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// matplotlib's `"o"`.
    Circle,
    /// `"s"`.
    Square,
    /// `"^"`.
    Triangle,
    /// `"x"`.
    Cross,
}

/// A histogram's bar: from `x.start` to `x.end`, `height` high.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Where the bar stands.
    pub x: Range<f64>,
    /// How high it is.
    pub height: f64,
    /// An index into matplotlib's colours.
    pub color: usize,
}

/// A corner of a panel, for its legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// Top right.
    UpperRight,
    /// Bottom right.
    LowerRight,
    /// Top left.
    UpperLeft,
    /// Bottom left.
    LowerLeft,
}

/// Draws `figure` and returns it encoded as PNG.
///
/// **Errors** if drawing or encoding fails (an empty range, for one).
pub fn figure_png(figure: &Figure) -> Result<Vec<u8>> {
    let columns = figure.columns.max(1);
    let rows = figure.panels.len().div_ceil(columns).max(1);
    render(figure.size, |root| {
        for (panel, area) in figure.panels.iter().zip(root.split_evenly((rows, columns))) {
            draw_panel(panel, &area)?;
        }
        Ok(())
    })
}

fn draw_panel<'a, 'b: 'a>(
    panel: &Panel,
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
) -> DrawResult {
    let (width, height) = area.dim_in_pixel();
    // text in proportion to the panel: 16 px on a whole figure, 10 px in a 4x4 grid
    let text = (width.min(height) / 30).clamp(10, 16);
    // the same room with or without numbers, so that the panels of a grid line up
    let (x_room, y_room) = (text * 3, text * 4);
    let y_decimals = decimals_for(span(&panel.y_range));
    let x_format = |x: &f64| x_tick_label(panel, *x);
    let y_format = |y: &f64| format!("{y:.y_decimals$}");
    let margin = text / 2 + 4;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", text + 4))
        .margin(margin)
        .margin_right(margin.max(half_label_width(panel, &x_format, text)))
        .x_label_area_size(x_room)
        .y_label_area_size(y_room)
        .build_cartesian_2d(panel.x_range.clone(), panel.y_range.clone())?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(TRANSPARENT)
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style(("sans-serif", text));
    if !panel.tick_labels {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;

    let top = panel.y_range.end;
    chart.draw_series(panel.bars.iter().filter(|b| b.height > panel.y_range.start).map(|bar| {
        let corners = [(bar.x.start, panel.y_range.start.max(0.0)), (bar.x.end, bar.height.min(top))];
        Rectangle::new(corners, PALETTE[bar.color % PALETTE.len()].filled())
    }))?;
    for line in &panel.lines {
        draw_line(&mut chart, line, panel, text)?;
    }
    if let Some(corner) = panel.legend {
        let position = match corner {
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        };
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", text))
            .draw()?;
    }
    Ok(())
}

fn draw_line<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, line: &Line, panel: &Panel, text: u32) -> DrawResult {
    let color = PALETTE[line.color % PALETTE.len()];
    let style = color.stroke_width(line.width);
    for piece in clip_polyline(&line.points, &panel.x_range, &panel.y_range) {
        if line.dashed {
            chart.draw_series(DashedLineSeries::new(piece, 6, 4, style))?;
        } else {
            chart.draw_series(LineSeries::new(piece, style))?;
        }
    }
    let marked = marked_points(line, panel);
    let size = (text / 3).max(3) as i32;
    match line.marker {
        None => {}
        Some(Marker::Circle) => {
            chart.draw_series(marked.map(|p| Circle::new(p, size, color.filled())))?;
        }
        Some(Marker::Square) => {
            let square =
                move |p| EmptyElement::at(p) + Rectangle::new([(-size, -size), (size, size)], color.filled());
            chart.draw_series(marked.map(square))?;
        }
        Some(Marker::Triangle) => {
            chart.draw_series(marked.map(|p| TriangleMarker::new(p, size + 1, color.filled())))?;
        }
        Some(Marker::Cross) => {
            chart.draw_series(marked.map(|p| Cross::new(p, size, color.stroke_width(2))))?;
        }
    }
    if !line.label.is_empty() {
        // an empty series carries the legend entry, whether or not any piece was drawn
        let entry =
            chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?.label(line.label.as_str());
        if line.dashed {
            entry.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], style)
                    + PathElement::new(vec![(14, 0), (22, 0)], style)
            });
        } else {
            entry.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
        }
    }
    Ok(())
}

/// The points of `line` that carry its marker: every `mark_every`-th, where it lies within
/// the panel's frame, the frame's edges included (an accuracy of 1, the last epoch).
fn marked_points<'a>(line: &'a Line, panel: &'a Panel) -> impl Iterator<Item = Point> + 'a {
    let within = |v: f64, range: &Range<f64>| range.start <= v && v <= range.end;
    let inside = move |&(x, y): &Point| within(x, &panel.x_range) && within(y, &panel.y_range);
    line.points.iter().step_by(line.mark_every).copied().filter(inside)
}

/// The number written under the x axis at `x`: with enough decimals that the ticks read
/// apart, or for an axis of whole numbers, `x` without decimals where it is whole and nothing
/// between.
fn x_tick_label(panel: &Panel, x: f64) -> String {
    let decimals = decimals_for(span(&panel.x_range));
    match panel.whole_x {
        true if x.fract() != 0.0 => String::new(),
        true => format!("{x:.0}"),
        false => format!("{x:.decimals$}"),
    }
}

/// The room the last x label takes beyond the frame's right edge, on which it is centred:
/// half the widest label the axis can carry (a digit of DejaVu Sans is 0.64 em wide), and a
/// few pixels to spare.
fn half_label_width(panel: &Panel, format: &dyn Fn(&f64) -> String, text: u32) -> u32 {
    if !panel.tick_labels {
        return 0;
    }
    let ends = [panel.x_range.start, panel.x_range.end, panel.x_range.end.trunc()];
    let widest = ends.iter().map(|x| format(x).chars().count()).max();
    (widest.unwrap_or(0) as f64 * 0.64 * text as f64 / 2.0).ceil() as u32 + 4
}

fn span(range: &Range<f64>) -> f64 {
    (range.end - range.start).abs()
}

/// A point of a chart, `(x, y)`.
type Point = (f64, f64);

/// The parts of the polyline `points` inside the rectangle `x × y`, each a polyline of its
/// own: a line that leaves the frame and comes back is drawn as two pieces, ending and
/// starting where it crosses the frame.
fn clip_polyline(points: &[Point], x: &Range<f64>, y: &Range<f64>) -> Vec<Vec<Point>> {
    let mut pieces = Vec::new();
    let mut current: Vec<Point> = Vec::new();
    for pair in points.windows(2) {
        match clip_segment(pair[0], pair[1], x, y) {
            Some((a, b, from_start)) => {
                if !from_start && !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
                if current.is_empty() {
                    current.push(a);
                }
                current.push(b);
            }
            None if !current.is_empty() => pieces.push(std::mem::take(&mut current)),
            None => {}
        }
        if current.last().is_some_and(|&end| end != pair[1]) {
            pieces.push(std::mem::take(&mut current)); // left the frame
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The part of the segment `a`-`b` inside `x × y` (Liang-Barsky), and whether it starts at
/// `a`; `None` when nothing of it is inside or a coordinate is not finite.
fn clip_segment(a: Point, b: Point, x: &Range<f64>, y: &Range<f64>) -> Option<(Point, Point, bool)> {
    if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    // the point a + t·(dx, dy) is inside where p·t <= q for each of the four edges
    for (p, q) in [(-dx, a.0 - x.start), (dx, x.end - a.0), (-dy, a.1 - y.start), (dy, y.end - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None; // parallel to this edge and outside it
            }
        } else if p < 0.0 {
            t0 = t0.max(q / p);
        } else {
            t1 = t1.min(q / p);
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1), t0 == 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether every pixel within `ring` pixels of the edges of each of the `rows x columns`
    /// cells of the figure `png` is white: nothing drawn was cut off at a panel's edge.
    fn edges_are_white(png: &[u8], rows: u32, columns: u32, ring: u32) -> bool {
        let image = image::load_from_memory(png).unwrap().to_rgb8();
        let (cell_w, cell_h) = (image.width() / columns, image.height() / rows);
        image.enumerate_pixels().all(|(x, y, p)| {
            let (cx, cy) = (x % cell_w, y % cell_h);
            let at_edge = cx < ring || cy < ring || cx + ring >= cell_w || cy + ring >= cell_h;
            !at_edge || p.0 == [255, 255, 255]
        })
    }

    fn history(iterations: usize, epochs: usize) -> History {
        History {
            loss: (0..iterations).map(|i| 2.3 / (1.0 + i as f64 / 100.0)).collect(),
            evaluations: (0..=epochs)
                .map(|e| Evaluation { iteration: e * 600, epoch: e as f64, train_acc: 0.9, test_acc: 0.85 })
                .collect(),
        }
    }

    #[test]
    fn epochs_are_labelled_with_whole_numbers() {
        let epochs = Panel::new("", 0.0..16.67, 0.0..1.0).whole_numbers_on_x();
        let labels: Vec<String> = [0.0, 2.0, 2.5, 16.0].iter().map(|&x| x_tick_label(&epochs, x)).collect();
        assert_eq!(labels, ["0", "2", "", "16"]);
        assert_eq!(x_tick_label(&Panel::new("", 0.0..16.67, 0.0..1.0), 2.0), "2.0");
    }

    #[test]
    fn no_label_is_cut_off_at_the_figure_s_edges() {
        let history = history(10_000, 16);
        assert!(edges_are_white(&loss_png(&history).unwrap(), 1, 1, 3), "loss.png of 10000 iterations");
        assert!(edges_are_white(&accuracy_png(&history).unwrap(), 1, 1, 3), "accuracy.png");
        // the optimizers' loss figure over 2000 iterations, and a 2x2 grid's panels
        let panel = |x_end: f64| {
            Panel::new("SGD", 0.0..x_end, 0.0..1.0).line(Line::new("", vec![(0.0, 1.0), (x_end, 0.0)], 0))
        };
        let single = Figure { size: (800, 600), columns: 1, panels: vec![panel(2000.0)] };
        assert!(edges_are_white(&figure_png(&single).unwrap(), 1, 1, 3), "0 to 2000");
        let grid = Figure { size: (900, 800), columns: 2, panels: vec![panel(2000.0); 4] };
        assert!(edges_are_white(&figure_png(&grid).unwrap(), 2, 2, 2), "a 2x2 grid of 0 to 2000");
    }

    #[test]
    fn markers_on_the_frame_s_edges_are_drawn_and_those_beyond_it_are_not() {
        let panel = Panel::new("", 0.0..2.0, 0.0..1.0);
        let points = vec![(0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (2.0, 1.5), (-0.1, 0.5), (1.0, f64::NAN)];
        let line = Line::new("", points, 0).marked(Marker::Circle, 1);
        assert_eq!(marked_points(&line, &panel).collect::<Vec<_>>(), [(0.0, 0.0), (1.0, 1.0), (2.0, 1.0)]);
        let every_other = Line { mark_every: 2, ..line };
        assert_eq!(marked_points(&every_other, &panel).collect::<Vec<_>>(), [(0.0, 0.0), (2.0, 1.0)]);
    }

    #[test]
    fn a_line_leaving_the_frame_is_cut_where_it_crosses_and_resumes_where_it_returns() {
        let points = [(0.0, 0.5), (1.0, 0.5), (2.0, 1.5), (3.0, 1.5), (4.0, 0.5), (5.0, 0.5)];
        let pieces = clip_polyline(&points, &(0.0..10.0), &(0.0..1.0));
        assert_eq!(
            pieces,
            vec![vec![(0.0, 0.5), (1.0, 0.5), (1.5, 1.0)], vec![(3.5, 1.0), (4.0, 0.5), (5.0, 0.5)]]
        );
        let broken =
            clip_polyline(&[(0.0, 0.5), (1.0, f64::NAN), (2.0, 0.5), (3.0, 0.5)], &(0.0..10.0), &(0.0..1.0));
        assert_eq!(broken, vec![vec![(2.0, 0.5), (3.0, 0.5)]]);
    }
}
