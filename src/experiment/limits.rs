//! The ranges that the numbers of an experiment file must lie in, in one table. Each check and
//! its error message use the same constant, so the two cannot disagree.

use std::fmt;

/// A closed range of integers that a key may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The smallest allowed value.
    pub lo: u64,
    /// The largest allowed value.
    pub hi: u64,
}

/// An interval of real numbers that a key may take; either end may be open.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// The lower end.
    pub lo: f64,
    /// The upper end.
    pub hi: f64,
    /// Whether `lo` itself is excluded.
    pub lo_open: bool,
    /// Whether `hi` itself is excluded.
    pub hi_open: bool,
}

// Integers.
/// Seeds (`seed`, `data.split_seed`, `model.sign_seed`): what TOML's signed integers allow.
pub const SEED: Limits = Limits::new(0, i64::MAX as u64);
/// Dimensions (`loss.dim`, `sweep.dim`, `quick.dim`).
pub const DIM: Limits = Limits::new(1, 100_000);
/// Trajectories per point (`sweep.trajectories`, `quick.trajectories`, `--trajectories`).
pub const TRAJECTORIES: Limits = Limits::new(2, 100_000_000);
/// Updates per learning opportunity, n (every list of n, `single_update_n`, `claim.accuracy.n`).
pub const N: Limits = Limits::new(2, 1_000_000_000);
/// Points of a geometric grid of n (`n = { from, to, points }`).
pub const N_POINTS: Limits = Limits::new(2, 100);
/// Checkpoints of the recorded mean path (`sweep.checkpoints`).
pub const CHECKPOINTS: Limits = Limits::new(1, 10_000);
/// RK4 substeps per interval 1/n of the reference flow (`reference.substeps`).
pub const SUBSTEPS: Limits = Limits::new(1, 1000);
/// Hidden neurons of the network model (`model.hidden`).
pub const HIDDEN: Limits = Limits::new(1, 256);
/// Passes over the training rows (`learning.epochs`, `quick.epochs`).
pub const EPOCHS: Limits = Limits::new(1, 10_000);
/// Replicates of a learning experiment (`learning.replicates`, `quick.replicates`,
/// `--trajectories`).
pub const REPLICATES: Limits = Limits::new(2, 100_000);
/// Samples between checkpoints of a learning curve (`learning.every`).
pub const EVERY: Limits = Limits::new(1, 1_000_000_000);
/// RK4 steps per sample the learning flow starts from (`learning.flow_substeps`).
pub const FLOW_SUBSTEPS: Limits = Limits::new(1, 10_000);

// Reals.
/// Positive numbers (alpha, A, kappa, divergence bounds, fit ranges, single-update alphas).
pub const POSITIVE: Interval = Interval::open(0.0, f64::INFINITY);
/// Exponents beta and gamma of the power rule (`scaling`, `grid`, `quick`).
pub const EXPONENT: Interval = Interval::closed(0.0, 2.0);
/// A drift constant given as a number (`reference.drift`).
pub const DRIFT: Interval = Interval::left_open(0.0, 1e6);
/// Horizon T of the reference flow (`reference.horizon`).
pub const HORIZON: Interval = Interval::left_open(0.0, 1000.0);
/// A claimed slope (`claim.slope`, `claim.distance.slope`).
pub const SLOPE: Interval = Interval::closed(-10.0, 10.0);
/// The half-width of a slope's tolerance band (`claim.tolerance`, `claim.distance.tolerance`).
pub const SLOPE_TOLERANCE: Interval = Interval::left_open(0.0, 10.0);
/// The relative tolerance of a constant claim (`claim.tolerance` with kind = "constant").
pub const RELATIVE_TOLERANCE: Interval = Interval::open(0.0, 1.0);
/// An accuracy margin (`claim.accuracy.tolerance`, `claim.single_update.tolerance`).
pub const ACCURACY_MARGIN: Interval = Interval::open(0.0, 1.0);
/// The fraction of rows held out for testing (`data.test_fraction`).
pub const TEST_FRACTION: Interval = Interval::open(0.0, 1.0);
/// The probability that an edge of the network is excitatory (`model.excitatory`).
pub const PROBABILITY: Interval = Interval::closed(0.0, 1.0);
/// The start of every coordinate of a learning model (`model.theta0`).
pub const THETA0: Interval = Interval::closed(-100.0, 100.0);

/// alpha_n, A_n, kappa_n and kappa must lie in this range at every n: outside it, f64 loses
/// the increments (below) or overflows in the flow, cosh or the loss (above).
pub const DERIVED_RANGE: (f64, f64) = (1e-100, 1e100);

/// The largest experiment file read, in bytes (16 MiB). Experiment files are a few KB; a
/// learning experiment refers to its data by path. Larger files are refused from their metadata
/// before they are read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

impl Limits {
    const fn new(lo: u64, hi: u64) -> Self {
        Self { lo, hi }
    }

    /// Whether a TOML integer lies in the range.
    pub fn contains(&self, i: i64) -> bool {
        i >= 0 && self.admits(i as u64)
    }

    /// Whether an unsigned value (from the command line) lies in the range.
    pub fn admits(&self, v: u64) -> bool {
        (self.lo..=self.hi).contains(&v)
    }

    /// "an integer from 2 to 10^8".
    pub fn integer(&self) -> String {
        format!("an integer {self}")
    }
}

impl fmt::Display for Limits {
    /// "from 2 to 10^8".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "from {} to {}",
            show(self.lo as f64),
            show(self.hi as f64)
        )
    }
}

impl Interval {
    const fn closed(lo: f64, hi: f64) -> Self {
        Self {
            lo,
            hi,
            lo_open: false,
            hi_open: false,
        }
    }

    const fn open(lo: f64, hi: f64) -> Self {
        Self {
            lo,
            hi,
            lo_open: true,
            hi_open: true,
        }
    }

    const fn left_open(lo: f64, hi: f64) -> Self {
        Self {
            lo,
            hi,
            lo_open: true,
            hi_open: false,
        }
    }

    /// Whether `x` lies in the interval (never for NaN).
    pub fn contains(&self, x: f64) -> bool {
        let above = if self.lo_open {
            x > self.lo
        } else {
            x >= self.lo
        };
        let below = if self.hi_open {
            x < self.hi
        } else {
            x <= self.hi
        };
        above && below
    }

    /// "a number from 0 to 2" or "a number in (0, 1000]".
    pub fn number(&self) -> String {
        format!("a number {self}")
    }
}

impl fmt::Display for Interval {
    /// "from 0 to 2" for a closed interval, else "in (0, 1000]".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = (show(self.lo), show(self.hi));
        if !self.lo_open && !self.hi_open {
            return write!(f, "from {lo} to {hi}");
        }
        let open = if self.lo_open { '(' } else { '[' };
        let close = if self.hi_open { ')' } else { ']' };
        write!(f, "in {open}{lo}, {hi}{close}")
    }
}

/// A bound as messages write it: powers of ten from 10^6 on as "10^k", other numbers plainly.
fn show(x: f64) -> String {
    let k = x.log10().round();
    if x.is_finite() && k >= 6.0 && x == 10f64.powi(k as i32) {
        format!("10^{k}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_as_in_the_messages() {
        assert_eq!(TRAJECTORIES.integer(), "an integer from 2 to 10^8");
        assert_eq!(DIM.to_string(), "from 1 to 100000");
        assert_eq!(N.to_string(), "from 2 to 10^9");
        assert_eq!(DRIFT.number(), "a number in (0, 10^6]");
        assert_eq!(SLOPE.number(), "a number from -10 to 10");
        assert_eq!(TEST_FRACTION.to_string(), "in (0, 1)");
        assert!(SEED.contains(i64::MAX) && !SEED.contains(-1));
        assert!(!POSITIVE.contains(0.0) && POSITIVE.contains(1e300));
        assert!(!EXPONENT.contains(f64::NAN) && EXPONENT.contains(2.0));
    }
}
