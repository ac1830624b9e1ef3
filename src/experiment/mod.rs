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
pub(crate) mod tests;

pub(crate) use checks::{
    AGAINST_N_FIX, DRIFT_LIMIT_FIX, GRID_FIX, IN_FIT_RANGE, NOISE_FIX, constant_claim_problem,
};
pub use limits::{DERIVED_RANGE, MAX_FILE_BYTES};
pub(crate) use limits::{DIM, HORIZON, N};
pub use overrides::Overrides;
pub use schema::{
    DriftChoice, Experiment, Grid, LossFactory, LossSpec, Point, Quick, Reference, Sweep,
    Trajectories, VecSpec,
};

use crate::error::{Error, Location};
use keywords::FileKind;
use overrides::file_error;
use reader::{Cx, Sec, line_col};
use std::io::Read;
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

/// Reads and validates an experiment file of either kind. Files above [`MAX_FILE_BYTES`] are
/// refused without being read.
pub fn load_any(path: &Path) -> Result<Spec, Error> {
    parse_any(&read_text(path)?, path)
}

/// The text of an experiment file, read only if it is at most [`MAX_FILE_BYTES`] long (by its
/// metadata, and while reading, for files whose metadata has no size).
fn read_text(path: &Path) -> Result<String, Error> {
    let unreadable = |e: std::io::Error| {
        file_error(
            path,
            "(file)",
            format!("cannot read the file: {e}"),
            "a readable TOML experiment file",
        )
    };
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > MAX_FILE_BYTES
    {
        return Err(too_large(path, Some(meta.len())));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, None));
    }
    String::from_utf8(bytes).map_err(|_| {
        unreadable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// The error for a file above [`MAX_FILE_BYTES`] (`size` from its metadata, where known).
fn too_large(path: &Path, size: Option<u64>) -> Error {
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    let (size, read) = match size {
        Some(b) => (format!("{b} bytes ({:.1} MiB)", mib(b)), "it was not read"),
        None => (
            format!("more than {MAX_FILE_BYTES} bytes"),
            "reading stopped at the limit",
        ),
    };
    file_error(
        path,
        "(file)",
        format!(
            "the file is {size}, above the limit of {MAX_FILE_BYTES} bytes ({} MiB) for an experiment file; {read}",
            mib(MAX_FILE_BYTES)
        ),
        format!(
            "an experiment file of a few KB (at most {} MiB): check that the path names the TOML file; a learning experiment refers to its CSV data by `data.file` instead of including it",
            MAX_FILE_BYTES >> 20
        ),
    )
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
