//! Training progress: an indicatif bar when both standard output and standard error are a
//! terminal, plain lines on standard error otherwise; the book's `train acc, test acc | ...`
//! line after every evaluation either way.
//!
//! The bar is redrawn in place on standard error, and the accuracy lines are printed above
//! it on standard output. When standard output goes elsewhere (`mitbadak train | tee log`),
//! what reaches the terminal through the other program cannot be placed above the bar, and
//! the bar's old lines would stay on screen: plain lines then. After Ctrl-C the bar is taken
//! away at once, so that a second Ctrl-C, which ends the process, leaves none behind.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use mitbadak::train::{Evaluation, Progress};

use super::interrupt;

/// How often plain (non-terminal) output reports the loss.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct TrainingProgress {
    bar: Option<ProgressBar>,
    first: usize,
    started: Instant,
    last_line: Instant,
    stopping: bool,
}

impl TrainingProgress {
    /// Progress of a run from step `first` (0, or where a resumed run goes on) to `total`.
    pub fn new(first: usize, total: usize) -> Self {
        let terminal = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(total as u64).with_position(first as u64);
            bar.reset_eta();
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:32.cyan/blue} {pos:>6}/{len} it | loss {msg} | {speed} | {elapsed} elapsed, {eta} left",
                )
                .expect("the template is valid")
                .with_key("speed", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&speed(state.per_sec()));
                })
                .progress_chars("=> "),
            );
            bar
        });
        TrainingProgress { bar, first, started: Instant::now(), last_line: Instant::now(), stopping: false }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for TrainingProgress {
    fn on_step(&mut self, done: usize, total: usize, loss: f64) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(done as u64);
                if done.is_multiple_of(10) || done == total {
                    bar.set_message(format!("{loss:.4}"));
                }
            }
            None if self.last_line.elapsed() >= PLAIN_EVERY => {
                self.last_line = Instant::now();
                let rate = (done - self.first) as f64 / self.started.elapsed().as_secs_f64();
                eprintln!("iteration {done}/{total}, loss {loss:.4}, {}", speed(rate));
            }
            None => {}
        }
    }

    fn should_stop(&mut self) -> bool {
        if !self.stopping {
            let Some(signal) = interrupt::caught() else { return false };
            self.stopping = true;
            let line = format!(
                "{} caught: stopping after this step, once the measurement under way is done and the \
                 checkpoint written (again to quit at once, keeping the last epoch's checkpoint)",
                interrupt::name(signal)
            );
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
            eprintln!("{line}");
        }
        true
    }

    fn on_evaluation(&mut self, evaluation: &Evaluation) {
        let line = format!("train acc, test acc | {:.4}, {:.4}", evaluation.train_acc, evaluation.test_acc);
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
}

/// Steps per second as a whole number: `2139 it/s`.
pub fn speed(per_sec: f64) -> String {
    format!("{per_sec:.0} it/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_speed_is_whole_steps_per_second() {
        assert_eq!(speed(2138.8748), "2139 it/s");
        assert_eq!(speed(0.4), "0 it/s");
    }
}
