//! Models trained on a dataset: the parameters, the loss of one sample and the prediction.

use crate::data::Dataset;
use crate::loss::{Logistic, Loss, Network, SoftmaxSample};

/// A model: each sample (x, y) gives a loss of theta, and theta gives a prediction.
pub trait Model: Sync {
    /// Number of parameters.
    fn dim(&self) -> usize;
    /// The loss of sample (x, y) as a function of theta.
    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_>;
    /// The predicted class at theta.
    fn predict(&self, theta: &[f64], x: &[f64]) -> usize;
    /// The concrete type, for the models with a batched loss; others keep the default.
    #[doc(hidden)]
    fn known(&self) -> KnownModel<'_> {
        KnownModel::Other
    }
}

/// A built-in model seen as its concrete type, so the batched STDP kernel can be compiled for its
/// loss. Internal: user models keep [`Model::known`]'s default.
#[doc(hidden)]
pub enum KnownModel<'a> {
    /// [`LogisticModel`].
    Logistic(&'a LogisticModel),
    /// [`Network`].
    Network(&'a Network),
    /// Any other model (its per-sample losses called through `dyn Loss`).
    Other,
}

/// Binary logistic regression: theta = (w_1, ..., w_p, b), class 1 coded +1 and class 0 coded -1,
/// L = log(1 + exp(-y (w.x + b))).
pub struct LogisticModel {
    /// Features p.
    pub features: usize,
}

impl Model for LogisticModel {
    fn dim(&self) -> usize {
        self.features + 1
    }

    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_> {
        let mut v = x.to_vec();
        v.push(1.0);
        Box::new(Logistic::new(v, if y == 1 { 1.0 } else { -1.0 }))
    }

    fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        let m = theta[self.features] + x.iter().zip(theta).map(|(a, b)| a * b).sum::<f64>();
        usize::from(m > 0.0)
    }

    fn known(&self) -> KnownModel<'_> {
        KnownModel::Logistic(self)
    }
}

/// Softmax regression: K rows of p + 1 weights.
pub struct SoftmaxModel {
    /// Features p.
    pub features: usize,
    /// Classes K.
    pub classes: usize,
}

impl Model for SoftmaxModel {
    fn dim(&self) -> usize {
        self.classes * (self.features + 1)
    }

    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_> {
        Box::new(SoftmaxSample::new(x, y, self.classes))
    }

    fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        let q = self.features + 1;
        let score = |k: usize| {
            theta[k * q + self.features]
                + (0..self.features)
                    .map(|j| theta[k * q + j] * x[j])
                    .sum::<f64>()
        };
        (0..self.classes)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .unwrap_or(0)
    }
}

impl Model for Network {
    fn dim(&self) -> usize {
        Network::dim(self)
    }

    fn loss(&self, x: &[f64], y: usize) -> Box<dyn Loss + '_> {
        Box::new(self.sample(x, y))
    }

    fn predict(&self, theta: &[f64], x: &[f64]) -> usize {
        Network::predict(self, theta, x)
    }

    fn known(&self) -> KnownModel<'_> {
        KnownModel::Network(self)
    }
}

/// Fraction of the rows of `data` that `model` classifies correctly at theta.
pub fn accuracy(model: &dyn Model, data: &Dataset, theta: &[f64]) -> f64 {
    (0..data.len())
        .filter(|&i| model.predict(theta, data.row(i)) == data.y[i])
        .count() as f64
        / data.len() as f64
}
