//! Scratch copies of a profile (what dry runs write to) and the changes a
//! span of writes made, read back from the audit trail.

mod support;

use crm_core::CoreError;
use support::*;

#[test]
fn a_scratch_copy_takes_writes_that_never_reach_the_profile() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = new_store(tmp.path());
    let ann = s
        .create_contact(&draft(&[("first_name", "Ann"), ("city", "York")]))
        .expect("create");
    let before = s.content_digest().expect("digest");
    let outbox = s.outbox_len().expect("outbox");

    let mut copy = s.scratch_copy().expect("copy");
    assert!(copy.is_scratch());
    assert_eq!(copy.identity().tenant_id, s.identity().tenant_id);
    assert_eq!(
        copy.content_digest().expect("digest"),
        before,
        "a faithful copy"
    );
    copy.update_contact(ann.id, &[("city".into(), "Leeds".into())])
        .expect("update the copy");
    copy.create_contact(&draft(&[("first_name", "Bo")]))
        .expect("create in the copy");
    assert_eq!(
        copy.contact(ann.id).expect("ann").details.get("city"),
        Some("Leeds")
    );
    assert_ne!(copy.content_digest().expect("digest"), before);

    // The profile is exactly as it was, and stays so once the copy is gone.
    assert_eq!(s.content_digest().expect("digest"), before);
    assert_eq!(s.outbox_len().expect("outbox"), outbox);
    drop(copy);
    assert_eq!(s.content_digest().expect("digest"), before);
    assert_eq!(
        s.contact(ann.id).expect("ann").details.get("city"),
        Some("York")
    );
    // Nothing of the copy was left beside the profile.
    let files: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("crm.db") || f.ends_with(".json")),
        "{files:?}"
    );
}

#[test]
fn a_scratch_copy_opens_no_second_connection() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = new_store(tmp.path());
    let copy = s.scratch_copy().expect("copy");
    for r in [copy.open_reader(), copy.open_sibling(), copy.scratch_copy()] {
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "{r:?}");
    }
}

#[test]
fn changes_since_a_mark_sum_up_each_record_over_the_span() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = new_store(tmp.path());
    let ann = s
        .create_contact(&draft(&[("first_name", "Ann"), ("city", "York")]))
        .expect("create");
    let mark = s.audit_mark().expect("mark");
    assert!(s.changes_since(mark).expect("none").is_empty());
    // Changed twice; a field changed and changed back is no change.
    s.update_contact(
        ann.id,
        &[
            ("city".into(), "Leeds".into()),
            ("postcode".into(), "LS1 1AA".into()),
        ],
    )
    .expect("update");
    s.update_contact(
        ann.id,
        &[
            ("city".into(), "Hull".into()),
            ("postcode".into(), String::new()),
        ],
    )
    .expect("update");
    let bo = s
        .create_contact(&draft(&[("first_name", "Bo")]))
        .expect("create");
    s.update_contact(bo.id, &[("city".into(), "Ely".into())])
        .expect("update");
    let changes = s.changes_since(mark).expect("changes");
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].row_id, ann.id.to_string());
    assert_eq!(changes[0].action, "updated");
    assert_eq!(
        changes[0].changes["city"],
        serde_json::json!(["York", "Hull"])
    );
    assert!(!changes[0].changes.contains_key("postcode"), "{changes:?}");
    // A creation is shown with the values it has at the end.
    assert_eq!(changes[1].row_id, bo.id.to_string());
    assert_eq!(changes[1].action, "created");
    assert_eq!(changes[1].changes["city"], serde_json::json!("Ely"));
}

#[test]
fn changes_since_names_each_row_of_a_shared_creation_entry() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = new_store(tmp.path());
    let mark = s.audit_mark().expect("mark");
    let csv = tmp.path().join("many.csv");
    let mut text = String::from("first_name,city\n");
    for i in 0..40 {
        text.push_str(&format!("P{i},Town{i}\n"));
    }
    std::fs::write(&csv, text).expect("csv");
    s.import_contacts(
        &csv,
        &crm_core::import::ImportOptions::default(),
        &crm_core::import::ImportControl::new(),
        &mut |_| {},
    )
    .expect("import");
    let changes = s.changes_since(mark).expect("changes");
    assert_eq!(
        changes.len(),
        40,
        "one per contact, shared entries included"
    );
    assert!(changes
        .iter()
        .all(|c| c.action == "created" && c.table == "contacts"));
}

fn run_at(plugin: &str, at: String) -> crm_core::plugin_state::PluginRun {
    crm_core::plugin_state::PluginRun {
        plugin_id: plugin.into(),
        trigger: "action:go".into(),
        function: "go".into(),
        at,
        duration_us: 10,
        operations: 1,
        ok: true,
        error_kind: None,
        message: None,
        record: None,
        audit_span: None,
    }
}

#[test]
fn a_plugins_run_history_keeps_ninety_days_and_its_changes_are_its_own() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = new_store(tmp.path());
    let stamp = |days: i64| {
        (chrono::Utc::now() - chrono::Duration::days(days))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    // Old runs, then enough new ones to pass a pruning point.
    for _ in 0..10 {
        s.record_plugin_run(&run_at("p", stamp(91)))
            .expect("old run");
    }
    for _ in 0..95 {
        s.record_plugin_run(&run_at("p", stamp(1)))
            .expect("new run");
    }
    let kept = s.plugin_runs("p", 1_000).expect("runs");
    assert_eq!(kept.len(), 95, "runs older than 90 days are dropped");
    assert!(kept.iter().all(|r| r.at > stamp(90)));

    // What a run changed: the plugin's own audit entries in its span, not
    // the person's made meanwhile.
    let from = s.audit_mark().expect("mark");
    let ann = s
        .create_contact(&draft(&[("first_name", "Ann")]))
        .expect("the person's contact");
    let bo = s
        .with_actor(
            crm_core::Actor::Plugin {
                plugin: "p".into(),
                user: s.identity().user_id.clone(),
            },
            |s| s.create_contact(&draft(&[("first_name", "Bo")])),
        )
        .expect("the plugin's contact");
    let to = s.audit_mark().expect("mark");
    let changes = s.changes_between(from, to, Some("p")).expect("changes");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].row_id, bo.id.to_string());
    assert_ne!(changes[0].row_id, ann.id.to_string());
    assert_eq!(
        s.changes_between(from, to, None).expect("all").len(),
        2,
        "without a plugin named, every change in the span"
    );
}
