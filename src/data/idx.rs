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
    let mut file = IdxReader::open(path, expected_ndim)?;
    // grown as the bytes arrive, never to the size a header merely claims
    let mut data = Vec::with_capacity(file.remaining().min(1 << 16));
    let mut chunk = vec![0u8; 1 << 16];
    while file.remaining() > 0 {
        let n = file.remaining().min(chunk.len());
        file.read_exact(&mut chunk[..n])?;
        data.extend_from_slice(&chunk[..n]);
    }
    let dims = file.dims().to_vec();
    file.finish()?;
    Ok(IdxArray { dims, data })
}

/// An IDX file being read: its dimensions, then its data in pieces of the caller's choosing
/// (so that a large file can be turned into something smaller as it is read).
pub struct IdxReader {
    path: std::path::PathBuf,
    reader: Box<dyn Read + Send>,
    gzip: bool,
    dims: Vec<usize>,
    remaining: usize,
}

impl IdxReader {
    /// Opens `path` (gzip-compressed or not) and reads its header, which must describe
    /// `expected_ndim`-dimensional unsigned bytes.
    ///
    /// **Errors** as [`read_idx`].
    pub fn open(path: &Path, expected_ndim: usize) -> Result<IdxReader> {
        let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut start = [0u8; 2];
        let peeked = read_up_to(&mut reader, &mut start).map_err(|e| gzip_or_io(path, e, false))?;
        let gzip = peeked == 2 && start == GZIP_MAGIC;
        let head = std::io::Cursor::new(start[..peeked].to_vec());
        let reader: Box<dyn Read + Send> =
            if gzip { Box::new(GzDecoder::new(head.chain(reader))) } else { Box::new(head.chain(reader)) };
        Self::from_reader(path, reader, expected_ndim, gzip)
    }

    /// Reads the header from any reader; `path` names the source in errors.
    pub fn from_reader(
        path: &Path,
        mut reader: Box<dyn Read + Send>,
        expected_ndim: usize,
        gzip: bool,
    ) -> Result<IdxReader> {
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
        let remaining = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| format(format!("dimensions {dims:?} are too large")))?;
        Ok(IdxReader { path: path.to_path_buf(), reader, gzip, dims, remaining })
    }

    /// The dimensions, first the number of items.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Bytes of data not read yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Fills `buf` with the next bytes of data.
    ///
    /// **Errors** if the file ends first (it is truncated) or the gzip stream is bad.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        assert!(
            buf.len() <= self.remaining,
            "IdxReader::read_exact: {} bytes asked, {} left",
            buf.len(),
            self.remaining
        );
        let got = read_up_to(&mut self.reader, buf).map_err(|e| gzip_or_io(&self.path, e, self.gzip))?;
        if got < buf.len() {
            let total: usize = self.dims.iter().product();
            return Err(Error::Format {
                path: self.path.clone(),
                message: format!(
                    "truncated: the header promises {total} bytes of data for dimensions {:?}, the file holds {}",
                    self.dims,
                    total - self.remaining + got
                ),
            });
        }
        self.remaining -= buf.len();
        Ok(())
    }

    /// Checks that the file ends where its header says.
    ///
    /// **Errors** if there is more data than the dimensions promise.
    pub fn finish(mut self) -> Result<()> {
        let mut extra = [0u8; 1];
        if read_up_to(&mut self.reader, &mut extra).map_err(|e| gzip_or_io(&self.path, e, self.gzip))? > 0 {
            let total: usize = self.dims.iter().product();
            return Err(Error::Format {
                path: self.path,
                message: format!(
                    "more data than the header's dimensions {:?} promise ({total} bytes)",
                    self.dims
                ),
            });
        }
        Ok(())
    }
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
