//! Every `mitbadak` command printed in the README and `docs/*.md` parses with today's flags,
//! and the quick ones (`eval`, `show`, `gradcheck`, and the errors) print what the page says
//! they print, run from a folder that holds the checkout's `data/` as a clone does.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A command as printed: where, the arguments after `mitbadak`, and, for a `$ ` line of a
/// `text` block, the lines printed under it up to the next command.
struct Printed {
    place: String,
    args: Vec<String>,
    output: Vec<String>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The arguments of a `mitbadak` command line (`cargo run --release -- ARGS` or
/// `mitbadak ARGS`), without a trailing `# comment`; `None` for any other command.
fn mitbadak_args(line: &str) -> Option<Vec<String>> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    let args = line.strip_prefix("cargo run --release -- ").or_else(|| line.strip_prefix("mitbadak "))?;
    Some(args.split_whitespace().map(str::to_string).collect())
}

/// The `mitbadak` commands of the code blocks of `page`: each line of a `sh` block, each
/// `$ ` line of a `text` block with what it prints.
fn printed_commands(page: &Path) -> Vec<Printed> {
    let text = std::fs::read_to_string(page).unwrap();
    let name = page.strip_prefix(root()).unwrap().display().to_string();
    let mut commands: Vec<Printed> = Vec::new();
    let mut block: Option<&str> = None;
    for (number, line) in text.lines().enumerate() {
        let place = format!("{name}:{}", number + 1);
        match (block, line.trim_end()) {
            (None, fence) if fence.starts_with("```") => block = Some(&fence[3..]),
            (Some(_), "```") => block = None,
            (Some("sh"), line) => {
                if let Some(args) = mitbadak_args(line) {
                    commands.push(Printed { place, args, output: Vec::new() });
                }
            }
            (Some("text"), line) if line.starts_with("$ ") => {
                if let Some(args) = mitbadak_args(&line[2..]) {
                    commands.push(Printed { place, args, output: Vec::new() });
                } else {
                    commands.push(Printed { place, args: Vec::new(), output: Vec::new() });
                }
            }
            (Some("text"), line) => {
                if let Some(last) = commands.last_mut().filter(|c| !c.args.is_empty()) {
                    last.output.push(line.to_string());
                }
            }
            _ => {}
        }
    }
    commands.retain(|c| !c.args.is_empty());
    commands
}

fn all_commands() -> Vec<Printed> {
    pages().iter().flat_map(|page| printed_commands(page)).collect()
}

#[test]
fn every_command_of_the_readme_and_docs_parses() {
    let commands = all_commands();
    for command in &commands {
        let mut args = command.args.clone();
        args.push("--help".to_string()); // parses every value before it, runs nothing
        let output = Command::new(env!("CARGO_BIN_EXE_mitbadak")).args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "{}: `mitbadak {}` does not parse: {}",
            command.place,
            command.args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(commands.len() >= 25, "only {} commands found", commands.len());
}

/// A command quick enough to run here: an evaluation (but DeepConvNet's, half a minute on a
/// busy machine), a picture, the gradient check, or one whose page shows an error; with no
/// `...` standing for a path of one's own.
fn is_quick(command: &Printed) -> bool {
    let quick_subcommand = ["eval", "show", "gradcheck"].contains(&command.args[0].as_str());
    let an_error = command.output.first().is_some_and(|line| line.starts_with("error:"));
    !command.output.is_empty()
        && (quick_subcommand || an_error)
        && !command.args.iter().any(|a| a.contains("...") || a == "deep-convnet")
}

#[cfg(unix)]
#[test]
fn the_quick_commands_print_what_the_pages_say() {
    let clone = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("data"), clone.path().join("data")).unwrap();
    let mut ran = 0;
    for command in all_commands().iter().filter(|c| is_quick(c)) {
        let run = Command::new(env!("CARGO_BIN_EXE_mitbadak"))
            .args(&command.args)
            .current_dir(clone.path())
            .env_remove("MITBADAK_DATA")
            .env("MITBADAK_MNIST_MIRROR", "http://127.0.0.1:9/") // never the internet
            .output()
            .unwrap();
        let printed =
            format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
        let printed: Vec<String> = printed.lines().map(|l| common::rounded(l.trim_end(), 4)).collect();
        let failed = command.output[0].starts_with("error:");
        assert_eq!(
            run.status.success(),
            !failed,
            "{}: `mitbadak {}`:\n{}",
            command.place,
            command.args.join(" "),
            printed.join("\n")
        );
        for expected in command.output.iter().filter(|l| !l.contains("...") && !l.trim().is_empty()) {
            let expected = common::rounded(expected.trim_end(), 4);
            assert!(
                printed.contains(&expected),
                "{}: `mitbadak {}` did not print {expected:?}; it printed:\n{}",
                command.place,
                command.args.join(" "),
                printed.join("\n")
            );
        }
        ran += 1;
    }
    assert!(ran >= 6, "only {ran} commands run");
}
