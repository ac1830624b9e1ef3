use super::{LANES, Loss, sigmoid};
use crate::fastmath::softplus;

/// Single-sample logistic loss L(theta) = log(1 + exp(-y x.theta)) with label y in {-1, +1}.
/// Its gradient -y x sigmoid(-y x.theta) is bounded by |x| in every dimension. Values use the
/// branch-free `fastmath::softplus` (within 3 ulp), so the batched form vectorises.
#[derive(Clone, Debug)]
pub struct Logistic {
    x: Vec<f64>,
    y: f64,
}

impl Logistic {
    /// With input x and label y (-1 or +1).
    pub fn new(x: Vec<f64>, y: f64) -> Self {
        Self { x, y }
    }

    /// The Hessian at theta as x and c with H = c x x^T, c = s (1 - s), s = sigmoid(-y x.theta)
    /// (the factors of [`Loss::hessian_vector`]).
    pub(crate) fn rank_one(&self, theta: &[f64]) -> (&[f64], f64) {
        let m: f64 = self.x.iter().zip(theta).map(|(x, t)| x * t).sum();
        let s = sigmoid(-self.y * m);
        (&self.x, s * (1.0 - s))
    }
}

impl Loss for Logistic {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut m = 0.0;
        for (x, t) in self.x.iter().zip(theta) {
            m += x * t;
        }
        softplus(-self.y * m)
    }

    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        let m: f64 = self.x.iter().zip(theta).map(|(x, t)| x * t).sum();
        let s = -self.y * sigmoid(-self.y * m);
        for (g, x) in grad.iter_mut().zip(&self.x) {
            *g = s * x;
        }
    }

    /// H = s (1 - s) x x^T with s = sigmoid(-y x.theta) (y^2 = 1): rank one, O(d) per product.
    fn hessian_vector(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let m: f64 = self.x.iter().zip(theta).map(|(x, t)| x * t).sum();
        let s = sigmoid(-self.y * m);
        let xv: f64 = self.x.iter().zip(v).map(|(x, v)| x * v).sum();
        let c = s * (1.0 - s) * xv;
        for (o, x) in out.iter_mut().zip(&self.x) {
            *o = c * x;
        }
    }

    /// The rank-one product for every vector with one sigmoid: out_b = s (1 - s) (x . v_b) x.
    #[inline(always)]
    fn hessian_vector_lanes(&self, theta: &[f64], v: &[f64], _: &mut [f64], out: &mut [f64]) {
        let m: f64 = self.x.iter().zip(theta).map(|(x, t)| x * t).sum();
        let s = sigmoid(-self.y * m);
        let n = self.x.len() * LANES;
        for (vk, ok) in v.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            let xv = crate::lanes::dot(&self.x, vk);
            let c: [f64; LANES] = std::array::from_fn(|b| s * (1.0 - s) * xv[b]);
            crate::lanes::outer(&c, &self.x, ok);
        }
    }

    #[inline(always)]
    fn value_lanes(&self, x: &[f64], lanes: usize, _scratch: &mut [f64], out: &mut [f64]) {
        super::value_lanes_by_rows(self, x, lanes, out);
    }

    fn known(&self) -> super::Known<'_> {
        super::Known::Logistic(self)
    }
}

impl super::RowLoss for Logistic {
    const ROWS: bool = true;

    type Row = f64;

    #[inline(always)]
    fn rows(&self) -> impl Iterator<Item = f64> + '_ {
        self.x.iter().copied()
    }

    #[inline(always)]
    fn add_row(&self, w: f64, x: &[f64; LANES], acc: &mut [f64; LANES]) {
        super::add_weighted_row(w, x, acc);
    }

    #[inline(always)]
    fn finish(&self, acc: &[f64; LANES]) -> [f64; LANES] {
        std::array::from_fn(|b| softplus(-self.y * acc[b]))
    }
}

/// The logistic losses of a training set, L_k(theta) = log(1 + exp(-y_k x_k.theta)), for
/// [`LANES`] lanes at once, lane b at its own sample: per row i, acc_b += x_{k_b, i} theta_i (lane
/// b's input gathered into the lane once per sample by `load`), then the branch-free stable
/// softplus (`fastmath::softplus`: max(t, 0) + log1p(exp(-|t|)), Maechler's log1p-of-exp form,
/// "Accurately computing log(1 - exp(-|a|))", Rmpfr vignette, 2012) per lane. The same
/// operations in the same order as [`Logistic::value`], so each lane's value is bit for bit its
/// sample's.
pub(crate) struct LogisticLanes<'a> {
    /// Inputs x_k, row-major (samples x d).
    x: &'a [f64],
    /// Labels y_k, -1 or +1.
    y: &'a [f64],
    /// The inputs of the lanes' samples, coordinate-major.
    rows: Vec<super::Line>,
    /// The labels of the lanes' samples.
    label: [f64; LANES],
}

impl<'a> LogisticLanes<'a> {
    /// Over the samples (x_k, y_k), x row-major with d = x.len() / y.len() columns; every lane at
    /// sample 0.
    pub(crate) fn new(x: &'a [f64], y: &'a [f64]) -> Self {
        assert!(!y.is_empty() && x.len().is_multiple_of(y.len()));
        let d = x.len() / y.len();
        let mut s = Self {
            x,
            y,
            rows: vec![super::Line::default(); d],
            label: [0.0; LANES],
        };
        super::LaneLoss::load(&mut s, &[0; LANES]);
        s
    }
}

impl super::LaneLoss for LogisticLanes<'_> {
    type Acc = [f64; LANES];

    fn dim(&self) -> usize {
        self.rows.len()
    }

    fn acc(&self) -> Self::Acc {
        [0.0; LANES]
    }

    #[inline(always)]
    fn load(&mut self, k: &[usize; LANES]) {
        let d = self.rows.len();
        let x: [&[f64]; LANES] = std::array::from_fn(|b| &self.x[k[b] * d..(k[b] + 1) * d]);
        for (i, row) in self.rows.iter_mut().enumerate() {
            row.0 = std::array::from_fn(|b| x[b][i]);
        }
        self.label = std::array::from_fn(|b| self.y[k[b]]);
    }

    #[inline(always)]
    fn start(&self, acc: &mut Self::Acc) {
        *acc = [0.0; LANES];
    }

    #[inline(always)]
    fn add_row(&self, i: usize, x: &[f64; LANES], acc: &mut Self::Acc) {
        let (w, sum) = (self.rows[i].0, *acc);
        *acc = std::array::from_fn(|b| sum[b] + w[b] * x[b]);
    }

    #[inline(always)]
    fn finish(&self, acc: &mut Self::Acc) -> [f64; LANES] {
        std::array::from_fn(|b| softplus(-self.label[b] * acc[b]))
    }
}
