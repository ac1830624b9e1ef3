//! The reference gradient flow dZ/dt = -kappa grad L(Z), integrated by the classical fourth-order
//! Runge-Kutta method (Kutta 1901; e.g. Hairer, Norsett & Wanner, *Solving Ordinary Differential
//! Equations I*, 2nd ed., 1993, section II.1, table 1.2).

use crate::loss::Loss;

/// RK4 integrator for the flow, carrying its own state and work buffers (no allocation per step).
pub struct Rk4<'a> {
    loss: &'a dyn Loss,
    kappa: f64,
    t: f64,
    z: Vec<f64>,
    k: [Vec<f64>; 4],
    tmp: Vec<f64>,
}

impl<'a> Rk4<'a> {
    /// Starts the flow at Z(0) = theta0.
    pub fn new(loss: &'a dyn Loss, kappa: f64, theta0: &[f64]) -> Self {
        let d = theta0.len();
        Self {
            loss,
            kappa,
            t: 0.0,
            z: theta0.to_vec(),
            k: [vec![0.0; d], vec![0.0; d], vec![0.0; d], vec![0.0; d]],
            tmp: vec![0.0; d],
        }
    }

    /// The current state Z(t).
    pub fn state(&self) -> &[f64] {
        &self.z
    }

    /// One RK4 step of size h.
    pub fn step(&mut self, h: f64) {
        let kappa = self.kappa;
        let [k1, k2, k3, k4] = &mut self.k;
        let (z, tmp, loss) = (&self.z, &mut self.tmp, self.loss);
        loss.gradient(z, k1);
        for i in 0..z.len() {
            tmp[i] = z[i] - 0.5 * h * kappa * k1[i];
        }
        loss.gradient(tmp, k2);
        for i in 0..z.len() {
            tmp[i] = z[i] - 0.5 * h * kappa * k2[i];
        }
        loss.gradient(tmp, k3);
        for i in 0..z.len() {
            tmp[i] = z[i] - h * kappa * k3[i];
        }
        loss.gradient(tmp, k4);
        for i in 0..self.z.len() {
            self.z[i] -= h * kappa / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        self.t += h;
    }

    /// Advances to time `target` in `substeps` equal RK4 steps (none if already there).
    pub fn advance_to(&mut self, target: f64, substeps: u32) {
        let span = target - self.t;
        if span <= 0.0 {
            return;
        }
        let h = span / f64::from(substeps.max(1));
        for _ in 0..substeps.max(1) {
            self.step(h);
        }
        self.t = target;
    }
}

/// Step doubling (the convergence test of Richardson's method; Hairer, Norsett & Wanner, *Solving
/// Ordinary Differential Equations I*, section II.4): `solve(m)` at m = `start`, 2m, 4m, ...
/// steps until two successive results are `close`, or m reaches `max_steps`; returns the last
/// result.
pub fn step_doubling<T>(
    start: u32,
    max_steps: u32,
    mut solve: impl FnMut(u32) -> T,
    close: impl Fn(&T, &T) -> bool,
) -> T {
    let mut m = start;
    let mut coarse = solve(m);
    loop {
        let fine = solve(2 * m);
        m *= 2;
        if close(&coarse, &fine) || m >= max_steps {
            return fine;
        }
        coarse = fine;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Quadratic;

    fn max_error(steps: u32) -> f64 {
        let q = Quadratic::new(vec![1.0, -2.0, 0.5], vec![1.0, 3.0, 0.2]);
        let theta0 = [0.0, 1.0, -1.0];
        let kappa = 1.7;
        let mut rk = Rk4::new(&q, kappa, &theta0);
        let mut exact = [0.0; 3];
        let mut worst: f64 = 0.0;
        for l in 1..=steps {
            let t = f64::from(l) / f64::from(steps);
            rk.advance_to(t, 1);
            q.exact_flow(&theta0, kappa, t, &mut exact);
            for i in 0..3 {
                worst = worst.max((rk.state()[i] - exact[i]).abs());
            }
        }
        worst
    }

    #[test]
    fn rk4_is_fourth_order_on_the_quadratic() {
        // Halving the step must divide the global error by about 2^4 = 16.
        let errs: Vec<f64> = [40, 80, 160, 320].iter().map(|&s| max_error(s)).collect();
        for w in errs.windows(2) {
            let order = (w[0] / w[1]).log2();
            assert!(
                (order - 4.0).abs() < 0.15,
                "observed order {order}, errors {errs:?}"
            );
        }
    }
}
