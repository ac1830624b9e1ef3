//! Runs an experiment and assembles its results: one row per point, the rate fits, the claim's
//! verdict, the phase diagram and the recorded paths. The [`Summary`] is the single result object
//! that feeds the JSON, the CSV, the figures and the report.

use crate::claims::{ConstantReport, decide_constant, decide_slope, grid_term_fit};
use crate::drift::kappa_hat;
use crate::engine::{PointOutput, PointSpec, run_point};
use crate::experiment::{Against, ClaimKind, ClaimSpec, Experiment, Metric, Point};
use crate::fluctuation::{Diffusion, Fluctuation, SupBudget};
use crate::stats::{CorrectedPowerLawFit, Estimate, PowerLawFit, Verdict, fit_power_law};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Results at one point of the sweep. Field names are a public contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// n.
    pub n: u64,
    /// Dimension d.
    pub dim: usize,
    /// Exponent beta of alpha_n.
    pub beta: f64,
    /// Exponent gamma of A_n.
    pub gamma: f64,
    /// Trajectories M.
    pub trajectories: u64,
    /// Trajectories that diverged (excluded from every estimate).
    pub diverged: u64,
    /// kappa of the reference flow.
    pub kappa: f64,
    /// kappa_n = n alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n).
    pub kappa_n: f64,
    /// alpha_n.
    pub alpha_n: f64,
    /// A_n.
    pub a_n: f64,
    /// Updates in [0, T].
    pub steps: u64,
    /// E sup_t |Z^n_t - Z_t|^2.
    pub sup_sq_error: Option<Estimate>,
    /// E |Z^n_T - Z_T|^2.
    pub terminal_sq_error: Option<Estimate>,
    /// |mean theta_T - Z_T|^2 (plug-in; its noise floor is `terminal_variance / M`).
    pub terminal_bias_sq: Option<f64>,
    /// Sum over coordinates of the sample variance of theta_T.
    pub terminal_variance: Option<f64>,
    /// The realised drift constant, with a jackknife interval.
    pub kappa_hat: Option<Estimate>,
    /// The predicted limits of n E|Z^n_T - Z_T|^2 and n E sup_t |Z^n_t - Z_t|^2 (the fluctuation
    /// limit), where the scaling has one.
    #[serde(default)]
    pub fluctuation: Option<Fluctuation>,
    /// Wall-clock seconds for this point (in `provenance.json`, not in `summary.json`, so that a
    /// re-run of the same build leaves the summary byte for byte).
    #[serde(skip_serializing, default)]
    pub seconds: f64,
}

impl Row {
    /// The estimate of a metric.
    pub fn metric(&self, m: Metric) -> Option<Estimate> {
        match m {
            Metric::SupSqError => self.sup_sq_error,
            Metric::TerminalSqError => self.terminal_sq_error,
            Metric::KappaHat => self.kappa_hat,
        }
    }
}

/// A power-law fit of one metric along one series of points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The fitted quantity.
    pub metric: Metric,
    /// The variable on the x axis.
    pub against: Against,
    /// The dimension held fixed (fits against n).
    pub at_dim: Option<usize>,
    /// The n held fixed (fits against d).
    pub at_n: Option<u64>,
    /// (beta, gamma) of the series.
    pub beta: f64,
    /// See `beta`.
    pub gamma: f64,
    /// x values.
    pub x: Vec<f64>,
    /// The fit.
    #[serde(flatten)]
    pub fit: PowerLawFit,
    /// The fit y = n^s (a - b n^(-1/2)) with the sup's grid term (claims with `grid_term`).
    #[serde(default)]
    pub corrected: Option<CorrectedPowerLawFit>,
    /// Measured against predicted constants (constant claims).
    #[serde(default)]
    pub constant: Option<ConstantReport>,
    /// The claim tested on this fit.
    pub claim: Option<ClaimSpec>,
    /// Its verdict.
    pub verdict: Option<Verdict>,
}

/// One cell of the phase diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseCell {
    /// beta.
    pub beta: f64,
    /// gamma.
    pub gamma: f64,
    /// Fitted slope of E sup |Z^n - Z|^2 in n.
    pub error_slope: Option<PowerLawFit>,
    /// Fitted slope of kappa_hat in n.
    pub drift_slope: Option<PowerLawFit>,
    /// `converges`, `freezes`, `explodes` or `unclear`, from the drift slope's interval.
    pub drift_class: String,
    /// Theory: 1 - beta - 2 gamma.
    pub predicted_drift_exponent: f64,
    /// Theory: 1 - 2 beta - 4 gamma (squared martingale noise).
    pub predicted_noise_exponent: f64,
    /// Diverged trajectories over the cell's rows.
    pub diverged: u64,
}

/// Checkpointed paths at one point, for the sample-path figure (first three coordinates).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathRecord {
    /// n.
    pub n: u64,
    /// Dimension.
    pub dim: usize,
    /// Checkpoint times.
    pub times: Vec<f64>,
    /// The flow Z at those times.
    pub flow: Vec<Vec<f64>>,
    /// The mean of Z^n over non-diverged trajectories.
    pub mean: Vec<Vec<f64>>,
    /// A few individual trajectories.
    pub samples: Vec<Vec<Vec<f64>>>,
}

/// Where and how a result was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Crate version.
    pub version: String,
    /// Git commit of the build, if known (suffix `-dirty` for uncommitted changes).
    pub git_commit: Option<String>,
    /// The seed used.
    pub seed: u64,
    /// Worker threads (volatile: written to `provenance.json`, not `summary.json`).
    #[serde(skip_serializing, default)]
    pub threads: usize,
    /// Total wall-clock seconds (volatile, as `threads`).
    #[serde(skip_serializing, default)]
    pub seconds: f64,
    /// Whether the `[quick]` sizes were used.
    pub quick: bool,
    /// Seconds since the Unix epoch at the start of the run (volatile, as `threads`).
    #[serde(skip_serializing, default)]
    pub started_unix: u64,
}

/// Drift constants drawn for comparison.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftConstants {
    /// 4 alpha, the first version's (3.5).
    pub four_alpha: f64,
    /// (2/3) alpha A^2, the corrected limit.
    pub two_thirds_alpha_a2: f64,
}

/// Everything one experiment produced: the source of every file written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Experiment name.
    pub name: String,
    /// Title.
    pub title: String,
    /// `complete`, or `partial` while a run is in progress or was interrupted.
    pub status: String,
    /// See [`resume_key`].
    pub resume_key: String,
    /// The fully resolved experiment.
    pub config: serde_json::Value,
    /// Provenance.
    pub provenance: Provenance,
    /// Constants for the drift figure.
    pub drift_constants: DriftConstants,
    /// One row per point.
    pub rows: Vec<Row>,
    /// The claim's fit (or the main error fit when there is no claim).
    pub fit: Option<FitReport>,
    /// The claim's verdict: the same as `fit.verdict`, and present (as `inconclusive`) even when
    /// no fit was possible.
    pub verdict: Option<Verdict>,
    /// Every fit.
    pub fits: Vec<FitReport>,
    /// Phase-diagram cells (with a `[grid]`).
    pub phase: Vec<PhaseCell>,
    /// Recorded paths at the smallest and largest n.
    pub paths: Vec<PathRecord>,
}

impl Summary {
    /// Writes `summary.json`, `rows.csv` and the figures into `dir`; returns the files written.
    pub fn write(
        &self,
        dir: impl AsRef<std::path::Path>,
    ) -> Result<Vec<std::path::PathBuf>, crate::error::Error> {
        crate::report::write_results(self, dir.as_ref())
    }
}

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
        env!("CARGO_PKG_VERSION"),
        option_env!("STDP_FLOW_GIT_COMMIT").unwrap_or("unknown")
    );
    fnv1a(text.as_bytes())
}

/// The 64-bit FNV-1a hash of `bytes` as 16 hex digits (Fowler, Noll & Vo; the offset basis and
/// prime of the 64-bit variant).
pub fn fnv1a(bytes: &[u8]) -> String {
    format!("{:016x}", crate::rng::fnv1a64(bytes))
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
    let m = exp.sweep.trajectories;
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

/// The summary of the given rows and paths; `complete` runs the fits and the verdict.
pub fn summarize(
    exp: &Experiment,
    opts: &RunOptions,
    rows: Vec<Row>,
    paths: Vec<PathRecord>,
    seconds: f64,
    complete: bool,
) -> Summary {
    // The start: now, less the run's seconds (a merge's are the shards' summed).
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().saturating_sub(seconds.max(0.0) as u64));
    let mut s = Summary {
        name: exp.name.clone(),
        title: exp.title.clone(),
        status: if complete { "complete" } else { "partial" }.to_string(),
        resume_key: resume_key(exp),
        config: serde_json::to_value(exp).expect("serialisable"),
        provenance: Provenance {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("STDP_FLOW_GIT_COMMIT").map(str::to_string),
            seed: exp.seed,
            threads: opts.threads,
            seconds,
            quick: opts.quick,
            started_unix,
        },
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

/// Simulates every point of `exp` and assembles the summary.
pub fn run(exp: &Experiment, opts: &RunOptions, observer: &dyn Observer) -> Summary {
    run_resumable(exp, opts, observer, None, &mut |_| Ok(())).expect("the hook never fails")
}

/// Like [`run`], but reuses the rows and paths of `prior` (a partial summary of the same
/// experiment) and calls `after_point` with the partial summary after each newly completed point
/// (to write it, or to stop by returning an error).
pub fn run_resumable(
    exp: &Experiment,
    opts: &RunOptions,
    observer: &dyn Observer,
    prior: Option<&Summary>,
    after_point: &mut (dyn FnMut(&Summary) -> Result<(), crate::error::Error> + Send),
) -> Result<Summary, crate::error::Error> {
    let start = Instant::now();
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
        let t0 = Instant::now();
        let out = simulate_point(exp, &p, None, observer);
        let (row, path) = complete_point(exp, &p, &out, t0.elapsed().as_secs_f64());
        observer.finish_point(&row);
        rows.push(row);
        paths.extend(path);
        let partial = summarize(
            exp,
            opts,
            rows.clone(),
            paths.clone(),
            prior_seconds + start.elapsed().as_secs_f64(),
            false,
        );
        after_point(&partial)?;
    }
    Ok(summarize(
        exp,
        opts,
        rows,
        paths,
        prior_seconds + start.elapsed().as_secs_f64(),
        true,
    ))
}

fn series_fit(rows: &[&Row], metric: Metric, against: Against) -> Option<FitReport> {
    let first = rows.first()?;
    let mut pts: Vec<(f64, Estimate)> = rows
        .iter()
        .filter_map(|r| {
            let x = match against {
                Against::N => r.n as f64,
                Against::Dim => r.dim as f64,
            };
            r.metric(metric).map(|e| (x, e))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.1.mean).collect();
    let se: Vec<f64> = pts.iter().map(|p| p.1.std_error).collect();
    let fit = fit_power_law(&x, &y, &se)?;
    Some(FitReport {
        metric,
        against,
        at_dim: (against == Against::N).then_some(first.dim),
        at_n: (against == Against::Dim).then_some(first.n),
        beta: first.beta,
        gamma: first.gamma,
        x,
        fit,
        corrected: None,
        constant: None,
        claim: None,
        verdict: None,
    })
}

/// Classifies the realised drift from the interval of kappa_hat's slope in n.
pub fn drift_class(fit: Option<&PowerLawFit>) -> &'static str {
    const BAND: f64 = 0.05;
    match fit {
        None => "unclear",
        Some(f) if f.ci95[0] > BAND => "explodes",
        Some(f) if f.ci95[1] < -BAND => "freezes",
        Some(f) if f.ci95[0] >= -BAND && f.ci95[1] <= BAND => "converges",
        Some(_) => "unclear",
    }
}

/// The rows of the claim's series in the first cell: at the first dimension (against n) or the
/// largest n (against d), inside the declared fit range.
fn claim_series<'a>(
    exp: &Experiment,
    rows: &'a [Row],
    c: &ClaimSpec,
    cell: &crate::scaling::Scaling,
) -> Vec<&'a Row> {
    let n_max = *exp.sweep.n.last().expect("non-empty");
    let (b, g) = cell.exponents();
    rows.iter()
        .filter(|r| (r.beta == b || (b.is_nan() && r.beta.is_nan())) && r.gamma == g)
        .filter(|r| match c.against {
            Against::N => r.dim == exp.sweep.dim[0],
            Against::Dim => r.n == n_max,
        })
        .filter(|r| {
            let x = match c.against {
                Against::N => r.n as f64,
                Against::Dim => r.dim as f64,
            };
            c.fit_from.is_none_or(|a| x >= a) && c.fit_to.is_none_or(|b| x <= b)
        })
        .collect()
}

/// The claim's fit and verdict. A constant claim is decided per dimension over each dimension's
/// rows in n; its report rides on the fit of its metric against n (or d) when one exists.
fn claim_fit(
    exp: &Experiment,
    rows: &[Row],
    c: &ClaimSpec,
    cell: &crate::scaling::Scaling,
) -> (Option<FitReport>, Verdict) {
    let series = claim_series(exp, rows, c, cell);
    let mut fit = series_fit(&series, c.metric, c.against);
    let verdict = match c.kind {
        ClaimKind::Constant => {
            let (b, g) = cell.exponents();
            let by_dim: Vec<Vec<&Row>> = exp
                .sweep
                .dim
                .iter()
                .map(|&d| {
                    let mut v: Vec<&Row> = rows
                        .iter()
                        .filter(|r| r.dim == d && r.beta == b && r.gamma == g)
                        .filter(|r| {
                            let x = r.n as f64;
                            c.against == Against::Dim
                                || (c.fit_from.is_none_or(|a| x >= a)
                                    && c.fit_to.is_none_or(|b| x <= b))
                        })
                        .collect();
                    v.sort_by_key(|r| r.n);
                    v
                })
                .collect();
            let kappa_limit = cell.kappa_limit().unwrap_or(f64::NAN);
            let (report, v) = decide_constant(&by_dim, c, kappa_limit);
            if let Some(f) = &mut fit {
                f.constant = Some(report);
            }
            v
        }
        _ => match &mut fit {
            Some(f) => {
                if c.grid_term {
                    f.corrected = grid_term_fit(&series, c.metric, c.slope.unwrap_or(f64::NAN));
                }
                decide_slope(f, c, &series)
            }
            None => {
                let usable = series
                    .iter()
                    .filter(|r| r.metric(c.metric).is_some())
                    .count();
                let diverged: u64 = series.iter().map(|r| r.diverged).sum();
                Verdict {
                    kind: crate::stats::VerdictKind::Inconclusive,
                    reason: format!(
                        "no slope could be fitted: {usable} of {} points have an estimate ({diverged} trajectories diverged)",
                        series.len()
                    ),
                }
            }
        },
    };
    if let Some(f) = &mut fit {
        f.claim = Some(c.clone());
        f.verdict = Some(verdict.clone());
    }
    (fit, verdict)
}

/// Computes the fits, the claim's verdict and the phase diagram from the rows.
pub fn analyse(exp: &Experiment, s: &mut Summary) {
    let metrics = [
        Metric::SupSqError,
        Metric::TerminalSqError,
        Metric::KappaHat,
    ];
    let cells = exp.cells();
    let same_cell = |r: &Row, c: &crate::scaling::Scaling| {
        let (b, g) = c.exponents();
        (r.beta == b || (b.is_nan() && r.beta.is_nan())) && r.gamma == g
    };
    let mut fits = Vec::new();
    for c in &cells {
        for &d in &exp.sweep.dim {
            let series: Vec<&Row> = s
                .rows
                .iter()
                .filter(|r| r.dim == d && same_cell(r, c))
                .collect();
            for m in metrics {
                fits.extend(series_fit(&series, m, Against::N));
            }
        }
        if exp.sweep.dim_sweep {
            for &n in &exp.sweep.n {
                let series: Vec<&Row> = s
                    .rows
                    .iter()
                    .filter(|r| r.n == n && same_cell(r, c))
                    .collect();
                for m in metrics {
                    fits.extend(series_fit(&series, m, Against::Dim));
                }
            }
        }
    }
    let (b0, g0) = cells[0].exponents();
    let claimed = exp
        .claim
        .as_ref()
        .map(|c| claim_fit(exp, &s.rows, c, &cells[0]));
    let main = match &claimed {
        Some((f, _)) => f.clone(),
        None => fits
            .iter()
            .find(|f| {
                f.metric == Metric::SupSqError
                    && f.against == Against::N
                    && f.beta == b0
                    && f.gamma == g0
            })
            .cloned(),
    };
    if let Some(m) = &main
        && m.claim.is_some()
    {
        let same = |f: &FitReport| {
            f.metric == m.metric
                && f.against == m.against
                && f.at_dim == m.at_dim
                && f.at_n == m.at_n
                && f.beta == m.beta
                && f.gamma == m.gamma
                && f.x == m.x
        };
        match fits.iter().position(same) {
            Some(i) => fits[i] = m.clone(),
            None => fits.push(m.clone()),
        }
    }
    s.verdict = claimed.map(|(_, v)| v);
    s.fit = main;
    if exp.grid.is_some() {
        s.phase = cells
            .iter()
            .map(|c| {
                let (beta, gamma) = c.exponents();
                let find = |m: Metric| {
                    fits.iter()
                        .find(|f| {
                            f.metric == m
                                && f.against == Against::N
                                && f.beta == beta
                                && f.gamma == gamma
                        })
                        .map(|f| f.fit.clone())
                };
                let drift = find(Metric::KappaHat);
                PhaseCell {
                    beta,
                    gamma,
                    error_slope: find(Metric::SupSqError),
                    drift_class: drift_class(drift.as_ref()).to_string(),
                    drift_slope: drift,
                    predicted_drift_exponent: 1.0 - beta - 2.0 * gamma,
                    predicted_noise_exponent: 1.0 - 2.0 * beta - 4.0 * gamma,
                    diverged: s
                        .rows
                        .iter()
                        .filter(|r| same_cell(r, c))
                        .map(|r| r.diverged)
                        .sum(),
                }
            })
            .collect();
    }
    s.fits = fits;
}
