//! Reading a file with a limit fitting its kind, so that no file (a link to `/dev/zero`, a
//! pipe that never ends, a header that lies) makes a command read until memory runs out:
//! memory grows only with the bytes really read, and stops at the limit.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::Error;
use crate::error::Result;

/// The largest safetensors header read: 100 MB, safetensors' own limit.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The largest model file or checkpoint read: 16 GiB, a network of 2^30 values as `f32` with
/// Adam's two moments and the header, with room to spare.
pub const MAX_MODEL_FILE_BYTES: u64 = 16 << 30;

/// The whole of `path`, if it has at most `limit` bytes; `kind` names what it should be in
/// the error (`"a picture"`).
///
/// **Errors** name the file: it cannot be read, or it has more than `limit` bytes.
pub fn read_at_most(path: &Path, limit: u64, kind: &str) -> Result<Vec<u8>> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "it has more than {limit} bytes ({} MiB), more than {kind} takes; is it the right file?",
                limit >> 20
            ),
        });
    }
    Ok(bytes)
}

/// The bytes of a safetensors file (a model file or a checkpoint), read as far as its header
/// says it goes and at most [`MAX_MODEL_FILE_BYTES`]: the 8 bytes of the header's length, the
/// header, and the tensors' bytes the header describes (and one more, so that a file longer
/// than its header says is found out). A file whose header cannot be read is returned as far
/// as it was read, for the safetensors reader to say what is wrong with it.
///
/// **Errors** name the file: it cannot be read, its header is longer than
/// [`MAX_HEADER_BYTES`], or its tensors take more than [`MAX_MODEL_FILE_BYTES`].
pub fn read_safetensors(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let too_large = |what: String| Error::Format {
        path: path.to_path_buf(),
        message: format!("{what}: no model mitbadak writes is that large; is it the right file?"),
    };
    let mut file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    (&mut file).take(8).read_to_end(&mut bytes).map_err(io)?;
    let Ok(length) = <[u8; 8]>::try_from(bytes.as_slice()) else { return Ok(bytes) };
    let header_length = u64::from_le_bytes(length);
    if header_length > MAX_HEADER_BYTES {
        // no safetensors file has such a header (safetensors refuses them): text, or another format
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "not a safetensors model file: its first 8 bytes promise a header of {header_length} bytes, \
                 more than safetensors' limit of {MAX_HEADER_BYTES}; `mitbadak train` writes one"
            ),
        });
    }
    (&mut file).take(header_length).read_to_end(&mut bytes).map_err(io)?;
    let Some(data_length) = data_length(&bytes[8..]) else { return Ok(bytes) };
    let total = (8 + header_length).saturating_add(data_length);
    if total > MAX_MODEL_FILE_BYTES {
        return Err(too_large(format!("its header describes {total} bytes")));
    }
    file.take(data_length + 1).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// The bytes of tensor data a safetensors header describes: the largest end of its tensors'
/// `data_offsets`, or `None` if the header is not such JSON.
fn data_length(header: &[u8]) -> Option<u64> {
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header).ok()?;
    header
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(_, info)| info.get("data_offsets")?.get(1)?.as_u64())
        .try_fold(0u64, |end, tensor_end| Some(end.max(tensor_end?)))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn dev_zero_is_refused_at_once_as_a_picture_and_as_a_model() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        let started = Instant::now();
        let e = read_at_most(zero, 1 << 20, "a picture").unwrap_err().to_string();
        assert_eq!(
            e,
            "/dev/zero: it has more than 1048576 bytes (1 MiB), more than a picture takes; is it the right file?"
        );
        // a header of length 0: 8 bytes read, and the safetensors reader says what is wrong
        assert_eq!(read_safetensors(zero).unwrap(), vec![0; 8]);
        assert!(started.elapsed().as_secs_f64() < 1.0);
    }

    #[test]
    fn a_safetensors_file_is_read_as_far_as_its_header_says_and_one_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(header);
        file.extend_from_slice(&[1; 8]);
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, &file).unwrap();
        assert_eq!(read_safetensors(&path).unwrap(), file);
        let longer = [file.as_slice(), &[7; 100]].concat();
        std::fs::write(&path, &longer).unwrap();
        assert_eq!(read_safetensors(&path).unwrap(), [file.as_slice(), &[7]].concat());

        let lying = br#"{"w":{"dtype":"F32","shape":[4294967296],"data_offsets":[0,17179869184]}}"#;
        let mut file = (lying.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(lying);
        std::fs::write(&path, &file).unwrap();
        let e = read_safetensors(&path).unwrap_err().to_string();
        assert!(e.ends_with("its header describes 17179869265 bytes: no model mitbadak writes is that large; is it the right file?"), "{e}");
    }
}
