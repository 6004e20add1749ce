//! The fast matrix multiply against the plain triple loop, on the library's shapes and strides.

use mitbadak::matmul::{matmul, matmul_into, matmul_reference};
use mitbadak::seeded_rng;
use ndarray::{Array2, s};
use rand::RngExt;

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = seeded_rng(seed);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

fn assert_close(a: &Array2<f64>, b: &Array2<f64>, tolerance: f64) {
    assert_eq!(a.dim(), b.dim());
    let worst = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst < tolerance, "max difference {worst:e}");
}

#[test]
fn matches_the_reference_on_the_seeds_shapes() {
    for (m, k, n) in [(100, 784, 50), (100, 50, 10), (1, 3, 2), (7, 1, 5), (3, 4, 1), (300, 300, 100)] {
        let (a, b) = (random(m, k, 1), random(k, n, 2));
        assert_close(&matmul(a.view(), b.view()), &matmul_reference(a.view(), b.view()), 1e-10);
    }
}

#[test]
fn works_on_transposed_and_sliced_views() {
    let (x, dout) = (random(20, 30, 3), random(20, 7, 4));
    // dW = xᵀ · dout, dx = dout · Wᵀ
    assert_close(&matmul(x.t(), dout.view()), &matmul_reference(x.t(), dout.view()), 1e-12);
    let w = random(30, 7, 5);
    assert_close(&matmul(dout.view(), w.t()), &matmul_reference(dout.view(), w.t()), 1e-12);
    let strided = x.slice(s![..;2, 1..;3]);
    let b = random(strided.ncols(), 4, 6);
    assert_close(&matmul(strided, b.view()), &matmul_reference(strided, b.view()), 1e-12);
}

#[test]
fn accumulates_into_c_when_asked() {
    let (a, b) = (random(5, 6, 7), random(6, 3, 8));
    let mut c = Array2::ones((5, 3));
    matmul_into(a.view(), b.view(), c.view_mut(), true);
    assert_close(&c, &(matmul_reference(a.view(), b.view()) + 1.0), 1e-12);
    matmul_into(a.view(), b.view(), c.view_mut(), false);
    assert_close(&c, &matmul_reference(a.view(), b.view()), 1e-12);
}

#[test]
fn handles_empty_dimensions() {
    let c = matmul(Array2::<f32>::zeros((3, 0)).view(), Array2::zeros((0, 4)).view());
    assert_eq!(c, Array2::<f32>::zeros((3, 4)));
    assert_eq!(matmul(Array2::<f32>::zeros((0, 5)).view(), Array2::zeros((5, 4)).view()).dim(), (0, 4));
}

#[test]
#[should_panic(expected = "matmul: shapes do not chain: a (2, 3) · b (4, 5)")]
fn panics_with_the_shapes_when_they_do_not_chain() {
    matmul(Array2::<f32>::zeros((2, 3)).view(), Array2::zeros((4, 5)).view());
}

mod sparse {
    use mitbadak::matmul::simd::Isa;
    use mitbadak::matmul::{Operand, SparseRows, matmul, matmul_reference};
    use mitbadak::seeded_rng;
    use ndarray::Array2;
    use rand::RngExt;

    /// A matrix with about `density` of its entries nonzero, like MNIST pixels or ReLU outputs.
    fn sparse_matrix(rows: usize, cols: usize, density: f64, seed: u64) -> Array2<f32> {
        let mut rng = seeded_rng(seed);
        Array2::from_shape_simple_fn((rows, cols), || {
            if rng.random::<f64>() < density { rng.random_range(0.0..1.0) } else { 0.0 }
        })
    }

    fn dense(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
        let mut rng = seeded_rng(seed);
        Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
    }

    fn isas() -> Vec<Isa> {
        Isa::available()
    }

    fn assert_close(got: &Array2<f32>, want: &Array2<f32>, context: &str) {
        assert_eq!(got.dim(), want.dim(), "{context}");
        let worst = got.iter().zip(want.iter()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{context}: max difference {worst:e}");
    }

    #[test]
    fn sparse_rows_hold_exactly_the_nonzeros() {
        for (rows, cols) in [(1, 1), (3, 13), (7, 784), (4, 8)] {
            let a = sparse_matrix(rows, cols, 0.2, (rows * cols) as u64);
            for isa in isas() {
                let mut sparse = SparseRows::default();
                sparse.fill_from_on(isa, a.as_slice().unwrap(), rows, cols);
                assert_eq!(sparse.dim(), (rows, cols), "{isa:?}");
                assert_eq!(sparse.nonzeros(), a.iter().filter(|&&v| v != 0.0).count(), "{isa:?}");
                assert_eq!(sparse.to_dense(), a.as_slice().unwrap(), "{isa:?}");
            }
        }
    }

    /// Every block width (n from 1 to 100 covers 0-8 full vectors, every tail, and more than
    /// one block), k not a multiple of the vector width, and several tiles (k = 784); at
    /// m = 70 the nonzeros read each row of b 14 times over, enough for the kernel to copy b
    /// to rows that start on cache lines first (where n is not a multiple of 16).
    #[test]
    fn kernels_match_the_reference_for_every_width_and_tail() {
        for isa in isas() {
            for n in [1, 2, 7, 8, 9, 15, 16, 17, 31, 50, 63, 64, 65, 70, 100] {
                for (m, k) in [(1, 1), (3, 13), (5, 784), (70, 300)] {
                    let context = format!("{isa:?} m={m} k={k} n={n}");
                    let (a, b) = (sparse_matrix(m, k, 0.2, n as u64), dense(k, n, 7));
                    let mut sparse = SparseRows::from_dense(a.as_slice().unwrap(), m, k);
                    let want = matmul_reference(a.view(), b.view());
                    let mut c = Array2::from_elem((m, n), 9.0f32);
                    sparse.dot_into_on(isa, b.as_slice().unwrap(), n, c.as_slice_mut().unwrap(), false);
                    assert_close(&c, &want, &context);
                    sparse.dot_into_on(isa, b.as_slice().unwrap(), n, c.as_slice_mut().unwrap(), true);
                    assert_close(&c, &(&want * 2.0), &format!("{context}, accumulating"));

                    // xᵀ·dout with x: (k, m) sparse, dout: (k, n)
                    let (x, dout) = (sparse_matrix(k, m, 0.2, n as u64 + 100), dense(k, n, 8));
                    let mut sparse = SparseRows::from_dense(x.as_slice().unwrap(), k, m);
                    let want = matmul_reference(x.t(), dout.view());
                    let mut c = Array2::from_elem((m, n), 9.0f32);
                    sparse.t_dot_into_on(isa, dout.as_slice().unwrap(), n, c.as_slice_mut().unwrap(), false);
                    assert_close(&c, &want, &format!("{context}, transposed"));
                    sparse.t_dot_into_on(isa, dout.as_slice().unwrap(), n, c.as_slice_mut().unwrap(), true);
                    assert_close(&c, &(&want * 2.0), &format!("{context}, transposed, accumulating"));
                }
            }
        }
    }

    /// `xᵀ·dout` reads the nonzeros sorted by column, kept with the matrix: refilling the
    /// matrix, or adding rows (either way), must not leave the old sort in use.
    #[test]
    fn the_column_sort_follows_the_matrix_as_it_changes() {
        let (k, m, n) = (30, 20, 9);
        let dout = dense(k + 2, n, 5);
        let t_dot = |sparse: &mut SparseRows, rows: usize| {
            let mut c = Array2::zeros((m, n));
            sparse.t_dot_into(
                dout.as_slice().unwrap()[..rows * n].as_ref(),
                n,
                c.as_slice_mut().unwrap(),
                false,
            );
            c
        };
        let (a, b) = (sparse_matrix(k, m, 0.3, 1), sparse_matrix(k, m, 0.3, 2));
        let mut sparse = SparseRows::from_dense(a.as_slice().unwrap(), k, m);
        sparse.index_columns();
        let want_a = matmul_reference(a.t(), dout.slice(ndarray::s![..k, ..]));
        assert_close(&t_dot(&mut sparse, k), &want_a, "indexed first");

        sparse.fill_from(b.as_slice().unwrap(), k, m);
        let want_b = matmul_reference(b.t(), dout.slice(ndarray::s![..k, ..]));
        assert_close(&t_dot(&mut sparse, k), &want_b, "refilled after a product");

        let mut b_longer = Array2::zeros((k + 2, m));
        b_longer.slice_mut(ndarray::s![..k, ..]).assign(&b);
        sparse.push_row([(3, 0.5), (17, -2.0)]);
        (b_longer[[k, 3]], b_longer[[k, 17]]) = (0.5, -2.0);
        let want = matmul_reference(
            b_longer.slice(ndarray::s![..k + 1, ..]).t(),
            dout.slice(ndarray::s![..k + 1, ..]),
        );
        assert_close(&t_dot(&mut sparse, k + 1), &want, "a row added");

        sparse.push_bytes(&[2, 9], &[51, 255], 1.0 / 255.0);
        (b_longer[[k + 1, 2]], b_longer[[k + 1, 9]]) = (0.2, 1.0);
        assert_close(
            &t_dot(&mut sparse, k + 2),
            &matmul_reference(b_longer.t(), dout.view()),
            "a row of bytes added",
        );
    }

    #[test]
    fn matmul_takes_the_sparse_path_for_sparse_inputs_and_agrees() {
        // the seed's shapes: x·W1 and xᵀ·dout with MNIST-like input
        let (x, w1, dout) = (sparse_matrix(100, 784, 0.19, 1), dense(784, 50, 2), dense(100, 50, 3));
        assert_close(&matmul(x.view(), w1.view()), &matmul_reference(x.view(), w1.view()), "x·W1");
        assert_close(&matmul(x.t(), dout.view()), &matmul_reference(x.t(), dout.view()), "xᵀ·dout");
        let all_zero = Array2::<f32>::zeros((4, 9));
        assert_eq!(matmul(all_zero.view(), dense(9, 3, 4).view()), Array2::<f32>::zeros((4, 3)));
    }

    #[test]
    fn an_operand_gives_the_same_products_sparse_or_dense() {
        for (x, seed) in [(sparse_matrix(100, 784, 0.19, 5), 6), (dense(20, 30, 7), 8)] {
            let (w, dout) = (dense(x.ncols(), 50, seed), dense(x.nrows(), 50, seed + 1));
            let mut operand = Operand::empty(x.ncols());
            operand.set(x.clone(), 50);
            assert_close(&operand.dot(w.view()), &matmul_reference(x.view(), w.view()), "x·W");
            let mut dw = Array2::from_elem((x.ncols(), 50), 3.0f32);
            operand.t_dot_into(dout.view(), dw.view_mut());
            assert_close(&dw, &matmul_reference(x.t(), dout.view()), "xᵀ·dout");
        }
    }
}

/// The shifted products of the stride-1 convolutions, on every instruction set this CPU has,
/// against their plain loops.
mod shifted {
    use mitbadak::matmul::shifted::{
        GradientOperands, Grid, PackedRows, gradient_on, gradient_reference, product, product_reference,
        round_positions,
    };
    use mitbadak::matmul::simd::Isa;
    use mitbadak::matmul::winograd::{Planes, WinogradRows};
    use mitbadak::seeded_rng;
    use rand::RngExt;

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = seeded_rng(seed);
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// The padded planes of `channels` planes `side` wide with `pad` zeros, read by a `filter`
    /// square: their line, positions, shifts and the buffer's length for `span` positions.
    fn layout(channels: usize, side: usize, filter: usize, pad: usize) -> (usize, usize, Vec<usize>, usize) {
        let line = side + 2 * pad;
        let plane = line * line;
        let positions = (line - filter + 1) * line;
        let offsets = (0..channels * filter * filter)
            .map(|t| t / (filter * filter) * plane + t / filter % filter * line + t % filter)
            .collect();
        (line, positions, offsets, channels * plane + filter - 1 + round_positions(positions) - positions)
    }

    // (rows of a / filters, channels, side, filter, pad): DeepConvNet's and SimpleConvNet's
    // layers, and edges: rows not a multiple of a block, one channel, a wide filter
    const SHAPES: [(usize, usize, usize, usize, usize); 7] = [
        (16, 1, 28, 3, 1),
        (16, 16, 28, 3, 1),
        (32, 32, 14, 3, 2),
        (64, 64, 8, 3, 1),
        (30, 1, 28, 5, 0),
        (5, 3, 7, 3, 1),
        (1, 2, 4, 3, 2),
    ];

    #[test]
    fn products_agree_with_the_plain_loop_on_every_instruction_set() {
        // and outputs 8 and 16 wide, which 8 or 16 lanes take line by line; with the rows of
        // a, every narrower last panel on some instruction set
        let lines = [(64, 32, 8, 3, 1), (32, 16, 14, 3, 2), (7, 2, 16, 3, 1), (9, 1, 10, 3, 0)];
        for (m, c, side, filter, pad) in SHAPES.into_iter().chain(lines) {
            let (line, positions, offsets, len) = layout(c, side, filter, pad);
            let grid = Grid { lines: line - filter + 1, width: line - filter + 1, line };
            let span = round_positions(positions);
            let (a, x) = (random(m * offsets.len(), 1), random(len, 2));
            let mut want = vec![0.0; m * span];
            product_reference(&a, &offsets, &x, positions, &mut want, span);
            for isa in Isa::available() {
                let mut got = vec![f32::NAN; m * span];
                product(&PackedRows::new(isa, &a, m, offsets.len()), &offsets, &x, grid, &mut got, span);
                for (row, (got, want)) in got.chunks(span).zip(want.chunks(span)).enumerate() {
                    // every output (a NaN, a value never written, is not close either)
                    let mut outputs = (0..grid.lines).flat_map(|y| y * line..y * line + grid.width);
                    let close = outputs.all(|q| (got[q] - want[q]).abs() < 1e-4);
                    assert!(close, "{isa:?} {m}x{c} {side}x{side} pad {pad}: row {row} differs");
                }
            }
        }
    }

    #[test]
    fn winograd_agrees_with_the_plain_loop_on_every_instruction_set() {
        // 3x3 filters on outputs of whole 2x2 tiles: DeepConvNet's layers where it runs (8x8 and
        // 16x16 outputs, 4 and 8 tiles across), others (14x14, 6x6), one channel, rows not a
        // multiple of a block, and each with two lines fewer (an odd number of tile rows); the
        // scratch starts as NaNs, so that a value read before it is written shows in the outputs
        let shapes =
            [(64, 64, 8, 1), (32, 64, 8, 1), (32, 32, 14, 2), (32, 16, 14, 1), (5, 3, 6, 1), (7, 1, 6, 0)];
        for ((m, c, side, pad), fewer) in shapes.into_iter().flat_map(|shape| [(shape, 0), (shape, 2)]) {
            let (line, positions, offsets, len) = layout(c, side, 3, pad);
            let grid = Grid { lines: line - 2 - fewer, width: line - 2, line };
            let span = round_positions(positions);
            let (a, x) = (random(m * offsets.len(), 5), random(len, 6));
            let mut want = vec![0.0; m * span];
            product_reference(&a, &offsets, &x, positions, &mut want, span);
            let planes = Planes { channels: c, plane: line * line, grid };
            let context = format!("{m}x{c} {side}x{side} pad {pad}, {} lines", grid.lines);
            let mut first: Option<Vec<u32>> = None;
            for isa in Isa::available() {
                let rows = WinogradRows::new_on(isa, &a, m, c);
                let mut scratch = vec![f32::NAN; rows.scratch_len(planes)];
                let mut got = vec![f32::NAN; m * span];
                rows.product(&x, planes, &mut scratch, &mut got, span);
                for (row, (got, want)) in got.chunks(span).zip(want.chunks(span)).enumerate() {
                    let mut outputs = (0..grid.lines).flat_map(|y| y * line..y * line + grid.width);
                    let close = outputs.all(|q| (got[q] - want[q]).abs() < 1e-4 * (1.0 + want[q].abs()));
                    assert!(close, "{isa:?} {context}: row {row} differs");
                }
                // the same sums, in the same order, on every instruction set with FMA (the
                // scalar kernel rounds each product before adding it)
                if isa == Isa::Scalar {
                    continue;
                }
                let outputs = |got: &[f32]| -> Vec<u32> {
                    let lines = (0..m).flat_map(|row| (0..grid.lines).map(move |y| row * span + y * line));
                    lines
                        .flat_map(|at| {
                            got[at..at + grid.width].iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                        })
                        .collect()
                };
                let bits = outputs(&got);
                assert!(first.get_or_insert_with(|| bits.clone()) == &bits, "{isa:?} {context}: other bits");
            }
        }
    }

    #[test]
    fn gradients_agree_with_the_plain_loop_on_every_instruction_set() {
        for (m, c, side, filter, pad) in SHAPES {
            let (line, _, offsets, len) = layout(c, side, filter, pad);
            let output = (line - filter + 1, line - filter + 1);
            let m_stride = m.div_ceil(16) * 16;
            let images = 3;
            // dout rows with zeros past m, as the layer lays them out
            let mut d = random(images * output.0 * output.1 * m_stride, 3);
            d.iter_mut().enumerate().filter(|(i, _)| i % m_stride >= m).for_each(|(_, v)| *v = 0.0);
            let x = random(images * len, 4);
            let operands = GradientOperands { d: &d, m_stride, x: &x, x_image: len, images, output, line };
            let mut want = vec![0.5; offsets.len() * m_stride];
            gradient_reference(operands, &offsets, &mut want);
            for isa in Isa::available() {
                let mut got = vec![0.5; offsets.len() * m_stride];
                gradient_on(isa, operands, &offsets, &mut got);
                let close = got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-3);
                assert!(close, "{isa:?} {m}x{c} {side}x{side} pad {pad}: the gradients differ");
            }
        }
    }
}
