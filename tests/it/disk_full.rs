//! A disk that fills up during `train`: the run stops saying which checkpoint survives and how
//! to resume, and the resumed run ends with the model an unbroken run writes. The disk is a
//! small tmpfs, which only root may mount: elsewhere the test says it was skipped.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::mitbadak;

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A tmpfs mounted at a temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", path_str(dir.path())])
            .status()
            .unwrap();
        assert!(status.success(), "root could not mount a tmpfs at {}", dir.path().display());
        SmallDisk { dir }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}"), path_str(self.dir.path())])
            .status()
            .unwrap();
        assert!(status.success(), "could not grow the tmpfs");
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_keeps_the_last_checkpoint_and_says_how_to_resume() {
    // SAFETY: geteuid has no preconditions and cannot fail
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    // 300 KiB: room for one checkpoint of the 784-50-10 network (160 KB), not for its
    // replacement written beside it before the rename
    let disk = SmallDisk::mount("300k");
    let out = disk.path().join("run");
    let args = ["train", "--iters", "1300", "--seed", "4"];
    let run = mitbadak(&[&args[..], &["--out", path_str(&out)]].concat());
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let checkpoint = out.join("checkpoint.safetensors");
    let expected = format!(
        "No space left on device (os error 28)\nthe disk is full; {} holds the run at iteration 600 of 1300: \
         free some space and resume it with `mitbadak train --resume {}`",
        checkpoint.display(),
        out.display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(checkpoint.is_file() && !out.join("model.safetensors").exists());

    disk.resize("2m");
    let resumed = mitbadak(&["train", "--resume", path_str(&out)]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stdout.contains("resuming at iteration 600"), "{}", resumed.stdout);

    let unbroken = tempfile::tempdir().unwrap();
    let run = mitbadak(&[&args[..], &["--out", path_str(unbroken.path())]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let model = |dir: &Path| std::fs::read(dir.join("model.safetensors")).unwrap();
    assert!(model(&out) == model(unbroken.path()), "the resumed run's model differs from an unbroken run's");
}
