use super::{LANES, Loss};

/// L(theta) = g.theta. For this loss the mean STDP increment is known exactly:
/// -alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n) g per update (docs/model.md section 2.1).
#[derive(Clone, Debug)]
pub struct Linear {
    g: Vec<f64>,
}

impl Linear {
    /// With gradient g.
    pub fn new(g: Vec<f64>) -> Self {
        Self { g }
    }
}

impl Loss for Linear {
    fn dim(&self) -> usize {
        self.g.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut s = 0.0;
        for (g, t) in self.g.iter().zip(theta) {
            s += g * t;
        }
        s
    }

    fn gradient(&self, _theta: &[f64], grad: &mut [f64]) {
        grad.copy_from_slice(&self.g);
    }

    fn hessian_vector(&self, _theta: &[f64], _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }

    /// Zero for every vector.
    #[inline(always)]
    fn hessian_vector_lanes(&self, _theta: &[f64], v: &[f64], _: &mut [f64], out: &mut [f64]) {
        out[..v.len()].fill(0.0);
    }

    #[inline(always)]
    fn value_lanes(&self, x: &[f64], lanes: usize, _scratch: &mut [f64], out: &mut [f64]) {
        super::value_lanes_by_rows(self, x, lanes, out);
    }

    fn known(&self) -> super::Known<'_> {
        super::Known::Linear(self)
    }
}

impl super::RowLoss for Linear {
    const ROWS: bool = true;

    type Row = f64;

    #[inline(always)]
    fn rows(&self) -> impl Iterator<Item = f64> + '_ {
        self.g.iter().copied()
    }

    #[inline(always)]
    fn add_row(&self, w: f64, x: &[f64; LANES], acc: &mut [f64; LANES]) {
        super::add_weighted_row(w, x, acc);
    }
}
