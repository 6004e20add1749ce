//! One split of a data set (the training or the test images): [`Dataset`], each image kept
//! as its nonzero pixels (32 MB for MNIST, against 220 MB as `f32`), and a mini-batch
//! normalised to `f32` as it is gathered, or handed out as sparse rows.

use ndarray::{ArrayD, IxDyn};

use crate::matmul::SparseRows;
use crate::matmul::simd::{nonzero_bytes, prefetch};

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
