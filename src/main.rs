//! The `stdp-flow` command line: argument types and dispatch into [`stdp_flow::app`]; the exit
//! code is decided here (0 success, 1 a failure while running or a verdict that differs from its
//! `expect`, 2 invalid input).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use stdp_flow::Error;
use stdp_flow::app::{self, Outcome, RunRequest, VerifyRequest};
use stdp_flow::experiment::Overrides;

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
    /// Measure the kernel's throughput on fixed workloads against a minimal fused kernel doing the
    /// same arithmetic.
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

/// The workflow a command line asks for.
fn dispatch(command: Command) -> Result<Outcome, Error> {
    match command {
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
        } => app::run_file(&RunRequest {
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
        } => app::merge(&parts, out, threads),
        Command::Verify {
            quick,
            out,
            experiments,
            seed,
            threads,
            quiet,
        } => app::verify(&VerifyRequest {
            quick,
            out,
            experiments,
            seed,
            threads,
            quiet,
        }),
        Command::Bench {
            threads,
            json,
            scale,
            only,
            repeat,
        } => app::bench(threads, json, scale, only.as_deref(), repeat),
        Command::Plot { dir } => app::plot(&dir),
    }
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Mismatch(names)) => {
            eprintln!(
                "verdicts differ from their `expect` in: {}",
                names.join(", ")
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_invalid_input() { 2 } else { 1 })
        }
    }
}
