//! The claims of a learning study: the slope of STDP's distance to the flow in n, accuracy
//! comparisons between rules, and the single-update rule against the flow.

use super::summary::{AccuracyReport, Comparison, DistanceFit, RunRecord, SingleUpdateReport};
use crate::experiment::learning::{AccuracyClaim, LearningExperiment};
use crate::stats::{
    Claim, Estimate, Verdict, VerdictKind, decide, decide_interval, fit_power_law, proportion,
    sum_of_means,
};

pub(super) fn distance_fit(exp: &LearningExperiment, runs: &[RunRecord]) -> Option<DistanceFit> {
    let claim = exp.distance_claim.clone();
    let from = claim.as_ref().and_then(|c| c.fit_from).unwrap_or(0.0);
    let pts: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.rule == "stdp" && r.n.is_some_and(|n| n as f64 >= from))
        .collect();
    let with: Vec<(f64, Estimate)> = pts
        .iter()
        .filter_map(|r| Some((r.n? as f64, r.sup_distance_to_flow?)))
        .collect();
    let x: Vec<f64> = with.iter().map(|p| p.0).collect();
    let y: Vec<f64> = with.iter().map(|p| p.1.mean).collect();
    let se: Vec<f64> = with.iter().map(|p| p.1.std_error).collect();
    let fit = fit_power_law(&x, &y, &se);
    if fit.is_none() && claim.is_none() {
        return None;
    }
    let verdict = claim.as_ref().map(|c| {
        let diverged: Vec<String> = pts
            .iter()
            .filter(|r| r.diverged > 0)
            .map(|r| {
                format!(
                    "{} of {} replicates diverged at n = {}",
                    r.diverged,
                    r.replicates,
                    r.n.unwrap_or(0)
                )
            })
            .collect();
        let mut diverged = diverged;
        if let Some(f) = runs.iter().find(|r| r.rule == "flow" && r.diverged > 0) {
            diverged.push(format!(
                "{} of {} replicates of the reference flow diverged",
                f.diverged, f.replicates
            ));
        }
        let why = (!diverged.is_empty()).then(|| diverged.join("; "));
        match &fit {
            Some(f) if with.len() >= 3 => decide(
                f.ci95,
                &Claim {
                    slope: c.slope,
                    tolerance: c.tolerance,
                    decay: true,
                },
                why.as_deref(),
            ),
            _ => Verdict {
                kind: VerdictKind::Inconclusive,
                reason: format!(
                    "only {} values of n in the fit range have estimates (3 are needed){}",
                    with.len(),
                    why.map_or(String::new(), |w| format!("; {w}"))
                ),
            },
        }
    });
    Some(DistanceFit {
        n: x,
        fit,
        claim,
        verdict,
    })
}

/// An undefined estimate with an `inconclusive` verdict saying why.
fn undecided(reason: String) -> (Estimate, Verdict) {
    let nan = f64::NAN;
    (
        Estimate {
            mean: nan,
            std_error: nan,
            ci95: [nan, nan],
        },
        Verdict {
            kind: VerdictKind::Inconclusive,
            reason,
        },
    )
}

/// The comparisons' verdicts joined (see [`combine`]), or `inconclusive` with `none` if there are
/// no comparisons.
fn combine_comparisons(comparisons: &[Comparison], none: &str) -> Verdict {
    let named: Vec<(String, &Verdict)> = comparisons
        .iter()
        .map(|c| (format!("[{} vs {}]", c.rule, c.reference), &c.verdict))
        .collect();
    let refs: Vec<(&str, &Verdict)> = named.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    combine(&refs).unwrap_or(Verdict {
        kind: VerdictKind::Inconclusive,
        reason: none.into(),
    })
}

/// Differences x - y of the replicates where both ended (`None` elsewhere), over the replicates
/// of the shorter run.
fn differences(x: &RunRecord, y: &RunRecord) -> Vec<Option<f64>> {
    (x.final_test_accuracy.iter())
        .zip(&y.final_test_accuracy)
        .map(|(p, q)| Some((*p)? - (*q)?))
        .collect()
}

/// E\[accuracy of a - accuracy of b\] through the flow, when the flow and b ran on more replicates
/// than a: mean(a - flow) over a's replicates plus mean(flow - b) over the flow's.
fn through_flow(a: &RunRecord, b: &RunRecord, flow: &RunRecord, band: [f64; 2]) -> Comparison {
    let (x, y) = (differences(a, flow), differences(flow, b));
    let what = format!(
        "mean test-accuracy difference {} - {} (through the flow: {} pairs with it, {} pairs of it with {})",
        a.label(),
        b.label(),
        x.iter().flatten().count(),
        y.iter().flatten().count(),
        b.label()
    );
    let (difference, verdict) = match sum_of_means(&x, &y) {
        Some(e) => {
            let dropped = a.diverged + b.diverged + flow.diverged;
            let why = (dropped > 0).then(|| format!("{dropped} replicates diverged"));
            (e, decide_interval(e.ci95, band, &what, why.as_deref()))
        }
        None => undecided(format!("{what}: fewer than 2 pairs without divergence")),
    };
    Comparison {
        rule: a.label(),
        reference: b.label(),
        statistic: "mean difference through the flow".into(),
        difference,
        pairs: x.iter().flatten().count(),
        reference_pairs: Some(y.iter().flatten().count()),
        band,
        verdict,
    }
}

fn paired(a: &RunRecord, b: &RunRecord, band: [f64; 2]) -> Comparison {
    let diffs: Vec<f64> = a
        .final_test_accuracy
        .iter()
        .zip(&b.final_test_accuracy)
        .filter_map(|(x, y)| Some((*x)? - (*y)?))
        .collect();
    let what = format!(
        "mean test-accuracy difference {} - {}",
        a.label(),
        b.label()
    );
    let (difference, verdict) = if diffs.len() >= 2 {
        let e = Estimate::from_samples(&diffs);
        let dropped = a.diverged + b.diverged;
        let why = (dropped > 0).then(|| format!("{dropped} replicates diverged"));
        (e, decide_interval(e.ci95, band, &what, why.as_deref()))
    } else {
        undecided(format!("{what}: fewer than 2 pairs without divergence"))
    };
    Comparison {
        rule: a.label(),
        reference: b.label(),
        statistic: "mean difference".into(),
        difference,
        pairs: diffs.len(),
        reference_pairs: None,
        band,
        verdict,
    }
}

/// The fraction of replicates in which `a` ends (or, if it diverged, stops with finite theta) with
/// a test accuracy at least that of `b` minus `tol`; a replicate whose theta is no longer finite
/// does not reach, and pairs where `b` diverged are left out. The claim that `a` falls short holds
/// when the Clopper-Pearson interval of that fraction lies below 1/2.
fn reaching(a: &RunRecord, b: &RunRecord, tol: f64) -> Comparison {
    let outcomes: Vec<bool> = a
        .final_test_accuracy
        .iter()
        .zip(&a.accuracy_at_divergence)
        .zip(&b.final_test_accuracy)
        .filter_map(|((x, xd), y)| {
            let y = (*y)?;
            Some(x.or(*xd).is_some_and(|x| x >= y - tol))
        })
        .collect();
    let what = format!(
        "fraction of replicates in which {} ends within {tol} of {}",
        a.label(),
        b.label()
    );
    let k = outcomes.iter().filter(|&&r| r).count();
    let (difference, verdict) = if outcomes.len() >= 2 {
        let e = proportion(k, outcomes.len());
        let why = (b.diverged > 0)
            .then(|| format!("{} replicates of {} diverged", b.diverged, b.label()));
        let mut v = decide_interval(e.ci95, [0.0, 0.5], &what, why.as_deref());
        if a.diverged > 0 {
            v.reason.push_str(&format!(
                " ({} of {} replicates of {} diverged (|theta|^2 above the bound) and are scored where they stopped)",
                a.diverged,
                a.replicates,
                a.label()
            ));
        }
        (e, v)
    } else {
        undecided(format!("{what}: fewer than 2 replicates of the reference"))
    };
    Comparison {
        rule: a.label(),
        reference: b.label(),
        statistic: "fraction reaching".into(),
        difference,
        pairs: outcomes.len(),
        reference_pairs: None,
        band: [0.0, 0.5],
        verdict,
    }
}

/// Joins named verdicts: `fails` if any fails, `holds` if all hold, `inconclusive` otherwise.
pub(super) fn combine(verdicts: &[(&str, &Verdict)]) -> Option<Verdict> {
    if verdicts.is_empty() {
        return None;
    }
    let kind = if verdicts.iter().any(|v| v.1.kind == VerdictKind::Fails) {
        VerdictKind::Fails
    } else if verdicts.iter().all(|v| v.1.kind == VerdictKind::Holds) {
        VerdictKind::Holds
    } else {
        VerdictKind::Inconclusive
    };
    let reason = verdicts
        .iter()
        .map(|(name, v)| format!("{name} {}: {}", v.kind, v.reason))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Verdict { kind, reason })
}

pub(super) fn accuracy_report(claim: &AccuracyClaim, runs: &[RunRecord]) -> AccuracyReport {
    let find = |rule: &str, n: Option<u64>| {
        runs.iter()
            .find(|r| r.rule == rule && (n.is_none() || r.n == n))
    };
    let tol = claim.tolerance;
    let flow = find("flow", None);
    let compare = |a: &RunRecord, b: &RunRecord| match flow {
        Some(f)
            if b.rule != "flow" && b.replicates > a.replicates && f.replicates > a.replicates =>
        {
            through_flow(a, b, f, [-tol, tol])
        }
        _ => paired(a, b, [-tol, tol]),
    };
    let comparisons: Vec<Comparison> = match find("stdp", Some(claim.n)) {
        Some(stdp) => claim
            .against
            .iter()
            .filter_map(|r| find(r.key(), None))
            .map(|r| compare(stdp, r))
            .collect(),
        None => Vec::new(),
    };
    let verdict = combine_comparisons(
        &comparisons,
        "no comparison could be made (a rule of the claim did not run)",
    );
    AccuracyReport {
        claim: claim.clone(),
        comparisons,
        verdict,
    }
}

pub(super) fn single_update_report(
    exp: &LearningExperiment,
    runs: &[RunRecord],
) -> Option<SingleUpdateReport> {
    let claim = exp.single_update_claim.clone()?;
    let Some(flow) = runs.iter().find(|r| r.rule == "flow") else {
        return Some(SingleUpdateReport {
            claim,
            comparisons: Vec::new(),
            verdict: Verdict {
                kind: VerdictKind::Inconclusive,
                reason: "the flow did not run".into(),
            },
        });
    };
    let comparisons: Vec<Comparison> = runs
        .iter()
        .filter(|r| r.rule == "single-update")
        .map(|su| reaching(su, flow, claim.tolerance))
        .collect();
    let verdict = combine_comparisons(&comparisons, "no single-update run");
    Some(SingleUpdateReport {
        claim,
        comparisons,
        verdict,
    })
}
