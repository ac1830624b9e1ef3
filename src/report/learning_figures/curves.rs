//! `learning_curves`: test accuracy and training loss against samples seen, side by side.

use super::{
    BASELINE_COLOR, Style, accuracy_axis, baseline_accuracy, baseline_entry, dataset_line, finite,
    missing_label, replicates_text, run_label, styles,
};
use crate::error::Error;
use crate::learning::study::{CurvePoint, LearningSummary};
use crate::report::plot::{
    Axis, Dash, Entry, Figure, Glyph, LEGEND_WIDTH, P, Shape, bounds, chart, clip_polygon,
    clip_polyline, header, legend, marker, msg, path, stroke, write,
};
use crate::stats::Estimate;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// `learning_curves`: test accuracy and training loss against samples seen, one line per rule
/// (and n) with its 95% band over replicates, and the logistic-regression baseline. Returns
/// `false` when no run has a curve.
pub(super) fn learning_curves(summary: &LearningSummary, dir: &Path) -> Result<bool, Error> {
    write(CurvesFigure::new(summary), dir, "learning_curves")
}

/// One run's curves.
struct Series {
    label: String,
    style: Style,
    /// (samples seen, test accuracy).
    accuracy: Vec<(f64, Estimate)>,
    /// (samples seen, training loss).
    loss: Vec<(f64, Estimate)>,
}

/// The runs with a curve, the labels of those without, and the shared axes.
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

/// The opacity of a run's 95% band: light, so that overlapping bands do not hide the curves.
const BAND: f64 = 0.09;

/// A series' points on one panel.
type Values = fn(&Series) -> &Vec<(f64, Estimate)>;

/// The runs with a finite curve point, and the labels of the runs without.
fn collect_series(s: &LearningSummary) -> (Vec<Series>, Vec<String>) {
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
    (series, missing)
}

/// A log axis when every mean loss is positive (lower ends kept above 0.3 of the mean), else
/// linear.
fn loss_axis(series: &[Series]) -> Option<Axis> {
    let losses = || series.iter().flat_map(|s| s.loss.iter().map(|(_, e)| e));
    if losses().all(|e| e.mean > 0.0) {
        Axis::log_over(losses().flat_map(|e| [e.mean, e.ci95[0].max(0.3 * e.mean), e.ci95[1]]))
    } else {
        Axis::linear_over(losses().flat_map(|e| [e.mean, e.ci95[0], e.ci95[1]]), 0.05)
    }
}

/// The dataset and replicates, and how single-update runs are placed on x.
fn curves_notes(s: &LearningSummary) -> Vec<String> {
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
    notes
}

impl CurvesFigure {
    fn new(s: &LearningSummary) -> Option<Self> {
        let (series, missing) = collect_series(s);
        let all = |f: Values| series.iter().flat_map(move |s| f(s).iter()).copied();
        let (_, x_hi) = bounds(all(|s| &s.accuracy).chain(all(|s| &s.loss)).map(|(x, _)| x))?;
        let x = Axis::linear(0.0, x_hi.max(1.0) * 1.02);
        let baseline = baseline_accuracy(s);
        let accuracy = accuracy_axis(
            all(|s| &s.accuracy)
                .flat_map(|(_, e)| [e.mean, e.ci95[0], e.ci95[1]])
                .chain(baseline),
            0.05,
        )?;
        let loss = loss_axis(&series)?;
        let title = if s.title.is_empty() {
            s.name.clone()
        } else {
            s.title.clone()
        };
        Some(Self {
            title,
            notes: curves_notes(s),
            series,
            missing,
            baseline,
            x,
            accuracy,
            loss,
        })
    }

    /// One panel: the bands, the baseline, then the mean curves.
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y: &Axis,
        (y_desc, caption): (&str, &str),
        values: Values,
        baseline: Option<f64>,
    ) -> Result<(), String> {
        let x = &self.x;
        let c = chart(area, x, y, "samples seen", y_desc, Some(caption))?;
        let plot = c.plotting_area();
        self.draw_bands(plot, y, values)?;
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

    /// Each series' 95% band, lightly shaded.
    fn draw_bands<DB: DrawingBackend>(
        &self,
        plot: &DrawingArea<DB, Cartesian2d<Axis, Axis>>,
        y: &Axis,
        values: Values,
    ) -> Result<(), String> {
        let x = &self.x;
        // On a log axis a band's non-positive lower edge goes below the axis, to be clipped.
        let floor = |v: f64| if y.log && v <= 0.0 { y.lo / 10.0 } else { v };
        for s in &self.series {
            let pts = values(s);
            let upper = pts.iter().map(|(t, e)| (*t, floor(e.ci95[1])));
            let lower = pts.iter().rev().map(|(t, e)| (*t, floor(e.ci95[0])));
            let polygon: Vec<P> = upper.chain(lower).collect();
            let clipped = clip_polygon(x, y, &polygon);
            if pts.len() >= 2 && clipped.len() >= 3 {
                plot.draw(&Polygon::new(clipped, s.style.color.mix(BAND).filled()))
                    .map_err(msg)?;
            }
        }
        Ok(())
    }

    /// The runs, the runs without a curve, the band and the baseline.
    fn entries(&self) -> Vec<Entry> {
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
            glyph: Glyph::Patch(RGBColor(90, 90, 90).mix(2.0 * BAND)),
            text: "shaded: 95% CI over replicates".into(),
        });
        entries.extend(self.baseline.map(baseline_entry));
        entries
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
        let accuracy = ("test accuracy", "Test accuracy");
        self.panel(
            &left,
            &self.accuracy,
            accuracy,
            |s| &s.accuracy,
            self.baseline,
        )?;
        let loss_desc = if self.loss.log {
            "training loss (log scale)"
        } else {
            "training loss"
        };
        let loss = (loss_desc, "Training loss");
        self.panel(&right, &self.loss, loss, |s| &s.loss, None)?;
        legend(&side, &self.entries(), 10)?;
        Ok(())
    }
}
