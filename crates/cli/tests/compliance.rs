//! `crm staff …`, `crm training …`, `crm compliance …` and
//! `crm evidence-pack` as an office admin would type them: bad input gets
//! one line naming the field and changes nothing; the matrix shows an
//! expired certificate as expired; a policy cannot be approved by the
//! admin who submitted it nor published around its approval; the pack is
//! a PDF whose text holds the figures and no full DBS number.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const PASS: &str = "correct horse battery";

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run crm")
}

fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(
        o.status.success(),
        "crm failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(c: &mut Command) -> String {
    let o = run(c);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

fn json(c: &mut Command) -> Value {
    serde_json::from_str(&ok(c)).expect("json")
}

#[test]
fn an_office_keeps_staff_training_policies_and_makes_its_evidence_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("profile");
    ok(crm(&p).args(["init", "--key-store", "passphrase"]));
    let err = fails(crm(&p).args([
        "staff",
        "add",
        "--name",
        "Cat Carer",
        "--role",
        "carer",
        "--start",
        "31/02/2025",
    ]));
    assert!(
        err.contains("start date: \"31/02/2025\" is not a date"),
        "{err}"
    );
    let out = ok(crm(&p).args([
        "staff",
        "add",
        "--name",
        "Cat Carer",
        "--role",
        "carer",
        "--team",
        "north",
        "--start",
        "06/01/2025",
        "--supervision-weeks",
        "8",
    ]));
    assert!(out.starts_with("added Cat Carer"), "{out}");
    ok(crm(&p).args([
        "staff",
        "add",
        "--name",
        "Sam South",
        "--role",
        "carer",
        "--team",
        "south",
        "--start",
        "2025-03-01",
    ]));
    let staff = json(crm(&p).args(["staff", "list", "--json"]));
    assert_eq!(staff.as_array().unwrap().len(), 2);

    // Training: a certificate that lapsed a year ago, and bad input.
    let err = fails(crm(&p).args([
        "training",
        "record",
        "Cat Carer",
        "fire-safety",
        "--achieved",
        "2024-06-01",
        "--expires",
        "2024-05-01",
    ]));
    assert!(
        err.contains("expires: 2024-05-01 is before the achieved date 2024-06-01"),
        "{err}"
    );
    let not_doc = tmp.path().join("cert.txt");
    std::fs::write(&not_doc, "words").unwrap();
    let err = fails(
        crm(&p)
            .args([
                "training",
                "record",
                "Cat Carer",
                "fire-safety",
                "--achieved",
                "2024-06-01",
            ])
            .arg("--evidence")
            .arg(&not_doc),
    );
    assert!(
        err.contains("evidence file: cert.txt is not a document or a picture"),
        "{err}"
    );
    let cert = tmp.path().join("cert.pdf");
    std::fs::write(&cert, b"%PDF-1.4\n% a certificate\n").unwrap();
    ok(crm(&p)
        .args([
            "training",
            "record",
            "Cat Carer",
            "Fire safety",
            "--achieved",
            "2024-06-01",
        ])
        .arg("--evidence")
        .arg(&cert));
    let m = json(crm(&p).args(["training", "matrix", "--json", "--course", "fire-safety"]));
    let cells: Vec<(&str, &str)> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["cells"][0]["standing"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![("Cat Carer", "expired"), ("Sam South", "missing")]
    );
    let shown = ok(crm(&p).args(["training", "matrix", "--standing", "expired"]));
    assert!(
        shown.contains("Cat Carer") && !shown.contains("Sam South"),
        "{shown}"
    );

    // Recruitment checks.
    let err = fails(crm(&p).args([
        "staff",
        "check",
        "Cat Carer",
        "dbs",
        "--set",
        "level=premium",
    ]));
    assert!(err.contains("level: \"premium\" is not one of"), "{err}");
    ok(crm(&p).args([
        "staff",
        "check",
        "Cat Carer",
        "dbs",
        "--set",
        "level=enhanced",
        "--set",
        "certificate_number=001234567890",
        "--set",
        "issue_date=2025-01-02",
    ]));

    // A policy: under control once added; one admin cannot approve their own.
    let md = tmp.path().join("medicines.md");
    std::fs::write(
        &md,
        "# Medicines policy\n\nTwo staff check every controlled drug given.\n",
    )
    .unwrap();
    let added = ok(crm(&p).args(["docs", "add", "--draft"]).arg(&md));
    let doc = added
        .split("(document ")
        .nth(1)
        .unwrap()
        .trim_end()
        .trim_end_matches(')')
        .to_string();
    let err = fails(crm(&p).args([
        "compliance",
        "policy",
        "add",
        &doc,
        "--owner",
        "Manager",
        "--statement",
        "S99",
    ]));
    assert!(
        err.contains("statements: \"S99\" is not a CQC quality statement"),
        "{err}"
    );
    ok(crm(&p).args([
        "compliance",
        "policy",
        "add",
        &doc,
        "--owner",
        "Registered manager",
        "--statement",
        "S8",
    ]));
    ok(crm(&p).args(["compliance", "submit", &doc]));
    let err = fails(crm(&p).args(["compliance", "approve", &doc]));
    assert!(err.contains("another admin must approve it"), "{err}");
    let err = fails(crm(&p).args(["docs", "publish", &doc]));
    assert!(err.contains("controlled"), "{err}");
    let err = fails(crm(&p).args(["compliance", "publish", &doc]));
    assert!(
        err.contains("another admin must approve it before it is published"),
        "{err}"
    );
    let dash = json(crm(&p).args(["compliance", "dashboard", "--json"]));
    assert_eq!(dash["awaiting_approval"].as_array().unwrap().len(), 1);
    assert_eq!(dash["uncovered"].as_array().unwrap().len(), 34);

    // Reminders become tasks, once.
    let out = ok(crm(&p).args(["compliance", "remind"]));
    assert!(out.contains("Renew Fire safety for Cat Carer"), "{out}");
    assert!(ok(crm(&p).args(["compliance", "remind"])).contains("0 reminder(s) made"));

    // The evidence pack.
    let pdf = tmp.path().join("out").join("pack.pdf");
    std::fs::create_dir_all(pdf.parent().unwrap()).unwrap();
    let out = ok(crm(&p)
        .args(["evidence-pack", "--organisation", "Sunrise Care", "-o"])
        .arg(&pdf));
    assert!(out.contains("training"), "{out}");
    let text = String::from_utf8(
        Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for want in [
        "CQC evidence pack: Sunrise Care",
        "S8 Medicines optimisation",
        "Fire safety",
        "ending 7890",
        "Sam South: DBS check not recorded",
    ] {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
    assert!(!text.contains("001234567890"));
    assert!(pdf.with_extension("csv").exists());
}
