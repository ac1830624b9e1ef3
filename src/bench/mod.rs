//! `stdp-flow bench`: throughput of the Monte Carlo kernel on fixed workloads, against a minimal
//! fused kernel doing the same arithmetic with the same generator ([`minimal`]) and against the
//! generator alone, all on the same threads in the same run.

mod minimal;

use crate::engine::Isa;
use crate::engine::{PointSpec, group_count, run_point, steps_for};
use crate::loss::{LANES, Linear, LogCosh, Logistic, Loss, Quadratic};
#[cfg(target_arch = "x86_64")]
use crate::rng::Avx2Step;
use crate::rng::{LaneStep, Portable, XoshiroLanes, symmetric_uniform, trajectory_rng};
use crate::scaling::{Scaling, ScalingRule};
use rayon::prelude::*;
use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// One fixed workload.
pub struct Workload {
    /// Its name.
    pub name: &'static str,
    /// The loss.
    pub loss: Box<dyn Loss>,
    /// n.
    pub n: u64,
    /// Trajectories.
    pub trajectories: u64,
}

/// The standard workloads, scaled in n by `scale` (1 for the recorded figures).
pub fn workloads(scale: f64) -> Vec<Workload> {
    let n = |base: f64| ((base * scale).round() as u64).max(10);
    let unit = |d: usize| vec![1.0 / (d as f64).sqrt(); d];
    vec![
        Workload {
            name: "logcosh d=3",
            loss: Box::new(LogCosh::new(vec![1.0, -0.5, 0.25])),
            n: n(20_000.0),
            trajectories: 4096,
        },
        Workload {
            name: "logistic d=32",
            loss: Box::new(Logistic::new(unit(32), 1.0)),
            n: n(20_000.0),
            trajectories: 1024,
        },
        // Issue 16's size: the workload of `tools/peers` (logistic d = 32, n = 2000, M = 4000),
        // whose larger A_n needs a longer exp series than n = 20000.
        Workload {
            name: "issue size d=32",
            loss: Box::new(Logistic::new(unit(32), 1.0)),
            n: n(2_000.0),
            trajectories: 4000,
        },
        Workload {
            name: "quadratic d=256",
            loss: Box::new(Quadratic::new(vec![1.0; 256], vec![1.0; 256])),
            n: n(20_000.0),
            trajectories: 128,
        },
        Workload {
            name: "linear d=32",
            loss: Box::new(Linear::new(unit(32))),
            n: n(20_000.0),
            trajectories: 1024,
        },
    ]
}

/// Measurements of one workload.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Workload name.
    pub workload: String,
    /// Dimension.
    pub dim: usize,
    /// n.
    pub n: u64,
    /// Trajectories.
    pub trajectories: u64,
    /// The instruction set the kernel ran with (`avx512`, `avx2` or `baseline`).
    pub isa: &'static str,
    /// Threads of the main measurement.
    pub threads: usize,
    /// (n + 1) M d.
    pub coordinate_steps: f64,
    /// Wall seconds with all threads (the fastest repeat).
    pub seconds: f64,
    /// The median of the repeats' wall seconds with all threads.
    pub median_seconds: f64,
    /// (median - fastest) / fastest over the repeats; above 0.1 the machine was noisy.
    pub spread: f64,
    /// Coordinate-steps per second with all threads.
    pub steps_per_second: f64,
    /// Nanoseconds per coordinate-step per core.
    pub ns_per_step_per_core: f64,
    /// The same for the minimal fused kernel: the same arithmetic and generator, without the
    /// engine's sup, divergence, checkpoint and flow bookkeeping (the fastest repeat).
    pub minimal_ns_per_core: f64,
    /// ns_per_step_per_core / minimal_ns_per_core.
    pub ratio_to_minimal: f64,
    /// The same for generating the uniforms alone (the fastest repeat).
    pub rng_ns_per_core: f64,
    /// Wall seconds on one thread.
    pub seconds_one_thread: f64,
    /// seconds_one_thread / seconds.
    pub speedup: f64,
    /// Share of the one-thread run's time spent integrating the reference flow (with more
    /// threads the flow of the next block overlaps the kernel, so the share of wall time is
    /// smaller still).
    pub flow_fraction: f64,
}

fn spec<'a>(w: &'a Workload, theta0: &'a [f64]) -> PointSpec<'a> {
    let s = Scaling {
        rule: ScalingRule::Corrected,
        alpha: 1.0,
        a: 1.0,
    };
    PointSpec {
        loss: w.loss.as_ref(),
        theta0,
        alpha_n: s.alpha_n(w.n),
        a_n: s.a_n(w.n),
        kappa: s.kappa_limit().expect("finite"),
        horizon: 1.0,
        substeps: 1,
        n: w.n,
        trajectories: w.trajectories,
        seed: 1,
        checkpoints: 200,
        divergence_bound: 1e6,
        groups: (0, group_count(w.trajectories)),
    }
}

/// Seconds to draw `count` uniforms on the current pool, in `tasks` tasks of [`LANES`]
/// xoshiro256++ streams stepped together ([`XoshiroLanes`], the kernel's generator code compiled
/// for its instruction set): the generator's share of the kernel, which needs one uniform per
/// coordinate-step.
pub fn rng_seconds(count: f64, tasks: u64) -> f64 {
    let rows = (count / tasks as f64 / LANES as f64).ceil() as u64;
    let isa = Isa::detect();
    let t0 = Instant::now();
    let total: f64 = (0..tasks)
        .into_par_iter()
        .map(|t| floor_task(t, rows, isa))
        .sum();
    black_box(total);
    t0.elapsed().as_secs_f64()
}

fn floor_task(task: u64, rows: u64, isa: Isa) -> f64 {
    match isa {
        Isa::Baseline => floor_body(task, rows, Portable),
        // SAFETY: the features were detected at run time by `Isa::detect`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => match Avx2Step::new() {
            Some(step) => unsafe { floor_avx2(task, rows, step) },
            None => floor_body(task, rows, Portable),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { floor_avx512(task, rows) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn floor_avx2(task: u64, rows: u64, step: Avx2Step) -> f64 {
    floor_body(task, rows, step)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn floor_avx512(task: u64, rows: u64) -> f64 {
    floor_body(task, rows, Portable)
}

/// The sum of `rows` x [`LANES`] uniforms on [-1/2, 1/2].
#[inline(always)]
fn floor_body<G: LaneStep>(task: u64, rows: u64, step: G) -> f64 {
    let (mut rng, _) = XoshiroLanes::new((0..LANES as u64).map(|b| trajectory_rng(7, task, 0, b)));
    let mut acc = [0.0f64; LANES];
    for _ in 0..rows {
        let bits = step.next(&mut rng);
        for b in 0..LANES {
            acc[b] += symmetric_uniform(bits[b], 0.5);
        }
    }
    acc.iter().sum()
}

/// The minimal kernel's inputs for the engine's point `sp`.
fn minimal_of<'a>(sp: &PointSpec<'a>) -> minimal::Minimal<'a> {
    minimal::Minimal {
        theta0: sp.theta0,
        alpha_n: sp.alpha_n,
        a_n: sp.a_n,
        steps: steps_for(sp.n, sp.horizon),
        seed: sp.seed,
        n: sp.n,
        trajectories: sp.trajectories,
    }
}

/// Seconds the minimal kernel takes for the point `sp` on the current pool.
fn time_minimal(w: &Workload, sp: &PointSpec) -> f64 {
    let t0 = Instant::now();
    let theta = minimal::terminal_theta(w.loss.known(), &minimal_of(sp), Isa::detect());
    black_box(theta.expect("the bench's losses are built in"));
    t0.elapsed().as_secs_f64()
}

/// Runs one workload on `threads` threads and on one thread (for the speed-up), `repeat` times
/// each, alternating; every time and every floor reported is the fastest of its repeats, which
/// damps interference from other processes on a shared machine.
pub fn measure(w: &Workload, threads: usize, repeat: usize) -> BenchResult {
    let d = w.loss.dim();
    let theta0 = vec![0.0; d];
    let sp = spec(w, &theta0);
    let pool = |k: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(k)
            .build()
            .expect("thread pool")
    };
    let timed = |k: usize| {
        pool(k).install(|| {
            let t0 = Instant::now();
            let out = run_point(&sp, d as u64, &|_| {});
            (t0.elapsed().as_secs_f64(), out.flow_seconds)
        })
    };
    let coordinate_steps = (w.n + 1) as f64 * w.trajectories as f64 * d as f64;
    let fastest = |a: (f64, f64), b: (f64, f64)| if b.0 < a.0 { b } else { a };
    let (mut all, mut one) = ((f64::INFINITY, 0.0), (f64::INFINITY, 0.0));
    let (mut floor, mut minimal) = (f64::INFINITY, f64::INFINITY);
    let mut times = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = timed(threads);
        times.push(t.0);
        all = fastest(all, t);
        one = if threads == 1 {
            all
        } else {
            fastest(one, timed(1))
        };
        minimal = minimal.min(pool(threads).install(|| time_minimal(w, &sp)));
        floor =
            floor.min(pool(threads).install(|| rng_seconds(coordinate_steps, 8 * threads as u64)));
    }
    let ((seconds, _), (seconds_one_thread, flow_one_thread)) = (all, one);
    times.sort_by(f64::total_cmp);
    let median_seconds = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        0.5 * (times[times.len() / 2 - 1] + times[times.len() / 2])
    };
    let per_core = |secs: f64| secs * threads as f64 / coordinate_steps * 1e9;
    BenchResult {
        workload: w.name.to_string(),
        dim: d,
        n: w.n,
        isa: Isa::detect().name(),
        trajectories: w.trajectories,
        threads,
        coordinate_steps,
        seconds,
        median_seconds,
        spread: median_seconds / seconds - 1.0,
        steps_per_second: coordinate_steps / seconds,
        ns_per_step_per_core: per_core(seconds),
        minimal_ns_per_core: per_core(minimal),
        ratio_to_minimal: seconds / minimal,
        rng_ns_per_core: per_core(floor),
        seconds_one_thread,
        speedup: seconds_one_thread / seconds,
        flow_fraction: flow_one_thread / seconds_one_thread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run_point_isa;

    /// The minimal kernel and the engine do the same arithmetic: the same terminal theta, bit for
    /// bit, on every workload and every instruction set this CPU runs; and the engine's output is
    /// the same on every instruction set (correctly rounded fused multiply-adds, no
    /// reassociation).
    #[test]
    fn minimal_kernel_and_every_isa_give_the_engines_bits() {
        for w in workloads(0.02) {
            let d = w.loss.dim();
            let theta0 = vec![0.0; d];
            let mut sp = spec(&w, &theta0);
            sp.trajectories = 21;
            sp.groups = (0, group_count(21));
            let mut seen: Option<Vec<u64>> = None;
            for isa in Isa::available() {
                let out = run_point_isa(&sp, d as u64, &|_| {}, isa);
                assert_eq!(out.diverged(), 0, "{}", w.name);
                let bits: Vec<u64> = out.terminal_theta.iter().map(|v| v.to_bits()).collect();
                let minimal = minimal::terminal_theta(w.loss.known(), &minimal_of(&sp), isa);
                let minimal: Vec<u64> = minimal.unwrap().iter().map(|v| v.to_bits()).collect();
                assert_eq!(
                    minimal,
                    bits,
                    "{} on {}: minimal kernel",
                    w.name,
                    isa.name()
                );
                let sups: Vec<u64> = out.sup_sq.iter().map(|v| v.to_bits()).collect();
                let all: Vec<u64> = bits.into_iter().chain(sups).collect();
                if let Some(first) = &seen {
                    assert_eq!(first, &all, "{} on {}", w.name, isa.name());
                }
                seen = Some(all);
            }
        }
    }
}
