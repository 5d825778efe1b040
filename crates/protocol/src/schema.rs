//! The synced tables and their fields, as both sides must agree on them.
//!
//! The server validates pushed ops against this list (an unknown table or
//! field is refused); the client's store has the same columns (a test in the
//! sync client compares the two).

/// The field every synced row has besides its own: set to `true` by a delete.
pub const DELETED: &str = "deleted";

/// The synced tables, each with its fields in column order.
pub const TABLES: &[(&str, &[&str])] = &[
    (
        "contacts",
        &[
            "kind",
            "display_name",
            "first_name",
            "last_name",
            "company_name",
            "job_title",
            "stage",
            "owner",
            "tags",
            "emails",
            "phones",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postcode",
            "country",
            "source",
            "external_id",
            "date_of_birth",
            "custom",
        ],
    ),
    (
        "policies",
        &[
            "contact_id",
            "policy_number",
            "carrier",
            "line_of_business",
            "premium_minor",
            "currency",
            "payment_frequency",
            "effective_date",
            "expiry_date",
            "status",
        ],
    ),
    (
        "payments",
        &[
            "policy_id",
            "due_date",
            "amount_due_minor",
            "amount_paid_minor",
            "paid_date",
            "method",
            "reference",
        ],
    ),
    (
        "tasks",
        &[
            "title",
            "due_date",
            "status",
            "contact_id",
            "assignee",
            "notes",
        ],
    ),
    (
        "activities",
        &["contact_id", "kind", "body", "occurred_at", "actor"],
    ),
];

/// The fields of a synced table, or `None` if there is no such table.
pub fn fields(table: &str) -> Option<&'static [&'static str]> {
    TABLES.iter().find(|(t, _)| *t == table).map(|(_, f)| *f)
}

/// The field of a row that names the record it hangs off, if any:
/// policies, tasks and activities hang off a contact, payments off a policy.
pub fn parent_field(table: &str) -> Option<&'static str> {
    match table {
        "policies" | "tasks" | "activities" => Some("contact_id"),
        "payments" => Some("policy_id"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tables_have_fields_and_unknown_ones_do_not() {
        assert!(fields("contacts").is_some_and(|f| f.contains(&"owner")));
        assert!(fields("payments").is_some_and(|f| f.contains(&"policy_id")));
        assert_eq!(fields("users"), None);
        assert_eq!(fields(""), None);
    }

    #[test]
    fn no_table_declares_the_deleted_field_itself() {
        for (t, f) in TABLES {
            assert!(!f.contains(&DELETED), "{t}");
        }
    }
}
