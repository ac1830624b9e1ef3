//! The memory estimate of `run` (`plan::estimate`, `plan::memory_refusal`): which knob it blames
//! (pure computation), and, in an ignored test, the estimate against the measured peak of real
//! runs (`cargo test --release --test memory -- --ignored`).

use std::path::Path;
use stdp_flow::engine::{PointMemory, point_bytes};
use stdp_flow::experiment::{Experiment, parse};
use stdp_flow::plan::{self, Knob, PointEstimate};

/// An experiment with a logistic loss on the unit vector in dimension `dim`.
fn experiment(dim: usize, m: u64, n: &str, checkpoints: u64, scaling: &str) -> Experiment {
    let text = format!(
        r#"
name = "memory-test"
title = "memory test"
seed = 1
[loss]
kind = "logistic"
x = "unit"
y = 1
dim = {dim}
[scaling]
{scaling}
alpha = 1.0
a = 1.0
[reference]
drift = "exact"
[sweep]
n = {n}
trajectories = {m}
checkpoints = {checkpoints}
"#
    );
    parse(&text, Path::new("memory-test.toml")).expect("valid experiment")
}

const CORRECTED: &str = r#"rule = "corrected""#;
const PAPER: &str = r#"rule = "paper""#;
/// Off the critical line (no fluctuation limit) with a small kappa_n (a short unit-speed flow).
const FREEZING: &str = "rule = \"power\"\nbeta = 0.5\ngamma = 0.5";

fn mib(b: f64) -> f64 {
    b / 1048576.0
}

/// The refusal of `exp` with `available` bytes (printed).
fn refuse(exp: &Experiment, available: f64) -> (String, String, String) {
    let r = plan::memory_refusal(exp, &plan::estimate(exp), available).expect("refused");
    eprintln!("refused with {:.0} MiB: {r:?}", mib(available));
    r
}

fn show(name: &str, exp: &Experiment) -> PointEstimate {
    let p = plan::peak_point(exp);
    eprintln!(
        "{name}: peak {:.0} MiB at n = {}, d = {} (simulation {:.0}, analysis {:.0}); {:?}",
        mib(p.peak()),
        p.n,
        p.dim,
        mib(p.simulation()),
        mib(p.analysis()),
        p.by_knob().map(|(k, b)| (k, mib(b).round()))
    );
    p
}

/// Small d, huge M: the batches and per-trajectory results dominate.
#[test]
fn many_trajectories_blame_trajectories() {
    for m in [1_000_000, 3_000_000, 10_000_000, 100_000_000] {
        let exp = experiment(2, m, "[100, 316, 1000]", 200, CORRECTED);
        let p = show("d = 2", &exp);
        assert_eq!(p.dominant(), Knob::Trajectories);
        let avail = 0.5 * p.peak();
        let (key, problem, fix) = refuse(&exp, avail);
        assert_eq!(key, "sweep.trajectories", "{problem}");
        // Half the memory: about half the trajectories.
        let at_most: f64 = fix.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(
            at_most < 0.55 * m as f64 && at_most > 0.4 * m as f64,
            "{fix}"
        );
    }
    // 10^8 trajectories: the run the OOM killer stopped at 24.3 GB does not fit on such machines.
    let exp = experiment(2, 100_000_000, "[100, 316, 1000]", 200, CORRECTED);
    let peak = plan::estimate(&exp).peak_bytes;
    assert!(peak > 24.3e9, "{}", mib(peak));
}

/// d = 20000, M = 512: the group path sums (64 groups x 201 x d) dominate with 200 checkpoints,
/// kappa_hat's unit-speed flow (2 x 11702 x d) on the first version's scaling.
#[test]
fn large_dimension_blames_checkpoints_or_dimension() {
    let exp = experiment(20_000, 512, "[100, 200]", 200, FREEZING);
    let p = show("d = 20000, K = 200", &exp);
    assert_eq!(p.dominant(), Knob::Checkpoints);
    let refusal = refuse(&exp, 1e9);
    assert_eq!(refusal.0, "sweep.checkpoints", "{refusal:?}");

    let exp = experiment(20_000, 512, "[100, 200]", 10, PAPER);
    let p = show("d = 20000, K = 10, paper", &exp);
    assert!(p.analysis() > p.simulation());
    assert_eq!(p.dominant(), Knob::Dimension);
    let refusal = refuse(&exp, 1e9);
    assert_eq!(refusal.0, "loss.dim", "{refusal:?}");

    // On the critical line the fluctuation limit's (Z, P) system has d^2 entries: 22 GB here.
    let exp = experiment(20_000, 512, "[100, 200]", 10, CORRECTED);
    let p = show("d = 20000, corrected", &exp);
    assert!(p.fluctuation > 7.0 * 8.0 * 20_000f64.powi(2));
    assert_eq!(p.dominant(), Knob::Dimension);
}

/// Huge d, few trajectories: the flow's blocks, workspaces and paths, not the trajectories.
#[test]
fn few_trajectories_in_huge_dimension_do_not_blame_trajectories() {
    let exp = experiment(50_000, 16, "[100, 316, 1000]", 200, FREEZING);
    let p = show("d = 50000, M = 16", &exp);
    assert_ne!(p.dominant(), Knob::Trajectories);
    let refusal = refuse(&exp, 0.5 * p.peak());
    assert_ne!(refusal.0, "sweep.trajectories", "{refusal:?}");
}

/// The audit's case: 10000 checkpoints, d = 10^5 and 2 trajectories (at their minimum) was
/// blamed on sweep.trajectories.
#[test]
fn checkpoints_are_blamed_not_trajectories_at_their_minimum() {
    let exp = experiment(100_000, 2, "[100000]", 10_000, FREEZING);
    let p = show("K = 10000, d = 10^5, M = 2", &exp);
    assert_eq!(p.dominant(), Knob::Checkpoints);
    let (key, problem, fix) = refuse(&exp, 8e9);
    assert_eq!(key, "sweep.checkpoints", "{problem}");
    assert!(fix.starts_with("at most "), "{fix}");
    let k: u64 = fix.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!((1..10_000).contains(&k));
    let mut lowered = exp.clone();
    lowered.sweep.checkpoints = k;
    assert!(plan::estimate(&lowered).peak_bytes <= 8e9);
    lowered.sweep.checkpoints = k + 1;
    assert!(plan::estimate(&lowered).peak_bytes > 8e9);
}

/// A knob at its minimum is never the one to lower.
#[test]
fn knobs_at_their_minimum_are_not_blamed() {
    // M = 2 and K = 1: only the dimension is left.
    let exp = experiment(100_000, 2, "[100, 200]", 1, PAPER);
    let refusal = refuse(&exp, 1e6);
    assert_eq!(refusal.0, "loss.dim", "{refusal:?}");
    // M = 2, d = 1: checkpoints (even if trajectories were larger).
    let exp = experiment(1, 2, "[100000]", 10_000, PAPER);
    let refusal = refuse(&exp, 1e6);
    assert_eq!(refusal.0, "sweep.checkpoints", "{refusal:?}");
    // Everything at its minimum: the fix says so.
    let exp = experiment(1, 2, "[100]", 1, PAPER);
    let (_, _, fix) = refuse(&exp, 1e6);
    assert!(fix.contains("minimum"), "{fix}");
    // A run that fits is not refused.
    assert!(plan::memory_refusal(&exp, &plan::estimate(&exp), 1e9).is_none());
}

/// The engine's estimate follows its layout: six row arrays of d cache lines per batch of 8,
/// per-trajectory results, and (block_len(d) + 2) x d flow blocks.
#[test]
fn engine_components_scale_as_laid_out() {
    let a = PointMemory::new(1_000_000, 2, 200, 1000);
    let b = PointMemory::new(2_000_000, 2, 200, 1000);
    let per_traj = (b.batches - a.batches) / 1e6;
    // 6 arrays of 2 lines of 64 bytes (240 with glibc's alignment padding) and the struct.
    assert!((200.0..260.0).contains(&per_traj), "{per_traj}");
    let results = (b.results - a.results) / 1e6;
    assert!((47.0..49.0).contains(&results), "{results}");
    let big = PointMemory::new(512, 20_000, 200, 200);
    assert_eq!(big.groups, 64);
    assert!((big.path_sums / (64.0 * 201.0 * 20_000.0 * 8.0) - 1.0).abs() < 1e-3);
    assert!((big.flow_blocks / (2.0 * 66.0 * 20_000.0 * 8.0) - 1.0).abs() < 1e-2);
    assert_eq!(point_bytes(512, 20_000, 200), big.simulation());
}

/// Runs `stdp-flow run FILE --quiet --force` under `/usr/bin/time -v` and returns its peak
/// resident set in bytes, or `None` without GNU time.
fn measured_peak(file: &Path, out: &Path) -> Option<f64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let output = std::process::Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_stdp-flow"))
        .args([
            "run",
            file.to_str()?,
            "--out",
            out.to_str()?,
            "--quiet",
            "--force",
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    let kib: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

/// The estimate against the measured peak of two runs of a few hundred MB: a million
/// trajectories in d = 2 (batches and results) and 256 trajectories in d = 10^4 with 100
/// checkpoints (path sums, then kappa_hat's buffers). Never below the peak, at most 25% above.
#[test]
#[ignore = "runs the binary twice (about 300 and 450 MB, 30 s); needs GNU time (/usr/bin/time -v)"]
fn estimate_bounds_measured_peak() {
    let dir = std::env::temp_dir().join(format!("stdp-flow-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("million", 2, 1_000_000, "[100, 316]", 200, CORRECTED),
        ("wide", 10_000, 256, "[100, 200]", 100, FREEZING),
    ];
    for (name, dim, m, n, checkpoints, scaling) in cases {
        let exp = experiment(dim, m, n, checkpoints, scaling);
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, exp.source_text.clone()).unwrap();
        let estimate = plan::estimate(&exp).peak_bytes;
        let Some(peak) = measured_peak(&file, &dir.join(name)) else {
            eprintln!("skipped: /usr/bin/time -v is not available to measure the peak");
            break;
        };
        eprintln!(
            "{name}: estimate {:.1} MiB, measured peak {:.1} MiB ({:+.1}%)",
            mib(estimate),
            mib(peak),
            100.0 * (estimate / peak - 1.0)
        );
        assert!(estimate >= peak, "{name}: estimate below the peak");
        assert!(
            estimate <= 1.25 * peak,
            "{name}: estimate more than 25% above the peak"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Prints the estimates of the experiment files in `STDP_FLOW_MEMORY_FILES` (space-separated;
/// their `[quick]` sizes with `STDP_FLOW_MEMORY_QUICK` set).
#[test]
#[ignore = "a tool: prints estimates of files named in STDP_FLOW_MEMORY_FILES"]
fn print_estimates_of_files() {
    let files = std::env::var("STDP_FLOW_MEMORY_FILES").unwrap_or_default();
    for f in files.split_whitespace() {
        let mut exp = stdp_flow::experiment::load(Path::new(f)).expect("valid file");
        if std::env::var_os("STDP_FLOW_MEMORY_QUICK").is_some() {
            exp.quick();
        }
        let p = show(f, &exp);
        eprintln!("{f}: {:.0} KiB  {p:?}", p.peak() / 1024.0);
    }
}

/// With `trajectories = { times_dim = k }` the refusal lowers k, and never below the smallest
/// valid value (2 trajectories at the largest d).
#[test]
fn trajectories_per_dimension_lower_times_dim() {
    let text = experiment(2, 2, "[100, 316, 1000]", 200, CORRECTED)
        .source_text
        .replace(
            "trajectories = 2",
            "trajectories = { times_dim = 20000000 }",
        )
        .replace("dim = 2\n", "")
        .replace("[sweep]\n", "[sweep]\ndim = [2, 4]\n");
    let exp = parse(&text, Path::new("memory-test.toml")).expect("valid experiment");
    let p = plan::peak_point(&exp);
    assert_eq!((p.dim, p.engine.trajectories), (2, 10_000_000));
    let (key, problem, fix) = refuse(&exp, 0.5 * p.peak());
    assert_eq!(key, "sweep.trajectories", "{problem}");
    let k: f64 = fix
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap();
    assert!(fix.contains("times_dim") && k > 0.4e7 && k < 1.1e7, "{fix}");
}
