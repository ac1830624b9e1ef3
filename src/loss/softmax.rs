use super::Loss;

/// The most classes a softmax loss takes (its scores live on the stack).
pub const MAX_CLASSES: usize = 64;

/// Softmax (multinomial logistic) regression on one sample: theta holds K rows of p + 1 weights
/// (the last one a bias), and L(theta) = log sum_k exp(s_k) - s_y with scores
/// s_k = theta_k . (x, 1), computed with the log-sum-exp shift by max_k s_k (no overflow).
/// Its gradient is (softmax(s)_k - [k = y]) (x, 1) in row k.
#[derive(Clone, Debug)]
pub struct SoftmaxSample {
    x: Vec<f64>,
    y: usize,
    classes: usize,
}

impl SoftmaxSample {
    /// Features x (the bias input 1 is appended), class y < classes.
    pub fn new(x: &[f64], y: usize, classes: usize) -> Self {
        assert!(y < classes && (2..=MAX_CLASSES).contains(&classes));
        let mut x = x.to_vec();
        x.push(1.0);
        Self { x, y, classes }
    }

    fn scores(&self, theta: &[f64], s: &mut [f64]) -> f64 {
        let q = self.x.len();
        let mut max = f64::NEG_INFINITY;
        for (k, sk) in s.iter_mut().enumerate() {
            *sk = theta[k * q..(k + 1) * q]
                .iter()
                .zip(&self.x)
                .map(|(t, x)| t * x)
                .sum();
            max = max.max(*sk);
        }
        max
    }
}

impl Loss for SoftmaxSample {
    fn dim(&self) -> usize {
        self.classes * self.x.len()
    }

    fn value(&self, theta: &[f64]) -> f64 {
        let mut s = [0.0; MAX_CLASSES];
        let s = &mut s[..self.classes];
        let max = self.scores(theta, s);
        let lse = max + s.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        lse - s[self.y]
    }

    fn gradient(&self, theta: &[f64], grad: &mut [f64]) {
        let q = self.x.len();
        let mut s = [0.0; MAX_CLASSES];
        let s = &mut s[..self.classes];
        let max = self.scores(theta, s);
        let z: f64 = s.iter().map(|v| (v - max).exp()).sum();
        for k in 0..self.classes {
            let pk = (s[k] - max).exp() / z - if k == self.y { 1.0 } else { 0.0 };
            for j in 0..q {
                grad[k * q + j] = pk * self.x[j];
            }
        }
    }
}
