//! Data: the IDX reader, MNIST (and any data set of its layout), and where the files come from.

pub mod augment;
pub mod cache;
mod dataset;
#[cfg(feature = "download")]
pub mod download;
pub mod idx;
pub mod mnist;

pub use augment::Augment;
pub use mnist::{Dataset, Mnist, load_mnist};
