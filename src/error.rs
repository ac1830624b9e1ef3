//! The typed errors of `stdp-flow`. Every message names the file, the key and how to fix it.

use std::fmt;
use std::path::PathBuf;

/// Where in a file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, where known.
    pub line_col: Option<(usize, usize)>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((l, c)) = self.line_col {
            write!(f, ":{l}:{c}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong.
#[derive(Debug)]
pub enum Error {
    /// The file is not valid TOML.
    Syntax {
        /// The file, and the line and column when known.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// A key that the schema does not know.
    UnknownKey {
        /// The file, and the line and column when known.
        at: Location,
        /// Full key path, e.g. `sweep.trajectoris`.
        key: String,
        /// The closest known key, if one is close.
        suggestion: Option<String>,
        /// The keys allowed at that place.
        allowed: Vec<&'static str>,
    },
    /// A required key is absent.
    MissingKey {
        /// The file (and the table's position).
        at: Location,
        /// Full key path.
        key: String,
        /// What it must hold.
        expected: String,
    },
    /// A value of the wrong type or out of range, or inconsistent with another key.
    InvalidValue {
        /// The file, and the line and column when known.
        at: Location,
        /// Full key path.
        key: String,
        /// What was found.
        problem: String,
        /// What is expected instead.
        expected: String,
    },
    /// A file could not be read or written.
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A run stopped on request (`--stop-after`) after completing some points.
    Stopped {
        /// Points completed in this invocation.
        points: usize,
    },
    /// A results folder or shard that cannot be used.
    Results {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
    /// The machine could not provide what a run needs (threads, for example).
    Resource {
        /// What failed.
        what: String,
        /// How to fix it.
        fix: String,
    },
}

impl Error {
    /// Whether the input (a file, a flag, a results folder given as input) is at fault, rather
    /// than a failure while running (I/O, resources, a requested stop).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(
            self,
            Error::Io { .. } | Error::Stopped { .. } | Error::Resource { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { at, message } => {
                write!(
                    f,
                    "{at}: invalid TOML: {message}\n  fix: correct the syntax at that position"
                )
            }
            Error::UnknownKey {
                at,
                key,
                suggestion,
                allowed,
            } => {
                write!(f, "{at}: unknown key `{key}`")?;
                match suggestion {
                    Some(s) if allowed.is_empty() => write!(f, "\n  fix: did you mean `{s}`?"),
                    Some(s) => write!(
                        f,
                        "\n  fix: did you mean `{s}`? Allowed here: {}",
                        allowed.join(", ")
                    ),
                    None => write!(
                        f,
                        "\n  fix: remove it; allowed here: {}",
                        allowed.join(", ")
                    ),
                }
            }
            Error::MissingKey { at, key, expected } => {
                write!(
                    f,
                    "{at}: missing key `{key}`\n  fix: add `{key}` ({expected})"
                )
            }
            Error::InvalidValue {
                at,
                key,
                problem,
                expected,
            } => {
                write!(
                    f,
                    "{at}: key `{key}`: {problem}\n  fix: expected {expected}"
                )
            }
            Error::Io { path, source } => {
                write!(f, "{}: {source}\n  fix: {}", path.display(), io_fix(source))
            }
            Error::Results { path, problem, fix } => {
                write!(f, "{}: {problem}\n  fix: {fix}", path.display())
            }
            Error::Resource { what, fix } => write!(f, "{what}\n  fix: {fix}"),
            Error::Stopped { points } => {
                write!(
                    f,
                    "stopped after {points} points as asked; continue with `run --resume`"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What to do about an I/O error, by its kind.
fn io_fix(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "check that the path and its folder exist",
        K::PermissionDenied | K::ReadOnlyFilesystem => {
            "choose a folder you can write (--out), or change its permissions"
        }
        K::NotADirectory => "a parent of this path is a file: choose another path",
        K::StorageFull | K::QuotaExceeded => "free disk space, or choose another --out",
        _ => "check the path and the disk, then run again",
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The allowed key closest to `key`, if within a third of its length (at least 2 edits).
pub fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let limit = (key.len() / 3).max(2);
    allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("trajectoris", &["n", "trajectories", "dim"]),
            Some("trajectories")
        );
        assert_eq!(closest("zzzzzz", &["n", "trajectories"]), None);
    }

    #[test]
    fn results_errors_print_the_problem_then_the_fix() {
        let e = Error::Results {
            path: PathBuf::from("out/summary.json"),
            problem: "is not a summary".into(),
            fix: "regenerate it".into(),
        };
        assert_eq!(
            e.to_string(),
            "out/summary.json: is not a summary\n  fix: regenerate it"
        );
        assert!(e.is_invalid_input());
    }
}
