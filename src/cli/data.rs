//! Finding the data, and downloading it when it is nowhere.

use std::path::Path;

use anyhow::{Context, Result};
use mitbadak::data::mnist::{cache_dir, locate};
use mitbadak::data::{Dataset, Mnist};

/// Loads MNIST from `--data-dir` or the usual places; downloads it into the cache when none
/// has it (and no directory was named).
pub fn load(data_dir: Option<&Path>) -> Result<Mnist> {
    let dir = match locate(data_dir) {
        Ok(dir) => dir,
        Err(not_found)
            if data_dir.is_none() && std::env::var_os(mitbadak::data::mnist::DATA_ENV).is_none() =>
        {
            download_into_cache().with_context(|| not_found.to_string())?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Mnist::load(&dir)?)
}

/// `the Test set has images 0 to 9999`, or that it has none.
pub fn images_of(set: &Dataset, name: &str) -> String {
    match set.len() {
        0 => format!("the {name} set has no images"),
        n => format!("the {name} set has images 0 to {}", n - 1),
    }
}

#[cfg(feature = "download")]
fn download_into_cache() -> Result<std::path::PathBuf> {
    use mitbadak::data::download::{default_mirrors, download_mnist};
    let dir = cache_dir();
    eprintln!("MNIST not found locally; downloading it into {}", dir.display());
    download_mnist(&default_mirrors(), &dir, |message| eprintln!("  {message}"))?;
    Ok(dir)
}

#[cfg(not(feature = "download"))]
fn download_into_cache() -> Result<std::path::PathBuf> {
    anyhow::bail!(
        "MNIST not found, and this build cannot download (feature `download` is off); put the files in {}",
        cache_dir().display()
    )
}
