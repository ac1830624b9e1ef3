//! The paths of V behind [`super::sup_limit`], advanced in lockstep batches of [`LANES`] stored
//! as structure of arrays (coordinate i of path b of a batch at `v[i * LANES + b]`), so that each
//! step's work vectorises across paths and the step's quantities on the grid (the half-step
//! propagator, the noise coefficients) serve a whole batch. All batches of a group take step k
//! before any takes step k + 1: the step's normals are drawn in one block, and its rows of the
//! grid are read once per group.

use super::grid::{Grid, Scratch};
use super::{CONTROLS, RECORD};
use crate::engine::Isa;
use crate::loss::{LANES, Loss};
#[cfg(target_arch = "x86_64")]
use crate::normal::{Avx2Normals, Avx512Normals};
use crate::normal::{NormalFill, Normals, PortableNormals};
use crate::rng::XoshiroLanes;

/// The per-path results of a group of `paths` paths (simulated in batches of [`LANES`]; the
/// lanes past `paths` are simulated and dropped): the running maxima of |V|^2 over the grids of
/// step h, 2h, 4h, then |V_t|^2 at t = T k / [`CONTROLS`], k = 1..=CONTROLS.
/// The kernel is compiled for `isa`; every instruction set gives the same bits.
pub(super) fn simulate_group(
    loss: &dyn Loss,
    grid: &Grid,
    streams: (XoshiroLanes, XoshiroLanes),
    paths: usize,
    isa: Isa,
) -> Vec<[f64; RECORD]> {
    let job = (loss, grid, streams, paths);
    match isa {
        Isa::Baseline => group_impl(job, PortableNormals),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512 => {
            let wide = Avx512Normals::new().filter(|_| isa == Isa::Avx512);
            match (wide, Avx2Normals::new()) {
                // SAFETY: the features were detected at run time.
                (Some(n), _) => unsafe { group_avx512(job, n) },
                // SAFETY: as above.
                (None, Some(n)) => unsafe { group_avx2(job, n) },
                (None, None) => group_impl(job, PortableNormals),
            }
        }
    }
}

/// One group's simulation: the loss, the grid, the group's streams (for the candidates of its
/// normals and for their completion) and its number of paths.
type Job<'a> = (&'a dyn Loss, &'a Grid, (XoshiroLanes, XoshiroLanes), usize);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn group_avx2(job: Job, normals: Avx2Normals) -> Vec<[f64; RECORD]> {
    group_impl(job, normals)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
fn group_avx512(job: Job, normals: Avx512Normals) -> Vec<[f64; RECORD]> {
    group_impl(job, normals)
}

/// The buffers of a group's batches, allocated once per group.
struct Batches {
    /// The batches' states, `d * LANES` each.
    v: Vec<f64>,
    /// Per batch and lane: the three running maxima, then |V|^2 at the controls' times.
    max: Vec<[[f64; LANES]; RECORD]>,
    /// The squared norms of the paths after the last step, per batch.
    norms: Vec<[f64; LANES]>,
    /// One step's normals of every batch: per batch, eta then xi_1..xi_d (rows of [`LANES`]).
    noise: Normals,
    ws: Scratch,
}

/// The group's paths step by step: the normals of all batches, then the step of every batch,
/// then the running maxima. A lane's operations and their order do not depend on the batching.
#[inline(always)]
fn group_impl<N: NormalFill>((loss, grid, streams, paths): Job, normals: N) -> Vec<[f64; RECORD]> {
    let d = grid.d;
    debug_assert!(grid.steps() % CONTROLS == 0 && grid.steps() >= CONTROLS);
    let batches = paths.div_ceil(LANES);
    let mut s = Batches {
        v: vec![0.0; batches * d * LANES],
        max: vec![[[0.0; LANES]; RECORD]; batches],
        norms: vec![[0.0; LANES]; batches],
        noise: Normals::new(batches * (d + 1), streams.0, streams.1),
        ws: grid.scratch(batches),
    };
    for k in 0..grid.steps() {
        normals.fill(&mut s.noise);
        grid.step(
            loss,
            k,
            s.noise.values(),
            (&mut s.v, &mut s.ws, &mut s.norms),
        );
        let (j, every) = (k + 1, grid.steps() / CONTROLS);
        for (m, r) in s.max.iter_mut().zip(&s.norms) {
            let [m0, m1, m2, ..] = m;
            *m0 = std::array::from_fn(|b| m0[b].max(r[b]));
            if j % 2 == 0 {
                *m1 = std::array::from_fn(|b| m1[b].max(r[b]));
            }
            if j % 4 == 0 {
                *m2 = std::array::from_fn(|b| m2[b].max(r[b]));
            }
            if j % every == 0 {
                m[2 + j / every] = *r;
            }
        }
    }
    let per_path = s
        .max
        .iter()
        .flat_map(|m| (0..LANES).map(|b| m.map(|row| row[b])));
    per_path.take(paths).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fluctuation::Diffusion;
    use crate::loss::{Logistic, Quadratic, SoftmaxSample};
    use crate::rng::trajectory_rng;

    /// Every instruction set that the CPU runs gives the baseline's bits, with each form of the
    /// propagator (rank one, diagonal, dense, products) and a partial last batch.
    #[test]
    fn instruction_sets_give_the_same_bits() {
        let model = Diffusion {
            kappa: 2.0 / 3.0,
            noise: 1.0,
            horizon: 1.0,
        };
        let losses: Vec<Box<dyn Loss>> = vec![
            Box::new(Logistic::new(vec![0.6, -0.8, 0.3, 0.1, 0.5], 1.0)),
            Box::new(Quadratic::new(vec![1.0, -1.0, 0.5], vec![3.0, 0.5, 1.0])),
            Box::new(SoftmaxSample::new(&[0.4, -0.2], 1, 3)),
            Box::new(SoftmaxSample::new(&[0.4, -0.2, 0.9, 0.1, -0.7], 1, 3)),
        ];
        for loss in &losses {
            let d = loss.dim();
            let grid = Grid::new(loss.as_ref(), &vec![0.1; d], model, 64);
            let lanes = |tag: u64| {
                XoshiroLanes::new((0..LANES as u64).map(|b| trajectory_rng(3, tag, 4, b))).0
            };
            let run = |isa| simulate_group(loss.as_ref(), &grid, (lanes(1), lanes(2)), 21, isa);
            let base = run(Isa::Baseline);
            assert_eq!(base.len(), 21);
            for isa in Isa::available() {
                let bits = |r: &[[f64; RECORD]]| {
                    r.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>()
                };
                assert_eq!(bits(&run(isa)), bits(&base), "d = {d}, {}", isa.name());
            }
        }
    }
}
