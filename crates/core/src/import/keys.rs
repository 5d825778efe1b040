//! The key of a row without email or external id: what makes importing
//! the same file twice update the contacts it made instead of adding them
//! again.

use super::*;

/// The fields of a row's key besides the name, company, postcode, date of
/// birth and phones: two rows that differ in one of them are different
/// people (John Smith in London and John Smith in Leeds).
pub(crate) fn extra_fields(d: &ContactDraft) -> [Option<&str>; 7] {
    // A key, not a field list: a detail declared later stays out of it, so
    // a file imported before keeps matching the contacts it made.
    [
        "job_title",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "country",
        "source",
    ]
    .map(|f| d.details.get(f))
}

/// The key of a row without email or external id: every field it has.
pub(crate) fn row_fingerprint(d: &ContactDraft) -> String {
    let mut h = Sha256::new();
    h.update(identity_fingerprint(d).as_bytes());
    hash_texts(&mut h, extra_fields(d));
    format!("fp2:{}", hex::encode(&h.finalize()[..16]))
}

/// Hash optional texts as a fingerprint compares them: trimmed, case
/// folded, each ended by a NUL.
pub(crate) fn hash_texts<'a>(h: &mut Sha256, parts: impl IntoIterator<Item = Option<&'a str>>) {
    for part in parts {
        h.update(part.unwrap_or("").trim().to_lowercase().as_bytes());
        h.update([0]);
    }
}

/// The part of [`row_fingerprint`] that names the person: the first
/// builds stored it alone (as the key itself), and the row key still
/// hashes it, so keys stay as they were.
pub(crate) fn identity_fingerprint(d: &ContactDraft) -> String {
    let mut h = Sha256::new();
    hash_texts(
        &mut h,
        [
            d.first_name.as_deref(),
            d.last_name.as_deref(),
            d.full_name.as_deref(),
            d.company_name.as_deref(),
            d.details.get("postcode"),
            d.date_of_birth.as_deref(),
        ],
    );
    for p in &d.phones {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("fp:{}", hex::encode(&h.finalize()[..16]))
}
