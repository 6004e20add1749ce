//! The matrix products of the seed's job, on a real MNIST batch: the library's `matmul`
//! (which finds the nonzeros of MNIST's pixels and skips the zeros), the same product on
//! sparse rows found once (as `Affine` does, for its two products of a batch), the `gemm`
//! crate on the dense path, and `matrixmultiply`, the other candidate crate.
//!
//! `cargo bench --bench matmul`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mitbadak::data::Mnist;
use mitbadak::matmul::{SparseRows, gemm_into, matmul_into};
use mitbadak::seeded_rng;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::RngExt;

fn mnist_batch(rows: usize) -> Array2<f32> {
    let data = Mnist::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))
        .expect("data/mnist");
    let indices: Vec<usize> = (0..rows).collect();
    data.train.batch(&indices, &[784]).into_dimensionality().expect("(N, 784)")
}

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = seeded_rng(seed);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-0.1..0.1))
}

fn matrixmultiply_into(a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (sa, sb, sc) = (a.strides().to_vec(), b.strides().to_vec(), c.strides().to_vec());
    // SAFETY: pointers and strides of live views with chaining shapes
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa[0],
            sa[1],
            b.as_ptr(),
            sb[0],
            sb[1],
            0.0,
            c.as_mut_ptr(),
            sc[0],
            sc[1],
        );
    }
}

/// Times `a · b` three ways; `name` says which product of the job it is.
fn compare(c: &mut Criterion, name: &str, a: ArrayView2<f32>, b: ArrayView2<f32>) {
    let mut group = c.benchmark_group(name);
    let mut out = Array2::zeros((a.nrows(), b.ncols()));
    group.bench_function(BenchmarkId::new("mitbadak matmul", ""), |bench| {
        bench.iter(|| matmul_into(a, b, out.view_mut(), false))
    });
    group.bench_function(BenchmarkId::new("gemm (dense)", ""), |bench| {
        bench.iter(|| gemm_into(a, b, out.view_mut(), false))
    });
    group.bench_function(BenchmarkId::new("matrixmultiply (dense)", ""), |bench| {
        bench.iter(|| matrixmultiply_into(a, b, out.view_mut()))
    });
    group.finish();
}

/// `x·b` and `xᵀ·b` on sparse rows found once, as the first layer does.
fn sparse_rows(c: &mut Criterion, x: &Array2<f32>, w1: &Array2<f32>, dout: &Array2<f32>) {
    let mut rows = SparseRows::from_dense(x.as_slice().unwrap(), x.nrows(), x.ncols());
    let mut out = vec![0.0; x.nrows() * w1.ncols()];
    c.bench_function("x·W1 100x784x50/sparse rows found once", |b| {
        b.iter(|| rows.dot_into(w1.as_slice().unwrap(), w1.ncols(), &mut out, false))
    });
    let mut dw = vec![0.0; x.ncols() * dout.ncols()];
    rows.index_columns();
    c.bench_function("xT·dout 784x100x50/sparse rows found and sorted by column once", |b| {
        b.iter(|| rows.t_dot_into(dout.as_slice().unwrap(), dout.ncols(), &mut dw, false))
    });
    let unsorted = SparseRows::from_dense(x.as_slice().unwrap(), x.nrows(), x.ncols());
    c.bench_function("sorting the nonzeros of a batch 100x784 by column (and copying them)", |b| {
        b.iter(|| {
            let mut rows = unsorted.clone();
            rows.index_columns();
            rows
        })
    });
    c.bench_function("copying the nonzeros of a batch 100x784", |b| b.iter(|| unsorted.clone()));
    c.bench_function("finding the nonzeros of a batch 100x784", |b| {
        b.iter(|| SparseRows::from_dense(x.as_slice().unwrap(), x.nrows(), x.ncols()))
    });
}

fn products(c: &mut Criterion) {
    let x = mnist_batch(100);
    let (w1, w2) = (random(784, 50, 1), random(50, 10, 2));
    let dout1 = random(100, 50, 3);
    let z1 = random(100, 50, 4).mapv(|v| v.max(0.0)); // a ReLU output: half zeros
    let dy = random(100, 10, 5);
    sparse_rows(c, &x, &w1, &dout1);
    compare(c, "x·W1 100x784x50", x.view(), w1.view());
    compare(c, "xT·dout 784x100x50", x.t(), dout1.view());
    compare(c, "dout·W1T 100x50x784", dout1.view(), w1.t());
    compare(c, "z1·W2 100x50x10", z1.view(), w2.view());
    compare(c, "z1T·dy 50x100x10", z1.t(), dy.view());
    // SimpleConvNet's Affine after the pooling: a long sum into a small output
    let (pooled, w_conv) = (random(100, 4320, 6).mapv(|v| v.max(0.0)), random(4320, 100, 7));
    let dout_conv = random(100, 100, 8);
    compare(c, "pooled·W 100x4320x100", pooled.view(), w_conv.view());
    compare(c, "pooledT·dout 4320x100x100", pooled.t(), dout_conv.view());
    compare(c, "dout·WT 100x100x4320", dout_conv.view(), w_conv.t());
    let x_eval = mnist_batch(10_000);
    compare(c, "evaluation x·W1 10000x784x50", x_eval.view(), w1.view());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = products
}
criterion_main!(benches);
