//! Training in two stages. First, per replicate, the flow and SGD on its sample order, keeping
//! the flow's theta after every sample (the reference path). Then, per batch of up to
//! [`LANES`] replicates, each STDP and single-update run with the batched kernel
//! ([`crate::learning::lanes`]), every STDP lane measured against its replicate's reference
//! path after every sample. Last, the records of each run over its replicates.

use super::summary::{CurvePoint, RunRecord};
use super::{Prepared, cost, order_seed};
use crate::data::Split;
use crate::experiment::learning::{LearningExperiment, RuleName};
use crate::learning::lanes::{self, StdpLanes, Step, Work};
use crate::learning::model::{KnownModel, Model, accuracy};
use crate::learning::{Learner, Rule, Setting, epoch_order, stream};
use crate::loss::{DynLanes, LANES, LaneLoss, LogisticLanes, Loss, NetworkLanes};
use crate::run::Observer;
use crate::stats::Estimate;
use std::time::Instant;

/// One replicate of one rule.
pub(super) struct Replicate {
    points: Vec<[f64; 4]>,
    /// Test accuracy where the run stopped (at the end, or where it diverged if theta is finite).
    last_accuracy: Option<f64>,
    sup_distance: f64,
    diverged: bool,
    loss_evaluations: u64,
    gradient_evaluations: u64,
    seconds: f64,
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

/// The training set in the form of the batched losses of the built-in models.
pub(super) enum LaneData<'a> {
    /// Logistic regression: inputs with the bias's 1 appended (samples x d), labels -1/+1.
    Logistic { x: Vec<f64>, y: Vec<f64> },
    /// The network: inputs (samples x p) and classes.
    Network {
        net: &'a crate::loss::Network,
        x: &'a [f64],
        y: &'a [usize],
    },
    /// Other models: their per-sample losses through `dyn Loss`.
    Other,
}

impl<'a> LaneData<'a> {
    fn new(model: &'a dyn Model, split: &'a Split) -> Self {
        let t = &split.train;
        match model.known() {
            KnownModel::Logistic(_) => LaneData::Logistic {
                x: (0..t.len())
                    .flat_map(|i| t.row(i).iter().copied().chain([1.0]))
                    .collect(),
                y: t.y
                    .iter()
                    .map(|&y| if y == 1 { 1.0 } else { -1.0 })
                    .collect(),
            },
            KnownModel::Network(net) => LaneData::Network {
                net,
                x: &t.x,
                y: &t.y,
            },
            KnownModel::Other => LaneData::Other,
        }
    }
}

/// What every job reads: the experiment, the model, the split, the per-sample losses and the
/// training set in the form of the batched losses.
pub(super) struct Context<'a> {
    pub(super) exp: &'a LearningExperiment,
    model: &'a dyn Model,
    split: &'a Split,
    train_losses: Vec<Box<dyn Loss + 'a>>,
    test_losses: Vec<Box<dyn Loss + 'a>>,
    lane_data: LaneData<'a>,
}

impl<'a> Context<'a> {
    pub(super) fn new(p: &'a Prepared) -> Self {
        let (model, split) = (p.model.as_ref(), &p.split);
        let losses = |d: &'a crate::data::Dataset| {
            (0..d.len()).map(|i| model.loss(d.row(i), d.y[i])).collect()
        };
        Self {
            exp: &p.exp,
            model,
            split,
            train_losses: losses(&split.train),
            test_losses: losses(&split.test),
            lane_data: LaneData::new(model, split),
        }
    }
}

/// One run of one replicate while it trains.
struct RunState {
    run: usize,
    stdp: bool,
    points: Vec<[f64; 4]>,
    sup: f64,
    diverged: bool,
    last_accuracy: Option<f64>,
    seconds: f64,
    unit: u64,
    loss_evaluations: u64,
    gradient_evaluations: u64,
}

impl RunState {
    fn new(run: usize, rule: Rule, substeps: u32) -> Self {
        Self {
            run,
            stdp: matches!(rule, Rule::Stdp { .. }),
            points: Vec::new(),
            sup: 0.0,
            diverged: false,
            last_accuracy: None,
            seconds: 0.0,
            unit: cost(rule, substeps),
            loss_evaluations: 0,
            gradient_evaluations: 0,
        }
    }

    /// Records theta after `seen` of `total` samples (STDP: against the flow at `z`); returns the
    /// work units done (the rest of the run's when it diverges now).
    fn observe(
        &mut self,
        cx: &Context,
        theta: &[f64],
        z: &[f64],
        seen: usize,
        total: usize,
    ) -> u64 {
        let l = &cx.exp.learning;
        let dist = if self.stdp {
            sq_dist(theta, z)
        } else {
            f64::NAN
        };
        if self.stdp {
            self.sup = self.sup.max(dist);
        }
        let norm: f64 = theta.iter().map(|t| t * t).sum();
        let bounded = norm.is_finite() && norm <= l.divergence_bound;
        if !bounded || (self.stdp && !dist.is_finite()) {
            self.diverged = true;
            if theta.iter().all(|t| t.is_finite()) {
                self.last_accuracy = Some(accuracy(cx.model, &cx.split.test, theta));
            }
            return self.unit * (total - seen + 1) as u64;
        }
        if seen.is_multiple_of(l.every) || seen == total {
            let [a, b, c] = cx.metrics(theta);
            self.points.push([a, b, c, dist]);
            if seen == total {
                self.last_accuracy = Some(c);
            }
        }
        self.unit
    }

    fn into_replicate(self) -> (usize, Replicate) {
        let rep = Replicate {
            points: self.points,
            last_accuracy: self.last_accuracy,
            sup_distance: if self.stdp { self.sup } else { f64::NAN },
            diverged: self.diverged,
            loss_evaluations: self.loss_evaluations,
            gradient_evaluations: self.gradient_evaluations,
            seconds: self.seconds,
        };
        (self.run, rep)
    }
}

/// What the first stage leaves of one replicate: its flow and SGD runs, by run index, and the
/// reference flow's theta after every sample (samples x d) if an STDP run needs it.
pub(super) struct ReferenceOut {
    pub(super) runs: Vec<(usize, Replicate)>,
    pub(super) path: Option<Vec<f64>>,
}

/// The runs of a batch: one STDP or single-update run for replicates `first..first + count`.
#[derive(Clone, Debug)]
pub(super) struct Batch {
    pub(super) run: usize,
    pub(super) rule: Rule,
    pub(super) first: u64,
    pub(super) count: usize,
}

impl Context<'_> {
    /// Mean training loss, mean test loss and test accuracy at theta.
    fn metrics(&self, theta: &[f64]) -> [f64; 3] {
        if let KnownModel::Network(net) = self.model.known() {
            let (train, _) = net.score(theta, self.split.train.rows());
            let (test, correct) = net.score(theta, self.split.test.rows());
            return [train, test, correct as f64 / self.split.test.len() as f64];
        }
        let mean = |ls: &[Box<dyn Loss + '_>]| {
            ls.iter().map(|l| l.value(theta)).sum::<f64>() / ls.len() as f64
        };
        [
            mean(&self.train_losses),
            mean(&self.test_losses),
            accuracy(self.model, &self.split.test, theta),
        ]
    }

    fn setting(&self, replicate: u64) -> Setting {
        Setting {
            scaling: self.exp.scaling,
            kappa: self.exp.learning.kappa,
            seed: order_seed(self.exp.seed, replicate),
        }
    }

    fn total(&self) -> usize {
        self.train_losses.len() * self.exp.learning.epochs
    }

    /// The first stage for one replicate: the flow and SGD runs in `runs` (run index, rule) and,
    /// with `path`, the reference flow's path (a private flow if `runs` has none). A diverged
    /// flow stops being recorded but stays the reference.
    pub(super) fn reference(
        &self,
        runs: &[(usize, Rule)],
        path: bool,
        replicate: u64,
        observer: &dyn Observer,
    ) -> ReferenceOut {
        let l = &self.exp.learning;
        let setting = self.setting(replicate);
        let d = self.model.dim();
        let theta0 = vec![self.exp.theta0; d];
        let flow = Rule::Flow {
            substeps: l.flow_substeps,
        };
        let mut learners: Vec<Learner> = runs
            .iter()
            .map(|&(_, rule)| Learner::new(rule, &setting, &theta0, replicate))
            .collect();
        let mut states: Vec<RunState> = runs
            .iter()
            .map(|&(run, rule)| RunState::new(run, rule, l.flow_substeps))
            .collect();
        let own = runs.iter().position(|r| matches!(r.1, Rule::Flow { .. }));
        let mut private =
            (path && own.is_none()).then(|| Learner::new(flow, &setting, &theta0, replicate));
        let total = self.total();
        let mut z_path = path.then(|| Vec::with_capacity(total * d));
        let mut order = Order::new(self.train_losses.len(), setting.seed);
        for seen in 1..=total {
            let loss = self.train_losses[order.next()].as_ref();
            for (i, (learner, st)) in learners.iter_mut().zip(&mut states).enumerate() {
                if st.diverged && Some(i) != own {
                    continue;
                }
                let t0 = Instant::now();
                learner.learn(loss);
                st.seconds += t0.elapsed().as_secs_f64();
            }
            if let Some(f) = &mut private {
                f.learn(loss);
            }
            if let Some(p) = &mut z_path {
                let z = match (&private, own) {
                    (Some(f), _) => f.theta(),
                    (None, Some(i)) => learners[i].theta(),
                    (None, None) => unreachable!("a path needs a flow"),
                };
                p.extend_from_slice(z);
            }
            let work = (learners.iter().zip(&mut states))
                .filter(|(_, s)| !s.diverged)
                .map(|(learner, s)| s.observe(self, learner.theta(), &[], seen, total))
                .sum();
            observer.advance(work);
            if z_path.is_none() && states.iter().all(|s| s.diverged) {
                break;
            }
        }
        let runs = (learners.into_iter().zip(states))
            .map(|(learner, mut st)| {
                st.gradient_evaluations = learner.gradient_evaluations();
                st.into_replicate()
            })
            .collect();
        ReferenceOut { runs, path: z_path }
    }

    /// The second stage for one batch: its run on every replicate of the batch at once, with the
    /// batched loss of the model. `paths[r]` is replicate r's reference path (STDP only).
    pub(super) fn batch(
        &self,
        batch: &Batch,
        paths: &[Option<Vec<f64>>],
        observer: &dyn Observer,
    ) -> Vec<(u64, (usize, Replicate))> {
        match &self.lane_data {
            LaneData::Logistic { x, y } => {
                self.batch_with(LogisticLanes::new(x, y), batch, paths, observer)
            }
            LaneData::Network { net, x, y } => {
                self.batch_with(NetworkLanes::new(net, x, y), batch, paths, observer)
            }
            LaneData::Other => {
                let loss = DynLanes::new(&self.train_losses, self.model.dim());
                self.batch_with(loss, batch, paths, observer)
            }
        }
    }

    fn batch_with<L: LaneLoss>(
        &self,
        mut loss: L,
        batch: &Batch,
        paths: &[Option<Vec<f64>>],
        observer: &dyn Observer,
    ) -> Vec<(u64, (usize, Replicate))> {
        let l = &self.exp.learning;
        let d = self.model.dim();
        let theta0 = vec![self.exp.theta0; d];
        let reps: Vec<u64> = (batch.first..batch.first + batch.count as u64).collect();
        let streams = reps
            .iter()
            .map(|&r| stream(batch.rule, &self.setting(r), d, r));
        let mut lanes = StdpLanes::new(&theta0, streams);
        let mut acc = loss.acc();
        let mut orders: Vec<Order> = (reps.iter())
            .map(|&r| Order::new(self.train_losses.len(), self.setting(r).seed))
            .collect();
        let mut states: Vec<RunState> = (reps.iter())
            .map(|_| RunState::new(batch.run, batch.rule, l.flow_substeps))
            .collect();
        let s = &self.exp.scaling;
        let (step, evaluations) = match batch.rule {
            Rule::Stdp { n } => (Step::new(s.alpha_n(n), s.a_n(n)), n + 1),
            Rule::SingleUpdate { n, alpha } => (Step::new(alpha, s.a_n(n)), n + 1),
            _ => unreachable!("batches run STDP and single-update"),
        };
        let mut theta = vec![0.0; d];
        let total = self.total();
        for seen in 1..=total {
            let t0 = Instant::now();
            match batch.rule {
                Rule::Stdp { n } => {
                    let mut k = [0; LANES];
                    for (k, o) in k.iter_mut().zip(&mut orders) {
                        *k = o.next();
                    }
                    loss.load(&k);
                    lanes::run(&mut lanes, &mut loss, &mut acc, &step, Work::Stdp { n });
                }
                _ => {
                    let mut next = |b: usize| orders[b].next();
                    let work = Work::SingleUpdate {
                        m: evaluations,
                        first: seen == 1,
                        next: &mut next,
                    };
                    lanes::run(&mut lanes, &mut loss, &mut acc, &step, work);
                }
            }
            let seconds = t0.elapsed().as_secs_f64() / reps.len() as f64;
            let mut work = 0;
            for (b, st) in states.iter_mut().enumerate() {
                if st.diverged {
                    lanes.park(b, &theta0);
                    continue;
                }
                st.seconds += seconds;
                st.loss_evaluations += evaluations;
                lanes.theta(b, &mut theta);
                let z = paths[reps[b] as usize]
                    .as_deref()
                    .map_or(&[][..], |p| &p[(seen - 1) * d..seen * d]);
                work += st.observe(self, &theta, z, seen, total);
            }
            observer.advance(work);
            if states.iter().all(|s| s.diverged) {
                break;
            }
        }
        reps.into_iter()
            .zip(states)
            .map(|(r, st)| (r, st.into_replicate()))
            .collect()
    }
}

pub(super) fn record(
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
    let stdp = matches!(rule, Rule::Stdp { .. });
    let (curve, sup_distance_to_flow) = curve(&ok, &seen, stdp);
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

/// The learning curve over the replicates that did not diverge, at the samples seen `seen` (with
/// the distance to the flow for STDP), and STDP's sup distance; empty below 2 replicates.
fn curve(ok: &[&Replicate], seen: &[usize], stdp: bool) -> (Vec<CurvePoint>, Option<Estimate>) {
    if ok.len() < 2 {
        return (Vec::new(), None);
    }
    let est = |j: usize, m: usize| {
        let v: Vec<f64> = ok.iter().map(|r| r.points[j][m]).collect();
        Estimate::from_samples(&v)
    };
    let points = seen
        .iter()
        .enumerate()
        .map(|(j, &s)| CurvePoint {
            samples_seen: s,
            train_loss: est(j, 0),
            test_loss: est(j, 1),
            test_accuracy: est(j, 2),
            distance_to_flow: stdp.then(|| est(j, 3)),
        })
        .collect();
    let sup = stdp.then(|| {
        let v: Vec<f64> = ok.iter().map(|r| r.sup_distance).collect();
        Estimate::from_samples(&v)
    });
    (points, sup)
}

#[cfg(test)]
mod tests {
    use super::super::{prepare, runs_of, train_all};
    use super::*;
    use crate::experiment::{Spec, parse_any};

    fn prepared(model: &str, replicates: u64) -> Prepared {
        prepared_with(model, &format!("replicates = {replicates}"), "")
    }

    fn prepared_with(model: &str, replicates: &str, tail: &str) -> Prepared {
        let text = format!(
            "kind = \"learning\"\nname = \"lanes\"\nseed = 5\n[data]\nfile = \"{}\"\n\
             label = \"diagnosis\"\n[model]\n{model}\n[scaling]\nalpha = 1.5\na = 1.0\n\
             [learning]\nn = [150, 200, 300]\nepochs = 1\n{replicates}\nevery = 40\n\
             single_update_n = 40\n{tail}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/wdbc.csv")
        );
        let Spec::Learning(exp) = parse_any(&text, std::path::Path::new("x.toml")).unwrap() else {
            panic!("not a learning experiment")
        };
        prepare(&exp).unwrap()
    }

    fn train(p: &Prepared, threads: usize) -> Vec<Vec<Replicate>> {
        let cx = Context::new(p);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let runs = runs_of(&p.exp);
        pool.install(|| {
            train_all(
                &cx,
                &runs,
                (p.exp.learning.replicates, p.exp.learning.references()),
                &crate::run::Silent,
            )
        })
    }

    /// Every bit a replicate leaves in the summary (its curve, sup distance, accuracies).
    fn bits(r: &Replicate) -> Vec<u64> {
        let mut v: Vec<u64> = r.points.iter().flatten().map(|x| x.to_bits()).collect();
        v.push(r.sup_distance.to_bits());
        v.push(r.last_accuracy.map_or(1, f64::to_bits));
        v.push(u64::from(r.diverged));
        v.push(r.loss_evaluations);
        v
    }

    /// A replicate's results do not depend on which replicates share its batch (3 replicates in
    /// one batch against 11 in two) nor on the thread count (1 against 2), for the logistic model
    /// and the network, every rule.
    #[test]
    fn replicates_do_not_depend_on_batches_or_threads() {
        for model in [
            "kind = \"logistic\"",
            "kind = \"network\"\nhidden = 3\ntheta0 = -2.0",
        ] {
            let (few, many) = (prepared(model, 3), prepared(model, 11));
            let a = train(&few, 1);
            let b = train(&many, 2);
            let c = train(&many, 1);
            for (run, (ra, rb)) in a.iter().zip(&b).enumerate() {
                assert_eq!(rb.len(), 11);
                for r in 0..3 {
                    assert_eq!(
                        bits(&ra[r]),
                        bits(&rb[r]),
                        "{model}: run {run} replicate {r}"
                    );
                }
            }
            for (rb, rc) in b.iter().zip(&c) {
                let (x, y): (Vec<_>, Vec<_>) =
                    rb.iter().zip(rc).map(|(u, v)| (bits(u), bits(v))).unzip();
                assert_eq!(x, y, "{model}: 1 and 2 threads differ");
            }
        }
    }

    /// `reference_replicates` adds replicates of the flow and SGD only: the first `replicates`
    /// of every run keep their bits, STDP and single-update keep their count, and the accuracy
    /// comparison with SGD goes through the flow.
    #[test]
    fn reference_replicates_extend_flow_and_sgd_only() {
        let model = "kind = \"logistic\"";
        let plain = prepared(model, 3);
        let more = prepared_with(model, "replicates = 3\nreference_replicates = 10", "");
        let (a, b) = (train(&plain, 2), train(&more, 2));
        for ((name, _), (ra, rb)) in runs_of(&plain.exp).iter().zip(a.iter().zip(&b)) {
            let want = if matches!(name, RuleName::Flow | RuleName::Sgd) {
                10
            } else {
                3
            };
            assert_eq!(rb.len(), want, "{name:?}");
            for r in 0..3 {
                assert_eq!(bits(&ra[r]), bits(&rb[r]), "{name:?} replicate {r}");
            }
        }
        let claim = "[[claim.accuracy]]\ntolerance = 0.05\nagainst = [\"sgd\", \"flow\"]\n";
        let p = prepared_with(model, "replicates = 3\nreference_replicates = 10", claim);
        let s = super::super::run(&p, 2, false, &crate::run::Silent);
        let c = &s.accuracy[0].comparisons;
        assert_eq!(c[0].statistic, "mean difference through the flow");
        assert_eq!((c[0].pairs, c[0].reference_pairs), (3, Some(10)));
        assert_eq!(
            (c[1].statistic.as_str(), c[1].pairs),
            ("mean difference", 3)
        );
    }

    /// Fewer reference replicates than replicates is an error that names the key and the fix.
    #[test]
    fn too_few_reference_replicates_are_refused() {
        let text = format!(
            "kind = \"learning\"\nname = \"x\"\nseed = 5\n[data]\nfile = \"{}\"\n\
             label = \"diagnosis\"\n[model]\nkind = \"logistic\"\n[scaling]\nalpha = 1.5\n\
             a = 1.0\n[learning]\nn = [150, 200, 300]\nreplicates = 10\nreference_replicates = 3\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/wdbc.csv")
        );
        let Err(e) = parse_any(&text, std::path::Path::new("x.toml")) else {
            panic!("accepted")
        };
        let e = e.to_string();
        assert!(
            e.contains("learning.reference_replicates") && e.contains("at least 10"),
            "{e}"
        );
    }
}
