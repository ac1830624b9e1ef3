//! Monte Carlo over independent trajectories of eq. 3.2 against the RK4 reference flow.
//!
//! Time is cut into blocks: the flow is integrated once per block into a small buffer, then every
//! trajectory advances through the block in parallel (rayon, one task per fixed group of
//! trajectories). Memory holds per-trajectory state and results and one block of the flow, so it
//! does not grow with n. Each trajectory's stream depends on (seed, n, dim, index) only, and every
//! reduction runs in index order, so results are bit-identical for any thread count.

use crate::fastmath::ExpKernel;
use crate::flow::Rk4;
use crate::loss::{Known, LANES, Loss, RowLoss};
use crate::recursion::{LaneBatch, Workspace};
#[cfg(target_arch = "x86_64")]
use crate::rng::Avx2Step;
use crate::rng::{Avx512Step, LaneStep, Portable, trajectory_rng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod memory;
pub use memory::{PointMemory, allocation_bytes, point_bytes};

/// Number of groups the trajectories are split into (fewer if there are fewer trajectories).
/// Groups are the unit of parallel work and of the jackknife of the realised drift.
pub const MAX_GROUPS: u64 = 64;

/// How many of the first trajectories have their paths recorded at the checkpoints.
pub const SAMPLE_PATHS: u64 = 5;

/// One point of a sweep: everything needed to simulate M trajectories at one n.
pub struct PointSpec<'a> {
    /// The loss.
    pub loss: &'a dyn Loss,
    /// theta0 (also Z_0).
    pub theta0: &'a [f64],
    /// alpha_n.
    pub alpha_n: f64,
    /// A_n.
    pub a_n: f64,
    /// kappa of the reference flow.
    pub kappa: f64,
    /// Horizon T.
    pub horizon: f64,
    /// RK4 substeps per grid interval 1/n.
    pub substeps: u32,
    /// n, the number of updates per unit time; the point runs n T updates.
    pub n: u64,
    /// Number of trajectories M.
    pub trajectories: u64,
    /// Experiment seed.
    pub seed: u64,
    /// Number of checkpoints (at most) at which the mean path is recorded.
    pub checkpoints: u64,
    /// A trajectory with |theta - Z| above this bound (or non-finite) counts as diverged.
    pub divergence_bound: f64,
    /// The groups of trajectories to simulate, [first, last) (all: 0..group_count(M)).
    pub groups: (u64, u64),
}

/// Number of groups for M trajectories: about one per [`LANES`] trajectories, at least 2 (for
/// the jackknife) when M >= 2, at most [`MAX_GROUPS`].
pub fn group_count(m: u64) -> u64 {
    (m / LANES as u64).clamp(m.min(2), MAX_GROUPS).max(1)
}

/// Trajectory indices [first, last) of group g out of group_count(m). Boundaries are multiples of
/// [`LANES`] whenever every group can hold a full batch, so batches are never split.
pub fn group_bounds(g: u64, m: u64) -> (u64, u64) {
    let groups = group_count(m);
    let lanes = LANES as u64;
    let edge = |k: u64| {
        if k == groups {
            m
        } else if m >= lanes * groups {
            k * m / groups / lanes * lanes
        } else {
            k * m / groups
        }
    };
    (edge(g), edge(g + 1))
}

/// Raw results of one point (or of a range of its groups), in trajectory order. Everything an
/// exact merge of shards needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointOutput {
    /// The groups covered, [first, last).
    pub groups: (u64, u64),
    /// Dimension d.
    pub dim: usize,
    /// Number of updates L = floor(T n).
    pub steps: u64,
    /// S_n per trajectory (NaN for diverged ones).
    #[serde(with = "crate::serde_nan::vec")]
    pub sup_sq: Vec<f64>,
    /// |theta(L) - Z(T)|^2 per trajectory (NaN for diverged ones).
    #[serde(with = "crate::serde_nan::vec")]
    pub terminal_sq: Vec<f64>,
    /// theta(L) per trajectory, row-major (M x d).
    #[serde(with = "crate::serde_nan::vec")]
    pub terminal_theta: Vec<f64>,
    /// Update index at which each trajectory diverged, if it did.
    pub diverged_at: Vec<Option<u64>>,
    /// Z(T).
    pub flow_terminal: Vec<f64>,
    /// Checkpoint update indices l_k (k = 0..=K).
    pub checkpoint_steps: Vec<u64>,
    /// Checkpoint times l_k / n.
    pub checkpoint_times: Vec<f64>,
    /// Z at the checkpoint times, (K+1) x d.
    pub flow_path: Vec<f64>,
    /// Per group: the sum of theta over its trajectories at each checkpoint, (K+1) x d.
    pub group_path_sums: Vec<Vec<f64>>,
    /// Per group: how many trajectories (not diverged by then) enter each checkpoint's sum.
    pub group_path_counts: Vec<Vec<u64>>,
    /// Per group: the number of its trajectories.
    pub group_sizes: Vec<u64>,
    /// Paths of the first [`SAMPLE_PATHS`] trajectories at the checkpoints, each (K+1) x d.
    pub sample_paths: Vec<Vec<f64>>,
    /// Wall seconds spent integrating the reference flow.
    #[serde(default)]
    pub flow_seconds: f64,
}

impl PointOutput {
    /// Number of diverged trajectories.
    pub fn diverged(&self) -> u64 {
        self.diverged_at.iter().filter(|d| d.is_some()).count() as u64
    }

    /// Joins outputs of consecutive group ranges (in order) into one.
    pub fn concat(parts: Vec<PointOutput>) -> PointOutput {
        let mut it = parts.into_iter();
        let mut out = it.next().expect("at least one part");
        for p in it {
            debug_assert_eq!(out.groups.1, p.groups.0);
            out.groups.1 = p.groups.1;
            out.sup_sq.extend(p.sup_sq);
            out.terminal_sq.extend(p.terminal_sq);
            out.terminal_theta.extend(p.terminal_theta);
            out.diverged_at.extend(p.diverged_at);
            out.group_path_sums.extend(p.group_path_sums);
            out.group_path_counts.extend(p.group_path_counts);
            out.group_sizes.extend(p.group_sizes);
            out.sample_paths.extend(p.sample_paths);
            out.flow_seconds += p.flow_seconds;
        }
        out
    }
}

/// The number of updates in [0, T]: floor(T n), with T n within 1e-9 relative of an integer
/// treated as that integer.
pub fn steps_for(n: u64, horizon: f64) -> u64 {
    let x = horizon * n as f64;
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x.max(1.0) {
        r as u64
    } else {
        x.floor() as u64
    }
}

fn checkpoint_steps(steps: u64, checkpoints: u64) -> Vec<u64> {
    let k = checkpoints.clamp(1, steps.max(1));
    let mut v: Vec<u64> = (0..=k)
        .map(|j| ((u128::from(j) * u128::from(steps) + u128::from(k) / 2) / u128::from(k)) as u64)
        .collect();
    v.dedup();
    v
}

/// Block length in updates: about 2^18 flow values per block, at least 64 updates.
fn block_len(d: usize) -> u64 {
    ((1usize << 18) / d.max(1)).clamp(64, 8192) as u64
}

/// One worker's share of a point. Aligned like [`LaneBatch`], for the same reason. Its
/// per-trajectory results are its slices of the [`PointOutput`]'s vectors, written in place (no
/// second copy is assembled at the end).
#[repr(align(128))]
struct Group<'o> {
    first: u64,
    batches: Vec<LaneBatch>,
    ws: Workspace,
    sup: &'o mut [f64],
    terminal_sq: &'o mut [f64],
    terminal_theta: &'o mut [f64],
    diverged_at: &'o mut [Option<u64>],
    path_sum: Vec<f64>,
    path_count: Vec<u64>,
    samples: Vec<Vec<f64>>,
}

impl Group<'_> {
    fn size(&self) -> usize {
        self.diverged_at.len()
    }
}

struct Block<'a> {
    l0: u64,
    l1: u64,
    steps: u64,
    z: &'a [f64],
    ck: &'a [(u64, usize)],
}

/// The instruction sets the kernel is compiled for; chosen once per point at run time. All
/// compute the same bits (no reassociation; the polynomials' fused multiply-adds are correctly
/// rounded on every path: an instruction on AVX2 and AVX-512, libm's `fma` on the baseline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// Its name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }

    /// The widest instruction set this CPU supports, or a narrower one named by the environment
    /// variable `STDP_FLOW_ISA` (`baseline`, `avx2`; to measure or test another path on the same
    /// CPU). A name that is not narrower than what the CPU has is ignored.
    pub(crate) fn detect() -> Self {
        let widest = Self::widest();
        let asked = std::env::var("STDP_FLOW_ISA").ok();
        Self::available()
            .into_iter()
            .find(|isa| asked.as_deref() == Some(isa.name()))
            .unwrap_or(widest)
    }

    /// [`Isa::detect`], decided once per process: for code called too often to read the
    /// environment at every call.
    pub(crate) fn cached() -> Self {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(Self::detect)
    }

    /// Every instruction set this CPU runs, the widest last.
    pub(crate) fn available() -> Vec<Self> {
        let mut v = vec![Isa::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
                v.push(Isa::Avx512);
            }
        }
        v
    }

    fn widest() -> Self {
        *Self::available()
            .last()
            .expect("the baseline is always available")
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn advance_group_avx2<L: RowLoss + ?Sized>(
    g: &mut Group,
    (spec, blk): (&PointSpec, &Block),
    loss: &L,
    step: Avx2Step,
) {
    advance_group_impl(g, (spec, blk), loss, step);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn advance_group_avx512<L: RowLoss + ?Sized>(
    g: &mut Group,
    (spec, blk): (&PointSpec, &Block),
    loss: &L,
) {
    advance_group_impl(g, (spec, blk), loss, Avx512Step);
}

fn advance_group_isa<L: RowLoss + ?Sized>(
    g: &mut Group,
    (spec, blk): (&PointSpec, &Block),
    isa: Isa,
    loss: &L,
) {
    match isa {
        Isa::Baseline => advance_group_impl(g, (spec, blk), loss, Portable),
        // SAFETY: the features were detected at run time by `Isa::detect`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => match Avx2Step::new() {
            Some(step) => unsafe { advance_group_avx2(g, (spec, blk), loss, step) },
            None => advance_group_impl(g, (spec, blk), loss, Portable),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { advance_group_avx512(g, (spec, blk), loss) },
    }
}

/// Advances one group through a block, with the kernel compiled for the loss's concrete type
/// (built-in losses) and the detected instruction set.
fn advance_group(g: &mut Group, spec: &PointSpec, blk: &Block, isa: Isa) {
    match spec.loss.known() {
        Known::LogCosh(l) => advance_group_isa(g, (spec, blk), isa, l),
        Known::Quadratic(l) => advance_group_isa(g, (spec, blk), isa, l),
        Known::Logistic(l) => advance_group_isa(g, (spec, blk), isa, l),
        Known::Linear(l) => advance_group_isa(g, (spec, blk), isa, l),
        Known::Other => advance_group_isa(g, (spec, blk), isa, spec.loss),
    }
}

/// How many batches a worker advances together, update by update: each batch's pass over its
/// rows, then all their losses ([`LaneBatch::step_rows`], [`LaneBatch::step_loss`]). A batch's
/// loss is a long chain of dependent operations that its next pass has to wait for; the chains
/// of several batches run side by side. Eight batches for d <= 4, four for d <= 8, two otherwise.
/// Only the order of independent work changes, not a bit of any result. Measured with
/// `stdp-flow bench --threads 1` (logcosh d=3, ns per coordinate-step, while a build ran): 5.35
/// with four batches, 4.49 to 4.95 with eight.
pub(crate) fn interleave(d: usize) -> usize {
    if d <= 4 {
        8
    } else if d <= 8 {
        4
    } else {
        2
    }
}

/// The most batches [`interleave`] puts together.
const MAX_INTERLEAVE: usize = 8;

#[inline(always)]
fn advance_group_impl<L: RowLoss + ?Sized, G: LaneStep>(
    g: &mut Group,
    (spec, blk): (&PointSpec, &Block),
    loss: &L,
    step: G,
) {
    let d = spec.theta0.len();
    let bound2 = spec.divergence_bound * spec.divergence_bound;
    let mut near = [[0.0; LANES]; MAX_INTERLEAVE];
    let mut far = [[0.0; LANES]; MAX_INTERLEAVE];
    let exp = ExpKernel::for_range(spec.a_n);
    let together = interleave(d).min(MAX_INTERLEAVE);
    for (ci, chunk) in g.batches.chunks_mut(together).enumerate() {
        let base0 = ci * together * LANES;
        // The running sups stay in locals for the block: `g.sup` of groups on other threads may
        // share their cache lines.
        let mut sup = [[0.0f64; LANES]; MAX_INTERLEAVE];
        for (j, batch) in chunk.iter().enumerate() {
            let base = base0 + j * LANES;
            sup[j][..batch.lanes()].copy_from_slice(&g.sup[base..base + batch.lanes()]);
        }
        let mut ck = blk.ck.iter().peekable();
        for l in blk.l0..=blk.l1 {
            let jz = (l - blk.l0) as usize;
            let zl = &blk.z[jz * d..(jz + 1) * d];
            let zr = &blk.z[(jz + 1) * d..(jz + 2) * d];
            let checkpoint = match ck.peek() {
                Some(&&(lk, kidx)) if lk == l => {
                    ck.next();
                    Some(kidx)
                }
                _ => None,
            };
            for (j, batch) in chunk.iter_mut().enumerate() {
                if l > 0 {
                    let out = (&mut near[j], &mut far[j]);
                    batch.step_rows((loss, step), spec.alpha_n, spec.a_n, exp, (zl, zr), out);
                } else {
                    batch.sq_dist(zl, &mut near[j]);
                    batch.sq_dist(zr, &mut far[j]);
                }
            }
            if l > 0 {
                for batch in chunk.iter_mut() {
                    batch.step_loss(loss, &mut g.ws);
                }
            }
            for (j, batch) in chunk.iter_mut().enumerate() {
                let base = base0 + j * LANES;
                let lanes = batch.lanes();
                let sup = &mut sup[j];
                let (near, far) = (&near[j], &far[j]);
                let mut inside = true;
                for b in 0..LANES {
                    inside &= (b >= lanes) | ((near[b] <= bound2) & (far[b] <= bound2));
                }
                if inside {
                    // Every real lane finite and within the bound: the running sup of all lanes,
                    // branch-free. A padding lane's sup is never read (nor parked: once out of
                    // bound it would otherwise keep this batch off the fast path).
                    for b in 0..LANES {
                        let e = near[b].max(far[b]);
                        sup[b] = if e > sup[b] { e } else { sup[b] };
                    }
                }
                for b in 0..if inside { 0 } else { lanes } {
                    let k = base + b;
                    let e = near[b].max(far[b]);
                    // `!(x <= bound)` is also true for NaN.
                    if !(near[b] <= bound2 && far[b] <= bound2) {
                        if g.diverged_at[k].is_none() {
                            g.diverged_at[k] = Some(l);
                        }
                        batch.park_lane(b, zl, loss, spec.a_n, &mut g.ws);
                    } else if e > sup[b] {
                        sup[b] = e;
                    }
                }
                if let Some(kidx) = checkpoint {
                    let th = batch.theta();
                    let alive: [bool; LANES] =
                        std::array::from_fn(|b| b < lanes && g.diverged_at[base + b].is_none());
                    g.path_count[kidx] += alive.iter().filter(|&&a| a).count() as u64;
                    // Row by row, each coordinate's sum adds the lanes in lane order, as a lane
                    // by lane loop would: the same bits, with the sum kept in a register.
                    let row = &mut g.path_sum[kidx * d..(kidx + 1) * d];
                    let cols = th.as_chunks::<LANES>().0;
                    if alive == [true; LANES] {
                        for (r, col) in row.iter_mut().zip(cols) {
                            *r = col.iter().fold(*r, |s, &v| s + v);
                        }
                    } else {
                        for (r, col) in row.iter_mut().zip(cols) {
                            *r = (0..LANES).fold(*r, |s, b| if alive[b] { s + col[b] } else { s });
                        }
                    }
                    for b in 0..lanes {
                        let global = g.first + (base + b) as u64;
                        if global < SAMPLE_PATHS {
                            let s = &mut g.samples[(global - g.first) as usize]
                                [kidx * d..(kidx + 1) * d];
                            for i in 0..d {
                                s[i] = th[i * LANES + b];
                            }
                        }
                    }
                }
                if l == blk.steps {
                    let th = batch.theta();
                    for b in 0..lanes {
                        let k = base + b;
                        g.terminal_sq[k] = far[b];
                        for i in 0..d {
                            g.terminal_theta[k * d + i] = th[i * LANES + b];
                        }
                    }
                }
            }
        }
        for (j, batch) in chunk.iter().enumerate() {
            let base = base0 + j * LANES;
            g.sup[base..base + batch.lanes()].copy_from_slice(&sup[j][..batch.lanes()]);
        }
    }
}

/// Simulates one point. `progress` receives the number of trajectory-updates completed after each
/// block (from the calling thread).
///
/// # Panics
/// If theta0 and the loss differ in dimension (the readers of experiments refuse that first).
pub fn run_point(spec: &PointSpec, stream_dim: u64, progress: &dyn Fn(u64)) -> PointOutput {
    run_point_isa(spec, stream_dim, progress, Isa::detect())
}

/// [`run_point`] with the kernel compiled for `isa` (which the CPU must run).
pub(crate) fn run_point_isa(
    spec: &PointSpec,
    stream_dim: u64,
    progress: &dyn Fn(u64),
    isa: Isa,
) -> PointOutput {
    let d = spec.theta0.len();
    assert_eq!(
        spec.loss.dim(),
        d,
        "theta0 and the loss differ in dimension"
    );
    let m = spec.trajectories;
    let steps = steps_for(spec.n, spec.horizon);
    let ck_steps = checkpoint_steps(steps, spec.checkpoints);
    // The per-trajectory results of the groups covered, filled in place by the groups.
    let first_of_all = group_bounds(spec.groups.0, m).0;
    let count = (group_bounds(spec.groups.1 - 1, m).1 - first_of_all) as usize;
    let mut sup_sq = vec![0.0; count];
    let mut terminal_sq = vec![0.0; count];
    let mut terminal_theta = vec![0.0; count * d];
    let mut diverged_at: Vec<Option<u64>> = vec![None; count];
    let mut groups = build_groups(
        spec,
        stream_dim,
        ck_steps.len(),
        (
            &mut sup_sq,
            &mut terminal_sq,
            &mut terminal_theta,
            &mut diverged_at,
        ),
    );
    let flow = simulate_blocks(spec, &mut groups, (&ck_steps, isa), progress);
    let mut group_path_sums = Vec::with_capacity(groups.len());
    let mut group_path_counts = Vec::with_capacity(groups.len());
    let mut group_sizes = Vec::with_capacity(groups.len());
    let mut sample_paths = Vec::new();
    for g in groups {
        group_sizes.push(g.size() as u64);
        group_path_sums.push(g.path_sum);
        group_path_counts.push(g.path_count);
        sample_paths.extend(g.samples);
    }
    release_freed_memory();
    // Diverged trajectories have no sup or terminal error.
    for (k, dv) in diverged_at.iter().enumerate() {
        if dv.is_some() {
            sup_sq[k] = f64::NAN;
            terminal_sq[k] = f64::NAN;
        }
    }
    PointOutput {
        groups: spec.groups,
        dim: d,
        steps,
        sup_sq,
        terminal_sq,
        terminal_theta,
        diverged_at,
        flow_terminal: flow.terminal,
        checkpoint_times: ck_steps.iter().map(|&l| l as f64 / spec.n as f64).collect(),
        checkpoint_steps: ck_steps,
        flow_path: flow.path,
        group_path_sums,
        group_path_counts,
        group_sizes,
        sample_paths,
        flow_seconds: flow.seconds,
    }
}

/// The per-trajectory output slices of a point's groups: sup, terminal error, terminal theta and
/// divergence step.
type OutputSlices<'o> = (
    &'o mut [f64],
    &'o mut [f64],
    &'o mut [f64],
    &'o mut [Option<u64>],
);

/// The groups of a point, each with its batches (seeded per trajectory) and its slices of the
/// output, built in parallel.
fn build_groups<'o>(
    spec: &PointSpec,
    stream_dim: u64,
    nck: usize,
    (mut sup, mut tsq, mut theta, mut dv): OutputSlices<'o>,
) -> Vec<Group<'o>> {
    let d = spec.theta0.len();
    let m = spec.trajectories;
    let mut shares = Vec::with_capacity((spec.groups.1 - spec.groups.0) as usize);
    for gi in spec.groups.0..spec.groups.1 {
        let (first, last) = group_bounds(gi, m);
        let size = (last - first) as usize;
        let (a, rest) = std::mem::take(&mut sup).split_at_mut(size);
        sup = rest;
        let (b, rest) = std::mem::take(&mut tsq).split_at_mut(size);
        tsq = rest;
        let (c, rest) = std::mem::take(&mut theta).split_at_mut(size * d);
        theta = rest;
        let (e, rest) = std::mem::take(&mut dv).split_at_mut(size);
        dv = rest;
        shares.push((gi, a, b, c, e));
    }
    shares
        .into_par_iter()
        .map(|(gi, sup, terminal_sq, terminal_theta, diverged_at)| {
            let (first, last) = group_bounds(gi, m);
            let mut ws = Workspace::new(d);
            let batches = (first..last)
                .step_by(LANES)
                .map(|start| {
                    let end = (start + LANES as u64).min(last);
                    let rngs =
                        (start..end).map(|k| trajectory_rng(spec.seed, spec.n, stream_dim, k));
                    LaneBatch::new(spec.loss, spec.theta0, spec.a_n, rngs, &mut ws)
                })
                .collect();
            let samples = (first..last.min(SAMPLE_PATHS))
                .map(|_| vec![0.0; nck * d])
                .collect();
            Group {
                first,
                batches,
                ws,
                sup,
                terminal_sq,
                terminal_theta,
                diverged_at,
                path_sum: vec![0.0; nck * d],
                path_count: vec![0; nck],
                samples,
            }
        })
        .collect()
}

/// The reference flow of a point, as the simulation leaves it.
struct FlowResult {
    /// Z at the checkpoints.
    path: Vec<f64>,
    /// Z_T.
    terminal: Vec<f64>,
    /// Seconds spent integrating it.
    seconds: f64,
}

/// Advances every group block by block to the horizon. The flow at the grid points of the next
/// block is integrated while the workers advance this one.
fn simulate_blocks(
    spec: &PointSpec,
    groups: &mut [Group],
    (ck_steps, isa): (&[u64], Isa),
    progress: &dyn Fn(u64),
) -> FlowResult {
    let d = spec.theta0.len();
    let steps = steps_for(spec.n, spec.horizon);
    let nck = ck_steps.len();
    let time = |l: u64| -> f64 {
        if l > steps {
            spec.horizon
        } else {
            l as f64 / spec.n as f64
        }
    };
    let mut flow = Rk4::new(spec.loss, spec.kappa, spec.theta0);
    let mut flow_path = vec![0.0; nck * d];
    let blen = block_len(d);
    let mut zbuf = vec![0.0; (blen as usize + 2) * d];
    let mut znext = zbuf.clone();
    let mut ck_in_block: Vec<(u64, usize)> = Vec::with_capacity(nck);
    // The flow at the grid points l0..=l1 + 1 of the block starting at l0 (its last value starts
    // the next block), the block's l1, and the seconds it took.
    let flow_block = |flow: &mut Rk4, l0: u64, z: &mut [f64]| {
        let t0 = std::time::Instant::now();
        let l1 = (l0 + blen - 1).min(steps);
        z[..d].copy_from_slice(flow.state());
        for j in 1..(l1 - l0 + 2) as usize {
            flow.advance_to(time(l0 + j as u64), spec.substeps);
            z[j * d..(j + 1) * d].copy_from_slice(flow.state());
        }
        (l1, t0.elapsed().as_secs_f64())
    };
    let (mut l1, mut flow_seconds) = flow_block(&mut flow, 0, &mut zbuf);
    let mut l0 = 0u64;
    loop {
        ck_in_block.clear();
        for (k, &lk) in ck_steps.iter().enumerate() {
            if (l0..=l1).contains(&lk) {
                ck_in_block.push((lk, k));
                let j = (lk - l0) as usize;
                flow_path[k * d..(k + 1) * d].copy_from_slice(&zbuf[j * d..(j + 1) * d]);
            }
        }
        let blk = Block {
            l0,
            l1,
            steps,
            z: &zbuf,
            ck: &ck_in_block,
        };
        let (_, next) = rayon::join(
            || {
                groups
                    .par_iter_mut()
                    .for_each(|g| advance_group(g, spec, &blk, isa))
            },
            || (l1 < steps).then(|| flow_block(&mut flow, l1 + 1, &mut znext)),
        );
        progress((l1 + 1 - l0) * groups.iter().map(|g| g.size() as u64).sum::<u64>());
        let Some((next_l1, secs)) = next else {
            break;
        };
        flow_seconds += secs;
        std::mem::swap(&mut zbuf, &mut znext);
        l0 = l1 + 1;
        l1 = next_l1;
    }
    FlowResult {
        path: flow_path,
        terminal: flow.state().to_vec(),
        seconds: flow_seconds,
    }
}

/// Returns the memory freed after a simulation (batches, workspaces, flow blocks) to the system,
/// so that the analysis of the point starts from the output alone. glibc's malloc keeps freed
/// heap memory (and, after the first point, serves blocks of up to 32 MiB from the heap), so
/// without this the batches would stay resident under the analysis's own buffers.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim has no preconditions; it only gives free pages of glibc's arenas
        // back to the system.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests;
