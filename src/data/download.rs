//! Downloading MNIST when no copy is found: from a public mirror, checked against the
//! SHA-256 of the decompressed files, and written atomically (nothing is left behind by a
//! download that fails or does not match).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::mnist::FILES;
use crate::Error;
use crate::atomic::write_atomic;
use crate::error::Result;

/// The mirrors tried in turn: the one the book's code uses (an S3 bucket of the PyTorch
/// project) and the CVDF one. The original site answers 403 these days.
pub const MIRRORS: [&str; 2] =
    ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"];

/// The environment variable that replaces [`MIRRORS`] with one base URL.
pub const MIRROR_ENV: &str = "MITBADAK_MNIST_MIRROR";

/// SHA-256 of each decompressed file, as `SHA256SUMS` of the checked copy gives them.
pub const SHA256: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];

/// No MNIST file is larger than this, compressed or not; a larger answer is refused.
const MAX_BYTES: u64 = 64 << 20;

/// The base URLs to try: `MITBADAK_MNIST_MIRROR` if set, else [`MIRRORS`].
pub fn default_mirrors() -> Vec<String> {
    match std::env::var(MIRROR_ENV) {
        Ok(url) if !url.is_empty() => vec![url],
        _ => MIRRORS.iter().map(|m| m.to_string()).collect(),
    }
}

/// Downloads the four `.gz` files into `dir` from the first of `mirrors` that serves each
/// one intact. `report` hears what is being fetched.
///
/// **Errors** if a file cannot be had intact from any mirror: the error lists what each
/// mirror answered. Files already downloaded stay; no partial file is left.
pub fn download_mnist(mirrors: &[String], dir: &Path, mut report: impl FnMut(&str)) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    for name in FILES {
        let target = dir.join(format!("{name}.gz"));
        let mut failures = Vec::new();
        let mut done = false;
        for base in mirrors {
            let url = format!("{}/{name}.gz", base.trim_end_matches('/'));
            report(&format!("downloading {url}"));
            match fetch_checked(&agent, &url, name) {
                Ok(bytes) => {
                    write_atomic(&target, &bytes)?;
                    done = true;
                    break;
                }
                Err(why) => failures.push(format!("{url}: {why}")),
            }
        }
        if !done {
            return Err(Error::Format {
                path: target,
                message: format!(
                    "could not download an intact copy:\n  {}\nset {MIRROR_ENV} to another mirror, \
                     or copy the four files into a directory and use --data-dir",
                    failures.join("\n  ")
                ),
            });
        }
    }
    Ok(())
}

/// GETs `url` and checks that it is the gzip of the file `name` with the expected SHA-256.
fn fetch_checked(agent: &ureq::Agent, url: &str, name: &str) -> std::result::Result<Vec<u8>, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let bytes =
        response.body_mut().with_config().limit(MAX_BYTES).read_to_vec().map_err(|e| e.to_string())?;
    let mut content = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .take(MAX_BYTES)
        .read_to_end(&mut content)
        .map_err(|e| format!("not a gzip file ({e})"))?;
    let expected = SHA256.iter().find(|(n, _)| *n == name).map(|(_, sum)| *sum).unwrap_or_default();
    let actual = hex(&Sha256::digest(&content));
    if actual != expected {
        return Err(format!("SHA-256 of the content is {actual}, expected {expected}: corrupt or not MNIST"));
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
