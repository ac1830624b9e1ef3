//! Helpers shared by the integration tests (each test crate uses a part of them).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use stdp_flow::experiment::Experiment;
use stdp_flow::{RunOptions, Silent, Summary};

/// A small valid experiment (logcosh in d = 2, the corrected scaling, three n, 64 trajectories,
/// a slope claim) named `name` with seed `seed`; tests edit it with `str::replace`.
pub fn tiny_experiment(name: &str, seed: u64) -> String {
    format!(
        r#"name = "{name}"
seed = {seed}
[loss]
kind = "logcosh"
center = [1.0, -0.5]
[scaling]
rule = "corrected"
alpha = 1.0
a = 1.0
[reference]
drift = "limit"
[sweep]
n = [100, 200, 400]
trajectories = 64
[claim]
slope = -1.0
tolerance = 0.5
"#
    )
}

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
