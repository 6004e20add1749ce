//! The integration tests, one module a file, in one test binary: each test binary links the
//! whole crate, and linking it once instead of once a file is most of what a fresh
//! `cargo test --release` saves. Run one file's tests with `cargo test --release --test it
//! layers::` (a module's tests share its name as their prefix).

#[path = "../common/mod.rs"]
mod common;

mod book;
mod book_map;
mod checkpoint;
mod cli;
mod convnets;
mod data_cache;
mod disk_full;
mod doc_commands;
mod download;
mod experiments;
mod functions;
mod fuzz;
mod idx;
mod inspect;
mod layers;
mod matmul;
mod model_file;
mod nets;
mod numerical_training;
mod onnx_export;
mod optim;
mod pictures;
mod readme;
mod reliability;
mod resume;
mod serve;
mod serve_limits;
mod training;
