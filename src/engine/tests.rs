//! Tests of the engine against the scalar reference recursion, and of its bookkeeping.

use super::*;
use crate::loss::LogCosh;
use crate::recursion::Trajectory;

fn spec<'a>(loss: &'a LogCosh, theta0: &'a [f64], n: u64, m: u64) -> PointSpec<'a> {
    PointSpec {
        loss,
        theta0,
        alpha_n: 1.0,
        a_n: 1.0 / (n as f64).sqrt(),
        kappa: 2.0 / 3.0,
        horizon: 1.0,
        substeps: 1,
        n,
        trajectories: m,
        seed: 11,
        checkpoints: 7,
        divergence_bound: 1e6,
        groups: (0, group_count(m)),
    }
}

/// The engine's S_n equals a direct scalar computation with the right-end rule.
#[test]
fn engine_matches_scalar_reference() {
    let loss = LogCosh::new(vec![1.0, -0.5, 0.25]);
    let theta0 = [0.0, 0.1, 0.0];
    let n = 300;
    let s = spec(&loss, &theta0, n, 13);
    let out = run_point(&s, 3, &|_| {});
    // Reference flow at all grid points.
    let mut flow = Rk4::new(&loss, s.kappa, &theta0);
    let mut z = vec![theta0.to_vec()];
    for l in 1..=n {
        flow.advance_to(l as f64 / n as f64, 1);
        z.push(flow.state().to_vec());
    }
    let d2 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    for k in 0..13u64 {
        let mut t = Trajectory::new(
            &loss,
            &theta0,
            s.alpha_n,
            s.a_n,
            trajectory_rng(11, n, 3, k),
        );
        let mut sup: f64 = 0.0;
        for l in 0..=n {
            if l > 0 {
                t.step();
            }
            let right = &z[(l + 1).min(n) as usize];
            sup = sup
                .max(d2(t.theta(), &z[l as usize]))
                .max(d2(t.theta(), right));
        }
        let k = k as usize;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        assert!(close(out.sup_sq[k], sup), "{} vs {sup}", out.sup_sq[k]);
        assert!(close(out.terminal_sq[k], d2(t.theta(), &z[n as usize])));
        assert!(close(out.terminal_theta[k * 3 + 2], t.theta()[2]));
    }
    assert_eq!(
        out.checkpoint_steps,
        vec![0, 43, 86, 129, 171, 214, 257, 300]
    );
    assert_eq!(out.sample_paths.len(), 5);
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let loss = LogCosh::new(vec![1.0, -0.5, 0.25]);
    let theta0 = [0.0; 3];
    let s = spec(&loss, &theta0, 5000, 150);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| run_point(&s, 3, &|_| {}))
    };
    let (a, b) = (run(1), run(2));
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.sup_sq), bits(&b.sup_sq));
    assert_eq!(bits(&a.terminal_theta), bits(&b.terminal_theta));
    for (x, y) in a.group_path_sums.iter().zip(&b.group_path_sums) {
        assert_eq!(bits(x), bits(y));
    }
}

#[test]
fn group_ranges_concatenate_to_the_whole() {
    let loss = LogCosh::new(vec![1.0, -0.5, 0.25]);
    let theta0 = [0.0; 3];
    let mut s = spec(&loss, &theta0, 700, 150);
    let whole = run_point(&s, 3, &|_| {});
    assert_eq!(group_count(150), 18);
    let parts: Vec<PointOutput> = [(0, 7), (7, 11), (11, 18)]
        .into_iter()
        .map(|g| {
            s.groups = g;
            run_point(&s, 3, &|_| {})
        })
        .collect();
    let joined = PointOutput::concat(parts);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&whole.sup_sq), bits(&joined.sup_sq));
    assert_eq!(bits(&whole.terminal_theta), bits(&joined.terminal_theta));
    assert_eq!(whole.group_sizes, joined.group_sizes);
    assert_eq!(whole.sample_paths.len(), joined.sample_paths.len());
    assert_eq!(joined.groups, (0, 18));
}

#[test]
fn groups_partition_trajectories_in_whole_batches() {
    for m in [
        2u64, 3, 7, 8, 15, 16, 17, 100, 128, 150, 511, 512, 513, 1000, 4000, 100_000,
    ] {
        let g = group_count(m);
        assert!(
            (1..=MAX_GROUPS).contains(&g) && (m < 2 || g >= 2),
            "m = {m}: {g} groups"
        );
        let mut next = 0;
        for k in 0..g {
            let (a, b) = group_bounds(k, m);
            assert_eq!(a, next);
            assert!(b > a, "m = {m}: empty group {k}");
            if m >= LANES as u64 * g && k + 1 < g {
                assert_eq!(b % LANES as u64, 0, "m = {m}: group {k} splits a batch");
            }
            next = b;
        }
        assert_eq!(next, m);
    }
}

#[test]
fn non_integer_horizon_ends_at_t() {
    assert_eq!(steps_for(1000, 1.0), 1000);
    assert_eq!(steps_for(3, 0.5), 1);
    assert_eq!(steps_for(10, 0.3), 3);
}

#[test]
fn divergence_is_counted_not_averaged() {
    let loss = LogCosh::new(vec![1.0, -0.5, 0.25]);
    let theta0 = [0.0; 3];
    let mut s = spec(&loss, &theta0, 200, 20);
    s.alpha_n = 1e4;
    s.a_n = 3.0;
    s.divergence_bound = 10.0;
    let out = run_point(&s, 3, &|_| {});
    assert!(out.diverged() > 0);
    for (k, dv) in out.diverged_at.iter().enumerate() {
        assert_eq!(dv.is_some(), out.sup_sq[k].is_nan());
    }
    let last = out.checkpoint_steps.len() - 1;
    let counted: u64 = out.group_path_counts.iter().map(|c| c[last]).sum();
    assert_eq!(
        counted,
        20 - out.diverged(),
        "diverged paths must leave the mean path"
    );
}

/// The sizes the estimate takes from the engine's types are what a batch and a workspace hold.
#[test]
fn heap_arrays_describe_what_a_batch_holds() {
    for d in [1, 3, 64, 1000] {
        let loss = crate::loss::LogCosh::new(vec![0.5; d]);
        let mut ws = Workspace::new(d);
        let rng = crate::rng::trajectory_rng(1, 2, 3, 4);
        let batch = LaneBatch::new(&loss, &vec![0.0; d], 0.1, [rng], &mut ws);
        let (n, bytes, align) = LaneBatch::heap_arrays(d);
        assert_eq!(batch.heap_bytes(), n * bytes);
        assert_eq!((n, bytes, align), (4, 64 * d, 64));
        let (n, bytes, _) = Workspace::heap_arrays(d);
        assert_eq!(ws.heap_bytes(), n * bytes);
    }
}
