//! The library API: a study of a user-defined loss, run in-process exactly as
//! `examples/custom_loss.rs` runs it.

mod common;

#[path = "../examples/custom_loss.rs"]
#[allow(dead_code)]
mod custom_loss;

use stdp_flow::{ClaimSpec, ConvergenceStudy, Loss, Metric, Scaling};

/// The example's study yields rows, kappa_hat, the fluctuation prediction (from the default
/// finite-difference Hessian), a fit with a verdict, and the files.
#[test]
fn custom_loss_example_runs_a_full_study() {
    let dir = std::env::temp_dir().join(format!("stdp-flow-custom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = custom_loss::study(dir.to_str().unwrap()).expect("the study runs");
    assert_eq!(s.rows.len(), 4);
    assert!(s.rows.iter().all(|r| r.kappa_hat.is_some()));
    assert!(s.rows.iter().all(|r| r.fluctuation.is_some()));
    let fit = s.fit.as_ref().expect("a fit");
    assert!(fit.verdict.is_some() && s.verdict.is_some());
    for f in [
        "summary.json",
        "rows.csv",
        "error_vs_n.png",
        "constant_vs_n.svg",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let back: stdp_flow::Summary =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(back.rows.len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

struct Linear2;
impl Loss for Linear2 {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, t: &[f64]) -> f64 {
        t[0] - 0.5 * t[1]
    }
    fn gradient(&self, _t: &[f64], g: &mut [f64]) {
        g.copy_from_slice(&[1.0, -0.5]);
    }
}

/// The same user-defined loss and the built-in linear loss give the same random streams only
/// if they have the same identity: a study's name enters every stream, so renaming changes the
/// numbers while a rerun reproduces them bit for bit.
#[test]
fn studies_are_reproducible_and_keyed_by_name() {
    let run = |name: &str| {
        ConvergenceStudy::new(name, |_| Box::new(Linear2))
            .theta0(vec![0.0, 0.0])
            .n([100, 200])
            .trajectories(16)
            .run()
            .unwrap()
    };
    let (a, b, c) = (run("a"), run("a"), run("b"));
    let bits = |s: &stdp_flow::Summary| s.rows[1].sup_sq_error.unwrap().mean.to_bits();
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&c));
}

/// Invalid configurations are errors that name the builder method and the fix.
#[test]
fn invalid_studies_are_refused() {
    let e = ConvergenceStudy::new("x", |_| Box::new(Linear2))
        .run()
        .expect_err("no dimension set");
    assert!(e.to_string().contains("theta0"), "{e}");
    let e = ConvergenceStudy::new("x", |_| Box::new(Linear2))
        .theta0(vec![0.0, 0.0])
        .scaling(Scaling::paper(1.0, 1.0))
        .claim(ClaimSpec::constant(Metric::TerminalSqError, 0.05))
        .run()
        .expect_err("no fluctuation limit under the paper rule");
    assert!(e.to_string().contains("fluctuation limit"), "{e}");
    // The limits of the file reader hold for the builder too.
    let e = ConvergenceStudy::new("x", |_| Box::new(Linear2))
        .theta0(vec![0.0, 0.0])
        .horizon(1e12)
        .run()
        .expect_err("a horizon beyond the reader's limit");
    assert!(e.to_string().contains("ConvergenceStudy::horizon"), "{e}");
    let e = ConvergenceStudy::new("x", |_| Box::new(Linear2))
        .dims([], 0.0)
        .run()
        .expect_err("no dimension");
    assert!(e.to_string().contains("ConvergenceStudy::dims"), "{e}");
}

/// The key and the fix of a builder's error.
fn key_and_fix(study: ConvergenceStudy) -> (String, String) {
    match study.run().expect_err("refused") {
        stdp_flow::Error::InvalidValue { key, expected, .. } => (key, expected),
        e => panic!("not an invalid value: {e}"),
    }
}

/// Errors of the checks shared with experiment files name the builder method to call
/// differently (never a file key such as `sweep.n`), and their fix speaks in builder calls.
#[test]
fn shared_checks_name_builder_methods() {
    use stdp_flow::DriftChoice;
    let study = || ConvergenceStudy::new("x", |_| Box::new(Linear2)).theta0(vec![0.0, 0.0]);
    let cases = [
        (study().scaling(Scaling::paper(1.0, 1.0)), "drift"),
        (
            study().n([100, 200]).claim(ClaimSpec::slope(-1.0, 0.5)),
            "n",
        ),
        (
            study().claim(ClaimSpec::slope(-1.0, 0.5).against_dim()),
            "dims",
        ),
        (study().scaling(Scaling::corrected(1e120, 1.0)), "scaling"),
        (study().drift(DriftChoice::Value(1e300)), "drift"),
        (
            study()
                .scaling(Scaling::paper(1.0, 1.0))
                .claim(ClaimSpec::constant(Metric::TerminalSqError, 0.05)),
            "claim",
        ),
        (
            study().claim(ClaimSpec::constant(Metric::KappaHat, 0.05).against_dim()),
            "claim",
        ),
    ];
    for (i, (s, method)) in cases.into_iter().enumerate() {
        let (key, fix) = key_and_fix(s);
        assert_eq!(
            key,
            format!("ConvergenceStudy::{method}"),
            "case {i}: {fix}"
        );
        for toml in [
            "claim.",
            "sweep.",
            "reference.",
            "rule =",
            "against =",
            "[grid]",
        ] {
            assert!(!fix.contains(toml), "case {i}: `{toml}` in the fix: {fix}");
        }
    }
    let (_, fix) = key_and_fix(study().scaling(Scaling::paper(1.0, 1.0)));
    assert!(fix.contains(".drift(DriftChoice::Exact)"), "{fix}");
}

/// `verify` is a library call: it returns its outcome instead of exiting, and names the
/// experiments whose verdict differs from their `expect`. False-failure probability over seeds:
/// the slope's standard error on these sizes is about 0.02 (seed 3: -1.031, 95% interval
/// [-1.067, -0.995]), so the interval leaves the band [-1.5, -0.5] only if the estimate is off by
/// more than 20 standard errors: far below 1e-4.
#[test]
fn verify_is_a_library_call_with_an_outcome() {
    use stdp_flow::app::{self, Outcome, VerifyRequest};
    let dir = std::env::temp_dir().join(format!("stdp-flow-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let experiments = dir.join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    let file = |expect: &str| {
        common::tiny_experiment("tiny", 3)
            .replace("n = [100, 200, 400]", "n = [100, 400, 1600]")
            .replace("trajectories = 64", "trajectories = 400")
            + &format!("expect = \"{expect}\"\n")
    };
    let request = VerifyRequest {
        quick: false,
        out: dir.join("results"),
        experiments: experiments.clone(),
        seed: None,
        threads: Some(2),
        quiet: true,
    };
    std::fs::write(experiments.join("tiny.toml"), file("holds")).unwrap();
    let outcome = app::verify(&request).expect("verify runs");
    let report = std::fs::read_to_string(dir.join("results/REPORT.md")).unwrap();
    assert_eq!(outcome, Outcome::Success, "{report}");
    assert!(report.contains("## tiny"));
    std::fs::write(experiments.join("tiny.toml"), file("fails")).unwrap();
    let outcome = app::verify(&request).expect("verify runs");
    assert_eq!(outcome, Outcome::Mismatch(vec!["tiny".into()]));
    let _ = std::fs::remove_dir_all(&dir);
}
