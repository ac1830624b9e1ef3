//! The figures of a hand-made summary: all drawn, deterministically; missing data skipped.

use super::draw_all;
use crate::claims::{Against, ClaimSpec, Metric};
use crate::error::Error;
use crate::provenance::Provenance;
use crate::results::{DriftConstants, FitReport, PathRecord, PhaseCell, Row, Summary};
use crate::stats::{Estimate, PowerLawFit, Verdict, VerdictKind, fit_power_law};

fn est(mean: f64, rel: f64) -> Estimate {
    let se = rel * mean;
    Estimate {
        mean,
        std_error: se,
        ci95: [mean - 1.96 * se, mean + 1.96 * se],
    }
}

fn row(n: u64, dim: usize, beta: f64, gamma: f64) -> Row {
    let nf = n as f64;
    let err = 0.4 * dim as f64 / nf;
    Row {
        n,
        dim,
        beta,
        gamma,
        trajectories: 400,
        diverged: 0,
        kappa: 0.5,
        kappa_n: 0.5 * (1.0 + 1.0 / nf),
        alpha_n: 1.0,
        a_n: 1.0 / nf.sqrt(),
        steps: n,
        sup_sq_error: Some(est(err, 0.05)),
        terminal_sq_error: Some(est(0.5 * err, 0.05)),
        terminal_bias_sq: Some(0.01 / (nf * nf)),
        terminal_variance: Some(0.3 * err),
        kappa_hat: Some(est(0.5 * (1.0 + 2.0 / nf.sqrt()), 0.02)),
        fluctuation: Some(crate::fluctuation::Fluctuation {
            terminal_sq: 0.7,
            sup_sq: Some(crate::fluctuation::McValue {
                mean: 1.3,
                std_error: 0.01,
            }),
        }),
        seconds: 0.1,
    }
}

/// The sup fit against n at d = 2, with a slope claim that holds.
fn fit_report(rows: &[Row]) -> FitReport {
    let main: Vec<&Row> = rows.iter().filter(|r| r.dim == 2).collect();
    let x: Vec<f64> = main.iter().map(|r| r.n as f64).collect();
    let y: Vec<f64> = main.iter().map(|r| r.sup_sq_error.unwrap().mean).collect();
    let se: Vec<f64> = main
        .iter()
        .map(|r| r.sup_sq_error.unwrap().std_error)
        .collect();
    let fit = fit_power_law(&x, &y, &se).expect("fit");
    FitReport {
        metric: Metric::SupSqError,
        against: Against::N,
        at_dim: Some(2),
        at_n: None,
        beta: 0.0,
        gamma: 0.5,
        x,
        fit,
        corrected: None,
        constant: None,
        claim: Some(ClaimSpec {
            kind: crate::claims::ClaimKind::Slope,
            grid_term: false,
            metric: Metric::SupSqError,
            against: Against::N,
            slope: Some(-1.0),
            tolerance: 0.15,
            decay: true,
            expect: Some(VerdictKind::Holds),
            statement: "corrected rate".into(),
            fit_from: None,
            fit_to: None,
        }),
        verdict: Some(Verdict {
            kind: VerdictKind::Holds,
            reason: "inside the band".into(),
        }),
    }
}

/// Paths near exp(-t), exp(-t)/2 and 1 - t/2, at n = 100, d = 3.
fn path_record() -> PathRecord {
    let times: Vec<f64> = (0..=10).map(|k| f64::from(k) / 10.0).collect();
    let flow: Vec<Vec<f64>> = times
        .iter()
        .map(|t| vec![(-t).exp(), 0.5 * (-t).exp(), 1.0 - t / 2.0])
        .collect();
    let wiggle = |s: f64| -> Vec<Vec<f64>> {
        flow.iter()
            .enumerate()
            .map(|(k, z)| {
                z.iter()
                    .map(|v| v + s * 0.02 * ((k as f64) * 1.7 + s).sin())
                    .collect()
            })
            .collect()
    };
    PathRecord {
        n: 100,
        dim: 3,
        times: times.clone(),
        mean: wiggle(0.3),
        samples: vec![wiggle(1.0), wiggle(-2.0), wiggle(3.0)],
        flow,
    }
}

fn phase_cell(fit: &PowerLawFit, beta: f64, gamma: f64, slope: f64, class: &str) -> PhaseCell {
    PhaseCell {
        beta,
        gamma,
        error_slope: Some(PowerLawFit {
            slope,
            ci95: [slope - 0.05, slope + 0.05],
            ..fit.clone()
        }),
        drift_slope: None,
        drift_class: serde_json::from_value(class.into()).expect("a drift class"),
        predicted_drift_exponent: 1.0 - beta - 2.0 * gamma,
        predicted_noise_exponent: 1.0 - 2.0 * beta - 4.0 * gamma,
        diverged: 0,
    }
}

fn summary() -> Summary {
    let ns = [100u64, 316, 1000, 3162];
    let mut rows = Vec::new();
    for d in [2usize, 8] {
        for &n in &ns {
            rows.push(row(n, d, 0.0, 0.5));
        }
    }
    let report = fit_report(&rows);
    let record = path_record();
    Summary {
        status: crate::results::Status::Complete,
        verdict: None,
        resume_key: String::new(),
        name: "synthetic".into(),
        title: "Hand-made summary for the figure tests".into(),
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
        drift_constants: DriftConstants {
            four_alpha: 2.0,
            two_thirds_alpha_a2: 0.5,
        },
        rows,
        phase: vec![
            phase_cell(&report.fit, 0.0, 0.5, -0.98, "converges"),
            phase_cell(&report.fit, 0.0, 1.0 / 3.0, 0.4, "explodes"),
        ],
        fit: Some(report.clone()),
        fits: vec![report],
        paths: vec![record.clone(), PathRecord { n: 3162, ..record }],
    }
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stdp-flow-figures-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn draws_every_figure_deterministically() {
    let s = summary();
    let dir = scratch("all");
    let stems = draw_all(&s, &dir).expect("draw");
    assert_eq!(
        stems,
        [
            "error_vs_n",
            "paths",
            "kappa_vs_n",
            "error_vs_dim",
            "phase",
            "bias_variance",
            "constant_vs_n"
        ]
    );
    let read = |stem: &str, ext: &str| {
        std::fs::read(dir.join(format!("{stem}.{ext}"))).expect("file written")
    };
    let first: Vec<(Vec<u8>, Vec<u8>)> = stems
        .iter()
        .map(|t| (read(t, "png"), read(t, "svg")))
        .collect();
    for (png, svg) in &first {
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]));
        assert!(String::from_utf8_lossy(svg).contains("<svg"));
    }
    draw_all(&s, &dir).expect("draw again");
    for (t, (png, svg)) in stems.iter().zip(&first) {
        assert!(read(t, "png") == *png, "{t}.png differs between two runs");
        assert!(read(t, "svg") == *svg, "{t}.svg differs between two runs");
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn missing_data_is_skipped() {
    let mut s = summary();
    s.phase.clear();
    s.paths.clear();
    s.fit = None;
    s.fits.clear();
    s.rows.retain(|r| r.dim == 2);
    for r in &mut s.rows {
        r.kappa_hat = None;
        r.fluctuation = None;
        r.terminal_bias_sq = Some(0.0);
    }
    s.rows[0].sup_sq_error = Some(est(-1.0, 0.1));
    let dir = scratch("missing");
    let stems = draw_all(&s, &dir).expect("draw");
    assert_eq!(stems, ["error_vs_n", "bias_variance"]);
    s.rows.clear();
    assert!(draw_all(&s, &dir).expect("draw").is_empty());
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn unwritable_folder_is_an_io_error() {
    let file = scratch("io");
    std::fs::write(&file, b"not a folder").expect("scratch file");
    let err = draw_all(&summary(), &file.join("figures")).expect_err("a file blocks the folder");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    std::fs::remove_file(&file).expect("clean up");
}

#[test]
fn paths_say_when_every_trajectory_diverged() {
    let mut s = summary();
    for p in &mut s.paths {
        p.dim = 2;
    }
    for r in s.rows.iter_mut().filter(|r| r.dim == 2 && r.n == 100) {
        r.diverged = r.trajectories;
    }
    for r in s.rows.iter_mut().filter(|r| r.dim == 2 && r.n == 3162) {
        r.diverged = 7;
    }
    let dir = scratch("diverged");
    draw_all(&s, &dir).expect("draw");
    let svg = std::fs::read_to_string(dir.join("paths.svg")).expect("paths.svg");
    assert!(
        svg.contains("all 400 trajectories diverged"),
        "no note of divergence"
    );
    assert!(
        svg.contains("7 of 400 trajectories diverged"),
        "no note of partial divergence"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}
