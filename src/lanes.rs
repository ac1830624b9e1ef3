//! Operations on batches of [`LANES`] vectors stored coordinate-major (coordinate i of vector b
//! at `v[i * LANES + b]`, a "row" per coordinate), for the batched Hessian-vector products of the
//! built-in losses and the simulation of the fluctuation limit.
//!
//! Each has a portable form and, on x86-64, explicit AVX-512 (a row in one register) and AVX2 (a
//! row in two) forms, the widest that the CPU runs chosen at run time. All perform the same IEEE
//! operations in the same order (products and sums rounded separately, no fused multiply-add),
//! so they give the same bits. The explicit forms exist because LLVM's loop vectoriser turns the
//! portable row loops into vectors across coordinates (with shuffles, or gathers and scatters
//! under AVX-512) rather than across the lanes of a row.

use crate::engine::Isa;
use crate::loss::LANES;

const _: () = assert!(LANES == 8, "the explicit forms hold a row in 8 f64 lanes");

/// The explicit form of the instruction set the kernels run ([`Isa::cached`]: the widest this
/// CPU runs, or the one `STDP_FLOW_ISA` names).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

#[inline(always)]
fn form() -> Form {
    match Isa::cached() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => Form::Avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => Form::Avx2,
        _ => Form::Portable,
    }
}

/// Dispatches to [`form`].
macro_rules! dispatch {
    ($name:ident($($arg:expr),*)) => {{
        match form() {
            // SAFETY: the features were detected at run time.
            #[cfg(target_arch = "x86_64")]
            Form::Avx512 => unsafe { avx512::$name($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Form::Avx2 => unsafe { avx2::$name($($arg),*) },
            Form::Portable => portable::$name($($arg),*),
        }
    }};
}

/// sum_i w_i v_i in every lane (rows = w.len()), as four partial sums over i mod 4, each in
/// coordinate order from 0, added as (s0 + s1) + (s2 + s3).
#[inline(always)]
pub(crate) fn dot(w: &[f64], v: &[f64]) -> [f64; LANES] {
    dispatch!(dot(w, v))
}

/// out_i = c w_i (lane b: c_b w_i) for every row i < w.len().
#[inline(always)]
pub(crate) fn outer(c: &[f64; LANES], w: &[f64], out: &mut [f64]) {
    dispatch!(outer(c, w, out))
}

/// v_i += c w_i (lane b: c_b w_i) for every row i < w.len().
#[inline(always)]
pub(crate) fn add_outer(c: &[f64; LANES], w: &[f64], v: &mut [f64]) {
    dispatch!(add_outer(c, w, v))
}

/// v_i = h_i v_i for every row i < h.len().
#[inline(always)]
pub(crate) fn mul_rows(h: &[f64], v: &mut [f64]) {
    dispatch!(mul_rows(h, v))
}

/// out_i = h_i v_i for every row i < h.len().
#[inline(always)]
pub(crate) fn scale(h: &[f64], v: &[f64], out: &mut [f64]) {
    dispatch!(scale(h, v, out))
}

/// v_i += s_i xi_i + g_i eta for every row i < s.len(), where `noise` holds the row eta and then
/// the rows xi_i.
#[inline(always)]
pub(crate) fn add_noise(s: &[f64], g: &[f64], noise: &[f64], v: &mut [f64]) {
    dispatch!(add_noise(s, g, noise, v))
}

/// The middle of a step with a rank-one propagator, fused: v_i = (v_i + c x_i) + (s_i xi_i +
/// g_i eta) (the half step's update, then the noise as in [`add_outer`] and [`add_noise`]), and
/// returns sum_i x_i v_i of the new v, summed as [`dot`] sums.
#[inline(always)]
pub(crate) fn outer_noise_dot(
    c: &[f64; LANES],
    x: &[f64],
    (s, g): (&[f64], &[f64]),
    noise: &[f64],
    v: &mut [f64],
) -> [f64; LANES] {
    dispatch!(outer_noise_dot(c, x, (s, g), noise, v))
}

/// The end of a step with a rank-one propagator, fused: v_i += c x_i ([`add_outer`]), and
/// returns sum_i v_i^2 of the new v ([`sum_squares`]).
#[inline(always)]
pub(crate) fn outer_squares(c: &[f64; LANES], x: &[f64], v: &mut [f64]) -> [f64; LANES] {
    dispatch!(outer_squares(c, x, v))
}

/// A whole step with a diagonal propagator m, fused: v_i = m_i ((m_i v_i) + (s_i xi_i + g_i eta))
/// (as [`mul_rows`], [`add_noise`], [`mul_rows`]), and returns sum_i v_i^2 of the new v
/// ([`sum_squares`]).
#[inline(always)]
pub(crate) fn diagonal_step(
    m: &[f64],
    (s, g): (&[f64], &[f64]),
    noise: &[f64],
    v: &mut [f64],
) -> [f64; LANES] {
    dispatch!(diagonal_step(m, (s, g), noise, v))
}

/// sum_i v_i^2 in every lane, summed as [`dot`] sums.
#[inline(always)]
pub(crate) fn sum_squares(v: &[f64]) -> [f64; LANES] {
    dispatch!(sum_squares(v))
}

/// out_i = sum_j m_ij v_j in every lane (each sum in j order from 0), m square and row-major with
/// as many rows as v.
#[inline(always)]
pub(crate) fn matvec(m: &[f64], v: &[f64], out: &mut [f64]) {
    dispatch!(matvec(m, v, out))
}

/// v += -a w + (a^2 / 2) u, elementwise (v.len() a multiple of [`LANES`]): the second-order
/// half-step of the drift.
#[inline(always)]
pub(crate) fn drift(a: f64, w: &[f64], u: &[f64], v: &mut [f64]) {
    assert!(v.len().is_multiple_of(LANES));
    dispatch!(drift(a, w, u, v))
}

/// The portable forms.
mod portable {
    use super::LANES;

    type Row = [f64; LANES];

    fn rows(v: &[f64]) -> &[Row] {
        v.as_chunks::<LANES>().0
    }

    fn rows_mut(v: &mut [f64]) -> &mut [Row] {
        v.as_chunks_mut::<LANES>().0
    }

    /// sum over i < len of term(i), as four partial sums over i mod 4 (in i order) added as
    /// (s0 + s1) + (s2 + s3); the accumulators stay in registers.
    #[inline(always)]
    fn sum4(len: usize, mut term: impl FnMut(usize) -> Row) -> Row {
        let mut a = [[0.0; LANES]; 4];
        let add = |a: &mut Row, t: Row| *a = std::array::from_fn(|b| a[b] + t[b]);
        let mut i = 0;
        while i + 4 <= len {
            let [a0, a1, a2, a3] = &mut a;
            add(a0, term(i));
            add(a1, term(i + 1));
            add(a2, term(i + 2));
            add(a3, term(i + 3));
            i += 4;
        }
        let [a0, a1, a2, _] = &mut a;
        if i < len {
            add(a0, term(i));
        }
        if i + 1 < len {
            add(a1, term(i + 1));
        }
        if i + 2 < len {
            add(a2, term(i + 2));
        }
        std::array::from_fn(|b| (a[0][b] + a[1][b]) + (a[2][b] + a[3][b]))
    }

    pub(super) fn dot(w: &[f64], v: &[f64]) -> Row {
        let vr = &rows(v)[..w.len()];
        sum4(w.len(), |i| std::array::from_fn(|b| w[i] * vr[i][b]))
    }

    pub(super) fn outer(c: &Row, w: &[f64], out: &mut [f64]) {
        for (wi, o) in w.iter().zip(rows_mut(&mut out[..w.len() * LANES])) {
            *o = std::array::from_fn(|b| c[b] * wi);
        }
    }

    pub(super) fn scale(h: &[f64], v: &[f64], out: &mut [f64]) {
        let n = h.len() * LANES;
        for ((hi, vi), o) in h.iter().zip(rows(&v[..n])).zip(rows_mut(&mut out[..n])) {
            *o = std::array::from_fn(|b| hi * vi[b]);
        }
    }

    pub(super) fn add_outer(c: &Row, w: &[f64], v: &mut [f64]) {
        for (wi, vi) in w.iter().zip(rows_mut(&mut v[..w.len() * LANES])) {
            *vi = std::array::from_fn(|b| vi[b] + c[b] * wi);
        }
    }

    pub(super) fn mul_rows(h: &[f64], v: &mut [f64]) {
        for (hi, vi) in h.iter().zip(rows_mut(&mut v[..h.len() * LANES])) {
            *vi = std::array::from_fn(|b| hi * vi[b]);
        }
    }

    pub(super) fn add_noise(s: &[f64], g: &[f64], noise: &[f64], v: &mut [f64]) {
        let n = s.len() * LANES;
        let (eta, xi) = rows(&noise[..n + LANES]).split_first().expect("eta");
        let coef = s.iter().zip(&g[..s.len()]);
        for ((vi, xi), (si, gi)) in rows_mut(&mut v[..n]).iter_mut().zip(xi).zip(coef) {
            *vi = std::array::from_fn(|b| vi[b] + (si * xi[b] + gi * eta[b]));
        }
    }

    pub(super) fn sum_squares(v: &[f64]) -> Row {
        let vr = rows(v);
        sum4(vr.len(), |i| std::array::from_fn(|b| vr[i][b] * vr[i][b]))
    }

    pub(super) fn outer_noise_dot(
        c: &Row,
        x: &[f64],
        (s, g): (&[f64], &[f64]),
        noise: &[f64],
        v: &mut [f64],
    ) -> Row {
        let d = x.len();
        let (eta, xi) = rows(&noise[..(d + 1) * LANES]).split_first().expect("eta");
        let (vr, s, g) = (&mut rows_mut(v)[..d], &s[..d], &g[..d]);
        sum4(d, |i| {
            let vi = &mut vr[i];
            *vi =
                std::array::from_fn(|b| (vi[b] + c[b] * x[i]) + (s[i] * xi[i][b] + g[i] * eta[b]));
            std::array::from_fn(|b| x[i] * vi[b])
        })
    }

    pub(super) fn outer_squares(c: &Row, x: &[f64], v: &mut [f64]) -> Row {
        let vr = &mut rows_mut(v)[..x.len()];
        sum4(x.len(), |i| {
            let vi = &mut vr[i];
            *vi = std::array::from_fn(|b| vi[b] + c[b] * x[i]);
            std::array::from_fn(|b| vi[b] * vi[b])
        })
    }

    pub(super) fn diagonal_step(
        m: &[f64],
        (s, g): (&[f64], &[f64]),
        noise: &[f64],
        v: &mut [f64],
    ) -> Row {
        let d = m.len();
        let (eta, xi) = rows(&noise[..(d + 1) * LANES]).split_first().expect("eta");
        let (vr, s, g) = (&mut rows_mut(v)[..d], &s[..d], &g[..d]);
        sum4(d, |i| {
            let vi = &mut vr[i];
            *vi =
                std::array::from_fn(|b| m[i] * (m[i] * vi[b] + (s[i] * xi[i][b] + g[i] * eta[b])));
            std::array::from_fn(|b| vi[b] * vi[b])
        })
    }

    pub(super) fn matvec(m: &[f64], v: &[f64], out: &mut [f64]) {
        let d = v.len() / LANES;
        for (mi, o) in m[..d * d].chunks_exact(d).zip(rows_mut(out)) {
            let mut acc = [0.0; LANES];
            for (mij, vj) in mi.iter().zip(rows(v)) {
                acc = std::array::from_fn(|b| acc[b] + mij * vj[b]);
            }
            *o = acc;
        }
    }

    pub(super) fn drift(a: f64, w: &[f64], u: &[f64], v: &mut [f64]) {
        let n = v.len();
        for ((v, w), u) in v.iter_mut().zip(&w[..n]).zip(&u[..n]) {
            *v += -a * w + 0.5 * a * a * u;
        }
    }
}

/// The row operations of an explicit form, written once over its register type `R` and its
/// `load`, `store`, `splat`, `add` and `mul` (the same operations as [`portable`]).
#[cfg(target_arch = "x86_64")]
macro_rules! row_ops {
    ($feature:literal) => {
        type Row = [f64; LANES];

        fn rows(v: &[f64]) -> &[Row] {
            v.as_chunks::<LANES>().0
        }

        fn rows_mut(v: &mut [f64]) -> &mut [Row] {
            v.as_chunks_mut::<LANES>().0
        }

        /// sum over i < len of term(i), as four partial sums over i mod 4 (in i order) added
        /// as (s0 + s1) + (s2 + s3): the partial sums' adds overlap, and the accumulators stay
        /// in registers.
        #[target_feature(enable = $feature)]
        #[inline]
        fn sum4(len: usize, mut term: impl FnMut(usize) -> R) -> Row {
            let z = splat(0.0);
            let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
            let mut i = 0;
            while i + 4 <= len {
                a0 = add(a0, term(i));
                a1 = add(a1, term(i + 1));
                a2 = add(a2, term(i + 2));
                a3 = add(a3, term(i + 3));
                i += 4;
            }
            if i < len {
                a0 = add(a0, term(i));
            }
            if i + 1 < len {
                a1 = add(a1, term(i + 1));
            }
            if i + 2 < len {
                a2 = add(a2, term(i + 2));
            }
            let mut out = [0.0; LANES];
            store(add(add(a0, a1), add(a2, a3)), &mut out);
            out
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn dot(w: &[f64], v: &[f64]) -> Row {
            let vr = &rows(v)[..w.len()];
            sum4(w.len(), |i| mul(splat(w[i]), load(&vr[i])))
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn outer(c: &Row, w: &[f64], out: &mut [f64]) {
            let c = load(c);
            for (wi, o) in w.iter().zip(rows_mut(&mut out[..w.len() * LANES])) {
                store(mul(c, splat(*wi)), o);
            }
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn scale(h: &[f64], v: &[f64], out: &mut [f64]) {
            let n = h.len() * LANES;
            for ((hi, vi), o) in h.iter().zip(rows(&v[..n])).zip(rows_mut(&mut out[..n])) {
                store(mul(splat(*hi), load(vi)), o);
            }
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn add_outer(c: &Row, w: &[f64], v: &mut [f64]) {
            let c = load(c);
            for (wi, vi) in w.iter().zip(rows_mut(&mut v[..w.len() * LANES])) {
                store(add(load(vi), mul(c, splat(*wi))), vi);
            }
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn mul_rows(h: &[f64], v: &mut [f64]) {
            for (hi, vi) in h.iter().zip(rows_mut(&mut v[..h.len() * LANES])) {
                store(mul(splat(*hi), load(vi)), vi);
            }
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn add_noise(s: &[f64], g: &[f64], noise: &[f64], v: &mut [f64]) {
            let n = s.len() * LANES;
            let (eta, xi) = rows(&noise[..n + LANES]).split_first().expect("eta");
            let eta = load(eta);
            let coef = s.iter().zip(&g[..s.len()]);
            for ((vi, xi), (si, gi)) in rows_mut(&mut v[..n]).iter_mut().zip(xi).zip(coef) {
                let inc = add(mul(splat(*si), load(xi)), mul(splat(*gi), eta));
                store(add(load(vi), inc), vi);
            }
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn outer_noise_dot(
            c: &Row,
            x: &[f64],
            (s, g): (&[f64], &[f64]),
            noise: &[f64],
            v: &mut [f64],
        ) -> Row {
            let d = x.len();
            let (eta, xi) = rows(&noise[..(d + 1) * LANES]).split_first().expect("eta");
            let (c, eta) = (load(c), load(eta));
            let (vr, s, g) = (&mut rows_mut(v)[..d], &s[..d], &g[..d]);
            sum4(d, |i| {
                let inc = add(mul(splat(s[i]), load(&xi[i])), mul(splat(g[i]), eta));
                let new = add(add(load(&vr[i]), mul(c, splat(x[i]))), inc);
                store(new, &mut vr[i]);
                mul(splat(x[i]), new)
            })
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn outer_squares(c: &Row, x: &[f64], v: &mut [f64]) -> Row {
            let c = load(c);
            let vr = &mut rows_mut(v)[..x.len()];
            sum4(x.len(), |i| {
                let new = add(load(&vr[i]), mul(c, splat(x[i])));
                store(new, &mut vr[i]);
                mul(new, new)
            })
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn diagonal_step(
            m: &[f64],
            (s, g): (&[f64], &[f64]),
            noise: &[f64],
            v: &mut [f64],
        ) -> Row {
            let d = m.len();
            let (eta, xi) = rows(&noise[..(d + 1) * LANES]).split_first().expect("eta");
            let eta = load(eta);
            let (vr, s, g) = (&mut rows_mut(v)[..d], &s[..d], &g[..d]);
            sum4(d, |i| {
                let inc = add(mul(splat(s[i]), load(&xi[i])), mul(splat(g[i]), eta));
                let mi = splat(m[i]);
                let new = mul(mi, add(mul(mi, load(&vr[i])), inc));
                store(new, &mut vr[i]);
                mul(new, new)
            })
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn sum_squares(v: &[f64]) -> Row {
            let vr = rows(v);
            sum4(vr.len(), |i| {
                let x = load(&vr[i]);
                mul(x, x)
            })
        }

        /// Four rows of m at a time, so that four independent sums hide the latency of the
        /// adds; each sum still runs in j order.
        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn matvec(m: &[f64], v: &[f64], out: &mut [f64]) {
            let d = v.len() / LANES;
            let (m, vr) = (&m[..d * d], rows(v));
            let out = rows_mut(&mut out[..d * LANES]);
            let mut i = 0;
            while i + 4 <= d {
                let mut acc = [splat(0.0); 4];
                for (j, vj) in vr.iter().enumerate() {
                    let x = load(vj);
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = add(*a, mul(splat(m[(i + r) * d + j]), x));
                    }
                }
                for (r, a) in acc.into_iter().enumerate() {
                    store(a, &mut out[i + r]);
                }
                i += 4;
            }
            for k in i..d {
                let mut acc = splat(0.0);
                for (j, vj) in vr.iter().enumerate() {
                    acc = add(acc, mul(splat(m[k * d + j]), load(vj)));
                }
                store(acc, &mut out[k]);
            }
        }

        #[target_feature(enable = $feature)]
        #[inline]
        pub(super) fn drift(a: f64, w: &[f64], u: &[f64], v: &mut [f64]) {
            let n = v.len();
            let (ca, cb) = (splat(-a), splat(0.5 * a * a));
            let rows = rows_mut(v).iter_mut().zip(rows(&w[..n])).zip(rows(&u[..n]));
            for ((vi, wi), ui) in rows {
                let inc = add(mul(ca, load(wi)), mul(cb, load(ui)));
                store(add(load(vi), inc), vi);
            }
        }
    };
}

/// The AVX2 forms: a row in two 4-lane registers.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// A row in registers.
    #[derive(Clone, Copy)]
    struct R(__m256d, __m256d);

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load(r: &[f64; LANES]) -> R {
        // SAFETY: two unaligned loads of 4 f64 inside the 8 of `r`.
        unsafe {
            R(
                _mm256_loadu_pd(r.as_ptr()),
                _mm256_loadu_pd(r.as_ptr().add(4)),
            )
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn store(x: R, r: &mut [f64; LANES]) {
        // SAFETY: two unaligned stores of 4 f64 inside the 8 of `r`.
        unsafe {
            _mm256_storeu_pd(r.as_mut_ptr(), x.0);
            _mm256_storeu_pd(r.as_mut_ptr().add(4), x.1);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn splat(x: f64) -> R {
        R(_mm256_set1_pd(x), _mm256_set1_pd(x))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn add(x: R, y: R) -> R {
        R(_mm256_add_pd(x.0, y.0), _mm256_add_pd(x.1, y.1))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn mul(x: R, y: R) -> R {
        R(_mm256_mul_pd(x.0, y.0), _mm256_mul_pd(x.1, y.1))
    }

    row_ops!("avx2,fma");
}

/// The AVX-512 forms: a row in one register.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::LANES;
    use std::arch::x86_64::*;

    type R = __m512d;

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn load(r: &[f64; LANES]) -> R {
        // SAFETY: an unaligned load of the 8 f64 of `r`.
        unsafe { _mm512_loadu_pd(r.as_ptr()) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn store(x: R, r: &mut [f64; LANES]) {
        // SAFETY: an unaligned store of the 8 f64 of `r`.
        unsafe { _mm512_storeu_pd(r.as_mut_ptr(), x) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn splat(x: f64) -> R {
        _mm512_set1_pd(x)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn add(x: R, y: R) -> R {
        _mm512_add_pd(x, y)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn mul(x: R, y: R) -> R {
        _mm512_mul_pd(x, y)
    }

    row_ops!("avx512f");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that form `$f` gives the portable form's bits on random data, odd row counts.
    #[cfg(target_arch = "x86_64")]
    macro_rules! agree {
        ($f:ident) => {{
            let mut rng = crate::rng::Xoshiro256pp::from_key(11);
            let mut draw = |n: usize| -> Vec<f64> {
                (0..n)
                    .map(|_| crate::rng::symmetric_uniform(rng.next_u64(), 3.0))
                    .collect()
            };
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
            for d in [1, 3, 4, 7, 16, 33] {
                let (w, g, v, u, m) = (
                    draw(d),
                    draw(d),
                    draw(d * LANES),
                    draw(d * LANES),
                    draw(d * d),
                );
                let noise = draw((d + 1) * LANES);
                let c: [f64; LANES] = draw(LANES).try_into().unwrap();
                // SAFETY: the caller checked the form's features.
                unsafe {
                    assert_eq!(bits(&portable::dot(&w, &v)), bits(&$f::dot(&w, &v)));
                    assert_eq!(bits(&portable::sum_squares(&v)), bits(&$f::sum_squares(&v)));
                    let (mut p, mut q) = (vec![0.0; d * LANES], vec![0.0; d * LANES]);
                    portable::outer(&c, &w, &mut p);
                    $f::outer(&c, &w, &mut q);
                    assert_eq!(bits(&p), bits(&q));
                    portable::scale(&w, &v, &mut p);
                    $f::scale(&w, &v, &mut q);
                    assert_eq!(bits(&p), bits(&q));
                    let (mut p2, mut q2) = (v.clone(), v.clone());
                    portable::add_outer(&c, &w, &mut p2);
                    $f::add_outer(&c, &w, &mut q2);
                    assert_eq!(bits(&p2), bits(&q2));
                    portable::mul_rows(&w, &mut p2);
                    $f::mul_rows(&w, &mut q2);
                    assert_eq!(bits(&p2), bits(&q2));
                    let (mut p3, mut q3) = (v.clone(), v.clone());
                    let sg = (&w[..], &g[..]);
                    let r = portable::outer_noise_dot(&c, &u[..d], sg, &noise, &mut p3);
                    assert_eq!(
                        bits(&r),
                        bits(&$f::outer_noise_dot(&c, &u[..d], sg, &noise, &mut q3))
                    );
                    assert_eq!(bits(&p3), bits(&q3));
                    let r = portable::outer_squares(&c, &w, &mut p3);
                    assert_eq!(bits(&r), bits(&$f::outer_squares(&c, &w, &mut q3)));
                    assert_eq!(bits(&p3), bits(&q3));
                    let r = portable::diagonal_step(&g, sg, &noise, &mut p3);
                    assert_eq!(bits(&r), bits(&$f::diagonal_step(&g, sg, &noise, &mut q3)));
                    assert_eq!(bits(&p3), bits(&q3));
                    portable::matvec(&m, &v, &mut p);
                    $f::matvec(&m, &v, &mut q);
                    assert_eq!(bits(&p), bits(&q));
                    let (mut p, mut q) = (v.clone(), v.clone());
                    portable::add_noise(&w, &g, &noise, &mut p);
                    $f::add_noise(&w, &g, &noise, &mut q);
                    assert_eq!(bits(&p), bits(&q));
                    let (mut p, mut q) = (v.clone(), v.clone());
                    portable::drift(0.37, &u, &v, &mut p);
                    $f::drift(0.37, &u, &v, &mut q);
                    assert_eq!(bits(&p), bits(&q));
                }
            }
        }};
    }

    /// Every explicit form that the CPU runs gives the portable form's bits.
    #[test]
    fn forms_agree_bit_for_bit() {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                agree!(avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                agree!(avx512);
            }
        }
        assert!(form() == Form::Portable || cfg!(target_arch = "x86_64"));
    }
}
