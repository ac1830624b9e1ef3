//! The Cholesky factorisation of small symmetric positive definite matrices and its solves
//! (Golub & Van Loan, *Matrix Computations*, 4th ed., 2013, algorithm 4.2.1 and section 3.1).

/// The lower factor L of A = L L^T, row-major q x q.
pub(crate) struct Cholesky {
    l: Vec<f64>,
    q: usize,
}

impl Cholesky {
    /// The factor of the row-major q x q matrix `a` (only its lower triangle is read); `None`
    /// unless every pivot exceeds `rel_tol` times its diagonal entry of `a` (so a zero, negative
    /// or NaN pivot is refused; `rel_tol` above 0 also refuses nearly collinear columns).
    pub(crate) fn new(a: &[f64], q: usize, rel_tol: f64) -> Option<Self> {
        let mut l = vec![0.0; q * q];
        for i in 0..q {
            for j in 0..=i {
                let s = a[i * q + j] - (0..j).map(|k| l[i * q + k] * l[j * q + k]).sum::<f64>();
                if i == j {
                    let floor = rel_tol * a[i * q + i];
                    if s.partial_cmp(&floor) != Some(std::cmp::Ordering::Greater) {
                        return None;
                    }
                    l[i * q + i] = s.sqrt();
                } else {
                    l[i * q + j] = s / l[j * q + j];
                }
            }
        }
        Some(Self { l, q })
    }

    /// z with A z = r: forward substitution with L, then back substitution with L^T.
    pub(crate) fn solve(&self, r: &[f64]) -> Vec<f64> {
        let (l, q) = (&self.l, self.q);
        let mut z = r.to_vec();
        for i in 0..q {
            z[i] = (z[i] - (0..i).map(|k| l[i * q + k] * z[k]).sum::<f64>()) / l[i * q + i];
        }
        for i in (0..q).rev() {
            z[i] = (z[i] - (i + 1..q).map(|k| l[k * q + i] * z[k]).sum::<f64>()) / l[i * q + i];
        }
        z
    }
}
