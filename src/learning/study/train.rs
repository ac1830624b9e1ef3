//! Training of one job (the runs of one replicate that share a sample order): every rule on the
//! same order, each STDP run measured against the flow after every sample, and the records of
//! each run over its replicates.

use super::summary::{CurvePoint, RunRecord};
use super::{Job, cost, order_seed};
use crate::data::Split;
use crate::experiment::learning::{LearningExperiment, RuleName};
use crate::learning::model::{Model, accuracy};
use crate::learning::{Learner, Rule, Setting, epoch_order};
use crate::loss::Loss;
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

pub(super) struct Context<'a> {
    pub(super) exp: &'a LearningExperiment,
    pub(super) model: &'a dyn Model,
    pub(super) split: &'a Split,
    pub(super) train_losses: Vec<Box<dyn Loss + 'a>>,
    pub(super) test_losses: Vec<Box<dyn Loss + 'a>>,
}

impl Context<'_> {
    /// Mean training loss, mean test loss and test accuracy at theta.
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
}

/// One run of a job while it trains.
struct RunState {
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

impl RunState {
    /// Trains on one sample, timed.
    fn learn(&mut self, loss: &dyn Loss) {
        let t0 = Instant::now();
        self.learner.learn(loss);
        self.seconds += t0.elapsed().as_secs_f64();
    }

    /// Records the state after `seen` of `total` samples against the flow at `z`; returns the
    /// work units done (the rest of the run's when it diverges now).
    fn observe(&mut self, cx: &Context, z: &[f64], seen: usize, total: usize) -> u64 {
        let l = &cx.exp.learning;
        let theta = self.learner.theta();
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
            loss_evaluations: self.learner.loss_evaluations(),
            gradient_evaluations: self.learner.gradient_evaluations(),
            seconds: self.seconds,
        };
        (self.run, rep)
    }
}

/// The reference flow of a job: its own flow run if it has one, else a private one when an STDP
/// run needs it.
struct Reference {
    own: Option<usize>,
    private: Option<Learner>,
    z: Vec<f64>,
}

impl Context<'_> {
    /// Runs one job; returns each run's replicate, by run index.
    pub(super) fn replicate(&self, job: &Job, observer: &dyn Observer) -> Vec<(usize, Replicate)> {
        let l = &self.exp.learning;
        let setting = Setting {
            scaling: self.exp.scaling,
            kappa: l.kappa,
            seed: order_seed(self.exp.seed, job.replicate),
        };
        let d = self.model.dim();
        let theta0 = vec![self.exp.theta0; d];
        let mut states: Vec<RunState> = job
            .runs
            .iter()
            .map(|&(run, rule)| RunState {
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
        let own = job
            .runs
            .iter()
            .position(|r| matches!(r.1, Rule::Flow { .. }));
        let flow_rule = Rule::Flow {
            substeps: l.flow_substeps,
        };
        let mut reference = Reference {
            own,
            private: (states.iter().any(|s| s.stdp) && own.is_none())
                .then(|| Learner::new(flow_rule, &setting, &theta0, job.replicate)),
            z: vec![0.0; d],
        };
        let inner = match job.runs.as_slice() {
            [(_, Rule::SingleUpdate { n, .. })] => n + 1,
            _ => 1,
        };
        let total = self.train_losses.len() * l.epochs;
        let mut order = Order::new(self.train_losses.len(), setting.seed);
        for seen in 1..=total {
            if inner > 1 {
                let st = &mut states[0];
                let t0 = Instant::now();
                for _ in 0..inner {
                    st.learner.learn(self.train_losses[order.next()].as_ref());
                }
                st.seconds += t0.elapsed().as_secs_f64();
            } else {
                let loss = self.train_losses[order.next()].as_ref();
                self.learn_sample(&mut states, &mut reference, loss);
            }
            let work = states
                .iter_mut()
                .filter(|s| !s.diverged)
                .map(|s| s.observe(self, &reference.z, seen, total))
                .sum();
            observer.advance(work);
            if states.iter().all(|s| s.diverged) {
                break;
            }
        }
        states.into_iter().map(RunState::into_replicate).collect()
    }

    /// Every per-sample run learns one sample, the flow first, so that every STDP run is compared
    /// with it after this sample. A diverged flow stops being recorded but stays the reference.
    fn learn_sample(&self, states: &mut [RunState], reference: &mut Reference, loss: &dyn Loss) {
        if let Some(f) = &mut reference.private {
            f.learn(loss);
            reference.z.copy_from_slice(f.theta());
        }
        let mut ordered: Vec<usize> = (0..states.len()).collect();
        if let Some(i) = reference.own {
            ordered.swap(0, i);
        }
        for i in ordered {
            let st = &mut states[i];
            if st.diverged && Some(i) != reference.own {
                continue;
            }
            st.learn(loss);
            if Some(i) == reference.own {
                reference.z.copy_from_slice(st.learner.theta());
            }
        }
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
