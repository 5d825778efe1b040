//! Every template in `scripts-templates/` passes `check` and its own tests,
//! and `crm plugin new` can start from each; the host-API reference in
//! `docs/host-api.md` matches the registered functions.

crm_plugins::counting_allocator!();

use std::path::PathBuf;

use crm_plugins::{Limits, Sandbox};

fn templates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts-templates")
}

#[test]
fn every_template_checks_and_passes_its_tests() {
    let sb = Sandbox::new(Limits::default());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(templates_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let m = crm_plugins::check::check_dir(&dir, &sb)
            .unwrap_or_else(|p| panic!("{}: {p:?}", dir.display()));
        let outcomes = crm_plugins::testing::run_plugin_tests(&dir).unwrap();
        assert!(!outcomes.is_empty(), "{} has no tests", m.id);
        for o in &outcomes {
            assert!(o.failure.is_none(), "{} {}: {:?}", m.id, o.name, o.failure);
        }
        names.push(dir.file_name().unwrap().to_string_lossy().into_owned());
    }
    for want in [
        "lead-scoring",
        "ai-next-step",
        "renewal-reminders",
        "arrears-chaser",
        "call-list",
        "duplicate-finder",
        "training-expiry",
        "policy-review",
    ] {
        assert!(names.iter().any(|n| n == want), "missing template {want}");
    }
}

#[test]
fn a_failing_plugin_test_is_reported_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Broken Plugin");
    crm_plugins::templates::create("blank", &dir).unwrap();
    std::fs::write(
        dir.join("tests/wrong.rhai"),
        "fn test_wrong() { test::assert_eq(hello(), \"something else\"); }\nfn helper() {}\n",
    )
    .unwrap();
    let out = crm_plugins::testing::run_plugin_tests(&dir).unwrap();
    let wrong = out.iter().find(|o| o.name.ends_with("test_wrong")).unwrap();
    assert!(wrong
        .failure
        .as_deref()
        .unwrap()
        .contains("expected \"something else\""));
    assert!(out.iter().all(|o| !o.name.ends_with("helper")));
}

#[test]
fn new_plugins_start_from_every_template() {
    let tmp = tempfile::tempdir().unwrap();
    let sb = Sandbox::new(Limits::default());
    let list = crm_plugins::templates::list();
    assert!(list.len() >= 7);
    for (name, description) in list {
        assert!(!description.is_empty(), "{name} has no description");
        let dest = tmp.path().join(format!("My {name}"));
        let id = crm_plugins::templates::create(&name, &dest).unwrap();
        assert!(id.starts_with("local.my-"), "{id}");
        let m = crm_plugins::check::check_dir(&dest, &sb).unwrap();
        assert_eq!(m.id, id);
        // Not over an existing folder.
        assert!(crm_plugins::templates::create(&name, &dest).is_err());
    }
    assert!(
        crm_plugins::templates::create("nope", &tmp.path().join("x"))
            .unwrap_err()
            .contains("lead-scoring")
    );
}

#[test]
fn the_host_api_reference_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/host-api.md");
    let now = crm_plugins::reference::host_api_markdown().unwrap();
    for module in [
        "contacts",
        "policies",
        "payments",
        "tasks",
        "activities",
        "storage",
        "settings",
        "log",
        "ui",
        "dates",
        "http",
        "ai",
        "staff",
        "training",
        "compliance",
    ] {
        assert!(now.contains(&format!("## `{module}`")), "{module} missing");
    }
    assert!(
        now.contains("contacts::update_many(changes: Array) -> i64"),
        "{now}"
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "docs/host-api.md is stale: run UPDATE_DOCS=1 cargo test -p crm-plugins --test templates"
    );
}
