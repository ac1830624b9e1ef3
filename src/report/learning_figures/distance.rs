//! `distance_vs_n`: the distance of STDP to the gradient flow against n, with its power-law fit.

use super::{dataset_line, experiment_line, wrapped};
use crate::error::Error;
use crate::experiment::learning::DistanceClaim;
use crate::learning::study::{DistanceFit, LearningSummary};
use crate::report::format::{short, slope_text, tick};
use crate::report::plot::{
    Band, Curve, Dash, Figure, LogLog, PALETTE, Points, Pt, Shape, bounds, formula, power_line,
    wedge, write,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// `distance_vs_n`: E sup_k |theta_stdp - theta_flow|^2 against n (log-log) with 95% intervals,
/// the fitted power law, the claimed slope and its tolerance wedge. Returns `false` with fewer
/// than two STDP runs that have the estimate.
pub(super) fn distance_vs_n(summary: &LearningSummary, dir: &Path) -> Result<bool, Error> {
    write(distance_figure(summary), dir, "distance_vs_n")
}

/// A log-log figure whose last notes are wrapped to the figure's width when drawn.
struct Wrapped {
    fig: LogLog,
    long: Vec<String>,
}

impl Figure for Wrapped {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let mut fig = self.fig.clone();
        for line in &self.long {
            fig.notes.extend(wrapped(root, line, 3)?);
        }
        fig.draw(root)
    }
}

/// The STDP estimates inside and outside (n < `from`) the fit range, each by increasing n.
fn distance_points(s: &LearningSummary, from: Option<f64>) -> (Vec<Pt>, Vec<Pt>) {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for r in s.runs.iter().filter(|r| r.rule == "stdp") {
        let (Some(n), Some(e)) = (r.n, r.sup_distance_to_flow) else {
            continue;
        };
        if !(e.mean > 0.0 && e.mean.is_finite() && n > 0) {
            continue;
        }
        let pt = Pt {
            x: n as f64,
            y: e.mean,
            ci: Some(e.ci95).filter(|c| c.iter().all(|v| v.is_finite())),
        };
        if from.is_some_and(|f| (n as f64) < f) {
            outside.push(pt);
        } else {
            inside.push(pt);
        }
    }
    inside.sort_by(|a, b| a.x.total_cmp(&b.x));
    outside.sort_by(|a, b| a.x.total_cmp(&b.x));
    (inside, outside)
}

/// The notes (experiment, fitted and claimed slope) and the verdict, to be wrapped.
fn distance_notes(s: &LearningSummary) -> (Vec<String>, Vec<String>) {
    let df = s.distance_fit.as_ref();
    let claim = df.and_then(|f| f.claim.as_ref());
    let from = claim.and_then(|c| c.fit_from);
    let mut notes = vec![format!("{}; {}", experiment_line(s), dataset_line(s))];
    match df.and_then(|f| f.fit.as_ref()) {
        Some(fit) => {
            let mut line = format!("fitted slope {}", slope_text(fit));
            if let Some(c) = claim {
                line += &format!(
                    "; claimed {} ± {}{}",
                    short(c.slope),
                    short(c.tolerance),
                    from.map_or(String::new(), |v| format!(", fit over n ≥ {}", tick(v)))
                );
            }
            notes.push(line);
        }
        None => notes.push("no power-law fit (too few estimates)".into()),
    }
    let long = df
        .and_then(|f| f.verdict.as_ref())
        .map(|v| format!("verdict: {} — {}", v.kind, v.reason))
        .into_iter()
        .collect();
    (notes, long)
}

fn distance_figure(s: &LearningSummary) -> Option<Wrapped> {
    let df = s.distance_fit.as_ref();
    let claim = df.and_then(|f| f.claim.as_ref());
    let from = claim.and_then(|c| c.fit_from);
    let (inside, outside) = distance_points(s, from);
    if inside.len() + outside.len() < 2 {
        return None;
    }
    let (notes, long) = distance_notes(s);
    let mut fig = LogLog::new(
        "Distance of STDP to the gradient flow against n".into(),
        notes,
        "n (STDP updates per sample)",
        "E supₖ |θ_stdp − θ_flow|²  (mean, 95% CI)",
    );
    fig.points.push(Points {
        label: format!(
            "STDP against the flow on the same sample order {}",
            formula("(mean ± 95% CI)")
        ),
        color: PALETTE[0],
        shape: Shape::Circle,
        pts: inside,
        connect: false,
    });
    if let Some(f) = from {
        fig.points.push(Points {
            label: format!(
                "outside the fit range ({})",
                formula(&format!("n < {}", tick(f)))
            ),
            color: RGBColor(200, 200, 200),
            shape: Shape::Circle,
            pts: outside,
            connect: false,
        });
    }
    if let Some(f) = df {
        add_fit(&mut fig, f, claim);
    }
    fig.finish().map(|fig| Wrapped { fig, long })
}

/// The fitted power law over its n range, and the claimed slope with its tolerance wedge
/// through the fit's last point.
fn add_fit(fig: &mut LogLog, f: &DistanceFit, claim: Option<&DistanceClaim>) {
    let Some(fit) = &f.fit else { return };
    let Some((x0, x1)) = bounds(f.n.iter().copied().filter(|v| *v > 0.0)) else {
        return;
    };
    fig.curves.push(Curve {
        label: Some(format!(
            "power-law fit over {}: slope {}",
            formula(&format!("{} ≤ n ≤ {}", tick(x0), tick(x1))),
            formula(&slope_text(fit))
        )),
        pts: vec![(x0, fit.predict(x0)), (x1, fit.predict(x1))],
        color: PALETTE[0].to_rgba(),
        width: 3,
        dash: Dash::Solid,
        in_range: false,
    });
    let anchor = (x1, fit.predict(x1));
    let Some(c) = claim.filter(|_| anchor.1 > 0.0 && anchor.1.is_finite() && x1 > x0) else {
        return;
    };
    let green = RGBColor(44, 160, 44);
    fig.curves.push(Curve {
        label: Some(format!(
            "claimed slope {} through the fit at {}",
            short(c.slope),
            formula(&format!("n = {}", tick(x1)))
        )),
        pts: power_line(anchor, c.slope, x0, x1),
        color: green.mix(0.9),
        width: 2,
        dash: Dash::Dashed,
        in_range: false,
    });
    if c.tolerance > 0.0 {
        fig.bands.push(Band {
            label: format!(
                "claimed slope {} (tolerance)",
                formula(&format!("± {}", short(c.tolerance)))
            ),
            polygons: wedge(anchor, c.slope, c.tolerance, x0, x1)
                .into_iter()
                .take(1)
                .collect(),
            color: green.mix(0.18),
        });
    }
}
