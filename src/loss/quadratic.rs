use super::{LANES, Loss};

/// L(theta) = 0.5 sum_i h_i (theta_i - c_i)^2. Its gradient flow is known in closed form:
/// Z_i(t) = c_i + (theta0_i - c_i) exp(-kappa h_i t).
#[derive(Clone, Debug)]
pub struct Quadratic {
    center: Vec<f64>,
    curvature: Vec<f64>,
}

impl Quadratic {
    /// With centre c and curvatures h (same length).
    pub fn new(center: Vec<f64>, curvature: Vec<f64>) -> Self {
        assert_eq!(center.len(), curvature.len());
        Self { center, curvature }
    }

    /// The exact gradient flow at time t from `theta0` with drift constant kappa.
    #[cfg(test)]
    pub fn exact_flow(&self, theta0: &[f64], kappa: f64, t: f64, out: &mut [f64]) {
        for i in 0..self.center.len() {
            let c = self.center[i];
            out[i] = c + (theta0[i] - c) * (-kappa * self.curvature[i] * t).exp();
        }
    }
}

impl Loss for Quadratic {
    fn dim(&self) -> usize {
        self.center.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..self.center.len() {
            let z = theta[i] - self.center[i];
            s += 0.5 * self.curvature[i] * z * z;
        }
        s
    }

    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        for i in 0..self.center.len() {
            grad[i] = self.curvature[i] * (theta[i] - self.center[i]);
        }
    }

    fn hessian_vector(&self, _theta: &[f64], v: &[f64], out: &mut [f64]) {
        for i in 0..self.center.len() {
            out[i] = self.curvature[i] * v[i];
        }
    }

    /// The diagonal product for every vector.
    #[inline(always)]
    fn hessian_vector_lanes(&self, _theta: &[f64], v: &[f64], _: &mut [f64], out: &mut [f64]) {
        let n = self.curvature.len() * LANES;
        for (vk, ok) in v.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            crate::lanes::scale(&self.curvature, vk, ok);
        }
    }

    #[inline(always)]
    fn value_lanes(&self, x: &[f64], lanes: usize, _scratch: &mut [f64], out: &mut [f64]) {
        super::value_lanes_by_rows(self, x, lanes, out);
    }

    fn known(&self) -> super::Known<'_> {
        super::Known::Quadratic(self)
    }
}

impl super::RowLoss for Quadratic {
    const ROWS: bool = true;

    /// (c_i, h_i).
    type Row = (f64, f64);

    #[inline(always)]
    fn rows(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.center
            .iter()
            .copied()
            .zip(self.curvature.iter().copied())
    }

    #[inline(always)]
    fn add_row(&self, (c, h): (f64, f64), x: &[f64; LANES], acc: &mut [f64; LANES]) {
        for b in 0..LANES {
            let z = x[b] - c;
            acc[b] += 0.5 * h * z * z;
        }
    }
}
