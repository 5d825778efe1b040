//! Care compliance on a real encrypted profile: staff, checks, evidence,
//! training and its matrix, policies under approval, read-and-sign,
//! reminders and the evidence pack (read back with `pdftotext`).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use chrono::NaiveDate;
use crm_compliance::dates::Standing;
use crm_compliance::readsign::AckState;
use crm_compliance::training::{MatrixQuery, RecordDraft};
use crm_compliance::{checks, evidence, pack, policies, readsign, reminders, staff, training};
use crm_core::{Actor, FixedPassphrase, KeyStoreChoice, Store, TaskFilter};
use serde_json::{json, Map, Value};

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("compliance tests".into())),
    )
    .unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn person(
    s: &mut Store,
    name: &str,
    role: &str,
    team: &str,
    manager: Option<&str>,
) -> staff::Staff {
    staff::create(
        s,
        &staff::StaffDraft {
            name: name.into(),
            role: role.into(),
            team: Some(team.into()),
            manager_id: manager.map(Into::into),
            start_date: "2025-01-06".into(),
            supervision_weeks: Some(8),
            ..Default::default()
        },
    )
    .unwrap()
}

fn add_doc(s: &mut Store, dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    let added = crm_documents::add(
        s,
        &crm_extract::Extractor::with_program(env!("CARGO_BIN_EXE_crm-compliance-worker")),
        &[p],
        &crm_documents::AddOptions {
            draft: true,
            ..Default::default()
        },
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(added[0].status, "indexed", "{:?}", added[0]);
    added[0].document_id.clone().unwrap()
}

fn count(s: &Store, sql: &str) -> i64 {
    s.feature_read(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap()
}

#[test]
fn bad_staff_input_names_the_field_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let ok = staff::StaffDraft {
        name: "Ann Carer".into(),
        role: "Carer".into(),
        start_date: "06/01/2025".into(),
        ..Default::default()
    };
    let cases: Vec<(staff::StaffDraft, &str)> = vec![
        (
            staff::StaffDraft {
                start_date: "2025-02-30".into(),
                ..ok.clone()
            },
            "start date: \"2025-02-30\" is not a date",
        ),
        (
            staff::StaffDraft {
                name: "  ".into(),
                ..ok.clone()
            },
            "name: is required",
        ),
        (
            staff::StaffDraft {
                left_date: Some("2024-12-31".into()),
                ..ok.clone()
            },
            "left date: 2024-12-31 is before the start date 2025-01-06",
        ),
        (
            staff::StaffDraft {
                manager_id: Some("nobody".into()),
                ..ok.clone()
            },
            "manager: no staff member nobody",
        ),
        (
            staff::StaffDraft {
                supervision_weeks: Some(0),
                ..ok.clone()
            },
            "supervision weeks: 0 is not between 1 and 52",
        ),
    ];
    for (draft, want) in cases {
        let err = staff::create(&mut s, &draft).unwrap_err().to_string();
        assert!(err.starts_with(want), "{err}");
    }
    assert_eq!(count(&s, "SELECT count(*) FROM compliance_staff"), 0);
    let ann = staff::create(&mut s, &ok).unwrap();
    assert_eq!(
        (ann.role.as_str(), ann.start_date.as_str()),
        ("carer", "2025-01-06")
    );
    // A manager chain may not loop.
    let bob = person(&mut s, "Bob Lead", "senior carer", "north", None);
    staff::update(
        &mut s,
        &bob.id,
        &staff::StaffDraft {
            manager_id: Some(ann.id.clone()),
            name: bob.name.clone(),
            role: bob.role.clone(),
            start_date: bob.start_date.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    let err = staff::update(
        &mut s,
        &ann.id,
        &staff::StaffDraft {
            manager_id: Some(bob.id.clone()),
            ..ok.clone()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("manager: that person is managed by this one"),
        "{err}"
    );
}

#[test]
fn staff_see_their_own_record_managers_their_people_agents_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let (mgr_user, carer_user) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let draft = |name: &str, team: &str, manager: Option<&str>, user: Option<uuid::Uuid>| {
        staff::StaffDraft {
            name: name.into(),
            role: "carer".into(),
            team: Some(team.into()),
            manager_id: manager.map(Into::into),
            start_date: "2025-01-06".into(),
            user_id: user.map(|u| u.to_string()),
            ..Default::default()
        }
    };
    let mgr = staff::create(&mut s, &draft("Mo Manager", "north", None, Some(mgr_user))).unwrap();
    let carer = staff::create(
        &mut s,
        &draft("Cat Carer", "north", Some(&mgr.id), Some(carer_user)),
    )
    .unwrap();
    let report =
        staff::create(&mut s, &draft("Rob Report", "north", Some(&carer.id), None)).unwrap();
    let south = staff::create(&mut s, &draft("Sue South", "south", None, None)).unwrap();
    checks::set(&mut s, &south.id, "dbs", "verified", &obj(json!({"level": "enhanced", "certificate_number": "001234567890", "issue_date": "2025-01-02"})), None).unwrap();
    assert_eq!(
        staff::list(&s, &Default::default()).unwrap().len(),
        4,
        "the owner sees everyone"
    );
    // Signed in as an agent: what they see depends on their staff record.
    s.bind_to_server(
        "https://crm.example",
        "x@example.com",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        "agent",
    )
    .unwrap();
    assert!(
        staff::list(&s, &Default::default()).unwrap().is_empty(),
        "an agent with no staff record sees none"
    );
    let err = staff::get(&s, &south.id).unwrap_err().to_string();
    assert!(err.starts_with("no staff member"), "{err}");
    assert!(checks::checklist(&s, &south.id, day("2026-01-01")).is_err());
    let names = |s: &Store| {
        staff::list(s, &Default::default())
            .unwrap()
            .into_iter()
            .map(|x| x.name)
            .collect::<Vec<_>>()
    };
    s.with_actor(
        Actor::User {
            user: carer_user.to_string(),
        },
        |s| {
            assert_eq!(
                names(s),
                vec!["Cat Carer", "Rob Report"],
                "a carer who manages Rob sees both"
            );
            // May not change their own record; may change their report's.
            assert!(checks::set(s, &carer.id, "health", "received", &Map::new(), None).is_err());
            checks::set(s, &report.id, "health", "received", &Map::new(), None).unwrap();
        },
    );
    s.with_actor(
        Actor::User {
            user: mgr_user.to_string(),
        },
        |s| {
            assert_eq!(
                names(s),
                vec!["Cat Carer", "Mo Manager", "Rob Report"],
                "down the line, not south"
            );
            assert!(training::matrix(s, &Default::default(), day("2026-01-01"))
                .unwrap()
                .rows
                .iter()
                .all(|r| r.team.as_deref() == Some("north")));
        },
    );
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn checks_take_each_item_s_fields_and_refuse_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let p = person(&mut s, "Ann", "carer", "north", None);
    for (item, details, want) in [
        (
            "dbs",
            json!({"level": "super"}),
            "level: \"super\" is not one of: basic",
        ),
        (
            "dbs",
            json!({"issue_date": "yesterday"}),
            "issue_date: \"yesterday\" is not a date",
        ),
        (
            "dbs",
            json!({"colour": "red"}),
            "field: \"colour\" is not a field of DBS check",
        ),
        (
            "right_to_work",
            json!({"expiry": "31/02/2027"}),
            "expiry: \"31/02/2027\" is not a date",
        ),
        (
            "passport",
            json!({}),
            "item: \"passport\" is not a checklist item",
        ),
    ] {
        let err = checks::set(&mut s, &p.id, item, "verified", &obj(details), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "{err}");
    }
    assert_eq!(count(&s, "SELECT count(*) FROM compliance_checks"), 0);
    let c = checks::set(&mut s, &p.id, "dbs", "verified", &obj(json!({"level": "Enhanced", "issue_date": "01/06/2023", "recheck_months": "36", "update_service": "yes"})), None).unwrap();
    assert_eq!(c.expires.as_deref(), Some("2026-06-01"));
    assert_eq!(c.details["update_service"], json!(true));
    let list = checks::checklist(&s, &p.id, day("2026-06-02")).unwrap();
    assert_eq!(list.len(), checks::ITEMS.len());
    assert_eq!(
        list.iter().find(|c| c.item == "dbs").unwrap().standing,
        Standing::Expired
    );
    assert_eq!(
        list.iter().find(|c| c.item == "identity").unwrap().standing,
        Standing::Missing
    );
    assert_eq!(checks::masked("001234567890"), "ending 7890");
}

#[test]
fn evidence_must_be_a_document_of_sensible_size_and_is_kept_encrypted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let p = person(&mut s, "Ann", "carer", "north", None);
    let err = evidence::add(
        &mut s,
        &p.id,
        "identity",
        "notes.exe",
        b"MZ\x90\x00 not a document",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("evidence file: notes.exe is not a document or a picture"),
        "{err}"
    );
    // 200 MB is refused before it is read.
    let big = tmp.path().join("scan.pdf");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    let err = evidence::read_file(&big).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("evidence file: scan.pdf is 200 MB; the largest taken is 20 MB"),
        "{err}"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM compliance_evidence"), 0);
    let marker = "PASSPORT-MARKER-7Q3Z";
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(marker.as_bytes());
    pdf.extend(vec![b'x'; 2 * 1024 * 1024 + 17]);
    let ev = evidence::add(&mut s, &p.id, "identity", "passport.pdf", &pdf).unwrap();
    assert_eq!((ev.kind.as_str(), ev.size), ("pdf", pdf.len() as i64));
    let (_, back) = evidence::bytes(&s, &ev.id).unwrap();
    assert_eq!(back, pdf);
    drop(s);
    // Nothing of it on disk in the clear.
    for entry in std::fs::read_dir(tmp.path().join("profile")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(marker.len()).any(|w| w == marker.as_bytes()));
    }
}

#[test]
fn training_dates_and_the_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let today = day("2026-12-07");
    let ann = person(&mut s, "Ann", "carer", "north", None);
    let bob = person(&mut s, "Bob", "carer", "south", None);
    let rec = |s: &mut Store, who: &str, course: &str, achieved: &str, expires: Option<&str>| {
        training::record(
            s,
            &RecordDraft {
                staff_id: who.into(),
                course: course.into(),
                achieved: achieved.into(),
                expires: expires.map(Into::into),
                ..Default::default()
            },
            None,
            today,
        )
    };
    for (achieved, expires, want) in [
        ("2026-13-01", None, "achieved: \"2026-13-01\" is not a date"),
        (
            "2026-06-01",
            Some("2026-05-31"),
            "expires: 2026-05-31 is before the achieved date 2026-06-01",
        ),
        ("2027-01-01", None, "achieved: 2027-01-01 is in the future"),
    ] {
        let err = rec(&mut s, &ann.id, "fire-safety", achieved, expires)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "{err}");
    }
    assert!(rec(&mut s, &ann.id, "juggling", "2026-01-01", None)
        .unwrap_err()
        .to_string()
        .starts_with("no course juggling"));
    assert_eq!(count(&s, "SELECT count(*) FROM compliance_training"), 0);
    // 12 months from 29 February is 28 February.
    let r = rec(&mut s, &ann.id, "Fire safety", "2024-02-29", None).unwrap();
    assert_eq!(r.expires.as_deref(), Some("2025-02-28"));
    // Expired, then renewed: the latest record counts.
    rec(&mut s, &ann.id, "fire-safety", "2025-12-31", None).unwrap(); // to 2026-12-31: due soon
    rec(&mut s, &ann.id, "moving-handling", "2025-12-06", None).unwrap(); // to 2026-12-06: expired yesterday
    rec(&mut s, &ann.id, "basic-life-support", "2025-12-07", None).unwrap(); // to 2026-12-07: valid today
    rec(&mut s, &ann.id, "food-hygiene", "2025-01-31", None).unwrap(); // 36 months: valid
    rec(&mut s, &ann.id, "care-certificate-1", "2020-01-01", None).unwrap(); // never lapses
    let m = training::matrix(&s, &MatrixQuery::default(), today).unwrap();
    let col = |id: &str| m.courses.iter().position(|c| c.id == id).unwrap();
    let row = m.rows.iter().find(|r| r.name == "Ann").unwrap();
    assert_eq!(row.cells[col("fire-safety")].standing, Standing::DueSoon);
    assert_eq!(
        row.cells[col("moving-handling")].standing,
        Standing::Expired
    );
    assert_eq!(
        row.cells[col("basic-life-support")].standing,
        Standing::DueSoon
    );
    assert!(
        row.cells[col("basic-life-support")].standing.compliant(),
        "expiring today is valid today"
    );
    assert_eq!(row.cells[col("food-hygiene")].standing, Standing::Valid);
    assert_eq!(
        row.cells[col("care-certificate-1")].standing,
        Standing::Valid
    );
    assert_eq!(row.cells[col("medication")].standing, Standing::Missing);
    let t = &m.totals[col("fire-safety")];
    assert_eq!((t.due_soon, t.missing, t.compliant_percent), (1, 1, 50.0));
    // Filters.
    let only = |q: MatrixQuery| {
        training::matrix(&s, &q, today)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only(MatrixQuery {
            team: Some("south".into()),
            ..Default::default()
        }),
        vec!["Bob"]
    );
    assert_eq!(
        only(MatrixQuery {
            standing: Some("expired".into()),
            ..Default::default()
        }),
        vec!["Ann"]
    );
    assert_eq!(
        training::matrix(
            &s,
            &MatrixQuery {
                category: Some("care_certificate".into()),
                ..Default::default()
            },
            today
        )
        .unwrap()
        .courses
        .len(),
        16
    );
    assert!(training::matrix(
        &s,
        &MatrixQuery {
            standing: Some("late".into()),
            ..Default::default()
        },
        today
    )
    .unwrap_err()
    .to_string()
    .starts_with("standing:"));
    // A certificate that is not a document takes its record with it; a
    // good one is kept with it.
    let draft = RecordDraft {
        staff_id: bob.id.clone(),
        course: "medication".into(),
        achieved: "2026-11-30".into(),
        ..Default::default()
    };
    let err =
        training::record(&mut s, &draft, Some(("cert.txt", b"just words")), today).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("evidence file: cert.txt is not a document"),
        "{err}"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM compliance_training WHERE staff_id = (SELECT id FROM compliance_staff WHERE name = 'Bob')"), 0);
    let bad_date = RecordDraft {
        expires: Some("2026-11-01".into()),
        ..draft.clone()
    };
    assert!(training::record(
        &mut s,
        &bad_date,
        Some(("cert.png", b"\x89PNG\r\n\x1a\nrest")),
        today
    )
    .is_err());
    assert_eq!(
        count(&s, "SELECT count(*) FROM compliance_evidence"),
        0,
        "no evidence left behind"
    );
    let r = training::record(
        &mut s,
        &draft,
        Some(("cert.png", b"\x89PNG\r\n\x1a\nrest")),
        today,
    )
    .unwrap();
    let (ev, _) = evidence::bytes(&s, r.evidence_id.as_deref().unwrap()).unwrap();
    assert_eq!((ev.item.as_str(), ev.kind.as_str()), ("training", "png"));
    // Reminders: a task per lapsing record, made once.
    let made = reminders::run(&mut s, today).unwrap();
    let titles: Vec<&str> = made.iter().map(|r| r.title.as_str()).collect();
    assert!(
        titles.contains(&"Renew Moving and handling for Ann"),
        "{titles:?}"
    );
    assert!(titles.contains(&"Renew Fire safety for Ann"), "{titles:?}");
    assert!(
        !titles.iter().any(|t| t.contains("Food hygiene")),
        "{titles:?}"
    );
    assert!(
        reminders::run(&mut s, today).unwrap().is_empty(),
        "each reminder once"
    );
    assert_eq!(s.count_tasks(TaskFilter::Open, today).unwrap(), made.len());
}

#[test]
fn a_policy_is_approved_by_a_second_admin_then_published_signed_and_packed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let today = day("2026-12-07");
    let doc = add_doc(
        &mut s,
        tmp.path(),
        "safeguarding.md",
        "# Safeguarding adults policy\n\nReport any concern to the manager on duty the same day.\n",
    );
    let draft = policies::PolicyDraft {
        kind: "policy".into(),
        owner: "Registered manager".into(),
        review_months: 12,
        statements: vec!["S3".into(), "Safe and effective staffing".into()],
    };
    let err = policies::register(
        &mut s,
        &doc,
        &policies::PolicyDraft {
            statements: vec!["S99".into()],
            ..draft.clone()
        },
        today,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("statements: \"S99\" is not a CQC quality statement"),
        "{err}"
    );
    let p = policies::register(&mut s, &doc, &draft, today).unwrap();
    assert_eq!(
        (p.approval.as_str(), p.statements.clone()),
        ("draft", vec!["S3".to_string(), "S6".to_string()])
    );
    assert!(
        policies::publish(&mut s, &doc, false, today).is_err(),
        "not approved yet"
    );
    assert!(crm_documents::publish(&mut s, &doc)
        .unwrap_err()
        .to_string()
        .contains("controlled"));
    let admin_a = Actor::User {
        user: "admin-a".into(),
    };
    let admin_b = Actor::User {
        user: "admin-b".into(),
    };
    s.with_actor(admin_a.clone(), |s| policies::submit(s, &doc, today))
        .unwrap();
    let err = s
        .with_actor(admin_a.clone(), |s| policies::approve(s, &doc, today))
        .unwrap_err();
    assert!(
        err.to_string().contains("another admin must approve it"),
        "{err}"
    );
    let dash = policies::dashboard(&mut s, today).unwrap();
    assert_eq!(dash.awaiting_approval.len(), 1);
    assert!(
        dash.uncovered.iter().any(|st| st.id == "S3"),
        "a draft evidences nothing yet"
    );
    assert_eq!(dash.coverage.len(), 34);
    s.with_actor(admin_b.clone(), |s| policies::approve(s, &doc, today))
        .unwrap();
    let p = policies::publish(&mut s, &doc, false, today).unwrap();
    assert_eq!(
        (p.approval.as_str(), p.live_version, p.next_review.as_str()),
        ("published", Some(1), "2027-12-07")
    );
    assert!(!policies::dashboard(&mut s, today)
        .unwrap()
        .uncovered
        .iter()
        .any(|st| st.id == "S3"));

    // Read-and-sign: team north, due in a week.
    let carer_user = "carer-1";
    let carer = staff::create(
        &mut s,
        &staff::StaffDraft {
            name: "Cat Carer".into(),
            role: "carer".into(),
            team: Some("north".into()),
            start_date: "2025-01-06".into(),
            user_id: Some(carer_user.into()),
            supervision_weeks: Some(8),
            ..Default::default()
        },
    )
    .unwrap();
    person(&mut s, "Sam South", "carer", "south", None);
    readsign::assign(&mut s, &doc, "team:north", "2026-12-14", today).unwrap();
    assert!(
        readsign::assign(&mut s, &doc, "crew:north", "2026-12-14", today)
            .unwrap_err()
            .to_string()
            .starts_with("assign to:")
    );
    let st = readsign::status(&s, &doc, today).unwrap();
    assert_eq!((st.people.len(), st.pending, st.percent), (1, 1, 0.0));
    assert_eq!(
        readsign::status(&s, &doc, day("2026-12-15"))
            .unwrap()
            .overdue,
        1
    );
    // Someone not linked to a staff record cannot sign.
    assert!(readsign::acknowledge(&mut s, &doc, today)
        .unwrap_err()
        .to_string()
        .contains("not linked to a staff record"));
    let ack = s
        .with_actor(
            Actor::User {
                user: carer_user.into(),
            },
            |s| readsign::acknowledge(s, &doc, today),
        )
        .unwrap();
    assert_eq!((ack.version, ack.staff_id.as_str()), (1, carer.id.as_str()));
    let st = readsign::status(&s, &doc, day("2026-12-20")).unwrap();
    assert_eq!(
        (st.done, st.percent, st.people[0].state),
        (1, 100.0, AckState::Done)
    );

    // A new version: a draft until approved again; a major change asks
    // everyone again, and the review cycle restarts on publication.
    add_doc(&mut s, tmp.path(), "safeguarding.md", "# Safeguarding adults policy\n\nReport any concern to the manager on duty within one hour.\n");
    let p = policies::get(&s, &doc, today).unwrap();
    assert_eq!(
        (p.approval.as_str(), p.live_version, p.readable_version),
        ("draft", Some(1), Some(2))
    );
    s.with_actor(admin_a.clone(), |s| policies::submit(s, &doc, today))
        .unwrap();
    s.with_actor(admin_b.clone(), |s| policies::approve(s, &doc, today))
        .unwrap();
    let later = day("2027-02-28");
    let p = policies::publish(&mut s, &doc, false, later).unwrap();
    assert_eq!(
        (p.live_version, p.next_review.as_str(), p.ack_from_version),
        (Some(2), "2028-02-28", Some(2))
    );
    assert_eq!(
        readsign::status(&s, &doc, later).unwrap().done,
        0,
        "version 2 must be read again"
    );
    s.with_actor(
        Actor::User {
            user: carer_user.into(),
        },
        |s| readsign::acknowledge(s, &doc, later),
    )
    .unwrap();
    // A minor change keeps the acknowledgements.
    add_doc(&mut s, tmp.path(), "safeguarding.md", "# Safeguarding adults policy\n\nReport any concern to the manager on duty within one hour. (Typo fixed.)\n");
    s.with_actor(admin_a, |s| policies::submit(s, &doc, later))
        .unwrap();
    s.with_actor(admin_b, |s| policies::approve(s, &doc, later))
        .unwrap();
    let p = policies::publish(&mut s, &doc, true, later).unwrap();
    assert_eq!((p.live_version, p.ack_from_version), (Some(3), Some(2)));
    assert_eq!(readsign::status(&s, &doc, later).unwrap().percent, 100.0);

    // The evidence pack.
    checks::set(&mut s, &carer.id, "dbs", "verified", &obj(json!({"level": "enhanced with barred list", "certificate_number": "001234567890", "issue_date": "2025-01-02", "update_service": "yes"})), None).unwrap();
    training::record(
        &mut s,
        &RecordDraft {
            staff_id: carer.id.clone(),
            course: "moving-handling".into(),
            achieved: "2025-12-06".into(),
            ..Default::default()
        },
        None,
        today,
    )
    .unwrap();
    let out = tmp.path().join("pack.pdf");
    let w = pack::write(&mut s, &out, "Sunrise Care", later).unwrap();
    let text = pdftotext(&out);
    for want in [
        "CQC evidence pack: Sunrise Care",
        "S3 Safeguarding",
        "Safeguarding adults policy",
        "ending 7890",
        "Moving and handling",
        "Gaps",
        "100.0%",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    assert!(
        !text.contains("001234567890"),
        "a full DBS number is in the pack"
    );
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    assert!(
        csv.contains("policies,Safe,S3,Safeguarding adults policy,acknowledged percent,100.0"),
        "{csv}"
    );
    assert!(!csv.contains("001234567890"));
    assert!(
        w.pack
            .gaps
            .iter()
            .any(|g| g.contains("Sam South: DBS check not recorded")),
        "{:?}",
        w.pack.gaps
    );
}

fn pdftotext(pdf: &PathBuf) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Mark `kind` `id` as refused by the server, as a sync does: the row
/// kept aside (dirty 2) and its copy listed with the reason.
fn refuse(s: &mut Store, kind: &str, table: &str, id: &str) {
    let actor = s.user_actor();
    s.feature_write(&crm_compliance::FEATURE, actor, |tx| -> crm_core::Result<()> {
        let c = tx.conn();
        c.execute(&format!("UPDATE {table} SET dirty = 2 WHERE id = ?1"), [id])?;
        c.execute(
            "INSERT INTO compliance_set_aside (kind, id, reason, body, at) VALUES (?1, ?2, 'not in your team', \
             json_object('id', ?2), '2026-12-07T10:00:00Z')",
            rusqlite::params![kind, id],
        )?;
        Ok(())
    })
    .unwrap();
}

/// A refused record sent again never replaces a newer edit made here
/// since; one given up goes from the device (a course stays: it is only
/// no longer sent); both leave the list and the counts.
#[test]
fn a_refused_record_sent_again_keeps_a_newer_edit_and_given_up_ones_go() {
    use crm_compliance::sync;
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let ann = person(&mut s, "Ann Able", "carer", "north", None);
    let bob = person(&mut s, "Bob Best", "carer", "north", None);
    refuse(&mut s, "staff", "compliance_staff", &ann.id);
    refuse(&mut s, "staff", "compliance_staff", &bob.id);
    refuse(&mut s, "course", "compliance_courses", "fire-safety");
    assert_eq!(sync::set_aside_count(&s).unwrap(), 3);
    let listed = sync::set_aside(&s).unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|a| a.id == ann.id)
            .and_then(|a| a.about.clone())
            .as_deref(),
        Some("Ann Able")
    );
    assert_eq!(
        sync::waiting(&s).unwrap(),
        0,
        "refused records wait for a person"
    );

    // Ann's record is changed here after the refusal; sending the refused
    // copy again keeps that newer edit.
    let draft = staff::StaffDraft {
        name: "Ann Able-Newer".into(),
        role: "senior carer".into(),
        team: Some("north".into()),
        start_date: "2025-01-06".into(),
        supervision_weeks: Some(8),
        ..Default::default()
    };
    staff::update(&mut s, &ann.id, &draft).unwrap();
    sync::retry(&mut s, "staff", &ann.id).unwrap();
    assert_eq!(staff::get(&s, &ann.id).unwrap().name, "Ann Able-Newer");
    assert_eq!(
        sync::waiting(&s).unwrap(),
        1,
        "Ann's record goes at the next sync"
    );

    // Bob's refused record is given up: gone from this device.
    sync::discard(&mut s, "staff", &bob.id).unwrap();
    assert!(staff::get(&s, &bob.id).is_err(), "Bob's refused copy went");

    // The course given up stays, no longer sent.
    sync::discard(&mut s, "course", "fire-safety").unwrap();
    assert!(training::courses(&s, true)
        .unwrap()
        .iter()
        .any(|c| c.id == "fire-safety"));
    assert_eq!(sync::set_aside_count(&s).unwrap(), 0);
    assert_eq!(sync::waiting(&s).unwrap(), 1);
    let again = sync::discard(&mut s, "staff", &bob.id).unwrap_err();
    assert!(again.to_string().contains("crm sync set-aside"), "{again}");
}
