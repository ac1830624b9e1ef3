//! The vocabulary of claims: what a convergence experiment asserts ([`ClaimSpec`]), about which
//! quantity ([`Metric`]) and against which variable ([`Against`]). Written to `summary.json`, so
//! the serde names are part of the output format.

use crate::stats::VerdictKind;
use serde::{Deserialize, Serialize};

/// Points that a slope with a confidence interval needs in its fit range.
pub const SLOPE_POINTS: usize = 3;
/// Points that the slope fit with the grid term (one more parameter) needs.
pub const GRID_TERM_POINTS: usize = 4;
/// Points that the finite-n fit n E sup = a - b n^(-1/2) of a constant claim needs.
pub const FINITE_N_POINTS: usize = 3;

/// The quantity whose slope a claim is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// E sup_t |Z^n_t - Z_t|^2.
    SupSqError,
    /// E |Z^n_T - Z_T|^2.
    TerminalSqError,
    /// The realised drift constant.
    KappaHat,
}

impl Metric {
    /// The key used in rows and in files.
    pub fn key(&self) -> &'static str {
        match self {
            Metric::SupSqError => "sup_sq_error",
            Metric::TerminalSqError => "terminal_sq_error",
            Metric::KappaHat => "kappa_hat",
        }
    }
}

/// The variable a slope is taken against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Against {
    /// n.
    N,
    /// The dimension d.
    Dim,
}

/// What a claim asserts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimKind {
    /// The log-log slope equals `slope` within `tolerance`.
    #[default]
    Slope,
    /// The log-log slope is at most `slope + tolerance` (an upper bound such as c^2 d / n).
    Bound,
    /// n times the error (or kappa_hat) equals the predicted limit within a relative `tolerance`.
    Constant,
}

/// A claim stated in the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimSpec {
    /// What is claimed.
    #[serde(default)]
    pub kind: ClaimKind,
    /// The quantity.
    pub metric: Metric,
    /// Against n or d.
    pub against: Against,
    /// The claimed slope (slope and bound claims).
    pub slope: Option<f64>,
    /// Its tolerance: a slope's half-width, or the relative half-width of a constant's band.
    pub tolerance: f64,
    /// Whether the slope fit models the grid maximum's approach to the supremum:
    /// y = n^slope (a + b n^(-1/2)) (sup_sq_error against n).
    #[serde(default)]
    pub grid_term: bool,
    /// Whether decay (slope < 0) is also required.
    pub decay: bool,
    /// The verdict the experiment expects, if stated.
    pub expect: Option<VerdictKind>,
    /// Which statement of the paper this tests.
    pub statement: String,
    /// Only points with x >= this enter the claim's fit (a declared asymptotic range).
    pub fit_from: Option<f64>,
    /// Only points with x <= this enter the claim's fit.
    pub fit_to: Option<f64>,
}

impl ClaimSpec {
    /// Whether x (an n or a d, per `against`) lies in the fit range `fit_from..=fit_to`.
    pub fn in_fit_range(&self, x: f64) -> bool {
        self.fit_from.is_none_or(|a| x >= a) && self.fit_to.is_none_or(|b| x <= b)
    }

    fn base(kind: ClaimKind, metric: Metric, slope: Option<f64>, tolerance: f64) -> Self {
        Self {
            kind,
            metric,
            against: Against::N,
            slope,
            tolerance,
            grid_term: false,
            decay: kind == ClaimKind::Slope && metric != Metric::KappaHat,
            expect: None,
            statement: String::new(),
            fit_from: None,
            fit_to: None,
        }
    }

    /// The slope of E sup |Z^n - Z|^2 against n is `slope` within `tolerance` (and the error
    /// decays).
    pub fn slope(slope: f64, tolerance: f64) -> Self {
        Self::base(ClaimKind::Slope, Metric::SupSqError, Some(slope), tolerance)
    }

    /// The slope is at most `slope + tolerance`.
    pub fn bound(slope: f64, tolerance: f64) -> Self {
        Self::base(ClaimKind::Bound, Metric::SupSqError, Some(slope), tolerance)
    }

    /// n times the error of `metric` (or kappa_hat) matches the fluctuation limit within
    /// 1 ± `tolerance`.
    pub fn constant(metric: Metric, tolerance: f64) -> Self {
        Self::base(ClaimKind::Constant, metric, None, tolerance)
    }

    /// The quantity (for a slope claim on kappa_hat, also drops the decay requirement).
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self.decay = self.kind == ClaimKind::Slope && metric != Metric::KappaHat;
        self
    }

    /// Against the dimension instead of n.
    pub fn against_dim(mut self) -> Self {
        self.against = Against::Dim;
        self.decay = false;
        self
    }

    /// Models the grid term of the sup: E S_n = n^s (a - b n^(-1/2)).
    pub fn grid_term(mut self) -> Self {
        self.grid_term = true;
        self
    }

    /// The verdict `verify` expects.
    pub fn expect(mut self, kind: VerdictKind) -> Self {
        self.expect = Some(kind);
        self
    }

    /// Which statement of the paper this tests.
    pub fn statement(mut self, text: &str) -> Self {
        self.statement = text.to_string();
        self
    }

    /// The fewest points the claim's fit range must hold, and what needs them.
    pub fn points_needed(&self) -> (usize, &'static str) {
        match (self.kind, self.metric) {
            (ClaimKind::Constant, Metric::SupSqError) => (
                FINITE_N_POINTS,
                "the fit of n E sup = a - b n^(-1/2) with an interval",
            ),
            (ClaimKind::Constant, _) => (1, "a constant claim"),
            _ if self.grid_term => (
                GRID_TERM_POINTS,
                "a slope with the grid term and an interval",
            ),
            _ => (SLOPE_POINTS, "a slope with a confidence interval"),
        }
    }
}
