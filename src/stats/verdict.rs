use serde::{Deserialize, Serialize};

/// A claimed power-law exponent with its tolerance band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The claimed slope.
    pub slope: f64,
    /// Half-width of the band [slope - tolerance, slope + tolerance].
    pub tolerance: f64,
    /// Whether the quantity must also decay (slope interval below 0), as an error must.
    pub decay: bool,
}

/// The three outcomes of an equivalence-style test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// The whole interval lies in the band (and below 0 if decay is required).
    Holds,
    /// The interval misses the band entirely, or shows no decay where decay is required.
    Fails,
    /// Neither: the data cannot decide.
    Inconclusive,
}

impl std::fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Holds => "holds",
            Self::Fails => "fails",
            Self::Inconclusive => "inconclusive",
        })
    }
}

/// A verdict with the reason for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The outcome.
    pub kind: VerdictKind,
    /// Why, in a sentence, including what would decide an inconclusive case.
    pub reason: String,
}

/// Decides a claim from a slope interval [lo, hi]. `contaminated` names anything that makes the
/// data unfit to support `holds` (for example diverged trajectories); it caps the verdict at
/// `inconclusive` unless the interval already shows `fails`.
pub fn decide(ci: [f64; 2], claim: &Claim, contaminated: Option<&str>) -> Verdict {
    let [lo, hi] = ci;
    let (blo, bhi) = (claim.slope - claim.tolerance, claim.slope + claim.tolerance);
    let v = |kind, reason: String| Verdict { kind, reason };
    if !(lo.is_finite() && hi.is_finite()) {
        return v(
            VerdictKind::Inconclusive,
            "the slope interval is not finite".into(),
        );
    }
    if hi < blo || lo > bhi {
        return v(
            VerdictKind::Fails,
            format!("slope interval [{lo:.3}, {hi:.3}] lies outside the band [{blo:.3}, {bhi:.3}]"),
        );
    }
    if claim.decay && lo >= 0.0 {
        return v(
            VerdictKind::Fails,
            format!("slope interval [{lo:.3}, {hi:.3}] is not below 0: the error does not decay"),
        );
    }
    if let Some(why) = contaminated {
        return v(
            VerdictKind::Inconclusive,
            format!("cannot support holds: {why}"),
        );
    }
    let inside = lo >= blo && hi <= bhi;
    if inside && (!claim.decay || hi < 0.0) {
        return v(
            VerdictKind::Holds,
            format!("slope interval [{lo:.3}, {hi:.3}] lies inside the band [{blo:.3}, {bhi:.3}]"),
        );
    }
    let need = if hi - lo > 2.0 * claim.tolerance {
        "the interval is wider than the band: more trajectories are needed"
    } else if claim.decay && hi >= 0.0 {
        "decay is not established: more trajectories or larger n are needed"
    } else {
        "the interval straddles the band's edge: larger n (or more trajectories) is needed"
    };
    v(
        VerdictKind::Inconclusive,
        format!("slope interval [{lo:.3}, {hi:.3}] overlaps the band [{blo:.3}, {bhi:.3}]; {need}"),
    )
}

/// Decides whether a quantity lies in a band [lo, hi] (either end may be infinite) from its 95%
/// interval: `holds` if the interval lies inside the band, `fails` if it lies entirely outside,
/// `inconclusive` otherwise. `what` names the quantity in the reason; `contaminated` caps the
/// verdict at `inconclusive` as in [`decide`].
pub fn decide_interval(
    ci: [f64; 2],
    band: [f64; 2],
    what: &str,
    contaminated: Option<&str>,
) -> Verdict {
    let [lo, hi] = ci;
    let [blo, bhi] = band;
    let show = |x: f64| {
        if x.is_infinite() {
            if x > 0.0 {
                "inf".to_string()
            } else {
                "-inf".to_string()
            }
        } else {
            format!("{x:.4}")
        }
    };
    let ivl = format!("[{}, {}]", show(lo), show(hi));
    let bnd = format!("[{}, {}]", show(blo), show(bhi));
    let v = |kind, reason: String| Verdict { kind, reason };
    if lo.is_nan() || hi.is_nan() {
        return v(
            VerdictKind::Inconclusive,
            format!("the interval of {what} is not defined"),
        );
    }
    if hi < blo || lo > bhi {
        return v(
            VerdictKind::Fails,
            format!("{what} {ivl} lies outside {bnd}"),
        );
    }
    if let Some(why) = contaminated {
        return v(
            VerdictKind::Inconclusive,
            format!("cannot support holds: {why}"),
        );
    }
    if lo >= blo && hi <= bhi {
        v(
            VerdictKind::Holds,
            format!("{what} {ivl} lies inside {bnd}"),
        )
    } else {
        v(
            VerdictKind::Inconclusive,
            format!("{what} {ivl} overlaps the edge of {bnd}: more replicates are needed"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIM: Claim = Claim {
        slope: -1.0,
        tolerance: 0.1,
        decay: true,
    };

    #[test]
    fn all_three_outcomes() {
        assert_eq!(
            decide([-1.05, -0.95], &CLAIM, None).kind,
            VerdictKind::Holds
        );
        assert_eq!(decide([-0.5, -0.2], &CLAIM, None).kind, VerdictKind::Fails);
        assert_eq!(decide([-1.5, -1.2], &CLAIM, None).kind, VerdictKind::Fails);
        let v = decide([-1.3, -0.95], &CLAIM, None);
        assert_eq!(v.kind, VerdictKind::Inconclusive);
        assert!(v.reason.contains("more trajectories"));
        let v = decide([-1.04, -0.86], &CLAIM, None);
        assert_eq!(v.kind, VerdictKind::Inconclusive);
        assert!(v.reason.contains("larger n"));
    }

    #[test]
    fn no_decay_fails_and_growth_claims_need_no_decay() {
        let wide = Claim {
            slope: -1.0 / 3.0,
            tolerance: 0.5,
            decay: true,
        };
        assert_eq!(decide([0.01, 0.1], &wide, None).kind, VerdictKind::Fails);
        assert_eq!(
            decide([-0.1, 0.1], &wide, None).kind,
            VerdictKind::Inconclusive
        );
        let growth = Claim {
            slope: 1.0 / 3.0,
            tolerance: 0.05,
            decay: false,
        };
        assert_eq!(decide([0.31, 0.35], &growth, None).kind, VerdictKind::Holds);
    }

    #[test]
    fn contamination_blocks_holds_but_not_fails() {
        assert_eq!(
            decide([-1.05, -0.95], &CLAIM, Some("3 diverged")).kind,
            VerdictKind::Inconclusive
        );
        assert_eq!(
            decide([-0.5, -0.2], &CLAIM, Some("3 diverged")).kind,
            VerdictKind::Fails
        );
    }

    #[test]
    fn non_finite_interval_is_inconclusive() {
        assert_eq!(
            decide([f64::NAN, 1.0], &CLAIM, None).kind,
            VerdictKind::Inconclusive
        );
    }

    #[test]
    fn interval_in_a_band() {
        let b = [-0.02, 0.02];
        assert_eq!(
            decide_interval([-0.01, 0.015], b, "d", None).kind,
            VerdictKind::Holds
        );
        assert_eq!(
            decide_interval([0.03, 0.05], b, "d", None).kind,
            VerdictKind::Fails
        );
        assert_eq!(
            decide_interval([-0.01, 0.03], b, "d", None).kind,
            VerdictKind::Inconclusive
        );
        assert_eq!(
            decide_interval([-0.01, 0.01], b, "d", Some("x")).kind,
            VerdictKind::Inconclusive
        );
        let below = [f64::NEG_INFINITY, -0.02];
        assert_eq!(
            decide_interval([-0.3, -0.1], below, "d", None).kind,
            VerdictKind::Holds
        );
        assert_eq!(
            decide_interval([-0.01, 0.0], below, "d", None).kind,
            VerdictKind::Fails
        );
        assert!(
            decide_interval([-0.3, -0.1], below, "d", None)
                .reason
                .contains("-inf")
        );
    }
}
