//! Agreement with an independent implementation of eq. 3.2: `tools/oracle/oracle.py`, written
//! separately in NumPy (different generator, lockstep over trajectories). Its outputs are stored in
//! `tools/oracle/results.txt`; this test simulates the same configurations and compares means.
//!
//! Each comparison is |ours - oracle| <= 4.8 sqrt(se_ours^2 + se_oracle^2). Both estimates are
//! independent and asymptotically normal, so each comparison fails falsely with probability
//! 1.6e-6; over the 18 comparisons (9 rows, sup and terminal) the false-failure probability is
//! below 3e-5.

mod common;

use std::path::Path;
use stdp_flow::experiment::parse;

struct OracleRow {
    n: u64,
    m: u64,
    sup: (f64, f64),
    term: (f64, f64),
}

fn oracle_rows(label: &str) -> Vec<OracleRow> {
    let text = include_str!("../tools/oracle/results.txt");
    let mut rows = Vec::new();
    let mut on = false;
    for line in text.lines() {
        if line.starts_with('#') {
            on = line.contains(label);
            continue;
        }
        if on && line.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            rows.push(OracleRow {
                n: v["n"].as_u64().unwrap(),
                m: v["M"].as_u64().unwrap(),
                sup: (
                    v["mean_sup_sq"].as_f64().unwrap(),
                    v["se_sup_sq"].as_f64().unwrap(),
                ),
                term: (
                    v["mean_term_sq"].as_f64().unwrap(),
                    v["se_term_sq"].as_f64().unwrap(),
                ),
            });
        }
    }
    assert!(!rows.is_empty(), "no oracle rows for {label}");
    rows
}

fn compare(label: &str, body: &str) {
    let rows = oracle_rows(label);
    let ns: Vec<String> = rows.iter().map(|r| r.n.to_string()).collect();
    let src = format!(
        "name = \"oracle\"\nseed = 20231\n{body}\n[sweep]\nn = [{}]\ntrajectories = 8000\n",
        ns.join(", ")
    );
    let exp = parse(&src, Path::new("oracle.toml")).unwrap();
    let s = common::simulate(&exp);
    for o in &rows {
        let r = s.rows.iter().find(|r| r.n == o.n).unwrap();
        for (what, ours, theirs) in [
            ("sup", r.sup_sq_error.unwrap(), o.sup),
            ("terminal", r.terminal_sq_error.unwrap(), o.term),
        ] {
            let tol = 4.8 * (ours.std_error.powi(2) + theirs.1.powi(2)).sqrt();
            assert!(
                (ours.mean - theirs.0).abs() <= tol,
                "{label} n={} {what}: ours {:.6e} ± {:.1e}, oracle {:.6e} ± {:.1e} (M={})",
                o.n,
                ours.mean,
                ours.std_error,
                theirs.0,
                theirs.1,
                o.m
            );
        }
    }
}

#[test]
fn logcosh_corrected_limit() {
    compare(
        "--loss logcosh --center 1,-0.5,0.25 --theta0 0,0,0 --rule corrected",
        "[loss]\nkind = \"logcosh\"\ncenter = [1.0, -0.5, 0.25]\n[scaling]\nrule = \"corrected\"\nalpha = 1.0\na = 1.0\n[reference]\ndrift = \"limit\"",
    );
}

#[test]
fn logcosh_first_version() {
    compare(
        "--rule paper --alpha 1 --a 1 --drift paper",
        "[loss]\nkind = \"logcosh\"\ncenter = [1.0, -0.5, 0.25]\n[scaling]\nrule = \"paper\"\nalpha = 1.0\na = 1.0\n[reference]\ndrift = \"paper\"",
    );
}

#[test]
fn quadratic_exact_drift() {
    compare(
        "--loss quadratic",
        "[loss]\nkind = \"quadratic\"\ncenter = [1.0, -1.0]\ncurvature = [1.0, 2.0]\n[scaling]\nrule = \"corrected\"\nalpha = 0.5\na = 2.0\n[reference]\ndrift = \"exact\"",
    );
}

#[test]
fn logistic_power_rule() {
    compare(
        "--loss logistic",
        "[loss]\nkind = \"logistic\"\nx = [0.6, 0.8]\ny = 1\n[scaling]\nrule = \"power\"\nalpha = 1.0\na = 1.0\nbeta = 0.2\ngamma = 0.4\n[reference]\ndrift = \"exact\"",
    );
}
