//! Regression fingerprints of the engine's output bits, and of the fluctuation prediction's.
//!
//! Each case runs `engine::run_point` and hashes every number it returns (sups, terminal values
//! and parameters, divergence steps, the flow's path, the path sums and the sample paths) by
//! FNV-1a (`stdp_flow::fnv1a`) over their bit patterns. The expected values were recomputed
//! when the trajectories' generator became xoshiro256++ (session 7; every output bit changed)
//! and when the kernel became fused multiply-adds (session 10: the polynomials of exp, sinh and
//! log1p, the update of theta and the squared distances of the sup; every engine bit changed,
//! the same new bits on the AVX-512, AVX2 and baseline paths; the fluctuation prediction's
//! fingerprints did not change). At that commit the engine's terminal theta equalled, bit for bit, that of the minimal
//! fused kernel of `bench` (written separately, without the engine's bookkeeping) on every
//! instruction set of the machine, and the scalar reference recursion to 1e-9 (unit tests). Any
//! change of any output bit, including those of diverged (parked) lanes and padding, fails here,
//! on 1 and on 2 threads.
//! If a change of bits is intended (another generator, another exp), recompute the constants and
//! say why in the commit.

use stdp_flow::engine::{PointOutput, PointSpec, group_count, run_point};
use stdp_flow::fluctuation::{Diffusion, SupSimulation, sup_limit, terminal_limit};
use stdp_flow::fnv1a;
use stdp_flow::loss::{LogCosh, Logistic, Loss, Quadratic};

fn fingerprint(o: &PointOutput) -> String {
    let floats = o
        .sup_sq
        .iter()
        .chain(&o.terminal_sq)
        .chain(&o.terminal_theta)
        .chain(&o.flow_terminal)
        .chain(&o.flow_path)
        .chain(o.group_path_sums.iter().flatten())
        .chain(o.sample_paths.iter().flatten())
        .map(|x| x.to_bits());
    let diverged = o.diverged_at.iter().map(|d| d.map_or(u64::MAX, |l| l));
    let counts = o
        .group_path_counts
        .iter()
        .flatten()
        .chain(&o.checkpoint_steps);
    let bytes: Vec<u8> = floats
        .chain(diverged)
        .chain(counts.copied())
        .flat_map(u64::to_le_bytes)
        .collect();
    fnv1a(&bytes)
}

/// A loss the engine knows only as `dyn Loss`: sum of (theta_i - 1/2)^4 / 4.
struct Quartic(usize);

impl Loss for Quartic {
    fn dim(&self) -> usize {
        self.0
    }
    fn value(&self, t: &[f64]) -> f64 {
        t.iter().map(|x| (x - 0.5).powi(4) / 4.0).sum()
    }
    fn gradient(&self, t: &[f64], g: &mut [f64]) {
        for (g, x) in g.iter_mut().zip(t) {
            *g = (x - 0.5).powi(3);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn case(
    loss: &dyn Loss,
    theta0: &[f64],
    n: u64,
    m: u64,
    alpha: f64,
    a: f64,
    bound: f64,
) -> (String, usize) {
    let a_n = a / (n as f64).sqrt();
    let spec = PointSpec {
        loss,
        theta0,
        alpha_n: alpha,
        a_n,
        kappa: 2.0 / 3.0 * alpha * a * a,
        horizon: 1.0,
        substeps: 1,
        n,
        trajectories: m,
        seed: 2024,
        checkpoints: 50,
        divergence_bound: bound,
        groups: (0, group_count(m)),
    };
    on_one_and_two_threads(|| {
        let out = run_point(&spec, theta0.len() as u64, &|_| {});
        let diverged = out.diverged_at.iter().filter(|d| d.is_some()).count();
        (fingerprint(&out), diverged)
    })
}

/// `f`'s result on a pool of 1 and of 2 threads, which must agree.
fn on_one_and_two_threads<T: PartialEq + std::fmt::Debug + Send>(f: impl Fn() -> T + Sync) -> T {
    let [one, two] = [1usize, 2].map(|threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(&f)
    });
    assert_eq!(one, two, "1 and 2 threads differ");
    one
}

#[test]
fn engine_output_bits_are_unchanged() {
    let unit32 = vec![1.0 / 32f64.sqrt(); 32];
    let logcosh = LogCosh::new(vec![1.0, -0.5, 0.25]);
    let logistic = Logistic::new(unit32, 1.0);
    let quadratic = Quadratic::new(vec![1.0; 256], vec![1.0; 256]);
    let quartic = Quartic(5);
    let got = [
        // Crosses two blocks; 37 trajectories leave padding lanes.
        case(&logcosh, &[0.0; 3], 20_000, 37, 1.0, 1.0, 1e6),
        case(&logistic, &[0.0; 32], 3000, 16, 1.0, 1.0, 1e6),
        // Block length 1024: crosses blocks.
        case(&quadratic, &[0.0; 256], 1500, 9, 1.0, 1.0, 1e6),
        // Most lanes diverge and are parked.
        case(&logcosh, &[0.0; 3], 300, 24, 1.0, 1.0, 0.06),
        // The `dyn Loss` path.
        case(&quartic, &[0.0; 5], 2000, 11, 1.0, 1.0, 1e6),
        // A group of two batches in d > 8, which the engine advances together.
        case(&logistic, &[0.0; 32], 2000, 37, 1.0, 1.0, 1e6),
        // Parking inside a group of batches advanced together.
        case(&logcosh, &[0.0; 3], 300, 37, 1.0, 1.0, 0.06),
        // Groups of 40 and 45: chunks of four batches and a shorter last chunk, a 5-lane batch,
        // parking inside the chunks.
        case(&logcosh, &[0.0; 3], 300, 2565, 1.0, 1.0, 0.1),
        // d > 8 with groups of 16 and 24: a chunk of two, then a chunk of one.
        case(&logistic, &[0.0; 32], 500, 1100, 1.0, 1.0, 1e6),
        // d = 1, where row 0 is also the last row: chunks with padding, and parking.
        case(
            &LogCosh::new(vec![0.3]),
            &[0.0; 1],
            300,
            1301,
            1.0,
            1.0,
            0.02,
        ),
    ];
    for (k, m) in [(3, 24), (6, 37), (7, 2565), (9, 1301)] {
        let diverged = got[k].1;
        assert!(
            (1..m).contains(&diverged),
            "parking case {k} must park some lanes and keep others ({diverged} of {m} diverged)"
        );
    }
    let got = got.map(|g| g.0);
    println!("{got:?}");
    let want = [
        "7f319ff3f5e2f3a4",
        "cdf06d248b9c6822",
        "1ccd7647b343cb4b",
        "da6d8929f6daf09e",
        "1d8c0bd1ce226fac",
        "a52ac5c7c70b267b",
        "e5ef4e1d3d01be70",
        "f6aaa8db60fc2d60",
        "efac2d268d0872b5",
        "56811ea73ead17fd",
    ];
    assert_eq!(got, want);
}

/// Fingerprint of a simulation of V and of trace P(T), on 1 and 2 threads (which must agree).
fn prediction_case(loss: &dyn Loss, theta0: &[f64], steps: usize, paths: usize) -> String {
    let model = Diffusion {
        kappa: 2.0 / 3.0,
        noise: 1.0,
        horizon: 1.0,
    };
    on_one_and_two_threads(|| {
        let s: SupSimulation = sup_limit(loss, theta0, model, steps, paths, 11);
        let trace = terminal_limit(loss, theta0, model);
        let bytes: Vec<u8> = [s.sup_sq, s.grid_max, s.terminal_sq]
            .iter()
            .flat_map(|e| [e.mean, e.std_error])
            .chain([trace])
            .map(f64::to_bits)
            .chain([s.paths as u64])
            .flat_map(u64::to_le_bytes)
            .collect();
        fnv1a(&bytes)
    })
}

/// The bits of `fluctuation::sup_limit` and `terminal_limit` through each of the simulation's
/// propagators: rank one (logistic), diagonal (log cosh, quadratic), a dense matrix (a loss known
/// only as `dyn Loss`, d <= 16) and batched products (the same, d > 16). The constants were
/// computed when the simulation moved to lockstep batches and the ziggurat (session 9), and again
/// when the means of the sup and the grid maximum gained control variates (session 13: the same
/// paths, so the terminal mean and trace P(T) kept their bits); the instruction-set paths give
/// the same bits (unit tests in `lanes`, `normal` and `fluctuation::paths`), so they hold on every
/// x86-64 CPU. If a change of bits is intended, recompute them and say why in the commit.
#[test]
fn fluctuation_prediction_bits_are_unchanged() {
    let unit4 = vec![0.5; 4];
    let got = [
        prediction_case(&Logistic::new(unit4, 1.0), &[0.0; 4], 64, 1024),
        prediction_case(&LogCosh::new(vec![1.0, -0.5, 0.25]), &[0.0; 3], 64, 1024),
        prediction_case(
            &Quadratic::new(
                vec![1.0, -1.0, 0.5, 2.0, 0.0],
                vec![3.0, 0.5, 1.0, 2.0, 1.5],
            ),
            &[0.0; 5],
            64,
            1024,
        ),
        prediction_case(&Quartic(5), &[0.0; 5], 64, 1024),
        prediction_case(&Quartic(20), &[0.0; 20], 32, 512),
    ];
    println!("{got:?}");
    let want = [
        "ca5d9e0a129f74d4",
        "5ec92c3fd1a9ee68",
        "a0aa10b03c363f29",
        "087a403580d9fdcc",
        "334797339a3773eb",
    ];
    assert_eq!(got, want);
}
