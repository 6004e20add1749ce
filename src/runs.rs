//! Run directories: `runs/<UTC time>/` as `mitbadak train` writes them (the model, its metrics
//! and its figures side by side), and finding the newest model among them.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::error::Result;

/// Where runs go when no directory is named.
pub const RUNS_DIR: &str = "runs";

/// The model file's name in a run directory.
pub const MODEL_FILE: &str = "model.safetensors";

/// The accuracy figure's file name in a run directory.
pub const ACCURACY_FILE: &str = "accuracy.png";

/// The loss figure's file name in a run directory.
pub const LOSS_FILE: &str = "loss.png";

/// The checkpoint's name in a run directory: there while the run is unfinished.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// A new run directory's path under `runs`, named by the time: `runs/2026-11-23T18-04-05Z`,
/// with `-2`, `-3` ... when that name is taken. Nothing is created.
pub fn new_run_dir(runs: &Path) -> PathBuf {
    let stamp = utc_stamp(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0));
    (1..)
        .map(|n| if n == 1 { runs.join(&stamp) } else { runs.join(format!("{stamp}-{n}")) })
        .find(|dir| !dir.exists())
        .expect("an unused name exists")
}

/// The most recently written `runs/*/model.safetensors`, or `None` when no run has one (or
/// `runs` does not exist).
///
/// **Errors** name `runs` when it exists but cannot be listed.
pub fn newest_model(runs: &Path) -> Result<Option<PathBuf>> {
    let entries = match std::fs::read_dir(runs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path: runs.to_path_buf(), source }),
    };
    let newest = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join(MODEL_FILE))
        .filter_map(|model| {
            let written = std::fs::metadata(&model).ok().filter(|m| m.is_file())?.modified().ok()?;
            Some((written, model))
        })
        .max();
    Ok(newest.map(|(_, model)| model))
}

/// Seconds since 1970 as `YYYY-MM-DDTHH-MM-SSZ` (UTC), from the civil-calendar algorithm.
fn utc_stamp(seconds: u64) -> String {
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn utc_stamp_gives_the_calendar_date() {
        assert_eq!(utc_stamp(0), "1970-01-01T00-00-00Z");
        assert_eq!(utc_stamp(951_782_400), "2000-02-29T00-00-00Z");
        assert_eq!(utc_stamp(1_795_453_445), "2026-11-23T17-04-05Z");
    }

    #[test]
    fn newest_model_is_the_last_written_and_skips_runs_without_one() {
        let runs = tempfile::tempdir().unwrap();
        assert_eq!(newest_model(&runs.path().join("absent")).unwrap(), None);
        assert_eq!(newest_model(runs.path()).unwrap(), None);
        let write = |name: &str, seconds: u64| {
            let dir = runs.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let file = std::fs::File::create(dir.join(MODEL_FILE)).unwrap();
            file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)).unwrap();
            dir.join(MODEL_FILE)
        };
        write("b-older", 1_000);
        let newest = write("a-newer", 2_000);
        std::fs::create_dir_all(runs.path().join("show")).unwrap();
        assert_eq!(newest_model(runs.path()).unwrap(), Some(newest));
    }

    #[test]
    fn new_run_dir_does_not_reuse_a_name() {
        let runs = tempfile::tempdir().unwrap();
        let first = new_run_dir(runs.path());
        std::fs::create_dir_all(&first).unwrap();
        let second = new_run_dir(runs.path());
        assert_ne!(first, second);
        assert!(second.starts_with(runs.path()));
    }
}
