//! Learning from a stream of samples (Section 2-3 of the paper): each sample (X_k, Y_k) gives a
//! loss L_k(theta), and a rule moves theta once per sample:
//!
//! - `Stdp { n }`: n updates of eq. 3.1 on L_k, starting afresh from the theta left by the previous
//!   sample (theta(k,-1) = theta(k,0), as for one learning opportunity in NOTES.md section 1);
//! - `Flow`: theta moves along dZ/dt = -kappa grad L_k(Z) for unit time (RK4);
//! - `Sgd`: theta <- theta - kappa grad L_k(theta);
//! - `SingleUpdate`: eq. 2.2 of Schmidt-Hieber's scheme, one update per sample, whose loss
//!   difference compares the current sample's loss with the previous sample's.
//!
//! Every rule is driven by the same seeded sample order; the random streams depend only on
//! (seed, replicate), so results do not depend on the thread count.

use crate::flow::Rk4;
use crate::loss::Loss;
use crate::recursion::Trajectory;
use crate::rng::{shuffle, splitmix64, symmetric_uniform, trajectory_rng};
use crate::scaling::Scaling;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// How theta moves on each sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// n STDP updates (eq. 3.1) per sample.
    Stdp {
        /// Updates per sample.
        n: u64,
    },
    /// The gradient flow for unit time per sample.
    Flow {
        /// RK4 steps per sample.
        substeps: u32,
    },
    /// One gradient step of size kappa per sample.
    Sgd,
    /// One STDP update per sample, across samples (eq. 2.2).
    SingleUpdate,
}

/// Constants shared by the rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    /// Scaling of alpha_n and A_n for `Stdp` (and alpha, A for `SingleUpdate`).
    pub scaling: Scaling,
    /// kappa of `Flow` and `Sgd`.
    pub kappa: f64,
    /// Seed of the sample order and of the random streams.
    pub seed: u64,
}

/// The order in which `count` samples are seen over `epochs` epochs: a seeded Fisher-Yates
/// shuffle, redrawn every epoch.
pub fn sample_order(count: usize, epochs: usize, seed: u64) -> Vec<usize> {
    let mut out = Vec::with_capacity(count * epochs);
    for e in 0..epochs {
        let mut order: Vec<usize> = (0..count).collect();
        let s = splitmix64(seed ^ 0x004F_5244_4552) ^ e as u64;
        let mut rng =
            Pcg64Mcg::new((u128::from(splitmix64(s)) << 64) | u128::from(splitmix64(s ^ 1)));
        shuffle(&mut order, &mut rng);
        out.extend(order);
    }
    out
}

/// Trains from `theta0` over the samples in `order`; `sample(k)` builds L_k. After every sample,
/// `observe(samples_seen, theta)` is called. Returns the number of loss evaluations used.
pub fn train<'a>(
    rule: Rule,
    setting: &Setting,
    theta0: &[f64],
    order: &[usize],
    replicate: u64,
    sample: &'a dyn Fn(usize) -> Box<dyn Loss + 'a>,
    observe: &mut dyn FnMut(usize, &[f64]),
) -> u64 {
    let d = theta0.len();
    let mut theta = theta0.to_vec();
    let mut evals = 0u64;
    let mut rng = trajectory_rng(setting.seed, u64::MAX, d as u64, replicate);
    let mut prev: Option<(f64, Vec<f64>)> = None;
    let mut grad = vec![0.0; d];
    for (seen, &k) in order.iter().enumerate() {
        let loss = sample(k);
        match rule {
            Rule::Stdp { n } => {
                let s = &setting.scaling;
                let stream =
                    Pcg64Mcg::new((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()));
                let mut t = Trajectory::new(loss.as_ref(), &theta, s.alpha_n(n), s.a_n(n), stream);
                for _ in 0..n {
                    t.step();
                }
                theta.copy_from_slice(t.theta());
                evals += n + 1;
            }
            Rule::Flow { substeps } => {
                let mut f = Rk4::new(loss.as_ref(), setting.kappa, &theta);
                f.advance_to(1.0, substeps);
                theta.copy_from_slice(f.state());
            }
            Rule::Sgd => {
                loss.gradient(&theta, &mut grad);
                for i in 0..d {
                    theta[i] -= setting.kappa * grad[i];
                }
            }
            Rule::SingleUpdate => {
                let (alpha, a) = (setting.scaling.alpha, setting.scaling.a);
                let u: Vec<f64> = (0..d)
                    .map(|_| symmetric_uniform(rng.next_u64(), a))
                    .collect();
                let x: Vec<f64> = theta.iter().zip(&u).map(|(t, u)| t + u).collect();
                let cur = loss.value(&x);
                let e: Vec<f64> = u.iter().map(|u| (-u).exp()).collect();
                evals += 1;
                if let Some((prev_loss, prev_e)) = &prev {
                    let delta = alpha * (cur - prev_loss);
                    for i in 0..d {
                        theta[i] += delta * (e[i] - prev_e[i]);
                    }
                }
                prev = Some((cur, e));
            }
        }
        observe(seen + 1, &theta);
    }
    evals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Logistic;
    use crate::scaling::ScalingRule;

    /// 40 points in the plane, labelled by the sign of x1 + x2 with a margin of 0.3; the bias is
    /// the constant third input.
    fn toy() -> Vec<(Vec<f64>, f64)> {
        let mut rng = Pcg64Mcg::new(99);
        let mut v = Vec::new();
        while v.len() < 40 {
            let p: Vec<f64> = (0..2)
                .map(|_| symmetric_uniform(rng.next_u64(), 2.0))
                .collect();
            let s = p[0] + p[1];
            if s.abs() > 0.3 {
                v.push((vec![p[0], p[1], 1.0], s.signum()));
            }
        }
        v
    }

    fn setting() -> Setting {
        Setting {
            scaling: Scaling {
                rule: ScalingRule::Corrected,
                alpha: 3.0,
                a: 1.0,
            },
            kappa: 2.0,
            seed: 4,
        }
    }

    #[test]
    fn flow_and_sgd_separate_a_separable_set() {
        let data = toy();
        let sample =
            |k: usize| -> Box<dyn Loss> { Box::new(Logistic::new(data[k].0.clone(), data[k].1)) };
        let order = sample_order(data.len(), 30, 4);
        for rule in [Rule::Flow { substeps: 10 }, Rule::Sgd] {
            let mut theta = vec![0.0; 3];
            train(
                rule,
                &setting(),
                &[0.0; 3],
                &order,
                0,
                &sample,
                &mut |_, t| theta.copy_from_slice(t),
            );
            let correct = data
                .iter()
                .filter(|(x, y)| (x.iter().zip(&theta).map(|(a, b)| a * b).sum::<f64>() * y) > 0.0)
                .count();
            assert_eq!(correct, data.len(), "{rule:?}: theta {theta:?}");
        }
    }

    /// Over 20 samples, the mean of |theta_stdp - theta_flow|^2 at the end falls about like 1/n
    /// (corrected scaling, kappa = (2/3) alpha A^2). The test asks for a fall by more than 4 from
    /// n = 100 to n = 1600 (16 expected; measured 19) over 200 replicates; the mean squared
    /// distance has a relative standard error below 0.1 at each n (about sqrt(2/3)/sqrt(200) = 0.06
    /// for a scaled chi-square with 3 degrees of freedom), so a fall below 4 is more than 10
    /// standard errors away: false failure far below 1e-4.
    #[test]
    fn stdp_approaches_the_flow_as_n_grows() {
        let data = toy();
        let sample =
            |k: usize| -> Box<dyn Loss> { Box::new(Logistic::new(data[k].0.clone(), data[k].1)) };
        let mut s = setting();
        s.kappa = 2.0 / 3.0 * s.scaling.alpha * s.scaling.a * s.scaling.a;
        let order = sample_order(data.len(), 1, 4)[..20].to_vec();
        let mut flow = vec![0.0; 3];
        train(
            Rule::Flow { substeps: 50 },
            &s,
            &[0.0; 3],
            &order,
            0,
            &sample,
            &mut |_, t| flow.copy_from_slice(t),
        );
        let dist = |n: u64| {
            (0..200u64)
                .map(|r| {
                    let mut th = [0.0; 3];
                    train(
                        Rule::Stdp { n },
                        &s,
                        &[0.0; 3],
                        &order,
                        r,
                        &sample,
                        &mut |_, t| th.copy_from_slice(t),
                    );
                    th.iter()
                        .zip(&flow)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / 200.0
        };
        let (d100, d1600) = (dist(100), dist(1600));
        assert!(
            d100 / d1600 > 4.0,
            "distance {d100} at n = 100, {d1600} at n = 1600"
        );
    }

    /// The paper's network (signed exponential weights, 4 tanh hidden neurons) learns the toy set
    /// by the flow and by STDP alone (n = 200 updates per sample, corrected scaling). Deterministic
    /// (fixed seeds); both reach 100% from 27.5% at theta0, well above the 90% asked.
    #[test]
    fn network_learns_by_flow_and_by_stdp_alone() {
        use crate::loss::Network;
        let data = toy();
        let net = Network::new(2, 4, 2, 0.6, 3);
        let sample = |k: usize| -> Box<dyn Loss> {
            let (x, y) = &data[k];
            Box::new(net.sample(&x[..2], usize::from(*y > 0.0)).to_owned_loss())
        };
        let accuracy = |theta: &[f64]| {
            data.iter()
                .filter(|(x, y)| net.predict(theta, &x[..2]) == usize::from(*y > 0.0))
                .count() as f64
                / data.len() as f64
        };
        let mut s = setting();
        s.kappa = 2.0 / 3.0 * s.scaling.alpha * s.scaling.a * s.scaling.a;
        let order = sample_order(data.len(), 15, 5);
        let theta0 = vec![-0.5; net.dim()];
        for rule in [Rule::Flow { substeps: 10 }, Rule::Stdp { n: 200 }] {
            let mut theta = theta0.clone();
            train(rule, &s, &theta0, &order, 0, &sample, &mut |_, t| {
                theta.copy_from_slice(t)
            });
            let acc = accuracy(&theta);
            assert!(acc >= 0.9, "{rule:?}: accuracy {acc}");
        }
    }

    #[test]
    fn orders_are_seeded_permutations_per_epoch() {
        let o = sample_order(10, 3, 1);
        for e in 0..3 {
            let mut ep = o[e * 10..(e + 1) * 10].to_vec();
            ep.sort_unstable();
            assert_eq!(ep, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(o[..10], o[10..20]);
        assert_eq!(o, sample_order(10, 3, 1));
        assert_ne!(o, sample_order(10, 3, 2));
    }
}

/// A model trained on a dataset: parameters, the loss of one sample and the prediction.
pub trait Model: Sync {
    /// Number of parameters.
    fn dim(&self) -> usize;
    /// The loss of sample (x, y) as a function of theta.
    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_>;
    /// The predicted class at theta.
    fn predict(&self, theta: &[f64], x: &[f64]) -> usize;
}

/// Softmax regression (logistic regression when there are two classes): K rows of p + 1 weights.
pub struct SoftmaxModel {
    /// Features p.
    pub features: usize,
    /// Classes K.
    pub classes: usize,
}

impl Model for SoftmaxModel {
    fn dim(&self) -> usize {
        self.classes * (self.features + 1)
    }

    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_> {
        Box::new(crate::loss::SoftmaxSample::new(x, y, self.classes))
    }

    fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        let q = self.features + 1;
        let score = |k: usize| {
            theta[k * q + self.features]
                + (0..self.features)
                    .map(|j| theta[k * q + j] * x[j])
                    .sum::<f64>()
        };
        (0..self.classes)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .unwrap_or(0)
    }
}

impl Model for crate::loss::Network {
    fn dim(&self) -> usize {
        crate::loss::Network::dim(self)
    }

    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_> {
        Box::new(self.sample(x, y))
    }

    fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        crate::loss::Network::predict(self, theta, x)
    }
}

/// Metrics at one checkpoint, over the replicates.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    /// Samples processed so far.
    pub samples_seen: usize,
    /// Mean training loss.
    pub train_loss: crate::stats::Estimate,
    /// Mean test loss.
    pub test_loss: crate::stats::Estimate,
    /// Test accuracy.
    pub test_accuracy: crate::stats::Estimate,
    /// |theta - theta_flow|^2 against the flow on the same sample order (STDP rules only).
    pub distance_to_flow: Option<crate::stats::Estimate>,
}

/// A learning curve of one rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    /// The checkpoints.
    pub points: Vec<CurvePoint>,
    /// Loss evaluations per replicate over the whole run.
    pub loss_evaluations: u64,
    /// sup over checkpoints of the mean of |theta - theta_flow|^2 (STDP rules only).
    pub sup_distance_to_flow: Option<crate::stats::Estimate>,
}

fn mean_loss(model: &dyn Model, data: &crate::data::Dataset, theta: &[f64]) -> f64 {
    (0..data.len())
        .map(|i| model.loss(data.row(i), data.y[i]).value(theta))
        .sum::<f64>()
        / data.len() as f64
}

fn accuracy(model: &dyn Model, data: &crate::data::Dataset, theta: &[f64]) -> f64 {
    (0..data.len())
        .filter(|&i| model.predict(theta, data.row(i)) == data.y[i])
        .count() as f64
        / data.len() as f64
}

/// Trains `replicates` independent runs of `rule` (replicate r uses seed + r for its sample order
/// and its noise) for `epochs` epochs over the training rows, recording the metrics every `every`
/// samples; in parallel over replicates, results independent of the thread count. For STDP rules
/// the flow is run on the same order, and the distance to it recorded.
#[allow(clippy::too_many_arguments)]
pub fn learning_curve(
    model: &dyn Model,
    train_set: &crate::data::Dataset,
    test_set: &crate::data::Dataset,
    rule: Rule,
    setting: &Setting,
    epochs: usize,
    every: usize,
    replicates: u64,
) -> Curve {
    use rayon::prelude::*;
    let theta0 = vec![0.0; model.dim()];
    let sample = |k: usize| model.loss(train_set.row(k), train_set.y[k]);
    let per_rep: Vec<(Vec<[f64; 4]>, u64)> = (0..replicates)
        .into_par_iter()
        .map(|r| {
            let s = Setting {
                seed: setting.seed.wrapping_add(r),
                ..*setting
            };
            let order = sample_order(train_set.len(), epochs, s.seed);
            let mut snaps: Vec<Vec<f64>> = Vec::new();
            let evals = train(rule, &s, &theta0, &order, r, &sample, &mut |seen, th| {
                if seen % every == 0 || seen == order.len() {
                    snaps.push(th.to_vec());
                }
            });
            let mut flow: Vec<Vec<f64>> = Vec::new();
            if matches!(rule, Rule::Stdp { .. } | Rule::SingleUpdate) {
                train(
                    Rule::Flow { substeps: 20 },
                    &s,
                    &theta0,
                    &order,
                    r,
                    &sample,
                    &mut |seen, th| {
                        if seen % every == 0 || seen == order.len() {
                            flow.push(th.to_vec());
                        }
                    },
                );
            }
            let metrics = snaps
                .iter()
                .enumerate()
                .map(|(j, th)| {
                    let dist = flow.get(j).map_or(f64::NAN, |f| {
                        th.iter().zip(f).map(|(a, b)| (a - b) * (a - b)).sum()
                    });
                    [
                        mean_loss(model, train_set, th),
                        mean_loss(model, test_set, th),
                        accuracy(model, test_set, th),
                        dist,
                    ]
                })
                .collect();
            (metrics, evals)
        })
        .collect();
    let total = train_set.len() * epochs;
    let seen: Vec<usize> = (1..=total)
        .filter(|s| s % every == 0 || *s == total)
        .collect();
    let est = |j: usize, m: usize| {
        let v: Vec<f64> = per_rep.iter().map(|(x, _)| x[j][m]).collect();
        crate::stats::Estimate::from_samples(&v)
    };
    let stdp = matches!(rule, Rule::Stdp { .. } | Rule::SingleUpdate);
    let points: Vec<CurvePoint> = seen
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
    let sup_distance_to_flow = stdp.then(|| {
        let sups: Vec<f64> = per_rep
            .iter()
            .map(|(x, _)| x.iter().map(|m| m[3]).fold(0.0, f64::max))
            .collect();
        crate::stats::Estimate::from_samples(&sups)
    });
    Curve {
        points,
        loss_evaluations: per_rep.first().map_or(0, |p| p.1),
        sup_distance_to_flow,
    }
}

#[cfg(test)]
mod curve_tests {
    use super::*;
    use crate::data::{load_csv, shipped_wdbc, split};
    use crate::scaling::ScalingRule;

    /// Logistic regression on the shipped data: the flow reaches a test accuracy above 0.9
    /// (measured 0.960), STDP alone with n = 1000 above 0.85 (measured 0.960), and curves do not
    /// depend on the thread count. Deterministic (fixed seeds). At n = 100 one replicate in three
    /// blew up (|theta - theta_flow|^2 ~ 1e10): learning runs still need divergence handling.
    #[test]
    fn wdbc_logistic_curves() {
        let d = load_csv(&shipped_wdbc(), "diagnosis").unwrap();
        let s = split(&d, &shipped_wdbc(), 0.25, 3, true).unwrap();
        let model = SoftmaxModel {
            features: 30,
            classes: 2,
        };
        let scaling = Scaling {
            rule: ScalingRule::Corrected,
            alpha: 1.5,
            a: 1.0,
        };
        let setting = Setting {
            scaling,
            kappa: 2.0 / 3.0 * 1.5,
            seed: 9,
        };
        let flow = learning_curve(
            &model,
            &s.train,
            &s.test,
            Rule::Flow { substeps: 20 },
            &setting,
            2,
            200,
            4,
        );
        let last = flow.points.last().unwrap();
        assert!(
            last.test_accuracy.mean > 0.9,
            "flow test accuracy {:?}",
            last.test_accuracy
        );
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    learning_curve(
                        &model,
                        &s.train,
                        &s.test,
                        Rule::Stdp { n: 1000 },
                        &setting,
                        1,
                        200,
                        3,
                    )
                })
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a, b);
        assert!(a.points.last().unwrap().test_accuracy.mean > 0.85);
        assert!(a.sup_distance_to_flow.is_some());
        assert_eq!(a.loss_evaluations, 1001 * 427);
    }
}
