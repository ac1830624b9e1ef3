//! The schema of a convergence experiment: the resolved types that the reader fills in, the
//! points of its sweep, and [`SCHEMA_KEYS`], every key name either kind of file may use.

use crate::claims::spec::ClaimSpec;
use crate::loss::{Linear, LogCosh, Logistic, Loss, Quadratic};
use crate::scaling::{Scaling, ScalingRule};
use serde::{Serialize, Serializer};
use std::path::PathBuf;

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

    /// The number of coordinates, if the vector fixes it.
    pub(super) fn len(&self) -> Option<usize> {
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

    /// The vectors of the loss with their keys in `[loss]`.
    pub(super) fn vectors(&self) -> Vec<(&'static str, &VecSpec)> {
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
    pub trajectories: Trajectories,
    /// Checkpoints of the recorded mean path.
    pub checkpoints: u64,
    /// |theta - Z| above this counts as divergence.
    pub divergence_bound: f64,
}

/// Trajectories M per point: the same at every point, or inversely proportional to d.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Trajectories {
    /// `trajectories = M`.
    Fixed(u64),
    /// `trajectories = { times_dim = k }`: M(d) = ceil(k / d). The relative variance of |X|^2
    /// for X with d comparable Gaussian coordinates is about 2 / d, so this gives every
    /// dimension of a sweep the same relative precision of a squared error at a cost that does
    /// not grow with d.
    TimesDim {
        /// k = M d.
        times_dim: u64,
    },
}

impl Trajectories {
    /// M at dimension d.
    pub fn at(&self, d: usize) -> u64 {
        match *self {
            Self::Fixed(m) => m,
            Self::TimesDim { times_dim } => times_dim.div_ceil(d.max(1) as u64),
        }
    }

    /// The number the file gives: M, or k of `times_dim`.
    pub fn count(&self) -> u64 {
        match *self {
            Self::Fixed(m) => m,
            Self::TimesDim { times_dim } => times_dim,
        }
    }

    /// The same rule with [`Self::count`] replaced by `v`.
    pub fn with_count(self, v: u64) -> Self {
        match self {
            Self::Fixed(_) => Self::Fixed(v),
            Self::TimesDim { .. } => Self::TimesDim { times_dim: v },
        }
    }
}

impl std::fmt::Display for Trajectories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(m) => write!(f, "{m}"),
            Self::TimesDim { times_dim } => write!(f, "{{ times_dim = {times_dim} }}"),
        }
    }
}

/// A grid of (beta, gamma) for the `power` rule (phase diagram).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grid {
    /// Values of beta.
    pub beta: Vec<f64>,
    /// Values of gamma.
    pub gamma: Vec<f64>,
}

/// Every key name the schema reads, in any table of either kind of experiment. A present key
/// on this list is never taken for a misspelling of a missing one (a file without `seed` but with
/// `sweep` lacks `seed`; it did not misspell it).
pub(super) const SCHEMA_KEYS: &[&str] = &[
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
    "reference_replicates",
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
    "times_dim",
    "tolerance",
    "trajectories",
    "x",
    "y",
];

/// Smaller sizes for `verify --quick`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quick {
    /// The values of n of the quick run (`quick.n`).
    pub n: Option<Vec<u64>>,
    /// Trajectories M per point of the quick run.
    pub trajectories: Option<Trajectories>,
    /// The dimensions d of the quick run.
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
    /// The start theta0 = Z_0 of every trajectory and of the reference flow.
    pub theta0: VecSpec,
    /// Scaling rule and constants.
    pub scaling: Scaling,
    /// The reference flow dZ/dt = -kappa grad L(Z): its drift constant, horizon and RK4 steps.
    pub reference: Reference,
    /// The points simulated: the values of n and d and the trajectories M at each.
    pub sweep: Sweep,
    /// Phase-diagram grid.
    pub grid: Option<Grid>,
    /// The claim the run tests, with its tolerance band and expected verdict.
    pub claim: Option<ClaimSpec>,
    /// The smaller sizes of `--quick` runs.
    pub quick: Option<Quick>,
    /// The file it came from.
    #[serde(skip)]
    pub source: PathBuf,
    /// The file's text (kept for shards, which carry it to `merge`).
    #[serde(skip)]
    pub source_text: String,
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

    /// Trajectories M at a point.
    pub fn trajectories(&self, p: &Point) -> u64 {
        self.sweep.trajectories.at(p.dim)
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
}
