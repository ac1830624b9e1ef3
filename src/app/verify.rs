//! `verify`: every experiment of a folder, each into its results folder, and `REPORT.md` with
//! every verdict next to its `expect`.

use super::run::{simulate, simulate_learning};
use super::{Outcome, pool};
use crate::error::{Error, Location};
use crate::experiment::{self, Experiment, Overrides, Spec};
use crate::learning::study::{self, LearningSummary, Prepared};
use crate::report::{self, markdown, outdir};
use crate::results::Summary;
use crate::run::{NoCheckpoint, RunOptions};
use std::path::{Path, PathBuf};

/// What `verify` is asked to do.
pub struct VerifyRequest {
    /// Use each experiment's `[quick]` sizes.
    pub quick: bool,
    /// The output folder (`results`).
    pub out: PathBuf,
    /// The folder of experiment files.
    pub experiments: PathBuf,
    /// Override every experiment's seed.
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// No progress bars and no tables.
    pub quiet: bool,
}

/// The experiments of a folder, validated (data files included) before anything is written.
struct Loaded {
    convergence: Vec<Experiment>,
    learning: Vec<Prepared>,
    names: Vec<String>,
}

/// Runs every experiment of the folder and writes the report; [`Outcome::Mismatch`] names the
/// experiments whose verdicts differ from their `expect`.
pub fn verify(r: &VerifyRequest) -> Result<Outcome, Error> {
    let loaded = load(r)?;
    let (pool, threads) = pool(r.threads)?;
    let opts = RunOptions {
        threads,
        quick: r.quick,
    };
    let _lock = outdir::lock(&r.out)?;
    let _locks = loaded
        .names
        .iter()
        .map(|name| outdir::lock(&r.out.join(name)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut summaries: Vec<(Summary, Vec<String>)> = Vec::new();
    for e in &loaded.convergence {
        let s = simulate(e, &pool, &opts, r.quiet, None, &mut NoCheckpoint)?;
        let files = report::write_results(&s, &r.out.join(&e.name))?;
        summaries.push((s, figure_stems(&files)));
    }
    let mut learnt: Vec<(LearningSummary, Vec<String>)> = Vec::new();
    for p in &loaded.learning {
        let s = simulate_learning(p, &pool, threads, r.quick, r.quiet);
        let files = report::learning::write_results(&s, Some(&p.split), &r.out.join(&p.exp.name))?;
        learnt.push((s, figure_stems(&files)));
    }
    write_report(r, &summaries, &learnt)
}

/// Reads every `.toml` file of the folder; two experiments may not share a name.
fn load(r: &VerifyRequest) -> Result<Loaded, Error> {
    let dir = &r.experiments;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Results {
            path: dir.to_path_buf(),
            problem: format!("cannot read the experiments folder ({e})"),
            fix: "pass --experiments DIR naming a folder of .toml experiment files".into(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Results {
            path: dir.to_path_buf(),
            problem: "holds no .toml experiment files".into(),
            fix: "pass --experiments DIR naming a folder that holds .toml experiment files".into(),
        });
    }
    let overrides = Overrides {
        quick: r.quick,
        trajectories: None,
        seed: r.seed,
    };
    let mut loaded = Loaded {
        convergence: Vec::new(),
        learning: Vec::new(),
        names: Vec::new(),
    };
    let mut sources: Vec<PathBuf> = Vec::new();
    for f in &files {
        let spec = experiment::load_any(f)?;
        if let Some(i) = loaded.names.iter().position(|n| n == spec.name()) {
            return Err(duplicate_name(f, spec.name(), &sources[i]));
        }
        loaded.names.push(spec.name().to_string());
        sources.push(f.clone());
        match spec {
            Spec::Convergence(e) => {
                let mut e = *e;
                overrides.apply(&mut e)?;
                super::run::memory_guard(&e, &crate::plan::estimate(&e))?;
                loaded.convergence.push(e);
            }
            Spec::Learning(e) => {
                let mut e = *e;
                e.apply(&overrides)?;
                loaded.learning.push(study::prepare(&e)?);
            }
        }
    }
    Ok(loaded)
}

fn duplicate_name(file: &Path, name: &str, other: &Path) -> Error {
    Error::InvalidValue {
        at: Location {
            file: file.to_path_buf(),
            line_col: None,
        },
        key: "name".into(),
        problem: format!(
            "\"{name}\" is also the name of {}; both would write results/{name}",
            other.display(),
        ),
        expected: "a name used by no other experiment in the folder".into(),
    }
}

fn figure_stems(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "png"))
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect()
}

/// Writes `REPORT.md`, prints the verdict table and names the mismatches.
fn write_report(
    r: &VerifyRequest,
    summaries: &[(Summary, Vec<String>)],
    learnt: &[(LearningSummary, Vec<String>)],
) -> Result<Outcome, Error> {
    let entries: Vec<markdown::Entry> = summaries
        .iter()
        .map(|(summary, figures)| markdown::Entry {
            summary,
            figures: figures.clone(),
        })
        .collect();
    let learning_entries: Vec<markdown::LearningEntry> = learnt
        .iter()
        .map(|(summary, figures)| markdown::LearningEntry {
            summary,
            figures: figures.clone(),
        })
        .collect();
    let first = summaries
        .first()
        .map(|s| &s.0.provenance)
        .or(learnt.first().map(|l| &l.0.provenance))
        .expect("at least one experiment");
    let header = format!(
        "Generated by `stdp-flow verify{}` (version {}, commit {}). Each experiment's seed is in \
its section, its thread count and timings in its folder's `provenance.json`; every number below \
is recomputed from simulation.\n",
        if r.quick { " --quick" } else { "" },
        first.version,
        first.git_commit.as_deref().unwrap_or("unknown"),
    );
    let md = markdown::report(&entries, &learning_entries, r.quick, &header);
    report::write_atomic(&r.out.join("REPORT.md"), md.as_bytes())?;
    if !r.quiet {
        println!(
            "{}",
            markdown::console_table(&entries, &learning_entries, 160)
        );
    }
    println!("wrote {}", r.out.join("REPORT.md").display());
    let bad: Vec<String> = entries
        .iter()
        .filter(|e| e.mismatch())
        .map(|e| e.summary.name.clone())
        .chain(
            learning_entries
                .iter()
                .filter(|e| e.mismatch())
                .map(|e| e.summary.name.clone()),
        )
        .collect();
    Ok(if bad.is_empty() {
        Outcome::Success
    } else {
        Outcome::Mismatch(bad)
    })
}
