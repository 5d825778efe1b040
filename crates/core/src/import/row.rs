//! One row of the file: its cells decoded and validated into a contact
//! draft (on the producer thread), and an imported draft merged into the
//! contact it matches.

use super::*;

/// Decode one record into what the writer needs (or the row's problem).
pub(super) fn parse_row(
    rec: &csv::ByteRecord,
    row: u64,
    cells: &Cells,
    columns: &[ColumnMapping],
    header_len: usize,
    region: crate::normalize::Region,
) -> Msg {
    if rec
        .iter()
        .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
    {
        return Msg::Blank;
    }
    let problem = |column: Option<&str>, reason: String| {
        Msg::Problem(RowProblem {
            row,
            column: column.map(str::to_string),
            reason,
        })
    };
    if rec.len() != header_len {
        // Trailing empty cells (a common spreadsheet artefact) are harmless.
        let extra_empty =
            rec.len() > header_len && rec.iter().skip(header_len).all(|f| f.is_empty());
        if !extra_empty {
            return problem(
                None,
                format!(
                    "has {} fields but the header has {}; check for an unquoted delimiter or a missing quote",
                    rec.len(),
                    header_len
                ),
            );
        }
    }
    let mut draft = ContactDraft::default();
    let mut emails = Vec::new();
    for m in columns {
        let Some(field) = m.field.as_deref() else {
            continue;
        };
        let raw = rec.get(m.index).unwrap_or(b"");
        let Some(text) = cells.text(raw) else {
            return problem(
                Some(&m.header),
                "contains bytes that are not valid UTF-8; save the file as \"CSV UTF-8\" and import again".into(),
            );
        };
        let value = unneutralise(text.trim());
        if value.is_empty() {
            continue;
        }
        // Validate cell by cell so the report can name the column.
        match field {
            "email" => {
                for part in value
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    match normalize::email(part) {
                        Ok(e) => emails.push(e),
                        Err(r) => return problem(Some(&m.header), format!("invalid email: {r}")),
                    }
                }
            }
            "phone" => {
                // Several numbers in one cell (our own export writes the
                // second and later ones so) are separated by semicolons.
                for part in normalize::split_phones(value) {
                    match normalize::phone(part, region) {
                        // Store the normalised form so the writer need not
                        // parse again.
                        Ok(p) => draft.phones.push(p),
                        Err(r) => return problem(Some(&m.header), format!("invalid phone: {r}")),
                    }
                }
                draft.phones_verified = true;
                continue;
            }
            "date_of_birth" if normalize::is_unknown_date(value) => continue,
            "date_of_birth" => {
                if let Err(r) = normalize::date(value) {
                    return problem(Some(&m.header), format!("invalid date: {r}"));
                }
            }
            "stage" if crate::Stage::parse(value).is_none() => {
                return problem(
                    Some(&m.header),
                    format!(
                        "{:?} is not a stage (prospect, client or lapsed)",
                        normalize::clip(value)
                    ),
                );
            }
            _ => {}
        }
        if let Err(e) = draft.set(field, value) {
            return problem(Some(&m.header), e.reason);
        }
    }
    // Whole-row checks (a name or an email or a phone, field lengths).
    let validated = match draft.validate(Uuid::nil(), region) {
        Ok(c) => c,
        Err(errs) => {
            let first = &errs[0];
            let col = columns
                .iter()
                .find(|m| m.field.as_deref() == Some(first.field.as_str()))
                .map(|m| m.header.as_str());
            return problem(col, format!("{}: {}", first.field, first.reason));
        }
    };
    let fp = (emails.is_empty() && draft.external_id.is_none()).then(|| row_fingerprint(&draft));
    let new = crate::contacts::NewContact::new(&validated).ok();
    Msg::Row(Box::new(ParsedRow {
        row,
        draft,
        emails,
        fingerprint: fp,
        validated,
        new,
    }))
}

/// Merge imported values into an existing contact: non-empty imported
/// values win, lists are unioned. Nothing already stored is dropped.
pub(super) fn merge(existing: &Contact, incoming: &ContactDraft) -> ContactDraft {
    let mut d = ContactDraft::from_contact(existing);
    macro_rules! take {
        ($($f:ident),*) => { $( if incoming.$f.is_some() { d.$f = incoming.$f.clone(); } )* };
    }
    take!(
        kind,
        first_name,
        last_name,
        company_name,
        stage,
        owner,
        external_id,
        date_of_birth
    );
    for (f, v) in incoming.details.iter() {
        if let Some(v) = v {
            d.details.set(f.name, Some(v.to_string()));
        }
    }
    if incoming.full_name.is_some() && incoming.first_name.is_none() && incoming.last_name.is_none()
    {
        d.first_name = None;
        d.last_name = None;
        d.full_name = incoming.full_name.clone();
    }
    for t in &incoming.tags {
        if !d.tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            d.tags.push(t.clone());
        }
    }
    for p in &incoming.phones {
        if !d.phones.contains(p) {
            d.phones.push(p.clone());
        }
    }
    for (k, v) in &incoming.custom {
        d.custom.insert(k.clone(), v.clone());
    }
    d
}
