//! The IDX file format of MNIST and its relatives (Fashion-MNIST, KMNIST ...), gzip or raw.
//!
//! ```text
//! magic:  0x00 0x00 <type> <ndim>      type 0x08 = unsigned byte, the only type used by MNIST
//! dims:   ndim big-endian u32          images: (count, rows, cols); labels: (count,)
//! data:   product(dims) bytes          row-major
//! ```
//!
//! The reader checks each field and reads no more than the header promises, so a file that
//! claims a huge size allocates only as much as it really holds.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::Error;
use crate::error::Result;

/// The type byte of unsigned 8-bit data.
const TYPE_U8: u8 = 0x08;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of bytes: its dimensions and its values in row-major order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, first the number of items.
    pub dims: Vec<usize>,
    /// `product(dims)` values.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// The number of items (the first dimension).
    pub fn count(&self) -> usize {
        self.dims.first().copied().unwrap_or(0)
    }
}

/// Reads an IDX file of unsigned bytes, gzip-compressed or not, and checks that it has
/// `expected_ndim` dimensions (3 for images, 1 for labels).
///
/// **Errors** name the file and say what was wrong: a missing file, a wrong magic number, a
/// bad gzip stream, a file shorter or longer than its header says.
pub fn read_idx(path: &Path, expected_ndim: usize) -> Result<IdxArray> {
    let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut start = [0u8; 2];
    let peeked = read_up_to(&mut reader, &mut start).map_err(|e| gzip_or_io(path, e, false))?;
    let is_gzip = peeked == 2 && start == GZIP_MAGIC;
    let head = std::io::Cursor::new(start[..peeked].to_vec());
    if is_gzip {
        parse(path, GzDecoder::new(head.chain(reader)), expected_ndim, true)
    } else {
        parse(path, head.chain(reader), expected_ndim, false)
    }
}

/// Parses IDX bytes from any reader; `path` names the source in errors.
pub fn parse(path: &Path, mut reader: impl Read, expected_ndim: usize, gzip: bool) -> Result<IdxArray> {
    let format = |message: String| Error::Format { path: path.to_path_buf(), message };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic).map_err(|e| gzip_or_io(path, e, gzip))?;
    if got < 4 {
        return Err(format(format!(
            "file too short for an IDX header ({got} bytes); is the download complete?"
        )));
    }
    if magic[0] != 0 || magic[1] != 0 || magic[2] != TYPE_U8 || magic[3] as usize != expected_ndim {
        return Err(format(format!(
            "not an IDX file of {expected_ndim}-dimensional unsigned bytes: magic number {:#010x}, expected {:#010x}",
            u32::from_be_bytes(magic),
            u32::from_be_bytes([0, 0, TYPE_U8, expected_ndim as u8])
        )));
    }
    let mut dims = Vec::with_capacity(expected_ndim);
    for axis in 0..expected_ndim {
        let mut dim = [0u8; 4];
        if read_up_to(&mut reader, &mut dim).map_err(|e| gzip_or_io(path, e, gzip))? < 4 {
            return Err(format(format!("truncated IDX header: dimension {axis} is missing")));
        }
        dims.push(u32::from_be_bytes(dim) as usize);
    }
    let size = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format(format!("dimensions {dims:?} are too large")))?;
    // read at most one byte more than promised: enough to notice trailing data, and never
    // an allocation of the promised size before the bytes are there
    let mut data = Vec::with_capacity(size.min(1 << 24));
    reader.take(size as u64 + 1).read_to_end(&mut data).map_err(|e| gzip_or_io(path, e, gzip))?;
    if data.len() < size {
        return Err(format(format!(
            "truncated: the header promises {size} bytes of data for dimensions {dims:?}, the file holds {}",
            data.len()
        )));
    }
    if data.len() > size {
        return Err(format(format!(
            "more data than the header's dimensions {dims:?} promise ({size} bytes)"
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Fills `buf` as far as the reader allows; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn gzip_or_io(path: &Path, e: std::io::Error, gzip: bool) -> Error {
    if gzip
        && matches!(
            e.kind(),
            std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::UnexpectedEof
        )
    {
        Error::Format {
            path: path.to_path_buf(),
            message: format!("bad gzip stream ({e}); the file is corrupt: delete it and download it again"),
        }
    } else {
        Error::Io { path: path.to_path_buf(), source: e }
    }
}
