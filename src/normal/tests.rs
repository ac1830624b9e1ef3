use super::*;
use crate::rng::trajectory_rng;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

fn lanes(seed: u64) -> XoshiroLanes {
    XoshiroLanes::new((0..LANES as u64).map(|k| trajectory_rng(seed, 77, 5, k))).0
}

fn normals(rows: usize, seed: u64) -> Normals {
    let fix = XoshiroLanes::new((0..LANES as u64).map(|k| trajectory_rng(seed, 78, 5, k))).0;
    Normals::new(rows, lanes(seed), fix)
}

/// The AVX2 and AVX-512 forms give the portable ones' bits, and so the same blocks (block sizes
/// from 1 row up, so that blocks with no miss, one, and many occur).
#[test]
fn instruction_sets_agree() {
    #[cfg(target_arch = "x86_64")]
    for rows in [1, 2, 33, 129, 700, 5000] {
        let bits = |x: &Normals| x.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let mut p = normals(rows, 3);
        let mut avx2 = Avx2Normals::new().map(|n| (n, normals(rows, 3)));
        let mut avx512 = Avx512Normals::new().map(|n| (n, normals(rows, 3)));
        for _ in 0..20 {
            PortableNormals.fill(&mut p);
            if let Some((n, q)) = &mut avx2 {
                n.fill(q);
                assert_eq!(bits(&p), bits(q), "avx2, {rows} rows");
            }
            if let Some((n, q)) = &mut avx512 {
                n.fill(q);
                assert_eq!(bits(&p), bits(q), "avx512, {rows} rows");
            }
        }
    }
}

/// Each fill consumes one draw per row of the main streams and leaves the rows' candidates that
/// lie under their rectangles unchanged; the others are replaced.
#[test]
fn candidates_under_rectangles_are_kept() {
    let mut n = normals(300, 9);
    let mut main = lanes(9);
    for _ in 0..10 {
        PortableNormals.fill(&mut n);
        for row in n.values().as_chunks::<LANES>().0 {
            let r = main.next();
            for b in 0..LANES {
                let (_, x, inside) = candidate(r[b]);
                if inside {
                    assert_eq!(row[b].to_bits(), x.to_bits());
                }
            }
        }
    }
}

/// The tables are a ziggurat of f(x) = exp(-x^2 / 2): F[i] = f(X[i]), and the layers have the
/// area v of the base layer (its rectangle R f(R) plus the tail int_R^inf f = sqrt(pi / 2)
/// erfc(R / sqrt 2)), whose equivalent width is X[0], to the precision of the tabulated v
/// (4.92867323399e-3, 12 digits): within 1e-11 relative, except the top layer, whose area the
/// recursion that built the tables leaves 1e-9 short (measured: 9.9e-10).
#[test]
fn tables_are_an_equal_area_ziggurat() {
    let f = |x: f64| (-0.5 * x * x).exp();
    let tail = (std::f64::consts::PI / 2.0).sqrt() * statrs::function::erf::erfc(R / 2f64.sqrt());
    let v = R * f(R) + tail;
    assert_eq!(X[1], R);
    assert!(
        (X[0] * f(R) - v).abs() < 1e-11 * v,
        "{} vs {v}",
        X[0] * f(R)
    );
    assert_eq!((X[256], F[256]), (0.0, 1.0));
    for i in 0..256 {
        assert!(X[i + 1] < X[i] && F[i + 1] > F[i], "monotone at {i}");
        assert!(
            (F[i] - f(X[i])).abs() <= 4.0 * f64::EPSILON * F[i],
            "F[{i}]"
        );
        if i >= 1 {
            let area = X[i] * (F[i + 1] - F[i]);
            let tol = if i == 255 { 2e-9 } else { 1e-11 };
            assert!((area - v).abs() < tol * v, "layer {i}: {area} vs {v}");
        }
    }
}

/// The law of 2^24 variates (fixed seed): mean, variance, skewness and excess kurtosis each
/// within 5 standard errors of 0, 1, 0, 0 (false failure 5.7e-7 each under the normal
/// approximation); a chi-square over 128 equiprobable bins and one over 32 equiprobable bins of
/// |x| given |x| > 3 (the tail sampler beyond R = 3.65 and the outer wedges), each at its
/// 1 - 1e-5 quantile. False-failure probability below 4 x 5.7e-7 + 2e-5 < 3e-5.
#[test]
fn variates_are_standard_normal() {
    const N: usize = 1 << 24;
    let mut block = normals(129, 2026);
    let mut x = Vec::with_capacity(N);
    while x.len() < N {
        PortableNormals.fill(&mut block);
        x.extend_from_slice(block.values());
    }
    x.truncate(N);
    let n = N as f64;
    let m = |p: i32| x.iter().map(|v| v.powi(p)).sum::<f64>() / n;
    let (m1, m2, m3, m4) = (m(1), m(2), m(3), m(4));
    for (name, z) in [
        ("mean", m1 * n.sqrt()),
        ("variance", (m2 - 1.0) * (n / 2.0).sqrt()),
        ("skewness", m3 * (n / 15.0).sqrt()),
        ("kurtosis", (m4 - 3.0) * (n / 96.0).sqrt()),
    ] {
        assert!(z.abs() < 5.0, "{name}: z = {z}");
    }
    let std = Normal::new(0.0, 1.0).unwrap();
    let chi2 = |edges: &[f64], sample: &mut dyn Iterator<Item = f64>| {
        let mut count = vec![0u64; edges.len() + 1];
        let mut total = 0u64;
        for v in sample {
            count[edges.partition_point(|&e| e <= v)] += 1;
            total += 1;
        }
        let e = total as f64 / count.len() as f64;
        let c: f64 = count.iter().map(|&k| (k as f64 - e).powi(2) / e).sum();
        let limit = ChiSquared::new((count.len() - 1) as f64)
            .unwrap()
            .inverse_cdf(1.0 - 1e-5);
        (c, limit, total)
    };
    let edges: Vec<f64> = (1..128)
        .map(|k| std.inverse_cdf(k as f64 / 128.0))
        .collect();
    let (c, limit, _) = chi2(&edges, &mut x.iter().copied());
    assert!(c < limit, "bins: chi2 {c} >= {limit}");
    // |x| beyond 3 has survival 2 Phi(-|x|); equiprobable bins of that conditional law.
    let p3 = std.cdf(-3.0);
    let tail_edges: Vec<f64> = (1..32)
        .map(|k| -std.inverse_cdf(p3 * (1.0 - k as f64 / 32.0)))
        .collect();
    let (c, limit, count) = chi2(
        &tail_edges,
        &mut x.iter().map(|v| v.abs()).filter(|&a| a > 3.0),
    );
    assert!(
        c < limit,
        "tail bins: chi2 {c} >= {limit} ({count} variates)"
    );
}
