//! Sample paths of Z^n against the flow Z (`paths`): one panel per recorded n and coordinate.

use super::{cell_rows, experiment_line, main_cell};
use crate::error::Error;
use crate::report::format::tick;
use crate::report::plot::{
    Axis, Dash, Figure, Glyph, P, PALETTE, SIZE, chart, draw_glyph, formula, header, msg, path,
    stroke, text, width_of, wrap, write,
};
use crate::results::{PathRecord, Summary};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// `paths`: a few sample paths of Z^n, their mean and the flow Z, one panel per recorded n and
/// coordinate. Returns `false` when no path was recorded.
pub(super) fn paths(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(PathsFigure::new(summary), dir, "paths")
}

/// The recorded paths with at least two times, by n, how many of each one's trajectories
/// diverged (of how many), and how many coordinates to show (≤ 3).
struct PathsFigure {
    title: String,
    notes: Vec<String>,
    records: Vec<PathRecord>,
    diverged: Vec<Option<(u64, u64)>>,
    coords: usize,
}

/// The colour of the divergence notes.
const DIVERGED_COLOR: RGBColor = RGBColor(178, 24, 43);

/// (diverged, trajectories) of the row at the record's n and dimension, in the main cell if it
/// has one.
fn divergence(s: &Summary, rec: &PathRecord) -> Option<(u64, u64)> {
    let at = |r: &&crate::results::Row| r.n == rec.n && r.dim == rec.dim;
    let main = main_cell(s).and_then(|c| cell_rows(s, c).into_iter().find(at));
    main.or_else(|| s.rows.iter().find(at))
        .map(|r| (r.diverged, r.trajectories))
}

/// What a panel says about divergence: nothing when no trajectory diverged.
fn divergence_note(diverged: Option<(u64, u64)>, mean_end: Option<f64>) -> Option<String> {
    let (k, m) = diverged.filter(|(k, _)| *k > 0)?;
    Some(if k < m {
        format!("{k} of {m} trajectories diverged and leave the mean when they do")
    } else {
        match mean_end {
            Some(t) => format!(
                "all {m} trajectories diverged; the mean of those still bounded ends at {}",
                formula(&format!("t = {}", tick(t)))
            ),
            None => format!("all {m} trajectories diverged; there is no mean path"),
        }
    })
}

impl PathsFigure {
    fn new(s: &Summary) -> Option<Self> {
        let mut records: Vec<PathRecord> = s
            .paths
            .iter()
            .filter(|p| p.times.len() >= 2)
            .cloned()
            .collect();
        records.sort_by_key(|p| p.n);
        let width = |v: &Vec<Vec<f64>>| v.iter().map(Vec::len).max().unwrap_or(0);
        let coords = records
            .iter()
            .map(|p| width(&p.flow).max(width(&p.mean)))
            .max()?
            .min(3);
        (coords > 0).then(|| Self {
            title: "Sample paths of Zⁿ against the gradient flow Z".into(),
            notes: vec![experiment_line(s)],
            diverged: records.iter().map(|r| divergence(s, r)).collect(),
            records,
            coords,
        })
    }
}

/// (t_k, v_k) held until t_{k+1}: Z^n is piecewise constant.
fn steps(times: &[f64], values: &[Option<f64>]) -> Vec<P> {
    let mut out = Vec::new();
    for (k, (t, v)) in times.iter().zip(values).enumerate() {
        let Some(v) = v else { continue };
        out.push((*t, *v));
        if let Some(next) = times.get(k + 1) {
            out.push((*next, *v));
        }
    }
    out
}

/// Coordinate `i` of each of the `len` recorded vectors, `None` where missing or not finite.
fn column(v: &[Vec<f64>], len: usize, i: usize) -> Vec<Option<f64>> {
    (0..len)
        .map(|k| {
            v.get(k)
                .and_then(|row| row.get(i))
                .copied()
                .filter(|x| x.is_finite())
        })
        .collect()
}

/// The key above the panels: samples, mean and flow, in one centred row.
fn draw_key<DB: DrawingBackend>(key: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let (w, _) = key.dim_in_pixel();
    let entries = [
        (
            Glyph::Line {
                color: PALETTE[0].mix(0.6),
                width: 1,
                dash: Dash::Solid,
            },
            "sample trajectories of Zⁿ",
        ),
        (
            Glyph::Line {
                color: PALETTE[3].to_rgba(),
                width: 3,
                dash: Dash::Solid,
            },
            "mean of Zⁿ over the trajectories",
        ),
        (
            Glyph::Line {
                color: BLACK.to_rgba(),
                width: 2,
                dash: Dash::Dashed,
            },
            "flow Z",
        ),
    ];
    let style = text(16.0);
    let mut total = 0;
    for (_, t) in &entries {
        total += 36 + 8 + width_of(key, t, &style)? as i32 + 30;
    }
    let mut x = ((w as i32 - total) / 2).max(10);
    for (g, t) in &entries {
        draw_glyph(key, g, x, 16, 36)?;
        key.draw(&Text::new(
            t.to_string(),
            (x + 44, 16),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(msg)?;
        x += 36 + 8 + width_of(key, t, &style)? as i32 + 30;
    }
    Ok(())
}

/// The note in red, wrapped, centred at the top of `area` on a white backdrop.
fn draw_note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, note: &str) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let style = text(15.0).color(&DIVERGED_COLOR);
    let lines = wrap(area, note, &style, w.saturating_sub(30))?;
    let widest = lines
        .iter()
        .map(|l| width_of(area, l, &style))
        .try_fold(0, |a, v| v.map(|v| a.max(v)))?;
    let (cx, top) = (w as i32 / 2, 12);
    let bottom = top + 19 * lines.len() as i32 + 8;
    area.draw(&Rectangle::new(
        [
            (cx - widest as i32 / 2 - 6, top),
            (cx + widest as i32 / 2 + 6, bottom),
        ],
        WHITE.mix(0.7).filled(),
    ))
    .map_err(msg)?;
    for (k, line) in lines.iter().enumerate() {
        area.draw(&Text::new(
            line.clone(),
            (cx, top + 4 + 19 * k as i32),
            style.pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(msg)?;
    }
    Ok(())
}

/// The last time at which the mean of coordinate 0 is finite.
fn mean_end(rec: &PathRecord) -> Option<f64> {
    let mean = column(&rec.mean, rec.times.len(), 0);
    rec.times
        .iter()
        .zip(&mean)
        .rev()
        .find_map(|(t, v)| v.map(|_| *t))
}

/// One panel: coordinate `i` of the samples (at most 8), their mean and the flow, at one n,
/// and `note` (about divergence) over them; the note alone when nothing can be drawn.
fn draw_panel<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    rec: &PathRecord,
    i: usize,
    note: Option<&str>,
) -> Result<(), String> {
    let drawn = draw_paths(panel, rec, i)?;
    match (note, drawn) {
        (Some(n), Some(area)) => draw_note(&area, n),
        (Some(n), None) => draw_note(panel, n),
        (None, _) => Ok(()),
    }
}

/// The chart of coordinate `i` at one record; returns its plotting area in pixels, or `None`
/// when no value is finite.
fn draw_paths<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    rec: &PathRecord,
    i: usize,
) -> Result<Option<DrawingArea<DB, Shift>>, String> {
    let len = rec.times.len();
    let flow = column(&rec.flow, len, i);
    let mean = column(&rec.mean, len, i);
    let samples: Vec<Vec<Option<f64>>> = rec
        .samples
        .iter()
        .take(8)
        .map(|v| column(v, len, i))
        .collect();
    let all = flow
        .iter()
        .chain(&mean)
        .chain(samples.iter().flatten())
        .flatten()
        .copied();
    let Some(ya) = Axis::linear_over(all, 0.08) else {
        return Ok(None);
    };
    let Some(xa) = Axis::linear_over(rec.times.iter().copied(), 0.0) else {
        return Ok(None);
    };
    let sub = ['₁', '₂', '₃'][i.min(2)];
    let caption = format!("n = {}, coordinate θ{sub} (d = {})", rec.n, rec.dim);
    let c = chart(panel, &xa, &ya, "t", &format!("θ{sub}"), Some(&caption))?;
    let area = c.plotting_area();
    for (k, smp) in samples.iter().enumerate() {
        let color = [
            PALETTE[0], PALETTE[2], PALETTE[4], PALETTE[1], PALETTE[7], PALETTE[5],
        ][k % 6];
        path(
            area,
            steps(&rec.times, smp),
            stroke(color.mix(0.55), 1),
            Dash::Solid,
        )?;
    }
    path(
        area,
        steps(&rec.times, &mean),
        stroke(PALETTE[3].to_rgba(), 3),
        Dash::Solid,
    )?;
    let smooth: Vec<P> = rec
        .times
        .iter()
        .zip(&flow)
        .filter_map(|(t, v)| v.map(|v| (*t, v)))
        .collect();
    path(area, smooth, stroke(BLACK.to_rgba(), 2), Dash::Dashed)?;
    Ok(Some(area.strip_coord_spec()))
}

impl Figure for PathsFigure {
    fn size(&self) -> (u32, u32) {
        let w = (160 + 400 * self.coords as u32).max(SIZE.0);
        (w, 150 + 380 * self.records.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = header(root, &self.title, &self.notes)?;
        let (key, grid) = body.split_vertically(44);
        draw_key(&key)?;
        let panels = grid.split_evenly((self.records.len(), self.coords));
        for (r, rec) in self.records.iter().enumerate() {
            let note = divergence_note(self.diverged[r], mean_end(rec));
            for i in 0..self.coords {
                draw_panel(&panels[r * self.coords + i], rec, i, note.as_deref())?;
            }
        }
        Ok(())
    }
}
