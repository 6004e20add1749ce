//! The bytes of a safetensors file, the same for the same tensors and metadata: a run and its
//! twin (or its resumed twin) write identical model files and checkpoints.
//!
//! `safetensors::serialize` takes the metadata as a `HashMap`, whose order changes from one
//! process to the next, so its header did too. This writer lays the file out as it does
//! (tensors by descending alignment, then by name; the header padded with spaces to a multiple
//! of 8 bytes) with the metadata's keys in sorted order:
//!
//! ```text
//! u64 (little-endian)   n, the header's length
//! n bytes               {"__metadata__":{sorted keys},"<name>":{"dtype","shape","data_offsets"},...}
//! the tensors' bytes    in the header's order
//! ```

use std::collections::{BTreeMap, BTreeSet};

use safetensors::tensor::{Dtype, TensorInfo};
use serde::ser::{SerializeMap, Serializer};

/// One tensor to write: its name, type, shape and little-endian bytes.
pub struct TensorBytes<'a> {
    /// The tensor's name (`W1`).
    pub name: String,
    /// Its element type.
    pub dtype: Dtype,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, little-endian, row-major.
    pub bytes: &'a [u8],
}

/// The bytes of a safetensors file holding `tensors` and `metadata`, the same for the same
/// arguments whatever their order. The file reads back with `safetensors::SafeTensors`.
///
/// **Errors** if a tensor's bytes are not its shape's size (a bug of the caller), or two
/// tensors share a name.
pub fn serialize_sorted(
    mut tensors: Vec<TensorBytes<'_>>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    tensors.sort_by(|a, b| b.dtype.cmp(&a.dtype).then_with(|| a.name.cmp(&b.name)));
    let mut infos = Vec::with_capacity(tensors.len());
    let mut names = BTreeSet::new();
    let mut offset = 0;
    for tensor in &tensors {
        let bits = tensor.shape.iter().product::<usize>() * tensor.dtype.bitsize();
        if bits.div_ceil(8) != tensor.bytes.len() {
            return Err(format!(
                "tensor {} of shape {:?} needs {} bytes, got {}",
                tensor.name,
                tensor.shape,
                bits.div_ceil(8),
                tensor.bytes.len()
            ));
        }
        if !names.insert(tensor.name.as_str()) {
            return Err(format!("two tensors are named {}", tensor.name));
        }
        let data_offsets = (offset, offset + tensor.bytes.len());
        infos.push((
            tensor.name.as_str(),
            TensorInfo { dtype: tensor.dtype, shape: tensor.shape.clone(), data_offsets },
        ));
        offset = data_offsets.1;
    }
    let mut header = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut header);
    let mut map = serializer.serialize_map(Some(infos.len() + 1)).map_err(|e| e.to_string())?;
    if !metadata.is_empty() {
        map.serialize_entry("__metadata__", metadata).map_err(|e| e.to_string())?;
    }
    for (name, info) in &infos {
        map.serialize_entry(name, info).map_err(|e| e.to_string())?;
    }
    map.end().map_err(|e| e.to_string())?;
    header.resize(header.len().next_multiple_of(8), b' ');

    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for tensor in &tensors {
        bytes.extend_from_slice(tensor.bytes);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use safetensors::tensor::{SafeTensors, TensorView};

    use super::*;

    fn tensors<'a>(w: &'a [u8], b: &'a [u8], loss: &'a [u8]) -> Vec<TensorBytes<'a>> {
        vec![
            TensorBytes { name: "W1".into(), dtype: Dtype::F32, shape: vec![2, 3], bytes: w },
            TensorBytes { name: "training/loss".into(), dtype: Dtype::F64, shape: vec![2], bytes: loss },
            TensorBytes { name: "b1".into(), dtype: Dtype::F32, shape: vec![3], bytes: b },
        ]
    }

    #[test]
    fn the_bytes_are_safetensors_own_with_the_metadata_in_order() {
        let w: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let b: Vec<u8> = [0.5f32, 1.5, 2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let loss: Vec<u8> = [2.3f64, 2.1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let metadata: BTreeMap<String, String> =
            (0..20).map(|i| (format!("key{i}"), format!("value {i}"))).collect();
        let ours = serialize_sorted(tensors(&w, &b, &loss), &metadata).unwrap();
        let mut shuffled = tensors(&w, &b, &loss);
        shuffled.reverse();
        assert!(serialize_sorted(shuffled, &metadata).unwrap() == ours);

        // safetensors' own writer gives the same bytes when its HashMap has one order only
        let one = BTreeMap::from([("format".to_string(), "mitbadak".to_string())]);
        let views = tensors(&w, &b, &loss)
            .into_iter()
            .map(|t| (t.name, TensorView::new(t.dtype, t.shape, t.bytes).unwrap()));
        let theirs = safetensors::serialize(views, Some(HashMap::from_iter(one.clone()))).unwrap();
        assert!(serialize_sorted(tensors(&w, &b, &loss), &one).unwrap() == theirs);

        let read = SafeTensors::deserialize(&ours).unwrap();
        assert_eq!(read.tensor("b1").unwrap().data(), &b[..]);
        assert_eq!(read.tensor("training/loss").unwrap().data(), &loss[..]);
        let (_, header) = SafeTensors::read_metadata(&ours).unwrap();
        let read_metadata: BTreeMap<String, String> =
            header.metadata().clone().unwrap().into_iter().collect();
        assert_eq!(read_metadata, metadata);
    }

    #[test]
    fn a_tensor_of_the_wrong_size_is_refused() {
        let short = [0u8; 8];
        let e = serialize_sorted(tensors(&short, &short, &short), &BTreeMap::new()).err().unwrap();
        assert_eq!(e, "tensor training/loss of shape [2] needs 16 bytes, got 8");
    }
}
