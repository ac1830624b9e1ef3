//! A branch-free exp that compilers vectorise, for the kernel's exp(-U).
//!
//! Method (Cody & Waite, *Software Manual for the Elementary Functions*, 1980; as in fdlibm's
//! e_exp.c): x = k ln 2 + r with k = round(x / ln 2) found by the 1.5 * 2^52 shifter trick and
//! ln 2 split into a high part with trailing zeros (so k * LN2_HI is exact) and a low part;
//! |r| <= ln(2)/2; exp(r) by its Taylor polynomial to degree 13 (truncation below 5e-18
//! relative) in Horner form; and the result scaled by 2^k built from the exponent bits. Only
//! additions, multiplications, fused multiply-adds and integer bit operations. A fused
//! multiply-add is correctly rounded (IEEE 754-2008) wherever it runs, as one instruction on
//! AVX2 + FMA, AVX-512 and aarch64, or as libm's `fma` on an x86-64 baseline build, so every
//! instruction set computes the same bits; it halves the polynomials' operations and their
//! dependency chains, and rounds once where a product and a sum round twice. Measured accuracy:
//! within 1 ulp of the platform's `f64::exp` at 2e6 points of [-700, 700] (see the tests for
//! the mean), so within about 2 ulp of the exact value. Valid for |x| <= 700.

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln 2 = LN2_HI + LN2_LO, LN2_HI with trailing zeros so that k LN2_HI is exact (fdlibm's split).
pub(crate) const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// See [`LN2_HI`].
pub(crate) const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1.5 2^52: adding it rounds to an integer held in the low mantissa bits.
pub(crate) const SHIFTER: f64 = 6_755_399_441_055_744.0;

/// 1 / k! for k = 0..=13, the Taylor coefficients of [`exp`] (each a correctly rounded quotient).
pub(crate) const TAYLOR13: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// Largest |x| accepted by [`exp`].
pub const EXP_LIMIT: f64 = 700.0;

/// exp(x) for |x| <= [`EXP_LIMIT`], to within 2 ulp.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let (r, scale) = reduce(x);
    let mut p = TAYLOR13[13];
    for c in TAYLOR13[..13].iter().rev() {
        p = p.mul_add(r, *c);
    }
    p * scale
}

/// The range reduction of [`exp`] and [`exp_estrin`]: x = k ln2 + r with |r| <= ln(2)/2 (Cody &
/// Waite's two-part ln 2), returned as r and 2^k.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let t = x.mul_add(LOG2E, SHIFTER);
    let kf = t - SHIFTER;
    let k = t.to_bits().wrapping_sub(SHIFTER.to_bits());
    let r = (-kf).mul_add(LN2_LO, (-kf).mul_add(LN2_HI, x));
    (r, f64::from_bits(k.wrapping_add(1023) << 52))
}

/// [`exp`]'s reduction and degree-13 Taylor polynomial evaluated by Estrin's scheme (Knuth, TAOCP
/// vol. 2, 4.6.4): a dependency chain of about 4 multiply-adds instead of 13, for losses whose
/// exps would otherwise serialise (the network's weights s exp(theta)). Within 2 ulp of
/// `f64::exp` for |x| <= [`EXP_LIMIT`] (tested); its bits differ from [`exp`]'s.
#[inline(always)]
pub fn exp_estrin(x: f64) -> f64 {
    const C: [f64; 14] = {
        let mut c = [1.0f64; 14];
        let mut k = 1;
        while k < 14 {
            c[k] = c[k - 1] / k as f64;
            k += 1;
        }
        c
    };
    let (r, scale) = reduce(x);
    let (r2, q) = (r * r, |j: usize| C[j + 1].mul_add(r, C[j]));
    let r4 = r2 * r2;
    let low = q(6).mul_add(r2, q(4)).mul_add(r4, q(2).mul_add(r2, q(0)));
    let high = q(12).mul_add(r4, q(10).mul_add(r2, q(8)));
    let p = high.mul_add(r4 * r4, low);
    p * scale
}

/// exp(x) by its Taylor polynomial of degree N in Horner form, without range reduction: for
/// |x| small enough that the truncation error |x|^(N+1)/(N+1)! e^|x| stays below 2^-56 relative
/// (see [`ExpKernel::for_range`]).
#[inline(always)]
pub fn exp_taylor<const N: usize>(x: f64) -> f64 {
    let mut inv = [1.0f64; 14];
    let mut k = 1;
    while k < 14 {
        inv[k] = inv[k - 1] / k as f64;
        k += 1;
    }
    let mut p = inv[N];
    let mut j = N;
    while j > 0 {
        j -= 1;
        p = p.mul_add(x, inv[j]);
    }
    p
}

/// Which exp the kernel uses for arguments in [-a, a]: the cheapest one accurate to within 2 ulp
/// there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpKernel {
    /// Degree 6, |x| <= 0.012.
    Taylor6,
    /// Degree 8, |x| <= 0.045.
    Taylor8,
    /// Degree 10, |x| <= 0.12.
    Taylor10,
    /// Degree 13, |x| <= 0.34.
    Taylor13,
    /// Range-reduced [`exp`], |x| <= [`EXP_LIMIT`].
    Reduced,
    /// `f64::exp`.
    Std,
}

impl ExpKernel {
    /// The kernel for arguments of magnitude at most `a`.
    pub fn for_range(a: f64) -> Self {
        match a.abs() {
            a if a <= 0.012 => ExpKernel::Taylor6,
            a if a <= 0.045 => ExpKernel::Taylor8,
            a if a <= 0.12 => ExpKernel::Taylor10,
            a if a <= 0.34 => ExpKernel::Taylor13,
            a if a <= EXP_LIMIT => ExpKernel::Reduced,
            _ => ExpKernel::Std,
        }
    }

    /// exp(x) by this kernel.
    #[inline]
    pub fn eval(self, x: f64) -> f64 {
        match self {
            ExpKernel::Taylor6 => exp_taylor::<6>(x),
            ExpKernel::Taylor8 => exp_taylor::<8>(x),
            ExpKernel::Taylor10 => exp_taylor::<10>(x),
            ExpKernel::Taylor13 => exp_taylor::<13>(x),
            ExpKernel::Reduced => exp(x),
            ExpKernel::Std => x.exp(),
        }
    }
}

/// 1 / (2k + 1) for k = 0..=11: the atanh series.
const ATANH_COEF: [f64; 12] = {
    let mut c = [0.0; 12];
    let mut k = 0;
    while k < 12 {
        c[k] = 1.0 / (2 * k + 1) as f64;
        k += 1;
    }
    c
};

/// 1 / (2k + 1)! for k = 0..=9: the sinh series.
const SINH_COEF: [f64; 10] = {
    let mut c = [0.0; 10];
    let mut f = 1.0;
    let mut k = 0;
    while k < 10 {
        if k > 0 {
            f *= ((2 * k) * (2 * k + 1)) as f64;
        }
        c[k] = 1.0 / f;
        k += 1;
    }
    c
};

/// log(1 + y) for y in [0, 1.5], branch-free: for y > sqrt(2) - 1, log1p(y) = ln 2 + log1p(z) with
/// z = (y - 1)/2; then log1p(z) = 2 atanh(s), s = z / (2 + z), |s| <= 0.1716, by its series to
/// s^23 (truncation below 1e-19). The classical argument reduction of fdlibm's s_log1p.c, with the
/// atanh series in place of its minimax polynomial.
#[inline(always)]
pub fn log1p_unit(y: f64) -> f64 {
    const SQRT2_M1: f64 = std::f64::consts::SQRT_2 - 1.0;
    let big = y > SQRT2_M1;
    let z = if big { (y - 1.0) * 0.5 } else { y };
    let s = z / (2.0 + z);
    let s2 = s * s;
    let mut p = ATANH_COEF[11];
    let mut k = 11;
    while k > 0 {
        k -= 1;
        p = p.mul_add(s2, ATANH_COEF[k]);
    }
    let r = 2.0 * s * p;
    if big { LN2_HI + (r + LN2_LO) } else { r }
}

/// sinh(z) for |z| <= 1 by its Taylor series to z^19 (truncation below 1e-17 relative), so it is
/// accurate near 0 where (e^z - e^-z)/2 cancels.
#[inline(always)]
pub fn sinh_small(z: f64) -> f64 {
    let z2 = z * z;
    let mut p = SINH_COEF[9];
    let mut k = 9;
    while k > 0 {
        k -= 1;
        p = p.mul_add(z2, SINH_COEF[k]);
    }
    z * p
}

/// log cosh(z), branch-free: for |z| < 1 as log1p(sinh(z)^2) / 2 with [`sinh_small`] (no
/// cancellation near 0), otherwise as |z| - ln 2 + log1p(exp(-2|z|)); both with [`log1p_unit`].
/// Within 8 ulp of the libm-based form (about 1e-15 relative), far below the loss differences
/// of eq. 3.2 (relative size A_n).
#[inline(always)]
pub fn log_cosh(z: f64) -> f64 {
    let a = z.abs();
    let (small, big) = (log_cosh_small(a), log_cosh_big(a));
    if a < 1.0 { small } else { big }
}

/// [`log_cosh`] at a = |z| for a < 1 (finite for any a).
#[inline(always)]
pub fn log_cosh_small(a: f64) -> f64 {
    let s = sinh_small(a.min(1.0));
    0.5 * log1p_unit(s * s)
}

/// [`log_cosh`] at a = |z| for a >= 1 (finite for any finite a >= 0).
#[inline(always)]
pub fn log_cosh_big(a: f64) -> f64 {
    (a - LN2_HI) - LN2_LO + log1p_unit(exp(-2.0 * a.min(EXP_LIMIT / 2.0)))
}

/// softplus(t) = log(1 + exp(t)) = max(t, 0) + log1p(exp(-|t|)), with [`exp`] and
/// [`log1p_unit`]: branch-free, so a loop over lanes vectorises.
#[inline(always)]
pub fn softplus(t: f64) -> f64 {
    let a = t.abs();
    let y = exp(-a.min(EXP_LIMIT));
    let y = if a > EXP_LIMIT { 0.0 } else { y };
    t.max(0.0) + log1p_unit(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn ln2_split_is_fdlibms() {
        assert_eq!(LN2_HI, 6.931_471_803_691_238e-1);
        assert!((LN2_HI + LN2_LO - std::f64::consts::LN_2).abs() < 1e-18);
        assert_eq!(
            LN2_HI.to_bits() & 0xFFFFF,
            0,
            "trailing zeros make k * LN2_HI exact"
        );
    }

    /// [`exp`] by the coefficient table gives the bits of the Horner form with the literal
    /// coefficients that it replaced (the engine's exp(-U) did not change).
    #[test]
    fn table_horner_is_the_literal_form() {
        let literal = |x: f64| {
            let (r, scale) = reduce(x);
            let mut p: f64 = 1.0 / 6_227_020_800.0;
            for c in [
                1.0 / 479_001_600.0,
                1.0 / 39_916_800.0,
                1.0 / 3_628_800.0,
                1.0 / 362_880.0,
                1.0 / 40_320.0,
                1.0 / 5_040.0,
                1.0 / 720.0,
                1.0 / 120.0,
                1.0 / 24.0,
                1.0 / 6.0,
                0.5,
                1.0,
                1.0,
            ] {
                p = p.mul_add(r, c);
            }
            p * scale
        };
        for i in 0..200_000 {
            let x = -700.0 + 1400.0 * (i as f64 + 0.31) / 200_000.0;
            assert_eq!(exp(x).to_bits(), literal(x).to_bits(), "x = {x}");
        }
    }

    /// Against std's exp (itself within 1 ulp) at 2 million points: at most 2 ulp apart (measured:
    /// 1), mean below 0.5 ulp (measured: 0.06 with fused multiply-adds, 0.10 without); and exact
    /// at 0.
    #[test]
    fn close_to_std_exp() {
        assert_eq!(exp(0.0), 1.0);
        let mut worst = 0;
        let mut sum = 0u64;
        let n = 2_000_000;
        for i in 0..n {
            let x = -700.0 + 1400.0 * (i as f64 + 0.37) / n as f64;
            let u = ulps(exp(x), x.exp());
            worst = worst.max(u);
            sum += u;
        }
        assert!(worst <= 2, "worst {worst} ulp");
        assert!(
            (sum as f64 / n as f64) < 0.5,
            "mean {} ulp",
            sum as f64 / n as f64
        );
        for i in 0..200_000 {
            let x = -1.0 + 2.0 * (i as f64 + 0.5) / 200_000.0;
            assert!(ulps(exp(x), x.exp()) <= 2, "x = {x}");
        }
    }

    /// log1p_unit within 4 ulp of std's ln_1p on [0, 1] (measured: 3); softplus within 6 ulp of
    /// the std-based form on [-40, 40] (measured: 3) and exact in the tails.
    #[test]
    fn log1p_and_softplus() {
        let mut worst = (0, 0);
        for i in 0..=200_000 {
            for y in [i as f64 / 200_000.0, 1e-12 * (i as f64 + 1.0)] {
                worst.0 = worst.0.max(ulps(log1p_unit(y), y.ln_1p()));
            }
        }
        let reference = |t: f64| t.max(0.0) + (-t.abs()).exp().ln_1p();
        for i in 0..=400_000 {
            let t = -40.0 + 80.0 * i as f64 / 400_000.0;
            worst.1 = worst.1.max(ulps(softplus(t), reference(t)));
        }
        assert!(worst.0 <= 4 && worst.1 <= 6, "{worst:?}");
        assert_eq!(softplus(800.0), 800.0);
        assert_eq!(softplus(-800.0), 0.0);
        assert!((softplus(-700.0) - reference(-700.0)).abs() <= 1e-300);
    }

    /// log_cosh within 10 ulp of the std-based reference (log1p of sinh^2 below 1, the
    /// overflow-free form above; itself a few ulp from exact) on [-30, 30] (measured: 8), and
    /// log1p_unit within 4 ulp on [1, 1.5].
    #[test]
    fn log_cosh_matches_reference() {
        let reference = |z: f64| {
            let a = z.abs();
            if a < 1.0 {
                0.5 * (a.sinh() * a.sinh()).ln_1p()
            } else {
                a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2
            }
        };
        let mut worst = 0;
        for i in 0..=600_000 {
            let z = -30.0 + 60.0 * i as f64 / 600_000.0;
            worst = worst.max(ulps(log_cosh(z), reference(z)));
        }
        for i in 1..=100_000 {
            let z = 1e-6 * i as f64;
            worst = worst.max(ulps(log_cosh(z), reference(z)));
        }
        assert!(worst <= 10, "worst {worst} ulp");
        for i in 0..=100_000 {
            let y = 1.0 + 0.5 * i as f64 / 100_000.0;
            assert!(ulps(log1p_unit(y), y.ln_1p()) <= 4, "y = {y}");
        }
        assert_eq!(log_cosh(0.0), 0.0);
        assert!((log_cosh(800.0) - (800.0 - std::f64::consts::LN_2)).abs() < 1e-12);
    }

    /// Each Taylor kernel within 2 ulp of std's exp on its whole range (checked at 200k points,
    /// including the end points).
    #[test]
    fn taylor_kernels_on_their_ranges() {
        let check = |f: fn(f64) -> f64, a: f64| {
            for i in 0..=200_000 {
                let x = -a + 2.0 * a * i as f64 / 200_000.0;
                assert!(
                    ulps(f(x), x.exp()) <= 2,
                    "a = {a}, x = {x}: {} vs {}",
                    f(x),
                    x.exp()
                );
            }
        };
        check(exp_taylor::<6>, 0.012);
        check(exp_taylor::<8>, 0.045);
        check(exp_taylor::<10>, 0.12);
        check(exp_taylor::<13>, 0.34);
        assert_eq!(ExpKernel::for_range(0.01), ExpKernel::Taylor6);
        assert_eq!(ExpKernel::for_range(1.0), ExpKernel::Reduced);
        assert_eq!(ExpKernel::for_range(1e3), ExpKernel::Std);
    }
}
