//! Reading a learning experiment: one function per table (the claims are in `read_claims.rs`).

use super::read_claims::{read_claims, rule_list};
use super::{DataSpec, LearningExperiment, LearningQuick, LearningSpec, ModelSpec, RuleName};
use crate::error::Error;
use crate::experiment::checks::limit_error_text;
use crate::experiment::keywords::{ModelKind, RuleKind};
use crate::experiment::limits::{
    EPOCHS, EVERY, EXPONENT, FLOW_SUBSTEPS, HIDDEN, N, POSITIVE, PROBABILITY, REPLICATES, SEED,
    TEST_FRACTION, THETA0,
};
use crate::experiment::read_convergence::read_identity;
use crate::experiment::reader::{Cx, Sec};
use crate::scaling::{Scaling, ScalingRule};
use toml::Value;

/// Reads a learning experiment from the top-level table (after `kind` was taken).
pub(in crate::experiment) fn read(cx: &Cx, top: &mut Sec) -> Result<LearningExperiment, Error> {
    let (name, title, seed) = read_identity(cx, top)?;
    let data = read_data(cx, top, seed)?;
    let (model, theta0) = read_model(top, seed)?;
    let scaling = read_scaling(top)?;
    let learning = read_learning(cx, top, &scaling)?;
    let claims = read_claims(cx, top, &learning)?;
    let rules = &learning.rules;
    if !rules.contains(&RuleName::Stdp)
        && (claims.distance.is_some() || !claims.accuracy.is_empty())
    {
        return Err(cx.invalid(
            "learning.rules",
            "has no \"stdp\" but the claims are about STDP",
            "\"stdp\" among the rules",
        ));
    }
    if claims.distance.is_some() && !rules.contains(&RuleName::Flow) {
        return Err(cx.invalid(
            "learning.rules",
            "has no \"flow\", which the distance claim measures against",
            "\"flow\" among the rules",
        ));
    }
    let quick = match top.sub("quick")? {
        Some(q) => Some(read_quick(q)?),
        None => None,
    };
    let exp = LearningExperiment {
        name,
        title,
        seed,
        data,
        model,
        theta0,
        scaling,
        learning,
        distance_claim: claims.distance,
        accuracy_claims: claims.accuracy,
        single_update_claim: claims.single_update,
        quick,
        source: cx.file.to_path_buf(),
    };
    if let Some((key, problem, expected)) = exp.size_problem() {
        return Err(cx.invalid(&format!("learning.{key}"), problem, expected));
    }
    if let Some((key, problem, expected)) = exp.derived_problem() {
        return Err(cx.invalid(&key, problem, expected));
    }
    Ok(exp)
}

/// `[data]`: the CSV file (relative to the experiment file), its label and the split.
fn read_data(cx: &Cx, top: &mut Sec, seed: u64) -> Result<DataSpec, Error> {
    let mut ds = top.sub_required("data", "a [data] table with `file` and `label`")?;
    let file = ds.string(
        "file",
        None,
        "the path of a CSV file, relative to this file",
    )?;
    let base = cx.file.parent().unwrap_or(std::path::Path::new("."));
    let file = base.join(file);
    let label = ds.string("label", None, "the name of the label column")?;
    let test_fraction = ds.real_in(
        "test_fraction",
        Some(0.25),
        TEST_FRACTION,
        &format!("a fraction {TEST_FRACTION}"),
    )?;
    let standardize = ds.flag("standardize", true)?;
    let split_seed_explicit = ds.has("split_seed");
    let split_seed = ds.int_in("split_seed", Some(seed), SEED, "a non-negative integer")?;
    ds.finish()?;
    Ok(DataSpec {
        file,
        label,
        test_fraction,
        standardize,
        split_seed,
        split_seed_explicit,
    })
}

/// `[model]`: the model and theta0, the start of every coordinate.
fn read_model(top: &mut Sec, seed: u64) -> Result<(ModelSpec, f64), Error> {
    let mut ms = top.sub_required("model", "a [model] table with `kind`")?;
    let model = match ms.keyword::<ModelKind>("kind", None)? {
        ModelKind::Logistic => ModelSpec::Logistic,
        ModelKind::Softmax => ModelSpec::Softmax,
        ModelKind::Network => ModelSpec::Network {
            sign_seed_explicit: ms.has("sign_seed"),
            hidden: ms.int("hidden", None, HIDDEN)? as usize,
            excitatory: ms.real_in(
                "excitatory",
                Some(0.8),
                PROBABILITY,
                &format!("a probability {PROBABILITY}"),
            )?,
            sign_seed: ms.int_in("sign_seed", Some(seed), SEED, "a non-negative integer")?,
        },
    };
    let theta0 = ms.real_in(
        "theta0",
        Some(0.0),
        THETA0,
        &format!("{} (the start of every coordinate)", THETA0.number()),
    )?;
    ms.finish()?;
    Ok((model, theta0))
}

/// `[scaling]`: the rule (corrected by default), alpha and A.
fn read_scaling(top: &mut Sec) -> Result<Scaling, Error> {
    let mut ss = top.sub_required("scaling", "a [scaling] table with `rule`, `alpha` and `a`")?;
    let rule = ss.keyword("rule", Some(RuleKind::Corrected))?;
    let alpha = ss.real_in("alpha", None, POSITIVE, "a positive number")?;
    let a = ss.real_in(
        "a",
        None,
        POSITIVE,
        "a positive number (the noise half-width A)",
    )?;
    let rule = match rule {
        RuleKind::Paper => ScalingRule::Paper,
        RuleKind::Corrected => ScalingRule::Corrected,
        RuleKind::Power => ScalingRule::Power {
            beta: ss.real("beta", None, EXPONENT)?,
            gamma: ss.real("gamma", None, EXPONENT)?,
        },
    };
    ss.finish()?;
    Ok(Scaling { rule, alpha, a })
}

/// `[learning]`: the rules, sizes and constants of the training runs.
fn read_learning(cx: &Cx, top: &mut Sec, scaling: &Scaling) -> Result<LearningSpec, Error> {
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
    let epochs = ls.int("epochs", Some(1), EPOCHS)? as usize;
    let replicates = ls.int("replicates", None, REPLICATES)?;
    let reference_replicates = ls.int_opt("reference_replicates", REPLICATES)?;
    let every = ls.int_in(
        "every",
        Some(10),
        EVERY,
        "a positive integer (samples between checkpoints)",
    )? as usize;
    let kappa = read_kappa(cx, &mut ls, scaling)?;
    let flow_substeps = ls.int("flow_substeps", Some(20), FLOW_SUBSTEPS)? as u32;
    let max_n = *n.last().expect("non-empty");
    let single_update_n_explicit = ls.has("single_update_n");
    let single_update_n = ls.int("single_update_n", Some(max_n), N)?;
    let single_update_alpha = ls.f64_list(
        "single_update_alpha",
        POSITIVE,
        "a non-empty array of positive numbers",
    )?;
    let divergence_bound =
        ls.real_in("divergence_bound", Some(1e6), POSITIVE, "a positive number")?;
    ls.finish()?;
    let spec = LearningSpec {
        rules,
        n,
        epochs,
        replicates,
        reference_replicates,
        every,
        kappa,
        flow_substeps,
        single_update_n,
        single_update_n_explicit,
        single_update_alpha,
        divergence_bound,
    };
    check_single_update(cx, &spec)?;
    Ok(spec)
}

/// `learning.kappa`: a positive number, or "limit" (the default), the drift limit of the
/// scaling.
fn read_kappa(cx: &Cx, ls: &mut Sec, scaling: &Scaling) -> Result<f64, Error> {
    let kappa_expected = "\"limit\" or a positive number";
    let limit = || {
        scaling.kappa_limit().map_err(|e| {
            cx.invalid(
                "learning.kappa",
                format!(
                    "the drift limit of this scaling {}, so flow and sgd have no kappa",
                    limit_error_text(e)
                ),
                "a positive number for learning.kappa, or a scaling with beta + 2 gamma = 1",
            )
        })
    };
    match ls.take("kappa") {
        None => limit(),
        Some(Value::String(s)) if s == "limit" => limit(),
        Some(v) => {
            let k = ls.num("kappa", &v, kappa_expected)?;
            if !POSITIVE.contains(k) {
                return Err(ls.bad("kappa", &v, kappa_expected));
            }
            Ok(k)
        }
    }
}

/// The single-update keys only with the single-update rule; its alphas distinct.
fn check_single_update(cx: &Cx, l: &LearningSpec) -> Result<(), Error> {
    if !l.rules.contains(&RuleName::SingleUpdate)
        && let Some(key) = [
            ("single_update_n", l.single_update_n_explicit),
            ("single_update_alpha", l.single_update_alpha.is_some()),
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
    if let Some(a) = &l.single_update_alpha {
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
    Ok(())
}

/// `[quick]`: smaller sizes for `verify --quick` (checked when applied).
fn read_quick(mut q: Sec) -> Result<LearningQuick, Error> {
    let qn = q.n_list("n", false)?;
    let qr = q.int_opt("replicates", REPLICATES)?;
    let qrr = q.int_opt("reference_replicates", REPLICATES)?;
    let qe = q.int_opt("epochs", EPOCHS)?;
    let qs = q.int_opt("single_update_n", N)?;
    q.finish()?;
    Ok(LearningQuick {
        n: qn,
        replicates: qr,
        reference_replicates: qrr,
        epochs: qe.map(|e| e as usize),
        single_update_n: qs,
    })
}
