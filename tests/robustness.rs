//! Interruption and resume, sharding and merging, divergence, memory refusal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const EXP: &str = r#"name = "robust"
seed = 11
[loss]
kind = "logcosh"
center = [1.0, -0.5, 0.25]
[scaling]
rule = "corrected"
alpha = 1.0
a = 1.0
[reference]
drift = "limit"
[sweep]
n = [100, 200, 400, 800, 1600]
trajectories = 300
[claim]
slope = -1.0
tolerance = 0.3
"#;

fn scratch(name: &str) -> PathBuf {
    common::scratch("robust", name)
}

fn exp_file(dir: &Path, text: &str) -> PathBuf {
    let f = dir.join("exp.toml");
    std::fs::write(&f, text).unwrap();
    f
}

fn stdp(args: &[&str]) -> Output {
    common::stdp(args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// summary.json without wall-clock fields.
fn normalised(dir: &Path) -> serde_json::Value {
    normalised_file(&dir.join("summary.json"))
}

/// A summary file without wall-clock fields.
fn normalised_file(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for r in v["rows"].as_array_mut().unwrap() {
        r["seconds"] = 0.into();
    }
    for k in ["seconds", "started_unix", "threads"] {
        v["provenance"][k] = 0.into();
    }
    v
}

fn csv_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("rows.csv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_same_results(a: &Path, b: &Path) {
    assert_eq!(normalised(a), normalised(b));
    assert_eq!(csv_lines(a), csv_lines(b));
    for e in std::fs::read_dir(a).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "png" || x == "svg") {
            let q = b.join(p.file_name().unwrap());
            assert_eq!(
                std::fs::read(&p).unwrap(),
                std::fs::read(&q).unwrap(),
                "{} differs",
                q.display()
            );
        }
    }
}

#[test]
fn stopped_run_resumes_to_identical_files() {
    let d = scratch("resume");
    let f = exp_file(&d, EXP);
    let (whole, part) = (d.join("whole"), d.join("part"));
    assert!(
        stdp(&["run", s(&f), "--out", s(&whole), "--quiet"])
            .status
            .success()
    );
    let o = stdp(&[
        "run",
        s(&f),
        "--out",
        s(&part),
        "--quiet",
        "--stop-after",
        "2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let partial = normalised_file(&part.join("summary.partial.json"));
    assert_eq!(partial["status"], "partial");
    assert!(
        !part.join("summary.json").exists(),
        "a partial run published a summary"
    );
    assert_eq!(partial["rows"].as_array().unwrap().len(), 2);
    let o = stdp(&[
        "run",
        s(&f),
        "--out",
        s(&part),
        "--quiet",
        "--resume",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_results(&whole, &part);
    // A different resolved experiment is refused, and the folder is left alone.
    let before = std::fs::read(part.join("summary.json")).unwrap();
    let o = stdp(&[
        "run",
        s(&f),
        "--out",
        s(&part),
        "--quiet",
        "--resume",
        "--seed",
        "12",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("different resolved experiment"), "{err}");
    assert!(
        err.contains("changed: seed"),
        "the refusal must say what changed: {err}"
    );
    assert_eq!(std::fs::read(part.join("summary.json")).unwrap(), before);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sigint_leaves_a_consistent_folder_that_resumes() {
    let d = scratch("sigint");
    let text = EXP.replace(
        "n = [100, 200, 400, 800, 1600]",
        "n = [100, 200, 400, 800, 1600, 50000, 100000]",
    );
    let text = text.replace("trajectories = 300", "trajectories = 2000");
    let f = exp_file(&d, &text);
    let part = d.join("part");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stdp-flow"))
        .args(["run", s(&f), "--out", s(&part), "--quiet"])
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        // A run in progress writes its rows to the partial summary after every point.
        let rows = std::fs::read_to_string(part.join("summary.partial.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map_or(0, |v| v["rows"].as_array().map_or(0, Vec::len));
        if rows >= 3 || t0.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    // The signal may land after the complete summary is published (then the run is complete
    // whatever the exit status); otherwise the folder holds the partial summary only.
    if status.success() || part.join("summary.json").exists() {
        assert_eq!(
            normalised(&part)["status"],
            "complete",
            "the run finished before the signal"
        );
    } else {
        assert_eq!(
            normalised_file(&part.join("summary.partial.json"))["status"],
            "partial"
        );
        assert!(!part.join("summary.json").exists());
    }
    let o = stdp(&["run", s(&f), "--out", s(&part), "--quiet", "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let names: Vec<String> = std::fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with('.') || n == ".stdp-flow-manifest"),
        "temporary files left: {names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
    let whole = d.join("whole");
    assert!(
        stdp(&["run", s(&f), "--out", s(&whole), "--quiet"])
            .status
            .success()
    );
    assert_same_results(&whole, &part);
    let _ = std::fs::remove_dir_all(&d);
}

/// Runs every shard of `count` of experiment `f` into `dir`; returns the path of shard i.
fn run_shards(f: &Path, dir: &Path, count: usize) -> impl Fn(usize) -> PathBuf {
    for i in 0..count {
        let shard = format!("{i}/{count}");
        let o = stdp(&["run", s(f), "--out", s(dir), "--quiet", "--shard", &shard]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let dir = dir.to_path_buf();
    move |i| dir.join(format!("shard-{i}-of-{count}.json"))
}

#[test]
fn three_shards_merge_to_the_unsharded_run() {
    let d = scratch("shards");
    let f = exp_file(&d, EXP);
    let (whole, shards, merged) = (d.join("whole"), d.join("shards"), d.join("merged"));
    assert!(
        stdp(&["run", s(&f), "--out", s(&whole), "--quiet"])
            .status
            .success()
    );
    let part: Vec<PathBuf> = (0..3).map(run_shards(&f, &shards, 3)).collect();
    let o = stdp(&[
        "merge",
        s(&part[2]),
        s(&part[0]),
        s(&part[1]),
        "--out",
        s(&merged),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_results(&whole, &merged);
    wrong_sets_of_shards_are_refused(&d, &f, &part);
    tampered_shards_are_refused(&d, &part);
    for shard in ["3/3", "0/65"] {
        let o = stdp(&[
            "run",
            s(&f),
            "--out",
            s(&shards),
            "--quiet",
            "--shard",
            shard,
        ]);
        assert_eq!(o.status.code(), Some(2), "--shard {shard}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Merges `args` into `dir/refused` and checks that it is refused with exit 2, a message
/// holding `needle` and a fix, and no output.
fn refused_merge(dir: &Path, args: &[&str], needle: &str) {
    let out = dir.join("refused");
    let mut all = vec!["merge"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", s(&out)]);
    let o = stdp(&all);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(err.contains("\n  fix: "), "no fix line in: {err}");
    assert!(!out.exists(), "a refused merge wrote output");
}

/// A shard missing or given twice, a shard of another experiment (given last or first), and a
/// file that is not a shard are refused.
fn wrong_sets_of_shards_are_refused(d: &Path, f: &Path, part: &[PathBuf]) {
    refused_merge(d, &[s(&part[0]), s(&part[1])], "missing");
    refused_merge(d, &[s(&part[0]), s(&part[1]), s(&part[1])], "given twice");
    let g2 = d.join("other");
    std::fs::create_dir_all(&g2).unwrap();
    let f2 = exp_file(&g2, &EXP.replace("seed = 11", "seed = 99"));
    assert!(
        stdp(&["run", s(&f2), "--out", s(&g2), "--quiet", "--shard", "2/3"])
            .status
            .success()
    );
    let foreign = g2.join("shard-2-of-3.json");
    refused_merge(
        d,
        &[s(&part[0]), s(&part[1]), s(&foreign)],
        "another experiment",
    );
    refused_merge(d, &[s(f)], "not a stdp-flow shard");
    // A foreign shard given first names itself, not the legitimate ones.
    refused_merge(d, &[s(&foreign), s(&part[0]), s(&part[1])], "leave out");
}

/// Tampered files: an index out of range, an absurd shard count, a truncated array. Each is
/// refused with exit 2 and the file's name, never a panic or an abort: by its checksum, and
/// (with the checksum made to match, as a faulty writer would) by the checks behind it.
fn tampered_shards_are_refused(d: &Path, part: &[PathBuf]) {
    let out_of_range = tampered(d, part, "range.json", &|v| {
        v["shard"] = serde_json::json!([7, 4])
    });
    refused_merge(
        d,
        &[s(&part[0]), s(&part[1]), s(&out_of_range)],
        "claims to be shard 7/4",
    );
    let huge = tampered(d, part, "huge.json", &|v| {
        v["shard"] = serde_json::json!([3, 1_000_000_000_000_000u64])
    });
    refused_merge(
        d,
        &[s(&huge), s(&part[0]), s(&part[1])],
        "claims to be shard 3/1000000000000000",
    );
    let cut = tampered(d, part, "cut.json", &|v| {
        v["points"][1]["output"]["sup_sq"]
            .as_array_mut()
            .unwrap()
            .truncate(3);
    });
    refused_merge(d, &[s(&part[0]), s(&part[1]), s(&cut)], "sup_sq length");
}

/// Shard 2 of `part` edited by `edit`: checks that the edited file is refused by its checksum,
/// and returns the path of a copy (`d/name`) whose checksum matches the edit.
fn tampered(
    d: &Path,
    part: &[PathBuf],
    name: &str,
    edit: &dyn Fn(&mut serde_json::Value),
) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&part[2]).unwrap()).unwrap();
    edit(&mut v);
    let stale = d.join(format!("stale-{name}"));
    std::fs::write(&stale, serde_json::to_string(&v).unwrap()).unwrap();
    refused_merge(d, &[s(&part[0]), s(&part[1]), s(&stale)], "checksum");
    let mut f: stdp_flow::app::ShardFile = serde_json::from_value(v).unwrap();
    f.checksum = f.content_hash();
    let p = d.join(name);
    std::fs::write(&p, serde_json::to_string(&f).unwrap()).unwrap();
    p
}

#[test]
fn divergence_is_counted_reported_and_blocks_holds() {
    let d = scratch("diverge");
    let text = EXP
        .replace("alpha = 1.0", "alpha = 4.0")
        .replace("a = 1.0", "a = 3.0");
    let text = text.replace("[sweep]", "[sweep]\ndivergence_bound = 2.0");
    let text = text.replace("tolerance = 0.3", "tolerance = 9.0\ndecay = false");
    let f = exp_file(&d, &text);
    let out = d.join("out");
    let o = stdp(&["run", s(&f), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = normalised(&out);
    let diverged: u64 = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["diverged"].as_u64().unwrap())
        .sum();
    assert!(diverged > 0, "the configuration should diverge");
    assert_ne!(v["verdict"]["kind"], "holds");
    assert!(
        v["verdict"]["reason"]
            .as_str()
            .unwrap()
            .contains("diverged"),
        "{}",
        v["verdict"]
    );
    // Every trajectory diverging leaves no fit but still an explicit verdict.
    let all = text.replace("alpha = 4.0", "alpha = 400.0");
    let f = exp_file(&d, &all);
    let out2 = d.join("out2");
    assert!(
        stdp(&["run", s(&f), "--out", s(&out2), "--quiet"])
            .status
            .success()
    );
    let v = normalised(&out2);
    assert!(v["fit"].is_null());
    assert_eq!(v["verdict"]["kind"], "inconclusive");
    let csv = std::fs::read_to_string(out.join("rows.csv")).unwrap();
    assert!(
        csv.lines()
            .skip(1)
            .any(|l| l.split(',').nth(5).unwrap() != "0")
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn runs_beyond_memory_are_refused_without_force() {
    let d = scratch("memory");
    let text = EXP.replace("center = [1.0, -0.5, 0.25]", "center = 0.5\ndim = 100000");
    let f = exp_file(&d, &text);
    let out = d.join("out");
    let o = stdp(&[
        "run",
        s(&f),
        "--out",
        s(&out),
        "--quiet",
        "--trajectories",
        "100000000",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--force") && err.contains("sweep.trajectories"),
        "{err}"
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&d);
}

/// Faults of input and flags that once passed validation or panicked: each is refused with exit
/// 2 and a message naming the key, or (threads) capped with a note; never a panic.
#[test]
fn faulty_inputs_are_refused_by_key() {
    let d = scratch("faults");
    let case = |from: &str, to: &str, needle: &str| {
        let f = exp_file(&d, &EXP.replace(from, to));
        let o = stdp(&["run", s(&f), "--out", s(&d.join("out")), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(needle), "{to}: expected `{needle}` in {err}");
        assert!(!err.contains("panicked at"), "{err}");
        assert!(!d.join("out").exists(), "{to}: a refused run wrote output");
    };
    case("a = 1.0\n", "a = 1e300\n", "scaling.a");
    case("a = 1.0\n", "a = 1e-200\n", "scaling.a");
    case("alpha = 1.0", "alpha = 1e300", "scaling.alpha");
    case("drift = \"limit\"", "drift = 1e308", "reference.drift");
    case(
        "tolerance = 0.3",
        "tolerance = 0.3\nfit_from = -5",
        "claim.fit_from",
    );
    // --quick on a file without [quick], and --resume with --shard.
    let f = exp_file(&d, EXP);
    for args in [
        vec!["run", s(&f), "--quick", "--out", s(&d.join("out"))],
        vec![
            "run",
            s(&f),
            "--resume",
            "--shard",
            "0/2",
            "--out",
            s(&d.join("out")),
        ],
    ] {
        let o = stdp(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked at"), "{err}");
        assert!(!d.join("out").exists());
    }
    // Absurd thread counts are capped with a note, and the run completes.
    let small = exp_file(
        &d,
        &EXP.replace("n = [100, 200, 400, 800, 1600]", "n = [100, 200, 400]")
            .replace("trajectories = 300", "trajectories = 16"),
    );
    let o = stdp(&[
        "run",
        s(&small),
        "--threads",
        "100000000",
        "--quiet",
        "--out",
        s(&d.join("threads")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("per core"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The output folder is a unit: a second writer is refused while the first holds the lock, a
/// run into a folder written by a different run removes that run's files, and an unwritable
/// --out is refused before anything is computed.
#[test]
fn output_folder_is_a_unit() {
    let d = scratch("unit");
    let small = EXP
        .replace("n = [100, 200, 400, 800, 1600]", "n = [100, 200, 400]")
        .replace("trajectories = 300", "trajectories = 16");
    let f = exp_file(&d, &small);
    let out = d.join("out");
    live_locks_refuse_and_stale_ones_are_taken_over(&f, &out);
    let other = exp_file(
        &d,
        &small.replace(
            "kind = \"logcosh\"\ncenter = [1.0, -0.5, 0.25]",
            "kind = \"linear\"\ng = [1.0, -0.5]",
        ),
    );
    another_run_removes_only_the_earlier_runs_files(&other, &out);
    // An unwritable --out is refused before computing (exit 1: an I/O failure).
    let blocker = d.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let o = stdp(&["run", s(&f), "--out", s(&blocker.join("sub")), "--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// A lock held by a live process (this test's) refuses a run of `f` into `out`, naming it; a
/// stale lock (no such process) is taken over and released.
fn live_locks_refuse_and_stale_ones_are_taken_over(f: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(
        out.join(".stdp-flow.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let o = stdp(&["run", s(f), "--out", s(out), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("another stdp-flow process"), "{err}");
    assert!(!out.join("summary.json").exists());
    std::fs::write(out.join(".stdp-flow.lock"), "4000000000\n").unwrap();
    let o = stdp(&["run", s(f), "--out", s(out), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !out.join(".stdp-flow.lock").exists(),
        "the lock was not released"
    );
    assert!(out.join("error_vs_n.png").exists());
}

/// The files listed in the manifest of the results folder `out`.
fn manifest(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join(".stdp-flow-manifest"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A run of another experiment (`other`) into `out` removes the files the earlier run wrote
/// that it does not write itself (a learning run's curves.csv included), and keeps a file the
/// tool did not write.
fn another_run_removes_only_the_earlier_runs_files(other: &Path, out: &Path) {
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    // As if the earlier run had been a learning run: its curves.csv is in its manifest.
    std::fs::write(out.join("curves.csv"), "stale").unwrap();
    let mut listed = std::fs::read_to_string(out.join(".stdp-flow-manifest")).unwrap();
    listed.push_str("curves.csv\n");
    std::fs::write(out.join(".stdp-flow-manifest"), listed).unwrap();
    let before = manifest(out);
    assert!(before.contains(&"summary.json".to_string()));
    let o = stdp(&["run", s(other), "--out", s(out), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = manifest(out);
    for name in before.iter().filter(|n| !after.contains(n)) {
        assert!(
            !out.join(name).exists(),
            "{name} of the earlier run is left"
        );
    }
    assert!(before.contains(&"curves.csv".to_string()));
    assert!(
        !out.join("curves.csv").exists(),
        "the earlier run's curves.csv is left"
    );
    assert!(
        out.join("notes.txt").exists(),
        "a file the tool did not write was removed"
    );
}

/// A disk that fills up while the results are written leaves the old complete results, the exit
/// code of an I/O failure (1), and no temporary files. Needs a small tmpfs (root on Linux);
/// skipped with a message elsewhere.
#[test]
fn disk_full_leaves_the_old_results() {
    let d = scratch("full");
    let mnt = d.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs", s(&mnt)])
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root on Linux)");
        return;
    }
    let small = EXP
        .replace("n = [100, 200, 400, 800, 1600]", "n = [100, 200, 400]")
        .replace("trajectories = 300", "trajectories = 16");
    let f = exp_file(&d, &small);
    let out = mnt.join("out");
    let first = stdp(&["run", s(&f), "--out", s(&out), "--quiet"]);
    let listing = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Fill the disk, leaving 64 KiB: the second run's figures cannot be written.
    {
        use std::io::Write as _;
        let mut pad = std::fs::File::create(mnt.join("pad")).unwrap();
        while pad.write_all(&[0u8; 65536]).is_ok() {}
        drop(pad);
        let len = std::fs::metadata(mnt.join("pad")).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(mnt.join("pad"))
            .unwrap()
            .set_len(len.saturating_sub(65536))
            .unwrap();
    }
    let published = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        listing(dir)
            .into_iter()
            .filter(|(n, _)| !n.contains("partial"))
            .collect()
    };
    let before = published(&out);
    let o = stdp(&["run", s(&f), "--out", s(&out), "--quiet", "--seed", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked at"), "{err}");
    assert_eq!(
        published(&out),
        before,
        "the published results changed: {err}"
    );
    assert!(
        listing(&out)
            .iter()
            .all(|(n, _)| !n.starts_with('.') || n == ".stdp-flow-manifest"),
        "temporary files left"
    );
    let _ = Command::new("umount").arg(s(&mnt)).status();
    let _ = std::fs::remove_dir_all(&d);
}

/// An experiment file far above the size of any experiment (1 GiB, sparse) is refused from its
/// metadata before it is read: at once, with exit 2 and a message naming the file, its size,
/// the limit and a fix. A file without a size in its metadata (a device) is read only up to the
/// limit.
#[test]
fn huge_experiment_files_are_refused_unread() {
    let d = scratch("huge");
    let f = d.join("huge.toml");
    std::fs::write(&f, EXP).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let started = Instant::now();
    let o = stdp(&["run", s(&f), "--out", s(&d.join("out")), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "huge.toml",
        "1073741824 bytes",
        "16 MiB",
        "was not read",
        "fix:",
    ] {
        assert!(err.contains(needle), "expected `{needle}` in {err}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(!d.join("out").exists());
    let experiments = d.join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    std::fs::rename(&f, experiments.join("huge.toml")).unwrap();
    let o = stdp(&[
        "verify",
        "--experiments",
        s(&experiments),
        "--out",
        s(&d.join("verify")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("1073741824 bytes"), "{err}");
    if Path::new("/dev/zero").exists() {
        let o = stdp(&["run", "/dev/zero", "--out", s(&d.join("out")), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("more than 16777216 bytes"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A learning experiment whose scaling constants make alpha_n, A_n or kappa_n leave
/// [1e-100, 1e100] (or overflow to inf or NaN) is refused by key, like a convergence
/// experiment, before any data is read or written.
#[test]
fn extreme_learning_constants_are_refused_by_key() {
    let d = scratch("learning-range");
    let learn = format!(
        r#"kind = "learning"
name = "lr"
seed = 3
[data]
file = "{}"
label = "diagnosis"
[model]
kind = "logistic"
[scaling]
alpha = 1.5
a = 1.0
[learning]
n = [200, 400, 800]
replicates = 2
"#,
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/wdbc.csv")
            .display()
    );
    for (from, to, needle) in [
        ("a = 1.0", "a = 1e200", "key `scaling.a`: gives A_n = "),
        ("a = 1.0", "a = 1e9", "key `scaling.a`: gives kappa_n = NaN"),
        (
            "alpha = 1.5",
            "alpha = 1e200",
            "key `scaling.alpha`: gives alpha_n = 1e200",
        ),
        ("alpha = 1.5", "alpha = 1e-200", "key `scaling.alpha`"),
        (
            "replicates = 2",
            "replicates = 2\nkappa = 1e300",
            "key `learning.kappa`",
        ),
        (
            "replicates = 2",
            "replicates = 2\nsingle_update_alpha = [1e300]",
            "key `learning.single_update_alpha`",
        ),
    ] {
        let f = exp_file(&d, &learn.replace(from, to));
        let o = stdp(&["run", s(&f), "--out", s(&d.join("out")), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(needle), "{to}: expected `{needle}` in {err}");
        assert!(
            err.contains("exp.toml") && err.contains("[1e-100, 1e100]") && err.contains("fix:"),
            "{err}"
        );
        assert!(!d.join("out").exists(), "{to}: a refused run wrote output");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// With `trajectories = { times_dim = k }` the points have different numbers of groups (here 40,
/// 20 and 10 trajectories, so 5, 2 and 2 groups): two shards split each point's own groups and
/// merge to the unsharded run; more shards than the fewest groups are refused.
#[test]
fn shards_with_trajectories_per_dimension_merge_to_the_unsharded_run() {
    let d = scratch("shards-times-dim");
    let text = EXP
        .replace("center = [1.0, -0.5, 0.25]", "center = 0.5")
        .replace(
            "n = [100, 200, 400, 800, 1600]\ntrajectories = 300",
            "n = [100, 200, 400]\ndim = [2, 4, 8]\ntrajectories = { times_dim = 80 }",
        )
        .replace(
            "slope = -1.0\ntolerance = 0.3",
            "slope = -1.0\ntolerance = 0.5",
        );
    let f = exp_file(&d, &text);
    let (whole, shards, merged) = (d.join("whole"), d.join("shards"), d.join("merged"));
    let o = stdp(&["run", s(&f), "--out", s(&whole), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = std::fs::read_to_string(whole.join("rows.csv")).unwrap();
    for m in [",40,", ",20,", ",10,"] {
        assert!(rows.contains(m), "no point with {m} trajectories:\n{rows}");
    }
    let part = run_shards(&f, &shards, 2);
    let o = stdp(&["merge", s(&part(1)), s(&part(0)), "--out", s(&merged)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_results(&whole, &merged);
    let o = stdp(&[
        "run",
        s(&f),
        "--out",
        s(&d.join("three")),
        "--quiet",
        "--shard",
        "0/3",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("only 2 groups"));
    let _ = std::fs::remove_dir_all(&d);
}
