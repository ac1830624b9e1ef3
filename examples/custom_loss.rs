//! A convergence study of a loss defined here, not in the crate: L(theta) = sum_i (theta_i - 1)^4 / 4.
//!
//! `cargo run --release --example custom_loss [OUT_DIR]` simulates the corrected scaling, fits the
//! rate, decides the claim and writes summary.json, rows.csv and the figures (default
//! `target/custom_loss`).

use stdp_flow::{ClaimSpec, ConvergenceStudy, Loss, Scaling};

/// L(theta) = sum_i (theta_i - 1)^4 / 4: smooth, with a gradient that is not bounded.
struct Quartic(usize);

impl Loss for Quartic {
    fn dim(&self) -> usize {
        self.0
    }
    fn value(&self, theta: &[f64]) -> f64 {
        theta.iter().map(|t| (t - 1.0).powi(4) / 4.0).sum()
    }
    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        for (g, t) in grad.iter_mut().zip(theta) {
            *g = (t - 1.0).powi(3);
        }
    }
}

/// The study: a dozen lines from the loss to the written results.
pub fn study(out: &str) -> Result<stdp_flow::Summary, stdp_flow::Error> {
    let summary = ConvergenceStudy::new("quartic", |d| Box::new(Quartic(d)))
        .theta0(vec![0.0, 0.5, 2.0])
        .scaling(Scaling::corrected(1.0, 1.0))
        .n([100, 316, 1000, 3162])
        .trajectories(512)
        .seed(1)
        .claim(ClaimSpec::slope(-1.0, 0.1))
        .run()?;
    summary.write(out)?;
    Ok(summary)
}

fn main() -> Result<(), stdp_flow::Error> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or("target/custom_loss".into());
    let summary = study(&out)?;
    if let Some(v) = &summary.verdict {
        println!("{}: {} ({})", summary.name, v.kind, v.reason);
    }
    println!("wrote {out}");
    Ok(())
}
