//! A small plotting toolkit over plotters: a [`Figure`] is painted twice, to PNG and to SVG, in
//! the embedded DejaVu Sans font; custom axes with explicit ticks, clipping in the axes' own
//! coordinates, marks and legends, and a generic log-log chart ([`LogLog`]) that most figures are.

mod axis;
mod clip;
mod loglog;
mod marks;
mod text;

pub(in crate::report) use axis::{Axis, Chart, bounds, chart};
pub(in crate::report) use clip::{P, clip_polygon, clip_polyline};
pub(in crate::report) use loglog::{Band, Curve, LogLog, Points, Pt, power_line, wedge};
pub(in crate::report) use marks::{
    Dash, Entry, Glyph, PALETTE, SHAPES, Shape, draw_glyph, hatch, legend, marker, marker_halo,
    path, stroke,
};
pub(in crate::report) use text::{experiment_line, formula, header, text, width_of, wrap};

use crate::error::Error;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The size of a figure, in pixels, unless it says otherwise.
pub(in crate::report) const SIZE: (u32, u32) = (1000, 700);
/// The width of the legend column right of a chart.
pub(in crate::report) const LEGEND_WIDTH: u32 = 290;

/// Something drawn on a white canvas of its size, once per output format.
pub(in crate::report) trait Figure {
    fn size(&self) -> (u32, u32) {
        SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// A figure function: draws `<stem>.png` and `<stem>.svg` into the folder, or returns `false`
/// when the summary has no data for it.
pub(in crate::report) type Draw<S> = fn(&S, &Path) -> Result<bool, Error>;

/// Calls each figure function in order; returns the stems that were written.
pub(in crate::report) fn draw_each<S>(
    summary: &S,
    dir: &Path,
    all: &[(&str, Draw<S>)],
) -> Result<Vec<String>, Error> {
    let mut written = Vec::new();
    for (stem, draw) in all {
        if draw(summary, dir)? {
            written.push(stem.to_string());
        }
    }
    Ok(written)
}

/// Writes `<stem>.png` and `<stem>.svg` when there is a figure; returns whether there was.
pub(in crate::report) fn write<F: Figure>(
    figure: Option<F>,
    dir: &Path,
    stem: &str,
) -> Result<bool, Error> {
    match figure {
        Some(f) => emit(&f, dir, stem).map(|()| true),
        None => Ok(false),
    }
}

fn emit<F: Figure>(figure: &F, dir: &Path, stem: &str) -> Result<(), Error> {
    text::fonts(dir)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |e: String| Error::Io {
            path,
            source: std::io::Error::other(format!("cannot draw the figure: {e}")),
        }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let png = dir.join(format!("{stem}.png"));
    std::fs::File::create(&png).map_err(io(&png))?;
    paint(
        &BitMapBackend::new(&png, figure.size()).into_drawing_area(),
        figure,
    )
    .map_err(failed(&png))?;
    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    paint(
        &SVGBackend::with_string(&mut svg, figure.size()).into_drawing_area(),
        figure,
    )
    .map_err(failed(&svg_path))?;
    std::fs::write(&svg_path, svg).map_err(io(&svg_path))
}

fn paint<DB: DrawingBackend, F: Figure>(
    root: &DrawingArea<DB, Shift>,
    figure: &F,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(msg)?;
    figure.draw(root)?;
    root.present().map_err(msg)
}

/// A drawing error as the message that [`Figure::draw`] returns.
pub(in crate::report) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
