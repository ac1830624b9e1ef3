//! Reading the `[claim]` of a convergence experiment.

use super::checks::constant_claim_problem;
use super::limits::{POSITIVE, RELATIVE_TOLERANCE, SLOPE, SLOPE_TOLERANCE};
use super::reader::{Cx, Sec};
use crate::claims::spec::{Against, ClaimKind, ClaimSpec, Metric};
use crate::error::Error;
use crate::scaling::Scaling;

/// `[claim]`: what it asserts, about which quantity, against n or d, and where it is fitted.
/// `grid` and `dim_sweep` say whether the file has a `[grid]` and a `[sweep] dim`.
pub(super) fn read_claim(
    cx: &Cx,
    mut c: Sec,
    scaling: &Scaling,
    grid: bool,
    dim_sweep: bool,
) -> Result<ClaimSpec, Error> {
    let kind = c.keyword("kind", Some(ClaimKind::Slope))?;
    let metric = c.keyword("metric", Some(Metric::SupSqError))?;
    let against = c.keyword("against", Some(Against::N))?;
    let (slope, tolerance) = read_slope_and_tolerance(cx, &mut c, kind)?;
    let grid_term = c.flag("grid_term", false)?;
    if grid_term
        && (kind == ClaimKind::Constant || metric != Metric::SupSqError || against != Against::N)
    {
        return Err(cx.invalid(
            "claim.grid_term",
            "models the grid maximum of the sup, so it applies only to a slope or bound claim on sup_sq_error against n",
            "grid_term only with metric = \"sup_sq_error\", against = \"n\"",
        ));
    }
    let default_decay =
        metric != Metric::KappaHat && against == Against::N && kind != ClaimKind::Constant;
    let decay = c.flag("decay", default_decay)?;
    let expect = c.expect()?;
    let statement = c.string(
        "statement",
        Some(""),
        "a string naming the statement of the paper",
    )?;
    let (fit_from, fit_to) = read_fit_range(cx, &mut c)?;
    c.finish()?;
    if against == Against::Dim && !dim_sweep {
        return Err(cx.invalid(
            "claim.against",
            "is \"dim\" but there is no [sweep] dim",
            "against = \"n\", or add [sweep] dim",
        ));
    }
    if kind == ClaimKind::Constant
        && let Some((key, problem, fix)) = constant_claim_problem(scaling, grid, metric, against)
    {
        return Err(cx.invalid(key, problem, fix));
    }
    Ok(ClaimSpec {
        kind,
        metric,
        against,
        slope,
        tolerance,
        grid_term,
        decay,
        expect,
        statement,
        fit_from,
        fit_to,
    })
}

/// The claimed slope (none for a constant claim) and the tolerance, whose range depends on the
/// kind: a slope's half-width, or a constant's relative half-width.
fn read_slope_and_tolerance(
    cx: &Cx,
    c: &mut Sec,
    kind: ClaimKind,
) -> Result<(Option<f64>, f64), Error> {
    if kind != ClaimKind::Constant {
        let slope = c.real("slope", None, SLOPE)?;
        let tolerance = c.real("tolerance", None, SLOPE_TOLERANCE)?;
        return Ok((Some(slope), tolerance));
    }
    if c.take("slope").is_some() {
        return Err(cx.invalid(
            "claim.slope",
            "is given for a constant claim, which compares a value, not a slope",
            "no `slope` with kind = \"constant\" (or kind = \"slope\")",
        ));
    }
    let expected = format!(
        "a relative tolerance {RELATIVE_TOLERANCE}: measured / predicted within 1 ± tolerance"
    );
    let tolerance = c.real_in("tolerance", None, RELATIVE_TOLERANCE, &expected)?;
    Ok((None, tolerance))
}

/// `fit_from` and `fit_to`: positive, and from below to.
fn read_fit_range(cx: &Cx, c: &mut Sec) -> Result<(Option<f64>, Option<f64>), Error> {
    let mut bound = |key: &'static str| {
        c.take(key)
            .map(|v| c.num(key, &v, "a positive number"))
            .transpose()
    };
    let fit_from = bound("fit_from")?;
    let fit_to = bound("fit_to")?;
    for (key, v) in [("claim.fit_from", fit_from), ("claim.fit_to", fit_to)] {
        if let Some(x) = v
            && !POSITIVE.contains(x)
        {
            return Err(cx.invalid(key, format!("is {x}"), "a positive number"));
        }
    }
    if let (Some(a), Some(b)) = (fit_from, fit_to)
        && a >= b
    {
        return Err(cx.invalid(
            "claim.fit_to",
            format!("{b} is not above fit_from = {a}"),
            "fit_to > fit_from",
        ));
    }
    Ok((fit_from, fit_to))
}
