//! A cache of a data set as [`Mnist::load`](super::Mnist::load) holds it (each image's nonzero pixels), kept
//! beside its `.gz` files: reading it takes a few tens of milliseconds, where decompressing
//! MNIST's 55 MB takes a tenth of a second. It is only a copy: when it is missing, stale,
//! unreadable or damaged in any way, the data is read from its files as if there were none
//! (and the cache written again, if the directory can be written).
//!
//! ```text
//! "mitbadak data cache 1\n"
//! key        for each of the four .gz files: its length (u64) and its last 8 bytes,
//!            gzip's CRC-32 and length of the decompressed data
//! per split  rows, cols (u32), images, nonzeros (u64), the hash of its pixels (u64), as
//!            `Dataset::fingerprint` begins
//!            start: (images + 1) × u32, position: nonzeros × u16, value: nonzeros × u8,
//!            labels: images × u8
//! crc32      of all the bytes before it
//! ```
//!
//! All numbers little-endian. The key ties the cache to the files' contents, not to their
//! names or times, so a copied directory keeps its cache and a replaced file drops it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::Crc;

use super::dataset::{Dataset, MAX_IMAGE_PIXELS};
use crate::atomic::write_atomic;

/// The cache's file name, in the data directory.
pub const CACHE_FILE: &str = ".mitbadak-data-cache";

const MAGIC: &[u8] = b"mitbadak data cache 1\n";

/// What ties a cache to the data files (each one's length and gzip trailer), or `None`
/// unless all are gzip files that can be read.
pub(crate) fn key_of(files: &[PathBuf]) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(files.len() * 16);
    for path in files {
        if path.extension().is_none_or(|e| e != "gz") {
            return None;
        }
        let mut file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut trailer = [0u8; 8];
        file.seek(SeekFrom::Start(len.checked_sub(8)?)).ok()?;
        file.read_exact(&mut trailer).ok()?;
        key.extend_from_slice(&len.to_le_bytes());
        key.extend_from_slice(&trailer);
    }
    Some(key)
}

/// The training and test splits the cache in `dir` holds for `key`, or `None` if there is no
/// such cache or it is not whole and sound.
pub(crate) fn read(dir: &Path, key: &[u8]) -> Option<(Dataset, Dataset)> {
    let file = File::open(dir.join(CACHE_FILE)).ok()?;
    let len = file.metadata().ok()?.len();
    // read a piece at a time into the arrays, without a copy of the whole file
    let mut reader = Reader { file, left: len.checked_sub(4)?, crc: Crc::new(), piece: Vec::new() };
    if reader.bytes(MAGIC.len())? != MAGIC || reader.bytes(key.len())? != key {
        return None;
    }
    let (mut train, mut test) = (reader.split()?, reader.split()?);
    let mut crc = [0u8; 4];
    reader.file.read_exact(&mut crc).ok()?;
    if reader.left != 0
        || reader.crc.sum() != u32::from_le_bytes(crc)
        || train.0.image_shape != test.0.image_shape
    {
        return None;
    }
    train.0.set_known_pixels_hash(train.1);
    test.0.set_known_pixels_hash(test.1);
    Some((train.0, test.0))
}

/// Writes the cache of the training and test `splits` for `key` into `dir`. A directory
/// that cannot be written only means no cache: the error is returned for the caller to ignore.
pub(crate) fn write(dir: &Path, key: &[u8], splits: [&Dataset; 2]) -> crate::error::Result<()> {
    let stored: usize = splits.iter().map(|split| split.stored_bytes()).sum();
    let mut bytes = Vec::with_capacity(MAGIC.len() + key.len() + stored);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(key);
    for split in splits {
        let (start, position, value) = split.parts();
        bytes.extend_from_slice(&(split.image_shape.0 as u32).to_le_bytes());
        bytes.extend_from_slice(&(split.image_shape.1 as u32).to_le_bytes());
        bytes.extend_from_slice(&(split.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&(position.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&split.pixels_hash().to_le_bytes());
        bytes.extend(start.iter().flat_map(|s| s.to_le_bytes()));
        bytes.extend(position.iter().flat_map(|p| p.to_le_bytes()));
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(&split.labels);
    }
    let mut crc = Crc::new();
    crc.update(&bytes);
    bytes.extend_from_slice(&crc.sum().to_le_bytes());
    write_atomic(&dir.join(CACHE_FILE), &bytes)
}

/// Reads the cache's fields off the file, checking every length against the bytes left
/// before anything is allocated, and keeping the CRC of all it reads.
struct Reader {
    file: File,
    left: u64,
    crc: Crc,
    piece: Vec<u8>,
}

/// Bytes read at a time.
const PIECE_BYTES: usize = 1 << 20;

impl Reader {
    /// The next `n` bytes (a field: `n` is small).
    fn bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(n);
        self.each_piece(n, 1, |bytes| out.extend_from_slice(bytes))?;
        Some(out)
    }

    /// Reads `count` items of `size` bytes, handing them to `take` a piece at a time.
    fn each_piece(&mut self, count: usize, size: usize, mut take: impl FnMut(&[u8])) -> Option<()> {
        let n = count.checked_mul(size)?;
        self.left = self.left.checked_sub(u64::try_from(n).ok()?)?;
        let mut piece = std::mem::take(&mut self.piece);
        let mut done = 0;
        while done < n {
            let len = (n - done).min(PIECE_BYTES / size * size);
            piece.resize(len, 0);
            self.file.read_exact(&mut piece).ok()?;
            self.crc.update(&piece);
            take(&piece);
            done += len;
        }
        self.piece = piece;
        Some(())
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.as_slice().try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.as_slice().try_into().ok()?))
    }

    /// One split and the hash of its pixels, if its fields hang together: each image's start within
    /// the nonzeros and after the last, its positions increasing and within the image.
    fn split(&mut self) -> Option<(Dataset, u64)> {
        let (rows, cols) = (self.u32()? as usize, self.u32()? as usize);
        let (images, nonzeros) = (usize::try_from(self.u64()?).ok()?, usize::try_from(self.u64()?).ok()?);
        let pixels_hash = self.u64()?;
        let pixels = rows.checked_mul(cols).filter(|&p| p > 0 && p <= MAX_IMAGE_PIXELS)?;
        // everything the split claims must be in the file before it is allocated
        let claimed = images
            .checked_add(1)?
            .checked_mul(4)?
            .checked_add(images)?
            .checked_add(nonzeros.checked_mul(3)?)?;
        if u64::try_from(claimed).ok()? > self.left {
            return None;
        }
        let mut start = Vec::with_capacity(images + 1);
        self.each_piece(images + 1, 4, |b| {
            start.extend(b.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        })?;
        let mut position = Vec::with_capacity(nonzeros);
        self.each_piece(nonzeros, 2, |b| {
            position.extend(b.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])))
        })?;
        let mut value = Vec::with_capacity(nonzeros);
        self.each_piece(nonzeros, 1, |b| value.extend_from_slice(b))?;
        let mut labels = Vec::with_capacity(images);
        self.each_piece(images, 1, |b| labels.extend_from_slice(b))?;
        let sound = start.first() == Some(&0)
            && start.last().is_some_and(|&end| end as usize == nonzeros)
            && start.windows(2).all(|w| {
                let Some(image) = position.get(w[0] as usize..w[1] as usize) else { return false };
                image.windows(2).all(|p| p[0] < p[1]) && image.last().is_none_or(|&p| (p as usize) < pixels)
            })
            && value.iter().all(|&v| v != 0);
        sound.then(|| (Dataset::from_parts((rows, cols), start, position, value, labels), pixels_hash))
    }
}
