//! CSV export of contacts that spreadsheet programs open safely.
//!
//! A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return) is
//! read as a formula by Excel, LibreOffice and Google Sheets; a contact named
//! `=HYPERLINK(...)` would run when the file is opened (CSV injection,
//! OWASP). Such cells are prefixed with `'`, which spreadsheets show as
//! text. The importer strips that prefix again, so export → import is lossless.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{CoreError, Result};
use crate::store::Store;
use crate::ContactQuery;

/// Neutralise a cell that a spreadsheet would read as a formula.
pub fn neutralise(v: &str) -> Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// The columns written, in order (they import back without a mapping).
pub const EXPORT_HEADERS: &[&str] = &[
    "Record ID",
    "Type",
    "First Name",
    "Last Name",
    "Company",
    "Job Title",
    "Stage",
    "Owner",
    "Tags",
    "Email",
    "Email 2",
    "Phone",
    "Phone 2",
    "Street",
    "Address 2",
    "City",
    "Region",
    "Postcode",
    "Country",
    "Source",
    "Date of Birth",
];

impl Store {
    /// Export live contacts to `path` (UTF-8 with BOM so Excel reads accents;
    /// CRLF line ends). Written to a temporary file first and renamed, so an
    /// interrupted export never leaves half a file under the name asked for.
    pub fn export_contacts(&self, path: &Path, on_progress: &mut dyn FnMut(u64)) -> Result<u64> {
        let io = |source| CoreError::Io {
            path: path.to_path_buf(),
            err: source,
        };
        let tmp = path.with_extension("csv.partial");
        let file = File::create(&tmp).map_err(io)?;
        let mut buf = BufWriter::new(file);
        buf.write_all(b"\xEF\xBB\xBF").map_err(io)?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(buf);
        let csv_err = |e: csv::Error| CoreError::Csv {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut custom_keys: Vec<String> = Vec::new();
        {
            let mut st = self
                .conn()
                .prepare("SELECT DISTINCT j.key FROM contacts, json_each(contacts.custom) j WHERE deleted = 0 ORDER BY 1")?;
            let keys = st.query_map([], |r| r.get::<_, String>(0))?;
            for k in keys {
                custom_keys.push(k?);
            }
        }
        let mut header: Vec<String> = EXPORT_HEADERS.iter().map(|s| s.to_string()).collect();
        header.extend(custom_keys.iter().map(|k| format!("custom.{k}")));
        w.write_record(header.iter().map(|h| neutralise(h).into_owned()))
            .map_err(csv_err)?;
        let mut n = 0u64;
        let page = 5_000;
        loop {
            let rows = self.list_contacts(&ContactQuery {
                limit: Some(page),
                offset: n as usize,
                ..Default::default()
            })?;
            if rows.is_empty() {
                break;
            }
            for c in &rows {
                let o = |v: &Option<String>| v.clone().unwrap_or_default();
                let nth = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
                let mut rec: Vec<String> = vec![
                    c.id.to_string(),
                    match c.kind {
                        crate::ContactKind::Person => "person".into(),
                        crate::ContactKind::Company => "company".into(),
                    },
                    o(&c.first_name),
                    o(&c.last_name),
                    o(&c.company_name),
                    o(&c.job_title),
                    c.stage.as_str().into(),
                    o(&c.owner),
                    c.tags.join(", "),
                    nth(&c.emails, 0),
                    c.emails
                        .iter()
                        .skip(1)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; "),
                    nth(&c.phones, 0),
                    c.phones
                        .iter()
                        .skip(1)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; "),
                    o(&c.address_line1),
                    o(&c.address_line2),
                    o(&c.city),
                    o(&c.region),
                    o(&c.postcode),
                    o(&c.country),
                    o(&c.source),
                    o(&c.date_of_birth),
                ];
                for k in &custom_keys {
                    rec.push(c.custom.get(k).cloned().unwrap_or_default());
                }
                w.write_record(rec.iter().map(|v| neutralise(v).into_owned()))
                    .map_err(csv_err)?;
            }
            n += rows.len() as u64;
            on_progress(n);
        }
        let buf = w.into_inner().map_err(|e| io(e.into_error()))?;
        let file = buf.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_starts_are_neutralised_and_others_left_alone() {
        for bad in ["=1+1", "+44 20", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        for ok in ["Ann", "", "1+1", "a=b", "'already"] {
            assert_eq!(neutralise(ok), ok);
        }
    }
}
