//! Changes made from the command line after validation (`--quick`, `--trajectories`,
//! `--seed`), checked like the file's own values.

use super::limits::TRAJECTORIES;
use super::schema::{Experiment, Trajectories};
use crate::error::{Error, Location};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Changes made from the command line after validation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    /// Use the `[quick]` sizes.
    pub quick: bool,
    /// Replace `sweep.trajectories` (by the same M at every point).
    pub trajectories: Option<u64>,
    /// Replace `seed`.
    pub seed: Option<u64>,
}

impl Overrides {
    /// Applies the overrides, checking their ranges.
    pub fn apply(&self, exp: &mut Experiment) -> Result<(), Error> {
        if self.quick {
            if exp.quick.is_none() {
                return Err(file_error(
                    &exp.source,
                    "quick",
                    "--quick was given but the file has no [quick] table",
                    "a [quick] table with smaller sizes, or no --quick",
                ));
            }
            exp.quick();
            if let Some((key, problem, expected)) =
                exp.size_problem(true).or_else(|| exp.derived_problem())
            {
                return Err(file_error(&exp.source, &key, problem, expected));
            }
        }
        if let Some(m) = self.trajectories {
            if !TRAJECTORIES.admits(m) {
                return Err(command_line_error(
                    "--trajectories",
                    format!("is {m}"),
                    TRAJECTORIES.integer(),
                ));
            }
            exp.sweep.trajectories = Trajectories::Fixed(m);
        }
        if let Some(seed) = self.seed {
            exp.seed = seed;
        }
        Ok(())
    }
}

impl Experiment {
    /// Applies the `[quick]` sizes.
    pub fn quick(&mut self) {
        let Some(q) = self.quick.clone() else { return };
        if let Some(n) = q.n {
            self.sweep.n = n;
        }
        if let Some(m) = q.trajectories {
            self.sweep.trajectories = m;
        }
        if let Some(d) = q.dim {
            self.sweep.dim = d;
        }
        if let Some(g) = &mut self.grid {
            if let Some(b) = q.beta {
                g.beta = b;
            }
            if let Some(c) = q.gamma {
                g.gamma = c;
            }
        }
    }
}

/// An invalid value found in a file after reading it (no position).
pub(super) fn file_error(
    file: &Path,
    key: &str,
    problem: impl Into<String>,
    expected: impl Into<String>,
) -> Error {
    Error::InvalidValue {
        at: Location {
            file: file.to_path_buf(),
            line_col: None,
        },
        key: key.to_string(),
        problem: problem.into(),
        expected: expected.into(),
    }
}

/// An invalid command-line option.
pub(super) fn command_line_error(
    option: &str,
    problem: impl Into<String>,
    expected: impl Into<String>,
) -> Error {
    file_error(&PathBuf::from("(command line)"), option, problem, expected)
}
