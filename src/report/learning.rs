//! Output of a learning experiment: `summary.json`, `curves.csv`, `runs.csv`, `split.csv` and
//! the figures.

use super::{io, write_atomic};
use crate::data::Split;
use crate::error::Error;
use crate::learning::study::LearningSummary;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `curves.csv`: one line per rule, n and checkpoint.
pub fn curves_csv(s: &LearningSummary) -> String {
    let mut out = String::from(
        "rule,n,alpha_n,samples_seen,train_loss_mean,train_loss_ci95_lo,train_loss_ci95_hi,\
test_loss_mean,test_loss_ci95_lo,test_loss_ci95_hi,test_accuracy_mean,test_accuracy_ci95_lo,\
test_accuracy_ci95_hi,distance_to_flow_mean,distance_to_flow_ci95_lo,distance_to_flow_ci95_hi\n",
    );
    let est = |e: &crate::stats::Estimate| format!("{:e},{:e},{:e}", e.mean, e.ci95[0], e.ci95[1]);
    for r in &s.runs {
        for p in &r.curve {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                r.rule,
                r.n.map_or(String::new(), |n| n.to_string()),
                r.alpha_n.map_or(String::new(), |a| format!("{a:e}")),
                p.samples_seen,
                est(&p.train_loss),
                est(&p.test_loss),
                est(&p.test_accuracy),
                p.distance_to_flow.as_ref().map_or(",,".into(), est),
            );
        }
    }
    out
}

/// `runs.csv`: one line per rule and n, with budgets, divergences and the final metrics.
pub fn runs_csv(s: &LearningSummary) -> String {
    let mut out = String::from(
        "rule,n,alpha_n,a_n,replicates,diverged,samples,loss_evaluations,gradient_evaluations,\
final_test_accuracy_mean,final_test_accuracy_ci95_lo,final_test_accuracy_ci95_hi,\
sup_distance_to_flow_mean,sup_distance_to_flow_std_error,sup_distance_to_flow_ci95_lo,sup_distance_to_flow_ci95_hi\n",
    );
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:e}"));
    for r in &s.runs {
        let acc = r.curve.last().map(|p| p.test_accuracy);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.rule,
            r.n.map_or(String::new(), |n| n.to_string()),
            opt(r.alpha_n),
            opt(r.a_n),
            r.replicates,
            r.diverged,
            r.samples,
            r.loss_evaluations,
            r.gradient_evaluations,
            opt(acc.map(|e| e.mean)),
            opt(acc.map(|e| e.ci95[0])),
            opt(acc.map(|e| e.ci95[1])),
            opt(r.sup_distance_to_flow.map(|e| e.mean)),
            opt(r.sup_distance_to_flow.map(|e| e.std_error)),
            opt(r.sup_distance_to_flow.map(|e| e.ci95[0])),
            opt(r.sup_distance_to_flow.map(|e| e.ci95[1])),
        );
    }
    out
}

/// `split.csv`: which data row (0-based, header excluded) went to which part, so that any other
/// tool can fit on exactly the same split.
pub fn split_csv(split: &Split) -> String {
    let mut rows: Vec<(usize, &str)> = split
        .train_rows
        .iter()
        .map(|&r| (r, "train"))
        .chain(split.test_rows.iter().map(|&r| (r, "test")))
        .collect();
    rows.sort_unstable();
    let mut out = String::from("row,set\n");
    for (r, set) in rows {
        let _ = writeln!(out, "{r},{set}");
    }
    out
}

/// Reads a learning `summary.json`.
pub fn read(dir: &Path) -> Result<LearningSummary, Error> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| Error::Results {
        path,
        problem: format!("not a stdp-flow learning summary ({e})"),
        fix: "regenerate the folder with `stdp-flow run` on its learning experiment file".into(),
    })
}

/// Draws the figures through a staging folder.
pub fn write_figures(s: &LearningSummary, dir: &Path) -> Result<Vec<String>, Error> {
    #[cfg(feature = "figures")]
    return super::stage_figures(dir, |stage| super::learning_figures::draw_all(s, stage));
    #[cfg(not(feature = "figures"))]
    {
        let _ = (s, dir);
        Ok(Vec::new())
    }
}

/// Writes every output file into `dir` (`split.csv` only when the split is given); returns the
/// files written.
pub fn write_results(
    s: &LearningSummary,
    split: Option<&Split>,
    dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let mut json = serde_json::to_string_pretty(s).expect("summary serialises");
    json.push('\n');
    super::outdir::write_staged(dir, |stage| {
        let mut names = Vec::new();
        let mut put = |name: &str, text: &str| -> Result<(), Error> {
            write_atomic(&stage.join(name), text.as_bytes())?;
            names.push(name.to_string());
            Ok(())
        };
        put("curves.csv", &curves_csv(s))?;
        put("runs.csv", &runs_csv(s))?;
        if let Some(sp) = split {
            put("split.csv", &split_csv(sp))?;
        }
        for stem in write_figures(s, stage)? {
            names.push(format!("{stem}.png"));
            names.push(format!("{stem}.svg"));
        }
        let parts: serde_json::Value = s
            .runs
            .iter()
            .map(|r| serde_json::json!({"run": r.label(), "thread_seconds": r.seconds}))
            .collect();
        write_atomic(
            &stage.join("provenance.json"),
            super::provenance_json(&s.provenance, &parts).as_bytes(),
        )?;
        names.push("provenance.json".into());
        write_atomic(&stage.join("summary.json"), json.as_bytes())?;
        names.push("summary.json".into());
        Ok(names)
    })
}
