//! MNIST, and any IDX data set of the same layout (Fashion-MNIST, KMNIST ...): its four
//! files read into two [`Dataset`]s (through the data cache when it has them). The book's
//! `load_mnist` is here too, for code that wants the whole arrays.

use std::path::{Path, PathBuf};

use ndarray::{Array1, ArrayD, IxDyn};

use super::cache;
pub use super::dataset::{Dataset, MAX_IMAGE_PIXELS};
use super::idx::{IdxArray, IdxReader, read_idx};
use crate::Error;
use crate::error::Result;
use crate::targets::{OwnedTargets, one_hot};

/// The four files of an IDX data set, without their `.gz`.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The environment variable that names the data directory when `--data-dir` is not given.
pub const DATA_ENV: &str = "MITBADAK_DATA";

/// Bytes read per piece as a split is read (1337 MNIST images), or one image if larger: the
/// most a header's claim makes the reader allocate before the data bears it out.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// A data set of the MNIST layout: a training and a test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training split (60,000 images for MNIST).
    pub train: Dataset,
    /// The test split (10,000 images for MNIST).
    pub test: Dataset,
    /// The number of classes: one more than the largest label.
    pub classes: usize,
    /// The directory the files were read from.
    pub dir: PathBuf,
}

impl Mnist {
    /// Reads the four IDX files (`train-images-idx3-ubyte[.gz]` ...) from `dir`, and checks
    /// that images and labels agree in number and that both splits have one image size.
    ///
    /// **Errors** name the file at fault: missing, corrupt, or not agreeing with its partner.
    pub fn load(dir: &Path) -> Result<Mnist> {
        let paths = FILES.map(|name| find_file(dir, name));
        if paths.iter().any(Option::is_none) {
            return Err(missing_files(dir));
        }
        let paths = paths.map(|p| p.expect("checked above"));
        let key = cache::key_of(&paths);
        if let Some((train, test)) = key.as_deref().and_then(|key| cache::read(dir, key)) {
            return Ok(Mnist::from_splits(train, test, dir));
        }
        let [train_images, train_labels, test_images, test_labels] = paths;
        let (train, test) = std::thread::scope(|s| {
            // the two splits decompress in parallel
            let train = s.spawn(|| split(&train_images, &train_labels));
            let test = split(&test_images, &test_labels);
            (train.join().expect("the reader thread does not panic"), test)
        });
        let (train, test) = (train?, test?);
        if train.image_shape != test.image_shape {
            return Err(Error::Format {
                path: test_images.clone(),
                message: format!(
                    "images are {:?}, the training images {:?}",
                    test.image_shape, train.image_shape
                ),
            });
        }
        let mut mnist = Mnist::from_splits(train, test, dir);
        if let Some(key) = key {
            // the cache records the pixels' hash; kept here too, for the fingerprint
            for split in [&mut mnist.train, &mut mnist.test] {
                let hash = split.pixels_hash();
                split.set_known_pixels_hash(hash);
            }
            // a directory that cannot be written only means no cache
            let _ = cache::write(dir, &key, [&mnist.train, &mnist.test]);
        }
        Ok(mnist)
    }

    /// The data set of two splits of one image size, read from `dir`: its classes are one
    /// more than the largest label of either.
    pub(crate) fn from_splits(train: Dataset, test: Dataset, dir: &Path) -> Mnist {
        let classes = train.labels.iter().chain(&test.labels).copied().max().map_or(0, |m| m as usize + 1);
        Mnist { train, test, classes, dir: dir.to_path_buf() }
    }

    /// The book's arrays: `((x_train, t_train), (x_test, t_test))` with `x` as `f32` in [0, 1]
    /// (`normalize`) or 0..255, shaped `(N, 784)` (`flatten`) or `(N, 1, 28, 28)`, and `t` as
    /// one-hot rows `(N, 10)` (`one_hot_label`) or class indices.
    pub fn arrays(&self, normalize: bool, flatten: bool, one_hot_label: bool) -> BookArrays {
        let convert = |set: &Dataset| {
            let (rows, cols) = set.image_shape;
            let shape = if flatten { vec![set.len(), rows * cols] } else { vec![set.len(), 1, rows, cols] };
            let mut x = ArrayD::zeros(IxDyn(&shape));
            let all: Vec<usize> = (0..set.len()).collect();
            set.gather(&all, normalize, x.as_slice_mut().expect("contiguous"));
            let labels: Vec<usize> = set.labels_of(&all);
            let t = if one_hot_label {
                OwnedTargets::Dense(one_hot(&labels, self.classes))
            } else {
                OwnedTargets::Classes(Array1::from(labels))
            };
            (x, t)
        };
        (convert(&self.train), convert(&self.test))
    }
}

/// `((x_train, t_train), (x_test, t_test))`, as the book's `load_mnist` returns them.
pub type BookArrays = ((ArrayD<f32>, OwnedTargets<f32>), (ArrayD<f32>, OwnedTargets<f32>));

/// The book's `load_mnist(normalize, flatten, one_hot_label)`, reading MNIST from the first
/// place that has it (see [`locate`]); where none has it, downloading it into [`cache_dir`]
/// first, as the book's does (with the `download` feature, on by default).
///
/// ```no_run
/// let ((x_train, t_train), (x_test, t_test)) = mitbadak::data::load_mnist(true, true, false)?;
/// assert_eq!(x_train.shape(), &[60000, 784]);
/// # Ok::<(), mitbadak::Error>(())
/// ```
pub fn load_mnist(normalize: bool, flatten: bool, one_hot_label: bool) -> Result<BookArrays> {
    #[cfg(feature = "download")]
    let dir = super::download::locate_or_download(None, |fetch| {
        if let super::download::Fetch::Started { url, .. } = fetch {
            eprintln!("Downloading {url} ...");
        }
    })?;
    #[cfg(not(feature = "download"))]
    let dir = locate(None)?;
    Ok(Mnist::load(&dir)?.arrays(normalize, flatten, one_hot_label))
}

fn split(images: &Path, labels: &Path) -> Result<Dataset> {
    let label_array: IdxArray = read_idx(labels, 1)?;
    let mut file = IdxReader::open(images, 3)?;
    let (count, rows, cols) = (file.dims()[0], file.dims()[1], file.dims()[2]);
    if count != label_array.count() {
        return Err(Error::Format {
            path: labels.to_path_buf(),
            message: format!(
                "{} labels for {count} images in {images:?}: the two files must come from one data set",
                label_array.count()
            ),
        });
    }
    if rows * cols > MAX_IMAGE_PIXELS || rows * cols == 0 {
        return Err(Error::Format {
            path: images.to_path_buf(),
            message: format!(
                "images of {rows}x{cols} pixels: mitbadak holds images of 1 to {MAX_IMAGE_PIXELS} pixels"
            ),
        });
    }
    let mut dataset = Dataset::new((rows, cols));
    // read and made sparse a piece at a time: the whole file is never in memory as bytes
    let image_bytes = rows * cols;
    let mut piece = vec![0u8; (READ_CHUNK_BYTES / image_bytes).max(1) * image_bytes];
    while file.remaining() > 0 {
        let n = file.remaining().min(piece.len());
        file.read_exact(&mut piece[..n])?;
        dataset.push_images(&piece[..n]);
        if dataset.parts().1.len() > u32::MAX as usize {
            return Err(Error::Format {
                path: images.to_path_buf(),
                message: "more than 2^32 nonzero pixels: mitbadak holds data sets of up to that many".into(),
            });
        }
    }
    file.finish()?;
    dataset.labels = label_array.data;
    Ok(dataset)
}

fn missing_files(dir: &Path) -> Error {
    let missing: Vec<&str> = FILES.iter().copied().filter(|name| find_file(dir, name).is_none()).collect();
    Error::Format {
        path: dir.to_path_buf(),
        message: format!(
            "missing {} (gzip or not): a data directory needs the four IDX files {}; \
             point --data-dir or {DATA_ENV} at a directory that has them",
            missing.join(", "),
            FILES.join(", ")
        ),
    }
}

/// `dir/name.gz` if it exists, else `dir/name`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)].into_iter().find(|p| p.is_file())
}

/// True when `dir` holds all four files.
pub fn has_files(dir: &Path) -> bool {
    FILES.iter().all(|name| find_file(dir, name).is_some())
}

/// Where the data is read from, in order: `explicit` (`--data-dir`), the `MITBADAK_DATA`
/// variable, `data/mnist` in the current directory or the nearest one above it that has one
/// (a checkout of mitbadak, from any of its folders), the user's cache directory. The first
/// two must have the files if given; the others are tried in turn.
///
/// A program does not look in the source tree it was built from: an installed `mitbadak`
/// finds the same data wherever it was built, and downloads it into [`cache_dir`] when
/// none is found.
///
/// **Errors** if a directory named explicitly lacks the files, or none of the places has them
/// (then [`crate::data::download`] can fetch them into [`cache_dir`]).
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    let named = explicit.map(Path::to_path_buf).or_else(|| std::env::var_os(DATA_ENV).map(PathBuf::from));
    if let Some(dir) = named {
        return if has_files(&dir) { Ok(dir) } else { Err(missing_files(&dir)) };
    }
    let here = std::env::current_dir().unwrap_or_default();
    let above = here.ancestors().skip(1).map(|dir| dir.join("data/mnist"));
    let mut candidates = std::iter::once(PathBuf::from("data/mnist")).chain(above).chain([cache_dir()]);
    candidates.find(|dir| has_files(dir)).ok_or_else(|| Error::Format {
        path: cache_dir(),
        message: format!(
            "no MNIST files found in ./data/mnist (or above), {DATA_ENV} or the cache; \
             `mitbadak train` downloads them, or use --data-dir"
        ),
    })
}

/// The user's cache directory for data sets: `$XDG_CACHE_HOME/mitbadak/mnist`, else
/// `~/.cache/mitbadak/mnist` (`%LOCALAPPDATA%` on Windows).
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("mitbadak").join("mnist")
}
