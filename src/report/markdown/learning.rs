//! The section of a learning experiment in REPORT.md: the data, the claims, the runs, the
//! distance fit, the paired comparisons and the yardstick.

use super::{LearningEntry, cell, footer, pairwise_rows};
use crate::learning::study::{Comparison, DistanceFit, LearningSummary};
use crate::report::format::{fmt_ci, fmt_ci4};
use crate::stats::{Verdict, VerdictKind};
use std::fmt::Write as _;

/// The section of one learning experiment.
pub(super) fn learning_section(e: &LearningEntry) -> String {
    let s = e.summary;
    let mut r = String::new();
    let d = &s.dataset;
    let _ = write!(r, "\n## {}: {}\n\n", s.name, s.title);
    let _ = writeln!(
        r,
        "Data: `{}` ({} rows, {} features, classes {}; FNV-1a {}), split {} train / {} test (rows in `{}/split.csv`). Model with {} parameters; kappa = {:.4} for flow and SGD.\n",
        d.file.rsplit('/').next().unwrap_or(&d.file),
        d.rows,
        d.features,
        d.classes.join(", "),
        d.fnv1a,
        d.train_rows,
        d.test_rows,
        s.name,
        s.parameters,
        s.kappa
    );
    claims_list(&mut r, s);
    runs_table(&mut r, s);
    if let Some(f) = &s.distance_fit {
        distance_paragraphs(&mut r, f);
    }
    comparisons(&mut r, s);
    yardstick(&mut r, s);
    r.push('\n');
    footer(&mut r, &s.name, &e.figures, &s.provenance);
    r
}

/// One line per claim with its verdict.
fn claims_list(r: &mut String, s: &LearningSummary) {
    let expected =
        |e: Option<VerdictKind>| e.map_or(String::new(), |e| format!(" (expected: {e})"));
    let mut claims = Vec::new();
    if let Some(f) = &s.distance_fit
        && let (Some(c), Some(v)) = (&f.claim, &f.verdict)
    {
        claims.push(format!(
            "- distance to the flow: **{}**{}",
            v.kind,
            expected(c.expect)
        ));
    }
    for a in &s.accuracy {
        let against: Vec<&str> = a.claim.against.iter().map(|r| r.key()).collect();
        claims.push(format!(
            "- accuracy against {}: **{}**{}",
            against.join(" and "),
            a.verdict.kind,
            expected(a.claim.expect)
        ));
    }
    if let Some(a) = &s.single_update {
        claims.push(format!(
            "- single-update falls short: **{}**{}",
            a.verdict.kind,
            expected(a.claim.expect)
        ));
    }
    if !claims.is_empty() {
        let _ = writeln!(
            r,
            "Claims (each detailed below):\n\n{}\n",
            claims.join("\n")
        );
    }
}

/// One row per rule (and n): its constants, budget, final accuracy and distance to the flow.
fn runs_table(r: &mut String, s: &LearningSummary) {
    r.push_str(
        "| rule | alpha_n | A_n | replicates | diverged | loss evaluations | gradient evaluations | final test accuracy [95% CI] | final training loss | E sup \\|theta - theta_flow\\|^2 [95% CI] |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for run in &s.runs {
        let last = run.curve.last();
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.label(),
            run.alpha_n.map_or("-".into(), |v| format!("{v:.4}")),
            run.a_n.map_or("-".into(), |v| format!("{v:.4}")),
            run.replicates,
            run.diverged,
            run.loss_evaluations,
            run.gradient_evaluations,
            last.map_or("-".into(), |p| format!(
                "{:.4} {}",
                p.test_accuracy.mean,
                fmt_ci4(p.test_accuracy.ci95)
            )),
            last.map_or("-".into(), |p| format!("{:.4}", p.train_loss.mean)),
            run.sup_distance_to_flow.map_or("-".into(), |e| format!(
                "{:.3e} [{:.3e}, {:.3e}]",
                e.mean, e.ci95[0], e.ci95[1]
            )),
        );
    }
}

/// The distance claim, its verdict, the fit against n and the pairwise slopes.
fn distance_paragraphs(r: &mut String, f: &DistanceFit) {
    r.push('\n');
    if let Some(c) = &f.claim {
        let _ = writeln!(r, "Distance claim: {}.\n", c.statement);
        if let Some(from) = c.fit_from {
            let _ = writeln!(
                r,
                "The fit uses n >= {from} only (declared in the experiment file); the table shows every n.\n"
            );
        }
    }
    if let Some(v) = &f.verdict {
        let _ = writeln!(r, "Verdict: **{}**: {}.\n", v.kind, cell(&v.reason));
    }
    if let Some(fit) = &f.fit {
        let _ = writeln!(
            r,
            "Fit of E sup_k |theta_stdp - theta_flow|^2 against n: slope {:.4} {} (se {:.4}, Birge ratio {:.2}, weighted r² {:.4}).\n",
            fit.slope,
            fmt_ci(fit.ci95),
            fit.slope_std_error,
            fit.birge_ratio,
            fit.r_squared
        );
        r.push_str("| from n | to n | slope | 95% CI |\n|---|---|---|---|\n");
    }
    if let Some(fit) = &f.fit {
        pairwise_rows(r, &fit.pairwise_slopes);
    }
}

/// The accuracy and single-update claims, each with its paired comparisons.
fn comparisons(r: &mut String, s: &LearningSummary) {
    let claims = s
        .accuracy
        .iter()
        .map(|a| {
            (
                "Accuracy claim",
                &a.claim.statement,
                &a.verdict,
                &a.comparisons,
            )
        })
        .chain(s.single_update.as_ref().map(|a| {
            (
                "Single-update claim",
                &a.claim.statement,
                &a.verdict,
                &a.comparisons,
            )
        }));
    for (name, statement, verdict, comparisons) in claims {
        comparison_table(r, name, statement, verdict, comparisons);
    }
}

fn comparison_table(
    r: &mut String,
    name: &str,
    statement: &str,
    verdict: &Verdict,
    comparisons: &[Comparison],
) {
    let _ = writeln!(r, "\n{name}: {statement}.\n");
    let _ = writeln!(
        r,
        "Verdict: **{}**: {}.\n",
        verdict.kind,
        cell(&verdict.reason)
    );
    r.push_str("| comparison (paired by sample order) | statistic | estimate [95% CI] | pairs | required band | verdict |\n|---|---|---|---|---|---|\n");
    let band = |x: f64| {
        if x.is_infinite() {
            "-inf".to_string()
        } else {
            format!("{x:+.3}")
        }
    };
    for c in comparisons {
        let _ = writeln!(
            r,
            "| {} vs {} | {} | {:+.4} {} | {} | [{}, {}] | **{}** |",
            c.rule,
            c.reference,
            c.statistic,
            c.difference.mean,
            fmt_ci4(c.difference.ci95),
            match c.reference_pairs {
                Some(k) => format!(
                    "{} with the flow, {k} of the flow with {}",
                    c.pairs, c.reference
                ),
                None => c.pairs.to_string(),
            },
            band(c.band[0]),
            band(c.band[1]),
            c.verdict.kind
        );
    }
}

/// The logistic-regression yardstick on the same split, next to the flow's accuracy.
fn yardstick(r: &mut String, s: &LearningSummary) {
    let Some(b) = &s.baseline else {
        return;
    };
    let flow = s
        .runs
        .iter()
        .find(|r| r.rule == "flow")
        .and_then(|r| r.curve.last());
    let _ = writeln!(
        r,
        "\nYardstick: {} with C = {} on the same split: test accuracy {:.4} (training {:.4}, test log-loss {:.4}, {} Newton iterations){}.\n",
        b.method,
        b.c,
        b.test_accuracy,
        b.train_accuracy,
        b.test_loss,
        b.iterations,
        flow.map_or(String::new(), |p| format!(
            "; the flow reaches {:.4} {}",
            p.test_accuracy.mean,
            fmt_ci4(p.test_accuracy.ci95)
        ))
    );
}
