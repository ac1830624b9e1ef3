use super::{LANES, Loss};
use crate::fastmath::exp_estrin;
use crate::rng::{splitmix64, stream_state};
use rand::Rng;

/// |w| = exp(theta), with theta clamped to [-700, 700] (`fastmath::EXP_LIMIT`).
#[inline(always)]
fn weight(theta: f64) -> f64 {
    exp_estrin(theta.clamp(-crate::fastmath::EXP_LIMIT, crate::fastmath::EXP_LIMIT))
}

/// The most hidden neurons a [`Network`] takes.
pub const MAX_HIDDEN: usize = 256;
/// The most output neurons (classes) a [`Network`] takes.
pub const MAX_OUTPUTS: usize = 64;

/// The paper's network: a feedforward DAG with p inputs, one hidden layer of h tanh neurons and c
/// output neurons, every edge (including one from a constant-1 bias neuron into each hidden and
/// output neuron) with weight w_e = s_e exp(theta_e): theta_e = log |w_e| is what STDP updates and
/// the sign s_e (excitatory +1 or inhibitory -1) is fixed. The loss of one sample is the
/// cross-entropy of softmax(outputs) with its class. Layout of theta: the (p + 1) x h input-hidden
/// weights row by row, then the (h + 1) x c hidden-output weights.
#[derive(Clone, Debug)]
pub struct Network {
    p: usize,
    h: usize,
    c: usize,
    signs: Vec<f64>,
}

impl Network {
    /// A network with signs drawn from `seed`: each edge is excitatory with probability
    /// `excitatory` (inhibitory otherwise).
    ///
    /// Panics unless 1 <= h <= [`MAX_HIDDEN`] and 2 <= c <= [`MAX_OUTPUTS`]. A loss value
    /// allocates nothing for h <= 32 and c <= 16; the gradient (flow and SGD only) allocates.
    pub fn new(p: usize, h: usize, c: usize, excitatory: f64, seed: u64) -> Self {
        assert!((1..=MAX_HIDDEN).contains(&h) && (2..=MAX_OUTPUTS).contains(&c));
        let d = (p + 1) * h + (h + 1) * c;
        let mut rng =
            rand_pcg::Pcg64Mcg::new(stream_state(splitmix64(seed ^ 0x5349_474E), 0, d as u64, 0));
        let signs = (0..d)
            .map(|_| {
                if (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= excitatory {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        Self { p, h, c, signs }
    }

    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.signs.len()
    }

    /// The loss of one sample with features x (length p) and class y < c.
    pub fn sample(&self, x: &[f64], y: usize) -> NetworkSample<'_> {
        assert!(x.len() == self.p && y < self.c);
        NetworkSample {
            net: std::borrow::Cow::Borrowed(self),
            x: x.to_vec(),
            y,
        }
    }

    /// Output scores and hidden activations at theta (see [`Network::forward_by`]).
    #[inline(always)]
    fn forward(&self, theta: &[f64], x: &[f64], hidden: &mut [f64], out: &mut [f64]) {
        self.forward_by(|e| self.signs[e] * weight(theta[e]), x, hidden, out);
    }

    /// Output scores and hidden activations for the edge weights w(e) = s_e exp(theta_e) (the
    /// exp of [`weight`], within 2 ulp; theta clamped to +-700), the branch-free [`tanh`], and
    /// every neuron summing its terms in the order of the edges in theta (inputs, then the bias),
    /// as [`NetworkLanes`] does row by row, so that both give the same bits. The input-hidden loop
    /// runs along contiguous rows so that it vectorises.
    #[inline(always)]
    fn forward_by(&self, w: impl Fn(usize) -> f64, x: &[f64], hidden: &mut [f64], out: &mut [f64]) {
        let (p, h, c) = (self.p, self.h, self.c);
        hidden.fill(0.0);
        for i in 0..p {
            for j in 0..h {
                hidden[j] += w(i * h + j) * x[i];
            }
        }
        for j in 0..h {
            hidden[j] += w(p * h + j);
        }
        for v in hidden.iter_mut() {
            *v = tanh(*v);
        }
        let off = (p + 1) * h;
        for k in 0..c {
            let mut o = 0.0;
            for j in 0..h {
                o += w(off + j * c + k) * hidden[j];
            }
            out[k] = o + w(off + h * c + k);
        }
    }

    /// Predicted class at theta.
    pub fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        self.with_activations(|hidden, out| {
            self.forward(theta, x, hidden, out);
            argmax(out)
        })
    }

    /// The mean cross-entropy over `rows` (features, class) at theta, and how many of them
    /// [`Network::predict`] classifies correctly: the bits of the mean of each row's
    /// [`NetworkSample`] value and of `predict`, with the weights' exps computed once for all
    /// rows instead of once per row.
    /// Compiled for the kernels' instruction set, so that its exps and tanh run with inline fused
    /// multiply-adds (every path gives the same bits).
    pub fn score<'x>(
        &self,
        theta: &[f64],
        rows: impl ExactSizeIterator<Item = (&'x [f64], usize)>,
    ) -> (f64, usize) {
        match crate::engine::Isa::cached() {
            // SAFETY: the features were detected at run time by `Isa::detect`.
            #[cfg(target_arch = "x86_64")]
            crate::engine::Isa::Avx512 => unsafe { score_avx512(self, theta, rows) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            crate::engine::Isa::Avx2 => unsafe { score_avx2(self, theta, rows) },
            _ => self.score_portable(theta, rows),
        }
    }

    #[inline(always)]
    fn score_portable<'x>(
        &self,
        theta: &[f64],
        rows: impl ExactSizeIterator<Item = (&'x [f64], usize)>,
    ) -> (f64, usize) {
        let mut w = vec![0.0; self.dim()];
        self.weights(theta, &mut w);
        let count = rows.len();
        let mut correct = 0;
        // A plain loop on heap buffers, without closures or `map(..).sum()`: LLVM left those
        // out of line, compiled without the caller's instruction set (and calling libm for each
        // fused multiply-add).
        let (mut hidden, mut out) = (vec![0.0; self.h], vec![0.0; self.c]);
        let mut total = 0.0;
        for (x, y) in rows {
            self.forward_by(|e| w[e], x, &mut hidden, &mut out);
            correct += usize::from(argmax(&out) == y);
            total += cross_entropy(&out, y);
        }
        (total / count as f64, correct)
    }

    /// The edge weights s_e exp(theta_e) into `w` (zipped, without indices, so that the exps
    /// vectorise).
    #[inline(always)]
    fn weights(&self, theta: &[f64], w: &mut [f64]) {
        for ((w, s), t) in w
            .iter_mut()
            .zip(&self.signs)
            .zip(&theta[..self.signs.len()])
        {
            *w = s * weight(*t);
        }
    }

    /// Runs `f` on zeroed buffers for the h hidden and c output activations: on the stack for
    /// h <= 32 and c <= 16 (no allocation, little to zero), on the heap otherwise.
    #[inline(always)]
    fn with_activations<R>(&self, f: impl FnOnce(&mut [f64], &mut [f64]) -> R) -> R {
        const H: usize = 32;
        const C: usize = 16;
        if self.h <= H && self.c <= C {
            let (mut hidden, mut out) = ([0.0; H], [0.0; C]);
            f(&mut hidden[..self.h], &mut out[..self.c])
        } else {
            f(&mut vec![0.0; self.h], &mut vec![0.0; self.c])
        }
    }
}

/// One sample's loss for a [`Network`].
#[derive(Clone, Debug)]
pub struct NetworkSample<'a> {
    net: std::borrow::Cow<'a, Network>,
    x: Vec<f64>,
    y: usize,
}

impl NetworkSample<'_> {
    /// The same loss owning its network (for `Box<dyn Loss>` outliving the borrow).
    #[cfg(test)]
    pub fn to_owned_loss(&self) -> NetworkSample<'static> {
        NetworkSample {
            net: std::borrow::Cow::Owned(self.net.as_ref().clone()),
            x: self.x.clone(),
            y: self.y,
        }
    }
}

/// The class of the largest output score (the last of equal ones, as `Iterator::max_by`).
#[inline(always)]
fn argmax(out: &[f64]) -> usize {
    (0..out.len())
        .max_by(|&a, &b| out[a].total_cmp(&out[b]))
        .unwrap_or(0)
}

/// The cross-entropy -log softmax(out)_y: for two classes softplus(out_{1-y} - out_y) with the
/// branch-free `fastmath::softplus` (so that [`NetworkLanes`] vectorises it), otherwise
/// max + log sum exp(out - max) - out_y.
#[inline(always)]
fn cross_entropy(out: &[f64], y: usize) -> f64 {
    if out.len() == 2 {
        crate::fastmath::softplus(out[1 - y] - out[y])
    } else {
        log_softmax_at(out, y).0
    }
}

/// tanh(z), branch-free so that a loop over lanes vectorises: s / sqrt(1 + s^2) with
/// s = sinh(|z|) by its series (`fastmath::sinh_small`, no cancellation) below |z| = 1, and
/// 1 - 2 / (exp(2|z|) + 1) (at most 0.24 subtracted from 1) above; the sign of z restored. Within
/// 4 ulp of `f64::tanh` (tested); NaN stays NaN.
#[inline(always)]
pub(crate) fn tanh(z: f64) -> f64 {
    let a = z.abs();
    let s = crate::fastmath::sinh_small(a.min(1.0));
    let small = s / (1.0 + s * s).sqrt();
    let e = crate::fastmath::exp((2.0 * a).min(crate::fastmath::EXP_LIMIT));
    let big = 1.0 - 2.0 / (e + 1.0);
    let t = if a < 1.0 { small } else { big };
    let t = if a.is_nan() { a } else { t };
    t.copysign(z)
}

/// The per-sample losses of a [`Network`] on a training set for [`LANES`] lanes at once, lane b
/// at its own sample, the hidden neurons of all lanes computed together: row e of theta adds
/// (s_e exp(x_e)) times its source (an input of the lane's sample, a hidden activation, or 1
/// for a bias) to its target neuron; at the first hidden-output row the hidden sums go through
/// [`tanh`]; [`LaneLoss::finish`](super::LaneLoss::finish) takes the cross-entropy. The same
/// operations in the same order as [`NetworkSample::value`], so each lane's value is bit for bit
/// its sample's.
pub(crate) struct NetworkLanes<'a> {
    net: &'a Network,
    /// Inputs, row-major (samples x p).
    x: &'a [f64],
    /// Classes.
    y: &'a [usize],
    /// The inputs of the lanes' samples, p rows, then a row of ones (the bias neuron).
    inputs: Vec<super::Line>,
    /// The classes of the lanes' samples.
    class: [usize; LANES],
    /// Per row e of theta: (source, target) neuron indices.
    route: Vec<(u32, u32)>,
    /// The first hidden-output row, (p + 1) h.
    split: usize,
}

/// The neuron sums of [`NetworkLanes`]: hidden sums, hidden activations (and a row of ones),
/// output sums.
pub(crate) struct NetworkAcc {
    hidden: Vec<super::Line>,
    act: Vec<super::Line>,
    out: Vec<super::Line>,
}

impl<'a> NetworkLanes<'a> {
    /// Over the samples (x_k, y_k) with x row-major (samples x p); every lane at sample 0.
    pub(crate) fn new(net: &'a Network, x: &'a [f64], y: &'a [usize]) -> Self {
        let (p, h, c) = (net.p, net.h, net.c);
        assert!(x.len() == y.len() * p && !y.is_empty());
        let split = (p + 1) * h;
        let route = (0..net.dim())
            .map(|e| {
                let (src, dst) = if e < split {
                    (e / h, e % h)
                } else {
                    ((e - split) / c, (e - split) % c)
                };
                (src as u32, dst as u32)
            })
            .collect();
        let mut inputs = vec![super::Line::default(); p + 1];
        inputs[p] = super::Line([1.0; LANES]);
        let mut s = Self {
            net,
            x,
            y,
            inputs,
            class: [0; LANES],
            route,
            split,
        };
        super::LaneLoss::load(&mut s, &[0; LANES]);
        s
    }
}

impl super::LaneLoss for NetworkLanes<'_> {
    type Acc = NetworkAcc;

    fn dim(&self) -> usize {
        self.net.dim()
    }

    fn acc(&self) -> NetworkAcc {
        let line = super::Line::default();
        let mut act = vec![line; self.net.h + 1];
        act[self.net.h] = super::Line([1.0; LANES]);
        NetworkAcc {
            hidden: vec![line; self.net.h],
            act,
            out: vec![line; self.net.c],
        }
    }

    #[inline(always)]
    fn load(&mut self, k: &[usize; LANES]) {
        let p = self.net.p;
        let x: [&[f64]; LANES] = std::array::from_fn(|b| &self.x[k[b] * p..(k[b] + 1) * p]);
        for (i, row) in self.inputs[..p].iter_mut().enumerate() {
            row.0 = std::array::from_fn(|b| x[b][i]);
        }
        self.class = std::array::from_fn(|b| self.y[k[b]]);
    }

    #[inline(always)]
    fn start(&self, acc: &mut NetworkAcc) {
        acc.hidden.fill(super::Line::default());
        acc.out.fill(super::Line::default());
    }

    #[inline(always)]
    fn add_row(&self, e: usize, x: &[f64; LANES], acc: &mut NetworkAcc) {
        let s = self.net.signs[e];
        let w: [f64; LANES] = std::array::from_fn(|b| s * weight(x[b]));
        let (src, dst) = self.route[e];
        let (src, dst) = (src as usize, dst as usize);
        // Whole rows by value, so that the compiler sees no aliasing and vectorises across lanes.
        let (from, to) = if e < self.split {
            (self.inputs[src].0, &mut acc.hidden[dst].0)
        } else {
            if e == self.split {
                for (a, h) in acc.act.iter_mut().zip(&acc.hidden) {
                    let h = h.0;
                    a.0 = std::array::from_fn(|b| tanh(h[b]));
                }
            }
            (acc.act[src].0, &mut acc.out[dst].0)
        };
        let sum = *to;
        *to = std::array::from_fn(|b| sum[b] + w[b] * from[b]);
    }

    #[inline(always)]
    fn finish(&self, acc: &mut NetworkAcc) -> [f64; LANES] {
        let out = &acc.out;
        if out.len() == 2 {
            let (o0, o1) = (&out[0].0, &out[1].0);
            // A plain loop over the lanes: with `array::from_fn` LLVM kept the softplus in a
            // separate scalar function (9.6% of learning-network's time).
            let mut loss = [0.0; LANES];
            for b in 0..LANES {
                let t = if self.class[b] == 0 {
                    o1[b] - o0[b]
                } else {
                    o0[b] - o1[b]
                };
                loss[b] = crate::fastmath::softplus(t);
            }
            loss
        } else {
            let mut col = [0.0; MAX_OUTPUTS];
            std::array::from_fn(|b| {
                for (c, o) in col.iter_mut().zip(out) {
                    *c = o.0[b];
                }
                log_softmax_at(&col[..out.len()], self.class[b]).0
            })
        }
    }
}

fn log_softmax_at(out: &[f64], y: usize) -> (f64, f64, f64) {
    let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = out.iter().map(|o| (o - max).exp()).sum();
    (max + z.ln() - out[y], max, z)
}

impl Loss for NetworkSample<'_> {
    fn dim(&self) -> usize {
        self.net.dim()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        self.net.with_activations(|hidden, out| {
            self.net.forward(theta, &self.x, hidden, out);
            cross_entropy(out, self.y)
        })
    }

    /// Backpropagation, compiled for the instruction set of the kernels so that
    /// the weights' exps vectorise (every path gives the same bits: fused multiply-adds are
    /// correctly rounded everywhere, and no sum is reordered).
    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        match crate::engine::Isa::cached() {
            // SAFETY: the features were detected at run time by `Isa::detect`.
            #[cfg(target_arch = "x86_64")]
            crate::engine::Isa::Avx512 => unsafe { backprop_avx512(self, theta, grad) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            crate::engine::Isa::Avx2 => unsafe { backprop_avx2(self, theta, grad) },
            _ => backprop(self, theta, grad),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backprop_avx2(s: &NetworkSample, theta: &[f64], grad: &mut [f64]) {
    backprop(s, theta, grad);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn backprop_avx512(s: &NetworkSample, theta: &[f64], grad: &mut [f64]) {
    backprop(s, theta, grad);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn score_avx2<'x>(
    net: &Network,
    theta: &[f64],
    rows: impl ExactSizeIterator<Item = (&'x [f64], usize)>,
) -> (f64, usize) {
    net.score_portable(theta, rows)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn score_avx512<'x>(
    net: &Network,
    theta: &[f64],
    rows: impl ExactSizeIterator<Item = (&'x [f64], usize)>,
) -> (f64, usize) {
    net.score_portable(theta, rows)
}

/// The gradient of a sample's loss by backpropagation; since dw_e/dtheta_e = w_e, each edge's
/// derivative is dL/dw_e times w_e. The weights are computed once (one allocation for them and
/// the neuron buffers).
#[inline(always)]
fn backprop(sample: &NetworkSample, theta: &[f64], grad: &mut [f64]) {
    let net = sample.net.as_ref();
    let (p, h, c) = (net.p, net.h, net.c);
    let d = net.dim();
    let mut buf = vec![0.0; d + 2 * (h + c)];
    let (w, rest) = buf.split_at_mut(d);
    let (hidden, rest) = rest.split_at_mut(h);
    let (out, rest) = rest.split_at_mut(c);
    let (delta_out, delta_hidden) = rest.split_at_mut(c);
    net.weights(theta, w);
    net.forward_by(|e| w[e], &sample.x, hidden, out);
    let (_, max, z) = log_softmax_at(out, sample.y);
    for k in 0..c {
        delta_out[k] = (out[k] - max).exp() / z - if k == sample.y { 1.0 } else { 0.0 };
    }
    let off = (p + 1) * h;
    for j in 0..h {
        let mut s = 0.0;
        for k in 0..c {
            let e = off + j * c + k;
            grad[e] = delta_out[k] * hidden[j] * w[e];
            s += delta_out[k] * w[e];
        }
        delta_hidden[j] = s * (1.0 - hidden[j] * hidden[j]);
    }
    for k in 0..c {
        let e = off + h * c + k;
        grad[e] = delta_out[k] * w[e];
    }
    for j in 0..h {
        for i in 0..p {
            let e = i * h + j;
            grad[e] = delta_hidden[j] * sample.x[i] * w[e];
        }
        let e = p * h + j;
        grad[e] = delta_hidden[j] * w[e];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// exp_estrin within 2 ulp of `f64::exp` on [-700, 700] and on [-1, 1] (measured: 1).
    /// The gradient compiled for each instruction set this CPU runs gives the portable
    /// backpropagation's bits.
    #[test]
    fn gradient_paths_agree_bit_for_bit() {
        let mut rng = crate::rng::Xoshiro256pp::from_key(22);
        let mut draw = |a: f64| crate::rng::symmetric_uniform(rng.next_u64(), a);
        for (h, c) in [(4, 2), (5, 3), (40, 2)] {
            let net = Network::new(7, h, c, 0.7, 3);
            for y in 0..c {
                let x: Vec<f64> = (0..7).map(|_| draw(2.0)).collect();
                let theta: Vec<f64> = (0..net.dim()).map(|_| draw(1.5)).collect();
                let sample = net.sample(&x, y);
                let mut want = vec![0.0; net.dim()];
                backprop(&sample, &theta, &mut want);
                let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                for isa in crate::engine::Isa::available() {
                    let mut got = vec![0.0; net.dim()];
                    match isa {
                        // SAFETY: `available` lists only what this CPU runs.
                        #[cfg(target_arch = "x86_64")]
                        crate::engine::Isa::Avx512 => unsafe {
                            backprop_avx512(&sample, &theta, &mut got)
                        },
                        // SAFETY: as above.
                        #[cfg(target_arch = "x86_64")]
                        crate::engine::Isa::Avx2 => unsafe {
                            backprop_avx2(&sample, &theta, &mut got)
                        },
                        _ => backprop(&sample, &theta, &mut got),
                    }
                    assert_eq!(bits(&got), bits(&want), "{} h = {h} c = {c}", isa.name());
                }
            }
        }
    }

    /// `score` gives the bits of the mean of the rows' `NetworkSample` values and the count of
    /// rows that `predict` classifies correctly, for 2 and 3 classes and 2 to 40 hidden neurons
    /// (on the stack and on the heap).
    #[test]
    fn score_matches_the_per_row_values_bit_for_bit() {
        let mut rng = crate::rng::Xoshiro256pp::from_key(21);
        let mut draw = |a: f64| crate::rng::symmetric_uniform(rng.next_u64(), a);
        for (h, c) in [(2, 2), (4, 3), (40, 2)] {
            let net = Network::new(5, h, c, 0.7, 9);
            let theta: Vec<f64> = (0..net.dim()).map(|_| draw(1.5)).collect();
            let x: Vec<Vec<f64>> = (0..37)
                .map(|_| (0..5).map(|_| draw(2.0)).collect())
                .collect();
            let y: Vec<usize> = (0..37).map(|i| (i * 7) % c).collect();
            let (mean, correct) = net.score(
                &theta,
                x.iter().map(|r| r.as_slice()).zip(y.iter().copied()),
            );
            let want = x
                .iter()
                .zip(&y)
                .map(|(r, &k)| net.sample(r, k).value(&theta))
                .sum::<f64>()
                / 37.0;
            let hits = x
                .iter()
                .zip(&y)
                .filter(|&(r, &k)| net.predict(&theta, r) == k)
                .count();
            assert_eq!(mean.to_bits(), want.to_bits(), "h = {h}, c = {c}");
            assert_eq!(correct, hits, "h = {h}, c = {c}");
            assert!(hits > 0 && hits < 37, "a degenerate case: {hits} of 37");
        }
    }

    #[test]
    fn estrin_exp_is_within_2_ulp() {
        assert_eq!(exp_estrin(0.0), 1.0);
        let n = 1_000_000;
        for i in 0..n {
            for x in [
                -700.0 + 1400.0 * (i as f64 + 0.37) / n as f64,
                -1.0 + 2.0 * (i as f64 + 0.5) / n as f64,
            ] {
                assert!(ulps(exp_estrin(x), x.exp()) <= 2, "x = {x}");
            }
        }
    }

    /// tanh within 4 ulp of `f64::tanh` on [-25, 25] and near 0 (measured: 3), exact limits, NaN.
    #[test]
    fn tanh_is_within_4_ulp() {
        let mut worst = 0;
        for i in 0..=500_000 {
            for z in [-25.0 + 50.0 * i as f64 / 500_000.0, 1e-9 * (i as f64 + 1.0)] {
                worst = worst.max(ulps(tanh(z), z.tanh()));
            }
        }
        assert!(worst <= 4, "worst {worst} ulp");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(800.0), 1.0);
        assert_eq!(tanh(-800.0), -1.0);
        assert!(tanh(f64::NAN).is_nan());
    }
}
