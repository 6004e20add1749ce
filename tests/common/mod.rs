//! Helpers shared by the integration tests: IDX files and small data sets on disk.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;
use mitbadak::gradient::{GradientCheck, gradient_check};
use mitbadak::nets::Network;
use mitbadak::targets::AsTargets;
use ndarray::ArrayD;

/// The bytes of an IDX file of unsigned bytes with `dims` and `data`.
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// `bytes`, gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes a small data set of the MNIST layout into `dir`: `train` and `test` images of
/// `rows x cols`, labels cycling through `classes`, each image's brightest pixel at its class.
pub fn write_dataset(dir: &Path, rows: u32, cols: u32, classes: u8, train: u32, test: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, count) in [("train", train), ("t10k", test)] {
        let labels: Vec<u8> = (0..count).map(|i| (i % classes as u32) as u8).collect();
        let mut images = vec![0u8; (count * rows * cols) as usize];
        for (i, &label) in labels.iter().enumerate() {
            images[i * (rows * cols) as usize + label as usize] = 255;
        }
        let image_file = idx_bytes(&[count, rows, cols], &images);
        let label_file = idx_bytes(&[count], &labels);
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte.gz")), gzip(&image_file)).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), label_file).unwrap();
    }
}

/// The crate's embedded MNIST directory.
pub fn mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
}

/// The book's reference weights, kept in the repository under `data/reference/`.
///
/// **Panics** if the file is missing: the tests that use it must not pass without it.
pub fn reference_file(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference").join(name);
    assert!(path.is_file(), "the book's reference weights {} are missing from the checkout", path.display());
    path
}

/// Checks every parameter's backpropagated gradient against central differences, in f64:
/// a relative error under 1e-6 everywhere, and at least one parameter checked.
pub fn assert_gradients_agree(net: &mut dyn Network<f64>, x: &ArrayD<f64>, t: &dyn AsTargets<f64>) {
    let checks = gradient_check(net, x, t).unwrap();
    assert_checks_agree(net.name(), &checks);
}

/// Asserts that `checks` (of `what`) are not empty and each has a relative error under 1e-6.
pub fn assert_checks_agree(what: &str, checks: &[GradientCheck]) {
    assert!(!checks.is_empty(), "{what}: no parameter was checked");
    for c in checks {
        assert!(c.max_rel_error < 1e-6, "{what}: {} max relative error {:e}", c.name, c.max_rel_error);
    }
}

/// What a run of the binary gave.
pub struct Run {
    /// The exit code (-1 for a signal).
    pub code: i32,
    /// What it printed on standard output.
    pub stdout: String,
    /// What it printed on standard error.
    pub stderr: String,
}

/// Runs the built `mitbadak` in the crate's directory, with no `MITBADAK_DATA`.
pub fn mitbadak(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MITBADAK_DATA")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The numbers in scientific notation of `line` rounded to `digits` significant digits, the
/// rest as it is: a gradient check's differences, ~1e-13, agree in their first digits on every
/// CPU, not in all 17.
pub fn rounded(line: &str, digits: usize) -> String {
    line.split_inclusive([' ', ':', '(', ','])
        .map(|word| {
            let (number, tail) = word.split_at(word.trim_end_matches([' ', ':', '(', ',', ')']).len());
            match number.parse::<f64>() {
                Ok(value) if number.contains('e') => {
                    format!("{value:.precision$e}{tail}", precision = digits - 1)
                }
                _ => word.to_string(),
            }
        })
        .collect()
}
