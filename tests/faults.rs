//! Fuzzing of the files the tool reads back: shard files (`merge`) and results folders (`plot`,
//! `run --resume`). Each damaged file must be refused with an error or handled, never panic.
//! The damage is drawn from a fixed-seed generator, so every run tries the same cases; a panic
//! is a bug whatever the case, so these tests have no false failures.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use stdp_flow::app::{self, Outcome, RunRequest, ShardFile};
use stdp_flow::experiment::Overrides;

/// The experiment: the shared tiny one with 20 checkpoints.
fn experiment() -> String {
    common::tiny_experiment("faults", 5)
        .replace("trajectories = 64", "trajectories = 64\ncheckpoints = 20")
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("faults", name)
}

fn request(file: &Path, out: &Path, shard: Option<&str>, resume: bool) -> RunRequest {
    RunRequest {
        path: file.to_path_buf(),
        out: Some(out.to_path_buf()),
        overrides: Overrides::default(),
        threads: Some(1),
        quiet: true,
        resume,
        shard: shard.map(str::to_string),
        force: false,
        stop_after: None,
    }
}

/// SplitMix64, for reproducible damage.
struct Damage(u64);

impl Damage {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of: a cut, a changed byte, a number replaced by an extreme or invalid one, a deleted
    /// span, a repeated span.
    fn apply(&mut self, text: &str) -> String {
        let b = text.as_bytes();
        let at = self.below(b.len());
        match self.below(5) {
            0 => String::from_utf8_lossy(&b[..at]).into_owned(),
            1 => {
                let mut v = b.to_vec();
                v[at] = b"0123456789-.,:[]{}\"eE \n"[self.below(23)];
                String::from_utf8_lossy(&v).into_owned()
            }
            2 => {
                let starts: Vec<usize> = (1..b.len())
                    .filter(|&i| b[i].is_ascii_digit() && !b[i - 1].is_ascii_alphanumeric())
                    .collect();
                let s = starts[self.below(starts.len())];
                let e = (s..b.len())
                    .find(|&i| !(b[i].is_ascii_digit() || b"+-.eE".contains(&b[i])))
                    .unwrap_or(b.len());
                let with = [
                    "-1",
                    "0",
                    "1e300",
                    "-1e300",
                    "18446744073709551615",
                    "99999999999999999999999",
                    "4.5",
                    "null",
                    "\"x\"",
                    "[]",
                ][self.below(10)];
                format!("{}{with}{}", &text[..s], &text[e..])
            }
            3 => {
                let len = 1 + self.below(200.min(b.len() - at));
                format!("{}{}", &text[..at], &text[(at + len).min(text.len())..])
            }
            _ => {
                let len = 1 + self.below(200.min(b.len() - at));
                let end = (at + len).min(text.len());
                format!("{}{}{}", &text[..end], &text[at..end], &text[end..])
            }
        }
    }
}

/// The file with every `seconds` value set to 0, so that the damage drawn is the same on every
/// run (timings change the text's length).
fn without_timings(path: &Path) -> String {
    fn zero(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "seconds" {
                        *x = 0.0.into();
                    } else {
                        zero(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(zero),
            _ => {}
        }
    }
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    zero(&mut v);
    serde_json::to_string_pretty(&v).unwrap()
}

/// The rows of a results folder without their timings.
fn rows_of(dir: &Path) -> serde_json::Value {
    let text = without_timings(&dir.join("summary.json"));
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["rows"].clone()
}

/// Runs `f`, and fails the test with `what` if it panics.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: panicked: {msg}");
        }
    }
}

/// Cuts and edits of text that is valid UTF-8 only at char boundaries are skipped by `apply`'s
/// byte arithmetic on ASCII files; both files here are ASCII.
fn assert_ascii(text: &str) {
    assert!(text.is_ascii(), "the fuzzed files are expected to be ASCII");
}

#[test]
fn damaged_shard_files_are_refused_or_merged_never_a_panic() {
    let d = scratch("shards");
    let f = d.join("exp.toml");
    std::fs::write(&f, experiment()).unwrap();
    let shards = d.join("shards");
    for i in 0..2 {
        let r = request(&f, &shards, Some(&format!("{i}/2")), false);
        assert_eq!(app::run_file(&r).unwrap(), Outcome::Success);
    }
    // The shard with its timings set to 0 (so that the damage drawn is the same on every run) and
    // its checksum made to match again.
    let mut file: ShardFile =
        serde_json::from_str(&without_timings(&shards.join("shard-1-of-2.json"))).unwrap();
    file.checksum = file.content_hash();
    let good = serde_json::to_string_pretty(&file).unwrap();
    assert_ascii(&good);
    let part = d.join("damaged.json");
    let parts = [shards.join("shard-0-of-2.json"), part.clone()];
    std::fs::write(&part, &good).unwrap();
    app::merge(&parts, Some(d.join("reference")), Some(1)).expect("the undamaged shard merges");
    let reference = rows_of(&d.join("reference"));
    let mut damage = Damage(2026);
    let (mut refused, mut merged, mut resealed) = (0, 0, 0);
    for case in 0..150 {
        let bad = damage.apply(&good);
        std::fs::write(&part, &bad).unwrap();
        let out = d.join(format!("merged-{case}"));
        let r = no_panic(&format!("merge of damaged shard case {case}"), || {
            app::merge(&parts, Some(out.clone()), Some(1))
        });
        match r {
            // Only a damage that changes nothing (spacing) may merge, to the same results.
            Ok(_) => {
                merged += 1;
                assert_eq!(rows_of(&out), reference, "case {case}: damage merged");
            }
            Err(e) => {
                refused += 1;
                assert!(!out.exists(), "case {case}: a refused merge wrote output");
                assert!(
                    e.to_string().contains("damaged.json"),
                    "case {case}: the error does not name the file: {e}"
                );
            }
        }
        let _ = std::fs::remove_dir_all(&out);
        // The same damage with the checksum made to match (a faulty writer): the checks behind
        // the checksum must refuse it or merge it, never panic.
        if let Ok(mut f) = serde_json::from_str::<ShardFile>(&bad) {
            f.checksum = f.content_hash();
            std::fs::write(&part, serde_json::to_string(&f).unwrap()).unwrap();
            resealed += 1;
            let _ = no_panic(&format!("merge of resealed shard case {case}"), || {
                app::merge(&parts, Some(out.clone()), Some(1))
            });
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    eprintln!("damaged shards: {refused} refused, {merged} merged unchanged, {resealed} resealed");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn damaged_results_folders_are_refused_or_read_never_a_panic() {
    let d = scratch("results");
    let f = d.join("exp.toml");
    std::fs::write(&f, experiment()).unwrap();
    let out = d.join("run");
    assert_eq!(
        app::run_file(&request(&f, &out, None, false)).unwrap(),
        Outcome::Success
    );
    let good = without_timings(&out.join("summary.json"));
    assert_ascii(&good);
    let mut damage = Damage(7);
    for case in 0..40 {
        let bad = damage.apply(&good);
        let dir = d.join(format!("case-{case}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("summary.json"), &bad).unwrap();
        let _ = no_panic(&format!("plot of damaged summary case {case}"), || {
            app::plot(&dir)
        });
        let _ = no_panic(&format!("resume on damaged summary case {case}"), || {
            app::run_file(&request(&f, &dir, None, true))
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&d);
}
