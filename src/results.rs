//! The results of a convergence study: one [`Row`] per point, the fits with their claims'
//! verdicts, the phase diagram and the recorded paths, gathered in the [`Summary`] that feeds the
//! JSON, the CSV, the figures and the report. Field names are a public contract.

use crate::claims::spec::{Against, ClaimSpec, Metric};
use crate::fluctuation::Fluctuation;
pub use crate::provenance::Provenance;
use crate::stats::{AffineFit, CorrectedPowerLawFit, Estimate, PowerLawFit, Verdict};
use serde::{Deserialize, Serialize};

/// Results at one point of the sweep. Field names are a public contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// n, the number of updates per unit time (per training sample).
    pub n: u64,
    /// Dimension d.
    pub dim: usize,
    /// Exponent beta of alpha_n.
    pub beta: f64,
    /// Exponent gamma of A_n.
    pub gamma: f64,
    /// Trajectories M.
    pub trajectories: u64,
    /// Trajectories that diverged (excluded from every estimate).
    pub diverged: u64,
    /// kappa of the reference flow.
    pub kappa: f64,
    /// kappa_n = n alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n).
    pub kappa_n: f64,
    /// alpha_n.
    pub alpha_n: f64,
    /// A_n.
    pub a_n: f64,
    /// Updates in [0, T].
    pub steps: u64,
    /// E sup_t |Z^n_t - Z_t|^2.
    pub sup_sq_error: Option<Estimate>,
    /// E |Z^n_T - Z_T|^2.
    pub terminal_sq_error: Option<Estimate>,
    /// |mean theta_T - Z_T|^2 (plug-in; its noise floor is `terminal_variance / M`).
    pub terminal_bias_sq: Option<f64>,
    /// Sum over coordinates of the sample variance of theta_T.
    pub terminal_variance: Option<f64>,
    /// The realised drift constant, with a jackknife interval.
    pub kappa_hat: Option<Estimate>,
    /// The predicted limits of n E|Z^n_T - Z_T|^2 and n E sup_t |Z^n_t - Z_t|^2 (the fluctuation
    /// limit), where the scaling has one.
    #[serde(default)]
    pub fluctuation: Option<Fluctuation>,
    /// Wall-clock seconds for this point (in `provenance.json`, not in `summary.json`, so that a
    /// re-run of the same build leaves the summary byte for byte).
    #[serde(skip_serializing, default)]
    pub seconds: f64,
}

impl Row {
    /// The estimate of a metric.
    pub fn metric(&self, m: Metric) -> Option<Estimate> {
        match m {
            Metric::SupSqError => self.sup_sq_error,
            Metric::TerminalSqError => self.terminal_sq_error,
            Metric::KappaHat => self.kappa_hat,
        }
    }
}

/// A power-law fit of one metric along one series of points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The fitted quantity.
    pub metric: Metric,
    /// The variable on the x axis.
    pub against: Against,
    /// The dimension held fixed (fits against n).
    pub at_dim: Option<usize>,
    /// The n held fixed (fits against d).
    pub at_n: Option<u64>,
    /// (beta, gamma) of the series.
    pub beta: f64,
    /// See `beta`.
    pub gamma: f64,
    /// x values.
    pub x: Vec<f64>,
    /// The fit.
    #[serde(flatten)]
    pub fit: PowerLawFit,
    /// The fit y = n^s (a - b n^(-1/2)) with the sup's grid term (claims with `grid_term`).
    #[serde(default)]
    pub corrected: Option<CorrectedPowerLawFit>,
    /// Measured against predicted constants (constant claims).
    #[serde(default)]
    pub constant: Option<ConstantReport>,
    /// The claim tested on this fit.
    pub claim: Option<ClaimSpec>,
    /// Its verdict.
    pub verdict: Option<Verdict>,
}

/// One cell of the phase diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseCell {
    /// beta.
    pub beta: f64,
    /// gamma.
    pub gamma: f64,
    /// Fitted slope of E sup |Z^n - Z|^2 in n.
    pub error_slope: Option<PowerLawFit>,
    /// Fitted slope of kappa_hat in n.
    pub drift_slope: Option<PowerLawFit>,
    /// `converges`, `freezes`, `explodes` or `unclear`, from the drift slope's interval.
    pub drift_class: DriftClass,
    /// Theory: 1 - beta - 2 gamma.
    pub predicted_drift_exponent: f64,
    /// Theory: 1 - 2 beta - 4 gamma (squared martingale noise).
    pub predicted_noise_exponent: f64,
    /// Diverged trajectories over the cell's rows.
    pub diverged: u64,
}

/// Checkpointed paths at one point, for the sample-path figure (first three coordinates).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathRecord {
    /// n.
    pub n: u64,
    /// Dimension.
    pub dim: usize,
    /// Checkpoint times.
    pub times: Vec<f64>,
    /// The flow Z at those times.
    #[serde(deserialize_with = "crate::serde_nan::nested::deserialize2")]
    pub flow: Vec<Vec<f64>>,
    /// The mean of Z^n over non-diverged trajectories.
    #[serde(deserialize_with = "crate::serde_nan::nested::deserialize2")]
    pub mean: Vec<Vec<f64>>,
    /// A few individual trajectories.
    #[serde(deserialize_with = "crate::serde_nan::nested::deserialize3")]
    pub samples: Vec<Vec<Vec<f64>>>,
}

/// Drift constants drawn for comparison.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftConstants {
    /// 4 alpha, the first version's (3.5).
    pub four_alpha: f64,
    /// (2/3) alpha A^2, the corrected limit.
    pub two_thirds_alpha_a2: f64,
}

/// A constant claim at one dimension: the measured limit against the predicted one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstantPoint {
    /// Dimension d.
    pub dim: usize,
    /// The n at which the value was measured (`None` when extrapolated over the sweep).
    pub n: Option<u64>,
    /// The measured value: n E error at that n, the fitted limit a of n E S_n = a - b n^(-1/2),
    /// or kappa_hat.
    pub measured: Estimate,
    /// The predicted limit.
    pub predicted: f64,
    /// Its Monte Carlo standard error (0 when computed by quadrature).
    pub predicted_std_error: f64,
    /// measured / predicted with its 95% interval (delta method).
    pub ratio: Estimate,
    /// The fit of n E S_n = a - b n^(-1/2) (`b` is minus the fitted slope in w = n^(-1/2)).
    pub finite_n_fit: Option<AffineFit>,
    /// The verdict at this dimension.
    pub verdict: Verdict,
}

/// A constant claim over the dimensions of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstantReport {
    /// The quantity.
    pub metric: Metric,
    /// One entry per dimension.
    pub points: Vec<ConstantPoint>,
}

/// Whether a summary holds every point of its experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every point, with fits and verdicts.
    Complete,
    /// Some points: a run in progress or interrupted.
    Partial,
}

/// The regime of the realised drift constant kappa_hat in n, from its slope's interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftClass {
    /// The slope's interval lies inside +-0.05: kappa_hat converges.
    Converges,
    /// The interval lies below -0.05: the drift vanishes (freezes).
    Freezes,
    /// The interval lies above 0.05: the drift explodes.
    Explodes,
    /// No fit, or an interval that straddles a band edge.
    Unclear,
}

impl std::fmt::Display for DriftClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Converges => "converges",
            Self::Freezes => "freezes",
            Self::Explodes => "explodes",
            Self::Unclear => "unclear",
        })
    }
}

/// Everything one experiment produced: the source of every file written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Experiment name.
    pub name: String,
    /// Title.
    pub title: String,
    /// `complete`, or `partial` while a run is in progress or was interrupted.
    pub status: Status,
    /// The fingerprint of the experiment and the code (`run::resume_key`).
    pub resume_key: String,
    /// The fully resolved experiment.
    pub config: serde_json::Value,
    /// Provenance.
    pub provenance: Provenance,
    /// Constants for the drift figure.
    pub drift_constants: DriftConstants,
    /// One row per point.
    pub rows: Vec<Row>,
    /// The claim's fit (or the main error fit when there is no claim).
    pub fit: Option<FitReport>,
    /// The claim's verdict: the same as `fit.verdict`, and present (as `inconclusive`) even when
    /// no fit was possible.
    pub verdict: Option<Verdict>,
    /// Every fit.
    pub fits: Vec<FitReport>,
    /// Phase-diagram cells (with a `[grid]`).
    pub phase: Vec<PhaseCell>,
    /// Recorded paths at the smallest and largest n.
    pub paths: Vec<PathRecord>,
}

#[cfg(test)]
mod tests {
    use super::PathRecord;

    /// Paths of diverged trajectories hold NaN, which JSON writes as null; they must read back.
    #[test]
    fn paths_with_diverged_values_read_back() {
        let nan = f64::NAN;
        let p = PathRecord {
            n: 1,
            dim: 1,
            times: vec![0.0],
            flow: vec![vec![nan]],
            mean: vec![vec![1.0, nan]],
            samples: vec![vec![vec![nan, 2.0]]],
        };
        let back: PathRecord = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert!(back.flow[0][0].is_nan() && back.mean[0][1].is_nan());
        assert!(back.samples[0][0][0].is_nan());
        assert_eq!((back.mean[0][0], back.samples[0][0][1]), (1.0, 2.0));
    }
}
