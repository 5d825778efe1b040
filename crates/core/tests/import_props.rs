//! Hostile and random input to the importer: it never panics, every data row
//! is accounted for exactly once, and re-running never duplicates.

use std::path::Path;

use crm_core::import::{ImportControl, ImportOptions};
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use proptest::prelude::*;
use zeroize::Zeroizing;

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("p"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(Zeroizing::new("correct horse battery".into())),
    )
    .unwrap()
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z ]{0,12}",
        "[a-z]{1,8}@[a-z]{1,6}\\.(com|de|co\\.uk)",
        "(\\+44 ?|0)7911 ?[0-9]{6}",
        "[=+@\\-][A-Z(]{0,8}",
        "\\PC{0,10}",
        Just("\"".to_string()),
        Just("a,b".to_string()),
        Just("line\nbreak".to_string()),
        Just("Müller".to_string()),
        Just(String::new()),
    ]
}

fn quote(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_csv_rows_are_each_accounted_for_once_and_reruns_never_duplicate(
        rows in prop::collection::vec(prop::collection::vec(cell(), 1..6), 0..40)
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = store(tmp.path());
        let mut text = String::from("First Name,Last Name,Email,Phone,Company\n");
        for r in &rows {
            text.push_str(&r.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        let f = tmp.path().join("r.csv");
        std::fs::write(&f, &text).unwrap();
        let rep = s.import_contacts(&f, &ImportOptions::default(), &ImportControl::new(), &mut |_| {}).unwrap();
        prop_assert_eq!(rep.rows, rows.len() as u64);
        prop_assert_eq!(rep.created + rep.updated + rep.unchanged + rep.skipped + rep.blank, rep.rows);
        prop_assert_eq!(rep.problems.len() as u64, rep.skipped);
        for p in &rep.problems {
            prop_assert!(p.row >= 2 && p.row <= rows.len() as u64 + 1, "row number {} out of range", p.row);
            prop_assert!(!p.reason.is_empty());
        }
        let n = s.count_contacts().unwrap();
        prop_assert!(n as u64 <= rep.created);
        let again = s.import_contacts(&f, &ImportOptions::default(), &ImportControl::new(), &mut |_| {}).unwrap();
        prop_assert_eq!(again.created, 0, "re-import created contacts: {:?}", again);
        prop_assert_eq!(s.count_contacts().unwrap(), n);
        prop_assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_fail_cleanly_or_report(
        bytes in prop::collection::vec(any::<u8>(), 0..2000)
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = store(tmp.path());
        let f = tmp.path().join("junk.csv");
        let mut content = b"Name,Email\n".to_vec();
        content.extend_from_slice(&bytes);
        std::fs::write(&f, &content).unwrap();
        match s.import_contacts(&f, &ImportOptions::default(), &ImportControl::new(), &mut |_| {}) {
            Ok(rep) => prop_assert_eq!(rep.created + rep.updated + rep.unchanged + rep.skipped + rep.blank, rep.rows),
            Err(e) => prop_assert!(e.to_string().contains("junk.csv"), "error does not name the file: {}", e),
        }
        prop_assert_eq!(s.integrity_check().unwrap(), "ok");
    }
}
