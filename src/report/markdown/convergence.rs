//! The section of a convergence experiment in REPORT.md: the claim, its fit, the rows and the
//! phase diagram's cells.

use super::{Entry, footer, pairwise_rows, quantity};
use crate::report::format::{fmt_ci, sci};
use crate::results::{FitReport, PhaseCell, Row};
use std::fmt::Write as _;

/// The section of one convergence experiment.
pub(super) fn convergence_section(e: &Entry) -> String {
    let s = e.summary;
    let mut r = String::new();
    let _ = write!(r, "\n## {}: {}\n\n", s.name, s.title);
    if let Some(f) = &s.fit {
        fit_paragraphs(&mut r, f);
    }
    r.push_str(
        "| d | n | beta | gamma | M | diverged | kappa (reference) | kappa_n | realised kappa [95% CI] | E sup err² [95% CI] | E terminal err² | bias² | variance |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in &s.rows {
        row_line(&mut r, row);
    }
    if !s.phase.is_empty() {
        r.push_str(
            "\n| beta | gamma | 1-beta-2gamma (drift, theory) | error slope [95% CI] | realised-drift slope [95% CI] | drift |\n|---|---|---|---|---|---|\n",
        );
        for c in &s.phase {
            phase_line(&mut r, c);
        }
    }
    r.push('\n');
    footer(&mut r, &s.name, &e.figures, &s.provenance);
    r
}

/// What the claim tests, its verdict, the fit and the slopes between consecutive points.
fn fit_paragraphs(r: &mut String, f: &FitReport) {
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
    r.push_str(
        "Slopes between consecutive points:\n\n| from | to | slope | 95% CI |\n|---|---|---|---|\n",
    );
    pairwise_rows(r, &f.fit.pairwise_slopes);
    r.push('\n');
}

fn row_line(r: &mut String, row: &Row) {
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

fn phase_line(r: &mut String, c: &PhaseCell) {
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
