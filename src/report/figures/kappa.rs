//! The realised drift constant against n (`kappa_vs_n`), with the exact kappa_n, the constants
//! of the first and the corrected version, and a reference n^(1/3).

use super::{cell_note, cell_rows, distinct, estimate_point, fit_caption, main_cell, same, sorted};
use crate::analysis::drift_class;
use crate::claims::{Against, Metric};
use crate::error::Error;
use crate::report::format::{short, slope_text};
use crate::report::plot::{
    Curve, Dash, LogLog, P, PALETTE, Points, SHAPES, bounds, formula, power_line, write,
};
use crate::results::{DriftClass, DriftConstants, FitReport, Row, Summary};
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
        Some(DriftClass::Explodes) => "grows with n",
        Some(DriftClass::Converges) => "levels off",
        Some(DriftClass::Freezes) => "shrinks with n",
        Some(DriftClass::Unclear) => "has no clear trend",
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
    let mut names = Vec::new();
    names.extend(add_exact(&mut fig, &rows, main_dim));
    names.extend(add_constants(&mut fig, &s.drift_constants));
    names.extend(add_cube_root(&mut fig));
    let kept: Vec<usize> = dims
        .iter()
        .zip(&fig.points)
        .filter(|(_, p)| !p.pts.is_empty())
        .map(|(d, _)| *d)
        .collect();
    let mut fig = fig.finish()?;
    fig.notes.extend(coincidences(&fig, &kept, &names));
    Some(fig)
}

/// The realised drift constant against n, one series per dimension.
fn realised_series(rows: &[&Row], dims: &[usize]) -> Vec<Points> {
    dims.iter()
        .enumerate()
        .map(|(i, &d)| Points {
            label: if dims.len() > 1 {
                format!("realised, {}", formula(&format!("d = {d}")))
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

/// The exact kappa_n at the main dimension, as a line through the n of the rows; returns the
/// curve's short name when it is drawn.
fn add_exact(fig: &mut LogLog, rows: &[&Row], dim: usize) -> Option<&'static str> {
    let mut exact: Vec<P> = rows
        .iter()
        .filter(|r| r.dim == dim && r.kappa_n > 0.0 && r.kappa_n.is_finite())
        .map(|r| (r.n as f64, r.kappa_n))
        .collect();
    exact.sort_by(|a, b| a.0.total_cmp(&b.0));
    exact.dedup_by(|a, b| a.0 == b.0);
    if exact.len() < 2 {
        return None;
    }
    fig.curves.push(Curve {
        label: Some(format!(
            "exact {}, {}",
            formula("κₙ = n αₙ c(Aₙ)"),
            formula("c(A) = 2 cosh A − 2 sinh(A)/A")
        )),
        pts: exact,
        color: BLACK.to_rgba(),
        width: 2,
        dash: Dash::Solid,
        in_range: true,
    });
    Some("exact κₙ")
}

/// The first version's 4 alpha and the corrected limit (2/3) alpha A^2 as horizontal lines;
/// returns the short names of those drawn.
fn add_constants(fig: &mut LogLog, dc: &DriftConstants) -> Vec<&'static str> {
    let x_any = fig.points.iter().flat_map(|p| p.pts.iter().map(|q| q.x));
    let span = bounds(x_any.filter(|v| *v > 0.0)).map(|(a, b)| (a / 100.0, b * 100.0));
    let mut names = Vec::new();
    for (v, label, color, name) in [
        (
            dc.four_alpha,
            format!(
                "{} (first version, 3.5)",
                formula(&format!("4α = {}", short(dc.four_alpha)))
            ),
            RGBColor(214, 39, 40),
            "4α",
        ),
        (
            dc.two_thirds_alpha_a2,
            format!(
                "{} (corrected limit)",
                formula(&format!("(2/3)αA² = {}", short(dc.two_thirds_alpha_a2)))
            ),
            RGBColor(31, 119, 180),
            "(2/3)αA²",
        ),
    ] {
        if let (true, Some((a, b))) = (v > 0.0 && v.is_finite(), span) {
            names.push(name);
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
    names
}

/// A reference n^(1/3) through the first realised value, to its series' last n; returns its
/// short name when it is drawn.
fn add_cube_root(fig: &mut LogLog) -> Option<&'static str> {
    let series = fig.points.first();
    let first = series.and_then(|p| p.pts.first()).map(|p| (p.x, p.y));
    let last_x = series.and_then(|p| p.pts.last()).map(|p| p.x)?;
    fig.curves.push(Curve {
        label: Some(format!(
            "{} through the first realised value (reference)",
            formula("∝ n^(1/3)")
        )),
        pts: power_line(first?, 1.0 / 3.0, first?.0, last_x),
        color: RGBColor(120, 120, 120).to_rgba(),
        width: 2,
        dash: Dash::Dashed,
        in_range: false,
    });
    Some("the n^(1/3) reference")
}

/// The value of a polyline at x, interpolated in log-log coordinates; `None` outside it.
fn log_interpolate(pts: &[P], x: f64) -> Option<f64> {
    if let [(x0, y0)] = pts {
        return (*x0 == x).then_some(*y0);
    }
    pts.windows(2).find_map(|w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let inside = x0.min(x1) <= x && x <= x0.max(x1) && y0 > 0.0 && y1 > 0.0;
        if !inside {
            return None;
        }
        if x0 == x1 {
            return Some(y0);
        }
        let f = (x / x0).ln() / (x1 / x0).ln();
        Some((y0.ln() + f * (y1 / y0).ln()).exp())
    })
}

/// What a line of the figure is: the realised series at a dimension, or a named curve.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Item {
    Realised(usize),
    Curve(&'static str),
}

/// "the realised drift constant, exact κₙ and (2/3)αA² coincide at every n shown": the groups of
/// realised series (one per dimension in `dims`) and curves (`names`, one per curve, in order)
/// that lie within 1% of the y axis' log span of each other at every realised n.
fn coincidences(fig: &LogLog, dims: &[usize], names: &[&'static str]) -> Option<String> {
    let (_, y) = fig.axes.as_ref()?;
    let tolerance = 0.01 * (y.hi / y.lo).ln();
    let xs: Vec<f64> = fig.points.first()?.pts.iter().map(|p| p.x).collect();
    let at =
        |pts: &[P]| -> Vec<Option<f64>> { xs.iter().map(|&x| log_interpolate(pts, x)).collect() };
    let mut items: Vec<(Item, Vec<Option<f64>>)> = Vec::new();
    for (p, d) in fig.points.iter().zip(dims) {
        let pts: Vec<P> = p.pts.iter().map(|q| (q.x, q.y)).collect();
        items.push((Item::Realised(*d), at(&pts)));
    }
    for (curve, name) in fig.curves.iter().zip(names) {
        items.push((Item::Curve(name), at(&curve.pts)));
    }
    let close = |a: &[Option<f64>], b: &[Option<f64>]| {
        a.iter().zip(b).all(|(u, v)| match (u, v) {
            (Some(u), Some(v)) => (u / v).ln().abs() <= tolerance,
            _ => false,
        })
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..items.len() {
        match groups
            .iter_mut()
            .find(|g| g.iter().all(|&j| close(&items[i].1, &items[j].1)))
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    let sentences: Vec<String> = groups
        .iter()
        .filter(|g| g.len() >= 2)
        .map(|g| {
            describe(
                &g.iter().map(|&i| items[i].0).collect::<Vec<_>>(),
                dims.len(),
            )
        })
        .collect();
    (!sentences.is_empty()).then(|| format!("{} at every n shown", sentences.join("; ")))
}

/// "A, B and C coincide" for a group of two or more items, of `all` realised series.
fn describe(group: &[Item], all: usize) -> String {
    let ds: Vec<String> = group
        .iter()
        .filter_map(|i| match i {
            Item::Realised(d) => Some(d.to_string()),
            Item::Curve(_) => None,
        })
        .collect();
    let which = if ds.len() == all {
        "every d".to_string()
    } else {
        format!("d = {}", ds.join(", "))
    };
    let mut parts: Vec<String> = match ds.len() {
        0 => Vec::new(),
        _ if all == 1 => vec!["the realised drift constant".into()],
        1 => vec![format!("the realised drift constant at {which}")],
        _ => vec![format!("the realised drift constants at {which}")],
    };
    parts.extend(group.iter().filter_map(|i| match i {
        Item::Curve(name) => Some(name.to_string()),
        Item::Realised(_) => None,
    }));
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} and {last} coincide", rest.join(", "))
        }
        _ => format!("{} coincide", parts.concat()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Item, describe, log_interpolate};

    #[test]
    fn coincidences_are_named() {
        let group = [
            Item::Realised(2),
            Item::Curve("exact κₙ"),
            Item::Curve("(2/3)αA²"),
        ];
        assert_eq!(
            describe(&group, 1),
            "the realised drift constant, exact κₙ and (2/3)αA² coincide"
        );
        let group = [
            Item::Realised(2),
            Item::Realised(8),
            Item::Curve("exact κₙ"),
        ];
        assert_eq!(
            describe(&group, 2),
            "the realised drift constants at every d and exact κₙ coincide"
        );
        assert_eq!(
            describe(&[Item::Realised(4), Item::Curve("4α")], 3),
            "the realised drift constant at d = 4 and 4α coincide"
        );
        let line = [(10.0, 1.0), (1000.0, 100.0)];
        assert!((log_interpolate(&line, 100.0).unwrap() - 10.0).abs() < 1e-9);
        assert!(log_interpolate(&line, 1.0).is_none());
    }
}
