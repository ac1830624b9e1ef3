//! Linear and logarithmic axes with explicit ticks, and the chart (mesh, labels) drawn on them.

use super::msg;
use super::text::text;
use crate::report::format::{pow10, tick};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use std::ops::Range;

/// A linear or logarithmic axis with explicit major (labelled) and minor ticks.
#[derive(Clone, Debug)]
pub(in crate::report) struct Axis {
    pub(in crate::report) lo: f64,
    pub(in crate::report) hi: f64,
    pub(in crate::report) log: bool,
    pub(in crate::report) major: Vec<f64>,
    pub(in crate::report) minor: Vec<f64>,
}

impl Axis {
    /// A log axis over the positive finite `values`, padded by 6% of the span on each side.
    pub(in crate::report) fn log_over(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let (lo, hi) = bounds(values.into_iter().filter(|v| *v > 0.0))?;
        let (lo, hi) = if hi / lo < 1.0 + 1e-9 {
            (lo / 2.0, hi * 2.0)
        } else {
            (lo, hi)
        };
        let pad = (hi / lo).powf(0.06).max(1.12);
        Some(Self::log(lo / pad, hi * pad))
    }

    /// A log axis over [lo, hi]: powers of ten labelled when there are enough, else 1-2-5 or
    /// every mantissa, else linear ticks.
    pub(super) fn log(lo: f64, hi: f64) -> Self {
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
    pub(in crate::report) fn linear_over(
        values: impl IntoIterator<Item = f64>,
        pad: f64,
    ) -> Option<Self> {
        let (lo, hi) = bounds(values.into_iter())?;
        let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
        Some(Self::linear(lo - pad * span, hi + pad * span))
    }

    /// A linear axis over [lo, hi] with round ticks.
    pub(in crate::report) fn linear(lo: f64, hi: f64) -> Self {
        Self {
            lo,
            hi,
            log: false,
            major: linear_ticks(lo, hi),
            minor: Vec::new(),
        }
    }

    /// The axis' own coordinate of `v` (its log on a log axis; NaN there for v ≤ 0).
    pub(super) fn t(&self, v: f64) -> f64 {
        if !self.log {
            v
        } else if v > 0.0 {
            v.ln()
        } else {
            f64::NAN
        }
    }

    /// The value at the axis' own coordinate `u`.
    pub(super) fn inv(&self, u: f64) -> f64 {
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

    /// Whether `v` lies within the axis.
    pub(in crate::report) fn contains(&self, v: f64) -> bool {
        v >= self.lo.min(self.hi) && v <= self.hi.max(self.lo)
    }

    /// A tick's label: "10ⁿ" on a decade axis, else [`tick`].
    fn label(&self, v: f64) -> String {
        if self.decades() { pow10(v) } else { tick(v) }
    }
}

/// The smallest and largest finite value.
pub(in crate::report) fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        })
}

/// About six round ticks (steps 1, 2, 2.5, 5 times a power of ten) inside [lo, hi].
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

/// A chart on two [`Axis`].
pub(in crate::report) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// A chart with its mesh, tick labels and axis descriptions drawn, and an optional caption.
pub(in crate::report) fn chart<'a, DB: DrawingBackend>(
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
        .x_label_formatter(&|v| x.label(*v))
        .y_label_formatter(&|v| y.label(*v))
        .bold_line_style(BLACK.mix(0.14))
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(msg)?;
    Ok(c)
}
