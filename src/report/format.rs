//! Number formatting, in one place. The figures write a true minus sign, no negative zero and
//! powers of ten with superscripts; the report's Markdown and terminal tables keep ASCII
//! (`-`, `e`) so that they can be searched and pasted as plain text.

#[cfg(feature = "figures")]
use crate::stats::PowerLawFit;

/// A number with `decimals` decimals, a true minus sign and no negative zero.
#[cfg(feature = "figures")]
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
#[cfg(feature = "figures")]
pub(super) fn short(v: f64) -> String {
    trim_zeros(num(v, 3))
}

/// `s` without the trailing zeros of its decimals (nor a bare decimal point).
#[cfg(feature = "figures")]
fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// An exponent in superscript digits: -5 → "⁻⁵".
#[cfg(feature = "figures")]
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

/// A positive tick on a decade axis as "10ⁿ" (the nearest power); others as [`tick`].
#[cfg(feature = "figures")]
pub(super) fn pow10(v: f64) -> String {
    if v > 0.0 {
        format!("10{}", superscript(v.log10().round() as i32))
    } else {
        tick(v)
    }
}

/// A tick label: plain decimals from 0.0001 to 99999, else m×10^e.
#[cfg(feature = "figures")]
pub(super) fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { String::new() };
    }
    let e = v.abs().log10().floor() as i32;
    if (-4..5).contains(&e) {
        return trim_zeros(num(v, (2 - e).clamp(0, 6) as usize));
    }
    let m = v / 10f64.powi(e);
    let sign = if m < 0.0 { "−" } else { "" };
    if (m.abs() - 1.0).abs() < 1e-6 {
        format!("{sign}10{}", superscript(e))
    } else {
        format!("{}×10{}", short((m * 10.0).round() / 10.0), superscript(e))
    }
}

/// A fitted slope and its interval, with enough decimals to show the interval's width.
#[cfg(feature = "figures")]
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

/// Four significant digits, ASCII (the report's measured and predicted constants).
pub(super) fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{x:.digits$}")
}

/// "[lo, hi]" with three decimals, ASCII.
pub(super) fn fmt_ci(c: [f64; 2]) -> String {
    format!("[{:.3}, {:.3}]", c[0], c[1])
}

/// "[lo, hi]" with four decimals, ASCII.
pub(super) fn fmt_ci4(c: [f64; 2]) -> String {
    format!("[{:.4}, {:.4}]", c[0], c[1])
}

/// Three decimals in scientific notation, "-" when absent.
pub(super) fn sci(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3e}"))
}

#[cfg(all(test, feature = "figures"))]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        assert_eq!(tick(1000.0), "1000");
        assert_eq!(tick(0.002), "0.002");
        assert_eq!(tick(1e-5), "10⁻⁵");
        assert_eq!(tick(2e-5), "2×10⁻⁵");
        assert_eq!(num(-0.001, 2), "0.00");
        assert_eq!(short(-0.5), "−0.5");
        assert_eq!(pow10(1000.0), "10³");
    }
}
