//! The realised drift constant against n (`kappa_vs_n`), with the exact kappa_n, the constants
//! of the first and the corrected version, and a reference n^(1/3).

use super::{cell_note, cell_rows, distinct, estimate_point, fit_caption, main_cell, same, sorted};
use crate::analysis::{DriftConstants, FitReport, Row, Summary, drift_class};
use crate::error::Error;
use crate::experiment::{Against, Metric};
use crate::report::format::{short, slope_text};
use crate::report::plot::{
    Curve, Dash, LogLog, P, PALETTE, Points, SHAPES, bounds, power_line, write,
};
use plotters::style::{BLACK, Color, RGBColor};
use std::path::Path;

/// `kappa_vs_n`: the realised drift constant against n (log-log) with the exact kappa_n, the
/// constants 4 alpha and (2/3) alpha A^2 and a reference n^(1/3). Returns `false` when no row has
/// a realised drift constant.
pub(super) fn kappa_vs_n(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(kappa_vs_n_figure(summary), dir, "kappa_vs_n")
}

/// The drift-constant fit against n at the cell and dimension: the main fit if it is one.
fn kappa_fit(s: &Summary, cell: (f64, f64), dim: usize) -> Option<&FitReport> {
    s.fit
        .as_ref()
        .filter(|f| f.metric == Metric::KappaHat && f.against == Against::N)
        .or_else(|| {
            s.fits.iter().find(|f| {
                f.metric == Metric::KappaHat
                    && f.against == Against::N
                    && f.at_dim == Some(dim)
                    && same(f.beta, cell.0)
                    && same(f.gamma, cell.1)
            })
        })
}

/// "Realised drift constant grows with n: slope 0.33 [0.31, 0.35]".
fn kappa_title(fit: Option<&FitReport>) -> String {
    let trend = match fit.map(|f| drift_class(Some(&f.fit))) {
        Some("explodes") => "grows with n",
        Some("converges") => "levels off",
        Some("freezes") => "shrinks with n",
        Some(_) => "has no clear trend",
        None => "against n",
    };
    match fit {
        Some(f) => format!(
            "Realised drift constant {trend}: slope {}",
            slope_text(&f.fit)
        ),
        None => format!("Realised drift constant {trend}"),
    }
}

fn kappa_vs_n_figure(s: &Summary) -> Option<LogLog> {
    let cell = main_cell(s)?;
    let rows = cell_rows(s, cell);
    let dims = distinct(rows.iter().filter(|r| r.kappa_hat.is_some()).map(|r| r.dim));
    let main_dim = dims.first().copied()?;
    let fit = kappa_fit(s, cell, main_dim);
    let mut notes = vec![cell_note(s, cell)];
    notes.extend(fit.filter(|f| f.verdict.is_some()).map(fit_caption));
    let mut fig = LogLog::new(
        kappa_title(fit),
        notes,
        "n (steps per unit time)",
        "realised drift constant (mean, 95% jackknife CI)",
    );
    fig.points = realised_series(&rows, &dims);
    add_exact(&mut fig, &rows, main_dim);
    add_constants(&mut fig, &s.drift_constants);
    add_cube_root(&mut fig);
    fig.finish()
}

/// The realised drift constant against n, one series per dimension.
fn realised_series(rows: &[&Row], dims: &[usize]) -> Vec<Points> {
    dims.iter()
        .enumerate()
        .map(|(i, &d)| Points {
            label: if dims.len() > 1 {
                format!("realised, d = {d}")
            } else {
                "realised drift constant".to_string()
            },
            color: PALETTE[i % 8],
            shape: SHAPES[i % 5],
            pts: sorted(
                rows.iter()
                    .filter(|r| r.dim == d)
                    .filter_map(|r| estimate_point(r, Metric::KappaHat, r.n as f64))
                    .collect(),
            ),
            connect: false,
        })
        .collect()
}

/// The exact kappa_n at the main dimension, as a line through the n of the rows.
fn add_exact(fig: &mut LogLog, rows: &[&Row], dim: usize) {
    let mut exact: Vec<P> = rows
        .iter()
        .filter(|r| r.dim == dim && r.kappa_n > 0.0 && r.kappa_n.is_finite())
        .map(|r| (r.n as f64, r.kappa_n))
        .collect();
    exact.sort_by(|a, b| a.0.total_cmp(&b.0));
    exact.dedup_by(|a, b| a.0 == b.0);
    if exact.len() >= 2 {
        fig.curves.push(Curve {
            label: Some("exact κₙ = n αₙ (2 cosh Aₙ − 2 sinh(Aₙ)/Aₙ)".into()),
            pts: exact,
            color: BLACK.to_rgba(),
            width: 2,
            dash: Dash::Solid,
            in_range: true,
        });
    }
}

/// The first version's 4 alpha and the corrected limit (2/3) alpha A^2 as horizontal lines.
fn add_constants(fig: &mut LogLog, dc: &DriftConstants) {
    let x_any = fig.points.iter().flat_map(|p| p.pts.iter().map(|q| q.x));
    let span = bounds(x_any.filter(|v| *v > 0.0)).map(|(a, b)| (a / 100.0, b * 100.0));
    for (v, label, color) in [
        (
            dc.four_alpha,
            format!("4α = {} (first version, 3.5)", short(dc.four_alpha)),
            RGBColor(214, 39, 40),
        ),
        (
            dc.two_thirds_alpha_a2,
            format!(
                "(2/3)αA² = {} (corrected limit)",
                short(dc.two_thirds_alpha_a2)
            ),
            RGBColor(31, 119, 180),
        ),
    ] {
        if let (true, Some((a, b))) = (v > 0.0 && v.is_finite(), span) {
            fig.curves.push(Curve {
                label: Some(label),
                pts: vec![(a, v), (b, v)],
                color: color.mix(0.8),
                width: 2,
                dash: Dash::Dashed,
                in_range: true,
            });
        }
    }
}

/// A reference n^(1/3) through the first realised value, to its series' last n.
fn add_cube_root(fig: &mut LogLog) {
    let series = fig.points.first();
    let first = series.and_then(|p| p.pts.first()).map(|p| (p.x, p.y));
    let last_x = series.and_then(|p| p.pts.last()).map(|p| p.x);
    if let (Some(a), Some(x1)) = (first, last_x) {
        fig.curves.push(Curve {
            label: Some("∝ n^(1/3) through the first realised value (reference)".into()),
            pts: power_line(a, 1.0 / 3.0, a.0, x1),
            color: RGBColor(120, 120, 120).to_rgba(),
            width: 2,
            dash: Dash::Dashed,
            in_range: false,
        });
    }
}
