//! Install → enable → run → disable → uninstall, each rule broken once.

crm_plugins::counting_allocator!();

use std::path::Path;
use std::sync::{Arc, Mutex};

use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_plugins::lifecycle::{self, LifecycleError};
use crm_plugins::package::{generate_key, pack};
use crm_plugins::runtime::Runtime;
use crm_plugins::{ErrorKind, Limits, RunOutput};

fn run(
    rt: &Runtime,
    id: &str,
    action: &str,
    record: Option<&str>,
) -> Result<RunOutput, LifecycleError> {
    rt.run_action(id, action, record)?.into_output()
}

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("correct horse battery".into())),
    )
    .unwrap()
}

fn plugin(
    dir: &Path,
    id: &str,
    version: &str,
    perms: &[&str],
    deps: &str,
    script: &str,
) -> std::path::PathBuf {
    let d = dir.join(format!("{id}-{version}"));
    std::fs::create_dir_all(&d).unwrap();
    let perms: Vec<String> = perms.iter().map(|p| format!("\"{p}\"")).collect();
    std::fs::write(
        d.join("manifest.json"),
        format!(
            r#"{{"id": "{id}", "name": "T", "version": "{version}", "api_version": "^1", "author": "A",
                "permissions": [{}], "dependencies": {{{deps}}},
                "actions": [{{"id": "count", "label": "Count", "target": "global", "function": "count"}},
                            {{"id": "name", "label": "Name", "target": "contact", "function": "name"}}]}}"#,
            perms.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(d.join("main.rhai"), script).unwrap();
    d
}

const SCRIPT: &str =
    "fn count() { contacts::count() }\nfn name(id) { contacts::get(id).display_name }\n";

fn refused(r: Result<impl std::fmt::Debug, LifecycleError>, words: &str) {
    match r {
        Ok(v) => panic!("expected a refusal containing {words:?}, got {v:?}"),
        Err(e) => assert!(e.to_string().contains(words), "expected {words:?} in {e}"),
    }
}

#[test]
fn the_whole_lifecycle_with_a_signed_package() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mut d = crm_core::ContactDraft::default();
    d.set("first_name", "Ann").unwrap();
    let ann = s.create_contact(&d).unwrap();
    let key = generate_key();
    let dir = plugin(
        tmp.path(),
        "acme.counter",
        "1.0.0",
        &["contacts:read"],
        "",
        SCRIPT,
    );
    let pkg = tmp.path().join("p.zip");
    std::fs::write(&pkg, pack(&dir, &key).unwrap()).unwrap();
    // Untrusted publisher: refused; then trusted: installed, disabled.
    refused(
        lifecycle::install(&mut s, &pkg, false),
        "not a trusted publisher",
    );
    s.trust_publisher(&hex::encode(key.verifying_key().as_bytes()), "Acme")
        .unwrap();
    lifecycle::install(&mut s, &pkg, false).unwrap();
    assert!(!s.plugin("acme.counter").unwrap().enabled);
    refused(lifecycle::install(&mut s, &pkg, false), "is not newer");
    // A folder needs developer mode.
    refused(lifecycle::install(&mut s, &dir, false), "developer mode");
    // Grants are a subset of what was asked for.
    refused(
        lifecycle::enable(&mut s, "acme.counter", Some(vec!["contacts:write".into()])),
        "did not ask for",
    );
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    refused(run(&rt, "acme.counter", "count", None), "disabled");
    // Enabled with no grant: the action runs and is refused by the sandbox.
    lifecycle::enable(&mut store.lock().unwrap(), "acme.counter", Some(vec![])).unwrap();
    match run(&rt, "acme.counter", "count", None) {
        Err(LifecycleError::Script(e)) => assert_eq!(e.kind, ErrorKind::Permission),
        other => panic!("expected a permission error, got {other:?}"),
    }
    lifecycle::enable(&mut store.lock().unwrap(), "acme.counter", None).unwrap();
    let out = run(&rt, "acme.counter", "count", None).unwrap();
    assert_eq!(out.value, serde_json::json!(1));
    let id = ann.id.to_string();
    let out = run(&rt, "acme.counter", "name", Some(&id)).unwrap();
    assert_eq!(out.value, serde_json::json!("Ann"));
    assert!(
        matches!(
            run(&rt, "acme.counter", "name", None),
            Err(LifecycleError::NeedsRecord(ref a)) if a == "name"
        ),
        "an action on a record, run without one, says which action needs one"
    );
    refused(run(&rt, "acme.counter", "nope", None), "no action");
    // Disable is instant.
    lifecycle::disable(&mut store.lock().unwrap(), "acme.counter").unwrap();
    refused(run(&rt, "acme.counter", "count", None), "disabled");
    // Every step is audited.
    let s = store.lock().unwrap();
    let steps: Vec<String> = s
        .plugin_audit("acme.counter")
        .unwrap()
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(steps, ["installed", "enabled", "enabled", "disabled"]);
}

#[test]
fn upgrades_dependencies_and_uninstall() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let base = plugin(
        tmp.path(),
        "acme.base",
        "1.0.0",
        &["contacts:read"],
        "",
        SCRIPT,
    );
    let addon = plugin(
        tmp.path(),
        "acme.addon",
        "1.0.0",
        &[],
        r#""acme.base": "^2""#,
        SCRIPT,
    );
    refused(lifecycle::install(&mut s, &addon, true), "install it first");
    lifecycle::install(&mut s, &base, true).unwrap();
    refused(
        lifecycle::install(&mut s, &addon, true),
        "but 1.0.0 is installed",
    );
    lifecycle::enable(&mut s, "acme.base", None).unwrap();
    // Upgrade asking for nothing new stays enabled; asking for more disables.
    let same = plugin(
        tmp.path(),
        "acme.base",
        "2.0.0",
        &["contacts:read"],
        "",
        SCRIPT,
    );
    lifecycle::install(&mut s, &same, true).unwrap();
    assert!(s.plugin("acme.base").unwrap().enabled);
    lifecycle::install(&mut s, &addon, true).unwrap();
    let more = plugin(
        tmp.path(),
        "acme.base",
        "2.1.0",
        &["contacts:read", "tasks:write"],
        "",
        SCRIPT,
    );
    lifecycle::install(&mut s, &more, true).unwrap();
    let rec = s.plugin("acme.base").unwrap();
    assert!(!rec.enabled, "new permissions need an admin's review");
    assert_eq!(rec.grants, ["contacts:read"]);
    refused(
        lifecycle::uninstall(&mut s, "acme.base"),
        "depends on acme.base",
    );
    lifecycle::uninstall(&mut s, "acme.addon").unwrap();
    lifecycle::uninstall(&mut s, "acme.base").unwrap();
    assert!(s.plugins().unwrap().is_empty());
    refused(lifecycle::uninstall(&mut s, "acme.base"), "no plugin");
}

#[test]
fn withdrawing_trust_stops_a_publishers_plugins() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let key = generate_key();
    let hexkey = hex::encode(key.verifying_key().as_bytes());
    s.trust_publisher(&hexkey, "Acme").unwrap();
    let dir = plugin(
        tmp.path(),
        "acme.counter",
        "1.0.0",
        &["contacts:read"],
        "",
        SCRIPT,
    );
    let pkg = tmp.path().join("p.zip");
    std::fs::write(&pkg, pack(&dir, &key).unwrap()).unwrap();
    lifecycle::install(&mut s, &pkg, false).unwrap();
    lifecycle::enable(&mut s, "acme.counter", None).unwrap();
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    assert!(run(&rt, "acme.counter", "count", None).is_ok());
    store.lock().unwrap().distrust_publisher(&hexkey).unwrap();
    refused(
        run(&rt, "acme.counter", "count", None),
        "not a trusted publisher",
    );
    let s = store.lock().unwrap();
    let steps: Vec<String> = s
        .plugin_audit(&hexkey)
        .unwrap()
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(steps, ["publisher_trusted", "publisher_distrusted"]);
}

#[test]
fn only_an_admin_sets_plugins_up_and_anyone_can_stop_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    // A profile never signed in is its owner's: everything is allowed.
    assert_eq!(s.account_role().unwrap(), crm_core::AccountRole::Owner);
    let dir = plugin(
        tmp.path(),
        "acme.counter",
        "1.0.0",
        &["contacts:read"],
        "",
        SCRIPT,
    );
    let key = generate_key();
    let pkg = tmp.path().join("p.zip");
    std::fs::write(&pkg, pack(&dir, &key).unwrap()).unwrap();
    let publisher = hex::encode(key.verifying_key().as_bytes());
    s.trust_publisher(&publisher, "Acme").unwrap();
    lifecycle::install(&mut s, &pkg, false).unwrap();
    lifecycle::enable(&mut s, "acme.counter", None).unwrap();
    let tenant = uuid::Uuid::now_v7();
    let bind = |s: &mut Store, role: &str| {
        s.bind_to_server(
            "https://sync.example.com",
            "ann@example.com",
            tenant,
            uuid::Uuid::now_v7(),
            role,
        )
        .unwrap()
    };

    // Signed in as an agent: no setting up, no enabling, no uninstalling,
    // no trusting; each refusal says who can, and nothing changes.
    bind(&mut s, "agent");
    assert_eq!(s.account_role().unwrap(), crm_core::AccountRole::Agent);
    let audit_before = s.plugin_audit("acme.counter").unwrap().len();
    refused(
        lifecycle::install(&mut s, &pkg, false),
        "only an admin can install",
    );
    refused(
        lifecycle::uninstall(&mut s, "acme.counter"),
        "only an admin",
    );
    refused(
        lifecycle::enable(&mut s, "acme.counter", Some(vec![])),
        "only an admin",
    );
    let err = s.trust_publisher("00", "Mallory").unwrap_err();
    assert!(matches!(err, crm_core::CoreError::Forbidden(_)), "{err}");
    let err = s.distrust_publisher(&publisher).unwrap_err();
    assert!(matches!(err, crm_core::CoreError::Forbidden(_)), "{err}");
    let err = s
        .set_plugin_settings("acme.counter", &serde_json::Map::new(), &[])
        .unwrap_err();
    assert!(matches!(err, crm_core::CoreError::Forbidden(_)), "{err}");
    let rec = s.plugin("acme.counter").unwrap();
    assert!(rec.enabled && rec.grants == ["contacts:read"], "{rec:?}");
    assert_eq!(s.trusted_publishers().unwrap().len(), 1);
    assert_eq!(s.plugin_audit("acme.counter").unwrap().len(), audit_before);
    // An agent may still run it, and may stop it (a plugin misbehaving on
    // their device must never need an admin to be stopped).
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    assert_eq!(run(&rt, "acme.counter", "count", None).unwrap().value, 0);
    lifecycle::disable(&mut store.lock().unwrap(), "acme.counter").unwrap();
    refused(run(&rt, "acme.counter", "count", None), "disabled");
    // ...but not start it again.
    refused(
        lifecycle::enable(&mut store.lock().unwrap(), "acme.counter", None),
        "only an admin",
    );
    drop(rt);
    let mut s = Arc::try_unwrap(store).unwrap().into_inner().unwrap();

    // A role the server names but this version does not know is an agent's.
    bind(&mut s, "superuser");
    assert_eq!(s.account_role().unwrap(), crm_core::AccountRole::Agent);
    // Signed in again as an admin: allowed.
    bind(&mut s, "admin");
    assert_eq!(s.account_role().unwrap(), crm_core::AccountRole::Admin);
    lifecycle::enable(&mut s, "acme.counter", None).unwrap();
    lifecycle::uninstall(&mut s, "acme.counter").unwrap();
}
