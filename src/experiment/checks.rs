//! Checks of a resolved convergence experiment that involve several keys: the drift limit of
//! every grid cell, the points in the claim's fit range, the derived constants against
//! [`DERIVED_RANGE`], and what a constant claim needs. Each returns the key to blame, the
//! problem and the fix; the caller turns that into an error with or without a position.

use super::limits::DERIVED_RANGE;
use super::schema::{DriftChoice, Experiment};
use crate::claims::spec::{Against, ClaimKind, Metric};
use crate::scaling::{LimitError, Scaling};

/// A problem found by a check: the key to blame, the problem and what is expected instead.
pub(crate) type Problem = (String, String, String);

// The fixes below speak the file's syntax; the library builder restates them in builder calls.
/// The fix of `drift = "limit"` without a drift limit.
pub(crate) const DRIFT_LIMIT_FIX: &str =
    "\"exact\", \"paper\" or a number, or scalings on the line beta + 2 gamma = 1";
/// Where the values of a fit must lie (part of a fix).
pub(crate) const IN_FIT_RANGE: &str = "inside claim.fit_from..claim.fit_to";
/// The fix of a constant claim on a grid.
pub(crate) const GRID_FIX: &str = "a slope claim, or no [grid]";
/// The fix of a constant claim on kappa_hat against d.
pub(crate) const AGAINST_N_FIX: &str = "against = \"n\"";
/// The fix of a constant claim under a scaling without a fluctuation limit.
pub(crate) const NOISE_FIX: &str = "rule = \"corrected\", or rule = \"power\" with beta + 2 gamma = 1 and gamma > 1/4; or a slope claim";

impl Experiment {
    /// What depends on the sweep sizes: a finite non-zero drift limit in every grid cell for
    /// `drift = "limit"`, and enough points in the claim's fit range. `quick` names the
    /// `[quick]` keys instead of the file's own.
    pub(crate) fn size_problem(&self, quick: bool) -> Option<Problem> {
        self.drift_limit_problem(quick)
            .or_else(|| self.fit_points_problem(quick))
            .or_else(|| self.trajectories_problem(quick))
    }

    /// `{ times_dim = k }` that leaves fewer than 2 trajectories at the largest dimension.
    fn trajectories_problem(&self, quick: bool) -> Option<Problem> {
        let t = self.sweep.trajectories;
        let d = self.sweep.dim.iter().copied().max()?;
        if t.at(d) >= 2 {
            return None;
        }
        let key = if quick {
            "quick.trajectories.times_dim"
        } else {
            "sweep.trajectories.times_dim"
        };
        Some((
            key.into(),
            format!("{} gives {} trajectory at d = {d}", t.count(), t.at(d)),
            format!("at least {} (2 trajectories at d = {d})", d as u64 + 1),
        ))
    }

    /// `drift = "limit"` in a grid cell without a finite non-zero drift limit.
    fn drift_limit_problem(&self, quick: bool) -> Option<Problem> {
        if self.reference.drift != DriftChoice::Limit {
            return None;
        }
        let (c, e) = self
            .cells()
            .into_iter()
            .find_map(|c| c.kappa_limit().err().map(|e| (c, e)))?;
        let (beta, gamma) = c.exponents();
        let why = limit_error_text(e);
        let key = if quick {
            "quick.gamma"
        } else {
            "reference.drift"
        };
        Some((
            key.into(),
            format!(
                "\"limit\" has no finite non-zero drift limit: with beta = {beta}, gamma = {gamma}, n alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n) {why} (beta + 2 gamma = {:.4}, not 1)",
                beta + 2.0 * gamma
            ),
            DRIFT_LIMIT_FIX.into(),
        ))
    }

    /// Fewer points in the claim's fit range than its fit needs.
    fn fit_points_problem(&self, quick: bool) -> Option<Problem> {
        let c = self.claim.as_ref()?;
        let xs: Vec<f64> = match c.against {
            Against::Dim => self.sweep.dim.iter().map(|&d| d as f64).collect(),
            Against::N => self.sweep.n.iter().map(|&v| v as f64).collect(),
        };
        let points = xs.iter().filter(|&&x| c.in_fit_range(x)).count();
        let (need, what) = c.points_needed();
        // A constant claim is decided per dimension over that dimension's values of n: against n
        // they are the n in the fit range; against d every n enters, and the fit range selects
        // the dimensions (at least one).
        let (key, points, need, what) = match (c.kind, c.against) {
            (ClaimKind::Constant, Against::Dim) if points == 0 => ("dim", 0, 1, "a constant claim"),
            (ClaimKind::Constant, Against::Dim) => ("n", self.sweep.n.len(), need, what),
            (_, Against::Dim) => ("dim", points, need, what),
            (_, Against::N) => ("n", points, need, what),
        };
        (points < need).then(|| {
            let table = if quick { "quick" } else { "sweep" };
            (
                format!("{table}.{key}"),
                format!(
                    "has {points} values in the claim's fit range; {what} needs at least {need}"
                ),
                format!("at least {need} values ({IN_FIT_RANGE})"),
            )
        })
    }

    /// A derived constant outside [`DERIVED_RANGE`] at some point (alpha_n, A_n, kappa_n or the
    /// reference's kappa; NaN and infinities included).
    pub(crate) fn derived_problem(&self) -> Option<Problem> {
        self.points().into_iter().find_map(|p| {
            let (n, s) = (p.n, &p.scaling);
            scaling_checks(s, n)
                .into_iter()
                .chain([("the reference's kappa", self.kappa(&p), "reference.drift")])
                .find_map(|(what, v, key)| out_of_range(what, v, n, key))
        })
    }
}

/// The text of a drift limit that does not exist.
pub(super) fn limit_error_text(e: LimitError) -> &'static str {
    match e {
        LimitError::Infinite => "grows without bound",
        LimitError::Zero => "tends to 0",
    }
}

/// alpha_n, A_n and kappa_n of a scaling at n, each with the key to blame.
pub(super) fn scaling_checks(s: &Scaling, n: u64) -> [(&'static str, f64, &'static str); 3] {
    let kappa_key = if s.a_n(n) > 1.0 {
        "scaling.a"
    } else {
        "scaling.alpha"
    };
    [
        ("alpha_n", s.alpha_n(n), "scaling.alpha"),
        ("A_n", s.a_n(n), "scaling.a"),
        ("kappa_n", s.kappa_n(n), kappa_key),
    ]
}

/// The problem of a derived constant `what` = `v` at n outside [`DERIVED_RANGE`], if it is.
pub(super) fn out_of_range(what: &str, v: f64, n: u64, key: &str) -> Option<Problem> {
    let (lo, hi) = DERIVED_RANGE;
    (!(lo..=hi).contains(&v)).then(|| {
        (
            key.to_string(),
            format!(
                "gives {what} = {v:e} at n = {n}, outside [{lo:e}, {hi:e}] where the simulation means something in f64"
            ),
            "values for which alpha_n, A_n, kappa_n and kappa stay within that range at every n"
                .into(),
        )
    })
}

/// Why a constant claim cannot be tested on this experiment. Constant claims need the
/// fluctuation limit (the critical line with gamma > 1/4, see `Scaling::noise_scale`) and one
/// scaling (no grid).
pub(crate) fn constant_claim_problem(
    scaling: &Scaling,
    grid: bool,
    metric: Metric,
    against: Against,
) -> Option<(&'static str, String, String)> {
    if grid {
        return Some((
            "claim.kind",
            "\"constant\" needs one scaling, but the file has a [grid]".into(),
            GRID_FIX.into(),
        ));
    }
    if against == Against::Dim && metric == Metric::KappaHat {
        return Some((
            "claim.against",
            "a constant claim on kappa_hat is checked at the largest n, not against d".into(),
            AGAINST_N_FIX.into(),
        ));
    }
    if let Err(why) = scaling.noise_scale() {
        return Some((
            "claim.kind",
            format!(
                "\"constant\" compares with the fluctuation limit, which this scaling does not have: {why}"
            ),
            NOISE_FIX.into(),
        ));
    }
    None
}
