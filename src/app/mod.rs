//! The workflows behind the command line, as library calls that return their outcome (so they
//! are testable in-process): `run` one file, `merge` shards, `verify` a folder, `plot` a results
//! folder and `bench` the kernel. The binary only parses arguments, calls one of these and turns
//! the outcome into an exit code.

mod checkpoint;
pub mod console;
mod run;
mod verify;

pub use crate::shard::ShardFile;
pub use run::{RunRequest, run_file};
pub use verify::{VerifyRequest, verify};

use crate::error::{Error, Location};
use crate::report;
use crate::run::RunOptions;
use crate::shard;
use std::path::{Path, PathBuf};

/// How a workflow that did not fail ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done, and every verdict matches its `expect`.
    Success,
    /// Done, but the verdicts of these experiments differ from their `expect`.
    Mismatch(Vec<String>),
}

/// An invalid command-line value: the flag, what is wrong with it and what is expected.
pub fn flag_error(key: &str, problem: impl Into<String>, expected: impl Into<String>) -> Error {
    Error::InvalidValue {
        at: Location {
            file: PathBuf::from("(command line)"),
            line_col: None,
        },
        key: key.into(),
        problem: problem.into(),
        expected: expected.into(),
    }
}

/// More threads than this per core are capped: they only add scheduling overhead.
const MAX_THREADS_PER_CORE: usize = 4;

/// A worker pool of `threads` (default: one per core, at most four per core) and its size.
pub fn pool(threads: Option<usize>) -> Result<(rayon::ThreadPool, usize), Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = threads.unwrap_or(cores);
    if n == 0 {
        return Err(flag_error(
            "--threads",
            "is 0",
            "a positive number of threads",
        ));
    }
    let cap = MAX_THREADS_PER_CORE * cores;
    let n = if n > cap {
        eprintln!(
            "note: --threads {n} is more than {MAX_THREADS_PER_CORE} per core on this machine ({cores} cores); using {cap} (results do not depend on the thread count)"
        );
        cap
    } else {
        n
    };
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::Resource {
            what: format!("cannot start {n} worker threads ({e})"),
            fix: "pass a smaller --threads, or raise the process's thread or memory limits".into(),
        })?;
    Ok((p, n))
}

/// Merges the shard files of one sharded run into a results folder (default `results/<name>`).
pub fn merge(
    parts: &[PathBuf],
    out: Option<PathBuf>,
    threads: Option<usize>,
) -> Result<Outcome, Error> {
    let files = parts
        .iter()
        .map(|p| shard::read_shard(p).map(|f| (p.clone(), f)))
        .collect::<Result<Vec<_>, _>>()?;
    let (pool, threads) = pool(threads)?;
    let quick = files.first().is_some_and(|f| f.1.overrides.quick);
    let (exp, s) = pool.install(|| shard::merge(&files, &RunOptions { threads, quick }))?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(&exp.name));
    let _lock = report::outdir::lock(&dir)?;
    report::write_results(&s, &dir)?;
    console::print_fit(&s);
    println!("merged {} shards into {}", files.len(), dir.display());
    Ok(Outcome::Success)
}

/// Redraws the figures of a results folder (convergence or learning) from its summary.json.
pub fn plot(dir: &Path) -> Result<Outcome, Error> {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
    let stems = if serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("learning"))
    {
        let s = report::learning::read(dir)?;
        report::learning::write_figures(&s, dir)?
    } else {
        let s = report::read_summary(dir)?;
        report::write_figures(&s, dir)?
    };
    println!("redrew {} figures in {}", stems.len(), dir.display());
    Ok(Outcome::Success)
}

/// Measures the kernel on the fixed workloads (those whose name contains `only`), `repeat`
/// times each, with every n multiplied by `scale`; prints a table or JSON.
pub fn bench(
    threads: Option<usize>,
    json: bool,
    scale: f64,
    only: Option<&str>,
    repeat: usize,
) -> Result<Outcome, Error> {
    let (_, k) = pool(threads)?;
    if !(scale > 0.0 && scale <= 100.0) {
        return Err(flag_error(
            "--scale",
            format!("is {scale}"),
            "a number in (0, 100]",
        ));
    }
    if !(1..=100).contains(&repeat) {
        return Err(flag_error(
            "--repeat",
            format!("is {repeat}"),
            "a whole number from 1 to 100",
        ));
    }
    let workloads: Vec<_> = crate::bench::workloads(scale)
        .into_iter()
        .filter(|w| only.is_none_or(|o| w.name.contains(o)))
        .collect();
    if workloads.is_empty() {
        let names: Vec<_> = crate::bench::workloads(1.0)
            .iter()
            .map(|w| w.name)
            .collect();
        return Err(flag_error(
            "--only",
            format!("matches no workload ({:?})", only.unwrap_or_default()),
            format!("part of one of the names {}", names.join(", ")),
        ));
    }
    let results: Vec<_> = workloads
        .iter()
        .map(|w| {
            if !json {
                eprintln!("measuring {} ...", w.name);
            }
            crate::bench::measure(w, k, repeat)
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).expect("serialisable")
        );
    } else {
        console::print_bench(&results);
    }
    Ok(Outcome::Success)
}
