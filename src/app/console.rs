//! Everything the workflows print: the progress bar (with the `cli` feature, on a terminal), the
//! per-point table, the fit and verdict lines, and the learning and bench tables.

use crate::experiment::Point;
use crate::learning::study::LearningSummary;
use crate::report::markdown;
use crate::results::{Row, Summary};
use crate::run::Observer;

/// Progress of one run: a bar on stderr (when it is a terminal and the `cli` feature is on) and,
/// unless quiet, one table line per finished point on stdout.
pub struct Progress {
    #[cfg(feature = "cli")]
    bar: Option<indicatif::ProgressBar>,
    table: bool,
}

impl Progress {
    /// Progress over `total` work units; `quiet` shows nothing.
    pub fn new(total: u64, quiet: bool) -> Self {
        #[cfg(feature = "cli")]
        let bar = {
            use std::io::IsTerminal;
            (!quiet && std::io::stderr().is_terminal()).then(|| {
                let b = indicatif::ProgressBar::new(total);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta} {msg}",
                    )
                    .expect("valid template"),
                );
                b
            })
        };
        #[cfg(not(feature = "cli"))]
        let _ = total;
        Self {
            #[cfg(feature = "cli")]
            bar,
            table: !quiet,
        }
    }

    /// Prints a line on stdout without tearing the bar.
    pub fn println(&self, line: &str) {
        #[cfg(feature = "cli")]
        if let Some(b) = &self.bar {
            b.suspend(|| println!("{line}"));
            return;
        }
        println!("{line}");
    }

    /// Sets the text after the bar.
    pub fn message(&self, _text: String) {
        #[cfg(feature = "cli")]
        if let Some(b) = &self.bar {
            b.set_message(_text);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        #[cfg(feature = "cli")]
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn start_point(&self, p: &Point, _work: u64) {
        self.message(format!("d = {}, n = {}", p.dim, p.n));
    }

    fn advance(&self, _work: u64) {
        #[cfg(feature = "cli")]
        if let Some(b) = &self.bar {
            b.inc(_work);
        }
    }

    fn finish_point(&self, r: &Row) {
        if self.table {
            self.println(&row_line(r));
        }
    }
}

/// A number in at most `width` characters: fixed with `decimals` decimals where that is exact
/// enough and short, scientific otherwise (a kappa of 1e197 must not print 198 digits).
pub fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// The header of the per-point table.
pub fn header_line() -> String {
    format!(
        "{:>5} {:>9} {:>6} {:>6} {:>5} {:>9} {:>24} {:>24} {:>11} {:>7}",
        "d",
        "n",
        "beta",
        "gamma",
        "div",
        "kappa",
        "realised kappa [95% CI]",
        "E sup err^2 [95% CI]",
        "E term err^2",
        "seconds"
    )
}

/// One row of the per-point table.
pub fn row_line(r: &Row) -> String {
    let kh = r.kappa_hat.map_or("-".into(), |k| {
        format!(
            "{} [{},{}]",
            number(k.mean, 3),
            number(k.ci95[0], 3),
            number(k.ci95[1], 3)
        )
    });
    let sup = r.sup_sq_error.map_or("-".into(), |e| {
        let half = 100.0 * (e.ci95[1] - e.mean) / e.mean;
        if half.is_finite() {
            format!("{:.3e} ±{half:.1}%", e.mean)
        } else {
            format!("{:.3e} [{:.2e},{:.2e}]", e.mean, e.ci95[0], e.ci95[1])
        }
    });
    let term = r
        .terminal_sq_error
        .map_or("-".into(), |e| format!("{:.3e}", e.mean));
    format!(
        "{:>5} {:>9} {:>6.3} {:>6.3} {:>5} {:>9} {:>24} {:>24} {:>11} {:>7.2}",
        r.dim,
        r.n,
        r.beta,
        r.gamma,
        r.diverged,
        number(r.kappa, 4),
        kh,
        sup,
        term,
        r.seconds
    )
}

/// The fit and verdict line of a finished convergence run.
pub fn print_fit(s: &Summary) {
    if let Some(f) = &s.fit {
        let claimed = f.claim.as_ref().map_or(String::new(), |c| {
            format!(" (claim: {})", markdown::claim_text(c))
        });
        println!(
            "result: {}{claimed}{}",
            markdown::result_text(f),
            f.verdict
                .as_ref()
                .map_or(String::new(), |v| format!(" -> {} ({})", v.kind, v.reason))
        );
    }
}

/// The per-run table and claim lines of a finished learning study.
pub fn print_learning(s: &LearningSummary) {
    for r in &s.runs {
        let acc = r.curve.last().map_or("-".into(), |p| {
            let e = p.test_accuracy;
            format!("{:.4} [{:.4}, {:.4}]", e.mean, e.ci95[0], e.ci95[1])
        });
        let dist = r
            .sup_distance_to_flow
            .map_or("-".into(), |e| format!("{:.3e}", e.mean));
        println!(
            "{:<36} test accuracy {acc:<26} sup |theta - flow|^2 {dist:<10} diverged {}/{}",
            r.label(),
            r.diverged,
            r.replicates
        );
    }
    if let Some(f) = &s.distance_fit {
        println!(
            "distance fit: slope {}{}",
            f.fit
                .as_ref()
                .map_or("- (too few estimates)".into(), |f| format!(
                    "{:.4} [{:.4}, {:.4}]",
                    f.slope, f.ci95[0], f.ci95[1]
                )),
            f.verdict
                .as_ref()
                .map_or(String::new(), |v| format!(" -> {} ({})", v.kind, v.reason))
        );
    }
    for a in &s.accuracy {
        println!(
            "accuracy claim -> {} ({})",
            a.verdict.kind, a.verdict.reason
        );
    }
    if let Some(a) = &s.single_update {
        println!(
            "single-update claim -> {} ({})",
            a.verdict.kind, a.verdict.reason
        );
    }
}

/// Seconds as "42 s", "3.5 min" or "2.1 h".
pub fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The bench table, and a warning for each workload whose repeats disagree by more than 10%.
pub fn print_bench(results: &[crate::bench::BenchResult]) {
    if let Some(r) = results.first() {
        println!("kernel instruction set: {}", r.isa);
    }
    println!(
        "{:<16} {:>9} {:>13} {:>11} {:>11} {:>11} {:>10} {:>8} {:>9} {:>7}",
        "workload",
        "threads",
        "steps/s",
        "ns/step/core",
        "median ns",
        "minimal ns",
        "vs minimal",
        "rng ns",
        "speed-up",
        "flow %"
    );
    for r in results {
        println!(
            "{:<16} {:>9} {:>13.3e} {:>11.2} {:>11.2} {:>11.2} {:>9.2}x {:>8.2} {:>8.2}x {:>7.2}",
            r.workload,
            r.threads,
            r.steps_per_second,
            r.ns_per_step_per_core,
            r.ns_per_step_per_core * (1.0 + r.spread),
            r.minimal_ns_per_core,
            r.ratio_to_minimal,
            r.rng_ns_per_core,
            r.speedup,
            100.0 * r.flow_fraction
        );
    }
    for r in results.iter().filter(|r| r.spread > 0.1) {
        eprintln!(
            "warning: {}: the median of the repeats is {:.0}% above the fastest; the machine is noisy (other processes, frequency scaling): close other work and measure again, or use more --repeat",
            r.workload,
            100.0 * r.spread
        );
    }
}
