//! The record shapes scripts see are a contract (`crm_plugins::contract`):
//! they change only with the host API's version, and they come from fields
//! the core really has.

crm_plugins::counting_allocator!();

use std::path::PathBuf;

use chrono::NaiveDate;
use crm_core::{ActivityKind, ContactDraft, PolicyDraft, Store, TaskDraft};
use crm_plugins::contract::{describe, ScriptRecord, SHAPES};
use crm_plugins::manifest::API_VERSION;
use serde_json::Value;

fn contract_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contract")
}

/// The committed shape of this version is the shape scripts get. A change
/// of shape without a new version fails here: scripts written against the
/// version would break silently. A new version's file is written once by
/// `UPDATE_CONTRACT=1 cargo test -p crm-plugins --test contract`; an
/// existing one is never rewritten.
#[test]
fn the_script_visible_shapes_change_only_with_the_host_api_version() {
    let path = contract_dir().join(format!("{API_VERSION}.json"));
    let now = describe();
    let text = serde_json::to_string_pretty(&now).expect("json") + "\n";
    if !path.exists() && std::env::var_os("UPDATE_CONTRACT").is_some() {
        std::fs::write(&path, &text).expect("write the new version's contract");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no contract for host API {API_VERSION} ({}): a new version writes its file with \
             UPDATE_CONTRACT=1 cargo test -p crm-plugins --test contract",
            path.display()
        )
    });
    let committed: Value = serde_json::from_str(&committed).expect("the contract is JSON");
    assert!(
        committed == now,
        "the records scripts see changed, but the host API is still {API_VERSION}: a field \
         added is a new minor version, one renamed or removed a new major (manifest::API_VERSION), \
         then write its contract file. Or keep the script's name and change `from` in contract.rs."
    );
}

/// Within a major version the shapes only grow: every field an earlier
/// version of this major promised is still there, with the same meaning.
#[test]
fn earlier_versions_of_this_major_are_kept_whole() {
    let now = describe();
    let mut seen = 0;
    for entry in std::fs::read_dir(contract_dir()).expect("contract dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let Ok(version) = semver::Version::parse(name) else {
            panic!("{} is not named by a version", path.display());
        };
        assert!(version <= API_VERSION, "{name} is newer than the host API");
        if version.major != API_VERSION.major {
            continue;
        }
        seen += 1;
        let old: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        for (kind, fields) in old.as_object().expect("object") {
            let current = now[kind]
                .as_array()
                .unwrap_or_else(|| panic!("{kind} records were promised by {name} and are gone"));
            for field in fields.as_array().expect("fields") {
                assert!(
                    current.contains(field),
                    "{kind}.{} was promised by {name} and is gone or changed",
                    field[0]
                );
            }
        }
    }
    assert!(seen >= 1, "no contract file for this major version");
}

/// Every field a shape takes from the core exists in the core's serialised
/// record: a core rename fails here instead of giving scripts `()`.
#[test]
fn every_field_comes_from_a_field_the_core_has() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
    let mut d = ContactDraft::default();
    for (k, v) in [
        ("first_name", "Ann"),
        ("last_name", "Lee"),
        ("company_name", "Lee Ltd"),
        ("job_title", "Director"),
        ("email", "ann@example.com"),
        ("phone", "07911 123456"),
        ("tags", "vip"),
        ("address_line1", "1 High St"),
        ("address_line2", "Flat 2"),
        ("city", "York"),
        ("region", "North Yorkshire"),
        ("postcode", "YO1 7HH"),
        ("country", "GB"),
        ("source", "referral"),
        ("preferred_contact_method", "post"),
        ("external_id", "X-1"),
        ("date_of_birth", "1980-02-03"),
        ("owner", "sam"),
        ("custom.score", "7"),
    ] {
        d.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    let contact = s.create_contact(&d).expect("contact");
    let policy = s
        .create_policy(&PolicyDraft {
            contact_id: Some(contact.id),
            policy_number: "P-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "home".into(),
            premium: "120.00".into(),
            currency: Some("GBP".into()),
            frequency: Some("monthly".into()),
            effective: "2020-01-01".into(),
            expiry: Some("2030-01-01".into()),
            status: Some("active".into()),
        })
        .expect("policy");
    s.schedule_premiums(policy.id).expect("schedule");
    let paid = NaiveDate::from_ymd_opt(2020, 1, 2).expect("date");
    s.record_payment(policy.id, "10.00", paid, "card", Some("ref"))
        .expect("payment");
    let payment = s.payments_of(policy.id).expect("payments").remove(0);
    let today = NaiveDate::from_ymd_opt(2021, 1, 1).expect("date");
    let arrears = s
        .arrears(today, usize::MAX)
        .expect("arrears")
        .rows
        .remove(0);
    let task = s
        .create_task(&TaskDraft {
            title: "Call".into(),
            due: Some("2020-02-01".into()),
            contact_id: Some(contact.id),
            assignee: Some("sam".into()),
            notes: Some("about renewal".into()),
        })
        .expect("task");
    let activity = s
        .log_activity(contact.id, ActivityKind::Note, "met")
        .expect("activity");
    let event = crm_core::ChangeEvent {
        name: "contact.updated".into(),
        table: crm_core::Table::Contacts,
        row_id: contact.id,
        action: crm_core::store::Action::Updated,
        actor: crm_core::Actor::User { user: "u".into() },
        fields: vec!["city".into()],
    };
    let passage = crm_documents::Hit {
        document_id: "d".into(),
        title: "Claims".into(),
        file_name: "claims.pdf".into(),
        version: 1,
        page: Some(2),
        heading: "Claims › Motor".into(),
        text: "Ring within 24 hours.".into(),
        score: 1.5,
        passage_id: 7,
        start: 0,
        end: 21,
        highlights: vec![],
    };
    let serialised: Vec<(&str, Value)> = vec![
        (kind_of(&contact), to_json(&contact)),
        (kind_of(&policy), to_json(&policy)),
        (kind_of(&payment), to_json(&payment)),
        (kind_of(&arrears), to_json(&arrears)),
        (kind_of(&task), to_json(&task)),
        (kind_of(&activity), to_json(&activity)),
        (kind_of(&event), to_json(&event)),
        (kind_of(&passage), to_json(&passage)),
    ];
    assert_eq!(serialised.len(), SHAPES.len(), "a sample of every shape");
    for shape in SHAPES {
        let (_, core) = serialised
            .iter()
            .find(|(k, _)| *k == shape.kind)
            .unwrap_or_else(|| panic!("no sample {}", shape.kind));
        for field in shape.fields {
            assert!(
                core.get(field.from).is_some_and(|v| !v.is_null()),
                "{}.{} comes from the core's `{}`, which the core's record does not have (or left empty in a full sample)",
                shape.kind,
                field.name,
                field.from
            );
        }
    }
}

fn kind_of<T: ScriptRecord>(_: &T) -> &'static str {
    T::SHAPE.kind
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialise")
}
