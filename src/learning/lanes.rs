//! STDP learning vectorised across replicates: up to [`LANES`] replicates advance together in
//! structure-of-arrays form (coordinate i of lane b at row i, lane b), each lane at its own
//! sample through a [`LaneLoss`], one generic kernel for every model.
//!
//! Each lane is one replicate's run of eq. 3.1 on its samples, with its own xoshiro256++ stream
//! drawn continuously from sample to sample (d words per loss evaluation, coordinate by
//! coordinate). Every operation is lane-wise, so a replicate's numbers do not depend on which
//! replicates share its batch; with `f64::exp` in place of the range-matched exp of
//! [`ExpKernel::for_range`] (within 2 ulp) each lane is bit for bit the scalar recursion of
//! [`Learner`](super::Learner) (tested).
//!
//! The state between passes is the one of `recursion::LaneBatch`: theta, exp(-U) and the loss of
//! the last evaluation (`pe`, `prev_loss`) and, when an update is pending, of the coming one
//! (`e`, `next_loss`). A pass over the rows applies the pending update and, fused with it, draws
//! the next U and sums the next loss row by row, the generators held in registers for the pass.

use crate::engine::Isa;
use crate::fastmath::{self, ExpKernel};
use crate::loss::{LANES, LaneLoss, Line};
#[cfg(target_arch = "x86_64")]
use crate::rng::Avx2Step;
use crate::rng::{LaneStep, Portable, Xoshiro256pp, XoshiroLanes, symmetric_uniform};

/// Up to [`LANES`] replicates of eq. 3.1; lanes at or beyond `lanes` are padding.
pub(crate) struct StdpLanes {
    lanes: usize,
    rng: XoshiroLanes,
    theta: Vec<Line>,
    /// exp(-U) of the pending update (free when none is pending).
    e: Vec<Line>,
    /// exp(-U) of the last evaluation.
    pe: Vec<Line>,
    prev_loss: [f64; LANES],
    next_loss: [f64; LANES],
}

impl StdpLanes {
    /// Every lane at theta0; `rngs` gives one stream per real lane.
    pub(crate) fn new(theta0: &[f64], rngs: impl IntoIterator<Item = Xoshiro256pp>) -> Self {
        let (rng, lanes) = XoshiroLanes::new(rngs);
        let d = theta0.len();
        Self {
            lanes,
            rng,
            theta: theta0.iter().map(|&t| Line([t; LANES])).collect(),
            e: vec![Line([1.0; LANES]); d],
            pe: vec![Line([1.0; LANES]); d],
            prev_loss: [0.0; LANES],
            next_loss: [0.0; LANES],
        }
    }

    /// Writes lane b's theta into `out`.
    pub(crate) fn theta(&self, b: usize, out: &mut [f64]) {
        for (o, row) in out.iter_mut().zip(&self.theta) {
            *o = row.0[b];
        }
    }

    /// Puts lane b at the finite point z after a divergence, with exp(-U) = 1 and loss 0 as the
    /// last evaluation, so that its arithmetic stays finite (its results are no longer used).
    pub(crate) fn park(&mut self, b: usize, z: &[f64]) {
        for ((t, pe), zi) in self.theta.iter_mut().zip(&mut self.pe).zip(z) {
            t.0[b] = *zi;
            pe.0[b] = 1.0;
        }
        self.prev_loss[b] = 0.0;
    }

    /// One pass over the rows: with `UPDATE`, theta += alpha_n (next_loss - prev_loss) (e - pe)
    /// and the pending evaluation becomes the last; with `DRAW`, U is drawn at the (updated)
    /// theta, exp(-U) stored and the loss at theta + U summed, which leaves an update pending.
    #[inline(always)]
    fn pass<L: LaneLoss, G: LaneStep, const UPDATE: bool, const DRAW: bool>(
        &mut self,
        loss: &L,
        acc: &mut L::Acc,
        alpha_n: f64,
        a_n: f64,
        (g, f): (G, impl Fn(f64) -> f64),
    ) {
        let delta: [f64; LANES] =
            std::array::from_fn(|b| alpha_n * (self.next_loss[b] - self.prev_loss[b]));
        if DRAW {
            loss.start(acc);
        }
        let mut rng = self.rng.clone();
        let rows = self.theta.iter_mut().zip(&mut self.e).zip(&mut self.pe);
        for (i, ((th, e), pe)) in rows.enumerate() {
            let t: [f64; LANES] = if UPDATE {
                std::array::from_fn(|b| th.0[b] + delta[b] * (e.0[b] - pe.0[b]))
            } else {
                th.0
            };
            th.0 = t;
            if DRAW {
                let bits = g.next(&mut rng);
                let u: [f64; LANES] = std::array::from_fn(|b| symmetric_uniform(bits[b], a_n));
                let x: [f64; LANES] = std::array::from_fn(|b| t[b] + u[b]);
                loss.add_row(i, &x, acc);
                // After an update `pe` is free (it becomes `e` below); otherwise `e` is.
                let new = if UPDATE { pe } else { e };
                new.0 = std::array::from_fn(|b| f(-u[b]));
            }
        }
        self.rng = rng;
        if UPDATE {
            self.prev_loss = self.next_loss;
            std::mem::swap(&mut self.e, &mut self.pe);
        }
        if DRAW {
            self.next_loss = loss.finish(acc);
        }
    }

    /// The pending evaluation becomes the last without an update (theta(-1) = theta(0)).
    fn shift(&mut self) {
        self.prev_loss = self.next_loss;
        std::mem::swap(&mut self.e, &mut self.pe);
    }
}

/// The constants of one run of the kernel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// alpha_n (alpha for single-update).
    pub alpha_n: f64,
    /// A_n.
    pub a_n: f64,
    /// The exp of exp(-U): `ExpKernel::for_range(a_n)`, or `Std` for the scalar reference's bits.
    pub exp: ExpKernel,
    /// The instruction set.
    pub isa: Isa,
}

impl Step {
    /// For alpha_n and A_n, with the kernel's exp and the detected instruction set.
    pub(crate) fn new(alpha_n: f64, a_n: f64) -> Self {
        Self {
            alpha_n,
            a_n,
            exp: ExpKernel::for_range(a_n),
            isa: Isa::detect(),
        }
    }
}

/// What one call of the kernel does: n STDP updates of every lane on its loaded sample
/// (theta(-1) = theta(0), n + 1 loss evaluations), or one group of `m` single-update evaluations
/// (eq. 2.2), each lane at the next sample that `next(b)` gives before every evaluation (`first`:
/// the run's first group, whose first evaluation makes no update).
pub(crate) enum Work<'n> {
    Stdp {
        n: u64,
    },
    SingleUpdate {
        m: u64,
        first: bool,
        next: &'n mut dyn FnMut(usize) -> usize,
    },
}

/// Runs `work` on every lane (see [`Work`]), compiled for the instruction set of `step`.
pub(crate) fn run<L: LaneLoss>(
    s: &mut StdpLanes,
    loss: &mut L,
    acc: &mut L::Acc,
    step: &Step,
    work: Work,
) {
    assert_eq!(loss.dim(), s.theta.len(), "the loss's dimension is theta's");
    match step.isa {
        Isa::Baseline => run_exp(s, loss, acc, step, (work, Portable)),
        // SAFETY: the features were detected at run time by `Isa::detect`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => match Avx2Step::new() {
            Some(g) => unsafe { run_avx2(s, loss, acc, step, (work, g)) },
            None => run_exp(s, loss, acc, step, (work, Portable)),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { run_avx512(s, loss, acc, step, work) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<L: LaneLoss>(
    s: &mut StdpLanes,
    loss: &mut L,
    acc: &mut L::Acc,
    st: &Step,
    w: (Work, Avx2Step),
) {
    run_exp(s, loss, acc, st, w);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn run_avx512<L: LaneLoss>(s: &mut StdpLanes, loss: &mut L, acc: &mut L::Acc, st: &Step, w: Work) {
    run_exp(s, loss, acc, st, (w, Portable));
}

/// [`run`] with the exp of exp(-U) compiled in, and the generator's step `G`: AVX2 intrinsics on
/// the AVX2 path (`rng::Avx2Step`), where LLVM leaves the portable step's 64-bit rotations scalar.
#[inline(always)]
fn run_exp<L: LaneLoss, G: LaneStep>(
    s: &mut StdpLanes,
    loss: &mut L,
    acc: &mut L::Acc,
    st: &Step,
    (w, g): (Work, G),
) {
    match st.exp {
        ExpKernel::Taylor6 => work(s, loss, acc, st, w, (g, fastmath::exp_taylor::<6>)),
        ExpKernel::Taylor8 => work(s, loss, acc, st, w, (g, fastmath::exp_taylor::<8>)),
        ExpKernel::Taylor10 => work(s, loss, acc, st, w, (g, fastmath::exp_taylor::<10>)),
        ExpKernel::Taylor13 => work(s, loss, acc, st, w, (g, fastmath::exp_taylor::<13>)),
        ExpKernel::Reduced => work(s, loss, acc, st, w, (g, fastmath::exp)),
        ExpKernel::Std => work(s, loss, acc, st, w, (g, f64::exp)),
    }
}

/// The passes of one [`Work`].
#[inline(always)]
fn work<L: LaneLoss, G: LaneStep>(
    s: &mut StdpLanes,
    loss: &mut L,
    acc: &mut L::Acc,
    st: &Step,
    w: Work,
    (g, f): (G, impl Fn(f64) -> f64 + Copy),
) {
    let (alpha, a) = (st.alpha_n, st.a_n);
    match w {
        Work::Stdp { n } => {
            s.pass::<L, G, false, true>(loss, acc, alpha, a, (g, f));
            s.shift();
            if n == 0 {
                return;
            }
            s.pass::<L, G, false, true>(loss, acc, alpha, a, (g, f));
            for _ in 1..n {
                s.pass::<L, G, true, true>(loss, acc, alpha, a, (g, f));
            }
            s.pass::<L, G, true, false>(loss, acc, alpha, a, (g, f));
        }
        Work::SingleUpdate { m, first, next } => {
            // Padding lanes stay at sample 0.
            let mut k = [0; LANES];
            for j in 0..m {
                for (b, k) in k[..s.lanes].iter_mut().enumerate() {
                    *k = next(b);
                }
                loss.load(&k);
                match (j, first) {
                    (0, true) => {
                        s.pass::<L, G, false, true>(loss, acc, alpha, a, (g, f));
                        s.shift();
                    }
                    (0, false) | (1, true) => {
                        s.pass::<L, G, false, true>(loss, acc, alpha, a, (g, f))
                    }
                    _ => s.pass::<L, G, true, true>(loss, acc, alpha, a, (g, f)),
                }
            }
            if m > 1 || !first {
                s.pass::<L, G, true, false>(loss, acc, alpha, a, (g, f));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::{Learner, Rule, Setting, stream};
    use crate::loss::{DynLanes, Logistic, LogisticLanes, Loss, Network, NetworkLanes};
    use crate::scaling::{Scaling, ScalingRule};

    /// `count` samples of `p` features in [-2, 2] with classes 0..classes.
    fn data(count: usize, p: usize, classes: usize) -> (Vec<f64>, Vec<usize>) {
        let mut rng = Xoshiro256pp::from_key(11);
        let x = (0..count * p)
            .map(|_| symmetric_uniform(rng.next_u64(), 2.0))
            .collect();
        let y = (0..count).map(|k| (k * 7 + k / 3) % classes).collect();
        (x, y)
    }

    fn setting(seed: u64) -> Setting {
        Setting {
            scaling: Scaling {
                rule: ScalingRule::Corrected,
                alpha: 1.5,
                a: 1.0,
            },
            kappa: 1.0,
            seed,
        }
    }

    /// Lane b's k-th sample.
    fn sample_of(b: usize, k: usize, count: usize) -> usize {
        (b * 5 + k * 7 + k / 4) % count
    }

    /// Runs `rule` for `samples` samples on `lanes` lanes (lane b: replicate b, order seed
    /// 40 + b) with the batched kernel and with the scalar [`Learner`], and returns both thetas of
    /// every lane.
    fn both<L: LaneLoss>(
        loss: &mut L,
        scalar: &[Box<dyn Loss + '_>],
        count: usize,
        rule: Rule,
        lanes: usize,
        step: impl Fn(Step) -> Step,
    ) -> Vec<(Vec<f64>, Vec<f64>)> {
        let d = loss.dim();
        let theta0: Vec<f64> = (0..d).map(|i| -0.5 + 0.05 * i as f64).collect();
        let s = setting(40).scaling;
        let (step0, m) = match rule {
            Rule::Stdp { n } => (Step::new(s.alpha_n(n), s.a_n(n)), 1),
            Rule::SingleUpdate { n, alpha } => (Step::new(alpha, s.a_n(n)), n + 1),
            _ => unreachable!(),
        };
        let step = step(step0);
        let streams = (0..lanes).map(|b| stream(rule, &setting(40 + b as u64), d, b as u64));
        let mut batch = StdpLanes::new(&theta0, streams);
        let mut acc = loss.acc();
        let mut seen = [0usize; LANES];
        for k in 0..3 {
            match rule {
                Rule::Stdp { n } => {
                    loss.load(&std::array::from_fn(|b| {
                        if b < lanes { sample_of(b, k, count) } else { 0 }
                    }));
                    run(&mut batch, loss, &mut acc, &step, Work::Stdp { n });
                }
                _ => {
                    let mut next = |b: usize| {
                        seen[b] += 1;
                        sample_of(b, seen[b] - 1, count)
                    };
                    let first = k == 0;
                    let work = Work::SingleUpdate {
                        m,
                        first,
                        next: &mut next,
                    };
                    run(&mut batch, loss, &mut acc, &step, work);
                }
            }
        }
        (0..lanes)
            .map(|b| {
                let mut learner = Learner::new(rule, &setting(40 + b as u64), &theta0, b as u64);
                for k in 0..3 * m as usize {
                    learner.learn(scalar[sample_of(b, k, count)].as_ref());
                }
                let mut lane = vec![0.0; d];
                batch.theta(b, &mut lane);
                (lane, learner.theta().to_vec())
            })
            .collect()
    }

    /// Checks every lane: bit for bit with `f64::exp` on every instruction set, within 1e-9
    /// relative with the kernel's exp (within 2 ulp per exp(-U)); theta must have moved.
    fn check<L: LaneLoss>(loss: &mut L, scalar: &[Box<dyn Loss + '_>], count: usize, rule: Rule) {
        let mut isas = vec![Isa::Baseline];
        if Isa::detect() != Isa::Baseline {
            isas.push(Isa::detect());
        }
        for isa in isas {
            let exact = |s: Step| Step {
                exp: ExpKernel::Std,
                isa,
                ..s
            };
            for (b, (lane, reference)) in
                both(loss, scalar, count, rule, 6, exact).iter().enumerate()
            {
                let same = lane
                    .iter()
                    .zip(reference)
                    .all(|(u, v)| u.to_bits() == v.to_bits());
                assert!(same, "{rule:?} {isa:?} lane {b}: {lane:?} vs {reference:?}");
            }
        }
        for (lane, reference) in both(loss, scalar, count, rule, 6, |s| s) {
            for (u, v) in lane.iter().zip(&reference) {
                assert!(
                    (u - v).abs() <= 1e-9 * v.abs().max(1.0),
                    "{rule:?}: {u} vs {v}"
                );
            }
            let theta0 = |i: usize| -0.5 + 0.05 * i as f64;
            assert!(reference.iter().enumerate().any(|(i, v)| *v != theta0(i)));
        }
    }

    /// The batched kernel against the scalar reference recursion ([`Learner`]: the same stream,
    /// `f64::exp`, one sample at a time), for 6 lanes at different samples, over 3 samples of
    /// n = 3000 updates (and 3 groups of 301 single-update evaluations): logistic, the network
    /// (two and three classes) and a loss through `dyn Loss`.
    #[test]
    fn batched_kernel_matches_the_scalar_reference() {
        let count = 12;
        let rules = [
            Rule::Stdp { n: 3000 },
            Rule::SingleUpdate {
                n: 300,
                alpha: 0.05,
            },
        ];
        let (x, y) = data(count, 3, 2);
        let xb: Vec<f64> = x
            .chunks(3)
            .flat_map(|r| r.iter().copied().chain([1.0]))
            .collect();
        let yb: Vec<f64> = y.iter().map(|&c| if c == 1 { 1.0 } else { -1.0 }).collect();
        let logistic: Vec<Box<dyn Loss>> = (0..count)
            .map(|k| -> Box<dyn Loss> {
                Box::new(Logistic::new(xb[k * 4..(k + 1) * 4].to_vec(), yb[k]))
            })
            .collect();
        for rule in rules {
            check(&mut LogisticLanes::new(&xb, &yb), &logistic, count, rule);
        }
        for classes in [2, 3] {
            let (x, y) = data(count, 3, classes);
            let net = Network::new(3, 4, classes, 0.7, 2);
            let losses: Vec<Box<dyn Loss>> = (0..count)
                .map(|k| -> Box<dyn Loss + '_> {
                    Box::new(net.sample(&x[k * 3..(k + 1) * 3], y[k]))
                })
                .collect();
            for rule in rules {
                check(&mut NetworkLanes::new(&net, &x, &y), &losses, count, rule);
            }
            check(
                &mut DynLanes::new(&losses, net.dim()),
                &losses,
                count,
                rules[0],
            );
        }
    }
}

/// `cargo test --release --lib lanes_speed -- --ignored --nocapture`: ns per coordinate-update of
/// the kernel (one thread, 8 lanes, corrected rule at n = 3162, each lane at its own sample),
/// logistic d = 31 and the network d = 134 on random data, the best of 5.
#[cfg(test)]
mod speed {
    use super::*;
    use crate::loss::{LogisticLanes, Network, NetworkLanes};
    use std::time::Instant;

    fn time<L: LaneLoss>(loss: &mut L, count: usize) -> f64 {
        let (n, samples) = (3162u64, 60usize);
        let d = loss.dim();
        let step = Step::new(1.5, 1.0 / (n as f64).sqrt());
        let mut best = f64::INFINITY;
        for rep in 0..5 {
            let streams = (0..LANES as u64).map(|b| Xoshiro256pp::from_key(rep * 100 + b));
            let mut batch = StdpLanes::new(&vec![-1.0; d], streams);
            let mut acc = loss.acc();
            let t0 = Instant::now();
            for k in 0..samples {
                loss.load(&std::array::from_fn(|b| (k * 7 + b * 3) % count));
                run(&mut batch, loss, &mut acc, &step, Work::Stdp { n });
            }
            let updates = (samples as u64 * (n + 1) * LANES as u64 * d as u64) as f64;
            best = best.min(t0.elapsed().as_secs_f64() / updates * 1e9);
        }
        best
    }

    #[test]
    #[ignore = "timing; run by hand"]
    fn lanes_speed() {
        let (count, p) = (64, 30);
        let mut rng = Xoshiro256pp::from_key(3);
        let x: Vec<f64> = (0..count * p)
            .map(|_| symmetric_uniform(rng.next_u64(), 1.5))
            .collect();
        let y: Vec<usize> = (0..count).map(|k| k % 2).collect();
        let xb: Vec<f64> = (x.chunks(p))
            .flat_map(|r| r.iter().map(|v| v * 0.1).chain([1.0]))
            .collect();
        let yb: Vec<f64> = y.iter().map(|&c| 2.0 * c as f64 - 1.0).collect();
        let logistic = time(&mut LogisticLanes::new(&xb, &yb), count);
        let net = Network::new(p, 4, 2, 0.8, 1);
        let network = time(&mut NetworkLanes::new(&net, &x, &y), count);
        println!(
            "isa {:?}: logistic d = {}: {logistic:.2} ns, network d = {}: {network:.2} ns",
            Isa::detect(),
            p + 1,
            net.dim()
        );
    }
}
