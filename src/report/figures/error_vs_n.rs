//! The squared error against n (`error_vs_n`) and its split into bias² and variance
//! (`bias_variance`).

use super::{
    cell_note, cell_rows, cell_text, claim_band, distinct, estimate_point, experiment_line,
    fit_caption, fit_curve, fit_range, is_error, main_cell, metric_label, sorted,
};
use crate::claims::{Against, Metric};
use crate::error::Error;
use crate::report::plot::{
    Curve, Dash, LogLog, P, PALETTE, Points, Pt, SHAPES, Shape, formula, power_line, write,
};
use crate::results::{FitReport, Row, Summary};
use plotters::style::{Color, RGBColor};
use std::path::Path;

/// `error_vs_n`: the squared error of the main fit against n (log-log) per dimension, with 95%
/// intervals, the fitted line, reference slopes -1 and -1/3 and the claimed band. Returns `false`
/// when no row has the error.
pub(super) fn error_vs_n(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(error_vs_n_figure(summary), dir, "error_vs_n")
}

/// `bias_variance`: the terminal bias^2 and variance against n (log-log) at the first dimension
/// and cell, with the noise floor variance / M of the plug-in bias^2. Returns `false` when the
/// rows have neither.
pub(super) fn bias_variance(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(bias_variance_figure(summary), dir, "bias_variance")
}

/// The error fit against n: the main fit if it is one, else the first sup fit against n.
fn error_fit(s: &Summary) -> Option<&FitReport> {
    s.fit
        .as_ref()
        .filter(|f| is_error(f.metric) && f.against == Against::N)
        .or_else(|| {
            s.fits
                .iter()
                .find(|f| f.metric == Metric::SupSqError && f.against == Against::N)
        })
}

fn error_vs_n_figure(s: &Summary) -> Option<LogLog> {
    let fit = error_fit(s);
    let metric = fit.map_or(Metric::SupSqError, |f| f.metric);
    let cell = fit.map(|f| (f.beta, f.gamma)).or_else(|| main_cell(s))?;
    let rows = cell_rows(s, cell);
    let dims = distinct(
        rows.iter()
            .filter(|r| r.metric(metric).is_some())
            .map(|r| r.dim),
    );
    let main_dim = fit
        .and_then(|f| f.at_dim)
        .filter(|d| dims.contains(d))
        .or(dims.first().copied())?;
    let mut notes = vec![cell_note(s, cell)];
    notes.extend(fit.map(fit_caption));
    let mut fig = LogLog::new(
        format!("Squared error {} against n", metric_label(metric)),
        notes,
        "n (steps per unit time)",
        &format!("{}  (mean, 95% CI)", metric_label(metric)),
    );
    fig.points = dim_series(&rows, &dims, metric);
    let main = dims.iter().position(|&d| d == main_dim).unwrap_or(0);
    if let Some(f) = fit {
        let mut label = if dims.len() > 1 {
            format!("power-law fit, {}", formula(&format!("d = {main_dim}")))
        } else {
            "power-law fit".to_string()
        };
        label += &fit_range(f, fig.points.get(main), "n");
        fig.curves.extend(fit_curve(f, PALETTE[main % 8], label));
        fig.bands.extend(claim_band(f));
    }
    add_reference_slopes(&mut fig, main);
    fig.finish()
}

/// One series of the error against n per dimension.
fn dim_series(rows: &[&Row], dims: &[usize], metric: Metric) -> Vec<Points> {
    let several = dims.len() > 1;
    dims.iter()
        .enumerate()
        .map(|(i, &d)| Points {
            label: if several {
                format!("d = {d}")
            } else {
                format!("mean ± 95% CI ({})", formula(&format!("d = {d}")))
            },
            color: PALETTE[i % 8],
            shape: SHAPES[i % 5],
            pts: sorted(
                rows.iter()
                    .filter(|r| r.dim == d)
                    .filter_map(|r| estimate_point(r, metric, r.n as f64))
                    .collect(),
            ),
            connect: several,
        })
        .collect()
}

/// Slopes -1 and -1/3 from the first point of the main series to its last n.
fn add_reference_slopes(fig: &mut LogLog, main: usize) {
    let series = fig.points.get(main);
    let first = series.and_then(|p| p.pts.first()).map(|p| (p.x, p.y));
    let last_x = series.and_then(|p| p.pts.last()).map(|p| p.x);
    let (Some(a), Some(x1)) = (first, last_x) else {
        return;
    };
    for (slope, name, grey) in [
        (-1.0, "slope −1 (reference)", 60u8),
        (-1.0 / 3.0, "slope −1/3 (reference)", 150),
    ] {
        fig.curves.push(Curve {
            label: Some(name.into()),
            pts: power_line(a, slope, a.0, x1),
            color: RGBColor(grey, grey, grey).to_rgba(),
            width: 2,
            dash: Dash::Dashed,
            in_range: slope > -0.5,
        });
    }
}

fn bias_variance_figure(s: &Summary) -> Option<LogLog> {
    let first = s.rows.first()?;
    let (cell, dim) = ((first.beta, first.gamma), first.dim);
    let mut rows: Vec<&Row> = cell_rows(s, cell)
        .into_iter()
        .filter(|r| r.dim == dim)
        .collect();
    rows.sort_by_key(|r| r.n);
    let series = |f: &dyn Fn(&Row) -> Option<f64>| positive_series(&rows, f);
    let floor: Vec<P> = series(&|r| {
        r.terminal_variance
            .map(|v| v / r.trajectories.max(1) as f64)
    })
    .iter()
    .map(|p| (p.x, p.y))
    .collect();
    let mut fig = LogLog::new(
        "Terminal error split into bias² and variance against n".into(),
        vec![format!(
            "{} (d = {dim}, {})",
            experiment_line(s),
            cell_text(cell.0, cell.1)
        )],
        "n (steps per unit time)",
        "squared distance at T",
    );
    fig.points.push(Points {
        label: format!("bias² {} (plug-in)", formula("|mean θ(T) − Z(T)|²")),
        color: PALETTE[3],
        shape: Shape::Circle,
        pts: series(&|r| r.terminal_bias_sq),
        connect: true,
    });
    fig.points.push(Points {
        label: format!("variance {}", formula("Σᵢ Var θᵢ(T)")),
        color: PALETTE[0],
        shape: Shape::Square,
        pts: series(&|r| r.terminal_variance),
        connect: true,
    });
    if floor.len() >= 2 {
        fig.curves.push(Curve {
            label: Some("bias² noise floor (variance/M)".into()),
            pts: floor,
            color: RGBColor(90, 90, 90).to_rgba(),
            width: 2,
            dash: Dash::Dotted,
            in_range: true,
        });
    }
    fig.finish()
}

/// (n, f(row)) for the rows where f is positive and finite.
fn positive_series(rows: &[&Row], f: &dyn Fn(&Row) -> Option<f64>) -> Vec<Pt> {
    rows.iter()
        .filter_map(|r| {
            f(r).filter(|v| *v > 0.0 && v.is_finite()).map(|y| Pt {
                x: r.n as f64,
                y,
                ci: None,
            })
        })
        .filter(|p| p.x > 0.0)
        .collect()
}
