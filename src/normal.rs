//! Standard normal variates for the simulation of the fluctuation limit
//! ([`crate::fluctuation::sup_limit`]), [`LANES`] streams at a time.
//!
//! Method: the ziggurat of Marsaglia & Tsang (2000, "The ziggurat method for generating random
//! variables", J. Stat. Softw. 5(8)) with 256 layers, in the form of Doornik (2005, "An improved
//! ziggurat method to generate normal random samples", University of Oxford) that takes the layer
//! and the uniform from disjoint bits of one 64-bit draw (the low 8 bits and the top 52), and
//! Marsaglia's (1964, "Generating a variable from the tail of the normal distribution",
//! Technometrics 6(1)) exact sampler for the tail beyond R. The method is exact; the variates'
//! law differs from the normal only by the 2^-52 granularity of the uniforms, the rounding of exp
//! and ln (a few ulp) in the rare tests outside the rectangles, and the tables: their layers have
//! equal areas to 1e-11 relative, except the top one, 1e-9 short (see the tests), so the law is
//! within about 1e-11 of the normal in total variation.
//!
//! The fast path (a point under its layer's rectangle, probability 0.985 per draw) runs for a whole
//! block of rows across the lanes of a [`XoshiroLanes`], without branches; the draws that missed
//! it are then completed side by side with separate streams ([`Normals`]).

use crate::loss::LANES;
use crate::normal_tables::{F, R, X};
use crate::rng::{Xoshiro256pp, XoshiroLanes, symmetric_uniform};

/// A uniform on (0, 1) from the top 52 bits: (k + 1/2) 2^-52.
#[inline(always)]
fn open01(bits: u64) -> f64 {
    0.5 * (1.0 + symmetric_uniform(bits, 1.0))
}

/// The candidate of one draw: layer i (low 8 bits) and x = u X[i] with u uniform on (-1, 1)
/// (top 52 bits, a grid symmetric about 0), and whether it lies under the layer's rectangle.
#[inline(always)]
fn candidate(bits: u64) -> (usize, f64, bool) {
    let i = (bits & 0xff) as usize;
    let x = symmetric_uniform(bits, X[i]);
    (i, x, x.abs() < X[i + 1])
}

/// A variate beyond R with the sign of `x` (Marsaglia 1964): s = -ln(u1) / R, t = -ln(u2) until
/// 2 t > s^2, then R + s.
fn tail(rng: &mut Xoshiro256pp, x: f64) -> f64 {
    loop {
        let s = -open01(rng.next_u64()).ln() / R;
        let t = -open01(rng.next_u64()).ln();
        if 2.0 * t > s * s {
            return if x < 0.0 { -(R + s) } else { R + s };
        }
    }
}

/// Normals for the [`LANES`] streams of a [`XoshiroLanes`], a block of rows at a time.
///
/// Each draw of the main streams gives a candidate; those under their layer's rectangle are
/// final. The others are completed afterwards, [`LANES`] at a time, with the draws of separate
/// fix-up streams ([`Normals::complete`]): the tail for the base layer, else the wedge test,
/// and fresh candidates until one is accepted. Every variate is exactly normal (each completion
/// uses fresh independent uniforms), and the block depends only on the two streams' states.
pub(crate) struct Normals {
    main: XoshiroLanes,
    fix: XoshiroLanes,
    values: Vec<f64>,
    /// Every row's 64-bit draws and the mask of its lanes that missed the rectangles (padded
    /// with rows of empty masks to a multiple of 8 rows, so that they can be scanned 8 at a
    /// time).
    row_bits: Vec<[u64; LANES]>,
    row_mask: Vec<u8>,
    /// The missed draws, one by one: position in `values` and first 64 bits (with room for a
    /// row more, so that a row's records can be written whole).
    open_pos: Vec<u32>,
    open_bits: Vec<u64>,
}

impl Normals {
    /// Blocks of `rows` rows of [`LANES`] normals from the streams `main`, completed with draws
    /// of `fix`.
    pub(crate) fn new(rows: usize, main: XoshiroLanes, fix: XoshiroLanes) -> Self {
        assert!(u32::try_from(rows * LANES).is_ok());
        Self {
            main,
            fix,
            values: vec![0.0; rows * LANES],
            row_bits: vec![[0; LANES]; rows.next_multiple_of(8)],
            row_mask: vec![0; rows.next_multiple_of(8)],
            open_pos: vec![0; (rows + 1) * LANES],
            open_bits: vec![0; (rows + 1) * LANES],
        }
    }

    /// The last block, row-major: row j, lane b at `j * LANES + b`.
    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }

    /// Draws the next block: the candidates of every row by `fast_rows` (branch-free across
    /// lanes and rows), the list of those that missed their rectangles by `expand`, and their
    /// completion, [`LANES`] at a time, by `complete` (the portable forms or forms of them with
    /// the same bits).
    #[inline(always)]
    fn fill_with(
        &mut self,
        fast_rows: impl FnOnce(&mut Self),
        expand: impl FnOnce(&mut Self) -> usize,
        mut complete: impl FnMut(&mut Self, std::ops::Range<usize>),
    ) {
        fast_rows(self);
        let n = expand(self);
        for start in (0..n).step_by(LANES) {
            complete(self, start..n.min(start + LANES));
        }
    }

    /// Lists the draws that missed their rectangles, in row and lane order, in `open_pos` and
    /// `open_bits`; returns their number. Rows are scanned 8 masks at a time.
    #[inline(always)]
    fn expand(&mut self) -> usize {
        let mut n = 0;
        for (w, masks) in self.row_mask.as_chunks::<8>().0.iter().enumerate() {
            if u64::from_ne_bytes(*masks) == 0 {
                continue;
            }
            for (k, &m) in masks.iter().enumerate() {
                let (j, mut mask) = (8 * w + k, m);
                while mask != 0 {
                    let b = mask.trailing_zeros() as usize;
                    self.open_pos[n] = (j * LANES + b) as u32;
                    self.open_bits[n] = self.row_bits[j][b];
                    n += 1;
                    mask &= mask - 1;
                }
            }
        }
        n
    }

    /// Completes the missed draws `open` (at most [`LANES`]) side by side, one per lane of the
    /// fix-up streams: each round, a lane whose candidate lies under its rectangle accepts it; in
    /// the base layer it takes a tail variate; otherwise it accepts x if F[i+1] + (F[i] - F[i+1])
    /// u < exp(-x^2 / 2) with a fresh uniform u, and else takes a fresh candidate for the next
    /// round. exp is [`crate::fastmath::exp`] (within 2 ulp).
    #[inline(always)]
    fn complete(&mut self, open: std::ops::Range<usize>) {
        let count = open.len();
        let mut bits = [0u64; LANES];
        bits[..count].copy_from_slice(&self.open_bits[open.clone()]);
        let mut active: [bool; LANES] = std::array::from_fn(|b| b < count);
        let mut out = [0.0; LANES];
        while active.contains(&true) {
            let (u, fresh) = (self.fix.next(), self.fix.next());
            let (mut x, mut tail_mask) = ([0.0; LANES], 0u32);
            // Per lane, without branches: accept, take the tail, or redraw.
            for b in 0..LANES {
                let i = (bits[b] & 0xff) as usize;
                x[b] = symmetric_uniform(bits[b], X[i]);
                let y = F[i + 1] + (F[i] - F[i + 1]) * open01(u[b]);
                let inside = x[b].abs() < X[i + 1];
                let under = y < crate::fastmath::exp(-0.5 * x[b] * x[b]);
                let accept = active[b] & (inside | ((i != 0) & under));
                let tail = active[b] & !inside & (i == 0);
                out[b] = if accept { x[b] } else { out[b] };
                tail_mask |= u32::from(tail) << b;
                active[b] &= !(accept | tail);
                bits[b] = if active[b] { fresh[b] } else { bits[b] };
            }
            if tail_mask != 0 {
                self.tails(tail_mask, &x, &mut out);
            }
        }
        for (b, &p) in self.open_pos[open].iter().enumerate() {
            self.values[p as usize] = out[b];
        }
    }

    /// The lanes of `mask` take a tail variate with the sign of x, from their fix-up streams.
    #[cold]
    #[inline(never)]
    fn tails(&mut self, mask: u32, x: &[f64; LANES], out: &mut [f64; LANES]) {
        for b in (0..LANES).filter(|b| mask & (1 << b) != 0) {
            let mut lane = self.fix.lane(b);
            out[b] = tail(&mut lane, x[b]);
            self.fix.set_lane(b, &lane);
        }
    }
}

/// How a block is drawn: the same bits whichever instruction set.
pub(crate) trait NormalFill: Copy {
    /// Draws the next block of `normals`.
    fn fill(self, normals: &mut Normals);
}

/// The fast path in portable code (the generator's state kept in locals so that it stays in
/// registers).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PortableNormals;

impl NormalFill for PortableNormals {
    #[inline(always)]
    fn fill(self, normals: &mut Normals) {
        normals.fill_with(fast_rows_portable, Normals::expand, Normals::complete);
    }
}

/// Draws a candidate for every row and lane from the main streams into the values, and records
/// each row's draws and the mask of its lanes that missed the rectangles. The generator's state
/// is kept in locals so that it stays in registers.
#[inline(always)]
fn fast_rows_portable(block: &mut Normals) {
    let mut s = block.main.clone();
    for (j, row) in block
        .values
        .as_chunks_mut::<LANES>()
        .0
        .iter_mut()
        .enumerate()
    {
        let r = s.next();
        let mut mask = 0u8;
        for b in 0..LANES {
            let (_, v, inside) = candidate(r[b]);
            row[b] = v;
            mask |= u8::from(!inside) << b;
        }
        block.row_bits[j] = r;
        block.row_mask[j] = mask;
    }
    block.main = s;
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2Normals;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Avx512Normals;

#[cfg(test)]
mod tests;
