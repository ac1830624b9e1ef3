//! Experiment files: reading, validating and resolving them. See the README's "Experiment
//! files" section for the reference.
//!
//! Every error names the file, the line and column where known, the key, what was found and
//! what is expected. The parts:
//! - `reader.rs` and `lists.rs`: the TOML machinery (positions, typed getters, required and
//!   optional keys, did-you-mean, unknown keys), `keywords.rs`: the string values and their
//!   enums, `limits.rs`: every allowed range in one table;
//! - `schema.rs`: the resolved types of a convergence experiment and the list of key names;
//! - `read_convergence.rs` and `read_claim.rs`: one function per table; `checks.rs`: checks
//!   across keys; `overrides.rs`: command-line changes;
//! - [`learning`]: the same for learning experiments.

mod checks;
mod keywords;
pub mod learning;
mod limits;
mod lists;
mod overrides;
mod read_claim;
mod read_convergence;
mod reader;
mod schema;
#[cfg(test)]
mod tests;

// The claim vocabulary moved to `crate::claims`; re-exported here for existing imports.
pub use crate::claims::{Against, ClaimKind, ClaimSpec, Metric};
pub(crate) use checks::constant_claim_problem;
pub use limits::DERIVED_RANGE;
pub use overrides::Overrides;
pub use schema::{
    DriftChoice, Experiment, Grid, LossFactory, LossSpec, Point, Quick, Reference, Sweep, VecSpec,
};

use crate::error::{Error, Location};
use keywords::FileKind;
use overrides::file_error;
use reader::{Cx, Sec, line_col};
use std::path::Path;

/// Either kind of experiment file.
#[derive(Clone, Debug)]
pub enum Spec {
    /// The convergence of eq. 3.2 to the flow (no `kind`, or `kind = "convergence"`).
    Convergence(Box<Experiment>),
    /// Learning from a dataset (`kind = "learning"`).
    Learning(Box<learning::LearningExperiment>),
}

impl Spec {
    /// The experiment's name.
    pub fn name(&self) -> &str {
        match self {
            Spec::Convergence(e) => &e.name,
            Spec::Learning(e) => &e.name,
        }
    }

    /// The file it came from.
    pub fn source(&self) -> &Path {
        match self {
            Spec::Convergence(e) => &e.source,
            Spec::Learning(e) => &e.source,
        }
    }
}

/// Reads and validates a convergence experiment file.
pub fn load(path: &Path) -> Result<Experiment, Error> {
    convergence_only(load_any(path)?, path)
}

/// Validates convergence-experiment text; `path` is used in messages.
pub fn parse(src: &str, path: &Path) -> Result<Experiment, Error> {
    convergence_only(parse_any(src, path)?, path)
}

fn convergence_only(spec: Spec, path: &Path) -> Result<Experiment, Error> {
    match spec {
        Spec::Convergence(e) => Ok(*e),
        Spec::Learning(_) => Err(file_error(
            path,
            "kind",
            "is \"learning\", which this command does not take",
            "a convergence experiment (no `kind`, or kind = \"convergence\"); run learning experiments with `stdp-flow run` or `verify`",
        )),
    }
}

/// Reads and validates an experiment file of either kind.
pub fn load_any(path: &Path) -> Result<Spec, Error> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        file_error(
            path,
            "(file)",
            format!("cannot read the file: {e}"),
            "a readable TOML experiment file",
        )
    })?;
    parse_any(&src, path)
}

/// Validates experiment text of either kind; `path` is used in messages.
pub fn parse_any(src: &str, path: &Path) -> Result<Spec, Error> {
    let table: toml::Table = src.parse().map_err(|e: toml::de::Error| Error::Syntax {
        at: Location {
            file: path.to_path_buf(),
            line_col: e.span().map(|s| line_col(src, s.start)),
        },
        message: e.message().trim().to_string(),
    })?;
    let cx = Cx { src, file: path };
    let mut top = Sec::new(&cx, table, "");
    let spec = match top.keyword("kind", Some(FileKind::Convergence))? {
        FileKind::Learning => Spec::Learning(Box::new(learning::read(&cx, &mut top)?)),
        FileKind::Convergence => {
            Spec::Convergence(Box::new(read_convergence::read(&cx, &mut top)?))
        }
    };
    top.finish()?;
    Ok(spec)
}
