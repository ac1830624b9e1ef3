//! Serde helpers that write non-finite f64 as JSON null and read null back as NaN, so results
//! with NaN entries (two-point fits, diverged trajectories) round-trip through JSON.

/// For a single f64 field.
pub mod scalar {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `x`, or null when it is not finite.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_none()
        }
    }

    /// Reads a number, or null as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// For a `Vec<f64>` field.
pub mod vec {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the vector with non-finite entries as null.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.is_finite().then_some(*x)))
    }

    /// Reads the vector with null entries as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v = Vec::<Option<f64>>::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

/// For an `[f64; 2]` field (an interval).
pub mod pair {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the pair with non-finite entries as null.
    pub fn serialize<S: Serializer>(v: &[f64; 2], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.is_finite().then_some(*x)))
    }

    /// Reads the pair with null entries as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        let [a, b] = <[Option<f64>; 2]>::deserialize(d)?;
        Ok([a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)])
    }
}

/// Reading of nested vectors (paths) whose non-finite entries serde_json wrote as null; writing
/// needs no helper, since serde_json already writes non-finite f64 as null.
pub mod nested {
    use serde::{Deserialize, Deserializer};

    fn nan(x: Option<f64>) -> f64 {
        x.unwrap_or(f64::NAN)
    }

    /// Reads a `Vec<Vec<f64>>` with null entries as NaN.
    pub fn deserialize2<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
        let v = Vec::<Vec<Option<f64>>>::deserialize(d)?;
        Ok(v.into_iter()
            .map(|r| r.into_iter().map(nan).collect())
            .collect())
    }

    /// Reads a `Vec<Vec<Vec<f64>>>` with null entries as NaN.
    pub fn deserialize3<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<Vec<f64>>>, D::Error> {
        let v = Vec::<Vec<Vec<Option<f64>>>>::deserialize(d)?;
        Ok(v.into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|r| r.into_iter().map(nan).collect())
                    .collect()
            })
            .collect())
    }
}
