//! The string values of experiment files and the enums they stand for. The reader matches on
//! these enums, never on strings; the spellings (and their order in messages) are here only.

use super::learning::RuleName;
use super::reader::Keyword;
use super::schema::DriftChoice;
use crate::claims::spec::{Against, ClaimKind, Metric};
use crate::stats::VerdictKind;

/// The kind of experiment file (top-level `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileKind {
    /// The convergence of eq. 3.2 to the flow.
    Convergence,
    /// Learning from a dataset.
    Learning,
}

/// The loss family (`loss.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LossKind {
    Logcosh,
    Quadratic,
    Logistic,
    Linear,
}

/// The scaling rule (`scaling.rule`), before its exponents are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RuleKind {
    Paper,
    Corrected,
    Power,
}

/// The model of a learning experiment (`model.kind`), before its parameters are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ModelKind {
    Logistic,
    Softmax,
    Network,
}

impl Keyword for FileKind {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("convergence", Self::Convergence),
        ("learning", Self::Learning),
    ];
}

impl Keyword for LossKind {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("logcosh", Self::Logcosh),
        ("quadratic", Self::Quadratic),
        ("logistic", Self::Logistic),
        ("linear", Self::Linear),
    ];
}

impl Keyword for RuleKind {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("paper", Self::Paper),
        ("corrected", Self::Corrected),
        ("power", Self::Power),
    ];
}

impl Keyword for ModelKind {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("logistic", Self::Logistic),
        ("softmax", Self::Softmax),
        ("network", Self::Network),
    ];
}

/// The named choices of `reference.drift` (it also takes a number).
impl Keyword for DriftChoice {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("paper", Self::Paper),
        ("limit", Self::Limit),
        ("exact", Self::Exact),
    ];
}

impl Keyword for ClaimKind {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("slope", Self::Slope),
        ("bound", Self::Bound),
        ("constant", Self::Constant),
    ];
}

impl Keyword for Metric {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("sup_sq_error", Self::SupSqError),
        ("terminal_sq_error", Self::TerminalSqError),
        ("kappa_hat", Self::KappaHat),
    ];
}

impl Keyword for Against {
    const WORDS: &'static [(&'static str, Self)] = &[("n", Self::N), ("dim", Self::Dim)];
}

impl Keyword for VerdictKind {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("holds", Self::Holds),
        ("fails", Self::Fails),
        ("inconclusive", Self::Inconclusive),
    ];
}

impl Keyword for RuleName {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("stdp", Self::Stdp),
        ("flow", Self::Flow),
        ("sgd", Self::Sgd),
        ("single-update", Self::SingleUpdate),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spellings are those of the serialised values, so files and summary.json agree.
    #[test]
    fn spellings_match_serde() {
        fn check<T: Keyword + serde::Serialize>() {
            for (w, v) in T::WORDS {
                assert_eq!(serde_json::to_value(v).unwrap(), *w);
            }
        }
        check::<ClaimKind>();
        check::<Metric>();
        check::<Against>();
        check::<VerdictKind>();
        check::<RuleName>();
        check::<DriftChoice>();
        for (w, v) in Metric::WORDS {
            assert_eq!(v.key(), *w);
        }
        for (w, v) in RuleName::WORDS {
            assert_eq!(v.key(), *w);
        }
    }
}
