//! The Compliance screens' commands without a window, on a real encrypted
//! profile: staff, checks with secret numbers, evidence files, training and
//! the matrix, meetings, courses, policies under second-admin approval,
//! read-and-sign, reminders and the evidence pack (read back with
//! `pdftotext`). Every refusal names the form field it is about.

crm_plugins::counting_allocator!();

use std::collections::BTreeMap;
use std::path::Path;

use crm_app::compliance::*;
use crm_app::compliance_policies::*;
use crm_app::compliance_training::*;
use crm_app::{ApiError, App};

const PASS: &str = "a long enough passphrase";

fn open_app(dir: &Path) -> App {
    let app = App::new(dir.join("profile"));
    app.profile_create(Some(PASS.into()), "GB")
        .expect("create profile");
    app
}

/// The error's code and field, to compare in one go.
fn refused(e: ApiError) -> (String, Option<String>, String) {
    (e.code.as_str().to_string(), e.field, e.message)
}

fn person(name: &str, team: &str, manager: &str) -> StaffForm {
    StaffForm {
        name: name.into(),
        role: "carer".into(),
        team: team.into(),
        manager_id: manager.into(),
        start_date: "2025-01-06".into(),
        supervision_weeks: "8".into(),
        ..Default::default()
    }
}

fn details(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A small file that is a PDF by its bytes.
fn pdf_file(dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    std::fs::write(
        &p,
        b"%PDF-1.4\n% certificate\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
    )
    .expect("write pdf");
    p.display().to_string()
}

fn pdftotext(pdf: &str) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed on {pdf}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn staff_checks_evidence_training_and_meetings_refuse_bad_input_naming_the_field() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let app = open_app(tmp.path());
    let meta = app.compliance_meta().expect("meta");
    assert!(
        meta.access.admin,
        "the owner of a one-person profile is its admin"
    );
    assert_eq!(meta.access.user_id, "local");
    assert_eq!(meta.statements.len(), 34);
    let dbs = meta.items.iter().find(|i| i.id == "dbs").expect("dbs item");
    assert!(dbs
        .fields
        .iter()
        .any(|f| f.key == "certificate_number" && f.secret));
    assert!(dbs
        .fields
        .iter()
        .any(|f| f.key == "level" && f.kind == "choice" && f.choices.contains(&"enhanced".into())));

    // Staff: each refusal names the form's input.
    let bad = |f: StaffForm| refused(app.compliance_staff_create(f).unwrap_err());
    let (code, field, msg) = bad(StaffForm {
        start_date: "2025-02-30".into(),
        ..person("Ann Able", "north", "")
    });
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid", Some("start_date"))
    );
    assert!(msg.contains("YYYY-MM-DD"), "{msg}");
    assert_eq!(
        bad(StaffForm {
            supervision_weeks: "eight".into(),
            ..person("Ann Able", "north", "")
        })
        .1
        .as_deref(),
        Some("supervision_weeks")
    );
    assert_eq!(
        bad(StaffForm {
            appraisal_months: "40".into(),
            ..person("Ann Able", "north", "")
        })
        .1
        .as_deref(),
        Some("appraisal_months")
    );
    assert_eq!(
        bad(person("Ann Able", "north", "nobody")).1.as_deref(),
        Some("manager_id")
    );
    assert_eq!(bad(person(" ", "north", "")).1.as_deref(), Some("name"));
    assert_eq!(
        bad(StaffForm {
            left_date: "2024-12-31".into(),
            ..person("Ann Able", "north", "")
        })
        .1
        .as_deref(),
        Some("left_date")
    );
    let ann = app
        .compliance_staff_create(person("Ann Able", "north", ""))
        .expect("ann");
    let bob = app
        .compliance_staff_create(person("Bob Best", "south", &ann.id))
        .expect("bob");
    assert_eq!(bob.manager_name.as_deref(), Some("Ann Able"));
    let north = app
        .compliance_staff_list(StaffQueryArgs {
            team: Some("north".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(
        north.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Ann Able"]
    );
    // A loop in the chain names the manager input too.
    let err = app
        .compliance_staff_update(&ann.id, person("Ann Able", "north", &bob.id))
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("manager_id"));

    // Checks: each item's own field, by its key.
    let set = |status: &str, pairs: &[(&str, &str)], clear: &[&str]| {
        app.compliance_check_set(
            &ann.id,
            "dbs",
            CheckArgs {
                status: status.into(),
                details: details(pairs),
                clear: clear.iter().map(|s| s.to_string()).collect(),
                note: String::new(),
            },
        )
    };
    assert_eq!(
        set("verified", &[("issue_date", "2025-13-01")], &[])
            .unwrap_err()
            .field
            .as_deref(),
        Some("issue_date")
    );
    assert_eq!(
        set("verified", &[("level", "platinum")], &[])
            .unwrap_err()
            .field
            .as_deref(),
        Some("level")
    );
    assert_eq!(
        set("verified", &[("recheck_months", "0")], &[])
            .unwrap_err()
            .field
            .as_deref(),
        Some("recheck_months")
    );
    assert_eq!(
        set("done", &[], &[]).unwrap_err().field.as_deref(),
        Some("status")
    );
    let c = set(
        "verified",
        &[
            ("level", "Enhanced"),
            ("certificate_number", "001234567890"),
            ("issue_date", "02/01/2025"),
            ("update_service", "yes"),
            ("recheck_months", "36"),
        ],
        &[],
    )
    .expect("dbs recorded");
    assert_eq!(
        c.masked.get("certificate_number").map(String::as_str),
        Some("ending 7890")
    );
    assert!(
        !c.details.contains_key("certificate_number"),
        "{:?}",
        c.details
    );
    assert_eq!(
        c.details.get("issue_date").map(String::as_str),
        Some("2025-01-02")
    );
    assert_eq!(
        c.details.get("update_service").map(String::as_str),
        Some("yes")
    );
    assert_eq!(c.expires.as_deref(), Some("2028-01-02"));
    // Saved again without the number (the window never has it): kept.
    let again = set(
        "verified",
        &[("level", "enhanced"), ("issue_date", "2025-01-02")],
        &[],
    )
    .expect("saved again");
    assert_eq!(
        again.masked.get("certificate_number").map(String::as_str),
        Some("ending 7890")
    );
    let page = app.compliance_staff_get(&ann.id).expect("page");
    let json = serde_json::to_string(&page).expect("json");
    assert!(
        !json.contains("001234567890"),
        "the full number crossed: {json}"
    );
    // Cleared when asked.
    let cleared = set(
        "verified",
        &[("level", "enhanced")],
        &["certificate_number"],
    )
    .expect("cleared");
    assert!(cleared.masked.is_empty());
    set(
        "verified",
        &[
            ("level", "enhanced"),
            ("certificate_number", "001234567890"),
            ("issue_date", "2025-01-02"),
        ],
        &[],
    )
    .expect("recorded again");

    // Evidence: checked by its bytes; a refusal names the file input.
    let txt = tmp.path().join("notes.txt");
    std::fs::write(&txt, "not evidence").expect("txt");
    let (code, field, msg) = refused(
        app.compliance_evidence_add(&ann.id, "dbs", &txt.display().to_string())
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid", Some("evidence_file"))
    );
    assert!(msg.contains("not a document or a picture"), "{msg}");
    assert_eq!(
        app.compliance_evidence_add(&ann.id, "dbs", "")
            .unwrap_err()
            .field
            .as_deref(),
        Some("evidence_file")
    );
    assert_eq!(
        app.compliance_evidence_add(&ann.id, "passport", &pdf_file(tmp.path(), "p.pdf"))
            .unwrap_err()
            .field
            .as_deref(),
        Some("item")
    );
    let ev = app
        .compliance_evidence_add(&ann.id, "dbs", &pdf_file(tmp.path(), "dbs.pdf"))
        .expect("evidence");
    assert_eq!(
        (ev.kind.as_str(), ev.file_name.as_str()),
        ("pdf", "dbs.pdf")
    );
    let copy = tmp.path().join("copy.pdf");
    app.compliance_evidence_save(&ev.id, &copy.display().to_string())
        .expect("saved a copy");
    assert_eq!(
        std::fs::read(&copy).expect("copy"),
        std::fs::read(tmp.path().join("dbs.pdf")).expect("original")
    );

    // Training: dates and the course named; the certificate kept with it.
    let train = |course: &str, achieved: &str, expires: &str, cert: &str| {
        app.compliance_training_record(TrainingForm {
            staff_id: bob.id.clone(),
            course: course.into(),
            achieved: achieved.into(),
            expires: expires.into(),
            provider: "Acme Training".into(),
            certificate_path: cert.into(),
        })
    };
    assert_eq!(
        train("", "2024-01-10", "", "")
            .unwrap_err()
            .field
            .as_deref(),
        Some("course")
    );
    assert_eq!(
        train("fire-safety", "2099-01-01", "", "")
            .unwrap_err()
            .field
            .as_deref(),
        Some("achieved")
    );
    assert_eq!(
        train("fire-safety", "2024-01-10", "2023-01-10", "")
            .unwrap_err()
            .field
            .as_deref(),
        Some("expires")
    );
    assert_eq!(
        train("fire-safety", "2024-01-10", "", &txt.display().to_string())
            .unwrap_err()
            .field
            .as_deref(),
        Some("evidence_file")
    );
    let r = train(
        "fire-safety",
        "2024-01-10",
        "2025-01-10",
        &pdf_file(tmp.path(), "fire.pdf"),
    )
    .expect("training recorded");
    assert_eq!(r.standing, StandingDto::Expired);
    assert!(r.evidence_id.is_some());
    let page = app.compliance_staff_get(&bob.id).expect("bob's page");
    assert_eq!(page.training_evidence.len(), 1);
    assert_eq!(page.training_evidence[0].file_name, "fire.pdf");

    // The matrix: one piece, the expired cell and its course's totals.
    let m = app
        .compliance_matrix(MatrixQueryArgs::default())
        .expect("matrix");
    let col = m
        .courses
        .iter()
        .position(|c| c.id == "fire-safety")
        .expect("column");
    let row = m
        .rows
        .iter()
        .find(|r| r.staff_id == bob.id)
        .expect("bob's row");
    assert_eq!(row.cells[col].standing, StandingDto::Expired);
    assert_eq!(row.cells[col].expires.as_deref(), Some("2025-01-10"));
    assert_eq!((m.totals[col].expired, m.totals[col].missing), (1, 1));
    assert_eq!(m.totals[col].compliant_percent, 0.0);
    assert_eq!(
        app.compliance_matrix(MatrixQueryArgs {
            standing: Some("stale".into()),
            ..Default::default()
        })
        .unwrap_err()
        .field
        .as_deref(),
        Some("standing")
    );

    // Meetings: a date in the future is refused; the schedule follows.
    let meet = |date: &str, supervisor: &str| {
        app.compliance_meeting_record(
            &bob.id,
            MeetingForm {
                kind: "supervision".into(),
                date: date.into(),
                supervisor: supervisor.into(),
                notes: "Went well".into(),
            },
        )
    };
    assert_eq!(
        meet("2099-01-01", "Ann").unwrap_err().field.as_deref(),
        Some("date")
    );
    assert_eq!(
        meet("2025-03-01", " ").unwrap_err().field.as_deref(),
        Some("supervisor")
    );
    meet("2025-03-01", "Ann Able").expect("meeting");
    let page = app.compliance_staff_get(&bob.id).expect("bob's page");
    let sup = page
        .schedules
        .iter()
        .find(|s| s.kind == "supervision")
        .expect("schedule");
    assert_eq!(
        (sup.last.as_deref(), sup.next_due.as_deref()),
        (Some("2025-03-01"), Some("2025-04-26"))
    );
    assert_eq!(page.meetings.len(), 1);

    // Courses: an admin's list.
    let course = |name: &str, months: &str| CourseForm {
        name: name.into(),
        category: "other".into(),
        renewal_months: months.into(),
        active: true,
    };
    assert_eq!(
        app.compliance_course_add(course("Dementia awareness", "a year"))
            .unwrap_err()
            .field
            .as_deref(),
        Some("renewal_months")
    );
    assert_eq!(
        app.compliance_course_add(course("Dementia awareness", "0"))
            .unwrap_err()
            .field
            .as_deref(),
        Some("renewal_months")
    );
    assert_eq!(
        app.compliance_course_add(course("Fire safety", "12"))
            .unwrap_err()
            .field
            .as_deref(),
        Some("name")
    );
    let added = app
        .compliance_course_add(course("Dementia awareness", "24"))
        .expect("course");
    let edited = app
        .compliance_course_edit(
            &added.id,
            CourseForm {
                active: false,
                ..course("Dementia awareness", "")
            },
        )
        .expect("edited");
    assert_eq!((edited.renewal_months, edited.active), (None, false));
    assert!(app
        .compliance_courses(false)
        .expect("courses")
        .iter()
        .all(|c| c.id != added.id));
    assert!(app
        .compliance_courses(true)
        .expect("all courses")
        .iter()
        .any(|c| c.id == added.id));
}

#[test]
fn a_policy_needs_a_second_admin_is_read_and_signed_and_packed_without_full_numbers() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let app = open_app(tmp.path());
    app.set_extractor(env!("CARGO_BIN_EXE_crm-app-worker").into());
    let doc = tmp.path().join("safeguarding.md");
    std::fs::write(
        &doc,
        "# Safeguarding adults policy\n\nReport any concern to the manager on duty the same day.\n",
    )
    .expect("doc");
    let added = app
        .docs_add(
            &crm_app::documents::DocAddArgs {
                paths: vec![doc.display().to_string()],
                audience: vec![],
                draft: true,
                change_note: None,
            },
            &mut |_| {},
        )
        .expect("document added");
    assert_eq!(added[0].status, "indexed", "{:?}", added[0]);
    let doc_id = added[0].document_id.clone().expect("document id");

    let form = |months: &str, statements: &[&str]| CompliancePolicyForm {
        kind: "policy".into(),
        owner: "Registered manager".into(),
        review_months: months.into(),
        statements: statements.iter().map(|s| s.to_string()).collect(),
    };
    let bad = |f: CompliancePolicyForm| {
        app.compliance_policy_register(&doc_id, f)
            .unwrap_err()
            .field
    };
    assert_eq!(bad(form("", &["S3"])).as_deref(), Some("review_months"));
    assert_eq!(bad(form("99", &["S3"])).as_deref(), Some("review_months"));
    assert_eq!(bad(form("12", &["S99"])).as_deref(), Some("statements"));
    assert_eq!(
        bad(CompliancePolicyForm {
            kind: "memo".into(),
            ..form("12", &[])
        })
        .as_deref(),
        Some("kind")
    );
    assert_eq!(
        app.compliance_policy_register("", form("12", &[]))
            .unwrap_err()
            .field
            .as_deref(),
        Some("doc_id")
    );
    let p = app
        .compliance_policy_register(&doc_id, form("12", &["S3", "Safe and effective staffing"]))
        .expect("registered");
    assert_eq!(
        (p.approval.as_str(), p.statements.clone()),
        ("draft", vec!["S3".to_string(), "S6".to_string()])
    );
    let p = app
        .compliance_policy_edit(&doc_id, form("24", &["S3"]))
        .expect("edited");
    assert_eq!(p.review_months, 24);

    // One admin submits; the same admin may not approve.
    let p = app.compliance_policy_submit(&doc_id).expect("submitted");
    assert_eq!(
        (p.approval.as_str(), p.submitted_by.as_deref()),
        ("awaiting_approval", Some("local"))
    );
    let (code, _, msg) = refused(app.compliance_policy_approve(&doc_id).unwrap_err());
    assert_eq!(code, "forbidden");
    assert!(msg.contains("another admin must approve it"), "{msg}");
    let d = app.compliance_dashboard().expect("dashboard");
    assert_eq!(d.awaiting_approval.len(), 1);
    assert!(
        d.uncovered.iter().any(|s| s.id == "S3"),
        "a draft evidences nothing"
    );
    assert_eq!(d.coverage.len(), 34);
    assert_eq!(
        app.compliance_policy_reject(&doc_id, " ")
            .unwrap_err()
            .field
            .as_deref(),
        Some("reason")
    );
    let p = app
        .compliance_policy_reject(&doc_id, "Name the on-call manager")
        .expect("rejected");
    assert_eq!(p.approval, "draft");
    app.compliance_policy_submit(&doc_id)
        .expect("submitted again");
    let (code, _, _) = refused(app.compliance_policy_publish(&doc_id, false).unwrap_err());
    assert_eq!(code, "invalid", "not approved yet");

    // A second admin approves (on this profile, as another user).
    app.profile_lock().expect("lock");
    {
        let mut s = crm_core::Store::open(
            &tmp.path().join("profile"),
            &crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.into())),
        )
        .expect("store");
        s.with_actor(
            crm_core::Actor::User {
                user: "admin-b".into(),
            },
            |s| crm_compliance::policies::approve(s, &doc_id, crm_compliance::dates::today()),
        )
        .expect("approved by a second admin");
    }
    app.profile_unlock(PASS.into()).expect("unlock");
    let d = app.compliance_dashboard().expect("dashboard");
    assert_eq!(d.approved.len(), 1);
    let p = app
        .compliance_policy_publish(&doc_id, false)
        .expect("published");
    assert_eq!(
        (p.approval.as_str(), p.status.as_str(), p.live_version),
        ("published", "published", Some(1))
    );
    assert_eq!(p.approved_by.as_deref(), Some("admin-b"));
    assert!(!app
        .compliance_dashboard()
        .expect("dashboard")
        .uncovered
        .iter()
        .any(|s| s.id == "S3"));
    app.compliance_policy_reviewed(&doc_id).expect("reviewed");

    // Read and sign: the person using the app is linked to a staff record.
    let me = app
        .compliance_staff_create(StaffForm {
            user_id: "local".into(),
            ..person("Mel Manager", "north", "")
        })
        .expect("me");
    let other = app
        .compliance_staff_create(person("Olu Other", "north", ""))
        .expect("other");
    assert_eq!(
        app.compliance_meta()
            .expect("meta")
            .access
            .staff_id
            .as_deref(),
        Some(me.id.as_str())
    );
    let bad_target = app
        .compliance_assign(&doc_id, "crew:north", "2099-01-01")
        .unwrap_err();
    assert_eq!(bad_target.field.as_deref(), Some("target"));
    assert_eq!(
        app.compliance_assign(&doc_id, "team:north", "2020-01-01")
            .unwrap_err()
            .field
            .as_deref(),
        Some("due")
    );
    let a = app
        .compliance_assign(&doc_id, "team:north", "2099-01-01")
        .expect("assigned");
    assert_eq!(a.target, "team:north");
    app.compliance_assign(&doc_id, &format!("staff:{}", other.id), "2099-01-01")
        .expect("assigned a person");
    app.compliance_unassign(&doc_id, &format!("staff:{}", other.id))
        .expect("unassigned");
    let mine = app.compliance_mine().expect("mine");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, AckStateDto::Pending);
    let ack = app.compliance_acknowledge(&doc_id).expect("acknowledged");
    assert_eq!(
        (ack.version, ack.statement.as_str()),
        (1, "I have read and understood")
    );
    assert_eq!(
        app.compliance_mine().expect("mine")[0].state,
        AckStateDto::Done
    );
    let detail = app.compliance_policy_get(&doc_id).expect("policy page");
    assert_eq!(
        (
            detail.status.done,
            detail.status.pending,
            detail.status.percent
        ),
        (1, 1, 50.0)
    );
    assert_eq!(detail.assignments.len(), 1);

    // Reminders: each once.
    app.compliance_check_set(
        &other.id,
        "dbs",
        CheckArgs {
            status: "verified".into(),
            details: details(&[
                ("level", "enhanced"),
                ("certificate_number", "001234567890"),
                ("issue_date", "2025-01-02"),
            ]),
            ..Default::default()
        },
    )
    .expect("dbs");
    app.compliance_training_record(TrainingForm {
        staff_id: other.id.clone(),
        course: "fire-safety".into(),
        achieved: "2024-01-10".into(),
        expires: "2025-01-10".into(),
        ..Default::default()
    })
    .expect("expired training");
    // A plugin hooked to the reminder's event books the refresher.
    let p = app
        .plugin_install_template("training-expiry")
        .expect("install the template");
    let grants: Vec<String> = p.permissions.iter().map(|x| x.permission.clone()).collect();
    app.plugin_enable(&p.id, grants).expect("enable");
    app.notices_take().expect("notices");
    let made = app.compliance_remind().expect("reminders");
    assert!(
        made.iter()
            .any(|r| r.kind == "training.expiring" && r.title.contains("Olu Other")),
        "{made:?}"
    );
    let said: Vec<String> = app
        .notices_take()
        .expect("notices")
        .into_iter()
        .map(|n| n.message)
        .collect();
    assert!(
        said.iter()
            .any(|m| m.contains("Olu Other") && m.contains("refresher task made")),
        "the plugin ran on training.expiring: {said:?}"
    );
    assert!(
        app.compliance_remind().expect("again").is_empty(),
        "each once"
    );

    // The pack: where asked, ".pdf" added; the figures, never the full number.
    assert_eq!(
        app.compliance_pack(" ", "Acme Care")
            .unwrap_err()
            .field
            .as_deref(),
        Some("path")
    );
    let pack = app
        .compliance_pack(&tmp.path().join("pack").display().to_string(), "Acme Care")
        .expect("pack");
    assert!(
        pack.pdf.ends_with("pack.pdf") && pack.csv.ends_with("pack.csv"),
        "{pack:?}"
    );
    assert_eq!(pack.staff, 2);
    assert_eq!(pack.ack_percent, 50.0);
    assert!(
        pack.gaps.iter().any(|g| g.contains("Fire safety")),
        "{:?}",
        pack.gaps
    );
    assert!(
        pack.vetting.iter().any(|v| v.dbs.contains("ending 7890")),
        "{:?}",
        pack.vetting
    );
    // Lines wrap where the PDF wraps them: compare words.
    let text = pdftotext(&pack.pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for want in [
        "CQC evidence pack: Acme Care",
        "Staff in post: 2",
        "ending 7890",
        "Safeguarding adults policy",
    ] {
        assert!(
            text.contains(want),
            "{want:?} missing from the pack: {text}"
        );
    }
    assert!(
        !text.replace(' ', "").contains("001234567890"),
        "the full DBS number is in the pack"
    );
    let csv = std::fs::read_to_string(&pack.csv).expect("csv");
    assert!(!csv.contains("001234567890"));
    let bad_dir = app
        .compliance_pack("/nonexistent/dir/pack.pdf", "Acme Care")
        .unwrap_err();
    assert_eq!(bad_dir.code.as_str(), "io");
}

#[test]
fn the_matrix_at_300_people_by_40_courses_comes_in_one_piece() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let app = open_app(tmp.path());
    app.compliance_meta().expect("meta");
    let seeded = app.compliance_courses(false).expect("courses").len();
    for i in seeded..40 {
        app.compliance_course_add(CourseForm {
            name: format!("Extra course {i}"),
            category: "other".into(),
            renewal_months: "12".into(),
            active: true,
        })
        .expect("course");
    }
    let courses = app.compliance_courses(false).expect("courses");
    assert_eq!(courses.len(), 40);
    let mut ids = Vec::new();
    for i in 0..300 {
        let s = app
            .compliance_staff_create(person(
                &format!("Person {i:03}"),
                ["north", "south", "east"][i % 3],
                "",
            ))
            .expect("staff");
        ids.push(s.id);
    }
    // Some training for some: a spread of standings.
    for (i, id) in ids.iter().enumerate().step_by(5) {
        for (j, c) in courses.iter().enumerate().step_by(7) {
            let expired = (i + j) % 2 == 0;
            app.compliance_training_record(TrainingForm {
                staff_id: id.clone(),
                course: c.id.clone(),
                achieved: "2024-01-10".into(),
                expires: if expired {
                    "2025-01-10".into()
                } else {
                    "2099-01-10".into()
                },
                ..Default::default()
            })
            .expect("training");
        }
    }
    let started = std::time::Instant::now();
    let m = app
        .compliance_matrix(MatrixQueryArgs::default())
        .expect("matrix");
    let took = started.elapsed();
    let bytes = serde_json::to_vec(&m).expect("json").len();
    eprintln!("the matrix of 300 x 40: {took:?}, {bytes} bytes of JSON");
    assert_eq!((m.rows.len(), m.courses.len()), (300, 40));
    assert!(m.rows.iter().all(|r| r.cells.len() == 40));
    let counted: u32 = m
        .totals
        .iter()
        .map(|t| t.valid + t.due_soon + t.expired + t.missing)
        .sum();
    assert_eq!(counted, 12_000);
    let expired: u32 = m.totals.iter().map(|t| t.expired).sum();
    let valid: u32 = m.totals.iter().map(|t| t.valid).sum();
    assert_eq!(expired + valid, 60 * 6, "every record counted once");
    assert!(expired > 0 && valid > 0);
    // Generous for a debug build on a shared machine; the release figure
    // is `make bench-compliance`'s.
    assert!(took.as_secs_f64() < 3.0, "the matrix took {took:?}");
    assert!(bytes < 1_500_000, "the matrix is {bytes} bytes of JSON");
}
