//! `mitbadak train` stopped by signals, as the built binary: Ctrl-C saves a checkpoint and
//! says how to resume; SIGKILL at any moment loses at most the epoch under way; either way
//! the resumed run ends with the unbroken run's weights and metrics.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::mitbadak;
use mitbadak::checkpoint::read_checkpoint;
use mitbadak::model_file::load_model;
use mitbadak::nets::Trainable;

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MITBADAK_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn with_out<'a>(args: &[&'a str], out: &'a Path) -> Vec<&'a str> {
    args.iter().copied().chain(["--out", path_str(out)]).collect()
}

/// The model's tensors as bits, and the metrics file, of a finished run.
fn products(dir: &Path) -> (Vec<Vec<u32>>, Vec<u8>) {
    let mut model = load_model::<f32>(&dir.join("model.safetensors"), None).unwrap();
    let bits = model.network.snapshot().iter().map(|a| a.iter().map(|v| v.to_bits()).collect()).collect();
    (bits, std::fs::read(dir.join("metrics.csv")).unwrap())
}

fn assert_same_products(resumed: &Path, unbroken: &Path) {
    let (resumed, unbroken) = (products(resumed), products(unbroken));
    assert!(resumed.0 == unbroken.0, "the resumed run ended with other weights");
    assert!(resumed.1 == unbroken.1, "the resumed run wrote other metrics");
}

#[test]
fn ctrl_c_saves_says_how_to_resume_and_the_resumed_run_ends_as_the_unbroken_one() {
    let dir = tempfile::tempdir().unwrap();
    let (unbroken, run) = (dir.path().join("unbroken"), dir.path().join("run"));
    let args = ["train", "--iters", "6000", "--seed", "5"];
    let reference = mitbadak(&with_out(&args, &unbroken));
    assert_eq!(reference.code, 0, "{}", reference.stderr);

    let mut child = spawn(&with_out(&args, &run));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut evaluations = 0;
    let mut line = String::new();
    // the evaluation of iteration 601 is printed in the second epoch: stop there
    while evaluations < 2 && stdout.read_line(&mut line).unwrap() > 0 {
        evaluations += usize::from(line.starts_with("train acc, test acc"));
        line.clear();
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    stdout.read_to_string(&mut line).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "128 + SIGINT: {stderr}");
    let checkpoint = run.join("checkpoint.safetensors");
    let stopped_at = read_checkpoint(&checkpoint).unwrap().state.iteration;
    assert!((601..6000).contains(&stopped_at), "{stopped_at}");
    assert!(stderr.contains("SIGINT (Ctrl-C) caught: stopping after this step"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped by SIGINT (Ctrl-C) after iteration {stopped_at} of 6000; the run is saved in {}\n\
             resume it with: mitbadak train --resume {}\n",
            checkpoint.display(),
            run.display()
        )),
        "{stderr}"
    );

    let again = mitbadak(&with_out(&args, &run));
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains(&format!(
            "holds an unfinished run (checkpoint.safetensors at iteration {stopped_at} of 6000): \
             go on with `mitbadak train --resume {}`",
            run.display()
        )),
        "{}",
        again.stderr
    );
    let changed = mitbadak(&["train", "--resume", path_str(&run), "--lr", "0.5", "--batch-size", "100"]);
    assert_eq!(changed.code, 1);
    assert!(
        changed.stderr.contains("a resumed run keeps its settings, and these flags say otherwise: --lr 0.5 (the run has 0.1); drop them"),
        "{}",
        changed.stderr
    );
    // the same flags again are welcome
    let resumed = mitbadak(&["train", "--resume", path_str(&run), "--iters", "6000", "--seed", "5"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stdout.contains(&format!("resuming at iteration {stopped_at} from")),
        "{}",
        resumed.stdout
    );
    assert!(!checkpoint.exists(), "a finished run removes its checkpoint");
    assert_same_products(&run, &unbroken);
}

/// xorshift64*: random moments for the kills, from a seed the test prints.
struct Moments(u64);

impl Moments {
    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn killed_at_random_moments_and_resumed_it_ends_with_the_unbroken_run_s_weights() {
    let dir = tempfile::tempdir().unwrap();
    let (unbroken, run) = (dir.path().join("unbroken"), dir.path().join("run"));
    // dropout and Adam: the generators and the optimizer's state must come back too
    let args = [
        "train",
        "--arch",
        "mlp",
        "--hidden",
        "64",
        "--dropout",
        "0.2",
        "--optimizer",
        "adam",
        "--epochs",
        "3",
        "--seed",
        "2",
    ];
    let started = Instant::now();
    let reference = mitbadak(&with_out(&args, &unbroken));
    assert_eq!(reference.code, 0, "{}", reference.stderr);
    let whole = started.elapsed().as_secs_f64();

    let seed = std::env::var("MITBADAK_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("kill moments from MITBADAK_KILL_SEED={seed} (an unbroken run takes {whole:.2} s)");
    let mut moments = Moments(seed);
    let checkpoint = run.join("checkpoint.safetensors");
    // The moments are drawn against the reference run's time, which another test running
    // beside this one can stretch or shrink: so go on until there have been enough kills,
    // and a run that finishes before its moment is checked and started afresh.
    let (mut kills, mut resumes, mut finished) = (0, 0, 0);
    for _ in 0..20 {
        if kills >= 3 && resumes >= 1 {
            break;
        }
        let done = read_checkpoint(&checkpoint).map_or(0, |info| info.state.iteration);
        let mut child = if checkpoint.exists() {
            resumes += 1;
            spawn(&["train", "--resume", path_str(&run)])
        } else {
            spawn(&with_out(&args, &run))
        };
        // somewhere in what is left of the run (starting up included)
        let left = whole * (1.0 - done as f64 / 1800.0);
        let moment = Duration::from_secs_f64((0.05 + 0.9 * moments.fraction()) * left);
        std::thread::sleep(moment);
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            assert!(status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            assert_same_products(&run, &unbroken);
            eprintln!("finished before {:.2} s (resumed from {done}): starting afresh", moment.as_secs_f64());
            std::fs::remove_dir_all(&run).unwrap();
            finished += 1;
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // never a torn checkpoint: there is none yet, or a whole one
        let at = checkpoint.exists().then(|| read_checkpoint(&checkpoint).unwrap().state.iteration);
        eprintln!(
            "killed after {:.2} s (resumed from {done}); checkpoint now at {at:?}",
            moment.as_secs_f64()
        );
    }
    let last = if checkpoint.exists() {
        resumes += 1;
        mitbadak(&["train", "--resume", path_str(&run)])
    } else {
        mitbadak(&with_out(&args, &run))
    };
    assert_eq!(last.code, 0, "{}", last.stderr);
    eprintln!("{kills} kills, {resumes} resumes, {finished} runs finished before their moment");
    assert!(
        kills >= 3 && resumes >= 1,
        "{kills} kills, {resumes} resumes in 20 runs: the moments missed the run"
    );
    assert_same_products(&run, &unbroken);
}

#[test]
fn an_augmented_run_stopped_and_resumed_moves_its_images_as_the_unbroken_one() {
    let dir = tempfile::tempdir().unwrap();
    let (unbroken, run, plain) =
        (dir.path().join("unbroken"), dir.path().join("run"), dir.path().join("plain"));
    let args = ["train", "--augment", "shift-rotate", "--iters", "1800", "--seed", "3"];
    let reference = mitbadak(&with_out(&args, &unbroken));
    assert_eq!(reference.code, 0, "{}", reference.stderr);
    let without =
        mitbadak(&with_out(&["train", "--augment", "none", "--iters", "1800", "--seed", "3"], &plain));
    assert_eq!(without.code, 0, "{}", without.stderr);
    assert!(products(&unbroken).0 != products(&plain).0, "the shifts and rotations changed nothing");

    let mut child = spawn(&with_out(&args, &run));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut evaluations, mut line) = (0, String::new());
    // the first evaluation (of iteration 1) is printed at once: stop in the first epoch
    while evaluations < 1 && stdout.read_line(&mut line).unwrap() > 0 {
        evaluations += usize::from(line.starts_with("train acc, test acc"));
        line.clear();
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    let stopped_at = read_checkpoint(&run.join("checkpoint.safetensors")).unwrap().state.iteration;
    assert!((1..1800).contains(&stopped_at), "{stopped_at}");
    let changed = mitbadak(&["train", "--resume", path_str(&run), "--augment", "none"]);
    assert_eq!(changed.code, 1);
    assert!(changed.stderr.contains("--augment none (the run has shift-rotate)"), "{}", changed.stderr);
    let resumed = mitbadak(&["train", "--resume", path_str(&run)]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_same_products(&run, &unbroken);
}
