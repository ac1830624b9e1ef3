//! The candidates of [`Normals`] in AVX2 intrinsics, four lanes per register (LLVM leaves the
//! portable form's rotations and table lookups scalar): the same operations as the portable form
//! (exact integer steps, one rounded product, one comparison), so the same bits. The completions
//! keep the portable form, compiled for AVX2.

use super::{LANES, NormalFill, Normals, X};
use std::arch::x86_64::*;

const _: () = assert!(LANES == 8);

/// The AVX2 candidates. Holding one proves that the CPU runs AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Normals(());

impl Avx2Normals {
    /// The AVX2 candidates, if this CPU runs AVX2 and FMA.
    pub(crate) fn new() -> Option<Self> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Self(()))
    }
}

impl NormalFill for Avx2Normals {
    #[inline(always)]
    fn fill(self, normals: &mut Normals) {
        // SAFETY: an `Avx2Normals` exists only where AVX2 and FMA were detected.
        unsafe { fill(normals) }
    }
}

#[target_feature(enable = "avx2,fma")]
fn fill(normals: &mut Normals) {
    // Closures, not the paths `Normals::expand` and `Normals::complete`: a closure defined here
    // is compiled for AVX2 + FMA, a function item's shim is not (and its exp then calls libm's
    // `fma` for every multiply-add).
    normals.fill_with(|n| fast_rows(n), |n| n.expand(), |n, open| n.complete(open));
}

/// x rotated left by K bits in every 64-bit lane (`_mm256_rol_epi64` needs AVX-512).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn rol<const K: i32, const R: i32>(x: __m256i) -> __m256i {
    const { assert!(K + R == 64) };
    _mm256_or_si256(_mm256_slli_epi64::<K>(x), _mm256_srli_epi64::<R>(x))
}

/// One half (four lanes) of the streams: the next 64 bits of each (xoshiro256++, as
/// `rng::next_avx2`).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn next(s: &mut [__m256i; 4]) -> __m256i {
    let [s0, s1, s2, s3] = s;
    let r = _mm256_add_epi64(rol::<23, 41>(_mm256_add_epi64(*s0, *s3)), *s0);
    let t = _mm256_slli_epi64::<17>(*s1);
    *s2 = _mm256_xor_si256(*s2, *s0);
    *s3 = _mm256_xor_si256(*s3, *s1);
    *s1 = _mm256_xor_si256(*s1, *s2);
    *s0 = _mm256_xor_si256(*s0, *s3);
    *s2 = _mm256_xor_si256(*s2, t);
    *s3 = rol::<45, 19>(*s3);
    r
}

/// Four lanes' candidates from their draws `r`: x = u X[i] (`rng::symmetric_uniform`) and the mask
/// (4 bits) of the lanes whose |x| is not below X[i + 1].
///
/// X[i] and X[i + 1] are adjacent, so each lane reads both with one 16-byte load, and two
/// unpacks sort them into registers: on an AMD Zen 3 (AVX2, no AVX-512) this made the fill 20%
/// cheaper than two `vgatherqpd` (its share of `perf` samples against the unchanged path
/// propagation, 4.8 to 3.8, in two alternating runs). On an Intel CPU with AVX-512 the gathers
/// are the faster form, and `avx512.rs` keeps them.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn candidates(r: __m256i) -> (__m256d, i32) {
    let low = _mm256_castsi256_si128(r);
    let high = _mm256_extracti128_si256::<1>(r);
    let idx = [
        _mm_cvtsi128_si64(low),
        _mm_extract_epi64::<1>(low),
        _mm_cvtsi128_si64(high),
        _mm_extract_epi64::<1>(high),
    ]
    .map(|v| (v & 0xff) as usize);
    // SAFETY: i <= 255, so the loads read X at i and i + 1 <= 256, inside its 257 entries.
    let pair = |k: usize| unsafe { _mm_loadu_pd(X.as_ptr().add(idx[k])) };
    let a = _mm256_set_m128d(pair(2), pair(0));
    let b = _mm256_set_m128d(pair(3), pair(1));
    let (lo, hi) = (_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b));
    let two52 = _mm256_set1_epi64x(0x4330_0000_0000_0000);
    let big = _mm256_castsi256_pd(_mm256_or_si256(two52, _mm256_srli_epi64::<12>(r)));
    let mid = _mm256_set1_pd(1.5 * 4_503_599_627_370_496.0);
    let k = _mm256_add_pd(_mm256_sub_pd(big, mid), _mm256_set1_pd(0.5));
    let x = _mm256_mul_pd(
        k,
        _mm256_mul_pd(lo, _mm256_set1_pd(1.0 / (1u64 << 51) as f64)),
    );
    let abs = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
    let inside = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(abs, hi));
    (x, !inside & 0xf)
}

/// The candidates of every row (`normal::fast_rows_portable`), lanes 0..4 and 4..8 in two halves.
#[target_feature(enable = "avx2,fma")]
fn fast_rows(block: &mut Normals) {
    let words = block.main.words_mut();
    // SAFETY: unaligned loads of 4 of the 8 u64 of each state word.
    let load = |h: usize| -> [__m256i; 4] {
        std::array::from_fn(|k| unsafe { _mm256_loadu_si256(words[k][4 * h..].as_ptr().cast()) })
    };
    let mut s = [load(0), load(1)];
    let rows = block.values.as_chunks_mut::<LANES>().0.iter_mut();
    for ((row, bits), mask) in rows.zip(&mut block.row_bits).zip(&mut block.row_mask) {
        let mut missing = 0;
        for (h, sh) in s.iter_mut().enumerate() {
            let r = next(sh);
            let (x, miss) = candidates(r);
            // SAFETY: unaligned stores of 4 f64 / u64 into half h of the row.
            unsafe {
                _mm256_storeu_pd(row[4 * h..].as_mut_ptr(), x);
                _mm256_storeu_si256(bits[4 * h..].as_mut_ptr().cast(), r);
            }
            missing |= miss << (4 * h);
        }
        *mask = missing as u8;
    }
    for (h, sh) in s.iter().enumerate() {
        for (k, w) in sh.iter().enumerate() {
            // SAFETY: unaligned stores of 4 of the 8 u64 of each state word.
            unsafe { _mm256_storeu_si256(words[k][4 * h..].as_mut_ptr().cast(), *w) };
        }
    }
}
