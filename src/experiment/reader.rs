//! The TOML reading machinery shared by both kinds of experiment: positions (file:line:col) for
//! messages, typed getters with defaults and ranges, required and optional keys and tables,
//! did-you-mean for misspelt keys and values, and the report of keys that nothing read.
//!
//! Values are read from a `toml::Table`; positions come from the spanned parse
//! (`toml::de::DeTable`), computed only when a message needs one.

use super::limits::{Interval, Limits};
use super::schema::SCHEMA_KEYS;
use crate::error::{Error, Location, closest};
use crate::stats::VerdictKind;
use std::path::Path;
use toml::{Table, Value};

/// 1-based line and column of a byte offset.
pub(super) fn line_col(src: &str, byte: usize) -> (usize, usize) {
    let mut byte = byte.min(src.len());
    while !src.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &src[..byte];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The file being read: its text (for positions) and its path (for messages).
pub(super) struct Cx<'a> {
    pub(super) src: &'a str,
    pub(super) file: &'a Path,
}

impl Cx<'_> {
    /// Position of the value (or table) at a dotted key path.
    fn locate(&self, key: &str) -> Option<(usize, usize)> {
        let doc = toml::de::DeTable::parse(self.src).ok()?;
        let mut span = doc.span();
        let mut table = doc.get_ref();
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *part)?;
            span = if i + 1 == parts.len() {
                k.span()
            } else {
                v.span()
            };
            match v.get_ref() {
                toml::de::DeValue::Table(t) => table = t,
                _ if i + 1 == parts.len() => break,
                _ => return None,
            }
        }
        Some(line_col(self.src, span.start))
    }

    /// The file and the position of `key`, where it can be found.
    pub(super) fn at(&self, key: &str) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line_col: self.locate(key),
        }
    }

    /// The file without a position.
    pub(super) fn whole_file(&self) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line_col: None,
        }
    }

    /// An invalid value at a full key path.
    pub(super) fn invalid(
        &self,
        key: &str,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Error {
        Error::InvalidValue {
            at: self.at(key),
            key: key.to_string(),
            problem: problem.into(),
            expected: expected.into(),
        }
    }
}

/// A table being read: keys are taken out as they are used; what is left is unknown.
pub(super) struct Sec<'a> {
    pub(super) cx: &'a Cx<'a>,
    pub(super) table: Table,
    prefix: String,
    allowed: Vec<&'static str>,
}

/// A value as messages describe it: "the string \"x\"", "the integer 3", "an array".
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Integer(i) => format!("the integer {i}"),
        Value::Float(x) => format!("the number {x}"),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Datetime(d) => format!("the date {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// An enum spelt as a string in files.
pub(super) trait Keyword: Copy + PartialEq + 'static {
    /// Every spelling with its value, in the order messages list them.
    const WORDS: &'static [(&'static str, Self)];

    /// The value spelt `word`.
    fn parse(word: &str) -> Option<Self> {
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, v)| *v)
    }

    /// The spelling of the value.
    fn word(self) -> &'static str {
        Self::WORDS
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(w, _)| *w)
            .expect("every value has a spelling")
    }

    /// All spellings.
    fn words() -> Vec<&'static str> {
        Self::WORDS.iter().map(|(w, _)| *w).collect()
    }
}

impl<'a> Sec<'a> {
    /// The table at the dotted path `prefix` ("" for the top level).
    pub(super) fn new(cx: &'a Cx<'a>, table: Table, prefix: &str) -> Self {
        Self {
            cx,
            table,
            prefix: prefix.to_string(),
            allowed: Vec::new(),
        }
    }

    /// The full key path of `key` in this table.
    pub(super) fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Whether the file sets `key` (without reading it).
    pub(super) fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// Takes `key` out of the table and records it as allowed here.
    pub(super) fn take(&mut self, key: &'static str) -> Option<Value> {
        self.allowed.push(key);
        self.table.remove(key)
    }

    /// A key of this table that is no key of the schema but close to `key`: a misspelling of it.
    fn typo_of(&self, key: &str) -> Option<String> {
        self.table
            .keys()
            .find(|k| !SCHEMA_KEYS.contains(&k.as_str()) && closest(k, &[key]).is_some())
            .cloned()
    }

    /// When `key` is absent but a key that the schema does not know is close to it: the error
    /// naming that key as a misspelling of `key`.
    fn misspelt(&self, key: &str) -> Option<Error> {
        if self.table.contains_key(key) {
            return None;
        }
        let full = self.path(&self.typo_of(key)?);
        Some(Error::UnknownKey {
            at: self.cx.at(&full),
            key: full,
            suggestion: Some(self.path(key)),
            allowed: Vec::new(),
        })
    }

    /// A required key: a misspelling of it or its absence is an error.
    pub(super) fn require(&mut self, key: &'static str, expected: &str) -> Result<Value, Error> {
        if let Some(e) = self.misspelt(key) {
            return Err(e);
        }
        self.take(key).ok_or_else(|| Error::MissingKey {
            at: self.cx.at(&self.prefix),
            key: self.path(key),
            expected: expected.to_string(),
        })
    }

    /// The value of `key` (`Ok`), else the default (`Err`), else the error of a missing key.
    pub(super) fn value<T>(
        &mut self,
        key: &'static str,
        default: Option<T>,
        expected: &str,
    ) -> Result<Result<Value, T>, Error> {
        match (self.take(key), default) {
            (Some(v), _) => Ok(Ok(v)),
            (None, Some(d)) => Ok(Err(d)),
            (None, None) => Err(self.require(key, expected).unwrap_err()),
        }
    }

    /// "found <value>" at `key`.
    /// The non-empty array at `key` and its path; `None` when the key is absent.
    pub(super) fn nonempty_array(
        &mut self,
        key: &'static str,
        expected: &str,
    ) -> Result<Option<(String, Vec<Value>)>, Error> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let path = self.path(key);
        match v {
            Value::Array(a) if a.is_empty() => {
                Err(self.cx.invalid(&path, "the array is empty", expected))
            }
            Value::Array(a) => Ok(Some((path, a))),
            other => Err(self.bad(key, &other, expected)),
        }
    }

    pub(super) fn bad(&self, key: &str, v: &Value, expected: &str) -> Error {
        self.cx
            .invalid(&self.path(key), format!("found {}", describe(v)), expected)
    }

    /// A finite number (an integer is taken as a number).
    pub(super) fn num(&self, key: &str, v: &Value, expected: &str) -> Result<f64, Error> {
        let x = match v {
            Value::Float(x) => *x,
            Value::Integer(i) => *i as f64,
            _ => return Err(self.bad(key, v, expected)),
        };
        if !x.is_finite() {
            return Err(self.bad(key, v, expected));
        }
        Ok(x)
    }

    /// A number accepted by `ok`.
    pub(super) fn f64_in(
        &mut self,
        key: &'static str,
        default: Option<f64>,
        ok: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Result<f64, Error> {
        let v = match self.value(key, default, expected)? {
            Ok(v) => v,
            Err(d) => return Ok(d),
        };
        let x = self.num(key, &v, expected)?;
        if !ok(x) {
            return Err(self.bad(key, &v, expected));
        }
        Ok(x)
    }

    /// A number in `range`, described by `expected`.
    pub(super) fn real_in(
        &mut self,
        key: &'static str,
        default: Option<f64>,
        range: Interval,
        expected: &str,
    ) -> Result<f64, Error> {
        self.f64_in(key, default, |x| range.contains(x), expected)
    }

    /// A number in `range` ("a number from 0 to 2").
    pub(super) fn real(
        &mut self,
        key: &'static str,
        default: Option<f64>,
        range: Interval,
    ) -> Result<f64, Error> {
        self.real_in(key, default, range, &range.number())
    }

    /// An integer in `range`, described by `expected`.
    pub(super) fn int_in(
        &mut self,
        key: &'static str,
        default: Option<u64>,
        range: Limits,
        expected: &str,
    ) -> Result<u64, Error> {
        let v = match self.value(key, default, expected)? {
            Ok(v) => v,
            Err(d) => return Ok(d),
        };
        match v {
            Value::Integer(i) if range.contains(i) => Ok(i as u64),
            _ => Err(self.bad(key, &v, expected)),
        }
    }

    /// An integer in `range` ("an integer from 1 to 1000").
    pub(super) fn int(
        &mut self,
        key: &'static str,
        default: Option<u64>,
        range: Limits,
    ) -> Result<u64, Error> {
        self.int_in(key, default, range, &range.integer())
    }

    /// An optional integer in `range` ("an integer from 1 to 1000").
    pub(super) fn int_opt(
        &mut self,
        key: &'static str,
        range: Limits,
    ) -> Result<Option<u64>, Error> {
        if !self.has(key) {
            self.take(key);
            return Ok(None);
        }
        self.int(key, None, range).map(Some)
    }

    /// `true` or `false`.
    pub(super) fn flag(&mut self, key: &'static str, default: bool) -> Result<bool, Error> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(b),
            Some(v) => Err(self.bad(key, &v, "true or false")),
        }
    }

    /// A string.
    pub(super) fn string(
        &mut self,
        key: &'static str,
        default: Option<&str>,
        expected: &str,
    ) -> Result<String, Error> {
        match (self.take(key), default) {
            (Some(Value::String(s)), _) => Ok(s),
            (Some(v), _) => Err(self.bad(key, &v, expected)),
            (None, Some(d)) => Ok(d.to_string()),
            (None, None) => Err(self.require(key, expected).unwrap_err()),
        }
    }

    /// One of the spellings of `T`, with a did-you-mean for a near miss.
    pub(super) fn keyword<T: Keyword>(
        &mut self,
        key: &'static str,
        default: Option<T>,
    ) -> Result<T, Error> {
        let options = T::words();
        let expected = format!(
            "one of {}",
            options
                .iter()
                .map(|o| format!("\"{o}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let s = self.string(key, default.map(T::word), &expected)?;
        T::parse(&s).ok_or_else(|| {
            let hint = closest(&s, &options)
                .map(|c| format!(" (did you mean \"{c}\"?)"))
                .unwrap_or_default();
            self.cx.invalid(
                &self.path(key),
                format!("unknown value \"{s}\"{hint}"),
                expected,
            )
        })
    }

    /// An optional `expect`: the verdict the experiment expects.
    pub(super) fn expect(&mut self) -> Result<Option<VerdictKind>, Error> {
        let expected = "\"holds\", \"fails\" or \"inconclusive\"";
        match self.take("expect") {
            None => Ok(None),
            Some(Value::String(s)) => VerdictKind::parse(&s).map(Some).ok_or_else(|| {
                self.cx.invalid(
                    &self.path("expect"),
                    format!("unknown value \"{s}\""),
                    expected,
                )
            }),
            Some(v) => Err(self.bad("expect", &v, expected)),
        }
    }

    /// An optional sub-table.
    pub(super) fn sub(&mut self, key: &'static str) -> Result<Option<Sec<'a>>, Error> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Sec::new(self.cx, t, &self.path(key)))),
            Some(v) => Err(self.bad(key, &v, "a table")),
        }
    }

    /// A required sub-table.
    pub(super) fn sub_required(
        &mut self,
        key: &'static str,
        expected: &str,
    ) -> Result<Sec<'a>, Error> {
        if let Some(e) = self.misspelt(key) {
            return Err(e);
        }
        match self.sub(key)? {
            Some(s) => Ok(s),
            None => Err(Error::MissingKey {
                at: self.cx.whole_file(),
                key: self.path(key),
                expected: expected.to_string(),
            }),
        }
    }

    /// Ends the table: a key that nothing took is unknown (with a did-you-mean among the keys
    /// allowed here).
    pub(super) fn finish(self) -> Result<(), Error> {
        if let Some(key) = self.table.keys().next() {
            let full = self.path(key);
            return Err(Error::UnknownKey {
                at: self.cx.at(&full),
                suggestion: closest(key, &self.allowed).map(|s| self.path(s)),
                key: full,
                allowed: self.allowed,
            });
        }
        Ok(())
    }
}
