//! The phase diagram's legend column: one shade ramp per drift regime, then the lines, the
//! paper's scalings, the regimes' letters and the hatching.

use super::{LINES, MARKS, PhaseFigure, Regime, Shades};
use crate::report::format::short;
use crate::report::plot::{Dash, Entry, Glyph, msg, path, stroke, text};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Height of the ramps, in pixels.
const RAMP: i32 = 140;

/// The error-slope scale: a ramp per regime that occurs, in its hue, from the lightest (top,
/// slowest decay) to the darkest shade, with ticks; returns the y below it.
pub(super) fn scale<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    shades: Shades,
    regimes: &[Regime],
    top: i32,
) -> Result<i32, String> {
    let style = text(15.0);
    area.draw(&Text::new(
        "error slope in n, by regime",
        (12, top),
        style.pos(Pos::new(HPos::Left, VPos::Top)),
    ))
    .map_err(msg)?;
    let (y0, w, step) = (top + 50, 22, 30);
    for (k, r) in regimes.iter().enumerate() {
        let x0 = 20 + step * k as i32;
        area.draw(&Text::new(
            r.letter(),
            (x0 + w / 2, top + 36),
            text(16.0).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(msg)?;
        for j in 0..RAMP {
            let v = shades.hi - (shades.hi - shades.lo) * f64::from(j) / f64::from(RAMP - 1);
            let c = r.colour(shades.of(Some(v)));
            area.draw(&Rectangle::new(
                [(x0, y0 + j), (x0 + w, y0 + j + 1)],
                c.filled(),
            ))
            .map_err(msg)?;
        }
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + w, y0 + RAMP)],
            stroke(BLACK.mix(0.6), 1),
        ))
        .map_err(msg)?;
    }
    let x1 = 20 + step * (regimes.len().max(1) as i32 - 1) + w;
    ticks(area, shades, (x1, y0))?;
    area.draw(&Text::new(
        "darker: the error decays faster",
        (12, y0 + RAMP + 12),
        style.pos(Pos::new(HPos::Left, VPos::Top)),
    ))
    .map_err(msg)?;
    Ok(y0 + RAMP + 40)
}

/// Ticks at round slopes (at most seven) right of the ramps, whose right edge is x1 and top y0.
fn ticks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    shades: Shades,
    (x1, y0): (i32, i32),
) -> Result<(), String> {
    let span = shades.hi - shades.lo;
    let step = [0.5, 1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|s| span / s <= 6.0)
        .unwrap_or(span / 6.0);
    let first = (shades.lo / step).ceil() as i64;
    let last = (shades.hi / step).floor() as i64;
    for k in first..=last {
        let v = k as f64 * step;
        let f = (shades.hi - v) / span;
        let y = y0 + (f * f64::from(RAMP - 1)).round() as i32;
        path(
            area,
            vec![(x1, y), (x1 + 6, y)],
            stroke(BLACK.to_rgba(), 1),
            Dash::Solid,
        )?;
        area.draw(&Text::new(
            short(v),
            (x1 + 10, y),
            text(15.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(msg)?;
    }
    Ok(())
}

/// The lines, the paper's scalings (said to be off the grid when they are), the regimes that
/// occur and, when a cell has it, the hatching.
pub(super) fn entries(fig: &PhaseFigure, hatched: bool) -> Vec<Entry> {
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
    entries.extend(MARKS.iter().map(|m| Entry {
        glyph: Glyph::Marker {
            color: m.color.to_rgba(),
            shape: m.shape,
            bar: false,
        },
        text: if fig.on_grid(m) {
            m.text.to_string()
        } else {
            format!("{} (between grid cells)", m.text)
        },
    }));
    entries.extend(fig.regimes().into_iter().map(|r| Entry {
        glyph: Glyph::Patch(r.colour(0.55).to_rgba()),
        text: format!("{}: {}", r.letter(), r.meaning()),
    }));
    if hatched {
        entries.push(Entry {
            glyph: Glyph::Hatched(WHITE.to_rgba()),
            text: "hatched: the noise does not vanish (β+2γ ≤ 1/2)".into(),
        });
    }
    entries
}
