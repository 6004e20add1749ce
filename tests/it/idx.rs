//! The IDX reader and the data-set loader: what they accept and what they refuse, and that
//! every refusal names the file.

use crate::common;

use std::path::Path;

use crate::common::{gzip, idx_bytes, write_dataset};
use mitbadak::data::Mnist;
use mitbadak::data::idx::read_idx;
use mitbadak::train::input_batch;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn error_of(path: &Path, ndim: usize) -> String {
    read_idx(path, ndim).unwrap_err().to_string()
}

#[test]
fn reads_raw_and_gzip_files_alike() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let raw = read_idx(&write(dir.path(), "raw", &bytes), 3).unwrap();
    let gz = read_idx(&write(dir.path(), "raw.gz", &gzip(&bytes)), 3).unwrap();
    assert_eq!(raw, gz);
    assert_eq!(raw.dims, [2, 2, 3]);
    assert_eq!(raw.data[11], 12);
}

#[test]
fn rejects_a_wrong_magic_number_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_bytes(&[1, 1, 1], &[0]);
    bytes[2] = 0x0D; // float data
    let path = write(dir.path(), "floats", &bytes);
    let message = error_of(&path, 3);
    assert!(message.starts_with(&path.display().to_string()), "{message}");
    assert!(message.contains("magic number 0x00000d03, expected 0x00000803"), "{message}");
    // labels read as images: the dimension count differs
    let labels = write(dir.path(), "labels", &idx_bytes(&[3], &[1, 2, 3]));
    assert!(error_of(&labels, 3).contains("magic number 0x00000801, expected 0x00000803"));
}

#[test]
fn rejects_truncated_files_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let short_data = write(dir.path(), "short", &idx_bytes(&[2, 2, 2], &[1, 2, 3]));
    let message = error_of(&short_data, 3);
    assert!(
        message.contains(
            "short: truncated: the header promises 8 bytes of data for dimensions [2, 2, 2], the file holds 3"
        ),
        "{message}"
    );
    let short_header = write(dir.path(), "header", &[0, 0, 8, 3, 0, 0]);
    assert!(error_of(&short_header, 3).contains("truncated IDX header: dimension 0 is missing"));
    let empty = write(dir.path(), "empty", &[]);
    assert!(error_of(&empty, 1).contains("file too short for an IDX header (0 bytes)"));
    let long = write(dir.path(), "long", &idx_bytes(&[2], &[1, 2, 3]));
    assert!(error_of(&long, 1).contains("more data than the header's dimensions [2] promise (2 bytes)"));
}

#[test]
fn rejects_bad_gzip_streams_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = gzip(&idx_bytes(&[4, 28, 28], &[7; 4 * 784]));
    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xFF;
    corrupt[middle + 1] ^= 0xFF;
    let path = write(dir.path(), "corrupt.gz", &corrupt);
    let message = error_of(&path, 3);
    assert!(message.starts_with(&path.display().to_string()), "{message}");
    assert!(message.contains("bad gzip stream") || message.contains("truncated"), "{message}");
    let cut = write(dir.path(), "cut.gz", &good[..good.len() / 2]);
    let message = error_of(&cut, 3);
    assert!(
        message.contains("cut.gz") && (message.contains("bad gzip stream") || message.contains("truncated")),
        "{message}"
    );
    let garbage = write(dir.path(), "garbage.gz", &[0x1f, 0x8b, 1, 2, 3, 4, 5]);
    assert!(error_of(&garbage, 3).contains("bad gzip stream"));
}

#[test]
fn a_header_claiming_a_huge_size_does_not_allocate_it() {
    let dir = tempfile::tempdir().unwrap();
    // 4 billion images of 4 billion pixels: the reader must fail on the missing data, not on memory
    let path = write(dir.path(), "huge", &idx_bytes(&[u32::MAX, u32::MAX, 2], &[1, 2, 3]));
    let message = error_of(&path, 3);
    assert!(message.contains("truncated") || message.contains("too large"), "{message}");
}

#[test]
fn loads_a_data_set_whose_image_size_and_classes_come_from_its_files() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), 4, 3, 5, 20, 10);
    let data = Mnist::load(dir.path()).unwrap();
    assert_eq!((data.train.len(), data.test.len(), data.classes), (20, 10, 5));
    assert_eq!(data.train.image_shape, (4, 3));
    assert_eq!(data.train.labels[7], 2);
    assert_eq!(data.train.image(7)[2], 255);
    let ((x, _), (x_test, _)) = data.arrays(true, false, true);
    assert_eq!((x.shape(), x_test.shape()), (&[20, 1, 4, 3][..], &[10, 1, 4, 3][..]));
}

#[test]
fn refuses_images_and_labels_that_disagree_in_number() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), 2, 2, 3, 6, 4);
    write(dir.path(), "t10k-labels-idx1-ubyte", &idx_bytes(&[5], &[0, 1, 2, 0, 1]));
    let message = Mnist::load(dir.path()).unwrap_err().to_string();
    assert!(message.contains("t10k-labels-idx1-ubyte: 5 labels for 4 images"), "{message}");
}

#[test]
fn names_the_missing_files_of_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), 2, 2, 3, 6, 4);
    std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
    let message = Mnist::load(dir.path()).unwrap_err().to_string();
    assert!(message.contains("missing t10k-images-idx3-ubyte (gzip or not)"), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
}

#[test]
fn the_embedded_mnist_has_the_known_counts() {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    assert_eq!(
        (data.train.len(), data.test.len(), data.classes, data.train.image_shape),
        (60000, 10000, 10, (28, 28))
    );
    let mut counts = [0usize; 10];
    data.train.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(data.train.labels[..5], [5, 0, 4, 1, 9]);
}

#[test]
fn sparse_and_dense_batches_of_a_data_set_hold_the_same_pixels() {
    use mitbadak::layers::Input;
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let indices = [0, 59_999, 7, 7, 31_337];
    let dense = data.train.batch(&indices, &[784]);
    match input_batch(&data.train, &indices, &[784]) {
        Input::Sparse(rows) => assert_eq!(rows.to_dense(), dense.as_slice().unwrap()),
        Input::Dense(_) => panic!("MNIST is sparse enough for sparse rows"),
    }
    // a network whose input has several axes gets the dense array
    assert!(
        matches!(input_batch(&data.train, &indices, &[1, 28, 28]), Input::Dense(x) if x.shape() == [5, 1, 28, 28])
    );
    assert_eq!(data.train.image(0).iter().filter(|&&p| p != 0).count(), 166);
    assert!((data.train.density() - 0.1918).abs() < 1e-3, "{}", data.train.density());
}

#[test]
fn a_subset_holds_the_chosen_images_in_order() {
    let data = Mnist::load(&common::mnist_dir()).unwrap();
    let part = data.train.subset(&[7, 0, 7]);
    assert_eq!(part.len(), 3);
    assert_eq!(part.labels, [data.train.labels[7], data.train.labels[0], data.train.labels[7]]);
    assert_eq!(part.image(1), data.train.image(0));
    assert_eq!(part.batch(&[0, 1, 2], &[784]), data.train.batch(&[7, 0, 7], &[784]));
}
