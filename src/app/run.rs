//! `run`: one experiment file into its results folder, whole, resumed or as one shard.

use super::checkpoint::{FolderCheckpoint, Prior, read_prior};
use super::console::{self, Progress, header_line, human_seconds};
use super::{Outcome, pool};
use crate::error::{Error, Location};
use crate::experiment::learning::LearningExperiment;
use crate::experiment::{self, Experiment, Overrides, Spec};
use crate::learning::study::{self, LearningSummary, Prepared};
use crate::report::{self, outdir};
use crate::results::Summary;
use crate::run::{Checkpoint, RunOptions, run_resumable};
use crate::{plan, shard};
use std::path::{Path, PathBuf};

/// What `run` is asked to do.
pub struct RunRequest {
    /// The experiment file.
    pub path: PathBuf,
    /// The results folder (default `results/<name>`).
    pub out: Option<PathBuf>,
    /// Overrides of the file's seed, trajectories and sizes.
    pub overrides: Overrides,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Print nothing but errors.
    pub quiet: bool,
    /// Continue an interrupted run in the folder.
    pub resume: bool,
    /// `i/N`: simulate only shard i of N.
    pub shard: Option<String>,
    /// Run even if the memory estimate exceeds the available memory.
    pub force: bool,
    /// Stop after this many newly completed points (to test interruption).
    pub stop_after: Option<usize>,
}

impl RunRequest {
    fn dir(&self, name: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("results").join(name))
    }
}

/// Runs one experiment file (convergence or learning) into its results folder.
pub fn run_file(r: &RunRequest) -> Result<Outcome, Error> {
    let mut exp = match experiment::load_any(&r.path)? {
        Spec::Convergence(e) => *e,
        Spec::Learning(e) => return run_learning_file(*e, r),
    };
    r.overrides.apply(&mut exp)?;
    let shard = r.shard.as_deref().map(shard::parse_shard).transpose()?;
    if let Some((_, n)) = shard {
        shard::check_shard_count(&exp, n)?;
    }
    let dir = r.dir(&exp.name);
    if let Some(shard) = shard {
        // Shards of one run write distinct files into one folder at the same time: only whole
        // runs take the folder's lock.
        return run_shard(&exp, r, shard, &dir);
    }
    let _lock = outdir::lock(&dir)?;
    let prior = if r.resume {
        match read_prior(&exp, &dir)? {
            Prior::Complete => {
                if !r.quiet {
                    println!("{} is already complete; nothing to resume", dir.display());
                }
                return Ok(Outcome::Success);
            }
            Prior::Partial(s) => Some(*s),
            Prior::None => None,
        }
    } else {
        None
    };
    let (pool, threads) = pool(r.threads)?;
    pool.install(|| check_plan(&exp, r.quiet, r.force))?;
    let opts = RunOptions {
        threads,
        quick: r.overrides.quick,
    };
    outdir::clean_stale(&dir);
    let mut checkpoint = FolderCheckpoint::new(&dir, r.stop_after);
    let s = simulate(&exp, &pool, &opts, r.quiet, prior.as_ref(), &mut checkpoint)?;
    report::write_results(&s, &dir)?;
    if !r.quiet {
        console::print_fit(&s);
        println!("wrote {}", dir.display());
    }
    Ok(Outcome::Success)
}

fn run_shard(
    exp: &Experiment,
    r: &RunRequest,
    (i, n): (u64, u64),
    dir: &Path,
) -> Result<Outcome, Error> {
    let (pool, _) = pool(r.threads)?;
    pool.install(|| check_plan(exp, r.quiet, r.force))?;
    probe_writable(dir)?;
    let progress = Progress::new(total_work(exp) / n, r.quiet);
    let file = pool.install(|| shard::run_shard(exp, &r.overrides, (i, n), &progress));
    progress.finish();
    let path = dir.join(format!("shard-{i}-of-{n}.json"));
    report::write_atomic(
        &path,
        serde_json::to_string(&file)
            .expect("serialisable")
            .as_bytes(),
    )?;
    if !r.quiet {
        println!("wrote {}", path.display());
    }
    Ok(Outcome::Success)
}

fn run_learning_file(mut exp: LearningExperiment, r: &RunRequest) -> Result<Outcome, Error> {
    if r.resume || r.shard.is_some() {
        return Err(Error::InvalidValue {
            at: Location {
                file: exp.source.clone(),
                line_col: None,
            },
            key: if r.resume { "--resume" } else { "--shard" }.into(),
            problem: "is not available for learning experiments".into(),
            expected: "a plain `stdp-flow run` (learning runs take minutes, not hours)".into(),
        });
    }
    exp.apply(&r.overrides)?;
    let prepared = study::prepare(&exp)?;
    let dir = r.dir(&exp.name);
    let (pool, threads) = pool(r.threads)?;
    let _lock = outdir::lock(&dir)?;
    let s = simulate_learning(&prepared, &pool, threads, r.overrides.quick, r.quiet);
    report::learning::write_results(&s, Some(&prepared.split), &dir)?;
    if !r.quiet {
        println!("wrote {}", dir.display());
    }
    Ok(Outcome::Success)
}

/// The trajectory-updates of a whole run, the unit of its progress bar.
fn total_work(exp: &Experiment) -> u64 {
    exp.points()
        .iter()
        .map(|p| (crate::engine::steps_for(p.n, exp.reference.horizon) + 1) * exp.trajectories(p))
        .sum()
}

/// Fails now, not after the simulation, if `dir` cannot be written: creates it if needed (and
/// removes it again), then writes and removes a probe file.
fn probe_writable(dir: &Path) -> Result<(), Error> {
    let created = !dir.exists();
    let probe = dir.join(format!(".stdp-flow-probe.{}", std::process::id()));
    let result = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        });
    if created {
        let _ = std::fs::remove_dir(dir);
    }
    result
}

/// Prints the estimated work and refuses runs that would not fit in memory (unless `force`).
fn check_plan(exp: &Experiment, quiet: bool, force: bool) -> Result<(), Error> {
    let p = plan::estimate(exp);
    if !force {
        memory_guard(exp, &p)?;
    }
    if !quiet {
        let p = plan::calibrate(p, exp);
        eprintln!(
            "plan: {:.3e} coordinate-updates, peak memory about {:.0} MiB, expected {} ({:.2} ns per coordinate-update on this pool)",
            p.coordinate_steps,
            p.peak_bytes / 1048576.0,
            human_seconds(p.seconds()),
            p.seconds_per_coordinate_step * 1e9
        );
    }
    Ok(())
}

/// Refuses an experiment whose estimated peak memory (`p`, from `plan::estimate`) exceeds the
/// memory this process can use (`plan::available_memory`), naming the key to change.
pub(super) fn memory_guard(exp: &Experiment, p: &plan::Plan) -> Result<(), Error> {
    match plan::available_memory().and_then(|avail| plan::memory_refusal(exp, p, avail)) {
        Some((key, problem, expected)) => Err(Error::InvalidValue {
            at: Location {
                file: exp.source.clone(),
                line_col: None,
            },
            key,
            problem,
            expected,
        }),
        None => Ok(()),
    }
}

/// Runs a convergence experiment on `pool` with progress, table and checkpoints.
pub(super) fn simulate(
    exp: &Experiment,
    pool: &rayon::ThreadPool,
    opts: &RunOptions,
    quiet: bool,
    prior: Option<&Summary>,
    checkpoint: &mut dyn Checkpoint,
) -> Result<Summary, Error> {
    let progress = Progress::new(total_work(exp), quiet);
    if !quiet {
        progress.println(&format!("{}: {}", exp.name, exp.title));
        progress.println(&header_line());
    }
    let s = pool.install(|| run_resumable(exp, opts, &progress, prior, checkpoint));
    progress.finish();
    s
}

/// Trains a learning experiment on `pool` with progress and its result table.
pub(super) fn simulate_learning(
    prepared: &Prepared,
    pool: &rayon::ThreadPool,
    threads: usize,
    quick: bool,
    quiet: bool,
) -> LearningSummary {
    let progress = Progress::new(study::total_work(prepared), quiet);
    if !quiet {
        progress.println(&format!("{}: {}", prepared.exp.name, prepared.exp.title));
    }
    progress.message("training".into());
    let s = pool.install(|| study::run(prepared, threads, quick, &progress));
    progress.finish();
    if !quiet {
        console::print_learning(&s);
    }
    s
}
