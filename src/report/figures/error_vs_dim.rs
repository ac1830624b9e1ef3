//! The squared error against the dimension (`error_vs_dim`), one series per n.

use super::{
    cell_note, cell_rows, claim_band, distinct, estimate_point, fit_caption, fit_curve, fit_range,
    is_error, main_cell, metric_label, sorted,
};
use crate::claims::{Against, Metric};
use crate::error::Error;
use crate::report::plot::{
    Curve, Dash, LogLog, PALETTE, Points, SHAPES, formula, power_line, write,
};
use crate::results::{Row, Summary};
use plotters::style::{Color, RGBColor};
use std::path::Path;

/// `error_vs_dim`: the squared error against the dimension (log-log), one series per n, with the
/// fit against d and a reference slope +1. Returns `false` unless the rows span several dimensions.
pub(super) fn error_vs_dim(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(error_vs_dim_figure(summary), dir, "error_vs_dim")
}

fn error_vs_dim_figure(s: &Summary) -> Option<LogLog> {
    let fit = s
        .fit
        .as_ref()
        .filter(|f| f.against == Against::Dim && is_error(f.metric));
    let metric = fit.map_or(Metric::SupSqError, |f| f.metric);
    let cell = main_cell(s)?;
    let rows = cell_rows(s, cell);
    let with = |r: &&&Row| r.metric(metric).is_some();
    if distinct(rows.iter().filter(with).map(|r| r.dim)).len() < 2 {
        return None;
    }
    let ns = distinct(rows.iter().filter(with).map(|r| r.n));
    let main_n = fit
        .and_then(|f| f.at_n)
        .filter(|n| ns.contains(n))
        .or(ns.last().copied())?;
    let mut notes = vec![cell_note(s, cell)];
    notes.extend(fit.map(fit_caption));
    let mut fig = LogLog::new(
        format!(
            "Squared error {} against the dimension d",
            metric_label(metric)
        ),
        notes,
        "dimension d",
        &format!("{}  (mean, 95% CI)", metric_label(metric)),
    );
    fig.points = n_series(&rows, &ns, metric);
    let main = ns.iter().position(|&n| n == main_n).unwrap_or(0);
    if let Some(f) = fit {
        let label = format!(
            "power-law fit, {}{}",
            formula(&format!("n = {main_n}")),
            fit_range(f, fig.points.get(main), "d")
        );
        fig.curves.extend(fit_curve(f, PALETTE[main % 8], label));
        fig.bands.extend(claim_band(f));
    }
    add_linear_reference(&mut fig, main, main_n);
    fig.finish()
}

/// One series of the error against d per n.
fn n_series(rows: &[&Row], ns: &[u64], metric: Metric) -> Vec<Points> {
    ns.iter()
        .enumerate()
        .map(|(i, &n)| Points {
            label: format!("n = {n}"),
            color: PALETTE[i % 8],
            shape: SHAPES[i % 5],
            pts: sorted(
                rows.iter()
                    .filter(|r| r.n == n)
                    .filter_map(|r| estimate_point(r, metric, r.dim as f64))
                    .collect(),
            ),
            connect: true,
        })
        .collect()
}

/// A reference slope +1 through the first point of the main series, to its last d.
fn add_linear_reference(fig: &mut LogLog, main: usize, main_n: u64) {
    let series = fig.points.get(main);
    if let (Some(a), Some(x1)) = (
        series.and_then(|p| p.pts.first()),
        series.and_then(|p| p.pts.last()),
    ) {
        fig.curves.push(Curve {
            label: Some(format!(
                "slope +1 (reference, from {})",
                formula(&format!("n = {main_n}"))
            )),
            pts: power_line((a.x, a.y), 1.0, a.x, x1.x),
            color: RGBColor(60, 60, 60).to_rgba(),
            width: 2,
            dash: Dash::Dashed,
            in_range: false,
        });
    }
}
