//! The README's library snippets are compiled: each is, line for line, the body of a function
//! of `examples/readme.rs`, which `cargo test` builds.

/// The code blocks of `markdown` marked `rust`, each as its lines.
fn rust_blocks(markdown: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```rust") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), line) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_rust_snippet_of_the_readme_is_in_the_compiled_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/readme.rs")).unwrap();
    // the example's lines, without the function body's indentation
    let example: Vec<&str> =
        example.lines().map(|l| l.strip_prefix("    ").unwrap_or(l).trim_end()).collect();
    let blocks = rust_blocks(&readme);
    assert_eq!(blocks.len(), 3, "the README's library snippets");
    for block in blocks {
        let found = example.windows(block.len()).any(|w| w == block.as_slice());
        assert!(found, "this README snippet is not in examples/readme.rs as printed:\n{}", block.join("\n"));
    }
}
