//! Statistics, free of model code: estimates with confidence intervals, power-law and affine fits,
//! the jackknife and verdicts.

mod affine;
mod cholesky;
mod control;
mod corrected;
mod estimate;
mod fit;
mod verdict;

pub use affine::{AffineFit, fit_affine};
pub(crate) use cholesky::Cholesky;
pub use control::control_variate;
pub use corrected::{
    CORRECTED_SLOPE_RANGE, CorrectedPowerLawFit, fit_power_law_corrected,
    fit_power_law_corrected_within,
};
pub use estimate::{Estimate, jackknife, normal_quantile, proportion, sum_of_means, t_quantile};
pub use fit::{POWER_LAW_REJECTED_P, PairwiseSlope, PowerLawFit, fit_power_law};
pub use verdict::{Claim, Verdict, VerdictKind, decide, decide_interval};

/// Helpers shared by the statistics tests.
#[cfg(test)]
pub(crate) mod testing {
    use rand::Rng;
    use rand_pcg::Pcg64Mcg;

    /// A standard normal deviate by the Box-Muller transform (Box & Muller 1958).
    pub(crate) fn gauss(rng: &mut Pcg64Mcg) -> f64 {
        let u = |rng: &mut Pcg64Mcg| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (u1, u2) = (u(rng), u(rng));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
