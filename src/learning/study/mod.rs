//! A learning experiment end to end: load and split the data, train every rule on `replicates`
//! seeded sample orders, record learning curves and the distance of STDP to the flow, fit that
//! distance against n and decide the claims.
//!
//! Replicate r uses the sample order of [`order_seed`](seed, r) for every rule, so rules are
//! compared in pairs on the same order. The STDP noise of each (n, r) has its own stream. Sharing orders across n makes
//! the distance estimates at different n mildly positively correlated; a common factor moves the
//! fit's intercept, not its slope.

mod summary;
mod train;
mod verdicts;

pub use summary::{
    AccuracyReport, Comparison, CurvePoint, DatasetInfo, DistanceFit, LearningSummary, RunRecord,
    SingleUpdateReport,
};

use super::Rule;
use super::baseline::fit_logistic;
use super::model::{LogisticModel, Model, SoftmaxModel};
use crate::data::{Split, load_csv_bytes, split};
use crate::error::{Error, Location};
use crate::experiment::learning::{LearningExperiment, ModelSpec, RuleName};
use crate::loss::LANES;
use crate::loss::{MAX_CLASSES, MAX_OUTPUTS, Network};
use crate::provenance::{Clock, fnv1a};
use crate::rng::splitmix64;
use crate::run::Observer;
use crate::stats::Verdict;
use train::{Batch, Context, Replicate, record};
use verdicts::{accuracy_report, combine, distance_fit, single_update_report};

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
    let (data, bytes) = load_csv_bytes(&d.file, &d.label).map_err(|e| of_experiment(exp, e))?;
    let s = split(&data, &d.file, d.test_fraction, d.split_seed, d.standardize)
        .map_err(|e| of_experiment(exp, e))?;
    let model = model_for(exp, data.features(), data.classes.len())?;
    Ok(Prepared {
        exp: exp.clone(),
        split: s,
        model,
        rows: data.len(),
        fnv1a: fnv1a(&bytes),
    })
}

/// A data error placed for the experiment `exp`: `data.test_fraction` at the experiment file,
/// and a problem of the CSV file's content with the experiment whose `data.file` it is.
fn of_experiment(exp: &LearningExperiment, e: Error) -> Error {
    match e {
        Error::InvalidValue {
            key,
            problem,
            expected,
            ..
        } if key == "data.test_fraction" => Error::InvalidValue {
            at: Location {
                file: exp.source.clone(),
                line_col: None,
            },
            key,
            problem: format!("{problem} (in {})", exp.data.file.display()),
            expected,
        },
        Error::InvalidValue {
            at,
            key,
            problem,
            expected,
        } => Error::InvalidValue {
            at,
            key,
            problem: format!("{problem} (the data.file of {})", exp.source.display()),
            expected,
        },
        e => e,
    }
}

/// The model of `exp` for `p` features and `k` classes; a model that cannot fit them is an
/// error of `model.kind`.
fn model_for(exp: &LearningExperiment, p: usize, k: usize) -> Result<Box<dyn Model>, Error> {
    let bad = |problem: String, expected: &str| Error::InvalidValue {
        at: Location {
            file: exp.source.clone(),
            line_col: None,
        },
        key: "model.kind".into(),
        problem,
        expected: expected.into(),
    };
    Ok(match &exp.model {
        ModelSpec::Logistic if k != 2 => {
            return Err(bad(
                format!(
                    "is \"logistic\" but {} has {k} classes",
                    exp.data.file.display()
                ),
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
    })
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
        .map(|(_, r)| {
            let reps = match r {
                Rule::Flow { .. } | Rule::Sgd => l.references(),
                _ => l.replicates,
            };
            cost(*r, l.flow_substeps) * samples * reps
        })
        .sum()
}

/// The seed of replicate r's sample order and noise: SplitMix64-mixed, so that the orders of
/// seeds s and s + 1 share nothing.
pub fn order_seed(seed: u64, replicate: u64) -> u64 {
    splitmix64(seed ^ splitmix64(replicate.wrapping_add(0x5245_504C)))
}

/// A unit of parallel work: the first stage of one replicate (its flow and SGD runs and the
/// reference path), or one batch of the second stage.
enum Job {
    Reference(u64),
    Batch(Batch),
}

/// Runs `jobs` on the current rayon pool from a shared queue, longest first by `cost` (each
/// worker takes the next job when it finishes one); returns the outputs in the order of `jobs`.
fn parallel<J: Sync, R: Send>(
    jobs: &[J],
    cost: impl Fn(&J) -> u64,
    work: impl Fn(&J) -> R + Sync,
) -> Vec<R> {
    let mut queue: Vec<usize> = (0..jobs.len()).collect();
    queue.sort_by_key(|&i| std::cmp::Reverse(cost(&jobs[i])));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads() {
            scope.spawn(|_| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&i) = queue.get(k) else { break };
                    let out = work(&jobs[i]);
                    done.lock().expect("no worker panicked").push((i, out));
                }
            });
        }
    });
    let mut done = done.into_inner().expect("no worker panicked");
    done.sort_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}

/// The batches of [`LANES`] replicates of every STDP and single-update run.
fn lane_batches(runs: &[(RuleName, Rule)], replicates: u64) -> Vec<Job> {
    let mut batches = Vec::new();
    for (run, (_, rule)) in runs.iter().enumerate() {
        if matches!(rule, Rule::Stdp { .. } | Rule::SingleUpdate { .. }) {
            for first in (0..replicates).step_by(LANES) {
                let count = (replicates - first).min(LANES as u64) as usize;
                batches.push(Job::Batch(Batch {
                    run,
                    rule: *rule,
                    first,
                    count,
                }));
            }
        }
    }
    batches
}

/// Trains every run and replicate: the first stage for every replicate of the references (the
/// reference path for the first `replicates`), then the batches ([`train`] describes both);
/// returns each run's replicates in replicate order (`references` of them for flow and SGD).
fn train_all(
    cx: &Context,
    runs: &[(RuleName, Rule)],
    (replicates, references): (u64, u64),
    observer: &dyn Observer,
) -> Vec<Vec<Replicate>> {
    let substeps = cx.exp.learning.flow_substeps;
    let per_sample: Vec<(usize, Rule)> = (runs.iter().enumerate())
        .filter(|(_, (_, r))| matches!(r, Rule::Flow { .. } | Rule::Sgd))
        .map(|(i, (_, r))| (i, *r))
        .collect();
    let path = runs.iter().any(|(_, r)| matches!(r, Rule::Stdp { .. }));
    let first: Vec<Job> = if per_sample.is_empty() && !path {
        Vec::new()
    } else {
        (0..references.max(replicates))
            .map(Job::Reference)
            .collect()
    };
    let batches = lane_batches(runs, replicates);
    let flow_cost = cost(Rule::Flow { substeps }, substeps);
    let job_cost = |j: &Job| match j {
        Job::Reference(_) => {
            per_sample.iter().map(|r| cost(r.1, substeps)).sum::<u64>() + flow_cost
        }
        Job::Batch(b) => cost(b.rule, substeps) * b.count as u64,
    };
    let refs = parallel(&first, job_cost, |j| match j {
        Job::Reference(r) => cx.reference(&per_sample, path && *r < replicates, *r, observer),
        Job::Batch(_) => unreachable!("the first stage has no batches"),
    });
    let paths: Vec<Option<Vec<f64>>> = if refs.is_empty() {
        vec![None; replicates as usize]
    } else {
        refs.iter()
            .take(replicates as usize)
            .map(|r| r.path.clone())
            .collect()
    };
    let outs = parallel(&batches, job_cost, |j| match j {
        Job::Batch(b) => cx.batch(b, &paths, observer),
        Job::Reference(_) => unreachable!("the second stage has only batches"),
    });
    let mut by_run: Vec<Vec<Option<Replicate>>> = runs
        .iter()
        .map(|(_, rule)| {
            let count = match rule {
                Rule::Flow { .. } | Rule::Sgd if !refs.is_empty() => refs.len() as u64,
                _ => replicates,
            };
            (0..count).map(|_| None).collect()
        })
        .collect();
    for (replicate, out) in refs.into_iter().enumerate() {
        for (run, r) in out.runs {
            by_run[run][replicate] = Some(r);
        }
    }
    for (replicate, (run, r)) in outs.into_iter().flatten() {
        by_run[run][replicate as usize] = Some(r);
    }
    by_run
        .into_iter()
        .map(|reps| {
            reps.into_iter()
                .map(|r| r.expect("every job ran"))
                .collect()
        })
        .collect()
}

/// Trains every rule and replicate (in parallel on the current rayon pool; results do not depend
/// on the thread count) and assembles the summary. `observer` receives work units as they are
/// done (see [`total_work`]).
pub fn run(p: &Prepared, threads: usize, quick: bool, observer: &dyn Observer) -> LearningSummary {
    let clock = Clock::start();
    let exp = &p.exp;
    let l = &exp.learning;
    let model = p.model.as_ref();
    let cx = Context::new(p);
    let runs = runs_of(exp);
    let by_run = train_all(&cx, &runs, (l.replicates, l.references()), observer);
    let total = p.split.train.len() * l.epochs;
    let records: Vec<RunRecord> = runs
        .iter()
        .zip(by_run)
        .map(|((name, rule), reps)| record(exp, *name, *rule, &reps, total))
        .collect();
    let mut s = LearningSummary {
        kind: "learning".into(),
        name: exp.name.clone(),
        title: exp.title.clone(),
        config: serde_json::to_value(exp).expect("serialisable"),
        provenance: clock.provenance(exp.seed, threads, quick, 0.0),
        dataset: dataset_info(p),
        parameters: model.dim(),
        kappa: l.kappa,
        distance_fit: distance_fit(exp, &records),
        accuracy: exp
            .accuracy_claims
            .iter()
            .map(|c| accuracy_report(c, &records))
            .collect(),
        single_update: single_update_report(exp, &records),
        runs: records,
        baseline: (p.split.train.classes.len() == 2)
            .then(|| fit_logistic(&p.split.train, &p.split.test, 1.0)),
        verdict: None,
    };
    s.verdict = overall_verdict(&s);
    s.provenance.seconds = clock.seconds();
    s
}

/// Every claim's verdict together.
fn overall_verdict(s: &LearningSummary) -> Option<Verdict> {
    let mut claims: Vec<(&str, &Verdict)> = Vec::new();
    if let Some(v) = s.distance_fit.as_ref().and_then(|f| f.verdict.as_ref()) {
        claims.push(("distance claim", v));
    }
    for a in &s.accuracy {
        claims.push(("accuracy claim", &a.verdict));
    }
    if let Some(a) = &s.single_update {
        claims.push(("single-update claim", &a.verdict));
    }
    combine(&claims)
}

fn dataset_info(p: &Prepared) -> DatasetInfo {
    let d = &p.exp.data;
    DatasetInfo {
        file: d.file.display().to_string(),
        fnv1a: p.fnv1a.clone(),
        label: d.label.clone(),
        classes: p.split.train.classes.clone(),
        features: p.split.train.features(),
        rows: p.rows,
        train_rows: p.split.train.len(),
        test_rows: p.split.test.len(),
    }
}
