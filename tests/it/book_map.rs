//! `docs/book.md`, the map of the book's scripts, held to the code: every script of the
//! book's repository has a row; every example it names exists and names the script; every
//! `mitbadak` command parses with today's flags; every test and `src/` path it names exists;
//! and every command of the map runs, from a folder that holds the checkout's `data/` as a clone
//! does, and prints what its row says it prints and writes the PNG files the row names. A long
//! command runs with the short settings its row tells the learner about ([`SHORT`]).
//!
//! The examples are run as `cargo test --release` built them (`target/release/examples/`);
//! after `cargo test --release --test it` alone, build them with `cargo build --release --examples`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every script of oreilly-japan/deep-learning-from-scratch outside `common/` and `dataset/`.
const BOOK_SCRIPTS: [&str; 48] = [
    "ch01/hungry.py",
    "ch01/img_show.py",
    "ch01/man.py",
    "ch01/simple_graph.py",
    "ch01/sin_cos_graph.py",
    "ch01/sin_graph.py",
    "ch02/and_gate.py",
    "ch02/nand_gate.py",
    "ch02/or_gate.py",
    "ch02/xor_gate.py",
    "ch03/mnist_show.py",
    "ch03/neuralnet_mnist.py",
    "ch03/neuralnet_mnist_batch.py",
    "ch03/relu.py",
    "ch03/sig_step_compare.py",
    "ch03/sigmoid.py",
    "ch03/step_function.py",
    "ch04/gradient_1d.py",
    "ch04/gradient_2d.py",
    "ch04/gradient_method.py",
    "ch04/gradient_simplenet.py",
    "ch04/train_neuralnet.py",
    "ch04/two_layer_net.py",
    "ch05/buy_apple.py",
    "ch05/buy_apple_orange.py",
    "ch05/gradient_check.py",
    "ch05/layer_naive.py",
    "ch05/train_neuralnet.py",
    "ch05/two_layer_net.py",
    "ch06/batch_norm_gradient_check.py",
    "ch06/batch_norm_test.py",
    "ch06/hyperparameter_optimization.py",
    "ch06/optimizer_compare_mnist.py",
    "ch06/optimizer_compare_naive.py",
    "ch06/overfit_dropout.py",
    "ch06/overfit_weight_decay.py",
    "ch06/weight_init_activation_histogram.py",
    "ch06/weight_init_compare.py",
    "ch07/apply_filter.py",
    "ch07/gradient_check.py",
    "ch07/simple_convnet.py",
    "ch07/train_convnet.py",
    "ch07/visualize_filter.py",
    "ch08/awesome_net.py",
    "ch08/deep_convnet.py",
    "ch08/half_float_network.py",
    "ch08/misclassified_mnist.py",
    "ch08/train_deepnet.py",
];

/// One row of a chapter's table: the script, the snippets in backquotes of the command
/// column, those of the prints column, and the row as written.
struct Row {
    script: String,
    commands: Vec<String>,
    prints: Vec<String>,
    line: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn quoted(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn rows() -> Vec<Row> {
    let map = std::fs::read_to_string(root().join("docs/book.md")).expect("docs/book.md exists");
    map.lines()
        .filter(|l| l.starts_with("| `ch"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            assert_eq!(cells.len(), 3, "a row of script | command | prints: {line}");
            Row {
                script: quoted(cells[0])[0].clone(),
                commands: quoted(cells[1]),
                prints: quoted(cells[2]),
                line: line.to_string(),
            }
        })
        .collect()
}

#[test]
fn every_script_of_the_book_has_one_row() {
    let mut listed: Vec<String> = rows().into_iter().map(|r| r.script).collect();
    let count = listed.len();
    listed.sort();
    listed.dedup();
    assert_eq!(listed.len(), count, "a script has two rows");
    let mut book: Vec<&str> = BOOK_SCRIPTS.to_vec();
    book.sort();
    book.dedup();
    assert_eq!(listed, book);
}

#[test]
fn every_example_exists_and_names_its_script() {
    let mut examples = 0;
    for row in rows() {
        let Some(name) = row.commands.iter().find_map(|c| c.strip_prefix("cargo run --release --example "))
        else {
            continue;
        };
        let name = name.split_whitespace().next().unwrap();
        let path = root().join("examples").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{}: no {}", row.script, path.display()));
        let file_name = row.script.rsplit('/').next().unwrap();
        assert!(source.contains(file_name), "examples/{name}.rs does not name {}", row.script);
        examples += 1;
    }
    assert!(examples >= 25, "only {examples} rows run an example");
}

#[test]
fn every_command_parses_and_every_named_test_and_file_exists() {
    let mut checked = 0;
    for row in rows() {
        for command in row.commands.iter().chain(&row.prints) {
            if let Some(args) = command.strip_prefix("cargo run --release -- ") {
                let mut args: Vec<&str> = args.split_whitespace().collect();
                args.push("--help"); // parses every value before it, runs nothing
                let output = Command::new(env!("CARGO_BIN_EXE_mitbadak")).args(&args).output().unwrap();
                assert!(
                    output.status.success(),
                    "{}: `mitbadak {}` does not parse: {}",
                    row.script,
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr)
                );
            } else if let Some(rest) = command.strip_prefix("cargo test --release --test it ") {
                let Some((file, name)) = rest.trim().split_once("::") else {
                    panic!(
                        "{}: expected `cargo test --release --test it FILE::NAME`, got {command:?}",
                        row.script
                    )
                };
                let source =
                    std::fs::read_to_string(root().join("tests/it").join(format!("{file}.rs"))).unwrap();
                assert!(
                    source.contains(&format!("fn {name}(")),
                    "{}: tests/it/{file}.rs has no {name}",
                    row.script
                );
            } else if command.starts_with("src/") || command.starts_with("data/") {
                assert!(root().join(command).exists(), "{}: {command} does not exist", row.script);
            } else {
                continue;
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} commands and paths checked");
}

/// The settings that make a long command of the map short, appended to it here: each flag is
/// one its row tells the learner about, so a learner can take the same quick look.
const SHORT: [(&str, &str); 12] = [
    ("cargo run --release --example train_neuralnet_numerical", "--iters 1 --batch-size 1"),
    ("cargo run --release --example train_neuralnet", "--iters 1000"),
    ("cargo run --release -- train", "--iters 200"),
    ("cargo run --release -- train --save-dtype f16", "--iters 200"),
    ("cargo run --release -- train --arch simple-convnet", "--iters 10"),
    ("cargo run --release -- train --arch deep-convnet", "--iters 2"),
    ("cargo run --release -- experiment optimizers", "--iters 20"),
    ("cargo run --release -- experiment init", "--iters 20"),
    ("cargo run --release -- experiment batch-norm", "--epochs 1"),
    ("cargo run --release -- experiment weight-decay", "--epochs 2"),
    ("cargo run --release -- experiment dropout", "--epochs 2"),
    ("cargo run --release -- experiment hyperparameters", "--trials 2 --epochs 2"),
];

/// Commands run at once: most are short and on one core, the conv nets' use both.
const WORKERS: usize = 3;

/// What a command of the map did, in the folder it ran in.
struct Ran {
    folder: tempfile::TempDir,
    success: bool,
    output: String,
}

/// Whether a snippet of the map is a command that runs here (a `cargo test` runs in the suite).
fn runs_here(snippet: &&String) -> bool {
    snippet.starts_with("cargo run --release ")
}

/// The program and arguments of a `cargo run --release` command of the map, with its short
/// settings.
fn program_and_args(command: &str) -> (PathBuf, Vec<String>) {
    let binary = Path::new(env!("CARGO_BIN_EXE_mitbadak"));
    let short = SHORT.iter().find(|(long, _)| *long == command).map_or("", |(_, short)| short);
    let (program, args) = if let Some(rest) = command.strip_prefix("cargo run --release --example ") {
        let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let example = binary.parent().unwrap().join("examples").join(name);
        let source = root().join("examples").join(format!("{name}.rs"));
        let built = std::fs::metadata(&example).and_then(|m| m.modified()).unwrap_or_else(|_| {
            panic!("{} is not built: `cargo build --release --examples`", example.display())
        });
        assert!(
            built >= std::fs::metadata(&source).unwrap().modified().unwrap(),
            "{} is older than its source: `cargo build --release --examples`",
            example.display()
        );
        (example, args.trim_start_matches("-- "))
    } else {
        let args = command.strip_prefix("cargo run --release -- ");
        (binary.to_path_buf(), args.unwrap_or_else(|| panic!("not a command of the map: {command:?}")))
    };
    (program, format!("{args} {short}").split_whitespace().map(str::to_string).collect())
}

/// Runs `command` in a new folder that holds the checkout's `data/` as a clone does, so that
/// what it writes (`runs/...`) stays out of the checkout; never the internet.
#[cfg(unix)]
fn run(command: &str) -> Ran {
    let (program, args) = program_and_args(command);
    let folder = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("data"), folder.path().join("data")).unwrap();
    let output = Command::new(program)
        .args(&args)
        .current_dir(folder.path())
        .env_remove("MITBADAK_DATA")
        .env("MITBADAK_MNIST_MIRROR", "http://127.0.0.1:9/")
        .output()
        .unwrap();
    Ran {
        folder,
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// Runs every distinct command of `commands` once, `WORKERS` at a time.
#[cfg(unix)]
fn run_all(commands: &[String]) -> BTreeMap<String, Ran> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                while let Some(command) = commands.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ran = run(command);
                    done.lock().unwrap().insert(command.clone(), ran);
                }
            });
        }
    });
    done.into_inner().unwrap()
}

/// The numbers of `text`, in order (`[[ 0.2192  0.1435 -0.3628]` gives three).
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| c.is_whitespace() || "[](),:".contains(c)).filter_map(|w| w.parse().ok()).collect()
}

/// Whether `output` prints `expected`: as written, or with its numbers in scientific notation
/// to the digits `expected` gives them (`b2:1.20e-10`), or, where the row says `within TOL`,
/// as numbers each within `TOL` of those in `expected`, in a row.
fn prints(output: &str, expected: &str, tolerance: Option<f64>) -> bool {
    if output.contains(expected) {
        return true;
    }
    let digits =
        expected.split(['e', 'E']).next().unwrap().rsplit(':').next().unwrap().trim_start_matches('-');
    let digits = digits.chars().filter(char::is_ascii_digit).count().max(1);
    if output.lines().any(|line| common::rounded(line, digits).contains(expected)) {
        return true;
    }
    let (Some(tolerance), wanted) = (tolerance, numbers(expected)) else { return false };
    let printed = numbers(output);
    !wanted.is_empty()
        && printed
            .windows(wanted.len())
            .any(|w| w.iter().zip(&wanted).all(|(p, e)| (p - e).abs() <= tolerance))
}

/// The `TOL` of a row's `within TOL`.
fn tolerance(line: &str) -> Option<f64> {
    line.split("within ").nth(1)?.split_whitespace().next()?.parse().ok()
}

/// The PNG file `name` (a path from the folder the command ran in, or a bare file name found
/// anywhere under it) among `folders`.
fn find_png(folders: &[&Path], name: &str) -> Option<PathBuf> {
    fn under(dir: &Path, name: &str) -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
            let path = entry.path();
            if entry.file_type().ok()?.is_dir() && entry.file_name() != "data" {
                under(&path, name)
            } else {
                (entry.file_name() == name).then_some(path)
            }
        })
    }
    folders.iter().find_map(|folder| {
        if name.contains('/') {
            Some(folder.join(name)).filter(|path| path.is_file())
        } else {
            under(folder, name)
        }
    })
}

#[cfg(unix)]
#[test]
fn every_command_runs_and_prints_what_its_row_says() {
    let rows = rows();
    let mut commands: Vec<String> = Vec::new();
    // chapter 8's, the longest, first
    for row in rows.iter().rev() {
        for command in row.commands.iter().chain(&row.prints).filter(runs_here) {
            if !commands.contains(command) {
                commands.push(command.clone());
            }
        }
    }
    for (long, short) in SHORT {
        let rows: Vec<&Row> =
            rows.iter().filter(|r| r.commands.iter().chain(&r.prints).any(|c| c == long)).collect();
        assert!(!rows.is_empty(), "SHORT names {long:?}, which the map does not hold");
        for flag in short.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(
                rows.iter().any(|r| r.line.contains(flag)),
                "no row of {long:?} tells of {flag}, which runs it short"
            );
        }
    }
    let ran = run_all(&commands);

    let (mut values, mut pngs) = (0, 0);
    for row in &rows {
        let runs: Vec<(&String, &Ran)> =
            row.commands.iter().chain(&row.prints).filter(runs_here).map(|c| (c, &ran[c])).collect();
        if runs.is_empty() {
            continue; // a module, or a test that the suite runs
        }
        for (command, run) in &runs {
            assert!(run.success, "{}: `{command}` failed:\n{}", row.script, run.output);
        }
        let output: String = runs.iter().map(|(_, run)| run.output.as_str()).collect();
        let folders: Vec<&Path> = runs.iter().map(|(_, run)| run.folder.path()).collect();
        for expected in &row.prints {
            if expected.starts_with("cargo ") || expected.starts_with("--") || expected.starts_with("src/") {
                continue; // a command, run above or by the suite, or a flag
            } else if expected.ends_with(".png") {
                let path = find_png(&folders, expected)
                    .unwrap_or_else(|| panic!("{}: {expected} was not written:\n{output}", row.script));
                let picture = image::ImageReader::open(&path).unwrap().with_guessed_format().unwrap();
                assert_eq!(picture.format(), Some(image::ImageFormat::Png), "{}: {expected}", row.script);
                let picture = picture.decode().unwrap_or_else(|e| panic!("{}: {expected}: {e}", row.script));
                assert!(picture.width() >= 28 && picture.height() >= 28, "{}: {expected}", row.script);
                pngs += 1;
            } else {
                assert!(
                    prints(&output, expected, tolerance(&row.line)),
                    "{}: {:?} did not print {expected:?}; it printed:\n{output}",
                    row.script,
                    runs.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>()
                );
                values += 1;
            }
        }
    }
    assert!(commands.len() >= 35, "only {} commands run", commands.len());
    assert!(values >= 40 && pngs >= 20, "only {values} printed values and {pngs} PNG files checked");
}
