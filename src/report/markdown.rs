//! `results/REPORT.md`: the verdict table, then each experiment's evidence and figures.

use super::format::{fmt_ci, fmt_ci4, sci, sig};
use crate::claims::{Against, ClaimKind, ClaimSpec, Metric};
use crate::claims::{ConstantPoint, ConstantReport};
use crate::learning::study::LearningSummary;
use crate::results::{FitReport, Summary};
use crate::stats::VerdictKind;
use std::fmt::Write as _;

/// One experiment's outcome in a verification run.
pub struct Entry<'a> {
    /// Its summary.
    pub summary: &'a Summary,
    /// Figure stems written into `<name>/`.
    pub figures: Vec<String>,
}

impl Entry<'_> {
    /// The verdict, if the experiment has a claim.
    pub fn verdict(&self) -> Option<VerdictKind> {
        self.summary.verdict.as_ref().map(|v| v.kind)
    }

    /// The expected verdict, if stated.
    pub fn expected(&self) -> Option<VerdictKind> {
        self.summary
            .config
            .get("claim")?
            .get("expect")?
            .as_str()
            .and_then(|e| match e {
                "holds" => Some(VerdictKind::Holds),
                "fails" => Some(VerdictKind::Fails),
                "inconclusive" => Some(VerdictKind::Inconclusive),
                _ => None,
            })
    }

    /// Whether the verdict differs from the stated expectation (see [`differs`]).
    pub fn mismatch(&self) -> bool {
        differs(
            self.verdict(),
            self.expected(),
            self.summary.provenance.quick,
        )
    }
}

/// One learning experiment's outcome in a verification run.
pub struct LearningEntry<'a> {
    /// Its summary.
    pub summary: &'a LearningSummary,
    /// Figure stems written into `<name>/`.
    pub figures: Vec<String>,
}

impl LearningEntry<'_> {
    /// Pairs of (verdict, expected) for the distance and accuracy claims.
    fn outcomes(&self) -> Vec<(Option<VerdictKind>, Option<VerdictKind>)> {
        let s = self.summary;
        let mut v = Vec::new();
        if let Some(f) = &s.distance_fit
            && let Some(c) = &f.claim
        {
            v.push((f.verdict.as_ref().map(|v| v.kind), c.expect));
        }
        for a in &s.accuracy {
            v.push((Some(a.verdict.kind), a.claim.expect));
        }
        if let Some(a) = &s.single_update {
            v.push((Some(a.verdict.kind), a.claim.expect));
        }
        v
    }

    /// Whether any verdict differs from its stated expectation (see [`differs`]).
    pub fn mismatch(&self) -> bool {
        let quick = self.summary.provenance.quick;
        self.outcomes().iter().any(|&(v, e)| differs(v, e, quick))
    }
}

/// Whether verdict `v` contradicts the expectation `e`. In a quick run (a smoke test with few
/// samples) an `inconclusive` verdict does not count; `holds` against `fails` always does.
pub fn differs(v: Option<VerdictKind>, e: Option<VerdictKind>, quick: bool) -> bool {
    match (v, e) {
        (Some(VerdictKind::Inconclusive) | None, Some(_)) if quick => false,
        (Some(v), Some(e)) => v != e,
        (None, Some(_)) => true,
        _ => false,
    }
}

fn mark(v: Option<VerdictKind>, e: Option<VerdictKind>, quick: bool) -> &'static str {
    match (v, e) {
        (Some(a), Some(b)) if a == b => "as expected",
        (Some(VerdictKind::Inconclusive) | None, Some(_)) if quick => "undecided (quick run)",
        (_, Some(_)) => "MISMATCH",
        _ => "",
    }
}

fn quantity(f: &FitReport) -> String {
    let m = match f.metric {
        Metric::SupSqError => "E sup|Z^n - Z|^2",
        Metric::TerminalSqError => "E |Z^n_T - Z_T|^2",
        Metric::KappaHat => "realised kappa",
    };
    let x = match f.against {
        Against::N => "n",
        Against::Dim => "d",
    };
    format!("{m} vs {x}")
}

/// Text safe inside a Markdown table cell (`|` would end the cell).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The claim in a few words: "slope -1.000 ± 0.100", "slope ≤ 1.100", "ratio 1 ± 0.050".
pub fn claim_text(c: &ClaimSpec) -> String {
    let slope = c.slope.unwrap_or(f64::NAN);
    match c.kind {
        ClaimKind::Slope => format!("{slope:+.3} ± {:.3}", c.tolerance),
        ClaimKind::Bound => format!("slope ≤ {:+.3}", slope + c.tolerance),
        ClaimKind::Constant => format!("measured / predicted = 1 ± {:.3}", c.tolerance),
    }
}

/// What the claim's verdict rests on, with its 95% interval.
pub fn result_text(f: &FitReport) -> String {
    if let Some(k) = &f.constant {
        return constant_text(k);
    }
    let rejected = match &f.corrected {
        Some(c) => c.chi2_p_value < crate::stats::POWER_LAW_REJECTED_P,
        None => f.fit.power_law_rejected(),
    };
    if rejected && let Some(p) = f.fit.pairwise_slopes.last() {
        let model = if f.corrected.is_some() {
            "not n^s (a - b n^(-1/2))"
        } else {
            "not a power law"
        };
        return format!(
            "{model} (chi-square {}); slope from {} to {}: {:.3} {}",
            crate::claims::p_text(
                f.corrected
                    .as_ref()
                    .map_or(f.fit.chi2_p_value, |c| c.chi2_p_value)
            ),
            p.from,
            p.to,
            p.slope,
            fmt_ci(p.ci95)
        );
    }
    match &f.corrected {
        Some(c) => format!(
            "{:.3} {} (fit n^s (a - b n^(-1/2)))",
            c.slope,
            fmt_ci(c.ci95)
        ),
        None => format!("{:.3} {}", f.fit.slope, fmt_ci(f.fit.ci95)),
    }
}

/// Measured / predicted at each dimension (all of them when few, else the one farthest from 1).
fn constant_text(k: &ConstantReport) -> String {
    let one = |p: &ConstantPoint| {
        format!(
            "{}{:.3} {} ({} {} vs predicted {})",
            if k.points.len() > 1 {
                format!("d = {}: ", p.dim)
            } else {
                String::new()
            },
            p.ratio.mean,
            fmt_ci(p.ratio.ci95),
            sig(p.measured.mean),
            p.n.map_or("extrapolated".to_string(), |n| format!("at n = {n}")),
            sig(p.predicted)
        )
    };
    if k.points.len() <= 3 {
        return k.points.iter().map(one).collect::<Vec<_>>().join("; ");
    }
    let dev = |p: &ConstantPoint| (p.ratio.mean - 1.0).abs();
    let worst = k.points.iter().max_by(|a, b| dev(a).total_cmp(&dev(b)));
    let lo = k
        .points
        .iter()
        .map(|p| p.ratio.mean)
        .fold(f64::INFINITY, f64::min);
    let hi = k
        .points
        .iter()
        .map(|p| p.ratio.mean)
        .fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{} dimensions, ratios {lo:.3} to {hi:.3}; farthest from 1: {}",
        k.points.len(),
        worst.map_or(String::new(), one)
    )
}

/// The verdict table for a terminal: one line per claim with the experiment, the verdict, the
/// expectation and what the verdict rests on, cut to `width` characters (the full table is in
/// REPORT.md).
pub fn console_table(entries: &[Entry], learning: &[LearningEntry], width: usize) -> String {
    let md = verdict_table(entries, learning);
    let mut out = format!(
        "{:<28} {:<13} {:<13} {:<22} result\n",
        "experiment", "verdict", "expected", ""
    );
    for line in md.lines().skip(2) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().replace("\\|", "|").replace("**", ""))
            .collect();
        if cells.len() < 8 {
            continue;
        }
        let row = format!(
            "{:<28} {:<13} {:<13} {:<22} {}",
            cells[0], cells[5], cells[6], cells[7], cells[4]
        );
        let cut: String = row.chars().take(width).collect();
        out.push_str(&cut);
        if row.chars().count() > width {
            out.push('…');
        }
        out.push('\n');
    }
    out
}

/// One line per claim: experiment, statement, quantity, claim, fitted slope and interval, verdict,
/// expectation.
pub fn verdict_table(entries: &[Entry], learning: &[LearningEntry]) -> String {
    let mut t = String::from(
        "| experiment | paper statement | quantity | claim | result [95% CI] | verdict | expected | |\n\
|---|---|---|---|---|---|---|---|\n",
    );
    for e in entries {
        let s = e.summary;
        let Some(f) = s.fit.as_ref().filter(|f| f.claim.is_some()) else {
            let _ = writeln!(
                t,
                "| {} | (no claim: see its figures) | | | | | | |",
                s.name
            );
            continue;
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
    for e in learning {
        let s = e.summary;
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
        let claims = s
            .accuracy
            .iter()
            .map(|a| {
                (
                    &a.claim.statement,
                    "final test accuracy of STDP minus reference, paired by sample order".to_string(),
                    format!("within ± {:.3}", a.claim.tolerance),
                    &a.comparisons,
                    &a.verdict,
                    a.claim.expect,
                )
            })
            .chain(s.single_update.iter().map(|a| {
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
            let parts = comparisons
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
                .join("; ");
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
            let _ = writeln!(
                t,
                "| {} | (no claim: see its figures) | | | | | | |",
                s.name
            );
        }
    }
    t
}

/// The whole report.
pub fn report(entries: &[Entry], learning: &[LearningEntry], quick: bool, header: &str) -> String {
    let mut r = String::from("# stdp-flow verification report\n\n");
    r.push_str(header);
    if quick {
        r.push_str(
            "\n**This is a quick run** (`verify --quick`): fewer trajectories and smaller n. \
Verdicts from it are a smoke test, not the evidence (an `inconclusive` verdict where another was \
expected is marked as undecided and does not fail the run; a contradiction does); run \
`stdp-flow verify` for the full report.\n",
        );
    }
    r.push_str("\n## Verdicts\n\n");
    r.push_str(&verdict_table(entries, learning));
    r.push_str(
        "\nVerdict rule (equivalence test): `holds` if the whole 95% interval of the fitted slope lies \
inside [claim - tolerance, claim + tolerance] (and below 0 for an error, which must decay); `fails` \
if it lies entirely outside that band, or entirely at or above 0 for an error; `inconclusive` \
otherwise. Diverged trajectories cap the verdict at `inconclusive`. Learning experiments use the \
same rule on other intervals: an accuracy claim `holds` if the 95% interval of the paired mean \
difference in final test accuracy (STDP minus the reference, on the same sample orders) lies \
within ± tolerance; the single-update claim `holds` if the Clopper-Pearson interval of the \
fraction of replicates that end within the tolerance of the flow lies below 1/2, and `fails` if \
it lies above.\n",
    );
    for e in entries {
        let s = e.summary;
        let _ = write!(r, "\n## {}: {}\n\n", s.name, s.title);
        if let Some(f) = &s.fit {
            if let Some(c) = &f.claim {
                let _ = writeln!(r, "Tests: {}.\n", c.statement);
                if c.fit_from.is_some() || c.fit_to.is_some() {
                    let _ = writeln!(
                        r,
                        "The claim's fit uses only x in [{}, {}] (declared in the experiment file); the other points are shown in the table and figures.\n",
                        c.fit_from.map_or("-".into(), |v| v.to_string()),
                        c.fit_to.map_or("-".into(), |v| v.to_string())
                    );
                }
            }
            if let Some(v) = &f.verdict {
                let _ = writeln!(r, "Verdict: **{}**: {}.\n", v.kind, v.reason);
            }
            let _ = writeln!(
                r,
                "Fit of {}: slope {:.4} {} (se {:.4}, Birge ratio {:.2}, weighted r² {:.4}).\n",
                quantity(f),
                f.fit.slope,
                fmt_ci(f.fit.ci95),
                f.fit.slope_std_error,
                f.fit.birge_ratio,
                f.fit.r_squared
            );
            r.push_str("Slopes between consecutive points:\n\n| from | to | slope | 95% CI |\n|---|---|---|---|\n");
            for p in &f.fit.pairwise_slopes {
                let _ = writeln!(
                    r,
                    "| {} | {} | {:.3} | {} |",
                    p.from,
                    p.to,
                    p.slope,
                    fmt_ci(p.ci95)
                );
            }
            r.push('\n');
        }
        r.push_str(
            "| d | n | beta | gamma | M | diverged | kappa (reference) | kappa_n | realised kappa [95% CI] | E sup err² [95% CI] | E terminal err² | bias² | variance |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for row in &s.rows {
            let kh = row
                .kappa_hat
                .map_or("-".into(), |k| format!("{:.4} {}", k.mean, fmt_ci(k.ci95)));
            let sup = row.sup_sq_error.map_or("-".into(), |e| {
                format!("{:.3e} [{:.3e}, {:.3e}]", e.mean, e.ci95[0], e.ci95[1])
            });
            let _ = writeln!(
                r,
                "| {} | {} | {:.3} | {:.3} | {} | {} | {:.4} | {:.4} | {} | {} | {} | {} | {} |",
                row.dim,
                row.n,
                row.beta,
                row.gamma,
                row.trajectories,
                row.diverged,
                row.kappa,
                row.kappa_n,
                kh,
                sup,
                sci(row.terminal_sq_error.map(|e| e.mean)),
                sci(row.terminal_bias_sq),
                sci(row.terminal_variance)
            );
        }
        if !s.phase.is_empty() {
            r.push_str(
                "\n| beta | gamma | 1-beta-2gamma (drift, theory) | error slope [95% CI] | realised-drift slope [95% CI] | drift |\n|---|---|---|---|---|---|\n",
            );
            for c in &s.phase {
                let es = c
                    .error_slope
                    .as_ref()
                    .map_or("-".into(), |f| format!("{:.3} {}", f.slope, fmt_ci(f.ci95)));
                let ds = c
                    .drift_slope
                    .as_ref()
                    .map_or("-".into(), |f| format!("{:.3} {}", f.slope, fmt_ci(f.ci95)));
                let _ = writeln!(
                    r,
                    "| {:.3} | {:.3} | {:+.3} | {} | {} | {} |",
                    c.beta, c.gamma, c.predicted_drift_exponent, es, ds, c.drift_class
                );
            }
        }
        r.push('\n');
        footer(&mut r, &s.name, &e.figures, &s.provenance);
    }
    for e in learning {
        r.push_str(&learning_section(e));
    }
    r
}

fn learning_section(e: &LearningEntry) -> String {
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
    if let Some(f) = &s.distance_fit {
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
        for p in f.fit.iter().flat_map(|f| &f.pairwise_slopes) {
            let _ = writeln!(
                r,
                "| {} | {} | {:.3} | {} |",
                p.from,
                p.to,
                p.slope,
                fmt_ci(p.ci95)
            );
        }
    }
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
        let _ = writeln!(r, "\n{name}: {statement}.\n");
        let _ = writeln!(
            r,
            "Verdict: **{}**: {}.\n",
            verdict.kind,
            cell(&verdict.reason)
        );
        r.push_str("| comparison (paired by sample order) | statistic | estimate [95% CI] | pairs | required band | verdict |\n|---|---|---|---|---|---|\n");
        for c in comparisons {
            let band = |x: f64| {
                if x.is_infinite() {
                    "-inf".to_string()
                } else {
                    format!("{x:+.3}")
                }
            };
            let _ = writeln!(
                r,
                "| {} vs {} | {} | {:+.4} {} | {} | [{}, {}] | **{}** |",
                c.rule,
                c.reference,
                c.statistic,
                c.difference.mean,
                fmt_ci4(c.difference.ci95),
                c.pairs,
                band(c.band[0]),
                band(c.band[1]),
                c.verdict.kind
            );
        }
    }
    if let Some(b) = &s.baseline {
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
    r.push('\n');
    footer(&mut r, &s.name, &e.figures, &s.provenance);
    r
}

/// The figures of an experiment's section and its seed and folder (thread count and timings are
/// in the folder's `provenance.json`, so that a re-run of the same build leaves this report
/// unchanged).
fn footer(r: &mut String, name: &str, figures: &[String], p: &crate::provenance::Provenance) {
    for stem in figures {
        let _ = writeln!(r, "![{stem}]({name}/{stem}.png)\n");
    }
    let _ = writeln!(
        r,
        "Seed {}; files in `{name}/` (timings in `{name}/provenance.json`).",
        p.seed
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_escape_pipes() {
        assert_eq!(cell("E sup|Z^n - Z|^2"), "E sup\\|Z^n - Z\\|^2");
    }
}
