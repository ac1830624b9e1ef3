//! `constant_vs_n`: n times the measured errors against n, with the limits predicted by the
//! fluctuation limit (docs/model.md section 5) as horizontal lines.

use super::{cell_note, cell_rows, distinct, main_cell, sorted};
use crate::claims::Metric;
use crate::error::Error;
use crate::report::format::short;
use crate::report::plot::{
    Band, Curve, Dash, LogLog, P, PALETTE, Points, Pt, SHAPES, bounds, formula, write,
};
use crate::results::{Row, Summary};
use plotters::style::{Color, RGBColor};
use std::path::Path;

/// `constant_vs_n`: n E|Z^n_T - Z_T|^2 and n E sup |Z^n - Z|^2 with 95% intervals against n, the
/// predicted limits trace P(T) and E sup |V|^2 (with its Monte Carlo band), and the fitted
/// a - b n^(-1/2) of a constant claim on the sup; in a dimension sweep, the claim's metric per d.
/// Returns `false` when no row has a prediction.
pub(super) fn constant_vs_n(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(constant_figure(summary), dir, "constant_vs_n")
}

/// n times a row's estimate of `m`, with its interval.
fn scaled_point(r: &Row, m: Metric) -> Option<Pt> {
    let e = r.metric(m)?;
    let k = r.n as f64;
    (e.mean > 0.0).then(|| Pt {
        x: k,
        y: k * e.mean,
        ci: Some([k * e.ci95[0], k * e.ci95[1]]),
    })
}

/// The predicted limit of `m` at a row, with its standard error.
fn predicted(r: &Row, m: Metric) -> Option<(f64, f64)> {
    let f = r.fluctuation?;
    match m {
        Metric::TerminalSqError => Some((f.terminal_sq, 0.0)),
        Metric::SupSqError => f.sup_sq.map(|s| (s.mean, s.std_error)),
        Metric::KappaHat => None,
    }
}

/// A horizontal line at y over [x0, x1].
fn hline(y: f64, x0: f64, x1: f64) -> Vec<P> {
    vec![(x0, y), (x1, y)]
}

/// One series per dimension and metric, each with its predicted limit and finite-n fit.
fn constant_figure(s: &Summary) -> Option<LogLog> {
    let cell = main_cell(s)?;
    let rows: Vec<&Row> = cell_rows(s, cell)
        .into_iter()
        .filter(|r| r.fluctuation.is_some())
        .collect();
    let dims = distinct(rows.iter().map(|r| r.dim));
    let claim = s.fit.as_ref().and_then(|f| f.constant.as_ref());
    let metrics: Vec<Metric> = if dims.len() > 1 {
        vec![claim.map_or(Metric::TerminalSqError, |c| c.metric)]
    } else {
        vec![Metric::TerminalSqError, Metric::SupSqError]
    };
    let (x0, x1) = bounds(rows.iter().map(|r| r.n as f64))?;
    let mut notes = vec![cell_note(s, cell)];
    if let Some(v) = &s.verdict
        && claim.is_some()
    {
        notes.push(format!("constant claim → {}: {}", v.kind, v.reason));
    }
    let mut fig = LogLog::new(
        "n × squared error against n, and the predicted limits".into(),
        notes,
        "n (steps per unit time)",
        "n × mean squared error  (95% CI)",
    );
    let mut series = 0;
    for &d in &dims {
        for &m in &metrics {
            let at_d: Vec<&Row> = rows.iter().copied().filter(|r| r.dim == d).collect();
            let color = PALETTE[series % 8];
            let name = formula(match m {
                Metric::SupSqError => "n E sup |Zⁿ − Z|²",
                _ => "n E |Zⁿ(T) − Z(T)|²",
            });
            let tag = if dims.len() > 1 {
                format!(" ({})", formula(&format!("d = {d}")))
            } else {
                String::new()
            };
            fig.points.push(Points {
                label: format!("{name}{tag}"),
                color,
                shape: SHAPES[series % 5],
                pts: sorted(at_d.iter().filter_map(|r| scaled_point(r, m)).collect()),
                connect: false,
            });
            add_prediction(&mut fig, &at_d, m, color, (x0, x1), &tag);
            add_finite_n_fit(&mut fig, s, d, m, color, (x0, x1));
            series += 1;
        }
    }
    fig.finish()
}

/// The predicted limit as a dashed line, with a band of ± 1.96 Monte Carlo standard errors.
fn add_prediction(
    fig: &mut LogLog,
    rows: &[&Row],
    m: Metric,
    color: RGBColor,
    (x0, x1): (f64, f64),
    tag: &str,
) {
    let Some((y, se)) = rows.last().and_then(|r| predicted(r, m)) else {
        return;
    };
    let what = match m {
        Metric::SupSqError => "E sup |V|²",
        _ => "trace P(T)",
    };
    fig.curves.push(Curve {
        label: Some(format!(
            "predicted {}{tag}",
            formula(&format!("{what} = {}", short(y)))
        )),
        pts: hline(y, x0, x1),
        color: color.mix(0.9),
        width: 2,
        dash: Dash::Dashed,
        in_range: true,
    });
    if se > 0.0 {
        let (lo, hi) = (y - 1.96 * se, y + 1.96 * se);
        fig.bands.push(Band {
            label: format!("{}: Monte Carlo 95% band", formula(what)),
            polygons: vec![vec![(x0, lo), (x1, lo), (x1, hi), (x0, hi)]],
            color: color.mix(0.15),
        });
    }
}

/// The fitted n E S_n = a - b n^(-1/2) of a constant claim on the sup, at dimension d.
fn add_finite_n_fit(
    fig: &mut LogLog,
    s: &Summary,
    d: usize,
    m: Metric,
    color: RGBColor,
    (x0, x1): (f64, f64),
) {
    let Some(fit) = s
        .fit
        .as_ref()
        .and_then(|f| f.constant.as_ref())
        .filter(|c| c.metric == m)
        .and_then(|c| c.points.iter().find(|p| p.dim == d))
        .and_then(|p| p.finite_n_fit.as_ref())
    else {
        return;
    };
    let pts = (0..=40)
        .map(|i| {
            let x = x0 * (x1 / x0).powf(f64::from(i) / 40.0);
            (x, fit.predict(x.powf(crate::claims::GRID_EXPONENT)))
        })
        .filter(|p| p.1 > 0.0)
        .collect();
    fig.curves.push(Curve {
        label: Some(format!(
            "fit {}, {}",
            formula("a − b n^(−1/2)"),
            formula(&format!(
                "a = {} ± {}",
                short(fit.intercept.mean),
                short(fit.intercept.std_error)
            ))
        )),
        pts,
        color: color.mix(0.6),
        width: 2,
        dash: Dash::Solid,
        in_range: false,
    });
}
