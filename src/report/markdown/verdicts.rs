//! The verdict table at the top of REPORT.md: one row per claim, with its expected verdict.

use super::{Entry, LearningEntry, cell, claim_text, mark, quantity, result_text};
use crate::learning::study::{Comparison, LearningSummary};
use crate::report::format::{fmt_ci, fmt_ci4};
use crate::stats::{Verdict, VerdictKind};
use std::fmt::Write as _;

/// The table of every claim's verdict.
pub fn verdict_table(entries: &[Entry], learning: &[LearningEntry]) -> String {
    let mut t = String::from(
        "| experiment | paper statement | quantity | claim | result [95% CI] | verdict | expected | |\n\
|---|---|---|---|---|---|---|---|\n",
    );
    for e in entries {
        convergence_row(&mut t, e);
    }
    for e in learning {
        learning_rows(&mut t, e.summary);
    }
    t
}

fn no_claim(t: &mut String, name: &str) {
    let _ = writeln!(t, "| {name} | (no claim: see its figures) | | | | | | |");
}

fn convergence_row(t: &mut String, e: &Entry) {
    let s = e.summary;
    let Some(f) = s.fit.as_ref().filter(|f| f.claim.is_some()) else {
        no_claim(t, &s.name);
        return;
    };
    let (claim, statement) = match &f.claim {
        Some(c) => (claim_text(c), c.statement.clone()),
        None => ("-".into(), "(no claim)".into()),
    };
    let v = f
        .verdict
        .as_ref()
        .map_or("-".into(), |v| format!("**{}**", v.kind));
    let x = e.expected().map_or("-".into(), |k| k.to_string());
    let mark = mark(e.verdict(), e.expected(), s.provenance.quick);
    let _ = writeln!(
        t,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        s.name,
        cell(&statement),
        cell(&quantity(f)),
        claim,
        cell(&result_text(f)),
        v,
        x,
        mark
    );
}

/// A learning claim as a table row: statement, quantity, band, comparisons, verdict, expected.
type ClaimRow<'a> = (
    &'a String,
    String,
    String,
    &'a [Comparison],
    &'a Verdict,
    Option<VerdictKind>,
);

/// The row of a learning summary's distance claim, if it has one.
fn distance_row(t: &mut String, s: &LearningSummary) {
    if let Some(f) = &s.distance_fit
        && let Some(c) = &f.claim
    {
        let v = f.verdict.as_ref().map(|v| v.kind);
        let _ = writeln!(
            t,
            "| {} | {} | E sup_k \\|theta_stdp - theta_flow\\|^2 vs n (whole run) | {:+.3} ± {:.3} | {:.3} {} | {} | {} | {} |",
            s.name,
            cell(&c.statement),
            c.slope,
            c.tolerance,
            f.fit.as_ref().map_or(f64::NAN, |f| f.slope),
            f.fit.as_ref().map_or("(no fit)".into(), |f| fmt_ci(f.ci95)),
            v.map_or("-".into(), |k| format!("**{k}**")),
            c.expect.map_or("-".into(), |k| k.to_string()),
            mark(v, c.expect, s.provenance.quick)
        );
    }
}

/// The comparisons of an accuracy or single-update claim, in one cell.
fn comparison_cell(comparisons: &[Comparison]) -> String {
    comparisons
        .iter()
        .map(|c| {
            format!(
                "{} vs {} ({}): {:+.4} {}",
                c.rule,
                c.reference,
                c.statistic,
                c.difference.mean,
                fmt_ci4(c.difference.ci95)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn learning_rows(t: &mut String, s: &LearningSummary) {
    distance_row(t, s);
    let claims = s
        .accuracy
        .iter()
        .map(|a| -> ClaimRow {
            (
                &a.claim.statement,
                if a.comparisons.iter().any(|c| c.reference_pairs.is_some()) {
                    "final test accuracy of STDP minus reference, paired by sample order or through the flow"
                } else {
                    "final test accuracy of STDP minus reference, paired by sample order"
                }
                .to_string(),
                format!("within ± {:.3}", a.claim.tolerance),
                &a.comparisons,
                &a.verdict,
                a.claim.expect,
            )
        })
        .chain(s.single_update.iter().map(|a| -> ClaimRow {
            (
                &a.claim.statement,
                format!(
                    "fraction of runs in which single-update ends within {:.3} of the flow's test accuracy",
                    a.claim.tolerance
                ),
                "below 1/2".to_string(),
                &a.comparisons,
                &a.verdict,
                a.claim.expect,
            )
        }));
    for (statement, quantity, band, comparisons, verdict, expect) in claims {
        let parts = comparison_cell(comparisons);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | **{}** | {} | {} |",
            s.name,
            cell(statement),
            quantity,
            band,
            cell(&parts),
            verdict.kind,
            expect.map_or("-".into(), |k| k.to_string()),
            mark(Some(verdict.kind), expect, s.provenance.quick)
        );
    }
    if s.distance_fit.as_ref().is_none_or(|f| f.claim.is_none())
        && s.accuracy.is_empty()
        && s.single_update.is_none()
    {
        no_claim(t, &s.name);
    }
}
