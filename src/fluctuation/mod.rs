//! The fluctuation (diffusion) limit of eq. 3.2: exact constants for the errors, not only their
//! rates (docs/model.md section 5).
//!
//! On the critical line beta + 2 gamma = 1 with gamma > 0 (the corrected scaling in particular),
//! sqrt(n) (theta(floor(t n)) - Z_t) converges to the Gaussian process V with
//!
//! ```text
//! dV = -kappa H(Z_t) V dt + S(Z_t)^(1/2) dW,
//! S(z) = alpha^2 A^4 [ (2/3) (|g|^2 I + g g^T) - (8/15) diag(g * g) ],   g = grad L(z),
//! ```
//!
//! S being the long-run covariance of the 1-dependent increments -alpha_n (g . dU) dU (Hoeffding
//! & Robbins 1948, "The central limit theorem for dependent random variables", Duke Math. J. 15).
//! Hence n E|Z^n_T - Z_T|^2 -> trace P(T) with dP/dt = -kappa (H P + P H) + S(Z_t), P(0) = 0
//! ([`terminal_limit`]), and n E sup_t |Z^n_t - Z_t|^2 -> E sup_t |V_t|^2 ([`sup_limit`], by
//! simulation).

mod grid;
mod paths;

use crate::engine::Isa;
use crate::loss::{LANES, Loss};
use crate::rng::{XoshiroLanes, trajectory_rng};
use crate::stats::Estimate;
pub(crate) use grid::DENSE_MAX;
use grid::Grid;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The predicted limits at one point of a sweep. Field names are a public contract.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fluctuation {
    /// lim n E|Z^n_T - Z_T|^2 = trace P(T).
    pub terminal_sq: f64,
    /// lim n E sup_t |Z^n_t - Z_t|^2 = E sup_t |V_t|^2, a Monte Carlo estimate (`None` when the
    /// dimension is too large for the simulation budget).
    pub sup_sq: Option<McValue>,
}

/// A Monte Carlo estimate with its standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct McValue {
    /// The estimate.
    pub mean: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// The model behind a prediction: the reference flow's kappa and the noise scale alpha^2 A^4.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diffusion {
    /// kappa of the flow around which V fluctuates.
    pub kappa: f64,
    /// alpha^2 A^4, the scale of S.
    pub noise: f64,
    /// Horizon T.
    pub horizon: f64,
}

/// Writes the diagonal part D of S / (alpha^2 A^4) = D + (2/3) g g^T at gradient g,
/// D_i = (2/3) |g|^2 - (8/15) g_i^2 >= (2/15) |g|^2 (so S is positive semi-definite, and noise with
/// covariance S is D^(1/2) xi + (2/3)^(1/2) g eta with independent standard normals xi, eta).
pub fn diffusion_diagonal(g: &[f64], out: &mut [f64]) {
    let g2: f64 = g.iter().map(|x| x * x).sum();
    for (o, x) in out.iter_mut().zip(g) {
        *o = 2.0 / 3.0 * g2 - 8.0 / 15.0 * x * x;
    }
}

/// The right-hand side of the joint system (Z, P): dZ/dt = -kappa grad L(Z),
/// dP/dt = -kappa (H P + P H) + S(Z). `state` is Z followed by P (d x d, row-major).
struct Lyapunov<'a> {
    loss: &'a dyn Loss,
    model: Diffusion,
    d: usize,
    g: Vec<f64>,
    diag: Vec<f64>,
    /// The columns of P in blocks of [`LANES`] (the layout of [`Loss::hessian_vector_lanes`]),
    /// their products with H, and the products' scratch.
    cols: Vec<f64>,
    hcols: Vec<f64>,
    scratch: Vec<f64>,
    hp: Vec<f64>,
}

impl<'a> Lyapunov<'a> {
    fn new(loss: &'a dyn Loss, model: Diffusion) -> Self {
        let d = loss.dim();
        let blocks = d.div_ceil(LANES);
        Self {
            loss,
            model,
            d,
            g: vec![0.0; d],
            diag: vec![0.0; d],
            cols: vec![0.0; blocks * d * LANES],
            hcols: vec![0.0; blocks * d * LANES],
            scratch: vec![0.0; 2 * d],
            hp: vec![0.0; d * d],
        }
    }

    /// H P into `hp`, all columns of P in one batched product (the lanes past d stay zero).
    fn hessian_p(&mut self, z: &[f64], p: &[f64]) {
        let d = self.d;
        for (c, block) in self.cols.chunks_exact_mut(d * LANES).enumerate() {
            let (j0, width) = (c * LANES, LANES.min(d - c * LANES));
            for (i, row) in block.chunks_exact_mut(LANES).enumerate() {
                row[..width].copy_from_slice(&p[i * d + j0..i * d + j0 + width]);
            }
        }
        let (cols, hcols) = (&self.cols, &mut self.hcols);
        self.loss
            .hessian_vector_lanes(z, cols, &mut self.scratch, hcols);
        for (c, block) in self.hcols.chunks_exact(d * LANES).enumerate() {
            let (j0, width) = (c * LANES, LANES.min(d - c * LANES));
            for (i, row) in block.chunks_exact(LANES).enumerate() {
                self.hp[i * d + j0..i * d + j0 + width].copy_from_slice(&row[..width]);
            }
        }
    }

    fn rhs(&mut self, state: &[f64], out: &mut [f64]) {
        let (d, kappa, noise) = (self.d, self.model.kappa, self.model.noise);
        let (z, p) = state.split_at(d);
        self.loss.gradient(z, &mut self.g);
        for i in 0..d {
            out[i] = -kappa * self.g[i];
        }
        // P H = (H P)^T.
        self.hessian_p(z, p);
        diffusion_diagonal(&self.g, &mut self.diag);
        let dp = &mut out[d..];
        for i in 0..d {
            for j in 0..d {
                let s = 2.0 / 3.0 * self.g[i] * self.g[j] + if i == j { self.diag[i] } else { 0.0 };
                dp[i * d + j] = -kappa * (self.hp[i * d + j] + self.hp[j * d + i]) + noise * s;
            }
        }
    }

    /// trace P(t) at t = T k / `points`, k = 1..=points, from `steps` classical RK4 steps (a
    /// multiple of `points`; Hairer, Norsett & Wanner, *Solving Ordinary Differential Equations
    /// I*, 2nd ed., 1993, section II.1).
    fn traces(&mut self, theta0: &[f64], steps: usize, points: usize) -> Vec<f64> {
        let d = self.d;
        let len = d + d * d;
        let mut y = vec![0.0; len];
        y[..d].copy_from_slice(theta0);
        let mut k: [Vec<f64>; 4] = std::array::from_fn(|_| vec![0.0; len]);
        let mut tmp = vec![0.0; len];
        let h = self.model.horizon / steps as f64;
        let mut out = Vec::with_capacity(points);
        for step in 1..=steps {
            self.rhs(&y, &mut k[0]);
            for (stage, frac) in [(1, 0.5), (2, 0.5), (3, 1.0)] {
                for i in 0..len {
                    tmp[i] = y[i] + frac * h * k[stage - 1][i];
                }
                let (_, rest) = k.split_at_mut(stage);
                self.rhs(&tmp, &mut rest[0]);
            }
            for i in 0..len {
                y[i] += h / 6.0 * (k[0][i] + 2.0 * k[1][i] + 2.0 * k[2][i] + k[3][i]);
            }
            if step % (steps / points) == 0 {
                out.push((0..d).map(|i| y[d + i * d + i]).sum());
            }
        }
        out
    }
}

/// lim n E|Z^n_T - Z_T|^2 = trace P(T), by RK4 on (Z, P) with step doubling from 64 steps until
/// two successive results agree to 1e-11 relative (at most 2^16 steps).
pub fn terminal_limit(loss: &dyn Loss, theta0: &[f64], model: Diffusion) -> f64 {
    trace_path(loss, theta0, model, 1)[0]
}

/// trace P(t) = lim n E|Z^n_t - Z_t|^2 at t = T k / `points`, k = 1..=points (`points` a power
/// of two up to 64), by [`terminal_limit`]'s method; step doubling stops when every value agrees
/// to 1e-11 relative.
fn trace_path(loss: &dyn Loss, theta0: &[f64], model: Diffusion, points: usize) -> Vec<f64> {
    let mut sys = Lyapunov::new(loss, model);
    crate::flow::step_doubling(
        64,
        1 << 16,
        |steps| sys.traces(theta0, steps as usize, points),
        |prev, next| {
            prev.iter()
                .zip(next)
                .all(|(p, q)| (q - p).abs() <= 1e-11 * q.abs())
        },
    )
}

/// Size of the simulation of V behind [`sup_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupBudget {
    /// Time steps on [0, T] (a multiple of 4).
    pub steps: usize,
    /// Simulated paths at most (at least `min_paths`).
    pub paths: usize,
    /// Paths x steps x d aimed at: fewer paths are simulated in high dimension, down to
    /// `min_paths`.
    pub work: f64,
    /// Fewest paths simulated.
    pub min_paths: usize,
    /// Paths x steps x d at most: where `min_paths` paths exceed it, no estimate is made (at
    /// least `work`).
    pub max_work: f64,
}

impl Default for SupBudget {
    /// 1024 steps; up to 8192 paths, fewer above d = 4 (2^25 path-coordinate-steps), at least
    /// 512, up to d = 256. With the control variates this was as precise as four times the paths
    /// without them, or more, in every case measured but two: a quadratic loss in d = 2 (1.04
    /// times the standard error) and a strongly mean-reverting V, whose supremum is only loosely
    /// tied to its values at four times (1.5 times; docs/performance.md, "The fluctuation
    /// prediction").
    fn default() -> Self {
        Self {
            steps: 1024,
            paths: 8192,
            work: 2f64.powi(25),
            min_paths: 512,
            max_work: 2f64.powi(27),
        }
    }
}

impl SupBudget {
    /// The number of paths for dimension d (a multiple of [`SUP_GROUPS`]), or `None` when even
    /// `min_paths` exceed `max_work`.
    pub fn paths_for(&self, d: usize) -> Option<usize> {
        let per_path = (self.steps * d.max(1)) as f64;
        let fit = (self.work.min(self.max_work) / per_path) as usize;
        let r = fit.min(self.paths).max(self.min_paths) / SUP_GROUPS * SUP_GROUPS;
        (r > 0 && r as f64 * per_path <= self.max_work).then_some(r)
    }
}

/// Groups of paths in the simulation of V: the unit of parallel work and of random streams.
pub const SUP_GROUPS: usize = 64;

/// Weights of the per-path maxima over the grids of step h, 2h and 4h that cancel the terms in
/// h^(1/2) and h of E max = a - b h^(1/2) - c h + O(h^(3/2)) (Richardson extrapolation; the
/// h^(1/2) term of discretely monitored maxima: Broadie, Glasserman & Kou 1997, "A continuity
/// correction for discrete barrier options", Math. Finance 7(4)). They solve
/// w0 + w1 + w2 = 1, w0 + sqrt2 w1 + 2 w2 = 0, w0 + 2 w1 + 4 w2 = 0.
fn richardson_weights() -> [f64; 3] {
    let r = std::f64::consts::SQRT_2;
    let w1 = 1.0 / (2.0 - 1.5 * r);
    let w2 = -(2.0 - r) / 2.0 * w1;
    let w0 = (2.0 - 2.0 * r) * w1;
    [w0, w1, w2]
}

/// The number of control variates of [`sup_limit`]: |V_t|^2 at t = T k / CONTROLS,
/// k = 1..=CONTROLS, whose means trace P(t) are known.
pub(crate) const CONTROLS: usize = 4;

/// The numbers kept per path: three running maxima, then the controls.
pub(crate) const RECORD: usize = 3 + CONTROLS;

/// The simulation behind [`sup_limit`], with its by-products.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SupSimulation {
    /// E sup_t |V_t|^2, extrapolated from the grid maxima (per path, so the standard error
    /// includes the extrapolation) and sharpened by the control variates.
    pub sup_sq: Estimate,
    /// E of the maximum over the finest grid alone (with the same control variates).
    pub grid_max: Estimate,
    /// E |V_T|^2 by simulation, the plain mean: a check against [`terminal_limit`].
    pub terminal_sq: Estimate,
    /// (standard error of `sup_sq` / that of the plain mean of the same paths)^2: about 1 - R^2
    /// of the regression (the plain mean would need about 1 / (1 - R^2) times as many paths).
    pub variance_ratio: f64,
    /// Paths simulated.
    pub paths: usize,
}

/// Estimates E sup over t in \[0, T\] of |V_t|^2 by simulating `paths` paths of V (in [`SUP_GROUPS`]
/// groups with independent streams derived from `seed`, d and the group; bit-identical for any
/// thread count).
///
/// Each path is advanced by Strang splitting: half drift, the exact Gaussian increment of the
/// noise over the step with S frozen at the midpoint, half drift (weak order 2 for additive
/// noise: Leimkuhler & Matthews, *Molecular Dynamics*, 2015, section 7.3). The running maxima of
/// |V|^2 over the grids of step h, 2h and 4h are combined per path by Richardson extrapolation
/// (weights that cancel the terms in h^(1/2) and h of the discretely monitored maximum). The mean
/// over paths is sharpened by control variates ([`crate::stats::control_variate`]): |V_t|^2 at
/// four equally spaced times (T/4, T/2, 3T/4, T), whose exact means trace P(t) come from the
/// Lyapunov equation (the simulated V's differ from them by the splitting's O(h^2), below 1e-5
/// relative at 1024 steps). The sup is strongly correlated with them, so the variance fell by a
/// factor of 3.5 to 20 at equal cost in the cases measured, less for a strongly mean-reverting V,
/// whose sup is only loosely tied to those four values (about 1.8;
/// [`SupSimulation::variance_ratio`]).
pub fn sup_limit(
    loss: &dyn Loss,
    theta0: &[f64],
    model: Diffusion,
    steps: usize,
    paths: usize,
    seed: u64,
) -> SupSimulation {
    let d = theta0.len();
    let steps = steps.div_ceil(4).max(1) * 4;
    let grid = Grid::new(loss, theta0, model, steps);
    let w = richardson_weights();
    let per = paths.div_ceil(SUP_GROUPS).max(1);
    let isa = Isa::detect();
    let (known, groups) = rayon::join(
        || trace_path(loss, theta0, model, CONTROLS),
        || {
            (0..SUP_GROUPS)
                .into_par_iter()
                .map(|g| paths::simulate_group(loss, &grid, group_streams(seed, d, g), per, isa))
                .collect::<Vec<Vec<[f64; RECORD]>>>()
        },
    );
    let known: [f64; CONTROLS] = std::array::from_fn(|k| known[k]);
    let all: Vec<[f64; RECORD]> = groups.into_iter().flatten().collect();
    let controls: Vec<[f64; CONTROLS]> = all
        .iter()
        .map(|m| std::array::from_fn(|k| m[3 + k]))
        .collect();
    let column = |f: &dyn Fn(&[f64; RECORD]) -> f64| all.iter().map(f).collect::<Vec<f64>>();
    let sharpened = |y: &[f64]| {
        crate::stats::control_variate(y, &controls, &known)
            .unwrap_or_else(|| Estimate::from_samples(y))
    };
    let sup = column(&|m| w[0] * m[0] + w[1] * m[1] + w[2] * m[2]);
    let (sup_sq, plain) = (sharpened(&sup), Estimate::from_samples(&sup));
    SupSimulation {
        sup_sq,
        grid_max: sharpened(&column(&|m| m[0])),
        terminal_sq: Estimate::from_samples(&column(&|m| m[RECORD - 1])),
        variance_ratio: (sup_sq.std_error / plain.std_error).powi(2),
        paths: all.len(),
    }
}

/// The xoshiro256++ streams of group g: [`LANES`] for the normals' candidates, keyed by (seed,
/// tag, d, g LANES + lane), and [`LANES`] for their completion (the same with the other tag).
fn group_streams(seed: u64, d: usize, g: usize) -> (XoshiroLanes, XoshiroLanes) {
    let lanes = |tag: u64| {
        let key = |b: usize| (g * LANES + b) as u64;
        XoshiroLanes::new((0..LANES).map(|b| trajectory_rng(seed, tag, d as u64, key(b)))).0
    };
    (lanes(SUP_STREAM_TAG), lanes(SUP_FIX_TAG))
}

/// Tag that separates the streams of the simulation of V from those of the engine.
const SUP_STREAM_TAG: u64 = 0x5355_505f_4c49_4d54;

/// Tag of the streams that complete the normals of the simulation of V.
const SUP_FIX_TAG: u64 = 0x5355_505f_4649_5855;

/// Both limits at once; the sup is simulated within `budget` (none above it).
pub fn predict(
    loss: &dyn Loss,
    theta0: &[f64],
    model: Diffusion,
    budget: &SupBudget,
    seed: u64,
) -> Fluctuation {
    // The two are independent: the (sequential) ODE runs beside the simulation's groups.
    let (terminal_sq, sup_sq) = rayon::join(
        || terminal_limit(loss, theta0, model),
        || {
            budget.paths_for(theta0.len()).map(|paths| {
                let s = sup_limit(loss, theta0, model, budget.steps, paths, seed);
                McValue {
                    mean: s.sup_sq.mean,
                    std_error: s.sup_sq.std_error,
                }
            })
        },
    );
    Fluctuation {
        terminal_sq,
        sup_sq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{Linear, LogCosh, Logistic, Quadratic};

    /// The closed form for L = 0.5 sum h_i (theta_i - c_i)^2 (docs/model.md section 5):
    /// P_ii(T) = alpha^2 A^4 sum_k (2/3 + (2/15) delta_ik) a_k (e^(-2 kappa h_k T) -
    /// e^(-2 kappa h_i T)) / (2 kappa (h_i - h_k)), a_k = h_k^2 (theta0_k - c_k)^2.
    fn quadratic_trace(c: &[f64], h: &[f64], theta0: &[f64], m: Diffusion) -> f64 {
        let (k, t) = (m.kappa, m.horizon);
        let mut tr = 0.0;
        for i in 0..c.len() {
            for j in 0..c.len() {
                let a = h[j] * h[j] * (theta0[j] - c[j]).powi(2);
                let coef = 2.0 / 3.0 + if i == j { 2.0 / 15.0 } else { 0.0 };
                let integral = if (h[i] - h[j]).abs() < 1e-12 {
                    t * (-2.0 * k * h[i] * t).exp()
                } else {
                    ((-2.0 * k * h[j] * t).exp() - (-2.0 * k * h[i] * t).exp())
                        / (2.0 * k * (h[i] - h[j]))
                };
                tr += coef * a * integral;
            }
        }
        m.noise * tr
    }

    const MODEL: Diffusion = Diffusion {
        kappa: 2.0 / 3.0,
        noise: 1.0,
        horizon: 1.0,
    };

    /// trace P(T), and trace P at the controls' times, against the closed form.
    #[test]
    fn quadratic_trace_matches_closed_form() {
        let c = [1.0, -0.5, 0.25, 2.0];
        let h = [1.0, 2.0, 0.5, 1.0];
        let theta0 = [0.0, 0.3, -1.0, 0.5];
        let q = Quadratic::new(c.to_vec(), h.to_vec());
        for m in [
            MODEL,
            Diffusion {
                kappa: 1.7,
                noise: 2.25,
                horizon: 2.5,
            },
        ] {
            let got = terminal_limit(&q, &theta0, m);
            let want = quadratic_trace(&c, &h, &theta0, m);
            assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");
            // The controls' means: trace P at T/4, T/2, 3T/4 and T from one solve.
            for (k, got) in trace_path(&q, &theta0, m, CONTROLS).iter().enumerate() {
                let horizon = m.horizon * (k + 1) as f64 / CONTROLS as f64;
                let want = quadratic_trace(&c, &h, &theta0, Diffusion { horizon, ..m });
                assert!(
                    (got - want).abs() <= 1e-6 * want,
                    "t = {horizon}: {got} vs {want}"
                );
            }
        }
    }

    /// A logistic loss (rank-one Hessian), log cosh and a quadratic (diagonal), with their
    /// starts: the three propagators of the built-in losses.
    fn three_losses() -> Vec<(Box<dyn Loss>, Vec<f64>)> {
        vec![
            (
                Box::new(Logistic::new(vec![0.6, 0.8, -0.5, 0.3], 1.0)),
                vec![0.0; 4],
            ),
            (Box::new(LogCosh::new(vec![1.0, -0.5, 0.25])), vec![0.0; 3]),
            (
                Box::new(Quadratic::new(vec![1.0, -1.0], vec![3.0, 0.5])),
                vec![0.0, 0.5],
            ),
        ]
    }

    /// The simulated paths' |V_t|^2 at the controls' times, by their plain means, agree with
    /// trace P(t): each within 4.9 standard errors plus the splitting's O(h^2) (below 1e-4
    /// relative at 256 steps), which fails with probability 9.6e-7 per comparison under a normal
    /// approximation, 1.2e-5 for the 12 (three losses, four times). A wrong time or index of the
    /// records would bias the control-variate estimate while it reports a small standard error.
    #[test]
    fn simulated_controls_match_their_means() {
        let losses = three_losses();
        for (loss, theta0) in &losses {
            let d = theta0.len();
            let grid = Grid::new(loss.as_ref(), theta0, MODEL, 256);
            let records: Vec<[f64; RECORD]> = (0..16)
                .flat_map(|g| {
                    let streams = group_streams(5, d, g);
                    paths::simulate_group(loss.as_ref(), &grid, streams, 512, Isa::detect())
                })
                .collect();
            let known = trace_path(loss.as_ref(), theta0, MODEL, CONTROLS);
            for (k, want) in known.iter().enumerate() {
                let column: Vec<f64> = records.iter().map(|m| m[3 + k]).collect();
                let e = Estimate::from_samples(&column);
                let bound = 4.9 * e.std_error + 1e-4 * want;
                assert!(
                    (e.mean - want).abs() < bound,
                    "d = {d}, k = {k}: {e:?} vs {want}"
                );
            }
        }
    }

    /// For a linear loss H = 0 and S is constant: trace P(T) = T alpha^2 A^4 trace(D + 2/3 g g^T)
    /// = T alpha^2 A^4 ((2/3)(d + 1) - 8/15) |g|^2.
    #[test]
    fn linear_loss_has_constant_noise() {
        let g = [0.6, -0.8, 0.0];
        let got = terminal_limit(&Linear::new(g.to_vec()), &[0.0; 3], MODEL);
        let want = (2.0 / 3.0 * 4.0 - 8.0 / 15.0) * 1.0;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    /// The simulated E |V_T|^2 agrees with trace P(T) (a check of the noise, the splitting and the
    /// non-diagonal Hessian of the logistic loss). Its standard error is from the sample; the
    /// bound of 4.5 standard errors plus the O(h^2) splitting error (below 1e-4 relative at
    /// 256 steps) fails with probability 6.8e-6 per loss under a normal approximation, 2.1e-5
    /// for the three. The extrapolated sup must exceed the finest grid's mean maximum: the
    /// extrapolation adds the discretely monitored maximum's deficit, of order h^(1/2) (a few
    /// percent at 256 steps), and the two means share their paths, so the difference has a far
    /// smaller standard error than either.
    #[test]
    fn simulated_terminal_matches_trace() {
        let losses = three_losses();
        for (loss, theta0) in &losses {
            let want = terminal_limit(loss.as_ref(), theta0, MODEL);
            let s = sup_limit(loss.as_ref(), theta0, MODEL, 256, 8192, 7);
            let z = (s.terminal_sq.mean - want) / s.terminal_sq.std_error;
            assert!(z.abs() < 4.5, "{} vs {want} (z = {z})", s.terminal_sq.mean);
            // The continuous supremum lies above every grid maximum.
            assert!(s.sup_sq.mean > s.grid_max.mean);
        }
    }

    /// For a linear loss in d = 1, V = sigma W with sigma^2 = 2/3 + 2/3 - 8/15 = 4/5 (alpha = A = 1),
    /// so E sup_[0,1] V^2 = sigma^2 E sup W^2. By scaling, sup_{t<=1} |W_t| has the law of
    /// tau^(-1/2), tau the exit time of W from (-1, 1), whose Laplace transform is
    /// 1 / cosh(sqrt(2 lambda)) (Borodin & Salminen, *Handbook of Brownian Motion*, 2nd ed., 2002,
    /// part II, 1.1.3); so E sup W^2 = E[1/tau] = int_0^inf sech(sqrt(2 lambda)) d lambda
    /// = int_0^inf u sech(u) du = 2 G, G Catalan's constant. The extrapolated estimate must agree
    /// within 4.5 standard errors (false failure below 1e-5).
    #[test]
    fn sup_of_brownian_motion_matches_catalan() {
        let catalan = 0.915_965_594_177_219;
        let sigma2 = 4.0 / 5.0;
        let want = sigma2 * 2.0 * catalan;
        let s = sup_limit(&Linear::new(vec![1.0]), &[0.0], MODEL, 1024, 16384, 3);
        let z = (s.sup_sq.mean - want) / s.sup_sq.std_error;
        assert!(z.abs() < 4.5, "{} vs {want} (z = {z})", s.sup_sq.mean);
        assert!(s.grid_max.mean < s.sup_sq.mean);
    }

    #[test]
    fn same_bits_for_any_thread_count() {
        let losses: Vec<Box<dyn Loss>> = vec![
            Box::new(Logistic::new(vec![0.6, 0.8], 1.0)),
            Box::new(Quadratic::new(vec![1.0, -1.0, 0.5], vec![3.0, 0.5, 1.0])),
        ];
        for loss in &losses {
            let theta0 = vec![0.0; loss.dim()];
            let run = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| sup_limit(loss.as_ref(), &theta0, MODEL, 64, 1000, 5))
            };
            let bits = |s: SupSimulation| {
                [s.sup_sq, s.grid_max, s.terminal_sq]
                    .map(|e| (e.mean.to_bits(), e.std_error.to_bits()))
            };
            let (a, b, c) = (run(1), run(2), run(3));
            assert_eq!(bits(a), bits(b));
            assert_eq!(bits(a), bits(c));
        }
    }

    #[test]
    fn richardson_weights_cancel_both_terms() {
        let [w0, w1, w2] = richardson_weights();
        let r = std::f64::consts::SQRT_2;
        assert!((w0 + w1 + w2 - 1.0).abs() < 1e-12);
        assert!((w0 + r * w1 + 2.0 * w2).abs() < 1e-12);
        assert!((w0 + 2.0 * w1 + 4.0 * w2).abs() < 1e-12);
    }
}
