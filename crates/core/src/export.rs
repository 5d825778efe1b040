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

use crm_protocol::schema::Field;

use crate::details::Declared;
use crate::error::{CoreError, Result};
use crate::store::Store;
use crate::{Contact, ContactQuery};

/// Neutralise a cell that a spreadsheet would read as a formula.
pub fn neutralise(v: &str) -> Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// One column of the export.
#[derive(Clone, Copy)]
enum Column {
    /// The contact's own id ("Record ID": a re-import updates the contact).
    Id,
    /// A declared field's value (the first item of a list).
    Field(&'static Field),
    /// A list's second and later items, `; ` separated.
    Rest(&'static Field),
}

/// The columns written, in declared order, with their headers (they import
/// back without a mapping): every contact field declared `exported`, a
/// detail under its label, so a new one is exported as declared.
fn columns() -> Vec<(&'static str, Column)> {
    let mut out = vec![("Record ID", Column::Id)];
    for f in Contact::TABLE.fields {
        if !f.exported {
            continue;
        }
        let header = match (f.name, f.label) {
            (_, Some(label)) => label,
            ("kind", _) => "Type",
            ("first_name", _) => "First Name",
            ("last_name", _) => "Last Name",
            ("company_name", _) => "Company",
            ("stage", _) => "Stage",
            ("owner", _) => "Owner",
            ("tags", _) => "Tags",
            ("emails", _) => "Email",
            ("phones", _) => "Phone",
            ("date_of_birth", _) => "Date of Birth",
            // A field declared without a header here is a test failure
            // (`every_declared_field_has_a_column`), not a silent gap.
            (name, _) => name,
        };
        out.push((header, Column::Field(f)));
        match f.name {
            "emails" => out.push(("Email 2", Column::Rest(f))),
            "phones" => out.push(("Phone 2", Column::Rest(f))),
            _ => {}
        }
    }
    out
}

/// A contact's value for one column, as text.
fn value(c: &Contact, col: Column) -> String {
    let list = |name: &str| match name {
        "emails" => &c.emails,
        "phones" => &c.phones,
        _ => &c.tags,
    };
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match col {
        Column::Id => c.id.to_string(),
        Column::Rest(f) => list(f.name)
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join("; "),
        Column::Field(f) if f.label.is_some() => c.details.get(f.name).unwrap_or("").to_string(),
        Column::Field(f) => match f.name {
            "kind" => match c.kind {
                crate::ContactKind::Person => "person".into(),
                crate::ContactKind::Company => "company".into(),
            },
            "first_name" => o(&c.first_name),
            "last_name" => o(&c.last_name),
            "company_name" => o(&c.company_name),
            "stage" => c.stage.as_str().into(),
            "owner" => o(&c.owner),
            "tags" => c.tags.join(", "),
            "emails" | "phones" => list(f.name).first().cloned().unwrap_or_default(),
            "date_of_birth" => o(&c.date_of_birth),
            _ => String::new(),
        },
    }
}

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
        let columns = columns();
        let mut header: Vec<String> = columns.iter().map(|(h, _)| h.to_string()).collect();
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
                let mut rec: Vec<String> = columns.iter().map(|(_, col)| value(c, *col)).collect();
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
    use super::{columns, neutralise, value, Column};
    use crate::details::Declared;
    use crate::Contact;

    #[test]
    fn every_declared_field_has_a_column() {
        let cols = columns();
        for f in Contact::TABLE.fields {
            let exported = cols
                .iter()
                .any(|(h, c)| matches!(c, Column::Field(x) if x.name == f.name) && *h != f.name);
            assert_eq!(
                exported,
                f.exported,
                "contacts.{} is declared {} but {} (give it a label, or a header in \
                 export::columns)",
                f.name,
                if f.exported {
                    "exported"
                } else {
                    "not exported"
                },
                if exported {
                    "has a column"
                } else {
                    "has no column with a header"
                },
            );
        }
    }

    #[test]
    fn a_detail_is_exported_under_its_label() {
        let mut d = crate::ContactDraft::default();
        d.set("first_name", "Ann").expect("set");
        d.set("preferred_contact_method", "post").expect("set");
        let c = d
            .validate(uuid::Uuid::nil(), crate::normalize::Region::GB)
            .expect("valid");
        let (i, _) = columns()
            .into_iter()
            .enumerate()
            .find(|(_, (h, _))| *h == "Preferred contact method")
            .expect("a column");
        assert_eq!(value(&c, columns()[i].1), "post");
    }

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
