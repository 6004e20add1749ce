//! What a careless user or a hostile file does to the built binary: nothing already saved is
//! lost, the same run writes the same bytes, and files, flags and labels that do not fit are
//! refused with what to do, before anything large is allocated.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Run, idx_bytes, mitbadak, write_dataset};
use mitbadak::nets::SimpleConvNetConfig;

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn assert_fails(run: &Run, says: &str) {
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(says), "expected {says:?} in {}", run.stderr);
}

/// A short run of the book's ch05/train_neuralnet.py job into `out`.
fn short_run(out: &Path, extra: &[&str]) -> Run {
    let args: Vec<&str> = ["train", "--iters", "30", "--seed", "3", "--out", path_str(out)]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    mitbadak(&args)
}

/// The binary started with `args`, its output thrown away.
fn spawn_quiet(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MITBADAK_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_finished_run_is_replaced_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_eq!(short_run(&out, &[]).code, 0);
    let model = std::fs::read(out.join("model.safetensors")).unwrap();
    let again = short_run(&out, &[]);
    assert_fails(
        &again,
        "holds a finished run (model.safetensors, metrics.csv, accuracy.png, loss.png): choose another --out, \
         or add --overwrite to replace it",
    );
    assert!(std::fs::read(out.join("model.safetensors")).unwrap() == model, "the finished run was touched");
    let replaced = mitbadak(&["train", "--iters", "20", "--out", path_str(&out), "--overwrite"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    let metadata = mitbadak::model_file::read_metadata(&out.join("model.safetensors")).unwrap();
    assert_eq!(metadata["iterations"], "20");
}

#[test]
fn two_runs_into_one_directory_are_refused_while_the_first_lives_and_its_lock_is_taken_over_after() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut first = spawn_quiet(&["train", "--iters", "1000000", "--out", path_str(&out)]);
    let lock = out.join("run.lock");
    let started = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |pid| pid.trim().is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(60), "no run.lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = mitbadak(&["train", "--iters", "30", "--out", path_str(&out)]);
    assert_fails(
        &second,
        &format!("{} is in use by process {}, which is training into it", out.display(), first.id()),
    );
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(first.id() as libc::pid_t, libc::SIGKILL) }, 0);
    first.wait().unwrap();
    assert!(lock.exists(), "SIGKILL leaves the lock file behind");
    let _ = std::fs::remove_file(out.join("checkpoint.safetensors"));
    let third = mitbadak(&["train", "--iters", "30", "--out", path_str(&out)]);
    assert_eq!(third.code, 0, "a dead process's lock is taken over: {}", third.stderr);
    assert!(!lock.exists(), "a finished run releases its directory");
}

#[test]
fn the_same_run_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let run = short_run(out, &["--arch", "mlp", "--hidden", "20,20", "--batch-norm"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    for file in ["model.safetensors", "metrics.csv"] {
        let (x, y) = (std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap());
        assert!(x == y, "{file} differs between two identical runs");
    }
    mitbadak::model_file::load_model::<f32>(&a.join("model.safetensors"), None).unwrap();
}

/// A data set of 28x28 images in `dir` whose training labels are the usual 0 to 9 but for
/// image 7, labelled `stray`.
fn data_with_a_stray_label(dir: &Path, stray: u8) -> PathBuf {
    write_dataset(dir, 28, 28, 10, 100, 20);
    let mut labels: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
    labels[7] = stray;
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_bytes(&[100], &labels)).unwrap();
    dir.to_path_buf()
}

#[test]
fn labels_and_test_sets_that_do_not_fit_are_said_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stray = data_with_a_stray_label(&dir.path().join("stray"), 200);
    let run = mitbadak(&[
        "train",
        "--iters",
        "5",
        "--data-dir",
        path_str(&stray),
        "--out",
        path_str(&dir.path().join("r1")),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("100 training and 20 test images of 28x28, 201 classes"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "warning: the labels go from 0 to 200, so the network gets 201 classes, where MNIST has 10"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("warning: 190 of the 201 classes have no training image"), "{}", run.stderr);

    // a model of 10 classes on test labels up to 11
    let model = dir.path().join("r2");
    assert_eq!(mitbadak(&["train", "--iters", "5", "--out", path_str(&model)]).code, 0);
    let twelve = dir.path().join("twelve");
    write_dataset(&twelve, 28, 28, 12, 24, 24);
    let model_file = model.join("model.safetensors");
    let run = mitbadak(&["eval", "--model", path_str(&model_file), "--data-dir", path_str(&twelve)]);
    assert_fails(
        &run,
        "invalid label: image 10 is labelled 10, but the network has 10 classes (0 to 9); 4 labels are outside them",
    );

    let empty = dir.path().join("empty");
    write_dataset(&empty, 28, 28, 10, 20, 0);
    let run = mitbadak(&["eval", "--model", path_str(&model_file), "--data-dir", path_str(&empty)]);
    assert_fails(&run, "the set has no images: there is no accuracy to measure");
    let run = mitbadak(&[
        "train",
        "--iters",
        "5",
        "--data-dir",
        path_str(&empty),
        "--out",
        path_str(&dir.path().join("r3")),
    ]);
    assert_fails(&run, "the test set has no images");
}

#[test]
fn flags_do_not_overflow() {
    let run = mitbadak(&["train", "--epochs", "30744573456182587"]);
    assert_fails(
        &run,
        "--epochs 30744573456182587 at 600 iterations per epoch is more iterations than can be counted",
    );
    let run = mitbadak(&["train", "--arch", "two-layer", "--hidden", "1350000"]);
    assert_fails(&run, "TwoLayerNet 784-1350000-10 (ReLU) needs about 44.1 GiB to train with batches of 100");
}

#[test]
fn dev_zero_and_missing_files_are_refused_at_once_each_cause_said_once() {
    let started = Instant::now();
    let run = mitbadak(&["eval", "--model", "/dev/zero"]);
    assert_fails(&run, "/dev/zero: not a safetensors model file");
    let run = mitbadak(&["predict", "--model", "/dev/zero", "--index", "0"]);
    assert_fails(&run, "/dev/zero: not a safetensors model file");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("run");
    assert_eq!(mitbadak(&["train", "--iters", "5", "--out", path_str(&model)]).code, 0);
    let run = mitbadak(&["predict", "--model", path_str(&model.join("model.safetensors")), "/dev/zero"]);
    assert_fails(
        &run,
        "/dev/zero: it has more than 67108864 bytes (64 MiB), more than a picture of a digit takes",
    );
    assert!(started.elapsed() < Duration::from_secs(30));

    let run = mitbadak(&["eval", "--model", "/nonexistent/model.safetensors"]);
    assert_fails(&run, "/nonexistent/model.safetensors: No such file or directory (os error 2)");
    assert_eq!(run.stderr.matches("(os error 2)").count(), 1, "{}", run.stderr);
}

#[test]
fn non_finite_weights_are_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_eq!(mitbadak(&["train", "--iters", "5", "--out", path_str(&out)]).code, 0);
    let model = out.join("model.safetensors");
    let mut bytes = std::fs::read(&model).unwrap();
    // the fourth value of b2
    let offset = {
        let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        tensors.tensor("b2").unwrap().data().as_ptr() as usize - bytes.as_ptr() as usize + 4 * 3
    };
    bytes[offset..offset + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&model, &bytes).unwrap();
    for args in [&["eval", "--model"][..], &["predict", "--index", "0", "--model"]] {
        let run = mitbadak(&[args, &[path_str(&model)]].concat());
        assert_fails(&run, "tensor b2 holds 1 values that are not finite numbers, the first NaN at index 3");
    }
}

/// The peak memory (the largest resident set, in KiB) of a run of the binary, and how it ended.
#[allow(clippy::zombie_processes, reason = "waited for with wait4(2), which gives its peak memory")]
fn peak_memory_kib(args: &[&str]) -> (i32, u64) {
    let child = spawn_quiet(args);
    let mut status = 0;
    // SAFETY: wait4(2) on our own child, with a zeroed rusage it fills.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(
            libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage),
            child.id() as libc::pid_t
        );
        usage
    };
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64)
}

#[test]
fn a_wide_padding_is_evaluated_within_the_activation_budget() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data, 28, 28, 10, 20, 200);
    // the file of a hostile run: one filter, a padding of 486 on each side making each 28x28
    // image 1000x1000, so 996x996 outputs of 4 MB an image
    let architecture =
        SimpleConvNetConfig { pad: 486, filter_num: 1, hidden_size: 1, ..Default::default() }.architecture();
    let mut network = architecture.build::<f32, _>(None, &mut mitbadak::seeded_rng(0));
    let model = dir.path().join("pad-486.safetensors");
    mitbadak::model_file::save_model(network.as_mut(), &model, &Default::default()).unwrap();
    let (code, peak) = peak_memory_kib(&["eval", "--model", path_str(&model), "--data-dir", path_str(&data)]);
    assert_eq!(code, 0);
    println!("eval of a SimpleConvNet with pad 486 on 200 images: peak {} MiB", peak >> 10);
    // 28 images at once (about 500 MB of activations), not all 200 (or 500 of MNIST's 10,000)
    assert!(peak < 900 << 10, "{} MiB", peak >> 10);
}
