//! Reading the `[claim.*]` tables of a learning experiment.

use super::{AccuracyClaim, DistanceClaim, LearningSpec, RuleName, SingleUpdateClaim};
use crate::error::{Error, closest};
use crate::experiment::limits::{ACCURACY_MARGIN, N, POSITIVE, SLOPE, SLOPE_TOLERANCE};
use crate::experiment::reader::{Cx, Keyword, Sec, describe};
use toml::Value;

/// The claims of a learning experiment.
pub(super) struct Claims {
    /// `[claim.distance]`.
    pub(super) distance: Option<DistanceClaim>,
    /// `[claim.accuracy]` or `[[claim.accuracy]]`.
    pub(super) accuracy: Vec<AccuracyClaim>,
    /// `[claim.single_update]`.
    pub(super) single_update: Option<SingleUpdateClaim>,
}

/// `[claim]` and its sub-tables (all optional).
pub(super) fn read_claims(cx: &Cx, top: &mut Sec, l: &LearningSpec) -> Result<Claims, Error> {
    let mut claims = Claims {
        distance: None,
        accuracy: Vec::new(),
        single_update: None,
    };
    let Some(mut cs) = top.sub("claim")? else {
        return Ok(claims);
    };
    if let Some(c) = cs.sub("distance")? {
        claims.distance = Some(read_distance(c)?);
    }
    for (path, table) in accuracy_tables(cx, &mut cs)? {
        claims.accuracy.push(read_accuracy(cx, &path, table, l)?);
    }
    if let Some(c) = cs.sub("single_update")? {
        claims.single_update = Some(read_single_update(cx, c, &l.rules)?);
    }
    cs.finish()?;
    Ok(claims)
}

/// `[claim.distance]`: the slope of the distance of STDP to the flow against n.
fn read_distance(mut c: Sec) -> Result<DistanceClaim, Error> {
    let slope = c.real("slope", Some(-1.0), SLOPE)?;
    let tolerance = c.real("tolerance", None, SLOPE_TOLERANCE)?;
    let expect = c.expect()?;
    let statement = c.string("statement", Some(""), "a string")?;
    let fit_from = match c.take("fit_from") {
        None => None,
        Some(v) => {
            let x = c.num("fit_from", &v, "a positive number")?;
            if !POSITIVE.contains(x) {
                return Err(c.bad("fit_from", &v, "a positive number"));
            }
            Some(x)
        }
    };
    c.finish()?;
    Ok(DistanceClaim {
        slope,
        tolerance,
        expect,
        statement,
        fit_from,
    })
}

/// The accuracy claims with their key paths: one `[claim.accuracy]` table, or the
/// `[[claim.accuracy]]` array of tables.
fn accuracy_tables(cx: &Cx, cs: &mut Sec) -> Result<Vec<(String, toml::Table)>, Error> {
    match cs.take("accuracy") {
        None => Ok(Vec::new()),
        Some(Value::Table(t)) => Ok(vec![("claim.accuracy".to_string(), t)]),
        Some(Value::Array(a)) => a
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Table(t) => Ok((format!("claim.accuracy[{i}]"), t)),
                other => Err(cx.invalid(
                    "claim.accuracy",
                    format!("entry {i} is {}", describe(&other)),
                    "a table, or an array of tables ([[claim.accuracy]])",
                )),
            })
            .collect(),
        Some(v) => Err(cs.bad("accuracy", &v, "a table or [[claim.accuracy]] tables")),
    }
}

/// One accuracy claim: STDP at n against reference rules that the experiment runs.
fn read_accuracy(
    cx: &Cx,
    path: &str,
    table: toml::Table,
    l: &LearningSpec,
) -> Result<AccuracyClaim, Error> {
    let mut c = Sec::new(cx, table, path);
    let max_n = *l.n.last().expect("non-empty");
    let n_explicit = c.has("n");
    let n = c.int_in("n", Some(max_n), N, "one of the learning.n values")?;
    let tolerance = c.real_in(
        "tolerance",
        None,
        ACCURACY_MARGIN,
        &accuracy_margin_expected(),
    )?;
    let against = rule_list(cx, &mut c, "against")?.unwrap_or_else(|| {
        [RuleName::Flow, RuleName::Sgd]
            .into_iter()
            .filter(|r| l.rules.contains(r))
            .collect()
    });
    if let Some(r) = against
        .iter()
        .find(|r| matches!(r, RuleName::Stdp | RuleName::SingleUpdate) || !l.rules.contains(r))
    {
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
            path,
            "has no reference rule to compare with",
            "\"flow\" or \"sgd\" in learning.rules",
        ));
    }
    let expect = c.expect()?;
    let statement = c.string("statement", Some(""), "a string")?;
    c.finish()?;
    Ok(AccuracyClaim {
        n,
        n_explicit,
        tolerance,
        against,
        expect,
        statement,
    })
}

/// `[claim.single_update]`: single-update does not reach the flow's accuracy.
fn read_single_update(cx: &Cx, mut c: Sec, rules: &[RuleName]) -> Result<SingleUpdateClaim, Error> {
    let tolerance = c.real_in(
        "tolerance",
        None,
        ACCURACY_MARGIN,
        &accuracy_margin_expected(),
    )?;
    if !(rules.contains(&RuleName::SingleUpdate) && rules.contains(&RuleName::Flow)) {
        return Err(cx.invalid(
            "claim.single_update",
            "needs \"single-update\" and \"flow\" in learning.rules",
            "both rules in learning.rules, or no [claim.single_update]",
        ));
    }
    let expect = c.expect()?;
    let statement = c.string("statement", Some(""), "a string")?;
    c.finish()?;
    Ok(SingleUpdateClaim {
        tolerance,
        expect,
        statement,
    })
}

/// What an accuracy margin must be.
fn accuracy_margin_expected() -> String {
    format!("an accuracy margin {ACCURACY_MARGIN}, for example 0.02")
}

/// A list of distinct rules (`learning.rules`, `claim.accuracy.against`).
pub(super) fn rule_list(
    cx: &Cx,
    sec: &mut Sec,
    key: &'static str,
) -> Result<Option<Vec<RuleName>>, Error> {
    let expected =
        "a non-empty array of distinct rules from \"stdp\", \"flow\", \"sgd\", \"single-update\"";
    let Some((path, a)) = sec.nonempty_array(key, expected)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for x in &a {
        let r = match x {
            Value::String(s) => RuleName::parse(s).ok_or_else(|| {
                let hint = closest(s, &RuleName::words())
                    .map(|c| format!(" (did you mean \"{c}\"?)"))
                    .unwrap_or_default();
                cx.invalid(&path, format!("unknown rule \"{s}\"{hint}"), expected)
            })?,
            _ => return Err(cx.invalid(&path, format!("found {}", describe(x)), expected)),
        };
        if out.contains(&r) {
            return Err(cx.invalid(&path, format!("\"{}\" repeats", r.key()), expected));
        }
        out.push(r);
    }
    Ok(Some(out))
}
