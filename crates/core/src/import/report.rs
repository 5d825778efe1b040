//! What an import did: its counts, the rows it skipped and why, the pairs
//! worth a look, and the CSV a person downloads of them.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;
use uuid::Uuid;

use super::{ColumnMapping, REPORT_CAP};
use crate::error::{CoreError, Result};

/// A row that was not imported, or a value that was dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Row number as a spreadsheet shows it (header = 1).
    pub row: u64,
    /// The column (header text), when one is to blame.
    pub column: Option<String>,
    /// What is wrong and what to do.
    pub reason: String,
}

/// Two contacts that share a phone, or a record id, but have different
/// emails: different people by the import's rule, worth a look.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PossibleDuplicate {
    /// The row that was imported.
    pub row: u64,
    /// The contact it created or updated.
    pub contact_id: Uuid,
    /// The other contact.
    pub other_contact_id: Uuid,
    /// What they share: `phone` or `record id`.
    pub shared: &'static str,
    /// The shared value (a phone in E.164, or the id as the file gave it).
    pub value: String,
}

impl PossibleDuplicate {
    fn describe(&self) -> String {
        format!(
            "contact {} shares {} {} with contact {}",
            self.contact_id, self.shared, self.value, self.other_contact_id
        )
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// The file.
    pub file: PathBuf,
    /// Detected encoding.
    pub encoding: String,
    /// Detected delimiter.
    pub delimiter: String,
    /// How each column was used.
    pub columns: Vec<ColumnMapping>,
    /// Data rows read (blank rows included).
    pub rows: u64,
    /// New contacts.
    pub created: u64,
    /// Existing contacts changed.
    pub updated: u64,
    /// Existing contacts already up to date.
    pub unchanged: u64,
    /// Rows not imported.
    pub skipped: u64,
    /// Empty rows passed over.
    pub blank: u64,
    /// Why rows were skipped (first [`REPORT_CAP`]).
    pub problems: Vec<RowProblem>,
    /// Pairs to review (first [`REPORT_CAP`]).
    pub possible_duplicates: Vec<PossibleDuplicate>,
    /// Total pairs found.
    pub possible_duplicate_count: u64,
    /// True for a dry run: nothing was written.
    pub dry_run: bool,
    /// True if cancelled: only the counted rows were committed.
    pub cancelled: bool,
}

impl ImportReport {
    pub(super) fn problem(&mut self, p: RowProblem) {
        if self.problems.len() < REPORT_CAP {
            self.problems.push(p);
        }
    }

    /// Write the problems and possible duplicates as CSV (for a download).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let io = |source| CoreError::Io {
            path: path.to_path_buf(),
            err: source,
        };
        let file = File::create(path).map_err(io)?;
        let mut w = csv::Writer::from_writer(file);
        let csv_err = |e: csv::Error| CoreError::Csv {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        w.write_record(["row", "kind", "column", "detail"])
            .map_err(csv_err)?;
        for p in &self.problems {
            w.write_record([
                p.row.to_string(),
                "skipped".into(),
                crate::export::neutralise(p.column.as_deref().unwrap_or("")).into_owned(),
                crate::export::neutralise(&p.reason).into_owned(),
            ])
            .map_err(csv_err)?;
        }
        for d in &self.possible_duplicates {
            w.write_record([
                d.row.to_string(),
                "possible duplicate".into(),
                d.shared.into(),
                crate::export::neutralise(&d.describe()).into_owned(),
            ])
            .map_err(csv_err)?;
        }
        w.flush().map_err(io)?;
        Ok(())
    }
}

impl ImportReport {
    /// Count a possible duplicate, listing it while under the cap.
    pub(super) fn possible_duplicate(&mut self, d: PossibleDuplicate) {
        self.possible_duplicate_count += 1;
        if self.possible_duplicates.len() < REPORT_CAP {
            self.possible_duplicates.push(d);
        }
    }

    /// Add a committed batch's counts.
    pub(super) fn absorb(&mut self, batch: ImportReport) {
        self.rows += batch.rows;
        self.created += batch.created;
        self.updated += batch.updated;
        self.unchanged += batch.unchanged;
        self.skipped += batch.skipped;
        self.blank += batch.blank;
        for p in batch.problems {
            self.problem(p);
        }
        self.possible_duplicate_count += batch.possible_duplicate_count;
        for d in batch.possible_duplicates {
            if self.possible_duplicates.len() < REPORT_CAP {
                self.possible_duplicates.push(d);
            }
        }
    }
}
