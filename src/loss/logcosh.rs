use super::{LANES, Loss, log_cosh};

/// L(theta) = sum_i log cosh(theta_i - c_i): bounded gradient tanh, Lipschitz with constant 1
/// (the paper's assumption 3.6).
#[derive(Clone, Debug)]
pub struct LogCosh {
    center: Vec<f64>,
}

impl LogCosh {
    /// With centre c.
    pub fn new(center: Vec<f64>) -> Self {
        Self { center }
    }
}

impl Loss for LogCosh {
    fn dim(&self) -> usize {
        self.center.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut s = 0.0;
        for (t, c) in theta.iter().zip(&self.center) {
            s += log_cosh(t - c);
        }
        s
    }

    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        for ((g, t), c) in grad.iter_mut().zip(theta).zip(&self.center) {
            *g = (t - c).tanh();
        }
    }

    /// d/dz tanh z = 1 - tanh^2 z (diagonal Hessian).
    fn hessian_vector(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        for i in 0..self.center.len() {
            let t = (theta[i] - self.center[i]).tanh();
            out[i] = (1.0 - t * t) * v[i];
        }
    }

    /// The diagonal product for every vector, one tanh per coordinate (the curvatures in
    /// `scratch`).
    #[inline(always)]
    fn hessian_vector_lanes(&self, theta: &[f64], v: &[f64], scratch: &mut [f64], out: &mut [f64]) {
        let h = &mut scratch[..self.center.len()];
        for ((h, t), c) in h.iter_mut().zip(theta).zip(&self.center) {
            let t = (t - c).tanh();
            *h = 1.0 - t * t;
        }
        let n = h.len() * LANES;
        for (vk, ok) in v.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            crate::lanes::scale(h, vk, ok);
        }
    }

    #[inline(always)]
    fn value_lanes(&self, x: &[f64], lanes: usize, _scratch: &mut [f64], out: &mut [f64]) {
        super::value_lanes_by_rows(self, x, lanes, out);
    }

    fn known(&self) -> super::Known<'_> {
        super::Known::LogCosh(self)
    }
}

impl super::RowLoss for LogCosh {
    const ROWS: bool = true;

    type Row = f64;

    #[inline(always)]
    fn rows(&self) -> impl Iterator<Item = f64> + '_ {
        self.center.iter().copied()
    }

    #[inline(always)]
    fn add_row(&self, c: f64, x: &[f64; LANES], acc: &mut [f64; LANES]) {
        use crate::fastmath::{log_cosh_big, log_cosh_small};
        let a: [f64; LANES] = std::array::from_fn(|b| (x[b] - c).abs());
        // The lanes of a batch are usually on the same side of |z| = 1: then one branch of
        // `log_cosh` suffices, with the same bits.
        let mut v = [0.0; LANES];
        if a.iter().all(|&a| a < 1.0) {
            for b in 0..LANES {
                v[b] = log_cosh_small(a[b]);
            }
        } else if a.iter().all(|&a| a >= 1.0) {
            for b in 0..LANES {
                v[b] = log_cosh_big(a[b]);
            }
        } else {
            for b in 0..LANES {
                v[b] = log_cosh(x[b] - c);
            }
        }
        for b in 0..LANES {
            acc[b] += v[b];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::RowLoss;

    /// The row form takes one branch when all lanes are on one side of |z| = 1 and both
    /// otherwise; every case gives the bits of the scalar `log_cosh`, NaN included.
    #[test]
    fn row_branches_match_scalar_bits() {
        let loss = LogCosh::new(vec![0.25]);
        let small = [0.0, 0.3, -0.5, 1.2, 0.9, 0.25, -0.7, 1.1];
        let big = [2.0, -1.0, 1.25, 40.0, -300.0, 800.0, 3.0, -0.75];
        let mixed = [0.0, 2.0, 0.5, -3.0, 1.25, 1.2499, f64::NAN, 0.75];
        for x in [small, big, mixed] {
            let mut acc = [0.0; LANES];
            loss.add_row(0.25, &x, &mut acc);
            for b in 0..LANES {
                let want = log_cosh(x[b] - 0.25);
                assert!(
                    acc[b].to_bits() == want.to_bits() || (acc[b].is_nan() && want.is_nan()),
                    "lane {b}: {} vs {want}",
                    acc[b]
                );
            }
        }
    }
}
