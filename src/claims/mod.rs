//! The verdict of a convergence experiment's claim from its rows: slope claims (with the sup's
//! grid term modelled where declared), upper-bound claims, and constant claims against the
//! fluctuation limit (docs/model.md sections 5 and 6). The claim types ([`ClaimSpec`],
//! [`Metric`], ...) live in `claims/spec.rs`.

pub(crate) mod spec;

pub use spec::{
    Against, ClaimKind, ClaimSpec, FINITE_N_POINTS, GRID_TERM_POINTS, Metric, SLOPE_POINTS,
};

use crate::results::{ConstantPoint, ConstantReport, FitReport, Row};
use crate::stats::{
    AffineFit, CORRECTED_SLOPE_RANGE, Claim, CorrectedPowerLawFit, Estimate, Verdict, VerdictKind,
    decide, decide_interval, fit_affine, fit_power_law_corrected_within, normal_quantile,
};

/// Exponent of the grid maximum's approach to the supremum: n E S_n = a - b n^(-1/2) + ...
pub const GRID_EXPONENT: f64 = -0.5;

/// What is wrong with the data behind a claim, if anything: it caps the verdict at
/// `inconclusive` unless the data already show `fails`.
fn contamination(series: &[&Row], metric: Metric, need: usize) -> Option<String> {
    let diverged: u64 = series.iter().map(|r| r.diverged).sum();
    let missing = series.iter().filter(|r| r.metric(metric).is_none()).count();
    let usable = series.len() - missing;
    if diverged > 0 {
        Some(format!("{diverged} trajectories diverged"))
    } else if usable < need {
        Some(format!(
            "only {usable} points have an estimate of {}; this claim needs {need}",
            metric.key()
        ))
    } else if missing > 0 {
        Some(format!(
            "{missing} of {} points have no estimate of {}",
            series.len(),
            metric.key()
        ))
    } else {
        None
    }
}

/// The slope interval a slope or bound claim rests on, and a prefix for the verdict's reason:
/// the grid-term fit where declared, else the power-law fit; where that model is rejected
/// (chi-square p-value below [`crate::stats::POWER_LAW_REJECTED_P`]), the pairwise slope between
/// the two largest x.
fn slope_interval(f: &FitReport) -> ([f64; 2], String) {
    let (ci, p, rejected, what) = match &f.corrected {
        Some(c) => (
            c.ci95,
            c.chi2_p_value,
            c.chi2_p_value < crate::stats::POWER_LAW_REJECTED_P,
            "n^s (a - b n^(-1/2))",
        ),
        None => (
            f.fit.ci95,
            f.fit.chi2_p_value,
            f.fit.power_law_rejected(),
            "a power law",
        ),
    };
    match f.fit.pairwise_slopes.last() {
        Some(last) if rejected => (
            last.ci95,
            format!(
                "not {what} (chi-square {}); at the largest x, from {} to {}: ",
                p_text(p),
                last.from,
                last.to
            ),
        ),
        _ => (ci, String::new()),
    }
}

/// A p-value for a reason: "p = 3.2e-7", or "p < 1e-300" where it underflows.
pub fn p_text(p: f64) -> String {
    if p > 0.0 {
        format!("p = {p:.1e}")
    } else {
        "p < 1e-300".into()
    }
}

/// Decides a slope or bound claim on its fit.
pub fn decide_slope(f: &FitReport, c: &ClaimSpec, series: &[&Row]) -> Verdict {
    let need = if c.grid_term {
        GRID_TERM_POINTS
    } else {
        SLOPE_POINTS
    };
    let why = contamination(series, c.metric, need);
    let (ci, prefix) = slope_interval(f);
    let slope = c.slope.unwrap_or(f64::NAN);
    let mut v = match c.kind {
        ClaimKind::Bound => decide_interval(
            ci,
            [f64::NEG_INFINITY, slope + c.tolerance],
            "slope interval",
            why.as_deref(),
        ),
        _ => decide(
            ci,
            &Claim {
                slope,
                tolerance: c.tolerance,
                decay: c.decay,
            },
            why.as_deref(),
        ),
    };
    v.reason = format!("{prefix}{}", v.reason);
    v
}

/// measured / predicted with a 95% interval: relative errors added in quadrature, and the
/// measured value's own interval quantile (Student's t where it has one).
fn ratio(measured: &Estimate, predicted: f64, predicted_se: f64) -> Estimate {
    let r = measured.mean / predicted;
    let rel = (measured.std_error / measured.mean).powi(2) + (predicted_se / predicted).powi(2);
    let se = r.abs() * rel.sqrt();
    let q = if measured.std_error > 0.0 {
        (measured.ci95[1] - measured.mean) / measured.std_error
    } else {
        normal_quantile(0.975)
    };
    Estimate {
        mean: r,
        std_error: se,
        ci95: [r - q * se, r + q * se],
    }
}

/// n times an estimate.
fn scaled(e: &Estimate, n: u64) -> Estimate {
    let k = n as f64;
    Estimate {
        mean: k * e.mean,
        std_error: k * e.std_error,
        ci95: [k * e.ci95[0], k * e.ci95[1]],
    }
}

/// The measured value, its n, the prediction (with its standard error) and the finite-n fit at
/// one dimension; `Err` says why there is none.
type Measured = (Estimate, Option<u64>, f64, f64, Option<AffineFit>);

fn measure(series: &[&Row], c: &ClaimSpec, kappa_limit: f64) -> Result<Measured, String> {
    let last = series.last().ok_or("no points")?;
    let pred = |r: &Row| r.fluctuation.ok_or("the scaling has no fluctuation limit");
    match c.metric {
        Metric::KappaHat => {
            let e = last.kappa_hat.ok_or("kappa_hat could not be estimated")?;
            Ok((e, Some(last.n), kappa_limit, 0.0, None))
        }
        Metric::TerminalSqError => {
            let e = last
                .terminal_sq_error
                .ok_or("no estimate of the terminal error")?;
            Ok((
                scaled(&e, last.n),
                Some(last.n),
                pred(last)?.terminal_sq,
                0.0,
                None,
            ))
        }
        Metric::SupSqError => {
            let p = pred(last)?
                .sup_sq
                .ok_or("no prediction of the sup (dimension above the simulation budget)")?;
            let pts: Vec<(f64, Estimate)> = series
                .iter()
                .filter_map(|r| r.sup_sq_error.map(|e| (r.n as f64, scaled(&e, r.n))))
                .collect();
            let w: Vec<f64> = pts.iter().map(|p| p.0.powf(GRID_EXPONENT)).collect();
            let y: Vec<f64> = pts.iter().map(|p| p.1.mean).collect();
            let se: Vec<f64> = pts.iter().map(|p| p.1.std_error).collect();
            let fit = fit_affine(&w, &y, &se).ok_or("too few points for the finite-n fit")?;
            if fit.chi2_p_value < crate::stats::POWER_LAW_REJECTED_P {
                // The finite-n form does not describe the points: compare at the largest n only.
                let e = pts.last().map(|p| p.1).ok_or("no estimate of the sup")?;
                return Ok((e, Some(last.n), p.mean, p.std_error, Some(fit)));
            }
            Ok((fit.intercept, None, p.mean, p.std_error, Some(fit)))
        }
    }
}

/// Decides a constant claim at one dimension.
fn constant_at(series: &[&Row], c: &ClaimSpec, kappa_limit: f64) -> Option<ConstantPoint> {
    let dim = series.first()?.dim;
    let band = [1.0 - c.tolerance, 1.0 + c.tolerance];
    let need = if c.metric == Metric::SupSqError {
        FINITE_N_POINTS
    } else {
        1
    };
    let why = contamination(series, c.metric, need);
    let inconclusive = |reason: String| Verdict {
        kind: VerdictKind::Inconclusive,
        reason,
    };
    let (measured, n, predicted, predicted_std_error, finite_n_fit) =
        match measure(series, c, kappa_limit) {
            Ok(m) => m,
            Err(e) => {
                let nan = Estimate {
                    mean: f64::NAN,
                    std_error: f64::NAN,
                    ci95: [f64::NAN; 2],
                };
                return Some(ConstantPoint {
                    dim,
                    n: None,
                    measured: nan,
                    predicted: f64::NAN,
                    predicted_std_error: f64::NAN,
                    ratio: nan,
                    finite_n_fit: None,
                    verdict: inconclusive(format!("d = {dim}: {e}")),
                });
            }
        };
    let r = ratio(&measured, predicted, predicted_std_error);
    let rejected = finite_n_fit
        .as_ref()
        .filter(|f| f.chi2_p_value < crate::stats::POWER_LAW_REJECTED_P)
        .map(|f| format!("the finite-n form a - b n^(-1/2) is rejected (chi-square {}), so only the largest n is compared", p_text(f.chi2_p_value)));
    let cap = match (&why, &rejected) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(b)) => Some(b.clone()),
        _ => None,
    };
    let mut verdict = decide_interval(r.ci95, band, "measured / predicted", cap.as_deref());
    verdict.reason = format!("d = {dim}: {}", verdict.reason);
    Some(ConstantPoint {
        dim,
        n,
        measured,
        predicted,
        predicted_std_error,
        ratio: r,
        finite_n_fit,
        verdict,
    })
}

/// Decides a constant claim over every dimension: `fails` if one dimension fails, `holds` if all
/// hold, `inconclusive` otherwise. `by_dim` holds each dimension's rows in increasing n.
pub fn decide_constant(
    by_dim: &[Vec<&Row>],
    c: &ClaimSpec,
    kappa_limit: f64,
) -> (ConstantReport, Verdict) {
    let points: Vec<ConstantPoint> = by_dim
        .iter()
        .filter_map(|s| constant_at(s, c, kappa_limit))
        .collect();
    let pick = |k: VerdictKind| points.iter().filter(move |p| p.verdict.kind == k);
    let verdict = if let Some(p) = pick(VerdictKind::Fails).next() {
        p.verdict.clone()
    } else if let Some(p) = pick(VerdictKind::Inconclusive).next() {
        p.verdict.clone()
    } else if points.is_empty() {
        Verdict {
            kind: VerdictKind::Inconclusive,
            reason: "no point to compare".into(),
        }
    } else {
        let worst = points
            .iter()
            .max_by(|a, b| {
                let dev = |p: &ConstantPoint| {
                    (p.ratio.ci95[0] - 1.0)
                        .abs()
                        .max((p.ratio.ci95[1] - 1.0).abs())
                };
                dev(a).total_cmp(&dev(b))
            })
            .expect("non-empty");
        Verdict {
            kind: VerdictKind::Holds,
            reason: if points.len() == 1 {
                worst.verdict.reason.clone()
            } else {
                format!(
                    "holds at all {} dimensions; the widest: {}",
                    points.len(),
                    worst.verdict.reason
                )
            },
        }
    };
    (
        ConstantReport {
            metric: c.metric,
            points,
        },
        verdict,
    )
}

/// The grid-term fit y = n^s (a + b n^(-1/2)) of a series, for slope and bound claims that
/// declare it. The model is not identified on its own: a pure power law n^r is fitted exactly
/// both by s = r (b = 0) and by s = r + 1/2 (a = 0). The search for s therefore ends halfway
/// between the two, at the claimed slope + 1/4; a true exponent beyond that shows as a minimum at
/// the edge and an open interval, which cannot support `holds`.
pub fn grid_term_fit(
    series: &[&Row],
    metric: Metric,
    claimed: f64,
) -> Option<CorrectedPowerLawFit> {
    let mut pts: Vec<(f64, Estimate)> = series
        .iter()
        .filter_map(|r| r.metric(metric).map(|e| (r.n as f64, e)))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.1.mean).collect();
    let se: Vec<f64> = pts.iter().map(|p| p.1.std_error).collect();
    let range = [CORRECTED_SLOPE_RANGE[0], claimed - GRID_EXPONENT / 2.0];
    fit_power_law_corrected_within(&x, &y, &se, GRID_EXPONENT, range)
}
