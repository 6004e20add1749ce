//! `mitbadak`: the command line, a thin layer over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_default_sigpipe();
    let command = cli::Cli::parse();
    match cli::run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<cli::Interrupted>() {
            // a run stopped by a signal exits as the signal would have ended it: 128 + its number
            Some(interrupted) => {
                eprintln!("{interrupted}");
                ExitCode::from(128u8.saturating_add(interrupted.signal as u8))
            }
            None => {
                eprintln!("error: {}", said_once(&e));
                ExitCode::FAILURE
            }
        },
    }
}

/// The error and its causes, `: `-separated, each said once: an error that already repeats
/// its cause (`file: No such file or directory`) is not followed by it again.
fn said_once(e: &anyhow::Error) -> String {
    e.chain().map(|cause| cause.to_string()).fold(String::new(), |text, cause| {
        if text.contains(&cause) {
            text
        } else if text.is_empty() {
            cause
        } else {
            format!("{text}: {cause}")
        }
    })
}

/// Rust ignores SIGPIPE, so `mitbadak show | head` would panic on the closed pipe; a command
/// line tool should end quietly instead, as `cat` does.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
