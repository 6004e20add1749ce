//! Learning-rate schedules: how the rate changes over a run.

use serde::{Deserialize, Serialize};

/// A schedule by name, as `--schedule` takes it: the run's length makes it a [`Schedule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ScheduleName {
    /// The same rate throughout (the book's).
    Constant,
    /// Down to 0 along half a cosine over the run.
    Cosine,
    /// Times 0.1 at a third and at two thirds of the run.
    Step,
}

impl ScheduleName {
    /// The schedule of this name for a run of `iterations` steps.
    ///
    /// ```
    /// use mitbadak::optim::{Schedule, ScheduleName};
    /// assert_eq!(ScheduleName::Step.schedule(300), Schedule::Step { every: 100, gamma: 0.1 });
    /// assert_eq!(ScheduleName::of(&Schedule::Cosine { total: 300 }), ScheduleName::Cosine);
    /// ```
    pub fn schedule(self, iterations: usize) -> Schedule {
        match self {
            ScheduleName::Constant => Schedule::Constant,
            ScheduleName::Cosine => Schedule::Cosine { total: iterations },
            ScheduleName::Step => Schedule::Step { every: iterations.div_ceil(3).max(1), gamma: 0.1 },
        }
    }

    /// The name of `schedule`'s kind.
    pub fn of(schedule: &Schedule) -> ScheduleName {
        match schedule {
            Schedule::Constant => ScheduleName::Constant,
            Schedule::Cosine { .. } => ScheduleName::Cosine,
            Schedule::Step { .. } => ScheduleName::Step,
        }
    }

    /// The name as `--schedule` takes it: `constant`, `cosine`, `step`.
    pub fn name(self) -> &'static str {
        match self {
            ScheduleName::Constant => "constant",
            ScheduleName::Cosine => "cosine",
            ScheduleName::Step => "step",
        }
    }
}

/// A learning-rate schedule, as a factor on the base rate at each iteration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// The rate times `gamma` after every `every` iterations.
    Step {
        /// Iterations between steps.
        every: usize,
        /// The factor at each step.
        gamma: f64,
    },
    /// Half a cosine from the base rate to 0 over `total` iterations.
    Cosine {
        /// Iterations in the run.
        total: usize,
    },
}

impl Schedule {
    /// The factor on the base rate for iteration `i` (counted from 0).
    ///
    /// ```
    /// use mitbadak::optim::Schedule;
    /// assert_eq!(Schedule::Step { every: 10, gamma: 0.1 }.factor(25), 0.1f64.powi(2));
    /// assert_eq!(Schedule::Cosine { total: 100 }.factor(50), 0.5);
    /// ```
    pub fn factor(&self, i: usize) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powi((i / every.max(1)) as i32),
            Schedule::Cosine { total } => {
                let progress = (i as f64 / total.max(1) as f64).min(1.0);
                0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}
