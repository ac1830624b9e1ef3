//! Placing the cell labels: inside their cell, clear of the critical lines, the guides and the
//! marks, as large as fits.

use super::Tile;
use crate::report::plot::{Axis, Chart, P, msg, text};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The affine map from data to backend pixels of a chart on linear axes, unrounded.
pub(super) struct Pixels {
    x: (f64, f64, f64, f64),
    y: (f64, f64, f64, f64),
}

impl Pixels {
    /// The map of chart `c` on the axes x, y.
    pub(super) fn of<DB: DrawingBackend>(c: &Chart<DB>, x: &Axis, y: &Axis) -> Self {
        let (lo, hi) = (
            c.backend_coord(&(x.lo, y.lo)),
            c.backend_coord(&(x.hi, y.hi)),
        );
        Self {
            x: (x.lo, x.hi, f64::from(lo.0), f64::from(hi.0)),
            y: (y.lo, y.hi, f64::from(lo.1), f64::from(hi.1)),
        }
    }

    /// The pixel of a data point.
    pub(super) fn at(&self, p: P) -> P {
        let map = |(a, b, pa, pb): (f64, f64, f64, f64), v: f64| pa + (v - a) / (b - a) * (pb - pa);
        (map(self.x, p.0), map(self.y, p.1))
    }
}

/// What labels keep clear of, in pixels: lines (through two points, 3 px wide), guides
/// (segments) and marks (centre and reach).
pub(super) struct Obstacles {
    pub(super) lines: Vec<[P; 2]>,
    pub(super) guides: Vec<[P; 2]>,
    pub(super) marks: Vec<(P, f64)>,
}

/// The gap kept between a label's backdrop and anything else, in pixels.
const GAP: f64 = 3.0;

/// A label's backdrop: centre and half sizes, in pixels.
#[derive(Clone, Copy, Debug)]
struct Boxed {
    c: P,
    half: P,
}

impl Boxed {
    fn corners(&self) -> [P; 4] {
        let (x0, x1) = (self.c.0 - self.half.0, self.c.0 + self.half.0);
        let (y0, y1) = (self.c.1 - self.half.1, self.c.1 + self.half.1);
        [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    }

    /// The distance from the box to point p (0 inside).
    fn gap_to_point(&self, p: P) -> f64 {
        let dx = ((p.0 - self.c.0).abs() - self.half.0).max(0.0);
        let dy = ((p.1 - self.c.1).abs() - self.half.1).max(0.0);
        dx.hypot(dy)
    }

    /// The distance from the box to the infinite line through a and b (0 when it crosses).
    fn gap_to_line(&self, [a, b]: [P; 2]) -> f64 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len == 0.0 {
            return self.gap_to_point(a);
        }
        let side = |p: &P| ((p.0 - a.0) * dy - (p.1 - a.1) * dx) / len;
        let d = self.corners().map(|p| side(&p));
        let (lo, hi) = d
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        if lo <= 0.0 && hi >= 0.0 {
            0.0
        } else {
            lo.abs().min(hi.abs())
        }
    }

    /// The distance from the box to an axis-parallel segment.
    fn gap_to_segment(&self, [a, b]: [P; 2]) -> f64 {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        let dx = (x0 - (self.c.0 + self.half.0))
            .max((self.c.0 - self.half.0) - x1)
            .max(0.0);
        let dy = (y0 - (self.c.1 + self.half.1))
            .max((self.c.1 - self.half.1) - y1)
            .max(0.0);
        dx.hypot(dy)
    }

    /// The smallest room left to any obstacle (negative: they overlap).
    fn clearance(&self, o: &Obstacles) -> f64 {
        let lines = o.lines.iter().map(|l| self.gap_to_line(*l) - 1.5 - GAP);
        let guides = o.guides.iter().map(|g| self.gap_to_segment(*g) - 0.5 - GAP);
        let marks = o.marks.iter().map(|(p, r)| self.gap_to_point(*p) - r - GAP);
        lines
            .chain(guides)
            .chain(marks)
            .fold(f64::INFINITY, f64::min)
    }
}

/// Centres for a box of half sizes `half` inside the pixel rectangle [x0, x1, y0, y1], nearest
/// to the rectangle's centre first; empty when the box does not fit.
fn candidates([x0, x1, y0, y1]: [f64; 4], half: P) -> Vec<P> {
    let (ax, bx) = (x0 + half.0, x1 - half.0);
    let (ay, by) = (y0 + half.1, y1 - half.1);
    if ax > bx || ay > by {
        return Vec::new();
    }
    let steps =
        |a: f64, b: f64, k: u32| (0..=k).map(move |i| a + (b - a) * f64::from(i) / f64::from(k));
    let centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let mut all: Vec<P> = steps(ax, bx, 8)
        .flat_map(|x| steps(ay, by, 6).map(move |y| (x, y)))
        .collect();
    let dist = |p: &P| (p.0 - centre.0).hypot(p.1 - centre.1);
    all.sort_by(|a, b| dist(a).total_cmp(&dist(b)));
    all
}

/// The style of a label of `size` pixels in ink that reads on `fill`.
fn style(size: f64, fill: RGBColor) -> TextStyle<'static> {
    let luminance =
        0.299 * f64::from(fill.0) + 0.587 * f64::from(fill.1) + 0.114 * f64::from(fill.2);
    let ink: &'static RGBColor = if luminance < 128.0 { &WHITE } else { &BLACK };
    text(size)
        .color(ink)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// Draws the tile's label at the largest size and the place nearest its centre that keep it
/// clear of the obstacles; where nothing is clear, at the smallest size and the clearest place.
pub(super) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Cartesian2d<Axis, Axis>>,
    px: &Pixels,
    tile: &Tile,
    obstacles: &Obstacles,
) -> Result<(), String> {
    let [b0, b1, g0, g1] = tile.edges;
    let (p0, p1) = (px.at((b0, g0)), px.at((b1, g1)));
    let rect = [
        p0.0.min(p1.0) + 3.0,
        p0.0.max(p1.0) - 3.0,
        p0.1.min(p1.1) + 3.0,
        p0.1.max(p1.1) - 3.0,
    ];
    let (pw, ph) = (rect[1] - rect[0], rect[3] - rect[2]);
    let start = (pw.min(ph * 2.0) / 5.0).clamp(10.0, 20.0).round() as i32;
    let mut best: Option<(f64, Boxed, TextStyle<'static>)> = None;
    for size in (9..=start).rev() {
        let st = style(f64::from(size), tile.fill);
        let (tw, th) = area.estimate_text_size(&tile.label, &st).map_err(msg)?;
        let half = (f64::from(tw) / 2.0 + 4.0, f64::from(th) / 2.0 + 2.0);
        for c in candidates(rect, half) {
            let b = Boxed { c, half };
            let room = b.clearance(obstacles);
            if room >= 0.0 {
                return paint(area, px, tile, b, st);
            }
            if best.as_ref().is_none_or(|(r, ..)| room > *r) {
                best = Some((room, b, st.clone()));
            }
        }
    }
    let centre = ((rect[0] + rect[1]) / 2.0, (rect[2] + rect[3]) / 2.0);
    let (_, b, st) = best.unwrap_or_else(|| {
        let st = style(9.0, tile.fill);
        (
            0.0,
            Boxed {
                c: centre,
                half: (0.0, 0.0),
            },
            st,
        )
    });
    paint(area, px, tile, b, st)
}

/// The label on a backdrop of its cell's colour (which hides the hatching under it).
fn paint<DB: DrawingBackend>(
    area: &DrawingArea<DB, Cartesian2d<Axis, Axis>>,
    px: &Pixels,
    tile: &Tile,
    b: Boxed,
    st: TextStyle<'static>,
) -> Result<(), String> {
    let [b0, _, _, g1] = tile.edges;
    let corner = px.at((b0, g1));
    let at = (b.c.0 - corner.0, b.c.1 - corner.1);
    let (cx, cy) = (at.0.round() as i32, at.1.round() as i32);
    let (hw, hh) = (b.half.0.round() as i32, b.half.1.round() as i32);
    let backdrop = EmptyElement::at((b0, g1))
        + Rectangle::new([(cx - hw, cy - hh), (cx + hw, cy + hh)], tile.fill.filled());
    area.draw(&backdrop).map_err(msg)?;
    area.draw(&(EmptyElement::at((b0, g1)) + Text::new(tile.label.clone(), (cx, cy), st)))
        .map_err(msg)
}

#[cfg(test)]
mod tests {
    use super::{Boxed, Obstacles, candidates};

    #[test]
    fn clearance_of_a_label() {
        let b = Boxed {
            c: (50.0, 50.0),
            half: (10.0, 5.0),
        };
        assert_eq!(b.gap_to_line([(0.0, 0.0), (100.0, 100.0)]), 0.0);
        assert!((b.gap_to_line([(0.0, 70.0), (100.0, 70.0)]) - 15.0).abs() < 1e-9);
        assert!((b.gap_to_point((65.0, 50.0)) - 5.0).abs() < 1e-9);
        assert!((b.gap_to_segment([(0.0, 60.0), (30.0, 60.0)]) - 10.0f64.hypot(5.0)).abs() < 1e-9);
        let clear = Obstacles {
            lines: vec![[(0.0, 90.0), (100.0, 90.0)]],
            guides: Vec::new(),
            marks: vec![((50.0, 20.0), 5.0)],
        };
        assert!(b.clearance(&clear) > 0.0);
        let first = candidates([0.0, 100.0, 0.0, 100.0], (10.0, 5.0));
        assert_eq!(first[0], (50.0, 50.0));
        assert!(candidates([0.0, 10.0, 0.0, 100.0], (10.0, 5.0)).is_empty());
    }
}
