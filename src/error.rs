//! The library's error type: every failure names the thing, what was expected and what to do.

use std::path::PathBuf;

/// Errors returned by mitbadak.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An array's shape does not fit where it is used.
    #[error("shape mismatch in {context}: expected {expected}, got {got}")]
    Shape {
        /// Where the shapes met (`"TwoLayerNet::predict input"`).
        context: String,
        /// The shape that was expected, for example `(N, 784)`.
        expected: String,
        /// The shape that was given.
        got: String,
    },

    /// A value outside its allowed range (a learning rate, a probability, a class index).
    #[error("invalid {what}: {message}")]
    Invalid {
        /// The thing that was wrong (`"learning rate"`).
        what: String,
        /// What was expected and what to do.
        message: String,
    },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A server could not listen on its address, or stopped serving.
    #[error("{address}: {message}")]
    Server {
        /// The address, `host:port`.
        address: String,
        /// What went wrong and what to do.
        message: String,
    },

    /// Training stopped between two steps because it was asked to (Ctrl-C).
    #[error("training stopped after iteration {iteration} of {total}{}", saved(.checkpoint))]
    Interrupted {
        /// Steps done.
        iteration: usize,
        /// Steps the run was to take.
        total: usize,
        /// The checkpoint that holds the run, if it has one.
        checkpoint: Option<PathBuf>,
    },

    /// A file was read but its content is not what it should be.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was found, what was expected and what to do.
        message: String,
    },
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A shape error; `expected` and `got` are written as the user would read them.
    pub fn shape(context: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        Error::Shape { context: context.into(), expected: expected.into(), got: got.into() }
    }

    /// An invalid-value error.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { what: what.into(), message: message.into() }
    }
}

fn saved(checkpoint: &Option<PathBuf>) -> String {
    match checkpoint {
        Some(path) => format!("; {} holds it, to resume", path.display()),
        None => ": no checkpoint was asked for, so it cannot be resumed".into(),
    }
}

/// Formats a shape as `(2, 3, 4)`, the way NumPy prints it.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}
