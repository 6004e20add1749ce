//! The experiments of chapter 6 show what the book's figures show, on the embedded MNIST.
//!
//! Where the book's full setup would take too long for a test, a test runs part of it and
//! says which: fewer iterations, scales or trials, or the first 2000 test images.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use mitbadak::data::Mnist;
use mitbadak::experiments::batch_norm::{BatchNormConfig, compare_batch_norm, logspace};
use mitbadak::experiments::dropout::{DropoutExperimentConfig, compare_dropout};
use mitbadak::experiments::hyperparameters::{HyperparametersConfig, ranked, search};
use mitbadak::experiments::init::{InitConfig, activation_histograms, compare_inits};
use mitbadak::experiments::optimizers::{OptimizersConfig, compare_optimizers, naive_paths};
use mitbadak::experiments::weight_decay::{WeightDecayConfig, compare_weight_decay};
use mitbadak::experiments::{NamedCurves, Report, kaiser, parallel_map, smooth_curve};
use mitbadak::experiments::{batch_norm, dropout, init, optimizers, weight_decay};

fn mnist() -> Mnist {
    Mnist::load(&common::mnist_dir()).unwrap()
}

/// MNIST with only the first 2000 test images: the overfitting experiments measure the test
/// accuracy every epoch, and on all 10,000 that is most of their time.
fn mnist_with_a_shorter_test_set() -> Mnist {
    let data = mnist();
    Mnist { test: data.test.subset(&(0..2000).collect::<Vec<_>>()), ..data }
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

#[test]
fn smooth_curve_and_its_window_are_numpys() {
    // np.kaiser(11, 2), and the book's smooth_curve of x = [i*i % 7 for i in range(15)], by NumPy 2.4
    let window = [
        0.4386762798370488,
        0.6113943543616491,
        0.7676749968275236,
        0.8921614338542881,
        0.9723298008693713,
        1.0,
        0.9723298008693713,
        0.8921614338542881,
        0.7676749968275236,
        0.6113943543616491,
        0.4386762798370488,
    ];
    assert!(close(&kaiser(11, 2.0), &window), "{:?}", kaiser(11, 2.0));
    let x: Vec<f64> = (0..15).map(|i| ((i * i) % 7) as f64).collect();
    let smoothed = [
        2.164827016891044,
        2.0510852209479524,
        1.9695215879389028,
        1.8969796826676226,
        1.896979682667623,
        1.969521587938903,
        2.051085220947952,
        2.164827016891044,
        2.0510852209479524,
        1.9695215879389028,
        1.8445345087190168,
        1.6665499801252723,
        1.7633513546887154,
        1.8152786682672126,
        1.8072651708674055,
    ];
    assert!(close(&smooth_curve(&x), &smoothed), "{:?}", smooth_curve(&x));
    assert_eq!(logspace(0.0, -4.0, 16)[1], 0.5411695265464637);
}

#[test]
fn parallel_map_runs_the_jobs_at_once_and_keeps_their_order() {
    // sleeping takes no CPU, so this holds on a busy machine: 4 jobs of 200 ms on 2 threads
    // take 400 ms at once, 800 ms one after the other
    let start = Instant::now();
    let doubled = parallel_map(vec![1, 2, 3, 4], 2, |k| {
        std::thread::sleep(Duration::from_millis(200));
        2 * k
    });
    let elapsed = start.elapsed();
    assert_eq!(doubled, [2, 4, 6, 8]);
    assert!(elapsed < Duration::from_millis(700), "{elapsed:?}: the jobs ran one after the other");
}

/// The mean loss of each series over its last 100 iterations, by name.
fn final_mean(curves: &mitbadak::experiments::LossCurves, name: &str) -> f64 {
    curves.final_means(100).into_iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn momentum_adagrad_and_adam_end_below_sgd() {
    // 500 of the book's 2000 iterations: the order is settled by then
    let config = OptimizersConfig { iterations: 500, ..OptimizersConfig::default() };
    let curves = compare_optimizers(&mnist(), &config).unwrap();
    let sgd = final_mean(&curves, "SGD");
    assert!(sgd < 1.0, "SGD learns, if slowly: {sgd}");
    for name in ["Momentum", "AdaGrad", "Adam"] {
        let loss = final_mean(&curves, name);
        assert!(loss < 0.6 * sgd, "{name} {loss} against SGD {sgd}\n{}", curves.table(100));
    }
    // on x²/20 + y², every optimizer of the book's 2-D figure ends near the minimum; SGD
    // (lr 0.95) scales x by 1 - 0.95/10 and y by 1 - 2·0.95 at each of its 30 steps
    let paths = naive_paths();
    for (name, path) in &paths {
        assert_eq!((path.len(), path[0]), (31, (-7.0, 2.0)), "{name} starts at the book's (-7, 2)");
        let (x, y) = path[30];
        assert!(x.abs() < 1.0 && y.abs() < 0.5, "{name} ends at ({x}, {y})");
    }
    let (x, y) = paths.iter().find(|(name, _)| name == "SGD").unwrap().1[30];
    let (want_x, want_y) = (-7.0 * 0.905f64.powi(30), 2.0 * (-0.9f64).powi(30));
    assert!((x - want_x).abs() < 1e-12 && (y - want_y).abs() < 1e-12, "SGD ends at ({x}, {y})");

    let report = optimizers::report(&curves).unwrap();
    assert!(report.text.contains(&format!(" SGD ({want_x:.3}, {want_y:.3}),")), "{}", report.text);
    assert!(report.text.contains(&format!("SGD {sgd:.4}, ")), "{}", report.text);
    assert_files(
        &report,
        &[
            ("optimizers.png", Png(800, 600)),
            ("optimizers.csv", Csv("series,iteration,loss,smoothed_loss", 4 * 500)),
            ("optimizers_naive.png", Png(900, 800)),
            ("optimizers_naive.csv", Csv("optimizer,step,x,y,f", 4 * 31)),
        ],
    );
}

#[test]
fn he_and_xavier_learn_where_std_0_01_stays_at_2_30() {
    // 500 of the book's 2000 iterations
    let config = InitConfig { iterations: 500, ..InitConfig::default() };
    let curves = compare_inits(&mnist(), &config).unwrap();
    let (small, xavier, he) =
        (final_mean(&curves, "std=0.01"), final_mean(&curves, "Xavier"), final_mean(&curves, "He"));
    assert!((small - 10f64.ln()).abs() < 0.02, "std=0.01 stays at ln 10 = 2.30: {small}");
    assert!(he < xavier && xavier < 1.8, "He {he} learns fastest, then Xavier {xavier}");

    let activations = activation_histograms(0);
    let ends = |name: &str| {
        let layer = &activations.iter().find(|a| a.name == name).unwrap().layers[4];
        layer.iter().filter(|&&v| !(0.05..=0.95).contains(&v)).count() as f64 / layer.len() as f64
    };
    let spread = |name: &str| activations.iter().find(|a| a.name == name).unwrap().layers[4].std(0.0);
    assert!(ends("std=1") > 0.4, "std 1 pushes sigmoid to 0 and 1: {}", ends("std=1"));
    assert!(spread("std=0.01") < 0.05, "std 0.01 gathers all at 0.5: {}", spread("std=0.01"));
    assert!(ends("Xavier") < 0.05 && spread("Xavier") > 0.05, "Xavier spreads them: {}", spread("Xavier"));

    let report = init::report(&curves, &activations).unwrap();
    assert!(report.text.contains(&format!("He {he:.4}")), "{}", report.text);
    let xavier = activations.iter().find(|a| a.name == "Xavier").unwrap();
    let spreads: Vec<String> = xavier.layers.iter().map(|l| format!("{:.3}", l.std(0.0))).collect();
    let line =
        format!("  Xavier    {}  (layer 5: {:.0}% of values", spreads.join(" "), 100.0 * ends("Xavier"));
    assert!(report.text.contains(&line), "{line:?} in\n{}", report.text);
    let bins = activations.len() * 5 * 30;
    assert_files(
        &report,
        &[
            ("init.png", Png(800, 600)),
            ("init.csv", Csv("series,iteration,loss,smoothed_loss", 3 * 500)),
            ("init_activations.png", Png(1500, 900)),
            ("init_activations.csv", Csv("init,layer,bin_start,bin_end,count", bins)),
        ],
    );
}

#[test]
fn batch_norm_learns_at_most_weight_scales_where_the_plain_net_does_not() {
    // every other of the book's 16 scales
    let weight_scales = logspace(0.0, -4.0, 16).into_iter().step_by(2).collect();
    let config = BatchNormConfig { weight_scales, ..BatchNormConfig::default() };
    let runs = compare_batch_norm(&mnist(), &config).unwrap();
    assert!(runs.iter().all(|r| r.plain.len() == 20 && r.batch_norm.len() == 20));
    let ahead = runs.iter().filter(|r| r.batch_norm[19] > r.plain[19] + 0.1).count();
    assert!(ahead >= 6, "batch norm ahead by 0.1 at {ahead} of 8 scales: {runs:?}");
    let smallest = runs.last().unwrap();
    assert!(smallest.plain[19] < 0.2, "without BN, std 0.0001 does not learn: {smallest:?}");

    let report = batch_norm::report(&runs).unwrap();
    let any_lead = runs.iter().filter(|r| r.batch_norm[19] > r.plain[19]).count();
    let line = format!("batch normalisation ahead at {any_lead} of 8 weight scales");
    assert!(report.text.contains(&line), "{line:?} in\n{}", report.text);
    assert_files(
        &report,
        &[
            ("batch-norm.png", Png(1400, 1100)),
            ("batch-norm.csv", Csv("weight_std,series,epoch,train_acc", 8 * 2 * 20)),
        ],
    );
}

/// What a report's file should be: a PNG of (width, height), or a CSV with its header and
/// this many rows after it.
enum Expected {
    Png(u32, u32),
    Csv(&'static str, usize),
}
use Expected::{Csv, Png};

/// Checks that `report` writes these files, in this order, and each is what it should be.
fn assert_files(report: &Report, expected: &[(&str, Expected)]) {
    let names: Vec<&str> = report.files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, expected.iter().map(|(name, _)| *name).collect::<Vec<_>>());
    for ((name, bytes), (_, expected)) in report.files.iter().zip(expected) {
        match *expected {
            Png(width, height) => {
                let picture = image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap();
                assert_eq!((picture.width(), picture.height()), (width, height), "{name}");
            }
            Csv(header, rows) => {
                let csv = std::str::from_utf8(bytes).unwrap();
                assert_eq!(csv.lines().next(), Some(header), "{name}");
                assert_eq!(csv.lines().count(), 1 + rows, "{name}: a header and {rows} rows");
            }
        }
    }
}

/// Checks an overfitting experiment's report: each run's last train and test accuracy and
/// their gap printed, a panel per run, a CSV row per run and epoch.
fn assert_overfitting_report(report: &Report, runs: &[NamedCurves], epochs: usize) {
    for (series, curves) in runs {
        let (train, test) = (curves.train_acc[epochs - 1], curves.test_acc[epochs - 1]);
        let numbers = format!("{train:>9.4} {test:>9.4} {:>9.4}", train - test);
        let printed =
            report.text.lines().any(|line| line.starts_with(series.as_str()) && line.ends_with(&numbers));
        assert!(printed, "{series} {numbers} in\n{}", report.text);
    }
    let name = report.name;
    assert_files(
        report,
        &[
            (&format!("{name}.png"), Png(600 * runs.len() as u32, 500)),
            (&format!("{name}.csv"), Csv("series,epoch,train_acc,test_acc", runs.len() * epochs)),
        ],
    );
}

/// Final train accuracy and train-test gap of a run.
fn last(run: &NamedCurves) -> (f64, f64) {
    let (train, test) = (run.1.train_acc.last().unwrap(), run.1.test_acc.last().unwrap());
    (*train, train - test)
}

#[test]
fn weight_decay_narrows_the_gap_of_a_net_that_learns_300_images_by_heart() {
    let runs = compare_weight_decay(&mnist_with_a_shorter_test_set(), &WeightDecayConfig::default()).unwrap();
    assert_eq!(runs[0].1.train_acc.len(), 201);
    let ((plain_train, plain_gap), (decay_train, decay_gap)) = (last(&runs[0]), last(&runs[1]));
    assert!(plain_train > 0.99, "without decay the 300 images are learnt by heart: {plain_train}");
    assert!(decay_train < 0.95, "with decay they are not: {decay_train}");
    assert!(decay_gap < plain_gap - 0.05, "gap {decay_gap} with decay, {plain_gap} without");
    assert_overfitting_report(&weight_decay::report(&runs).unwrap(), &runs, 201);
}

#[test]
fn dropout_narrows_the_gap_of_a_net_that_learns_300_images_by_heart() {
    let runs =
        compare_dropout(&mnist_with_a_shorter_test_set(), &DropoutExperimentConfig::default()).unwrap();
    assert_eq!(runs[1].1.train_acc.len(), 301);
    let ((plain_train, plain_gap), (dropout_train, dropout_gap)) = (last(&runs[0]), last(&runs[1]));
    assert!(plain_train > 0.99, "without dropout the 300 images are learnt by heart: {plain_train}");
    assert!(dropout_train < 0.95, "with dropout they are not: {dropout_train}");
    assert!(dropout_gap < plain_gap - 0.05, "gap {dropout_gap} with dropout, {plain_gap} without");
    assert_overfitting_report(&dropout::report(&runs).unwrap(), &runs, 301);
}

#[test]
fn the_search_finds_its_best_learning_rates_near_its_top() {
    // 20 of the book's 100 trials
    let trials =
        search(&mnist(), &HyperparametersConfig { trials: 20, ..HyperparametersConfig::default() }).unwrap();
    assert_eq!(trials.len(), 20);
    assert!(trials.iter().all(|t| (1e-6..1e-2).contains(&t.lr) && (1e-8..1e-4).contains(&t.weight_decay)));
    let best = ranked(&trials);
    assert!(best[0].val_acc() > 0.5, "the best trial learns: {}", best[0].val_acc());
    assert!(best[0].lr > 1e-3, "the best learning rate is in the top decade of 1e-6..1e-2: {}", best[0].lr);
    for slow in trials.iter().filter(|t| t.lr < 1e-4) {
        assert!(
            slow.val_acc() < 0.3,
            "lr {} is too small to learn in 50 epochs: {}",
            slow.lr,
            slow.val_acc()
        );
    }
}

#[test]
fn the_command_prints_the_books_lines_and_writes_png_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mitbadak"))
            .args(args)
            .args(["--out", dir.path().to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let output = run(&["experiment", "hyperparameters", "--trials", "2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("=========== Hyper-Parameter Optimization Result ==========="), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("Best-")).count(), 2, "{stdout}");
    assert!(stdout.contains("hyperparameters finished in "), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let runs: Vec<&str> = stderr.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(runs.len(), 2, "a progress line per trial: {stderr}");
    assert!(runs[1].starts_with("run 2 of 2 done, ") && runs[1].ends_with(" s"), "{stderr}");
    let png = std::fs::read(dir.path().join("hyperparameters.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let csv = std::fs::read_to_string(dir.path().join("hyperparameters.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("trial,lr,weight_decay,epoch,train_acc,val_acc"));
    assert_eq!(csv.lines().count(), 1 + 2 * 50, "a row per trial and epoch");

    let refused = run(&["experiment", "dropout", "--trials", "5"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--trials is for `experiment hyperparameters`")
    );
}
