//! Learning experiments (`kind = "learning"`): a dataset, a model, the learning rules and the
//! claims about them. See the README's "Learning from data" section for the reference.
//!
//! This file holds the resolved types and what is checked after reading (command-line
//! overrides, sizes, derived constants); `read.rs` and `read_claims.rs` read the tables.

mod read;
mod read_claims;

pub(super) use read::read;

use super::checks::{Problem, out_of_range, scaling_checks};
use super::limits::REPLICATES;
use super::overrides::{command_line_error, file_error};
use crate::error::Error;
use crate::scaling::Scaling;
use crate::stats::VerdictKind;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The CSV file and how it is split.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataSpec {
    /// The file, resolved against the experiment file's folder.
    pub file: PathBuf,
    /// The label column.
    pub label: String,
    /// Fraction of rows held out for testing.
    pub test_fraction: f64,
    /// Standardise features with training statistics.
    pub standardize: bool,
    /// Seed of the train/test split (defaults to the experiment seed).
    pub split_seed: u64,
    /// Whether the file set `split_seed` (otherwise it follows `--seed`).
    #[serde(skip)]
    pub split_seed_explicit: bool,
}

/// The model whose per-sample loss the rules minimise.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// Binary logistic regression: p weights and a bias, labels coded -1/+1.
    Logistic,
    /// Softmax regression: K rows of p weights and a bias.
    Softmax,
    /// The paper's network: one tanh hidden layer, weights s exp(theta) with fixed signs.
    Network {
        /// Hidden neurons.
        hidden: usize,
        /// Probability that an edge is excitatory.
        excitatory: f64,
        /// Seed of the signs (follows `--seed` unless the file sets it).
        sign_seed: u64,
        /// Whether the file set `sign_seed`.
        #[serde(skip)]
        sign_seed_explicit: bool,
    },
}

/// A learning rule named in `learning.rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleName {
    /// n STDP updates per sample, for every n in `learning.n`.
    Stdp,
    /// The gradient flow for unit time per sample.
    Flow,
    /// One gradient step per sample.
    Sgd,
    /// Eq. 2.2, with the loss-evaluation budget of STDP at `single_update_n`.
    SingleUpdate,
}

impl RuleName {
    /// The name used in files and reports.
    pub fn key(self) -> &'static str {
        match self {
            Self::Stdp => "stdp",
            Self::Flow => "flow",
            Self::Sgd => "sgd",
            Self::SingleUpdate => "single-update",
        }
    }
}

/// Sizes and constants of the training runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearningSpec {
    /// Rules to run.
    pub rules: Vec<RuleName>,
    /// STDP updates per sample.
    pub n: Vec<u64>,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Independent runs (replicate r has its own sample order and noise, derived from the seed).
    pub replicates: u64,
    /// Replicates of `flow` and `sgd` when more than `replicates` (the first `replicates` are
    /// shared with STDP): cheap runs that narrow the comparisons of STDP with SGD through the
    /// flow (see [`crate::stats::sum_of_means`]).
    pub reference_replicates: Option<u64>,
    /// Checkpoint spacing in samples.
    pub every: usize,
    /// kappa of `flow` and `sgd` (the drift limit of the scaling unless given).
    pub kappa: f64,
    /// RK4 steps per sample the flow starts from (doubled until converged).
    pub flow_substeps: u32,
    /// The n whose A_n and loss-evaluation budget `single-update` uses.
    pub single_update_n: u64,
    /// Whether the file set `single_update_n`.
    #[serde(skip)]
    pub single_update_n_explicit: bool,
    /// alpha of each `single-update` run (one run per value; by default alpha_n at
    /// `single_update_n`, the constant STDP uses).
    pub single_update_alpha: Option<Vec<f64>>,
    /// A replicate with |theta|^2 above this (or not finite) counts as diverged.
    pub divergence_bound: f64,
}

impl LearningSpec {
    /// Replicates of `flow` and `sgd`: `reference_replicates`, at least `replicates`.
    pub fn references(&self) -> u64 {
        self.reference_replicates
            .unwrap_or(self.replicates)
            .max(self.replicates)
    }
}

/// Claim: the sup over the run of |theta_stdp - theta_flow|^2 decays like n^slope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistanceClaim {
    /// Claimed slope.
    pub slope: f64,
    /// Tolerance band half-width.
    pub tolerance: f64,
    /// Expected verdict.
    pub expect: Option<VerdictKind>,
    /// The statement tested.
    pub statement: String,
    /// Only n >= this enters the fit.
    pub fit_from: Option<f64>,
}

/// Claim: at n, STDP's final test accuracy equals that of each reference rule within
/// `tolerance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyClaim {
    /// The n of STDP compared.
    pub n: u64,
    /// Whether the file set `n` (otherwise it follows the largest n, also under `--quick`).
    #[serde(skip)]
    pub n_explicit: bool,
    /// Equivalence margin in accuracy (a fraction).
    pub tolerance: f64,
    /// Rules STDP must match.
    pub against: Vec<RuleName>,
    /// Expected verdict.
    pub expect: Option<VerdictKind>,
    /// The statement tested.
    pub statement: String,
}

/// Claim: with the loss-evaluation budget of STDP at `single_update_n`, single-update (at every
/// alpha tried) does not end within `tolerance` of the flow's test accuracy in most replicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SingleUpdateClaim {
    /// Accuracy margin.
    pub tolerance: f64,
    /// Expected verdict.
    pub expect: Option<VerdictKind>,
    /// The statement tested.
    pub statement: String,
}

/// Smaller sizes for `verify --quick`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearningQuick {
    /// The values of n (updates per sample) of the quick run.
    pub n: Option<Vec<u64>>,
    /// Independent STDP (and single-update) runs per rule and n in the quick run.
    pub replicates: Option<u64>,
    /// Replicates of `flow` and `sgd` (none: as many as `replicates`).
    pub reference_replicates: Option<u64>,
    /// Passes over the training set of the quick run.
    pub epochs: Option<usize>,
    /// The n whose A_n and loss-evaluation budget single-update uses in the quick run.
    pub single_update_n: Option<u64>,
}

/// A resolved, validated learning experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearningExperiment {
    /// Short name (the results folder).
    pub name: String,
    /// Human title.
    pub title: String,
    /// The seed that fixes every random number but the split's.
    pub seed: u64,
    /// The data file, its label column, the train/test split and standardisation.
    pub data: DataSpec,
    /// The model whose per-sample loss is learnt (logistic regression or the network).
    pub model: ModelSpec,
    /// theta0, the same in every coordinate.
    pub theta0: f64,
    /// Scaling of alpha_n and A_n.
    pub scaling: Scaling,
    /// The rules, the values of n, epochs, replicates and the observation interval.
    pub learning: LearningSpec,
    /// Distance claim.
    pub distance_claim: Option<DistanceClaim>,
    /// Accuracy claims (`[claim.accuracy]` or several `[[claim.accuracy]]`).
    pub accuracy_claims: Vec<AccuracyClaim>,
    /// Single-update claim.
    pub single_update_claim: Option<SingleUpdateClaim>,
    /// Quick sizes.
    pub quick: Option<LearningQuick>,
    /// The file it came from.
    #[serde(skip)]
    pub source: PathBuf,
}

impl LearningExperiment {
    /// Applies command-line overrides: `--quick` sizes, `--seed` (which the split follows unless
    /// the file fixes `split_seed`) and `--trajectories` (replicates).
    pub fn apply(&mut self, o: &super::Overrides) -> Result<(), Error> {
        if let Some(seed) = o.seed {
            self.seed = seed;
            if !self.data.split_seed_explicit {
                self.data.split_seed = seed;
            }
            if let ModelSpec::Network {
                sign_seed,
                sign_seed_explicit: false,
                ..
            } = &mut self.model
            {
                *sign_seed = seed;
            }
        }
        if o.quick {
            self.apply_quick()?;
        }
        if let Some(m) = o.trajectories {
            if !REPLICATES.admits(m) {
                return Err(command_line_error(
                    "--trajectories",
                    format!("is {m}"),
                    format!(
                        "{} (replicates of a learning experiment)",
                        REPLICATES.integer()
                    ),
                ));
            }
            self.learning.replicates = m;
        }
        Ok(())
    }

    /// Switches to the `[quick]` sizes and checks that the claims still have what they need
    /// and that the derived constants stay in range at the quick n.
    pub fn apply_quick(&mut self) -> Result<(), Error> {
        if let Some(q) = self.quick.clone() {
            self.use_quick(q);
        }
        if let Some((key, problem, expected)) = self.size_problem() {
            return Err(file_error(
                &self.source,
                &format!("quick.{key}"),
                problem,
                expected,
            ));
        }
        match self.derived_problem() {
            Some((key, problem, expected)) => {
                Err(file_error(&self.source, &key, problem, expected))
            }
            None => Ok(()),
        }
    }

    /// Replaces the sizes by the quick ones; n-dependent defaults follow the largest quick n.
    fn use_quick(&mut self, q: LearningQuick) {
        if let Some(n) = q.n {
            self.learning.n = n;
        }
        if let Some(r) = q.replicates {
            self.learning.replicates = r;
        }
        self.learning.reference_replicates = q.reference_replicates;
        if let Some(e) = q.epochs {
            self.learning.epochs = e;
        }
        let top = *self.learning.n.last().expect("non-empty");
        if let Some(su) = q.single_update_n {
            self.learning.single_update_n = su;
        } else if !self.learning.single_update_n_explicit || self.learning.single_update_n > top {
            self.learning.single_update_n = top;
        }
        for c in &mut self.accuracy_claims {
            if !c.n_explicit || !self.learning.n.contains(&c.n) {
                c.n = top;
            }
        }
    }

    /// What the claims need of the values of n: 3 in the distance claim's fit range, and the n
    /// of every accuracy claim. The key is relative to the table of n.
    fn size_problem(&self) -> Option<Problem> {
        let l = &self.learning;
        if let Some(c) = &self.distance_claim {
            let pts =
                l.n.iter()
                    .filter(|&&n| c.fit_from.is_none_or(|f| n as f64 >= f))
                    .count();
            if pts < 3 {
                return Some((
                    "n".into(),
                    format!(
                        "has {pts} values in the distance claim's fit range; a slope with a confidence interval needs at least 3"
                    ),
                    "at least 3 values of n (at or above claim.distance.fit_from)".into(),
                ));
            }
        }
        if let Some(r) = l.reference_replicates.filter(|&r| r < l.replicates) {
            return Some((
                "reference_replicates".into(),
                format!("is {r}, fewer than replicates = {}", l.replicates),
                format!(
                    "at least {} (the first replicates are shared with STDP), or no reference_replicates",
                    l.replicates
                ),
            ));
        }
        if let Some(c) = self.accuracy_claims.iter().find(|c| !l.n.contains(&c.n)) {
            return Some((
                "n".into(),
                format!("does not contain claim.accuracy.n = {}", c.n),
                "the n of the accuracy claim among the n values".into(),
            ));
        }
        None
    }

    /// A derived constant outside [`DERIVED_RANGE`](super::DERIVED_RANGE): alpha_n, A_n and
    /// kappa_n of STDP at every n (and at `single_update_n` for single-update), the kappa of
    /// flow and sgd, and the alphas of single-update.
    pub(super) fn derived_problem(&self) -> Option<Problem> {
        let l = &self.learning;
        let single_update = l.rules.contains(&RuleName::SingleUpdate);
        let su_n = single_update.then_some(l.single_update_n);
        let at_n = l.n.iter().chain(&su_n).find_map(|&n| {
            scaling_checks(&self.scaling, n)
                .into_iter()
                .find_map(|(what, v, key)| out_of_range(what, v, n, key))
        });
        let top = *l.n.last().expect("non-empty");
        let kappa = || out_of_range("the kappa of flow and sgd", l.kappa, top, "learning.kappa");
        let alphas = || {
            // Given only with the single-update rule (checked when read).
            let alphas = l.single_update_alpha.as_deref().unwrap_or_default();
            alphas.iter().find_map(|&a| {
                out_of_range(
                    "single-update's alpha",
                    a,
                    l.single_update_n,
                    "learning.single_update_alpha",
                )
            })
        };
        at_n.or_else(kappa).or_else(alphas)
    }
}
