//! The nightly suite (`cargo test --release -- --ignored`, `just nightly`): every experiment in
//! `experiments/` at full size, on its own seed and on a second seed, must reach its `expect`.
//!
//! False-failure probability: each verdict rests on a 95% slope interval lying inside (or
//! outside) a band. At the sizes in the files (results/REPORT.md, seed 1; seed 2 agrees to 0.001)
//! the closest case is the dimension claim: slope 0.957 with standard error 0.0095, so `holds`
//! turns `inconclusive` only if the estimate falls below 0.9 + 1.96 x 0.0095 = 0.919, 4.0 standard
//! errors away (probability 3e-5 per seed). Every other interval is more than 10 standard errors
//! from its band edge. Over the 12 runs the false-failure probability is about 1e-4.

use std::path::Path;
use stdp_flow::analysis::{RunOptions, Silent, run};
use stdp_flow::experiment::load;

fn check(name: &str, seed_offset: u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(format!("{name}.toml"));
    let mut exp = load(&path).unwrap();
    exp.seed += seed_offset;
    let s = run(
        &exp,
        &RunOptions {
            threads: 0,
            quick: false,
        },
        &Silent,
    );
    let Some(fit) = &s.fit else { return };
    let (Some(v), Some(c)) = (&fit.verdict, &fit.claim) else {
        return;
    };
    if let Some(expect) = c.expect {
        assert_eq!(v.kind, expect, "{name} (seed {}): {}", exp.seed, v.reason);
    }
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
}
