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

    #[inline(always)]
    fn add_row(&self, i: usize, x: &[f64; LANES], acc: &mut [f64; LANES]) {
        let c = self.center[i];
        for b in 0..LANES {
            acc[b] += log_cosh(x[b] - c);
        }
    }
}
