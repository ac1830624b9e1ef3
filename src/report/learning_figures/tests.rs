//! The learning figures of a hand-made summary: all drawn, deterministically; missing data
//! skipped; STDP on its ramp by n.

use super::{Dash, draw_all, styles};
use crate::experiment::learning::{AccuracyClaim, DistanceClaim, RuleName};
use crate::learning::baseline::Baseline;
use crate::learning::study::{
    AccuracyReport, CurvePoint, DatasetInfo, DistanceFit, LearningSummary, RunRecord,
};
use crate::provenance::Provenance;
use crate::stats::{Estimate, Verdict, VerdictKind, fit_power_law};
use plotters::style::RGBColor;
use std::path::Path;

fn est(mean: f64, se: f64) -> Estimate {
    Estimate {
        mean,
        std_error: se,
        ci95: [mean - 1.96 * se, mean + 1.96 * se],
    }
}

/// A run whose accuracy rises towards `top` and whose loss decays, over `checkpoints` points.
fn run(rule: &str, n: Option<u64>, top: f64, checkpoints: usize) -> RunRecord {
    let curve: Vec<CurvePoint> = (1..=checkpoints)
        .map(|k| {
            let t = k as f64 / checkpoints as f64;
            CurvePoint {
                samples_seen: 50 * k,
                train_loss: est(0.7 * (-2.0 * top * t).exp() + 1.0 - top, 0.01),
                test_loss: est(0.7 * (-2.0 * top * t).exp() + 1.02 - top, 0.01),
                test_accuracy: est(0.5 + (top - 0.5) * (1.0 - (-3.0 * t).exp()), 0.01),
                distance_to_flow: (rule == "stdp").then(|| est(0.1 * t, 0.01)),
            }
        })
        .collect();
    let sup = match (rule, n) {
        ("stdp", Some(n)) if checkpoints > 0 => Some(est(2.0 / n as f64, 0.1 / n as f64)),
        _ => None,
    };
    RunRecord {
        rule: rule.into(),
        n,
        alpha_n: n.map(|_| 1.0),
        a_n: n.map(|n| 1.0 / (n as f64).sqrt()),
        replicates: 4,
        diverged: if checkpoints == 0 { 4 } else { 0 },
        samples: 500,
        loss_evaluations: 500 * (n.unwrap_or(0) + 1),
        gradient_evaluations: 500,
        seconds: 0.1,
        curve,
        sup_distance_to_flow: sup,
        final_test_accuracy: vec![Some(top); 4],
        accuracy_at_divergence: vec![None; 4],
    }
}

/// The power-law fit of the STDP distances for n ≥ 300, with a slope claim that holds.
fn distance_fit(runs: &[RunRecord]) -> DistanceFit {
    let fitted: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.rule == "stdp" && r.n.is_some_and(|n| n >= 300))
        .collect();
    let x: Vec<f64> = fitted
        .iter()
        .filter_map(|r| r.n)
        .map(|n| n as f64)
        .collect();
    let y: Vec<f64> = fitted
        .iter()
        .filter_map(|r| r.sup_distance_to_flow)
        .map(|e| e.mean)
        .collect();
    let se: Vec<f64> = fitted
        .iter()
        .filter_map(|r| r.sup_distance_to_flow)
        .map(|e| e.std_error)
        .collect();
    let fit = fit_power_law(&x, &y, &se).expect("fit");
    DistanceFit {
        n: x,
        fit: Some(fit),
        claim: Some(DistanceClaim {
            slope: -1.0,
            tolerance: 0.15,
            expect: Some(VerdictKind::Holds),
            statement: "the distance to the flow decays like 1/n".into(),
            fit_from: Some(300.0),
        }),
        verdict: Some(Verdict {
            kind: VerdictKind::Holds,
            reason: "the whole 95% interval of the slope lies inside the band \
                     [-1.15, -0.85], which a long reason must wrap across lines"
                .into(),
        }),
    }
}

fn accuracy_report() -> AccuracyReport {
    AccuracyReport {
        claim: AccuracyClaim {
            n: 1000,
            n_explicit: true,
            tolerance: 0.02,
            against: vec![RuleName::Flow, RuleName::Sgd],
            expect: Some(VerdictKind::Holds),
            statement: "STDP at n = 1000 matches the flow and SGD".into(),
        },
        comparisons: Vec::new(),
        verdict: Verdict {
            kind: VerdictKind::Holds,
            reason: "synthetic".into(),
        },
    }
}

fn dataset() -> DatasetInfo {
    DatasetInfo {
        file: "data/synthetic.csv".into(),
        fnv1a: "0".into(),
        label: "y".into(),
        classes: vec!["0".into(), "1".into()],
        features: 4,
        rows: 500,
        train_rows: 400,
        test_rows: 100,
    }
}

fn summary() -> LearningSummary {
    let mut runs = vec![run("stdp", Some(10), 0.9, 0)];
    for (n, top) in [(100, 0.88), (1000, 0.91), (3162, 0.92), (10000, 0.925)] {
        runs.push(run("stdp", Some(n), top, 10));
    }
    runs.push(run("flow", None, 0.93, 10));
    runs.push(run("sgd", None, 0.92, 10));
    runs.push(run("single-update", Some(1000), 0.7, 10));
    LearningSummary {
        kind: "learning".into(),
        name: "synthetic-learning".into(),
        title: "Hand-made learning summary for the figure tests".into(),
        config: serde_json::Value::Null,
        provenance: Provenance {
            version: "0".into(),
            git_commit: None,
            seed: 1,
            threads: 1,
            seconds: 0.0,
            quick: true,
            started_unix: 0,
        },
        dataset: dataset(),
        parameters: 5,
        kappa: 0.5,
        distance_fit: Some(distance_fit(&runs)),
        runs,
        accuracy: vec![accuracy_report()],
        single_update: None,
        baseline: Some(Baseline {
            method: "L2 logistic regression (Newton)".into(),
            c: 1.0,
            coefficients: vec![0.0; 5],
            iterations: 6,
            train_accuracy: 0.94,
            test_accuracy: 0.935,
            test_loss: 0.2,
        }),
        verdict: None,
    }
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stdp-flow-learning-figures-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(dir: &Path, stem: &str, ext: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{stem}.{ext}"))).expect("file written")
}

#[test]
fn draws_every_figure_deterministically() {
    let s = summary();
    let dir = scratch("all");
    let stems = draw_all(&s, &dir).expect("draw");
    assert_eq!(
        stems,
        ["learning_curves", "distance_vs_n", "final_accuracy"]
    );
    let first: Vec<(Vec<u8>, Vec<u8>)> = stems
        .iter()
        .map(|t| (read(&dir, t, "png"), read(&dir, t, "svg")))
        .collect();
    for (png, svg) in &first {
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]));
        assert!(png.len() > 1000 && svg.len() > 1000);
        assert!(String::from_utf8_lossy(svg).contains("<svg"));
    }
    let svg = |i: usize| String::from_utf8_lossy(&first[i].1).into_owned();
    // Legend text may wrap over several <text> elements; check fragments.
    assert!(svg(0).contains("stdp n=10: diverged in"));
    assert!(svg(0).contains("L2 logistic regression"));
    assert!(svg(1).contains("outside the fit range"));
    assert!(svg(1).contains("verdict: holds"));
    assert!(svg(2).contains("stdp n=10: diverged in 4/4 replicates"));
    draw_all(&s, &dir).expect("draw again");
    for (t, (png, svg)) in stems.iter().zip(&first) {
        assert!(
            read(&dir, t, "png") == *png,
            "{t}.png differs between two runs"
        );
        assert!(
            read(&dir, t, "svg") == *svg,
            "{t}.svg differs between two runs"
        );
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn missing_data_is_skipped() {
    let mut s = summary();
    s.distance_fit = None;
    s.accuracy = Vec::new();
    s.baseline = None;
    for r in s.runs.iter_mut().filter(|r| r.rule == "stdp").skip(2) {
        r.sup_distance_to_flow = None;
    }
    let dir = scratch("missing");
    let stems = draw_all(&s, &dir).expect("draw");
    assert_eq!(stems, ["learning_curves", "final_accuracy"]);
    for stem in &stems {
        assert!(!read(&dir, stem, "png").is_empty() && !read(&dir, stem, "svg").is_empty());
    }
    for r in &mut s.runs {
        r.curve.clear();
        r.diverged = r.replicates;
    }
    assert_eq!(draw_all(&s, &dir).expect("draw"), ["final_accuracy"]);
    s.runs.clear();
    assert!(draw_all(&s, &dir).expect("draw").is_empty());
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn stdp_steps_from_dark_to_light_and_differ() {
    let s = summary();
    let st = styles(&s.runs);
    let stdp: Vec<RGBColor> = s
        .runs
        .iter()
        .zip(&st)
        .filter(|(r, _)| r.rule == "stdp")
        .map(|(_, s)| s.color)
        .collect();
    let lum =
        |c: &RGBColor| 0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2);
    let dist = |a: &RGBColor, b: &RGBColor| {
        let d = |x: u8, y: u8| (f64::from(x) - f64::from(y)).powi(2);
        (d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)).sqrt()
    };
    assert!(stdp.windows(2).all(|w| lum(&w[0]) < lum(&w[1])));
    assert!(stdp.windows(2).all(|w| dist(&w[0], &w[1]) > 40.0));
    let flow = st[s.runs.iter().position(|r| r.rule == "flow").unwrap()];
    assert_eq!(flow.dash, Dash::Dashed);
}
