use super::estimate::{normal_quantile, t_quantile};
use super::fit::{birge_ratio, chi2_p_value};
use serde::{Deserialize, Serialize};

/// The range of exponents searched by [`fit_power_law_corrected`].
pub const CORRECTED_SLOPE_RANGE: [f64; 2] = [-10.0, 10.0];
/// Largest step of the coarse scan of the profile chi-squared.
const SCAN_STEP: f64 = 0.02;
/// Most steps of the coarse scan.
const SCAN_STEPS: f64 = 1e5;
/// Width at which golden-section and bisection searches stop.
const SLOPE_TOLERANCE: f64 = 1e-10;
/// How many of the lowest local minima of the scan are refined.
const MAX_MINIMA: usize = 8;

/// Fit of y = x^slope (amplitude + correction x^correction_exponent) with a known correction
/// exponent, from the profile chi-squared of the slope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrectedPowerLawFit {
    /// The fitted exponent s.
    pub slope: f64,
    /// Its 95% profile-likelihood interval; an end is infinite (null in JSON) when the
    /// chi-squared stays below the threshold up to that end of the searched range.
    #[serde(with = "unbounded_interval")]
    pub ci95: [f64; 2],
    /// a at the optimum.
    pub amplitude: f64,
    /// b at the optimum.
    pub correction: f64,
    /// The known exponent p of the correction.
    pub correction_exponent: f64,
    /// Chi-squared of the weighted residuals at the optimum.
    pub chi2: f64,
    /// Degrees of freedom, K - 3.
    pub dof: usize,
    /// sqrt(chi2 / dof) (NaN, written as null, with three points).
    #[serde(with = "crate::serde_nan::scalar")]
    pub birge_ratio: f64,
    /// P(chi2_{K-3} >= chi2) (NaN, written as null, with three points).
    #[serde(with = "crate::serde_nan::scalar")]
    pub chi2_p_value: f64,
}

impl CorrectedPowerLawFit {
    /// The fitted curve at x.
    pub fn predict(&self, x: f64) -> f64 {
        x.powf(self.slope) * (self.amplitude + self.correction * x.powf(self.correction_exponent))
    }
}

/// Serde for an interval whose ends may be infinite: written as null, read back as -inf for the
/// lower end and +inf for the upper end.
mod unbounded_interval {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64; 2], s: S) -> Result<S::Ok, S::Error> {
        crate::serde_nan::pair::serialize(v, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        let [a, b] = <[Option<f64>; 2]>::deserialize(d)?;
        Ok([a.unwrap_or(f64::NEG_INFINITY), b.unwrap_or(f64::INFINITY)])
    }
}

/// Weighted least squares of y on (x^s, x^(s+p)) for a given s. The x are divided by their
/// geometric mean x0 (the fitted span, hence chi2(s), is unchanged) to keep x^s in range.
struct Profile {
    /// ln(x / x0).
    t: Vec<f64>,
    /// (x / x0)^p.
    xp: Vec<f64>,
    /// 1 / se.
    sw: Vec<f64>,
    /// y / se.
    z: Vec<f64>,
    ln_x0: f64,
    p: f64,
}

impl Profile {
    fn new(x: &[f64], y: &[f64], se: &[f64], p: f64) -> Self {
        let k = x.len() as f64;
        let ln_x0 = x.iter().map(|v| v.ln()).sum::<f64>() / k;
        let t: Vec<f64> = x.iter().map(|v| v.ln() - ln_x0).collect();
        Self {
            xp: t.iter().map(|t| (p * t).exp()).collect(),
            t,
            sw: se.iter().map(|s| 1.0 / s).collect(),
            z: y.iter().zip(se).map(|(y, s)| y / s).collect(),
            ln_x0,
            p,
        }
    }

    /// The weighted columns, orthonormalised by modified Gram-Schmidt with one
    /// reorthogonalisation (Björck, *Numerical Methods for Least Squares Problems*, 1996,
    /// section 2.4), and the triangular factor [r11, r12, r22]; None when they are not
    /// independent or overflow.
    fn qr(&self, s: f64) -> Option<(Vec<f64>, Vec<f64>, [f64; 3])> {
        let f1: Vec<f64> = (0..self.t.len())
            .map(|i| self.sw[i] * (s * self.t[i]).exp())
            .collect();
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        let r11 = norm(&f1);
        if !(r11.is_finite() && r11 > 0.0) {
            return None;
        }
        let q1: Vec<f64> = f1.iter().map(|v| v / r11).collect();
        let mut v: Vec<f64> = f1.iter().zip(&self.xp).map(|(f, x)| f * x).collect();
        let norm2 = norm(&v);
        let mut r12 = 0.0;
        for _ in 0..2 {
            let d = dot(&q1, &v);
            v.iter_mut().zip(&q1).for_each(|(v, q)| *v -= d * q);
            r12 += d;
        }
        let r22 = norm(&v);
        if !(r22.is_finite() && r22 > 1e-12 * norm2) {
            return None;
        }
        let q2: Vec<f64> = v.iter().map(|v| v / r22).collect();
        Some((q1, q2, [r11, r12, r22]))
    }

    /// The chi-squared of the best fit at exponent s (+inf when the columns degenerate).
    fn chi2(&self, s: f64) -> f64 {
        let Some((q1, q2, _)) = self.qr(s) else {
            return f64::INFINITY;
        };
        let mut r = self.z.clone();
        for q in [&q1, &q2] {
            let d: f64 = r.iter().zip(q).map(|(r, q)| r * q).sum();
            r.iter_mut().zip(q).for_each(|(r, q)| *r -= d * q);
        }
        r.iter().map(|r| r * r).sum()
    }

    /// The best (a, b) at exponent s, in the units of the unscaled x.
    fn coefficients(&self, s: f64) -> (f64, f64) {
        let Some((q1, q2, [r11, r12, r22])) = self.qr(s) else {
            return (f64::NAN, f64::NAN);
        };
        let dot = |q: &[f64]| q.iter().zip(&self.z).map(|(q, z)| q * z).sum::<f64>();
        let c2 = dot(&q2) / r22;
        let c1 = (dot(&q1) - r12 * c2) / r11;
        let a = c1 * (-s * self.ln_x0).exp();
        let b = c2 * (-(s + self.p) * self.ln_x0).exp();
        (a, b)
    }
}

/// Chi-squared on an even grid from range[0] to range[1] with step at most SCAN_STEP (or
/// SCAN_STEPS steps).
fn scan(profile: &Profile, range: [f64; 2]) -> Vec<(f64, f64)> {
    let [lo, hi] = range;
    let steps = ((hi - lo) / SCAN_STEP).ceil().clamp(2.0, SCAN_STEPS) as usize;
    let h = (hi - lo) / steps as f64;
    (0..=steps)
        .map(|j| {
            let s = if j == steps { hi } else { lo + j as f64 * h };
            (s, profile.chi2(s))
        })
        .collect()
}

/// Golden-section search for a minimum of chi2 in [lo, hi], stopping at width SLOPE_TOLERANCE
/// (Kiefer, *Proc. AMS* 4, 1953; Press et al., *Numerical Recipes*, 3rd ed., section 10.2).
fn golden(profile: &Profile, mut lo: f64, mut hi: f64) -> (f64, f64) {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fc, mut fd) = (profile.chi2(c), profile.chi2(d));
    while hi - lo > SLOPE_TOLERANCE {
        if fc < fd {
            (hi, d, fd) = (d, c, fc);
            c = hi - g * (hi - lo);
            fc = profile.chi2(c);
        } else {
            (lo, c, fc) = (c, d, fd);
            d = lo + g * (hi - lo);
            fd = profile.chi2(d);
        }
    }
    let s = 0.5 * (lo + hi);
    (s, profile.chi2(s))
}

/// The local minima of the scanned chi-squared (the MAX_MINIMA lowest), each refined by golden
/// section between its grid neighbours.
fn minima(profile: &Profile, grid: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let last = grid.len() - 1;
    let mut local: Vec<usize> = (0..=last)
        .filter(|&j| {
            (j == 0 || grid[j].1 < grid[j - 1].1) && (j == last || grid[j].1 <= grid[j + 1].1)
        })
        .collect();
    local.sort_by(|&a, &b| grid[a].1.total_cmp(&grid[b].1));
    local.truncate(MAX_MINIMA);
    local
        .into_iter()
        .map(|j| {
            let refined = golden(
                profile,
                grid[j.saturating_sub(1)].0,
                grid[(j + 1).min(last)].0,
            );
            if refined.1 <= grid[j].1 {
                refined
            } else {
                grid[j]
            }
        })
        .collect()
}

/// The global minimum. Minima whose chi-squared agree to rounding tie and the smallest s wins:
/// a pure power law x^r is fitted exactly both at s = r (b = 0) and at s = r - p (a = 0), and
/// only the first makes s the exponent of the leading term.
fn global_minimum(minima: &[(f64, f64)]) -> (f64, f64) {
    let lowest = minima.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let tie = 1e-9 * (1.0 + lowest);
    minima
        .iter()
        .filter(|m| m.1 <= lowest + tie)
        .copied()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one minimum")
}

/// The smallest interval that holds every s with chi2(s) <= level: its ends lie beyond the
/// outermost grid points and refined minima below the level, and are found by bisection against
/// the next grid point out; an end is infinite when the set reaches the end of the grid. The set
/// may have several components (see [`global_minimum`]); the interval then spans all of them.
fn interval(profile: &Profile, grid: &[(f64, f64)], minima: &[(f64, f64)], level: f64) -> [f64; 2] {
    let bisect = |mut inside: f64, mut outside: f64| {
        while (outside - inside).abs() > SLOPE_TOLERANCE {
            let mid = 0.5 * (inside + outside);
            if profile.chi2(mid) > level {
                outside = mid;
            } else {
                inside = mid;
            }
        }
        0.5 * (inside + outside)
    };
    let inside = || {
        grid.iter()
            .chain(minima)
            .filter(|g| g.1 <= level)
            .map(|g| g.0)
    };
    let lo = inside().fold(f64::INFINITY, f64::min);
    let hi = inside().fold(f64::NEG_INFINITY, f64::max);
    let upper = grid
        .iter()
        .find(|g| g.0 > hi)
        .map_or(f64::INFINITY, |g| bisect(hi, g.0));
    let lower = grid
        .iter()
        .rev()
        .find(|g| g.0 < lo)
        .map_or(f64::NEG_INFINITY, |g| bisect(lo, g.0));
    [lower, upper]
}

/// Fits y = x^s (a + b x^p) with a known correction exponent p (typically p = -1/2 for a
/// leading-order correction) and unknown s, a, b, through points whose y_k have standard errors
/// se_k, searching s in [`CORRECTED_SLOPE_RANGE`] = [-10, 10]; see
/// [`fit_power_law_corrected_within`].
pub fn fit_power_law_corrected(
    x: &[f64],
    y: &[f64],
    se: &[f64],
    p: f64,
) -> Option<CorrectedPowerLawFit> {
    fit_power_law_corrected_within(x, y, se, p, CORRECTED_SLOPE_RANGE)
}

/// Fits y = x^s (a + b x^p) with a known correction exponent p < 0 and unknown s, a, b, with s
/// searched in `range`.
///
/// For fixed s the model is linear in (a, b), so chi2(s) is the weighted least-squares minimum
/// of y on (x^s, x^(s+p)) with weights 1 / se^2. The slope minimises this profile chi-squared
/// (a scan of the range, then golden section at each local minimum), and its 95% interval is the
/// smallest interval holding the profile-likelihood set {s : chi2(s) - chi2_min <= q^2 B2}
/// (Venzon & Moolgavkar, *Appl. Statist.* 37, 1988; Pawitan, *In All Likelihood*, 2001, chapter
/// 3 on profile likelihood, chapter 9 on its calibration by Wilks' theorem), with the Birge
/// scaling B2 = max(1, chi2_min / (K - 3)) and q = t_{K-3}(0.975) when B2 > 1, else the normal
/// quantile (as in [`fit_power_law`](super::fit_power_law)); with three points (no degrees of
/// freedom) B2 = 1. An end is infinite when the set reaches that end of the range.
///
/// The set can have two parts. A pure power law x^r is the model both at s = r (b = 0) and at
/// s = r - p (a = 0), so when the true slope is s, chi2 has a second valley near s - p (s + 1/2
/// for p = -1/2), where the correction column carries the leading behaviour and a small leading
/// term bends it. When the correction is weak against the errors that valley falls under the
/// threshold (its minimum may even be the lower one) and the interval spans both valleys; a
/// range that ends between them (below s - p / 2, from prior knowledge of the exponent) excludes
/// the second.
///
/// Returns `None` with fewer than three distinct x, slices of unequal length, non-finite values,
/// a non-positive x or se, p >= 0, or a range that is not finite and increasing.
pub fn fit_power_law_corrected_within(
    x: &[f64],
    y: &[f64],
    se: &[f64],
    p: f64,
    range: [f64; 2],
) -> Option<CorrectedPowerLawFit> {
    let k = x.len();
    if k < 3 || y.len() != k || se.len() != k || !(p < 0.0 && p.is_finite()) {
        return None;
    }
    let pos = |v: &f64| v.is_finite() && *v > 0.0;
    if !(x.iter().all(pos) && se.iter().all(pos) && y.iter().all(|v| v.is_finite())) {
        return None;
    }
    if !(range.iter().all(|r| r.is_finite()) && range[0] < range[1]) {
        return None;
    }
    let mut distinct = x.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() < 3 {
        return None;
    }
    let profile = Profile::new(x, y, se, p);
    let grid = scan(&profile, range);
    let minima = minima(&profile, &grid);
    let (slope, chi2) = global_minimum(&minima);
    if !chi2.is_finite() {
        return None;
    }
    let dof = k - 3;
    let birge_ratio = birge_ratio(chi2, dof);
    let (b2, q) = if birge_ratio > 1.0 {
        (birge_ratio * birge_ratio, t_quantile(dof as f64, 0.975))
    } else {
        (1.0, normal_quantile(0.975))
    };
    let (amplitude, correction) = profile.coefficients(slope);
    Some(CorrectedPowerLawFit {
        slope,
        ci95: interval(&profile, &grid, &minima, chi2 + q * q * b2),
        amplitude,
        correction,
        correction_exponent: p,
        chi2,
        dof,
        birge_ratio,
        chi2_p_value: chi2_p_value(chi2, dof),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fit_power_law;
    use rand_pcg::Pcg64Mcg;

    use crate::stats::testing::gauss;

    /// Errors of 0.1% keep the second valley (near s = -0.3, see
    /// fit_power_law_corrected_within) above the threshold; at 1% it would fall below it.
    #[test]
    fn exact_corrected_power_law_is_recovered() {
        let x = [100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5];
        let model = |x: f64| x.powf(-0.8) * (2.0 + 0.9 * x.powf(-0.5));
        let y: Vec<f64> = x.iter().map(|&x| model(x)).collect();
        let se: Vec<f64> = y.iter().map(|y| 0.001 * y).collect();
        let f = fit_power_law_corrected(&x, &y, &se, -0.5).unwrap();
        assert!((f.slope + 0.8).abs() < 1e-8, "{f:?}");
        assert!((f.amplitude - 2.0).abs() < 1e-6 && (f.correction - 0.9).abs() < 1e-6);
        assert!(f.chi2 < 1e-12 && f.dof == 4 && (f.chi2_p_value - 1.0).abs() < 1e-9);
        assert!(
            f.ci95[0] < f.slope && f.slope < f.ci95[1] && f.ci95[1] - f.ci95[0] < 0.1,
            "{f:?}"
        );
        assert!(((f.predict(5e5) - model(5e5)) / model(5e5)).abs() < 1e-6);
    }

    /// With b = 0 the data are a pure power law 3 x^-0.8, which the model also fits exactly at
    /// s = -0.3 with a = 0; the tie goes to the smaller s, which agrees with fit_power_law, and the
    /// interval spans both representations.
    #[test]
    fn pure_power_law_agrees_with_fit_power_law() {
        let x = [100.0, 316.0, 1000.0, 3162.0, 10000.0];
        let y: Vec<f64> = x.iter().map(|x: &f64| 3.0 * x.powf(-0.8)).collect();
        let se: Vec<f64> = y.iter().map(|y| 0.05 * y).collect();
        let plain = fit_power_law(&x, &y, &se).unwrap();
        let f = fit_power_law_corrected(&x, &y, &se, -0.5).unwrap();
        assert!((f.slope - plain.slope).abs() < 1e-8, "{f:?}");
        assert!(
            (f.amplitude - 3.0).abs() < 1e-6 && f.correction.abs() < 1e-6,
            "{f:?}"
        );
        assert!(f.ci95[0] < -0.8 && f.ci95[1] > -0.3, "{f:?}");
        // Excluding the second representation leaves a narrow interval around -0.8.
        let g = fit_power_law_corrected_within(&x, &y, &se, -0.5, [-10.0, -0.55]).unwrap();
        assert!((g.slope + 0.8).abs() < 1e-8 && g.ci95[1] < -0.6, "{g:?}");
    }

    /// Three points with errors ten times larger than the values: chi2(s) <= sum (y / se)^2 =
    /// 0.0134 for every s (a = b = 0), far below the threshold 3.84, so s is not bounded.
    #[test]
    fn undetermined_slope_has_unbounded_interval() {
        let f = fit_power_law_corrected(&[10.0, 100.0, 1000.0], &[1.0, 0.5, 0.3], &[10.0; 3], -0.5)
            .unwrap();
        assert_eq!(f.ci95, [f64::NEG_INFINITY, f64::INFINITY], "{f:?}");
        assert!(f.dof == 0 && f.birge_ratio.is_nan() && f.chi2_p_value.is_nan());
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains("\"ci95\":[null,null]"), "{json}");
        let back: CorrectedPowerLawFit = serde_json::from_str(&json).unwrap();
        assert_eq!(back.ci95, f.ci95);
        assert!(back.birge_ratio.is_nan());
    }

    #[test]
    fn degenerate_input_is_refused() {
        let (x, y, se) = ([1.0, 2.0, 3.0], [1.0, 0.5, 0.3], [0.1; 3]);
        assert!(fit_power_law_corrected(&x, &y, &se, -0.5).is_some());
        assert!(fit_power_law_corrected(&x[..2], &y[..2], &se[..2], -0.5).is_none());
        assert!(fit_power_law_corrected(&[1.0, 2.0, 2.0], &y, &se, -0.5).is_none());
        assert!(fit_power_law_corrected(&[1.0, -2.0, 3.0], &y, &se, -0.5).is_none());
        assert!(fit_power_law_corrected(&x, &[1.0, f64::NAN, 0.3], &se, -0.5).is_none());
        assert!(fit_power_law_corrected(&x, &y, &[0.1, 0.0, 0.1], -0.5).is_none());
        assert!(fit_power_law_corrected(&x, &y, &se, 0.0).is_none());
        assert!(fit_power_law_corrected_within(&x, &y, &se, -0.5, [1.0, 1.0]).is_none());
    }

    /// The design of the coverage tests: y = x^-1 (1.3 - 0.7 x^-1/2) at x = 100 .. 10^6 (9
    /// points, a factor sqrt 10 apart), Gaussian errors of 1% of the true value, known se.
    /// Returns (covered, spans both valleys) per replication, and checks in each that the
    /// interval holds the true s whenever chi2(-1) - chi2_min is below the level (the
    /// profile-likelihood set at the truth).
    fn coverage_run(seed: u128, reps: usize, range: [f64; 2]) -> (usize, usize) {
        let x: Vec<f64> = (0..9).map(|k| 100.0 * 10f64.powf(0.5 * k as f64)).collect();
        let truth: Vec<f64> = x.iter().map(|x| (1.3 - 0.7 / x.sqrt()) / x).collect();
        let se: Vec<f64> = truth.iter().map(|y| 0.01 * y).collect();
        let mut rng = Pcg64Mcg::new(seed);
        let (mut covered, mut wide) = (0, 0);
        for _ in 0..reps {
            let y: Vec<f64> = (0..9).map(|k| truth[k] + se[k] * gauss(&mut rng)).collect();
            let f = fit_power_law_corrected_within(&x, &y, &se, -0.5, range).unwrap();
            let (b2, q) = if f.birge_ratio > 1.0 {
                (f.birge_ratio.powi(2), t_quantile(6.0, 0.975))
            } else {
                (1.0, normal_quantile(0.975))
            };
            let lr = Profile::new(&x, &y, &se, -0.5).chi2(-1.0) - f.chi2;
            let inside = f.ci95[0] <= -1.0 && -1.0 <= f.ci95[1];
            assert!(
                lr > q * q * b2 - 1e-6 || inside,
                "{f:?} misses -1 with lr {lr}"
            );
            covered += inside as usize;
            wide += (f.ci95[1] - f.ci95[0] > 0.25) as usize;
        }
        (covered, wide)
    }

    /// Coverage over the full range [-10, 10], R = 4000 replications.
    ///
    /// Here chi2(s) has a second valley near s = -0.5 (see fit_power_law_corrected_within): a
    /// pilot of 200000 replications (other seed) found the global minimum there in 17.5% and an
    /// interval spanning both valleys in 72.5% of replications, and coverage 0.9462 +- 0.0005
    /// (conditional on Birge ratio <= 1, 0.918: the minimum over two valleys inflates the
    /// likelihood ratio beyond Wilks' chi2_1). The count is binomial, sd 0.0036; the test accepts
    /// [0.929, 0.962] (3716 to 3848 covered): for a true coverage in [0.9452, 0.9472] (pilot +-
    /// 2 sd) the exact tails are P(C < 3716) <= 6.6e-6 and P(C > 3848) <= 4.8e-6, so a false
    /// failure over seeds has probability below 1e-4. The share of wide intervals (pilot 0.725,
    /// sd 0.007 at R = 4000) is checked against [0.65, 0.80] (over 10 sd).
    #[test]
    fn slope_interval_coverage_over_the_full_range() {
        let reps = 4000;
        let (covered, wide) = coverage_run(0x000c_022e_c7ed, reps, CORRECTED_SLOPE_RANGE);
        let c = covered as f64 / reps as f64;
        assert!((3716..=3848).contains(&covered), "coverage {c}");
        let w = wide as f64 / reps as f64;
        assert!((0.65..=0.80).contains(&w), "wide share {w}");
    }

    /// Coverage with the second valley excluded (range [-10, -0.75]), R = 4000 replications.
    ///
    /// If the model were linear in s, the likelihood ratio chi2(-1) - chi2_min would be chi2_1
    /// and independent of chi2_min ~ chi2_6, and the rule (level 1.96^2 if chi2_min <= 6, else
    /// t_6(0.975)^2 chi2_min / 6) would cover with probability 0.95 P(chi2_6 <= 6) +
    /// E[2 Phi(t_6 sqrt(chi2 / 6)) - 1; chi2 > 6] = 0.9691 (numerical integration). A pilot of
    /// 200000 replications (other seed) gave 0.96906 +- 0.0004 (0.9500 when the Birge ratio is
    /// <= 1), and no interval wider than 0.25. The test accepts [0.956, 0.982] (3824 to 3928
    /// covered): for a true coverage in [0.9683, 0.9699] (pilot +- 2 sd) the exact binomial tails
    /// are P(C < 3824) <= 1.1e-5 and P(C > 3928) <= 5.6e-7, a false failure below 1e-4.
    #[test]
    fn slope_interval_coverage_without_the_second_valley() {
        let reps = 4000;
        let (covered, wide) = coverage_run(0x0005_107e, reps, [-10.0, -0.75]);
        let c = covered as f64 / reps as f64;
        assert!((3824..=3928).contains(&covered), "coverage {c}");
        assert_eq!(wide, 0);
    }
}
