//! The server's idea of the synced tables equals the client store's: the
//! same columns, enum values that are exactly the store's serde forms, every
//! op the store's write path produces passes the server's value check, and
//! every row the server's check lets through is one the store can read back.

use std::collections::{BTreeMap, BTreeSet};

use crm_core::{
    ActivityKind, ContactDraft, ContactKind, FixedPassphrase, Frequency, KeyStoreChoice,
    PolicyDraft, PolicyStatus, Stage, Store, Table, TaskDraft, TaskStatus,
};
use crm_protocol::schema::{self, Kind};
use crm_protocol::wire::RowState;
use crm_protocol::Hlc;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

const CORE_TABLES: [Table; 5] = [
    Table::Contacts,
    Table::Policies,
    Table::Payments,
    Table::Tasks,
    Table::Activities,
];

#[test]
fn protocol_schema_matches_the_core_tables() {
    assert_eq!(schema::TABLES.len(), CORE_TABLES.len());
    for t in CORE_TABLES {
        assert_eq!(
            schema::fields(t.name()).as_deref(),
            Some(t.fields()),
            "table {}",
            t.name()
        );
    }
}

/// Every variant of a store enum, in serde form. Each list is built by an
/// exhaustive `match`, so a variant added to the store does not compile
/// here until it is listed (and then the schema must take it too).
fn serde_forms<T: Serialize>(all: &[T]) -> BTreeSet<String> {
    all.iter()
        .map(|v| match serde_json::to_value(v) {
            Ok(Value::String(s)) => s,
            other => panic!("an enum serialises as a string, got {other:?}"),
        })
        .collect()
}

fn contact_kinds() -> Vec<ContactKind> {
    let all = vec![ContactKind::Person, ContactKind::Company];
    for v in &all {
        match v {
            ContactKind::Person | ContactKind::Company => {}
        }
    }
    all
}

fn stages() -> Vec<Stage> {
    let all = vec![Stage::Prospect, Stage::Client, Stage::Lapsed];
    for v in &all {
        match v {
            Stage::Prospect | Stage::Client | Stage::Lapsed => {}
        }
    }
    all
}

fn frequencies() -> Vec<Frequency> {
    let all = vec![
        Frequency::Monthly,
        Frequency::Quarterly,
        Frequency::SemiAnnual,
        Frequency::Annual,
        Frequency::Single,
    ];
    for v in &all {
        match v {
            Frequency::Monthly
            | Frequency::Quarterly
            | Frequency::SemiAnnual
            | Frequency::Annual
            | Frequency::Single => {}
        }
    }
    all
}

fn policy_statuses() -> Vec<PolicyStatus> {
    let all = vec![
        PolicyStatus::Quoted,
        PolicyStatus::Active,
        PolicyStatus::Lapsed,
        PolicyStatus::Cancelled,
        PolicyStatus::Expired,
    ];
    for v in &all {
        match v {
            PolicyStatus::Quoted
            | PolicyStatus::Active
            | PolicyStatus::Lapsed
            | PolicyStatus::Cancelled
            | PolicyStatus::Expired => {}
        }
    }
    all
}

fn task_statuses() -> Vec<TaskStatus> {
    let all = vec![TaskStatus::Open, TaskStatus::Done, TaskStatus::Cancelled];
    for v in &all {
        match v {
            TaskStatus::Open | TaskStatus::Done | TaskStatus::Cancelled => {}
        }
    }
    all
}

fn activity_kinds() -> Vec<ActivityKind> {
    let all = vec![
        ActivityKind::Note,
        ActivityKind::Call,
        ActivityKind::Email,
        ActivityKind::Meeting,
        ActivityKind::StatusChange,
    ];
    for v in &all {
        match v {
            ActivityKind::Note
            | ActivityKind::Call
            | ActivityKind::Email
            | ActivityKind::Meeting
            | ActivityKind::StatusChange => {}
        }
    }
    all
}

fn one_of(table: &str, field: &str) -> BTreeSet<String> {
    match schema::table(table)
        .and_then(|t| t.field(field))
        .map(|f| f.kind)
    {
        Some(Kind::OneOf(values)) => values.iter().map(|s| s.to_string()).collect(),
        other => panic!("{table}.{field} is not an enum in the schema: {other:?}"),
    }
}

/// The schema's enum fields take exactly the store's variants, and each
/// allowed value reads back as one.
#[test]
fn enum_fields_accept_exactly_the_store_variants() {
    fn same<T: Serialize + serde::de::DeserializeOwned>(table: &str, field: &str, all: &[T]) {
        let allowed = one_of(table, field);
        assert_eq!(allowed, serde_forms(all), "{table}.{field}");
        for v in &allowed {
            serde_json::from_value::<T>(json!(v))
                .unwrap_or_else(|e| panic!("{table}.{field} = {v:?} does not read back: {e}"));
        }
    }
    same("contacts", "kind", &contact_kinds());
    same("contacts", "stage", &stages());
    same("policies", "payment_frequency", &frequencies());
    same("policies", "status", &policy_statuses());
    same("tasks", "status", &task_statuses());
    same("activities", "kind", &activity_kinds());
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let pass = FixedPassphrase(Zeroizing::new("profile passphrase".into()));
    let store = Store::create(dir.path(), KeyStoreChoice::Passphrase, &pass).expect("profile");
    (dir, store)
}

/// Payment methods are not an enum in the store but a list it checks
/// (`PAYMENT_METHODS`), which must be the schema's; the store refuses any
/// other and records each of them.
#[test]
fn payment_methods_are_the_ones_the_store_records() {
    let (_dir, mut s) = store();
    let mut d = ContactDraft::default();
    d.set("first_name", "Ann").expect("draft");
    let c = s.create_contact(&d).expect("contact");
    let p = s
        .create_policy(&PolicyDraft {
            contact_id: Some(c.id),
            policy_number: "P-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "motor".into(),
            premium: "10".into(),
            effective: "2025-01-01".into(),
            ..PolicyDraft::default()
        })
        .expect("policy");
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).expect("date");
    let err = s
        .record_payment(p.id, "1", day, "no such method", None)
        .expect_err("an unknown method");
    assert!(err.to_string().contains("is not one of"), "{err}");
    let listed: BTreeSet<String> = crm_core::PAYMENT_METHODS
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(listed, one_of("payments", "method"));
    for m in one_of("payments", "method") {
        let pay = s
            .record_payment(p.id, "1", day, &m, None)
            .expect("recorded");
        assert_eq!(pay.method.as_deref(), Some(m.as_str()));
    }
}

/// Every op the store's write path produces, for every table and the usual
/// edits, passes the server's check; every op creating a row carries every
/// required field.
#[test]
fn every_op_the_store_writes_passes_the_server_check() {
    let (_dir, mut s) = store();
    let mut d = ContactDraft::default();
    for (f, v) in [
        ("kind", "person"),
        ("first_name", "Ann"),
        ("last_name", "Lee"),
        ("company_name", "Acme"),
        ("job_title", "Director"),
        ("stage", "lead"),
        ("owner", "ann@acme.test"),
        ("tags", "vip, motor"),
        ("email", "ann@example.com"),
        ("phone", "+44 7911 123456"),
        ("address_line1", "1 High Street"),
        ("address_line2", "Flat 2"),
        ("city", "Leeds"),
        ("region", "West Yorkshire"),
        ("postcode", "LS1 1AA"),
        ("country", "GB"),
        ("source", "referral"),
        ("external_id", "ext-1"),
        ("date_of_birth", "29/02/1980"),
        ("custom.score", "5"),
    ] {
        d.set(f, v).expect("draft");
    }
    let c = s.create_contact(&d).expect("contact");
    let mut company = ContactDraft::default();
    company.set("company_name", "Widgets Ltd").expect("draft");
    s.create_contact(&company).expect("company");
    s.update_contact(
        c.id,
        &[
            ("city".into(), "York".into()),
            ("stage".into(), "former customer".into()),
        ],
    )
    .expect("edit");
    s.set_contacts_custom(&[(c.id, vec![("score".into(), Some("9".into()))])])
        .expect("custom");
    let p = s
        .create_policy(&PolicyDraft {
            contact_id: Some(c.id),
            policy_number: "P-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "Motor".into(),
            premium: "£42.50".into(),
            currency: Some("gbp".into()),
            frequency: Some("quarterly".into()),
            effective: "31/01/2025".into(),
            expiry: None,
            status: None,
        })
        .expect("policy");
    s.schedule_premiums(p.id).expect("schedule");
    let day = chrono::NaiveDate::from_ymd_opt(2025, 2, 1).expect("date");
    s.record_payment(p.id, "42.50", day, "Direct Debit", Some("ref-1"))
        .expect("payment");
    let t = s
        .create_task(&TaskDraft {
            title: "Call back".into(),
            due: Some("2025-03-01".into()),
            contact_id: Some(c.id),
            assignee: None,
            notes: Some("about the renewal".into()),
        })
        .expect("task");
    s.create_task(&TaskDraft {
        title: "Own errand".into(),
        ..TaskDraft::default()
    })
    .expect("task");
    s.set_task_status(t.id, TaskStatus::Done).expect("done");
    for k in activity_kinds() {
        if k != ActivityKind::StatusChange {
            s.log_activity(c.id, k, "talked").expect("activity");
        }
    }
    s.delete_contact(c.id).expect("delete");

    let ops = s.outbox_batch(100_000).expect("outbox");
    let mut seen_tables = BTreeSet::new();
    let mut created = BTreeSet::new();
    for op in &ops {
        let table = schema::table(&op.table).expect("a synced table");
        seen_tables.insert(op.table.clone());
        table
            .check(&op.fields)
            .unwrap_or_else(|e| panic!("the store wrote {} {}: {e}", op.table, op.row_id));
        if created.insert((op.table.clone(), op.row_id)) {
            assert_eq!(
                table.missing(&op.fields),
                Vec::<&str>::new(),
                "the op creating {} {} carries every required field",
                op.table,
                op.row_id
            );
        }
    }
    assert_eq!(seen_tables.len(), schema::TABLES.len(), "{seen_tables:?}");
}

/// A value the schema accepts for a field of this kind.
fn sample(kind: Kind, parent: Uuid, pick: usize) -> Value {
    match kind {
        Kind::Text => json!("some text"),
        Kind::LongText => json!("a longer text\nover two lines"),
        Kind::Currency => json!(["GBP", "EUR", "USD"][pick % 3]),
        Kind::Integer => json!(-4250),
        Kind::Date => json!("2024-02-29"),
        Kind::Timestamp => json!("2025-03-31T09:30:00.123+01:00"),
        Kind::RecordId => json!(parent.to_string()),
        Kind::TextList => json!(["a", "b"]),
        Kind::TextMap => json!({"k": "v"}),
        Kind::OneOf(values) => json!(values[pick % values.len()]),
    }
}

/// Rows the schema lets through, pulled into a store: each is stored and
/// reads back through the store's typed API (with every optional field
/// null, with every field set, and with every value of every enum field).
#[test]
fn every_row_the_server_accepts_is_one_the_store_can_read() {
    let (_dir, mut s) = store();
    let contact = Uuid::now_v7();
    let policy = Uuid::now_v7();
    let mut clock_ms = 1_700_000_000_000u64;
    let node = Uuid::now_v7();
    let mut ids: Vec<(&str, Uuid)> = Vec::new();
    let rounds = schema::TABLES
        .iter()
        .flat_map(|t| t.fields.iter())
        .filter_map(|f| match f.kind {
            Kind::OneOf(v) => Some(v.len()),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    for round in 0..rounds {
        for with_optional in [false, true] {
            for t in schema::TABLES {
                let id = match (t.name, round, with_optional) {
                    ("contacts", 0, false) => contact,
                    ("policies", 0, false) => policy,
                    _ => Uuid::now_v7(),
                };
                let parent = if t.name == "payments" {
                    policy
                } else {
                    contact
                };
                let fields: serde_json::Map<String, Value> = t
                    .fields
                    .iter()
                    .map(|f| {
                        let v = if f.optional && !with_optional {
                            Value::Null
                        } else {
                            sample(f.kind, parent, round)
                        };
                        (f.name.to_string(), v)
                    })
                    .collect();
                let as_op: BTreeMap<String, Value> = fields.clone().into_iter().collect();
                t.check(&as_op).expect("a valid row");
                assert!(t.missing(&as_op).is_empty());
                clock_ms += 1;
                let row = RowState {
                    table: t.name.into(),
                    row_id: id,
                    fields,
                    clocks: [(
                        "_".to_string(),
                        Hlc {
                            millis: clock_ms,
                            counter: 0,
                            node,
                        },
                    )]
                    .into_iter()
                    .collect(),
                    deleted: false,
                };
                let rep = s.apply_remote(&[row], &[], 1).expect("apply");
                assert_eq!(
                    (rep.changed, rep.held),
                    (1, 0),
                    "{} round {round}: stored",
                    t.name
                );
                ids.push((t.name, id));
            }
        }
    }
    for (table, id) in ids {
        let read = match table {
            "contacts" => s.contact(id).map(|_| ()),
            "policies" => s.policy(id).map(|_| ()),
            "tasks" => s.task(id).map(|_| ()),
            "payments" | "activities" => Ok(()),
            other => panic!("unknown table {other}"),
        };
        read.unwrap_or_else(|e| panic!("{table} {id} does not read back: {e}"));
    }
    // Payments and activities are read by their parent.
    let pays = s.payments_of(policy).expect("payments read back");
    assert_eq!(pays.len(), rounds * 2);
    let acts = s
        .timeline(contact, usize::MAX)
        .expect("activities read back")
        .rows;
    assert_eq!(acts.len(), rounds * 2);
}
