use super::{LANES, Loss, sigmoid};
use crate::fastmath::softplus;

/// Single-sample logistic loss L(theta) = log(1 + exp(-y x.theta)) with label y in {-1, +1}.
/// Its gradient -y x sigmoid(-y x.theta) is bounded by |x| in every dimension. Values use the
/// branch-free `fastmath::softplus` (within 3 ulp), so the batched form vectorises.
#[derive(Clone, Debug)]
pub struct Logistic {
    x: Vec<f64>,
    y: f64,
}

impl Logistic {
    /// With input x and label y (-1 or +1).
    pub fn new(x: Vec<f64>, y: f64) -> Self {
        Self { x, y }
    }
}

impl Loss for Logistic {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut m = 0.0;
        for (x, t) in self.x.iter().zip(theta) {
            m += x * t;
        }
        softplus(-self.y * m)
    }

    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        let m: f64 = self.x.iter().zip(theta).map(|(x, t)| x * t).sum();
        let s = -self.y * sigmoid(-self.y * m);
        for (g, x) in grad.iter_mut().zip(&self.x) {
            *g = s * x;
        }
    }

    /// H = s (1 - s) x x^T with s = sigmoid(-y x.theta) (y^2 = 1): rank one, O(d) per product.
    fn hessian_vector(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let m: f64 = self.x.iter().zip(theta).map(|(x, t)| x * t).sum();
        let s = sigmoid(-self.y * m);
        let xv: f64 = self.x.iter().zip(v).map(|(x, v)| x * v).sum();
        let c = s * (1.0 - s) * xv;
        for (o, x) in out.iter_mut().zip(&self.x) {
            *o = c * x;
        }
    }
    #[inline(always)]
    fn value_lanes(&self, x: &[f64], lanes: usize, _scratch: &mut [f64], out: &mut [f64]) {
        super::value_lanes_by_rows(self, x, lanes, out);
    }

    fn known(&self) -> super::Known<'_> {
        super::Known::Logistic(self)
    }
}

impl super::RowLoss for Logistic {
    const ROWS: bool = true;

    #[inline(always)]
    fn add_row(&self, i: usize, x: &[f64; LANES], acc: &mut [f64; LANES]) {
        super::add_weighted_row(self.x[i], x, acc);
    }

    #[inline(always)]
    fn finish(&self, acc: &[f64; LANES]) -> [f64; LANES] {
        std::array::from_fn(|b| softplus(-self.y * acc[b]))
    }
}
