//! Winograd's F(2x2, 3x3) against the shifted product on the 3x3 convolutions of the book's
//! DeepConvNet, one image at a time on one core: forward (`W · col`) and the `dx` product (the
//! turned filters over the padded `dout`), the best of 5 rounds of `REPS` products each, in µs,
//! with the largest difference between the two sums.
//!
//! `cargo run --release --example winograd_vs_shifted -- [REPS]` (default 400)
//!
//! Run it on a quiet machine, pinned to a core (`taskset -c 1`); `MITBADAK_ISA=avx2` holds it
//! to AVX2. Whether the layers take Winograd is `winograd_pays`'s answer, printed beside.

use std::time::Instant;

use mitbadak::matmul::shifted::{Grid, PackedRows, product, round_positions};
use mitbadak::matmul::simd::dispatch;
use mitbadak::matmul::winograd::{Planes, WinogradRows, winograd_pays};
use mitbadak::seeded_rng;
use rand::RngExt;

fn main() {
    let reps: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(400);
    let isa = dispatch();
    let mut rng = seeded_rng(1);
    println!("{isa:?}, one core, an image, best of 5 rounds of {reps}");
    println!("| product | rows x channels | output | shifted µs | Winograd µs | ratio | max diff | taken |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    // (what, rows M, channels C, input side, pad): DeepConvNet's conv2 to conv6 forward, and
    // the dx products of conv3 to conv6 (rows and channels swapped, pad 3 - 1 - pad)
    let products = [
        ("conv2 forward", 16, 16, 28, 1),
        ("conv3 forward", 32, 16, 14, 1),
        ("conv4 forward", 32, 32, 14, 2),
        ("conv5 forward", 64, 32, 8, 1),
        ("conv6 forward", 64, 64, 8, 1),
        ("conv3 dx", 16, 32, 14, 1),
        ("conv4 dx", 32, 32, 16, 0),
        ("conv5 dx", 32, 64, 8, 1),
        ("conv6 dx", 64, 64, 8, 1),
    ];
    for (what, m, c, side, pad) in products {
        let line = side + 2 * pad;
        let plane = line * line;
        let grid = Grid { lines: line - 2, width: line - 2, line };
        let span = round_positions(grid.positions());
        let offsets: Vec<usize> = (0..c * 9).map(|t| t / 9 * plane + t / 3 % 3 * line + t % 3).collect();
        // the padded planes, with the room after the last shift the product reads
        let mut x: Vec<f32> =
            (0..c * plane + 2 + span - grid.positions()).map(|_| rng.random_range(-1.0..1.0)).collect();
        for (i, v) in x.iter_mut().enumerate().take(c * plane) {
            let (y, across) = (i % plane / line, i % line);
            if y < pad || y >= line - pad || across < pad || across >= line - pad {
                *v = 0.0;
            }
        }
        let w: Vec<f32> = (0..m * c * 9).map(|_| rng.random_range(-1.0..1.0)).collect();
        let packed = PackedRows::new(isa, &w, m, c * 9);
        let winograd = WinogradRows::new_on(isa, &w, m, c);
        let planes = Planes { channels: c, plane, grid };
        let mut scratch = vec![0.0; winograd.scratch_len(planes)];
        let (mut shifted_out, mut winograd_out) = (vec![0.0; m * span], vec![0.0; m * span]);
        let best = |run: &mut dyn FnMut()| {
            let rounds = (0..5).map(|_| {
                let start = Instant::now();
                (0..reps).for_each(|_| run());
                start.elapsed().as_secs_f64() * 1e6 / f64::from(reps)
            });
            rounds.fold(f64::MAX, f64::min)
        };
        let shifted = best(&mut || product(&packed, &offsets, &x, grid, &mut shifted_out, span));
        let fast = best(&mut || winograd.product(&x, planes, &mut scratch, &mut winograd_out, span));
        let outputs = (0..m).flat_map(|row| {
            (0..grid.lines).flat_map(move |y| (0..grid.width).map(move |i| row * span + y * line + i))
        });
        let diff = outputs.map(|q| (shifted_out[q] - winograd_out[q]).abs()).fold(0.0, f32::max);
        let taken = if winograd_pays(isa, m, planes) { "yes" } else { "no" };
        let output = format!("{}x{}", grid.lines, grid.width);
        println!(
            "| {what} | {m} x {c} | {output} | {shifted:.1} | {fast:.1} | {:.2}x | {diff:.1e} | {taken} |",
            shifted / fast
        );
    }
}
