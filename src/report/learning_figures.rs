//! The figures of a [`LearningSummary`], drawn with the helpers of [`super::figures`] (embedded
//! DejaVu Sans, PNG and SVG). Each figure carries its own title, axis labels and legend, so it can
//! be read without the report around it.

use super::figures::{
    Axis, Band, Curve, Dash, Draw, Entry, Figure, Glyph, LEGEND_WIDTH, LogLog, P, PALETTE, Points,
    Pt, SIZE, Shape, bounds, chart, clip_polygon, clip_polyline, draw_each, header, legend, marker,
    msg, num, path, power_line, short, slope_text, stroke, text, tick, wedge, wrap, write,
};
use crate::error::Error;
use crate::learning::study::{CurvePoint, LearningSummary, RunRecord};
use crate::stats::Estimate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Writes every learning figure that the summary has data for into `dir`, each as `<stem>.png`
/// and `<stem>.svg`; returns the stems written, in order.
pub fn draw_all(summary: &LearningSummary, dir: &Path) -> Result<Vec<String>, Error> {
    draw_each(
        summary,
        dir,
        &[
            ("learning_curves", learning_curves as Draw<LearningSummary>),
            ("distance_vs_n", distance_vs_n),
            ("final_accuracy", final_accuracy),
        ],
    )
}

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

/// `learning_curves`: test accuracy and training loss against samples seen, one line per rule
/// (and n) with its 95% band over replicates, and the logistic-regression baseline. Returns
/// `false` when no run has a curve.
pub fn learning_curves(summary: &LearningSummary, dir: &Path) -> Result<bool, Error> {
    write(CurvesFigure::new(summary), dir, "learning_curves")
}

/// `distance_vs_n`: E sup_k |theta_stdp - theta_flow|^2 against n (log-log) with 95% intervals,
/// the fitted power law, the claimed slope and its tolerance wedge. Returns `false` with fewer
/// than two STDP runs that have the estimate.
pub fn distance_vs_n(summary: &LearningSummary, dir: &Path) -> Result<bool, Error> {
    write(distance_figure(summary), dir, "distance_vs_n")
}

/// `final_accuracy`: the final test accuracy of every run with its 95% interval, against the
/// logistic-regression baseline. Returns `false` without runs.
pub fn final_accuracy(summary: &LearningSummary, dir: &Path) -> Result<bool, Error> {
    write(AccuracyFigure::new(summary), dir, "final_accuracy")
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

const BASELINE_LABEL: &str = "L2 logistic regression (Newton), same split";
const BASELINE_COLOR: RGBColor = RGBColor(70, 70, 70);
const DIVERGED_COLOR: RGBColor = RGBColor(178, 24, 43);

/// How a run is drawn: STDP on a light-to-dark blue ramp by n, the other rules in their own
/// colours and dashes.
#[derive(Clone, Copy, Debug)]
struct Style {
    color: RGBColor,
    dash: Dash,
    width: u32,
}

fn styles(runs: &[RunRecord]) -> Vec<Style> {
    const LIGHT: [f64; 3] = [107.0, 174.0, 214.0];
    const DARK: [f64; 3] = [8.0, 48.0, 107.0];
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
                let t = if stdp.len() > 1 {
                    i as f64 / (stdp.len() - 1) as f64
                } else {
                    1.0
                };
                let mix = |k: usize| (LIGHT[k] + t * (DARK[k] - LIGHT[k])).round() as u8;
                Style {
                    color: RGBColor(mix(0), mix(1), mix(2)),
                    dash: Dash::Solid,
                    width: 2,
                }
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
                Style {
                    color: [
                        RGBColor(44, 160, 44),
                        RGBColor(148, 103, 189),
                        RGBColor(140, 86, 75),
                    ][(single - 1) % 3],
                    dash: if single % 2 == 1 {
                        Dash::Solid
                    } else {
                        Dash::Dashed
                    },
                    width: 3,
                }
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

fn experiment_line(s: &LearningSummary) -> String {
    if s.title.is_empty() || s.title == s.name {
        s.name.clone()
    } else {
        format!("{}: {}", s.name, s.title)
    }
}

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

fn finite(e: &Estimate) -> bool {
    e.mean.is_finite() && e.ci95.iter().all(|v| v.is_finite())
}

/// A linear accuracy axis over `values`, padded and kept inside [0, 1].
fn accuracy_axis(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<Axis> {
    let a = Axis::linear_over(values, pad)?;
    let (lo, hi) = (a.lo.max(0.0), a.hi.min(1.0));
    (hi > lo).then(|| Axis::linear(lo, hi))
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

// ---------------------------------------------------------------------------------------------
// Learning curves

struct Series {
    label: String,
    style: Style,
    /// (samples seen, test accuracy).
    accuracy: Vec<(f64, Estimate)>,
    /// (samples seen, training loss).
    loss: Vec<(f64, Estimate)>,
}

struct CurvesFigure {
    title: String,
    notes: Vec<String>,
    series: Vec<Series>,
    missing: Vec<String>,
    baseline: Option<f64>,
    x: Axis,
    accuracy: Axis,
    loss: Axis,
}

impl CurvesFigure {
    fn new(s: &LearningSummary) -> Option<Self> {
        let mut series = Vec::new();
        let mut missing = Vec::new();
        for (r, style) in s.runs.iter().zip(styles(&s.runs)) {
            let pick = |f: fn(&CurvePoint) -> Estimate| {
                r.curve
                    .iter()
                    .map(|p| (p.samples_seen as f64, f(p)))
                    .filter(|(_, e)| finite(e))
                    .collect::<Vec<_>>()
            };
            let accuracy = pick(|p| p.test_accuracy);
            let loss = pick(|p| p.train_loss);
            if accuracy.is_empty() && loss.is_empty() {
                missing.push(missing_label(r));
            } else {
                series.push(Series {
                    label: run_label(r),
                    style,
                    accuracy,
                    loss,
                });
            }
        }
        let all = |f: fn(&Series) -> &Vec<(f64, Estimate)>| {
            series.iter().flat_map(move |s| f(s).iter()).copied()
        };
        let (_, x_hi) = bounds(all(|s| &s.accuracy).chain(all(|s| &s.loss)).map(|(x, _)| x))?;
        let x = Axis::linear(0.0, x_hi.max(1.0) * 1.02);
        let baseline = s
            .baseline
            .as_ref()
            .map(|b| b.test_accuracy)
            .filter(|v| v.is_finite());
        let accuracy = accuracy_axis(
            all(|s| &s.accuracy)
                .flat_map(|(_, e)| [e.mean, e.ci95[0], e.ci95[1]])
                .chain(baseline),
            0.05,
        )?;
        let losses = || all(|s| &s.loss).map(|(_, e)| e);
        let loss = if losses().all(|e| e.mean > 0.0) {
            Axis::log_over(losses().flat_map(|e| [e.mean, e.ci95[0].max(0.3 * e.mean), e.ci95[1]]))
        } else {
            Axis::linear_over(losses().flat_map(|e| [e.mean, e.ci95[0], e.ci95[1]]), 0.05)
        }?;
        let mut notes = vec![format!(
            "{}; {} (mean and 95% CI over replicates)",
            dataset_line(s),
            replicates_text(s)
        )];
        if s.runs.iter().any(|r| r.rule == "single-update") {
            notes.push(
                "single-update is plotted at equal loss-evaluation budget with STDP at its n: \
                 x = loss evaluations / (n + 1)"
                    .into(),
            );
        }
        let title = if s.title.is_empty() {
            s.name.clone()
        } else {
            s.title.clone()
        };
        Some(Self {
            title,
            notes,
            series,
            missing,
            baseline,
            x,
            accuracy,
            loss,
        })
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y: &Axis,
        y_desc: &str,
        caption: &str,
        values: fn(&Series) -> &Vec<(f64, Estimate)>,
        baseline: Option<f64>,
    ) -> Result<(), String> {
        let x = &self.x;
        let c = chart(area, x, y, "samples seen", y_desc, Some(caption))?;
        let plot = c.plotting_area();
        // On a log axis a band's non-positive lower edge goes below the axis, to be clipped.
        let floor = |v: f64| if y.log && v <= 0.0 { y.lo / 10.0 } else { v };
        for s in &self.series {
            let pts = values(s);
            let upper = pts.iter().map(|(t, e)| (*t, floor(e.ci95[1])));
            let lower = pts.iter().rev().map(|(t, e)| (*t, floor(e.ci95[0])));
            let polygon: Vec<P> = upper.chain(lower).collect();
            let clipped = clip_polygon(x, y, &polygon);
            if pts.len() >= 2 && clipped.len() >= 3 {
                plot.draw(&Polygon::new(clipped, s.style.color.mix(0.15).filled()))
                    .map_err(msg)?;
            }
        }
        if let Some(b) = baseline {
            for piece in clip_polyline(x, y, &[(x.lo, b), (x.hi, b)]) {
                path(
                    plot,
                    piece,
                    stroke(BASELINE_COLOR.to_rgba(), 2),
                    Dash::Dashed,
                )?;
            }
        }
        for s in &self.series {
            let line: Vec<P> = values(s).iter().map(|(t, e)| (*t, e.mean)).collect();
            let color = s.style.color.to_rgba();
            if line.len() == 1 {
                if x.contains(line[0].0) && y.contains(line[0].1) {
                    marker(plot, line[0], Shape::Circle, color, 4)?;
                }
                continue;
            }
            for piece in clip_polyline(x, y, &line) {
                path(plot, piece, stroke(color, s.style.width), s.style.dash)?;
            }
        }
        Ok(())
    }
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        (1500, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = header(root, &self.title, &self.notes)?;
        let (w, _) = body.dim_in_pixel();
        let (plots, side) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH + 10));
        let (left, right) = {
            let (pw, _) = plots.dim_in_pixel();
            plots.split_horizontally(pw / 2)
        };
        self.panel(
            &left,
            &self.accuracy,
            "test accuracy",
            "Test accuracy",
            |s| &s.accuracy,
            self.baseline,
        )?;
        let loss_desc = if self.loss.log {
            "training loss (log scale)"
        } else {
            "training loss"
        };
        self.panel(
            &right,
            &self.loss,
            loss_desc,
            "Training loss",
            |s| &s.loss,
            None,
        )?;
        let mut entries: Vec<Entry> = self
            .series
            .iter()
            .map(|s| Entry {
                glyph: Glyph::Line {
                    color: s.style.color.to_rgba(),
                    width: s.style.width,
                    dash: s.style.dash,
                },
                text: s.label.clone(),
            })
            .collect();
        entries.extend(self.missing.iter().map(|t| Entry {
            glyph: Glyph::Letter("×"),
            text: t.clone(),
        }));
        entries.push(Entry {
            glyph: Glyph::Patch(RGBColor(90, 90, 90).mix(0.18)),
            text: "shaded: 95% CI over replicates".into(),
        });
        if let Some(b) = self.baseline {
            entries.push(baseline_entry(b));
        }
        legend(&side, &entries, 10)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Distance to the flow against n

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

fn distance_figure(s: &LearningSummary) -> Option<Wrapped> {
    let df = s.distance_fit.as_ref();
    let claim = df.and_then(|f| f.claim.as_ref());
    let from = claim.and_then(|c| c.fit_from);
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
    if inside.len() + outside.len() < 2 {
        return None;
    }
    inside.sort_by(|a, b| a.x.total_cmp(&b.x));
    outside.sort_by(|a, b| a.x.total_cmp(&b.x));
    let mut notes = vec![format!("{}; {}", experiment_line(s), dataset_line(s))];
    let mut long = Vec::new();
    match df.and_then(|f| f.fit.as_ref().map(|fit| (f, fit))) {
        Some((f, fit)) => {
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
            if let Some(v) = &f.verdict {
                long.push(format!("verdict: {} — {}", v.kind, v.reason));
            }
        }
        None => {
            notes.push("no power-law fit (too few estimates)".into());
            if let Some(v) = df.and_then(|f| f.verdict.as_ref()) {
                long.push(format!("verdict: {} — {}", v.kind, v.reason));
            }
        }
    }
    let mut fig = LogLog::new(
        "Distance of STDP to the gradient flow against n".into(),
        notes,
        "n (STDP updates per sample)",
        "E supₖ |θ_stdp − θ_flow|²  (mean, 95% CI)",
    );
    fig.points.push(Points {
        label: "STDP against the flow on the same sample order (mean ± 95% CI)".into(),
        color: PALETTE[0],
        shape: Shape::Circle,
        pts: inside,
        connect: false,
    });
    if let Some(f) = from {
        fig.points.push(Points {
            label: format!("outside the fit range (n < {})", tick(f)),
            color: RGBColor(200, 200, 200),
            shape: Shape::Circle,
            pts: outside,
            connect: false,
        });
    }
    if let Some(f) = df
        && let Some(fit) = &f.fit
        && let Some((x0, x1)) = bounds(f.n.iter().copied().filter(|v| *v > 0.0))
    {
        fig.curves.push(Curve {
            label: Some(format!(
                "power-law fit over {} ≤ n ≤ {}: slope {}",
                tick(x0),
                tick(x1),
                slope_text(fit)
            )),
            pts: vec![(x0, fit.predict(x0)), (x1, fit.predict(x1))],
            color: PALETTE[0].to_rgba(),
            width: 3,
            dash: Dash::Solid,
            in_range: false,
        });
        let anchor = (x1, fit.predict(x1));
        if let Some(c) = claim
            && anchor.1 > 0.0
            && anchor.1.is_finite()
            && x1 > x0
        {
            let green = RGBColor(44, 160, 44);
            fig.curves.push(Curve {
                label: Some(format!(
                    "claimed slope {} through the fit at n = {}",
                    short(c.slope),
                    tick(x1)
                )),
                pts: power_line(anchor, c.slope, x0, x1),
                color: green.mix(0.9),
                width: 2,
                dash: Dash::Dashed,
                in_range: false,
            });
            if c.tolerance > 0.0 {
                fig.bands.push(Band {
                    label: format!("claimed slope ± {} (tolerance)", short(c.tolerance)),
                    polygons: wedge(anchor, c.slope, c.tolerance, x0, x1)
                        .into_iter()
                        .take(1)
                        .collect(),
                    color: green.mix(0.18),
                });
            }
        }
    }
    fig.finish().map(|fig| Wrapped { fig, long })
}

// ---------------------------------------------------------------------------------------------
// Final accuracy

struct AccuracyRow {
    label: String,
    color: RGBColor,
    estimate: Option<Estimate>,
}

struct AccuracyFigure {
    title: String,
    notes: Vec<String>,
    long: Vec<String>,
    rows: Vec<AccuracyRow>,
    baseline: Option<f64>,
    x: Axis,
    y: Axis,
}

impl AccuracyFigure {
    fn new(s: &LearningSummary) -> Option<Self> {
        if s.runs.is_empty() {
            return None;
        }
        let rows: Vec<AccuracyRow> = s
            .runs
            .iter()
            .zip(styles(&s.runs))
            .map(|(r, style)| {
                let estimate = r.curve.last().map(|p| p.test_accuracy).filter(finite);
                let label = match estimate {
                    Some(e) => format!(
                        "{}: {} [{}, {}]",
                        run_label(r),
                        num(e.mean, 3),
                        num(e.ci95[0], 3),
                        num(e.ci95[1], 3)
                    ),
                    None => missing_label(r),
                };
                AccuracyRow {
                    label,
                    color: style.color,
                    estimate,
                }
            })
            .collect();
        let baseline = s
            .baseline
            .as_ref()
            .map(|b| b.test_accuracy)
            .filter(|v| v.is_finite());
        let values = rows
            .iter()
            .filter_map(|r| r.estimate)
            .flat_map(|e| [e.mean, e.ci95[0], e.ci95[1]])
            .chain(baseline);
        let x = accuracy_axis(values, 0.08).unwrap_or_else(|| Axis::linear(0.0, 1.0));
        let mut y = Axis::linear(-0.5, rows.len() as f64 - 0.5);
        y.major.clear();
        let mut notes = vec![
            format!("{}; {}", experiment_line(s), dataset_line(s)),
            format!(
                "last checkpoint of each run; {} (mean and 95% CI over the replicates that did not diverge)",
                replicates_text(s)
            ),
        ];
        let mut long = Vec::new();
        for a in &s.accuracy {
            notes.push(format!(
                "accuracy claim (at n = {}, tolerance {}): {}",
                a.claim.n,
                short(a.claim.tolerance),
                a.verdict.kind
            ));
            if !a.claim.statement.is_empty() {
                long.push(format!("claim: {}", a.claim.statement));
            }
        }
        Some(Self {
            title: "Final test accuracy of each rule".into(),
            notes,
            long,
            rows,
            baseline,
            x,
            y,
        })
    }
}

impl Figure for AccuracyFigure {
    fn size(&self) -> (u32, u32) {
        (SIZE.0 + 200, SIZE.1.max(300 + 56 * self.rows.len() as u32))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let mut notes = self.notes.clone();
        for line in &self.long {
            notes.extend(wrapped(root, line, 2)?);
        }
        let body = header(root, &self.title, &notes)?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        let (x, y) = (&self.x, &self.y);
        let c = chart(
            &plot,
            x,
            y,
            "final test accuracy (mean, 95% CI over replicates)",
            "",
            None,
        )?;
        let area = c.plotting_area();
        let k = self.rows.len();
        for i in 0..k {
            let at = (k - 1 - i) as f64;
            path(
                area,
                vec![(x.lo, at), (x.hi, at)],
                stroke(BLACK.mix(0.08), 1),
                Dash::Solid,
            )?;
        }
        if let Some(b) = self.baseline.filter(|b| x.contains(*b)) {
            path(
                area,
                vec![(b, y.lo), (b, y.hi)],
                stroke(BASELINE_COLOR.to_rgba(), 2),
                Dash::Dashed,
            )?;
        }
        let (label_style, diverged_style) = (
            text(15.0).pos(Pos::new(HPos::Left, VPos::Center)),
            text(15.0)
                .color(&DIVERGED_COLOR)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        );
        for (i, row) in self.rows.iter().enumerate() {
            let at = (k - 1 - i) as f64;
            let Some(e) = row.estimate else {
                area.draw(
                    &(EmptyElement::at((x.lo, at))
                        + Text::new(row.label.clone(), (8, 0), diverged_style.clone())),
                )
                .map_err(msg)?;
                continue;
            };
            area.draw(
                &(EmptyElement::at((x.lo, at))
                    + Text::new(row.label.clone(), (8, -17), label_style.clone())),
            )
            .map_err(msg)?;
            let color = row.color.to_rgba();
            let (lo, hi) = (e.ci95[0].max(x.lo), e.ci95[1].min(x.hi));
            if hi > lo {
                path(
                    area,
                    vec![(lo, at), (hi, at)],
                    stroke(color, 2),
                    Dash::Solid,
                )?;
                for end in [lo, hi]
                    .into_iter()
                    .zip(e.ci95)
                    .filter(|(c, v)| c == v)
                    .map(|(c, _)| c)
                {
                    let cap = EmptyElement::at((end, at))
                        + PathElement::new(vec![(0, -6), (0, 6)], stroke(color, 2));
                    area.draw(&cap).map_err(msg)?;
                }
            }
            if x.contains(e.mean) {
                marker(area, (e.mean, at), Shape::Circle, color, 6)?;
            }
        }
        let mut entries = vec![Entry {
            glyph: Glyph::Marker {
                color: RGBColor(90, 90, 90).to_rgba(),
                shape: Shape::Circle,
                bar: true,
            },
            text: "dot: mean final test accuracy; whisker: its 95% CI over replicates".into(),
        }];
        if let Some(b) = self.baseline {
            entries.push(baseline_entry(b));
        }
        if self.rows.iter().any(|r| r.estimate.is_none()) {
            entries.push(Entry {
                glyph: Glyph::Letter("×"),
                text: "red text: every replicate diverged, no estimate".into(),
            });
        }
        legend(&side, &entries, 10)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Provenance;
    use crate::experiment::learning::{AccuracyClaim, DistanceClaim, RuleName};
    use crate::learning::baseline::Baseline;
    use crate::learning::study::{AccuracyReport, DatasetInfo, DistanceFit};
    use crate::stats::{Verdict, VerdictKind, fit_power_law};

    fn est(mean: f64, se: f64) -> Estimate {
        Estimate {
            mean,
            std_error: se,
            ci95: [mean - 1.96 * se, mean + 1.96 * se],
        }
    }

    /// A run whose accuracy rises towards `top` and whose loss decays, over `checkpoints` points.
    fn run(rule: &str, n: Option<u64>, top: f64, checkpoints: usize) -> RunRecord {
        let curve: Vec<CurvePoint> = (1..=checkpoints)
            .map(|k| {
                let t = k as f64 / checkpoints as f64;
                CurvePoint {
                    samples_seen: 50 * k,
                    train_loss: est(0.7 * (-2.0 * top * t).exp() + 1.0 - top, 0.01),
                    test_loss: est(0.7 * (-2.0 * top * t).exp() + 1.02 - top, 0.01),
                    test_accuracy: est(0.5 + (top - 0.5) * (1.0 - (-3.0 * t).exp()), 0.01),
                    distance_to_flow: (rule == "stdp").then(|| est(0.1 * t, 0.01)),
                }
            })
            .collect();
        let sup = match (rule, n) {
            ("stdp", Some(n)) if checkpoints > 0 => Some(est(2.0 / n as f64, 0.1 / n as f64)),
            _ => None,
        };
        RunRecord {
            rule: rule.into(),
            n,
            alpha_n: n.map(|_| 1.0),
            a_n: n.map(|n| 1.0 / (n as f64).sqrt()),
            replicates: 4,
            diverged: if checkpoints == 0 { 4 } else { 0 },
            samples: 500,
            loss_evaluations: 500 * (n.unwrap_or(0) + 1),
            gradient_evaluations: 500,
            seconds: 0.1,
            curve,
            sup_distance_to_flow: sup,
            final_test_accuracy: vec![Some(top); 4],
            accuracy_at_divergence: vec![None; 4],
        }
    }

    fn summary() -> LearningSummary {
        let mut runs = vec![run("stdp", Some(10), 0.9, 0)];
        for (n, top) in [(100, 0.88), (1000, 0.91), (3162, 0.92), (10000, 0.925)] {
            runs.push(run("stdp", Some(n), top, 10));
        }
        runs.push(run("flow", None, 0.93, 10));
        runs.push(run("sgd", None, 0.92, 10));
        runs.push(run("single-update", Some(1000), 0.7, 10));
        let fitted: Vec<&RunRecord> = runs
            .iter()
            .filter(|r| r.rule == "stdp" && r.n.is_some_and(|n| n >= 300))
            .collect();
        let x: Vec<f64> = fitted
            .iter()
            .filter_map(|r| r.n)
            .map(|n| n as f64)
            .collect();
        let y: Vec<f64> = fitted
            .iter()
            .filter_map(|r| r.sup_distance_to_flow)
            .map(|e| e.mean)
            .collect();
        let se: Vec<f64> = fitted
            .iter()
            .filter_map(|r| r.sup_distance_to_flow)
            .map(|e| e.std_error)
            .collect();
        let fit = fit_power_law(&x, &y, &se).expect("fit");
        LearningSummary {
            kind: "learning".into(),
            name: "synthetic-learning".into(),
            title: "Hand-made learning summary for the figure tests".into(),
            config: serde_json::Value::Null,
            provenance: Provenance {
                version: "0".into(),
                git_commit: None,
                seed: 1,
                threads: 1,
                seconds: 0.0,
                quick: true,
                started_unix: 0,
            },
            dataset: DatasetInfo {
                file: "data/synthetic.csv".into(),
                fnv1a: "0".into(),
                label: "y".into(),
                classes: vec!["0".into(), "1".into()],
                features: 4,
                rows: 500,
                train_rows: 400,
                test_rows: 100,
            },
            parameters: 5,
            kappa: 0.5,
            runs,
            distance_fit: Some(DistanceFit {
                n: x,
                fit: Some(fit),
                claim: Some(DistanceClaim {
                    slope: -1.0,
                    tolerance: 0.15,
                    expect: Some(VerdictKind::Holds),
                    statement: "the distance to the flow decays like 1/n".into(),
                    fit_from: Some(300.0),
                }),
                verdict: Some(Verdict {
                    kind: VerdictKind::Holds,
                    reason: "the whole 95% interval of the slope lies inside the band \
                             [-1.15, -0.85], which a long reason must wrap across lines"
                        .into(),
                }),
            }),
            accuracy: vec![AccuracyReport {
                claim: AccuracyClaim {
                    n: 1000,
                    n_explicit: true,
                    tolerance: 0.02,
                    against: vec![RuleName::Flow, RuleName::Sgd],
                    expect: Some(VerdictKind::Holds),
                    statement: "STDP at n = 1000 matches the flow and SGD".into(),
                },
                comparisons: Vec::new(),
                verdict: Verdict {
                    kind: VerdictKind::Holds,
                    reason: "synthetic".into(),
                },
            }],
            single_update: None,
            baseline: Some(Baseline {
                method: "L2 logistic regression (Newton)".into(),
                c: 1.0,
                coefficients: vec![0.0; 5],
                iterations: 6,
                train_accuracy: 0.94,
                test_accuracy: 0.935,
                test_loss: 0.2,
            }),
            verdict: None,
        }
    }

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "stdp-flow-learning-figures-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn read(dir: &Path, stem: &str, ext: &str) -> Vec<u8> {
        std::fs::read(dir.join(format!("{stem}.{ext}"))).expect("file written")
    }

    #[test]
    fn draws_every_figure_deterministically() {
        let s = summary();
        let dir = scratch("all");
        let stems = draw_all(&s, &dir).expect("draw");
        assert_eq!(
            stems,
            ["learning_curves", "distance_vs_n", "final_accuracy"]
        );
        let first: Vec<(Vec<u8>, Vec<u8>)> = stems
            .iter()
            .map(|t| (read(&dir, t, "png"), read(&dir, t, "svg")))
            .collect();
        for (png, svg) in &first {
            assert!(png.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]));
            assert!(png.len() > 1000 && svg.len() > 1000);
            assert!(String::from_utf8_lossy(svg).contains("<svg"));
        }
        let svg = |i: usize| String::from_utf8_lossy(&first[i].1).into_owned();
        // Legend text may wrap over several <text> elements; check fragments.
        assert!(svg(0).contains("stdp n=10: diverged in"));
        assert!(svg(0).contains("L2 logistic regression"));
        assert!(svg(1).contains("outside the fit range"));
        assert!(svg(1).contains("verdict: holds"));
        assert!(svg(2).contains("stdp n=10: diverged in 4/4 replicates"));
        draw_all(&s, &dir).expect("draw again");
        for (t, (png, svg)) in stems.iter().zip(&first) {
            assert!(
                read(&dir, t, "png") == *png,
                "{t}.png differs between two runs"
            );
            assert!(
                read(&dir, t, "svg") == *svg,
                "{t}.svg differs between two runs"
            );
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn missing_data_is_skipped() {
        let mut s = summary();
        s.distance_fit = None;
        s.accuracy = Vec::new();
        s.baseline = None;
        for r in s.runs.iter_mut().filter(|r| r.rule == "stdp").skip(2) {
            r.sup_distance_to_flow = None;
        }
        let dir = scratch("missing");
        let stems = draw_all(&s, &dir).expect("draw");
        assert_eq!(stems, ["learning_curves", "final_accuracy"]);
        for stem in &stems {
            assert!(!read(&dir, stem, "png").is_empty() && !read(&dir, stem, "svg").is_empty());
        }
        for r in &mut s.runs {
            r.curve.clear();
            r.diverged = r.replicates;
        }
        assert_eq!(draw_all(&s, &dir).expect("draw"), ["final_accuracy"]);
        s.runs.clear();
        assert!(draw_all(&s, &dir).expect("draw").is_empty());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn stdp_ramps_from_light_to_dark() {
        let s = summary();
        let st = styles(&s.runs);
        let stdp: Vec<RGBColor> = s
            .runs
            .iter()
            .zip(&st)
            .filter(|(r, _)| r.rule == "stdp")
            .map(|(_, s)| s.color)
            .collect();
        let lum = |c: &RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        assert!(stdp.windows(2).all(|w| lum(&w[0]) > lum(&w[1])));
        let flow = st[s.runs.iter().position(|r| r.rule == "flow").unwrap()];
        assert_eq!(flow.dash, Dash::Dashed);
    }
}
