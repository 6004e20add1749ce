//! A run directory's lock: while a run writes into a directory, a second run there is refused
//! and told which process holds it, so that two runs never mix their checkpoints, models and
//! figures.
//!
//! The lock is the file `run.lock` holding the process's id, and an exclusive `flock` on it.
//! The kernel releases the `flock` when the process ends in any way (an error, Ctrl-C, a
//! crash, SIGKILL), so a lock file left by a process that died is simply taken over; a run
//! that ends normally removes it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::error::Result;

/// The lock's file name in a run directory.
pub const LOCK_FILE: &str = "run.lock";

/// A run directory held by this process; dropping it releases the directory.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    /// Open for as long as the lock is held: the `flock` lives with it.
    _file: File,
}

impl RunLock {
    /// Takes `dir` (which must exist) for this process, or says who has it.
    ///
    /// **Errors**: another live process holds the directory (its id is named), or the lock
    /// file cannot be created or written.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let path = dir.join(LOCK_FILE);
        let io = |source| Error::Io { path: path.clone(), source };
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            if !lock_exclusive(&file).map_err(io)? {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("process {pid}"),
                    Err(_) => "another process".into(),
                };
                return Err(Error::invalid(
                    "run directory",
                    format!(
                        "{} is in use by {holder}, which is training into it ({} holds its id): wait for it \
                         to finish, stop it, or choose another --out",
                        dir.display(),
                        path.display()
                    ),
                ));
            }
            // the file locked may have been removed by the run that held it, just before:
            // then the lock is on a name no longer there, and is taken again on a new file
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            writeln!(file, "{}", std::process::id()).map_err(io)?;
            return Ok(RunLock { path, _file: file });
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // removed while still locked, so that no other process locks the old file meanwhile
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An exclusive `flock` on `file` without waiting: `false` when another process has one.
#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a descriptor this `File` owns and keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock { Ok(false) } else { Err(e) }
}

/// Elsewhere, the standard library's lock.
#[cfg(not(unix))]
fn lock_exclusive(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_directory_is_refused_naming_the_process_and_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        let written = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(written, format!("{}\n", std::process::id()));
        // a second open file description, as a second process would have
        let e = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&format!("is in use by process {}", std::process::id())), "{e}");
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
        RunLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_lock_file_left_by_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "4000000\n").unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(lock.path()).unwrap(), format!("{}\n", std::process::id()));
    }
}
