//! The minimal fused kernel that `bench` measures the engine against: the arithmetic of eq. 3.2
//! for [`LANES`] trajectories at a time, with the engine's streams, uniform map, exp and loss rows,
//! and nothing else (no sup, no divergence check, no checkpoints, no reference flow, no progress,
//! no output but theta at the end). Its terminal theta equals the engine's bit for bit (tested),
//! so the ratio of the two times is the cost of everything the engine adds to the arithmetic.

use crate::engine::{Isa, interleave};
use crate::fastmath::{ExpKernel, exp, exp_taylor};
use crate::loss::{Known, LANES, RowLoss};
#[cfg(target_arch = "x86_64")]
use crate::rng::Avx2Step;
use crate::rng::{Avx512Step, LaneStep, Portable, XoshiroLanes, symmetric_uniform, trajectory_rng};
use rayon::prelude::*;

/// What the minimal kernel runs: `trajectories` trajectories of `steps` updates each, streams
/// keyed (seed, n, dim, index) as in the engine.
pub(crate) struct Minimal<'a> {
    pub theta0: &'a [f64],
    pub alpha_n: f64,
    pub a_n: f64,
    pub steps: u64,
    pub seed: u64,
    pub n: u64,
    pub trajectories: u64,
}

/// Up to [`LANES`] trajectories: theta, exp(-U) of the coming and of the last update, the lanes'
/// generators and the two loss values of the coming bracket.
struct Lanes {
    theta: Vec<[f64; LANES]>,
    e: Vec<[f64; LANES]>,
    prev_e: Vec<[f64; LANES]>,
    rng: XoshiroLanes,
    prev_loss: [f64; LANES],
    next_loss: [f64; LANES],
}

/// The terminal theta of every trajectory (trajectory k's coordinates at k d..(k + 1) d), or
/// `None` for a loss that is not built in (the minimal kernel folds the loss into its pass).
pub(crate) fn terminal_theta(loss: Known, p: &Minimal, isa: Isa) -> Option<Vec<f64>> {
    match loss {
        Known::LogCosh(l) => Some(run(l, p, isa)),
        Known::Quadratic(l) => Some(run(l, p, isa)),
        Known::Logistic(l) => Some(run(l, p, isa)),
        Known::Linear(l) => Some(run(l, p, isa)),
        Known::Other => None,
    }
}

/// Chunks of [`interleave`] batches (as the engine steps them together), in parallel.
fn run<L: RowLoss>(loss: &L, p: &Minimal, isa: Isa) -> Vec<f64> {
    let d = p.theta0.len();
    let chunk = (interleave(d) * LANES) as u64;
    let chunks: Vec<u64> = (0..p.trajectories.div_ceil(chunk)).collect();
    let parts: Vec<Vec<f64>> = chunks
        .into_par_iter()
        .map(|c| {
            let range = (c * chunk, ((c + 1) * chunk).min(p.trajectories));
            match isa {
                Isa::Baseline => by_exp((loss, Portable), p, range),
                // SAFETY: the caller's `isa` runs on this CPU (`Isa::detect`).
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => match Avx2Step::new() {
                    Some(step) => unsafe { chunk_avx2((loss, step), p, range) },
                    None => by_exp((loss, Portable), p, range),
                },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { chunk_avx512(loss, p, range) },
            }
        })
        .collect();
    parts.concat()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chunk_avx2<L: RowLoss>(loss: (&L, Avx2Step), p: &Minimal, range: (u64, u64)) -> Vec<f64> {
    by_exp(loss, p, range)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn chunk_avx512<L: RowLoss>(loss: &L, p: &Minimal, range: (u64, u64)) -> Vec<f64> {
    by_exp((loss, Avx512Step), p, range)
}

#[inline(always)]
fn by_exp<L: RowLoss, G: LaneStep>(loss: (&L, G), p: &Minimal, range: (u64, u64)) -> Vec<f64> {
    match ExpKernel::for_range(p.a_n) {
        ExpKernel::Taylor6 => chunk(loss, p, range, exp_taylor::<6>),
        ExpKernel::Taylor8 => chunk(loss, p, range, exp_taylor::<8>),
        ExpKernel::Taylor10 => chunk(loss, p, range, exp_taylor::<10>),
        ExpKernel::Taylor13 => chunk(loss, p, range, exp_taylor::<13>),
        ExpKernel::Reduced => chunk(loss, p, range, exp),
        ExpKernel::Std => chunk(loss, p, range, f64::exp),
    }
}

/// Trajectories first..last through every update: each update, every batch's pass, then every
/// batch's loss.
#[inline(always)]
fn chunk<L: RowLoss, G: LaneStep>(
    (loss, step): (&L, G),
    p: &Minimal,
    (first, last): (u64, u64),
    f: impl Fn(f64) -> f64 + Copy,
) -> Vec<f64> {
    let d = p.theta0.len();
    let mut batches: Vec<Lanes> = (first..last)
        .step_by(LANES)
        .map(|k| start(loss, p, (k, (k + LANES as u64).min(last)), f))
        .collect();
    let mut acc = vec![[0.0; LANES]; batches.len()];
    for _ in 0..p.steps {
        for (b, acc) in batches.iter_mut().zip(&mut acc) {
            *acc = pass(b, (loss, step), p, f);
        }
        for (b, acc) in batches.iter_mut().zip(&acc) {
            b.next_loss = loss.finish(acc);
            std::mem::swap(&mut b.e, &mut b.prev_e);
        }
    }
    let mut out = vec![0.0; (last - first) as usize * d];
    for (j, b) in batches.iter().enumerate() {
        for (i, row) in b.theta.iter().enumerate() {
            for (lane, v) in row.iter().enumerate() {
                let k = j * LANES + lane;
                if k < (last - first) as usize {
                    out[k * d + i] = *v;
                }
            }
        }
    }
    out
}

/// theta0 with U(0) and U(1) drawn and their losses summed.
fn start<L: RowLoss>(
    loss: &L,
    p: &Minimal,
    (first, last): (u64, u64),
    f: impl Fn(f64) -> f64,
) -> Lanes {
    let d = p.theta0.len();
    let rngs = (first..last).map(|k| trajectory_rng(p.seed, p.n, d as u64, k));
    let mut b = Lanes {
        theta: p.theta0.iter().map(|&t| [t; LANES]).collect(),
        e: vec![[0.0; LANES]; d],
        prev_e: vec![[0.0; LANES]; d],
        rng: XoshiroLanes::new(rngs).0,
        prev_loss: [0.0; LANES],
        next_loss: [0.0; LANES],
    };
    for first_draw in [true, false] {
        let mut acc = [0.0; LANES];
        for (i, row) in (0..d).zip(loss.rows()) {
            let bits = b.rng.next();
            let u: [f64; LANES] = std::array::from_fn(|k| symmetric_uniform(bits[k], p.a_n));
            loss.add_row(
                row,
                &std::array::from_fn(|k| b.theta[i][k] + u[k]),
                &mut acc,
            );
            let e = if first_draw { &mut b.prev_e } else { &mut b.e };
            e[i] = std::array::from_fn(|k| f(-u[k]));
        }
        *(if first_draw {
            &mut b.prev_loss
        } else {
            &mut b.next_loss
        }) = loss.finish(&acc);
    }
    b
}

/// One update of eq. 3.2 for every lane, drawing U of the next: returns its loss's row sums.
#[inline(always)]
fn pass<L: RowLoss, G: LaneStep>(
    b: &mut Lanes,
    (loss, step): (&L, G),
    p: &Minimal,
    f: impl Fn(f64) -> f64,
) -> [f64; LANES] {
    let delta: [f64; LANES] =
        std::array::from_fn(|k| p.alpha_n * (b.next_loss[k] - b.prev_loss[k]));
    b.prev_loss = b.next_loss;
    let mut rng = b.rng.clone();
    let mut acc = [0.0; LANES];
    let rows = b.theta.iter_mut().zip(&b.e).zip(&mut b.prev_e);
    for (((th, e), pe), row) in rows.zip(loss.rows()) {
        let t: [f64; LANES] = std::array::from_fn(|k| delta[k].mul_add(e[k] - pe[k], th[k]));
        let bits = step.next(&mut rng);
        let u: [f64; LANES] = std::array::from_fn(|k| step.uniform(bits[k], p.a_n));
        *th = t;
        let x: [f64; LANES] = std::array::from_fn(|k| t[k] + u[k]);
        loss.add_row(row, &x, &mut acc);
        *pe = std::array::from_fn(|k| f(-u[k]));
    }
    b.rng = rng;
    acc
}
