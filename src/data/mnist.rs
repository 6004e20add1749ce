//! MNIST, and any IDX data set of the same layout (Fashion-MNIST, KMNIST ...).
//!
//! The images are kept as their nonzero pixels (32 MB for MNIST, against 220 MB as `f32`);
//! a mini-batch is normalised to `f32` as it is gathered. The book's `load_mnist` is here too,
//! for code that wants the whole arrays.

use std::path::{Path, PathBuf};

use ndarray::{Array1, ArrayD, IxDyn};

use super::cache;
use super::idx::{IdxArray, IdxReader, read_idx};
use crate::Error;
use crate::error::Result;
use crate::matmul::SparseRows;
use crate::matmul::simd::{nonzero_bytes, prefetch};
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

/// The largest image a data set holds: pixel positions are kept in 16 bits.
pub const MAX_IMAGE_PIXELS: usize = 1 << 16;

/// How many images ahead of the one it copies a batch asks for its pixels: far enough that
/// they arrive from memory in time, near enough that they are still in the cache when copied.
const PREFETCH_AHEAD: usize = 8;

/// One split (train or test) of a data set: each image as the positions and byte values of
/// its nonzero pixels, and the labels.
///
/// MNIST's pixels are 81% zeros, so an image is kept as its ~150 nonzero pixels, 3 bytes
/// each: 32 MB for all 70,000 images instead of 55 MB as bytes (220 MB as `f32`). A
/// mini-batch comes out as sparse rows ([`Dataset::sparse_rows`]) for a first layer that can use them, or
/// as a dense `f32` array normalised as it is gathered.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Image `i` is `position[start[i]..start[i + 1]]`, `value[start[i]..start[i + 1]]`.
    start: Vec<u32>,
    position: Vec<u16>,
    value: Vec<u8>,
    /// One class per image.
    pub labels: Vec<u8>,
    /// `(rows, cols)` of one image: `(28, 28)` for MNIST.
    pub image_shape: (usize, usize),
    /// The part of [`Dataset::fingerprint`] that hashes the pixels, when the data cache had
    /// it (the labels are public, and hashed each time).
    known_pixels_hash: Option<u64>,
}

/// Two splits are equal when they hold the same images and labels.
impl PartialEq for Dataset {
    fn eq(&self, other: &Self) -> bool {
        (&self.start, &self.position, &self.value, &self.labels, self.image_shape)
            == (&other.start, &other.position, &other.value, &other.labels, other.image_shape)
    }
}

impl Eq for Dataset {}

impl Dataset {
    /// An empty split of images of `image_shape` (at most [`MAX_IMAGE_PIXELS`] pixels).
    ///
    /// **Panics** if the images are larger.
    pub fn new(image_shape: (usize, usize)) -> Self {
        assert!(
            image_shape.0 * image_shape.1 <= MAX_IMAGE_PIXELS,
            "Dataset::new: images of {image_shape:?} are too large"
        );
        Dataset::from_parts(image_shape, vec![0], Vec::new(), Vec::new(), Vec::new())
    }

    /// A split from its arrays, as [`Dataset::parts`] gives them (the data cache's).
    pub(crate) fn from_parts(
        image_shape: (usize, usize),
        start: Vec<u32>,
        position: Vec<u16>,
        value: Vec<u8>,
        labels: Vec<u8>,
    ) -> Self {
        Dataset { start, position, value, labels, image_shape, known_pixels_hash: None }
    }

    /// Where each image starts, and the positions and values of all nonzero pixels.
    pub(crate) fn parts(&self) -> (&[u32], &[u16], &[u8]) {
        (&self.start, &self.position, &self.value)
    }

    /// The bytes the arrays take.
    pub(crate) fn stored_bytes(&self) -> usize {
        4 * self.start.len() + 3 * self.position.len() + self.labels.len()
    }

    /// Takes `hash` as this split's [`Dataset::pixels_hash`], as the data cache recorded it.
    pub(crate) fn set_known_pixels_hash(&mut self, hash: u64) {
        self.known_pixels_hash = Some(hash);
    }

    /// Appends whole images, given as their pixels in row-major order.
    ///
    /// **Panics** if `pixels` is not a whole number of images.
    pub fn push_images(&mut self, pixels: &[u8]) {
        let size = self.sample_size();
        assert_eq!(pixels.len() % size.max(1), 0, "push_images: not a whole number of {size}-pixel images");
        for image in pixels.chunks_exact(size.max(1)) {
            nonzero_bytes(image, &mut self.position, &mut self.value);
            self.start.push(self.position.len() as u32);
        }
        self.known_pixels_hash = None;
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixels per image.
    pub fn sample_size(&self) -> usize {
        self.image_shape.0 * self.image_shape.1
    }

    /// The fraction of pixels that are not 0.
    pub fn density(&self) -> f64 {
        self.position.len() as f64 / (self.len() * self.sample_size()).max(1) as f64
    }

    /// The nonzero pixels of image `i`: positions and values.
    fn pixels_of(&self, i: usize) -> (&[u16], &[u8]) {
        let range = self.start[i] as usize..self.start[i + 1] as usize;
        (&self.position[range.clone()], &self.value[range])
    }

    /// The pixels of image `i`, row-major.
    ///
    /// **Panics** if `i >= len()`.
    pub fn image(&self, i: usize) -> Vec<u8> {
        let mut image = vec![0; self.sample_size()];
        let (positions, values) = self.pixels_of(i);
        for (&p, &v) in positions.iter().zip(values) {
            image[p as usize] = v;
        }
        image
    }

    /// Writes images `indices` into `out` as `f32`: divided by 255 when `normalize`, else 0..255.
    ///
    /// **Panics** if `out.len() != indices.len() · sample_size()` or an index is out of range.
    pub fn gather(&self, indices: &[usize], normalize: bool, out: &mut [f32]) {
        let size = self.sample_size();
        assert_eq!(
            out.len(),
            indices.len() * size,
            "gather: out holds {} values, not {} images",
            out.len(),
            indices.len()
        );
        let scale = if normalize { 1.0 / 255.0 } else { 1.0 };
        out.fill(0.0);
        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(size)) {
            let (positions, values) = self.pixels_of(i);
            for (&p, &v) in positions.iter().zip(values) {
                row[p as usize] = v as f32 * scale;
            }
        }
    }

    /// A batch `(N, ...)` of images `indices` as a dense array shaped `[N] + sample_shape`,
    /// normalised to [0, 1].
    pub fn batch(&self, indices: &[usize], sample_shape: &[usize]) -> ArrayD<f32> {
        let mut shape = vec![indices.len()];
        shape.extend_from_slice(sample_shape);
        let mut x = ArrayD::zeros(IxDyn(&shape));
        self.gather(indices, true, x.as_slice_mut().expect("a new array is contiguous"));
        x
    }

    /// Images `indices` as sparse rows `(N, D)`: the positions and values of their nonzero
    /// pixels, normalised to [0, 1]. Whether a batch goes sparse or dense is the trainer's
    /// decision ([`crate::train::input_batch`]).
    pub fn sparse_rows(&self, indices: &[usize]) -> SparseRows {
        let nonzeros = indices.iter().map(|&i| (self.start[i + 1] - self.start[i]) as usize).sum();
        let mut rows = SparseRows::with_capacity(self.sample_size(), indices.len(), nonzeros);
        for (k, &i) in indices.iter().enumerate() {
            if let Some(&ahead) = indices.get(k + PREFETCH_AHEAD) {
                let (positions, values) = self.pixels_of(ahead);
                prefetch(positions);
                prefetch(values);
            }
            let (positions, values) = self.pixels_of(i);
            rows.push_bytes(positions, values, 1.0 / 255.0);
        }
        rows
    }

    /// Images `indices`, in that order, as a split of their own: the book's `x_train[:300]`
    /// is `subset(&(0..300).collect::<Vec<_>>())`.
    ///
    /// **Panics** if an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut part = Dataset::new(self.image_shape);
        for &i in indices {
            let (positions, values) = self.pixels_of(i);
            part.position.extend_from_slice(positions);
            part.value.extend_from_slice(values);
            part.start.push(part.position.len() as u32);
            part.labels.push(self.labels[i]);
        }
        part
    }

    /// A 64-bit FNV-1a hash of the images and labels: two splits with the same fingerprint
    /// hold the same data (a checkpoint keeps it, so that a run is resumed on its own data).
    pub fn fingerprint(&self) -> u64 {
        fnv1a(self.pixels_hash(), self.labels.iter().copied())
    }

    /// The fingerprint's hash as far as the pixels, before the labels are hashed onto it
    /// (the data cache's, when it had it).
    pub(crate) fn pixels_hash(&self) -> u64 {
        if let Some(known) = self.known_pixels_hash {
            return known;
        }
        let bytes = self.start.iter().flat_map(|s| s.to_le_bytes());
        let bytes = bytes.chain(self.position.iter().flat_map(|p| p.to_le_bytes()));
        fnv1a(FNV_OFFSET_BASIS, bytes.chain(self.value.iter().copied()))
    }

    /// The labels of images `indices` as class indices.
    pub fn labels_of(&self, indices: &[usize]) -> Vec<usize> {
        indices.iter().map(|&i| self.labels[i] as usize).collect()
    }
}

/// FNV-1a's starting value.
const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// `hash` carried on over `bytes` by 64-bit FNV-1a.
fn fnv1a(hash: u64, bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(hash, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3))
}

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
        if let Some(mnist) = key.as_deref().and_then(|key| cache::read(dir, key)) {
            return Ok(mnist);
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
            let _ = cache::write(dir, &key, &mnist);
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
        if dataset.position.len() > u32::MAX as usize {
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
