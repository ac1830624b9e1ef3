//! The phase diagram (`phase`): the fitted error slope over the (beta, gamma) grid. A cell's hue
//! is the regime of its realised drift (converges, freezes, explodes), its shade the error slope;
//! hatching marks the cells where the noise does not vanish. The critical lines and the paper's
//! two scalings are drawn where they are, and the cell labels are placed clear of them.

mod labels;
mod legend;

use super::{distinct, experiment_line};
use crate::error::Error;
use crate::report::format::{num, short};
use crate::report::plot::{
    Axis, Chart, Dash, Figure, LEGEND_WIDTH, P, SIZE, Shape, chart, clip_polyline, hatch, header,
    marker_halo, msg, path, stroke, write,
};
use crate::results::{DriftClass, PhaseCell, Summary};
use labels::{Obstacles, Pixels};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// `phase`: the fitted error slope over the (beta, gamma) grid, coloured by the regime of the
/// realised drift, with the lines beta + 2 gamma = 1 and = 1/2 and the paper's two scalings.
/// Returns `false` without a grid.
pub(super) fn phase(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(PhaseFigure::new(summary), dir, "phase")
}

/// The regime of a cell's realised drift (its class in the summary), each with a hue family.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Regime {
    Converges,
    Freezes,
    Explodes,
    Unclear,
}

impl Regime {
    const ALL: [Regime; 4] = [
        Regime::Converges,
        Regime::Freezes,
        Regime::Explodes,
        Regime::Unclear,
    ];

    fn of(class: &DriftClass) -> Self {
        match class {
            DriftClass::Converges => Self::Converges,
            DriftClass::Freezes => Self::Freezes,
            DriftClass::Explodes => Self::Explodes,
            DriftClass::Unclear => Self::Unclear,
        }
    }

    /// The letter in the cell labels.
    fn letter(self) -> &'static str {
        match self {
            Self::Converges => "C",
            Self::Freezes => "F",
            Self::Explodes => "E",
            Self::Unclear => "?",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Self::Converges => "realised drift converges",
            Self::Freezes => "realised drift freezes (→ 0)",
            Self::Explodes => "realised drift explodes",
            Self::Unclear => "realised drift unclear",
        }
    }

    /// The colour at `shade` in [0, 1], from the lightest (0) to the darkest (1) of the family:
    /// greens, blues, oranges or greys.
    fn colour(self, shade: f64) -> RGBColor {
        let (light, dark) = match self {
            Self::Converges => ([199.0, 233.0, 192.0], [0.0, 90.0, 50.0]),
            Self::Freezes => ([198.0, 219.0, 239.0], [8.0, 48.0, 107.0]),
            Self::Explodes => ([253.0, 208.0, 162.0], [166.0, 54.0, 3.0]),
            Self::Unclear => ([217.0, 217.0, 217.0], [82.0, 82.0, 82.0]),
        };
        let t = shade.clamp(0.0, 1.0);
        let mix = |i: usize| (light[i] + t * (dark[i] - light[i])).round() as u8;
        RGBColor(mix(0), mix(1), mix(2))
    }
}

/// The shade scale of the error slopes: `lo` (the error decays fastest) darkest, `hi` lightest.
#[derive(Clone, Copy, Debug)]
struct Shades {
    lo: f64,
    hi: f64,
}

impl Shades {
    /// The range of the slopes, widened to multiples of 1/2.
    fn over(slopes: impl Iterator<Item = f64>) -> Self {
        let (lo, hi) = slopes
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo > hi {
            return Self { lo: -1.0, hi: 0.0 };
        }
        let (lo, hi) = ((lo * 2.0).floor() / 2.0, (hi * 2.0).ceil() / 2.0);
        Self {
            lo,
            hi: if hi > lo { hi } else { lo + 0.5 },
        }
    }

    /// The shade of a slope, 0 (lightest) without one.
    fn of(&self, slope: Option<f64>) -> f64 {
        slope.map_or(0.0, |v| {
            ((self.hi - v) / (self.hi - self.lo)).clamp(0.0, 1.0)
        })
    }
}

/// One of the paper's scalings, drawn at its (beta, gamma).
struct Mark {
    at: P,
    shape: Shape,
    color: RGBColor,
    text: &'static str,
}

/// The paper's first version, beta = 0, gamma = 1/3 (eq. 3.3), and the corrected scaling.
const MARKS: [Mark; 2] = [
    Mark {
        at: (0.0, 1.0 / 3.0),
        shape: Shape::Star,
        color: RGBColor(255, 200, 0),
        text: "first version (3.3): β = 0, γ = 1/3",
    },
    Mark {
        at: (0.0, 0.5),
        shape: Shape::Diamond,
        color: RGBColor(190, 40, 150),
        text: "corrected: β = 0, γ = 1/2",
    },
];

/// The radius of the marks, in pixels.
const MARK_RADIUS: i32 = 9;

/// The critical lines beta + 2 gamma = level: level, dash, legend text.
const LINES: [(f64, Dash, &str); 2] = [
    (1.0, Dash::Solid, "drift finite: β+2γ=1"),
    (0.5, Dash::Dashed, "noise vanishes above: β+2γ=1/2"),
];

/// A cell as drawn: its edges [b0, b1, g0, g1], fill, label and whether its noise stays.
struct Tile {
    edges: [f64; 4],
    fill: RGBColor,
    label: String,
    noisy: bool,
}

/// The grid's cells, its distinct beta and gamma, the axes and the shade scale.
struct PhaseFigure {
    title: String,
    notes: Vec<String>,
    cells: Vec<PhaseCell>,
    betas: Vec<f64>,
    gammas: Vec<f64>,
    x: Axis,
    y: Axis,
    shades: Shades,
}

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

/// The index of grid value `v`.
fn grid_index(grid: &[f64], v: f64) -> Option<usize> {
    grid.iter()
        .position(|g| (g - v).abs() <= 1e-12 * (1.0 + v.abs()))
}

/// The grid values as ticks, with the marks' values that fall between them.
fn ticks_with_marks(grid: &[f64], marks: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut t = grid.to_vec();
    t.extend(marks.filter(|m| grid_index(grid, *m).is_none()));
    t.sort_by(f64::total_cmp);
    t
}

/// Which reference flow the cells' errors are measured against, from the experiment's
/// `reference.drift`.
fn reference_note(s: &Summary) -> Option<String> {
    let drift = s.config.get("reference")?.get("drift")?;
    let what = match drift.as_str() {
        Some("exact") => {
            "κₙ = n αₙ c(Aₙ), the drift constant realised at that n, not a limit κ".to_string()
        }
        Some("limit") => "the limit κ = (2/3)αA²".to_string(),
        Some("paper") => "the first version's κ = 4α (3.5)".to_string(),
        _ => format!("κ = {}", short(drift.as_f64()?)),
    };
    Some(format!("each cell's reference flow uses {what}"))
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
        let xs = eb.iter().copied().chain(MARKS.iter().map(|m| m.at.0));
        let ys = eg.iter().copied().chain(MARKS.iter().map(|m| m.at.1));
        let (mut x, mut y) = (Axis::linear_over(xs, 0.04)?, Axis::linear_over(ys, 0.04)?);
        if betas.len() <= 12 {
            x.major = ticks_with_marks(&betas, MARKS.iter().map(|m| m.at.0));
        }
        if gammas.len() <= 12 {
            y.major = ticks_with_marks(&gammas, MARKS.iter().map(|m| m.at.1));
        }
        let shades = Shades::over(
            cells
                .iter()
                .filter_map(|c| c.error_slope.as_ref())
                .map(|f| f.slope),
        );
        let mut notes = vec![
            experiment_line(s),
            "cells: fitted slope of E supₜ |Zⁿₜ − Zₜ|² in n (number; darker: faster decay), hue and letter: regime of the realised drift".into(),
        ];
        notes.extend(reference_note(s));
        Some(Self {
            title: "Phase diagram: rate of the error over αₙ = α n^−β, Aₙ = A n^−γ".into(),
            notes,
            cells,
            betas,
            gammas,
            x,
            y,
            shades,
        })
    }

    /// Each cell's edges, colour and label.
    fn tiles(&self) -> Vec<Tile> {
        let (eb, eg) = (edges(&self.betas), edges(&self.gammas));
        let span = |grid: &[f64], e: &[f64], v: f64| grid_index(grid, v).map(|i| (e[i], e[i + 1]));
        self.cells
            .iter()
            .filter_map(|cell| {
                let (b0, b1) = span(&self.betas, &eb, cell.beta)?;
                let (g0, g1) = span(&self.gammas, &eg, cell.gamma)?;
                let slope = cell
                    .error_slope
                    .as_ref()
                    .map(|f| f.slope)
                    .filter(|v| v.is_finite());
                let regime = Regime::of(&cell.drift_class);
                Some(Tile {
                    edges: [b0, b1, g0, g1],
                    fill: regime.colour(self.shades.of(slope)),
                    label: format!(
                        "{} {}",
                        slope.map_or("n/a".to_string(), |v| num(v, 2)),
                        regime.letter()
                    ),
                    noisy: cell.predicted_noise_exponent >= -1e-9,
                })
            })
            .collect()
    }

    /// The regimes that occur, in the legend's order.
    fn regimes(&self) -> Vec<Regime> {
        Regime::ALL
            .into_iter()
            .filter(|r| self.cells.iter().any(|c| Regime::of(&c.drift_class) == *r))
            .collect()
    }

    /// Whether a mark lies on a grid value in both coordinates.
    fn on_grid(&self, m: &Mark) -> bool {
        grid_index(&self.betas, m.at.0).is_some() && grid_index(&self.gammas, m.at.1).is_some()
    }

    /// The two points of the critical line beta + 2 gamma = level, beyond the plot on each side.
    fn line(&self, level: f64) -> [P; 2] {
        let far = (self.x.hi - self.x.lo).abs() + 1.0;
        [
            (self.x.lo - far, (level - self.x.lo + far) / 2.0),
            (self.x.hi + far, (level - self.x.hi - far) / 2.0),
        ]
    }

    /// Dotted guides from the axes to a mark that lies between grid values, in data coordinates.
    fn guides(&self) -> Vec<[P; 2]> {
        let mut g = Vec::new();
        for m in &MARKS {
            if grid_index(&self.gammas, m.at.1).is_none() {
                g.push([(self.x.lo, m.at.1), m.at]);
            }
            if grid_index(&self.betas, m.at.0).is_none() {
                g.push([(m.at.0, self.y.lo), m.at]);
            }
        }
        g
    }

    /// Fills the cells, white borders between them, hatching where the noise does not vanish.
    fn draw_tiles<DB: DrawingBackend>(&self, c: &Chart<DB>, tiles: &[Tile]) -> Result<(), String> {
        let area = c.plotting_area();
        for t in tiles {
            let [b0, b1, g0, g1] = t.edges;
            area.draw(&Rectangle::new([(b0, g0), (b1, g1)], t.fill.filled()))
                .map_err(msg)?;
            if t.noisy {
                let (p0, p1) = (c.backend_coord(&(b0, g1)), c.backend_coord(&(b1, g0)));
                let size = ((p1.0 - p0.0).abs(), (p1.1 - p0.1).abs());
                hatch(area, (b0, g1), size, 9, stroke(BLACK.mix(0.3), 1))?;
            }
            area.draw(&Rectangle::new(
                [(b0, g0), (b1, g1)],
                stroke(WHITE.to_rgba(), 2),
            ))
            .map_err(msg)?;
        }
        Ok(())
    }

    /// The critical lines, the guides to off-grid marks, then the marks.
    fn draw_overlay<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Cartesian2d<Axis, Axis>>,
    ) -> Result<(), String> {
        for (level, dash, _) in LINES {
            for piece in clip_polyline(&self.x, &self.y, &self.line(level)) {
                path(area, piece, stroke(BLACK.to_rgba(), 3), dash)?;
            }
        }
        for [a, b] in self.guides() {
            path(area, vec![a, b], stroke(BLACK.mix(0.75), 1), Dash::Dotted)?;
        }
        for m in &MARKS {
            marker_halo(area, m.at, m.shape, m.color.to_rgba(), MARK_RADIUS)?;
        }
        Ok(())
    }

    /// What the labels must keep clear of, in pixels.
    fn obstacles(&self, px: &Pixels) -> Obstacles {
        let r = f64::from(MARK_RADIUS);
        Obstacles {
            lines: LINES
                .iter()
                .map(|l| self.line(l.0).map(|p| px.at(p)))
                .collect(),
            guides: self.guides().iter().map(|g| g.map(|p| px.at(p))).collect(),
            marks: MARKS
                .iter()
                .map(|m| {
                    // The outer radius of the shape with its halo (see `marker_halo`).
                    let reach = if m.shape == Shape::Star { 1.5 } else { 1.2 };
                    (px.at(m.at), reach * (r + 3.0))
                })
                .collect(),
        }
    }
}

impl Figure for PhaseFigure {
    fn size(&self) -> (u32, u32) {
        (SIZE.0 + 40, SIZE.1 + 60)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = header(root, &self.title, &self.notes)?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH + 10));
        let c = chart(
            &plot,
            &self.x,
            &self.y,
            "β  (αₙ = α n^−β)",
            "γ  (Aₙ = A n^−γ)",
            None,
        )?;
        let tiles = self.tiles();
        self.draw_tiles(&c, &tiles)?;
        let area = c.plotting_area();
        self.draw_overlay(area)?;
        let px = Pixels::of(&c, &self.x, &self.y);
        let obstacles = self.obstacles(&px);
        for t in &tiles {
            labels::draw(area, &px, t, &obstacles)?;
        }
        let y = legend::scale(&side, self.shades, &self.regimes(), 10)?;
        let noisy = tiles.iter().any(|t| t.noisy);
        crate::report::plot::legend(&side, &legend::entries(self, noisy), y)?;
        Ok(())
    }
}
