//! Fuzzing with proptest (stable Rust has no cargo-fuzz): the IDX reader, the model-file
//! loader and the picture preprocessing are fed valid files with random damage, and files
//! whose headers claim what they do not hold. None may panic, an error must name the file,
//! and none may allocate what a header merely claims: a counting allocator measures the
//! peak each call reaches, on this thread.
//!
//! `PROPTEST_CASES=200000 cargo test --release --test it fuzz::` fuzzes for longer; the
//! committed default is proptest's 256 cases a target. Crashes found became the
//! `regression_*` tests at the end.

use crate::common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::path::Path;

use mitbadak::data::Mnist;
use mitbadak::data::idx::read_idx;
use mitbadak::layers::DropoutMode;
use mitbadak::model_file::model_from_bytes;
use mitbadak::nets::Trainable;
use mitbadak::nets::{
    Activation, Architecture, DropoutConfig, Head, MultiLayerNetConfig, SimpleConvNetConfig,
};
use mitbadak::preprocess::{decode_image, to_mnist};
use mitbadak::seeded_rng;
use proptest::prelude::*;
use safetensors::tensor::{Dtype, TensorView};

/// Counts the bytes this thread holds, and the most it held.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: every call goes to the system allocator unchanged; the counting touches only
// const-initialised thread-locals, which neither allocate nor need destructors.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `f`'s result and the most memory it held at once beyond what was held before, in bytes.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let result = f();
    (result, (PEAK.with(Cell::get) - before).max(0) as usize)
}

const MIB: usize = 1 << 20;

/// Random damage to a file: bytes overwritten, cut off, or added.
#[derive(Debug, Clone)]
enum Damage {
    Set(usize, u8),
    Truncate(usize),
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Damage::Set(at, byte)),
        1 => any::<usize>().prop_map(Damage::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
    ];
    prop::collection::vec(one, 0..4)
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        match d {
            Damage::Set(at, byte) if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
            Damage::Set(..) => {}
            Damage::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Damage::Append(more) => bytes.extend_from_slice(more),
        }
    }
    bytes
}

// ---- the IDX reader ------------------------------------------------------------------

/// An IDX file: a header (its dimensions small and true, or any u32 at all) and some data.
fn idx_file() -> impl Strategy<Value = (usize, Vec<u8>, bool)> {
    let dims = prop::collection::vec(prop_oneof![3 => 0u32..8, 1 => any::<u32>()], 1..4);
    (dims, prop::collection::vec(any::<u8>(), 0..600), any::<bool>(), damage()).prop_map(
        |(dims, data, gzip, damage)| {
            let ndim = dims.len();
            let bytes = apply(common::idx_bytes(&dims, &data), &damage);
            // damage before compression hits the header; after, the gzip stream
            let bytes = if gzip { common::gzip(&bytes) } else { bytes };
            (ndim, bytes, gzip)
        },
    )
}

fn check_idx(dir: &Path, ndim: usize, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = dir.join("fuzz-idx3-ubyte");
    std::fs::write(&path, bytes).unwrap();
    let (result, peak) = peak_of(|| read_idx(&path, ndim));
    match result {
        Ok(array) => {
            prop_assert_eq!(array.data.len(), array.dims.iter().product::<usize>());
        }
        Err(e) => prop_assert!(e.to_string().contains("fuzz-idx3-ubyte"), "unnamed: {}", e),
    }
    // gzip may inflate ~1000-fold; anything beyond is a claim believed
    prop_assert!(peak <= 4 * MIB + 2100 * bytes.len(), "{} bytes held for a {}-byte file", peak, bytes.len());
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_idx_reader((ndim, bytes, _gzip) in idx_file()) {
        let dir = tempfile::tempdir().unwrap();
        check_idx(dir.path(), ndim, &bytes)?;
        check_idx(dir.path(), 3, &bytes)?;
    }

    #[test]
    fn fuzz_data_set_directory(images in idx_file(), labels in idx_file()) {
        let dir = tempfile::tempdir().unwrap();
        common::write_dataset(dir.path(), 3, 2, 2, 4, 3);
        std::fs::write(dir.path().join("train-images-idx3-ubyte.gz"), &images.1).unwrap();
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), &labels.1).unwrap();
        match Mnist::load(dir.path()) {
            Ok(data) => {
                prop_assert_eq!(data.train.labels.len(), data.train.len());
                prop_assert!(data.train.sample_size() >= 1);
            }
            Err(e) => prop_assert!(e.to_string().contains("train-"), "unnamed: {}", e),
        }
    }
}

// ---- the model-file loader -----------------------------------------------------------

fn architectures() -> impl Strategy<Value = Architecture> {
    let size = 1usize..6;
    prop_oneof![
        (size.clone(), size.clone(), size.clone()).prop_map(|(input_size, hidden_size, output_size)| {
            Architecture::two_layer(input_size, hidden_size, output_size)
        }),
        (size.clone(), prop::collection::vec(size.clone(), 0..3), size.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(input_size, hidden_size_list, output_size, batch_norm, dropout)| Architecture::Mlp(
                MultiLayerNetConfig {
                    input_size,
                    hidden_size_list,
                    output_size,
                    activation: Activation::Sigmoid,
                    head: Head::SoftmaxCrossEntropy,
                    use_batchnorm: batch_norm,
                    dropout: dropout.then_some(DropoutConfig { ratio: 0.5, mode: DropoutMode::Inverted }),
                }
            )),
        (1usize..3, 3usize..9, 1usize..4, 1usize..3).prop_map(|(c, side, filter_size, stride)| {
            Architecture::SimpleConvnet(SimpleConvNetConfig {
                input_dim: [c, side, side],
                filter_num: 2,
                filter_size,
                pad: 0,
                stride,
                hidden_size: 3,
                output_size: 2,
            })
        }),
    ]
}

/// What is done to a valid model file's parts before they are written out.
#[derive(Debug, Clone)]
enum Edit {
    /// The architecture's JSON, with every number in it replaced by this one.
    Numbers(u64),
    /// The architecture's JSON replaced by these bytes.
    Json(Vec<u8>),
    /// A tensor left out.
    Drop(usize),
    /// A tensor with another dtype (its bytes as they are, if they fit).
    Dtype(usize, u8),
    /// A tensor with another shape (its bytes cut or padded to fit).
    Shape(usize, Vec<usize>),
    /// The header's length field replaced.
    HeaderLength(u64),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let one = prop_oneof![
        prop_oneof![Just(0u64), Just(1 << 20), Just(1 << 40), Just(u64::MAX), 0u64..10]
            .prop_map(Edit::Numbers),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Edit::Json),
        any::<usize>().prop_map(Edit::Drop),
        (any::<usize>(), 0u8..14).prop_map(|(k, d)| Edit::Dtype(k, d)),
        (any::<usize>(), prop::collection::vec(0usize..7, 0..4)).prop_map(|(k, s)| Edit::Shape(k, s)),
        prop_oneof![any::<u64>(), 0u64..4096].prop_map(Edit::HeaderLength),
    ];
    prop::collection::vec(one, 0..3)
}

const DTYPES: [Dtype; 14] = [
    Dtype::BOOL,
    Dtype::U8,
    Dtype::I8,
    Dtype::I16,
    Dtype::U16,
    Dtype::F16,
    Dtype::BF16,
    Dtype::I32,
    Dtype::U32,
    Dtype::F32,
    Dtype::F64,
    Dtype::I64,
    Dtype::U64,
    Dtype::F8_E4M3,
];

fn model_bytes(architecture: &Architecture, edits: &[Edit]) -> Vec<u8> {
    let mut network = architecture.build::<f32, _>(None, &mut seeded_rng(1));
    let mut json = serde_json::to_string(architecture).unwrap().into_bytes();
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = network
        .state()
        .into_iter()
        .map(|(name, value)| {
            let bytes = value.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, Dtype::F32, value.shape().to_vec(), bytes)
        })
        .collect();
    let mut header_length = None;
    for edit in edits {
        match edit {
            Edit::Numbers(n) => {
                let text = String::from_utf8_lossy(&json).into_owned();
                let mut out = String::new();
                let mut in_number = false;
                for c in text.chars() {
                    if c.is_ascii_digit() {
                        if !in_number {
                            out.push_str(&n.to_string());
                        }
                        in_number = true;
                    } else {
                        in_number = false;
                        out.push(c);
                    }
                }
                json = out.into_bytes();
            }
            Edit::Json(bytes) => json = bytes.clone(),
            Edit::Drop(k) if !tensors.is_empty() => {
                let k = k % tensors.len();
                tensors.remove(k);
            }
            Edit::Dtype(k, d) if !tensors.is_empty() => {
                let k = k % tensors.len();
                tensors[k].1 = DTYPES[*d as usize % DTYPES.len()];
            }
            Edit::Shape(k, shape) if !tensors.is_empty() => {
                let k = k % tensors.len();
                tensors[k].2 = shape.clone();
            }
            Edit::HeaderLength(n) => header_length = Some(*n),
            _ => {}
        }
    }
    // each tensor's bytes cut or padded to what its dtype and shape need, so that the
    // file gets past safetensors' own checks and reaches ours
    for (_, dtype, shape, bytes) in &mut tensors {
        let bits = shape.iter().product::<usize>() * dtype.bitsize();
        bytes.resize(bits.div_ceil(8), 0);
    }
    let views = tensors
        .iter()
        .filter_map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).ok().map(|view| (name.clone(), view))
        })
        .collect::<Vec<_>>();
    let metadata = std::collections::HashMap::from([(
        mitbadak::model_file::ARCHITECTURE_KEY.to_string(),
        String::from_utf8_lossy(&json).into_owned(),
    )]);
    let mut bytes = safetensors::serialize(views, Some(metadata)).unwrap();
    if let Some(n) = header_length {
        bytes[..8].copy_from_slice(&n.to_le_bytes());
    }
    bytes
}

fn check_model(bytes: &[u8], architecture: Option<&Architecture>) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz.safetensors");
    let (result, peak) =
        peak_of(|| model_from_bytes::<f32>(bytes, path, architecture).map(|m| m.architecture));
    if let Err(e) = &result {
        prop_assert!(e.to_string().starts_with("fuzz.safetensors: "), "unnamed: {}", e);
    }
    // the network (values and gradients, up to 4 MiB of f32 beyond the file's) and the
    // parsed header: a few times the file
    prop_assert!(peak <= 10 * MIB + 16 * bytes.len(), "{} bytes held for a {}-byte file", peak, bytes.len());
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_model_file(
        architecture in architectures().prop_filter("buildable", |a| a.check().is_ok()),
        edits in edits(),
        damage in damage(),
    ) {
        let bytes = apply(model_bytes(&architecture, &edits), &damage);
        check_model(&bytes, None)?;
        check_model(&bytes, Some(&architecture))?;
        if edits.is_empty() && damage.is_empty() {
            prop_assert!(model_from_bytes::<f32>(&bytes, Path::new("x"), None).is_ok());
        }
    }
}

// ---- pictures for predict and serve ---------------------------------------------------

/// A small picture of random pixels, encoded in one of the formats predict reads.
fn picture() -> impl Strategy<Value = Vec<u8>> {
    let formats = prop_oneof![
        Just(image::ImageFormat::Png),
        Just(image::ImageFormat::Jpeg),
        Just(image::ImageFormat::Bmp),
        Just(image::ImageFormat::Gif),
        Just(image::ImageFormat::WebP),
        Just(image::ImageFormat::Pnm),
    ];
    (1u32..40, 1u32..40, any::<bool>(), any::<u64>(), formats).prop_map(|(w, h, alpha, seed, format)| {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        };
        let color = (alpha || format == image::ImageFormat::Gif) && format != image::ImageFormat::Jpeg;
        let picture = if color && format != image::ImageFormat::Pnm {
            image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(w, h, |_, _| {
                image::Rgba([next(), next(), next(), next()])
            }))
        } else {
            image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(w, h, |_, _| image::Luma([next()])))
        };
        let mut bytes = Vec::new();
        picture.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
        bytes
    })
}

/// A PNM header that claims any size, and a little data.
fn claiming_pnm() -> impl Strategy<Value = Vec<u8>> {
    (any::<u32>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(w, h, data)| {
        let mut bytes = format!("P5\n{w} {h}\n255\n").into_bytes();
        bytes.extend(data);
        bytes
    })
}

fn check_picture(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (result, peak) = peak_of(|| decode_image(bytes).map(|picture| to_mnist(&picture)));
    if let Ok(input) = result {
        prop_assert_eq!(input.pixels.len(), 784);
        prop_assert!(input.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    }
    // at most a 4096x4096 RGBA16 buffer (128 MiB) on a header's word, and its conversions
    prop_assert!(peak <= 400 * MIB, "{} bytes held for a {}-byte picture", peak, bytes.len());
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_picture(bytes in picture(), damage in damage()) {
        check_picture(&apply(bytes, &damage))?;
    }

    #[test]
    fn fuzz_picture_claiming_a_size(bytes in claiming_pnm()) {
        check_picture(&bytes)?;
    }
}

// ---- what the fuzzing found, kept -------------------------------------------------------

/// fuzz_idx_reader's minimal case with read_idx's old 16 MiB reservation: a label file of 8
/// bytes claiming 2^24 labels held 5.3 MB.
#[test]
fn regression_an_idx_header_s_claim_is_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = common::idx_bytes(&[1 << 24], &[]);
    let path = dir.path().join("claims-idx1-ubyte");
    std::fs::write(&path, &bytes).unwrap();
    let (result, peak) = peak_of(|| read_idx(&path, 1));
    let message = result.unwrap_err().to_string();
    assert!(message.contains("truncated: the header promises 16777216 bytes"), "{message}");
    assert!(peak < MIB, "{peak} bytes held for an 8-byte file");
}

/// Architectures a model file can claim that once panicked or aborted in the build: each
/// is refused by name, before anything is allocated.
#[test]
fn regression_architectures_that_cannot_be_built_are_refused_by_name() {
    let two_layer = Architecture::two_layer(3, 2, 2);
    let cases = [
        (
            r#"{"arch":"two-layer","input_size":3,"hidden_size":1099511627776,"output_size":2}"#,
            "holds 6597069766658 values; mitbadak builds networks of at most 2^30 values",
        ),
        (r#"{"arch":"two-layer","input_size":3,"hidden_size":2,"output_size":0}"#, "output_size is 0"),
        (
            r#"{"arch":"simple-convnet","input_dim":[1,28,28],"filter_num":30,"filter_size":5,"pad":0,"stride":0,"hidden_size":100,"output_size":10}"#,
            "stride is 0",
        ),
        (
            r#"{"arch":"simple-convnet","input_dim":[1,4,4],"filter_num":3,"filter_size":9,"pad":0,"stride":1,"hidden_size":10,"output_size":10}"#,
            "a 9x9 filter with pad 0 and stride 1 on a 4x4 input leaves less than the 2x2 its pooling needs",
        ),
        (
            r#"{"arch":"simple-convnet","input_dim":[1,4,4],"filter_num":3,"filter_size":3,"pad":9223372036854775807,"stride":1,"hidden_size":10,"output_size":10}"#,
            "leaves less than the 2x2",
        ),
        (
            r#"{"arch":"deep-convnet","input_dim":[1,2,2],"hidden_size":50,"output_size":10,"dropout":null}"#,
            "a 2x2 input is too small for DeepConvNet's three 2x2 poolings",
        ),
        (
            r#"{"arch":"mlp","input_size":3,"hidden_size_list":[2],"output_size":2,"activation":"relu","head":"softmax-cross-entropy","dropout":{"ratio":2.0,"mode":"inverted"}}"#,
            "the dropout ratio 2 is not in [0, 1)",
        ),
    ];
    for (json, expected) in cases {
        let bytes = model_bytes(&two_layer, &[Edit::Json(json.as_bytes().to_vec())]);
        let (result, peak) =
            peak_of(|| model_from_bytes::<f32>(&bytes, Path::new("m.safetensors"), None).map(drop));
        let message = result.unwrap_err().to_string();
        assert!(message.starts_with("m.safetensors: invalid architecture: "), "{message}");
        assert!(message.contains(expected), "{json}: {message}");
        assert!(peak < MIB, "{json}: {peak} bytes held");
    }
}
