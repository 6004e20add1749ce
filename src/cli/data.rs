//! Finding the data, and downloading it when it is nowhere.

use std::path::Path;

use anyhow::Result;
use mitbadak::data::mnist::cache_dir;
use mitbadak::data::{Dataset, Mnist};

/// Loads MNIST from `--data-dir` or the usual places; downloads it into the cache when none
/// has it (and no directory was named).
pub fn load(data_dir: Option<&Path>) -> Result<Mnist> {
    Ok(Mnist::load(&locate_or_download(data_dir)?)?)
}

/// `the Test set has images 0 to 9999`, or that it has none.
pub fn images_of(set: &Dataset, name: &str) -> String {
    match set.len() {
        0 => format!("the {name} set has no images"),
        n => format!("the {name} set has images 0 to {}", n - 1),
    }
}

#[cfg(feature = "download")]
fn locate_or_download(data_dir: Option<&Path>) -> Result<std::path::PathBuf> {
    let mut shown = DownloadProgress::new();
    let mut told = false;
    let found = mitbadak::data::download::locate_or_download(data_dir, |fetch| {
        if !told {
            told = true;
            eprintln!(
                "MNIST not found here (./data/mnist) or in the cache; downloading it into {}",
                cache_dir().display()
            );
        }
        shown.show(fetch)
    });
    shown.clear();
    Ok(found?)
}

/// The download's progress: a bar per file when standard error is a terminal, a line per
/// file otherwise.
#[cfg(feature = "download")]
struct DownloadProgress {
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
}

#[cfg(feature = "download")]
impl DownloadProgress {
    fn new() -> Self {
        use std::io::IsTerminal;
        DownloadProgress { bar: None, terminal: std::io::stderr().is_terminal() }
    }

    fn show(&mut self, fetch: mitbadak::data::download::Fetch) {
        use indicatif::{ProgressBar, ProgressStyle};
        use mitbadak::data::download::Fetch;
        match fetch {
            Fetch::Started { url, total } => {
                self.clear();
                let name = url.rsplit('/').next().unwrap_or(url);
                if !self.terminal {
                    eprintln!("  downloading {url}");
                    return;
                }
                let bar = ProgressBar::new(total.unwrap_or(0));
                bar.set_style(
                    ProgressStyle::with_template(
                        "  {msg:<28} {bar:32.cyan/blue} {bytes:>9}/{total_bytes:<9} {eta}",
                    )
                    .expect("the template is valid")
                    .progress_chars("=> "),
                );
                bar.set_message(name.to_string());
                self.bar = Some(bar);
            }
            Fetch::Received { received } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(received);
                }
            }
            Fetch::Finished => {
                if let Some(bar) = self.bar.take() {
                    bar.finish();
                }
            }
            // the error lists every mirror's answer if none serves the file
            Fetch::Failed { .. } => self.clear(),
        }
    }

    /// Takes an unfinished bar off the screen.
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(not(feature = "download"))]
fn locate_or_download(data_dir: Option<&Path>) -> Result<std::path::PathBuf> {
    mitbadak::data::mnist::locate(data_dir).map_err(|e| {
        anyhow::anyhow!(
            "{e}; this build cannot download MNIST (feature `download` is off): copy the four files into a \
             folder and run with --data-dir FOLDER, or put them in {}",
            cache_dir().display()
        )
    })
}
