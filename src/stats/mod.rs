//! Statistics, free of model code: estimates with confidence intervals, power-law and affine fits,
//! the jackknife and verdicts.

mod affine;
mod corrected;
mod estimate;
mod fit;
mod verdict;

pub use affine::{AffineFit, fit_affine};
pub use corrected::{
    CORRECTED_SLOPE_RANGE, CorrectedPowerLawFit, fit_power_law_corrected,
    fit_power_law_corrected_within,
};
pub use estimate::{Estimate, jackknife, normal_quantile, proportion, t_quantile};
pub use fit::{POWER_LAW_REJECTED_P, PairwiseSlope, PowerLawFit, fit_power_law};
pub use verdict::{Claim, Verdict, VerdictKind, decide, decide_interval};
