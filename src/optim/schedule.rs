//! Learning-rate schedules: how the rate changes over a run.

use serde::{Deserialize, Serialize};

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
