//! Times `fluctuation::predict` (trace P(T) and the simulated E sup |V|^2 of the fluctuation
//! limit) and `terminal_limit` (trace P(T) alone) at several dimensions and losses, and prints
//! each simulated prediction with its standard error.
//!
//! `cargo run --release --example fluctuation_timing [repeats] [loss:d ...]` (best of `repeats`,
//! default 3; the cases named, default all; the stream seed from the environment variable `SEED`,
//! default 1).
//! Workload: unit x = (1/sqrt d, ...), y = 1, theta0 = 0, corrected scaling alpha = A = 1
//! (kappa = 2/3, alpha^2 A^4 = 1), T = 1, the default budget.

use std::time::Instant;
use stdp_flow::Loss;
use stdp_flow::fluctuation::{Diffusion, SupBudget, predict, terminal_limit};
use stdp_flow::loss::{LogCosh, Logistic, Quadratic};

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let model = Diffusion {
        kappa: 2.0 / 3.0,
        noise: 1.0,
        horizon: 1.0,
    };
    let named: Vec<String> = std::env::args().skip(2).collect();
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let cases: Vec<(&str, usize)> = [2, 4, 8, 16, 32, 128]
        .iter()
        .map(|&d| ("logistic", d))
        .chain([("quadratic", 32), ("logcosh", 32), ("logcosh", 4)])
        .filter(|(kind, d)| named.is_empty() || named.contains(&format!("{kind}:{d}")))
        .collect();
    println!("loss       d   predict_s terminal_s  sup_sq                 std_error");
    for (kind, d) in cases {
        let x = vec![1.0 / (d as f64).sqrt(); d];
        let loss: Box<dyn Loss> = match kind {
            "logistic" => Box::new(Logistic::new(x, 1.0)),
            "quadratic" => Box::new(Quadratic::new(
                vec![1.0; d],
                (0..d).map(|i| 0.5 + i as f64 / d as f64).collect(),
            )),
            _ => Box::new(LogCosh::new(vec![1.5; d])),
        };
        let theta0 = vec![0.0; d];
        let mut best = f64::INFINITY;
        let mut f = None;
        for _ in 0..repeats {
            let t = Instant::now();
            f = Some(predict(
                loss.as_ref(),
                &theta0,
                model,
                &SupBudget::default(),
                seed,
            ));
            best = best.min(t.elapsed().as_secs_f64());
        }
        let mut terminal = f64::INFINITY;
        for _ in 0..repeats {
            let t = Instant::now();
            terminal_limit(loss.as_ref(), &theta0, model);
            terminal = terminal.min(t.elapsed().as_secs_f64());
        }
        let s = f.and_then(|f| f.sup_sq).expect("within budget");
        println!(
            "{kind:10} {d:4} {best:9.4} {terminal:9.4}   {:.17e} {:.6e}",
            s.mean, s.std_error
        );
    }
}
