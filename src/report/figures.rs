//! The figures of a [`Summary`], drawn with plotters in the embedded DejaVu Sans font and written
//! as PNG and SVG. Each figure carries its own title, axis labels and legend, so it can be read
//! without the report around it.

use crate::analysis::{FitReport, PathRecord, PhaseCell, Row, Summary, drift_class};
use crate::error::Error;
use crate::experiment::{Against, ClaimKind, Metric};
use crate::stats::PowerLawFit;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &str = "sans-serif";
pub(super) const SIZE: (u32, u32) = (1000, 700);
pub(super) const LEGEND_WIDTH: u32 = 290;
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
pub(super) const SHAPES: [Shape; 5] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
    Shape::Star,
];

/// Writes every figure that the summary has data for into `dir`, each as `<stem>.png` and
/// `<stem>.svg`; returns the stems written, in order.
pub fn draw_all(summary: &Summary, dir: &Path) -> Result<Vec<String>, Error> {
    draw_each(
        summary,
        dir,
        &[
            ("error_vs_n", error_vs_n as Draw<Summary>),
            ("paths", paths),
            ("kappa_vs_n", kappa_vs_n),
            ("error_vs_dim", error_vs_dim),
            ("phase", phase),
            ("bias_variance", bias_variance),
            ("constant_vs_n", super::constant_figures::constant_vs_n),
        ],
    )
}

/// A figure function: draws `<stem>.png` and `<stem>.svg` into the folder, or returns `false`
/// when the summary has no data for it.
pub(super) type Draw<S> = fn(&S, &Path) -> Result<bool, Error>;

/// Calls each figure function in order; returns the stems that were written.
pub(super) fn draw_each<S>(
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

/// `error_vs_n`: the squared error of the main fit against n (log-log) per dimension, with 95%
/// intervals, the fitted line, reference slopes -1 and -1/3 and the claimed band. Returns `false`
/// when no row has the error.
pub fn error_vs_n(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(error_vs_n_figure(summary), dir, "error_vs_n")
}

/// `paths`: a few sample paths of Z^n, their mean and the flow Z, one panel per recorded n and
/// coordinate. Returns `false` when no path was recorded.
pub fn paths(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(PathsFigure::new(summary), dir, "paths")
}

/// `kappa_vs_n`: the realised drift constant against n (log-log) with the exact kappa_n, the
/// constants 4 alpha and (2/3) alpha A^2 and a reference n^(1/3). Returns `false` when no row has
/// a realised drift constant.
pub fn kappa_vs_n(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(kappa_vs_n_figure(summary), dir, "kappa_vs_n")
}

/// `error_vs_dim`: the squared error against the dimension (log-log), one series per n, with the
/// fit against d and a reference slope +1. Returns `false` unless the rows span several dimensions.
pub fn error_vs_dim(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(error_vs_dim_figure(summary), dir, "error_vs_dim")
}

/// `phase`: the fitted error slope over the (beta, gamma) grid as a heat map, with the lines
/// beta + 2 gamma = 1 and = 1/2 and the paper's two scalings. Returns `false` without a grid.
pub fn phase(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(PhaseFigure::new(summary), dir, "phase")
}

/// `bias_variance`: the terminal bias^2 and variance against n (log-log) at the first dimension
/// and cell, with the noise floor variance / M of the plug-in bias^2. Returns `false` when the
/// rows have neither.
pub fn bias_variance(summary: &Summary, dir: &Path) -> Result<bool, Error> {
    write(bias_variance_figure(summary), dir, "bias_variance")
}

// ---------------------------------------------------------------------------------------------
// Output

pub(super) trait Figure {
    fn size(&self) -> (u32, u32) {
        SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

pub(super) fn write<F: Figure>(figure: Option<F>, dir: &Path, stem: &str) -> Result<bool, Error> {
    match figure {
        Some(f) => emit(&f, dir, stem).map(|()| true),
        None => Ok(false),
    }
}

fn fonts(dir: &Path) -> Result<(), Error> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    let done = REGISTERED.get_or_init(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        for style in [FontStyle::Normal, FontStyle::Bold] {
            plotters::style::register_font(FONT, style, bytes).map_err(|_| {
                "the embedded font assets/fonts/DejaVuSans.ttf cannot be parsed".to_string()
            })?;
        }
        Ok(())
    });
    done.clone().map_err(|message| Error::Results {
        path: dir.to_path_buf(),
        message,
    })
}

fn emit<F: Figure>(figure: &F, dir: &Path, stem: &str) -> Result<(), Error> {
    fonts(dir)?;
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

pub(super) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// Text

pub(super) fn text(size: f64) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal).color(&BLACK)
}

fn bold(size: f64) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold).color(&BLACK)
}

fn width_of<DB: DrawingBackend>(
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

pub(super) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle,
    max: u32,
) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && width_of(area, &candidate, style)? > max {
            lines.push(std::mem::replace(&mut line, word.to_string()));
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
pub(super) fn header<DB: DrawingBackend>(
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

/// A number with `decimals` decimals, a true minus sign and no negative zero.
pub(super) fn num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let zero = s
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.');
    if zero {
        s.trim_start_matches('-').to_string()
    } else {
        s.replace('-', "−")
    }
}

/// Up to three decimals, trailing zeros dropped.
pub(super) fn short(v: f64) -> String {
    let s = num(v, 3);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn superscript(e: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if e < 0 {
        s.push('⁻');
    }
    for c in e.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}

fn pow10(v: f64) -> String {
    if v > 0.0 {
        format!("10{}", superscript(v.log10().round() as i32))
    } else {
        tick(v)
    }
}

/// A tick label: plain decimals from 0.0001 to 99999, else m×10^e.
pub(super) fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { String::new() };
    }
    let e = v.abs().log10().floor() as i32;
    if (-4..5).contains(&e) {
        let s = num(v, (2 - e).clamp(0, 6) as usize);
        return if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
    }
    let m = v / 10f64.powi(e);
    let sign = if m < 0.0 { "−" } else { "" };
    if (m.abs() - 1.0).abs() < 1e-6 {
        format!("{sign}10{}", superscript(e))
    } else {
        format!("{}×10{}", short((m * 10.0).round() / 10.0), superscript(e))
    }
}

pub(super) fn experiment_line(s: &Summary) -> String {
    if s.title.is_empty() || s.title == s.name {
        s.name.clone()
    } else {
        format!("{}: {}", s.name, s.title)
    }
}

pub(super) fn cell_text(beta: f64, gamma: f64) -> String {
    format!("β = {}, γ = {}", short(beta), short(gamma))
}

fn metric_label(m: Metric) -> &'static str {
    match m {
        Metric::SupSqError => "E supₜ |Zⁿₜ − Zₜ|²",
        Metric::TerminalSqError => "E |Zⁿ(T) − Z(T)|²",
        Metric::KappaHat => "realised drift constant",
    }
}

/// The slope and its interval, with enough decimals to show the interval's width.
pub(super) fn slope_text(f: &PowerLawFit) -> String {
    let width = (f.ci95[1] - f.ci95[0]).abs();
    let d = if width > 0.0 && width.is_finite() {
        (1.0 - width.log10().floor()).clamp(2.0, 4.0) as usize
    } else {
        2
    };
    format!(
        "{} [{}, {}]",
        num(f.slope, d),
        num(f.ci95[0], d),
        num(f.ci95[1], d)
    )
}

/// "fitted slope -0.98 [-1.02, -0.95] → holds (claimed -1 ± 0.15)".
fn fit_caption(f: &FitReport) -> String {
    let mut s = match (&f.claim, &f.constant, &f.corrected) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => super::markdown::result_text(f),
        _ => format!("fitted slope {}", slope_text(&f.fit)),
    };
    if let Some(v) = &f.verdict {
        s += &format!(" → {}", v.kind);
    }
    if let Some(c) = &f.claim {
        s += &format!(" (claimed {})", super::markdown::claim_text(c));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Axes

/// A linear or logarithmic axis with explicit major (labelled) and minor ticks.
#[derive(Clone, Debug)]
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) log: bool,
    pub(super) major: Vec<f64>,
    pub(super) minor: Vec<f64>,
}

impl Axis {
    /// A log axis over the positive finite `values`, padded by 6% of the span on each side.
    pub(super) fn log_over(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let (lo, hi) = bounds(values.into_iter().filter(|v| *v > 0.0))?;
        let (lo, hi) = if hi / lo < 1.0 + 1e-9 {
            (lo / 2.0, hi * 2.0)
        } else {
            (lo, hi)
        };
        let pad = (hi / lo).powf(0.06).max(1.12);
        Some(Self::log(lo / pad, hi * pad))
    }

    fn log(lo: f64, hi: f64) -> Self {
        let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
        let (k0, k1) = (lo.log10().floor() as i32 - 1, hi.log10().ceil() as i32 + 1);
        let with = |ms: &[f64]| -> Vec<f64> {
            (k0..=k1)
                .flat_map(|k| ms.iter().map(move |m| m * 10f64.powi(k)))
                .filter(inside)
                .collect()
        };
        let all = with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        let (major, minor) = if (hi / lo).log10() > 6.0 {
            let p = with(&[1.0]);
            let step = p.len().div_ceil(7).max(1) as i32;
            p.into_iter()
                .partition(|v: &f64| (v.log10().round() as i32).rem_euclid(step) == 0)
        } else if with(&[1.0]).len() >= 3 {
            (with(&[1.0]), all)
        } else if with(&[1.0, 2.0, 5.0]).len() >= 3 {
            (with(&[1.0, 2.0, 5.0]), all)
        } else if all.len() >= 3 {
            (all, Vec::new())
        } else {
            (linear_ticks(lo, hi), Vec::new())
        };
        Self {
            lo,
            hi,
            log: true,
            major,
            minor,
        }
    }

    /// A linear axis over `values`, padded by `pad` of the span on each side.
    pub(super) fn linear_over(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<Self> {
        let (lo, hi) = bounds(values.into_iter())?;
        let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
        Some(Self::linear(lo - pad * span, hi + pad * span))
    }

    pub(super) fn linear(lo: f64, hi: f64) -> Self {
        Self {
            lo,
            hi,
            log: false,
            major: linear_ticks(lo, hi),
            minor: Vec::new(),
        }
    }

    fn t(&self, v: f64) -> f64 {
        if !self.log {
            v
        } else if v > 0.0 {
            v.ln()
        } else {
            f64::NAN
        }
    }

    fn inv(&self, u: f64) -> f64 {
        if self.log { u.exp() } else { u }
    }

    /// Whether the labelled ticks are four or more powers of ten, to be written as such.
    fn decades(&self) -> bool {
        self.log
            && self.major.len() >= 4
            && self
                .major
                .iter()
                .all(|v| (v.log10() - v.log10().round()).abs() < 1e-9)
    }

    pub(super) fn contains(&self, v: f64) -> bool {
        v >= self.lo.min(self.hi) && v <= self.hi.max(self.lo)
    }
}

pub(super) fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        })
}

fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return vec![lo];
    }
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        let f = (self.t(*v) - a) / (b - a);
        let f = if f.is_nan() { 0.0 } else { f.clamp(-1.0, 2.0) };
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            let mut all: Vec<f64> = self.major.iter().chain(&self.minor).copied().collect();
            all.sort_by(f64::total_cmp);
            all
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

pub(super) fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: &Axis,
    y: &Axis,
    x_desc: &str,
    y_desc: &str,
    caption: Option<&str>,
) -> Result<Chart<'a, DB>, String> {
    let mut b = ChartBuilder::on(area);
    b.margin(10)
        .margin_right(22)
        .x_label_area_size(58)
        .y_label_area_size(92);
    if let Some(c) = caption {
        b.caption(c, text(17.0));
    }
    let mut c = b.build_cartesian_2d(x.clone(), y.clone()).map_err(msg)?;
    c.configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(text(15.0))
        .axis_desc_style(text(18.0))
        .x_label_formatter(&|v| if x.decades() { pow10(*v) } else { tick(*v) })
        .y_label_formatter(&|v| if y.decades() { pow10(*v) } else { tick(*v) })
        .bold_line_style(BLACK.mix(0.14))
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(msg)?;
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// Clipping in the axes' own (possibly logarithmic) coordinates, where power laws are straight.

pub(super) type P = (f64, f64);

fn to_uv(x: &Axis, y: &Axis, p: P) -> P {
    (x.t(p.0), y.t(p.1))
}

fn uv_rect(x: &Axis, y: &Axis) -> [f64; 4] {
    let (u0, u1) = (x.t(x.lo), x.t(x.hi));
    let (v0, v1) = (y.t(y.lo), y.t(y.hi));
    [u0.min(u1), u0.max(u1), v0.min(v1), v0.max(v1)]
}

/// Liang–Barsky: the part of segment pq inside the rectangle [u0, u1] x [v0, v1].
fn clip_segment(p: P, q: P, r: [f64; 4]) -> Option<(P, P)> {
    if ![p.0, p.1, q.0, q.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (pk, qk) in [
        (-dx, p.0 - r[0]),
        (dx, r[1] - p.0),
        (-dy, p.1 - r[2]),
        (dy, r[3] - p.1),
    ] {
        if pk == 0.0 {
            if qk < 0.0 {
                return None;
            }
        } else {
            let t = qk / pk;
            if pk < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (p.0 + t0 * dx, p.1 + t0 * dy),
        (p.0 + t1 * dx, p.1 + t1 * dy),
    ))
}

/// The visible pieces of a polyline.
pub(super) fn clip_polyline(x: &Axis, y: &Axis, pts: &[P]) -> Vec<Vec<P>> {
    let r = uv_rect(x, y);
    let back = |p: P| (x.inv(p.0), y.inv(p.1));
    let mut pieces = Vec::new();
    let mut cur: Vec<P> = Vec::new();
    for w in pts.windows(2) {
        let (p, q) = (to_uv(x, y, w[0]), to_uv(x, y, w[1]));
        match clip_segment(p, q, r) {
            Some((a, b)) => {
                if cur.last() != Some(&a) && !cur.is_empty() {
                    pieces.push(std::mem::take(&mut cur));
                }
                if cur.is_empty() {
                    cur.push(a);
                }
                cur.push(b);
                if b != q {
                    pieces.push(std::mem::take(&mut cur));
                }
            }
            None if !cur.is_empty() => pieces.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        pieces.push(cur);
    }
    pieces
        .into_iter()
        .filter(|p| p.len() >= 2)
        .map(|p| p.into_iter().map(back).collect())
        .collect()
}

/// Sutherland–Hodgman: the part of a polygon inside the axes.
pub(super) fn clip_polygon(x: &Axis, y: &Axis, pts: &[P]) -> Vec<P> {
    let r = uv_rect(x, y);
    let mut poly: Vec<P> = pts.iter().map(|&p| to_uv(x, y, p)).collect();
    if poly.iter().any(|p| !(p.0.is_finite() && p.1.is_finite())) {
        return Vec::new();
    }
    let edges: [(usize, f64, bool); 4] = [
        (0, r[0], true),
        (0, r[1], false),
        (1, r[2], true),
        (1, r[3], false),
    ];
    for (axis, bound, keep_above) in edges {
        let coord = |p: P| if axis == 0 { p.0 } else { p.1 };
        let inside = |p: P| {
            if keep_above {
                coord(p) >= bound
            } else {
                coord(p) <= bound
            }
        };
        let cut = |a: P, b: P| {
            let t = (bound - coord(a)) / (coord(b) - coord(a));
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        };
        let input = std::mem::take(&mut poly);
        for i in 0..input.len() {
            let (a, b) = (input[(i + input.len() - 1) % input.len()], input[i]);
            match (inside(a), inside(b)) {
                (true, true) => poly.push(b),
                (true, false) => poly.push(cut(a, b)),
                (false, true) => {
                    poly.push(cut(a, b));
                    poly.push(b);
                }
                (false, false) => {}
            }
        }
    }
    poly.into_iter().map(|p| (x.inv(p.0), y.inv(p.1))).collect()
}

// ---------------------------------------------------------------------------------------------
// Marks and legends

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Dash {
    Solid,
    Dashed,
    Dotted,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    Star,
}

#[derive(Clone, Debug)]
pub(super) enum Glyph {
    Line {
        color: RGBAColor,
        width: u32,
        dash: Dash,
    },
    Marker {
        color: RGBAColor,
        shape: Shape,
        bar: bool,
    },
    Patch(RGBAColor),
    Letter(&'static str),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) glyph: Glyph,
    pub(super) text: String,
}

pub(super) fn stroke(color: RGBAColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color,
        filled: false,
        stroke_width: width,
    }
}

pub(super) fn path<DB: DrawingBackend, CT: CoordTranslate>(
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

pub(super) fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    shape: Shape,
    color: RGBAColor,
    r: i32,
) -> Result<(), String>
where
    CT::From: Clone,
{
    let rf = f64::from(r);
    let poly: Vec<(i32, i32)> = match shape {
        Shape::Circle => {
            let e = EmptyElement::at(at.clone()) + Circle::new((0, 0), r, color.filled());
            area.draw(&e).map_err(msg)?;
            let e = EmptyElement::at(at) + Circle::new((0, 0), r, stroke(BLACK.mix(0.6), 1));
            return area.draw(&e).map_err(msg);
        }
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
    };
    let mut closed = poly.clone();
    closed.push(poly[0]);
    let e = EmptyElement::at(at.clone()) + Polygon::new(poly, color.filled());
    area.draw(&e).map_err(msg)?;
    let e = EmptyElement::at(at) + PathElement::new(closed, stroke(BLACK.mix(0.6), 1));
    area.draw(&e).map_err(msg)
}

fn draw_glyph<DB: DrawingBackend>(
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
        Glyph::Letter(t) => {
            let style = text(17.0).pos(Pos::new(HPos::Center, VPos::Center));
            area.draw(&Text::new(t.to_string(), (x + w / 2, y), style))
                .map_err(msg)
        }
    }
}

/// Draws the entries top-down from `top` inside a frame; returns the y below the frame.
pub(super) fn legend<DB: DrawingBackend>(
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

// ---------------------------------------------------------------------------------------------
// Log-log charts (figures 1, 3, 4, 6)

#[derive(Clone, Debug)]
pub(super) struct Pt {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) ci: Option<[f64; 2]>,
}

#[derive(Clone, Debug)]
pub(super) struct Points {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) shape: Shape,
    pub(super) pts: Vec<Pt>,
    pub(super) connect: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Curve {
    pub(super) label: Option<String>,
    pub(super) pts: Vec<P>,
    pub(super) color: RGBAColor,
    pub(super) width: u32,
    pub(super) dash: Dash,
    /// Whether the curve's y values widen the y axis (data curves), or it is only clipped.
    pub(super) in_range: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Band {
    pub(super) label: String,
    pub(super) polygons: Vec<Vec<P>>,
    pub(super) color: RGBAColor,
}

#[derive(Clone, Debug)]
pub(super) struct LogLog {
    pub(super) title: String,
    pub(super) notes: Vec<String>,
    pub(super) x_desc: String,
    pub(super) y_desc: String,
    pub(super) points: Vec<Points>,
    pub(super) curves: Vec<Curve>,
    pub(super) bands: Vec<Band>,
    pub(super) axes: Option<(Axis, Axis)>,
}

impl LogLog {
    pub(super) fn new(title: String, notes: Vec<String>, x_desc: &str, y_desc: &str) -> Self {
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
    pub(super) fn finish(mut self) -> Option<Self> {
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
        for b in &self.bands {
            for poly in &b.polygons {
                let clipped = clip_polygon(x, y, poly);
                if clipped.len() >= 3 {
                    area.draw(&Polygon::new(clipped, b.color.filled()))
                        .map_err(msg)?;
                }
            }
        }
        for cv in &self.curves {
            for piece in clip_polyline(x, y, &cv.pts) {
                path(area, piece, stroke(cv.color, cv.width), cv.dash)?;
            }
        }
        for s in &self.points {
            let color = s.color.to_rgba();
            if s.connect {
                let line: Vec<P> = s.pts.iter().map(|p| (p.x, p.y)).collect();
                for piece in clip_polyline(x, y, &line) {
                    path(area, piece, stroke(s.color.mix(0.7), 1), Dash::Solid)?;
                }
            }
            for p in &s.pts {
                if let Some([lo, hi]) = p.ci {
                    let lo = if lo > 0.0 { lo.max(y.lo) } else { y.lo };
                    let hi = hi.min(y.hi);
                    if hi > lo {
                        path(
                            area,
                            vec![(p.x, lo), (p.x, hi)],
                            stroke(color, 2),
                            Dash::Solid,
                        )?;
                        for end in [lo, hi].into_iter().filter(|v| *v > y.lo && *v < y.hi) {
                            let cap = EmptyElement::at((p.x, end))
                                + PathElement::new(vec![(-5, 0), (5, 0)], stroke(color, 2));
                            area.draw(&cap).map_err(msg)?;
                        }
                    }
                }
                if x.contains(p.x) && y.contains(p.y) {
                    marker(area, (p.x, p.y), s.shape, color, 5)?;
                }
            }
        }
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
        legend(&side, &entries, 10)?;
        Ok(())
    }
}

/// The straight line through `anchor` with `slope` in log-log coordinates, over [x0, x1].
pub(super) fn power_line(anchor: P, slope: f64, x0: f64, x1: f64) -> Vec<P> {
    let at = |x: f64| anchor.1 * (x / anchor.0).powf(slope);
    vec![(x0, at(x0)), (x1, at(x1))]
}

/// The two triangles between the slopes `slope ± tolerance` through `anchor`, over [x0, x1].
pub(super) fn wedge(anchor: P, slope: f64, tolerance: f64, x0: f64, x1: f64) -> Vec<Vec<P>> {
    let at = |x: f64, s: f64| anchor.1 * (x / anchor.0).powf(s);
    let (a, b) = (slope - tolerance, slope + tolerance);
    vec![
        vec![(x0, at(x0, a)), anchor, (x0, at(x0, b))],
        vec![(x1, at(x1, a)), anchor, (x1, at(x1, b))],
    ]
}

fn fit_curve(f: &FitReport, color: RGBColor, label: String) -> Option<Curve> {
    let (x0, x1) = bounds(f.x.iter().copied().filter(|v| *v > 0.0))?;
    let pts = match &f.corrected {
        Some(c) => (0..=40)
            .map(|i| {
                let x = x0 * (x1 / x0).powf(f64::from(i) / 40.0);
                (x, c.predict(x))
            })
            .collect(),
        None => vec![(x0, f.fit.predict(x0)), (x1, f.fit.predict(x1))],
    };
    let label = if f.corrected.is_some() {
        label.replace("power-law fit", "fit n^s (a - b n^(-1/2))")
    } else {
        label
    };
    Some(Curve {
        label: Some(label),
        pts,
        color: color.to_rgba(),
        width: 3,
        dash: Dash::Solid,
        in_range: false,
    })
}

/// ", over a ≤ x ≤ b" when the fit used only part of the series' points.
fn fit_range(f: &FitReport, series: Option<&Points>, x: &str) -> String {
    match (bounds(f.x.iter().copied()), series) {
        (Some((a, b)), Some(s)) if f.x.len() < s.pts.len() => {
            format!(", over {} ≤ {x} ≤ {}", tick(a), tick(b))
        }
        _ => String::new(),
    }
}

fn claim_band(f: &FitReport) -> Option<Band> {
    let c = f.claim.as_ref().filter(|c| c.kind == ClaimKind::Slope)?;
    let slope = c.slope?;
    let (x0, x1) = bounds(f.x.iter().copied().filter(|v| *v > 0.0))?;
    let xg = (x0 * x1).sqrt();
    let anchor = (xg, f.fit.predict(xg));
    if !(anchor.1 > 0.0 && anchor.1.is_finite() && c.tolerance >= 0.0) {
        return None;
    }
    Some(Band {
        label: format!(
            "claimed slope {} ± {} through the fit at the middle",
            short(slope),
            short(c.tolerance)
        ),
        polygons: wedge(anchor, slope, c.tolerance, x0, x1),
        color: RGBColor(44, 160, 44).mix(0.18),
    })
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The (beta, gamma) of the main series: the main fit's, else the first row's.
pub(super) fn main_cell(s: &Summary) -> Option<(f64, f64)> {
    s.fit
        .as_ref()
        .map(|f| (f.beta, f.gamma))
        .or_else(|| s.rows.first().map(|r| (r.beta, r.gamma)))
}

pub(super) fn cell_rows(s: &Summary, cell: (f64, f64)) -> Vec<&Row> {
    s.rows
        .iter()
        .filter(|r| same(r.beta, cell.0) && same(r.gamma, cell.1))
        .collect()
}

pub(super) fn distinct<T: PartialOrd + Copy>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = values.collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.dedup_by(|a, b| a == b);
    v
}

/// A point for the estimate of `m` at `x`, if it can go on a log axis.
fn estimate_point(r: &Row, m: Metric, x: f64) -> Option<Pt> {
    let e = r.metric(m)?;
    (e.mean > 0.0 && e.mean.is_finite() && x > 0.0).then_some(Pt {
        x,
        y: e.mean,
        ci: Some(e.ci95),
    })
}

pub(super) fn sorted(mut pts: Vec<Pt>) -> Vec<Pt> {
    pts.sort_by(|a, b| a.x.total_cmp(&b.x));
    pts
}

fn is_error(m: Metric) -> bool {
    matches!(m, Metric::SupSqError | Metric::TerminalSqError)
}

fn error_vs_n_figure(s: &Summary) -> Option<LogLog> {
    let fit = s
        .fit
        .as_ref()
        .filter(|f| is_error(f.metric) && f.against == Against::N)
        .or_else(|| {
            s.fits
                .iter()
                .find(|f| f.metric == Metric::SupSqError && f.against == Against::N)
        });
    let metric = fit.map_or(Metric::SupSqError, |f| f.metric);
    let cell = fit.map(|f| (f.beta, f.gamma)).or_else(|| main_cell(s))?;
    let rows = cell_rows(s, cell);
    let dims = distinct(
        rows.iter()
            .filter(|r| r.metric(metric).is_some())
            .map(|r| r.dim),
    );
    let main_dim = fit
        .and_then(|f| f.at_dim)
        .filter(|d| dims.contains(d))
        .or(dims.first().copied())?;
    let mut notes = vec![format!(
        "{} ({})",
        experiment_line(s),
        cell_text(cell.0, cell.1)
    )];
    if let Some(f) = fit {
        notes.push(fit_caption(f));
    }
    let mut fig = LogLog::new(
        format!("Squared error {} against n", metric_label(metric)),
        notes,
        "n (steps per unit time)",
        &format!("{}  (mean, 95% CI)", metric_label(metric)),
    );
    for (i, &d) in dims.iter().enumerate() {
        let pts = sorted(
            rows.iter()
                .filter(|r| r.dim == d)
                .filter_map(|r| estimate_point(r, metric, r.n as f64))
                .collect(),
        );
        let label = if dims.len() > 1 {
            format!("d = {d}")
        } else {
            format!("mean ± 95% CI (d = {d})")
        };
        fig.points.push(Points {
            label,
            color: PALETTE[i % 8],
            shape: SHAPES[i % 5],
            pts,
            connect: dims.len() > 1,
        });
    }
    let main = dims.iter().position(|&d| d == main_dim).unwrap_or(0);
    let first = fig
        .points
        .get(main)
        .and_then(|p| p.pts.first())
        .map(|p| (p.x, p.y));
    let last_x = fig.points.get(main).and_then(|p| p.pts.last()).map(|p| p.x);
    if let Some(f) = fit {
        let mut label = if dims.len() > 1 {
            format!("power-law fit, d = {main_dim}")
        } else {
            "power-law fit".to_string()
        };
        label += &fit_range(f, fig.points.get(main), "n");
        fig.curves.extend(fit_curve(f, PALETTE[main % 8], label));
        fig.bands.extend(claim_band(f));
    }
    if let (Some(a), Some(x1)) = (first, last_x) {
        for (slope, name, grey) in [
            (-1.0, "slope −1 (reference)", 60u8),
            (-1.0 / 3.0, "slope −1/3 (reference)", 150),
        ] {
            fig.curves.push(Curve {
                label: Some(name.into()),
                pts: power_line(a, slope, a.0, x1),
                color: RGBColor(grey, grey, grey).to_rgba(),
                width: 2,
                dash: Dash::Dashed,
                in_range: slope > -0.5,
            });
        }
    }
    fig.finish()
}

fn kappa_vs_n_figure(s: &Summary) -> Option<LogLog> {
    let cell = main_cell(s)?;
    let rows = cell_rows(s, cell);
    let dims = distinct(rows.iter().filter(|r| r.kappa_hat.is_some()).map(|r| r.dim));
    let main_dim = dims.first().copied()?;
    let fit = s
        .fit
        .as_ref()
        .filter(|f| f.metric == Metric::KappaHat && f.against == Against::N)
        .or_else(|| {
            s.fits.iter().find(|f| {
                f.metric == Metric::KappaHat
                    && f.against == Against::N
                    && f.at_dim == Some(main_dim)
                    && same(f.beta, cell.0)
                    && same(f.gamma, cell.1)
            })
        });
    let trend = match fit.map(|f| drift_class(Some(&f.fit))) {
        Some("explodes") => "grows with n",
        Some("converges") => "levels off",
        Some("freezes") => "shrinks with n",
        Some(_) => "has no clear trend",
        None => "against n",
    };
    let title = match fit {
        Some(f) => format!(
            "Realised drift constant {trend}: slope {}",
            slope_text(&f.fit)
        ),
        None => format!("Realised drift constant {trend}"),
    };
    let mut notes = vec![format!(
        "{} ({})",
        experiment_line(s),
        cell_text(cell.0, cell.1)
    )];
    if let Some(f) = fit.filter(|f| f.verdict.is_some()) {
        notes.push(fit_caption(f));
    }
    let mut fig = LogLog::new(
        title,
        notes,
        "n (steps per unit time)",
        "realised drift constant (mean, 95% jackknife CI)",
    );
    for (i, &d) in dims.iter().enumerate() {
        let pts = sorted(
            rows.iter()
                .filter(|r| r.dim == d)
                .filter_map(|r| estimate_point(r, Metric::KappaHat, r.n as f64))
                .collect(),
        );
        let label = if dims.len() > 1 {
            format!("realised, d = {d}")
        } else {
            "realised drift constant".to_string()
        };
        fig.points.push(Points {
            label,
            color: PALETTE[i % 8],
            shape: SHAPES[i % 5],
            pts,
            connect: false,
        });
    }
    let mut exact: Vec<P> = rows
        .iter()
        .filter(|r| r.dim == main_dim && r.kappa_n > 0.0 && r.kappa_n.is_finite())
        .map(|r| (r.n as f64, r.kappa_n))
        .collect();
    exact.sort_by(|a, b| a.0.total_cmp(&b.0));
    exact.dedup_by(|a, b| a.0 == b.0);
    if exact.len() >= 2 {
        fig.curves.push(Curve {
            label: Some("exact κₙ = n αₙ (2 cosh Aₙ − 2 sinh(Aₙ)/Aₙ)".into()),
            pts: exact,
            color: BLACK.to_rgba(),
            width: 2,
            dash: Dash::Solid,
            in_range: true,
        });
    }
    let dc = &s.drift_constants;
    let x_any = || fig.points.iter().flat_map(|p| p.pts.iter().map(|q| q.x));
    let span = bounds(x_any().filter(|v| *v > 0.0)).map(|(a, b)| (a / 100.0, b * 100.0));
    for (v, label, color) in [
        (
            dc.four_alpha,
            format!("4α = {} (first version, 3.5)", short(dc.four_alpha)),
            RGBColor(214, 39, 40),
        ),
        (
            dc.two_thirds_alpha_a2,
            format!(
                "(2/3)αA² = {} (corrected limit)",
                short(dc.two_thirds_alpha_a2)
            ),
            RGBColor(31, 119, 180),
        ),
    ] {
        if let (true, Some((a, b))) = (v > 0.0 && v.is_finite(), span) {
            fig.curves.push(Curve {
                label: Some(label),
                pts: vec![(a, v), (b, v)],
                color: color.mix(0.8),
                width: 2,
                dash: Dash::Dashed,
                in_range: true,
            });
        }
    }
    let first = fig
        .points
        .first()
        .and_then(|p| p.pts.first())
        .map(|p| (p.x, p.y));
    let last_x = fig.points.first().and_then(|p| p.pts.last()).map(|p| p.x);
    if let (Some(a), Some(x1)) = (first, last_x) {
        fig.curves.push(Curve {
            label: Some("∝ n^(1/3) through the first realised value (reference)".into()),
            pts: power_line(a, 1.0 / 3.0, a.0, x1),
            color: RGBColor(120, 120, 120).to_rgba(),
            width: 2,
            dash: Dash::Dashed,
            in_range: false,
        });
    }
    fig.finish()
}

fn error_vs_dim_figure(s: &Summary) -> Option<LogLog> {
    let fit = s
        .fit
        .as_ref()
        .filter(|f| f.against == Against::Dim && is_error(f.metric));
    let metric = fit.map_or(Metric::SupSqError, |f| f.metric);
    let cell = main_cell(s)?;
    let rows = cell_rows(s, cell);
    let with = |r: &&&Row| r.metric(metric).is_some();
    if distinct(rows.iter().filter(with).map(|r| r.dim)).len() < 2 {
        return None;
    }
    let ns = distinct(rows.iter().filter(with).map(|r| r.n));
    let main_n = fit
        .and_then(|f| f.at_n)
        .filter(|n| ns.contains(n))
        .or(ns.last().copied())?;
    let mut notes = vec![format!(
        "{} ({})",
        experiment_line(s),
        cell_text(cell.0, cell.1)
    )];
    if let Some(f) = fit {
        notes.push(fit_caption(f));
    }
    let mut fig = LogLog::new(
        format!(
            "Squared error {} against the dimension d",
            metric_label(metric)
        ),
        notes,
        "dimension d",
        &format!("{}  (mean, 95% CI)", metric_label(metric)),
    );
    for (i, &n) in ns.iter().enumerate() {
        let pts = sorted(
            rows.iter()
                .filter(|r| r.n == n)
                .filter_map(|r| estimate_point(r, metric, r.dim as f64))
                .collect(),
        );
        fig.points.push(Points {
            label: format!("n = {n}"),
            color: PALETTE[i % 8],
            shape: SHAPES[i % 5],
            pts,
            connect: true,
        });
    }
    let main = ns.iter().position(|&n| n == main_n).unwrap_or(0);
    if let Some(f) = fit {
        let label = format!(
            "power-law fit, n = {main_n}{}",
            fit_range(f, fig.points.get(main), "d")
        );
        fig.curves.extend(fit_curve(f, PALETTE[main % 8], label));
        fig.bands.extend(claim_band(f));
    }
    let series = fig.points.get(main);
    if let (Some(a), Some(x1)) = (
        series.and_then(|p| p.pts.first()),
        series.and_then(|p| p.pts.last()),
    ) {
        fig.curves.push(Curve {
            label: Some(format!("slope +1 (reference, from n = {main_n})")),
            pts: power_line((a.x, a.y), 1.0, a.x, x1.x),
            color: RGBColor(60, 60, 60).to_rgba(),
            width: 2,
            dash: Dash::Dashed,
            in_range: false,
        });
    }
    fig.finish()
}

fn bias_variance_figure(s: &Summary) -> Option<LogLog> {
    let first = s.rows.first()?;
    let (cell, dim) = ((first.beta, first.gamma), first.dim);
    let mut rows: Vec<&Row> = cell_rows(s, cell)
        .into_iter()
        .filter(|r| r.dim == dim)
        .collect();
    rows.sort_by_key(|r| r.n);
    let positive = |v: Option<f64>| v.filter(|v| *v > 0.0 && v.is_finite());
    let series = |f: &dyn Fn(&Row) -> Option<f64>| -> Vec<Pt> {
        rows.iter()
            .filter_map(|r| {
                positive(f(r)).map(|y| Pt {
                    x: r.n as f64,
                    y,
                    ci: None,
                })
            })
            .filter(|p| p.x > 0.0)
            .collect()
    };
    let bias = series(&|r| r.terminal_bias_sq);
    let var = series(&|r| r.terminal_variance);
    let floor: Vec<P> = series(&|r| {
        r.terminal_variance
            .map(|v| v / r.trajectories.max(1) as f64)
    })
    .iter()
    .map(|p| (p.x, p.y))
    .collect();
    let mut fig = LogLog::new(
        "Terminal error split into bias² and variance against n".into(),
        vec![format!(
            "{} (d = {dim}, {})",
            experiment_line(s),
            cell_text(cell.0, cell.1)
        )],
        "n (steps per unit time)",
        "squared distance at T",
    );
    fig.points.push(Points {
        label: "bias² |mean θ(T) − Z(T)|² (plug-in)".into(),
        color: PALETTE[3],
        shape: Shape::Circle,
        pts: bias,
        connect: true,
    });
    fig.points.push(Points {
        label: "variance Σᵢ Var θᵢ(T)".into(),
        color: PALETTE[0],
        shape: Shape::Square,
        pts: var,
        connect: true,
    });
    if floor.len() >= 2 {
        fig.curves.push(Curve {
            label: Some("bias² noise floor (variance/M)".into()),
            pts: floor,
            color: RGBColor(90, 90, 90).to_rgba(),
            width: 2,
            dash: Dash::Dotted,
            in_range: true,
        });
    }
    fig.finish()
}

// ---------------------------------------------------------------------------------------------
// Sample paths

struct PathsFigure {
    title: String,
    notes: Vec<String>,
    records: Vec<PathRecord>,
    coords: usize,
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

impl Figure for PathsFigure {
    fn size(&self) -> (u32, u32) {
        let w = (160 + 400 * self.coords as u32).max(SIZE.0);
        (w, 150 + 380 * self.records.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = header(root, &self.title, &self.notes)?;
        let (w, _) = body.dim_in_pixel();
        let (key, grid) = body.split_vertically(44);
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
            total += 36 + 8 + width_of(&key, t, &style)? as i32 + 30;
        }
        let mut x = ((w as i32 - total) / 2).max(10);
        for (g, t) in &entries {
            draw_glyph(&key, g, x, 16, 36)?;
            key.draw(&Text::new(
                t.to_string(),
                (x + 44, 16),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(msg)?;
            x += 36 + 8 + width_of(&key, t, &style)? as i32 + 30;
        }
        let panels = grid.split_evenly((self.records.len(), self.coords));
        for (r, rec) in self.records.iter().enumerate() {
            for i in 0..self.coords {
                let panel = &panels[r * self.coords + i];
                let col = |v: &Vec<Vec<f64>>| -> Vec<Option<f64>> {
                    (0..rec.times.len())
                        .map(|k| {
                            v.get(k)
                                .and_then(|row| row.get(i))
                                .copied()
                                .filter(|x| x.is_finite())
                        })
                        .collect()
                };
                let flow = col(&rec.flow);
                let mean = col(&rec.mean);
                let samples: Vec<Vec<Option<f64>>> = rec.samples.iter().take(8).map(col).collect();
                let all = flow
                    .iter()
                    .chain(&mean)
                    .chain(samples.iter().flatten())
                    .flatten()
                    .copied();
                let Some(ya) = Axis::linear_over(all, 0.08) else {
                    continue;
                };
                let Some(xa) = Axis::linear_over(rec.times.iter().copied(), 0.0) else {
                    continue;
                };
                let sub = |k: usize| ['₁', '₂', '₃'][k.min(2)];
                let caption = format!("n = {}, coordinate θ{} (d = {})", rec.n, sub(i), rec.dim);
                let c = chart(
                    panel,
                    &xa,
                    &ya,
                    "t",
                    &format!("θ{}", sub(i)),
                    Some(&caption),
                )?;
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
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Phase diagram

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

fn class_initial(c: &str) -> &'static str {
    match c {
        "converges" => "C",
        "freezes" => "F",
        "explodes" => "E",
        _ => "?",
    }
}

const FIRST_VERSION: P = (0.0, 1.0 / 3.0);
const CORRECTED: P = (0.0, 0.5);

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
            let (p0, p1) = (c.backend_coord(&(b0, g0)), c.backend_coord(&(b1, g1)));
            let (pw, ph) = ((p1.0 - p0.0).abs(), (p1.1 - p0.1).abs());
            let size = (f64::from(pw.min(ph * 2)) / 5.0).clamp(10.0, 20.0);
            let luminance =
                0.299 * f64::from(fill.0) + 0.587 * f64::from(fill.1) + 0.114 * f64::from(fill.2);
            let ink: &'static RGBColor = if luminance < 120.0 { &WHITE } else { &BLACK };
            let label = format!(
                "{} {}",
                slope.map_or("n/a".to_string(), |v| num(v, 2)),
                class_initial(&cell.drift_class)
            );
            let style = text(size)
                .color(ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            let (tw, th) = area.estimate_text_size(&label, &style).map_err(msg)?;
            let at = ((b0 + b1) / 2.0, (g0 + g1) / 2.0);
            let centre = c.backend_coord(&at).1;
            let inside = |m: &&P| {
                b0.min(b1) <= m.0 && m.0 <= b0.max(b1) && g0.min(g1) <= m.1 && m.1 <= g0.max(g1)
            };
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
            let (tw, th) = (tw as i32 / 2 + 4, th as i32 / 2 + 3);
            labels.push((at, dy, tw, th, fill, label, style));
        }
        let lines = [
            (1.0, Dash::Solid, "drift finite: β+2γ=1"),
            (0.5, Dash::Dashed, "noise vanishes above: β+2γ=1/2"),
        ];
        let far = (self.x.hi - self.x.lo).abs() + 1.0;
        for (level, dash, _) in lines {
            let seg = [
                (self.x.lo - far, (level - self.x.lo + far) / 2.0),
                (self.x.hi + far, (level - self.x.hi - far) / 2.0),
            ];
            for piece in clip_polyline(&self.x, &self.y, &seg) {
                path(area, piece, stroke(BLACK.to_rgba(), 3), dash)?;
            }
        }
        let points = [
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
        for (at, shape, color, _) in points {
            marker(area, at, shape, color.to_rgba(), 9)?;
        }
        for (at, dy, tw, th, fill, label, style) in labels {
            let backdrop = EmptyElement::at(at)
                + Rectangle::new([(-tw, dy - th), (tw, dy + th)], fill.mix(0.85).filled());
            area.draw(&backdrop).map_err(msg)?;
            area.draw(&(EmptyElement::at(at) + Text::new(label, (0, dy), style)))
                .map_err(msg)?;
        }
        let y = self.colour_bar(&side, 10)?;
        let mut entries: Vec<Entry> = lines
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
        entries.extend(points.iter().map(|(_, shape, color, t)| Entry {
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
        legend(&side, &entries, y)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{DriftConstants, Provenance};
    use crate::experiment::ClaimSpec;
    use crate::stats::{Estimate, Verdict, VerdictKind, fit_power_law};

    fn est(mean: f64, rel: f64) -> Estimate {
        let se = rel * mean;
        Estimate {
            mean,
            std_error: se,
            ci95: [mean - 1.96 * se, mean + 1.96 * se],
        }
    }

    fn row(n: u64, dim: usize, beta: f64, gamma: f64) -> Row {
        let nf = n as f64;
        let err = 0.4 * dim as f64 / nf;
        Row {
            n,
            dim,
            beta,
            gamma,
            trajectories: 400,
            diverged: 0,
            kappa: 0.5,
            kappa_n: 0.5 * (1.0 + 1.0 / nf),
            alpha_n: 1.0,
            a_n: 1.0 / nf.sqrt(),
            steps: n,
            sup_sq_error: Some(est(err, 0.05)),
            terminal_sq_error: Some(est(0.5 * err, 0.05)),
            terminal_bias_sq: Some(0.01 / (nf * nf)),
            terminal_variance: Some(0.3 * err),
            kappa_hat: Some(est(0.5 * (1.0 + 2.0 / nf.sqrt()), 0.02)),
            fluctuation: Some(crate::fluctuation::Fluctuation {
                terminal_sq: 0.7,
                sup_sq: Some(crate::fluctuation::McValue {
                    mean: 1.3,
                    std_error: 0.01,
                }),
            }),
            seconds: 0.1,
        }
    }

    fn summary() -> Summary {
        let ns = [100u64, 316, 1000, 3162];
        let mut rows = Vec::new();
        for d in [2usize, 8] {
            for &n in &ns {
                rows.push(row(n, d, 0.0, 0.5));
            }
        }
        let main: Vec<&Row> = rows.iter().filter(|r| r.dim == 2).collect();
        let x: Vec<f64> = main.iter().map(|r| r.n as f64).collect();
        let y: Vec<f64> = main.iter().map(|r| r.sup_sq_error.unwrap().mean).collect();
        let se: Vec<f64> = main
            .iter()
            .map(|r| r.sup_sq_error.unwrap().std_error)
            .collect();
        let fit = fit_power_law(&x, &y, &se).expect("fit");
        let report = FitReport {
            metric: Metric::SupSqError,
            against: Against::N,
            at_dim: Some(2),
            at_n: None,
            beta: 0.0,
            gamma: 0.5,
            x,
            fit: fit.clone(),
            corrected: None,
            constant: None,
            claim: Some(ClaimSpec {
                kind: crate::experiment::ClaimKind::Slope,
                grid_term: false,
                metric: Metric::SupSqError,
                against: Against::N,
                slope: Some(-1.0),
                tolerance: 0.15,
                decay: true,
                expect: Some(VerdictKind::Holds),
                statement: "corrected rate".into(),
                fit_from: None,
                fit_to: None,
            }),
            verdict: Some(Verdict {
                kind: VerdictKind::Holds,
                reason: "inside the band".into(),
            }),
        };
        let times: Vec<f64> = (0..=10).map(|k| f64::from(k) / 10.0).collect();
        let flow: Vec<Vec<f64>> = times
            .iter()
            .map(|t| vec![(-t).exp(), 0.5 * (-t).exp(), 1.0 - t / 2.0])
            .collect();
        let wiggle = |s: f64| -> Vec<Vec<f64>> {
            flow.iter()
                .enumerate()
                .map(|(k, z)| {
                    z.iter()
                        .map(|v| v + s * 0.02 * ((k as f64) * 1.7 + s).sin())
                        .collect()
                })
                .collect()
        };
        let record = PathRecord {
            n: 100,
            dim: 3,
            times: times.clone(),
            flow: flow.clone(),
            mean: wiggle(0.3),
            samples: vec![wiggle(1.0), wiggle(-2.0), wiggle(3.0)],
        };
        let cell = |beta: f64, gamma: f64, slope: f64, class: &str| PhaseCell {
            beta,
            gamma,
            error_slope: Some(PowerLawFit {
                slope,
                ci95: [slope - 0.05, slope + 0.05],
                ..fit.clone()
            }),
            drift_slope: None,
            drift_class: class.into(),
            predicted_drift_exponent: 1.0 - beta - 2.0 * gamma,
            predicted_noise_exponent: 1.0 - 2.0 * beta - 4.0 * gamma,
            diverged: 0,
        };
        Summary {
            status: "complete".into(),
            verdict: None,
            resume_key: String::new(),
            name: "synthetic".into(),
            title: "Hand-made summary for the figure tests".into(),
            config: serde_json::Value::Null,
            provenance: Provenance {
                version: "0".into(),
                git_commit: None,
                seed: 1,
                threads: 1,
                seconds: 0.0,
                quick: true,
                started_unix: 0,
            },
            drift_constants: DriftConstants {
                four_alpha: 2.0,
                two_thirds_alpha_a2: 0.5,
            },
            rows,
            fit: Some(report.clone()),
            fits: vec![report],
            phase: vec![
                cell(0.0, 0.5, -0.98, "converges"),
                cell(0.0, 1.0 / 3.0, 0.4, "explodes"),
            ],
            paths: vec![record.clone(), PathRecord { n: 3162, ..record }],
        }
    }

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stdp-flow-figures-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn draws_every_figure_deterministically() {
        let s = summary();
        let dir = scratch("all");
        let stems = draw_all(&s, &dir).expect("draw");
        assert_eq!(
            stems,
            [
                "error_vs_n",
                "paths",
                "kappa_vs_n",
                "error_vs_dim",
                "phase",
                "bias_variance",
                "constant_vs_n"
            ]
        );
        let read = |stem: &str, ext: &str| {
            std::fs::read(dir.join(format!("{stem}.{ext}"))).expect("file written")
        };
        let first: Vec<(Vec<u8>, Vec<u8>)> = stems
            .iter()
            .map(|t| (read(t, "png"), read(t, "svg")))
            .collect();
        for (png, svg) in &first {
            assert!(png.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]));
            assert!(String::from_utf8_lossy(svg).contains("<svg"));
        }
        draw_all(&s, &dir).expect("draw again");
        for (t, (png, svg)) in stems.iter().zip(&first) {
            assert!(read(t, "png") == *png, "{t}.png differs between two runs");
            assert!(read(t, "svg") == *svg, "{t}.svg differs between two runs");
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn missing_data_is_skipped() {
        let mut s = summary();
        s.phase.clear();
        s.paths.clear();
        s.fit = None;
        s.fits.clear();
        s.rows.retain(|r| r.dim == 2);
        for r in &mut s.rows {
            r.kappa_hat = None;
            r.fluctuation = None;
            r.terminal_bias_sq = Some(0.0);
        }
        s.rows[0].sup_sq_error = Some(est(-1.0, 0.1));
        let dir = scratch("missing");
        let stems = draw_all(&s, &dir).expect("draw");
        assert_eq!(stems, ["error_vs_n", "bias_variance"]);
        s.rows.clear();
        assert!(draw_all(&s, &dir).expect("draw").is_empty());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn tick_labels_and_clipping() {
        assert_eq!(tick(1000.0), "1000");
        assert_eq!(tick(0.002), "0.002");
        assert_eq!(tick(1e-5), "10⁻⁵");
        assert_eq!(tick(2e-5), "2×10⁻⁵");
        assert_eq!(num(-0.001, 2), "0.00");
        let a = Axis::log(10.0, 1000.0);
        assert_eq!(a.major, vec![10.0, 100.0, 1000.0]);
        let pieces = clip_polyline(&a, &a, &[(1.0, 1.0), (1e4, 1e4)]);
        assert_eq!(pieces.len(), 1);
        assert!((pieces[0][0].0 - 10.0).abs() < 1e-9 && (pieces[0][1].1 - 1000.0).abs() < 1e-6);
        assert!(clip_polyline(&a, &a, &[(1.0, 1e5), (1e4, 1e6)]).is_empty());
    }

    #[test]
    fn unwritable_folder_is_an_io_error() {
        let file = scratch("io");
        std::fs::write(&file, b"not a folder").expect("scratch file");
        let err =
            draw_all(&summary(), &file.join("figures")).expect_err("a file blocks the folder");
        assert!(matches!(err, Error::Io { .. }), "{err}");
        std::fs::remove_file(&file).expect("clean up");
    }
}
