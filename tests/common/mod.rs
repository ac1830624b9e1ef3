//! Helpers shared by the integration tests (each test crate uses a part of them).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use stdp_flow::experiment::Experiment;
use stdp_flow::{RunOptions, Silent, Summary};

/// An empty scratch folder in the temp dir, unique to this process, test group and name.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stdp-flow-{group}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `stdp-flow` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stdp-flow"))
}

/// Runs `stdp-flow` with `args` and returns its output.
pub fn stdp(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

/// Simulates every point of `exp` on the global pool, silently, at full size.
pub fn simulate(exp: &Experiment) -> Summary {
    stdp_flow::run(
        exp,
        &RunOptions {
            threads: 0,
            quick: false,
        },
        &Silent,
    )
}
