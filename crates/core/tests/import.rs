//! CSV import over files with the mess real exports have.

use std::path::Path;

use crm_core::import::{ImportControl, ImportOptions, ImportReport};
use crm_core::{ContactQuery, FixedPassphrase, KeyStoreChoice, Store};
use zeroize::Zeroizing;

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(Zeroizing::new("correct horse battery".into())),
    )
    .unwrap()
}

fn import(s: &mut Store, path: &Path) -> ImportReport {
    import_with(s, path, &ImportOptions::default())
}

fn import_with(s: &mut Store, path: &Path, opts: &ImportOptions) -> ImportReport {
    s.import_contacts(path, opts, &ImportControl::new(), &mut |_| {})
        .unwrap()
}

fn all(s: &Store) -> Vec<crm_core::Contact> {
    s.list_contacts(&ContactQuery {
        limit: Some(100_000),
        ..Default::default()
    })
    .unwrap()
}

fn by_email(s: &Store, e: &str) -> crm_core::Contact {
    all(s)
        .into_iter()
        .find(|c| c.emails.iter().any(|x| x == e))
        .unwrap_or_else(|| panic!("no contact with {e}"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn bom_crlf_quoted_newlines_and_duplicates_by_email_case_and_spacing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "hubspot.csv",
        b"\xEF\xBB\xBFRecord ID,First Name,Last Name,Email,Phone Number,Lifecycle Stage,Street Address\r\n\
          101,Ann,Lee,Ann.Lee@Example.com,07911 123456,customer,\"1 High St\r\nFlat 2\"\r\n\
          102,Bob,\"O'Neil, Jr\",bob@example.com,+44 20 7946 0018,lead,\r\n\
          103,Ann,Lee-Smith,\"  ANN.LEE@example.COM  \",,,\r\n",
    );
    let r = import(&mut s, &f);
    assert_eq!(r.encoding, "UTF-8 (with BOM)");
    assert_eq!((r.created, r.updated, r.skipped), (2, 1, 0), "{r:?}");
    assert_eq!(s.count_contacts().unwrap(), 2);
    let ann = by_email(&s, "ann.lee@example.com");
    assert_eq!(
        ann.last_name.as_deref(),
        Some("Lee-Smith"),
        "later row updates"
    );
    assert_eq!(
        ann.details.get("address_line1"),
        Some("1 High St\r\nFlat 2")
    );
    assert_eq!(
        ann.phones,
        ["+447911123456"],
        "values not in the later row are kept"
    );
    assert_eq!(ann.stage, crm_core::Stage::Client);
    assert_eq!(
        by_email(&s, "bob@example.com").last_name.as_deref(),
        Some("O'Neil, Jr")
    );
    // Re-importing the same file changes nothing and duplicates nothing.
    let again = import(&mut s, &f);
    assert_eq!((again.created, again.skipped), (0, 0), "{again:?}");
    assert_eq!(s.count_contacts().unwrap(), 2);
}

#[test]
fn windows_1252_german_semicolon_export_with_umlauts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    // "Müller", "Straße", "Köln" in Windows-1252, semicolons, decimal commas.
    let f = write(
        tmp.path(),
        "excel-de.csv",
        b"Vorname;Nachname;E-Mail-Adresse;Mobiltelefon;Stra\xDFe;PLZ;Ort;Land\r\n\
          J\xFCrgen;M\xFCller;juergen@example.de;0171 1234567;Hauptstra\xDFe 5;50667;K\xF6ln;Deutschland\r\n",
    );
    s.set_default_region("DE").unwrap();
    let r = import(&mut s, &f);
    assert_eq!(r.encoding, "Windows-1252");
    assert_eq!(r.delimiter, ";");
    assert_eq!(r.created, 1, "{r:?}");
    let c = by_email(&s, "juergen@example.de");
    assert_eq!(c.display_name, "Jürgen Müller");
    assert_eq!(c.details.get("address_line1"), Some("Hauptstraße 5"));
    assert_eq!(c.details.get("city"), Some("Köln"));
    assert_eq!(c.phones, ["+491711234567"]);
}

#[test]
fn utf16_tab_separated_excel_unicode_text() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let text = "First Name\tLast Name\tEmail\r\nΑλέξανδρος\tΠαπαδόπουλος\talex@example.gr\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let f = write(tmp.path(), "unicode.txt", &bytes);
    let r = import(&mut s, &f);
    assert_eq!(
        (r.encoding.as_str(), r.delimiter.as_str(), r.created),
        ("UTF-16LE", "tab", 1),
        "{r:?}"
    );
    assert_eq!(
        by_email(&s, "alex@example.gr").display_name,
        "Αλέξανδρος Παπαδόπουλος"
    );
}

#[test]
fn non_latin_names_emoji_and_formula_payloads_are_stored_as_text_and_exported_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "mixed.csv",
        "Name,Email,Company,Tags\n\
         Иван Петров,ivan@example.ru,ООО Ромашка,vip\n\
         山田 太郎,taro@example.jp,株式会社,\n\
         محمد علي,m.ali@example.eg,,\n\
         Zoë 🦄 Smith,zoe@example.com,=HYPERLINK(\"http://evil\"),\"+cmd|' /C calc'!A0\"\n\
         @SUM(1+1),sum@example.com,-2+3,\n"
            .as_bytes(),
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (5, 0), "{r:?}");
    assert_eq!(by_email(&s, "ivan@example.ru").display_name, "Иван Петров");
    assert_eq!(
        by_email(&s, "taro@example.jp").last_name.as_deref(),
        Some("太郎")
    );
    assert_eq!(
        by_email(&s, "zoe@example.com").first_name.as_deref(),
        Some("Zoë 🦄")
    );
    let zoe = by_email(&s, "zoe@example.com");
    assert_eq!(
        zoe.company_name.as_deref(),
        Some("=HYPERLINK(\"http://evil\")"),
        "stored as text"
    );
    let out = tmp.path().join("out.csv");
    s.export_contacts(&out, &mut |_| {}).unwrap();
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let mut cells = 0;
    for rec in rdr.records() {
        for cell in rec.unwrap().iter() {
            cells += 1;
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "cell {cell:?} would run as a formula in a spreadsheet"
            );
        }
    }
    assert!(cells > 20);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("'=HYPERLINK"));
    assert!(text.contains("'@SUM(1+1)"));
    // Export → import into a fresh store round-trips the values exactly.
    let tmp2 = tempfile::tempdir().unwrap();
    let mut s2 = store(tmp2.path());
    let r2 = import(&mut s2, &out);
    assert_eq!((r2.created, r2.skipped), (5, 0), "{r2:?}");
    assert_eq!(
        by_email(&s2, "zoe@example.com").company_name,
        zoe.company_name
    );
    assert_eq!(by_email(&s2, "sum@example.com").display_name, "@SUM(1+1)");
    assert_eq!(by_email(&s2, "zoe@example.com").tags, zoe.tags);
}

#[test]
fn bad_rows_are_reported_with_row_column_and_reason_and_never_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut bytes = b"First Name,Last Name,Email,Phone,Date of Birth\n".to_vec();
    bytes.extend_from_slice("Ännchen,Lee,ann@example.com,07911 123456,31/03/1980\n".as_bytes()); // row 2 ok (UTF-8)
    bytes.extend_from_slice(b"Bad,Email,ann@@example,,\n"); // row 3
    bytes.extend_from_slice(b"Bad,Phone,bp@example.com,12345,\n"); // row 4
    bytes.extend_from_slice(b"Rag,ged\n"); // row 5
    bytes.extend_from_slice(b"Bad,Date,bd@example.com,,31/02/1980\n"); // row 6
    bytes.extend_from_slice(b"Bad,Bytes\xFF\xFE,bb@example.com,,\n"); // row 7: invalid UTF-8
    bytes.extend_from_slice(b"\n"); // row 8: an empty line (the csv reader skips it; rows must not shift)
    bytes.extend_from_slice(b"Trailing,Comma,tc@example.com,,,\n"); // row 9: extra empty cell is fine
    bytes.extend_from_slice(b",,,,\n"); // row 10 blank
    bytes.extend_from_slice(b"Last,One,last@example.com,,\n"); // row 11 ok
    let f = write(tmp.path(), "bad.csv", &bytes);
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped, r.blank), (3, 5, 2), "{r:#?}");
    let find = |row: u64| {
        r.problems
            .iter()
            .find(|p| p.row == row)
            .unwrap_or_else(|| panic!("row {row}: {r:#?}"))
    };
    assert_eq!(find(3).column.as_deref(), Some("Email"));
    assert!(find(3).reason.contains("ann@@example"));
    assert_eq!(find(4).column.as_deref(), Some("Phone"));
    assert!(find(5).reason.contains("2 fields") && find(5).reason.contains("header has 5"));
    assert_eq!(find(6).column.as_deref(), Some("Date of Birth"));
    assert_eq!(find(7).column.as_deref(), Some("Last Name"));
    assert!(find(7).reason.contains("UTF-8"));
    assert_eq!(s.count_contacts().unwrap(), 3);
    // The downloadable report holds the same rows.
    let rep = tmp.path().join("report.csv");
    r.write_csv(&rep).unwrap();
    let text = std::fs::read_to_string(&rep).unwrap();
    assert_eq!(text.lines().count(), 1 + 5);
}

#[test]
fn a_row_past_the_synced_bounds_is_reported_and_the_import_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut text = String::from("Name,Email,Tags,City\n");
    text.push_str("Ann Lee,ann@example.com,hot,Leeds\n"); // row 2 ok
    text.push_str(&format!(
        "Too Long,tl@example.com,{},York\n",
        "x".repeat(2001)
    )); // row 3
    let many: Vec<String> = (0..1001).map(|i| format!("t{i}")).collect();
    text.push_str(&format!(
        "Too Many,tm@example.com,\"{}\",Hull\n",
        many.join(",")
    )); // row 4
    text.push_str(&format!("Long City,lc@example.com,,{}\n", "c".repeat(2001))); // row 5
    text.push_str("Bob Stone,bob@example.com,cold,Bath\n"); // row 6 ok
    let f = write(tmp.path(), "bounds.csv", text.as_bytes());
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (2, 3), "{r:#?}");
    for (row, words) in [
        (3, ["tags", "2000"]),
        (4, ["tags", "1000"]),
        (5, ["city", "2000"]),
    ] {
        let p = r
            .problems
            .iter()
            .find(|p| p.row == row)
            .unwrap_or_else(|| panic!("row {row}: {r:#?}"));
        for w in words {
            assert!(p.reason.contains(w), "row {row}: {}", p.reason);
        }
    }
    assert_eq!(s.count_contacts().unwrap(), 2);
}

#[test]
fn uk_phone_forms_and_possible_duplicates_by_phone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "phones.csv",
        b"Name,Email,Mobile,Home Phone\n\
          A One,a1@example.com,07911 123456,020 7946 0018\n\
          A Two,a2@example.com,+44 (0)7911 123456,\n\
          A Three,a3@example.com,0044 7911 123456,\n\
          B,b@example.com,(020) 7946-0019,\n",
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (4, 0), "{r:?}");
    assert_eq!(
        by_email(&s, "a1@example.com").phones,
        ["+447911123456", "+442079460018"]
    );
    // Different emails, same phone: three different people, two pairs reported.
    assert_eq!(s.count_contacts().unwrap(), 4);
    assert_eq!(
        r.possible_duplicate_count,
        1 + 2,
        "{:?}",
        r.possible_duplicates
    );
    assert!(r
        .possible_duplicates
        .iter()
        .all(|d| d.shared == "phone" && d.value == "+447911123456"));
}

#[test]
fn dry_run_reports_the_same_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut text = String::from("First Name,Email,Phone,Contact ID\n");
    text.push_str("Ann,ann@example.com,07911 123456,\nAnn again,ANN@example.com,,\nBad,nope,,\n");
    text.push_str(
        "Cat,cat@example.com,07911 123456,\nNo Email,,07911 123457,\nNo Email,,07911 123457,\n",
    );
    text.push_str("Ext,,,X-1\nExt again,,,X-1\n");
    // Enough rows for several batches.
    for i in 0..120 {
        text.push_str(&format!("P{i},p{}@example.com,,\n", i % 100));
    }
    let f = write(tmp.path(), "d.csv", text.as_bytes());
    let opts = |dry_run| ImportOptions {
        dry_run,
        batch_size: 16,
        ..Default::default()
    };
    let events = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ev = events.clone();
    s.subscribe(std::sync::Arc::new(move |_: &crm_core::ChangeEvent| {
        ev.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let dry = import_with(&mut s, &f, &opts(true));
    assert!(dry.dry_run);
    assert_eq!(s.count_contacts().unwrap(), 0);
    assert_eq!(s.outbox_len().unwrap(), 0);
    assert_eq!(
        events.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a dry run emits no events"
    );
    let real = import_with(&mut s, &f, &opts(false));
    let key = |r: &ImportReport| {
        (
            r.rows,
            r.created,
            r.updated,
            r.unchanged,
            r.skipped,
            r.blank,
            r.problems.clone(),
            r.possible_duplicate_count,
        )
    };
    assert_eq!(key(&dry), key(&real));
    assert_eq!(
        (real.created, real.updated, real.unchanged),
        (104, 22, 1),
        "{real:?}"
    );
    assert_eq!(s.count_contacts().unwrap(), 104);
}

#[test]
fn preview_shows_the_detected_mapping_and_first_rows_without_importing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let f = write(
        tmp.path(),
        "p.csv",
        "Vorname;Nachname;E-Mail;Notiz\nJürgen;Müller;j@example.de;x\nAnn;Lee;a@example.com;y\nC;D;c@example.com;z\n".as_bytes(),
    );
    let (info, rows) =
        crm_core::import::preview(&f, &[("Notiz".into(), "custom.note".into())], 2).unwrap();
    assert_eq!(
        (info.encoding.as_str(), info.delimiter.as_str()),
        ("UTF-8", ";")
    );
    let fields: Vec<_> = info.columns.iter().map(|c| c.field.as_deref()).collect();
    assert_eq!(
        fields,
        [
            Some("first_name"),
            Some("last_name"),
            Some("email"),
            Some("custom.note")
        ]
    );
    assert_eq!(
        rows,
        [
            ["Jürgen", "Müller", "j@example.de", "x"],
            ["Ann", "Lee", "a@example.com", "y"]
        ]
    );
    assert_eq!(s.count_contacts().unwrap(), 0);
}

#[test]
fn explicit_mapping_and_unknown_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "m.csv",
        b"Kunde,Mail,Notiz\nAnn Lee,ann@example.com,likes cats\n",
    );
    let r = import_with(
        &mut s,
        &f,
        &ImportOptions {
            mappings: vec![
                ("Kunde".into(), "full_name".into()),
                ("Mail".into(), "email".into()),
                ("Notiz".into(), "custom.note".into()),
            ],
            ..Default::default()
        },
    );
    assert_eq!(r.created, 1);
    let c = by_email(&s, "ann@example.com");
    assert_eq!(
        (c.first_name.as_deref(), c.last_name.as_deref()),
        (Some("Ann"), Some("Lee"))
    );
    assert_eq!(c.custom.get("note").map(String::as_str), Some("likes cats"));
    // A mapping naming a missing column is refused before anything is written.
    let err = s
        .import_contacts(
            &f,
            &ImportOptions {
                mappings: vec![("Nope".into(), "email".into())],
                ..Default::default()
            },
            &ImportControl::new(),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no column \"Nope\"") && err.contains("Kunde"),
        "{err}"
    );
    // A file with no usable column says so.
    let g = write(tmp.path(), "none.csv", b"foo,bar\n1,2\n");
    let err = s
        .import_contacts(
            &g,
            &ImportOptions::default(),
            &ImportControl::new(),
            &mut |_| {},
        )
        .unwrap_err();
    match &err {
        crm_core::CoreError::NothingMapped { path, columns } => {
            assert!(path.ends_with("none.csv"), "{err}");
            assert_eq!(columns, &["foo".to_string(), "bar".to_string()]);
        }
        other => panic!("expected NothingMapped, got {other}"),
    }
    let e = write(tmp.path(), "empty.csv", b"");
    let err = s
        .import_contacts(
            &e,
            &ImportOptions::default(),
            &ImportControl::new(),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn rows_without_email_are_not_duplicated_on_reimport() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "noemail.csv",
        b"First Name,Last Name,Phone,Contact ID\nAnn,Lee,07911 123456,\nBob,Ray,,SF-0001\n",
    );
    assert_eq!(import(&mut s, &f).created, 2);
    let again = import(&mut s, &f);
    assert_eq!(again.created, 0, "{again:?}");
    assert_eq!(s.count_contacts().unwrap(), 2);
}

#[test]
fn cancel_rolls_back_the_open_batch_and_a_rerun_completes_without_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut text = String::from("First Name,Email\n");
    for i in 0..5000 {
        text.push_str(&format!("P{i},p{i}@example.com\n"));
    }
    let f = write(tmp.path(), "big.csv", text.as_bytes());
    let control = ImportControl::new();
    let c2 = control.clone();
    let mut calls = 0;
    let opts = ImportOptions {
        batch_size: 1000,
        ..Default::default()
    };
    let r = s
        .import_contacts(&f, &opts, &control, &mut |p| {
            calls += 1;
            assert!(p.bytes_read <= p.total_bytes);
            if p.rows >= 2000 {
                c2.cancel();
            }
        })
        .unwrap();
    assert!(r.cancelled);
    assert!(calls >= 2);
    let n = s.count_contacts().unwrap();
    assert_eq!(n % 1000, 0, "only whole batches are committed, got {n}");
    assert!((2000..5000).contains(&n), "{n}");
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let r = import(&mut s, &f);
    assert!(!r.cancelled);
    assert_eq!(s.count_contacts().unwrap(), 5000);
    assert_eq!(r.created as i64, 5000 - n);
}

/// A record id (a CRM's own, or ours from our export) names the same
/// person only where emails do not say otherwise: different emails are
/// different people. A row with another email and a known id becomes a
/// contact of its own, reported as a possible duplicate; a row without
/// email still updates by id.
#[test]
fn a_record_id_does_not_merge_people_whose_emails_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let first = write(tmp.path(), "a.csv", b"ID,Name,Email\n1,Ann Lee,ann@y.com\n");
    assert_eq!(import(&mut s, &first).created, 1);
    let other = write(
        tmp.path(),
        "b.csv",
        b"ID,Name,Email\n1,Bob Ray,bob@x.com\n1,Ann Lee,\n",
    );
    let r = import(&mut s, &other);
    assert_eq!((r.created, r.skipped), (1, 0), "{r:?}");
    assert_eq!(s.count_contacts().unwrap(), 2);
    let ann = by_email(&s, "ann@y.com");
    assert_eq!(ann.display_name, "Ann Lee", "Ann was overwritten");
    assert_eq!(ann.emails, ["ann@y.com"]);
    let bob = by_email(&s, "bob@x.com");
    assert_eq!(bob.display_name, "Bob Ray");
    assert_eq!(r.possible_duplicate_count, 1, "{:?}", r.possible_duplicates);
    let d = &r.possible_duplicates[0];
    assert_eq!((d.row, d.shared, d.value.as_str()), (2, "record id", "1"));
    assert_eq!((d.contact_id, d.other_contact_id), (bob.id, ann.id));
    // Running it again changes nothing and creates no one.
    let again = import(&mut s, &other);
    assert_eq!(again.created, 0, "{again:?}");
    assert_eq!(s.count_contacts().unwrap(), 2);

    // Our own export's ids: a copied row given another person's name and
    // email is that other person, not an edit of the original.
    let out = tmp.path().join("export.csv");
    s.export_contacts(&out, &mut |_| {}).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let edited = text.replace("ann@y.com", "cy@z.com").replace("Ann", "Cy");
    let f = write(tmp.path(), "edited.csv", edited.as_bytes());
    let r = import(&mut s, &f);
    assert_eq!(r.created, 1, "{r:?}");
    assert_eq!(by_email(&s, "ann@y.com").display_name, "Ann Lee");
    assert!(r
        .possible_duplicates
        .iter()
        .any(|d| d.shared == "record id"));
}

/// Our own export writes a contact's further phones in one cell, split by
/// semicolons; importing that file again keeps every number.
#[test]
fn our_own_export_with_several_phones_imports_again_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut d = crm_core::ContactDraft::default();
    for (k, v) in [
        ("first_name", "Ann"),
        ("email", "ann@example.com"),
        ("phone", "07911 123456"),
        ("phone", "020 7946 0018"),
        ("phone", "0113 496 0000"),
    ] {
        d.set(k, v).unwrap();
    }
    let ann = s.create_contact(&d).unwrap();
    assert_eq!(ann.phones.len(), 3);
    let out = tmp.path().join("export.csv");
    s.export_contacts(&out, &mut |_| {}).unwrap();
    let mut fresh = store(&tmp.path().join("other"));
    let r = import(&mut fresh, &out);
    assert_eq!((r.created, r.skipped), (1, 0), "{r:?}");
    assert_eq!(by_email(&fresh, "ann@example.com").phones, ann.phones);
    // The export ends its last line with CRLF: one row, no blank one.
    assert_eq!((r.rows, r.blank), (1, 0), "{r:?}");
}

/// Row counts at the end of a file: a CRLF file's last line break is not
/// a row; an empty line after it is one, in CRLF and LF files alike.
#[test]
fn trailing_line_breaks_count_only_the_empty_lines_a_spreadsheet_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    for (name, text, rows, blank) in [
        ("crlf.csv", &b"Name,Email\r\nAnn,a@x.com\r\n"[..], 1, 0),
        ("crlf-blank.csv", b"Name,Email\r\nAnn,a@x.com\r\n\r\n", 2, 1),
        ("lf.csv", b"Name,Email\nAnn,a@x.com\n", 1, 0),
        ("lf-blank.csv", b"Name,Email\nAnn,a@x.com\n\n", 2, 1),
        ("none.csv", b"Name,Email\nAnn,a@x.com", 1, 0),
    ] {
        let f = write(tmp.path(), name, text);
        let r = import(&mut s, &f);
        assert_eq!((r.rows, r.blank), (rows, blank), "{name}: {r:?}");
    }
}

/// Outlook writes an unknown birthday as 0/0/00: no date, not a bad row.
/// A two-digit year is refused with what to write, never stored as the
/// year 85.
#[test]
fn zero_birthdays_are_empty_and_two_digit_years_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "outlook.csv",
        b"First Name,E-mail Address,Birthday\nAnn,ann@x.com,0/0/00\nBob,bob@x.com,31.03.85\nCy,cy@x.com,31.03.1985\n",
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (2, 1), "{r:?}");
    assert_eq!(by_email(&s, "ann@x.com").date_of_birth, None);
    assert_eq!(
        by_email(&s, "cy@x.com").date_of_birth,
        Some("1985-03-31".to_string())
    );
    let p = &r.problems[0];
    assert_eq!(p.row, 3);
    assert!(p.reason.contains("two-digit year"), "{}", p.reason);
}

/// Rows without email or id are matched on the whole row: two people of
/// the same name in different towns are two contacts (the second used to
/// overwrite the first), and running the file again creates no one.
#[test]
fn rows_without_email_that_differ_in_any_field_are_different_people() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "smiths.csv",
        b"Name,City,Phone\nJohn Smith,London,\nJohn Smith,Leeds,\nJohn Smith,London,\n",
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.updated + r.unchanged), (2, 1), "{r:?}");
    let mut cities: Vec<_> = all(&s)
        .into_iter()
        .filter_map(|c| c.details.get("city").map(str::to_string))
        .collect();
    cities.sort();
    assert_eq!(cities, ["Leeds", "London"]);
    let again = import(&mut s, &f);
    assert_eq!(again.created, 0, "{again:?}");
    assert_eq!(s.count_contacts().unwrap(), 2);
}

/// Excel's hint line (`sep=;`) names the delimiter and is not the header;
/// row numbers count from the header, as Excel (which hides the hint)
/// shows them.
#[test]
fn an_excel_sep_hint_line_sets_the_delimiter_and_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "hint.csv",
        b"\xef\xbb\xbfsep=;\r\nName;Email;Company\r\nAnn Lee;ann@x.com;Lee, Smith & Co\r\nBob;not-an-email;\r\n",
    );
    let r = import(&mut s, &f);
    assert_eq!(r.delimiter, ";", "{r:?}");
    assert_eq!((r.created, r.skipped), (1, 1), "{r:?}");
    assert_eq!(
        by_email(&s, "ann@x.com").company_name.as_deref(),
        Some("Lee, Smith & Co")
    );
    assert_eq!(r.problems[0].row, 3);
}

/// A file whose first 64 KB are plain ASCII gives the encoding guess
/// nothing to go on. Its first accented cell decides: a Windows-1252
/// export (accented names only further down) is read as such instead of
/// having those rows reported as broken, a UTF-8 one stays UTF-8, and a
/// UTF-8 file that turns bad later still has its bad rows reported.
#[test]
fn accents_past_the_first_64_kb_decide_the_encoding() {
    let tmp = tempfile::tempdir().unwrap();
    let head = |tail: &[u8]| {
        let mut b = b"First Name,Last Name,Email\n".to_vec();
        for i in 0..3000 {
            b.extend_from_slice(format!("Person{i},Plain,p{i}@example.com\n").as_bytes());
        }
        assert!(b.len() > 64 * 1024);
        b.extend_from_slice(tail);
        b
    };
    // Windows-1252: ü is 0xFC, ß 0xDF.
    let mut s = store(&tmp.path().join("w"));
    let f = write(
        tmp.path(),
        "late-1252.csv",
        &head(b"J\xFCrgen,Stra\xDFe,juergen@example.com\nZo\xEB,Smith,zoe@example.com\n"),
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (3002, 0), "{:?}", r.problems);
    assert_eq!(r.encoding, "Windows-1252");
    assert_eq!(
        by_email(&s, "juergen@example.com").last_name.as_deref(),
        Some("Straße")
    );
    assert_eq!(
        by_email(&s, "zoe@example.com").first_name.as_deref(),
        Some("Zoë")
    );
    // UTF-8, then a damaged row: reported, the rest imported.
    let mut s = store(&tmp.path().join("u"));
    let f = write(
        tmp.path(),
        "late-utf8.csv",
        &head("Jürgen,Straße,juergen@example.com\n".as_bytes())
            .into_iter()
            .chain(
                b"Bad\xFC,Row,bad@example.com\nZo\xC3\xAB,Smith,zoe@example.com\n"
                    .iter()
                    .copied(),
            )
            .collect::<Vec<u8>>(),
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (3002, 1), "{:?}", r.problems);
    assert_eq!(r.encoding, "UTF-8");
    assert_eq!(r.problems[0].row, 3003);
    assert!(r.problems[0].reason.contains("UTF-8"), "{:?}", r.problems);
    assert_eq!(
        by_email(&s, "juergen@example.com").last_name.as_deref(),
        Some("Straße")
    );
    assert_eq!(
        by_email(&s, "zoe@example.com").first_name.as_deref(),
        Some("Zoë")
    );
}

/// A quote that is never closed makes the rest of the file one cell: the
/// import stops at that row with an error naming it (instead of reading
/// the whole remainder into memory first), keeps the rows before it, and
/// once the quote is added a second run imports the rest without
/// duplicating anything.
#[test]
fn a_quote_never_closed_stops_the_import_at_its_row() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut good =
        b"First Name,Last Name,Email\nAnn,Lee,ann@example.com\nBob,Roe,bob@example.com\n".to_vec();
    let mut rest = Vec::new();
    for i in 0..120_000 {
        rest.extend_from_slice(format!("Person{i},Later,p{i}@example.com\n").as_bytes());
    }
    assert!(rest.len() as u64 > crm_core::import::MAX_RECORD_BYTES);
    let mut broken = good.clone();
    broken.extend_from_slice(b"\"Cy,Unclosed,cy@example.com\n");
    broken.extend_from_slice(&rest);
    let f = write(tmp.path(), "broken.csv", &broken);
    let err = s
        .import_contacts(
            &f,
            &ImportOptions::default(),
            &ImportControl::new(),
            &mut |_| {},
        )
        .expect_err("an unclosed quote stops the import");
    let text = err.to_string();
    assert!(
        text.contains("row 4") && text.contains("never closed"),
        "{text}"
    );
    assert!(text.contains("broken.csv"), "{text}");
    assert_eq!(
        s.count_contacts().unwrap(),
        2,
        "the rows before it are kept"
    );
    good.extend_from_slice(b"Cy,Closed,cy@example.com\n");
    good.extend_from_slice(&rest);
    let f = write(tmp.path(), "fixed.csv", &good);
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.unchanged, r.skipped), (120_001, 2, 0));
    assert_eq!(s.count_contacts().unwrap(), 120_003);
}

/// A phone's extension ("ext. 123", "x 45") is kept, not dropped without
/// a word, and survives our own export and a second import unchanged,
/// beside the other numbers of the same cell.
#[test]
fn phone_extensions_are_kept_through_export_and_import() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "ext.csv",
        b"First Name,Email,Phone,Mobile\n\
          Ann,ann@example.com,020 7946 0000 ext. 123,07911 123456\n\
          Bob,bob@example.com,+44 113 496 0000 x 45,\n",
    );
    let r = import(&mut s, &f);
    assert_eq!((r.created, r.skipped), (2, 0), "{:?}", r.problems);
    let ann = by_email(&s, "ann@example.com");
    assert_eq!(ann.phones, ["+442079460000;ext=123", "+447911123456"]);
    assert_eq!(
        by_email(&s, "bob@example.com").phones,
        ["+441134960000;ext=45"]
    );
    let out = tmp.path().join("export.csv");
    s.export_contacts(&out, &mut |_| {}).unwrap();
    let mut fresh = store(&tmp.path().join("other"));
    let r = import(&mut fresh, &out);
    assert_eq!((r.created, r.skipped), (2, 0), "{:?}", r.problems);
    assert_eq!(by_email(&fresh, "ann@example.com").phones, ann.phones);
    let r = import(&mut s, &out);
    assert_eq!((r.unchanged, r.created, r.skipped), (2, 0, 0), "{r:?}");
}

/// Control characters a damaged export carries (NUL, escape, DEL, C1) are
/// dropped from every text field; line breaks and tabs inside a cell stay,
/// and a vertical tab (some programs' in-cell line break) becomes one. A
/// cell of nothing else is empty.
#[test]
fn stray_control_characters_are_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let f = write(
        tmp.path(),
        "controls.csv",
        "First Name,Last Name,Email,Street Address,Company,Tags,Notes\n\
         An\u{0}n,L\u{1b}ee\u{7f},ann@example.com,\"1 High St\u{b}Flat 2\",\u{0}\u{0},vip\u{85},\"line one\nline\ttwo\u{0}\"\n"
            .as_bytes(),
    );
    let r = import_with(
        &mut s,
        &f,
        &ImportOptions {
            mappings: vec![("Notes".into(), "custom.notes".into())],
            ..Default::default()
        },
    );
    assert_eq!((r.created, r.skipped), (1, 0), "{:?}", r.problems);
    let ann = by_email(&s, "ann@example.com");
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    assert_eq!(ann.last_name.as_deref(), Some("Lee"));
    assert_eq!(ann.details.get("address_line1"), Some("1 High St\nFlat 2"));
    assert_eq!(ann.company_name, None);
    assert_eq!(ann.tags, ["vip"]);
    assert_eq!(ann.custom["notes"], "line one\nline\ttwo");
}
