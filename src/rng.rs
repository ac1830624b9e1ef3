//! Per-trajectory random streams and the uniform noise U(l).
//!
//! Each trajectory owns a xoshiro256++ stream ([`Xoshiro256pp`]) keyed by (seed, n, dim,
//! trajectory index) through the SplitMix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable
//! pseudorandom number generators"). Nothing else enters, so results do not depend on the thread
//! count or on scheduling. The engine steps [`LANES`] such streams at once ([`XoshiroLanes`]), and
//! so does the simulation of the fluctuation limit's Gaussian paths (its own keys, per group of
//! paths). Other draws outside the recursion (the data split, the sample orders, the network's
//! signs) use `Pcg64Mcg` (O'Neill 2014).

use crate::loss::LANES;

/// The SplitMix64 output function: a bijective 64-bit mixer.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64-bit FNV-1a hash of `bytes` (Fowler, Noll & Vo; the offset basis and prime of the
/// 64-bit variant).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// A seed mixed with an identity string: SplitMix64 of the seed and the identity's FNV-1a hash.
pub fn mix_seed(seed: u64, identity: &str) -> u64 {
    splitmix64(seed ^ splitmix64(fnv1a64(identity.as_bytes())))
}

/// The key of one trajectory's stream: SplitMix64 chained over (seed, n, dim, index).
fn stream_key(seed: u64, n: u64, dim: u64, index: u64) -> u64 {
    let mut h = splitmix64(seed ^ 0x5354_4450_2D46_4C4F);
    h = splitmix64(h ^ n);
    h = splitmix64(h ^ dim.rotate_left(32));
    splitmix64(h ^ index)
}

/// The 128-bit `Pcg64Mcg` state for one key (for draws outside the kernels, such as the network's
/// signs).
pub fn stream_state(seed: u64, n: u64, dim: u64, index: u64) -> u128 {
    let h = stream_key(seed, n, dim, index);
    let lo = splitmix64(h ^ 0x0123_4567_89AB_CDEF);
    let hi = splitmix64(lo ^ h);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// The generator of one trajectory: xoshiro256++ keyed by (seed, n, dim, index).
pub fn trajectory_rng(seed: u64, n: u64, dim: u64, index: u64) -> Xoshiro256pp {
    Xoshiro256pp::from_key(stream_key(seed, n, dim, index))
}

/// xoshiro256++ (Blackman & Vigna 2021, "Scrambled linear pseudorandom number generators", ACM
/// TOMS 47(4), reference code at prng.di.unimi.it): 256 bits of state, period 2^256 - 1, only
/// additions, shifts, rotations and xors, so [`XoshiroLanes`] runs [`LANES`] streams in vector
/// registers. It passes BigCrush (TestU01) and PractRand to 32 TB without systematic failures
/// (the authors' report, section 10); unlike xoshiro256+, every output bit is usable, so the top 52
/// bits taken by [`symmetric_uniform`] have no weak low-bit linearity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro256pp {
    s: [u64; 4],
}

impl Xoshiro256pp {
    /// The stream whose state is the next four outputs of SplitMix64 started at `key`, as the
    /// authors recommend for seeding. Distinct keys give streams whose overlap within L draws each,
    /// among M streams, has probability below M^2 L / 2^256.
    pub fn from_key(key: u64) -> Self {
        let mut s = [0u64; 4];
        for (k, w) in s.iter_mut().enumerate() {
            *w = splitmix64(key.wrapping_add((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        }
        Self::from_state(s)
    }

    /// The stream at state `s` (the all-zero state, a fixed point, becomes [1, 0, 0, 0]).
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Self { s: [1, 0, 0, 0] };
        }
        Self { s }
    }

    /// The next 64 bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }
}

/// [`LANES`] xoshiro256++ streams stepped together, state word k of lane b at `s[k][b]`: the same
/// bits as each lane's [`Xoshiro256pp::next_u64`], in a form the compiler keeps in vector
/// registers (one AVX-512 register or two AVX2 registers per state word).
#[derive(Clone, Debug)]
pub struct XoshiroLanes {
    s: [[u64; LANES]; 4],
}

impl XoshiroLanes {
    /// The streams of `rngs` (at most [`LANES`]; missing lanes get a fixed padding stream) and
    /// their number.
    pub fn new(rngs: impl IntoIterator<Item = Xoshiro256pp>) -> (Self, usize) {
        let mut lanes = Self { s: [[0; LANES]; 4] };
        let mut count = 0;
        for (b, r) in rngs.into_iter().take(LANES).enumerate() {
            lanes.set_lane(b, &r);
            count += 1;
        }
        for b in count..LANES {
            lanes.set_lane(b, &Xoshiro256pp::from_key(0x5041_4444 ^ b as u64));
        }
        (lanes, count)
    }

    /// The next 64 bits of every lane.
    #[inline(always)]
    pub fn next(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let out = std::array::from_fn(|b| {
            s0[b]
                .wrapping_add(s3[b])
                .rotate_left(23)
                .wrapping_add(s0[b])
        });
        for b in 0..LANES {
            let t = s1[b] << 17;
            s2[b] ^= s0[b];
            s3[b] ^= s1[b];
            s1[b] ^= s2[b];
            s0[b] ^= s3[b];
            s2[b] ^= t;
            s3[b] = s3[b].rotate_left(45);
        }
        out
    }

    /// The state words, word k of lane b at `[k][b]` (for explicit SIMD steps).
    pub(crate) fn words_mut(&mut self) -> &mut [[u64; LANES]; 4] {
        &mut self.s
    }

    /// Lane b as a scalar generator at its current position.
    pub fn lane(&self, b: usize) -> Xoshiro256pp {
        Xoshiro256pp {
            s: std::array::from_fn(|k| self.s[k][b]),
        }
    }

    /// Puts lane b at the position of `r`.
    pub fn set_lane(&mut self, b: usize, r: &Xoshiro256pp) {
        for k in 0..4 {
            self.s[k][b] = r.s[k];
        }
    }
}

/// How a kernel steps [`XoshiroLanes`], chosen with its instruction set: the same bits either way.
pub(crate) trait LaneStep: Copy {
    /// The next 64 bits of every lane.
    fn next(self, lanes: &mut XoshiroLanes) -> [u64; LANES];

    /// [`symmetric_uniform`] in the form that is fastest with this instruction set (the same
    /// bits in every form).
    #[inline(always)]
    fn uniform(self, bits: u64, a: f64) -> f64 {
        symmetric_uniform(bits, a)
    }
}

/// The portable code of [`XoshiroLanes::next`], which LLVM vectorises for AVX-512 (with its
/// 64-bit rotations) and SSE2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

impl LaneStep for Portable {
    #[inline(always)]
    fn next(self, lanes: &mut XoshiroLanes) -> [u64; LANES] {
        lanes.next()
    }
}

/// [`Portable`] for kernels compiled for AVX-512, whose uniforms are
/// [`symmetric_uniform_fused`]: one operation fewer on the two ports that run 512-bit
/// operations. (On the AVX2 path the fused form made the minimal kernel slower, 1.6 to 1.7 ns
/// against 1.3 per coordinate-update, logistic d = 32, measured alternating; and without FMA it
/// is a library call.)
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512Step;

impl LaneStep for Avx512Step {
    #[inline(always)]
    fn next(self, lanes: &mut XoshiroLanes) -> [u64; LANES] {
        lanes.next()
    }

    #[inline(always)]
    fn uniform(self, bits: u64, a: f64) -> f64 {
        symmetric_uniform_fused(bits, a)
    }
}

/// AVX2 intrinsics for [`XoshiroLanes::next`]: without AVX-512's rotation LLVM leaves the
/// portable code's rotations scalar on AVX2, which costs the kernel about twice its generator.
/// Holding one proves that the CPU runs AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Step(());

#[cfg(target_arch = "x86_64")]
impl Avx2Step {
    /// The step, if this CPU runs AVX2 and FMA.
    pub(crate) fn new() -> Option<Self> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Self(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl LaneStep for Avx2Step {
    #[inline(always)]
    fn next(self, lanes: &mut XoshiroLanes) -> [u64; LANES] {
        // SAFETY: an `Avx2Step` exists only where AVX2 and FMA were detected.
        unsafe { next_avx2(lanes) }
    }
}

/// [`XoshiroLanes::next`] in AVX2, four lanes per register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn next_avx2(lanes: &mut XoshiroLanes) -> [u64; LANES] {
    use std::arch::x86_64::*;
    const HALF: usize = LANES / 4;
    let mut out = [0u64; LANES];
    for h in 0..HALF {
        let word = |k: usize| -> __m256i {
            // SAFETY: 4 of the LANES u64 of word k, in bounds; unaligned loads.
            unsafe { _mm256_loadu_si256(lanes.s[k][4 * h..].as_ptr().cast()) }
        };
        let (s0, s1, s2, s3) = (word(0), word(1), word(2), word(3));
        let sum = _mm256_add_epi64(s0, s3);
        let rot = _mm256_or_si256(_mm256_slli_epi64::<23>(sum), _mm256_srli_epi64::<41>(sum));
        let r = _mm256_add_epi64(rot, s0);
        let t = _mm256_slli_epi64::<17>(s1);
        let s2 = _mm256_xor_si256(s2, s0);
        let s3 = _mm256_xor_si256(s3, s1);
        let s1 = _mm256_xor_si256(s1, s2);
        let s0 = _mm256_xor_si256(s0, s3);
        let s2 = _mm256_xor_si256(s2, t);
        let s3 = _mm256_or_si256(_mm256_slli_epi64::<45>(s3), _mm256_srli_epi64::<19>(s3));
        // SAFETY: stores of 4 u64 each, in bounds.
        unsafe {
            _mm256_storeu_si256(out[4 * h..].as_mut_ptr().cast(), r);
            for (k, v) in [s0, s1, s2, s3].into_iter().enumerate() {
                _mm256_storeu_si256(lanes.s[k][4 * h..].as_mut_ptr().cast(), v);
            }
        }
    }
    out
}

/// Maps 64 random bits to a uniform on [-a, a]: the top 52 bits k give (2k + 1) 2^-52 - 1, times
/// a, a grid of 2^52 points symmetric about 0 (k and 2^52 - 1 - k give opposite values), with mean
/// exactly 0 and strictly inside (-1, 1).
///
/// Only integer and floating-point operations that vectorise, and a single rounding: k is placed
/// in the mantissa of 2^52, so K = 2^52 + k exactly; K - 1.5 2^52 = k - 2^51 is exact (Sterbenz)
/// and adding 1/2 is exact below 2^51, which leaves the one rounded product with a 2^-51 (itself
/// exact).
#[inline(always)]
pub fn symmetric_uniform(bits: u64, a: f64) -> f64 {
    (centred(bits) + 0.5) * (a * UNIFORM_SCALE)
}

/// 2^-51, the grid step of [`symmetric_uniform`] on (-1, 1) over 2.
const UNIFORM_SCALE: f64 = 1.0 / (1u64 << 51) as f64;

/// k - 2^51 for the top 52 bits k of `bits`, exactly: k placed in the mantissa of 2^52, less
/// 1.5 2^52 (Sterbenz).
#[inline(always)]
fn centred(bits: u64) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    f64::from_bits(TWO52.to_bits() | (bits >> 12)) - 1.5 * TWO52
}

/// [`symmetric_uniform`] with its last add and product fused, for kernels compiled with FMA (one
/// operation fewer; elsewhere `mul_add` is a library call). The same bits whenever a 2^-51 is a
/// normal number (|a| > 2^-970): with t = k - 2^51 and s = a 2^-51, t s + s/2 is exactly
/// (t + 1/2) s, s/2 is exact, and both forms round that value once.
#[inline(always)]
pub(crate) fn symmetric_uniform_fused(bits: u64, a: f64) -> f64 {
    let s = a * UNIFORM_SCALE;
    centred(bits).mul_add(s, 0.5 * s)
}

/// Shuffles `v` in place by Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm 3.4.2 P), drawing from
/// `next_u64`.
/// The modulo draw has a bias below n / 2^64, negligible for any data set.
pub fn shuffle<T>(v: &mut [T], mut next_u64: impl FnMut() -> u64) {
    for i in (1..v.len()).rev() {
        let j = (next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn uniform_is_symmetric_and_inside() {
        assert_eq!(symmetric_uniform(0, 1.0), -symmetric_uniform(u64::MAX, 1.0));
        assert_eq!(symmetric_uniform(0, 1.0), -1.0 + f64::EPSILON);
        let k = 123_456_789u64 << 12;
        let mirror = ((1u64 << 52) - 1 - 123_456_789) << 12;
        assert_eq!(symmetric_uniform(k, 0.3), -symmetric_uniform(mirror, 0.3));
        assert!(symmetric_uniform(u64::MAX, 1.0) < 1.0);
        assert!(symmetric_uniform(0, 1.0) > -1.0);
    }

    #[test]
    fn exact_integer_conversion() {
        let mut rng = Pcg64Mcg::new(1234);
        let fixed = [0u64, 1 << 12, u64::MAX, 0x1234_5678_9abc_def0, 1 << 63];
        let random = (0..100_000).map(|_| rng.next_u64());
        for bits in fixed.into_iter().chain(random) {
            for a in [
                0.7,
                1.0,
                1e-3,
                0.007_071_067_811_865_475,
                3.3,
                1e-290,
                2.5e13,
            ] {
                let direct = a * (((bits >> 12) as f64 + 0.5) / (1u64 << 51) as f64 - 1.0);
                assert_eq!(symmetric_uniform(bits, a).to_bits(), direct.to_bits());
                let fused = symmetric_uniform_fused(bits, a);
                assert_eq!(fused.to_bits(), direct.to_bits());
            }
        }
    }

    /// The reference code's outputs from the state [1, 2, 3, 4] (xoshiro256plusplus.c; the
    /// first is rotl(5, 23) + 1 by hand).
    #[test]
    fn xoshiro_matches_the_reference_outputs() {
        let mut r = Xoshiro256pp::from_state([1, 2, 3, 4]);
        let expected = [
            41_943_041,
            58_720_359,
            3_588_806_011_781_223,
            3_591_011_842_654_386,
            9_228_616_714_210_784_205,
            9_973_669_472_204_895_162,
            14_011_001_112_246_962_877,
            12_406_186_145_184_390_807,
            15_849_039_046_786_891_736,
            10_450_023_813_501_588_000,
        ];
        for e in expected {
            assert_eq!(r.next_u64(), e);
        }
    }

    #[test]
    fn lanes_reproduce_scalar_streams() {
        let (mut lanes, n) = XoshiroLanes::new((0..5).map(|k| trajectory_rng(3, 4, 5, k)));
        assert_eq!(n, 5);
        let mut reference: Vec<Xoshiro256pp> = (0..5).map(|k| trajectory_rng(3, 4, 5, k)).collect();
        for _ in 0..1000 {
            let out = lanes.next();
            for (b, r) in reference.iter_mut().enumerate() {
                assert_eq!(out[b], r.next_u64());
            }
        }
        assert_eq!(lanes.lane(2), reference[2]);
        #[cfg(target_arch = "x86_64")]
        if let Some(step) = Avx2Step::new() {
            let mut copy = lanes.clone();
            for _ in 0..1000 {
                assert_eq!(step.next(&mut copy), lanes.next());
            }
        }
        let mut moved = lanes.lane(4);
        moved.next_u64();
        lanes.set_lane(1, &moved);
        assert_eq!(lanes.next()[1], moved.next_u64());
    }

    /// Independence between the lanes of a batch (neighbouring trajectory indices) and between
    /// consecutive draws of a lane, on the uniforms the kernel uses (N = 2^20 draws per lane):
    /// - Pearson correlation of every pair of lanes (28) and lag-1 correlation of every lane (8):
    ///   under independence sqrt(N) r is N(0, 1) to O(1/N), so |sqrt(N) r| < 5 fails falsely with
    ///   probability 5.7e-7 each;
    /// - chi-square of 16 x 16 cells of (lane b, lane b + 1) at the same draw (7) and of (draw j,
    ///   draw j + 1) of each lane (8), 255 degrees of freedom, at its 1 - 1e-6 quantile.
    ///
    /// False-failure probability over seeds: below 36 x 5.7e-7 + 15 x 1e-6 = 3.6e-5.
    #[test]
    fn lanes_and_consecutive_draws_are_independent() {
        use statrs::distribution::{ChiSquared, ContinuousCDF};
        const N: usize = 1 << 20;
        let (mut lanes, _) =
            XoshiroLanes::new((0..LANES as u64).map(|k| trajectory_rng(2026, 1000, 32, k)));
        let mut u = vec![[0.0f64; LANES]; N];
        for row in u.iter_mut() {
            let bits = lanes.next();
            *row = std::array::from_fn(|b| symmetric_uniform(bits[b], 1.0));
        }
        let corr = |x: &dyn Fn(usize) -> f64, y: &dyn Fn(usize) -> f64, n: usize| {
            let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for j in 0..n {
                let (a, b) = (x(j), y(j));
                (sx, sy, sxx, syy, sxy) = (sx + a, sy + b, sxx + a * a, syy + b * b, sxy + a * b);
            }
            let nf = n as f64;
            let cov = sxy / nf - sx / nf * sy / nf;
            cov / ((sxx / nf - (sx / nf).powi(2)) * (syy / nf - (sy / nf).powi(2))).sqrt()
        };
        for a in 0..LANES {
            for b in a + 1..LANES {
                let r = corr(&|j| u[j][a], &|j| u[j][b], N);
                assert!((N as f64).sqrt() * r.abs() < 5.0, "lanes {a}, {b}: r = {r}");
            }
            let r = corr(&|j| u[j][a], &|j| u[j + 1][a], N - 1);
            assert!(
                (N as f64).sqrt() * r.abs() < 5.0,
                "lane {a}, lag 1: r = {r}"
            );
        }
        let limit = ChiSquared::new(255.0).unwrap().inverse_cdf(1.0 - 1e-6);
        let cell = |v: f64| (((v + 1.0) * 8.0) as usize).min(15);
        let chi2 = |pairs: &mut dyn Iterator<Item = (f64, f64)>| {
            let mut count = [0u64; 256];
            let mut n = 0;
            for (x, y) in pairs {
                count[16 * cell(x) + cell(y)] += 1;
                n += 1;
            }
            let e = n as f64 / 256.0;
            count
                .iter()
                .map(|&c| (c as f64 - e).powi(2) / e)
                .sum::<f64>()
        };
        for b in 0..LANES {
            if b + 1 < LANES {
                let c = chi2(&mut u.iter().map(|r| (r[b], r[b + 1])));
                assert!(c < limit, "lanes {b}, {}: chi2 {c} >= {limit}", b + 1);
            }
            let c = chi2(&mut u.windows(2).map(|w| (w[0][b], w[1][b])));
            assert!(
                c < limit,
                "lane {b}, consecutive draws: chi2 {c} >= {limit}"
            );
        }
    }

    #[test]
    fn different_indices_give_different_streams() {
        let mut seen = std::collections::HashSet::new();
        for n in [100u64, 101] {
            for idx in 0..1000u64 {
                let mut r = trajectory_rng(7, n, 3, idx);
                assert!(
                    seen.insert(r.next_u64()),
                    "repeated first draw at n={n} idx={idx}"
                );
            }
        }
        let a: Vec<u64> = (0..4)
            .map(|_| trajectory_rng(1, 10, 3, 0).next_u64())
            .collect();
        assert!(
            a.windows(2).all(|w| w[0] == w[1]),
            "same key must give the same stream"
        );
    }
}
