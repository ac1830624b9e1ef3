//! The drift constant actually realised by the recursion: the least-squares kappa_hat for which
//! the flow dZ/dt = -kappa grad L(Z) best matches the simulated mean path of Z^n, with a jackknife
//! interval over groups of trajectories.
//!
//! Because Z_kappa(t) = Y(kappa t) for the unit-speed flow dY/ds = -grad L(Y), the path Y is
//! integrated once by RK4 on a grid of step 0.01 in s and evaluated between grid points by cubic
//! Hermite interpolation with the exact derivative -grad L(Y) (error O(h^4), like RK4 itself); each
//! candidate kappa then costs O(K d).

use crate::flow::Rk4;
use crate::loss::Loss;
use crate::stats::{Estimate, jackknife};

/// At most this many checkpoints enter the fit (evenly subsampled), to bound its cost.
const MAX_FIT_POINTS: usize = 50;
/// kappa_hat is sought within this factor of the guess kappa_n.
const RANGE: f64 = 30.0;
/// Grid step of Y in s.
const DS: f64 = 0.01;

/// Y and Y' = -grad L(Y) on a uniform grid in s.
struct UnitFlow {
    d: usize,
    y: Vec<f64>,
    dy: Vec<f64>,
}

impl UnitFlow {
    fn new(loss: &dyn Loss, theta0: &[f64], s_max: f64) -> Self {
        let d = theta0.len();
        let nodes = (s_max / DS).ceil() as usize + 2;
        let mut y = Vec::with_capacity(nodes * d);
        let mut dy = vec![0.0; nodes * d];
        let mut rk = Rk4::new(loss, 1.0, theta0);
        for j in 0..nodes {
            if j > 0 {
                rk.step(DS);
            }
            y.extend_from_slice(rk.state());
            loss.gradient(rk.state(), &mut dy[j * d..(j + 1) * d]);
        }
        dy.iter_mut().for_each(|v| *v = -*v);
        Self { d, y, dy }
    }

    /// Y(s) by cubic Hermite interpolation into `out`.
    fn at(&self, s: f64, out: &mut [f64]) {
        let d = self.d;
        let last = self.y.len() / d - 2;
        let j = ((s / DS).floor() as usize).min(last);
        let u = (s / DS - j as f64).clamp(0.0, 1.0);
        let (h00, h10) = (
            (1.0 + 2.0 * u) * (1.0 - u) * (1.0 - u),
            u * (1.0 - u) * (1.0 - u),
        );
        let (h01, h11) = (u * u * (3.0 - 2.0 * u), u * u * (u - 1.0));
        for i in 0..d {
            let (a, b) = (j * d + i, (j + 1) * d + i);
            out[i] =
                h00 * self.y[a] + h10 * DS * self.dy[a] + h01 * self.y[b] + h11 * DS * self.dy[b];
        }
    }
}

struct Objective {
    flow: UnitFlow,
    times: Vec<f64>,
}

impl Objective {
    /// sum_k |Y(kappa t_k) - m_k|^2 for the mean path m (rows of d).
    fn eval(&self, kappa: f64, mean: &[Vec<f64>], buf: &mut [f64]) -> f64 {
        let mut sse = 0.0;
        for (t, m) in self.times.iter().zip(mean) {
            self.flow.at(kappa * t, buf);
            sse += buf
                .iter()
                .zip(m)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
        }
        sse
    }

    /// Minimises over log kappa in [lo, hi]: a scan of `grid` points, then golden-section search
    /// around the best one (Kiefer 1953) to relative precision 1e-9. `None` if the minimum lies
    /// at the edge of the range.
    fn argmin(&self, mean: &[Vec<f64>], lo: f64, hi: f64, grid: usize) -> Option<f64> {
        let mut buf = vec![0.0; self.flow.d];
        let (llo, lhi) = (lo.ln(), hi.ln());
        let step = (lhi - llo) / (grid - 1) as f64;
        let mut f = |lk: f64| self.eval(lk.exp(), mean, &mut buf);
        let best = (0..grid)
            .map(|i| (f(llo + step * i as f64), i))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(0, |(_, i)| i);
        if best == 0 || best == grid - 1 {
            return None;
        }
        let (mut a, mut b) = (
            llo + step * (best as f64 - 1.0),
            llo + step * (best as f64 + 1.0),
        );
        let g = (5f64.sqrt() - 1.0) / 2.0;
        let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
        let (mut fc, mut fd) = (f(c), f(d));
        while b - a > 1e-9 {
            if fc < fd {
                b = d;
                d = c;
                fd = fc;
                c = b - g * (b - a);
                fc = f(c);
            } else {
                a = c;
                c = d;
                fc = fd;
                d = a + g * (b - a);
                fd = f(d);
            }
        }
        Some((0.5 * (a + b)).exp())
    }
}

/// Estimates the realised kappa from per-group sums of theta at the checkpoints.
///
/// `times` are the checkpoint times, `group_sums[g]` the sums over group g's trajectories
/// ((K+1) x d, row-major), `group_counts[g][k]` how many trajectories enter checkpoint k's sum
/// (those not diverged by then), and `kappa_guess` a scale for the search (kappa_hat is sought in
/// [guess / 30, guess * 30]). Every mean, the full one and each leave-one-group-out one, divides a
/// checkpoint's sum by the count of the same trajectories. Returns `None` with fewer than 2
/// groups, when some checkpoint has no trajectory left without one group, or when the best fit
/// lies at the edge of the range.
pub fn kappa_hat(
    loss: &dyn Loss,
    theta0: &[f64],
    times: &[f64],
    group_sums: &[Vec<f64>],
    group_counts: &[Vec<u64>],
    kappa_guess: f64,
) -> Option<Estimate> {
    let d = theta0.len();
    if group_sums.len() < 2 || times.len() < 2 {
        return None;
    }
    let pick: Vec<usize> = if times.len() - 1 <= MAX_FIT_POINTS {
        (1..times.len()).collect()
    } else {
        (1..=MAX_FIT_POINTS)
            .map(|j| j * (times.len() - 1) / MAX_FIT_POINTS)
            .collect()
    };
    let fit_times: Vec<f64> = pick.iter().map(|&k| times[k]).collect();
    let s_max = RANGE * kappa_guess * fit_times.last().copied().unwrap_or(1.0);
    if !(s_max.is_finite() && s_max / DS < 1e7) {
        return None;
    }
    let obj = Objective {
        flow: UnitFlow::new(loss, theta0, s_max),
        times: fit_times,
    };
    let total: Vec<f64> = (0..group_sums[0].len())
        .map(|i| group_sums.iter().map(|g| g[i]).sum())
        .collect();
    let total_count: Vec<u64> = (0..times.len())
        .map(|k| group_counts.iter().map(|c| c[k]).sum())
        .collect();
    let mean_of = |sum: &[f64], count: &[u64]| -> Option<Vec<Vec<f64>>> {
        pick.iter()
            .map(|&k| {
                (count[k] > 0).then(|| {
                    sum[k * d..(k + 1) * d]
                        .iter()
                        .map(|v| v / count[k] as f64)
                        .collect()
                })
            })
            .collect()
    };
    let full = obj.argmin(
        &mean_of(&total, &total_count)?,
        kappa_guess / RANGE,
        kappa_guess * RANGE,
        61,
    )?;
    let loo: Vec<f64> = group_sums
        .iter()
        .zip(group_counts)
        .map(|(g, c)| {
            let rest: Vec<f64> = total.iter().zip(g).map(|(t, x)| t - x).collect();
            let rest_count: Vec<u64> = total_count.iter().zip(c).map(|(t, x)| t - x).collect();
            let (lo, hi) = (
                (full / 1.5).max(kappa_guess / RANGE),
                (full * 1.5).min(kappa_guess * RANGE),
            );
            obj.argmin(&mean_of(&rest, &rest_count)?, lo, hi, 9)
        })
        .collect::<Option<_>>()?;
    let mut e = jackknife(full, &loo);
    // Report the plain least-squares value as the estimate; the jackknife supplies its error.
    let shift = full - e.mean;
    e.mean = full;
    e.ci95 = [e.ci95[0] + shift, e.ci95[1] + shift];
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{Linear, Quadratic};

    #[test]
    fn recovers_kappa_from_exact_flow_paths() {
        let q = Quadratic::new(vec![1.0, -1.0], vec![1.0, 2.0]);
        let theta0 = [0.0, 0.0];
        let times: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
        let kappa = 3.7;
        let mut sums = Vec::new();
        for g in 0..4 {
            let mut s = vec![0.0; times.len() * 2];
            for (k, t) in times.iter().enumerate() {
                let mut z = [0.0; 2];
                q.exact_flow(&theta0, kappa, *t, &mut z);
                // Each group holds 10 paths whose mean is the flow (perturbations cancel).
                let eps = 1e-3 * (g as f64 - 1.5);
                s[k * 2] = 10.0 * z[0] + eps;
                s[k * 2 + 1] = 10.0 * z[1] - eps;
            }
            sums.push(s);
        }
        let e = kappa_hat(&q, &theta0, &times, &sums, &vec![vec![10; 21]; 4], 1.0).unwrap();
        assert!((e.mean - kappa).abs() < 1e-6, "{e:?}");

        let lin = Linear::new(vec![1.0, 2.0]);
        let lin_sums: Vec<Vec<f64>> = (0..3)
            .map(|_| {
                times
                    .iter()
                    .flat_map(|t| [-5.0 * 0.8 * t, -5.0 * 1.6 * t])
                    .collect()
            })
            .collect();
        let e = kappa_hat(&lin, &theta0, &times, &lin_sums, &vec![vec![5; 21]; 3], 2.0).unwrap();
        assert!((e.mean - 0.8).abs() < 1e-7 && e.std_error < 1e-7, "{e:?}");
    }
}
