//! What the catalog tests share: signed-in apps and admin sessions against
//! a throwaway server, and a small signed plugin.

#![allow(dead_code)]

use std::collections::BTreeMap;

use crm_app::dto::*;
use crm_app::App;
use crm_sync_client::{Connection, Options, SyncError};
use crm_sync_testkit::{Throwaway, PASSWORD};

pub const PASS: &str = "a long enough passphrase";

pub fn signed_in(server: &Throwaway, dir: &std::path::Path, email: &str) -> App {
    let app = App::new(dir.join(email));
    app.profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    app.sync_login(LoginArgs {
        server: server.url(),
        email: email.into(),
        password: PASSWORD.into(),
        new_password: None,
    })
    .expect("sign in");
    app
}

/// A connection and token for `email`, as the CLI's admin commands use.
pub fn session(server: &Throwaway, email: &str) -> (Connection, String) {
    let conn = Connection::new(&server.url(), Options::default()).expect("connection");
    let login = conn
        .login(email, PASSWORD, uuid::Uuid::new_v4(), "admin console")
        .expect("login");
    (conn, login.token)
}

pub const MANIFEST: &str = r#"{"id": "acme.tagger", "name": "Tagger", "version": "VERSION", "api_version": "^1",
  "author": "Acme", "description": "Tags new contacts; counts them.",
  "permissions": ["contacts:read", "contacts:write", "storage"],
  "hooks": [{"event": "contact.created", "function": "on_created"}],
  "actions": [{"id": "tag", "label": "Tag", "target": "contact", "function": "tag"}],
  "schedules": [{"id": "nightly", "cron": "* * * * *", "function": "nightly"}],
  "ui": {"widgets": [{"id": "count", "title": "Tagged", "kind": "stat", "function": "count"}]}}"#;

pub const SCRIPT: &str = r#"
fn on_created(event) { tag(event.row_id); }
fn tag(id) {
    contacts::update(id, #{ tags: ["acme"] });
    let n = storage::get("tagged");
    storage::set("tagged", if n == () { 1 } else { n + 1 });
}
fn nightly() { storage::set("nightly", true); }
fn count() { #{ value: storage::get("tagged") } }
"#;

/// The plugin at `version`, signed with `key`.
pub fn package(key: &crm_plugins::package::SigningKey, version: &str) -> Vec<u8> {
    package_asking(key, version, &[])
}

/// [`package`], asking for `more` permissions besides.
pub fn package_asking(
    key: &crm_plugins::package::SigningKey,
    version: &str,
    more: &[&str],
) -> Vec<u8> {
    let mut manifest: serde_json::Value =
        serde_json::from_str(&MANIFEST.replace("VERSION", version)).expect("manifest");
    for p in more {
        manifest["permissions"]
            .as_array_mut()
            .expect("permissions")
            .push(serde_json::Value::from(*p));
    }
    let mut files = BTreeMap::new();
    files.insert(
        "manifest.json".to_string(),
        serde_json::to_vec(&manifest).expect("json"),
    );
    files.insert("main.rhai".to_string(), SCRIPT.as_bytes().to_vec());
    crm_plugins::package::pack_files(files, key).expect("packed")
}

pub fn contact(app: &App, first: &str) -> String {
    app.contact_create(ContactForm {
        first_name: first.into(),
        ..Default::default()
    })
    .expect("contact")
    .id
}

pub fn tags(app: &App, id: &str) -> Vec<String> {
    app.contact_detail(id).expect("detail").contact.tags
}

pub fn refused(e: SyncError) -> (u16, String) {
    match e {
        SyncError::Refused { status, code, .. } => (status, code),
        other => panic!("expected a refusal, got {other}"),
    }
}
