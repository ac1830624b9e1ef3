//! Scaling rules for the step size alpha_n and the noise half-width A_n (eqs. 3.3 and the
//! corrected scaling of the published version), and the drift constants they imply.

use serde::{Deserialize, Serialize};

/// How alpha_n and A_n depend on the number of updates n per learning opportunity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "lowercase")]
pub enum ScalingRule {
    /// First version, eq. 3.3: alpha_n = alpha, A_n = A n^(-1/3).
    Paper,
    /// Published version: alpha_n = alpha, A_n = A n^(-1/2).
    Corrected,
    /// alpha_n = alpha n^(-beta), A_n = A n^(-gamma).
    Power {
        /// Exponent of the step size.
        beta: f64,
        /// Exponent of the noise half-width.
        gamma: f64,
    },
}

/// A scaling rule with its constants alpha and A.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// The rule.
    #[serde(flatten)]
    pub rule: ScalingRule,
    /// The constant alpha.
    pub alpha: f64,
    /// The constant A.
    pub a: f64,
}

/// Why `drift = "limit"` has no finite non-zero value under a rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimitError {
    /// n alpha_n (2 cosh A_n - 2 sinh A_n / A_n) grows without bound (beta + 2 gamma < 1).
    Infinite,
    /// It tends to zero (beta + 2 gamma > 1): the process freezes.
    Zero,
}

impl Scaling {
    /// The first version's scaling (3.3): alpha_n = alpha, A_n = A n^(-1/3).
    pub fn paper(alpha: f64, a: f64) -> Self {
        Self {
            rule: ScalingRule::Paper,
            alpha,
            a,
        }
    }

    /// The corrected scaling: alpha_n = alpha, A_n = A n^(-1/2).
    pub fn corrected(alpha: f64, a: f64) -> Self {
        Self {
            rule: ScalingRule::Corrected,
            alpha,
            a,
        }
    }

    /// alpha_n = alpha n^(-beta), A_n = A n^(-gamma).
    pub fn power(alpha: f64, a: f64, beta: f64, gamma: f64) -> Self {
        Self {
            rule: ScalingRule::Power { beta, gamma },
            alpha,
            a,
        }
    }

    /// The exponents (beta, gamma) of the rule.
    pub fn exponents(&self) -> (f64, f64) {
        match self.rule {
            ScalingRule::Paper => (0.0, 1.0 / 3.0),
            ScalingRule::Corrected => (0.0, 0.5),
            ScalingRule::Power { beta, gamma } => (beta, gamma),
        }
    }

    /// Step size alpha_n.
    pub fn alpha_n(&self, n: u64) -> f64 {
        let (beta, _) = self.exponents();
        self.alpha * (n as f64).powf(-beta)
    }

    /// Noise half-width A_n.
    pub fn a_n(&self, n: u64) -> f64 {
        let (_, gamma) = self.exponents();
        self.a * (n as f64).powf(-gamma)
    }

    /// kappa_n = n alpha_n (2 cosh A_n - 2 sinh(A_n)/A_n): n times the mean increment of one update
    /// from rest for a linear loss. The loss difference also carries the previous increment,
    /// which adds O(alpha_n^2 A_n^4) per update, so even for a linear loss the realised drift
    /// differs from kappa_n at O(1/n) on the corrected scaling (docs/model.md section 4.1).
    pub fn kappa_n(&self, n: u64) -> f64 {
        n as f64 * self.alpha_n(n) * drift_factor(self.a_n(n))
    }

    /// Exponent of n in kappa_n as n grows: 1 - beta - 2 gamma (1 - beta when gamma = 0).
    pub fn drift_exponent(&self) -> f64 {
        let (beta, gamma) = self.exponents();
        1.0 - beta - 2.0 * gamma
    }

    /// lim_n kappa_n, when it is finite and non-zero.
    pub fn kappa_limit(&self) -> Result<f64, LimitError> {
        let e = self.drift_exponent();
        if e > 1e-12 {
            return Err(LimitError::Infinite);
        }
        if e < -1e-12 {
            return Err(LimitError::Zero);
        }
        let (_, gamma) = self.exponents();
        if gamma == 0.0 {
            Ok(self.alpha * drift_factor(self.a))
        } else {
            Ok(2.0 / 3.0 * self.alpha * self.a * self.a)
        }
    }
}

impl Scaling {
    /// alpha^2 A^4, the scale of the diffusion coefficient of the fluctuation limit
    /// ([`crate::fluctuation`]), or why the rule has none: the limit needs the critical line
    /// beta + 2 gamma = 1 (where n^2 alpha_n^2 A_n^4 = alpha^2 A^4 for every n) and gamma > 1/4
    /// (A_n -> 0 fast enough that the O(A_n^2) bias of the drift is o(n^(-1/2)); docs/model.md
    /// section 5).
    pub fn noise_scale(&self) -> Result<f64, String> {
        let (beta, gamma) = self.exponents();
        let line = beta + 2.0 * gamma;
        if (line - 1.0).abs() > 1e-12 {
            let what = if line < 1.0 { "explodes" } else { "freezes" };
            return Err(format!(
                "beta + 2 gamma = {line:.4} is not 1, so the drift {what} and there is no diffusion limit"
            ));
        }
        if gamma <= 0.25 {
            return Err(format!(
                "gamma = {gamma} is not above 1/4: the O(A_n^2) = O(n^(-2 gamma)) bias of the drift does not vanish against the n^(-1/2) fluctuations, so sqrt(n) (Z^n - Z) has no centred limit"
            ));
        }
        Ok(self.alpha.powi(2) * self.a.powi(4))
    }
}

/// c(a) = 2 cosh a - 2 sinh(a)/a, the mean drift factor of one update for a linear loss.
///
/// Computed without cancellation: for |a| <= 2 by its Taylor series
/// c(a) = sum_{k>=1} 4k a^(2k) / (2k+1)! = (2/3) a^2 + a^4/15 + a^6/420 + ..., whose terms are all
/// positive (summed until they no longer change the result); for larger |a| the closed form,
/// where no cancellation occurs (2 cosh a dominates).
pub fn drift_factor(a: f64) -> f64 {
    let a = a.abs();
    if a > 2.0 {
        return 2.0 * a.cosh() - 2.0 * a.sinh() / a;
    }
    let a2 = a * a;
    // term_k = 4k a^(2k) / (2k+1)!; p tracks a^(2k)/(2k+1)!.
    let mut p = a2 / 6.0;
    let mut sum = 0.0;
    for k in 1..60u32 {
        let term = 4.0 * f64::from(k) * p;
        let next = sum + term;
        if next == sum {
            break;
        }
        sum = next;
        let k = f64::from(k);
        p *= a2 / ((2.0 * k + 2.0) * (2.0 * k + 3.0));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_factor_matches_series_without_cancellation() {
        for &a in &[1e-8f64, 1e-4, 1e-2, 0.1] {
            let series =
                2.0 / 3.0 * a * a + a.powi(4) / 15.0 + a.powi(6) / 420.0 + a.powi(8) / 22680.0;
            let rel = (drift_factor(a) - series).abs() / series;
            assert!(rel < 1e-14, "a = {a}: rel {rel}");
        }
        // At a = 1e-4 the naive formula loses about half the digits.
        let a: f64 = 1e-4;
        let naive = 2.0 * a.cosh() - 2.0 * a.sinh() / a;
        let series = 2.0 / 3.0 * a * a + a.powi(4) / 15.0;
        assert!((naive - series).abs() / series > 1e-10);
        assert!((drift_factor(a) - series).abs() / series < 1e-15);
    }

    #[test]
    fn drift_factor_is_continuous_at_the_switch() {
        let lo = drift_factor(2.0);
        let hi = drift_factor(2.0 + 1e-12);
        let closed = 2.0 * 2f64.cosh() - 2f64.sinh();
        assert!((lo - closed).abs() / closed < 1e-14);
        assert!((hi - lo).abs() / lo < 1e-11);
    }

    #[test]
    fn limits_follow_the_critical_line() {
        let s = |rule| Scaling {
            rule,
            alpha: 1.5,
            a: 2.0,
        };
        assert_eq!(
            s(ScalingRule::Paper).kappa_limit(),
            Err(LimitError::Infinite)
        );
        let k = s(ScalingRule::Corrected).kappa_limit().unwrap();
        assert!((k - 4.0).abs() < 1e-15);
        let frozen = s(ScalingRule::Power {
            beta: 0.5,
            gamma: 0.5,
        });
        assert_eq!(frozen.kappa_limit(), Err(LimitError::Zero));
        let on_line = s(ScalingRule::Power {
            beta: 0.4,
            gamma: 0.3,
        });
        let k = on_line.kappa_limit().unwrap();
        let kn = on_line.kappa_n(1_000_000_000);
        assert!((kn - k).abs() / k < 1e-5);
    }
}
