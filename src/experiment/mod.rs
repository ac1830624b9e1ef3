//! Experiment files: the TOML schema, its validation and the resolved experiment.
//!
//! Values are read from a `toml::Table`; positions for messages come from the spanned parse
//! (`toml::de::DeTable`). Every error names the file, the line and column where known, the key and
//! what is expected. See the README's "Experiment files" section for the reference.

use crate::error::{Error, Location, closest};
use crate::loss::{Linear, LogCosh, Logistic, Loss, Quadratic};
use crate::scaling::{LimitError, Scaling, ScalingRule};
use crate::stats::VerdictKind;
use serde::{Deserialize, Serialize, Serializer};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

pub mod learning;

/// A vector given in a file: explicit values, one value for every coordinate, or the unit vector
/// (1, ..., 1)/sqrt(d).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VecSpec {
    /// Explicit coordinates; fixes the dimension.
    Values(Vec<f64>),
    /// The same value in every coordinate.
    Fill(f64),
    /// (1, ..., 1) / sqrt(d).
    #[serde(serialize_with = "ser_unit")]
    Unit,
}

fn ser_unit<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("unit")
}

impl VecSpec {
    /// The vector in dimension d.
    pub fn materialize(&self, d: usize) -> Vec<f64> {
        match self {
            VecSpec::Values(v) => v.clone(),
            VecSpec::Fill(x) => vec![*x; d],
            VecSpec::Unit => vec![1.0 / (d as f64).sqrt(); d],
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            VecSpec::Values(v) => Some(v.len()),
            _ => None,
        }
    }
}

/// The loss family and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LossSpec {
    /// sum_i log cosh(theta_i - c_i).
    Logcosh {
        /// c.
        center: VecSpec,
    },
    /// 0.5 sum_i h_i (theta_i - c_i)^2.
    Quadratic {
        /// c.
        center: VecSpec,
        /// h.
        curvature: VecSpec,
    },
    /// log(1 + exp(-y x.theta)).
    Logistic {
        /// x.
        x: VecSpec,
        /// y in {-1, +1}.
        y: f64,
    },
    /// g.theta.
    Linear {
        /// g.
        g: VecSpec,
    },
    /// A loss defined in Rust by the user ([`crate::ConvergenceStudy`]); serialised as its name.
    Custom {
        /// The name that identifies the loss in results and random streams.
        name: String,
        /// Builds the loss in dimension d.
        #[serde(skip)]
        factory: LossFactory,
    },
}

/// Builds a user-defined loss in dimension d.
#[derive(Clone)]
pub struct LossFactory(pub std::sync::Arc<dyn Fn(usize) -> Box<dyn Loss> + Send + Sync>);

impl std::fmt::Debug for LossFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LossFactory(..)")
    }
}

impl PartialEq for LossFactory {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl LossSpec {
    /// The loss in dimension d.
    pub fn build(&self, d: usize) -> Box<dyn Loss> {
        match self {
            LossSpec::Logcosh { center } => Box::new(LogCosh::new(center.materialize(d))),
            LossSpec::Quadratic { center, curvature } => Box::new(Quadratic::new(
                center.materialize(d),
                curvature.materialize(d),
            )),
            LossSpec::Logistic { x, y } => Box::new(Logistic::new(x.materialize(d), *y)),
            LossSpec::Linear { g } => Box::new(Linear::new(g.materialize(d))),
            LossSpec::Custom { factory, .. } => (factory.0)(d),
        }
    }

    fn vectors(&self) -> Vec<(&'static str, &VecSpec)> {
        match self {
            LossSpec::Logcosh { center } => vec![("center", center)],
            LossSpec::Quadratic { center, curvature } => {
                vec![("center", center), ("curvature", curvature)]
            }
            LossSpec::Logistic { x, .. } => vec![("x", x)],
            LossSpec::Linear { g } => vec![("g", g)],
            LossSpec::Custom { .. } => Vec::new(),
        }
    }
}

/// The drift constant kappa of the reference flow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DriftChoice {
    /// 4 alpha, the first version's claim (3.5).
    Paper,
    /// lim_n kappa_n; (2/3) alpha A^2 on the critical line.
    Limit,
    /// kappa_n at each n.
    Exact,
    /// A given number.
    Value(f64),
}

impl Serialize for DriftChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DriftChoice::Paper => s.serialize_str("paper"),
            DriftChoice::Limit => s.serialize_str("limit"),
            DriftChoice::Exact => s.serialize_str("exact"),
            DriftChoice::Value(v) => s.serialize_f64(*v),
        }
    }
}

/// The reference flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reference {
    /// Which kappa.
    pub drift: DriftChoice,
    /// Horizon T.
    pub horizon: f64,
    /// RK4 substeps per interval 1/n.
    pub substeps: u32,
}

/// What is swept.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    /// The values of n, increasing.
    pub n: Vec<u64>,
    /// The dimensions (one entry unless `[sweep] dim` is given).
    pub dim: Vec<usize>,
    /// Whether `dim` is a sweep.
    pub dim_sweep: bool,
    /// Trajectories M per point.
    pub trajectories: u64,
    /// Checkpoints of the recorded mean path.
    pub checkpoints: u64,
    /// |theta - Z| above this counts as divergence.
    pub divergence_bound: f64,
}

/// A grid of (beta, gamma) for the `power` rule (phase diagram).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grid {
    /// Values of beta.
    pub beta: Vec<f64>,
    /// Values of gamma.
    pub gamma: Vec<f64>,
}

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
}

/// Every key name the schema reads, in any table of either kind of experiment. A present key
/// on this list is never taken for a misspelling of a missing one (a file without `seed` but with
/// `sweep` lacks `seed`; it did not misspell it).
const SCHEMA_KEYS: &[&str] = &[
    "a",
    "accuracy",
    "against",
    "alpha",
    "beta",
    "center",
    "checkpoints",
    "claim",
    "curvature",
    "data",
    "decay",
    "dim",
    "distance",
    "divergence_bound",
    "drift",
    "epochs",
    "every",
    "excitatory",
    "expect",
    "file",
    "fit_from",
    "fit_to",
    "flow_substeps",
    "from",
    "g",
    "gamma",
    "grid",
    "grid_term",
    "hidden",
    "horizon",
    "kappa",
    "kind",
    "label",
    "learning",
    "loss",
    "metric",
    "model",
    "n",
    "name",
    "points",
    "quick",
    "reference",
    "replicates",
    "rule",
    "rules",
    "scaling",
    "seed",
    "sign_seed",
    "single_update",
    "single_update_alpha",
    "single_update_n",
    "slope",
    "split_seed",
    "standardize",
    "start",
    "statement",
    "substeps",
    "sweep",
    "test_fraction",
    "theta0",
    "title",
    "to",
    "tolerance",
    "trajectories",
    "x",
    "y",
];

/// alpha_n, A_n, kappa_n and kappa must lie in this range at every n: outside it, f64 loses
/// the increments (below) or overflows in the flow, cosh or the loss (above).
pub const DERIVED_RANGE: (f64, f64) = (1e-100, 1e100);

/// Smaller sizes for `verify --quick`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quick {
    /// n values.
    pub n: Option<Vec<u64>>,
    /// Trajectories.
    pub trajectories: Option<u64>,
    /// Dimensions.
    pub dim: Option<Vec<usize>>,
    /// Grid beta values.
    pub beta: Option<Vec<f64>>,
    /// Grid gamma values.
    pub gamma: Option<Vec<f64>>,
}

/// A fully resolved, validated experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Experiment {
    /// Short name (also the results folder).
    pub name: String,
    /// Human title.
    pub title: String,
    /// The seed that fixes every random number.
    pub seed: u64,
    /// The loss.
    pub loss: LossSpec,
    /// theta0.
    pub theta0: VecSpec,
    /// Scaling rule and constants.
    pub scaling: Scaling,
    /// Reference flow.
    pub reference: Reference,
    /// Sweep.
    pub sweep: Sweep,
    /// Phase-diagram grid.
    pub grid: Option<Grid>,
    /// The claim.
    pub claim: Option<ClaimSpec>,
    /// Quick sizes.
    pub quick: Option<Quick>,
    /// The file it came from.
    #[serde(skip)]
    pub source: PathBuf,
    /// The file's text (kept for shards, which carry it to `merge`).
    #[serde(skip)]
    pub source_text: String,
}

/// Changes made from the command line after validation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    /// Use the `[quick]` sizes.
    pub quick: bool,
    /// Replace `sweep.trajectories`.
    pub trajectories: Option<u64>,
    /// Replace `seed`.
    pub seed: Option<u64>,
}

impl Overrides {
    /// Applies the overrides, checking their ranges.
    pub fn apply(&self, exp: &mut Experiment) -> Result<(), Error> {
        if self.quick {
            if exp.quick.is_none() {
                return Err(Error::InvalidValue {
                    at: Location {
                        file: exp.source.clone(),
                        line_col: None,
                    },
                    key: "quick".into(),
                    problem: "--quick was given but the file has no [quick] table".into(),
                    expected: "a [quick] table with smaller sizes, or no --quick".into(),
                });
            }
            exp.quick();
            if let Some((key, problem, expected)) =
                exp.size_problem(true).or_else(|| exp.derived_problem())
            {
                let at = Location {
                    file: exp.source.clone(),
                    line_col: None,
                };
                return Err(Error::InvalidValue {
                    at,
                    key,
                    problem,
                    expected,
                });
            }
        }
        if let Some(m) = self.trajectories {
            if !(2..=MAX_TRAJECTORIES).contains(&m) {
                return Err(Error::InvalidValue {
                    at: Location {
                        file: PathBuf::from("(command line)"),
                        line_col: None,
                    },
                    key: "--trajectories".into(),
                    problem: format!("is {m}"),
                    expected: "an integer from 2 to 10^8".into(),
                });
            }
            exp.sweep.trajectories = m;
        }
        if let Some(seed) = self.seed {
            exp.seed = seed;
        }
        Ok(())
    }
}

/// One point of a sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Dimension.
    pub dim: usize,
    /// n.
    pub n: u64,
    /// The scaling at this point (differs across grid cells).
    pub scaling: Scaling,
    /// Index of the grid cell (0 without a grid).
    pub cell: usize,
}

impl Experiment {
    /// The scalings of the grid cells (one without a grid), in order.
    pub fn cells(&self) -> Vec<Scaling> {
        match &self.grid {
            None => vec![self.scaling],
            Some(g) => g
                .beta
                .iter()
                .flat_map(|&beta| {
                    g.gamma.iter().map(move |&gamma| Scaling {
                        rule: ScalingRule::Power { beta, gamma },
                        ..self.scaling
                    })
                })
                .collect(),
        }
    }

    /// All points, by cell, then dimension, then n.
    pub fn points(&self) -> Vec<Point> {
        let mut v = Vec::new();
        for (cell, scaling) in self.cells().into_iter().enumerate() {
            for &dim in &self.sweep.dim {
                for &n in &self.sweep.n {
                    v.push(Point {
                        dim,
                        n,
                        scaling,
                        cell,
                    });
                }
            }
        }
        v
    }

    /// The seed of every random stream of a grid cell: `seed` mixed with the experiment's
    /// identity (name, loss, scaling rule and exponents), so that no two experiments or cells
    /// share random bits.
    pub fn stream_seed(&self, scaling: &Scaling) -> u64 {
        let identity = format!(
            "{}|{}|{}",
            self.name,
            serde_json::to_string(&self.loss).expect("serialisable"),
            serde_json::to_string(&scaling.rule).expect("serialisable"),
        );
        crate::rng::mix_seed(self.seed, &identity)
    }

    /// kappa of the reference flow at a point.
    pub fn kappa(&self, p: &Point) -> f64 {
        match self.reference.drift {
            DriftChoice::Paper => 4.0 * p.scaling.alpha,
            DriftChoice::Limit => p.scaling.kappa_limit().expect("validated"),
            DriftChoice::Exact => p.scaling.kappa_n(p.n),
            DriftChoice::Value(k) => k,
        }
    }

    /// What depends on the sweep sizes: a finite non-zero drift limit in every grid cell for
    /// `drift = "limit"`, and at least 3 points in the claim's fit range. Returns the offending
    /// key, the problem and what is expected; `quick` names the `[quick]` keys instead of the
    /// file's own.
    pub(crate) fn size_problem(&self, quick: bool) -> Option<(String, String, String)> {
        if self.reference.drift == DriftChoice::Limit {
            for c in self.cells() {
                if let Err(e) = c.kappa_limit() {
                    let (beta, gamma) = c.exponents();
                    let why = match e {
                        LimitError::Infinite => "grows without bound",
                        LimitError::Zero => "tends to 0",
                    };
                    let key = if quick {
                        "quick.gamma"
                    } else {
                        "reference.drift"
                    };
                    return Some((
                        key.into(),
                        format!(
                            "\"limit\" has no finite non-zero drift limit: with beta = {beta}, gamma = {gamma}, n alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n) {why} (beta + 2 gamma = {:.4}, not 1)",
                            beta + 2.0 * gamma
                        ),
                        "\"exact\", \"paper\" or a number, or scalings on the line beta + 2 gamma = 1".into(),
                    ));
                }
            }
        }
        let c = self.claim.as_ref()?;
        let xs: Vec<f64> = match c.against {
            Against::Dim => self.sweep.dim.iter().map(|&d| d as f64).collect(),
            Against::N => self.sweep.n.iter().map(|&v| v as f64).collect(),
        };
        let points = xs
            .iter()
            .filter(|&&x| c.fit_from.is_none_or(|a| x >= a) && c.fit_to.is_none_or(|b| x <= b))
            .count();
        let (need, what) = match (c.kind, c.metric) {
            (ClaimKind::Constant, Metric::SupSqError) => {
                (3, "the fit of n E sup = a - b n^(-1/2) with an interval")
            }
            (ClaimKind::Constant, _) => (1, "a constant claim"),
            _ if c.grid_term => (4, "a slope with the grid term and an interval"),
            _ => (3, "a slope with a confidence interval"),
        };
        let (key, points) = if c.kind == ClaimKind::Constant {
            ("n", self.sweep.n.len())
        } else {
            (
                if c.against == Against::Dim {
                    "dim"
                } else {
                    "n"
                },
                points,
            )
        };
        (points < need).then(|| {
            let table = if quick { "quick" } else { "sweep" };
            (
                format!("{table}.{key}"),
                format!(
                    "has {points} values in the claim's fit range; {what} needs at least {need}"
                ),
                format!("at least {need} values (inside claim.fit_from..claim.fit_to)"),
            )
        })
    }

    /// A derived constant outside [`DERIVED_RANGE`] at some point (alpha_n, A_n, kappa_n or the
    /// reference's kappa; NaN and infinities included): the key to blame, the problem and the fix.
    pub(crate) fn derived_problem(&self) -> Option<(String, String, String)> {
        for p in self.points() {
            let n = p.n;
            let s = &p.scaling;
            let checks = [
                ("alpha_n", s.alpha_n(n), "scaling.alpha"),
                ("A_n", s.a_n(n), "scaling.a"),
                (
                    "kappa_n",
                    s.kappa_n(n),
                    if s.a_n(n) > 1.0 {
                        "scaling.a"
                    } else {
                        "scaling.alpha"
                    },
                ),
                ("the reference's kappa", self.kappa(&p), "reference.drift"),
            ];
            for (what, v, key) in checks {
                if !(DERIVED_RANGE.0..=DERIVED_RANGE.1).contains(&v) {
                    return Some((
                        key.to_string(),
                        format!(
                            "gives {what} = {v:e} at n = {n}, outside [{:e}, {:e}] where the simulation means something in f64",
                            DERIVED_RANGE.0, DERIVED_RANGE.1
                        ),
                        "values for which alpha_n, A_n, kappa_n and kappa stay within that range at every n".into(),
                    ));
                }
            }
        }
        None
    }

    /// Applies the `[quick]` sizes.
    pub fn quick(&mut self) {
        let Some(q) = self.quick.clone() else { return };
        if let Some(n) = q.n {
            self.sweep.n = n;
        }
        if let Some(m) = q.trajectories {
            self.sweep.trajectories = m;
        }
        if let Some(d) = q.dim {
            self.sweep.dim = d;
        }
        if let Some(g) = &mut self.grid {
            if let Some(b) = q.beta {
                g.beta = b;
            }
            if let Some(c) = q.gamma {
                g.gamma = c;
            }
        }
    }
}

/// Why a constant claim cannot be tested on this experiment: the key to blame, the problem and
/// the fix. Constant claims need the fluctuation limit (the critical line with gamma > 0) and one
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
            "a slope claim, or no [grid]".into(),
        ));
    }
    if against == Against::Dim && metric == Metric::KappaHat {
        return Some((
            "claim.against",
            "a constant claim on kappa_hat is checked at the largest n, not against d".into(),
            "against = \"n\"".into(),
        ));
    }
    if let Err(why) = scaling.noise_scale() {
        return Some((
            "claim.kind",
            format!("\"constant\" compares with the fluctuation limit, which this scaling does not have: {why}"),
            "rule = \"corrected\", or rule = \"power\" with beta + 2 gamma = 1 and gamma > 0; or a slope claim".into(),
        ));
    }
    None
}

/// Reads and validates a convergence experiment file.
pub fn load(path: &Path) -> Result<Experiment, Error> {
    convergence_only(load_any(path)?, path)
}

/// Validates convergence-experiment text; `path` is used in messages.
pub fn parse(src: &str, path: &Path) -> Result<Experiment, Error> {
    convergence_only(parse_any(src, path)?, path)
}

fn convergence_only(spec: Spec, path: &Path) -> Result<Experiment, Error> {
    match spec {
        Spec::Convergence(e) => Ok(*e),
        Spec::Learning(_) => Err(Error::InvalidValue {
            at: Location {
                file: path.to_path_buf(),
                line_col: None,
            },
            key: "kind".into(),
            problem: "is \"learning\", which this command does not take".into(),
            expected: "a convergence experiment (no `kind`, or kind = \"convergence\"); run learning experiments with `stdp-flow run` or `verify`".into(),
        }),
    }
}

/// Either kind of experiment file.
#[derive(Clone, Debug)]
pub enum Spec {
    /// The convergence of eq. 3.2 to the flow (no `kind`, or `kind = "convergence"`).
    Convergence(Box<Experiment>),
    /// Learning from a dataset (`kind = "learning"`).
    Learning(Box<learning::LearningExperiment>),
}

impl Spec {
    /// The experiment's name.
    pub fn name(&self) -> &str {
        match self {
            Spec::Convergence(e) => &e.name,
            Spec::Learning(e) => &e.name,
        }
    }

    /// The file it came from.
    pub fn source(&self) -> &Path {
        match self {
            Spec::Convergence(e) => &e.source,
            Spec::Learning(e) => &e.source,
        }
    }
}

/// Reads and validates an experiment file of either kind.
pub fn load_any(path: &Path) -> Result<Spec, Error> {
    let src = std::fs::read_to_string(path).map_err(|e| Error::InvalidValue {
        at: Location {
            file: path.to_path_buf(),
            line_col: None,
        },
        key: "(file)".into(),
        problem: format!("cannot read the file: {e}"),
        expected: "a readable TOML experiment file".into(),
    })?;
    parse_any(&src, path)
}

/// Validates experiment text of either kind; `path` is used in messages.
pub fn parse_any(src: &str, path: &Path) -> Result<Spec, Error> {
    let table: Table = src.parse().map_err(|e: toml::de::Error| Error::Syntax {
        at: Location {
            file: path.to_path_buf(),
            line_col: e.span().map(|s| line_col(src, s.start)),
        },
        message: e.message().trim().to_string(),
    })?;
    let cx = Cx { src, file: path };
    let mut top = Sec::new(&cx, table, "");
    let kind = top.choice("kind", Some("convergence"), &["convergence", "learning"])?;
    let spec = if kind == "learning" {
        Spec::Learning(Box::new(learning::read(&cx, &mut top)?))
    } else {
        Spec::Convergence(Box::new(read(&cx, &mut top)?))
    };
    top.finish()?;
    Ok(spec)
}

fn line_col(src: &str, byte: usize) -> (usize, usize) {
    let mut byte = byte.min(src.len());
    while !src.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &src[..byte];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Cx<'a> {
    src: &'a str,
    file: &'a Path,
}

impl Cx<'_> {
    /// Position of the value (or table) at a dotted key path.
    fn locate(&self, key: &str) -> Option<(usize, usize)> {
        let doc = toml::de::DeTable::parse(self.src).ok()?;
        let mut span = doc.span();
        let mut table = doc.get_ref();
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *part)?;
            span = if i + 1 == parts.len() {
                k.span()
            } else {
                v.span()
            };
            match v.get_ref() {
                toml::de::DeValue::Table(t) => table = t,
                _ if i + 1 == parts.len() => break,
                _ => return None,
            }
        }
        Some(line_col(self.src, span.start))
    }

    fn at(&self, key: &str) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line_col: self.locate(key),
        }
    }

    fn invalid(&self, key: &str, problem: impl Into<String>, expected: impl Into<String>) -> Error {
        Error::InvalidValue {
            at: self.at(key),
            key: key.to_string(),
            problem: problem.into(),
            expected: expected.into(),
        }
    }
}

/// A table being read: keys are taken out as they are used; what is left is unknown.
struct Sec<'a> {
    cx: &'a Cx<'a>,
    table: Table,
    prefix: String,
    allowed: Vec<&'static str>,
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Integer(i) => format!("the integer {i}"),
        Value::Float(x) => format!("the number {x}"),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Datetime(d) => format!("the date {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

impl<'a> Sec<'a> {
    fn new(cx: &'a Cx<'a>, table: Table, prefix: &str) -> Self {
        Self {
            cx,
            table,
            prefix: prefix.to_string(),
            allowed: Vec::new(),
        }
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn take(&mut self, key: &'static str) -> Option<Value> {
        self.allowed.push(key);
        self.table.remove(key)
    }

    /// A key of this table that is no key of the schema but close to `key`: a misspelling of it.
    fn typo_of(&self, key: &str) -> Option<String> {
        self.table
            .keys()
            .find(|k| !SCHEMA_KEYS.contains(&k.as_str()) && closest(k, &[key]).is_some())
            .cloned()
    }

    /// When `key` is absent but a key that the schema does not know is close to it: the error
    /// naming that key as a misspelling of `key`.
    fn misspelt(&self, key: &str) -> Option<Error> {
        if self.table.contains_key(key) {
            return None;
        }
        let full = self.path(&self.typo_of(key)?);
        Some(Error::UnknownKey {
            at: self.cx.at(&full),
            key: full,
            suggestion: Some(self.path(key)),
            allowed: Vec::new(),
        })
    }

    fn require(&mut self, key: &'static str, expected: &str) -> Result<Value, Error> {
        if let Some(e) = self.misspelt(key) {
            return Err(e);
        }
        self.take(key).ok_or_else(|| Error::MissingKey {
            at: self.cx.at(&self.prefix),
            key: self.path(key),
            expected: expected.to_string(),
        })
    }

    fn bad(&self, key: &str, v: &Value, expected: &str) -> Error {
        self.cx
            .invalid(&self.path(key), format!("found {}", describe(v)), expected)
    }

    fn num(&self, key: &str, v: &Value, expected: &str) -> Result<f64, Error> {
        let x = match v {
            Value::Float(x) => *x,
            Value::Integer(i) => *i as f64,
            _ => return Err(self.bad(key, v, expected)),
        };
        if !x.is_finite() {
            return Err(self.bad(key, v, expected));
        }
        Ok(x)
    }

    fn f64_in(
        &mut self,
        key: &'static str,
        default: Option<f64>,
        ok: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Result<f64, Error> {
        let v = match (self.take(key), default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(self.require(key, expected).unwrap_err()),
        };
        let x = self.num(key, &v, expected)?;
        if !ok(x) {
            return Err(self.bad(key, &v, expected));
        }
        Ok(x)
    }

    fn int_in(
        &mut self,
        key: &'static str,
        default: Option<u64>,
        range: (u64, u64),
        expected: &str,
    ) -> Result<u64, Error> {
        let v = match (self.take(key), default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(self.require(key, expected).unwrap_err()),
        };
        match v {
            Value::Integer(i) if i >= 0 && (range.0..=range.1).contains(&(i as u64)) => {
                Ok(i as u64)
            }
            _ => Err(self.bad(key, &v, expected)),
        }
    }

    fn string(
        &mut self,
        key: &'static str,
        default: Option<&str>,
        expected: &str,
    ) -> Result<String, Error> {
        match (self.take(key), default) {
            (Some(Value::String(s)), _) => Ok(s),
            (Some(v), _) => Err(self.bad(key, &v, expected)),
            (None, Some(d)) => Ok(d.to_string()),
            (None, None) => Err(self.require(key, expected).unwrap_err()),
        }
    }

    fn choice(
        &mut self,
        key: &'static str,
        default: Option<&str>,
        options: &[&str],
    ) -> Result<String, Error> {
        let expected = format!(
            "one of {}",
            options
                .iter()
                .map(|o| format!("\"{o}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let s = self.string(key, default, &expected)?;
        if options.contains(&s.as_str()) {
            Ok(s)
        } else {
            let hint = closest(&s, options)
                .map(|c| format!(" (did you mean \"{c}\"?)"))
                .unwrap_or_default();
            Err(self.cx.invalid(
                &self.path(key),
                format!("unknown value \"{s}\"{hint}"),
                expected,
            ))
        }
    }

    fn vec_spec(
        &mut self,
        key: &'static str,
        default: Option<VecSpec>,
        allow_unit: bool,
    ) -> Result<VecSpec, Error> {
        let expected = if allow_unit {
            "an array of finite numbers, one number for every coordinate, or \"unit\""
        } else {
            "an array of finite numbers or one number for every coordinate"
        };
        let v = match (self.take(key), default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(self.require(key, expected).unwrap_err()),
        };
        match &v {
            Value::String(s) if allow_unit && s == "unit" => Ok(VecSpec::Unit),
            Value::Array(a) => {
                if a.is_empty() {
                    return Err(self
                        .cx
                        .invalid(&self.path(key), "the array is empty", expected));
                }
                let xs = a
                    .iter()
                    .map(|x| self.num(key, x, expected))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(VecSpec::Values(xs))
            }
            _ => Ok(VecSpec::Fill(self.num(key, &v, expected)?)),
        }
    }

    fn sub(&mut self, key: &'static str) -> Result<Option<Sec<'a>>, Error> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Sec::new(self.cx, t, &self.path(key)))),
            Some(v) => Err(self.bad(key, &v, "a table")),
        }
    }

    fn sub_required(&mut self, key: &'static str, expected: &str) -> Result<Sec<'a>, Error> {
        if let Some(e) = self.misspelt(key) {
            return Err(e);
        }
        match self.sub(key)? {
            Some(s) => Ok(s),
            None => Err(Error::MissingKey {
                at: Location {
                    file: self.cx.file.to_path_buf(),
                    line_col: None,
                },
                key: self.path(key),
                expected: expected.to_string(),
            }),
        }
    }

    fn finish(self) -> Result<(), Error> {
        if let Some(key) = self.table.keys().next() {
            let full = self.path(key);
            return Err(Error::UnknownKey {
                at: self.cx.at(&full),
                suggestion: closest(key, &self.allowed).map(|s| self.path(s)),
                key: full,
                allowed: self.allowed,
            });
        }
        Ok(())
    }

    fn n_list(&mut self, key: &'static str, required: bool) -> Result<Option<Vec<u64>>, Error> {
        let expected =
            "a non-empty array of distinct integers from 2 to 10^9, or { from, to, points }";
        let v = match self.take(key) {
            Some(v) => v,
            None if required => return Err(self.require(key, expected).unwrap_err()),
            None => return Ok(None),
        };
        let path = self.path(key);
        let mut ns: Vec<u64> = match &v {
            Value::Array(a) => {
                if a.is_empty() {
                    return Err(self.cx.invalid(&path, "the array is empty", expected));
                }
                a.iter()
                    .map(|x| match x {
                        Value::Integer(i) if (2..=1_000_000_000).contains(i) => Ok(*i as u64),
                        _ => {
                            Err(self
                                .cx
                                .invalid(&path, format!("found {}", describe(x)), expected))
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            Value::Table(t) => {
                let mut g = Sec::new(self.cx, t.clone(), &path);
                let from = g.int_in(
                    "from",
                    None,
                    (2, 1_000_000_000),
                    "an integer from 2 to 10^9",
                )?;
                let to = g.int_in("to", None, (2, 1_000_000_000), "an integer from 2 to 10^9")?;
                let points = g.int_in("points", None, (2, 100), "an integer from 2 to 100")?;
                g.finish()?;
                if to <= from {
                    return Err(self.cx.invalid(
                        &format!("{path}.to"),
                        format!("{to} is not above from = {from}"),
                        "to > from",
                    ));
                }
                let r = (to as f64 / from as f64).ln();
                let mut v: Vec<u64> = (0..points)
                    .map(|k| {
                        (from as f64 * (r * k as f64 / (points - 1) as f64).exp()).round() as u64
                    })
                    .collect();
                v.dedup();
                v
            }
            _ => return Err(self.bad(key, &v, expected)),
        };
        let len = ns.len();
        ns.sort_unstable();
        ns.dedup();
        if ns.len() != len {
            return Err(self.cx.invalid(&path, "values repeat", expected));
        }
        Ok(Some(ns))
    }

    fn usize_list(
        &mut self,
        key: &'static str,
        lo: u64,
        hi: u64,
        expected: &str,
    ) -> Result<Option<Vec<usize>>, Error> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let Value::Array(a) = &v else {
            return Err(self.bad(key, &v, expected));
        };
        if a.is_empty() {
            return Err(self.cx.invalid(&path, "the array is empty", expected));
        }
        let mut out = a
            .iter()
            .map(|x| match x {
                Value::Integer(i) if *i >= lo as i64 && *i <= hi as i64 => Ok(*i as usize),
                _ => Err(self
                    .cx
                    .invalid(&path, format!("found {}", describe(x)), expected)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let len = out.len();
        out.sort_unstable();
        out.dedup();
        if out.len() != len {
            return Err(self.cx.invalid(&path, "values repeat", expected));
        }
        Ok(Some(out))
    }

    fn f64_list(
        &mut self,
        key: &'static str,
        ok: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Result<Option<Vec<f64>>, Error> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        let Value::Array(a) = &v else {
            return Err(self.bad(key, &v, expected));
        };
        if a.is_empty() {
            return Err(self.cx.invalid(&path, "the array is empty", expected));
        }
        let xs = a
            .iter()
            .map(|x| self.num(key, x, expected))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(x) = xs.iter().find(|x| !ok(**x)) {
            return Err(self.cx.invalid(&path, format!("found {x}"), expected));
        }
        Ok(Some(xs))
    }
}

const MAX_DIM: u64 = 100_000;
const MAX_TRAJECTORIES: u64 = 100_000_000;

/// Reads an optional `expect` key; `path` is its full key for messages.
fn expect(cx: &Cx, sec: &mut Sec, path: &str) -> Result<Option<VerdictKind>, Error> {
    let expected = "\"holds\", \"fails\" or \"inconclusive\"";
    match sec.take("expect") {
        None => Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "holds" => Ok(Some(VerdictKind::Holds)),
            "fails" => Ok(Some(VerdictKind::Fails)),
            "inconclusive" => Ok(Some(VerdictKind::Inconclusive)),
            _ => Err(cx.invalid(path, format!("unknown value \"{s}\""), expected)),
        },
        Some(v) => Err(sec.bad("expect", &v, expected)),
    }
}

fn read_identity(cx: &Cx, top: &mut Sec) -> Result<(String, String, u64), Error> {
    let name = top.string(
        "name",
        None,
        "a short name of letters, digits, '-' and '_' (the results folder)",
    )?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(cx.invalid(
            "name",
            format!("\"{name}\" is not a valid folder name"),
            "letters, digits, '-' and '_' only",
        ));
    }
    let title = top.string("title", Some(&name), "a string")?;
    let seed = top.int_in("seed", None, (0, i64::MAX as u64), "a non-negative integer")?;
    Ok((name, title, seed))
}

fn read(cx: &Cx, top: &mut Sec) -> Result<Experiment, Error> {
    let (name, title, seed) = read_identity(cx, top)?;

    let mut ls = top.sub_required("loss", "a [loss] table with `kind`")?;
    let kind = ls.choice(
        "kind",
        None,
        &["logcosh", "quadratic", "logistic", "linear"],
    )?;
    let loss = match kind.as_str() {
        "logcosh" => LossSpec::Logcosh {
            center: ls.vec_spec("center", None, false)?,
        },
        "quadratic" => {
            let center = ls.vec_spec("center", None, false)?;
            let curvature = ls.vec_spec("curvature", Some(VecSpec::Fill(1.0)), false)?;
            let bad = match &curvature {
                VecSpec::Values(v) => v.iter().any(|h| *h < 0.0),
                VecSpec::Fill(h) => *h < 0.0,
                VecSpec::Unit => false,
            };
            if bad {
                return Err(cx.invalid(
                    "loss.curvature",
                    "a curvature is negative",
                    "curvatures >= 0",
                ));
            }
            LossSpec::Quadratic { center, curvature }
        }
        "logistic" => {
            let x = ls.vec_spec("x", None, true)?;
            let y = ls.f64_in("y", Some(1.0), |y| y == 1.0 || y == -1.0, "1 or -1")?;
            LossSpec::Logistic { x, y }
        }
        _ => LossSpec::Linear {
            g: ls.vec_spec("g", None, false)?,
        },
    };
    let loss_dim = ls.int_in("dim", Some(0), (1, MAX_DIM), "an integer from 1 to 100000")?;
    ls.finish()?;

    let theta0 = match top.sub("start")? {
        Some(mut s) => {
            let t = s.vec_spec("theta0", Some(VecSpec::Fill(0.0)), false)?;
            s.finish()?;
            t
        }
        None => VecSpec::Fill(0.0),
    };

    let mut ss = top.sub_required("scaling", "a [scaling] table with `rule`, `alpha` and `a`")?;
    let rule = ss.choice("rule", None, &["paper", "corrected", "power"])?;
    let alpha = ss.f64_in("alpha", None, |x| x > 0.0, "a positive number")?;
    let a = ss.f64_in(
        "a",
        None,
        |x| x > 0.0,
        "a positive number (the noise half-width A)",
    )?;

    let mut grid = None;
    let mut quick = None;
    let grid_sec = top.sub("grid")?;
    let rule = match rule.as_str() {
        "paper" => ScalingRule::Paper,
        "corrected" => ScalingRule::Corrected,
        _ if grid_sec.is_some() => ScalingRule::Power {
            beta: f64::NAN,
            gamma: f64::NAN,
        },
        _ => {
            let beta = ss.f64_in(
                "beta",
                None,
                |x| (0.0..=2.0).contains(&x),
                "a number from 0 to 2",
            )?;
            let gamma = ss.f64_in(
                "gamma",
                None,
                |x| (0.0..=2.0).contains(&x),
                "a number from 0 to 2",
            )?;
            ScalingRule::Power { beta, gamma }
        }
    };
    ss.finish()?;
    if let Some(mut g) = grid_sec {
        if !matches!(rule, ScalingRule::Power { .. }) {
            return Err(cx.invalid(
                "scaling.rule",
                "a [grid] needs the power rule",
                "rule = \"power\" with [grid]",
            ));
        }
        let expected = "a non-empty array of numbers from 0 to 2";
        let beta = g.f64_list("beta", |x| (0.0..=2.0).contains(&x), expected)?;
        let gamma = g.f64_list("gamma", |x| (0.0..=2.0).contains(&x), expected)?;
        g.finish()?;
        let beta = beta.ok_or_else(|| Error::MissingKey {
            at: cx.at("grid"),
            key: "grid.beta".into(),
            expected: expected.into(),
        })?;
        let gamma = gamma.ok_or_else(|| Error::MissingKey {
            at: cx.at("grid"),
            key: "grid.gamma".into(),
            expected: expected.into(),
        })?;
        grid = Some(Grid { beta, gamma });
    }
    let scaling = Scaling { rule, alpha, a };

    let mut rs = top.sub_required("reference", "a [reference] table with `drift`")?;
    let drift_expected = "\"paper\", \"limit\", \"exact\" or a number in (0, 10^6]";
    let drift = match rs.require("drift", drift_expected)? {
        Value::String(s) => match s.as_str() {
            "paper" => DriftChoice::Paper,
            "limit" => DriftChoice::Limit,
            "exact" => DriftChoice::Exact,
            other => {
                return Err(cx.invalid(
                    "reference.drift",
                    format!("unknown value \"{other}\""),
                    drift_expected,
                ));
            }
        },
        v => {
            let k = rs.num("drift", &v, drift_expected)?;
            if !(k > 0.0 && k <= 1e6) {
                return Err(rs.bad("drift", &v, drift_expected));
            }
            DriftChoice::Value(k)
        }
    };
    let horizon = rs.f64_in(
        "horizon",
        Some(1.0),
        |x| x > 0.0 && x <= 1e3,
        "a number in (0, 1000]",
    )?;
    let substeps = rs.int_in("substeps", Some(1), (1, 1000), "an integer from 1 to 1000")? as u32;
    rs.finish()?;

    let mut sw = top.sub_required("sweep", "a [sweep] table with `n` and `trajectories`")?;
    let n = sw.n_list("n", true)?.expect("required");
    let trajectories = sw.int_in(
        "trajectories",
        None,
        (2, MAX_TRAJECTORIES),
        "an integer from 2 to 10^8",
    )?;
    let dims = sw.usize_list(
        "dim",
        1,
        MAX_DIM,
        "a non-empty array of distinct integers from 1 to 100000",
    )?;
    let checkpoints = sw.int_in(
        "checkpoints",
        Some(200),
        (1, 10_000),
        "an integer from 1 to 10000",
    )?;
    let divergence_bound = sw.f64_in(
        "divergence_bound",
        Some(1e6),
        |x| x > 0.0,
        "a positive number",
    )?;
    sw.finish()?;

    // Dimension: from explicit arrays, else from [sweep] dim, else from loss.dim.
    let mut vectors = loss.vectors();
    vectors.push(("theta0", &theta0));
    let key_of = |k: &str| {
        if k == "theta0" {
            "start.theta0".to_string()
        } else {
            format!("loss.{k}")
        }
    };
    let mut fixed: Option<(&str, usize)> = None;
    for (k, v) in &vectors {
        if let Some(len) = v.len() {
            match fixed {
                None => fixed = Some((k, len)),
                Some((k0, l0)) if l0 != len => {
                    return Err(cx.invalid(
                        &key_of(k),
                        format!("has {len} entries but {} has {l0}", key_of(k0)),
                        "vectors of the same length (the dimension)",
                    ));
                }
                _ => {}
            }
        }
    }
    let (dim, dim_sweep) = match (fixed, &dims, loss_dim) {
        (Some((k, _)), Some(_), _) => {
            return Err(cx.invalid(
                &key_of(k),
                "is an explicit array, but [sweep] dim varies the dimension",
                "one number (broadcast) or \"unit\"",
            ));
        }
        (Some((k, len)), None, d) if d != 0 && d as usize != len => {
            return Err(cx.invalid(
                "loss.dim",
                format!("is {d} but {} has {len} entries", key_of(k)),
                "no `dim`, or the array length",
            ));
        }
        (Some((_, len)), None, _) => (vec![len], false),
        (None, Some(_), d) if d != 0 => {
            return Err(cx.invalid(
                "loss.dim",
                "is given together with [sweep] dim",
                "only one of them",
            ));
        }
        (None, Some(ds), _) => (ds.clone(), true),
        (None, None, 0) => {
            return Err(Error::MissingKey {
                at: cx.at("loss"),
                key: "loss.dim".into(),
                expected: "the dimension, since no vector is given as an array".into(),
            });
        }
        (None, None, d) => (vec![d as usize], false),
    };

    let mut claim = None;
    if let Some(mut c) = top.sub("claim")? {
        let kind = match c
            .choice("kind", Some("slope"), &["slope", "bound", "constant"])?
            .as_str()
        {
            "slope" => ClaimKind::Slope,
            "bound" => ClaimKind::Bound,
            _ => ClaimKind::Constant,
        };
        let metric = match c
            .choice(
                "metric",
                Some("sup_sq_error"),
                &["sup_sq_error", "terminal_sq_error", "kappa_hat"],
            )?
            .as_str()
        {
            "sup_sq_error" => Metric::SupSqError,
            "terminal_sq_error" => Metric::TerminalSqError,
            _ => Metric::KappaHat,
        };
        let against = if c.choice("against", Some("n"), &["n", "dim"])? == "n" {
            Against::N
        } else {
            Against::Dim
        };
        let slope = if kind == ClaimKind::Constant {
            if c.take("slope").is_some() {
                return Err(cx.invalid(
                    "claim.slope",
                    "is given for a constant claim, which compares a value, not a slope",
                    "no `slope` with kind = \"constant\" (or kind = \"slope\")",
                ));
            }
            None
        } else {
            Some(c.f64_in(
                "slope",
                None,
                |x| x.abs() <= 10.0,
                "a number from -10 to 10",
            )?)
        };
        let tolerance = if kind == ClaimKind::Constant {
            c.f64_in(
                "tolerance",
                None,
                |x| x > 0.0 && x < 1.0,
                "a relative tolerance in (0, 1): measured / predicted within 1 ± tolerance",
            )?
        } else {
            c.f64_in(
                "tolerance",
                None,
                |x| x > 0.0 && x <= 10.0,
                "a number in (0, 10]",
            )?
        };
        let grid_term = match c.take("grid_term") {
            None => false,
            Some(Value::Boolean(b)) => b,
            Some(v) => return Err(c.bad("grid_term", &v, "true or false")),
        };
        if grid_term
            && (kind == ClaimKind::Constant
                || metric != Metric::SupSqError
                || against != Against::N)
        {
            return Err(cx.invalid(
                "claim.grid_term",
                "models the grid maximum of the sup, so it applies only to a slope or bound claim on sup_sq_error against n",
                "grid_term only with metric = \"sup_sq_error\", against = \"n\"",
            ));
        }
        let default_decay =
            metric != Metric::KappaHat && against == Against::N && kind != ClaimKind::Constant;
        let decay = match c.take("decay") {
            None => default_decay,
            Some(Value::Boolean(b)) => b,
            Some(v) => return Err(c.bad("decay", &v, "true or false")),
        };
        let expect = expect(cx, &mut c, "claim.expect")?;
        let statement = c.string(
            "statement",
            Some(""),
            "a string naming the statement of the paper",
        )?;
        let fit_from = c
            .take("fit_from")
            .map(|v| c.num("fit_from", &v, "a positive number"))
            .transpose()?;
        let fit_to = c
            .take("fit_to")
            .map(|v| c.num("fit_to", &v, "a positive number"))
            .transpose()?;
        for (key, v) in [("claim.fit_from", fit_from), ("claim.fit_to", fit_to)] {
            if let Some(x) = v
                && !(x > 0.0 && x.is_finite())
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
        c.finish()?;
        if against == Against::Dim && !dim_sweep {
            return Err(cx.invalid(
                "claim.against",
                "is \"dim\" but there is no [sweep] dim",
                "against = \"n\", or add [sweep] dim",
            ));
        }
        if kind == ClaimKind::Constant {
            constant_claim_problem(&scaling, grid.is_some(), metric, against)
                .map_or(Ok(()), |(key, problem, fix)| {
                    Err(cx.invalid(key, problem, fix))
                })?;
        }
        claim = Some(ClaimSpec {
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
        });
    }

    if let Some(mut q) = top.sub("quick")? {
        let qn = q.n_list("n", false)?;
        let qm = q.int_in(
            "trajectories",
            Some(0),
            (2, MAX_TRAJECTORIES),
            "an integer from 2 to 10^8",
        )?;
        let qd = q.usize_list(
            "dim",
            1,
            MAX_DIM,
            "a non-empty array of distinct integers from 1 to 100000",
        )?;
        let expected = "a non-empty array of numbers from 0 to 2";
        let qb = q.f64_list("beta", |x| (0.0..=2.0).contains(&x), expected)?;
        let qg = q.f64_list("gamma", |x| (0.0..=2.0).contains(&x), expected)?;
        q.finish()?;
        if qd.is_some() && !dim_sweep {
            return Err(cx.invalid(
                "quick.dim",
                "is given but there is no [sweep] dim",
                "no quick.dim",
            ));
        }
        if (qb.is_some() || qg.is_some()) && grid.is_none() {
            return Err(cx.invalid(
                "quick",
                "sets grid values but there is no [grid]",
                "no quick.beta / quick.gamma",
            ));
        }
        quick = Some(Quick {
            n: qn,
            trajectories: (qm > 0).then_some(qm),
            dim: qd,
            beta: qb,
            gamma: qg,
        });
    }

    let exp = Experiment {
        name,
        title,
        seed,
        loss,
        theta0,
        scaling,
        reference: Reference {
            drift,
            horizon,
            substeps,
        },
        sweep: Sweep {
            n,
            dim,
            dim_sweep,
            trajectories,
            checkpoints,
            divergence_bound,
        },
        grid,
        claim,
        quick,
        source: cx.file.to_path_buf(),
        source_text: cx.src.to_string(),
    };
    if let Some((key, problem, expected)) = exp.size_problem(false) {
        return Err(cx.invalid(&key, problem, expected));
    }
    if let Some((key, problem, expected)) = exp.derived_problem() {
        return Err(cx.invalid(&key, problem, expected));
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
seed = 1
[loss]
kind = "logcosh"
center = [1.0, -0.5, 0.25]
[start]
theta0 = [0.0, 0.0, 0.0]
[scaling]
rule = "corrected"
alpha = 1.0
a = 1.0
[reference]
drift = "limit"
[sweep]
n = [100, 1000]
trajectories = 10
"#;

    fn err(src: &str) -> String {
        parse(src, Path::new("x.toml")).unwrap_err().to_string()
    }

    #[test]
    fn good_file_resolves() {
        let e = parse(GOOD, Path::new("x.toml")).unwrap();
        assert_eq!(e.sweep.dim, vec![3]);
        assert_eq!(e.points().len(), 2);
        assert!((e.kappa(&e.points()[0]) - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn errors_name_key_and_position() {
        let m = err(&GOOD.replace("trajectories = 10", "trajectoris = 10"));
        assert!(
            m.contains("x.toml:17:1")
                && m.contains("sweep.trajectoris")
                && m.contains("did you mean `sweep.trajectories`"),
            "{m}"
        );
        let m = err(&GOOD.replace("a = 1.0", "a = -1.0"));
        assert!(m.contains("scaling.a") && m.contains("positive"), "{m}");
        let m = err(&GOOD.replace("n = [100, 1000]", "n = []"));
        assert!(m.contains("sweep.n") && m.contains("empty"), "{m}");
        let m = err(&GOOD.replace("theta0 = [0.0, 0.0, 0.0]", "theta0 = [0.0, 0.0]"));
        assert!(
            m.contains("start.theta0") && m.contains("loss.center"),
            "{m}"
        );
        let m = err(&GOOD.replace("rule = \"corrected\"", "rule = \"paper\""));
        assert!(
            m.contains("reference.drift") && m.contains("grows without bound"),
            "{m}"
        );
        let m = err(&GOOD.replace("seed = 1", "seed = \"one\""));
        assert!(m.contains("key `seed`") && m.contains("the string"), "{m}");
        let m = err("name = \"t\"\nseed = = 1\n");
        assert!(m.contains("x.toml:2:") && m.contains("invalid TOML"), "{m}");
    }

    #[test]
    fn quick_sizes_are_validated_too() {
        let with_claim =
            GOOD.to_string() + "[claim]\nslope = -1.0\ntolerance = 0.3\n[quick]\nn = [100, 1000]\n";
        let e = parse(
            &with_claim.replace(
                "n = [100, 1000]\ntrajectories",
                "n = [100, 300, 1000]\ntrajectories",
            ),
            Path::new("x.toml"),
        )
        .unwrap();
        let mut q = e.clone();
        let m = Overrides {
            quick: true,
            ..Overrides::default()
        }
        .apply(&mut q)
        .unwrap_err()
        .to_string();
        assert!(m.contains("quick.n") && m.contains("at least 3"), "{m}");
        let grid = GOOD.replace("rule = \"corrected\"", "rule = \"power\"")
            + "[grid]\nbeta = [0.0]\ngamma = [0.5]\n[quick]\ngamma = [0.25]\n";
        let mut e = parse(&grid, Path::new("x.toml")).unwrap();
        let m = Overrides {
            quick: true,
            ..Overrides::default()
        }
        .apply(&mut e)
        .unwrap_err()
        .to_string();
        assert!(
            m.contains("quick.gamma") && m.contains("drift limit"),
            "{m}"
        );
    }

    /// Every key of every shipped experiment file is on SCHEMA_KEYS (so the list cannot drift
    /// from the schema unnoticed).
    #[test]
    fn schema_keys_cover_the_shipped_files() {
        fn walk(t: &toml::Table, out: &mut Vec<String>) {
            for (k, v) in t {
                out.push(k.clone());
                match v {
                    Value::Table(t) => walk(t, out),
                    Value::Array(a) => a.iter().for_each(|x| {
                        if let Value::Table(t) = x {
                            walk(t, out)
                        }
                    }),
                    _ => {}
                }
            }
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let mut keys = Vec::new();
            walk(&text.parse::<toml::Table>().unwrap(), &mut keys);
            for k in keys {
                assert!(
                    SCHEMA_KEYS.contains(&k.as_str()),
                    "{k} is not on SCHEMA_KEYS"
                );
            }
        }
    }

    /// A missing key is reported as missing, not as a misspelling of a valid neighbour; a
    /// misspelt table is named as such.
    #[test]
    fn misspellings_and_missing_keys_are_told_apart() {
        let no_seed = GOOD.replace("seed = 1\n", "");
        let e = err(&no_seed);
        assert!(
            e.contains("missing key `seed`") || e.contains("`seed`"),
            "{e}"
        );
        assert!(!e.contains("unknown key `sweep`"), "{e}");
        let swep = GOOD.replace("[sweep]", "[swep]");
        let e = err(&swep);
        assert!(
            e.contains("unknown key `swep`") && e.contains("`sweep`"),
            "{e}"
        );
    }

    #[test]
    fn geometric_grid_of_n() {
        let e = parse(
            &GOOD.replace(
                "n = [100, 1000]",
                "n = { from = 100, to = 10000, points = 5 }",
            ),
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(e.sweep.n, vec![100, 316, 1000, 3162, 10000]);
    }
}
