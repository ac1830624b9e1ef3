//! Reading a convergence experiment: one function per table. Tables are read in the file
//! format's order, so the first problem reported is the same whatever the layout.

use super::keywords::{LossKind, RuleKind};
use super::limits::{CHECKPOINTS, DIM, DRIFT, EXPONENT, HORIZON, POSITIVE, SEED, SUBSTEPS};
use super::read_claim::read_claim;
use super::reader::{Cx, Keyword, Sec};
use super::schema::{DriftChoice, Experiment, Grid, LossSpec, Quick, Reference, Sweep, VecSpec};
use crate::error::Error;
use crate::scaling::{Scaling, ScalingRule};
use toml::Value;

/// Reads a convergence experiment from the top-level table (after `kind` was taken).
pub(super) fn read(cx: &Cx, top: &mut Sec) -> Result<Experiment, Error> {
    let (name, title, seed) = read_identity(cx, top)?;
    let (loss, loss_dim) = read_loss(cx, top)?;
    let theta0 = read_start(top)?;
    let (scaling, grid) = read_scaling(cx, top)?;
    let reference = read_reference(cx, top)?;
    let (mut sweep, dims) = read_sweep(top)?;
    (sweep.dim, sweep.dim_sweep) = resolve_dim(cx, &loss, &theta0, loss_dim, dims)?;
    let claim = match top.sub("claim")? {
        Some(c) => Some(read_claim(
            cx,
            c,
            &scaling,
            grid.is_some(),
            sweep.dim_sweep,
        )?),
        None => None,
    };
    let quick = match top.sub("quick")? {
        Some(q) => Some(read_quick(cx, q, sweep.dim_sweep, grid.is_some())?),
        None => None,
    };
    let exp = Experiment {
        name,
        title,
        seed,
        loss,
        theta0,
        scaling,
        reference,
        sweep,
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

/// `name`, `title` and `seed`, shared by both kinds of experiment.
pub(super) fn read_identity(cx: &Cx, top: &mut Sec) -> Result<(String, String, u64), Error> {
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
    let seed = top.int_in("seed", None, SEED, "a non-negative integer")?;
    Ok((name, title, seed))
}

/// `[loss]`: the family, its vectors, and `dim`.
fn read_loss(cx: &Cx, top: &mut Sec) -> Result<(LossSpec, Option<u64>), Error> {
    let mut ls = top.sub_required("loss", "a [loss] table with `kind`")?;
    let loss = match ls.keyword::<LossKind>("kind", None)? {
        LossKind::Logcosh => LossSpec::Logcosh {
            center: ls.vec_spec("center", None, false)?,
        },
        LossKind::Quadratic => {
            let center = ls.vec_spec("center", None, false)?;
            let curvature = ls.vec_spec("curvature", Some(VecSpec::Fill(1.0)), false)?;
            let negative = match &curvature {
                VecSpec::Values(v) => v.iter().any(|h| *h < 0.0),
                VecSpec::Fill(h) => *h < 0.0,
                VecSpec::Unit => false,
            };
            if negative {
                return Err(cx.invalid(
                    "loss.curvature",
                    "a curvature is negative",
                    "curvatures >= 0",
                ));
            }
            LossSpec::Quadratic { center, curvature }
        }
        LossKind::Logistic => {
            let x = ls.vec_spec("x", None, true)?;
            let y = ls.f64_in("y", Some(1.0), |y| y == 1.0 || y == -1.0, "1 or -1")?;
            LossSpec::Logistic { x, y }
        }
        LossKind::Linear => LossSpec::Linear {
            g: ls.vec_spec("g", None, false)?,
        },
    };
    let loss_dim = ls.int_opt("dim", DIM)?;
    ls.finish()?;
    Ok((loss, loss_dim))
}

/// `[start]`: theta0 (0 in every coordinate by default).
fn read_start(top: &mut Sec) -> Result<VecSpec, Error> {
    let Some(mut s) = top.sub("start")? else {
        return Ok(VecSpec::Fill(0.0));
    };
    let t = s.vec_spec("theta0", Some(VecSpec::Fill(0.0)), false)?;
    s.finish()?;
    Ok(t)
}

/// `[scaling]` and the phase diagram's `[grid]` of (beta, gamma), which replaces the power
/// rule's own exponents.
fn read_scaling(cx: &Cx, top: &mut Sec) -> Result<(Scaling, Option<Grid>), Error> {
    let mut ss = top.sub_required("scaling", "a [scaling] table with `rule`, `alpha` and `a`")?;
    let rule = ss.keyword::<RuleKind>("rule", None)?;
    let alpha = ss.real_in("alpha", None, POSITIVE, "a positive number")?;
    let a = ss.real_in(
        "a",
        None,
        POSITIVE,
        "a positive number (the noise half-width A)",
    )?;
    let grid_sec = top.sub("grid")?;
    let rule = match rule {
        RuleKind::Paper => ScalingRule::Paper,
        RuleKind::Corrected => ScalingRule::Corrected,
        RuleKind::Power if grid_sec.is_some() => ScalingRule::Power {
            beta: f64::NAN,
            gamma: f64::NAN,
        },
        RuleKind::Power => ScalingRule::Power {
            beta: ss.real("beta", None, EXPONENT)?,
            gamma: ss.real("gamma", None, EXPONENT)?,
        },
    };
    ss.finish()?;
    let grid = match grid_sec {
        Some(g) => Some(read_grid(cx, g, &rule)?),
        None => None,
    };
    Ok((Scaling { rule, alpha, a }, grid))
}

/// `[grid]`: the values of beta and gamma (power rule only).
fn read_grid(cx: &Cx, mut g: Sec, rule: &ScalingRule) -> Result<Grid, Error> {
    if !matches!(rule, ScalingRule::Power { .. }) {
        return Err(cx.invalid(
            "scaling.rule",
            "a [grid] needs the power rule",
            "rule = \"power\" with [grid]",
        ));
    }
    let expected = format!("a non-empty array of numbers {EXPONENT}");
    let beta = g.f64_list("beta", EXPONENT, &expected)?;
    let gamma = g.f64_list("gamma", EXPONENT, &expected)?;
    g.finish()?;
    let missing = |key: &str| Error::MissingKey {
        at: cx.at("grid"),
        key: key.into(),
        expected: expected.clone(),
    };
    Ok(Grid {
        beta: beta.ok_or_else(|| missing("grid.beta"))?,
        gamma: gamma.ok_or_else(|| missing("grid.gamma"))?,
    })
}

/// `[reference]`: the drift constant, horizon and RK4 substeps of the reference flow.
fn read_reference(cx: &Cx, top: &mut Sec) -> Result<Reference, Error> {
    let mut rs = top.sub_required("reference", "a [reference] table with `drift`")?;
    let drift_expected = format!("\"paper\", \"limit\", \"exact\" or {}", DRIFT.number());
    let drift = match rs.require("drift", &drift_expected)? {
        Value::String(s) => DriftChoice::parse(&s).ok_or_else(|| {
            cx.invalid(
                "reference.drift",
                format!("unknown value \"{s}\""),
                &drift_expected,
            )
        })?,
        v => {
            let k = rs.num("drift", &v, &drift_expected)?;
            if !DRIFT.contains(k) {
                return Err(rs.bad("drift", &v, &drift_expected));
            }
            DriftChoice::Value(k)
        }
    };
    let horizon = rs.real("horizon", Some(1.0), HORIZON)?;
    let substeps = rs.int("substeps", Some(1), SUBSTEPS)? as u32;
    rs.finish()?;
    Ok(Reference {
        drift,
        horizon,
        substeps,
    })
}

/// `[sweep]`: the sizes, with `dim` still unresolved (the dimensions it lists, if any).
fn read_sweep(top: &mut Sec) -> Result<(Sweep, Option<Vec<usize>>), Error> {
    let mut sw = top.sub_required("sweep", "a [sweep] table with `n` and `trajectories`")?;
    let n = sw.n_list("n", true)?.expect("required");
    let trajectories = sw.trajectories("trajectories", true)?.expect("required");
    let dims = sw.usize_list("dim", DIM, &dims_expected())?;
    let checkpoints = sw.int("checkpoints", Some(200), CHECKPOINTS)?;
    let divergence_bound =
        sw.real_in("divergence_bound", Some(1e6), POSITIVE, "a positive number")?;
    sw.finish()?;
    let sweep = Sweep {
        n,
        dim: Vec::new(),
        dim_sweep: false,
        trajectories,
        checkpoints,
        divergence_bound,
    };
    Ok((sweep, dims))
}

/// What `sweep.dim` and `quick.dim` hold.
fn dims_expected() -> String {
    format!("a non-empty array of distinct integers {DIM}")
}

/// The full key of a vector of the loss or of theta0.
fn vector_key(k: &str) -> String {
    if k == "theta0" {
        "start.theta0".to_string()
    } else {
        format!("loss.{k}")
    }
}

/// The dimensions and whether they are a sweep: from explicit arrays (which must agree), else
/// from `[sweep] dim`, else from `loss.dim`.
fn resolve_dim(
    cx: &Cx,
    loss: &LossSpec,
    theta0: &VecSpec,
    loss_dim: Option<u64>,
    dims: Option<Vec<usize>>,
) -> Result<(Vec<usize>, bool), Error> {
    let mut vectors = loss.vectors();
    vectors.push(("theta0", theta0));
    let mut fixed: Option<(&str, usize)> = None;
    for (k, len) in vectors.iter().filter_map(|(k, v)| Some((k, v.len()?))) {
        match fixed {
            None => fixed = Some((k, len)),
            Some((k0, l0)) if l0 != len => {
                return Err(cx.invalid(
                    &vector_key(k),
                    format!("has {len} entries but {} has {l0}", vector_key(k0)),
                    "vectors of the same length (the dimension)",
                ));
            }
            _ => {}
        }
    }
    match (fixed, dims, loss_dim) {
        (Some((k, _)), Some(_), _) => Err(cx.invalid(
            &vector_key(k),
            "is an explicit array, but [sweep] dim varies the dimension",
            "one number (broadcast) or \"unit\"",
        )),
        (Some((k, len)), None, Some(d)) if d as usize != len => Err(cx.invalid(
            "loss.dim",
            format!("is {d} but {} has {len} entries", vector_key(k)),
            "no `dim`, or the array length",
        )),
        (Some((_, len)), None, _) => Ok((vec![len], false)),
        (None, Some(_), Some(_)) => Err(cx.invalid(
            "loss.dim",
            "is given together with [sweep] dim",
            "only one of them",
        )),
        (None, Some(ds), _) => Ok((ds, true)),
        (None, None, None) => Err(Error::MissingKey {
            at: cx.at("loss"),
            key: "loss.dim".into(),
            expected: "the dimension, since no vector is given as an array".into(),
        }),
        (None, None, Some(d)) => Ok((vec![d as usize], false)),
    }
}

/// `[quick]`: smaller sizes for `verify --quick` (checked against the full experiment later).
fn read_quick(cx: &Cx, mut q: Sec, dim_sweep: bool, grid: bool) -> Result<Quick, Error> {
    let qn = q.n_list("n", false)?;
    let qm = q.trajectories("trajectories", false)?;
    let qd = q.usize_list("dim", DIM, &dims_expected())?;
    let expected = format!("a non-empty array of numbers {EXPONENT}");
    let qb = q.f64_list("beta", EXPONENT, &expected)?;
    let qg = q.f64_list("gamma", EXPONENT, &expected)?;
    q.finish()?;
    if qd.is_some() && !dim_sweep {
        return Err(cx.invalid(
            "quick.dim",
            "is given but there is no [sweep] dim",
            "no quick.dim",
        ));
    }
    if (qb.is_some() || qg.is_some()) && !grid {
        return Err(cx.invalid(
            "quick",
            "sets grid values but there is no [grid]",
            "no quick.beta / quick.gamma",
        ));
    }
    Ok(Quick {
        n: qn,
        trajectories: qm,
        dim: qd,
        beta: qb,
        gamma: qg,
    })
}
