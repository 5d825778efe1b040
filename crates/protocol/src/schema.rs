//! The synced tables, their fields and the values each field accepts, as
//! both sides must agree on them.
//!
//! The server refuses any other table or field and any value of the wrong
//! kind ([`Table::check`]), and a new row that lacks a required field
//! ([`Table::missing`]): a value the client's store cannot read back would
//! otherwise reach every device of the tenant and make that record
//! unreadable there. The client's store has the same columns and writes and
//! reads exactly these values (tests in `crm-sync-client` compare the two:
//! every variant of the store's enums, and the ops its write path produces).

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

/// The field every synced row has besides its own: set to `true` by a delete.
pub const DELETED: &str = "deleted";

/// The longest text a [`Kind::Text`] field holds, in characters (names,
/// addresses, a custom field's value, each tag, email and phone).
pub const MAX_TEXT: usize = 2000;
/// The longest text a [`Kind::LongText`] field holds, in characters (a
/// timeline entry's body, a task's notes).
pub const MAX_LONG_TEXT: usize = 100_000;
/// The most items a [`Kind::TextList`] holds (tags, emails, phones).
pub const MAX_LIST: usize = 1000;
/// The most entries a [`Kind::TextMap`] holds (custom fields).
pub const MAX_MAP: usize = 100;
/// The longest name of a [`Kind::TextMap`] entry, in characters.
pub const MAX_MAP_NAME: usize = 64;

/// What a field's value must be (besides `null`, which only an optional
/// field accepts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A JSON string of at most [`MAX_TEXT`] characters.
    Text,
    /// A JSON string of at most [`MAX_LONG_TEXT`] characters.
    LongText,
    /// An ISO 4217 currency code: three capital letters (`GBP`, `EUR`).
    Currency,
    /// A JSON integer within the signed 64-bit range (money is kept in
    /// minor units: pence, cents).
    Integer,
    /// A calendar date as text, `YYYY-MM-DD` (a date that exists).
    Date,
    /// A point in time as RFC 3339 text, e.g. `2025-03-31T09:30:00.000Z`.
    Timestamp,
    /// A record id: a UUID as lowercase hyphenated text (how the store
    /// writes ids and how it compares them).
    RecordId,
    /// A JSON array of at most [`MAX_LIST`] strings of at most
    /// [`MAX_TEXT`] characters each (tags, emails, phones).
    TextList,
    /// A JSON object of at most [`MAX_MAP`] entries, each named by 1 to
    /// [`MAX_MAP_NAME`] characters with a string value of at most
    /// [`MAX_TEXT`] characters (custom fields). Merged entry by entry: each
    /// entry has its own clock ([`entry_clock`]), so two devices that set
    /// different entries keep both. An op carries only the entries it
    /// changes, `null` removing one.
    TextMap,
    /// One of these strings, exactly (an enum of the store, in its serde
    /// form).
    OneOf(&'static [&'static str]),
}

/// One synced field: its name, its kind and whether it may be `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name (the store's column).
    pub name: &'static str,
    /// What its value must be.
    pub kind: Kind,
    /// True when `null` is allowed (an optional field); a required field
    /// must be present in the op that creates a row.
    pub optional: bool,
    /// For a *detail*, how people see it (`"Job title"`); `None` for a
    /// field with behaviour of its own. A detail is an optional text or
    /// choice with no rule beyond its kind (a job title, an address line,
    /// a preferred contact method), so the client handles it by name from
    /// this declaration alone: the store, validation, CSV import and
    /// export, the app's form and contact page, the CLI.
    pub label: Option<&'static str>,
    /// True when a record's quick search looks in it (the contacts list's
    /// search box, `crm contacts list --search`).
    pub searchable: bool,
    /// True when a CSV export writes it (one column, or two for a list's
    /// first item and the rest); false for a value worked out from others
    /// or kept for the machinery.
    pub exported: bool,
    /// True when a CSV import can fill it from a column (by this name, a
    /// known header or, for a detail, its label); false for a value worked
    /// out from others or kept for the machinery. Contacts only: the other
    /// tables are not imported.
    pub imported: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        optional: false,
        label: None,
        searchable: false,
        exported: true,
        imported: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        optional: true,
        label: None,
        searchable: false,
        exported: true,
        imported: true,
    }
}

/// A detail: optional, shown as `label` (see [`Field::label`]). Its kind is
/// [`Kind::Text`], [`Kind::LongText`] or [`Kind::OneOf`].
const fn detail(name: &'static str, kind: Kind, label: &'static str) -> Field {
    Field {
        name,
        kind,
        optional: true,
        label: Some(label),
        searchable: false,
        exported: true,
        imported: true,
    }
}

impl Field {
    /// The same field, looked in by quick search.
    const fn searchable(self) -> Field {
        Field {
            searchable: true,
            ..self
        }
    }

    /// The same field, left out of exports.
    const fn not_exported(self) -> Field {
        Field {
            exported: false,
            ..self
        }
    }

    /// The same field, not filled by a CSV import.
    const fn not_imported(self) -> Field {
        Field {
            imported: false,
            ..self
        }
    }
}

/// One synced table.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Its fields in column order (`deleted` is not among them).
    pub fields: &'static [Field],
    /// The field naming the record a row hangs off, if any.
    pub parent: Option<&'static str>,
}

/// A contact's kind (the store's `ContactKind`).
pub const CONTACT_KINDS: &[&str] = &["person", "company"];
/// A contact's sales stage (the store's `Stage`).
pub const STAGES: &[&str] = &["prospect", "client", "lapsed"];
/// How often a premium is paid (the store's `Frequency`).
pub const PAYMENT_FREQUENCIES: &[&str] =
    &["monthly", "quarterly", "semi_annual", "annual", "single"];
/// A policy's status (the store's `PolicyStatus`).
pub const POLICY_STATUSES: &[&str] = &["quoted", "active", "lapsed", "cancelled", "expired"];
/// How a payment was made (the methods the store records).
pub const PAYMENT_METHODS: &[&str] = &["direct_debit", "card", "bank_transfer", "cash", "cheque"];
/// A task's status (the store's `TaskStatus`).
pub const TASK_STATUSES: &[&str] = &["open", "done", "cancelled"];
/// How a contact prefers to be reached (a detail: the values, in order,
/// are the choices the app offers).
pub const CONTACT_METHODS: &[&str] = &["email", "phone", "text_message", "post"];
/// A timeline entry's kind (the store's `ActivityKind`).
pub const ACTIVITY_KINDS: &[&str] = &["note", "call", "email", "meeting", "status_change"];

/// People and companies.
pub const CONTACTS: Table = Table {
    name: "contacts",
    fields: &[
        req("kind", Kind::OneOf(CONTACT_KINDS)),
        // Worked out from the names: searched, not exported.
        req("display_name", Kind::Text)
            .searchable()
            .not_exported()
            .not_imported(),
        opt("first_name", Kind::Text),
        opt("last_name", Kind::Text),
        opt("company_name", Kind::Text).searchable(),
        detail("job_title", Kind::Text, "Job title"),
        req("stage", Kind::OneOf(STAGES)),
        opt("owner", Kind::Text),
        req("tags", Kind::TextList),
        req("emails", Kind::TextList).searchable(),
        req("phones", Kind::TextList).searchable(),
        detail("address_line1", Kind::Text, "Address line 1"),
        detail("address_line2", Kind::Text, "Address line 2"),
        detail("city", Kind::Text, "City"),
        detail("region", Kind::Text, "Region"),
        detail("postcode", Kind::Text, "Postcode"),
        detail("country", Kind::Text, "Country"),
        detail("source", Kind::Text, "Source"),
        // The old system's id: an export's "Record ID" takes its place.
        opt("external_id", Kind::Text).not_exported(),
        opt("date_of_birth", Kind::Date),
        // Each custom field gets a column of its own, and is imported by
        // a `custom.NAME` column.
        req("custom", Kind::TextMap).not_exported().not_imported(),
        detail(
            "preferred_contact_method",
            Kind::OneOf(CONTACT_METHODS),
            "Preferred contact method",
        ),
    ],
    parent: None,
};

/// Insurance policies, each a contact's.
pub const POLICIES: Table = Table {
    name: "policies",
    fields: &[
        req("contact_id", Kind::RecordId),
        req("policy_number", Kind::Text),
        req("carrier", Kind::Text),
        req("line_of_business", Kind::Text),
        req("premium_minor", Kind::Integer),
        req("currency", Kind::Currency),
        req("payment_frequency", Kind::OneOf(PAYMENT_FREQUENCIES)),
        req("effective_date", Kind::Date),
        opt("expiry_date", Kind::Date),
        req("status", Kind::OneOf(POLICY_STATUSES)),
    ],
    parent: Some("contact_id"),
};

/// Premium instalments and payments, each a policy's.
pub const PAYMENTS: Table = Table {
    name: "payments",
    fields: &[
        req("policy_id", Kind::RecordId),
        req("due_date", Kind::Date),
        req("amount_due_minor", Kind::Integer),
        req("amount_paid_minor", Kind::Integer),
        opt("paid_date", Kind::Date),
        opt("method", Kind::OneOf(PAYMENT_METHODS)),
        opt("reference", Kind::Text),
    ],
    parent: Some("policy_id"),
};

/// Tasks and next steps.
pub const TASKS: Table = Table {
    name: "tasks",
    fields: &[
        req("title", Kind::Text),
        opt("due_date", Kind::Date),
        req("status", Kind::OneOf(TASK_STATUSES)),
        opt("contact_id", Kind::RecordId),
        opt("assignee", Kind::Text),
        opt("notes", Kind::LongText),
    ],
    parent: Some("contact_id"),
};

/// A contact's timeline.
pub const ACTIVITIES: Table = Table {
    name: "activities",
    fields: &[
        req("contact_id", Kind::RecordId),
        req("kind", Kind::OneOf(ACTIVITY_KINDS)),
        req("body", Kind::LongText),
        req("occurred_at", Kind::Timestamp),
        req("actor", Kind::Text),
    ],
    parent: Some("contact_id"),
};

/// The synced tables, each with its fields in column order.
pub const TABLES: &[Table] = &[CONTACTS, POLICIES, PAYMENTS, TASKS, ACTIVITIES];

/// The clock name of entry `key` of map field `field` (a
/// [`Kind::TextMap`]): `custom.score`. An entry without a clock of its own
/// was written with the field's.
pub fn entry_clock(field: &str, key: &str) -> String {
    format!("{field}.{key}")
}

/// The synced table called `name`, if there is one.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The field names of a synced table in column order, or `None` if there
/// is no such table.
pub fn fields(table_name: &str) -> Option<Vec<&'static str>> {
    table(table_name).map(|t| t.names().collect())
}

/// The field of a row that names the record it hangs off, if any:
/// policies, tasks and activities hang off a contact, payments off a policy.
pub fn parent_field(table_name: &str) -> Option<&'static str> {
    table(table_name).and_then(|t| t.parent)
}

/// Why an op's fields were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The table has no such field.
    #[error("table {table} has no field {field:?}")]
    UnknownField {
        /// The table.
        table: &'static str,
        /// The name given (cut to 64 characters).
        field: String,
    },
    /// A value of the wrong kind.
    #[error("{table}.{field}: got {given}, expected {expected}")]
    BadValue {
        /// The table.
        table: &'static str,
        /// The field.
        field: &'static str,
        /// The value given, as JSON, cut to 80 characters.
        given: String,
        /// What the field accepts.
        expected: String,
    },
}

impl Table {
    /// The field names in column order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().map(|f| f.name)
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Check an op's fields: every name is a field of this table (or
    /// `deleted`, which can only be set to `true`) and every value is of
    /// the field's kind. The first problem found, in field-name order.
    pub fn check(&self, fields: &BTreeMap<String, Value>) -> Result<(), FieldError> {
        for (name, value) in fields {
            if name == DELETED {
                if value != &Value::Bool(true) {
                    return Err(FieldError::BadValue {
                        table: self.name,
                        field: DELETED,
                        given: shown(value),
                        expected: "true (a row is deleted by setting `deleted` to true; it cannot be undeleted)".into(),
                    });
                }
                continue;
            }
            let Some(field) = self.field(name) else {
                return Err(FieldError::UnknownField {
                    table: self.name,
                    field: name.chars().take(64).collect(),
                });
            };
            field
                .check(value)
                .map_err(|expected| FieldError::BadValue {
                    table: self.name,
                    field: field.name,
                    given: shown(value),
                    expected,
                })?;
        }
        Ok(())
    }

    /// The required fields an op creating a row leaves out (it must carry
    /// them all, or the row cannot be stored on the devices that pull it).
    pub fn missing(&self, fields: &BTreeMap<String, Value>) -> Vec<&'static str> {
        self.fields
            .iter()
            .filter(|f| !f.optional && !fields.contains_key(f.name))
            .map(|f| f.name)
            .collect()
    }
}

impl Field {
    /// Check one value; on a mismatch, say what the field accepts.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        if v.is_null() {
            return if self.optional {
                Ok(())
            } else {
                Err(self.expected())
            };
        }
        // PostgreSQL's text and jsonb cannot hold U+0000, and no field of
        // the store means one: text of any kind with a NUL is refused with
        // its own message (what to do), not as a value of the wrong kind.
        if has_nul(v) {
            return Err(format!(
                "{}, without NUL characters (U+0000): remove them from the value",
                self.expected()
            ));
        }
        let text = |v: &Value, max: usize| v.as_str().is_some_and(|s| within(s, max));
        let ok = match self.kind {
            Kind::Text => text(v, MAX_TEXT),
            Kind::LongText => text(v, MAX_LONG_TEXT),
            Kind::Currency => v
                .as_str()
                .is_some_and(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())),
            Kind::Integer => v.as_i64().is_some(),
            Kind::Date => v.as_str().is_some_and(is_date),
            Kind::Timestamp => v.as_str().is_some_and(is_timestamp),
            Kind::RecordId => v.as_str().is_some_and(is_record_id),
            Kind::TextList => v
                .as_array()
                .is_some_and(|a| a.len() <= MAX_LIST && a.iter().all(|i| text(i, MAX_TEXT))),
            Kind::TextMap => v.as_object().is_some_and(|m| {
                m.len() <= MAX_MAP
                    && m.iter().all(|(k, v)| {
                        !k.trim().is_empty()
                            && within(k, MAX_MAP_NAME)
                            && (v.is_null() || text(v, MAX_TEXT))
                    })
            }),
            Kind::OneOf(allowed) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        };
        if ok {
            Ok(())
        } else {
            Err(self.expected())
        }
    }

    /// What the field accepts, for people.
    pub fn expected(&self) -> String {
        let what = match self.kind {
            Kind::Text => format!("text of at most {MAX_TEXT} characters"),
            Kind::LongText => format!("text of at most {MAX_LONG_TEXT} characters"),
            Kind::Currency => "a currency code: three capital letters (e.g. GBP, EUR)".to_string(),
            Kind::Integer => "a whole number (minor units, e.g. 4250 for 42.50)".to_string(),
            Kind::Date => "a date as YYYY-MM-DD".to_string(),
            Kind::Timestamp => "a time as RFC 3339 (e.g. 2025-03-31T09:30:00.000Z)".to_string(),
            Kind::RecordId => "a record id (lowercase hyphenated UUID)".to_string(),
            Kind::TextList => {
                format!("a list of at most {MAX_LIST} strings of at most {MAX_TEXT} characters")
            }
            Kind::TextMap => format!(
                "an object of at most {MAX_MAP} strings of at most {MAX_TEXT} characters \
                 (or null, to remove one), named by 1 to {MAX_MAP_NAME} characters"
            ),
            Kind::OneOf(allowed) => format!("one of {}", allowed.join(", ")),
        };
        if self.optional {
            format!("{what} or null")
        } else {
            what
        }
    }
}

/// True when a string in `v` (a string, a list's items, an object's names
/// and values) holds a NUL character.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// At most `max` characters (counted without walking short strings: a
/// character is at least one byte).
fn within(s: &str, max: usize) -> bool {
    s.len() <= max || s.chars().count() <= max
}

/// A value as JSON, cut to 80 characters for a message.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 80 {
        s
    } else {
        let mut cut: String = s.chars().take(77).collect();
        cut.push('…');
        cut
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD`, a day that exists (leap years counted).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&s[0..4]), digits(&s[5..7]), digits(&s[8..10]))
    else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_timestamp(s: &str) -> bool {
    if !s.is_ascii() || s.len() < 20 || !is_date(&s[..10]) {
        return false;
    }
    let b = s.as_bytes();
    if !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let in_range = |part: &str, max: u32| digits(part).is_some_and(|n| n <= max) && part.len() == 2;
    if !(in_range(&s[11..13], 23) && in_range(&s[14..16], 59) && in_range(&s[17..19], 60)) {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => true,
        _ => {
            let o = rest.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[3] == b':'
                && in_range(&rest[1..3], 23)
                && in_range(&rest[4..6], 59)
        }
    }
}

/// A UUID in the one text form the store writes (lowercase, hyphenated).
fn is_record_id(s: &str) -> bool {
    Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn known_tables_have_fields_and_unknown_ones_do_not() {
        assert!(fields("contacts").is_some_and(|f| f.contains(&"owner")));
        assert!(fields("payments").is_some_and(|f| f.contains(&"policy_id")));
        assert_eq!(fields("users"), None);
        assert_eq!(fields(""), None);
        assert_eq!(parent_field("payments"), Some("policy_id"));
        assert_eq!(parent_field("contacts"), None);
    }

    #[test]
    fn no_table_declares_the_deleted_field_itself_or_a_field_twice() {
        for t in TABLES {
            assert!(t.field(DELETED).is_none(), "{}", t.name);
            let mut names: Vec<_> = t.names().collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.fields.len(), "{}", t.name);
            if let Some(p) = t.parent {
                assert_eq!(t.field(p).map(|f| f.kind), Some(Kind::RecordId));
            }
        }
    }

    #[test]
    fn texts_lists_maps_and_currencies_are_bounded_at_their_limits_and_no_further() {
        let contacts = table("contacts").expect("contacts");
        let policies = table("policies").expect("policies");
        let activities = table("activities").expect("activities");
        let long = |n: usize| "é".repeat(n);
        // Characters are counted, not bytes: 2000 two-byte characters pass.
        assert!(contacts.check(&op(json!({"city": long(MAX_TEXT)}))).is_ok());
        let err = contacts
            .check(&op(json!({"city": long(MAX_TEXT + 1)})))
            .expect_err("too long");
        assert!(
            err.to_string()
                .ends_with("expected text of at most 2000 characters or null"),
            "{err}"
        );
        assert!(activities
            .check(&op(json!({"body": long(MAX_LONG_TEXT)})))
            .is_ok());
        assert!(activities
            .check(&op(json!({"body": long(MAX_LONG_TEXT + 1)})))
            .is_err());
        let tags = |n: usize, each: usize| json!({"tags": vec![long(each); n]});
        assert!(contacts.check(&op(tags(MAX_LIST, 1))).is_ok());
        assert!(contacts.check(&op(tags(MAX_LIST + 1, 1))).is_err());
        assert!(contacts.check(&op(tags(1, MAX_TEXT))).is_ok());
        assert!(contacts.check(&op(tags(1, MAX_TEXT + 1))).is_err());
        let custom = |n: usize, name: &str, value: usize| {
            let m: serde_json::Map<String, Value> = (0..n)
                .map(|i| (format!("{name}{i}"), json!(long(value))))
                .collect();
            json!({ "custom": m })
        };
        assert!(contacts.check(&op(custom(MAX_MAP, "f", MAX_TEXT))).is_ok());
        assert!(contacts.check(&op(custom(MAX_MAP + 1, "f", 1))).is_err());
        assert!(contacts.check(&op(custom(1, "f", MAX_TEXT + 1))).is_err());
        assert!(contacts
            .check(&op(custom(1, &"n".repeat(MAX_MAP_NAME - 1), 1)))
            .is_ok());
        assert!(contacts
            .check(&op(custom(1, &"n".repeat(MAX_MAP_NAME), 1)))
            .is_err());
        assert!(contacts.check(&op(json!({"custom": {" ": "x"}}))).is_err());
        for good in ["GBP", "EUR", "CHF"] {
            assert!(policies.check(&op(json!({ "currency": good }))).is_ok());
        }
        for bad in ["gbp", "GB", "GBPX", "G€P", "", "12A"] {
            let err = policies
                .check(&op(json!({ "currency": bad })))
                .expect_err("not a currency");
            assert!(err.to_string().contains("three capital letters"), "{err}");
        }
    }

    #[test]
    fn values_of_the_wrong_kind_are_refused_naming_field_value_and_expectation() {
        let contacts = table("contacts").expect("contacts");
        let err = contacts
            .check(&op(json!({"stage": "lead"})))
            .expect_err("not a stage");
        assert_eq!(
            err.to_string(),
            "contacts.stage: got \"lead\", expected one of prospect, client, lapsed"
        );
        let policies = table("policies").expect("policies");
        let err = policies
            .check(&op(json!({"premium_minor": "abc"})))
            .expect_err("not a number");
        assert!(
            err.to_string()
                .starts_with("policies.premium_minor: got \"abc\", expected a whole number"),
            "{err}"
        );
        for bad in [
            json!({"premium_minor": 12.5}),
            json!({"premium_minor": null}),
            json!({"premium_minor": 18446744073709551615u64}),
            json!({"effective_date": "2025-02-29"}),
            json!({"effective_date": "31/03/2025"}),
            json!({"effective_date": "2025-3-1"}),
            json!({"expiry_date": 20250101}),
            json!({"contact_id": "not-a-uuid"}),
            json!({"contact_id": "0192F0C4-0000-7000-8000-000000000000"}),
            json!({"contact_id": "0192f0c400007000800000000000000a"}),
            json!({"status": "Active"}),
        ] {
            assert!(
                matches!(
                    policies.check(&op(bad.clone())),
                    Err(FieldError::BadValue { .. })
                ),
                "{bad}"
            );
        }
        for bad in [
            json!({"tags": "vip"}),
            json!({"tags": ["vip", 1]}),
            json!({"custom": {"score": 5}}),
            json!({"custom": ["x"]}),
            json!({"kind": "robot"}),
            json!({"display_name": 7}),
            json!({"display_name": null}),
            json!({"date_of_birth": "1980-13-01"}),
            json!({"deleted": false}),
        ] {
            assert!(
                matches!(
                    contacts.check(&op(bad.clone())),
                    Err(FieldError::BadValue { .. })
                ),
                "{bad}"
            );
        }
        let activities = table("activities").expect("activities");
        for bad in [
            "2025-03-31",
            "2025-03-31T25:00:00Z",
            "2025-03-31T10:00:00",
            "2025-03-31T10:00:00.Z",
            "2025-03-31T10:00:00+1:00",
        ] {
            assert!(
                activities.check(&op(json!({"occurred_at": bad}))).is_err(),
                "{bad}"
            );
        }
        let long = "x".repeat(500);
        let err = contacts
            .check(&op(json!({"stage": long})))
            .expect_err("long");
        let FieldError::BadValue { given, .. } = err else {
            panic!("bad value expected");
        };
        assert!(
            given.chars().count() <= 80 && given.ends_with('…'),
            "{given}"
        );
    }

    #[test]
    fn a_nul_in_text_of_any_kind_is_refused_naming_the_field_and_what_to_do() {
        let contacts = table("contacts").expect("contacts");
        let tasks = table("tasks").expect("tasks");
        for (t, bad) in [
            (contacts, json!({"city": "Le\u{0}eds"})),
            (contacts, json!({"display_name": "\u{0}"})),
            (contacts, json!({"tags": ["vip", "a\u{0}"]})),
            (contacts, json!({"custom": {"score": "5\u{0}"}})),
            (contacts, json!({"custom": {"sc\u{0}ore": "5"}})),
            (contacts, json!({"stage": "client\u{0}"})),
            (tasks, json!({"notes": "x\u{0}"})),
            (tasks, json!({"due_date": "2025-01-01\u{0}"})),
        ] {
            let err = t.check(&op(bad.clone())).expect_err("a NUL");
            let FieldError::BadValue {
                field, expected, ..
            } = &err
            else {
                panic!("bad value expected: {err}");
            };
            assert!(bad.get(*field).is_some(), "{err}");
            assert!(
                expected.contains("without NUL characters (U+0000): remove them"),
                "{err}"
            );
        }
        // Other control characters stay allowed (line breaks, tabs).
        assert!(tasks.check(&op(json!({"notes": "a\n\tb"}))).is_ok());
    }

    #[test]
    fn good_values_pass_and_optional_fields_take_null() {
        let contacts = table("contacts").expect("contacts");
        contacts
            .check(&op(json!({
                "kind": "company", "display_name": "Acme", "stage": "client", "owner": null,
                "tags": ["vip"], "emails": [], "phones": ["+447911123456"], "custom": {"score": "5"},
                "date_of_birth": "2000-02-29", "city": null, "deleted": true
            })))
            .expect("valid");
        table("activities")
            .expect("activities")
            .check(&op(
                json!({"occurred_at": "2025-03-31T10:00:00.123Z", "kind": "status_change",
                "contact_id": "0192f0c4-0000-7000-8000-00000000000a"}),
            ))
            .expect("valid");
        table("activities")
            .expect("activities")
            .check(&op(json!({"occurred_at": "2025-03-31T10:00:00+01:00"})))
            .expect("valid");
        table("tasks")
            .expect("tasks")
            .check(&op(
                json!({"contact_id": null, "due_date": null, "status": "done"}),
            ))
            .expect("valid");
    }

    #[test]
    fn unknown_fields_are_refused_and_a_new_row_must_carry_its_required_fields() {
        let contacts = table("contacts").expect("contacts");
        assert!(matches!(
            contacts.check(&op(json!({"password": "x"}))),
            Err(FieldError::UnknownField { .. })
        ));
        let missing = contacts.missing(&op(json!({"display_name": "Ann", "city": "Leeds"})));
        assert_eq!(
            missing,
            ["kind", "stage", "tags", "emails", "phones", "custom"]
        );
        assert!(table("tasks")
            .expect("tasks")
            .missing(&op(json!({"title": "Call", "status": "open"})))
            .is_empty());
    }
}
