//! A learning experiment end to end: load and split the data, train every rule on `replicates`
//! seeded sample orders, record learning curves and the distance of STDP to the flow, fit that
//! distance against n and decide the claims.
//!
//! Replicate r uses the sample order of seed + r for every rule, so rules are compared in pairs on
//! the same order. The STDP noise of each (n, r) has its own stream. Sharing orders across n makes
//! the distance estimates at different n mildly positively correlated; a common factor moves the
//! fit's intercept, not its slope.

use super::baseline::{Baseline, fit_logistic};
use super::model::{LogisticModel, Model, SoftmaxModel, accuracy};
use super::{Learner, Rule, Setting, epoch_order};
use crate::analysis::Provenance;
use crate::data::{Split, load_csv, split};
use crate::error::{Error, Location};
use crate::experiment::learning::{
    AccuracyClaim, DistanceClaim, LearningExperiment, ModelSpec, RuleName, SingleUpdateClaim,
};
use crate::loss::{Loss, MAX_CLASSES, MAX_OUTPUTS, Network};
use crate::stats::{
    Claim, Estimate, PowerLawFit, Verdict, VerdictKind, decide, decide_interval, fit_power_law,
    proportion,
};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The data, the split and the model of an experiment, ready to train.
pub struct Prepared {
    /// The experiment.
    pub exp: LearningExperiment,
    /// The split.
    pub split: Split,
    /// The model.
    pub model: Box<dyn Model>,
    /// Rows in the file.
    pub rows: usize,
}

/// Loads and splits the data and builds the model; errors name the file and the fix.
pub fn prepare(exp: &LearningExperiment) -> Result<Prepared, Error> {
    let d = &exp.data;
    let data = load_csv(&d.file, &d.label)?;
    let s = split(&data, &d.file, d.test_fraction, d.split_seed, d.standardize)?;
    let p = data.features();
    let k = data.classes.len();
    let bad = |problem: String, expected: &str| Error::InvalidValue {
        at: Location {
            file: exp.source.clone(),
            line_col: None,
        },
        key: "model.kind".into(),
        problem,
        expected: expected.into(),
    };
    let model: Box<dyn Model> = match &exp.model {
        ModelSpec::Logistic if k != 2 => {
            return Err(bad(
                format!("is \"logistic\" but {} has {k} classes", d.file.display()),
                "\"softmax\" or \"network\" for more than two classes",
            ));
        }
        ModelSpec::Logistic => Box::new(LogisticModel { features: p }),
        ModelSpec::Softmax if k > MAX_CLASSES => {
            return Err(bad(
                format!("the data has {k} classes"),
                "at most 64 classes",
            ));
        }
        ModelSpec::Softmax => Box::new(SoftmaxModel {
            features: p,
            classes: k,
        }),
        ModelSpec::Network { .. } if k > MAX_OUTPUTS => {
            return Err(bad(
                format!("the data has {k} classes"),
                "at most 64 classes",
            ));
        }
        ModelSpec::Network {
            hidden,
            excitatory,
            sign_seed,
        } => Box::new(Network::new(p, *hidden, k, *excitatory, *sign_seed)),
    };
    Ok(Prepared {
        exp: exp.clone(),
        split: s,
        model,
        rows: data.len(),
    })
}

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
    /// Loss evaluations per replicate (the biological budget).
    pub loss_evaluations: u64,
    /// Gradient evaluations per replicate.
    pub gradient_evaluations: u64,
    /// Thread-seconds spent on this rule (all replicates, including the lockstep flow).
    pub seconds: f64,
    /// The learning curve.
    pub curve: Vec<CurvePoint>,
    /// E sup over samples of |theta - theta_flow|^2 (STDP only).
    pub sup_distance_to_flow: Option<Estimate>,
    /// Final test accuracy of each replicate (null if it diverged).
    pub final_test_accuracy: Vec<Option<f64>>,
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
    /// The fit.
    pub fit: PowerLawFit,
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
    /// paired by sample order, a Student-t interval) or "fraction reaching" (the fraction of
    /// replicates in which rule does not diverge and ends within the tolerance of the reference,
    /// a Clopper-Pearson interval).
    pub statistic: String,
    /// The estimate.
    pub difference: Estimate,
    /// Pairs used.
    pub pairs: usize,
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
    /// The accuracy claim.
    pub accuracy: Option<AccuracyReport>,
    /// The single-update claim.
    pub single_update: Option<SingleUpdateReport>,
    /// A standard logistic regression fit on the same split (two classes only).
    pub baseline: Option<Baseline>,
    /// Every claim's verdict together.
    pub verdict: Option<Verdict>,
}

/// One replicate of one rule.
struct Replicate {
    points: Vec<[f64; 4]>,
    sup_distance: f64,
    diverged: bool,
    loss_evaluations: u64,
    gradient_evaluations: u64,
    seconds: f64,
}

#[derive(Clone, Copy)]
struct Job {
    run: usize,
    rule: Rule,
    replicate: u64,
}

fn runs_of(exp: &LearningExperiment) -> Vec<(RuleName, Rule)> {
    let l = &exp.learning;
    let mut out = Vec::new();
    for r in &l.rules {
        match r {
            RuleName::Stdp => out.extend(l.n.iter().map(|&n| (*r, Rule::Stdp { n }))),
            RuleName::Flow => out.push((
                *r,
                Rule::Flow {
                    substeps: l.flow_substeps,
                },
            )),
            RuleName::Sgd => out.push((*r, Rule::Sgd)),
            RuleName::SingleUpdate => {
                let n = l.single_update_n;
                let alphas = l
                    .single_update_alpha
                    .clone()
                    .unwrap_or_else(|| vec![exp.scaling.alpha_n(n)]);
                out.extend(
                    alphas
                        .into_iter()
                        .map(|alpha| (*r, Rule::SingleUpdate { n, alpha })),
                );
            }
        }
    }
    out
}

/// Work units per sample of a rule (loss or gradient evaluations, the lockstep flow included).
fn cost(rule: Rule, substeps: u32) -> u64 {
    let flow = 4 * u64::from(substeps);
    match rule {
        Rule::Stdp { n } => n + 1 + flow,
        Rule::Flow { .. } => flow,
        Rule::Sgd => 1,
        Rule::SingleUpdate { n, .. } => n + 1,
    }
}

/// Total work units of a prepared experiment, for a progress bar.
pub fn total_work(p: &Prepared) -> u64 {
    let l = &p.exp.learning;
    let samples = (p.split.train.len() * l.epochs) as u64;
    runs_of(&p.exp)
        .iter()
        .map(|(_, r)| cost(*r, l.flow_substeps) * samples * l.replicates)
        .sum()
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Serves the sample order epoch by epoch, without storing more than one epoch.
struct Order {
    perm: Vec<usize>,
    pos: usize,
    epoch: u64,
    seed: u64,
}

impl Order {
    fn new(count: usize, seed: u64) -> Self {
        Self {
            perm: vec![0; count],
            pos: count,
            epoch: 0,
            seed,
        }
    }

    fn next(&mut self) -> usize {
        if self.pos == self.perm.len() {
            epoch_order(&mut self.perm, self.epoch, self.seed);
            self.epoch += 1;
            self.pos = 0;
        }
        self.pos += 1;
        self.perm[self.pos - 1]
    }
}

struct Context<'a> {
    exp: &'a LearningExperiment,
    model: &'a dyn Model,
    split: &'a Split,
    train_losses: Vec<Box<dyn Loss + 'a>>,
    test_losses: Vec<Box<dyn Loss + 'a>>,
}

impl Context<'_> {
    fn metrics(&self, theta: &[f64]) -> [f64; 3] {
        let mean = |ls: &[Box<dyn Loss + '_>]| {
            ls.iter().map(|l| l.value(theta)).sum::<f64>() / ls.len() as f64
        };
        [
            mean(&self.train_losses),
            mean(&self.test_losses),
            accuracy(self.model, &self.split.test, theta),
        ]
    }

    fn replicate(&self, job: Job, progress: &(dyn Fn(u64) + Sync)) -> Replicate {
        let t0 = Instant::now();
        let l = &self.exp.learning;
        let setting = Setting {
            scaling: self.exp.scaling,
            kappa: l.kappa,
            seed: self.exp.seed.wrapping_add(job.replicate),
        };
        let d = self.model.dim();
        let theta0 = vec![self.exp.theta0; d];
        let mut learner = Learner::new(job.rule, &setting, &theta0, job.replicate);
        let flow_rule = Rule::Flow {
            substeps: l.flow_substeps,
        };
        let mut flow = matches!(job.rule, Rule::Stdp { .. })
            .then(|| Learner::new(flow_rule, &setting, &theta0, job.replicate));
        let inner = match job.rule {
            Rule::SingleUpdate { n, .. } => n + 1,
            _ => 1,
        };
        let count = self.train_losses.len();
        let total = count * l.epochs;
        let mut order = Order::new(count, setting.seed);
        let unit = cost(job.rule, l.flow_substeps);
        let mut points = Vec::new();
        let mut sup: f64 = 0.0;
        let mut diverged = false;
        for seen in 1..=total {
            let mut k = 0;
            for _ in 0..inner {
                k = order.next();
                learner.learn(self.train_losses[k].as_ref());
            }
            let theta = learner.theta();
            let mut dist = f64::NAN;
            if let Some(f) = &mut flow {
                f.learn(self.train_losses[k].as_ref());
                dist = sq_dist(theta, f.theta());
                sup = sup.max(dist);
            }
            let norm: f64 = theta.iter().map(|t| t * t).sum();
            let bounded = norm.is_finite() && norm <= l.divergence_bound;
            if !bounded || (flow.is_some() && !dist.is_finite()) {
                diverged = true;
                progress(unit * (total - seen + 1) as u64);
                break;
            }
            if seen % l.every == 0 || seen == total {
                let [a, b, c] = self.metrics(theta);
                points.push([a, b, c, dist]);
            }
            progress(unit);
        }
        Replicate {
            points,
            sup_distance: if flow.is_some() { sup } else { f64::NAN },
            diverged,
            loss_evaluations: learner.loss_evaluations(),
            gradient_evaluations: learner.gradient_evaluations()
                + flow.as_ref().map_or(0, |f| f.gradient_evaluations()),
            seconds: t0.elapsed().as_secs_f64(),
        }
    }
}

fn record(
    exp: &LearningExperiment,
    name: RuleName,
    rule: Rule,
    reps: &[Replicate],
    total: usize,
) -> RunRecord {
    let l = &exp.learning;
    let ok: Vec<&Replicate> = reps.iter().filter(|r| !r.diverged).collect();
    let seen: Vec<usize> = (1..=total)
        .filter(|s| s % l.every == 0 || *s == total)
        .collect();
    let est = |j: usize, m: usize| {
        let v: Vec<f64> = ok.iter().map(|r| r.points[j][m]).collect();
        Estimate::from_samples(&v)
    };
    let stdp = matches!(rule, Rule::Stdp { .. });
    let curve = if ok.len() >= 2 {
        seen.iter()
            .enumerate()
            .map(|(j, &s)| CurvePoint {
                samples_seen: s,
                train_loss: est(j, 0),
                test_loss: est(j, 1),
                test_accuracy: est(j, 2),
                distance_to_flow: stdp.then(|| est(j, 3)),
            })
            .collect()
    } else {
        Vec::new()
    };
    let sup_distance_to_flow = (stdp && ok.len() >= 2).then(|| {
        let v: Vec<f64> = ok.iter().map(|r| r.sup_distance).collect();
        Estimate::from_samples(&v)
    });
    let n = match rule {
        Rule::Stdp { n } | Rule::SingleUpdate { n, .. } => Some(n),
        _ => None,
    };
    let alpha = match rule {
        Rule::SingleUpdate { alpha, .. } => Some(alpha),
        _ => n.map(|n| exp.scaling.alpha_n(n)),
    };
    let full = reps
        .iter()
        .find(|r| !r.diverged)
        .or(reps.first())
        .expect("at least 2 replicates");
    RunRecord {
        rule: name.key().into(),
        n,
        alpha_n: alpha,
        a_n: n.map(|n| exp.scaling.a_n(n)),
        replicates: reps.len() as u64,
        diverged: (reps.len() - ok.len()) as u64,
        samples: match rule {
            Rule::SingleUpdate { n, .. } => (total as u64) * (n + 1),
            _ => total as u64,
        },
        loss_evaluations: full.loss_evaluations,
        gradient_evaluations: full.gradient_evaluations,
        seconds: reps.iter().map(|r| r.seconds).sum(),
        curve,
        sup_distance_to_flow,
        final_test_accuracy: reps
            .iter()
            .map(|r| (!r.diverged).then(|| r.points.last().map_or(f64::NAN, |p| p[2])))
            .collect(),
    }
}

fn distance_fit(exp: &LearningExperiment, runs: &[RunRecord]) -> Option<DistanceFit> {
    let claim = exp.distance_claim.clone();
    let from = claim.as_ref().and_then(|c| c.fit_from).unwrap_or(0.0);
    let pts: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.rule == "stdp" && r.n.is_some_and(|n| n as f64 >= from))
        .collect();
    let with: Vec<(f64, Estimate)> = pts
        .iter()
        .filter_map(|r| Some((r.n? as f64, r.sup_distance_to_flow?)))
        .collect();
    let x: Vec<f64> = with.iter().map(|p| p.0).collect();
    let y: Vec<f64> = with.iter().map(|p| p.1.mean).collect();
    let se: Vec<f64> = with.iter().map(|p| p.1.std_error).collect();
    let fit = fit_power_law(&x, &y, &se)?;
    let verdict = claim.as_ref().map(|c| {
        let diverged: Vec<String> = pts
            .iter()
            .filter(|r| r.diverged > 0)
            .map(|r| {
                format!(
                    "{} of {} replicates diverged at n = {}",
                    r.diverged,
                    r.replicates,
                    r.n.unwrap_or(0)
                )
            })
            .collect();
        if with.len() < 3 {
            return Verdict {
                kind: VerdictKind::Inconclusive,
                reason: format!(
                    "only {} values of n have estimates; 3 are needed",
                    with.len()
                ),
            };
        }
        let why = (!diverged.is_empty()).then(|| diverged.join("; "));
        decide(
            fit.ci95,
            &Claim {
                slope: c.slope,
                tolerance: c.tolerance,
                decay: true,
            },
            why.as_deref(),
        )
    });
    Some(DistanceFit {
        n: x,
        fit,
        claim,
        verdict,
    })
}

fn paired(a: &RunRecord, b: &RunRecord, band: [f64; 2]) -> Comparison {
    let diffs: Vec<f64> = a
        .final_test_accuracy
        .iter()
        .zip(&b.final_test_accuracy)
        .filter_map(|(x, y)| Some((*x)? - (*y)?))
        .collect();
    let what = format!(
        "mean test-accuracy difference {} - {}",
        a.label(),
        b.label()
    );
    let (difference, verdict) = if diffs.len() >= 2 {
        let e = Estimate::from_samples(&diffs);
        let dropped = a.diverged + b.diverged;
        let why = (dropped > 0).then(|| format!("{dropped} replicates diverged"));
        (e, decide_interval(e.ci95, band, &what, why.as_deref()))
    } else {
        (
            Estimate {
                mean: f64::NAN,
                std_error: f64::NAN,
                ci95: [f64::NAN, f64::NAN],
            },
            Verdict {
                kind: VerdictKind::Inconclusive,
                reason: format!("{what}: fewer than 2 pairs without divergence"),
            },
        )
    };
    Comparison {
        rule: a.label(),
        reference: b.label(),
        statistic: "mean difference".into(),
        difference,
        pairs: diffs.len(),
        band,
        verdict,
    }
}

/// The fraction of replicates in which `a` does not diverge and ends with a test accuracy at least
/// that of `b` minus `tol`; pairs where `b` diverged are left out. The claim that `a` falls short
/// holds when the Clopper-Pearson interval of that fraction lies below 1/2.
fn reaching(a: &RunRecord, b: &RunRecord, tol: f64) -> Comparison {
    let outcomes: Vec<bool> = a
        .final_test_accuracy
        .iter()
        .zip(&b.final_test_accuracy)
        .filter_map(|(x, y)| {
            let y = (*y)?;
            Some(x.is_some_and(|x| x >= y - tol))
        })
        .collect();
    let what = format!(
        "fraction of replicates in which {} ends within {tol} of {}",
        a.label(),
        b.label()
    );
    let k = outcomes.iter().filter(|&&r| r).count();
    let (difference, verdict) = if outcomes.len() >= 2 {
        let e = proportion(k, outcomes.len());
        let why = (b.diverged > 0)
            .then(|| format!("{} replicates of {} diverged", b.diverged, b.label()));
        let mut v = decide_interval(e.ci95, [0.0, 0.5], &what, why.as_deref());
        if a.diverged > 0 {
            v.reason.push_str(&format!(
                " ({} of {} replicates of {} diverged and count as not reaching)",
                a.diverged,
                a.replicates,
                a.label()
            ));
        }
        (e, v)
    } else {
        (
            Estimate {
                mean: f64::NAN,
                std_error: f64::NAN,
                ci95: [f64::NAN, f64::NAN],
            },
            Verdict {
                kind: VerdictKind::Inconclusive,
                reason: format!("{what}: fewer than 2 replicates of the reference"),
            },
        )
    };
    Comparison {
        rule: a.label(),
        reference: b.label(),
        statistic: "fraction reaching".into(),
        difference,
        pairs: outcomes.len(),
        band: [0.0, 0.5],
        verdict,
    }
}

/// Joins named verdicts: `fails` if any fails, `holds` if all hold, `inconclusive` otherwise.
fn combine(verdicts: &[(&str, &Verdict)]) -> Option<Verdict> {
    if verdicts.is_empty() {
        return None;
    }
    let kind = if verdicts.iter().any(|v| v.1.kind == VerdictKind::Fails) {
        VerdictKind::Fails
    } else if verdicts.iter().all(|v| v.1.kind == VerdictKind::Holds) {
        VerdictKind::Holds
    } else {
        VerdictKind::Inconclusive
    };
    let reason = verdicts
        .iter()
        .map(|(name, v)| format!("{name} {}: {}", v.kind, v.reason))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Verdict { kind, reason })
}

fn accuracy_report(exp: &LearningExperiment, runs: &[RunRecord]) -> Option<AccuracyReport> {
    let claim = exp.accuracy_claim.clone()?;
    let find = |rule: &str, n: Option<u64>| {
        runs.iter()
            .find(|r| r.rule == rule && (n.is_none() || r.n == n))
    };
    let stdp = find("stdp", Some(claim.n))?;
    let tol = claim.tolerance;
    let comparisons: Vec<Comparison> = claim
        .against
        .iter()
        .filter_map(|r| find(r.key(), None))
        .map(|r| paired(stdp, r, [-tol, tol]))
        .collect();
    let named: Vec<(String, &Verdict)> = comparisons
        .iter()
        .map(|c| (format!("[{} vs {}]", c.rule, c.reference), &c.verdict))
        .collect();
    let verdict = combine(
        &named
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect::<Vec<_>>(),
    )?;
    Some(AccuracyReport {
        claim,
        comparisons,
        verdict,
    })
}

fn single_update_report(
    exp: &LearningExperiment,
    runs: &[RunRecord],
) -> Option<SingleUpdateReport> {
    let claim = exp.single_update_claim.clone()?;
    let flow = runs.iter().find(|r| r.rule == "flow")?;
    let comparisons: Vec<Comparison> = runs
        .iter()
        .filter(|r| r.rule == "single-update")
        .map(|su| reaching(su, flow, claim.tolerance))
        .collect();
    let named: Vec<(String, &Verdict)> = comparisons
        .iter()
        .map(|c| (format!("[{}]", c.rule), &c.verdict))
        .collect();
    let verdict = combine(
        &named
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect::<Vec<_>>(),
    )?;
    Some(SingleUpdateReport {
        claim,
        comparisons,
        verdict,
    })
}

fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Trains every rule and replicate (in parallel on the current rayon pool; results do not depend
/// on the thread count) and assembles the summary. `progress` receives work units as they are
/// done (see [`total_work`]).
pub fn run(
    p: &Prepared,
    threads: usize,
    quick: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> LearningSummary {
    let start = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let exp = &p.exp;
    let l = &exp.learning;
    let model = p.model.as_ref();
    let cx = Context {
        exp,
        model,
        split: &p.split,
        train_losses: (0..p.split.train.len())
            .map(|i| model.loss(p.split.train.row(i), p.split.train.y[i]))
            .collect(),
        test_losses: (0..p.split.test.len())
            .map(|i| model.loss(p.split.test.row(i), p.split.test.y[i]))
            .collect(),
    };
    let runs = runs_of(exp);
    let mut jobs: Vec<Job> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, (_, rule))| {
            (0..l.replicates).map(move |r| Job {
                run: i,
                rule: *rule,
                replicate: r,
            })
        })
        .collect();
    // Longest first, for load balance; results are placed by index, so order does not matter.
    jobs.sort_by_key(|j| std::cmp::Reverse(cost(j.rule, l.flow_substeps)));
    // A shared queue, longest jobs first: each worker takes the next job when it finishes one.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads() {
            scope.spawn(|_| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&j) = jobs.get(i) else { break };
                    let r = cx.replicate(j, progress);
                    done.lock().expect("no worker panicked").push((j, r));
                }
            });
        }
    });
    let done = done.into_inner().expect("no worker panicked");
    let mut by_run: Vec<Vec<Option<Replicate>>> = runs
        .iter()
        .map(|_| (0..l.replicates).map(|_| None).collect())
        .collect();
    for (j, r) in done {
        by_run[j.run][j.replicate as usize] = Some(r);
    }
    let total = p.split.train.len() * l.epochs;
    let records: Vec<RunRecord> = runs
        .iter()
        .zip(by_run)
        .map(|((name, rule), reps)| {
            let reps: Vec<Replicate> = reps
                .into_iter()
                .map(|r| r.expect("every job ran"))
                .collect();
            record(exp, *name, *rule, &reps, total)
        })
        .collect();
    let distance_fit = distance_fit(exp, &records);
    let accuracy = accuracy_report(exp, &records);
    let single_update = single_update_report(exp, &records);
    let verdict = combine(
        &[
            distance_fit
                .as_ref()
                .and_then(|f| f.verdict.as_ref())
                .map(|v| ("distance claim", v)),
            accuracy.as_ref().map(|a| ("accuracy claim", &a.verdict)),
            single_update
                .as_ref()
                .map(|a| ("single-update claim", &a.verdict)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>(),
    );
    let baseline = (p.split.train.classes.len() == 2)
        .then(|| fit_logistic(&p.split.train, &p.split.test, 1.0));
    let bytes = std::fs::read(&exp.data.file).unwrap_or_default();
    LearningSummary {
        kind: "learning".into(),
        name: exp.name.clone(),
        title: exp.title.clone(),
        config: serde_json::to_value(exp).expect("serialisable"),
        provenance: Provenance {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("STDP_FLOW_GIT_COMMIT").map(str::to_string),
            seed: exp.seed,
            threads,
            seconds: start.elapsed().as_secs_f64(),
            quick,
            started_unix,
        },
        dataset: DatasetInfo {
            file: exp.data.file.display().to_string(),
            fnv1a: fnv1a(&bytes),
            label: exp.data.label.clone(),
            classes: p.split.train.classes.clone(),
            features: p.split.train.features(),
            rows: p.rows,
            train_rows: p.split.train.len(),
            test_rows: p.split.test.len(),
        },
        parameters: model.dim(),
        kappa: l.kappa,
        runs: records,
        distance_fit,
        accuracy,
        single_update,
        baseline,
        verdict,
    }
}
