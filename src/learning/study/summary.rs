//! The results of a learning study: learning curves, distances to the flow and the claims'
//! reports, gathered in the [`LearningSummary`] that feeds its JSON, CSV, figures and report.

use crate::experiment::learning::{AccuracyClaim, DistanceClaim, SingleUpdateClaim};
use crate::learning::baseline::Baseline;
use crate::provenance::Provenance;
use crate::stats::{Estimate, PowerLawFit, Verdict};
use serde::{Deserialize, Serialize};

/// What was learnt from the data file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The file.
    pub file: String,
    /// FNV-1a hash of its bytes.
    pub fnv1a: String,
    /// The label column.
    pub label: String,
    /// Class labels, in index order.
    pub classes: Vec<String>,
    /// Features.
    pub features: usize,
    /// Rows in the file.
    pub rows: usize,
    /// Training rows.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
}

/// Metrics at one checkpoint over the replicates that did not diverge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Samples processed so far (for single-update: loss evaluations / (n + 1), the point of
    /// equal budget with STDP at its n).
    pub samples_seen: usize,
    /// Mean training loss.
    pub train_loss: Estimate,
    /// Mean test loss.
    pub test_loss: Estimate,
    /// Test accuracy.
    pub test_accuracy: Estimate,
    /// |theta - theta_flow|^2 against the flow on the same sample order (STDP only).
    pub distance_to_flow: Option<Estimate>,
}

/// One rule (at one n) over all replicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// "stdp", "flow", "sgd" or "single-update".
    pub rule: String,
    /// n (STDP updates per sample, or the n whose constants single-update uses).
    pub n: Option<u64>,
    /// alpha_n used.
    pub alpha_n: Option<f64>,
    /// A_n used.
    pub a_n: Option<f64>,
    /// Replicates run.
    pub replicates: u64,
    /// Replicates that diverged (left out of every estimate).
    pub diverged: u64,
    /// Samples processed per replicate.
    pub samples: u64,
    /// Loss evaluations of a replicate that runs to the end (the biological budget): STDP uses
    /// n + 1 per sample, single-update one per update; a diverged replicate stops early.
    pub loss_evaluations: u64,
    /// Gradient evaluations, mean over the replicates that did not diverge (flow and SGD; the
    /// flow's step doubling makes it vary with the sample order; STDP uses none).
    pub gradient_evaluations: u64,
    /// Thread-seconds spent on this rule's updates (all replicates; the reference flow's time is
    /// the flow run's). Volatile: in `provenance.json`, not `summary.json`.
    #[serde(skip_serializing, default)]
    pub seconds: f64,
    /// The learning curve.
    pub curve: Vec<CurvePoint>,
    /// E sup over samples of |theta - theta_flow|^2 (STDP only).
    pub sup_distance_to_flow: Option<Estimate>,
    /// Final test accuracy of each replicate (null if it diverged).
    pub final_test_accuracy: Vec<Option<f64>>,
    /// For each replicate that diverged, the test accuracy where it stopped (null if theta was no
    /// longer finite, or for replicates that did not diverge).
    pub accuracy_at_divergence: Vec<Option<f64>>,
}

impl RunRecord {
    /// The label used in tables and figures, e.g. "stdp n=1000".
    pub fn label(&self) -> String {
        match (self.rule.as_str(), self.n) {
            ("stdp", Some(n)) => format!("stdp n={n}"),
            ("single-update", Some(n)) => format!(
                "single-update (budget of n={n}, alpha={})",
                self.alpha_n.map_or("-".into(), |a| format!("{a}"))
            ),
            (r, _) => r.to_string(),
        }
    }
}

/// The fit of the distance to the flow against n, and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistanceFit {
    /// The n values in the fit.
    pub n: Vec<f64>,
    /// The fit (none with fewer than two estimates).
    pub fit: Option<PowerLawFit>,
    /// The claim.
    pub claim: Option<DistanceClaim>,
    /// Its verdict.
    pub verdict: Option<Verdict>,
}

/// One paired comparison of final test accuracy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The rule compared.
    pub rule: String,
    /// The rule it is compared with.
    pub reference: String,
    /// What `difference` estimates: "mean difference" (accuracy of rule - accuracy of reference,
    /// paired by sample order, a Student-t interval), "mean difference through the flow" (the
    /// same mean as mean(rule - flow) over the rule's replicates plus mean(flow - reference) over
    /// the references' replicates, see [`crate::stats::sum_of_means`]) or "fraction reaching" (the fraction of
    /// replicates in which rule does not diverge and ends within the tolerance of the reference,
    /// a Clopper-Pearson interval).
    pub statistic: String,
    /// The estimate.
    pub difference: Estimate,
    /// Pairs used (of the rule and the flow when the difference goes through the flow).
    pub pairs: usize,
    /// Pairs of the flow and the reference, when the difference goes through the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_pairs: Option<usize>,
    /// The band the difference must lie in for the claim.
    pub band: [f64; 2],
    /// The verdict of this comparison.
    pub verdict: Verdict,
}

/// The single-update claim and its comparisons (one per alpha).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SingleUpdateReport {
    /// The claim.
    pub claim: SingleUpdateClaim,
    /// The comparisons.
    pub comparisons: Vec<Comparison>,
    /// All comparisons together.
    pub verdict: Verdict,
}

/// The accuracy claim and its comparisons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyReport {
    /// The claim.
    pub claim: AccuracyClaim,
    /// The comparisons.
    pub comparisons: Vec<Comparison>,
    /// All comparisons together.
    pub verdict: Verdict,
}

/// Everything a learning experiment produced: `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearningSummary {
    /// Always "learning".
    pub kind: String,
    /// Name.
    pub name: String,
    /// Title.
    pub title: String,
    /// The resolved experiment.
    pub config: serde_json::Value,
    /// Provenance.
    pub provenance: Provenance,
    /// The data.
    pub dataset: DatasetInfo,
    /// Parameters of the model.
    pub parameters: usize,
    /// kappa of flow and SGD.
    pub kappa: f64,
    /// The runs, in the order rules, then n.
    pub runs: Vec<RunRecord>,
    /// The distance fit.
    pub distance_fit: Option<DistanceFit>,
    /// The accuracy claims.
    pub accuracy: Vec<AccuracyReport>,
    /// The single-update claim.
    pub single_update: Option<SingleUpdateReport>,
    /// A standard logistic regression fit on the same split (two classes only).
    pub baseline: Option<Baseline>,
    /// Every claim's verdict together.
    pub verdict: Option<Verdict>,
}
