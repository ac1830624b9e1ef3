use super::Loss;
use crate::rng::{splitmix64, stream_state};
use rand::Rng;

/// |w| = exp(theta), with theta clamped to the range of `fastmath::exp`.
#[inline(always)]
fn weight(theta: f64) -> f64 {
    crate::fastmath::exp(theta.clamp(-crate::fastmath::EXP_LIMIT, crate::fastmath::EXP_LIMIT))
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

    /// Output scores and hidden activations at theta. The weights s_e exp(theta_e) use the
    /// branch-free `fastmath::exp` (within 2 ulp; theta clamped to its range +-700),
    /// and the input-hidden loop runs along contiguous rows so that it vectorises.
    fn forward(&self, theta: &[f64], x: &[f64], hidden: &mut [f64], out: &mut [f64]) {
        let (p, h, c) = (self.p, self.h, self.c);
        let w = |e: usize| self.signs[e] * weight(theta[e]);
        let off = p * h;
        for j in 0..h {
            hidden[j] = w(off + j);
        }
        for i in 0..p {
            let row = &theta[i * h..(i + 1) * h];
            let signs = &self.signs[i * h..(i + 1) * h];
            for j in 0..h {
                hidden[j] += signs[j] * weight(row[j]) * x[i];
            }
        }
        for v in hidden.iter_mut() {
            *v = v.tanh();
        }
        let off = (p + 1) * h;
        for k in 0..c {
            let mut o = w(off + h * c + k);
            for j in 0..h {
                o += w(off + j * c + k) * hidden[j];
            }
            out[k] = o;
        }
    }

    /// Predicted class at theta.
    pub fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        self.with_activations(|hidden, out| {
            self.forward(theta, x, hidden, out);
            (0..self.c)
                .max_by(|&a, &b| out[a].total_cmp(&out[b]))
                .unwrap_or(0)
        })
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
            log_softmax_at(out, self.y).0
        })
    }

    /// Backpropagation; since dw_e/dtheta_e = w_e, each edge's derivative is dL/dw_e times w_e.
    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        let net = self.net.as_ref();
        let (p, h, c) = (net.p, net.h, net.c);
        let w = |e: usize| net.signs[e] * weight(theta[e]);
        let mut hidden = vec![0.0; h];
        let mut out = vec![0.0; c];
        net.forward(theta, &self.x, &mut hidden, &mut out);
        let (_, max, z) = log_softmax_at(&out, self.y);
        let mut delta_out = vec![0.0; c];
        for k in 0..c {
            delta_out[k] = (out[k] - max).exp() / z - if k == self.y { 1.0 } else { 0.0 };
        }
        let off = (p + 1) * h;
        let mut delta_hidden = vec![0.0; h];
        for j in 0..h {
            let mut s = 0.0;
            for k in 0..c {
                let e = off + j * c + k;
                grad[e] = delta_out[k] * hidden[j] * w(e);
                s += delta_out[k] * w(e);
            }
            delta_hidden[j] = s * (1.0 - hidden[j] * hidden[j]);
        }
        for k in 0..c {
            let e = off + h * c + k;
            grad[e] = delta_out[k] * w(e);
        }
        for j in 0..h {
            for i in 0..p {
                let e = i * h + j;
                grad[e] = delta_hidden[j] * self.x[i] * w(e);
            }
            let e = p * h + j;
            grad[e] = delta_hidden[j] * w(e);
        }
    }
}
