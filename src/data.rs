//! Classification data from CSV files: a header row, numeric feature columns and one label column
//! (any text; classes are the distinct labels in sorted order). Errors name the file, the line and
//! column, and the fix. Splits are seeded; standardisation uses training statistics only.

use crate::error::{Error, Location, closest};
use crate::rng::{shuffle, splitmix64};
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use std::path::Path;

/// Samples with numeric features and class labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Names of the feature columns, in file order.
    pub feature_names: Vec<String>,
    /// Class labels, sorted; `y` indexes into it.
    pub classes: Vec<String>,
    /// Features, row-major (rows x features).
    pub x: Vec<f64>,
    /// Class index of each row.
    pub y: Vec<usize>,
}

impl Dataset {
    /// Number of features p.
    pub fn features(&self) -> usize {
        self.feature_names.len()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Features of row i.
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.features();
        &self.x[i * p..(i + 1) * p]
    }

    /// Every row's features and class, in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = (&[f64], usize)> + '_ {
        (0..self.len()).map(|i| (self.row(i), self.y[i]))
    }

    fn subset(&self, rows: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            classes: self.classes.clone(),
            x: rows
                .iter()
                .flat_map(|&i| self.row(i).iter().copied())
                .collect(),
            y: rows.iter().map(|&i| self.y[i]).collect(),
        }
    }
}

/// A seeded train/test split, standardised with training statistics if asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Training rows.
    pub train: Dataset,
    /// Test rows.
    pub test: Dataset,
    /// Per-feature (mean, standard deviation) of the training rows, when standardised.
    pub standardization: Option<Vec<(f64, f64)>>,
    /// Indices (0-based data rows, header excluded) of the training rows, in training order.
    pub train_rows: Vec<usize>,
    /// Indices of the test rows.
    pub test_rows: Vec<usize>,
}

/// The experiment key of the data file: every problem of the file's content is blamed on it.
const FILE: &str = "data.file";
/// The experiment key of the label column's name.
const LABEL: &str = "data.label";

/// An error at `file` (the CSV file), blamed on the experiment key `key`.
fn bad(
    file: &Path,
    line: Option<(usize, usize)>,
    key: &str,
    problem: String,
    expected: &str,
) -> Error {
    Error::InvalidValue {
        at: Location {
            file: file.to_path_buf(),
            line_col: line,
        },
        key: key.to_string(),
        problem,
        expected: expected.to_string(),
    }
}

/// The 1-based column of a quote that is never closed on this line, if any.
fn unterminated_quote(line: &str) -> Option<usize> {
    let mut open = None;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if open.is_some() && chars.peek().is_some_and(|(_, n)| *n == '"') {
                chars.next();
            } else {
                open = if open.is_some() { None } else { Some(i + 1) };
            }
        }
    }
    open
}

/// Splits one CSV line into fields (RFC 4180 quoting: "a,b" and doubled quotes). Returns the
/// fields and the 1-based column (in characters) where each starts.
fn fields(line: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    let mut quoted = false;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if quoted && chars.peek().is_some_and(|(_, n)| *n == '"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push((std::mem::take(&mut cur).trim().to_string(), start));
                start = i + 2;
            }
            _ => cur.push(c),
        }
    }
    out.push((cur.trim().to_string(), start));
    out
}

/// Reads a CSV file whose column `label` holds the classes and every other column a number.
#[cfg(test)]
pub fn load_csv(path: &Path, label: &str) -> Result<Dataset, Error> {
    load_csv_bytes(path, label).map(|(data, _)| data)
}

/// Reads a CSV file whose column `label` holds the classes and every other column a number, and
/// returns it with the file's bytes as read (the ones parsed, for their hash).
pub fn load_csv_bytes(path: &Path, label: &str) -> Result<(Dataset, Vec<u8>), Error> {
    let unreadable = |e: &dyn std::fmt::Display| {
        bad(
            path,
            None,
            FILE,
            format!("cannot read it: {e}"),
            "the path of a readable UTF-8 CSV file, relative to the experiment file",
        )
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(&e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| unreadable(&e))?;
    parse_csv(path, text, label).map(|data| (data, bytes))
}

/// The dataset of a CSV file's text (see [`load_csv_bytes`]).
fn parse_csv(path: &Path, text: &str, label: &str) -> Result<Dataset, Error> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next().ok_or_else(|| {
        bad(
            path,
            None,
            FILE,
            "the file is empty".into(),
            "a CSV file with a header row naming the columns, then one row per sample",
        )
    })?;
    for (ln, line) in text.lines().enumerate() {
        if let Some(col) = unterminated_quote(line) {
            return Err(bad(
                path,
                Some((ln + 1, col)),
                FILE,
                "this quote is never closed on its line".into(),
                "a closing quote (fields with a comma are written \"a,b\"; a quote inside one as \"\")",
            ));
        }
    }
    let (header, li) = read_header(path, head, label)?;
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (ln, line) in lines {
        read_row(path, (ln + 1, line), &header, li, &mut x, &mut labels)?;
    }
    let mut classes: Vec<String> = labels.clone();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(bad(
            path,
            None,
            LABEL,
            format!(
                "the label column \"{label}\" has {} distinct value(s)",
                classes.len()
            ),
            "a label column with at least two classes (check that data.label names it)",
        ));
    }
    let y = labels
        .iter()
        .map(|l| classes.binary_search(l).expect("present"))
        .collect();
    let feature_names: Vec<String> = header
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != li)
        .map(|(_, h)| h)
        .collect();
    Ok(Dataset {
        feature_names,
        classes,
        x,
        y,
    })
}

/// The column names of the header line and the index of the label column; the names must be
/// distinct, and there must be a feature column besides the label.
fn read_header(path: &Path, head: &str, label: &str) -> Result<(Vec<String>, usize), Error> {
    let header: Vec<String> = fields(head).into_iter().map(|(f, _)| f).collect();
    for (i, h) in header.iter().enumerate() {
        if let Some(j) = header[..i].iter().position(|g| g == h) {
            return Err(bad(
                path,
                Some((1, 1)),
                FILE,
                format!("columns {} and {} are both named \"{h}\"", j + 1, i + 1),
                "distinct column names in the header row",
            ));
        }
    }
    let Some(li) = header.iter().position(|h| h == label) else {
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let hint = closest(label, &names)
            .map(|c| format!(" (did you mean \"{c}\"?)"))
            .unwrap_or_default();
        return Err(bad(
            path,
            Some((1, 1)),
            LABEL,
            format!("no column is named \"{label}\"{hint}"),
            "the name of the label column as written in the header",
        ));
    };
    if header.len() < 2 {
        return Err(bad(
            path,
            Some((1, 1)),
            FILE,
            format!("there are no feature columns besides the label \"{label}\""),
            "at least one numeric column besides the label",
        ));
    }
    Ok((header, li))
}

/// Appends the features of one data row (line number `ln`) to `x` and its label to `labels`.
fn read_row(
    path: &Path,
    (ln, line): (usize, &str),
    header: &[String],
    li: usize,
    x: &mut Vec<f64>,
    labels: &mut Vec<String>,
) -> Result<(), Error> {
    let f = fields(line);
    if f.len() != header.len() {
        return Err(bad(
            path,
            Some((ln, 1)),
            FILE,
            format!(
                "the row has {} fields but the header has {}",
                f.len(),
                header.len()
            ),
            "the same number of comma-separated fields in every row",
        ));
    }
    for (i, (v, col)) in f.iter().enumerate() {
        if i == li {
            if v.is_empty() {
                return Err(bad(
                    path,
                    Some((ln, *col)),
                    LABEL,
                    format!("the label (column \"{}\") is missing", header[li]),
                    "a label in every row",
                ));
            }
            labels.push(v.clone());
            continue;
        }
        let num: f64 = v
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| {
                bad(
                    path,
                    Some((ln, *col)),
                    FILE,
                    format!("column \"{}\": \"{v}\" is not a finite number", header[i]),
                    "a number in every feature cell (if this column holds the classes, name it in data.label)",
                )
            })?;
        x.push(num);
    }
    Ok(())
}

/// Splits `data` into training and test rows by a seeded shuffle (Fisher-Yates) and, if asked,
/// standardises every feature with the training mean and standard deviation. A feature that is
/// constant on the training rows cannot be standardised and is an error naming it.
pub fn split(
    data: &Dataset,
    source: &Path,
    test_fraction: f64,
    seed: u64,
    standardize: bool,
) -> Result<Split, Error> {
    let n = data.len();
    let n_test = (test_fraction * n as f64).round() as usize;
    if !(test_fraction > 0.0 && test_fraction < 1.0) || n_test == 0 || n_test >= n {
        return Err(bad(
            source,
            None,
            "data.test_fraction",
            format!("{test_fraction} leaves {n_test} test rows of {n}"),
            "a fraction in (0, 1) that leaves at least one row in each part",
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Pcg64Mcg::new(
        u128::from(splitmix64(seed ^ 0x0053_504C_4954)) << 64 | u128::from(splitmix64(seed)),
    );
    shuffle(&mut order, || rng.next_u64());
    let (test_rows, train_rows) = order.split_at(n_test);
    let mut train = data.subset(train_rows);
    let mut test = data.subset(test_rows);
    if standardize && train.len() < 2 {
        return Err(bad(
            source,
            None,
            FILE,
            format!(
                "has {n} data rows, so the training part has {}: too few to standardise",
                train.len()
            ),
            "at least two training rows: more data rows, a smaller data.test_fraction, or data.standardize = false",
        ));
    }
    let standardization = if standardize {
        let stats = feature_stats(&train, &data.feature_names, source)?;
        let p = stats.len();
        for d in [&mut train, &mut test] {
            for (i, v) in d.x.iter_mut().enumerate() {
                let (mean, sd) = stats[i % p];
                *v = (*v - mean) / sd;
            }
        }
        Some(stats)
    } else {
        None
    };
    Ok(Split {
        train,
        test,
        standardization,
        train_rows: train_rows.to_vec(),
        test_rows: test_rows.to_vec(),
    })
}

/// Each feature's mean and standard deviation over the training rows, refused when one is not
/// finite or the feature is constant.
fn feature_stats(
    train: &Dataset,
    names: &[String],
    source: &Path,
) -> Result<Vec<(f64, f64)>, Error> {
    let m = train.len() as f64;
    let mut stats = Vec::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        let mean = (0..train.len()).map(|i| train.row(i)[k]).sum::<f64>() / m;
        let var = (0..train.len())
            .map(|i| (train.row(i)[k] - mean).powi(2))
            .sum::<f64>()
            / (m - 1.0);
        let sd = var.sqrt();
        if !(mean.is_finite() && sd.is_finite()) {
            return Err(bad(
                source,
                None,
                FILE,
                format!(
                    "column \"{name}\" has values too large for their mean and spread to be computed in f64"
                ),
                "values below about 1e150 in magnitude (rescale the column), or data.standardize = false",
            ));
        }
        if sd <= 1e-12 * mean.abs().max(1.0) {
            return Err(bad(
                source,
                None,
                FILE,
                format!(
                    "column \"{name}\" is constant on the training rows, so it cannot be standardised"
                ),
                "a varying feature: drop the column, or set data.standardize = false",
            ));
        }
        stats.push((mean, sd));
    }
    Ok(stats)
}

/// The dataset shipped with the repository (`data/wdbc.csv`).
#[cfg(test)]
pub fn shipped_wdbc() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("wdbc.csv")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn write(name: &str, text: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("stdp-flow-data-{}-{name}.csv", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn shipped_dataset_loads_through_the_user_path() {
        let d = load_csv(&shipped_wdbc(), "diagnosis").unwrap();
        assert_eq!((d.len(), d.features()), (569, 30));
        assert_eq!(d.classes, vec!["B", "M"]);
        assert_eq!(d.y.iter().filter(|&&c| c == 1).count(), 212);
        let s = split(&d, &shipped_wdbc(), 0.25, 7, true).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (427, 142));
        for k in 0..30 {
            let m = (0..s.train.len()).map(|i| s.train.row(i)[k]).sum::<f64>() / 427.0;
            assert!(m.abs() < 1e-12, "feature {k} training mean {m}");
        }
        assert_eq!(s, split(&d, &shipped_wdbc(), 0.25, 7, true).unwrap());
        assert_ne!(
            s.test.y,
            split(&d, &shipped_wdbc(), 0.25, 8, true).unwrap().test.y
        );
    }

    #[test]
    fn quoted_fields() {
        let f: Vec<String> = fields(r#"1.5,"a,b",  "say ""hi""" "#)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(f, vec!["1.5", "a,b", r#"say "hi""#]);
    }

    /// The error's experiment key and its text.
    fn key_and_text(e: Error) -> (String, String) {
        let text = e.to_string();
        match e {
            Error::InvalidValue { key, .. } => (key, text),
            other => panic!("not an invalid value: {other}"),
        }
    }

    /// Malformed files: a name, the text, the label column, the key to blame, a text of the
    /// error, and the position it names.
    const MALFORMED: [(&str, &str, &str, &str, &str, &str); 9] = [
        (
            "ragged",
            "a,b,y\n1,2,A\n3,B\n",
            "y",
            FILE,
            "2 fields",
            ":3:1",
        ),
        (
            "nonnumeric",
            "a,b,y\n1,2,A\n3,zz,B\n",
            "y",
            FILE,
            "column \"b\"",
            ":3:3",
        ),
        (
            "missing",
            "a,b,y\n1,2,A\n3,4,\n",
            "y",
            LABEL,
            "label (column \"y\") is missing",
            ":3:5",
        ),
        (
            "nolabel",
            "a,b,lbl\n1,2,A\n",
            "label",
            LABEL,
            "did you mean \"lbl\"",
            ":1:1",
        ),
        (
            "oneclass",
            "a,y\n1,A\n2,A\n",
            "y",
            LABEL,
            "at least two classes",
            "",
        ),
        ("empty", "", "y", FILE, "empty", ""),
        (
            "dup",
            "a,a,y\n1,5,A\n",
            "y",
            FILE,
            "both named \"a\"",
            ":1:1",
        ),
        (
            "quote",
            "a,b,y\n1,\"5,A\n",
            "y",
            FILE,
            "never closed",
            ":2:3",
        ),
        (
            "nofeature",
            "y\nA\nB\n",
            "y",
            FILE,
            "no feature columns",
            ":1:1",
        ),
    ];

    /// Each malformed file is an error of `data.file` or `data.label` (real keys of the
    /// experiment file) at the CSV file's line and column, with a fix.
    #[test]
    fn errors_name_file_line_column_and_fix() {
        for (name, text, label, key, needle, pos) in MALFORMED {
            let p = write(name, text);
            let (k, e) = key_and_text(load_csv(&p, label).unwrap_err());
            assert_eq!(k, key, "{name}: {e}");
            assert!(
                e.contains(needle) && e.contains(&format!("{name}.csv{pos}")) && e.contains("fix:"),
                "{name}: {e}"
            );
            let _ = std::fs::remove_file(p);
        }
        let (k, e) = key_and_text(load_csv(Path::new("/nonexistent/x.csv"), "y").unwrap_err());
        assert!(k == FILE && e.contains("cannot read it"), "{e}");
    }

    /// A split that cannot be standardised is an error of `data.file` naming the column.
    #[test]
    fn standardisation_errors_name_the_column_and_fix() {
        let p = write("two", "a,b,y\n1,5,A\n2,6,B\n");
        let d = load_csv(&p, "y").unwrap();
        let (k, e) = key_and_text(split(&d, &p, 0.25, 1, true).unwrap_err());
        assert!(k == FILE && e.contains("too few to standardise"), "{e}");
        let p = write(
            "huge",
            "a,b,y\n1,1e308,A\n2,1.7e308,B\n3,-1e308,A\n4,1.5e308,B\n",
        );
        let d = load_csv(&p, "y").unwrap();
        let (k, e) = key_and_text(split(&d, &p, 0.25, 1, true).unwrap_err());
        assert!(
            k == FILE && e.contains("column \"b\"") && e.contains("too large"),
            "{e}"
        );
        let p = write("constant", "a,b,y\n1,5,A\n2,5,B\n3,5,A\n4,5,B\n");
        let d = load_csv(&p, "y").unwrap();
        let (k, e) = key_and_text(split(&d, &p, 0.25, 1, true).unwrap_err());
        assert!(
            k == FILE && e.contains("column \"b\"") && e.contains("constant"),
            "{e}"
        );
        assert!(e.contains("data.standardize = false"), "{e}");
        assert!(split(&d, &p, 0.25, 1, false).is_ok());
        let (k, _) = key_and_text(split(&d, &p, 1.5, 1, false).unwrap_err());
        assert_eq!(k, "data.test_fraction");
        let _ = std::fs::remove_file(p);
    }
}
