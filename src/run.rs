//! The run loop of a convergence study: simulate each point of the sweep (the engine), turn its
//! output into a [`Row`], report progress to an [`Observer`], hand each partial summary to a
//! [`Checkpoint`], and assemble the [`Summary`] (whose fits and verdicts [`crate::analysis`]
//! computes).

use crate::analysis::analyse;
use crate::drift::kappa_hat;
use crate::engine::{PointOutput, PointSpec, run_point};
use crate::error::Error;
use crate::experiment::{Experiment, Point};
use crate::fluctuation::{Diffusion, Fluctuation, SupBudget};
use crate::provenance::{Clock, VERSION, commit_text, fnv1a};
use crate::results::{DriftConstants, PathRecord, Row, Status, Summary};
use crate::stats::Estimate;

/// Receives progress from a run (argmin-style observer).
pub trait Observer: Sync {
    /// A point starts; `work` trajectory-updates will follow.
    fn start_point(&self, _point: &Point, _work: u64) {}
    /// `work` more trajectory-updates are done.
    fn advance(&self, _work: u64) {}
    /// A point is done.
    fn finish_point(&self, _row: &Row) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Settings of a run that are not part of the experiment.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (recorded in provenance; the caller sets up the pool).
    pub threads: usize,
    /// Whether `[quick]` sizes were applied.
    pub quick: bool,
}

fn row_from(exp: &Experiment, p: &Point, kappa: f64, out: &PointOutput, seconds: f64) -> Row {
    let d = out.dim;
    // The trajectories that did not diverge, in index order, without a list of their indices or
    // copies of their values (each pass walks the output again: same values, same order, same
    // sums as over collected copies).
    let ok = || (0..out.sup_sq.len()).filter(|&k| out.diverged_at[k].is_none());
    let count = ok().count();
    let enough = count >= 2;
    let (bias, var) = if enough {
        let m = count as f64;
        let mut bias = 0.0;
        let mut var = 0.0;
        for i in 0..d {
            let mean = ok().map(|k| out.terminal_theta[k * d + i]).sum::<f64>() / m;
            let r = mean - out.flow_terminal[i];
            bias += r * r;
            var += ok()
                .map(|k| (out.terminal_theta[k * d + i] - mean).powi(2))
                .sum::<f64>()
                / (m - 1.0);
        }
        (Some(bias), Some(var))
    } else {
        (None, None)
    };
    let (beta, gamma) = p.scaling.exponents();
    let loss = exp.loss.build(d);
    let theta0 = exp.theta0.materialize(d);
    let guess = p.scaling.kappa_n(p.n).max(1e-12);
    let kh = kappa_hat(
        loss.as_ref(),
        &theta0,
        &out.checkpoint_times,
        &out.group_path_sums,
        &out.group_path_counts,
        guess,
    );
    Row {
        n: p.n,
        dim: d,
        beta,
        gamma,
        trajectories: out.sup_sq.len() as u64,
        diverged: out.diverged(),
        kappa,
        kappa_n: p.scaling.kappa_n(p.n),
        alpha_n: p.scaling.alpha_n(p.n),
        a_n: p.scaling.a_n(p.n),
        steps: out.steps,
        sup_sq_error: enough.then(|| estimate_over(|| ok().map(|k| out.sup_sq[k]))),
        terminal_sq_error: enough.then(|| estimate_over(|| ok().map(|k| out.terminal_sq[k]))),
        terminal_bias_sq: bias,
        terminal_variance: var,
        kappa_hat: kh,
        fluctuation: fluctuation(exp, p, kappa),
        seconds,
    }
}

/// [`Estimate::from_samples`] of the values `values()` yields (twice, the same values each time),
/// with the same arithmetic in the same order (so the same bits) but without collecting them.
fn estimate_over<I: Iterator<Item = f64>>(values: impl Fn() -> I) -> Estimate {
    let m = values().count() as f64;
    let mean = values().sum::<f64>() / m;
    let var = values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1.0);
    Estimate::with_t(mean, (var / m).sqrt(), m - 1.0)
}

/// The fluctuation limit at a point, computed once per distinct input in a process (rows of one
/// series share it): it depends on the loss, theta0, kappa, alpha^2 A^4, T and the stream seed.
fn fluctuation(exp: &Experiment, p: &Point, kappa: f64) -> Option<Fluctuation> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Fluctuation>>> = OnceLock::new();
    let noise = p.scaling.noise_scale().ok()?;
    let model = Diffusion {
        kappa,
        noise,
        horizon: exp.reference.horizon,
    };
    let seed = exp.stream_seed(&p.scaling);
    let theta0 = exp.theta0.materialize(p.dim);
    let key = format!(
        "{}|{:?}|{:?}|{:?}|{seed}",
        serde_json::to_string(&exp.loss).expect("serialisable"),
        theta0,
        model,
        p.dim
    );
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(f) = cache.lock().ok()?.get(&key) {
        return Some(*f);
    }
    let loss = exp.loss.build(p.dim);
    let f = crate::fluctuation::predict(loss.as_ref(), &theta0, model, &SupBudget::default(), seed);
    cache.lock().ok()?.insert(key, f);
    Some(f)
}

fn path_record(p: &Point, out: &PointOutput) -> PathRecord {
    let d = out.dim;
    let shown = d.min(3);
    let rows = |v: &[f64]| -> Vec<Vec<f64>> { v.chunks(d).map(|r| r[..shown].to_vec()).collect() };
    let total: Vec<f64> = (0..out.flow_path.len())
        .map(|i| {
            let count: u64 = out.group_path_counts.iter().map(|c| c[i / d]).sum();
            out.group_path_sums.iter().map(|g| g[i]).sum::<f64>() / count as f64
        })
        .collect();
    PathRecord {
        n: p.n,
        dim: d,
        times: out.checkpoint_times.clone(),
        flow: rows(&out.flow_path),
        mean: rows(&total),
        samples: out.sample_paths.iter().map(|s| rows(s)).collect(),
    }
}

/// A fingerprint of the resolved experiment and the code that runs it (FNV-1a, 64 bits, over the
/// experiment's canonical JSON, the crate version and the git commit). Results with different keys
/// are never mixed by `--resume` or `merge`.
pub fn resume_key(exp: &Experiment) -> String {
    let text = format!(
        "{}|{}|{}",
        serde_json::to_string(exp).expect("serialisable"),
        VERSION,
        commit_text()
    );
    fnv1a(text.as_bytes())
}

/// Whether `row` holds the results of point `p`.
pub fn row_is(row: &Row, p: &Point) -> bool {
    let (beta, gamma) = p.scaling.exponents();
    row.n == p.n && row.dim == p.dim && row.beta == beta && row.gamma == gamma
}

/// Simulates the trajectories of `groups` (all when `None`) at one point.
pub fn simulate_point(
    exp: &Experiment,
    p: &Point,
    groups: Option<(u64, u64)>,
    observer: &dyn Observer,
) -> PointOutput {
    let loss = exp.loss.build(p.dim);
    let theta0 = exp.theta0.materialize(p.dim);
    let m = exp.trajectories(p);
    let groups = groups.unwrap_or((0, crate::engine::group_count(m)));
    let spec = PointSpec {
        loss: loss.as_ref(),
        theta0: &theta0,
        alpha_n: p.scaling.alpha_n(p.n),
        a_n: p.scaling.a_n(p.n),
        kappa: exp.kappa(p),
        horizon: exp.reference.horizon,
        substeps: exp.reference.substeps,
        n: p.n,
        trajectories: m,
        seed: exp.stream_seed(&p.scaling),
        checkpoints: exp.sweep.checkpoints,
        divergence_bound: exp.sweep.divergence_bound,
        groups,
    };
    let count =
        crate::engine::group_bounds(groups.1 - 1, m).1 - crate::engine::group_bounds(groups.0, m).0;
    let steps = crate::engine::steps_for(p.n, exp.reference.horizon);
    observer.start_point(p, (steps + 1) * count);
    run_point(&spec, p.dim as u64, &|w| observer.advance(w))
}

/// The row of a fully simulated point, and its recorded paths if the point is the smallest or
/// largest n of the first dimension and cell.
pub fn complete_point(
    exp: &Experiment,
    p: &Point,
    out: &PointOutput,
    seconds: f64,
) -> (Row, Option<PathRecord>) {
    let row = row_from(exp, p, exp.kappa(p), out, seconds);
    let n_min = exp.sweep.n[0];
    let n_max = *exp.sweep.n.last().expect("non-empty");
    let path = (p.cell == 0 && p.dim == exp.sweep.dim[0] && (p.n == n_min || p.n == n_max))
        .then(|| path_record(p, out));
    (row, path)
}

/// The summary of the given rows and paths of a run on `clock`, `seconds` long in total;
/// `complete` runs the fits and the verdict.
pub fn summarize(
    exp: &Experiment,
    opts: &RunOptions,
    clock: &Clock,
    (rows, paths): (Vec<Row>, Vec<PathRecord>),
    seconds: f64,
    complete: bool,
) -> Summary {
    let mut s = Summary {
        name: exp.name.clone(),
        title: exp.title.clone(),
        status: if complete {
            Status::Complete
        } else {
            Status::Partial
        },
        resume_key: resume_key(exp),
        config: serde_json::to_value(exp).expect("serialisable"),
        provenance: clock.provenance(exp.seed, opts.threads, opts.quick, seconds),
        drift_constants: DriftConstants {
            four_alpha: 4.0 * exp.scaling.alpha,
            two_thirds_alpha_a2: 2.0 / 3.0 * exp.scaling.alpha * exp.scaling.a * exp.scaling.a,
        },
        rows,
        fit: None,
        verdict: None,
        fits: Vec::new(),
        phase: Vec::new(),
        paths,
    };
    if complete {
        analyse(exp, &mut s);
    }
    s
}

/// Where a run keeps its progress (argmin-style checkpointing): the run loop hands it the partial
/// summary after each newly completed point, to write, or to stop the run by returning an error.
pub trait Checkpoint: Send {
    /// Called with the partial summary after each newly completed point.
    fn save(&mut self, partial: &Summary) -> Result<(), Error>;

    /// Whether [`Checkpoint::save`] wants the partial summaries (building one copies the rows
    /// so far); `false` skips them.
    fn wants_partials(&self) -> bool {
        true
    }
}

/// A run that keeps no checkpoints.
pub struct NoCheckpoint;

impl Checkpoint for NoCheckpoint {
    fn save(&mut self, _partial: &Summary) -> Result<(), Error> {
        Ok(())
    }

    fn wants_partials(&self) -> bool {
        false
    }
}

/// Simulates every point of `exp` and assembles the summary.
pub fn run(exp: &Experiment, opts: &RunOptions, observer: &dyn Observer) -> Summary {
    run_resumable(exp, opts, observer, None, &mut NoCheckpoint).expect("the hook never fails")
}

/// Like [`run`], but reuses the rows and paths of `prior` (a partial summary of the same
/// experiment) and hands each partial summary to `checkpoint`.
pub fn run_resumable(
    exp: &Experiment,
    opts: &RunOptions,
    observer: &dyn Observer,
    prior: Option<&Summary>,
    checkpoint: &mut dyn Checkpoint,
) -> Result<Summary, Error> {
    run_points(exp, opts, observer, prior, checkpoint, &mut |p| {
        let t0 = Clock::start();
        let out = simulate_point(exp, p, None, observer);
        Ok((out, t0.seconds()))
    })
}

/// Where the run loop gets each point's output and its seconds: a simulation, or the shards of
/// one.
pub(crate) type PointSource<'a> = dyn FnMut(&Point) -> Result<(PointOutput, f64), Error> + 'a;

/// The run loop: each point of `exp` not in `prior` gets its output (and seconds) from
/// `produce` (a simulation, or the shards of one), becomes a row, and the partial summary goes
/// to `checkpoint`; the complete summary is returned.
pub(crate) fn run_points(
    exp: &Experiment,
    opts: &RunOptions,
    observer: &dyn Observer,
    prior: Option<&Summary>,
    checkpoint: &mut dyn Checkpoint,
    produce: &mut PointSource,
) -> Result<Summary, Error> {
    let clock = Clock::start();
    let mut rows: Vec<Row> = Vec::new();
    let mut paths: Vec<PathRecord> = Vec::new();
    let prior_seconds: f64 = prior.map_or(0.0, |s| s.rows.iter().map(|r| r.seconds).sum());
    for p in exp.points() {
        if let Some(r) = prior.and_then(|s| s.rows.iter().find(|r| row_is(r, &p))) {
            rows.push(r.clone());
            paths.extend(
                prior
                    .into_iter()
                    .flat_map(|s| &s.paths)
                    .filter(|q| q.n == p.n && q.dim == p.dim && p.cell == 0)
                    .cloned(),
            );
            observer.finish_point(r);
            continue;
        }
        let (out, seconds) = produce(&p)?;
        let (row, path) = complete_point(exp, &p, &out, seconds);
        observer.finish_point(&row);
        rows.push(row);
        paths.extend(path);
        if checkpoint.wants_partials() {
            let seconds = prior_seconds + clock.seconds();
            let partial = summarize(
                exp,
                opts,
                &clock,
                (rows.clone(), paths.clone()),
                seconds,
                false,
            );
            checkpoint.save(&partial)?;
        }
    }
    let seconds = prior_seconds + clock.seconds();
    Ok(summarize(exp, opts, &clock, (rows, paths), seconds, true))
}
