//! The `stdp-flow` command line: `run`, `verify` and `plot`.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stdp_flow::analysis::{Observer, Row, RunOptions, Summary, resume_key, run_resumable};
use stdp_flow::error::{Error, Location};
use stdp_flow::experiment::{self, Experiment, Overrides, Point, Spec};
use stdp_flow::learning::study::{self, LearningSummary, Prepared};
use stdp_flow::report::outdir;
use stdp_flow::report::{self, markdown};
use stdp_flow::{plan, shard};

#[derive(Parser)]
#[command(
    name = "stdp-flow",
    version,
    about = "Empirical test of Theorem 1 of Christensen & Kallsen (2023): do local STDP updates follow the gradient flow?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate one experiment file and write summary.json, rows.csv and figures.
    Run {
        /// The experiment file (TOML).
        experiment: PathBuf,
        /// Output folder [default: results/<name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the number of trajectories per point (for a learning experiment: the number
        /// of replicates of each training run).
        #[arg(long)]
        trajectories: Option<u64>,
        /// Override the seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads [default: all cores]. Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Use the experiment's [quick] sizes.
        #[arg(long)]
        quick: bool,
        /// No progress bar and no table.
        #[arg(long)]
        quiet: bool,
        /// Continue an interrupted run in the output folder, skipping its completed points.
        #[arg(long, conflicts_with = "shard")]
        resume: bool,
        /// Simulate only shard i of N (numbered from 0) and write shard-i-of-N.json into the
        /// output folder (default results/<name>/) for `merge`.
        #[arg(long, value_name = "i/N")]
        shard: Option<String>,
        /// Run even if the memory estimate exceeds the available memory.
        #[arg(long)]
        force: bool,
        /// Stop after this many newly completed points (for testing interruption).
        #[arg(long, hide = true)]
        stop_after: Option<usize>,
    },
    /// Merge the shard files of one sharded run into a results folder identical to an unsharded
    /// run.
    Merge {
        /// The shard files (shard-i-of-N.json), all N of them.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Output folder [default: results/<name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads for the analysis [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Run every experiment in a folder, write each results/<name>/ and results/REPORT.md, and
    /// exit with 1 if any verdict differs from its `expect`.
    Verify {
        /// Use each experiment's [quick] sizes (a smoke test of about 40 seconds).
        #[arg(long)]
        quick: bool,
        /// Output folder.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Folder of experiment files.
        #[arg(long, default_value = "experiments")]
        experiments: PathBuf,
        /// Override the seed of every experiment.
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// No progress bar and no tables.
        #[arg(long)]
        quiet: bool,
    },
    /// Measure the kernel's throughput on fixed workloads against the random-number floor.
    Bench {
        /// Threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Multiply every workload's n by this (1 for the recorded figures).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Run only the workloads whose name contains this text (e.g. `logistic`).
        #[arg(long)]
        only: Option<String>,
        /// Measure every time this often and keep the fastest (the README's figures use 3).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// Redraw the figures of a results folder from its summary.json, without simulating.
    Plot {
        /// The results folder.
        dir: PathBuf,
    },
}

struct Progress {
    bar: Option<ProgressBar>,
    table: bool,
}

impl Progress {
    fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta} {msg}",
                )
                .expect("valid template"),
            );
            b
        });
        Self { bar, table: !quiet }
    }

    fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
}

impl Observer for Progress {
    fn start_point(&self, p: &Point, _work: u64) {
        if let Some(b) = &self.bar {
            b.set_message(format!("d = {}, n = {}", p.dim, p.n));
        }
    }

    fn advance(&self, work: u64) {
        if let Some(b) = &self.bar {
            b.inc(work);
        }
    }

    fn finish_point(&self, r: &Row) {
        if self.table {
            self.println(&row_line(r));
        }
    }
}

fn header_line() -> String {
    format!(
        "{:>5} {:>9} {:>6} {:>6} {:>5} {:>9} {:>24} {:>24} {:>11} {:>7}",
        "d",
        "n",
        "beta",
        "gamma",
        "div",
        "kappa",
        "realised kappa [95% CI]",
        "E sup err^2 [95% CI]",
        "E term err^2",
        "seconds"
    )
}

fn row_line(r: &Row) -> String {
    let kh = r.kappa_hat.map_or("-".into(), |k| {
        format!("{:.3} [{:.3},{:.3}]", k.mean, k.ci95[0], k.ci95[1])
    });
    let sup = r.sup_sq_error.map_or("-".into(), |e| {
        format!(
            "{:.3e} ±{:.1}%",
            e.mean,
            100.0 * (e.ci95[1] - e.mean) / e.mean
        )
    });
    let term = r
        .terminal_sq_error
        .map_or("-".into(), |e| format!("{:.3e}", e.mean));
    format!(
        "{:>5} {:>9} {:>6.3} {:>6.3} {:>5} {:>9.4} {:>24} {:>24} {:>11} {:>7.2}",
        r.dim, r.n, r.beta, r.gamma, r.diverged, r.kappa, kh, sup, term, r.seconds
    )
}

fn total_work(exp: &Experiment) -> u64 {
    exp.points()
        .iter()
        .map(|p| {
            (stdp_flow::engine::steps_for(p.n, exp.reference.horizon) + 1) * exp.sweep.trajectories
        })
        .sum()
}

/// An invalid command-line value: the flag, what is wrong with it and what is expected.
fn flag_error(key: &str, problem: impl Into<String>, expected: impl Into<String>) -> Error {
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

fn pool(threads: Option<usize>) -> Result<(rayon::ThreadPool, usize), Error> {
    let n = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if n == 0 {
        return Err(flag_error(
            "--threads",
            "is 0",
            "a positive number of threads",
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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

/// Prints the estimated work and refuses runs that would not fit in memory (unless `force`).
fn check_plan(exp: &Experiment, quiet: bool, force: bool) -> Result<(), Error> {
    let p = plan::estimate(exp);
    if let Some(avail) = plan::available_memory()
        && !force
        && let Some((key, problem, expected)) = plan::memory_refusal(exp, &p, avail)
    {
        return Err(Error::InvalidValue {
            at: Location {
                file: exp.source.clone(),
                line_col: None,
            },
            key,
            problem,
            expected,
        });
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

fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Removes temporary files left by an interrupted write.
fn clean_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            && (name.contains(".tmp-")
                || name.starts_with(".figures-")
                || name.starts_with(".stage-"))
        {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

fn simulate(
    exp: &Experiment,
    pool: &rayon::ThreadPool,
    opts: &RunOptions,
    quiet: bool,
    prior: Option<&Summary>,
    after_point: &mut (dyn FnMut(&Summary) -> Result<(), Error> + Send),
) -> Result<Summary, Error> {
    let progress = Progress::new(total_work(exp), quiet);
    if !quiet {
        progress.println(&format!("{}: {}", exp.name, exp.title));
        progress.println(&header_line());
    }
    let s = pool.install(|| run_resumable(exp, opts, &progress, prior, after_point));
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    s
}

struct RunArgs {
    path: PathBuf,
    out: Option<PathBuf>,
    overrides: Overrides,
    threads: Option<usize>,
    quiet: bool,
    resume: bool,
    shard: Option<String>,
    force: bool,
    stop_after: Option<usize>,
}

/// Trains a learning experiment with a progress bar.
fn simulate_learning(
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
    if let Some(b) = &progress.bar {
        b.set_message("training");
    }
    let advance = |w: u64| {
        if let Some(b) = &progress.bar {
            b.inc(w);
        }
    };
    let s = pool.install(|| study::run(prepared, threads, quick, &advance));
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    if !quiet {
        for r in &s.runs {
            let acc = r.curve.last().map_or("-".into(), |p| {
                let e = p.test_accuracy;
                format!("{:.4} [{:.4}, {:.4}]", e.mean, e.ci95[0], e.ci95[1])
            });
            let dist = r
                .sup_distance_to_flow
                .map_or("-".into(), |e| format!("{:.3e}", e.mean));
            println!(
                "{:<36} test accuracy {acc:<26} sup |theta - flow|^2 {dist:<10} diverged {}/{}",
                r.label(),
                r.diverged,
                r.replicates
            );
        }
        if let Some(f) = &s.distance_fit {
            println!(
                "distance fit: slope {}{}",
                f.fit
                    .as_ref()
                    .map_or("- (too few estimates)".into(), |f| format!(
                        "{:.4} [{:.4}, {:.4}]",
                        f.slope, f.ci95[0], f.ci95[1]
                    )),
                f.verdict
                    .as_ref()
                    .map_or(String::new(), |v| format!(" -> {} ({})", v.kind, v.reason))
            );
        }
        for a in &s.accuracy {
            println!(
                "accuracy claim -> {} ({})",
                a.verdict.kind, a.verdict.reason
            );
        }
        if let Some(a) = &s.single_update {
            println!(
                "single-update claim -> {} ({})",
                a.verdict.kind, a.verdict.reason
            );
        }
    }
    s
}

fn cmd_run_learning(
    mut exp: experiment::learning::LearningExperiment,
    a: &RunArgs,
) -> Result<ExitCode, Error> {
    if a.resume || a.shard.is_some() {
        return Err(Error::InvalidValue {
            at: Location {
                file: exp.source.clone(),
                line_col: None,
            },
            key: if a.resume { "--resume" } else { "--shard" }.into(),
            problem: "is not available for learning experiments".into(),
            expected: "a plain `stdp-flow run` (learning runs take minutes, not hours)".into(),
        });
    }
    exp.apply(&a.overrides)?;
    let prepared = study::prepare(&exp)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("results").join(&exp.name));
    let (pool, threads) = pool(a.threads)?;
    let _lock = outdir::lock(&dir)?;
    let s = simulate_learning(&prepared, &pool, threads, a.overrides.quick, a.quiet);
    report::learning::write_results(&s, Some(&prepared.split), &dir)?;
    if !a.quiet {
        println!("wrote {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_run(a: RunArgs) -> Result<ExitCode, Error> {
    let mut exp = match experiment::load_any(&a.path)? {
        Spec::Convergence(e) => *e,
        Spec::Learning(e) => return cmd_run_learning(*e, &a),
    };
    a.overrides.apply(&mut exp)?;
    let shard = a.shard.as_deref().map(shard::parse_shard).transpose()?;
    if let Some((_, n)) = shard {
        shard::check_shard_count(&exp, n)?;
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("results").join(&exp.name));
    // Shards of one run write distinct files into one folder at the same time: only whole runs
    // take the folder's lock.
    let _lock = if shard.is_none() {
        Some(outdir::lock(&dir)?)
    } else {
        None
    };
    let prior = if a.resume {
        match read_prior(&exp, &dir)? {
            Prior::Complete => {
                if !a.quiet {
                    println!("{} is already complete; nothing to resume", dir.display());
                }
                return Ok(ExitCode::SUCCESS);
            }
            Prior::Partial(s) => Some(*s),
            Prior::None => None,
        }
    } else {
        None
    };
    let (pool, threads) = pool(a.threads)?;
    pool.install(|| check_plan(&exp, a.quiet, a.force))?;
    let opts = RunOptions {
        threads,
        quick: a.overrides.quick,
    };
    if let Some((i, n)) = shard {
        let progress = Progress::new(total_work(&exp) / n, a.quiet);
        let file = pool.install(|| shard::run_shard(&exp, &a.overrides, (i, n), &progress));
        if let Some(b) = &progress.bar {
            b.finish_and_clear();
        }
        let path = dir.join(format!("shard-{i}-of-{n}.json"));
        report::write_atomic(
            &path,
            serde_json::to_string(&file)
                .expect("serialisable")
                .as_bytes(),
        )?;
        if !a.quiet {
            println!("wrote {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    clean_stale(&dir);
    let mut done = 0usize;
    let mut after = |partial: &Summary| -> Result<(), Error> {
        report::write_atomic(
            &dir.join(outdir::PARTIAL),
            report::summary_json(partial).as_bytes(),
        )?;
        report::write_atomic(
            &dir.join(outdir::PARTIAL_ROWS),
            report::rows_csv(partial).as_bytes(),
        )?;
        done += 1;
        if a.stop_after.is_some_and(|k| done >= k) {
            return Err(Error::Stopped { points: done });
        }
        Ok(())
    };
    let s = simulate(&exp, &pool, &opts, a.quiet, prior.as_ref(), &mut after)?;
    report::write_results(&s, &dir)?;
    if !a.quiet {
        print_fit(&s);
        println!("wrote {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What a results folder holds for `--resume`.
enum Prior {
    /// Nothing to continue: start from the first point.
    None,
    /// The results of this experiment are complete.
    Complete,
    /// A run of this experiment stopped after some points.
    Partial(Box<Summary>),
}

/// The run in `dir` to resume, after checking that it belongs to `exp`: the partial summary
/// of a run in progress, or a complete summary with the same key (nothing to do).
fn read_prior(exp: &Experiment, dir: &Path) -> Result<Prior, Error> {
    let key = resume_key(exp);
    let partial = dir.join(outdir::PARTIAL);
    if partial.exists() {
        let s = report::read_summary_file(&partial)?;
        if s.resume_key != key {
            return Err(Error::Results {
                path: partial,
                message: format!(
                    "was written for a different resolved experiment or code version ({}); \
resume with the same file, options and build, or choose another --out",
                    what_changed(exp, &s)
                ),
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
            message: format!(
                "holds the results of a different resolved experiment or code version ({}); \
resume with the same file, options and build, or choose another --out",
                what_changed(exp, &s)
            ),
        });
    }
    Ok(if s.status == "complete" {
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
    let commit = option_env!("STDP_FLOW_GIT_COMMIT").unwrap_or("unknown");
    if s.provenance.git_commit.as_deref().unwrap_or("unknown") != commit {
        diffs.push(format!(
            "the build (commit {} then, {commit} now)",
            s.provenance.git_commit.as_deref().unwrap_or("unknown")
        ));
    }
    if diffs.is_empty() {
        format!("key {} vs {}", s.resume_key, resume_key(exp))
    } else {
        format!("changed: {}", diffs.join(", "))
    }
}

fn print_fit(s: &Summary) {
    if let Some(f) = &s.fit {
        let claimed = f.claim.as_ref().map_or(String::new(), |c| {
            format!(" (claim: {})", markdown::claim_text(c))
        });
        println!(
            "result: {}{claimed}{}",
            markdown::result_text(f),
            f.verdict
                .as_ref()
                .map_or(String::new(), |v| format!(" -> {} ({})", v.kind, v.reason))
        );
    }
}

fn cmd_merge(
    parts: &[PathBuf],
    out: Option<PathBuf>,
    threads: Option<usize>,
) -> Result<ExitCode, Error> {
    let files = parts
        .iter()
        .map(|p| shard::read_shard(p).map(|f| (p.clone(), f)))
        .collect::<Result<Vec<_>, _>>()?;
    let (pool, threads) = pool(threads)?;
    let (exp, s) = pool.install(|| {
        shard::merge(
            &files,
            &RunOptions {
                threads,
                quick: files[0].1.overrides.quick,
            },
        )
    })?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(&exp.name));
    let _lock = outdir::lock(&dir)?;
    report::write_results(&s, &dir)?;
    print_fit(&s);
    println!("merged {} shards into {}", files.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_verify(
    quick: bool,
    out: &Path,
    dir: &Path,
    seed: Option<u64>,
    threads: Option<usize>,
    quiet: bool,
) -> Result<ExitCode, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Results {
            path: dir.to_path_buf(),
            message: format!("cannot read the experiments folder ({e}); pass --experiments DIR"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Results {
            path: dir.to_path_buf(),
            message: "holds no .toml experiment files".into(),
        });
    }
    // Validate everything, data files included, before writing anything.
    let mut exps = Vec::new();
    let mut learning = Vec::new();
    let overrides = Overrides {
        quick,
        trajectories: None,
        seed,
    };
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for f in &files {
        let spec = experiment::load_any(f)?;
        if let Some((_, other)) = names.iter().find(|(n, _)| n == spec.name()) {
            return Err(Error::InvalidValue {
                at: Location {
                    file: f.clone(),
                    line_col: None,
                },
                key: "name".into(),
                problem: format!(
                    "\"{}\" is also the name of {}; both would write results/{}",
                    spec.name(),
                    other.display(),
                    spec.name()
                ),
                expected: "a name used by no other experiment in the folder".into(),
            });
        }
        names.push((spec.name().to_string(), f.clone()));
        match spec {
            Spec::Convergence(e) => {
                let mut e = *e;
                overrides.apply(&mut e)?;
                exps.push(e);
            }
            Spec::Learning(e) => {
                let mut e = *e;
                e.apply(&overrides)?;
                learning.push(study::prepare(&e)?);
            }
        }
    }
    let (pool, n_threads) = pool(threads)?;
    let opts = RunOptions {
        threads: n_threads,
        quick,
    };
    let _lock = outdir::lock(out)?;
    let mut locks = Vec::new();
    for name in names.iter().map(|(n, _)| n) {
        locks.push(outdir::lock(&out.join(name))?);
    }
    let mut summaries = Vec::new();
    let mut figures = Vec::new();
    for e in &exps {
        let s = simulate(e, &pool, &opts, quiet, None, &mut |_| Ok(()))?;
        let d = out.join(&e.name);
        let files = report::write_results(&s, &d)?;
        figures.push(
            files
                .iter()
                .filter(|f| f.extension().is_some_and(|x| x == "png"))
                .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect::<Vec<_>>(),
        );
        summaries.push(s);
    }
    let mut learnt = Vec::new();
    for p in &learning {
        let s = simulate_learning(p, &pool, n_threads, quick, quiet);
        let d = out.join(&p.exp.name);
        let files = report::learning::write_results(&s, Some(&p.split), &d)?;
        let stems = files
            .iter()
            .filter(|f| f.extension().is_some_and(|x| x == "png"))
            .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect::<Vec<_>>();
        learnt.push((s, stems));
    }
    let entries: Vec<markdown::Entry> = summaries
        .iter()
        .zip(figures)
        .map(|(summary, figures)| markdown::Entry { summary, figures })
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
        .map(|s| &s.provenance)
        .or(learnt.first().map(|l| &l.0.provenance))
        .expect("at least one experiment");
    let header = format!(
        "Generated by `stdp-flow verify{}` (version {}, commit {}). Each experiment's seed is in \
its section, its thread count and timings in its folder's `provenance.json`; every number below \
is recomputed from simulation.\n",
        if quick { " --quick" } else { "" },
        first.version,
        first.git_commit.as_deref().unwrap_or("unknown"),
    );
    let md = markdown::report(&entries, &learning_entries, quick, &header);
    report::write_atomic(&out.join("REPORT.md"), md.as_bytes())?;
    println!(
        "{}",
        markdown::console_table(&entries, &learning_entries, 160)
    );
    println!("wrote {}", out.join("REPORT.md").display());
    let bad: Vec<&str> = entries
        .iter()
        .filter(|e| e.mismatch())
        .map(|e| e.summary.name.as_str())
        .chain(
            learning_entries
                .iter()
                .filter(|e| e.mismatch())
                .map(|e| e.summary.name.as_str()),
        )
        .collect();
    if bad.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("verdicts differ from their `expect` in: {}", bad.join(", "));
        Ok(ExitCode::from(1))
    }
}

fn cmd_bench(
    threads: Option<usize>,
    json: bool,
    scale: f64,
    only: Option<String>,
    repeat: usize,
) -> Result<ExitCode, Error> {
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
    let workloads: Vec<_> = stdp_flow::bench::workloads(scale)
        .into_iter()
        .filter(|w| only.as_deref().is_none_or(|o| w.name.contains(o)))
        .collect();
    if workloads.is_empty() {
        let names: Vec<_> = stdp_flow::bench::workloads(1.0)
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
            stdp_flow::bench::measure(w, k, repeat)
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).expect("serialisable")
        );
    } else {
        if let Some(r) = results.first() {
            println!("kernel instruction set: {}", r.isa);
        }
        println!(
            "{:<16} {:>9} {:>13} {:>11} {:>11} {:>11} {:>8} {:>9} {:>7}",
            "workload",
            "threads",
            "steps/s",
            "ns/step/core",
            "median ns",
            "floor ns",
            "ratio",
            "speed-up",
            "flow %"
        );
        for r in &results {
            println!(
                "{:<16} {:>9} {:>13.3e} {:>11.2} {:>11.2} {:>11.2} {:>8.2} {:>8.2}x {:>7.2}",
                r.workload,
                r.threads,
                r.steps_per_second,
                r.ns_per_step_per_core,
                r.ns_per_step_per_core * (1.0 + r.spread),
                r.rng_floor_ns_per_core,
                r.ratio_to_floor,
                r.speedup,
                100.0 * r.flow_fraction
            );
        }
        for r in results.iter().filter(|r| r.spread > 0.1) {
            eprintln!(
                "warning: {}: the median of the repeats is {:.0}% above the fastest; the machine is noisy (other processes, frequency scaling): close other work and measure again, or use more --repeat",
                r.workload,
                100.0 * r.spread
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_plot(dir: &Path) -> Result<ExitCode, Error> {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
    if serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("learning"))
    {
        let s = report::learning::read(dir)?;
        let stems = report::learning::write_figures(&s, dir)?;
        println!("redrew {} figures in {}", stems.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let s = report::read_summary(dir)?;
    let stems = report::write_figures(&s, dir)?;
    println!("redrew {} figures in {}", stems.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            experiment,
            out,
            trajectories,
            seed,
            threads,
            quick,
            quiet,
            resume,
            shard,
            force,
            stop_after,
        } => cmd_run(RunArgs {
            path: experiment,
            out,
            overrides: Overrides {
                quick,
                trajectories,
                seed,
            },
            threads,
            quiet,
            resume,
            shard,
            force,
            stop_after,
        }),
        Command::Merge {
            parts,
            out,
            threads,
        } => cmd_merge(&parts, out, threads),
        Command::Verify {
            quick,
            out,
            experiments,
            seed,
            threads,
            quiet,
        } => cmd_verify(quick, &out, &experiments, seed, threads, quiet),
        Command::Bench {
            threads,
            json,
            scale,
            only,
            repeat,
        } => cmd_bench(threads, json, scale, only, repeat),
        Command::Plot { dir } => cmd_plot(&dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
