//! Sharded runs for clusters: `run --shard i/N` simulates only groups [i G / N, (i+1) G / N) of
//! the G trajectory groups of every point, with the same per-trajectory streams as a whole run,
//! and writes everything an exact merge needs. `merge` checks that the parts belong to one
//! experiment and code version and cover every group exactly once, then assembles results
//! identical to a single-machine run.

use crate::engine::{PointOutput, SAMPLE_PATHS, group_bounds, group_count, steps_for};
use crate::error::{Error, Location};
use crate::experiment::{Experiment, Overrides, Point, parse};
use crate::provenance::{Fnv1aWriter, VERSION, commit, commit_text};
use crate::results::Summary;
use crate::run::{
    NoCheckpoint, Observer, RunOptions, Silent, resume_key, run_points, simulate_point,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Shard files above this size (8 GiB) are refused before they are read.
pub const MAX_SHARD_BYTES: u64 = 8 << 30;

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
    /// Always `"stdp-flow shard"`.
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
    /// FNV-1a of every other field as JSON ([`ShardFile::content_hash`]): an edited or damaged
    /// file is refused instead of merged.
    #[serde(default)]
    pub checksum: String,
}

impl ShardFile {
    /// The FNV-1a hash of every field but `checksum`, as compact JSON.
    pub fn content_hash(&self) -> String {
        let mut h = Fnv1aWriter::default();
        let fields = (
            &self.kind,
            &self.version,
            &self.git_commit,
            &self.resume_key,
            &self.experiment_path,
            &self.experiment_toml,
            &self.overrides,
            self.shard,
            &self.points,
        );
        serde_json::to_writer(&mut h, &fields).expect("serialisable");
        h.hex()
    }
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

/// The fewest groups of trajectories at any point (the most shards a run can have).
fn fewest_groups(exp: &Experiment) -> u64 {
    exp.points()
        .iter()
        .map(|p| group_count(exp.trajectories(p)))
        .min()
        .unwrap_or(1)
}

/// Checks that every shard gets at least one group of trajectories at every point.
pub fn check_shard_count(exp: &Experiment, n: u64) -> Result<(), Error> {
    let g = fewest_groups(exp);
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
    let points = exp
        .points()
        .iter()
        .map(|p| {
            let t0 = Instant::now();
            let groups = shard_groups(i, n, group_count(exp.trajectories(p)));
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
    let mut file = ShardFile {
        kind: SHARD_KIND.into(),
        version: VERSION.into(),
        git_commit: commit().map(str::to_string),
        resume_key: resume_key(exp),
        experiment_path: exp.source.clone(),
        experiment_toml: exp.source_text.clone(),
        overrides: overrides.clone(),
        shard: (i, n),
        points,
        checksum: String::new(),
    };
    file.checksum = file.content_hash();
    file
}

fn refuse(path: &Path, problem: String, fix: String) -> Error {
    Error::Results {
        path: path.to_path_buf(),
        problem,
        fix,
    }
}

/// What to give `merge`.
const GIVE_SHARDS: &str = "give the files shard-I-of-N.json written by `stdp-flow run EXPERIMENT --shard I/N`, one for each I = 0..N-1";

/// The command that writes shard `shard` ("i/N") of the run `f` belongs to again.
fn rerun(f: &ShardFile, shard: &str) -> String {
    let o = &f.overrides;
    let mut cmd = format!("stdp-flow run {}", f.experiment_path.display());
    if o.quick {
        cmd.push_str(" --quick");
    }
    if let Some(m) = o.trajectories {
        cmd.push_str(&format!(" --trajectories {m}"));
    }
    if let Some(s) = o.seed {
        cmd.push_str(&format!(" --seed {s}"));
    }
    format!("`{cmd} --shard {shard}`")
}

/// The fix for a shard file that is damaged or edited: write it again and merge again.
fn rewrite(f: &ShardFile) -> String {
    let (i, n) = f.shard;
    format!(
        "write that shard again with {} and merge again",
        rerun(f, &format!("{i}/{n}"))
    )
}

/// Reads a shard file.
pub fn read_shard(path: &Path) -> Result<ShardFile, Error> {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > MAX_SHARD_BYTES
    {
        return Err(refuse(
            path,
            format!(
                "is {} bytes, above the limit of {MAX_SHARD_BYTES} for a shard file",
                meta.len()
            ),
            GIVE_SHARDS.into(),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        refuse(
            path,
            format!("cannot read it ({e})"),
            format!("check the path; {GIVE_SHARDS}"),
        )
    })?;
    let f: ShardFile = serde_json::from_str(&text).map_err(|e| {
        refuse(
            path,
            format!("not a stdp-flow shard file ({e})"),
            GIVE_SHARDS.into(),
        )
    })?;
    if f.kind != SHARD_KIND {
        return Err(refuse(
            path,
            format!(
                "kind is \"{}\", not \"{SHARD_KIND}\": it is not a shard file",
                f.kind
            ),
            format!("leave it out; {GIVE_SHARDS}"),
        ));
    }
    if f.checksum != f.content_hash() {
        return Err(refuse(
            path,
            "its content does not match its checksum: the file is damaged or edited".into(),
            rewrite(&f),
        ));
    }
    Ok(f)
}

/// The part whose run most parts belong to (by `resume_key`); a part of another run is refused
/// by name, so that a foreign shard given first does not make the others look foreign.
fn majority(parts: &[(PathBuf, ShardFile)]) -> Result<(&PathBuf, &ShardFile), Error> {
    if parts.is_empty() {
        return Err(refuse(
            Path::new("merge"),
            "no shard files given".into(),
            GIVE_SHARDS.into(),
        ));
    }
    let count = |key: &str| parts.iter().filter(|(_, f)| f.resume_key == key).count();
    let (best_path, best) = parts
        .iter()
        .max_by_key(|(_, f)| count(&f.resume_key))
        .map(|(p, f)| (p, f))
        .expect("non-empty");
    let foreign: Vec<&(PathBuf, ShardFile)> = parts
        .iter()
        .filter(|(_, f)| f.resume_key != best.resume_key)
        .collect();
    let Some((path, f)) = foreign.first() else {
        return Ok((best_path, best));
    };
    let tie = count(&f.resume_key) == count(&best.resume_key);
    if tie {
        return Err(refuse(
            path,
            format!(
                "belongs to another run than {} (key {} vs {}), and neither run has more shards here",
                best_path.display(),
                f.resume_key,
                best.resume_key
            ),
            format!(
                "merge the shards of one run only: leave out {} or {}, and the other files of its run",
                path.display(),
                best_path.display()
            ),
        ));
    }
    let names: Vec<String> = foreign
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    Err(refuse(
        path,
        format!(
            "belongs to another experiment or code version (key {}) than the other {} shard(s) (key {})",
            f.resume_key,
            count(&best.resume_key),
            best.resume_key
        ),
        format!("leave out {}", names.join(", ")),
    ))
}

/// Checks that a shard's raw results have the shape the experiment implies at point `p`.
fn check_output(exp: &Experiment, p: &Point, o: &PointOutput, groups: u64) -> Result<(), String> {
    let (a, b) = o.groups;
    if !(a < b && b <= groups) {
        return Err(format!("its groups {a}..{b} are not within 0..{groups}"));
    }
    let m = exp.trajectories(p);
    let count = (group_bounds(b - 1, m).1 - group_bounds(a, m).0) as usize;
    let d = p.dim;
    let k = o.checkpoint_steps.len();
    let sizes: Vec<u64> = (a..b)
        .map(|g| {
            let (x, y) = group_bounds(g, m);
            y - x
        })
        .collect();
    let checks = [
        (o.dim == d, "dimension"),
        (
            o.steps == steps_for(p.n, exp.reference.horizon),
            "number of steps",
        ),
        (o.sup_sq.len() == count, "sup_sq length"),
        (o.terminal_sq.len() == count, "terminal_sq length"),
        (o.terminal_theta.len() == count * d, "terminal_theta length"),
        (o.diverged_at.len() == count, "diverged_at length"),
        (o.flow_terminal.len() == d, "flow_terminal length"),
        (
            k >= 1 && o.checkpoint_times.len() == k,
            "checkpoint_times length",
        ),
        (o.flow_path.len() == k * d, "flow_path length"),
        (o.group_sizes == sizes, "group sizes"),
        (
            o.group_path_sums.len() == sizes.len(),
            "group_path_sums count",
        ),
        (
            o.group_path_sums.iter().all(|v| v.len() == k * d),
            "group_path_sums length",
        ),
        (
            o.group_path_counts.len() == sizes.len(),
            "group_path_counts count",
        ),
        (
            o.group_path_counts.iter().all(|v| v.len() == k),
            "group_path_counts length",
        ),
        (
            o.sample_paths.iter().all(|v| v.len() == k * d),
            "sample_paths length",
        ),
        (
            o.sample_paths.len() as u64 <= SAMPLE_PATHS,
            "sample_paths count",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(format!("its {what} does not match the experiment")),
        None => Ok(()),
    }
}

/// Checks the parts and assembles the merged experiment and summary, through the same run loop
/// as an unsharded run (each point's output is its shares, concatenated in group order).
pub fn merge(
    parts: &[(PathBuf, ShardFile)],
    opts: &RunOptions,
) -> Result<(Experiment, Summary), Error> {
    let (first_path, first) = majority(parts)?;
    // The experiment is the copy inside the shard: an error in it is the shard file's.
    let damaged = |e: Error| {
        refuse(
            first_path,
            format!(
                "holds an experiment that does not read back ({}): the file is damaged or edited",
                e.to_string().replace("\n  fix: ", "; ")
            ),
            rewrite(first),
        )
    };
    let mut exp = parse(&first.experiment_toml, &first.experiment_path).map_err(damaged)?;
    first.overrides.apply(&mut exp).map_err(damaged)?;
    if resume_key(&exp) != first.resume_key {
        return Err(refuse(
            first_path,
            format!(
                "was written by stdp-flow {} (commit {}); this is {} (commit {})",
                first.version,
                first.git_commit.as_deref().unwrap_or("unknown"),
                VERSION,
                commit_text()
            ),
            "merge with the build that ran the shards, or run every shard again with this build"
                .into(),
        ));
    }
    check_indices(parts, (first_path, first), fewest_groups(&exp))?;
    let s = run_points(&exp, opts, &Silent, None, &mut NoCheckpoint, &mut |p| {
        let g = group_count(exp.trajectories(p));
        point_output(&exp, p, parts, g, (first_path, first))
    })?;
    Ok((exp, s))
}

/// Every shard index is valid, of the same count, given once, and none is missing.
fn check_indices(
    parts: &[(PathBuf, ShardFile)],
    (first_path, first): (&Path, &ShardFile),
    g: u64,
) -> Result<(), Error> {
    for (path, f) in parts {
        let (i, n) = f.shard;
        if !(1..=g).contains(&n) || i >= n {
            return Err(refuse(
                path,
                format!(
                    "claims to be shard {i}/{n}, but the experiment's trajectories form {g} groups (valid: i < N <= {g}): the file is damaged or edited"
                ),
                format!(
                    "write the shard it should be again with {} (I < N <= {g}) and merge again",
                    rerun(f, "I/N")
                ),
            ));
        }
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
                format!(
                    "merge the shards of one split only: every shard-I-of-{total}.json, or every shard-I-of-{}.json",
                    f.shard.1
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
                give_once(path, other),
            ));
        }
        seen[f.shard.0 as usize] = Some(path);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(refuse(
        first_path,
        format!(
            "shard(s) I = {} of {total} are missing; every shard 0..{total} is needed",
            missing.join(", ")
        ),
        format!(
            "add their files to the merge, or write them with {} for I = {}",
            rerun(first, &format!("I/{total}")),
            missing.join(", ")
        ),
    ))
}

/// The fix for a shard given twice, as `path` and as `other`.
fn give_once(path: &Path, other: &Path) -> String {
    if path == other {
        format!("give {} once", path.display())
    } else {
        format!(
            "leave out {} or {} (they are the same shard)",
            path.display(),
            other.display()
        )
    }
}

/// The output of point `p` from the shares of every part, checked and concatenated in group
/// order, with the shards' summed seconds.
fn point_output(
    exp: &Experiment,
    p: &Point,
    parts: &[(PathBuf, ShardFile)],
    g: u64,
    first: (&Path, &ShardFile),
) -> Result<(PointOutput, f64), Error> {
    let mut shares = parts
        .iter()
        .map(|part| share(exp, p, part, g))
        .collect::<Result<Vec<_>, Error>>()?;
    shares.sort_by_key(|(_, _, s)| s.output.groups.0);
    check_coverage(&shares, p, g, first)?;
    let seconds: f64 = shares.iter().map(|(_, _, s)| s.seconds).sum();
    let out = PointOutput::concat(
        shares
            .into_iter()
            .map(|(_, _, s)| s.output.clone())
            .collect(),
    );
    Ok((out, seconds))
}

/// A part's path and file, with its share of one point.
type Share<'a> = (&'a PathBuf, &'a ShardFile, &'a ShardPoint);

/// The share of point `p` in one part, checked against the shape the experiment implies.
fn share<'a>(
    exp: &Experiment,
    p: &Point,
    (path, f): &'a (PathBuf, ShardFile),
    g: u64,
) -> Result<Share<'a>, Error> {
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
                rewrite(f),
            )
        })?;
    check_output(exp, p, &sp.output, g).map_err(|why| {
        refuse(
            path,
            format!(
                "point d = {}, n = {}: {why}: the file is truncated or edited",
                p.dim, p.n
            ),
            rewrite(f),
        )
    })?;
    Ok((path, f, sp))
}

/// The shares, in group order, cover groups 0..g of point `p` once each.
fn check_coverage(
    shares: &[Share<'_>],
    p: &Point,
    g: u64,
    (first_path, first): (&Path, &ShardFile),
) -> Result<(), Error> {
    let mut next = 0;
    for (path, f, s) in shares {
        let (a, b) = s.output.groups;
        if a != next {
            return Err(refuse(
                path,
                format!(
                    "covers groups {a}..{b} of point n = {}, but the shards before it end at group {next}: the file is damaged or edited",
                    p.n
                ),
                rewrite(f),
            ));
        }
        next = b;
    }
    if next != g {
        return Err(refuse(
            first_path,
            format!(
                "the shards cover groups 0..{next} of the {g} at n = {}: a shard is damaged or edited",
                p.n
            ),
            format!(
                "write the shards again with {} for each I, and merge again",
                rerun(first, &format!("I/{}", first.shard.1))
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid experiment with enough trajectories (8 groups) for three shards.
    fn exp() -> Experiment {
        let text = crate::experiment::tests::GOOD.replace("trajectories = 10", "trajectories = 64");
        parse(&text, Path::new("shard-unit.toml")).unwrap()
    }

    /// The three shards of `exp()`, as `merge` receives them.
    fn parts() -> Vec<(PathBuf, ShardFile)> {
        let exp = exp();
        (0..3)
            .map(|i| {
                let f = run_shard(&exp, &Overrides::default(), (i, 3), &Silent);
                (PathBuf::from(format!("shard-{i}-of-3.json")), f)
            })
            .collect()
    }

    /// A results error whose text names the file, holds `needle` and ends with a fix line.
    fn assert_refused(e: Error, file: &str, needle: &str) {
        let text = e.to_string();
        let Error::Results { path, fix, .. } = e else {
            panic!("not a results error: {text}");
        };
        assert!(path.ends_with(file), "{text}");
        assert!(text.contains(needle), "`{needle}` not in: {text}");
        assert!(
            fix.len() > 10 && text.ends_with(&format!("\n  fix: {fix}")),
            "{text}"
        );
    }

    fn merged(parts: &[(PathBuf, ShardFile)]) -> Error {
        let opts = RunOptions {
            threads: 1,
            quick: false,
        };
        merge(parts, &opts).expect_err("refused")
    }

    /// Every refusal of the parts' set (missing, repeated, foreign, mixed splits) has a fix.
    #[test]
    fn refusals_of_the_set_of_parts_name_a_fix() {
        let p = parts();
        assert_refused(merged(&[]), "merge", "no shard files");
        assert_refused(merged(&p[..2]), "shard-1-of-3.json", "are missing");
        let twice = [p[0].clone(), p[1].clone(), p[1].clone()];
        assert_refused(merged(&twice), "shard-1-of-3.json", "given twice");
        let mut other = p.clone();
        other[0].1.shard = (1, 2);
        assert_refused(merged(&other), "shard-0-of-3.json", "is shard 1/2");
        other[0].1.shard = (7, 4);
        assert_refused(
            merged(&other),
            "shard-0-of-3.json",
            "claims to be shard 7/4",
        );
        let mut foreign = p.clone();
        foreign[0].1.resume_key = "elsewhere".into();
        assert_refused(merged(&foreign), "shard-0-of-3.json", "leave out");
        assert_refused(merged(&foreign[..2]), "shard-0-of-3.json", "neither run");
        for (_, f) in &mut foreign {
            f.resume_key = "elsewhere".into();
        }
        // Of equally many parts per run, the last one given stands for the run.
        assert_refused(merged(&foreign), "shard-2-of-3.json", "was written by");
        foreign[2].1.experiment_toml = "garbage".into();
        assert_refused(merged(&foreign), "shard-2-of-3.json", "does not read back");
    }

    /// Every refusal of a part's content (missing point, wrong shape, groups) has a fix.
    #[test]
    fn refusals_of_a_parts_content_name_a_fix() {
        let p = parts();
        let mut cut = p.clone();
        cut[1].1.points.pop();
        assert_refused(merged(&cut), "shard-1-of-3.json", "lacks the point");
        let mut cut = p.clone();
        cut[1].1.points[0].output.sup_sq.pop();
        assert_refused(merged(&cut), "shard-1-of-3.json", "sup_sq length");
        let mut moved = p.clone();
        moved[2].1.points[0].output = p[1].1.points[0].output.clone();
        assert_refused(merged(&moved), "shard-2-of-3.json", "covers groups");
        let exp = exp();
        let point = &exp.points()[0];
        let g = group_count(exp.trajectories(point));
        let shares: Vec<Share<'_>> = p.iter().map(|(path, f)| (path, f, &f.points[0])).collect();
        assert!(check_coverage(&shares, point, g, (&p[0].0, &p[0].1)).is_ok());
        let e = check_coverage(&shares, point, g + 1, (&p[0].0, &p[0].1)).unwrap_err();
        assert_refused(e, "shard-0-of-3.json", "a shard is damaged");
    }

    /// Every refusal of a file as read (unreadable, not JSON, another kind, edited) has a fix.
    #[test]
    fn refusals_of_a_file_name_a_fix() {
        let dir = std::env::temp_dir().join(format!("stdp-flow-shard-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let absent = dir.join("absent.json");
        assert_refused(
            read_shard(&absent).unwrap_err(),
            "absent.json",
            "cannot read",
        );
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            read_shard(&path).unwrap_err()
        };
        assert_refused(
            write("text.json", "x = 1"),
            "text.json",
            "not a stdp-flow shard",
        );
        let mut f = parts().swap_remove(0).1;
        f.kind = "stdp-flow summary".into();
        let kind = serde_json::to_string(&f).unwrap();
        assert_refused(write("kind.json", &kind), "kind.json", "not a shard file");
        f.kind = SHARD_KIND.into();
        f.points[0].seconds += 1.0;
        let edited = serde_json::to_string(&f).unwrap();
        let e = write("edited.json", &edited);
        assert_refused(e, "edited.json", "checksum");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
