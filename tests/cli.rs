//! The command line: outputs, exit codes and error messages.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const GOOD: &str = r#"name = "cli"
title = "CLI test"
seed = 5
[loss]
kind = "logcosh"
center = [1.0, -0.5, 0.25]
[start]
theta0 = [0.0, 0.0, 0.0]
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
"#;

fn scratch(name: &str) -> PathBuf {
    common::scratch("cli", name)
}

fn bin() -> Command {
    common::bin()
}

fn run_file(dir: &Path, text: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let f = dir.join("exp.toml");
    std::fs::write(&f, text).unwrap();
    bin()
        .arg("run")
        .arg(&f)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap()
}

fn rows_without_timing(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for r in v["rows"].as_array_mut().unwrap() {
        r["seconds"] = 0.into();
    }
    v["rows"].take()
}

#[test]
fn run_writes_the_contract_and_is_thread_independent() {
    let d = scratch("run");
    let (a, b) = (d.join("a"), d.join("b"));
    assert!(run_file(&d, GOOD, &a, &["--threads", "1"]).status.success());
    assert!(run_file(&d, GOOD, &b, &["--threads", "2"]).status.success());
    assert_eq!(rows_without_timing(&a), rows_without_timing(&b));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    for key in ["name", "config", "provenance", "rows", "fit"] {
        assert!(!s[key].is_null(), "summary.json lacks {key}");
    }
    for key in ["version", "seed", "git_commit"] {
        assert!(s["provenance"].get(key).is_some(), "provenance lacks {key}");
    }
    // Volatile fields live in provenance.json, so that a re-run leaves summary.json unchanged.
    for key in ["threads", "seconds", "started_unix"] {
        assert!(
            s["provenance"].get(key).is_none(),
            "summary.json holds {key}"
        );
    }
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("provenance.json")).unwrap()).unwrap();
    for key in ["threads", "seconds", "started_unix", "parts", "git_commit"] {
        assert!(p.get(key).is_some(), "provenance.json lacks {key}");
    }
    assert_eq!(p["threads"], 1);
    // Apart from provenance.json, the two runs' files are identical byte for byte.
    for f in ["summary.json", "rows.csv", "error_vs_n.svg"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    let row = &s["rows"][0];
    for key in [
        "n",
        "trajectories",
        "diverged",
        "kappa",
        "alpha_n",
        "a_n",
        "sup_sq_error",
        "terminal_sq_error",
        "terminal_bias_sq",
        "terminal_variance",
        "fluctuation",
    ] {
        assert!(!row[key].is_null(), "row lacks {key}");
    }
    for key in ["mean", "std_error", "ci95"] {
        assert!(!row["sup_sq_error"][key].is_null());
    }
    for key in ["slope", "ci95", "pairwise_slopes", "claim", "verdict"] {
        assert!(!s["fit"][key].is_null(), "fit lacks {key}");
    }
    assert_eq!(s["config"]["sweep"]["trajectories"], 64);
    let csv = std::fs::read_to_string(a.join("rows.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("n,dim,"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn overrides_change_the_run() {
    let d = scratch("override");
    let (a, b) = (d.join("a"), d.join("b"));
    assert!(
        run_file(&d, GOOD, &a, &["--seed", "6", "--trajectories", "10"])
            .status
            .success()
    );
    assert!(run_file(&d, GOOD, &b, &[]).status.success());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["provenance"]["seed"], 6);
    assert_eq!(s["rows"][0]["trajectories"], 10);
    assert_ne!(rows_without_timing(&a), rows_without_timing(&b));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_files_exit_2_name_the_key_and_write_nothing() {
    let d = scratch("bad");
    let out = d.join("results");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("sentinel"), "keep").unwrap();
    let cases: [(&str, String, &str); 6] = [
        (
            "syntax",
            GOOD.replace("seed = 5", "seed = = 5"),
            "invalid TOML",
        ),
        (
            "unknown key",
            GOOD.replace("trajectories = 64", "trajectoris = 64"),
            "sweep.trajectoris",
        ),
        (
            "negative a",
            GOOD.replace("a = 1.0", "a = -1.0"),
            "scaling.a",
        ),
        (
            "empty n",
            GOOD.replace("n = [100, 200, 400]", "n = []"),
            "sweep.n",
        ),
        (
            "length mismatch",
            GOOD.replace("theta0 = [0.0, 0.0, 0.0]", "theta0 = [0.0, 0.0]"),
            "start.theta0",
        ),
        (
            "limit under paper rule",
            GOOD.replace("\"corrected\"", "\"paper\""),
            "reference.drift",
        ),
    ];
    for (what, text, key) in cases {
        let o = run_file(&d, &text, &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(key), "{what}: message lacks `{key}`: {err}");
        assert!(
            err.contains("exp.toml"),
            "{what}: message lacks the file: {err}"
        );
        assert!(err.contains("fix:"), "{what}: message lacks a fix: {err}");
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("sentinel")],
            "{what}: results folder changed"
        );
    }
    let o = bin()
        .args(["run", "/nonexistent/x.toml", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn plot_redraws_identical_figures() {
    let d = scratch("plot");
    let a = d.join("a");
    assert!(run_file(&d, GOOD, &a, &[]).status.success());
    let pngs: Vec<PathBuf> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "svg"))
        .collect();
    assert!(
        pngs.iter().any(|p| p.ends_with("error_vs_n.png")),
        "no error_vs_n.png in {pngs:?}"
    );
    let before: Vec<Vec<u8>> = pngs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    for p in &pngs {
        std::fs::remove_file(p).unwrap();
    }
    let o = bin().arg("plot").arg(&a).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (p, b) in pngs.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(p).unwrap(),
            b,
            "{} differs after plot",
            p.display()
        );
    }
    let o = bin().arg("plot").arg(d.join("missing")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

/// `bench` reports consistent figures for a small workload; an unknown `--only` or a zero
/// `--repeat` exits with 2.
#[test]
fn bench_reports_consistent_figures() {
    let out = bin()
        .args([
            "bench",
            "--scale",
            "0.005",
            "--threads",
            "1",
            "--json",
            "--repeat",
            "2",
        ])
        .args(["--only", "logistic"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["workload"], "logistic d=32");
    let f = |k: &str| r[k].as_f64().unwrap();
    assert_eq!(
        f("coordinate_steps"),
        (f("n") + 1.0) * f("trajectories") * 32.0
    );
    assert!(f("seconds") > 0.0 && f("minimal_ns_per_core") > 0.0 && f("rng_ns_per_core") > 0.0);
    let ratio = f("ns_per_step_per_core") / f("minimal_ns_per_core");
    assert!((ratio - f("ratio_to_minimal")).abs() <= 1e-9 * ratio);
    assert!(
        (f("speedup") - 1.0).abs() < 1e-12,
        "one thread: speed-up is 1"
    );
    assert!(["avx512", "avx2", "baseline"].contains(&r["isa"].as_str().unwrap()));

    for (args, key) in [
        (["--only", "nonesuch"], "--only"),
        (["--repeat", "0"], "--repeat"),
    ] {
        let bad = bin().arg("bench").args(args).output().unwrap();
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains(key));
    }
}
