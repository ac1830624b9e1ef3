//! The candidates and completions of [`Normals`] in AVX-512 intrinsics: LLVM leaves the portable
//! forms' table lookups, rotations and exp scalar. The same operations as the portable forms
//! (exact integer steps; the same products, sums and fused multiply-adds in the same order), so
//! the same bits.

use super::{F, LANES, NormalFill, Normals, X};
use std::arch::x86_64::*;

const _: () = assert!(LANES == 8);

/// The AVX-512 forms. Holding one proves that the CPU runs AVX-512 F, DQ and VL.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512Normals(());

impl Avx512Normals {
    /// The AVX-512 forms, if this CPU runs AVX-512 F, DQ and VL.
    pub(crate) fn new() -> Option<Self> {
        let f = is_x86_feature_detected!("avx512f");
        let dq_vl = is_x86_feature_detected!("avx512dq") && is_x86_feature_detected!("avx512vl");
        (f && dq_vl).then_some(Self(()))
    }
}

impl NormalFill for Avx512Normals {
    #[inline(always)]
    fn fill(self, normals: &mut Normals) {
        // SAFETY: an `Avx512Normals` exists only where AVX-512 F, DQ and VL were detected.
        unsafe { fill(normals) }
    }
}

#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
fn fill(normals: &mut Normals) {
    normals.fill_with(|n| fast_rows(n), |n| expand(n), |n, open| complete(n, open));
}

/// [`Normals::expand`]: each row of an 8-row window with a miss writes its missed draws' records
/// whole, compressed, at the end of the list (no branch per lane).
#[target_feature(enable = "avx512f,avx512vl")]
fn expand(block: &mut Normals) -> usize {
    let mut n = 0;
    let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (w, masks) in block.row_mask.as_chunks::<8>().0.iter().enumerate() {
        if u64::from_ne_bytes(*masks) == 0 {
            continue;
        }
        for (k, &m) in masks.iter().enumerate() {
            let j = 8 * w + k;
            let pos = _mm256_add_epi32(iota, _mm256_set1_epi32((j * LANES) as i32));
            let (bits, pos_out) = (
                &mut block.open_bits[n..n + LANES],
                &mut block.open_pos[n..n + LANES],
            );
            // SAFETY: loads of row j's 8 draws (row_bits has a row per mask) and stores of 8
            // records at n, inside the lists (n <= the misses so far, and the lists have a row
            // of room beyond the rows).
            unsafe {
                let r = _mm512_loadu_si512(block.row_bits[j].as_ptr().cast());
                _mm512_storeu_si512(bits.as_mut_ptr().cast(), _mm512_maskz_compress_epi64(m, r));
                _mm256_storeu_si256(
                    pos_out.as_mut_ptr().cast(),
                    _mm256_maskz_compress_epi32(m, pos),
                );
            }
            n += m.count_ones() as usize;
        }
    }
    n
}

/// Eight xoshiro256++ streams, state word k in `s[k]`.
struct Streams([__m512i; 4]);

impl Streams {
    #[target_feature(enable = "avx512f")]
    fn load(words: &[[u64; LANES]; 4]) -> Self {
        // SAFETY: unaligned loads of the 8 u64 of each word.
        Self(std::array::from_fn(|k| unsafe {
            _mm512_loadu_si512(words[k].as_ptr().cast())
        }))
    }

    #[target_feature(enable = "avx512f")]
    fn store(&self, words: &mut [[u64; LANES]; 4]) {
        for (k, w) in self.0.iter().enumerate() {
            // SAFETY: unaligned stores of the 8 u64 of each word.
            unsafe { _mm512_storeu_si512(words[k].as_mut_ptr().cast(), *w) };
        }
    }

    /// The next 64 bits of every lane (`rng::XoshiroLanes::next`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn next(&mut self) -> __m512i {
        let [s0, s1, s2, s3] = &mut self.0;
        let r = _mm512_add_epi64(_mm512_rol_epi64::<23>(_mm512_add_epi64(*s0, *s3)), *s0);
        let t = _mm512_slli_epi64::<17>(*s1);
        *s2 = _mm512_xor_si512(*s2, *s0);
        *s3 = _mm512_xor_si512(*s3, *s1);
        *s1 = _mm512_xor_si512(*s1, *s2);
        *s0 = _mm512_xor_si512(*s0, *s3);
        *s2 = _mm512_xor_si512(*s2, t);
        *s3 = _mm512_rol_epi64::<45>(*s3);
        r
    }
}

/// `rng::symmetric_uniform(bits, a)` in every lane: ((K - 1.5 2^52) + 1/2) (a 2^-51) with K the
/// top 52 bits placed in the mantissa of 2^52.
#[target_feature(enable = "avx512f")]
#[inline]
fn symmetric_uniform(bits: __m512i, a: __m512d) -> __m512d {
    let two52 = _mm512_set1_epi64(0x4330_0000_0000_0000);
    let big = _mm512_castsi512_pd(_mm512_or_si512(two52, _mm512_srli_epi64::<12>(bits)));
    let k = _mm512_add_pd(
        _mm512_sub_pd(big, _mm512_set1_pd(1.5 * 4_503_599_627_370_496.0)),
        _mm512_set1_pd(0.5),
    );
    _mm512_mul_pd(
        k,
        _mm512_mul_pd(a, _mm512_set1_pd(1.0 / (1u64 << 51) as f64)),
    )
}

/// The layer index (low 8 bits) of every lane, and table `t` at index + `off` by a gather.
#[target_feature(enable = "avx512f")]
#[inline]
fn lookup<const OFF: usize>(i: __m512i, t: &[f64; 257]) -> __m512d {
    const { assert!(OFF <= 1) };
    // SAFETY: i <= 255, so i + OFF <= 256 indexes the 257 entries of `t`.
    unsafe { _mm512_i64gather_pd::<8>(i, t.as_ptr().add(OFF).cast()) }
}

/// |x| in every lane.
#[target_feature(enable = "avx512f")]
#[inline]
fn abs(x: __m512d) -> __m512d {
    let m = _mm512_set1_epi64(0x7fff_ffff_ffff_ffff);
    _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(x), m))
}

/// `fastmath::exp` in every lane: the same reduction and degree-13 Horner polynomial, with the
/// same fused multiply-adds.
#[target_feature(enable = "avx512f")]
#[inline]
fn exp(x: __m512d) -> __m512d {
    use crate::fastmath::{LN2_HI, LN2_LO, SHIFTER, TAYLOR13};
    let shifter = _mm512_set1_pd(SHIFTER);
    let t = _mm512_fmadd_pd(x, _mm512_set1_pd(std::f64::consts::LOG2_E), shifter);
    let kf = _mm512_sub_pd(t, shifter);
    let k = _mm512_sub_epi64(_mm512_castpd_si512(t), _mm512_castpd_si512(shifter));
    let hi = _mm512_fnmadd_pd(kf, _mm512_set1_pd(LN2_HI), x);
    let r = _mm512_fnmadd_pd(kf, _mm512_set1_pd(LN2_LO), hi);
    let scale = _mm512_slli_epi64::<52>(_mm512_add_epi64(k, _mm512_set1_epi64(1023)));
    let mut p = _mm512_set1_pd(TAYLOR13[13]);
    for c in TAYLOR13[..13].iter().rev() {
        p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(*c));
    }
    _mm512_mul_pd(p, _mm512_castsi512_pd(scale))
}

/// The candidates of every row (`normal::fast_rows_portable`): xoshiro256++ on eight lanes, the
/// layer's two edges by gathers.
#[target_feature(enable = "avx512f,avx512dq")]
fn fast_rows(block: &mut Normals) {
    let mut s = Streams::load(block.main.words_mut());
    let byte = _mm512_set1_epi64(0xff);
    for (j, row) in block
        .values
        .as_chunks_mut::<LANES>()
        .0
        .iter_mut()
        .enumerate()
    {
        let r = s.next();
        let i = _mm512_and_si512(r, byte);
        let x = symmetric_uniform(r, lookup::<0>(i, &X));
        let missing = !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(abs(x), lookup::<1>(i, &X));
        // SAFETY: unaligned stores of 8 f64 / u64 into row j of `values` and of `row_bits`.
        unsafe {
            _mm512_storeu_pd(row.as_mut_ptr(), x);
            _mm512_storeu_si512(block.row_bits[j].as_mut_ptr().cast(), r);
        }
        block.row_mask[j] = missing;
    }
    s.store(block.main.words_mut());
}

/// [`Normals::complete`]: the same rounds, every lane's verdict by mask operations.
#[target_feature(enable = "avx512f,avx512dq")]
fn complete(block: &mut Normals, open: std::ops::Range<usize>) {
    let count = open.len();
    let mut first = [0u64; LANES];
    first[..count].copy_from_slice(&block.open_bits[open.clone()]);
    // SAFETY: an unaligned load of 8 u64.
    let mut bits = unsafe { _mm512_loadu_si512(first.as_ptr().cast()) };
    let mut active: __mmask8 = ((1u32 << count) - 1) as u8;
    let mut out = _mm512_setzero_pd();
    let mut fix = Streams::load(block.fix.words_mut());
    let (byte, zero) = (_mm512_set1_epi64(0xff), _mm512_setzero_si512());
    let (half, one) = (_mm512_set1_pd(0.5), _mm512_set1_pd(1.0));
    while active != 0 {
        let (u, fresh) = (fix.next(), fix.next());
        let i = _mm512_and_si512(bits, byte);
        let x = symmetric_uniform(bits, lookup::<0>(i, &X));
        let (f0, f1) = (lookup::<0>(i, &F), lookup::<1>(i, &F));
        let u01 = _mm512_mul_pd(half, _mm512_add_pd(one, symmetric_uniform(u, one)));
        let y = _mm512_add_pd(f1, _mm512_mul_pd(_mm512_sub_pd(f0, f1), u01));
        let inside = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(abs(x), lookup::<1>(i, &X));
        let arg = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(-0.5), x), x);
        let under = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(y, exp(arg));
        let base = _mm512_cmpeq_epi64_mask(i, zero);
        let accept = active & (inside | (!base & under));
        let tail = active & !inside & base;
        out = _mm512_mask_blend_pd(accept, out, x);
        active &= !(accept | tail);
        bits = _mm512_mask_blend_epi64(active, bits, fresh);
        if tail != 0 {
            let (mut xs, mut outs) = ([0.0; LANES], [0.0; LANES]);
            // SAFETY: unaligned stores and a load of 8 f64.
            unsafe {
                _mm512_storeu_pd(xs.as_mut_ptr(), x);
                _mm512_storeu_pd(outs.as_mut_ptr(), out);
            }
            fix.store(block.fix.words_mut());
            block.tails(u32::from(tail), &xs, &mut outs);
            fix = Streams::load(block.fix.words_mut());
            // SAFETY: as above.
            out = unsafe { _mm512_loadu_pd(outs.as_ptr()) };
        }
    }
    fix.store(block.fix.words_mut());
    let mut values = [0.0; LANES];
    // SAFETY: an unaligned store of 8 f64.
    unsafe { _mm512_storeu_pd(values.as_mut_ptr(), out) };
    for (b, &p) in block.open_pos[open].iter().enumerate() {
        block.values[p as usize] = values[b];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector exp gives `fastmath::exp`'s bits in every lane, on [-700, 700] (the wedges use
    /// [-x^2/2 for x up to the tail's start]).
    #[test]
    fn exp_matches_fastmath_bits() {
        if !is_x86_feature_detected!("avx512f") {
            return;
        }
        let n = 400_000;
        for i in 0..n / LANES {
            let x: [f64; LANES] = std::array::from_fn(|b| {
                -700.0 + 1400.0 * ((i * LANES + b) as f64 + 0.37) / n as f64
            });
            let mut got = [0.0; LANES];
            // SAFETY: AVX-512F was detected above; the arrays hold LANES f64.
            unsafe { _mm512_storeu_pd(got.as_mut_ptr(), exp(_mm512_loadu_pd(x.as_ptr()))) };
            for b in 0..LANES {
                let want = crate::fastmath::exp(x[b]);
                assert_eq!(got[b].to_bits(), want.to_bits(), "x = {}", x[b]);
            }
        }
    }
}
