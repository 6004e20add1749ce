//! `docs/book.md`, the map of the book's scripts, held to the code: every script of the
//! book's repository has a row; every example it names exists, names the script, and holds
//! (in its source, where its doc comment says what it prints) each value the row says it
//! prints; every `mitbadak` command parses with today's flags; every test and `src/` path it
//! names exists. The examples' numbers are asserted by `tests/it/book.rs` and `tests/it/inspect.rs`
//! through the library functions they call, so this test needs no example to be built.

use std::path::Path;
use std::process::Command;

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
/// column, and those of the prints column.
struct Row {
    script: String,
    commands: Vec<String>,
    prints: Vec<String>,
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
            Row { script: quoted(cells[0])[0].clone(), commands: quoted(cells[1]), prints: quoted(cells[2]) }
        })
        .collect()
}

/// Whitespace and `//!` folded away, so that a value wrapped in a doc comment still matches.
fn folded(text: &str) -> String {
    text.replace("//!", " ").replace("//", " ").split_whitespace().collect::<Vec<_>>().join(" ")
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
fn every_example_exists_names_its_script_and_holds_what_it_prints() {
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
        let source = folded(&source);
        for printed in row.prints.iter().filter(|p| !p.starts_with("cargo ")) {
            assert!(
                source.contains(&folded(printed)),
                "{}: examples/{name}.rs does not hold {printed:?}",
                row.script
            );
        }
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
