//! The time grid of the simulation of V, shared by all paths: the flow at the midpoints of the
//! steps, the noise coefficients there, and the half-step propagators of the drift in the form
//! cheapest for the loss's Hessian.

use super::{Diffusion, diffusion_diagonal};
use crate::loss::{Known, LANES, Loss};

/// Up to this dimension the half-step propagators of a loss without a known Hessian structure are
/// stored densely (K d^2 numbers).
pub(crate) const DENSE_MAX: usize = 16;

/// The flow at the midpoints of the time grid and the noise coefficients there, shared by all
/// paths: row k holds Z(t_k + h/2), sqrt(h alpha^2 A^4 D) and sqrt(h alpha^2 A^4 2/3) g.
pub(super) struct Grid {
    pub(super) d: usize,
    /// h kappa / 2: the half step's drift coefficient.
    a: f64,
    z_mid: Vec<f64>,
    sqrt_diag: Vec<f64>,
    g_scaled: Vec<f64>,
    prop: Propagator,
}

/// The half-step propagator I - a H + a^2 H^2 / 2 of step k (exp(-a H) to second order, H the
/// Hessian at the step's midpoint), by the structure of H.
enum Propagator {
    /// Per step, the d x d matrix, row-major (a loss of unknown structure in low dimension).
    Dense(Vec<f64>),
    /// H = c_k x x^T ([`crate::loss::Logistic`]): v + beta_k (x . v) x with
    /// beta_k = -a c_k + (a^2 / 2) c_k^2 |x|^2.
    RankOne { x: Vec<f64>, beta: Vec<f64> },
    /// H = diag(h_k) (the quadratic, log cosh and linear losses): per step, the diagonal
    /// 1 - a h_k + (a^2 / 2) h_k^2.
    Diagonal(Vec<f64>),
    /// Two calls of [`Loss::hessian_vector_lanes`] per half step (a loss of unknown structure).
    Products,
}

impl Grid {
    /// The grid of `steps` steps on [0, T] of the flow from `theta0`.
    pub(super) fn new(loss: &dyn Loss, theta0: &[f64], model: Diffusion, steps: usize) -> Self {
        let d = theta0.len();
        let h = model.horizon / steps as f64;
        let mut flow = crate::flow::Rk4::new(loss, model.kappa, theta0);
        let (mut z_mid, mut sqrt_diag, mut g_scaled) = (
            Vec::with_capacity(steps * d),
            Vec::with_capacity(steps * d),
            Vec::with_capacity(steps * d),
        );
        let (mut g, mut diag) = (vec![0.0; d], vec![0.0; d]);
        let c = (h * model.noise).sqrt();
        for k in 0..steps {
            // Four RK4 steps per grid interval, so the midpoint is a node.
            flow.advance_to((k as f64 + 0.5) * h, 2);
            z_mid.extend_from_slice(flow.state());
            loss.gradient(flow.state(), &mut g);
            diffusion_diagonal(&g, &mut diag);
            sqrt_diag.extend(diag.iter().map(|v| c * v.max(0.0).sqrt()));
            g_scaled.extend(g.iter().map(|v| c * (2.0f64 / 3.0).sqrt() * v));
            flow.advance_to((k as f64 + 1.0) * h, 2);
        }
        let a = 0.5 * h * model.kappa;
        let prop = Propagator::new(loss, &z_mid, d, a);
        Self {
            d,
            a,
            z_mid,
            sqrt_diag,
            g_scaled,
            prop,
        }
    }

    /// The number of steps.
    pub(super) fn steps(&self) -> usize {
        self.z_mid.len() / self.d.max(1)
    }

    /// Row k of the noise coefficients: sqrt(h alpha^2 A^4 D) and sqrt(h alpha^2 A^4 2/3) g.
    #[inline(always)]
    pub(super) fn noise(&self, k: usize) -> (&[f64], &[f64]) {
        let r = k * self.d..(k + 1) * self.d;
        (&self.sqrt_diag[r.clone()], &self.g_scaled[r])
    }

    /// Advances every path of the batches `v` by step k (a half step of the drift, the noise, a
    /// half step), with `noise` holding each batch's normals (eta, then xi_1..xi_d), and writes
    /// each batch's |v|^2 per lane into `norms`. The structured propagators run in fused passes
    /// (the same operations, in the same order, as separate ones).
    #[inline(always)]
    pub(super) fn step(&self, loss: &dyn Loss, k: usize, noise: &[f64], s: StepBuffers) {
        let (d, n, coef) = (self.d, self.d * LANES, self.noise(k));
        let (v, ws, norms) = s;
        let batches = v.chunks_exact_mut(n).zip(noise.chunks_exact(n + LANES));
        match &self.prop {
            Propagator::RankOne { x, beta } => {
                let b = beta[k];
                for ((vb, nb), r) in batches.zip(norms) {
                    let c = crate::lanes::dot(x, vb).map(|p| b * p);
                    let c = crate::lanes::outer_noise_dot(&c, x, coef, nb, vb).map(|p| b * p);
                    *r = crate::lanes::outer_squares(&c, x, vb);
                }
            }
            Propagator::Diagonal(m) => {
                let m = &m[k * d..(k + 1) * d];
                for ((vb, nb), r) in batches.zip(norms) {
                    *r = crate::lanes::diagonal_step(m, coef, nb, vb);
                }
            }
            Propagator::Dense(_) | Propagator::Products => {
                self.half(loss, k, v, ws);
                for (vb, nb) in v.chunks_exact_mut(n).zip(noise.chunks_exact(n + LANES)) {
                    crate::lanes::add_noise(coef.0, coef.1, nb, vb);
                }
                self.half(loss, k, v, ws);
                for (vb, r) in v.chunks_exact(n).zip(norms) {
                    *r = crate::lanes::sum_squares(vb);
                }
            }
        }
    }

    /// Applies the half-step propagator of step k to every path of the batches `v`.
    pub(super) fn half(&self, loss: &dyn Loss, k: usize, v: &mut [f64], ws: &mut Scratch) {
        let (d, n) = (self.d, self.d * LANES);
        match &self.prop {
            Propagator::Dense(m) => {
                let (m, w) = (&m[k * d * d..(k + 1) * d * d], &mut ws.w[..v.len()]);
                for (vb, wb) in v.chunks_exact(n).zip(w.chunks_exact_mut(n)) {
                    crate::lanes::matvec(m, vb, wb);
                }
                v.copy_from_slice(w);
            }
            Propagator::RankOne { x, beta } => {
                for vb in v.chunks_exact_mut(n) {
                    let xv = crate::lanes::dot(x, vb);
                    crate::lanes::add_outer(&xv.map(|p| beta[k] * p), x, vb);
                }
            }
            Propagator::Diagonal(m) => {
                for vb in v.chunks_exact_mut(n) {
                    crate::lanes::mul_rows(&m[k * d..(k + 1) * d], vb);
                }
            }
            Propagator::Products => {
                half_drift(loss, &self.z_mid[k * d..(k + 1) * d], self.a, v, ws);
            }
        }
    }

    /// Work buffers for the half steps of `batches` batches (none for the structured forms).
    pub(super) fn scratch(&self, batches: usize) -> Scratch {
        match self.prop {
            Propagator::Dense(_) => Scratch::new(self.d, batches, 1),
            Propagator::Products => Scratch::new(self.d, batches, 2),
            _ => Scratch::new(self.d, 0, 0),
        }
    }

    /// The grid with the generic propagator (two Hessian-vector products per half step), to
    /// test the structured ones against.
    #[cfg(test)]
    pub(super) fn with_products(mut self) -> Self {
        self.prop = Propagator::Products;
        self
    }
}

impl Propagator {
    /// The cheapest form for `loss` at the midpoints `z_mid`.
    fn new(loss: &dyn Loss, z_mid: &[f64], d: usize, a: f64) -> Self {
        let steps = z_mid.len() / d.max(1);
        match loss.known() {
            Known::Logistic(l) => {
                let x = l.rank_one(&z_mid[..d]).0.to_vec();
                let x2: f64 = x.iter().map(|v| v * v).sum();
                let beta = (0..steps)
                    .map(|k| {
                        let c = l.rank_one(&z_mid[k * d..(k + 1) * d]).1;
                        -a * c + 0.5 * a * a * (c * c * x2)
                    })
                    .collect();
                Propagator::RankOne { x, beta }
            }
            Known::Quadratic(_) | Known::LogCosh(_) | Known::Linear(_) => {
                // H 1 is the diagonal of a diagonal H.
                let (ones, mut h) = (vec![1.0; d], vec![0.0; d]);
                let mut m = Vec::with_capacity(steps * d);
                for z in z_mid.chunks_exact(d) {
                    loss.hessian_vector(z, &ones, &mut h);
                    m.extend(h.iter().map(|h| 1.0 - a * h + 0.5 * a * a * (h * h)));
                }
                Propagator::Diagonal(m)
            }
            Known::Other if d <= DENSE_MAX => Propagator::Dense(dense(loss, z_mid, d, a)),
            Known::Other => Propagator::Products,
        }
    }
}

/// The dense propagators of every step, by the products applied to the d unit vectors (column j
/// of M is vector j mod [`LANES`] of block j / [`LANES`]).
fn dense(loss: &dyn Loss, z_mid: &[f64], d: usize, a: f64) -> Vec<f64> {
    let blocks = d.div_ceil(LANES);
    let mut ws = Scratch::new(d, blocks, 2);
    let mut v = vec![0.0; blocks * d * LANES];
    let mut m = vec![0.0; z_mid.len() * d];
    for (z, mk) in z_mid.chunks_exact(d).zip(m.chunks_exact_mut(d * d)) {
        v.fill(0.0);
        for j in 0..d {
            v[((j / LANES) * d + j) * LANES + j % LANES] = 1.0;
        }
        half_drift(loss, z, a, &mut v, &mut ws);
        for i in 0..d {
            for j in 0..d {
                mk[i * d + j] = v[((j / LANES) * d + i) * LANES + j % LANES];
            }
        }
    }
    m
}

/// The state of a group's batches, the work buffers of its half steps, and the squared norms of
/// its batches' paths.
pub(super) type StepBuffers<'a> = (&'a mut [f64], &'a mut Scratch, &'a mut [[f64; LANES]]);

/// Work buffers for a group's batches: two products and the scratch of
/// [`Loss::hessian_vector_lanes`].
pub(super) struct Scratch {
    w: Vec<f64>,
    u: Vec<f64>,
    hvp: Vec<f64>,
}

impl Scratch {
    /// For `batches` batches in dimension d, `products` (0, 1 or 2) of them.
    fn new(d: usize, batches: usize, products: usize) -> Self {
        let len = |k: usize| if products > k { batches * d * LANES } else { 0 };
        Self {
            w: vec![0.0; len(0)],
            u: vec![0.0; len(1)],
            hvp: vec![0.0; if products == 2 { 2 * d } else { 0 }],
        }
    }
}

/// v <- (I - a H + a^2 H^2 / 2) v at z with a = h kappa / 2, for every path of the batches `v`,
/// by two Hessian-vector products.
fn half_drift(loss: &dyn Loss, z: &[f64], a: f64, v: &mut [f64], ws: &mut Scratch) {
    let (w, u) = (&mut ws.w[..v.len()], &mut ws.u[..v.len()]);
    loss.hessian_vector_lanes(z, v, &mut ws.hvp, w);
    loss.hessian_vector_lanes(z, w, &mut ws.hvp, u);
    crate::lanes::drift(a, w, u, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::tests::Plain;
    use crate::loss::{Linear, LogCosh, Logistic, Quadratic};

    /// Every structured propagator (rank one, diagonal, dense) takes the step of the generic one
    /// (two Hessian-vector products per half step), to 1e-13 relative: 3 batches from random
    /// states and normals, at the first, a middle and the last step.
    #[test]
    fn structured_steps_match_products() {
        let model = Diffusion {
            kappa: 0.9,
            noise: 1.3,
            horizon: 1.0,
        };
        let mut rng = crate::rng::Xoshiro256pp::from_key(8);
        let mut draw = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| crate::rng::symmetric_uniform(rng.next_u64(), 2.0))
                .collect()
        };
        for d in [3, 12, 20] {
            let x = draw(d);
            // A loss whose structure the grid does not know (the dense or generic propagator).
            let opaque = Logistic::new(x.clone(), -1.0);
            let losses: Vec<Box<dyn Loss + '_>> = vec![
                Box::new(Logistic::new(x.clone(), 1.0)),
                Box::new(Quadratic::new(draw(d), x.iter().map(|v| v.abs()).collect())),
                Box::new(LogCosh::new(draw(d))),
                Box::new(Linear::new(x.clone())),
                Box::new(Plain(&opaque)),
            ];
            for loss in &losses {
                let theta0 = draw(d);
                let grid = Grid::new(loss.as_ref(), &theta0, model, 16);
                let generic = Grid::new(loss.as_ref(), &theta0, model, 16).with_products();
                let (v0, noise) = (draw(3 * d * LANES), draw(3 * (d + 1) * LANES));
                for k in [0, 7, 15] {
                    let (mut a, mut b) = (v0.clone(), v0.clone());
                    let (mut na, mut nb) = ([[0.0; LANES]; 3], [[0.0; LANES]; 3]);
                    let (mut wa, mut wb) = (grid.scratch(3), generic.scratch(3));
                    grid.step(loss.as_ref(), k, &noise, (&mut a, &mut wa, &mut na));
                    generic.step(loss.as_ref(), k, &noise, (&mut b, &mut wb, &mut nb));
                    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                    for (p, q) in a.iter().zip(&b) {
                        assert!(
                            (p - q).abs() <= 1e-13 * scale,
                            "d = {d}, k = {k}: {p} vs {q}"
                        );
                    }
                    for (p, q) in na.iter().flatten().zip(nb.iter().flatten()) {
                        assert!((p - q).abs() <= 1e-13 * q, "d = {d}, k = {k}: {p} vs {q}");
                    }
                }
            }
        }
    }
}
