//! The figures of a [`LearningSummary`], one file per figure, drawn with the toolkit of
//! `report::plot` (embedded DejaVu Sans, PNG and SVG). Each figure carries its own title, axis
//! labels and legend, so it can be read without the report around it. This file holds what they
//! share: how each run is drawn, its label, and the dataset and replicate lines.

mod accuracy;
mod curves;
mod distance;
#[cfg(test)]
mod tests;

use super::format::num;
use super::plot::{self, Axis, Dash, Draw, Entry, Glyph, PALETTE, draw_each, text, wrap};
use crate::error::Error;
use crate::learning::study::{LearningSummary, RunRecord};
use crate::stats::Estimate;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Writes every learning figure that the summary has data for into `dir`, each as `<stem>.png`
/// and `<stem>.svg`; returns the stems written, in order.
pub fn draw_all(summary: &LearningSummary, dir: &Path) -> Result<Vec<String>, Error> {
    draw_each(
        summary,
        dir,
        &[
            (
                "learning_curves",
                curves::learning_curves as Draw<LearningSummary>,
            ),
            ("distance_vs_n", distance::distance_vs_n),
            ("final_accuracy", accuracy::final_accuracy),
        ],
    )
}

const BASELINE_LABEL: &str = "L2 logistic regression (Newton), same split";
const BASELINE_COLOR: RGBColor = RGBColor(70, 70, 70);

/// The legend entry of the logistic-regression yardstick at test accuracy `b`.
fn baseline_entry(b: f64) -> Entry {
    Entry {
        glyph: Glyph::Line {
            color: BASELINE_COLOR.to_rgba(),
            width: 2,
            dash: Dash::Dashed,
        },
        text: format!("{BASELINE_LABEL} (test accuracy {})", num(b, 3)),
    }
}

/// How a run is drawn: STDP in viridis steps by n (dark purple to green), the other rules in
/// their own colours and dashes.
#[derive(Clone, Copy, Debug)]
struct Style {
    color: RGBColor,
    dash: Dash,
    width: u32,
}

/// The style of each run, in order.
fn styles(runs: &[RunRecord]) -> Vec<Style> {
    let mut stdp: Vec<u64> = runs
        .iter()
        .filter(|r| r.rule == "stdp")
        .map(|r| r.n.unwrap_or(0))
        .collect();
    stdp.sort_unstable();
    stdp.dedup();
    let mut other = 0;
    let mut single = 0;
    runs.iter()
        .map(|r| match r.rule.as_str() {
            "stdp" => {
                let i = stdp
                    .iter()
                    .position(|&n| n == r.n.unwrap_or(0))
                    .unwrap_or(0);
                stdp_style(i, stdp.len())
            }
            "flow" => Style {
                color: RGBColor(214, 39, 40),
                dash: Dash::Dashed,
                width: 3,
            },
            "sgd" => Style {
                color: RGBColor(255, 127, 14),
                dash: Dash::Dotted,
                width: 3,
            },
            "single-update" => {
                single += 1;
                single_update_style(single)
            }
            _ => {
                other += 1;
                Style {
                    color: PALETTE[(3 + other) % 8],
                    dash: Dash::Solid,
                    width: 2,
                }
            }
        })
        .collect()
}

/// Viridis at 0, 0.1, ..., 1 (matplotlib's), a sequential ramp from dark purple to yellow.
const VIRIDIS: [[f64; 3]; 11] = [
    [68.0, 1.0, 84.0],
    [72.0, 36.0, 117.0],
    [65.0, 68.0, 135.0],
    [53.0, 95.0, 141.0],
    [42.0, 120.0, 142.0],
    [33.0, 145.0, 140.0],
    [34.0, 168.0, 132.0],
    [68.0, 191.0, 112.0],
    [122.0, 209.0, 81.0],
    [189.0, 223.0, 38.0],
    [253.0, 231.0, 37.0],
];

/// The last point of viridis used: beyond it the yellows are too light on white.
const VIRIDIS_END: f64 = 0.8;

/// Viridis at t in [0, 1].
fn viridis(t: f64) -> RGBColor {
    let u = t.clamp(0.0, 1.0) * 10.0;
    let k = (u.floor() as usize).min(9);
    let f = u - k as f64;
    let mix = |c: usize| (VIRIDIS[k][c] + f * (VIRIDIS[k + 1][c] - VIRIDIS[k][c])).round() as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

/// The `i`-th of `count` STDP runs (by increasing n): evenly spaced steps of viridis from dark
/// purple (the smallest n) to green, so that neighbouring n differ in hue and lightness.
fn stdp_style(i: usize, count: usize) -> Style {
    let t = if count > 1 {
        VIRIDIS_END * i as f64 / (count - 1) as f64
    } else {
        0.0
    };
    Style {
        color: viridis(t),
        dash: Dash::Solid,
        width: 2,
    }
}

/// The `k`-th single-update run (from 1): pink, brown, olive (none of them in viridis),
/// alternately solid and dashed.
fn single_update_style(k: usize) -> Style {
    Style {
        color: [
            RGBColor(227, 119, 194),
            RGBColor(140, 86, 75),
            RGBColor(188, 189, 34),
        ][(k - 1) % 3],
        dash: if k % 2 == 1 {
            Dash::Solid
        } else {
            Dash::Dashed
        },
        width: 3,
    }
}

/// "name: title" of the study.
fn experiment_line(s: &LearningSummary) -> String {
    plot::experiment_line(&s.name, &s.title)
}

/// "file.csv: 400 train / 100 test rows, 4 features, 2 classes".
fn dataset_line(s: &LearningSummary) -> String {
    let d = &s.dataset;
    let file = Path::new(&d.file)
        .file_name()
        .map_or(d.file.clone(), |f| f.to_string_lossy().into_owned());
    format!(
        "{file}: {} train / {} test rows, {} features, {} classes",
        d.train_rows,
        d.test_rows,
        d.features,
        d.classes.len()
    )
}

/// "10 replicates per run", or the range when runs differ.
fn replicates_text(s: &LearningSummary) -> String {
    let mut reps: Vec<u64> = s.runs.iter().map(|r| r.replicates).collect();
    reps.sort_unstable();
    reps.dedup();
    match reps.as_slice() {
        [m] => format!("{m} replicates per run"),
        [lo, .., hi] => format!("{lo}–{hi} replicates per run"),
        [] => "no runs".into(),
    }
}

/// "stdp n=100 (2/10 replicates diverged, left out)", or the label alone.
fn run_label(r: &RunRecord) -> String {
    if r.diverged > 0 {
        format!(
            "{} ({}/{} replicates diverged, left out)",
            r.label(),
            r.diverged,
            r.replicates
        )
    } else {
        r.label()
    }
}

/// "<label>: diverged in k/M replicates" for a run without a curve.
fn missing_label(r: &RunRecord) -> String {
    if r.diverged > 0 {
        format!(
            "{}: diverged in {}/{} replicates",
            r.label(),
            r.diverged,
            r.replicates
        )
    } else {
        format!("{}: no estimate (fewer than 2 replicates)", r.label())
    }
}

/// Whether the mean and both ends of the interval are finite.
fn finite(e: &Estimate) -> bool {
    e.mean.is_finite() && e.ci95.iter().all(|v| v.is_finite())
}

/// A linear accuracy axis over `values`, padded and kept inside [0, 1].
fn accuracy_axis(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<Axis> {
    let a = Axis::linear_over(values, pad)?;
    let (lo, hi) = (a.lo.max(0.0), a.hi.min(1.0));
    (hi > lo).then(|| Axis::linear(lo, hi))
}

/// The baseline's finite test accuracy.
fn baseline_accuracy(s: &LearningSummary) -> Option<f64> {
    s.baseline
        .as_ref()
        .map(|b| b.test_accuracy)
        .filter(|v| v.is_finite())
}

/// `line` wrapped to the width of `area` in the header's note style, at most `max` lines.
fn wrapped<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    line: &str,
    max: usize,
) -> Result<Vec<String>, String> {
    let (w, _) = area.dim_in_pixel();
    let mut lines = wrap(area, line, &text(17.0), w.saturating_sub(40))?;
    if lines.len() > max {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            last.push_str(" …");
        }
    }
    Ok(lines)
}
