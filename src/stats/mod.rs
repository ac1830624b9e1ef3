//! Statistics, free of model code: estimates with confidence intervals, power-law fits, the
//! jackknife and verdicts.

mod estimate;
mod fit;
mod verdict;

pub use estimate::{Estimate, jackknife, normal_quantile, proportion, t_quantile};
pub use fit::{PairwiseSlope, PowerLawFit, fit_power_law};
pub use verdict::{Claim, Verdict, VerdictKind, decide, decide_interval};
