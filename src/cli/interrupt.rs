//! Ctrl-C (SIGINT) and SIGTERM during training: the first asks the run to stop after the
//! step under way and save its checkpoint; a second says so and ends the process at once, as
//! if nothing caught it (the last checkpoint stays whole: files are written atomically).
//!
//! The handler only stores the signal's number in an atomic, the one thing a signal handler
//! may safely do; the training loop looks at it between steps. At the second signal it
//! writes its message with `write(2)` and raises the signal again with the default action.
//! It is installed with `sigaction` from `libc` (already a dependency).

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal caught, or 0.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

/// SIGINT and SIGTERM are caught while this lives; dropping it puts back what was there.
pub struct Catching {
    #[cfg(unix)]
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

/// Starts catching SIGINT and SIGTERM (on Unix; elsewhere they end the process as before).
pub fn catch() -> Catching {
    CAUGHT.store(0, Ordering::SeqCst);
    #[cfg(unix)]
    {
        let previous = [libc::SIGINT, libc::SIGTERM]
            .into_iter()
            .filter_map(|signal| {
                // SAFETY: `note` only stores into an atomic, which is async-signal-safe; the
                // structs are zeroed (a valid `sigaction`) and then filled as sigaction(2) says.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = note as extern "C" fn(libc::c_int) as libc::sighandler_t;
                    action.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut previous: libc::sigaction = std::mem::zeroed();
                    (libc::sigaction(signal, &action, &mut previous) == 0).then_some((signal, previous))
                }
            })
            .collect();
        Catching { previous }
    }
    #[cfg(not(unix))]
    Catching {}
}

/// The signal caught since [`catch`], if any.
pub fn caught() -> Option<i32> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The signal's name, as `kill -l` gives it.
pub fn name(signal: i32) -> &'static str {
    #[cfg(unix)]
    match signal {
        libc::SIGINT => return "SIGINT (Ctrl-C)",
        libc::SIGTERM => return "SIGTERM",
        _ => {}
    }
    let _ = signal;
    "a signal"
}

/// What the second signal prints before the process ends.
const SECOND_SIGNAL: &[u8] =
    b"\nsecond signal: stopped at once, without saving; the last checkpoint (of the last \
    finished epoch) is whole: resume from it with `mitbadak train --resume` and the run's directory\n";

#[cfg(unix)]
extern "C" fn note(signal: libc::c_int) {
    if CAUGHT.swap(signal, Ordering::SeqCst) != 0 {
        // SAFETY: write(2), signal(2) and raise(3) are async-signal-safe; the message is static.
        unsafe {
            libc::write(2, SECOND_SIGNAL.as_ptr().cast(), SECOND_SIGNAL.len());
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

impl Drop for Catching {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (signal, previous) in &self.previous {
            // SAFETY: `previous` is the action sigaction(2) returned for this signal.
            unsafe {
                libc::sigaction(*signal, previous, std::ptr::null_mut());
            }
        }
    }
}

/// A run stopped by a signal, with what to do next: the process exits with 128 + the signal.
#[derive(Debug)]
pub struct Interrupted {
    /// The signal.
    pub signal: i32,
    /// What happened and how to resume.
    pub message: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}
