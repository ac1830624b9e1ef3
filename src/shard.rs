//! Sharded runs for clusters: `run --shard i/N` simulates only groups [i G / N, (i+1) G / N) of
//! the G trajectory groups of every point, with the same per-trajectory streams as a whole run,
//! and writes everything an exact merge needs. `merge` checks that the parts belong to one
//! experiment and code version and cover every group exactly once, then assembles results
//! identical to a single-machine run.

use crate::analysis::{
    Observer, RunOptions, Summary, complete_point, resume_key, row_is, simulate_point, summarize,
};
use crate::engine::{PointOutput, group_count};
use crate::error::{Error, Location};
use crate::experiment::{Experiment, Overrides, parse};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The `kind` field of a shard file.
pub const SHARD_KIND: &str = "stdp-flow shard";

/// One point's share in a shard.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardPoint {
    /// n.
    pub n: u64,
    /// Dimension.
    pub dim: usize,
    /// beta of the cell.
    pub beta: f64,
    /// gamma of the cell.
    pub gamma: f64,
    /// Wall seconds spent on this share.
    pub seconds: f64,
    /// The raw results of the share's groups.
    pub output: PointOutput,
}

/// A shard file (`shard-i-of-N.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardFile {
    /// Always [`SHARD_KIND`].
    pub kind: String,
    /// Crate version that wrote it.
    pub version: String,
    /// Git commit of that build.
    pub git_commit: Option<String>,
    /// Fingerprint of the experiment and code.
    pub resume_key: String,
    /// Where the experiment file was.
    pub experiment_path: PathBuf,
    /// The experiment file's text.
    pub experiment_toml: String,
    /// Command-line overrides applied to it.
    pub overrides: Overrides,
    /// (i, N).
    pub shard: (u64, u64),
    /// The points, in the experiment's order.
    pub points: Vec<ShardPoint>,
}

/// Parses `i/N` with 0 <= i < N.
pub fn parse_shard(text: &str) -> Result<(u64, u64), Error> {
    let bad = |problem: String| Error::InvalidValue {
        at: Location {
            file: PathBuf::from("(command line)"),
            line_col: None,
        },
        key: "--shard".into(),
        problem,
        expected: "i/N with 0 <= i < N, e.g. --shard 0/4 (shards are numbered from 0)".into(),
    };
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| bad(format!("\"{text}\" has no '/'")))?;
    let i: u64 = i
        .trim()
        .parse()
        .map_err(|_| bad(format!("\"{i}\" is not a number")))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| bad(format!("\"{n}\" is not a number")))?;
    if n == 0 || i >= n {
        return Err(bad(format!("{i}/{n} is out of range")));
    }
    Ok((i, n))
}

/// The groups of shard i of N when there are G groups.
pub fn shard_groups(i: u64, n: u64, groups: u64) -> (u64, u64) {
    (i * groups / n, (i + 1) * groups / n)
}

/// Checks that every shard gets at least one group of trajectories.
pub fn check_shard_count(exp: &Experiment, n: u64) -> Result<(), Error> {
    let g = group_count(exp.sweep.trajectories);
    if n > g {
        return Err(Error::InvalidValue {
            at: Location {
                file: exp.source.clone(),
                line_col: None,
            },
            key: "--shard".into(),
            problem: format!("asks for {n} shards but the trajectories form only {g} groups"),
            expected: format!(
                "at most {g} shards (groups of trajectories are the unit of sharding)"
            ),
        });
    }
    Ok(())
}

/// Simulates shard i of N of every point.
pub fn run_shard(
    exp: &Experiment,
    overrides: &Overrides,
    (i, n): (u64, u64),
    observer: &dyn Observer,
) -> ShardFile {
    let groups = shard_groups(i, n, group_count(exp.sweep.trajectories));
    let points = exp
        .points()
        .iter()
        .map(|p| {
            let t0 = Instant::now();
            let output = simulate_point(exp, p, Some(groups), observer);
            let (beta, gamma) = p.scaling.exponents();
            ShardPoint {
                n: p.n,
                dim: p.dim,
                beta,
                gamma,
                seconds: t0.elapsed().as_secs_f64(),
                output,
            }
        })
        .collect();
    ShardFile {
        kind: SHARD_KIND.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit: option_env!("STDP_FLOW_GIT_COMMIT").map(str::to_string),
        resume_key: resume_key(exp),
        experiment_path: exp.source.clone(),
        experiment_toml: exp.source_text.clone(),
        overrides: overrides.clone(),
        shard: (i, n),
        points,
    }
}

fn refuse(path: &Path, message: String) -> Error {
    Error::Results {
        path: path.to_path_buf(),
        message,
    }
}

/// Reads a shard file.
pub fn read_shard(path: &Path) -> Result<ShardFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        refuse(
            path,
            format!("cannot read it ({e}); give the shard files written by `run --shard`"),
        )
    })?;
    let f: ShardFile = serde_json::from_str(&text).map_err(|e| {
        refuse(
            path,
            format!("not a stdp-flow shard file ({e}); give files written by `run --shard`"),
        )
    })?;
    if f.kind != SHARD_KIND {
        return Err(refuse(
            path,
            format!("kind is \"{}\", not \"{SHARD_KIND}\"", f.kind),
        ));
    }
    Ok(f)
}

/// Checks the parts and assembles the merged experiment and summary.
pub fn merge(
    parts: &[(PathBuf, ShardFile)],
    opts: &RunOptions,
) -> Result<(Experiment, Summary), Error> {
    let (first_path, first) = parts
        .first()
        .ok_or_else(|| refuse(Path::new("merge"), "no shard files given".into()))?;
    for (path, f) in parts {
        if f.resume_key != first.resume_key {
            return Err(refuse(
                path,
                format!(
                    "belongs to another experiment or code version than {} (key {} vs {}); merge only shards of one run",
                    first_path.display(),
                    f.resume_key,
                    first.resume_key
                ),
            ));
        }
    }
    let mut exp = parse(&first.experiment_toml, &first.experiment_path)?;
    first.overrides.apply(&mut exp)?;
    if resume_key(&exp) != first.resume_key {
        return Err(refuse(
            first_path,
            format!(
                "was written by stdp-flow {} (commit {}); this is {} (commit {}): merge with the build that ran the shards",
                first.version,
                first.git_commit.as_deref().unwrap_or("unknown"),
                env!("CARGO_PKG_VERSION"),
                option_env!("STDP_FLOW_GIT_COMMIT").unwrap_or("unknown")
            ),
        ));
    }
    let total = first.shard.1;
    let mut seen: Vec<Option<&PathBuf>> = vec![None; total as usize];
    for (path, f) in parts {
        if f.shard.1 != total {
            return Err(refuse(
                path,
                format!(
                    "is shard {}/{} but {} is one of {total}",
                    f.shard.0,
                    f.shard.1,
                    first_path.display()
                ),
            ));
        }
        if let Some(other) = seen[f.shard.0 as usize] {
            return Err(refuse(
                path,
                format!(
                    "shard {}/{total} is given twice (also {})",
                    f.shard.0,
                    other.display()
                ),
            ));
        }
        seen[f.shard.0 as usize] = Some(path);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{i}/{total}"))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(
            first_path,
            format!(
                "shard(s) {} are missing; every shard 0..{total} is needed",
                missing.join(", ")
            ),
        ));
    }
    let g = group_count(exp.sweep.trajectories);
    let mut rows = Vec::new();
    let mut paths = Vec::new();
    let mut seconds = 0.0;
    for p in exp.points() {
        let mut shares: Vec<(&PathBuf, &ShardPoint)> = Vec::new();
        for (path, f) in parts {
            let (beta, gamma) = p.scaling.exponents();
            let sp = f
                .points
                .iter()
                .find(|q| q.n == p.n && q.dim == p.dim && q.beta == beta && q.gamma == gamma)
                .ok_or_else(|| {
                    refuse(
                        path,
                        format!(
                            "lacks the point d = {}, n = {} (an incomplete shard?)",
                            p.dim, p.n
                        ),
                    )
                })?;
            shares.push((path, sp));
        }
        shares.sort_by_key(|(_, s)| s.output.groups.0);
        let mut next = 0;
        for (path, s) in &shares {
            if s.output.groups.0 != next {
                return Err(refuse(
                    path,
                    format!(
                        "covers groups {:?} of point n = {}, expected to start at {next}",
                        s.output.groups, p.n
                    ),
                ));
            }
            next = s.output.groups.1;
        }
        if next != g {
            return Err(refuse(
                first_path,
                format!("the shards cover {next} of {g} groups at n = {}", p.n),
            ));
        }
        let secs: f64 = shares.iter().map(|(_, s)| s.seconds).sum();
        seconds += secs;
        let out = PointOutput::concat(shares.into_iter().map(|(_, s)| s.output.clone()).collect());
        let (row, path) = complete_point(&exp, &p, &out, secs);
        debug_assert!(row_is(&row, &p));
        rows.push(row);
        paths.extend(path);
    }
    let s = summarize(&exp, opts, rows, paths, seconds, true);
    Ok((exp, s))
}
