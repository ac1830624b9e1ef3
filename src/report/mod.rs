//! Output: `summary.json`, `rows.csv`, the figures and the verification report. Every file is
//! written atomically (a temporary file in the same folder, then a rename).

#[cfg(feature = "figures")]
pub mod figures;
mod format;
pub mod learning;
#[cfg(feature = "figures")]
pub mod learning_figures;
pub mod markdown;
pub mod outdir;
#[cfg(feature = "figures")]
mod plot;

use crate::error::Error;
use crate::results::Summary;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see a partial
/// file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// `rows.csv`: one line per point, flat.
pub fn rows_csv(s: &Summary) -> String {
    let mut out = String::from(
        "n,dim,beta,gamma,trajectories,diverged,kappa,kappa_n,alpha_n,a_n,steps,\
sup_sq_error_mean,sup_sq_error_std_error,sup_sq_error_ci95_lo,sup_sq_error_ci95_hi,\
terminal_sq_error_mean,terminal_sq_error_std_error,terminal_sq_error_ci95_lo,terminal_sq_error_ci95_hi,\
terminal_bias_sq,terminal_variance,kappa_hat_mean,kappa_hat_std_error,kappa_hat_ci95_lo,kappa_hat_ci95_hi,\
predicted_terminal_sq,predicted_sup_sq,predicted_sup_sq_std_error\n",
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v:e}")).unwrap_or_default();
    let est = |e: Option<crate::stats::Estimate>| {
        e.map(|e| {
            format!(
                "{:e},{:e},{:e},{:e}",
                e.mean, e.std_error, e.ci95[0], e.ci95[1]
            )
        })
        .unwrap_or_else(|| ",,,".into())
    };
    for r in &s.rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:e},{:e},{:e},{:e},{},{},{},{},{},{},{},{},{}",
            r.n,
            r.dim,
            r.beta,
            r.gamma,
            r.trajectories,
            r.diverged,
            r.kappa,
            r.kappa_n,
            r.alpha_n,
            r.a_n,
            r.steps,
            est(r.sup_sq_error),
            est(r.terminal_sq_error),
            opt(r.terminal_bias_sq),
            opt(r.terminal_variance),
            est(r.kappa_hat),
            opt(r.fluctuation.map(|f| f.terminal_sq)),
            opt(r.fluctuation.and_then(|f| f.sup_sq).map(|s| s.mean)),
            opt(r.fluctuation.and_then(|f| f.sup_sq).map(|s| s.std_error)),
        );
    }
    out
}

/// Seconds per point, labelled by (n, d, beta, gamma).
fn point_seconds(s: &Summary) -> serde_json::Value {
    s.rows
        .iter()
        .map(|r| {
            serde_json::json!({"n": r.n, "dim": r.dim, "beta": r.beta, "gamma": r.gamma,
                "seconds": r.seconds})
        })
        .collect()
}

/// `provenance.json`: what changes from one run of the same build to the next (threads, wall
/// time, start time, and `parts`: the seconds of each point or rule). Kept apart from
/// `summary.json` so that a re-run leaves the science files byte for byte.
pub fn provenance_json(p: &crate::provenance::Provenance, parts: &serde_json::Value) -> String {
    let mut j = serde_json::to_string_pretty(&serde_json::json!({
        "version": p.version,
        "git_commit": p.git_commit,
        "threads": p.threads,
        "seconds": p.seconds,
        "started_unix": p.started_unix,
        "parts": parts,
    }))
    .expect("serialisable");
    j.push('\n');
    j
}

/// The pretty-printed JSON of a summary.
pub fn summary_json(s: &Summary) -> String {
    let mut j = serde_json::to_string_pretty(s).expect("summary serialises");
    j.push('\n');
    j
}

/// Reads `summary.json` from a results folder.
pub fn read_summary(dir: &Path) -> Result<Summary, Error> {
    read_summary_file(&dir.join("summary.json"))
}

/// Reads a summary file.
pub fn read_summary_file(path: &Path) -> Result<Summary, Error> {
    let path = path.to_path_buf();
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Results {
        path: path.clone(),
        problem: format!("cannot read it ({e})"),
        fix: "give a folder written by `stdp-flow run`, `merge` or `verify`".into(),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Results {
        path,
        problem: format!("not a stdp-flow summary ({e})"),
        fix: "regenerate the folder with `stdp-flow run` on its experiment file".into(),
    })
}

/// Draws figures with `draw` into a staging folder, then moves each into `dir`.
#[cfg(feature = "figures")]
pub(crate) fn stage_figures(
    dir: &Path,
    draw: impl FnOnce(&Path) -> Result<Vec<String>, Error>,
) -> Result<Vec<String>, Error> {
    let stage = dir.join(format!(".figures-{}", std::process::id()));
    std::fs::create_dir_all(&stage).map_err(io(&stage))?;
    let result = draw(&stage).and_then(|stems| {
        for stem in &stems {
            for ext in ["png", "svg"] {
                let name = format!("{stem}.{ext}");
                std::fs::rename(stage.join(&name), dir.join(&name))
                    .map_err(io(&dir.join(&name)))?;
            }
        }
        Ok(stems)
    });
    let _ = std::fs::remove_dir_all(&stage);
    result
}

/// Draws the figures into a staging folder, then moves each into `dir`.
pub fn write_figures(s: &Summary, dir: &Path) -> Result<Vec<String>, Error> {
    #[cfg(feature = "figures")]
    return stage_figures(dir, |stage| figures::draw_all(s, stage));
    #[cfg(not(feature = "figures"))]
    {
        let _ = (s, dir);
        Ok(Vec::new())
    }
}

impl Summary {
    /// Writes `summary.json`, `rows.csv` and the figures into `dir`; returns the files written.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, Error> {
        write_results(self, dir.as_ref())
    }
}

/// Writes `summary.json`, `rows.csv` and the figures into `dir` as one unit
/// ([`outdir::write_staged`]); returns the files written.
pub fn write_results(s: &Summary, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    outdir::write_staged(dir, |stage| {
        write_atomic(&stage.join("rows.csv"), rows_csv(s).as_bytes())?;
        let mut names = vec!["rows.csv".to_string()];
        for stem in write_figures(s, stage)? {
            names.push(format!("{stem}.png"));
            names.push(format!("{stem}.svg"));
        }
        write_atomic(
            &stage.join("provenance.json"),
            provenance_json(&s.provenance, &point_seconds(s)).as_bytes(),
        )?;
        names.push("provenance.json".into());
        write_atomic(&stage.join("summary.json"), summary_json(s).as_bytes())?;
        names.push("summary.json".into());
        Ok(names)
    })
}
