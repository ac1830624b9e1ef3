//! Per-trajectory random streams and the uniform noise U(l).
//!
//! Each trajectory owns a `Pcg64Mcg` (O'Neill 2014, "PCG: A family of simple fast space-efficient
//! statistically good algorithms for random number generation") seeded from
//! (seed, n, dim, trajectory index) through the SplitMix64 finaliser (Steele, Lea & Flood 2014,
//! "Fast splittable pseudorandom number generators"). Nothing else enters, so results do not depend
//! on the thread count or on scheduling.

use crate::loss::LANES;
use rand_pcg::Pcg64Mcg;

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

/// The 128-bit generator state for one trajectory.
pub fn stream_state(seed: u64, n: u64, dim: u64, index: u64) -> u128 {
    let mut h = splitmix64(seed ^ 0x5354_4450_2D46_4C4F);
    h = splitmix64(h ^ n);
    h = splitmix64(h ^ dim.rotate_left(32));
    h = splitmix64(h ^ index);
    let lo = splitmix64(h ^ 0x0123_4567_89AB_CDEF);
    let hi = splitmix64(lo ^ h);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// The generator of one trajectory.
pub fn trajectory_rng(seed: u64, n: u64, dim: u64, index: u64) -> Pcg64Mcg {
    Pcg64Mcg::new(stream_state(seed, n, dim, index))
}

/// The multiplier of `Pcg64Mcg` (O'Neill 2014, as in `rand_pcg`).
const PCG_MULTIPLIER: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

/// The PCG XSL RR output function of a 128-bit state given as its high and low words.
#[inline(always)]
pub fn xsl_rr(hi: u64, lo: u64) -> u64 {
    (hi ^ lo).rotate_right((hi >> 58) as u32)
}

/// [`LANES`] `Pcg64Mcg` streams stepped together, with the state transition (a scalar 128-bit
/// multiply) separated from the output function: [`Self::advance`] stores each new state as two
/// words, and [`xsl_rr`] turns them into the same 64 bits `Pcg64Mcg::next_u64` returns, in a
/// form the compiler vectorises across lanes.
#[derive(Clone, Debug)]
pub struct PcgLanes {
    state: [u128; LANES],
}

impl PcgLanes {
    /// The streams of `rngs` (at most [`LANES`]; missing lanes get a fixed padding stream) and
    /// their number.
    pub fn new(rngs: impl IntoIterator<Item = Pcg64Mcg>) -> (Self, usize) {
        let mut state = [1u128; LANES];
        let mut lanes = 0;
        for r in rngs.into_iter().take(LANES) {
            state[lanes] = r.state();
            lanes += 1;
        }
        (Self { state }, lanes)
    }

    /// Steps every lane once and stores the new states' high and low words.
    #[inline(always)]
    pub fn advance(&mut self, hi: &mut [u64; LANES], lo: &mut [u64; LANES]) {
        for b in 0..LANES {
            let s = self.state[b].wrapping_mul(PCG_MULTIPLIER);
            self.state[b] = s;
            hi[b] = (s >> 64) as u64;
            lo[b] = s as u64;
        }
    }

    /// Steps every lane once from the states given as words (`prev_hi`, `prev_lo`) and stores
    /// the new states' words: [`Self::advance`] for states that live in row arrays, where each
    /// row's state is the previous row's stepped once (no copy of the state is kept elsewhere).
    #[inline(always)]
    pub fn advance_words(
        (prev_hi, prev_lo): (&[u64; LANES], &[u64; LANES]),
        hi: &mut [u64; LANES],
        lo: &mut [u64; LANES],
    ) {
        for b in 0..LANES {
            let s = ((u128::from(prev_hi[b]) << 64) | u128::from(prev_lo[b]))
                .wrapping_mul(PCG_MULTIPLIER);
            hi[b] = (s >> 64) as u64;
            lo[b] = s as u64;
        }
    }

    /// Lane b as a `Pcg64Mcg` at its current position.
    #[cfg(test)]
    pub fn lane(&self, b: usize) -> Pcg64Mcg {
        Pcg64Mcg::new(self.state[b])
    }

    /// The current states as high and low words.
    pub fn words(&self) -> ([u64; LANES], [u64; LANES]) {
        (
            std::array::from_fn(|b| (self.state[b] >> 64) as u64),
            std::array::from_fn(|b| self.state[b] as u64),
        )
    }
}

/// The inverse of [`PCG_MULTIPLIER`] modulo 2^128, by Newton's iteration x <- x (2 - M x), which
/// doubles the number of correct low bits each time (M odd, so M M = 1 mod 8 to start).
const PCG_MULTIPLIER_INV: u128 = {
    let mut x = PCG_MULTIPLIER;
    let mut k = 0;
    while k < 7 {
        x = x.wrapping_mul(2u128.wrapping_sub(PCG_MULTIPLIER.wrapping_mul(x)));
        k += 1;
    }
    x
};

/// The `Pcg64Mcg` state `steps` draws before `state` (a multiplicative congruential step is
/// invertible: multiply by the inverse multiplier, raised to `steps` by repeated squaring).
pub fn pcg_rewind(state: u128, steps: u64) -> u128 {
    let (mut factor, mut base, mut e) = (1u128, PCG_MULTIPLIER_INV, steps);
    while e > 0 {
        if e & 1 == 1 {
            factor = factor.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        e >>= 1;
    }
    state.wrapping_mul(factor)
}

/// Steps N `Pcg64Mcg` states held as high and low words, with the 128-bit multiply built from
/// 32-bit partial products so that the compiler can run it in vector registers (an alternative
/// to the scalar multiplies of [`PcgLanes::advance`]; the bench's floor tries both).
#[inline(always)]
pub fn advance_split<const N: usize>(hi: &mut [u64; N], lo: &mut [u64; N]) {
    const M_HI: u64 = (PCG_MULTIPLIER >> 64) as u64;
    const M_LO: u64 = PCG_MULTIPLIER as u64;
    for b in 0..N {
        let (h, l) = (hi[b], lo[b]);
        hi[b] = h
            .wrapping_mul(M_LO)
            .wrapping_add(l.wrapping_mul(M_HI))
            .wrapping_add(mul_high(l, M_LO));
        lo[b] = l.wrapping_mul(M_LO);
    }
}

/// The high 64 bits of the 128-bit product a b, from four 32 x 32-bit products.
#[inline(always)]
fn mul_high(a: u64, b: u64) -> u64 {
    const LOW: u64 = 0xFFFF_FFFF;
    let (a0, a1, b0, b1) = (a & LOW, a >> 32, b & LOW, b >> 32);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 32) + (p01 & LOW) + (p10 & LOW);
    p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32)
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
    const SCALE: f64 = 1.0 / (1u64 << 51) as f64;
    const TWO52: f64 = 4_503_599_627_370_496.0;
    const MID: f64 = 1.5 * TWO52;
    let big = f64::from_bits(TWO52.to_bits() | (bits >> 12));
    ((big - MID) + 0.5) * (a * SCALE)
}

/// Shuffles `v` in place by Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm 3.4.2 P) with `rng`.
/// The modulo draw has a bias below n / 2^64, negligible for any data set.
pub fn shuffle<T>(v: &mut [T], rng: &mut Pcg64Mcg) {
    use rand::Rng;
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

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
        let mut rng = trajectory_rng(1, 2, 3, 4);
        let fixed = [0u64, 1 << 12, u64::MAX, 0x1234_5678_9abc_def0, 1 << 63];
        let random = (0..100_000).map(|_| rng.next_u64());
        for bits in fixed.into_iter().chain(random) {
            for a in [0.7, 1.0, 1e-3, 0.007_071_067_811_865_475, 3.3] {
                let direct = a * (((bits >> 12) as f64 + 0.5) / (1u64 << 51) as f64 - 1.0);
                assert_eq!(symmetric_uniform(bits, a).to_bits(), direct.to_bits());
            }
        }
    }

    #[test]
    fn pcg_lanes_reproduce_pcg64mcg() {
        let (mut lanes, n) = PcgLanes::new((0..5).map(|k| trajectory_rng(3, 4, 5, k)));
        assert_eq!(n, 5);
        let mut reference: Vec<Pcg64Mcg> = (0..5).map(|k| trajectory_rng(3, 4, 5, k)).collect();
        let (mut hi, mut lo) = ([0u64; LANES], [0u64; LANES]);
        for _ in 0..1000 {
            lanes.advance(&mut hi, &mut lo);
            for (b, r) in reference.iter_mut().enumerate() {
                assert_eq!(xsl_rr(hi[b], lo[b]), r.next_u64());
            }
        }
        assert_eq!(lanes.lane(2).next_u64(), reference[2].next_u64());
        let (mut shi, mut slo) = lanes.words();
        for _ in 0..1000 {
            advance_split(&mut shi, &mut slo);
            let prev = (hi, lo);
            PcgLanes::advance_words((&prev.0, &prev.1), &mut hi, &mut lo);
            let (mut hi2, mut lo2) = ([0; LANES], [0; LANES]);
            lanes.advance(&mut hi2, &mut lo2);
            assert_eq!((shi, slo), (hi, lo));
            assert_eq!((hi2, lo2), (hi, lo));
        }
        let (mut a, mut b) = ([u64::MAX; LANES], [u64::MAX; LANES]);
        advance_split(&mut a, &mut b);
        let s = u128::MAX.wrapping_mul(PCG_MULTIPLIER);
        assert_eq!((a[0], b[0]), ((s >> 64) as u64, s as u64));
    }

    #[test]
    fn rewind_inverts_the_generator() {
        assert_eq!(PCG_MULTIPLIER.wrapping_mul(PCG_MULTIPLIER_INV), 1);
        let (mut lanes, _) = PcgLanes::new([trajectory_rng(8, 9, 10, 11)]);
        let start = lanes.state[0];
        let (mut hi, mut lo) = ([0u64; LANES], [0u64; LANES]);
        for steps in 1..=300u64 {
            lanes.advance(&mut hi, &mut lo);
            assert_eq!(pcg_rewind(lanes.state[0], steps), start);
        }
        assert_eq!(pcg_rewind(start, 0), start);
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
