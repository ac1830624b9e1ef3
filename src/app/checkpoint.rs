//! Checkpoints in a results folder: `summary.partial.json` and `rows.partial.csv` after every
//! point, and what `--resume` finds there.

use crate::error::Error;
use crate::experiment::Experiment;
use crate::provenance::commit_text;
use crate::report::{self, outdir};
use crate::results::{Status, Summary};
use crate::run::{Checkpoint, resume_key};
use std::path::{Path, PathBuf};

/// Writes each partial summary into a results folder; optionally stops after `stop_after` points
/// (to test interruption).
pub struct FolderCheckpoint {
    dir: PathBuf,
    stop_after: Option<usize>,
    done: usize,
}

impl FolderCheckpoint {
    /// Checkpoints into `dir`.
    pub fn new(dir: &Path, stop_after: Option<usize>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            stop_after,
            done: 0,
        }
    }
}

impl Checkpoint for FolderCheckpoint {
    fn save(&mut self, partial: &Summary) -> Result<(), Error> {
        report::write_atomic(
            &self.dir.join(outdir::PARTIAL),
            report::summary_json(partial).as_bytes(),
        )?;
        report::write_atomic(
            &self.dir.join(outdir::PARTIAL_ROWS),
            report::rows_csv(partial).as_bytes(),
        )?;
        self.done += 1;
        if self.stop_after.is_some_and(|k| self.done >= k) {
            return Err(Error::Stopped { points: self.done });
        }
        Ok(())
    }
}

/// What a results folder holds for `--resume`.
pub enum Prior {
    /// Nothing to continue: start from the first point.
    None,
    /// The results of this experiment are complete.
    Complete,
    /// A run of this experiment stopped after some points.
    Partial(Box<Summary>),
}

/// What to do when a results folder belongs to another run than the one resumed.
const RESUME_FIX: &str =
    "resume with the same file, options and build, or choose another --out for this run";

/// The run in `dir` to resume, after checking that it belongs to `exp`: the partial summary
/// of a run in progress, or a complete summary with the same key (nothing to do).
pub fn read_prior(exp: &Experiment, dir: &Path) -> Result<Prior, Error> {
    let key = resume_key(exp);
    let partial = dir.join(outdir::PARTIAL);
    if partial.exists() {
        let s = report::read_summary_file(&partial)?;
        if s.resume_key != key {
            return Err(Error::Results {
                path: partial,
                problem: format!(
                    "was written for a different resolved experiment or code version ({})",
                    what_changed(exp, &s)
                ),
                fix: RESUME_FIX.into(),
            });
        }
        return Ok(Prior::Partial(Box::new(s)));
    }
    if !dir.join("summary.json").exists() {
        return Ok(Prior::None);
    }
    let s = report::read_summary(dir)?;
    if s.resume_key != key {
        return Err(Error::Results {
            path: dir.join("summary.json"),
            problem: format!(
                "holds the results of a different resolved experiment or code version ({})",
                what_changed(exp, &s)
            ),
            fix: RESUME_FIX.into(),
        });
    }
    Ok(if s.status == Status::Complete {
        Prior::Complete
    } else {
        Prior::Partial(Box::new(s))
    })
}

/// Which settings differ between `exp` and the run that wrote `s`.
fn what_changed(exp: &Experiment, s: &Summary) -> String {
    let now = serde_json::to_value(exp).expect("serialisable");
    let mut diffs = Vec::new();
    if let (Some(a), Some(b)) = (now.as_object(), s.config.as_object()) {
        for (k, v) in a {
            match b.get(k) {
                Some(w) if w == v => {}
                _ => diffs.push(k.clone()),
            }
        }
    }
    let then = s.provenance.git_commit.as_deref().unwrap_or("unknown");
    if then != commit_text() {
        diffs.push(format!(
            "the build (commit {then} then, {} now)",
            commit_text()
        ));
    }
    if diffs.is_empty() {
        format!("key {} vs {}", s.resume_key, resume_key(exp))
    } else {
        format!("changed: {}", diffs.join(", "))
    }
}
