//! The analysis of a run's rows: the rate fits along each series, the claim's fit and verdict
//! (decided by [`crate::claims`]), the realised drift's class and the phase diagram.

use crate::claims::{Against, ClaimKind, ClaimSpec, Metric};
use crate::claims::{decide_constant, decide_slope, grid_term_fit};
use crate::experiment::Experiment;
use crate::results::{DriftClass, FitReport, PhaseCell, Row, Summary};
use crate::scaling::Scaling;
use crate::stats::{Estimate, PowerLawFit, Verdict, fit_power_law};

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
pub fn drift_class(fit: Option<&PowerLawFit>) -> DriftClass {
    const BAND: f64 = 0.05;
    match fit {
        None => DriftClass::Unclear,
        Some(f) if f.ci95[0] > BAND => DriftClass::Explodes,
        Some(f) if f.ci95[1] < -BAND => DriftClass::Freezes,
        Some(f) if f.ci95[0] >= -BAND && f.ci95[1] <= BAND => DriftClass::Converges,
        Some(_) => DriftClass::Unclear,
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
            c.in_fit_range(x)
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
            // The fit range applies to d for a claim against d (every n of those dimensions
            // enters), otherwise to n.
            let by_dim: Vec<Vec<&Row>> = exp
                .sweep
                .dim
                .iter()
                .filter(|&&d| c.against == Against::N || c.in_fit_range(d as f64))
                .map(|&d| {
                    let mut v: Vec<&Row> = rows
                        .iter()
                        .filter(|r| r.dim == d && r.beta == b && r.gamma == g)
                        .filter(|r| c.against == Against::Dim || c.in_fit_range(r.n as f64))
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
    let cells = exp.cells();
    let mut fits = rate_fits(exp, &s.rows, &cells);
    let claimed = exp
        .claim
        .as_ref()
        .map(|c| claim_fit(exp, &s.rows, c, &cells[0]));
    let main = match &claimed {
        Some((f, _)) => f.clone(),
        None => {
            let (b0, g0) = cells[0].exponents();
            fits.iter()
                .find(|f| {
                    f.metric == Metric::SupSqError
                        && f.against == Against::N
                        && f.beta == b0
                        && f.gamma == g0
                })
                .cloned()
        }
    };
    if let Some(m) = &main
        && m.claim.is_some()
    {
        // The claim's fit replaces the plain fit of the same series.
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
            .map(|c| phase_cell(c, &fits, &s.rows))
            .collect();
    }
    s.fits = fits;
}

/// Whether `r` belongs to the cell of scaling `c`.
fn same_cell(r: &Row, c: &Scaling) -> bool {
    let (b, g) = c.exponents();
    (r.beta == b || (b.is_nan() && r.beta.is_nan())) && r.gamma == g
}

/// The fit of every metric along every series: against n at each dimension, and against d at
/// each n in a dimension sweep, in every cell.
fn rate_fits(exp: &Experiment, rows: &[Row], cells: &[Scaling]) -> Vec<FitReport> {
    let metrics = [
        Metric::SupSqError,
        Metric::TerminalSqError,
        Metric::KappaHat,
    ];
    let mut fits = Vec::new();
    for c in cells {
        for &d in &exp.sweep.dim {
            let series: Vec<&Row> = rows
                .iter()
                .filter(|r| r.dim == d && same_cell(r, c))
                .collect();
            for m in metrics {
                fits.extend(series_fit(&series, m, Against::N));
            }
        }
        if exp.sweep.dim_sweep {
            for &n in &exp.sweep.n {
                let series: Vec<&Row> = rows
                    .iter()
                    .filter(|r| r.n == n && same_cell(r, c))
                    .collect();
                for m in metrics {
                    fits.extend(series_fit(&series, m, Against::Dim));
                }
            }
        }
    }
    fits
}

/// One cell of the phase diagram: its error and drift slopes, the drift's class and the
/// predicted exponents.
fn phase_cell(c: &Scaling, fits: &[FitReport], rows: &[Row]) -> PhaseCell {
    let (beta, gamma) = c.exponents();
    let find = |m: Metric| {
        fits.iter()
            .find(|f| {
                f.metric == m && f.against == Against::N && f.beta == beta && f.gamma == gamma
            })
            .map(|f| f.fit.clone())
    };
    let drift = find(Metric::KappaHat);
    PhaseCell {
        beta,
        gamma,
        error_slope: find(Metric::SupSqError),
        drift_class: drift_class(drift.as_ref()),
        drift_slope: drift,
        predicted_drift_exponent: 1.0 - beta - 2.0 * gamma,
        predicted_noise_exponent: 1.0 - 2.0 * beta - 4.0 * gamma,
        diverged: rows
            .iter()
            .filter(|r| same_cell(r, c))
            .map(|r| r.diverged)
            .sum(),
    }
}
