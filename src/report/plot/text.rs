//! Text: the embedded font, styles, fitting and wrapping to a width, and the figure header.

use super::msg;
use crate::error::Error;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::OnceLock;

const FONT: &str = "sans-serif";

/// Registers the embedded DejaVu Sans (normal and bold) once per process.
pub(super) fn fonts(dir: &Path) -> Result<(), Error> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    let done = REGISTERED.get_or_init(|| {
        let bytes: &'static [u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
        for style in [FontStyle::Normal, FontStyle::Bold] {
            plotters::style::register_font(FONT, style, bytes).map_err(|_| {
                "the embedded font assets/fonts/DejaVuSans.ttf cannot be parsed".to_string()
            })?;
        }
        Ok(())
    });
    done.clone().map_err(|problem| Error::Results {
        path: dir.to_path_buf(),
        problem,
        fix: "restore assets/fonts/DejaVuSans.ttf from the repository and rebuild stdp-flow (the \
font is compiled in)"
            .into(),
    })
}

/// Black text of `size` pixels.
pub(in crate::report) fn text(size: f64) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal).color(&BLACK)
}

fn bold(size: f64) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold).color(&BLACK)
}

/// The width of `s` in pixels.
pub(in crate::report) fn width_of<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle,
) -> Result<u32, String> {
    area.estimate_text_size(s, style)
        .map(|(w, _)| w)
        .map_err(msg)
}

/// The style (shrunk down to 11 px if needed) and text (cut with an ellipsis if still too wide)
/// that fit `max` pixels.
fn fit_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: TextStyle<'static>,
    max: u32,
) -> Result<(TextStyle<'static>, String), String> {
    let mut style = style;
    while width_of(area, s, &style)? > max && style.font.get_size() > 11.0 {
        style.font = style.font.resize(style.font.get_size() - 1.0);
    }
    let mut t: Vec<char> = s.chars().collect();
    let mut out = s.to_string();
    while width_of(area, &out, &style)? > max && !t.is_empty() {
        t.pop();
        out = t.iter().collect::<String>() + "…";
    }
    Ok((style, out))
}

/// A space that [`wrap`] never breaks at; it is drawn as a plain space.
const GLUE: char = '\u{a0}';

/// A formula for a label: its spaces made unbreakable, so that [`wrap`] keeps it on one line.
pub(in crate::report) fn formula(s: &str) -> String {
    s.replace(' ', &GLUE.to_string())
}

/// `s` broken into lines of at most `max` pixels, at spaces only (never inside a [`formula`]).
pub(in crate::report) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle,
    max: u32,
) -> Result<Vec<String>, String> {
    let plain = |t: &str| t.replace(GLUE, " ");
    let mut lines = Vec::new();
    let mut line = String::new();
    let words = s.split(|c: char| c.is_whitespace() && c != GLUE);
    for word in words.filter(|w| !w.is_empty()).map(plain) {
        let candidate = if line.is_empty() {
            word.clone()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && width_of(area, &candidate, style)? > max {
            lines.push(std::mem::replace(&mut line, word));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// Draws a centred title and smaller note lines at the top; returns the area below them.
pub(in crate::report) fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    notes: &[String],
) -> Result<DrawingArea<DB, Shift>, String> {
    let (w, _) = root.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Top);
    let (style, t) = fit_line(root, title, bold(25.0), w.saturating_sub(30))?;
    root.draw(&Text::new(t, (w as i32 / 2, 12), style.pos(centre)))
        .map_err(msg)?;
    let mut y = 46;
    for note in notes.iter().filter(|n| !n.is_empty()) {
        let (style, t) = fit_line(root, note, text(17.0), w.saturating_sub(30))?;
        root.draw(&Text::new(t, (w as i32 / 2, y), style.pos(centre)))
            .map_err(msg)?;
        y += 24;
    }
    Ok(root.split_vertically(y + 4).1)
}

/// "name: title", or the name alone when the title adds nothing.
pub(in crate::report) fn experiment_line(name: &str, title: &str) -> String {
    if title.is_empty() || title == name {
        name.to_string()
    } else {
        format!("{name}: {title}")
    }
}
