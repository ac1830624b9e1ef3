//! Estimates of a run's work, memory and time, made before it starts.

use crate::engine::{LANES_FOR_PLAN, PointSpec, group_count, run_point, steps_for};
use crate::experiment::Experiment;
use std::time::Instant;

/// What a run will cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Coordinate-updates over all points: sum of (steps + 1) M d.
    pub coordinate_steps: f64,
    /// Peak memory of the largest point, in bytes.
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

/// Bytes held while simulating one point with M trajectories in dimension d.
pub fn point_bytes(m: u64, d: usize, checkpoints: u64) -> f64 {
    let (m, d, k) = (m as f64, d as f64, checkpoints as f64 + 1.0);
    let batches = (m / LANES_FOR_PLAN as f64).ceil();
    let batch = (2.0 * d * LANES_FOR_PLAN as f64 + 4.0 * LANES_FOR_PLAN as f64) * 8.0
        + 16.0 * LANES_FOR_PLAN as f64;
    let per_trajectory = (d + 3.0) * 8.0 + 16.0;
    let groups = group_count(m as u64) as f64 * k * d * 8.0;
    let block = 8192.0 * d * 8.0;
    batches * batch + m * per_trajectory * 2.0 + groups * 2.0 + block + 8.0 * 1024.0 * 1024.0
}

/// Coordinate-updates spent on calibration.
const CALIBRATION_WORK: f64 = 2e6;

/// Work and peak memory of `exp`, without calibration (seconds_per_coordinate_step is NaN).
pub fn estimate(exp: &Experiment) -> Plan {
    let mut coordinate_steps = 0.0;
    let mut peak: f64 = 0.0;
    for p in exp.points() {
        let steps = steps_for(p.n, exp.reference.horizon) as f64 + 1.0;
        coordinate_steps += steps * exp.sweep.trajectories as f64 * p.dim as f64;
        peak = peak.max(point_bytes(
            exp.sweep.trajectories,
            p.dim,
            exp.sweep.checkpoints,
        ));
    }
    Plan {
        coordinate_steps,
        peak_bytes: peak,
        seconds_per_coordinate_step: f64::NAN,
    }
}

/// [`estimate`] plus a calibration of the speed: a short run of the first point (at most 256
/// trajectories, about 2e6 coordinate-updates) in the current thread pool.
pub fn calibrate(mut plan: Plan, exp: &Experiment) -> Plan {
    let p = exp.points()[0];
    let loss = exp.loss.build(p.dim);
    let theta0 = exp.theta0.materialize(p.dim);
    let m = exp.sweep.trajectories.min(256);
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

/// Memory available to new processes (MemAvailable of /proc/meminfo), if known.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}
