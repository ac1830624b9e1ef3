//! Marks and legends: the palette, line dashes, marker shapes, legend glyphs and the framed legend.

use super::msg;
use super::text::{text, wrap};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The categorical palette (matplotlib's tab10 without grey and olive).
pub(in crate::report) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The marker shapes, in the order series take them.
pub(in crate::report) const SHAPES: [Shape; 5] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
    Shape::Star,
];

/// A line's dash pattern.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(in crate::report) enum Dash {
    Solid,
    Dashed,
    Dotted,
}

/// A marker's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(in crate::report) enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    Star,
}

/// What a legend entry shows left of its text.
#[derive(Clone, Debug)]
pub(in crate::report) enum Glyph {
    Line {
        color: RGBAColor,
        width: u32,
        dash: Dash,
    },
    /// A marker, with a vertical error bar behind it when `bar`.
    Marker {
        color: RGBAColor,
        shape: Shape,
        bar: bool,
    },
    /// A filled, outlined rectangle (a band or a cell colour).
    Patch(RGBAColor),
    /// A patch of the colour with diagonal hatching.
    Hatched(RGBAColor),
    Letter(&'static str),
}

/// A legend entry: a glyph and its (wrapped) text.
#[derive(Clone, Debug)]
pub(in crate::report) struct Entry {
    pub(in crate::report) glyph: Glyph,
    pub(in crate::report) text: String,
}

/// An unfilled line style.
pub(in crate::report) fn stroke(color: RGBAColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color,
        filled: false,
        stroke_width: width,
    }
}

/// Draws a polyline with a dash pattern.
pub(in crate::report) fn path<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    pts: Vec<CT::From>,
    style: ShapeStyle,
    dash: Dash,
) -> Result<(), String>
where
    CT::From: Clone,
{
    match dash {
        Dash::Solid => area.draw(&PathElement::new(pts, style)),
        Dash::Dashed => area.draw(&DashedPathElement::new(pts, 9, 6, style)),
        Dash::Dotted => area.draw(&DashedPathElement::new(pts, 2, 4, style)),
    }
    .map_err(msg)
}

/// The outline of a non-circular marker of radius `r`, in pixels around its centre.
fn outline(shape: Shape, r: i32) -> Vec<(i32, i32)> {
    let rf = f64::from(r);
    match shape {
        Shape::Circle => Vec::new(),
        Shape::Square => {
            let s = (rf * 0.85).round() as i32;
            vec![(-s, -s), (s, -s), (s, s), (-s, s)]
        }
        Shape::Triangle => {
            let (a, b) = ((rf * 1.15).round() as i32, (rf * 0.95).round() as i32);
            vec![(0, -a), (a, b), (-a, b)]
        }
        Shape::Diamond => {
            let a = (rf * 1.2).round() as i32;
            vec![(0, -a), (a, 0), (0, a), (-a, 0)]
        }
        Shape::Star => (0..10)
            .map(|k| {
                let rad = if k % 2 == 0 { rf * 1.5 } else { rf * 0.65 };
                let phi = std::f64::consts::PI * (f64::from(k) / 5.0 - 0.5);
                (
                    (rad * phi.cos()).round() as i32,
                    (rad * phi.sin()).round() as i32,
                )
            })
            .collect(),
    }
}

/// The marker with a white halo 3 pixels wide, to stand out on any fill.
pub(in crate::report) fn marker_halo<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    shape: Shape,
    color: RGBAColor,
    r: i32,
) -> Result<(), String>
where
    CT::From: Clone,
{
    let halo = if shape == Shape::Circle {
        let e = EmptyElement::at(at.clone()) + Circle::new((0, 0), r + 3, WHITE.filled());
        area.draw(&e)
    } else {
        let e = EmptyElement::at(at.clone()) + Polygon::new(outline(shape, r + 3), WHITE.filled());
        area.draw(&e)
    };
    halo.map_err(msg)?;
    marker(area, at, shape, color, r)
}

/// Diagonal hatching ("/", every `spacing` pixels) over the `w` x `h` pixel rectangle whose
/// top-left corner is at `corner`.
pub(in crate::report) fn hatch<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    corner: CT::From,
    (w, h): (i32, i32),
    spacing: i32,
    style: ShapeStyle,
) -> Result<(), String>
where
    CT::From: Clone,
{
    let mut k = spacing / 2;
    while k < w + h {
        let from = ((k - h).max(0), k.min(h));
        let to = (k.min(w), (k - w).max(0));
        let e = EmptyElement::at(corner.clone()) + PathElement::new(vec![from, to], style);
        area.draw(&e).map_err(msg)?;
        k += spacing;
    }
    Ok(())
}

/// A filled marker of radius `r` pixels at `at`, outlined in dark grey.
pub(in crate::report) fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    shape: Shape,
    color: RGBAColor,
    r: i32,
) -> Result<(), String>
where
    CT::From: Clone,
{
    if shape == Shape::Circle {
        let e = EmptyElement::at(at.clone()) + Circle::new((0, 0), r, color.filled());
        area.draw(&e).map_err(msg)?;
        let e = EmptyElement::at(at) + Circle::new((0, 0), r, stroke(BLACK.mix(0.6), 1));
        return area.draw(&e).map_err(msg);
    }
    let poly = outline(shape, r);
    let mut closed = poly.clone();
    closed.push(poly[0]);
    let e = EmptyElement::at(at.clone()) + Polygon::new(poly, color.filled());
    area.draw(&e).map_err(msg)?;
    let e = EmptyElement::at(at) + PathElement::new(closed, stroke(BLACK.mix(0.6), 1));
    area.draw(&e).map_err(msg)
}

/// Draws a legend glyph `w` pixels wide, starting at x and centred on y.
pub(in crate::report) fn draw_glyph<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    glyph: &Glyph,
    x: i32,
    y: i32,
    w: i32,
) -> Result<(), String> {
    match glyph {
        Glyph::Line { color, width, dash } => path(
            area,
            vec![(x, y), (x + w, y)],
            stroke(*color, *width),
            *dash,
        ),
        Glyph::Marker { color, shape, bar } => {
            if *bar {
                path(
                    area,
                    vec![(x + w / 2, y - 9), (x + w / 2, y + 9)],
                    stroke(*color, 1),
                    Dash::Solid,
                )?;
            }
            marker(area, (x + w / 2, y), *shape, *color, 5)
        }
        Glyph::Patch(color) => {
            area.draw(&Rectangle::new(
                [(x, y - 8), (x + w, y + 8)],
                color.filled(),
            ))
            .map_err(msg)?;
            area.draw(&Rectangle::new(
                [(x, y - 8), (x + w, y + 8)],
                stroke(BLACK.mix(0.3), 1),
            ))
            .map_err(msg)
        }
        Glyph::Hatched(color) => {
            draw_glyph(area, &Glyph::Patch(*color), x, y, w)?;
            hatch(area, (x, y - 8), (w, 16), 6, stroke(BLACK.mix(0.45), 1))
        }
        Glyph::Letter(t) => {
            let style = text(17.0).pos(Pos::new(HPos::Center, VPos::Center));
            area.draw(&Text::new(t.to_string(), (x + w / 2, y), style))
                .map_err(msg)
        }
    }
}

/// Draws the entries top-down from `top` inside a frame; returns the y below the frame.
pub(in crate::report) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    top: i32,
) -> Result<i32, String> {
    if entries.is_empty() {
        return Ok(top);
    }
    let (w, _) = area.dim_in_pixel();
    let (x0, gw, gap) = (12, 36, 10);
    let style = text(15.0);
    let tw = (w as i32 - x0 - gw - gap - 10).max(40) as u32;
    let mut y = top + 12;
    for e in entries {
        let lines = wrap(area, &e.text, &style, tw)?;
        draw_glyph(area, &e.glyph, x0, y + 9, gw)?;
        for (i, line) in lines.iter().enumerate() {
            let at = (x0 + gw + gap, y + 9 + 19 * i as i32);
            area.draw(&Text::new(
                line.clone(),
                at,
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(msg)?;
        }
        y += 19 * lines.len().max(1) as i32 + 12;
    }
    area.draw(&Rectangle::new(
        [(4, top), (w as i32 - 4, y)],
        stroke(BLACK.mix(0.35), 1),
    ))
    .map_err(msg)?;
    Ok(y)
}
