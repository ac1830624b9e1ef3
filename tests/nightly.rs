//! The nightly suite (`cargo test --release -- --ignored`, `just nightly`): every experiment in
//! `experiments/` at full size, on its own seed and on a second seed, must reach its `expect`
//! (the learning experiment: see `learning_logistic` for what is asserted).
//!
//! False-failure probability: each verdict rests on a 95% interval lying inside (or outside) a
//! band. Slope claims: at the sizes in the files (results/REPORT.md, seed 1) the closest case is
//! the dimension bound, whose local slope from d = 64 to 128 has the interval [0.970, 0.990]
//! against the bound 1.1, more than 20 standard errors of room; every other slope interval has
//! more room. Constant claims (measured / predicted within 1 +- 0.05): constant-dimension and
//! constant-corrected-terminal are sized for this suite from their standard errors (the
//! reasoning is in each file): about 9e-6 per seed each (1.8e-5 per test of two seeds);
//! constant-corrected-sup and constant-logistic have standard errors of 0.0050 to 0.0053, 7
//! standard errors of room or more; constant-wrong-drift fails by a factor of 3e7. With
//! `learning_logistic` (below 1e-5 per seed), the false-failure probability of the whole suite is
//! about 6e-5, below the 1e-4 this project aims at (1.3e-4 if both sized claims kept a finite-n
//! bias of 0.3%).

mod common;

use std::path::Path;
use stdp_flow::experiment::load;

fn check(name: &str, seed_offset: u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(format!("{name}.toml"));
    let mut exp = load(&path).unwrap();
    exp.seed += seed_offset;
    let expect = exp.claim.as_ref().and_then(|c| c.expect);
    let s = common::simulate(&exp);
    // A file without `expect` (the phase diagram) only has to run; one with it must reach a
    // verdict, and the expected one.
    let Some(expect) = expect else { return };
    let v = (s.fit.as_ref().and_then(|f| f.verdict.as_ref()))
        .unwrap_or_else(|| panic!("{name} (seed {}): no verdict", exp.seed));
    assert_eq!(v.kind, expect, "{name} (seed {}): {}", exp.seed, v.reason);
}

macro_rules! nightly {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[test]
        #[ignore = "full-size experiment; run with `just nightly`"]
        fn $test() {
            check($name, 0);
            check($name, 1000);
        }
    )*};
}

nightly! {
    theorem1_corrected => "theorem1-corrected",
    theorem1_first_version => "theorem1-first-version",
    theorem1_dimension => "theorem1-dimension",
    drift_first_version => "drift-first-version",
    drift_corrected => "drift-corrected",
    phase_diagram => "phase-diagram",
    constant_corrected_terminal => "constant-corrected-terminal",
    constant_corrected_sup => "constant-corrected-sup",
    constant_logistic => "constant-logistic",
    constant_dimension => "constant-dimension",
    constant_wrong_drift => "constant-wrong-drift",
}

/// The logistic learning experiment at full size on seed 1 and on seed 1001 (which also changes
/// the split). The assertions keep wide margins, stated in standard errors of seed 1's results
/// (40 replicates, results/REPORT.md):
/// - the distance slope's interval lies inside [-1.3, -0.7]: the fitted slope (-1.062) had
///   standard error 0.025, so each end is more than 7 standard errors from those limits;
/// - STDP at the largest n matches the flow: the paired accuracy difference's interval lies in
///   [-0.02, 0.02] (mean 0.0005 with standard error 0.0005: over 30 standard errors);
/// - single-update with STDP's own alpha diverges in more than half of the replicates (all 40 did:
///   its loss differences across samples make |theta| grow geometrically), and with alpha 100
///   times smaller ends within 0.02 of the flow in more than half (39 of 40 did: it ended 1.5
///   points above the flow on average, 3.5 points clear of the threshold).
///
/// Each has a false-failure probability far below 1e-5 per seed. The STDP-SGD comparison is not
/// asserted: its interval sits within one standard error of the band's edge (see the experiment
/// file), so its verdict can change with the seed.
#[test]
#[ignore = "full-size experiment; run with `just nightly`"]
fn learning_logistic() {
    use stdp_flow::experiment::{Overrides, Spec, load_any};
    use stdp_flow::learning::study;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/learning-logistic.toml");
    for seed in [1, 1001] {
        let Spec::Learning(exp) = load_any(&path).unwrap() else {
            panic!("not a learning experiment")
        };
        let mut exp = *exp;
        exp.apply(&Overrides {
            seed: Some(seed),
            ..Overrides::default()
        })
        .unwrap();
        let p = study::prepare(&exp).unwrap();
        let s = study::run(&p, 0, false, &stdp_flow::Silent);
        let f = s.distance_fit.as_ref().and_then(|f| f.fit.as_ref());
        let ci = f.expect("a distance fit").ci95;
        assert!(ci[0] > -1.3 && ci[1] < -0.7, "seed {seed}: slope {ci:?}");
        let a = s.accuracy.first().expect("an accuracy claim");
        let flow = a
            .comparisons
            .iter()
            .find(|c| c.reference == "flow")
            .unwrap();
        assert!(
            flow.difference.ci95[0] > -0.02 && flow.difference.ci95[1] < 0.02,
            "seed {seed}: {flow:?}"
        );
        for r in s.runs.iter().filter(|r| r.rule == "single-update") {
            let alpha = r.alpha_n.unwrap();
            let reached = r
                .final_test_accuracy
                .iter()
                .zip(
                    &s.runs
                        .iter()
                        .find(|r| r.rule == "flow")
                        .unwrap()
                        .final_test_accuracy,
                )
                .filter(|(a, b)| matches!((a, b), (Some(a), Some(b)) if *a >= b - 0.02))
                .count();
            if alpha > 1.0 {
                assert!(2 * r.diverged > r.replicates, "seed {seed}: {}", r.label());
            } else {
                assert!(
                    2 * reached as u64 > r.replicates,
                    "seed {seed}: {}",
                    r.label()
                );
            }
        }
    }
}
