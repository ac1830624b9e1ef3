//! The fluctuation limit's constants against simulation, at a size CI can afford: for every
//! built-in convergence loss (a quadratic with unequal curvatures, logcosh, a logistic loss in
//! d = 4 whose Hessian is not diagonal, and a linear loss), n E|Z^n_T - Z_T|^2 and
//! n E sup_t |Z^n_t - Z_t|^2 at the largest n must agree with trace P(T) and E sup |V|^2.
//!
//! Tolerance, in standard errors of the difference (the measured mean's and the prediction's
//! Monte Carlo error in quadrature): 4.5 for the terminal error, whose correction is O(1/n)
//! (3e-4 relative at n = 3000), so 6.8e-6 per comparison; 5 for the sup, whose grid maximum sits
//! below the supremum by about b n^(-1/2) (b / a about 0.5 on these losses: 1% at n = 3000, 0.3 to
//! 0.5 of a standard error of 2 to 3%), so at most P(Z < -4.5) = 3.4e-6 per comparison. With 4
//! comparisons of each the false-failure probability is below 4.1e-5 under a normal
//! approximation.

mod common;

use std::path::Path;
use stdp_flow::experiment::parse;

/// Runs the experiment in `src` with default options.
fn run_src(src: &str) -> stdp_flow::Summary {
    let exp = parse(src, Path::new("t.toml")).unwrap();
    common::simulate(&exp)
}

fn check(name: &str, loss: &str, theta0: &str) {
    let src = format!(
        "name = \"{name}\"\nseed = 7\n[loss]\n{loss}\n[start]\ntheta0 = {theta0}\n\
[scaling]\nrule = \"corrected\"\nalpha = 1.0\na = 1.0\n[reference]\ndrift = \"limit\"\n\
[sweep]\nn = [300, 3000]\ntrajectories = 3000\n"
    );
    let s = run_src(&src);
    let r = s.rows.last().unwrap();
    let f = r
        .fluctuation
        .expect("the corrected scaling has a fluctuation limit");
    let n = r.n as f64;
    let t = r.terminal_sq_error.unwrap();
    let z = (n * t.mean - f.terminal_sq) / (n * t.std_error);
    assert!(
        z.abs() < 4.5,
        "{name}: n E terminal = {} vs trace P(T) = {} (z = {z:.2})",
        n * t.mean,
        f.terminal_sq
    );
    let sup = r.sup_sq_error.unwrap();
    let p = f.sup_sq.expect("a simulated E sup |V|^2");
    let se = ((n * sup.std_error).powi(2) + p.std_error.powi(2)).sqrt();
    let z = (n * sup.mean - p.mean) / se;
    assert!(
        z.abs() < 5.0,
        "{name}: n E sup = {} vs E sup |V|^2 = {} (z = {z:.2})",
        n * sup.mean,
        p.mean
    );
}

#[test]
fn quadratic_with_unequal_curvatures() {
    check(
        "q",
        "kind = \"quadratic\"\ncenter = [1.0, -1.0, 0.5]\ncurvature = [0.5, 2.0, 1.0]",
        "[0.0, 0.5, -0.5]",
    );
}

#[test]
fn logcosh() {
    check(
        "c",
        "kind = \"logcosh\"\ncenter = [1.0, -0.5, 0.25]",
        "[0.0, 0.0, 0.0]",
    );
}

#[test]
fn logistic_in_four_dimensions() {
    check(
        "l",
        "kind = \"logistic\"\nx = [0.6, 0.8, -0.5, 0.3]\ny = 1",
        "[0.5, -0.5, 0.0, 1.0]",
    );
}

#[test]
fn linear() {
    check("g", "kind = \"linear\"\ng = [1.0, -0.5]", "[0.0, 0.0]");
}

/// A wrong reference (kappa = 4 alpha under the corrected scaling) must be caught: the measured
/// constant is then far from any prediction (this guards against a comparison that cannot fail).
#[test]
fn wrong_drift_is_caught() {
    let src = "name = \"w\"\nseed = 7\n[loss]\nkind = \"logcosh\"\ncenter = [1.0, -0.5, 0.25]\n\
[scaling]\nrule = \"corrected\"\nalpha = 1.0\na = 1.0\n[reference]\ndrift = \"paper\"\n\
[sweep]\nn = [300, 3000]\ntrajectories = 500\n[claim]\nkind = \"constant\"\n\
metric = \"terminal_sq_error\"\ntolerance = 0.05\n";
    let v = run_src(src).verdict.unwrap();
    assert_eq!(v.kind, stdp_flow::stats::VerdictKind::Fails, "{}", v.reason);
}
