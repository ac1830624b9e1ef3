//! Learning experiments (`kind = "learning"`): a dataset, a model, the learning rules and the
//! claims about them. See the README's "Learning experiments" section for the reference.

use super::{Cx, Sec, expect};
use crate::error::{Error, Location};
use crate::scaling::{LimitError, Scaling, ScalingRule};
use crate::stats::VerdictKind;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use toml::Value;

/// The CSV file and how it is split.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataSpec {
    /// The file, resolved against the experiment file's folder.
    pub file: PathBuf,
    /// The label column.
    pub label: String,
    /// Fraction of rows held out for testing.
    pub test_fraction: f64,
    /// Standardise features with training statistics.
    pub standardize: bool,
    /// Seed of the train/test split (defaults to the experiment seed).
    pub split_seed: u64,
    /// Whether the file set `split_seed` (otherwise it follows `--seed`).
    #[serde(skip)]
    pub split_seed_explicit: bool,
}

/// The model whose per-sample loss the rules minimise.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// Binary logistic regression: p weights and a bias, labels coded -1/+1.
    Logistic,
    /// Softmax regression: K rows of p weights and a bias.
    Softmax,
    /// The paper's network: one tanh hidden layer, weights s exp(theta) with fixed signs.
    Network {
        /// Hidden neurons.
        hidden: usize,
        /// Probability that an edge is excitatory.
        excitatory: f64,
        /// Seed of the signs (follows `--seed` unless the file sets it).
        sign_seed: u64,
        /// Whether the file set `sign_seed`.
        #[serde(skip)]
        sign_seed_explicit: bool,
    },
}

/// A learning rule named in `learning.rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleName {
    /// n STDP updates per sample, for every n in `learning.n`.
    Stdp,
    /// The gradient flow for unit time per sample.
    Flow,
    /// One gradient step per sample.
    Sgd,
    /// Eq. 2.2, with the loss-evaluation budget of STDP at `single_update_n`.
    SingleUpdate,
}

impl RuleName {
    /// The name used in files and reports.
    pub fn key(self) -> &'static str {
        match self {
            Self::Stdp => "stdp",
            Self::Flow => "flow",
            Self::Sgd => "sgd",
            Self::SingleUpdate => "single-update",
        }
    }
}

/// Sizes and constants of the training runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearningSpec {
    /// Rules to run.
    pub rules: Vec<RuleName>,
    /// STDP updates per sample.
    pub n: Vec<u64>,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Independent runs (replicate r has its own sample order and noise, derived from the seed).
    pub replicates: u64,
    /// Checkpoint spacing in samples.
    pub every: usize,
    /// kappa of `flow` and `sgd` (the drift limit of the scaling unless given).
    pub kappa: f64,
    /// RK4 steps per sample the flow starts from (doubled until converged).
    pub flow_substeps: u32,
    /// The n whose A_n and loss-evaluation budget `single-update` uses.
    pub single_update_n: u64,
    /// Whether the file set `single_update_n`.
    #[serde(skip)]
    pub single_update_n_explicit: bool,
    /// alpha of each `single-update` run (one run per value; by default alpha_n at
    /// `single_update_n`, the constant STDP uses).
    pub single_update_alpha: Option<Vec<f64>>,
    /// A replicate with |theta|^2 above this (or not finite) counts as diverged.
    pub divergence_bound: f64,
}

/// Claim: the sup over the run of |theta_stdp - theta_flow|^2 decays like n^slope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistanceClaim {
    /// Claimed slope.
    pub slope: f64,
    /// Tolerance band half-width.
    pub tolerance: f64,
    /// Expected verdict.
    pub expect: Option<VerdictKind>,
    /// The statement tested.
    pub statement: String,
    /// Only n >= this enters the fit.
    pub fit_from: Option<f64>,
}

/// Claim: at n, STDP's final test accuracy equals that of each reference rule within
/// `tolerance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyClaim {
    /// The n of STDP compared.
    pub n: u64,
    /// Whether the file set `n` (otherwise it follows the largest n, also under `--quick`).
    #[serde(skip)]
    pub n_explicit: bool,
    /// Equivalence margin in accuracy (a fraction).
    pub tolerance: f64,
    /// Rules STDP must match.
    pub against: Vec<RuleName>,
    /// Expected verdict.
    pub expect: Option<VerdictKind>,
    /// The statement tested.
    pub statement: String,
}

/// Claim: with the loss-evaluation budget of STDP at `single_update_n`, single-update (at every
/// alpha tried) does not end within `tolerance` of the flow's test accuracy in most replicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SingleUpdateClaim {
    /// Accuracy margin.
    pub tolerance: f64,
    /// Expected verdict.
    pub expect: Option<VerdictKind>,
    /// The statement tested.
    pub statement: String,
}

/// Smaller sizes for `verify --quick`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearningQuick {
    /// n values.
    pub n: Option<Vec<u64>>,
    /// Replicates.
    pub replicates: Option<u64>,
    /// Epochs.
    pub epochs: Option<usize>,
    /// single_update_n.
    pub single_update_n: Option<u64>,
}

/// A resolved, validated learning experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearningExperiment {
    /// Short name (the results folder).
    pub name: String,
    /// Human title.
    pub title: String,
    /// The seed that fixes every random number but the split's.
    pub seed: u64,
    /// Data.
    pub data: DataSpec,
    /// Model.
    pub model: ModelSpec,
    /// theta0, the same in every coordinate.
    pub theta0: f64,
    /// Scaling of alpha_n and A_n.
    pub scaling: Scaling,
    /// Runs.
    pub learning: LearningSpec,
    /// Distance claim.
    pub distance_claim: Option<DistanceClaim>,
    /// Accuracy claims (`[claim.accuracy]` or several `[[claim.accuracy]]`).
    pub accuracy_claims: Vec<AccuracyClaim>,
    /// Single-update claim.
    pub single_update_claim: Option<SingleUpdateClaim>,
    /// Quick sizes.
    pub quick: Option<LearningQuick>,
    /// The file it came from.
    #[serde(skip)]
    pub source: PathBuf,
}

impl LearningExperiment {
    /// Applies command-line overrides: `--quick` sizes, `--seed` (which the split follows unless
    /// the file fixes `split_seed`) and `--trajectories` (replicates).
    pub fn apply(&mut self, o: &super::Overrides) -> Result<(), Error> {
        if let Some(seed) = o.seed {
            self.seed = seed;
            if !self.data.split_seed_explicit {
                self.data.split_seed = seed;
            }
            if let ModelSpec::Network {
                sign_seed,
                sign_seed_explicit: false,
                ..
            } = &mut self.model
            {
                *sign_seed = seed;
            }
        }
        if o.quick {
            self.apply_quick()?;
        }
        if let Some(m) = o.trajectories {
            if !(2..=100_000).contains(&m) {
                return Err(Error::InvalidValue {
                    at: Location {
                        file: PathBuf::from("(command line)"),
                        line_col: None,
                    },
                    key: "--trajectories".into(),
                    problem: format!("is {m}"),
                    expected: "an integer from 2 to 100000 (replicates of a learning experiment)"
                        .into(),
                });
            }
            self.learning.replicates = m;
        }
        Ok(())
    }

    /// Switches to the `[quick]` sizes and checks that the claims still have what they need.
    pub fn apply_quick(&mut self) -> Result<(), Error> {
        if let Some(q) = self.quick.clone() {
            if let Some(n) = q.n {
                self.learning.n = n;
            }
            if let Some(r) = q.replicates {
                self.learning.replicates = r;
            }
            if let Some(e) = q.epochs {
                self.learning.epochs = e;
            }
            let top = *self.learning.n.last().expect("non-empty");
            if let Some(su) = q.single_update_n {
                self.learning.single_update_n = su;
            } else if !self.learning.single_update_n_explicit || self.learning.single_update_n > top
            {
                self.learning.single_update_n = top;
            }
            for c in &mut self.accuracy_claims {
                if !c.n_explicit || !self.learning.n.contains(&c.n) {
                    c.n = top;
                }
            }
        }
        match self.size_problem() {
            Some((key, problem, expected)) => Err(Error::InvalidValue {
                at: Location {
                    file: self.source.clone(),
                    line_col: None,
                },
                key: format!("quick.{key}"),
                problem,
                expected,
            }),
            None => Ok(()),
        }
    }

    fn size_problem(&self) -> Option<(String, String, String)> {
        let l = &self.learning;
        if let Some(c) = &self.distance_claim {
            let pts =
                l.n.iter()
                    .filter(|&&n| c.fit_from.is_none_or(|f| n as f64 >= f))
                    .count();
            if pts < 3 {
                return Some((
                    "n".into(),
                    format!(
                        "has {pts} values in the distance claim's fit range; a slope with a confidence interval needs at least 3"
                    ),
                    "at least 3 values of n (at or above claim.distance.fit_from)".into(),
                ));
            }
        }
        if let Some(c) = self.accuracy_claims.iter().find(|c| !l.n.contains(&c.n)) {
            return Some((
                "n".into(),
                format!("does not contain claim.accuracy.n = {}", c.n),
                "the n of the accuracy claim among the n values".into(),
            ));
        }
        None
    }
}

const RULES: [&str; 4] = ["stdp", "flow", "sgd", "single-update"];

fn rule_of(s: &str) -> Option<RuleName> {
    Some(match s {
        "stdp" => RuleName::Stdp,
        "flow" => RuleName::Flow,
        "sgd" => RuleName::Sgd,
        "single-update" => RuleName::SingleUpdate,
        _ => return None,
    })
}

fn rule_list(cx: &Cx, sec: &mut Sec, key: &'static str) -> Result<Option<Vec<RuleName>>, Error> {
    let expected =
        "a non-empty array of distinct rules from \"stdp\", \"flow\", \"sgd\", \"single-update\"";
    let Some(v) = sec.take(key) else {
        return Ok(None);
    };
    let path = sec.path(key);
    let Value::Array(a) = &v else {
        return Err(sec.bad(key, &v, expected));
    };
    if a.is_empty() {
        return Err(cx.invalid(&path, "the array is empty", expected));
    }
    let mut out = Vec::new();
    for x in a {
        let r = match x {
            Value::String(s) => rule_of(s).ok_or_else(|| {
                let hint = crate::error::closest(s, &RULES)
                    .map(|c| format!(" (did you mean \"{c}\"?)"))
                    .unwrap_or_default();
                cx.invalid(&path, format!("unknown rule \"{s}\"{hint}"), expected)
            })?,
            _ => return Err(cx.invalid(&path, format!("found {}", super::describe(x)), expected)),
        };
        if out.contains(&r) {
            return Err(cx.invalid(&path, format!("\"{}\" repeats", r.key()), expected));
        }
        out.push(r);
    }
    Ok(Some(out))
}

/// Reads a learning experiment from the top-level table (after `kind` was taken).
pub(super) fn read(cx: &Cx, top: &mut Sec) -> Result<LearningExperiment, Error> {
    let (name, title, seed) = super::read_identity(cx, top)?;

    let mut ds = top.sub_required("data", "a [data] table with `file` and `label`")?;
    let file = ds.string(
        "file",
        None,
        "the path of a CSV file, relative to this file",
    )?;
    let base = cx.file.parent().unwrap_or(std::path::Path::new("."));
    let file = base.join(file);
    let label = ds.string("label", None, "the name of the label column")?;
    let test_fraction = ds.f64_in(
        "test_fraction",
        Some(0.25),
        |x| x > 0.0 && x < 1.0,
        "a fraction in (0, 1)",
    )?;
    let standardize = match ds.take("standardize") {
        None => true,
        Some(Value::Boolean(b)) => b,
        Some(v) => return Err(ds.bad("standardize", &v, "true or false")),
    };
    let split_seed_explicit = ds.table.contains_key("split_seed");
    let split_seed = ds.int_in(
        "split_seed",
        Some(seed),
        (0, i64::MAX as u64),
        "a non-negative integer",
    )?;
    ds.finish()?;

    let mut ms = top.sub_required("model", "a [model] table with `kind`")?;
    let kind = ms.choice("kind", None, &["logistic", "softmax", "network"])?;
    let model = match kind.as_str() {
        "logistic" => ModelSpec::Logistic,
        "softmax" => ModelSpec::Softmax,
        _ => ModelSpec::Network {
            sign_seed_explicit: ms.table.contains_key("sign_seed"),
            hidden: ms.int_in("hidden", None, (1, 256), "an integer from 1 to 256")? as usize,
            excitatory: ms.f64_in(
                "excitatory",
                Some(0.8),
                |x| (0.0..=1.0).contains(&x),
                "a probability from 0 to 1",
            )?,
            sign_seed: ms.int_in(
                "sign_seed",
                Some(seed),
                (0, i64::MAX as u64),
                "a non-negative integer",
            )?,
        },
    };
    let theta0 = ms.f64_in(
        "theta0",
        Some(0.0),
        |x| x.abs() <= 100.0,
        "a number from -100 to 100 (the start of every coordinate)",
    )?;
    ms.finish()?;

    let mut ss = top.sub_required("scaling", "a [scaling] table with `rule`, `alpha` and `a`")?;
    let rule = ss.choice("rule", Some("corrected"), &["paper", "corrected", "power"])?;
    let alpha = ss.f64_in("alpha", None, |x| x > 0.0, "a positive number")?;
    let a = ss.f64_in(
        "a",
        None,
        |x| x > 0.0,
        "a positive number (the noise half-width A)",
    )?;
    let rule = match rule.as_str() {
        "paper" => ScalingRule::Paper,
        "corrected" => ScalingRule::Corrected,
        _ => {
            let range = |x: f64| (0.0..=2.0).contains(&x);
            ScalingRule::Power {
                beta: ss.f64_in("beta", None, range, "a number from 0 to 2")?,
                gamma: ss.f64_in("gamma", None, range, "a number from 0 to 2")?,
            }
        }
    };
    ss.finish()?;
    let scaling = Scaling { rule, alpha, a };

    let mut ls = top.sub_required("learning", "a [learning] table with `n` and `replicates`")?;
    let rules = rule_list(cx, &mut ls, "rules")?.unwrap_or_else(|| {
        vec![
            RuleName::Stdp,
            RuleName::Flow,
            RuleName::Sgd,
            RuleName::SingleUpdate,
        ]
    });
    let n = ls.n_list("n", true)?.expect("required");
    let epochs = ls.int_in("epochs", Some(1), (1, 10_000), "an integer from 1 to 10000")? as usize;
    let replicates = ls.int_in(
        "replicates",
        None,
        (2, 100_000),
        "an integer from 2 to 100000",
    )?;
    let every = ls.int_in(
        "every",
        Some(10),
        (1, 1_000_000_000),
        "a positive integer (samples between checkpoints)",
    )? as usize;
    let kappa_expected = "\"limit\" or a positive number";
    let limit = || {
        scaling.kappa_limit().map_err(|e| {
            let why = match e {
                LimitError::Infinite => "grows without bound",
                LimitError::Zero => "tends to 0",
            };
            cx.invalid(
                "learning.kappa",
                format!("the drift limit of this scaling {why}, so flow and sgd have no kappa"),
                "a positive number for learning.kappa, or a scaling with beta + 2 gamma = 1",
            )
        })
    };
    let kappa = match ls.take("kappa") {
        None => limit()?,
        Some(Value::String(s)) if s == "limit" => limit()?,
        Some(v) => {
            let k = ls.num("kappa", &v, kappa_expected)?;
            if k <= 0.0 {
                return Err(ls.bad("kappa", &v, kappa_expected));
            }
            k
        }
    };
    let flow_substeps = ls.int_in(
        "flow_substeps",
        Some(20),
        (1, 10_000),
        "an integer from 1 to 10000",
    )? as u32;
    let max_n = *n.last().expect("non-empty");
    let single_update_n_explicit = ls.table.contains_key("single_update_n");
    let single_update_n = ls.int_in(
        "single_update_n",
        Some(max_n),
        (2, 1_000_000_000),
        "an integer from 2 to 10^9",
    )?;
    let single_update_alpha = ls.f64_list(
        "single_update_alpha",
        |x| x > 0.0,
        "a non-empty array of positive numbers",
    )?;
    let divergence_bound = ls.f64_in(
        "divergence_bound",
        Some(1e6),
        |x| x > 0.0,
        "a positive number",
    )?;
    ls.finish()?;
    if !rules.contains(&RuleName::SingleUpdate)
        && let Some(key) = [
            ("single_update_n", single_update_n_explicit),
            ("single_update_alpha", single_update_alpha.is_some()),
        ]
        .iter()
        .find(|k| k.1)
    {
        return Err(cx.invalid(
            &format!("learning.{}", key.0),
            "is set but \"single-update\" is not among learning.rules",
            "no single-update keys, or \"single-update\" in learning.rules",
        ));
    }
    if let Some(a) = &single_update_alpha {
        let mut sorted = a.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        if sorted.len() != a.len() {
            return Err(cx.invalid(
                "learning.single_update_alpha",
                "values repeat",
                "distinct positive numbers",
            ));
        }
    }

    let mut distance_claim = None;
    let mut accuracy_claims = Vec::new();
    let mut single_update_claim = None;
    if let Some(mut cs) = top.sub("claim")? {
        if let Some(mut c) = cs.sub("distance")? {
            let slope = c.f64_in(
                "slope",
                Some(-1.0),
                |x| x.abs() <= 10.0,
                "a number from -10 to 10",
            )?;
            let tolerance = c.f64_in(
                "tolerance",
                None,
                |x| x > 0.0 && x <= 10.0,
                "a number in (0, 10]",
            )?;
            let expect = expect(cx, &mut c, "claim.distance.expect")?;
            let statement = c.string("statement", Some(""), "a string")?;
            let fit_from = c
                .take("fit_from")
                .map(|v| {
                    let x = c.num("fit_from", &v, "a positive number")?;
                    if x > 0.0 {
                        Ok(x)
                    } else {
                        Err(c.bad("fit_from", &v, "a positive number"))
                    }
                })
                .transpose()?;
            c.finish()?;
            distance_claim = Some(DistanceClaim {
                slope,
                tolerance,
                expect,
                statement,
                fit_from,
            });
        }
        let tables: Vec<(String, toml::Table)> = match cs.take("accuracy") {
            None => Vec::new(),
            Some(Value::Table(t)) => vec![("claim.accuracy".to_string(), t)],
            Some(Value::Array(a)) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Table(t) => Ok((format!("claim.accuracy[{i}]"), t)),
                    other => Err(cx.invalid(
                        "claim.accuracy",
                        format!("entry {i} is {}", super::describe(&other)),
                        "a table, or an array of tables ([[claim.accuracy]])",
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(v) => return Err(cs.bad("accuracy", &v, "a table or [[claim.accuracy]] tables")),
        };
        for (path, table) in tables {
            let mut c = Sec::new(cx, table, &path);
            let n_explicit = c.table.contains_key("n");
            let cn = c.int_in(
                "n",
                Some(max_n),
                (2, 1_000_000_000),
                "one of the learning.n values",
            )?;
            let tolerance = c.f64_in(
                "tolerance",
                None,
                |x| x > 0.0 && x < 1.0,
                "an accuracy margin in (0, 1), for example 0.02",
            )?;
            let against = rule_list(cx, &mut c, "against")?.unwrap_or_else(|| {
                [RuleName::Flow, RuleName::Sgd]
                    .into_iter()
                    .filter(|r| rules.contains(r))
                    .collect()
            });
            if let Some(r) = against.iter().find(|r| {
                matches!(r, RuleName::Stdp | RuleName::SingleUpdate) || !rules.contains(r)
            }) {
                return Err(cx.invalid(
                    &format!("{path}.against"),
                    format!(
                        "\"{}\" is not a reference rule that this experiment runs",
                        r.key()
                    ),
                    "reference rules (\"flow\", \"sgd\") listed in learning.rules",
                ));
            }
            if against.is_empty() {
                return Err(cx.invalid(
                    &path,
                    "has no reference rule to compare with",
                    "\"flow\" or \"sgd\" in learning.rules",
                ));
            }
            let expect = expect(cx, &mut c, &format!("{path}.expect"))?;
            let statement = c.string("statement", Some(""), "a string")?;
            c.finish()?;
            accuracy_claims.push(AccuracyClaim {
                n: cn,
                n_explicit,
                tolerance,
                against,
                expect,
                statement,
            });
        }
        if let Some(mut c) = cs.sub("single_update")? {
            let tolerance = c.f64_in(
                "tolerance",
                None,
                |x| x > 0.0 && x < 1.0,
                "an accuracy margin in (0, 1), for example 0.02",
            )?;
            if !(rules.contains(&RuleName::SingleUpdate) && rules.contains(&RuleName::Flow)) {
                return Err(cx.invalid(
                    "claim.single_update",
                    "needs \"single-update\" and \"flow\" in learning.rules",
                    "both rules in learning.rules, or no [claim.single_update]",
                ));
            }
            let expect = expect(cx, &mut c, "claim.single_update.expect")?;
            let statement = c.string("statement", Some(""), "a string")?;
            c.finish()?;
            single_update_claim = Some(SingleUpdateClaim {
                tolerance,
                expect,
                statement,
            });
        }
        cs.finish()?;
    }
    if !rules.contains(&RuleName::Stdp) && (distance_claim.is_some() || !accuracy_claims.is_empty())
    {
        return Err(cx.invalid(
            "learning.rules",
            "has no \"stdp\" but the claims are about STDP",
            "\"stdp\" among the rules",
        ));
    }
    if distance_claim.is_some() && !rules.contains(&RuleName::Flow) {
        return Err(cx.invalid(
            "learning.rules",
            "has no \"flow\", which the distance claim measures against",
            "\"flow\" among the rules",
        ));
    }

    let mut quick = None;
    if let Some(mut q) = top.sub("quick")? {
        let qn = q.n_list("n", false)?;
        let qr = q.int_in(
            "replicates",
            Some(0),
            (2, 100_000),
            "an integer from 2 to 100000",
        )?;
        let qe = q.int_in("epochs", Some(0), (1, 10_000), "an integer from 1 to 10000")?;
        let qs = q.int_in(
            "single_update_n",
            Some(0),
            (2, 1_000_000_000),
            "an integer from 2 to 10^9",
        )?;
        q.finish()?;
        quick = Some(LearningQuick {
            n: qn,
            replicates: (qr > 0).then_some(qr),
            epochs: (qe > 0).then_some(qe as usize),
            single_update_n: (qs > 0).then_some(qs),
        });
    }

    let exp = LearningExperiment {
        name,
        title,
        seed,
        data: DataSpec {
            file,
            label,
            test_fraction,
            standardize,
            split_seed,
            split_seed_explicit,
        },
        model,
        theta0,
        scaling,
        learning: LearningSpec {
            rules,
            n,
            epochs,
            replicates,
            every,
            kappa,
            flow_substeps,
            single_update_n,
            single_update_n_explicit,
            single_update_alpha,
            divergence_bound,
        },
        distance_claim,
        accuracy_claims,
        single_update_claim,
        quick,
        source: cx.file.to_path_buf(),
    };
    if let Some((key, problem, expected)) = exp.size_problem() {
        return Err(cx.invalid(&format!("learning.{key}"), problem, expected));
    }
    Ok(exp)
}
