//! The fault audit of issue 14, one case per reproduction: each bad input or flag is run through
//! the binary under `RUST_BACKTRACE=1` and must exit with the stated code, name what is wrong,
//! leave no output folder behind, and never panic. (The cases that need a long run, a second
//! process, a full disk or shard files live in `robustness.rs`, `memory.rs` and `faults.rs`.)

mod common;

use std::path::Path;

fn base() -> String {
    common::tiny_experiment("audit", 1)
}

/// One case: the experiment text, extra flags, the exit code and a text the message must hold.
struct Case {
    what: &'static str,
    text: String,
    flags: &'static [&'static str],
    code: i32,
    needle: &'static str,
}

fn case(
    what: &'static str,
    text: String,
    flags: &'static [&'static str],
    code: i32,
    needle: &'static str,
) -> Case {
    Case {
        what,
        text,
        flags,
        code,
        needle,
    }
}

fn edit(from: &str, to: &str) -> String {
    let base = base();
    assert!(base.contains(from), "{from}");
    base.replace(from, to)
}

/// Every case: bad values in the file, then bad flags.
fn cases() -> Vec<Case> {
    let mut all = value_cases();
    all.extend(flag_cases());
    all
}

/// Values in the experiment file that are out of range, missing or inconsistent.
fn value_cases() -> Vec<Case> {
    vec![
        case("a = 1e300", edit("a = 1.0", "a = 1e300"), &[], 2, "scaling"),
        case(
            "a = 1e-200",
            edit("a = 1.0", "a = 1e-200"),
            &[],
            2,
            "scaling",
        ),
        case(
            "alpha = 1e300",
            edit("alpha = 1.0", "alpha = 1e300"),
            &[],
            2,
            "alpha",
        ),
        case(
            "drift = 1e308",
            edit("drift = \"limit\"", "drift = 1e308"),
            &[],
            2,
            "drift",
        ),
        case(
            "exact drift with a = 8000",
            edit("drift = \"limit\"", "drift = \"exact\"").replace("a = 1.0", "a = 8000.0"),
            &[],
            2,
            "kappa",
        ),
        case(
            "fit_from = -5",
            edit("tolerance = 0.5", "tolerance = 0.5\nfit_from = -5"),
            &[],
            2,
            "fit_from",
        ),
        case(
            "missing seed",
            edit("seed = 1\n", ""),
            &[],
            2,
            "missing key `seed`",
        ),
        case("[swep]", edit("[sweep]", "[swep]"), &[], 2, "swep"),
        case(
            "logistic with y but no x",
            edit(
                "kind = \"logcosh\"\ncenter = [1.0, -0.5]",
                "kind = \"logistic\"\ny = 1.0",
            ),
            &[],
            2,
            "loss.x",
        ),
        case(
            "10^8 trajectories do not fit in memory",
            edit("trajectories = 64", "trajectories = 100000000"),
            &[],
            2,
            "sweep.trajectories",
        ),
    ]
}

/// Flags that do not apply to the file, or are out of range.
fn flag_cases() -> Vec<Case> {
    vec![
        case(
            "--quick without [quick]",
            base(),
            &["--quick"],
            2,
            "[quick]",
        ),
        case(
            "--resume with --shard",
            base(),
            &["--resume", "--shard", "0/2"],
            2,
            "--shard",
        ),
        case("--threads 0", base(), &["--threads", "0"], 2, "--threads"),
        case("--shard 3/3", base(), &["--shard", "3/3"], 2, "--shard"),
    ]
}

fn check(dir: &Path, i: usize, c: &Case) {
    let file = dir.join(format!("case-{i}.toml"));
    std::fs::write(&file, &c.text).unwrap();
    let out = dir.join(format!("out-{i}"));
    let o = common::bin()
        .env("RUST_BACKTRACE", "1")
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--quiet"])
        .args(c.flags)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked at"), "{}: panicked: {err}", c.what);
    assert_eq!(o.status.code(), Some(c.code), "{}: {err}", c.what);
    assert!(
        err.contains(c.needle),
        "{}: expected `{}` in: {err}",
        c.what,
        c.needle
    );
    // Errors of the tool carry a fix; flag conflicts are clap's, with its usage line.
    let fix = err.contains("fix:") || err.contains("Usage:");
    assert!(fix || c.code != 2, "{}: no fix line: {err}", c.what);
    assert!(!out.exists(), "{}: wrote {}", c.what, out.display());
}

#[test]
fn every_audit_case_is_refused_by_name_without_a_panic_or_output() {
    let dir = common::scratch("audit", "cases");
    for (i, c) in cases().iter().enumerate() {
        check(&dir, i, c);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--threads` far above the cores is capped with a note and the run completes.
#[test]
fn absurd_thread_counts_are_capped_with_a_note() {
    let dir = common::scratch("audit", "threads");
    let file = dir.join("exp.toml");
    std::fs::write(&file, base()).unwrap();
    let out = dir.join("out");
    let o = common::bin()
        .env("RUST_BACKTRACE", "1")
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--quiet", "--threads", "100000000"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("note: --threads 100000000"), "{err}");
    assert!(out.join("summary.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A learning run whose output location cannot be written fails before it trains.
#[test]
fn a_learning_run_checks_its_output_before_training() {
    let dir = common::scratch("audit", "learning-out");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let exp = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/learning-logistic.toml");
    let t0 = std::time::Instant::now();
    let o = common::bin()
        .env("RUST_BACKTRACE", "1")
        .args(["run", exp.to_str().unwrap(), "--quiet", "--out"])
        .arg(blocker.join("sub"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked at"), "{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    // The full run trains for about a minute; the refusal comes before any training.
    assert!(t0.elapsed().as_secs() < 20, "took {:?}", t0.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
