//! The tenant's plugin catalog end to end, against a real PostgreSQL and
//! the real sync server: an admin publishes a signed plugin as
//! force-installed, an agent's device installs and runs it at its next
//! sync; blocked while that device was away, it never runs again there
//! (hook, action, schedule, widget); removed, it is uninstalled with its
//! data kept in the profile. Refusals store nothing.

crm_plugins::counting_allocator!();

mod common;

use crm_app::App;
use crm_protocol::catalog::{PolicyRequest, TrustRequest};
use crm_sync_server::auth::Role;
use crm_sync_testkit::Throwaway;

use common::*;

#[test]
fn a_plugin_published_once_runs_everywhere_and_one_switch_stops_it() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("ada@acme.test", Role::Admin, None),
                ("sam@acme.test", Role::Agent, Some("north")),
            ],
        )
        .expect("tenant");
    server
        .tenant("Other", &[("oz@other.test", Role::Admin, None)])
        .expect("other tenant");
    let (conn, admin) = session(&server, "ada@acme.test");
    let key = crm_plugins::package::generate_key();
    let public = hex::encode(key.verifying_key().to_bytes());

    // Refusals first: nothing is stored by any of them.
    let (status, code) = refused(
        conn.catalog_publish(&admin, package(&key, "1.0.0"), Some("force_installed"), &[])
            .expect_err("no publisher trusted yet"),
    );
    assert_eq!((status, code.as_str()), (400, "no_publishers"));
    conn.catalog_trust(
        &admin,
        &TrustRequest {
            public_key: public.clone(),
            name: "Acme IT".into(),
        },
    )
    .expect("trusted");
    let stranger = crm_plugins::package::generate_key();
    let (status, code) = refused(
        conn.catalog_publish(&admin, package(&stranger, "1.0.0"), None, &[])
            .expect_err("untrusted signer"),
    );
    assert_eq!((status, code.as_str()), (400, "package_refused"));
    let mut tampered = package(&key, "1.0.0");
    let at = tampered.len() / 2;
    tampered[at] ^= 0xff;
    let (status, code) = refused(
        conn.catalog_publish(&admin, tampered, None, &[])
            .expect_err("tampered"),
    );
    assert_eq!((status, code.as_str()), (400, "package_refused"));
    let (status, _) = refused(
        conn.catalog_publish(&admin, vec![0u8; 9 << 20], None, &[])
            .expect_err("too large"),
    );
    assert_eq!(status, 413);
    let (sam_conn, sam_token) = session(&server, "sam@acme.test");
    let (status, code) = refused(
        sam_conn
            .catalog_publish(&sam_token, package(&key, "1.0.0"), None, &[])
            .expect_err("an agent cannot publish"),
    );
    assert_eq!((status, code.as_str()), (403, "admin_only"));
    assert!(conn
        .catalog(&admin, None)
        .expect("catalog")
        .plugins
        .is_empty());

    // Published once, force-installed with every permission approved.
    let grants: Vec<String> = ["contacts:read", "contacts:write", "storage"]
        .map(String::from)
        .to_vec();
    conn.catalog_publish(
        &admin,
        package(&key, "1.0.0"),
        Some("force_installed"),
        &grants,
    )
    .expect("published");
    // Another trusted publisher may not publish versions of it.
    let rival = crm_plugins::package::generate_key();
    conn.catalog_trust(
        &admin,
        &TrustRequest {
            public_key: hex::encode(rival.verifying_key().to_bytes()),
            name: "Rival".into(),
        },
    )
    .expect("trusted");
    assert_eq!(
        refused(
            conn.catalog_publish(&admin, package(&rival, "1.0.1"), None, &[])
                .expect_err("another publisher's version")
        ),
        (409, "other_publisher".to_string())
    );
    let (status, code) = refused(
        sam_conn
            .catalog_set(
                &sam_token,
                "acme.tagger",
                &PolicyRequest {
                    mode: Some("blocked".into()),
                    ..Default::default()
                },
            )
            .expect_err("an agent cannot set a mode"),
    );
    assert_eq!((status, code.as_str()), (403, "admin_only"));
    let (oz_conn, oz) = session(&server, "oz@other.test");
    assert!(
        oz_conn
            .catalog(&oz, None)
            .expect("catalog")
            .plugins
            .is_empty(),
        "another tenant sees nothing of it"
    );
    assert_eq!(
        refused(
            conn.catalog_set(
                &admin,
                "acme.tagger",
                &PolicyRequest {
                    version: Some("9.9.9".into()),
                    ..Default::default()
                },
            )
            .expect_err("no such version")
        ),
        (400, "no_version".to_string())
    );
    assert_eq!(
        refused(
            conn.catalog_set(&admin, "acme.nothing", &PolicyRequest::default())
                .expect_err("unknown plugin")
        ),
        (404, "no_plugin".to_string())
    );

    // The agent's device installs and runs it at its next sync.
    let dir = tempfile::tempdir().expect("tmp");
    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    sam.sync_now().expect("sync");
    let p = sam
        .plugins()
        .expect("plugins")
        .into_iter()
        .find(|p| p.id == "acme.tagger")
        .expect("installed by the catalog");
    assert!(p.enabled, "enabled with the approved grants");
    let ann = contact(&sam, "Ann");
    assert_eq!(
        tags(&sam, &ann),
        ["acme"],
        "its hook ran: {:?}",
        sam.notices_take()
    );
    let bob = contact(&sam, "Bob");
    sam.plugin_run_action("acme.tagger", "tag", Some(bob.clone()))
        .expect("its action runs");
    assert!(!sam.dashboard().expect("dashboard").widgets.is_empty());
    let profile = dir.path().join("sam@acme.test");
    let other_connection = || {
        let store = crm_core::Store::open(
            &profile,
            &crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.to_string())),
        )
        .expect("a second connection to the profile");
        crm_plugins::runtime::Runtime::new(
            std::sync::Arc::new(std::sync::Mutex::new(store)),
            crm_plugins::Limits::default(),
        )
        .expect("runtime")
    };
    let now = chrono::Utc::now();
    let rt = other_connection();
    rt.run_due(now).expect("schedules noted");
    let ran = rt
        .run_due(now + chrono::Duration::minutes(2))
        .expect("schedules");
    assert_eq!(ran.len(), 1, "its schedule runs while allowed");
    drop(rt);

    // Blocked while the device is away; at its next sync it stops.
    conn.catalog_set(
        &admin,
        "acme.tagger",
        &PolicyRequest {
            mode: Some("blocked".into()),
            reason: Some("sends data it should not".into()),
            ..Default::default()
        },
    )
    .expect("blocked");
    sam.sync_now().expect("sync");
    let cy = contact(&sam, "Cy");
    sam.tick().expect("tick");
    assert!(tags(&sam, &cy).is_empty(), "its hook no longer runs");
    let err = sam
        .plugin_run_action("acme.tagger", "tag", Some(cy.clone()))
        .expect_err("its action no longer runs");
    assert!(err.message.contains("blocked"), "{}", err.message);
    assert!(
        err.message.contains("sends data it should not"),
        "{}",
        err.message
    );
    assert!(
        sam.dashboard().expect("dashboard").widgets.is_empty(),
        "its widget is gone"
    );
    let rt = other_connection();
    assert!(
        rt.run_due(now + chrono::Duration::minutes(4))
            .expect("schedules")
            .is_empty(),
        "its schedule no longer runs"
    );
    drop(rt);
    let err = sam
        .plugin_enable("acme.tagger", grants.clone())
        .expect_err("it cannot be enabled again");
    assert!(err.message.contains("blocked"), "{}", err.message);

    // Removed: uninstalled, its data kept in the encrypted profile.
    conn.catalog_set(
        &admin,
        "acme.tagger",
        &PolicyRequest {
            mode: Some("removed".into()),
            ..Default::default()
        },
    )
    .expect("removed");
    sam.sync_now().expect("sync");
    assert!(sam
        .plugins()
        .expect("plugins")
        .iter()
        .all(|p| p.id != "acme.tagger"));
    let store = crm_core::Store::open(
        &profile,
        &crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.to_string())),
    )
    .expect("open");
    let kept = store.plugin_exports("acme.tagger").expect("exports");
    assert_eq!(kept.len(), 1);
    // Ann and Bob by the hook, Bob again by the action; never Cy.
    assert_eq!(kept[0].1["storage"]["tagged"], 3, "{}", kept[0].1);
    assert_eq!(kept[0].1["storage"]["nightly"], true);

    // Every change is in the catalog's audit, by whom.
    let audit = conn.catalog_audit(&admin).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "policy_set",
            "policy_set",
            "publisher_trusted",
            "published",
            "publisher_trusted"
        ]
    );
    assert!(audit.iter().all(|a| a.actor == "ada@acme.test"));
}

/// The admin console's side: a plugin made in this app's Studio is
/// published (signed with the admin's publisher key, which the tenant then
/// trusts), shown in the catalog, blocked with a reason, and each change is
/// in the audit in words. An agent's console is refused by the server.
#[test]
fn the_admin_console_publishes_a_studio_plugin_and_blocks_it() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("ada@acme.test", Role::Admin, None),
                ("sam@acme.test", Role::Agent, None),
            ],
        )
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    assert!(ada.sync_status().expect("status").admin);
    let model = r#"{"version": 1, "name": "Web lead follow-up", "trigger": {"kind": "contact_created"},
        "conditions": [{"field": "source", "op": "is", "value": "web"}],
        "actions": [{"kind": "add_tag", "tag": "web-lead"}]}"#;
    let p = ada.studio_save(model, false).expect("saved");
    let grants: Vec<String> = p.permissions.iter().map(|x| x.permission.clone()).collect();
    let view = ada
        .catalog_publish_installed(&p.id, "force_installed", grants.clone())
        .expect("published");
    assert_eq!(view.publishers.len(), 1, "the admin's key is trusted");
    assert!(view.publishers[0].name.contains("ada@acme.test"));
    let entry = view
        .plugins
        .iter()
        .find(|e| e.id == p.id)
        .expect("in the catalog");
    assert_eq!(entry.mode, "force_installed");
    assert_eq!(entry.grants, grants);

    let view = ada
        .catalog_set(
            &p.id,
            crm_app::catalog::CatalogSetArgs {
                mode: Some("blocked".into()),
                reason: Some("tags the wrong people".into()),
                ..Default::default()
            },
        )
        .expect("blocked");
    let entry = view.plugins.iter().find(|e| e.id == p.id).expect("listed");
    assert_eq!(entry.mode, "blocked");
    assert_eq!(entry.reason.as_deref(), Some("tags the wrong people"));
    let audit = ada.catalog_audit().expect("audit");
    assert!(
        audit[0].what.contains("mode blocked") && audit[0].what.contains("tags the wrong people"),
        "{:?}",
        audit[0]
    );
    assert!(audit
        .iter()
        .any(|a| a.what.starts_with("published version 1.0.0")));

    // On the admin's own device the block applies at the next sync too.
    ada.sync_now().expect("sync");
    let mine = ada
        .plugins()
        .expect("plugins")
        .into_iter()
        .find(|x| x.id == p.id)
        .expect("still installed");
    assert!(!mine.enabled);
    assert_eq!(
        mine.catalog.as_deref(),
        Some("Stopped by your agency: tags the wrong people")
    );

    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    assert!(!sam.sync_status().expect("status").admin);
    let err = sam
        .catalog_set(
            &p.id,
            crm_app::catalog::CatalogSetArgs {
                mode: Some("allowed".into()),
                ..Default::default()
            },
        )
        .expect_err("an agent cannot change the catalog");
    assert!(err.message.contains("only an admin"), "{}", err.message);
}

/// Updates follow the catalog: a newer version published is installed at
/// the next sync; a pin below it installs the older one, the newer one's
/// data kept in the profile first.
#[test]
fn devices_follow_a_new_version_and_a_pin_below_it() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("ada@acme.test", Role::Admin, None),
                ("sam@acme.test", Role::Agent, None),
            ],
        )
        .expect("tenant");
    let (conn, admin) = session(&server, "ada@acme.test");
    let key = crm_plugins::package::generate_key();
    conn.catalog_trust(
        &admin,
        &TrustRequest {
            public_key: hex::encode(key.verifying_key().to_bytes()),
            name: "Acme IT".into(),
        },
    )
    .expect("trusted");
    let grants: Vec<String> = ["contacts:read", "contacts:write", "storage"]
        .map(String::from)
        .to_vec();
    conn.catalog_publish(
        &admin,
        package(&key, "1.0.0"),
        Some("force_installed"),
        &grants,
    )
    .expect("1.0.0");
    let dir = tempfile::tempdir().expect("tmp");
    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    sam.sync_now().expect("sync");
    let version = |app: &App| {
        app.plugins()
            .expect("plugins")
            .into_iter()
            .find(|p| p.id == "acme.tagger")
            .map(|p| (p.version, p.enabled))
    };
    assert_eq!(version(&sam), Some(("1.0.0".into(), true)));
    conn.catalog_publish(&admin, package(&key, "1.1.0"), None, &[])
        .expect("1.1.0");
    sam.sync_now().expect("sync");
    assert_eq!(version(&sam), Some(("1.1.0".into(), true)), "updated");
    contact(&sam, "Ann");
    // A version asking for more than the approved grants is not installed:
    // the running one goes on.
    conn.catalog_publish(
        &admin,
        package_asking(&key, "1.2.0", &["tasks:write"]),
        None,
        &[],
    )
    .expect("1.2.0");
    sam.sync_now().expect("sync");
    assert_eq!(
        version(&sam),
        Some(("1.1.0".into(), true)),
        "1.2.0 waits for an admin"
    );

    conn.catalog_set(
        &admin,
        "acme.tagger",
        &PolicyRequest {
            version: Some("1.0.0".into()),
            ..Default::default()
        },
    )
    .expect("pinned");
    sam.sync_now().expect("sync");
    assert_eq!(version(&sam), Some(("1.0.0".into(), true)), "pinned below");
    let store = crm_core::Store::open(
        &dir.path().join("sam@acme.test"),
        &crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.to_string())),
    )
    .expect("open");
    let kept = store.plugin_exports("acme.tagger").expect("exports");
    assert_eq!(kept.len(), 1, "the newer version's data was kept");
    assert_eq!(kept[0].1["storage"]["tagged"], 1);
    drop(store);

    // Trust withdrawn: the device drops the key, and the plugin it signed
    // no longer verifies, so it does not run.
    conn.catalog_distrust(&admin, &hex::encode(key.verifying_key().to_bytes()))
        .expect("withdrawn");
    sam.sync_now().expect("sync");
    let bob = contact(&sam, "Bob");
    assert!(tags(&sam, &bob).is_empty(), "its hook no longer runs");
    assert!(sam
        .plugin_run_action("acme.tagger", "tag", Some(bob))
        .is_err());
}

/// A plugin's role templates are shown to the admin as a diff against what
/// each role may grant now, and applied only when the admin says so.
#[test]
fn role_templates_are_a_diff_the_admin_applies_or_not() {
    let server = Throwaway::start().expect("server");
    server
        .tenant("Acme", &[("ada@acme.test", Role::Admin, None)])
        .expect("tenant");
    let (conn, admin) = session(&server, "ada@acme.test");
    let key = crm_plugins::package::generate_key();
    conn.catalog_trust(
        &admin,
        &TrustRequest {
            public_key: hex::encode(key.verifying_key().to_bytes()),
            name: "Acme IT".into(),
        },
    )
    .expect("trusted");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&MANIFEST.replace("VERSION", "1.0.0")).expect("manifest");
    manifest["role_templates"] = serde_json::json!([
        {"name": "agent", "permissions": ["contacts:read", "storage"]},
        {"name": "Team lead", "permissions": ["contacts:read", "contacts:write", "storage"]}
    ]);
    let mut files = std::collections::BTreeMap::new();
    files.insert(
        "manifest.json".to_string(),
        serde_json::to_vec(&manifest).expect("json"),
    );
    files.insert("main.rhai".to_string(), SCRIPT.as_bytes().to_vec());
    let bytes = crm_plugins::package::pack_files(files, &key).expect("packed");
    conn.catalog_publish(&admin, bytes, Some("allowed"), &["contacts:read".into()])
        .expect("published");
    conn.catalog_set(
        &admin,
        "acme.tagger",
        &PolicyRequest {
            audience: Some(crm_protocol::catalog::Audience {
                everyone: false,
                roles: vec!["admin".into()],
                teams: Vec::new(),
            }),
            ..Default::default()
        },
    )
    .expect("admins only");

    let dir = tempfile::tempdir().expect("tmp");
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    let view = ada.catalog_view().expect("view");
    let p = &view.plugins[0];
    assert_eq!(p.grants, ["contacts:read"], "nothing applied by itself");
    let agent = &p.role_templates[0];
    assert_eq!(agent.name, "agent");
    assert!(!agent.for_role, "agents are not in its audience");
    assert_eq!(
        agent.adds,
        ["contacts:read", "storage"],
        "an agent has nothing now"
    );
    // Not a tenant role: measured against whoever the plugin is for.
    let lead = &p.role_templates[1];
    assert!(lead.for_role);
    assert_eq!(lead.adds, ["contacts:write", "storage"]);

    let err = ada
        .catalog_apply_role_template("acme.tagger", "Manager")
        .expect_err("no such template");
    assert_eq!(err.field.as_deref(), Some("name"));
    let view = ada
        .catalog_apply_role_template("acme.tagger", "agent")
        .expect("applied");
    let p = &view.plugins[0];
    assert_eq!(p.grants, ["contacts:read", "storage"]);
    assert_eq!(p.audience, "roles: admin, agent");
    let agent = &p.role_templates[0];
    assert!(agent.for_role && agent.adds.is_empty() && agent.beyond.is_empty());
    // The other template is still only a suggestion, against the grants
    // now approved.
    assert_eq!(p.role_templates[1].adds, ["contacts:write"]);
    let audit = ada.catalog_audit().expect("audit");
    assert_eq!(
        audit[0].what,
        "set grants contacts:read, storage, for roles: admin, agent"
    );
}

/// A mode change racing a publish: the two apply one after the other (the
/// tenant's catalog row is taken first), each audited once and moving the
/// revision once; the policy the catalog shows is the one that committed
/// last; a change to a plugin not yet published is refused, never left
/// half-written.
#[test]
fn a_mode_change_racing_a_publish_applies_one_at_a_time() {
    let server = Throwaway::start().expect("server");
    server
        .tenant("Acme", &[("ada@acme.test", Role::Admin, None)])
        .expect("tenant");
    let (publisher, admin) = session(&server, "ada@acme.test");
    let (setter, admin2) = session(&server, "ada@acme.test");
    let key = crm_plugins::package::generate_key();
    publisher
        .catalog_trust(
            &admin,
            &TrustRequest {
                public_key: hex::encode(key.verifying_key().to_bytes()),
                name: "Acme IT".into(),
            },
        )
        .expect("trusted");
    let grants: Vec<String> = vec!["contacts:read".into()];
    let mut revision = publisher.catalog(&admin, None).expect("catalog").revision;
    let mut changes = 1; // the trust
    for round in 0..12 {
        let version = format!("1.{round}.0");
        let mode = if round % 2 == 0 {
            "blocked"
        } else {
            "force_installed"
        };
        let (published, set) = std::thread::scope(|s| {
            let p = s.spawn(|| {
                publisher.catalog_publish(&admin, package(&key, &version), Some("allowed"), &grants)
            });
            let m = s.spawn(|| {
                setter.catalog_set(
                    &admin2,
                    "acme.tagger",
                    &PolicyRequest {
                        mode: Some(mode.into()),
                        ..Default::default()
                    },
                )
            });
            (
                p.join().expect("publish thread"),
                m.join().expect("set thread"),
            )
        });
        published.unwrap_or_else(|e| panic!("round {round}: publish: {e}"));
        let set_ok = match set {
            Ok(_) => true,
            Err(e) if round == 0 => {
                // Before the first version exists: refused, nothing stored.
                assert_eq!(refused(e), (404, "no_plugin".to_string()));
                false
            }
            Err(e) => panic!("round {round}: set: {e}"),
        };
        changes += 1 + usize::from(set_ok);
        let cat = publisher.catalog(&admin, None).expect("catalog");
        assert_eq!(
            cat.revision,
            revision + 1 + i64::from(set_ok),
            "round {round}: one revision per change"
        );
        revision = cat.revision;
        let audit = publisher.catalog_audit(&admin).expect("audit");
        assert_eq!(
            audit.len(),
            changes,
            "round {round}: each change audited once"
        );
        let entry = &cat.plugins[0];
        assert!(entry.versions.contains(&version));
        // The newest audited change is the one the catalog shows.
        let expected = match audit[0].action.as_str() {
            "published" => "allowed",
            "policy_set" => mode,
            other => panic!("round {round}: unexpected {other}"),
        };
        assert_eq!(entry.mode, expected, "round {round}: {audit:?}");
    }
}
