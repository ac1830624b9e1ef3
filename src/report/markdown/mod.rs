//! `results/REPORT.md`: the verdict table, then each experiment's evidence and figures.

mod convergence;
mod learning;
mod verdicts;

use super::format::{fmt_ci, sig};
use crate::claims::{Against, ClaimKind, ClaimSpec, Metric};
use crate::learning::study::LearningSummary;
use crate::results::{ConstantPoint, ConstantReport};
use crate::results::{FitReport, Summary};
use crate::stats::VerdictKind;
use convergence::convergence_section;
use learning::learning_section;
use std::fmt::Write as _;
pub use verdicts::verdict_table;

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
    /// Pairs of (verdict, expected) for the distance, accuracy and single-update claims.
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
    r.push_str(VERDICT_RULE);
    for e in entries {
        r.push_str(&convergence_section(e));
    }
    for e in learning {
        r.push_str(&learning_section(e));
    }
    r
}

/// How verdicts are decided, below the verdict table.
const VERDICT_RULE: &str = "\nVerdict rule (equivalence test): `holds` if the whole 95% interval of the fitted slope lies \
inside [claim - tolerance, claim + tolerance] (and below 0 for an error, which must decay); `fails` \
if it lies entirely outside that band, or entirely at or above 0 for an error; `inconclusive` \
otherwise. Diverged trajectories cap the verdict at `inconclusive`. Learning experiments use the \
same rule on other intervals: an accuracy claim `holds` if the 95% interval of the paired mean \
difference in final test accuracy (STDP minus the reference, on the same sample orders) lies \
within ± tolerance; the single-update claim `holds` if the Clopper-Pearson interval of the \
fraction of replicates that end within the tolerance of the flow lies below 1/2, and `fails` if \
it lies above.\n";

/// The rows of a table of the slopes between consecutive points.
fn pairwise_rows(r: &mut String, slopes: &[crate::stats::PairwiseSlope]) {
    for p in slopes {
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
