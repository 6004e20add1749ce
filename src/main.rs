//! `mitbadak`: the command line, a thin layer over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_default_sigpipe();
    mitbadak::memory::keep_freed_memory();
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
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
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
