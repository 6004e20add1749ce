//! End to end, in release mode: the seed's job reaches the seed's accuracy, and the same
//! seed gives the same numbers, run after run.

use std::process::Command;

use mitbadak::model_file::load_model;

fn train(out: &std::path::Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .args(["train", "--out", out.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_seeds_job_reaches_0_965_and_repeats_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let stdout = train(&first);
    let accuracy_lines = stdout.lines().filter(|l| l.starts_with("train acc, test acc | ")).count();
    assert_eq!(accuracy_lines, 18, "17 epochs' evaluations and one after the last step:\n{stdout}");
    let final_line = stdout.lines().find(|l| l.starts_with("test accuracy ")).unwrap();
    let test_accuracy: f64 = final_line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(test_accuracy >= 0.965, "{final_line}");

    train(&second);
    let metrics = |dir: &std::path::Path| std::fs::read(dir.join("metrics.csv")).unwrap();
    assert!(metrics(&first) == metrics(&second), "two runs with seed 0 wrote different metrics");
    // the weights too (the files' bytes may differ: safetensors writes metadata in hash order)
    let weights = |dir: &std::path::Path| {
        let mut model = load_model::<f32>(&dir.join("model.safetensors"), None).unwrap();
        let values: Vec<Vec<f32>> =
            model.network.params().iter().map(|p| p.value.iter().copied().collect()).collect();
        (values, model.metadata)
    };
    assert!(weights(&first) == weights(&second), "two runs with seed 0 ended with different weights");
}
