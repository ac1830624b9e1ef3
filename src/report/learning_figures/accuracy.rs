//! `final_accuracy`: the final test accuracy of every run, one row each, against the baseline.

use super::{
    BASELINE_COLOR, accuracy_axis, baseline_accuracy, baseline_entry, dataset_line,
    experiment_line, finite, missing_label, replicates_text, run_label, styles, wrapped,
};
use crate::error::Error;
use crate::learning::study::LearningSummary;
use crate::report::format::{num, short};
use crate::report::plot::{
    Axis, Dash, Entry, Figure, Glyph, LEGEND_WIDTH, SIZE, Shape, chart, header, legend, marker,
    msg, path, stroke, text, write,
};
use crate::stats::Estimate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// `final_accuracy`: the final test accuracy of every run with its 95% interval, against the
/// logistic-regression baseline. Returns `false` without runs.
pub(super) fn final_accuracy(summary: &LearningSummary, dir: &Path) -> Result<bool, Error> {
    write(AccuracyFigure::new(summary), dir, "final_accuracy")
}

/// The colour of the text of a run without an estimate.
const DIVERGED_COLOR: RGBColor = RGBColor(178, 24, 43);

/// One run: its label (with the estimate) and colour, and the estimate if there is one.
struct AccuracyRow {
    label: String,
    color: RGBColor,
    estimate: Option<Estimate>,
}

/// The rows top-down, the baseline, and the axes: accuracy on x, the row index on y.
struct AccuracyFigure {
    title: String,
    notes: Vec<String>,
    long: Vec<String>,
    rows: Vec<AccuracyRow>,
    baseline: Option<f64>,
    x: Axis,
    y: Axis,
}

type Plot<DB> = DrawingArea<DB, Cartesian2d<Axis, Axis>>;

/// One row per run, with the last checkpoint's finite test accuracy.
fn accuracy_rows(s: &LearningSummary) -> Vec<AccuracyRow> {
    s.runs
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
        .collect()
}

/// The notes (experiment, checkpoint, accuracy claims) and the claims' statements, to be
/// wrapped.
fn accuracy_notes(s: &LearningSummary) -> (Vec<String>, Vec<String>) {
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
    (notes, long)
}

impl AccuracyFigure {
    fn new(s: &LearningSummary) -> Option<Self> {
        if s.runs.is_empty() {
            return None;
        }
        let rows = accuracy_rows(s);
        let baseline = baseline_accuracy(s);
        let values = rows
            .iter()
            .filter_map(|r| r.estimate)
            .flat_map(|e| [e.mean, e.ci95[0], e.ci95[1]])
            .chain(baseline);
        let x = accuracy_axis(values, 0.08).unwrap_or_else(|| Axis::linear(0.0, 1.0));
        let mut y = Axis::linear(-0.5, rows.len() as f64 - 0.5);
        y.major.clear();
        let (notes, long) = accuracy_notes(s);
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

    /// A faint line along each row and the baseline across them.
    fn draw_grid<DB: DrawingBackend>(&self, area: &Plot<DB>) -> Result<(), String> {
        let (x, y) = (&self.x, &self.y);
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
        Ok(())
    }

    /// Row `row` at height `at`: its label above a whisker and dot, or its label in red when it
    /// has no estimate.
    fn draw_row<DB: DrawingBackend>(
        &self,
        area: &Plot<DB>,
        row: &AccuracyRow,
        at: f64,
    ) -> Result<(), String> {
        let x = &self.x;
        let left = Pos::new(HPos::Left, VPos::Center);
        let Some(e) = row.estimate else {
            let style = text(15.0).color(&DIVERGED_COLOR).pos(left);
            let label = Text::new(row.label.clone(), (8, 0), style);
            return area
                .draw(&(EmptyElement::at((x.lo, at)) + label))
                .map_err(msg);
        };
        let label = Text::new(row.label.clone(), (8, -17), text(15.0).pos(left));
        area.draw(&(EmptyElement::at((x.lo, at)) + label))
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
        Ok(())
    }

    /// The dot and whisker, the baseline, and the red text's meaning when a run has none.
    fn entries(&self) -> Vec<Entry> {
        let mut entries = vec![Entry {
            glyph: Glyph::Marker {
                color: RGBColor(90, 90, 90).to_rgba(),
                shape: Shape::Circle,
                bar: true,
            },
            text: "dot: mean final test accuracy; whisker: its 95% CI over replicates".into(),
        }];
        entries.extend(self.baseline.map(baseline_entry));
        if self.rows.iter().any(|r| r.estimate.is_none()) {
            entries.push(Entry {
                glyph: Glyph::Letter("×"),
                text: "red text: every replicate diverged, no estimate".into(),
            });
        }
        entries
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
        let c = chart(
            &plot,
            &self.x,
            &self.y,
            "final test accuracy (mean, 95% CI over replicates)",
            "",
            None,
        )?;
        let area = c.plotting_area();
        self.draw_grid(area)?;
        let k = self.rows.len();
        for (i, row) in self.rows.iter().enumerate() {
            self.draw_row(area, row, (k - 1 - i) as f64)?;
        }
        legend(&side, &self.entries(), 10)?;
        Ok(())
    }
}
