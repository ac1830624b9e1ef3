//! Losses L: R^d -> R for one training sample. The STDP recursion only ever evaluates
//! [`Loss::value`]; the gradient is used by the reference flow and by the tests.

mod lane_loss;
mod linear;
mod logcosh;
mod logistic;
mod network;
mod quadratic;
mod softmax;

pub(crate) use lane_loss::{DynLanes, LaneLoss, Line};
pub use linear::Linear;
pub use logcosh::LogCosh;
pub use logistic::Logistic;
pub(crate) use logistic::LogisticLanes;
pub(crate) use network::NetworkLanes;
pub use network::{MAX_HIDDEN, MAX_OUTPUTS, Network, NetworkSample};
pub use quadratic::Quadratic;
pub use softmax::{MAX_CLASSES, SoftmaxSample};

/// Number of trajectories advanced together in one structure-of-arrays batch.
pub const LANES: usize = 8;

/// A built-in loss seen as its concrete type, so the engine can compile its kernel for it
/// (inlining the batched value into the vectorised step). Internal: user losses keep
/// [`Loss::known`]'s default.
#[doc(hidden)]
pub enum Known<'a> {
    /// [`LogCosh`].
    LogCosh(&'a LogCosh),
    /// [`Quadratic`].
    Quadratic(&'a Quadratic),
    /// [`Logistic`].
    Logistic(&'a Logistic),
    /// [`Linear`].
    Linear(&'a Linear),
    /// Any other loss (called through `dyn Loss`).
    Other,
}

/// The row term of a linear functional w . x: acc += w_i x_i in every lane ([`Linear`] and the
/// inner product of [`Logistic`]).
#[inline(always)]
pub(crate) fn add_weighted_row(w_i: f64, x: &[f64; LANES], acc: &mut [f64; LANES]) {
    for b in 0..LANES {
        acc[b] += w_i * x[b];
    }
}

/// A loss that the kernel can evaluate coordinate by coordinate inside its pass over theta, for
/// every lane at once: L(x) = finish(sum over i of the row terms of x_i), summed in coordinate
/// order. The built-in losses implement it; `dyn Loss` opts out (`ROWS = false`), and the kernel
/// then stores x and calls [`Loss::value_lanes`].
pub(crate) trait RowLoss: Loss {
    /// Whether [`RowLoss::add_row`] and [`RowLoss::finish`] are implemented.
    const ROWS: bool;

    /// The coefficients of one row (coordinate) of the loss.
    type Row: Copy;

    /// Every row's coefficients in coordinate order (endless for a loss without rows). The
    /// kernel walks them beside theta, so that [`RowLoss::add_row`] needs no index (and no
    /// bounds check, whose branch would part the kernel's loop body).
    fn rows(&self) -> impl Iterator<Item = Self::Row> + '_;

    /// Adds the terms at `x` (one coordinate of every lane) of the row `row` to `acc`.
    #[inline(always)]
    fn add_row(&self, _row: Self::Row, _x: &[f64; LANES], _acc: &mut [f64; LANES]) {}

    /// The loss of every lane from its accumulated sum.
    #[inline(always)]
    fn finish(&self, acc: &[f64; LANES]) -> [f64; LANES] {
        *acc
    }
}

impl RowLoss for dyn Loss + '_ {
    const ROWS: bool = false;
    type Row = ();

    #[inline(always)]
    fn rows(&self) -> impl Iterator<Item = ()> + '_ {
        std::iter::repeat(())
    }
}

/// [`Loss::value_lanes`] of a [`RowLoss`], row by row (the kernel folds the same sums into its
/// pass, so both give the same bits).
#[inline(always)]
pub(crate) fn value_lanes_by_rows<L: RowLoss>(loss: &L, x: &[f64], lanes: usize, out: &mut [f64]) {
    let mut acc = [0.0; LANES];
    for (x, row) in x[..loss.dim() * LANES]
        .as_chunks::<LANES>()
        .0
        .iter()
        .zip(loss.rows())
    {
        loss.add_row(row, x, &mut acc);
    }
    out[..lanes].copy_from_slice(&loss.finish(&acc)[..lanes]);
}

/// A differentiable loss on R^d.
///
/// Implement [`Loss::value`] and [`Loss::gradient`]; override [`Loss::value_lanes`] when a
/// vectorisable form exists. The engine never needs anything else, so new losses (networks,
/// datasets) plug in without touching it.
pub trait Loss: Send + Sync {
    /// The dimension d.
    fn dim(&self) -> usize;

    /// L(theta).
    fn value(&self, theta: &[f64]) -> f64;

    /// Writes grad L(theta) into `grad`.
    fn gradient(&self, theta: &[f64], grad: &mut [f64]);

    /// L at `lanes` points stored coordinate-major with stride [`LANES`]: coordinate i of lane b is
    /// `x[i * LANES + b]`. Writes `out[b]` for b < lanes. `scratch` has length at least d.
    ///
    /// Each lane's value must be computed exactly as [`Loss::value`] computes it (same operations in
    /// the same order), so that results do not depend on how trajectories are batched.
    fn value_lanes(&self, x: &[f64], lanes: usize, scratch: &mut [f64], out: &mut [f64]) {
        let d = self.dim();
        for (b, o) in out.iter_mut().enumerate().take(lanes) {
            for (i, s) in scratch[..d].iter_mut().enumerate() {
                *s = x[i * LANES + b];
            }
            *o = self.value(&scratch[..d]);
        }
    }

    /// Writes H(theta) v, the Hessian of L at theta applied to v. The fluctuation limit
    /// ([`crate::fluctuation`]) needs it; the STDP recursion never does.
    ///
    /// The default is the central difference of the gradient along v,
    /// (grad L(theta + h v) - grad L(theta - h v)) / (2 h) with h = eps^(1/3) (1 + |theta|) / |v|
    /// (error O(h^2) plus rounding O(eps / h); Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
    /// 2006, section 8.1). It allocates; override it with the exact product for speed and accuracy.
    fn hessian_vector(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let norm = |x: &[f64]| x.iter().map(|a| a * a).sum::<f64>().sqrt();
        let vn = norm(v);
        if vn == 0.0 {
            out.fill(0.0);
            return;
        }
        let h = f64::EPSILON.cbrt() * (1.0 + norm(theta)) / vn;
        let shifted = |sign: f64| -> Vec<f64> {
            theta.iter().zip(v).map(|(t, v)| t + sign * h * v).collect()
        };
        let mut minus = vec![0.0; theta.len()];
        self.gradient(&shifted(1.0), out);
        self.gradient(&shifted(-1.0), &mut minus);
        for (o, m) in out.iter_mut().zip(&minus) {
            *o = (*o - m) / (2.0 * h);
        }
    }

    /// H(theta) applied to a batch of vectors at once, stored in blocks of [`LANES`] vectors,
    /// each block coordinate-major like the points of [`Loss::value_lanes`]: coordinate i of
    /// vector b of block k is `v[(k * d + i) * LANES + b]`, and its product is written to `out`
    /// at the same place. `v.len()` is a multiple of d [`LANES`]; `scratch` has length at least
    /// 2 d. The simulation of the fluctuation limit calls it for many paths at one point of the
    /// flow.
    ///
    /// The default calls [`Loss::hessian_vector`] for each vector. Override it when the
    /// curvature at theta can be computed once for all vectors (the built-in losses do: one
    /// sigmoid or d tanh per call instead of per vector); the results should agree with the
    /// default to rounding.
    fn hessian_vector_lanes(&self, theta: &[f64], v: &[f64], scratch: &mut [f64], out: &mut [f64]) {
        let d = self.dim();
        let (col, prod) = scratch[..2 * d].split_at_mut(d);
        for (vk, ok) in v
            .chunks_exact(d * LANES)
            .zip(out.chunks_exact_mut(d * LANES))
        {
            for b in 0..LANES {
                for (i, c) in col.iter_mut().enumerate() {
                    *c = vk[i * LANES + b];
                }
                self.hessian_vector(theta, col, prod);
                for (i, p) in prod.iter().enumerate() {
                    ok[i * LANES + b] = *p;
                }
            }
        }
    }

    /// The concrete type, for built-in losses; others keep the default.
    #[doc(hidden)]
    fn known(&self) -> Known<'_> {
        Known::Other
    }
}

/// log cosh(z): the branch-free `fastmath::log_cosh` (log1p of sinh^2 below |z| = 1,
/// |z| - ln 2 + log1p(exp(-2|z|)) above; the log1p-of-exp form of M. Maechler, "Accurately
/// computing log(1 - exp(-|a|))", Rmpfr vignette, 2012), so the batched logcosh loss vectorises.
#[inline(always)]
pub fn log_cosh(z: f64) -> f64 {
    crate::fastmath::log_cosh(z)
}

/// The logistic function 1 / (1 + exp(-t)), evaluated without overflow for either sign of t.
#[inline]
pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Central finite difference of `loss` along coordinate i with step h.
    fn fd(loss: &dyn Loss, theta: &[f64], i: usize, h: f64) -> f64 {
        let mut p = theta.to_vec();
        let mut m = theta.to_vec();
        p[i] += h;
        m[i] -= h;
        (loss.value(&p) - loss.value(&m)) / (2.0 * h)
    }

    /// Checks the analytic gradient against central differences (error O(h^2) plus rounding
    /// O(eps |L| / h)), relative to the gradient's scale.
    pub(crate) fn check_gradient(loss: &dyn Loss, theta: &[f64]) {
        let d = loss.dim();
        let mut g = vec![0.0; d];
        loss.gradient(theta, &mut g);
        let scale = 1.0 + loss.value(theta).abs();
        for i in 0..d {
            let num = fd(loss, theta, i, 1e-5);
            assert!(
                (num - g[i]).abs() <= 1e-6 * scale,
                "coordinate {i}: analytic {} vs numeric {num} at {theta:?}",
                g[i]
            );
        }
    }

    /// Checks H v against central differences of the analytic gradient along v (error O(h^2)),
    /// relative to the scale of the gradient change.
    pub(crate) fn check_hessian(loss: &dyn Loss, theta: &[f64], v: &[f64]) {
        let d = loss.dim();
        let mut hv = vec![0.0; d];
        loss.hessian_vector(theta, v, &mut hv);
        let h = 1e-5;
        let (mut gp, mut gm) = (vec![0.0; d], vec![0.0; d]);
        let p: Vec<f64> = theta.iter().zip(v).map(|(t, v)| t + h * v).collect();
        let m: Vec<f64> = theta.iter().zip(v).map(|(t, v)| t - h * v).collect();
        loss.gradient(&p, &mut gp);
        loss.gradient(&m, &mut gm);
        let scale = 1.0 + v.iter().map(|x| x.abs()).sum::<f64>();
        for i in 0..d {
            let num = (gp[i] - gm[i]) / (2.0 * h);
            assert!(
                (num - hv[i]).abs() <= 1e-6 * scale,
                "coordinate {i}: analytic {} vs numeric {num} at {theta:?} along {v:?}",
                hv[i]
            );
        }
    }
    /// Checks that the batched evaluation equals the scalar one bit for bit.
    pub(crate) fn check_lanes(loss: &dyn Loss, points: &[Vec<f64>]) {
        let d = loss.dim();
        let lanes = points.len();
        let mut x = vec![0.0; d * LANES];
        for (b, p) in points.iter().enumerate() {
            for i in 0..d {
                x[i * LANES + b] = p[i];
            }
        }
        let mut scratch = vec![0.0; d];
        let mut out = [0.0; LANES];
        loss.value_lanes(&x, lanes, &mut scratch, &mut out);
        for (b, p) in points.iter().enumerate() {
            assert_eq!(out[b].to_bits(), loss.value(p).to_bits());
        }
    }

    fn vec3() -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(-4.0f64..4.0, 3)
    }

    proptest! {
        #[test]
        fn logcosh_gradient(c in vec3(), t in vec3()) {
            check_gradient(&LogCosh::new(c), &t);
        }

        #[test]
        fn quadratic_gradient(c in vec3(), h in proptest::collection::vec(0.0f64..5.0, 3), t in vec3()) {
            check_gradient(&Quadratic::new(c, h), &t);
        }

        #[test]
        fn logistic_gradient(x in vec3(), y in prop_oneof![Just(-1.0), Just(1.0)], t in vec3()) {
            check_gradient(&Logistic::new(x, y), &t);
        }

        #[test]
        fn softmax_gradient(x in proptest::collection::vec(-3.0f64..3.0, 2), y in 0usize..3, t in proptest::collection::vec(-3.0f64..3.0, 9)) {
            check_gradient(&SoftmaxSample::new(&x, y, 3), &t);
        }

        #[test]
        fn network_gradient(x in proptest::collection::vec(-2.0f64..2.0, 3), y in 0usize..2, t in proptest::collection::vec(-2.0f64..1.0, 4 * 4 + 5 * 2), seed in 0u64..100) {
            let net = Network::new(3, 4, 2, 0.7, seed);
            check_gradient(&net.sample(&x, y), &t);
        }

        #[test]
        fn linear_gradient(g in vec3(), t in vec3()) {
            check_gradient(&Linear::new(g), &t);
        }

        #[test]
        fn hessians_match_gradient_differences(c in vec3(), h in proptest::collection::vec(0.0f64..5.0, 3), t in vec3(), v in vec3(), y in prop_oneof![Just(-1.0), Just(1.0)]) {
            check_hessian(&LogCosh::new(c.clone()), &t, &v);
            check_hessian(&Quadratic::new(c.clone(), h), &t, &v);
            check_hessian(&Logistic::new(c.clone(), y), &t, &v);
            check_hessian(&Linear::new(c), &t, &v);
        }
        #[test]
        fn default_hessian_is_a_gradient_difference(x in proptest::collection::vec(-2.0f64..2.0, 2), y in 0usize..2, t in proptest::collection::vec(-2.0f64..2.0, 9), v in proptest::collection::vec(-2.0f64..2.0, 9)) {
            // The softmax sample keeps the finite-difference default.
            check_hessian(&SoftmaxSample::new(&x, y, 3), &t, &v);
        }
        #[test]
        fn lanes_match_scalar(c in vec3(), pts in proptest::collection::vec(vec3(), 1..=LANES)) {
            check_lanes(&LogCosh::new(c.clone()), &pts);
            check_lanes(&Quadratic::new(c.clone(), vec![1.0, 2.0, 0.5]), &pts);
            check_lanes(&Logistic::new(c.clone(), 1.0), &pts);
            check_lanes(&Linear::new(c), &pts);
        }
    }

    /// A loss seen only through the required methods and `hessian_vector`, so that its
    /// `hessian_vector_lanes` is the trait's default (a loop over `hessian_vector`) and no
    /// structure of it is known to the caller.
    pub(crate) struct Plain<'a>(pub(crate) &'a dyn Loss);

    impl Loss for Plain<'_> {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn value(&self, theta: &[f64]) -> f64 {
            self.0.value(theta)
        }
        fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
            self.0.gradient(theta, grad)
        }
        fn hessian_vector(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
            self.0.hessian_vector(theta, v, out)
        }
    }

    /// Every built-in loss's `hessian_vector_lanes` equals the default (its `hessian_vector`
    /// for each vector) to 1e-14 relative to the largest product, on three blocks of
    /// [`LANES`] random vectors at a random point; the network and softmax losses (which keep
    /// the default) through the same path.
    #[test]
    fn batched_hessian_products_match_the_default() {
        let mut rng = crate::rng::Xoshiro256pp::from_key(5);
        let mut draw = |n: usize, a: f64| -> Vec<f64> {
            (0..n)
                .map(|_| crate::rng::symmetric_uniform(rng.next_u64(), a))
                .collect()
        };
        let d = 11;
        let net = Network::new(3, 2, 2, 0.7, 4);
        let net_x = [0.3, -0.8, 1.1];
        let losses: Vec<Box<dyn Loss + '_>> = vec![
            Box::new(Logistic::new(draw(d, 1.0), -1.0)),
            Box::new(LogCosh::new(draw(d, 2.0))),
            Box::new(Quadratic::new(draw(d, 2.0), draw(d, 3.0))),
            Box::new(Linear::new(draw(d, 1.0))),
            Box::new(SoftmaxSample::new(&draw(3, 1.0), 1, 3)),
            Box::new(net.sample(&net_x, 1)),
        ];
        for loss in &losses {
            let d = loss.dim();
            let (theta, v) = (draw(d, 1.5), draw(3 * d * LANES, 2.0));
            let (mut got, mut want) = (vec![0.0; v.len()], vec![0.0; v.len()]);
            let mut scratch = vec![0.0; 2 * d];
            loss.hessian_vector_lanes(&theta, &v, &mut scratch, &mut got);
            Plain(loss.as_ref()).hessian_vector_lanes(&theta, &v, &mut scratch, &mut want);
            let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-14 * scale,
                    "d = {d}, entry {k}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn softmax_is_stable_for_large_scores() {
        let l = SoftmaxSample::new(&[1.0], 0, 2);
        assert!((l.value(&[800.0, 0.0, 0.0, 0.0]) - 0.0).abs() < 1e-300);
        assert!((l.value(&[0.0, 0.0, 800.0, 0.0]) - 800.0).abs() < 1e-9);
        assert!((l.value(&[0.0; 4]) - std::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn stable_forms_at_extremes() {
        assert_eq!(log_cosh(0.0), 0.0);
        assert!((log_cosh(1e-8) - 0.5e-16).abs() < 1e-30);
        let series =
            |z: f64| z * z / 2.0 - z.powi(4) / 12.0 + z.powi(6) / 45.0 - 17.0 * z.powi(8) / 2520.0;
        assert!((log_cosh(1e-3) - series(1e-3)).abs() <= 2.0 * f64::EPSILON * series(1e-3));
        for z in [0.5f64, 0.999, 1.0, 3.0, -20.0] {
            let exact = z.cosh().ln();
            assert!(
                (log_cosh(z) - exact).abs() <= 4.0 * f64::EPSILON * exact,
                "z = {z}"
            );
        }
        assert!((log_cosh(800.0) - (800.0 - std::f64::consts::LN_2)).abs() < 1e-12);
        assert!((crate::fastmath::softplus(-800.0) - 0.0).abs() < 1e-300);
        assert_eq!(crate::fastmath::softplus(800.0), 800.0);
        assert!((crate::fastmath::softplus(0.0) - std::f64::consts::LN_2).abs() < 1e-16);
        assert_eq!(sigmoid(-800.0), (-800f64).exp());
        assert_eq!(sigmoid(800.0), 1.0);
    }
}
