//! Getters for the arrays and composite values of an experiment file: vectors of the loss, lists
//! of n (explicit or a geometric grid), of dimensions and of reals, and trajectories (a number or
//! a rule in d).

use super::limits::{Interval, Limits, N, N_POINTS, TRAJECTORIES};
use super::reader::{Sec, describe};
use super::schema::{Trajectories, VecSpec};
use crate::error::Error;
use toml::Value;

impl Sec<'_> {
    /// A vector: an array, one number for every coordinate, or (if `allow_unit`) "unit".
    pub(super) fn vec_spec(
        &mut self,
        key: &'static str,
        default: Option<VecSpec>,
        allow_unit: bool,
    ) -> Result<VecSpec, Error> {
        let expected = if allow_unit {
            "an array of finite numbers, one number for every coordinate, or \"unit\""
        } else {
            "an array of finite numbers or one number for every coordinate"
        };
        let v = match self.value(key, default, expected)? {
            Ok(v) => v,
            Err(d) => return Ok(d),
        };
        match &v {
            Value::String(s) if allow_unit && s == "unit" => Ok(VecSpec::Unit),
            Value::Array(a) => {
                if a.is_empty() {
                    return Err(self
                        .cx
                        .invalid(&self.path(key), "the array is empty", expected));
                }
                let xs = a
                    .iter()
                    .map(|x| self.num(key, x, expected))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(VecSpec::Values(xs))
            }
            _ => Ok(VecSpec::Fill(self.num(key, &v, expected)?)),
        }
    }

    /// Trajectories per point: an integer in [`TRAJECTORIES`], or `{ times_dim = k }` with k in
    /// the same range (M(d) = ceil(k / d), checked against the dimensions later).
    pub(super) fn trajectories(
        &mut self,
        key: &'static str,
        required: bool,
    ) -> Result<Option<Trajectories>, Error> {
        let expected = format!(
            "{}, or {{ times_dim = k }} (M = ceil(k / d) at dimension d)",
            TRAJECTORIES.integer()
        );
        match self.take(key) {
            None if required => Err(self.require(key, &expected).unwrap_err()),
            None => Ok(None),
            Some(Value::Integer(i)) if TRAJECTORIES.contains(i) => {
                Ok(Some(Trajectories::Fixed(i as u64)))
            }
            Some(Value::Table(t)) => {
                let mut g = Sec::new(self.cx, t, &self.path(key));
                let k = g.int("times_dim", None, TRAJECTORIES)?;
                g.finish()?;
                Ok(Some(Trajectories::TimesDim { times_dim: k }))
            }
            Some(v) => Err(self.bad(key, &v, &expected)),
        }
    }

    /// Values of n: distinct integers in [`N`], given as an array or as a geometric grid
    /// `{ from, to, points }`; returned in increasing order.
    pub(super) fn n_list(
        &mut self,
        key: &'static str,
        required: bool,
    ) -> Result<Option<Vec<u64>>, Error> {
        let expected =
            format!("a non-empty array of distinct integers {N}, or {{ from, to, points }}");
        let v = match self.take(key) {
            Some(v) => v,
            None if required => return Err(self.require(key, &expected).unwrap_err()),
            None => return Ok(None),
        };
        let path = self.path(key);
        let ns: Vec<u64> = match &v {
            Value::Array(a) => {
                if a.is_empty() {
                    return Err(self.cx.invalid(&path, "the array is empty", expected));
                }
                a.iter()
                    .map(|x| match x {
                        Value::Integer(i) if N.contains(*i) => Ok(*i as u64),
                        _ => {
                            Err(self
                                .cx
                                .invalid(&path, format!("found {}", describe(x)), &expected))
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            Value::Table(t) => self.n_grid(t, &path)?,
            _ => return Err(self.bad(key, &v, &expected)),
        };
        distinct_sorted(ns)
            .map(Some)
            .ok_or_else(|| self.cx.invalid(&path, "values repeat", expected))
    }

    /// The geometric grid `{ from, to, points }` of n at `path`.
    fn n_grid(&self, t: &toml::Table, path: &str) -> Result<Vec<u64>, Error> {
        let mut g = Sec::new(self.cx, t.clone(), path);
        let from = g.int("from", None, N)?;
        let to = g.int("to", None, N)?;
        let points = g.int("points", None, N_POINTS)?;
        g.finish()?;
        if to <= from {
            return Err(self.cx.invalid(
                &format!("{path}.to"),
                format!("{to} is not above from = {from}"),
                "to > from",
            ));
        }
        let r = (to as f64 / from as f64).ln();
        let mut v: Vec<u64> = (0..points)
            .map(|k| (from as f64 * (r * k as f64 / (points - 1) as f64).exp()).round() as u64)
            .collect();
        v.dedup();
        Ok(v)
    }

    /// Distinct integers in `range` (dimensions), in increasing order.
    pub(super) fn usize_list(
        &mut self,
        key: &'static str,
        range: Limits,
        expected: &str,
    ) -> Result<Option<Vec<usize>>, Error> {
        let Some((path, a)) = self.nonempty_array(key, expected)? else {
            return Ok(None);
        };
        let out = a
            .iter()
            .map(|x| match x {
                Value::Integer(i) if range.contains(*i) => Ok(*i as usize),
                _ => Err(self
                    .cx
                    .invalid(&path, format!("found {}", describe(x)), expected)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        distinct_sorted(out)
            .map(Some)
            .ok_or_else(|| self.cx.invalid(&path, "values repeat", expected))
    }

    /// Numbers in `range`, in the file's order.
    pub(super) fn f64_list(
        &mut self,
        key: &'static str,
        range: Interval,
        expected: &str,
    ) -> Result<Option<Vec<f64>>, Error> {
        let Some((path, a)) = self.nonempty_array(key, expected)? else {
            return Ok(None);
        };
        let xs = a
            .iter()
            .map(|x| self.num(key, x, expected))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(x) = xs.iter().find(|x| !range.contains(**x)) {
            return Err(self.cx.invalid(&path, format!("found {x}"), expected));
        }
        Ok(Some(xs))
    }
}

/// The values sorted, or `None` if some value repeats.
fn distinct_sorted<T: Ord>(mut v: Vec<T>) -> Option<Vec<T>> {
    let len = v.len();
    v.sort_unstable();
    v.dedup();
    (v.len() == len).then_some(v)
}
