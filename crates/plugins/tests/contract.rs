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
    let mut serialised: Vec<(&str, Value)> = vec![
        (kind_of(&contact), to_json(&contact)),
        (kind_of(&policy), to_json(&policy)),
        (kind_of(&payment), to_json(&payment)),
        (kind_of(&arrears), to_json(&arrears)),
        (kind_of(&task), to_json(&task)),
        (kind_of(&activity), to_json(&activity)),
        (kind_of(&event), to_json(&event)),
        (kind_of(&passage), to_json(&passage)),
    ];
    serialised.extend(compliance_samples(&mut s));
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

/// A full sample of every compliance record scripts see (host API 1.3).
fn compliance_samples(s: &mut Store) -> Vec<(&'static str, Value)> {
    use crm_compliance::dates::Standing;
    use crm_compliance::{checks, policies, readsign, reminders, staff, supervision, training};
    use crm_plugins::contract::compliance::{
        AcknowledgementsView, CheckView, DashboardView, TrainingDueView, TrainingRowView,
    };
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    let mo = staff::create(
        s,
        &staff::StaffDraft {
            name: "Mo Manager".into(),
            role: "manager".into(),
            start_date: "2020-01-06".into(),
            ..Default::default()
        },
    )
    .expect("manager");
    let cat = staff::create(
        s,
        &staff::StaffDraft {
            name: "Cat Carer".into(),
            role: "carer".into(),
            team: Some("north".into()),
            manager_id: Some(mo.id.clone()),
            start_date: "2025-01-06".into(),
            contract: Some("part-time".into()),
            user_id: Some("cat-1".into()),
            supervision_weeks: Some(8),
            appraisal_months: Some(12),
            left_date: None,
        },
    )
    .expect("staff");
    // Every field set: one who has left (the matrix is of those who have not).
    let leaver = staff::create(
        s,
        &staff::StaffDraft {
            name: "Lee Leaver".into(),
            role: "carer".into(),
            team: Some("north".into()),
            manager_id: Some(mo.id.clone()),
            start_date: "2025-01-06".into(),
            contract: Some("bank".into()),
            user_id: Some("lee-1".into()),
            supervision_weeks: Some(8),
            appraisal_months: Some(12),
            left_date: Some("2026-01-31".into()),
        },
    )
    .expect("leaver");
    let details = serde_json::json!({"level": "enhanced", "certificate_number": "001234567890",
        "issue_date": "2025-01-02", "recheck_months": 36});
    let check = checks::set(
        s,
        &cat.id,
        "dbs",
        "verified",
        details.as_object().expect("map"),
        Some("seen"),
    )
    .expect("check");
    let meeting = supervision::record(
        s,
        &cat.id,
        "supervision",
        "2026-02-02",
        "Mo Manager",
        Some("fine"),
        today,
    )
    .expect("meeting");
    let schedule = supervision::schedules(s, &cat, today)
        .expect("schedules")
        .remove(0);
    let course = training::courses(s, false)
        .expect("courses")
        .into_iter()
        .find(|c| c.renewal_months.is_some())
        .expect("a course that lapses");
    let record = training::record(
        s,
        &training::RecordDraft {
            staff_id: cat.id.clone(),
            course: course.id.clone(),
            achieved: "2025-06-01".into(),
            provider: Some("Acme Training".into()),
            ..Default::default()
        },
        Some(("certificate.pdf", b"%PDF-1.4\n% a certificate\n")),
        today,
    )
    .expect("training");
    let matrix = training::matrix(s, &Default::default(), today).expect("matrix");
    let row = TrainingRowView::rows_of(&matrix)
        .into_iter()
        .find(|r| r.staff_id() == cat.id)
        .expect("Cat's row");
    let due = TrainingDueView::of(&matrix, today, 3660).remove(0);
    let policy = policies::Policy {
        doc_id: "doc-1".into(),
        title: "Safeguarding".into(),
        kind: "policy".into(),
        owner: "Registered manager".into(),
        review_months: 12,
        next_review: "2027-01-01".into(),
        last_review: Some("2026-01-01".into()),
        review: Standing::Valid,
        approval: "published".into(),
        status: crm_documents::DocStatus::Published,
        live_version: Some(2),
        readable_version: Some(2),
        submitted_by: Some("a".into()),
        approved_version: Some(2),
        approved_by: Some("b".into()),
        approved_at: Some("2026-01-01T10:00:00Z".into()),
        ack_from_version: Some(2),
        drafted_by: "a".into(),
        statements: vec!["S3".into()],
    };
    let acks = AcknowledgementsView::of(&readsign::AckStatus {
        doc_id: "doc-1".into(),
        title: "Safeguarding".into(),
        version: Some(2),
        from_version: Some(2),
        people: vec![readsign::PersonAck {
            staff_id: cat.id.clone(),
            name: cat.name.clone(),
            team: cat.team.clone(),
            user_id: cat.user_id.clone(),
            due: "2026-03-09".into(),
            state: readsign::AckState::Done,
            at: Some("2026-03-01T09:00:00Z".into()),
            version: Some(2),
        }],
        done: 1,
        pending: 0,
        overdue: 0,
        percent: 100.0,
    });
    let dashboard = DashboardView::of(&policies::dashboard(s, today).expect("dashboard"), 0);
    let reminder = reminders::Reminder {
        kind: "acknowledgement.overdue",
        staff_id: Some(cat.id.clone()),
        doc_id: Some("doc-1".into()),
        course_id: Some(course.id.clone()),
        date: "2026-03-09".into(),
        key: "ack:doc-1".into(),
        title: "Overdue".into(),
        due: "2026-03-09".into(),
        task_id: "t-1".into(),
    };
    vec![
        (kind_of(&leaver), to_json(&leaver)),
        (
            kind_of(&CheckView::of(&check)),
            to_json(&CheckView::of(&check)),
        ),
        (kind_of(&schedule), to_json(&schedule)),
        (kind_of(&meeting), to_json(&meeting)),
        (kind_of(&course), to_json(&course)),
        (kind_of(&record), to_json(&record)),
        (kind_of(&row), to_json(&row)),
        (kind_of(&due), to_json(&due)),
        (kind_of(&policy), to_json(&policy)),
        (kind_of(&acks), to_json(&acks)),
        (kind_of(&dashboard), to_json(&dashboard)),
        (kind_of(&reminder), to_json(&reminder)),
    ]
}

fn kind_of<T: ScriptRecord>(_: &T) -> &'static str {
    T::SHAPE.kind
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serialise")
}
