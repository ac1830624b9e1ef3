//! The engine's memory, from its own types and layout: what one point of [`super::run_point`]
//! holds resident, by component, for the plan's estimate and its refusal of runs that would not
//! fit.

use super::{Group, LANES, LaneBatch, SAMPLE_PATHS, Workspace, block_len, checkpoint_steps};
use super::{group_bounds, group_count};

/// Bytes the allocator takes for a block of `size` bytes aligned to `align`, as resident memory
/// once written: a model of glibc's malloc on 64-bit Linux. A chunk is the request plus an 8-byte
/// header, rounded up to 16 bytes (32 at least). An alignment above 16 is served from a chunk
/// for the rounded request plus align + 32 bytes; its spare ends go back to bins that later
/// requests of the same size cannot use, so they stay taken (a 128-byte row array at d = 2 takes
/// 256 bytes). Blocks of 128 KiB and more are mapped on their own, in whole 4 KiB pages.
pub fn allocation_bytes(size: usize, align: usize) -> f64 {
    if size == 0 {
        return 0.0;
    }
    let chunk = |request: usize| ((request + 8).div_ceil(16) * 16).max(32);
    let mut bytes = chunk(size);
    if align > 16 {
        bytes = chunk(bytes + align + 32);
    }
    if bytes >= 128 << 10 {
        bytes.div_ceil(4096) as f64 * 4096.0
    } else {
        bytes as f64
    }
}

/// A vector of `len` values of type T, as allocated.
fn vec_bytes<T>(len: usize) -> f64 {
    allocation_bytes(len * std::mem::size_of::<T>(), std::mem::align_of::<T>())
}

/// Memory of one point in [`super::run_point`], in bytes, by component, from the engine's own types
/// and layout (resident memory once written, with the allocator's overhead of
/// [`allocation_bytes`]; the process's own baseline is not included).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PointMemory {
    /// Trajectories M.
    pub trajectories: u64,
    /// Dimension d.
    pub dim: usize,
    /// Checkpoints recorded, K + 1.
    pub checkpoints: usize,
    /// Groups G.
    pub groups: u64,
    /// The batches, one per [`LANES`] trajectories: the structs (one vector per group)
    /// and their six d x [`LANES`] row arrays. Alive during the simulation only.
    pub batches: f64,
    /// One workspace per group (2 d). Alive during the simulation only.
    pub workspaces: f64,
    /// Per-trajectory results (sup_sq, terminal_sq, diverged_at, terminal_theta M x d), written
    /// in place into the [`super::PointOutput`].
    pub results: f64,
    /// Per group: the path sums (K+1) x d and the counts K+1.
    pub path_sums: f64,
    /// The sample paths, (K+1) x d for each of the first [`SAMPLE_PATHS`] trajectories.
    pub sample_paths: f64,
    /// The flow at the checkpoints, (K+1) x d, and the checkpoint lists.
    pub flow_path: f64,
    /// The flow's blocks zbuf and znext, (block_len(d) + 2) x d each. Simulation only.
    pub flow_blocks: f64,
    /// The rest: RK4 state (6 d), the loss and theta0 of the spec (3 d), Z(T), group structs.
    pub small: f64,
}

impl PointMemory {
    /// The memory of a point of `trajectories` trajectories (all groups) in dimension d with
    /// `checkpoints` requested checkpoints and `steps` updates (pass `u64::MAX` when unknown:
    /// then K = checkpoints).
    pub fn new(trajectories: u64, d: usize, checkpoints: u64, steps: u64) -> Self {
        let m = trajectories;
        let nck = if steps >= checkpoints {
            checkpoints.max(1) as usize + 1
        } else {
            checkpoint_steps(steps, checkpoints).len()
        };
        let groups = group_count(m);
        let (arrays, array_bytes, array_align) = LaneBatch::heap_arrays(d);
        let (ws_arrays, ws_bytes, ws_align) = Workspace::heap_arrays(d);
        let mut mem = Self {
            trajectories: m,
            dim: d,
            checkpoints: nck,
            groups,
            ..Self::default()
        };
        for g in 0..groups {
            let (first, last) = group_bounds(g, m);
            let batches = (last - first).div_ceil(LANES as u64) as usize;
            mem.batches += vec_bytes::<LaneBatch>(batches)
                + (batches * arrays) as f64 * allocation_bytes(array_bytes, array_align);
            mem.workspaces += ws_arrays as f64 * allocation_bytes(ws_bytes, ws_align);
            mem.path_sums += vec_bytes::<f64>(nck * d) + vec_bytes::<u64>(nck);
            for _ in first..last.min(SAMPLE_PATHS) {
                mem.sample_paths += vec_bytes::<f64>(nck * d);
            }
        }
        let m = m as usize;
        mem.results =
            2.0 * vec_bytes::<f64>(m) + vec_bytes::<f64>(m * d) + vec_bytes::<Option<u64>>(m);
        mem.flow_path = vec_bytes::<f64>(nck * d) + 2.0 * vec_bytes::<u64>(nck);
        let blen = block_len(d) as usize;
        mem.flow_blocks = 2.0 * vec_bytes::<f64>((blen + 2) * d) + vec_bytes::<(u64, usize)>(nck);
        mem.small = 10.0 * vec_bytes::<f64>(d)
            + vec_bytes::<Group>(groups as usize)
            + 2.0 * vec_bytes::<Vec<f64>>(groups as usize)
            + vec_bytes::<u64>(groups as usize);
        mem
    }

    /// Everything alive while the trajectories are simulated: the engine's peak.
    pub fn simulation(&self) -> f64 {
        self.batches
            + self.workspaces
            + self.results
            + self.path_sums
            + self.sample_paths
            + self.flow_path
            + self.flow_blocks
            + self.small
    }

    /// What the returned [`super::PointOutput`] holds.
    pub fn output(&self) -> f64 {
        self.results + self.path_sums + self.sample_paths + self.flow_path + self.small
    }
}

/// Peak bytes of [`super::run_point`] for M trajectories in dimension d with `checkpoints` checkpoints
/// (at least as many updates): [`PointMemory::simulation`].
pub fn point_bytes(m: u64, d: usize, checkpoints: u64) -> f64 {
    PointMemory::new(m, d, checkpoints, u64::MAX).simulation()
}
