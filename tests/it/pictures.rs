//! Pictures of digits as people take them: dark on light paper of several greys, with grain,
//! specks, uneven lighting, a slight rotation and a margin, or light on dark; digits from the
//! bundled font (regular, bold, slanted) and from MNIST's own test images. The default
//! model, trained as `mitbadak train` does, must read at least 95% of them once
//! [`to_mnist`] has taken the paper away.

use crate::common;

use ab_glyph::{Font, FontRef, PxScale, point};
use image::{DynamicImage, GrayImage, Luma};
use mitbadak::classify::classify;
use mitbadak::data::Mnist;
use mitbadak::model_file::load_model;
use mitbadak::preprocess::to_mnist;

/// A digit's ink coverage in [0, 1], `width x height` row by row, with its label.
struct Glyph {
    coverage: Vec<f32>,
    width: usize,
    height: usize,
    label: usize,
    /// Drawn from a font (and so may be slanted, as an oblique face), not handwritten.
    font: bool,
}

impl Glyph {
    /// The coverage at `(x, y)`, bilinear between pixel centres, 0 outside.
    fn at(&self, x: f32, y: f32) -> f32 {
        let (x, y) = (x - 0.5, y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (tx, ty) = (x - x0, y - y0);
        let get = |xi: f32, yi: f32| {
            if xi < 0.0 || yi < 0.0 || xi >= self.width as f32 || yi >= self.height as f32 {
                0.0
            } else {
                self.coverage[yi as usize * self.width + xi as usize]
            }
        };
        let top = get(x0, y0) * (1.0 - tx) + get(x0 + 1.0, y0) * tx;
        let bottom = get(x0, y0 + 1.0) * (1.0 - tx) + get(x0 + 1.0, y0 + 1.0) * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// The glyph grown by `radius` pixels (a bolder weight).
    fn bolder(&self, radius: usize) -> Glyph {
        let (w, h) = (self.width + 2 * radius, self.height + 2 * radius);
        let at = |x: usize, y: usize| {
            let inside = x >= radius && y >= radius && x - radius < self.width && y - radius < self.height;
            if inside { self.coverage[(y - radius) * self.width + x - radius] } else { 0.0 }
        };
        let coverage = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let near = |d: usize, s: usize| d.saturating_sub(radius)..(d + radius + 1).min(s);
                near(y, h).flat_map(|ny| near(x, w).map(move |nx| at(nx, ny))).fold(0.0, f32::max)
            })
            .collect();
        Glyph { coverage, width: w, height: h, ..*self }
    }
}

/// The ten digits of the bundled DejaVu Sans, `size` pixels to the em.
fn font_digits(size: f32) -> Vec<Glyph> {
    let font = FontRef::try_from_slice(include_bytes!("../../assets/DejaVuSans.ttf")).unwrap();
    (0..10)
        .map(|label| {
            let ch = char::from_digit(label as u32, 10).unwrap();
            let glyph = font.glyph_id(ch).with_scale_and_position(PxScale::from(size), point(0.0, 0.0));
            let outlined = font.outline_glyph(glyph).unwrap();
            let bounds = outlined.px_bounds();
            let (width, height) = (bounds.width() as usize, bounds.height() as usize);
            let mut coverage = vec![0.0; width * height];
            outlined.draw(|x, y, c| {
                if (x as usize) < width && (y as usize) < height {
                    coverage[y as usize * width + x as usize] = c;
                }
            });
            Glyph { coverage, width, height, label, font: true }
        })
        .collect()
}

/// The first `per_class` test images of each class, as glyphs (MNIST's 28x28 with its margin).
fn mnist_digits(mnist: &Mnist, per_class: usize) -> Vec<Glyph> {
    let mut taken = [0; 10];
    let mut glyphs = Vec::new();
    for i in 0..mnist.test.len() {
        let label = mnist.test.labels[i] as usize;
        if taken[label] < per_class {
            taken[label] += 1;
            let coverage = mnist.test.image(i).iter().map(|&p| p as f32 / 255.0).collect();
            glyphs.push(Glyph { coverage, width: 28, height: 28, label, font: false });
        }
    }
    glyphs
}

/// A small deterministic generator (xorshift64*), so that the pictures are the same every run.
struct Dice(u64);

impl Dice {
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
    }

    fn between(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// Roughly normal, mean 0 and deviation 1 (the sum of four uniforms).
    fn normal(&mut self) -> f32 {
        ((0..4).map(|_| self.unit()).sum::<f32>() - 2.0) * 3f32.sqrt()
    }
}

/// How the paper looks and where the digit sits on it.
struct Scene {
    paper: f32,
    ink: f32,
    grain: f32,
    /// Light added across the picture, from one corner to the opposite.
    lighting: f32,
    /// Radians.
    rotation: f32,
    /// Horizontal shear, as an oblique face leans (handwriting leans as it was written).
    slant: f32,
    /// The digit's height as a fraction of the picture's.
    fill: f32,
    specks: usize,
}

impl Scene {
    fn roll(dice: &mut Dice, glyph: &Glyph, light_on_dark: bool) -> Scene {
        let greys = [255.0, 240.0, 225.0, 215.0, 200.0, 185.0];
        let paper = greys[(dice.unit() * greys.len() as f32) as usize % greys.len()];
        Scene {
            paper: if light_on_dark { dice.between(15.0, 70.0) } else { paper },
            ink: if light_on_dark { dice.between(200.0, 255.0) } else { dice.between(0.0, 70.0) },
            grain: dice.between(0.0, 14.0),
            lighting: dice.between(-40.0, 40.0),
            rotation: dice.between(-8.0, 8.0).to_radians(),
            slant: if glyph.font { dice.between(-0.05, 0.25) } else { 0.0 },
            fill: dice.between(0.35, 0.7),
            specks: (dice.unit() * 6.0) as usize,
        }
    }

    /// The picture of `glyph` in this scene, `width x height`, the digit off centre by up to
    /// a fifth of the margin.
    fn picture(&self, glyph: &Glyph, width: u32, height: u32, dice: &mut Dice) -> GrayImage {
        let scale = self.fill * height as f32 / glyph.height as f32;
        let (cx, cy) = (
            width as f32 / 2.0 + dice.between(-0.1, 0.1) * width as f32,
            height as f32 / 2.0 + dice.between(-0.1, 0.1) * height as f32,
        );
        let (sin, cos) = self.rotation.sin_cos();
        let specks: Vec<(f32, f32, f32)> = (0..self.specks)
            .map(|_| {
                (dice.between(0.0, width as f32), dice.between(0.0, height as f32), dice.between(0.7, 1.8))
            })
            .collect();
        let mut picture = GrayImage::new(width, height);
        for (x, y, p) in picture.enumerate_pixels_mut() {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let (gx, gy) = ((cos * dx + sin * dy) / scale, (-sin * dx + cos * dy) / scale);
            let gx = gx + self.slant * gy;
            let mut cover = glyph.at(gx + glyph.width as f32 / 2.0, gy + glyph.height as f32 / 2.0);
            if specks.iter().any(|&(sx, sy, r)| (x as f32 - sx).powi(2) + (y as f32 - sy).powi(2) <= r * r) {
                cover = 1.0;
            }
            let light = self.lighting * ((x as f32 / width as f32) + (y as f32 / height as f32) - 1.0);
            let level = self.paper * (1.0 - cover) + self.ink * cover + light + self.grain * dice.normal();
            *p = Luma([level.round().clamp(0.0, 255.0) as u8]);
        }
        picture
    }
}

/// The test pictures, each with its label: every glyph in a dark-on-light scene and, for
/// every third, a light-on-dark one too.
fn pictures(glyphs: &[Glyph]) -> Vec<(DynamicImage, usize)> {
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut pictures = Vec::new();
    for (i, glyph) in glyphs.iter().enumerate() {
        for light_on_dark in [false, true] {
            if light_on_dark && i % 3 != 0 {
                continue;
            }
            let scene = Scene::roll(&mut dice, glyph, light_on_dark);
            let (width, height) = (dice.between(90.0, 200.0) as u32, dice.between(90.0, 200.0) as u32);
            let picture = scene.picture(glyph, width, height, &mut dice);
            pictures.push((DynamicImage::ImageLuma8(picture), glyph.label));
        }
    }
    pictures
}

#[test]
fn the_default_model_reads_at_least_95_percent_of_pictures_as_people_take_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::mitbadak(&["train", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut model = load_model::<f32>(&dir.path().join("model.safetensors"), None).unwrap();

    let mnist = Mnist::load(&common::mnist_dir()).unwrap();
    let mut glyphs = mnist_digits(&mnist, 20);
    for size in [48.0, 96.0] {
        let regular = font_digits(size);
        glyphs.extend(regular.iter().map(|g| g.bolder((size / 40.0) as usize)));
        glyphs.extend(regular);
    }
    let pictures = pictures(&glyphs);
    let mut wrong = Vec::new();
    for (i, (picture, label)) in pictures.iter().enumerate() {
        let input = to_mnist(picture);
        let class = classify(model.network.as_mut(), input.pixels).unwrap().class;
        if class != *label {
            wrong.push(format!("picture {i}: {label} read as {class}"));
        }
    }
    let accuracy = 1.0 - wrong.len() as f64 / pictures.len() as f64;
    eprintln!("{} pictures, {:.1}% read right; wrong: {wrong:?}", pictures.len(), 100.0 * accuracy);
    assert!(
        accuracy >= 0.95,
        "{:.1}% of {} pictures read right: {wrong:?}",
        100.0 * accuracy,
        pictures.len()
    );
}
