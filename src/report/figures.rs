//! The figures of a [`Summary`], one file per family, drawn with the toolkit of `report::plot`
//! (embedded DejaVu Sans, PNG and SVG). Each figure carries its own title, axis labels and
//! legend, so it can be read without the report around it. This file holds what the families
//! share: picking the main cell, rows and fit, and the captions of fits and claims.

mod constant;
mod error_vs_dim;
mod error_vs_n;
mod kappa;
mod paths;
mod phase;
#[cfg(test)]
mod tests;

use super::format::{short, slope_text, tick};
use super::plot::{self, Band, Curve, Dash, Draw, Points, Pt, bounds, draw_each, formula, wedge};
use crate::claims::{ClaimKind, Metric};
use crate::error::Error;
use crate::results::{FitReport, Row, Summary};
use plotters::style::{Color, RGBColor};
use std::path::Path;

/// Writes every figure that the summary has data for into `dir`, each as `<stem>.png` and
/// `<stem>.svg`; returns the stems written, in order.
pub fn draw_all(summary: &Summary, dir: &Path) -> Result<Vec<String>, Error> {
    draw_each(
        summary,
        dir,
        &[
            ("error_vs_n", error_vs_n::error_vs_n as Draw<Summary>),
            ("paths", paths::paths),
            ("kappa_vs_n", kappa::kappa_vs_n),
            ("error_vs_dim", error_vs_dim::error_vs_dim),
            ("phase", phase::phase),
            ("bias_variance", error_vs_n::bias_variance),
            ("constant_vs_n", constant::constant_vs_n),
        ],
    )
}

/// "name: title" of the experiment.
fn experiment_line(s: &Summary) -> String {
    plot::experiment_line(&s.name, &s.title)
}

/// "β = 0, γ = 0.5".
fn cell_text(beta: f64, gamma: f64) -> String {
    format!("β = {}, γ = {}", short(beta), short(gamma))
}

/// The first note of a figure on one cell: "name: title (β = 0, γ = 0.5)".
fn cell_note(s: &Summary, cell: (f64, f64)) -> String {
    format!("{} ({})", experiment_line(s), cell_text(cell.0, cell.1))
}

/// The metric as written on an axis.
fn metric_label(m: Metric) -> &'static str {
    match m {
        Metric::SupSqError => "E supₜ |Zⁿₜ − Zₜ|²",
        Metric::TerminalSqError => "E |Zⁿ(T) − Z(T)|²",
        Metric::KappaHat => "realised drift constant",
    }
}

/// "fitted slope -0.98 [-1.02, -0.95] → holds (claimed -1 ± 0.15)".
fn fit_caption(f: &FitReport) -> String {
    let mut s = match (&f.claim, &f.constant, &f.corrected) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => super::markdown::result_text(f),
        _ => format!("fitted slope {}", slope_text(&f.fit)),
    };
    if let Some(v) = &f.verdict {
        s += &format!(" → {}", v.kind);
    }
    if let Some(c) = &f.claim {
        s += &format!(" (claimed {})", super::markdown::claim_text(c));
    }
    s
}

/// The fitted line (or corrected curve) over the fit's x range.
fn fit_curve(f: &FitReport, color: RGBColor, label: String) -> Option<Curve> {
    let (x0, x1) = bounds(f.x.iter().copied().filter(|v| *v > 0.0))?;
    let pts = match &f.corrected {
        Some(c) => (0..=40)
            .map(|i| {
                let x = x0 * (x1 / x0).powf(f64::from(i) / 40.0);
                (x, c.predict(x))
            })
            .collect(),
        None => vec![(x0, f.fit.predict(x0)), (x1, f.fit.predict(x1))],
    };
    let label = if f.corrected.is_some() {
        label.replace(
            "power-law fit",
            &format!("fit {}", formula("n^s (a - b n^(-1/2))")),
        )
    } else {
        label
    };
    Some(Curve {
        label: Some(label),
        pts,
        color: color.to_rgba(),
        width: 3,
        dash: Dash::Solid,
        in_range: false,
    })
}

/// ", over a ≤ x ≤ b" when the fit used only part of the series' points.
fn fit_range(f: &FitReport, series: Option<&Points>, x: &str) -> String {
    match (bounds(f.x.iter().copied()), series) {
        (Some((a, b)), Some(s)) if f.x.len() < s.pts.len() => {
            format!(
                ", over {}",
                formula(&format!("{} ≤ {x} ≤ {}", tick(a), tick(b)))
            )
        }
        _ => String::new(),
    }
}

/// The wedge of a slope claim, through the fit at the geometric middle of its x range.
fn claim_band(f: &FitReport) -> Option<Band> {
    let c = f.claim.as_ref().filter(|c| c.kind == ClaimKind::Slope)?;
    let slope = c.slope?;
    let (x0, x1) = bounds(f.x.iter().copied().filter(|v| *v > 0.0))?;
    let xg = (x0 * x1).sqrt();
    let anchor = (xg, f.fit.predict(xg));
    if !(anchor.1 > 0.0 && anchor.1.is_finite() && c.tolerance >= 0.0) {
        return None;
    }
    Some(Band {
        label: format!(
            "claimed slope {} through the fit at the middle",
            formula(&format!("{} ± {}", short(slope), short(c.tolerance)))
        ),
        polygons: wedge(anchor, slope, c.tolerance, x0, x1),
        color: RGBColor(44, 160, 44).mix(0.18),
    })
}

/// Equal, NaN included.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The (beta, gamma) of the main series: the main fit's, else the first row's.
fn main_cell(s: &Summary) -> Option<(f64, f64)> {
    s.fit
        .as_ref()
        .map(|f| (f.beta, f.gamma))
        .or_else(|| s.rows.first().map(|r| (r.beta, r.gamma)))
}

/// The rows of one (beta, gamma) cell.
fn cell_rows(s: &Summary, cell: (f64, f64)) -> Vec<&Row> {
    s.rows
        .iter()
        .filter(|r| same(r.beta, cell.0) && same(r.gamma, cell.1))
        .collect()
}

/// The distinct values, sorted.
fn distinct<T: PartialOrd + Copy>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = values.collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.dedup_by(|a, b| a == b);
    v
}

/// A point for the estimate of `m` at `x`, if it can go on a log axis.
fn estimate_point(r: &Row, m: Metric, x: f64) -> Option<Pt> {
    let e = r.metric(m)?;
    (e.mean > 0.0 && e.mean.is_finite() && x > 0.0).then_some(Pt {
        x,
        y: e.mean,
        ci: Some(e.ci95),
    })
}

/// The points in increasing x.
fn sorted(mut pts: Vec<Pt>) -> Vec<Pt> {
    pts.sort_by(|a, b| a.x.total_cmp(&b.x));
    pts
}

/// Whether the metric is a squared error (not the drift constant).
fn is_error(m: Metric) -> bool {
    matches!(m, Metric::SupSqError | Metric::TerminalSqError)
}
