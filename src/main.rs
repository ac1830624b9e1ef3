//! The `stdp-flow` command line: `run`, `verify` and `plot`.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stdp_flow::analysis::{Observer, Row, RunOptions, Summary, run};
use stdp_flow::error::{Error, Location};
use stdp_flow::experiment::{self, Experiment, Point};
use stdp_flow::report::{self, markdown};

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
        /// Override the number of trajectories per point.
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
    },
    /// Run every experiment in a folder, write each results/<name>/ and results/REPORT.md, and
    /// exit with 1 if any verdict differs from its `expect`.
    Verify {
        /// Use each experiment's [quick] sizes (a smoke test of a few minutes).
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

fn pool(threads: Option<usize>) -> Result<(rayon::ThreadPool, usize), Error> {
    let n = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if n == 0 {
        return Err(Error::InvalidValue {
            at: Location {
                file: PathBuf::from("(command line)"),
                line_col: None,
            },
            key: "--threads".into(),
            problem: "is 0".into(),
            expected: "a positive number of threads".into(),
        });
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("thread pool");
    Ok((p, n))
}

fn apply_overrides(
    exp: &mut Experiment,
    trajectories: Option<u64>,
    seed: Option<u64>,
) -> Result<(), Error> {
    if let Some(m) = trajectories {
        if !(2..=100_000_000).contains(&m) {
            return Err(Error::InvalidValue {
                at: Location {
                    file: PathBuf::from("(command line)"),
                    line_col: None,
                },
                key: "--trajectories".into(),
                problem: format!("is {m}"),
                expected: "an integer from 2 to 10^8".into(),
            });
        }
        exp.sweep.trajectories = m;
    }
    if let Some(s) = seed {
        exp.seed = s;
    }
    Ok(())
}

fn simulate(
    exp: &Experiment,
    threads: Option<usize>,
    quick: bool,
    quiet: bool,
) -> Result<Summary, Error> {
    let (pool, n) = pool(threads)?;
    let progress = Progress::new(total_work(exp), quiet);
    if !quiet {
        progress.println(&format!("{}: {}", exp.name, exp.title));
        progress.println(&header_line());
    }
    let s = pool.install(|| run(exp, &RunOptions { threads: n, quick }, &progress));
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    Ok(s)
}

fn cmd_run(
    path: &Path,
    out: Option<PathBuf>,
    trajectories: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    quick: bool,
    quiet: bool,
) -> Result<ExitCode, Error> {
    let mut exp = experiment::load(path)?;
    if quick {
        exp.quick();
    }
    apply_overrides(&mut exp, trajectories, seed)?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(&exp.name));
    let s = simulate(&exp, threads, quick, quiet)?;
    report::write_results(&s, &dir)?;
    if !quiet {
        if let Some(f) = &s.fit {
            println!(
                "fit: slope {:.4} [{:.4}, {:.4}]{}",
                f.fit.slope,
                f.fit.ci95[0],
                f.fit.ci95[1],
                f.verdict
                    .as_ref()
                    .map_or(String::new(), |v| format!(" -> {} ({})", v.kind, v.reason))
            );
        }
        println!("wrote {}", dir.display());
    }
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
    // Validate everything before writing anything.
    let mut exps = Vec::new();
    for f in &files {
        let mut e = experiment::load(f)?;
        if quick {
            e.quick();
        }
        apply_overrides(&mut e, None, seed)?;
        exps.push(e);
    }
    let mut summaries = Vec::new();
    let mut figures = Vec::new();
    for e in &exps {
        let s = simulate(e, threads, quick, quiet)?;
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
    let entries: Vec<markdown::Entry> = summaries
        .iter()
        .zip(figures)
        .map(|(summary, figures)| markdown::Entry { summary, figures })
        .collect();
    let first = &summaries[0].provenance;
    let header = format!(
        "Generated by `stdp-flow verify{}` (version {}, commit {}), {} threads. Each experiment's \
seed is in its section; every number below is recomputed from simulation.\n",
        if quick { " --quick" } else { "" },
        first.version,
        first.git_commit.as_deref().unwrap_or("unknown"),
        first.threads
    );
    let md = markdown::report(&entries, quick, &header);
    report::write_atomic(&out.join("REPORT.md"), md.as_bytes())?;
    println!("{}", markdown::verdict_table(&entries));
    println!("wrote {}", out.join("REPORT.md").display());
    let bad: Vec<&str> = entries
        .iter()
        .filter(|e| e.mismatch())
        .map(|e| e.summary.name.as_str())
        .collect();
    if bad.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("verdicts differ from their `expect` in: {}", bad.join(", "));
        Ok(ExitCode::from(1))
    }
}

fn cmd_plot(dir: &Path) -> Result<ExitCode, Error> {
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
        } => cmd_run(&experiment, out, trajectories, seed, threads, quick, quiet),
        Command::Verify {
            quick,
            out,
            experiments,
            seed,
            threads,
            quiet,
        } => cmd_verify(quick, &out, &experiments, seed, threads, quiet),
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
