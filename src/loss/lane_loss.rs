//! Per-sample losses of a training set for [`LANES`] lanes at once, each lane at its own sample:
//! the loss of the batched learning kernel (`learning::lanes`), whose lanes are replicates that
//! see different samples at the same step.

use super::{LANES, Loss};

/// One row of a structure-of-arrays array: the [`LANES`] lanes of one coordinate on one 64-byte
/// line, so that a row is one aligned vector load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct Line(pub [f64; LANES]);

/// The losses L_k of a training set (one per sample k), evaluated for [`LANES`] lanes at once,
/// lane b at its own sample k_b ([`LaneLoss::load`]), coordinate by coordinate inside the
/// kernel's pass over theta: the value of lane b at x_b is [`LaneLoss::finish`] of the row terms
/// that [`LaneLoss::add_row`] adds for i = 0, 1, ..., d - 1 in that order (after
/// [`LaneLoss::start`]).
///
/// Every operation is lane-wise, and lane b's value equals the scalar [`Loss::value`] of its
/// sample bit for bit (same operations in the same order), so a lane's numbers depend neither on
/// the other lanes nor on the instruction set.
pub(crate) trait LaneLoss {
    /// The running sums of one evaluation (and any buffer it needs), allocated once per batch.
    type Acc;

    /// The dimension d.
    fn dim(&self) -> usize;

    /// A new accumulator.
    fn acc(&self) -> Self::Acc;

    /// Puts every lane b at sample k[b]: the samples' data gathered into the lanes, O(d), row by
    /// row (a whole row stored at once, so that the pass reads it back without a stall).
    fn load(&mut self, k: &[usize; LANES]);

    /// Clears `acc` before row 0.
    fn start(&self, acc: &mut Self::Acc);

    /// Adds the terms of coordinate i at x (that coordinate of every lane).
    fn add_row(&self, i: usize, x: &[f64; LANES], acc: &mut Self::Acc);

    /// The loss of every lane once all d rows are added.
    fn finish(&self, acc: &mut Self::Acc) -> [f64; LANES];
}

/// Any family of losses as `dyn Loss` (softmax regression, say): x is stored row by row and each
/// lane's [`Loss::value`] is called on its column at the end.
pub(crate) struct DynLanes<'a> {
    losses: &'a [Box<dyn Loss + 'a>],
    d: usize,
    k: [usize; LANES],
}

impl<'a> DynLanes<'a> {
    /// Over `losses` (every one of dimension d), every lane at sample 0.
    pub(crate) fn new(losses: &'a [Box<dyn Loss + 'a>], d: usize) -> Self {
        Self {
            losses,
            d,
            k: [0; LANES],
        }
    }
}

impl LaneLoss for DynLanes<'_> {
    /// x (d rows) and one lane's column.
    type Acc = (Vec<Line>, Vec<f64>);

    fn dim(&self) -> usize {
        self.d
    }

    fn acc(&self) -> Self::Acc {
        (vec![Line::default(); self.d], vec![0.0; self.d])
    }

    fn load(&mut self, k: &[usize; LANES]) {
        self.k = *k;
    }

    fn start(&self, _acc: &mut Self::Acc) {}

    #[inline(always)]
    fn add_row(&self, i: usize, x: &[f64; LANES], acc: &mut Self::Acc) {
        acc.0[i].0 = *x;
    }

    fn finish(&self, (x, column): &mut Self::Acc) -> [f64; LANES] {
        std::array::from_fn(|b| {
            for (c, row) in column.iter_mut().zip(x.iter()) {
                *c = row.0[b];
            }
            self.losses[self.k[b]].value(column)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{Logistic, LogisticLanes, Network, NetworkLanes};
    use proptest::prelude::*;

    /// Evaluates `lanes` at `points` (one per lane, lane b at sample `samples[b]`) and checks
    /// each value against `scalar[k]`'s [`Loss::value`] bit for bit.
    fn check_lane_values<L: LaneLoss>(
        lanes: &mut L,
        scalar: &[Box<dyn Loss + '_>],
        samples: &[usize; LANES],
        points: &[Vec<f64>],
    ) {
        let d = lanes.dim();
        lanes.load(samples);
        let mut acc = lanes.acc();
        lanes.start(&mut acc);
        for i in 0..d {
            let row: [f64; LANES] = std::array::from_fn(|b| points[b][i]);
            lanes.add_row(i, &row, &mut acc);
        }
        let values = lanes.finish(&mut acc);
        for b in 0..LANES {
            let want = scalar[samples[b]].value(&points[b]);
            assert_eq!(
                values[b].to_bits(),
                want.to_bits(),
                "lane {b} (sample {}): {} vs {want}",
                samples[b],
                values[b]
            );
        }
    }

    fn features(count: usize, p: usize) -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(-3.0f64..3.0, count * p)
    }

    fn points(d: usize, scale: f64) -> impl Strategy<Value = Vec<Vec<f64>>> {
        proptest::collection::vec(proptest::collection::vec(-scale..scale, d), LANES)
    }

    proptest! {
        /// Logistic lanes at 8 samples (of 10, with repeats): every lane's value is its sample's
        /// `Logistic::value`, bit for bit.
        #[test]
        fn logistic_lanes_equal_the_scalar_values(
            x in features(10, 4),
            samples in proptest::array::uniform8(0usize..10),
            pts in points(4, 4.0),
        ) {
            let y: Vec<f64> = (0..10).map(|k| if k % 3 == 0 { 1.0 } else { -1.0 }).collect();
            let scalar: Vec<Box<dyn Loss>> = (0..10)
                .map(|k| -> Box<dyn Loss> { Box::new(Logistic::new(x[k * 4..(k + 1) * 4].to_vec(), y[k])) })
                .collect();
            check_lane_values(&mut LogisticLanes::new(&x, &y), &scalar, &samples, &pts);
        }

        /// Network lanes (two or three classes, 1 to 5 hidden neurons, random signs) at 8 samples:
        /// every lane's value is its sample's `NetworkSample::value`, bit for bit.
        #[test]
        fn network_lanes_equal_the_scalar_values(
            x in features(10, 3),
            classes in 2usize..4,
            hidden in 1usize..6,
            seed in 0u64..50,
            samples in proptest::array::uniform8(0usize..10),
            pts in points(5 * 4 + 6 * 3, 3.0),
        ) {
            let net = Network::new(3, hidden, classes, 0.7, seed);
            let y: Vec<usize> = (0..10).map(|k| (k * 5) % classes).collect();
            let d = net.dim();
            let pts: Vec<Vec<f64>> = pts.iter().map(|p| p[..d].to_vec()).collect();
            let scalar: Vec<Box<dyn Loss + '_>> = (0..10)
                .map(|k| -> Box<dyn Loss + '_> { Box::new(net.sample(&x[k * 3..(k + 1) * 3], y[k])) })
                .collect();
            check_lane_values(&mut NetworkLanes::new(&net, &x, &y), &scalar, &samples, &pts);
        }
    }
}
