//! The data cache beside a data set's `.gz` files: a second load reads it, and gets the same
//! data as the files hold; a cache that is damaged, cut short or of other files is passed over.

use std::path::Path;

use crate::common::{gzip, idx_bytes};
use mitbadak::data::Mnist;
use mitbadak::data::cache::CACHE_FILE;

/// A small data set of 5x4 images, all four files gzipped (as MNIST comes): image `i` has a
/// few nonzero pixels that depend on `i` and `seed`.
fn write_gz_dataset(dir: &Path, train: u32, test: u32, seed: u8) {
    for (prefix, count) in [("train", train), ("t10k", test)] {
        let labels: Vec<u8> = (0..count).map(|i| ((i as u8).wrapping_mul(7) ^ seed) % 10).collect();
        let images: Vec<u8> = (0..count * 20)
            .map(|p| if (p * 13 + seed as u32).is_multiple_of(5) { (p % 251 + 1) as u8 } else { 0 })
            .collect();
        let files = [
            (format!("{prefix}-images-idx3-ubyte.gz"), idx_bytes(&[count, 5, 4], &images)),
            (format!("{prefix}-labels-idx1-ubyte.gz"), idx_bytes(&[count], &labels)),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.join(name), gzip(&bytes)).unwrap();
        }
    }
}

#[test]
fn a_second_load_reads_the_cache_and_gets_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    write_gz_dataset(dir.path(), 40, 10, 1);
    let first = Mnist::load(dir.path()).unwrap();
    assert!(dir.path().join(CACHE_FILE).is_file(), "the first load writes the cache");

    // damage the compressed images, keeping the file's length and gzip trailer (the cache's
    // key): only a load that reads the cache can still succeed
    let images = dir.path().join("train-images-idx3-ubyte.gz");
    let mut gz = std::fs::read(&images).unwrap();
    let len = gz.len();
    gz[10..len - 8].fill(0xff);
    std::fs::write(&images, &gz).unwrap();
    let second = Mnist::load(dir.path()).unwrap();
    assert_eq!(second, first);
    assert_eq!(
        (second.train.fingerprint(), second.test.fingerprint()),
        (first.train.fingerprint(), first.test.fingerprint())
    );

    // the labels are public: a change to them after a cached load changes the fingerprint
    let mut relabelled = second.clone();
    relabelled.train.labels.swap(0, 1);
    assert_ne!(relabelled.train.labels, second.train.labels);
    assert_ne!(relabelled.train.fingerprint(), second.train.fingerprint());

    std::fs::remove_file(dir.path().join(CACHE_FILE)).unwrap();
    let error = Mnist::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("train-images-idx3-ubyte.gz"), "without the cache the damage shows: {error}");
}

#[test]
fn a_damaged_or_short_cache_is_passed_over_and_written_again() {
    let dir = tempfile::tempdir().unwrap();
    write_gz_dataset(dir.path(), 12, 3, 2);
    let fresh = Mnist::load(dir.path()).unwrap();
    let fingerprints = (fresh.train.fingerprint(), fresh.test.fingerprint());
    let cache_path = dir.path().join(CACHE_FILE);
    let cache = std::fs::read(&cache_path).unwrap();

    let mut damaged: Vec<Vec<u8>> = (0..cache.len()).map(|cut| cache[..cut].to_vec()).collect();
    for at in 0..cache.len() {
        let mut bytes = cache.clone();
        bytes[at] ^= 0x5a;
        damaged.push(bytes);
    }
    let mut longer = cache.clone();
    longer.push(0);
    damaged.push(longer);
    for bytes in damaged {
        std::fs::write(&cache_path, &bytes).unwrap();
        let loaded = Mnist::load(dir.path()).unwrap();
        assert_eq!(loaded, fresh, "a cache of {} bytes", bytes.len());
        assert_eq!((loaded.train.fingerprint(), loaded.test.fingerprint()), fingerprints);
        assert_eq!(std::fs::read(&cache_path).unwrap(), cache, "the cache is written again");
    }
}

#[test]
fn a_cache_of_other_files_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    write_gz_dataset(dir.path(), 30, 10, 3);
    let old = Mnist::load(dir.path()).unwrap();
    write_gz_dataset(dir.path(), 30, 10, 4); // the same sizes, other pixels and labels
    let new = Mnist::load(dir.path()).unwrap();
    assert_ne!(new, old);
    assert_ne!(new.train.labels, old.train.labels);

    std::fs::remove_file(dir.path().join(CACHE_FILE)).unwrap();
    assert_eq!(Mnist::load(dir.path()).unwrap(), new, "the same data as read from the files alone");
}
