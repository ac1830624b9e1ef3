use super::{LANES, Loss};

/// L(theta) = g.theta. For this loss the mean STDP increment is known exactly:
/// -alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n) g per update (NOTES.md section 3.1).
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

    #[inline(always)]
    fn value_lanes(&self, x: &[f64], lanes: usize, _scratch: &mut [f64], out: &mut [f64]) {
        let mut acc = [0.0; LANES];
        for (i, g) in self.g.iter().enumerate() {
            let row = &x[i * LANES..i * LANES + LANES];
            for b in 0..LANES {
                acc[b] += g * row[b];
            }
        }
        out[..lanes].copy_from_slice(&acc[..lanes]);
    }

    fn known(&self) -> super::Known<'_> {
        super::Known::Linear(self)
    }
}
