//! Downloading MNIST when no copy is found: from a public mirror, checked against the
//! SHA-256 of the decompressed files, and written atomically (nothing is left behind by a
//! download that fails or does not match).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::mnist::{DATA_ENV, FILES, cache_dir, locate};
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

/// The data directory as [`locate`] finds it; where no place has MNIST and none was named
/// (`--data-dir`, `MITBADAK_DATA`), MNIST downloaded from [`default_mirrors`] into
/// [`cache_dir`], as the book's `load_mnist` downloads it on first use. `report` hears the
/// download's progress.
///
/// **Errors** as [`locate`] for a directory that was named, as [`download_mnist`] otherwise.
pub fn locate_or_download(explicit: Option<&Path>, report: impl FnMut(Fetch)) -> Result<PathBuf> {
    match locate(explicit) {
        Err(_) if explicit.is_none() && std::env::var_os(DATA_ENV).is_none() => {
            let dir = cache_dir();
            download_mnist(&default_mirrors(), &dir, report)?;
            Ok(dir)
        }
        found => found,
    }
}

/// What a download is doing, told to the caller as it happens (for a progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch<'a> {
    /// `url` answered; `total` is its length in bytes when the server said it.
    Started {
        /// The file's address.
        url: &'a str,
        /// Its length, from the `Content-Length` header.
        total: Option<u64>,
    },
    /// `received` bytes of the file so far.
    Received {
        /// Bytes received since the file started.
        received: u64,
    },
    /// The file arrived and checked out; it is on disk.
    Finished,
    /// `url` gave no intact copy (`why`); the next mirror is tried, if any.
    Failed {
        /// The file's address.
        url: &'a str,
        /// What went wrong: the server's answer, a refused connection, a wrong checksum.
        why: &'a str,
    },
}

/// Downloads the four `.gz` files into `dir` from the first of `mirrors` that serves each
/// one intact; a file already in `dir` whose content checks out is kept, not fetched again.
/// `report` hears each file start, grow, finish or fail.
///
/// **Errors** if a file cannot be had intact from any mirror: the error lists what each
/// mirror answered, and says how to use a copy from elsewhere (`--data-dir`). Files already
/// downloaded stay; no partial file is left.
pub fn download_mnist(mirrors: &[String], dir: &Path, mut report: impl FnMut(Fetch)) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    for name in FILES {
        let target = dir.join(format!("{name}.gz"));
        if std::fs::read(&target).is_ok_and(|bytes| check(&bytes, name).is_ok()) {
            continue;
        }
        let mut failures = Vec::new();
        let mut done = false;
        for base in mirrors {
            let url = format!("{}/{name}.gz", base.trim_end_matches('/'));
            match fetch_checked(&agent, &url, name, &mut report) {
                Ok(bytes) => {
                    write_atomic(&target, &bytes)?;
                    report(Fetch::Finished);
                    done = true;
                    break;
                }
                Err(why) => {
                    report(Fetch::Failed { url: &url, why: &why });
                    failures.push(format!("{url}: {why}"));
                }
            }
        }
        if !done {
            return Err(Error::Format {
                path: target,
                message: format!(
                    "could not download an intact copy of MNIST:\n  {}\n\
                     offline? copy the four files ({}, each .gz or not) from a machine that has \
                     them (a mitbadak checkout keeps them in data/mnist) into a folder, and run \
                     with --data-dir FOLDER (or set {DATA_ENV}=FOLDER), or put them in {}; \
                     {MIRROR_ENV}=URL names another mirror",
                    failures.join("\n  "),
                    FILES.join(", "),
                    dir.display()
                ),
            });
        }
    }
    Ok(())
}

/// Bytes read from the network between two progress reports.
const READ_PIECE: usize = 64 << 10;

/// GETs `url` and checks that it is the gzip of the file `name` with the expected SHA-256.
fn fetch_checked(
    agent: &ureq::Agent,
    url: &str,
    name: &str,
    report: &mut impl FnMut(Fetch),
) -> std::result::Result<Vec<u8>, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = response.body().content_length();
    if total.is_some_and(|length| length > MAX_BYTES) {
        return Err(format!("{} bytes, more than any MNIST file", total.unwrap_or_default()));
    }
    report(Fetch::Started { url, total });
    let mut reader = response.body_mut().with_config().limit(MAX_BYTES).reader();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut piece = vec![0u8; READ_PIECE];
    loop {
        match reader.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&piece[..n]);
                report(Fetch::Received { received: bytes.len() as u64 });
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    check(&bytes, name)?;
    Ok(bytes)
}

/// Checks that `bytes` are the gzip of the MNIST file `name`, by the SHA-256 of the content.
fn check(bytes: &[u8], name: &str) -> std::result::Result<(), String> {
    let mut content = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_BYTES)
        .read_to_end(&mut content)
        .map_err(|e| format!("not a gzip file ({e})"))?;
    let expected = SHA256.iter().find(|(n, _)| *n == name).map(|(_, sum)| *sum).unwrap_or_default();
    let actual = hex(&Sha256::digest(&content));
    if actual != expected {
        return Err(format!("SHA-256 of the content is {actual}, expected {expected}: corrupt or not MNIST"));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
