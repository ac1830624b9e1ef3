//! Estimates of a run's work, memory and time, made before it starts.
//!
//! The memory estimate adds up, point by point, what the engine and the analysis of the point
//! hold at once, from their own types and layouts ([`PointMemory`]), plus a fixed baseline for
//! the process. A point goes through two phases, and its peak is the larger:
//!
//! - simulation: the engine's batches, workspaces and flow blocks, and the point's output
//!   (per-trajectory results, written in place, and the path sums), all alive together;
//! - analysis (`run::complete_point`): the output, plus the largest of the buffers
//!   that the row's estimates allocate one after another while the output is alive: kappa_hat's
//!   unit-speed flow and path sums (kappa_hat), the fluctuation prediction
//!   ([`crate::fluctuation::predict`]: the d x d Lyapunov system and the simulation grid and paths
//!   of V, side by side) and the mean path of the path record. The engine gives the simulation's memory back
//!   before the analysis starts.

use crate::engine::{PointMemory, PointSpec, allocation_bytes, group_count, run_point, steps_for};
use crate::experiment::{Experiment, LossSpec, Point, Trajectories, VecSpec};
use crate::fluctuation::{CONTROLS, RECORD, SUP_GROUPS, SupBudget};
use std::path::Path;
use std::time::Instant;

/// What a run will cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Coordinate-updates over all points: sum of (steps + 1) M d.
    pub coordinate_steps: f64,
    /// Peak memory of the largest point, in bytes (resident set, the process included).
    pub peak_bytes: f64,
    /// Calibrated cost per coordinate-update with the current thread pool, in seconds.
    pub seconds_per_coordinate_step: f64,
}

impl Plan {
    /// Expected wall-clock seconds.
    pub fn seconds(&self) -> f64 {
        self.coordinate_steps * self.seconds_per_coordinate_step
    }
}

/// Resident memory of the process before any point: code, the thread pool, the parsed
/// experiment, the figures written at the end (measured: 10.2 MB peak for a run of 16
/// trajectories in d = 2 on 2 threads; rounded up).
pub const BASELINE_BYTES: f64 = 12.0 * 1048576.0;

/// Allowance over the modelled bytes for what the model leaves out (small allocations, the
/// allocator's bins and arenas, thread stacks, scheduling). Measured peaks were between 3% and
/// 0.2% below the modelled sum (d = 2 with 10^6 to 10^7 trajectories, d = 20000 and 50000).
pub const MODEL_MARGIN: f64 = 1.04;

/// Knobs of an experiment that memory depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    /// `sweep.trajectories`: per-trajectory state and results.
    Trajectories,
    /// The dimension (`sweep.dim`, or the loss's): d-sized blocks that do not grow with M or K.
    Dimension,
    /// `sweep.checkpoints`: the (K+1) x d paths (per group, flow, samples, their analysis).
    Checkpoints,
}

/// Memory of one point by component, in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointEstimate {
    /// n.
    pub n: u64,
    /// Dimension d.
    pub dim: usize,
    /// The engine's share.
    pub engine: PointMemory,
    /// kappa_hat's unit-speed flow Y and Y' (2 x nodes x d) and RK4 state.
    pub kappa_flow: f64,
    /// kappa_hat's (K+1) x d sums (all groups, and all but one) and fitted means.
    pub kappa_sums: f64,
    /// The fluctuation prediction's largest buffers: the (Z, P) system of d + d^2 values (RK4
    /// stages) and, beside it, the grid of 3 x 1024 x d (and the propagators) and the paths of V.
    pub fluctuation: f64,
    /// The mean path computed for the path record, (K+1) x d (recorded points only).
    pub path_mean: f64,
    /// Small analysis buffers: loss and theta0, path records and their copies, the cache key.
    pub analysis_small: f64,
}

impl PointEstimate {
    /// The memory of point `p` of `exp` with `m` trajectories and `checkpoints` checkpoints.
    pub fn new(exp: &Experiment, p: &Point, m: u64, checkpoints: u64) -> Self {
        let d = p.dim;
        let steps = steps_for(p.n, exp.reference.horizon);
        let engine = PointMemory::new(m, d, checkpoints, steps);
        let nck = engine.checkpoints;
        let f64s = |len: usize| allocation_bytes(len * 8, 8);
        // kappa_hat (crate::drift): at most 50 fitted checkpoints; Y on a grid of step 0.01 in
        // s up to 30 kappa_n t_K, unless that is 1e7 steps or more.
        let (mut kappa_flow, mut kappa_sums) = (0.0, 0.0);
        if engine.groups >= 2 && nck >= 2 {
            let fit = (nck - 1).min(50);
            kappa_sums = 2.0 * f64s(fit);
            let guess = p.scaling.kappa_n(p.n).max(1e-12);
            let t_last = steps as f64 / p.n as f64;
            let s_max = 30.0 * guess * t_last;
            if s_max.is_finite() && s_max / 0.01 < 1e7 {
                let nodes = (s_max / 0.01).ceil() as usize + 2;
                kappa_flow = 2.0 * f64s(nodes * d) + 6.0 * f64s(d);
                kappa_sums += 2.0 * (f64s(nck * d) + f64s(nck))
                    + fit as f64 * f64s(d)
                    + allocation_bytes(fit * 24, 8)
                    + f64s(d)
                    + f64s(engine.groups as usize);
            }
        }
        let fluctuation = fluctuation_bytes(p, &exp.loss);
        let recorded = p.cell == 0
            && p.dim == exp.sweep.dim[0]
            && (p.n == exp.sweep.n[0] || Some(&p.n) == exp.sweep.n.last());
        let path_mean = if recorded { f64s(nck * d) } else { 0.0 };
        // A path record: times, and the first 3 coordinates of the flow, the mean and 5 samples
        // at every checkpoint; two are kept, copied into each partial summary and written as JSON.
        let shown = d.min(3);
        let record = f64s(nck)
            + 7.0 * (allocation_bytes(nck * 24, 8) + nck as f64 * f64s(shown))
            + 7.0 * nck as f64 * shown as f64 * 25.0;
        let analysis_small = 6.0 * f64s(d) + 6.0 * record;
        Self {
            n: p.n,
            dim: d,
            engine,
            kappa_flow,
            kappa_sums,
            fluctuation,
            path_mean,
            analysis_small,
        }
    }

    /// Resident bytes while the trajectories are simulated.
    pub fn simulation(&self) -> f64 {
        BASELINE_BYTES + MODEL_MARGIN * self.engine.simulation()
    }

    /// The largest of the buffers that the analysis allocates one after another.
    fn analysis_temporary(&self) -> f64 {
        (self.kappa_flow + self.kappa_sums)
            .max(self.fluctuation)
            .max(self.path_mean)
    }

    /// Resident bytes while the row and path record are computed from the output.
    pub fn analysis(&self) -> f64 {
        BASELINE_BYTES
            + MODEL_MARGIN
                * (self.engine.output() + self.analysis_temporary() + self.analysis_small)
    }

    /// Peak resident bytes of the point.
    pub fn peak(&self) -> f64 {
        self.simulation().max(self.analysis())
    }

    /// The bytes at the peak that each knob controls (the baseline belongs to none): per
    /// trajectory (batches, results), per checkpoint (every (K+1) x d path) and the d-sized
    /// blocks that grow with neither.
    pub fn by_knob(&self) -> [(Knob, f64); 3] {
        let e = &self.engine;
        let paths = e.path_sums + e.sample_paths + e.flow_path;
        if self.simulation() >= self.analysis() {
            [
                (Knob::Trajectories, e.batches + e.results),
                (Knob::Checkpoints, paths),
                (Knob::Dimension, e.workspaces + e.flow_blocks + e.small),
            ]
        } else {
            let t = self.analysis_temporary();
            let (checkpoint_temp, dimension_temp) = if t == self.path_mean {
                (t, 0.0)
            } else if t == self.fluctuation {
                (0.0, t)
            } else {
                (self.kappa_sums, self.kappa_flow)
            };
            [
                (Knob::Trajectories, e.results),
                (Knob::Checkpoints, paths + checkpoint_temp),
                (
                    Knob::Dimension,
                    dimension_temp + e.small + self.analysis_small,
                ),
            ]
        }
    }

    /// What the d-sized buffers at the peak are, in words.
    fn dimension_buffers(&self) -> String {
        let d = self.dim;
        if self.simulation() >= self.analysis() {
            format!("the flow's blocks and the workspaces in d = {d}")
        } else if self.analysis_temporary() == self.fluctuation {
            format!("the fluctuation limit's (Z, P) system of d + d^2 values in d = {d}")
        } else {
            let nodes = (self.kappa_flow / (16.0 * d as f64)).round();
            format!("kappa_hat's unit-speed flow ({nodes} grid points x {d} values, twice)")
        }
    }

    /// The knob that controls most of the peak.
    pub fn dominant(&self) -> Knob {
        let shares = self.by_knob();
        shares
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("three knobs")
            .0
    }
}

/// Bytes of the fluctuation prediction at a point ([`crate::fluctuation::predict`], called in
/// every row where the scaling has a diffusion limit; its result is cached, its buffers are not
/// kept): the key, theta0 and the loss, and its two stages, which run side by side.
fn fluctuation_bytes(p: &Point, loss: &LossSpec) -> f64 {
    if p.scaling.noise_scale().is_err() {
        return 0.0;
    }
    let d = p.dim;
    let f64s = |len: usize| allocation_bytes(len * 8, 8);
    let inputs = 4.0 * f64s(d) + allocation_bytes(64 * d, 1);
    // terminal_limit: the right-hand side's 2 d-vectors and 2 d of scratch, P's columns and their
    // products in blocks of crate::loss::LANES (2 x ceil(d / crate::loss::LANES) crate::loss::LANES d) and H P (d^2); RK4's state, 4
    // stages and a temporary of d + d^2 each.
    let blocks = d.div_ceil(crate::loss::LANES) * crate::loss::LANES * d;
    let lyapunov =
        2.0 * f64s(d) + f64s(2 * d) + 2.0 * f64s(blocks) + f64s(d * d) + 6.0 * f64s(d + d * d);
    let budget = SupBudget::default();
    let sup = budget.paths_for(d).map_or(0.0, |paths| {
        lyapunov + sup_bytes(d, budget.steps, paths, loss)
    });
    inputs + lyapunov + sup
}

/// Bytes of `sup_limit` in dimension d (see `fluctuation::grid` and `fluctuation::paths`): the
/// grid (3 x steps x d, the flow's RK4, and the half-step propagators by the loss's Hessian: a
/// vector and steps numbers for the logistic loss, steps x d for the diagonal ones, steps x d^2
/// for another loss in d <= 16, built with the products' buffers; a user's loss counts as one of
/// unknown structure), the buffers of the groups in
/// flight (at most one per thread), the per-path results (per group and flattened) and the
/// control variates' columns (the controls and up to three columns of one number per path: the
/// extrapolated sup, and the grid maximum and the terminal value at once). The trace P(t) of the
/// controls' means (a second Lyapunov system) runs beside it and is counted by the caller.
fn sup_bytes(d: usize, steps: usize, paths: usize, loss: &LossSpec) -> f64 {
    let f64s = |len: usize| allocation_bytes(len * 8, 8);
    let steps = steps.div_ceil(4).max(1) * 4;
    let per = paths.div_ceil(SUP_GROUPS).max(1);
    let total = per * SUP_GROUPS;
    let batch = d * crate::loss::LANES;
    let structured = !matches!(loss, LossSpec::Custom { .. });
    let propagator = match loss {
        LossSpec::Logistic { .. } => f64s(d) + f64s(steps),
        _ if structured => f64s(steps * d) + 2.0 * f64s(d),
        _ if d <= crate::fluctuation::DENSE_MAX => {
            let blocks = d.div_ceil(crate::loss::LANES) * batch;
            f64s(steps * d * d) + 3.0 * f64s(blocks) + f64s(2 * d)
        }
        _ => 0.0,
    };
    // A group: the batches' states, maxima and norms, the normals (values, draws, masks and the
    // list of misses, for batches x (d + 1) rows) and, for a loss of unknown structure, the
    // products' buffers.
    let batches = per.div_ceil(crate::loss::LANES);
    let rows = batches * (d + 1);
    let padded = rows.next_multiple_of(8);
    let normals = f64s(rows * crate::loss::LANES)
        + f64s(padded * crate::loss::LANES)
        + allocation_bytes(padded, 1)
        + allocation_bytes((rows + 1) * crate::loss::LANES * 4, 4)
        + f64s((rows + 1) * crate::loss::LANES);
    let products = match (structured, d <= crate::fluctuation::DENSE_MAX) {
        (true, _) => 0.0,
        (false, true) => f64s(batches * batch),
        (false, false) => 2.0 * f64s(batches * batch) + f64s(2 * d),
    };
    let group = f64s(batches * batch)
        + f64s(batches * RECORD * crate::loss::LANES)
        + f64s(batches * crate::loss::LANES)
        + normals
        + products;
    let in_flight = SUP_GROUPS.min(rayon::current_num_threads()) as f64;
    3.0 * f64s(steps * d)
        + propagator
        + 8.0 * f64s(d)
        + in_flight * group
        + SUP_GROUPS as f64 * allocation_bytes(per * RECORD * 8, 8)
        + allocation_bytes(total * RECORD * 8, 8)
        + allocation_bytes(total * CONTROLS * 8, 8)
        + 3.0 * f64s(total)
}

/// The memory of every point of `exp` with `m` trajectories, `checkpoints` checkpoints and
/// dimensions capped at `max_dim`.
fn point_estimates(
    exp: &Experiment,
    m: Trajectories,
    checkpoints: u64,
    max_dim: usize,
) -> Vec<PointEstimate> {
    exp.points()
        .iter()
        .map(|p| {
            let p = Point {
                dim: p.dim.min(max_dim),
                ..*p
            };
            PointEstimate::new(exp, &p, m.at(p.dim), checkpoints)
        })
        .collect()
}

/// The point with the largest peak.
fn largest(points: Vec<PointEstimate>) -> PointEstimate {
    points
        .into_iter()
        .max_by(|a, b| a.peak().total_cmp(&b.peak()))
        .expect("an experiment has points")
}

/// The memory of the point of `exp` with the largest peak.
pub fn peak_point(exp: &Experiment) -> PointEstimate {
    largest(point_estimates(
        exp,
        exp.sweep.trajectories,
        exp.sweep.checkpoints,
        usize::MAX,
    ))
}

/// Coordinate-updates spent on calibration.
const CALIBRATION_WORK: f64 = 2e6;

/// Work and peak memory of `exp`, without calibration (seconds_per_coordinate_step is NaN).
pub fn estimate(exp: &Experiment) -> Plan {
    let mut coordinate_steps = 0.0;
    for p in exp.points() {
        let steps = steps_for(p.n, exp.reference.horizon) as f64 + 1.0;
        coordinate_steps += steps * exp.trajectories(&p) as f64 * p.dim as f64;
    }
    Plan {
        coordinate_steps,
        peak_bytes: peak_point(exp).peak(),
        seconds_per_coordinate_step: f64::NAN,
    }
}

/// The experiment's key for its dimension: `sweep.dim` when swept, else the loss's explicit
/// vector or theta0 that fixes it, else `loss.dim`.
fn dimension_key(exp: &Experiment) -> String {
    if exp.sweep.dim_sweep {
        return "sweep.dim".into();
    }
    let explicit = |v: &VecSpec| matches!(v, VecSpec::Values(_));
    let named = match &exp.loss {
        LossSpec::Logcosh { center } => explicit(center).then_some("loss.center"),
        LossSpec::Quadratic { center, curvature } => {
            if explicit(center) {
                Some("loss.center")
            } else {
                explicit(curvature).then_some("loss.curvature")
            }
        }
        LossSpec::Logistic { x, .. } => explicit(x).then_some("loss.x"),
        LossSpec::Linear { g } => explicit(g).then_some("loss.g"),
        LossSpec::Custom { .. } => None,
    };
    match named {
        Some(k) => k.into(),
        None if explicit(&exp.theta0) => "start.theta0".into(),
        None => "loss.dim".into(),
    }
}

/// The largest value in [lo, hi] for which `fits` holds (it must be monotone: true up to some
/// value), or `None` if it fails at lo.
fn largest_fitting(lo: u64, hi: u64, fits: impl Fn(u64) -> bool) -> Option<u64> {
    if hi < lo || !fits(lo) {
        return None;
    }
    let (mut a, mut b) = (lo, hi);
    while a < b {
        let mid = a + (b - a).div_ceil(2);
        if fits(mid) { a = mid } else { b = mid - 1 }
    }
    Some(a)
}

/// Why a run whose estimated peak (`plan.peak_bytes`) exceeds `available` bytes is refused, as
/// (key, problem, fix), or `None` if it fits. The key is the knob that controls most of the
/// peak and is not already at its minimum (`sweep.trajectories` >= 2, `sweep.checkpoints` >= 1,
/// dimension >= 1); the fix says how far to lower it for the run to fit, or that it cannot fit
/// by that knob alone.
pub fn memory_refusal(
    exp: &Experiment,
    plan: &Plan,
    available: f64,
) -> Option<(String, String, String)> {
    if plan.peak_bytes <= available {
        return None;
    }
    let point = peak_point(exp);
    let traj = exp.sweep.trajectories;
    let m = traj.count();
    let k = exp.sweep.checkpoints;
    let dmax = exp.sweep.dim.iter().copied().max().unwrap_or(1);
    // The smallest valid count: 2 trajectories, or 2 at the largest d for `times_dim`.
    let m_min = match traj {
        Trajectories::Fixed(_) => 2,
        Trajectories::TimesDim { .. } => dmax as u64 + 1,
    };
    let at_minimum = |knob: Knob| match knob {
        Knob::Trajectories => m <= m_min,
        Knob::Checkpoints => k <= 1,
        Knob::Dimension => dmax <= 1,
    };
    let mut shares = point.by_knob();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (knob, bytes) = shares
        .iter()
        .copied()
        .find(|s| !at_minimum(s.0))
        .unwrap_or(shares[0]);
    let mib = |b: f64| b / 1048576.0;
    let peak_with =
        |m: u64, k: u64, d: usize| largest(point_estimates(exp, traj.with_count(m), k, d)).peak();
    let fits = |m: u64, k: u64, d: usize| peak_with(m, k, d) <= available;
    let what = knob_share(&point, knob, bytes);
    let problem = format!(
        "the run needs about {:.0} MiB but {:.0} MiB are available; {:.0} MiB of the peak (at n = {}, d = {}) are {what}",
        mib(plan.peak_bytes),
        mib(available),
        mib(bytes),
        point.n,
        point.dim,
    );
    let (key, lowered) = match knob {
        Knob::Trajectories => (
            "sweep.trajectories".to_string(),
            largest_fitting(m_min, m.saturating_sub(1), |v| fits(v, k, usize::MAX)).map(|v| {
                match traj {
                    Trajectories::Fixed(_) => format!("at most {v} trajectories"),
                    Trajectories::TimesDim { .. } => format!("times_dim at most {v}"),
                }
            }),
        ),
        Knob::Checkpoints => (
            "sweep.checkpoints".to_string(),
            largest_fitting(1, k.saturating_sub(1), |v| fits(m, v, usize::MAX))
                .map(|v| format!("at most {v} checkpoints")),
        ),
        Knob::Dimension => (
            dimension_key(exp),
            largest_fitting(1, dmax.saturating_sub(1) as u64, |v| fits(m, k, v as usize))
                .map(|v| format!("dimensions of at most {v}")),
        ),
    };
    let fix = refusal_fix(lowered, at_minimum(knob), mib(available));
    Some((key, problem, fix))
}

/// What the knob's share of the peak is, in words.
fn knob_share(point: &PointEstimate, knob: Knob, bytes: f64) -> String {
    match knob {
        Knob::Trajectories => format!(
            "the state and results of the {} trajectories (about {:.0} bytes each in d = {})",
            point.engine.trajectories,
            bytes / point.engine.trajectories as f64,
            point.dim
        ),
        Knob::Checkpoints => format!(
            "paths recorded at {} checkpoints ({} x {} values for each of the {} groups, the flow and the sample paths)",
            point.engine.checkpoints, point.engine.checkpoints, point.dim, point.engine.groups,
        ),
        Knob::Dimension => point.dimension_buffers(),
    }
}

/// The fix of a memory refusal: the knob's `lowered` value if one fits.
fn refusal_fix(lowered: Option<String>, at_minimum: bool, available_mib: f64) -> String {
    match lowered {
        Some(v) => format!("{v} (or --force to run anyway)"),
        None if at_minimum => {
            "more memory: every knob is at its minimum (or --force to run anyway)".to_string()
        }
        None => format!(
            "a smaller value, with other sizes lowered too: this one alone cannot bring the run within {:.0} MiB (or --force to run anyway)",
            available_mib
        ),
    }
}

/// [`estimate`] plus a calibration of the speed: a short run of the first point (at most 256
/// trajectories, about 2e6 coordinate-updates) in the current thread pool.
pub fn calibrate(mut plan: Plan, exp: &Experiment) -> Plan {
    let p = exp.points()[0];
    let loss = exp.loss.build(p.dim);
    let theta0 = exp.theta0.materialize(p.dim);
    let m = exp.trajectories(&p).min(256);
    let n = (CALIBRATION_WORK / (m as f64 * p.dim as f64)).clamp(10.0, 2000.0) as u64;
    let spec = PointSpec {
        loss: loss.as_ref(),
        theta0: &theta0,
        alpha_n: p.scaling.alpha_n(p.n),
        a_n: p.scaling.a_n(p.n),
        kappa: exp.kappa(&p),
        horizon: 1.0,
        substeps: exp.reference.substeps,
        n,
        trajectories: m,
        seed: exp.seed,
        checkpoints: 1,
        divergence_bound: exp.sweep.divergence_bound,
        groups: (0, group_count(m)),
    };
    let t0 = Instant::now();
    run_point(&spec, p.dim as u64, &|_| {});
    plan.seconds_per_coordinate_step =
        t0.elapsed().as_secs_f64() / ((n + 1) as f64 * m as f64 * p.dim as f64);
    plan
}

/// Memory this process can still use, if known: MemAvailable of /proc/meminfo, or less when a
/// control group limits the process (a Slurm job's `--mem`, a container), where the kernel
/// kills a process at the group's limit whatever the machine has free.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let machine = kb * 1024.0;
    let groups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let group = cgroup_headroom(&groups, Path::new("/sys/fs/cgroup"));
    Some(group.map_or(machine, |g| g.min(machine)))
}

/// The least headroom (limit minus usage) of the memory control groups that hold this process
/// and their ancestors, from /proc/self/cgroup's text and the cgroup file system at `root`:
/// cgroup v2 (`0::/path`, `memory.max` and `memory.current`) or v1 (the `memory` controller,
/// `memory.limit_in_bytes` and `memory.usage_in_bytes` under `root/memory`). `None` when no group
/// sets a limit (see the kernel's Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/memory.rst).
fn cgroup_headroom(proc_cgroup: &str, root: &Path) -> Option<f64> {
    let read = |dir: &Path, file: &str| -> Option<f64> {
        let v = std::fs::read_to_string(dir.join(file)).ok()?;
        // "max" (v2) or a value near i64::MAX (v1) means no limit.
        v.trim().parse::<f64>().ok().filter(|&x| x < 2f64.powi(60))
    };
    let mut least: Option<f64> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':').skip(1);
        let (Some(controllers), Some(path)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (base, limit, usage) = if controllers.is_empty() {
            (root.to_path_buf(), "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let mut dir = base.join(path.trim_start_matches('/'));
        loop {
            if let Some(max) = read(&dir, limit) {
                let room = (max - read(&dir, usage).unwrap_or(0.0)).max(0.0);
                least = Some(least.map_or(room, |l: f64| l.min(room)));
            }
            if dir == base || !dir.pop() {
                break;
            }
        }
    }
    least
}

#[cfg(test)]
mod tests {
    use super::cgroup_headroom;
    use std::path::Path;

    fn write(root: &Path, dir: &str, file: &str, text: &str) {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(file), text).unwrap();
    }

    /// The least headroom over the process's group and its ancestors, v2 and v1; no limit, no
    /// memory controller or unreadable files give `None`.
    #[test]
    fn cgroup_limits_bound_the_available_memory() {
        let dir = std::env::temp_dir().join(format!("stdp-flow-cgroup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.as_path();
        write(root, "job_7", "memory.max", "4000000000\n");
        write(root, "job_7", "memory.current", "1000000000\n");
        write(root, "job_7/step_0", "memory.max", "max\n");
        write(root, "job_7/step_0", "memory.current", "900000000\n");
        let v2 = "0::/job_7/step_0\n";
        assert_eq!(cgroup_headroom(v2, root), Some(3e9));
        write(root, "job_7/step_0", "memory.max", "2000000000\n");
        assert_eq!(cgroup_headroom(v2, root), Some(1.1e9));
        assert_eq!(cgroup_headroom("0::/elsewhere\n", root), None);
        write(
            root,
            "memory/slurm/uid_1/job_9",
            "memory.limit_in_bytes",
            "3000000000",
        );
        write(
            root,
            "memory/slurm/uid_1/job_9",
            "memory.usage_in_bytes",
            "500000000",
        );
        write(
            root,
            "memory",
            "memory.limit_in_bytes",
            "9223372036854771712",
        );
        let v1 = "12:cpu,cpuacct:/slurm\n4:memory:/slurm/uid_1/job_9\n";
        assert_eq!(cgroup_headroom(v1, root), Some(2.5e9));
        assert_eq!(cgroup_headroom("12:cpu:/slurm\nnonsense\n", root), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
