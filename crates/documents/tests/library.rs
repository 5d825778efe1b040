//! The documents library on a real encrypted profile, with files read by
//! the real worker process.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_documents::{self as docs, AddOptions, DocIndex, DocStatus, ListQuery, Viewer};
use crm_extract::Extractor;

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("documents tests".into())),
    )
    .unwrap()
}

fn extractor() -> Extractor {
    Extractor::with_program(env!("CARGO_BIN_EXE_crm-docs-worker"))
}

fn add(store: &mut Store, paths: &[PathBuf], opts: &AddOptions) -> Vec<docs::Added> {
    docs::add(
        store,
        &extractor(),
        paths,
        opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const CLAIMS_MD: &str =
    "# Claims handbook\n\nThis handbook explains how the agency handles claims.\n\n\
## Motor claims\n\nA customer must report a motor accident to the claims line within 24 hours. \
Ask for the other driver's registration and insurer.\n\n## Home claims\n\n\
Escape of water claims need photographs of the damage and a plumber's report.\n";

#[test]
fn added_files_are_searched_with_their_heading_and_highlighted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let files = tmp.path().join("in");
    std::fs::create_dir(&files).unwrap();
    write(&files, "claims.md", CLAIMS_MD);
    write(
        &files,
        "complaints.html",
        "<!doctype html><html><body><h1>Complaints procedure</h1><h2>Acknowledging</h2>\
         <p>Acknowledge every complaint in writing within five working days.</p>\
         <script>document.write('tracking pixel')</script></body></html>",
    );
    write(
        &files,
        "notes.txt",
        "Lone working: call the office every two hours.\x0cPage two of the notes.",
    );
    write(&files, "ignored.bin", "not a document");
    let added = add(&mut s, std::slice::from_ref(&files), &AddOptions::default());
    let got: Vec<_> = added
        .iter()
        .map(|a| {
            (
                a.path.file_name().unwrap().to_string_lossy().to_string(),
                a.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("claims.md".into(), "indexed"),
            ("complaints.html".into(), "indexed"),
            ("notes.txt".into(), "indexed"),
            ("ignored.bin".into(), "skipped")
        ],
        "a folder adds the supported files it holds and names the others"
    );
    let mut index = DocIndex::open(&s).unwrap();
    let hits = index
        .search(
            &s,
            &Viewer::agent(None),
            "how long to report a car accident",
            10,
        )
        .unwrap();
    let top = &hits[0];
    assert_eq!(top.title, "Claims handbook");
    assert_eq!(top.file_name, "claims.md");
    assert_eq!(top.heading, "Claims handbook › Motor claims");
    assert_eq!(top.page, None, "Markdown has no pages");
    assert!(top.text.contains("within 24 hours"), "{}", top.text);
    let marked: Vec<String> = top
        .highlights
        .iter()
        .map(|&(a, b)| top.text.chars().skip(a).take(b - a).collect())
        .collect();
    assert!(marked.contains(&"report".to_string()), "{marked:?}");
    assert!(marked.contains(&"accident".to_string()), "{marked:?}");
    // The script's text was never indexed.
    assert!(index
        .search(&s, &Viewer::agent(None), "tracking pixel", 10)
        .unwrap()
        .is_empty());
    // A text file's form feed is a page: the citation names page 2.
    let p2 = index
        .search(&s, &Viewer::agent(None), "\"page two\"", 10)
        .unwrap();
    assert_eq!(p2[0].page, Some(2));
    // A typo in a longer word still finds it.
    let typo = index
        .search(&s, &Viewer::agent(None), "acknowlege complaint", 10)
        .unwrap();
    assert_eq!(typo[0].title, "Complaints procedure");
    // A phrase must appear as written.
    assert!(index
        .search(&s, &Viewer::agent(None), "\"hours within\"", 10)
        .unwrap()
        .is_empty());
    let (list, total) = docs::list(&s, &ListQuery::default()).unwrap();
    assert_eq!(total, 3);
    assert!(list.iter().all(|d| d.status == DocStatus::Published));
}

#[test]
fn a_new_version_replaces_the_old_in_search_and_both_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let p = write(tmp.path(), "claims.md", CLAIMS_MD);
    let first = add(&mut s, std::slice::from_ref(&p), &AddOptions::default());
    let id = first[0].document_id.clone().unwrap();
    let mut index = DocIndex::open(&s).unwrap();
    let agent = Viewer::agent(None);
    assert_eq!(
        index.search(&s, &agent, "24 hours motor", 5).unwrap()[0].version,
        1
    );
    // The same bytes again: nothing new.
    let again = add(&mut s, std::slice::from_ref(&p), &AddOptions::default());
    assert_eq!(again[0].status, "unchanged");
    std::fs::write(&p, CLAIMS_MD.replace("within 24 hours", "within 48 hours")).unwrap();
    let second = add(
        &mut s,
        std::slice::from_ref(&p),
        &AddOptions {
            change_note: Some("Motor deadline now 48 hours".into()),
            ..Default::default()
        },
    );
    assert_eq!(second[0].document_id.as_deref(), Some(id.as_str()));
    assert_eq!(second[0].version, Some(2));
    let hits = index.search(&s, &agent, "motor accident hours", 5).unwrap();
    assert_eq!(hits[0].version, 2);
    assert!(hits[0].text.contains("48 hours"));
    assert!(
        !hits.iter().any(|h| h.text.contains("24 hours")),
        "the old version left the index when the new one came in"
    );
    let versions = docs::versions(&s, &id).unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0].live && !versions[1].live);
    assert_eq!(
        versions[0].change_note.as_deref(),
        Some("Motor deadline now 48 hours")
    );
    assert_eq!(docs::file_bytes(&s, &id, 1).unwrap(), CLAIMS_MD.as_bytes());
    // A fresh index built from the store agrees.
    let mut fresh = DocIndex::open(&s).unwrap();
    assert_eq!(
        fresh.search(&s, &agent, "motor accident hours", 5).unwrap()[0].version,
        2
    );
}

#[test]
fn audience_drafts_and_retired_documents_are_searched_by_only_those_who_may() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let south = write(
        tmp.path(),
        "south-rota.md",
        "# South rota\n\nThe south team's on-call rota starts at 8am.\n",
    );
    let all = write(
        tmp.path(),
        "rota-guide.md",
        "# Rota guide\n\nEvery on-call rota is published on Fridays.\n",
    );
    let draft = write(
        tmp.path(),
        "draft-rota.md",
        "# Draft rota\n\nA draft on-call rota nobody sees yet.\n",
    );
    let south_id = add(
        &mut s,
        &[south],
        &AddOptions {
            audience: vec!["team:south".into()],
            ..Default::default()
        },
    )[0]
    .document_id
    .clone()
    .unwrap();
    let all_id = add(&mut s, &[all], &AddOptions::default())[0]
        .document_id
        .clone()
        .unwrap();
    let draft_id = add(
        &mut s,
        &[draft],
        &AddOptions {
            draft: true,
            ..Default::default()
        },
    )[0]
    .document_id
    .clone()
    .unwrap();
    let mut index = DocIndex::open(&s).unwrap();
    let ids = |hits: Vec<docs::Hit>| {
        let mut v: Vec<String> = hits.into_iter().map(|h| h.document_id).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut want_north = vec![all_id.clone()];
    want_north.sort();
    let north = Viewer::agent(Some("north"));
    assert_eq!(
        ids(index.search(&s, &north, "on-call rota", 50).unwrap()),
        want_north
    );
    let mut want_south = vec![all_id.clone(), south_id.clone()];
    want_south.sort();
    assert_eq!(
        ids(index
            .search(&s, &Viewer::agent(Some("south")), "on-call rota", 50)
            .unwrap()),
        want_south
    );
    // Publishing the draft brings it in; retiring takes a document out.
    docs::publish(&mut s, &draft_id).unwrap();
    docs::retire(&mut s, &all_id).unwrap();
    assert_eq!(
        ids(index.search(&s, &north, "on-call rota", 50).unwrap()),
        vec![draft_id.clone()]
    );
    // Widening the audience reaches the north team at once.
    docs::set_audience(
        &mut s,
        &south_id,
        &["team:south".into(), "team:north".into()],
    )
    .unwrap();
    assert!(ids(index.search(&s, &north, "on-call rota", 50).unwrap()).contains(&south_id));
    // Every step was audited.
    let audited: i64 = s
        .feature_read(|c| {
            c.query_row(
                "SELECT count(*) FROM audit_log WHERE table_name = 'documents:docs'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(
        audited,
        3 + 1 + 1 + 1,
        "three added, published, retired, audience"
    );
}

#[test]
fn bad_files_get_a_status_each_and_never_stop_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let dir = tmp.path().join("batch");
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "a-empty.txt", "");
    write(&dir, "b-broken.pdf", "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF");
    write(
        &dir,
        "c-good.md",
        "# Good\n\nThis one is fine and about fire drills.\n",
    );
    std::fs::write(dir.join("d-binary.txt"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    let big = std::fs::File::create(dir.join("e-huge.txt")).unwrap();
    big.set_len(200 << 20).unwrap();
    let added = add(&mut s, &[dir], &AddOptions::default());
    let got: Vec<_> = added
        .iter()
        .map(|a| (a.status.as_str(), a.reason.clone().unwrap_or_default()))
        .collect();
    assert_eq!(got[0].0, "failed");
    assert!(got[0].1.contains("empty"), "{got:?}");
    assert_eq!(got[1].0, "failed");
    assert!(got[1].1.contains("PDF"), "{got:?}");
    assert_eq!(got[2].0, "indexed");
    assert_eq!(got[3].0, "failed");
    assert!(got[3].1.contains("not a PDF, Word"), "{got:?}");
    assert_eq!(got[4].0, "failed");
    assert!(got[4].1.contains("200 MB"), "{got:?}");
    // The broken PDF is kept as a draft an admin can see and replace; it
    // cannot be published until a readable version comes.
    let broken = added[1].document_id.clone().unwrap();
    let doc = docs::get(&s, &broken).unwrap();
    assert_eq!(doc.status, DocStatus::Draft);
    let e = docs::publish(&mut s, &broken).unwrap_err();
    assert!(e.to_string().contains("no readable version"), "{e}");
    let mut index = DocIndex::open(&s).unwrap();
    assert_eq!(
        index
            .search(&s, &Viewer::agent(None), "fire drills", 5)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn no_passage_text_reaches_a_file_in_the_profile_or_temp_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::SystemTime::now();
    let mut s = store(tmp.path());
    // The input lives outside the profile and outside the temp folder.
    let input = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("no-plaintext-{}", std::process::id()));
    std::fs::create_dir_all(&input).unwrap();
    let secret = "Quetzalcoatl procedure for xylophone escalations";
    let p = write(
        &input,
        "secret.md",
        &format!("# Escalations\n\n{secret}.\n"),
    );
    add(&mut s, &[p], &AddOptions::default());
    let mut index = DocIndex::open(&s).unwrap();
    assert_eq!(
        index
            .search(&s, &Viewer::agent(None), "xylophone", 5)
            .unwrap()
            .len(),
        1
    );
    drop(index);
    drop(s);
    let _ = std::fs::remove_dir_all(&input);
    let needle = "xylophone";
    let mut leaks = Vec::new();
    scan(&tmp.path().join("profile"), needle, None, &mut leaks);
    scan(&std::env::temp_dir(), needle, Some(started), &mut leaks);
    assert!(leaks.is_empty(), "plaintext found in {leaks:?}");
}

fn scan(dir: &Path, needle: &str, since: Option<std::time::SystemTime>, leaks: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            scan(&path, needle, since, leaks);
        } else if meta.len() < (64 << 20) {
            if let Some(t) = since {
                if meta.modified().map(|m| m < t).unwrap_or(true) {
                    continue;
                }
            }
            if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    leaks.push(path);
                }
            }
        }
    }
}

#[test]
fn a_new_version_takes_the_options_given_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let p = write(
        tmp.path(),
        "pay.md",
        "# Pay policy\n\nPay day is the last Friday.\n",
    );
    let id = add(&mut s, std::slice::from_ref(&p), &AddOptions::default())[0]
        .document_id
        .clone()
        .unwrap();
    std::fs::write(
        &p,
        "# Pay policy\n\nPay day is the 28th; bonus bands are confidential.\n",
    )
    .unwrap();
    // A draft version of a published document waits for publishing, and
    // the audience given with it applies to the document.
    let v2 = add(
        &mut s,
        std::slice::from_ref(&p),
        &AddOptions {
            draft: true,
            audience: vec!["team:hr".into()],
            ..Default::default()
        },
    );
    assert_eq!(v2[0].version, Some(2));
    let doc = docs::get(&s, &id).unwrap();
    assert_eq!(doc.live_version, Some(1), "a draft version is not live");
    assert_eq!(doc.audience, vec!["team:hr".to_string()]);
    let mut index = DocIndex::open(&s).unwrap();
    let hr = Viewer::agent(Some("hr"));
    assert!(index.search(&s, &hr, "bonus bands", 5).unwrap().is_empty());
    assert!(
        index
            .search(&s, &Viewer::agent(None), "pay day", 5)
            .unwrap()
            .is_empty(),
        "the narrowed audience holds for the live version at once"
    );
    docs::publish(&mut s, &id).unwrap();
    assert_eq!(
        index.search(&s, &hr, "bonus bands", 5).unwrap()[0].version,
        2
    );
}

#[test]
fn one_name_twice_in_a_batch_is_refused_and_a_failed_file_can_be_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    write(&a, "claims.md", "# Claims A\n\nFirst.\n");
    write(&b, "claims.md", "# Claims B\n\nSecond.\n");
    let added = add(&mut s, &[a, b], &AddOptions::default());
    assert_eq!(added[0].status, "indexed");
    assert_eq!(added[1].status, "failed");
    assert!(
        added[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("also named claims.md"),
        "{added:?}"
    );
    // A file that could not be read is read again when added again.
    let broken = write(tmp.path(), "broken.pdf", "%PDF-1.7\ngarbage");
    let first = add(
        &mut s,
        std::slice::from_ref(&broken),
        &AddOptions::default(),
    );
    assert_eq!(first[0].status, "failed");
    let again = add(
        &mut s,
        std::slice::from_ref(&broken),
        &AddOptions::default(),
    );
    assert_eq!(again[0].status, "failed", "tried again, not `unchanged`");
    assert_eq!(again[0].version, Some(2));
}

#[test]
fn a_cancelled_add_stops_and_keeps_what_was_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let dir = tmp.path().join("many");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..12 {
        write(
            &dir,
            &format!("note-{i:02}.md"),
            &format!("# Note {i}\n\nText {i}.\n"),
        );
    }
    let cancel = AtomicBool::new(false);
    let got = docs::add(
        &mut s,
        &extractor(),
        &[dir],
        &AddOptions::default(),
        &mut |p| {
            if p.done == 2 {
                cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        },
        &cancel,
    );
    assert!(matches!(got, Err(docs::DocsError::Cancelled)), "{got:?}");
    let (_, total) = docs::list(&s, &ListQuery::default()).unwrap();
    assert!((2..12).contains(&total), "{total} stored before the stop");
}

#[test]
fn asking_a_profile_with_no_documents_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut index = DocIndex::open(&s).unwrap();
    let a = docs::ask(
        &mut s,
        &mut index,
        "what is the lone working policy?",
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(a.sources.is_empty());
    assert!(a.answer.starts_with("None of the documents you can see"));
}

#[test]
fn the_index_is_kept_in_the_store_loaded_at_start_and_built_again_when_damaged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let files = tmp.path().join("in");
    std::fs::create_dir(&files).unwrap();
    let claims = write(&files, "claims.md", CLAIMS_MD);
    add(&mut s, &[claims], &AddOptions::default());
    let saved = |s: &Store| -> (i64, i64) {
        s.feature_read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM documents_index_files), \
                        (SELECT seq FROM documents_index_state)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap()
    };
    let (files_kept, seq) = saved(&s);
    assert!(files_kept >= 2, "segments and meta.json kept: {files_kept}");
    let agent = Viewer::agent(None);
    let ids = |index: &mut DocIndex, s: &mut Store, q: &str| -> Vec<(String, i64)> {
        index
            .search(s, &agent, q, 10)
            .unwrap()
            .into_iter()
            .map(|h| (h.document_id, h.passage_id))
            .collect()
    };
    let mut built = DocIndex::build(&s).unwrap();
    let expected = ids(&mut built, &mut s, "motor accident registration");
    assert!(!expected.is_empty());
    // Loaded from the store: the same answers.
    let mut loaded = DocIndex::open(&s).unwrap();
    assert_eq!(loaded.passages(), built.passages());
    assert_eq!(
        ids(&mut loaded, &mut s, "motor accident registration"),
        expected
    );

    // A change is saved with the counter it matches; retiring takes it out.
    let id = expected[0].0.clone();
    docs::retire(&mut s, &id).unwrap();
    let (_, after) = saved(&s);
    assert!(
        after > seq,
        "saved again after the change: {seq} -> {after}"
    );
    let mut reopened = DocIndex::open(&s).unwrap();
    assert!(ids(&mut reopened, &mut s, "motor accident registration").is_empty());
    docs::publish(&mut s, &id).unwrap();

    // Damaged: every saved file overwritten with garbage. Opening builds
    // the index from the store's passages instead; nothing is lost.
    let actor = s.user_actor();
    s.feature_write(&docs::FEATURE, actor, |tx| -> crm_core::Result<usize> {
        Ok(tx
            .conn()
            .execute("UPDATE documents_index_files SET bytes = x'00ff00ff'", [])?)
    })
    .unwrap();
    let mut rebuilt = DocIndex::open(&s).unwrap();
    assert_eq!(
        ids(&mut rebuilt, &mut s, "motor accident registration"),
        expected
    );
    // Gone altogether: the same.
    let actor = s.user_actor();
    s.feature_write(&docs::FEATURE, actor, |tx| -> crm_core::Result<usize> {
        Ok(tx.conn().execute("DELETE FROM documents_index_files", [])?)
    })
    .unwrap();
    let mut rebuilt = DocIndex::open(&s).unwrap();
    assert_eq!(
        ids(&mut rebuilt, &mut s, "motor accident registration"),
        expected
    );
}
