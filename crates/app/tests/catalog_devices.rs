//! The catalog on devices, against a real PostgreSQL and the real sync
//! server: the agency's setting defaults, who may run plugins from
//! outside the catalog, and devices that re-read the catalog when their
//! user's team changes or a same-version copy differs.

crm_plugins::counting_allocator!();

mod common;

use std::collections::BTreeMap;

use crm_app::App;
use crm_protocol::catalog::{PolicyRequest, TrustRequest};
use crm_sync_client::SyncError;
use crm_sync_server::auth::Role;
use crm_sync_testkit::Throwaway;

use common::*;

const GREETER: &str = r#"{"id": "acme.greeter", "name": "Greeter", "version": "1.0.0", "api_version": "^1",
  "author": "Acme", "description": "Greets in the agency's words.", "permissions": [],
  "actions": [{"id": "greet", "label": "Greet", "target": "global", "function": "greet"}],
  "settings": [
    {"key": "greeting", "label": "Greeting", "type": "string", "default": "Hello"},
    {"key": "tone", "label": "Tone", "type": "string", "choices": ["warm", "formal"], "required": true},
    {"key": "api_key", "label": "API key", "type": "secret"}]}"#;

fn greet(app: &App) -> String {
    let out = app
        .plugin_run_action("acme.greeter", "greet", None)
        .expect("greets");
    out.value.as_str().expect("text").to_string()
}

/// The agency's setting defaults reach every device at its next sync and
/// follow the agency's changes; a value entered on a device wins there;
/// a secret, an unknown setting or a value of the wrong type is refused by
/// the server, naming the setting, and changes nothing.
#[test]
fn the_agencys_setting_defaults_reach_devices_and_secrets_stay_per_device() {
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
    let mut files = BTreeMap::new();
    files.insert("manifest.json".to_string(), GREETER.as_bytes().to_vec());
    files.insert(
        "main.rhai".to_string(),
        b"fn greet() { settings::get(\"greeting\") + \" \" + settings::get(\"tone\") }".to_vec(),
    );
    let bytes = crm_plugins::package::pack_files(files, &key).expect("packed");
    conn.catalog_publish(&admin, bytes, Some("force_installed"), &[])
        .expect("published");

    let set = |settings: serde_json::Value| {
        conn.catalog_set(
            &admin,
            "acme.greeter",
            &PolicyRequest {
                settings: Some(serde_json::from_value(settings).expect("map")),
                ..Default::default()
            },
        )
    };
    for (bad, words) in [
        (
            serde_json::json!({"api_key": "s3cret"}),
            "settings.api_key is a secret",
        ),
        (
            serde_json::json!({"colour": "red"}),
            "settings.colour: acme.greeter 1.0.0 has no such setting",
        ),
        (
            serde_json::json!({"greeting": 5}),
            "settings.greeting: 5 is not text",
        ),
        (
            serde_json::json!({"tone": "loud"}),
            "settings.tone: \"loud\" is not one of its choices",
        ),
    ] {
        match set(bad.clone()).expect_err("refused") {
            SyncError::Refused {
                status,
                code,
                message,
                ..
            } => {
                assert_eq!((status, code.as_str()), (400, "bad_setting"), "{bad}");
                assert!(message.contains(words), "{bad}: {message}");
            }
            other => panic!("{bad}: {other}"),
        }
    }
    let entry = conn.catalog(&admin, None).expect("catalog").plugins;
    assert!(entry[0].settings.is_empty(), "a refusal stores nothing");

    set(serde_json::json!({"greeting": "Howdy", "tone": "warm"})).expect("defaults set");
    let dir = tempfile::tempdir().expect("tmp");
    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    sam.sync_now().expect("sync");
    // Enabled although `tone` is required: the agency filled it in.
    let p = sam
        .plugins()
        .expect("plugins")
        .into_iter()
        .find(|p| p.id == "acme.greeter")
        .expect("installed");
    assert!(p.enabled, "{:?}", p.disabled_reason);
    assert_eq!(greet(&sam), "Howdy warm");
    let greeting = p
        .settings
        .iter()
        .find(|f| f.key == "greeting")
        .expect("field");
    assert_eq!(
        (greeting.value.as_str(), greeting.from_agency),
        (Some("Howdy"), true)
    );
    // Secrets are entered on each device, by whoever uses it.
    sam.plugin_configure(
        "acme.greeter",
        [("api_key".to_string(), "sam's own key".to_string())].into(),
    )
    .expect("an agent enters the plugin's secret");
    let p = sam
        .plugins()
        .expect("plugins")
        .into_iter()
        .find(|p| p.id == "acme.greeter")
        .expect("installed");
    let key_field = p
        .settings
        .iter()
        .find(|f| f.key == "api_key")
        .expect("field");
    assert!(
        key_field.is_set && key_field.value.is_null(),
        "set, never shown"
    );
    assert_eq!(
        greet(&sam),
        "Howdy warm",
        "the agency's defaults still apply"
    );

    // A value entered on a device wins there; the agency's next change
    // reaches every device that kept its default.
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    ada.sync_now().expect("sync");
    ada.plugin_configure(
        "acme.greeter",
        [
            ("greeting".to_string(), "Yo".to_string()),
            ("tone".to_string(), "warm".to_string()),
        ]
        .into(),
    )
    .expect("configured");
    set(serde_json::json!({"greeting": "Hiya", "tone": "formal"})).expect("changed");
    ada.sync_now().expect("sync");
    sam.sync_now().expect("sync");
    assert_eq!(greet(&sam), "Hiya formal");
    // `tone` was saved unchanged from the agency's default, so it follows.
    assert_eq!(greet(&ada), "Yo formal");
}

fn say_hello(app: &App) -> Result<serde_json::Value, String> {
    app.plugin_run_action("local.blank", "hello", None)
        .map(|r| r.value)
        .map_err(|e| e.message)
}

fn stopped(app: &App, id: &str) -> (bool, Option<String>) {
    let p = app
        .plugins()
        .expect("plugins")
        .into_iter()
        .find(|p| p.id == id)
        .expect("installed");
    (p.stopped_by_catalog, p.catalog)
}

/// A plugin installed on one device only runs as the agency says: for
/// admins only by default (an agent's copy stops at the device's next
/// sync, and the runtime refuses it), for everyone (an agent may then
/// install one too), or for no one. Only an admin may say, with a value
/// the server knows; each change is audited.
#[test]
fn plugins_from_outside_the_catalog_run_as_the_agency_says() {
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
    // Sam's laptop had a plugin before it joined the agency.
    let sam = App::new(dir.path().join("sam"));
    sam.profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    sam.plugin_install_template("blank").expect("installed");
    sam.plugin_enable("local.blank", vec!["contacts:read".into()])
        .expect("enabled");
    assert!(say_hello(&sam).is_ok());
    sam.sync_login(crm_app::dto::LoginArgs {
        server: server.url(),
        email: "sam@acme.test".into(),
        password: crm_sync_testkit::PASSWORD.into(),
        new_password: None,
    })
    .expect("sign in");
    sam.sync_now().expect("sync");
    let (is_stopped, words) = stopped(&sam, "local.blank");
    assert!(is_stopped, "admins only, by default");
    assert!(
        words
            .as_deref()
            .is_some_and(|w| w.contains("not in your agency's catalog")),
        "{words:?}"
    );
    let why = say_hello(&sam).expect_err("the runtime refuses it");
    assert!(
        why.contains("lets admins only run plugins from outside it"),
        "{why}"
    );

    // An agent cannot change that; nor can a value the server does not know.
    let (sam_conn, sam_token) = session(&server, "sam@acme.test");
    assert_eq!(
        refused(
            sam_conn
                .catalog_local_plugins(&sam_token, "everyone")
                .expect_err("an agent")
        ),
        (403, "admin_only".to_string())
    );
    let (conn, admin) = session(&server, "ada@acme.test");
    assert_eq!(
        refused(
            conn.catalog_local_plugins(&admin, "anyone")
                .expect_err("unknown")
        ),
        (400, "bad_local_plugins".to_string())
    );
    assert_eq!(
        conn.catalog(&admin, None).expect("catalog").local_plugins,
        "admins"
    );

    // Everyone: Sam's plugin runs again, and Sam may add another.
    conn.catalog_local_plugins(&admin, "everyone")
        .expect("everyone");
    sam.sync_now().expect("sync");
    assert!(!stopped(&sam, "local.blank").0);
    assert!(say_hello(&sam).is_ok());
    sam.plugin_install_template("call-list")
        .expect("an agent may install one now");

    // No one: not even an admin's own local plugin runs.
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    ada.plugin_install_template("blank").expect("installed");
    ada.plugin_enable("local.blank", vec!["contacts:read".into()])
        .expect("enabled");
    assert!(say_hello(&ada).is_ok());
    conn.catalog_local_plugins(&admin, "no_one")
        .expect("no one");
    ada.sync_now().expect("sync");
    sam.sync_now().expect("sync");
    assert!(say_hello(&ada).is_err(), "stopped for the admin too");
    assert!(say_hello(&sam).is_err());
    let audit = ada.catalog_audit().expect("audit");
    assert!(
        audit[0].what == "let no one run plugins from outside the catalog"
            && audit[1].what == "let everyone run plugins from outside the catalog",
        "{audit:?}"
    );
}

/// A device with its own copy of a catalog plugin at the catalog's version
/// but other contents gets the catalog's (its data kept first); a device
/// whose user moves into a plugin's audience installs it at its next sync.
#[test]
fn a_different_copy_is_replaced_and_a_team_change_brings_a_plugin() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("ada@acme.test", Role::Admin, None),
                ("sam@acme.test", Role::Agent, Some("south")),
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
    let dir = tempfile::tempdir().expect("tmp");
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    ada.sync_now().expect("sync: the key arrives");

    // Ada's own 1.0.0, signed with the same key but tagging differently.
    let mut files = BTreeMap::new();
    files.insert(
        "manifest.json".to_string(),
        MANIFEST.replace("VERSION", "1.0.0").into_bytes(),
    );
    files.insert(
        "main.rhai".to_string(),
        SCRIPT.replace("[\"acme\"]", "[\"mine\"]").into_bytes(),
    );
    let mine = crm_plugins::package::pack_files(files, &key).expect("packed");
    let path = dir.path().join("mine.crmplugin");
    std::fs::write(&path, mine).expect("write");
    ada.plugin_install_file(path.to_str().expect("utf-8"))
        .expect("installed");
    let grants: Vec<String> = ["contacts:read", "contacts:write", "storage"]
        .map(String::from)
        .to_vec();
    ada.plugin_enable("acme.tagger", grants.clone())
        .expect("enabled");
    let first = contact(&ada, "Ann");
    assert_eq!(tags(&ada, &first), ["mine"]);

    // The catalog's 1.0.0, for the north team only.
    conn.catalog_publish(
        &admin,
        package(&key, "1.0.0"),
        Some("force_installed"),
        &grants,
    )
    .expect("published");
    ada.sync_now().expect("sync");
    let second = contact(&ada, "Bob");
    assert_eq!(tags(&ada, &second), ["acme"], "the catalog's copy runs");
    let store_dir = dir.path().join("ada@acme.test");
    conn.catalog_set(
        &admin,
        "acme.tagger",
        &PolicyRequest {
            audience: Some(crm_protocol::catalog::Audience {
                everyone: false,
                roles: Vec::new(),
                teams: vec!["north".into()],
            }),
            ..Default::default()
        },
    )
    .expect("north only");

    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    sam.sync_now().expect("sync");
    assert!(
        sam.plugins()
            .expect("plugins")
            .iter()
            .all(|p| p.id != "acme.tagger"),
        "not for the south team"
    );
    server
        .rt
        .block_on(crm_sync_server::admin::set_team(
            &server.owner,
            "sam@acme.test",
            Some("north"),
        ))
        .expect("moved");
    sam.sync_now().expect("sync");
    let p = sam
        .plugins()
        .expect("plugins")
        .into_iter()
        .find(|p| p.id == "acme.tagger")
        .expect("installed once Sam is in the north team");
    assert!(p.enabled);
    let err = sam
        .plugin_uninstall("acme.tagger", None)
        .expect_err("a force-installed plugin is the agency's");
    assert!(err.message.contains("only an admin"), "{}", err.message);
    // Out of its audience again: here it is now a plugin from outside the
    // catalog, which runs for admins only.
    server
        .rt
        .block_on(crm_sync_server::admin::set_team(
            &server.owner,
            "sam@acme.test",
            Some("south"),
        ))
        .expect("moved back");
    sam.sync_now().expect("sync");
    let bob = contact(&sam, "Bob");
    assert!(tags(&sam, &bob).is_empty(), "its hook no longer runs");
    let err = sam
        .plugin_run_action("acme.tagger", "tag", Some(bob))
        .expect_err("stopped");
    assert!(err.message.contains("admins only"), "{}", err.message);
    drop(ada);
    let store = crm_core::Store::open(
        &store_dir,
        &crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.to_string())),
    )
    .expect("open");
    let kept = store.plugin_exports("acme.tagger").expect("exports");
    assert_eq!(kept.len(), 1, "the replaced copy's data was kept");
    assert_eq!(kept[0].1["storage"]["tagged"], 1);
}

/// An agent installs a plugin the catalog allows them, and switches it on
/// with at most the grants it approves; one it stops cannot be installed.
#[test]
fn an_agent_installs_what_the_catalog_allows_within_its_grants() {
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
    let approved: Vec<String> = vec!["contacts:read".into(), "storage".into()];
    conn.catalog_publish(&admin, package(&key, "1.0.0"), Some("allowed"), &approved)
        .expect("published");
    let dir = tempfile::tempdir().expect("tmp");
    let sam = signed_in(&server, dir.path(), "sam@acme.test");
    sam.sync_now().expect("sync");
    let offers = sam.catalog_offers().expect("offers");
    assert_eq!(offers.len(), 1);
    assert_eq!(
        (offers[0].id.as_str(), offers[0].grants.clone()),
        ("acme.tagger", approved.clone())
    );
    assert!(
        sam.plugins().expect("plugins").is_empty(),
        "allowed is not installed by itself"
    );

    // Only the catalog's own package: not another version from elsewhere,
    // even signed by a key the tenant trusts.
    let other = dir.path().join("other.zip");
    std::fs::write(&other, package(&key, "1.1.0")).expect("write");
    let err = sam
        .plugin_install_file(other.to_str().expect("utf-8"))
        .expect_err("not the catalog's package");
    assert!(
        err.message.contains("offers acme.tagger 1.0.0 only"),
        "{}",
        err.message
    );
    let p = sam
        .catalog_install("acme.tagger")
        .expect("an agent may install it");
    assert!(!p.enabled, "it starts off");
    assert!(sam.catalog_offers().expect("offers").is_empty());
    let all: Vec<String> = ["contacts:read", "contacts:write", "storage"]
        .map(String::from)
        .to_vec();
    let err = sam
        .plugin_enable("acme.tagger", all)
        .expect_err("beyond what the catalog approves");
    assert!(
        err.message.contains("does not approve contacts:write"),
        "{}",
        err.message
    );
    let p = sam
        .plugin_enable("acme.tagger", approved.clone())
        .expect("within the approved grants");
    assert!(p.enabled);

    // Stopped by the catalog: offered no more, and refused if asked.
    conn.catalog_set(
        &admin,
        "acme.tagger",
        &PolicyRequest {
            mode: Some("blocked".into()),
            ..Default::default()
        },
    )
    .expect("blocked");
    sam.sync_now().expect("sync");
    let err = sam.catalog_install("acme.tagger").expect_err("blocked");
    assert!(err.message.contains("blocked"), "{}", err.message);
}

/// The admin console edits who a plugin is for and its setting defaults;
/// it offers only the settings that are not secrets, and the permissions
/// the version asks for.
#[test]
fn the_console_sets_who_a_plugin_is_for_and_its_defaults() {
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
    let mut files = BTreeMap::new();
    files.insert("manifest.json".to_string(), GREETER.as_bytes().to_vec());
    files.insert("main.rhai".to_string(), b"fn greet() { 1 }".to_vec());
    conn.catalog_publish(
        &admin,
        crm_plugins::package::pack_files(files, &key).expect("packed"),
        Some("allowed"),
        &[],
    )
    .expect("published");
    let dir = tempfile::tempdir().expect("tmp");
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    let view = ada.catalog_view().expect("view");
    let p = &view.plugins[0];
    let keys: Vec<&str> = p.setting_fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["greeting", "tone"], "never the secret");
    assert_eq!(p.setting_fields[1].choices, ["warm", "formal"]);
    assert!(p.asks.is_empty() && p.who.everyone);

    let err = ada
        .catalog_set(
            "acme.greeter",
            crm_app::catalog::CatalogSetArgs {
                settings: Some([("api_key".to_string(), serde_json::json!("s3cret"))].into()),
                ..Default::default()
            },
        )
        .expect_err("a secret");
    assert!(err.message.contains("secret"), "{}", err.message);
    let view = ada
        .catalog_set(
            "acme.greeter",
            crm_app::catalog::CatalogSetArgs {
                settings: Some([("tone".to_string(), serde_json::json!("warm"))].into()),
                audience: Some(crm_app::catalog::AudienceArgs {
                    everyone: false,
                    roles: vec!["agent".into()],
                    teams: vec![" north ".into(), String::new()],
                }),
                ..Default::default()
            },
        )
        .expect("saved");
    let p = &view.plugins[0];
    assert_eq!(
        (p.who.everyone, p.who.roles.clone(), p.who.teams.clone()),
        (false, vec!["agent".to_string()], vec!["north".to_string()])
    );
    assert_eq!(p.audience, "roles: agent; teams: north");
    assert_eq!(p.settings.get("tone"), Some(&serde_json::json!("warm")));
}

/// Setting defaults are checked against the version devices will run: a
/// pin moved to a version where a defaulted setting is a secret is
/// refused, and so is publishing such a version while devices follow the
/// newest.
#[test]
fn defaults_are_checked_against_the_version_devices_run() {
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
    let greeter = |version: &str, greeting_type: &str| {
        let manifest = GREETER
            .replace(
                "\"version\": \"1.0.0\"",
                &format!("\"version\": \"{version}\""),
            )
            .replace(
                "\"label\": \"Greeting\", \"type\": \"string\", \"default\": \"Hello\"",
                &format!("\"label\": \"Greeting\", \"type\": \"{greeting_type}\""),
            );
        assert!(manifest.contains(greeting_type), "{manifest}");
        let mut files = BTreeMap::new();
        files.insert("manifest.json".to_string(), manifest.into_bytes());
        files.insert("main.rhai".to_string(), b"fn greet() { 1 }".to_vec());
        crm_plugins::package::pack_files(files, &key).expect("packed")
    };
    conn.catalog_publish(&admin, greeter("1.0.0", "string"), Some("allowed"), &[])
        .expect("1.0.0");
    let set = |req: PolicyRequest| conn.catalog_set(&admin, "acme.greeter", &req);
    set(PolicyRequest {
        settings: Some([("greeting".to_string(), serde_json::json!("Hello"))].into()),
        ..Default::default()
    })
    .expect("a default");
    // 1.1.0 makes the greeting a secret: not published while devices follow
    // the newest with a default for it.
    let (status, code) = refused(
        conn.catalog_publish(&admin, greeter("1.1.0", "secret"), None, &[])
            .expect_err("a default would become a secret"),
    );
    assert_eq!((status, code.as_str()), (400, "bad_setting"));
    // Pinned to 1.0.0, it may be published; moving the pin onto it is not.
    set(PolicyRequest {
        version: Some("1.0.0".into()),
        ..Default::default()
    })
    .expect("pinned");
    conn.catalog_publish(&admin, greeter("1.1.0", "secret"), None, &[])
        .expect("published beside the pin");
    let err = set(PolicyRequest {
        min_version: Some("1.0.0".into()),
        ..Default::default()
    })
    .expect_err("devices would run 1.1.0, where the default is a secret");
    match err {
        SyncError::Refused { code, message, .. } => {
            assert_eq!(code, "bad_setting");
            assert!(
                message.contains("settings.greeting is a secret"),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }
    let e = &conn.catalog(&admin, None).expect("catalog").plugins[0];
    assert_eq!(e.version.as_deref(), Some("1.0.0"), "the pin stays");
    assert_eq!(
        e.settings.get("greeting"),
        Some(&serde_json::json!("Hello"))
    );
}
