//! The generic log-log chart: point series with intervals, curves and shaded bands, and a legend.

use super::axis::{Axis, chart};
use super::clip::{P, clip_polygon, clip_polyline};
use super::marks::{Dash, Entry, Glyph, Shape, legend, marker, path, stroke};
use super::text::header;
use super::{Figure, LEGEND_WIDTH, msg};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A measured point with its optional 95% interval.
#[derive(Clone, Debug)]
pub(in crate::report) struct Pt {
    pub(in crate::report) x: f64,
    pub(in crate::report) y: f64,
    pub(in crate::report) ci: Option<[f64; 2]>,
}

/// A series of markers, optionally joined by a thin line.
#[derive(Clone, Debug)]
pub(in crate::report) struct Points {
    pub(in crate::report) label: String,
    pub(in crate::report) color: RGBColor,
    pub(in crate::report) shape: Shape,
    pub(in crate::report) pts: Vec<Pt>,
    pub(in crate::report) connect: bool,
}

/// A line: a fit, a prediction or a reference slope; unlabelled ones stay out of the legend.
#[derive(Clone, Debug)]
pub(in crate::report) struct Curve {
    pub(in crate::report) label: Option<String>,
    pub(in crate::report) pts: Vec<P>,
    pub(in crate::report) color: RGBAColor,
    pub(in crate::report) width: u32,
    pub(in crate::report) dash: Dash,
    /// Whether the curve's y values widen the y axis (data curves), or it is only clipped.
    pub(in crate::report) in_range: bool,
}

/// Shaded polygons with one legend entry.
#[derive(Clone, Debug)]
pub(in crate::report) struct Band {
    pub(in crate::report) label: String,
    pub(in crate::report) polygons: Vec<Vec<P>>,
    pub(in crate::report) color: RGBAColor,
}

/// A log-log chart with a title, notes and a legend column; drawn as bands, curves, then points.
#[derive(Clone, Debug)]
pub(in crate::report) struct LogLog {
    pub(in crate::report) title: String,
    pub(in crate::report) notes: Vec<String>,
    pub(in crate::report) x_desc: String,
    pub(in crate::report) y_desc: String,
    pub(in crate::report) points: Vec<Points>,
    pub(in crate::report) curves: Vec<Curve>,
    pub(in crate::report) bands: Vec<Band>,
    pub(in crate::report) axes: Option<(Axis, Axis)>,
}

/// The plotting area of a chart on two [`Axis`].
type Plot<DB> = DrawingArea<DB, Cartesian2d<Axis, Axis>>;

impl LogLog {
    /// An empty chart; add series, then [`LogLog::finish`].
    pub(in crate::report) fn new(
        title: String,
        notes: Vec<String>,
        x_desc: &str,
        y_desc: &str,
    ) -> Self {
        Self {
            title,
            notes,
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            points: Vec::new(),
            curves: Vec::new(),
            bands: Vec::new(),
            axes: None,
        }
    }

    /// Fixes the axes from the points and the in-range curves; `None` without a plottable point.
    pub(in crate::report) fn finish(mut self) -> Option<Self> {
        self.points.retain(|s| !s.pts.is_empty());
        let pts = || self.points.iter().flat_map(|s| &s.pts);
        let x = Axis::log_over(pts().map(|p| p.x))?;
        let curve_y = self
            .curves
            .iter()
            .filter(|c| c.in_range)
            .flat_map(|c| c.pts.iter().map(|p| p.1));
        let ci = pts().flat_map(|p| p.ci.into_iter().flatten());
        let y = Axis::log_over(pts().map(|p| p.y).chain(ci).chain(curve_y))?;
        self.axes = Some((x, y));
        Some(self)
    }

    fn draw_bands<DB: DrawingBackend>(
        &self,
        area: &Plot<DB>,
        x: &Axis,
        y: &Axis,
    ) -> Result<(), String> {
        for b in &self.bands {
            for poly in &b.polygons {
                let clipped = clip_polygon(x, y, poly);
                if clipped.len() >= 3 {
                    area.draw(&Polygon::new(clipped, b.color.filled()))
                        .map_err(msg)?;
                }
            }
        }
        Ok(())
    }

    fn draw_curves<DB: DrawingBackend>(
        &self,
        area: &Plot<DB>,
        x: &Axis,
        y: &Axis,
    ) -> Result<(), String> {
        for cv in &self.curves {
            for piece in clip_polyline(x, y, &cv.pts) {
                path(area, piece, stroke(cv.color, cv.width), cv.dash)?;
            }
        }
        Ok(())
    }

    fn draw_points<DB: DrawingBackend>(
        &self,
        area: &Plot<DB>,
        x: &Axis,
        y: &Axis,
    ) -> Result<(), String> {
        for s in &self.points {
            let color = s.color.to_rgba();
            if s.connect {
                let line: Vec<P> = s.pts.iter().map(|p| (p.x, p.y)).collect();
                for piece in clip_polyline(x, y, &line) {
                    path(area, piece, stroke(s.color.mix(0.7), 1), Dash::Solid)?;
                }
            }
            for p in &s.pts {
                if let Some(ci) = p.ci {
                    error_bar(area, y, p.x, ci, color)?;
                }
                if x.contains(p.x) && y.contains(p.y) {
                    marker(area, (p.x, p.y), s.shape, color, 5)?;
                }
            }
        }
        Ok(())
    }

    /// Legend entries: the point series, the labelled curves, then the bands.
    fn entries(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self
            .points
            .iter()
            .map(|s| Entry {
                glyph: Glyph::Marker {
                    color: s.color.to_rgba(),
                    shape: s.shape,
                    bar: s.pts.iter().any(|p| p.ci.is_some()),
                },
                text: s.label.clone(),
            })
            .collect();
        entries.extend(self.curves.iter().filter_map(|cv| {
            cv.label.clone().map(|t| Entry {
                glyph: Glyph::Line {
                    color: cv.color,
                    width: cv.width.max(2),
                    dash: cv.dash,
                },
                text: t,
            })
        }));
        entries.extend(self.bands.iter().map(|b| Entry {
            glyph: Glyph::Patch(b.color),
            text: b.label.clone(),
        }));
        entries
    }
}

/// A vertical interval at x, cut to the y axis, with caps at the ends that are inside it.
fn error_bar<DB: DrawingBackend>(
    area: &Plot<DB>,
    y: &Axis,
    x: f64,
    [lo, hi]: [f64; 2],
    color: RGBAColor,
) -> Result<(), String> {
    let lo = if lo > 0.0 { lo.max(y.lo) } else { y.lo };
    let hi = hi.min(y.hi);
    if hi > lo {
        path(area, vec![(x, lo), (x, hi)], stroke(color, 2), Dash::Solid)?;
        for end in [lo, hi].into_iter().filter(|v| *v > y.lo && *v < y.hi) {
            let cap = EmptyElement::at((x, end))
                + PathElement::new(vec![(-5, 0), (5, 0)], stroke(color, 2));
            area.draw(&cap).map_err(msg)?;
        }
    }
    Ok(())
}

impl Figure for LogLog {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let Some((x, y)) = &self.axes else {
            return Ok(());
        };
        let body = header(root, &self.title, &self.notes)?;
        let (w, _) = body.dim_in_pixel();
        let (plot, side) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        let c = chart(&plot, x, y, &self.x_desc, &self.y_desc, None)?;
        let area = c.plotting_area();
        self.draw_bands(area, x, y)?;
        self.draw_curves(area, x, y)?;
        self.draw_points(area, x, y)?;
        legend(&side, &self.entries(), 10)?;
        Ok(())
    }
}

/// The straight line through `anchor` with `slope` in log-log coordinates, over [x0, x1].
pub(in crate::report) fn power_line(anchor: P, slope: f64, x0: f64, x1: f64) -> Vec<P> {
    let at = |x: f64| anchor.1 * (x / anchor.0).powf(slope);
    vec![(x0, at(x0)), (x1, at(x1))]
}

/// The two triangles between the slopes `slope ± tolerance` through `anchor`, over [x0, x1].
pub(in crate::report) fn wedge(
    anchor: P,
    slope: f64,
    tolerance: f64,
    x0: f64,
    x1: f64,
) -> Vec<Vec<P>> {
    let at = |x: f64, s: f64| anchor.1 * (x / anchor.0).powf(s);
    let (a, b) = (slope - tolerance, slope + tolerance);
    vec![
        vec![(x0, at(x0, a)), anchor, (x0, at(x0, b))],
        vec![(x1, at(x1, a)), anchor, (x1, at(x1, b))],
    ]
}
