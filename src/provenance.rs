//! Where and how a result was made: the build's identity (crate version and git commit), the
//! run's clock, and the FNV-1a hashes that key results to their experiment, data and code.

use serde::{Deserialize, Serialize};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The crate version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this build was made from (set by `build.rs`; suffix `-dirty` for uncommitted
/// changes), if known.
pub fn commit() -> Option<&'static str> {
    option_env!("STDP_FLOW_GIT_COMMIT")
}

/// [`commit`], or `"unknown"`.
pub fn commit_text() -> &'static str {
    commit().unwrap_or("unknown")
}

/// The 64-bit FNV-1a hash of `bytes` as 16 hex digits (Fowler, Noll & Vo; the offset basis and
/// prime of the 64-bit variant).
pub fn fnv1a(bytes: &[u8]) -> String {
    format!("{:016x}", crate::rng::fnv1a64(bytes))
}

/// FNV-1a over bytes written to it (the hash of [`fnv1a`], computed as a stream: no copy of
/// the bytes is kept).
pub struct Fnv1aWriter(u64);

impl Default for Fnv1aWriter {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1aWriter {
    /// The hash of everything written, as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl std::io::Write for Fnv1aWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for b in buf {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The wall clock of one run: when it started (Unix seconds) and how long it has taken.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    started: Instant,
    started_unix: u64,
}

impl Clock {
    /// Starts the clock now.
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Seconds since [`Clock::start`].
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The provenance of a run on this clock, `seconds` long in total (a resumed run adds the
    /// seconds of the points it reuses).
    pub fn provenance(&self, seed: u64, threads: usize, quick: bool, seconds: f64) -> Provenance {
        Provenance {
            version: VERSION.to_string(),
            git_commit: commit().map(str::to_string),
            seed,
            threads,
            seconds,
            quick,
            started_unix: self.started_unix,
        }
    }
}

/// Where and how a result was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Crate version.
    pub version: String,
    /// Git commit of the build, if known (suffix `-dirty` for uncommitted changes).
    pub git_commit: Option<String>,
    /// The seed used.
    pub seed: u64,
    /// Worker threads (volatile: written to `provenance.json`, not `summary.json`).
    #[serde(skip_serializing, default)]
    pub threads: usize,
    /// Total wall-clock seconds (volatile, as `threads`).
    #[serde(skip_serializing, default)]
    pub seconds: f64,
    /// Whether the `[quick]` sizes were used.
    pub quick: bool,
    /// Seconds since the Unix epoch when this process started the run (for a merge: started the
    /// merge; volatile, as `threads`).
    #[serde(skip_serializing, default)]
    pub started_unix: u64,
}
