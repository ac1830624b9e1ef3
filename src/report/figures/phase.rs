//! The phase diagram (`phase`): the fitted error slope over the (beta, gamma) grid.

use super::{distinct, experiment_line};
use crate::analysis::{PhaseCell, Summary};
use crate::error::Error;
use crate::report::format::{num, short};
use crate::report::plot::{
    Axis, Chart, Dash, Entry, Figure, Glyph, LEGEND_WIDTH, P, Shape, chart, clip_polyline, header,
    legend, marker, msg, path, stroke, text,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// `phase`: the fitted error slope over the (beta, gamma) grid as a heat map, with the lines
/// beta + 2 gamma = 1 and = 1/2 and the paper's two scalings. Returns `false` without a grid.
pub(super) fn phase(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    crate::report::plot::write(PhaseFigure::new(summary), dir, "phase")
}

/// The grid's cells, its distinct beta and gamma, the axes and the colour scale's bound.
struct PhaseFigure {
    title: String,
    notes: Vec<String>,
    cells: Vec<PhaseCell>,
    betas: Vec<f64>,
    gammas: Vec<f64>,
    x: Axis,
    y: Axis,
    vmax: f64,
}

/// A cell's label, placed at its centre shifted by `dy` pixels, on a backdrop of its colour.
struct Label {
    at: P,
    dy: i32,
    half_width: i32,
    half_height: i32,
    fill: RGBColor,
    text: String,
    style: TextStyle<'static>,
}

/// The paper's first version, beta = 0, gamma = 1/3 (eq. 3.3).
const FIRST_VERSION: P = (0.0, 1.0 / 3.0);
/// The corrected scaling, beta = 0, gamma = 1/2.
const CORRECTED: P = (0.0, 0.5);

/// The critical lines beta + 2 gamma = level: level, dash, legend text.
const LINES: [(f64, Dash, &str); 2] = [
    (1.0, Dash::Solid, "drift finite: β+2γ=1"),
    (0.5, Dash::Dashed, "noise vanishes above: β+2γ=1/2"),
];

/// The paper's two scalings: where, shape, colour, legend text.
const POINTS: [(P, Shape, RGBColor, &str); 2] = [
    (
        FIRST_VERSION,
        Shape::Star,
        RGBColor(255, 200, 0),
        "first version (3.3): β = 0, γ = 1/3",
    ),
    (
        CORRECTED,
        Shape::Diamond,
        RGBColor(44, 160, 44),
        "corrected: β = 0, γ = 1/2",
    ),
];

/// Cell edges around sorted grid values: midpoints inside, half a spacing outside.
fn edges(v: &[f64]) -> Vec<f64> {
    match v.len() {
        0 => Vec::new(),
        1 => vec![v[0] - 0.05, v[0] + 0.05],
        n => {
            let mut e = vec![v[0] - (v[1] - v[0]) / 2.0];
            e.extend(v.windows(2).map(|w| (w[0] + w[1]) / 2.0));
            e.push(v[n - 1] + (v[n - 1] - v[n - 2]) / 2.0);
            e
        }
    }
}

/// The edges of the cell of grid value `v`.
fn cell_span(grid: &[f64], e: &[f64], v: f64) -> Option<(f64, f64)> {
    let i = grid
        .iter()
        .position(|g| (g - v).abs() <= 1e-12 * (1.0 + v.abs()))?;
    Some((e[i], e[i + 1]))
}

/// A blue–white–red scale for t in [-1, 1] (negative: the error decays).
fn diverging(t: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (-1.0, [33.0, 102.0, 172.0]),
        (-0.5, [146.0, 197.0, 222.0]),
        (0.0, [247.0, 247.0, 247.0]),
        (0.5, [244.0, 165.0, 130.0]),
        (1.0, [178.0, 24.0, 43.0]),
    ];
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let k = STOPS.windows(2).position(|w| t <= w[1].0).unwrap_or(3);
    let ((t0, a), (t1, b)) = (STOPS[k], STOPS[k + 1]);
    let f = (t - t0) / (t1 - t0);
    let mix = |i: usize| (a[i] + f * (b[i] - a[i])).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

/// The letter of a drift class in the cell labels.
fn class_initial(c: &str) -> &'static str {
    match c {
        "converges" => "C",
        "freezes" => "F",
        "explodes" => "E",
        _ => "?",
    }
}

impl PhaseFigure {
    fn new(s: &Summary) -> Option<Self> {
        let cells: Vec<PhaseCell> = s
            .phase
            .iter()
            .filter(|c| c.beta.is_finite() && c.gamma.is_finite())
            .cloned()
            .collect();
        if cells.is_empty() {
            return None;
        }
        let betas = distinct(cells.iter().map(|c| c.beta));
        let gammas = distinct(cells.iter().map(|c| c.gamma));
        let (eb, eg) = (edges(&betas), edges(&gammas));
        let xs = eb.iter().copied().chain([FIRST_VERSION.0, CORRECTED.0]);
        let ys = eg.iter().copied().chain([FIRST_VERSION.1, CORRECTED.1]);
        let (mut x, mut y) = (Axis::linear_over(xs, 0.04)?, Axis::linear_over(ys, 0.04)?);
        if betas.len() <= 12 {
            x.major = betas.clone();
        }
        if gammas.len() <= 12 {
            y.major = gammas.clone();
        }
        let largest = cells
            .iter()
            .filter_map(|c| c.error_slope.as_ref())
            .map(|f| f.slope.abs())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let vmax = ((largest * 2.0).ceil() / 2.0).max(0.5);
        Some(Self {
            title: "Phase diagram: rate of the error over αₙ = α n^−β, Aₙ = A n^−γ".into(),
            notes: vec![
                experiment_line(s),
                "cells: fitted slope of E supₜ |Zⁿₜ − Zₜ|² in n (colour, number) and class of the realised drift (letter)".into(),
            ],
            cells,
            betas,
            gammas,
            x,
            y,
            vmax,
        })
    }

    /// Fills each cell with the colour of its slope; returns their labels, to draw last.
    fn draw_cells<DB: DrawingBackend>(&self, c: &Chart<DB>) -> Result<Vec<Label>, String> {
        let area = c.plotting_area();
        let (eb, eg) = (edges(&self.betas), edges(&self.gammas));
        let mut labels = Vec::new();
        for cell in &self.cells {
            let (Some((b0, b1)), Some((g0, g1))) = (
                cell_span(&self.betas, &eb, cell.beta),
                cell_span(&self.gammas, &eg, cell.gamma),
            ) else {
                continue;
            };
            let slope = cell
                .error_slope
                .as_ref()
                .map(|f| f.slope)
                .filter(|v| v.is_finite());
            let fill = slope.map_or(RGBColor(190, 190, 190), |v| diverging(v / self.vmax));
            area.draw(&Rectangle::new([(b0, g0), (b1, g1)], fill.filled()))
                .map_err(msg)?;
            area.draw(&Rectangle::new(
                [(b0, g0), (b1, g1)],
                stroke(WHITE.to_rgba(), 2),
            ))
            .map_err(msg)?;
            let text = format!(
                "{} {}",
                slope.map_or("n/a".to_string(), |v| num(v, 2)),
                class_initial(&cell.drift_class)
            );
            labels.push(cell_label(c, [b0, b1, g0, g1], fill, text)?);
        }
        Ok(labels)
    }

    /// The critical lines, across the whole plot.
    fn draw_lines<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Cartesian2d<Axis, Axis>>,
    ) -> Result<(), String> {
        let far = (self.x.hi - self.x.lo).abs() + 1.0;
        for (level, dash, _) in LINES {
            let seg = [
                (self.x.lo - far, (level - self.x.lo + far) / 2.0),
                (self.x.hi + far, (level - self.x.hi - far) / 2.0),
            ];
            for piece in clip_polyline(&self.x, &self.y, &seg) {
                path(area, piece, stroke(BLACK.to_rgba(), 3), dash)?;
            }
        }
        Ok(())
    }

    /// The colour scale of the slopes and the grey of "no fit"; returns the y below it.
    fn colour_bar<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        top: i32,
    ) -> Result<i32, String> {
        let (x0, x1, h) = (20, 48, 170);
        let style = text(15.0);
        area.draw(&Text::new(
            "error slope in n",
            (12, top),
            style.pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(msg)?;
        let y0 = top + 32;
        for k in 0..h {
            let t = 1.0 - 2.0 * f64::from(k) / f64::from(h - 1);
            area.draw(&Rectangle::new(
                [(x0, y0 + k), (x1, y0 + k + 1)],
                diverging(t).filled(),
            ))
            .map_err(msg)?;
        }
        area.draw(&Rectangle::new(
            [(x0, y0), (x1, y0 + h)],
            stroke(BLACK.mix(0.6), 1),
        ))
        .map_err(msg)?;
        self.colour_ticks(area, (x1, y0, h))?;
        area.draw(&Rectangle::new(
            [(x0, y0 + h + 14), (x1, y0 + h + 30)],
            RGBColor(190, 190, 190).filled(),
        ))
        .map_err(msg)?;
        area.draw(&Text::new(
            "no fit",
            (x1 + 10, y0 + h + 22),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(msg)?;
        Ok(y0 + h + 44)
    }

    /// Five ticks and labels right of the colour bar whose right edge is x1, top y0, height h.
    fn colour_ticks<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        (x1, y0, h): (i32, i32, i32),
    ) -> Result<(), String> {
        let style = text(15.0);
        for j in 0..=4 {
            let t = 1.0 - f64::from(j) / 2.0;
            let y = y0 + ((1.0 - t) / 2.0 * f64::from(h - 1)).round() as i32;
            path(
                area,
                vec![(x1, y), (x1 + 6, y)],
                stroke(BLACK.to_rgba(), 1),
                Dash::Solid,
            )?;
            let label = if j == 0 {
                format!("+{} (grows)", short(self.vmax))
            } else if j == 4 {
                format!("{} (decays)", short(-self.vmax))
            } else {
                short(t * self.vmax)
            };
            area.draw(&Text::new(
                label,
                (x1 + 10, y),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(msg)?;
        }
        Ok(())
    }
}

/// The label of the cell [b0, b1] x [g0, g1]: sized to the cell, in ink that reads on its
/// fill, moved up or down off the paper's markers when one lies in the cell.
fn cell_label<DB: DrawingBackend>(
    c: &Chart<DB>,
    [b0, b1, g0, g1]: [f64; 4],
    fill: RGBColor,
    label_text: String,
) -> Result<Label, String> {
    let area = c.plotting_area();
    let (p0, p1) = (c.backend_coord(&(b0, g0)), c.backend_coord(&(b1, g1)));
    let (pw, ph) = ((p1.0 - p0.0).abs(), (p1.1 - p0.1).abs());
    let size = (f64::from(pw.min(ph * 2)) / 5.0).clamp(10.0, 20.0);
    let luminance =
        0.299 * f64::from(fill.0) + 0.587 * f64::from(fill.1) + 0.114 * f64::from(fill.2);
    let ink: &'static RGBColor = if luminance < 120.0 { &WHITE } else { &BLACK };
    let style = text(size)
        .color(ink)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let (tw, th) = area.estimate_text_size(&label_text, &style).map_err(msg)?;
    let at = ((b0 + b1) / 2.0, (g0 + g1) / 2.0);
    let centre = c.backend_coord(&at).1;
    let inside =
        |m: &&P| b0.min(b1) <= m.0 && m.0 <= b0.max(b1) && g0.min(g1) <= m.1 && m.1 <= g0.max(g1);
    let marks: Vec<i32> = [FIRST_VERSION, CORRECTED]
        .iter()
        .filter(inside)
        .map(|m| c.backend_coord(m).1 - centre)
        .collect();
    let shift = (f64::from(ph) * 0.3).round() as i32;
    let clearance = |d: &i32| marks.iter().map(|m| (m - d).abs()).min().unwrap_or(0);
    let dy = if marks.is_empty() {
        0
    } else {
        [-shift, shift]
            .into_iter()
            .max_by_key(clearance)
            .unwrap_or(shift)
    };
    Ok(Label {
        at,
        dy,
        half_width: tw as i32 / 2 + 4,
        half_height: th as i32 / 2 + 3,
        fill,
        text: label_text,
        style,
    })
}

/// The labels, each on a backdrop of its cell's colour.
fn draw_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Cartesian2d<Axis, Axis>>,
    labels: Vec<Label>,
) -> Result<(), String> {
    for l in labels {
        let (tw, th, dy) = (l.half_width, l.half_height, l.dy);
        let backdrop = EmptyElement::at(l.at)
            + Rectangle::new([(-tw, dy - th), (tw, dy + th)], l.fill.mix(0.85).filled());
        area.draw(&backdrop).map_err(msg)?;
        area.draw(&(EmptyElement::at(l.at) + Text::new(l.text, (0, dy), l.style)))
            .map_err(msg)?;
    }
    Ok(())
}

/// The legend: the lines, the paper's scalings and the letters of the drift classes.
fn entries() -> Vec<Entry> {
    let mut entries: Vec<Entry> = LINES
        .iter()
        .map(|(_, dash, t)| Entry {
            glyph: Glyph::Line {
                color: BLACK.to_rgba(),
                width: 3,
                dash: *dash,
            },
            text: t.to_string(),
        })
        .collect();
    entries.extend(POINTS.iter().map(|(_, shape, color, t)| Entry {
        glyph: Glyph::Marker {
            color: color.to_rgba(),
            shape: *shape,
            bar: false,
        },
        text: t.to_string(),
    }));
    for (letter, meaning) in [
        ("C", "converges"),
        ("F", "freezes (→ 0)"),
        ("E", "explodes"),
        ("?", "unclear"),
    ] {
        entries.push(Entry {
            glyph: Glyph::Letter(letter),
            text: format!("realised drift {meaning}"),
        });
    }
    entries
}

impl Figure for PhaseFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = header(root, &self.title, &self.notes)?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        let c = chart(
            &plot,
            &self.x,
            &self.y,
            "β  (αₙ = α n^−β)",
            "γ  (Aₙ = A n^−γ)",
            None,
        )?;
        let area = c.plotting_area();
        let labels = self.draw_cells(&c)?;
        self.draw_lines(area)?;
        for (at, shape, color, _) in POINTS {
            marker(area, at, shape, color.to_rgba(), 9)?;
        }
        draw_labels(area, labels)?;
        let y = self.colour_bar(&side, 10)?;
        legend(&side, &entries(), y)?;
        Ok(())
    }
}
