//! A learning experiment end to end: load and split the data, train every rule on `replicates`
//! seeded sample orders, record learning curves and the distance of STDP to the flow, fit that
//! distance against n and decide the claims.
//!
//! Replicate r uses the sample order of [`order_seed`](seed, r) for every rule, so rules are
//! compared in pairs on the same order. The STDP noise of each (n, r) has its own stream. Sharing orders across n makes
//! the distance estimates at different n mildly positively correlated; a common factor moves the
//! fit's intercept, not its slope.

use super::baseline::{Baseline, fit_logistic};
use super::model::{LogisticModel, Model, SoftmaxModel, accuracy};
use super::{Learner, Rule, Setting, epoch_order};
use crate::data::{Split, load_csv, split};
use crate::error::{Error, Location};
use crate::experiment::learning::{
    AccuracyClaim, DistanceClaim, LearningExperiment, ModelSpec, RuleName, SingleUpdateClaim,
};
use crate::loss::{Loss, MAX_CLASSES, MAX_OUTPUTS, Network};
use crate::provenance::{Clock, Provenance, fnv1a};
use crate::rng::splitmix64;
use crate::run::Observer;
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
    /// FNV-1a hash of the file's bytes, as read.
    pub fnv1a: String,
}

/// Loads and splits the data and builds the model; errors name the file and the fix.
pub fn prepare(exp: &LearningExperiment) -> Result<Prepared, Error> {
    let d = &exp.data;
    let data = load_csv(&d.file, &d.label)?;
    let bytes = std::fs::read(&d.file).map_err(|source| Error::Io {
        path: d.file.clone(),
        source,
    })?;
    let s = split(&data, &d.file, d.test_fraction, d.split_seed, d.standardize).map_err(
        |e| match e {
            Error::InvalidValue {
                key,
                problem,
                expected,
                ..
            } if key == "test_fraction" => Error::InvalidValue {
                at: Location {
                    file: exp.source.clone(),
                    line_col: None,
                },
                key: "data.test_fraction".into(),
                problem: format!("{problem} (in {})", d.file.display()),
                expected,
            },
            other => other,
        },
    )?;
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
            ..
        } => Box::new(Network::new(p, *hidden, k, *excitatory, *sign_seed)),
    };
    Ok(Prepared {
        exp: exp.clone(),
        split: s,
        model,
        rows: data.len(),
        fnv1a: fnv1a(&bytes),
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
    /// The accuracy claims.
    pub accuracy: Vec<AccuracyReport>,
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
    /// Test accuracy where the run stopped (at the end, or where it diverged if theta is finite).
    last_accuracy: Option<f64>,
    sup_distance: f64,
    diverged: bool,
    loss_evaluations: u64,
    gradient_evaluations: u64,
    seconds: f64,
}

/// The runs of one replicate that share a pass over its sample order: every per-sample rule
/// together (STDP at each n is measured against the flow of the same pass), or one single-update
/// run (which consumes n + 1 samples per step).
#[derive(Clone)]
struct Job {
    runs: Vec<(usize, Rule)>,
    replicate: u64,
}

impl Job {
    fn cost(&self, substeps: u32) -> u64 {
        self.runs.iter().map(|r| cost(r.1, substeps)).sum()
    }
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

/// Work units per sample of a rule (loss or gradient evaluations).
fn cost(rule: Rule, substeps: u32) -> u64 {
    let flow = 12 * u64::from(substeps);
    match rule {
        Rule::Stdp { n } => n + 1,
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

/// The seed of replicate r's sample order and noise: SplitMix64-mixed, so that the orders of
/// seeds s and s + 1 share nothing.
pub fn order_seed(seed: u64, replicate: u64) -> u64 {
    splitmix64(seed ^ splitmix64(replicate.wrapping_add(0x5245_504C)))
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

    /// Runs one job; returns each run's replicate, by run index.
    fn replicate(&self, job: &Job, observer: &dyn Observer) -> Vec<(usize, Replicate)> {
        struct State {
            run: usize,
            learner: Learner,
            stdp: bool,
            points: Vec<[f64; 4]>,
            sup: f64,
            diverged: bool,
            last_accuracy: Option<f64>,
            seconds: f64,
            unit: u64,
        }
        let l = &self.exp.learning;
        let setting = Setting {
            scaling: self.exp.scaling,
            kappa: l.kappa,
            seed: order_seed(self.exp.seed, job.replicate),
        };
        let d = self.model.dim();
        let theta0 = vec![self.exp.theta0; d];
        let flow_rule = Rule::Flow {
            substeps: l.flow_substeps,
        };
        let mut states: Vec<State> = job
            .runs
            .iter()
            .map(|&(run, rule)| State {
                run,
                learner: Learner::new(rule, &setting, &theta0, job.replicate),
                stdp: matches!(rule, Rule::Stdp { .. }),
                points: Vec::new(),
                sup: 0.0,
                diverged: false,
                last_accuracy: None,
                seconds: 0.0,
                unit: cost(rule, l.flow_substeps),
            })
            .collect();
        // The reference flow: the job's own flow run if it has one, else a private one.
        let own_flow = job
            .runs
            .iter()
            .position(|r| matches!(r.1, Rule::Flow { .. }));
        let needs_flow = states.iter().any(|s| s.stdp);
        let mut private_flow = (needs_flow && own_flow.is_none())
            .then(|| Learner::new(flow_rule, &setting, &theta0, job.replicate));
        let inner = match job.runs.as_slice() {
            [(_, Rule::SingleUpdate { n, .. })] => n + 1,
            _ => 1,
        };
        let count = self.train_losses.len();
        let total = count * l.epochs;
        let mut order = Order::new(count, setting.seed);
        let mut z = vec![0.0; d];
        for seen in 1..=total {
            if inner > 1 {
                let st = &mut states[0];
                let t0 = Instant::now();
                for _ in 0..inner {
                    let k = order.next();
                    st.learner.learn(self.train_losses[k].as_ref());
                }
                st.seconds += t0.elapsed().as_secs_f64();
            } else {
                let k = order.next();
                let loss = self.train_losses[k].as_ref();
                if let Some(f) = &mut private_flow {
                    f.learn(loss);
                    z.copy_from_slice(f.theta());
                }
                // The flow first, so that every STDP run is compared with it after this sample.
                let mut ordered: Vec<usize> = (0..states.len()).collect();
                if let Some(i) = own_flow {
                    ordered.swap(0, i);
                }
                for i in ordered {
                    let st = &mut states[i];
                    // A diverged flow stops being recorded but stays the reference.
                    if st.diverged && Some(i) != own_flow {
                        continue;
                    }
                    let t0 = Instant::now();
                    st.learner.learn(loss);
                    st.seconds += t0.elapsed().as_secs_f64();
                    if Some(i) == own_flow {
                        z.copy_from_slice(st.learner.theta());
                    }
                }
            }
            let mut work = 0;
            for st in states.iter_mut().filter(|s| !s.diverged) {
                work += st.unit;
                let theta = st.learner.theta();
                let dist = if st.stdp {
                    sq_dist(theta, &z)
                } else {
                    f64::NAN
                };
                if st.stdp {
                    st.sup = st.sup.max(dist);
                }
                let norm: f64 = theta.iter().map(|t| t * t).sum();
                let bounded = norm.is_finite() && norm <= l.divergence_bound;
                if !bounded || (st.stdp && !dist.is_finite()) {
                    st.diverged = true;
                    if theta.iter().all(|t| t.is_finite()) {
                        st.last_accuracy = Some(accuracy(self.model, &self.split.test, theta));
                    }
                    work += st.unit * (total - seen) as u64;
                    continue;
                }
                if seen % l.every == 0 || seen == total {
                    let [a, b, c] = self.metrics(theta);
                    st.points.push([a, b, c, dist]);
                    if seen == total {
                        st.last_accuracy = Some(c);
                    }
                }
            }
            observer.advance(work);
            if states.iter().all(|s| s.diverged) {
                break;
            }
        }
        states
            .into_iter()
            .map(|st| {
                let rep = Replicate {
                    points: st.points,
                    last_accuracy: st.last_accuracy,
                    sup_distance: if st.stdp { st.sup } else { f64::NAN },
                    diverged: st.diverged,
                    loss_evaluations: st.learner.loss_evaluations(),
                    gradient_evaluations: st.learner.gradient_evaluations(),
                    seconds: st.seconds,
                };
                (st.run, rep)
            })
            .collect()
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
    let planned_loss = match rule {
        Rule::Stdp { n } | Rule::SingleUpdate { n, .. } => total as u64 * (n + 1),
        _ => 0,
    };
    assert!(
        planned_loss == 0 || ok.iter().all(|r| r.loss_evaluations == planned_loss),
        "a replicate that ran to the end used other than its planned loss evaluations"
    );
    let mean_gradients = if ok.is_empty() {
        0
    } else {
        (ok.iter()
            .map(|r| r.gradient_evaluations as f64)
            .sum::<f64>()
            / ok.len() as f64)
            .round() as u64
    };
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
        loss_evaluations: planned_loss,
        gradient_evaluations: mean_gradients,
        seconds: reps.iter().map(|r| r.seconds).sum(),
        curve,
        sup_distance_to_flow,
        final_test_accuracy: reps
            .iter()
            .map(|r| if r.diverged { None } else { r.last_accuracy })
            .collect(),
        accuracy_at_divergence: reps
            .iter()
            .map(|r| if r.diverged { r.last_accuracy } else { None })
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
    let fit = fit_power_law(&x, &y, &se);
    if fit.is_none() && claim.is_none() {
        return None;
    }
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
        let mut diverged = diverged;
        if let Some(f) = runs.iter().find(|r| r.rule == "flow" && r.diverged > 0) {
            diverged.push(format!(
                "{} of {} replicates of the reference flow diverged",
                f.diverged, f.replicates
            ));
        }
        let why = (!diverged.is_empty()).then(|| diverged.join("; "));
        match &fit {
            Some(f) if with.len() >= 3 => decide(
                f.ci95,
                &Claim {
                    slope: c.slope,
                    tolerance: c.tolerance,
                    decay: true,
                },
                why.as_deref(),
            ),
            _ => Verdict {
                kind: VerdictKind::Inconclusive,
                reason: format!(
                    "only {} values of n in the fit range have estimates (3 are needed){}",
                    with.len(),
                    why.map_or(String::new(), |w| format!("; {w}"))
                ),
            },
        }
    });
    Some(DistanceFit {
        n: x,
        fit,
        claim,
        verdict,
    })
}

/// An undefined estimate with an `inconclusive` verdict saying why.
fn undecided(reason: String) -> (Estimate, Verdict) {
    let nan = f64::NAN;
    (
        Estimate {
            mean: nan,
            std_error: nan,
            ci95: [nan, nan],
        },
        Verdict {
            kind: VerdictKind::Inconclusive,
            reason,
        },
    )
}

/// The comparisons' verdicts joined (see [`combine`]), or `inconclusive` with `none` if there are
/// no comparisons.
fn combine_comparisons(comparisons: &[Comparison], none: &str) -> Verdict {
    let named: Vec<(String, &Verdict)> = comparisons
        .iter()
        .map(|c| (format!("[{} vs {}]", c.rule, c.reference), &c.verdict))
        .collect();
    let refs: Vec<(&str, &Verdict)> = named.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    combine(&refs).unwrap_or(Verdict {
        kind: VerdictKind::Inconclusive,
        reason: none.into(),
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
        undecided(format!("{what}: fewer than 2 pairs without divergence"))
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

/// The fraction of replicates in which `a` ends (or, if it diverged, stops with finite theta) with
/// a test accuracy at least that of `b` minus `tol`; a replicate whose theta is no longer finite
/// does not reach, and pairs where `b` diverged are left out. The claim that `a` falls short holds
/// when the Clopper-Pearson interval of that fraction lies below 1/2.
fn reaching(a: &RunRecord, b: &RunRecord, tol: f64) -> Comparison {
    let outcomes: Vec<bool> = a
        .final_test_accuracy
        .iter()
        .zip(&a.accuracy_at_divergence)
        .zip(&b.final_test_accuracy)
        .filter_map(|((x, xd), y)| {
            let y = (*y)?;
            Some(x.or(*xd).is_some_and(|x| x >= y - tol))
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
                " ({} of {} replicates of {} diverged (|theta|^2 above the bound) and are scored where they stopped)",
                a.diverged,
                a.replicates,
                a.label()
            ));
        }
        (e, v)
    } else {
        undecided(format!("{what}: fewer than 2 replicates of the reference"))
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

fn accuracy_report(claim: &AccuracyClaim, runs: &[RunRecord]) -> AccuracyReport {
    let find = |rule: &str, n: Option<u64>| {
        runs.iter()
            .find(|r| r.rule == rule && (n.is_none() || r.n == n))
    };
    let tol = claim.tolerance;
    let comparisons: Vec<Comparison> = match find("stdp", Some(claim.n)) {
        Some(stdp) => claim
            .against
            .iter()
            .filter_map(|r| find(r.key(), None))
            .map(|r| paired(stdp, r, [-tol, tol]))
            .collect(),
        None => Vec::new(),
    };
    let verdict = combine_comparisons(
        &comparisons,
        "no comparison could be made (a rule of the claim did not run)",
    );
    AccuracyReport {
        claim: claim.clone(),
        comparisons,
        verdict,
    }
}

fn single_update_report(
    exp: &LearningExperiment,
    runs: &[RunRecord],
) -> Option<SingleUpdateReport> {
    let claim = exp.single_update_claim.clone()?;
    let Some(flow) = runs.iter().find(|r| r.rule == "flow") else {
        return Some(SingleUpdateReport {
            claim,
            comparisons: Vec::new(),
            verdict: Verdict {
                kind: VerdictKind::Inconclusive,
                reason: "the flow did not run".into(),
            },
        });
    };
    let comparisons: Vec<Comparison> = runs
        .iter()
        .filter(|r| r.rule == "single-update")
        .map(|su| reaching(su, flow, claim.tolerance))
        .collect();
    let verdict = combine_comparisons(&comparisons, "no single-update run");
    Some(SingleUpdateReport {
        claim,
        comparisons,
        verdict,
    })
}

/// Trains every rule and replicate (in parallel on the current rayon pool; results do not depend
/// on the thread count) and assembles the summary. `observer` receives work units as they are
/// done (see [`total_work`]).
pub fn run(p: &Prepared, threads: usize, quick: bool, observer: &dyn Observer) -> LearningSummary {
    let clock = Clock::start();
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
    let per_sample: Vec<(usize, Rule)> = runs
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| !matches!(r, Rule::SingleUpdate { .. }))
        .map(|(i, (_, r))| (i, *r))
        .collect();
    let mut jobs: Vec<Job> = Vec::new();
    for r in 0..l.replicates {
        if !per_sample.is_empty() {
            jobs.push(Job {
                runs: per_sample.clone(),
                replicate: r,
            });
        }
        for (i, (_, rule)) in runs.iter().enumerate() {
            if matches!(rule, Rule::SingleUpdate { .. }) {
                jobs.push(Job {
                    runs: vec![(i, *rule)],
                    replicate: r,
                });
            }
        }
    }
    // Longest first, for load balance; results are placed by index, so order does not matter.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.cost(l.flow_substeps)));
    // A shared queue: each worker takes the next job when it finishes one.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads() {
            scope.spawn(|_| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(j) = jobs.get(i) else { break };
                    let out = cx.replicate(j, observer);
                    done.lock()
                        .expect("no worker panicked")
                        .push((j.replicate, out));
                }
            });
        }
    });
    let done = done.into_inner().expect("no worker panicked");
    let mut by_run: Vec<Vec<Option<Replicate>>> = runs
        .iter()
        .map(|_| (0..l.replicates).map(|_| None).collect())
        .collect();
    for (replicate, out) in done {
        for (run, r) in out {
            by_run[run][replicate as usize] = Some(r);
        }
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
    let accuracy: Vec<AccuracyReport> = exp
        .accuracy_claims
        .iter()
        .map(|c| accuracy_report(c, &records))
        .collect();
    let single_update = single_update_report(exp, &records);
    let mut claims: Vec<(&str, &Verdict)> = Vec::new();
    if let Some(v) = distance_fit.as_ref().and_then(|f| f.verdict.as_ref()) {
        claims.push(("distance claim", v));
    }
    for a in &accuracy {
        claims.push(("accuracy claim", &a.verdict));
    }
    if let Some(a) = &single_update {
        claims.push(("single-update claim", &a.verdict));
    }
    let verdict = combine(&claims);
    let baseline = (p.split.train.classes.len() == 2)
        .then(|| fit_logistic(&p.split.train, &p.split.test, 1.0));
    LearningSummary {
        kind: "learning".into(),
        name: exp.name.clone(),
        title: exp.title.clone(),
        config: serde_json::to_value(exp).expect("serialisable"),
        provenance: clock.provenance(exp.seed, threads, quick, clock.seconds()),
        dataset: DatasetInfo {
            file: exp.data.file.display().to_string(),
            fnv1a: p.fnv1a.clone(),
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
