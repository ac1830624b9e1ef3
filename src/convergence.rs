//! A convergence study as a library call: any [`Loss`], user-defined included, through the same
//! pipeline as an experiment file (simulation, kappa_hat, the fluctuation limit, fits, the verdict,
//! figures and `summary.json`).

use crate::claims::{ClaimKind, ClaimSpec};
use crate::error::{Error, Location};
use crate::experiment::{
    AGAINST_N_FIX, DRIFT_LIMIT_FIX, DriftChoice, Experiment, GRID_FIX, IN_FIT_RANGE, LossFactory,
    LossSpec, NOISE_FIX, Reference, Sweep, VecSpec,
};
use crate::loss::Loss;
use crate::results::Summary;
use crate::run::{RunOptions, Silent, run};
use crate::scaling::Scaling;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a study built in code comes from, in place of a file.
const SOURCE: &str = "(ConvergenceStudy)";

/// A convergence study built in code (argmin-style: configure, then `run`).
///
/// ```
/// use stdp_flow::{ClaimSpec, ConvergenceStudy, Loss, Scaling};
///
/// /// L(theta) = sum (theta_i - 1)^4 / 4.
/// struct Quartic(usize);
/// impl Loss for Quartic {
///     fn dim(&self) -> usize { self.0 }
///     fn value(&self, t: &[f64]) -> f64 { t.iter().map(|x| (x - 1.0).powi(4) / 4.0).sum() }
///     fn gradient(&self, t: &[f64], g: &mut [f64]) {
///         for (g, x) in g.iter_mut().zip(t) { *g = (x - 1.0).powi(3); }
///     }
/// }
///
/// let summary = ConvergenceStudy::new("quartic", |d| Box::new(Quartic(d)))
///     .theta0(vec![0.0, 0.5])
///     .scaling(Scaling::corrected(1.0, 1.0))
///     .n([100, 316, 1000])
///     .trajectories(64)
///     .claim(ClaimSpec::slope(-1.0, 0.5))
///     .run()?;
/// assert_eq!(summary.rows.len(), 3);
/// # Ok::<(), stdp_flow::Error>(())
/// ```
pub struct ConvergenceStudy {
    exp: Experiment,
    dim_given: bool,
    threads: usize,
}

impl ConvergenceStudy {
    /// A study of the loss family `loss` (built once per dimension), named `name` (the results
    /// folder, and part of every random stream's identity). Defaults: the corrected scaling with
    /// alpha = A = 1, the limit drift, T = 1, n = 100, 316, 1000, 3162, 512 trajectories, seed 1.
    pub fn new(name: &str, loss: impl Fn(usize) -> Box<dyn Loss> + Send + Sync + 'static) -> Self {
        let exp = Experiment {
            name: name.to_string(),
            title: name.to_string(),
            seed: 1,
            loss: LossSpec::Custom {
                name: name.to_string(),
                factory: LossFactory(Arc::new(loss)),
            },
            theta0: VecSpec::Fill(0.0),
            scaling: Scaling::corrected(1.0, 1.0),
            reference: Reference {
                drift: DriftChoice::Limit,
                horizon: 1.0,
                substeps: 1,
            },
            sweep: Sweep {
                n: vec![100, 316, 1000, 3162],
                dim: vec![1],
                dim_sweep: false,
                trajectories: crate::experiment::Trajectories::Fixed(512),
                checkpoints: 200,
                divergence_bound: 1e6,
            },
            grid: None,
            claim: None,
            quick: None,
            source: PathBuf::from(SOURCE),
            source_text: String::new(),
        };
        Self {
            exp,
            dim_given: false,
            threads: 0,
        }
    }

    /// The title shown in figures and the report.
    pub fn title(mut self, title: &str) -> Self {
        self.exp.title = title.to_string();
        self
    }

    /// theta0 = Z_0; also fixes the dimension.
    pub fn theta0(mut self, theta0: Vec<f64>) -> Self {
        self.exp.sweep.dim = vec![theta0.len()];
        self.exp.sweep.dim_sweep = false;
        self.exp.theta0 = VecSpec::Values(theta0);
        self.dim_given = true;
        self
    }

    /// A sweep over dimensions, with theta0 = (value, ..., value).
    pub fn dims(mut self, dims: impl IntoIterator<Item = usize>, theta0: f64) -> Self {
        self.exp.sweep.dim = dims.into_iter().collect();
        self.exp.sweep.dim_sweep = self.exp.sweep.dim.len() > 1;
        self.exp.theta0 = VecSpec::Fill(theta0);
        self.dim_given = true;
        self
    }

    /// alpha_n and A_n.
    pub fn scaling(mut self, scaling: Scaling) -> Self {
        self.exp.scaling = scaling;
        self
    }

    /// kappa of the reference flow.
    pub fn drift(mut self, drift: DriftChoice) -> Self {
        self.exp.reference.drift = drift;
        self
    }

    /// The horizon T.
    pub fn horizon(mut self, horizon: f64) -> Self {
        self.exp.reference.horizon = horizon;
        self
    }

    /// The values of n.
    pub fn n(mut self, n: impl IntoIterator<Item = u64>) -> Self {
        self.exp.sweep.n = n.into_iter().collect();
        self
    }

    /// Trajectories M per point.
    pub fn trajectories(mut self, m: u64) -> Self {
        self.exp.sweep.trajectories = crate::experiment::Trajectories::Fixed(m);
        self
    }

    /// The seed that fixes every random number.
    pub fn seed(mut self, seed: u64) -> Self {
        self.exp.seed = seed;
        self
    }

    /// The claim to decide.
    pub fn claim(mut self, claim: ClaimSpec) -> Self {
        self.exp.claim = Some(claim);
        self
    }

    /// Worker threads recorded in the provenance (the caller owns the rayon pool; 0 = its size).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The resolved experiment.
    pub fn experiment(&self) -> &Experiment {
        &self.exp
    }

    /// Checks the configuration, simulates every point and returns the summary.
    pub fn run(self) -> Result<Summary, Error> {
        self.validate()?;
        let threads = if self.threads == 0 {
            rayon::current_num_threads()
        } else {
            self.threads
        };
        let opts = RunOptions {
            threads,
            quick: false,
        };
        Ok(run(&self.exp, &opts, &Silent))
    }

    /// Checks the builder's own settings, then the checks shared with experiment files; every
    /// error names the builder method to call differently.
    fn validate(&self) -> Result<(), Error> {
        self.check_settings()?;
        let e = &self.exp;
        let constant = e.claim.as_ref().filter(|c| c.kind == ClaimKind::Constant);
        let claim_problem = constant.and_then(|c| {
            crate::experiment::constant_claim_problem(
                &e.scaling,
                e.grid.is_some(),
                c.metric,
                c.against,
            )
            .map(|(key, problem, fix)| (key.to_string(), problem, fix))
        });
        // The drift limit's check comes before the derived constants' (kappa needs it).
        let shared = claim_problem
            .or_else(|| e.size_problem(false))
            .or_else(|| e.derived_problem());
        match shared {
            Some((key, problem, fix)) => Err(builder_error(&key, problem, &fix)),
            None => Ok(()),
        }
    }

    /// The settings only the builder can get wrong, or that it checks before the shared checks.
    fn check_settings(&self) -> Result<(), Error> {
        let e = &self.exp;
        let bad = |method: &str, problem: String, fix: &str| {
            invalid(format!("ConvergenceStudy::{method}"), problem, fix)
        };
        if !self.dim_given {
            return Err(bad(
                "theta0",
                "the dimension is not set".into(),
                "call .theta0(vec![..]) or .dims([..], value)",
            ));
        }
        let n = &e.sweep.n;
        if n.is_empty() || n[0] == 0 || n.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("n", format!("is {n:?}"), "increasing values of n >= 1"));
        }
        if e.sweep.trajectories.count() < 2 {
            return Err(bad(
                "trajectories",
                format!("is {}", e.sweep.trajectories),
                "at least 2",
            ));
        }
        let (alpha, a) = (e.scaling.alpha, e.scaling.a);
        if !(alpha > 0.0 && alpha.is_finite() && a > 0.0 && a.is_finite()) {
            return Err(bad(
                "scaling",
                format!("has alpha = {alpha}, A = {a}"),
                "positive finite alpha and A",
            ));
        }
        use crate::experiment::{DIM, HORIZON, N};
        if let Some(&v) = n.iter().find(|&&v| !N.admits(v)) {
            return Err(bad("n", format!("holds {v}"), &N.integer()));
        }
        let dims = &e.sweep.dim;
        if let Some(&d) = dims.iter().find(|&&d| !DIM.admits(d as u64)) {
            return Err(bad("dims", format!("holds {d}"), &DIM.integer()));
        }
        if dims.is_empty() {
            return Err(bad("dims", "is empty".into(), "at least one dimension"));
        }
        let h = e.reference.horizon;
        if !HORIZON.contains(h) {
            return Err(bad("horizon", format!("is {h}"), &HORIZON.number()));
        }
        Ok(())
    }
}

/// An invalid setting of a study built in code.
fn invalid(key: String, problem: String, expected: &str) -> Error {
    Error::InvalidValue {
        at: Location {
            file: PathBuf::from(SOURCE),
            line_col: None,
        },
        key,
        problem,
        expected: expected.to_string(),
    }
}

/// The builder method that sets what the experiment key `key` holds, if there is one.
fn builder_method(key: &str) -> Option<&'static str> {
    Some(match key {
        "sweep.n" => "n",
        "sweep.dim" => "dims",
        "reference.horizon" => "horizon",
        "reference.drift" => "drift",
        "seed" => "seed",
        "title" => "title",
        "theta0" => "theta0",
        k if k.starts_with("sweep.trajectories") => "trajectories",
        k if k.starts_with("scaling.") => "scaling",
        k if k.starts_with("claim.") => "claim",
        _ => return None,
    })
}

/// The shared checks' fixes in the file's syntax, and the same fixes as builder calls.
const BUILDER_FIXES: [(&str, &str); 5] = [
    (
        DRIFT_LIMIT_FIX,
        ".drift(DriftChoice::Exact), .drift(DriftChoice::Paper) or .drift(DriftChoice::Value(kappa)); or a .scaling(..) on the line beta + 2 gamma = 1, such as Scaling::corrected(alpha, a)",
    ),
    (IN_FIT_RANGE, "inside the ClaimSpec's fit_from..fit_to"),
    (GRID_FIX, "a slope claim (ClaimSpec::slope)"),
    (
        AGAINST_N_FIX,
        "a claim against n (a ClaimSpec without .against_dim())",
    ),
    (
        NOISE_FIX,
        ".scaling(Scaling::corrected(alpha, a)), or .scaling(Scaling::power(alpha, a, beta, gamma)) with beta + 2 gamma = 1 and gamma > 1/4; or a slope claim (ClaimSpec::slope)",
    ),
];

/// The error of a shared check that blames the experiment key `key`, restated for the builder:
/// the key becomes the builder method, the fix builder calls.
fn builder_error(key: &str, problem: String, fix: &str) -> Error {
    let fix = BUILDER_FIXES
        .iter()
        .fold(fix.to_string(), |f, (file, builder)| {
            f.replace(file, builder)
        });
    match builder_method(key) {
        Some(method) => invalid(format!("ConvergenceStudy::{method}"), problem, &fix),
        // A setting no builder method reaches: named by its experiment key.
        None => invalid(
            "ConvergenceStudy".into(),
            format!("`{key}` {problem}"),
            &fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the shared checks blame for a file's own sizes names a builder method, and
    /// every fix in the file's syntax has a builder restatement.
    #[test]
    fn shared_keys_and_fixes_have_builder_terms() {
        let keys = [
            ("sweep.n", "n"),
            ("sweep.dim", "dims"),
            ("sweep.trajectories.times_dim", "trajectories"),
            ("reference.drift", "drift"),
            ("reference.horizon", "horizon"),
            ("scaling.alpha", "scaling"),
            ("scaling.a", "scaling"),
            ("claim.kind", "claim"),
            ("claim.against", "claim"),
        ];
        for (key, method) in keys {
            assert_eq!(builder_method(key), Some(method), "{key}");
        }
        for (file, builder) in BUILDER_FIXES {
            let Error::InvalidValue { key, expected, .. } =
                builder_error("claim.kind", "x".into(), file)
            else {
                panic!("not an invalid value");
            };
            assert_eq!(
                (key.as_str(), expected.as_str()),
                ("ConvergenceStudy::claim", builder)
            );
        }
        let e = builder_error("quick.gamma", "is 2".into(), "y").to_string();
        assert!(
            e.contains("key `ConvergenceStudy`: `quick.gamma` is 2"),
            "{e}"
        );
    }
}
