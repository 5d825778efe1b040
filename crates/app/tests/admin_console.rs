//! The admin console's people and devices through the app, against a real
//! PostgreSQL and the real sync server: an admin invites someone, who signs
//! in with the one-time password and must choose their own before anything
//! syncs; role, team, disable and enable; devices with the version they
//! run, revoked; every change in words; devices' plugin reports summed for
//! the admin; an agent refused by the server.

crm_plugins::counting_allocator!();

mod common;

use crm_app::dto::LoginArgs;
use crm_app::App;
use crm_sync_server::auth::Role;
use crm_sync_testkit::Throwaway;

use common::*;

fn fresh(dir: &std::path::Path, name: &str) -> App {
    let app = App::new(dir.join(name));
    app.profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    app
}

fn login(app: &App, server: &Throwaway, email: &str, password: &str, new: Option<&str>) {
    app.sync_login(LoginArgs {
        server: server.url(),
        email: email.into(),
        password: password.into(),
        new_password: new.map(String::from),
    })
    .expect("sign in");
}

#[test]
fn an_invited_person_chooses_a_password_and_the_admin_manages_people_and_devices() {
    let server = Throwaway::start().expect("server");
    server
        .tenant("Acme", &[("ada@acme.test", Role::Admin, None)])
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let ada = signed_in(&server, dir.path(), "ada@acme.test");

    // Invited with a one-time password; signing in with it syncs nothing
    // until Sam chooses their own.
    let otp = ada
        .admin_invite("sam@acme.test", "agent", Some("north".into()))
        .expect("invited");
    assert_eq!(otp.email, "sam@acme.test");
    assert!(otp.password.len() >= 16);
    let err = ada
        .admin_invite("not an email", "agent", None)
        .expect_err("bad email");
    assert_eq!(err.field.as_deref(), Some("email"));
    let sam = fresh(dir.path(), "sam");
    login(&sam, &server, "sam@acme.test", &otp.password, None);
    assert!(sam.sync_status().expect("status").must_change_password);
    let refused = sam
        .sync_now()
        .expect_err("no sync before a password of one's own");
    assert!(refused.message.contains("password"), "{}", refused.message);
    let weak = sam
        .sync_change_password(&otp.password, "short")
        .expect_err("too short");
    assert_eq!(weak.field.as_deref(), Some("new_password"));
    let status = sam
        .sync_change_password(&otp.password, "Sam's own long password")
        .expect("changed");
    assert!(!status.must_change_password);
    sam.sync_now().expect("syncs now");

    // In one step: the new password given with the one-time one.
    let otp = ada
        .admin_invite("kim@acme.test", "agent", None)
        .expect("invited");
    let kim = fresh(dir.path(), "kim");
    login(
        &kim,
        &server,
        "kim@acme.test",
        &otp.password,
        Some("Kim's own long password"),
    );
    assert!(!kim.sync_status().expect("status").must_change_password);
    kim.sync_now().expect("syncs");

    let users = ada.admin_users().expect("users");
    let sam_user = users
        .iter()
        .find(|u| u.email == "sam@acme.test")
        .expect("listed");
    assert_eq!(
        (
            sam_user.role.as_str(),
            sam_user.team.as_deref(),
            sam_user.invite_pending
        ),
        ("agent", Some("north"), false)
    );
    assert_eq!(sam_user.devices, 1);

    // An agent is refused by the server.
    let err = sam.admin_users().expect_err("an agent");
    assert!(err.message.contains("admin"), "{}", err.message);

    // Team, disable, enable.
    let users = ada
        .admin_set_user(
            &sam_user.id,
            crm_app::admin_console::AdminUserChangeArgs {
                team: Some(String::new()),
                ..Default::default()
            },
        )
        .expect("no team");
    assert_eq!(
        users
            .iter()
            .find(|u| u.email == "sam@acme.test")
            .and_then(|u| u.team.clone()),
        None
    );
    ada.admin_set_user(
        &sam_user.id,
        crm_app::admin_console::AdminUserChangeArgs {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .expect("disabled");
    let err = sam.sync_now().expect_err("disabled");
    assert!(err.message.contains("disabled"), "{}", err.message);
    ada.admin_set_user(
        &sam_user.id,
        crm_app::admin_console::AdminUserChangeArgs {
            disabled: Some(false),
            ..Default::default()
        },
    )
    .expect("enabled");
    sam.sync_now().expect("syncs again");
    // The last admin stays one.
    let ada_id = ada
        .admin_users()
        .expect("users")
        .into_iter()
        .find(|u| u.email == "ada@acme.test")
        .expect("ada")
        .id;
    let err = ada
        .admin_set_user(
            &ada_id,
            crm_app::admin_console::AdminUserChangeArgs {
                role: Some("agent".into()),
                ..Default::default()
            },
        )
        .expect_err("the last admin");
    assert!(err.message.contains("admin"), "{}", err.message);

    // Devices: each with the version it runs; one revoked.
    let devices = ada.admin_devices().expect("devices");
    let sams = devices
        .iter()
        .find(|d| d.user_email == "sam@acme.test")
        .expect("Sam's device");
    assert_eq!(sams.app_version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert!(sams.last_seen.is_some());
    let devices = ada.admin_revoke_device(&sams.id).expect("revoked");
    assert!(devices.iter().any(|d| d.id == sams.id && d.revoked));
    let err = sam.sync_now().expect_err("revoked");
    assert_eq!(err.code, crm_app::ErrorCode::SignedOut, "{}", err.message);

    let audit: Vec<String> = ada
        .admin_audit()
        .expect("audit")
        .into_iter()
        .map(|a| a.what)
        .collect();
    for words in [
        "invited sam@acme.test as agent",
        "invited kim@acme.test as agent",
        "moved sam@acme.test from team north to none",
        "disabled sam@acme.test",
        "enabled sam@acme.test again",
    ] {
        assert!(audit.iter().any(|a| a == words), "{words:?} in {audit:?}");
    }
    assert!(
        audit[0].starts_with("revoked the device") && audit[0].contains("sam@acme.test"),
        "{audit:?}"
    );
}

/// Each device reports its plugins after a sync; the admin sees them summed
/// per version, with runs and errors.
#[test]
fn devices_report_their_plugins_to_the_admin() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("ada@acme.test", Role::Admin, None),
                ("bea@acme.test", Role::Admin, None),
            ],
        )
        .expect("tenant");
    let dir = tempfile::tempdir().expect("tmp");
    let ada = signed_in(&server, dir.path(), "ada@acme.test");
    let bea = signed_in(&server, dir.path(), "bea@acme.test");
    for app in [&ada, &bea] {
        app.plugin_install_template("blank").expect("installed");
        app.plugin_enable("local.blank", vec!["contacts:read".into()])
            .expect("enabled");
    }
    for _ in 0..3 {
        ada.plugin_run_action("local.blank", "hello", None)
            .expect("hello");
    }
    bea.plugin_disable("local.blank").expect("off");
    ada.sync_now().expect("sync");
    bea.sync_now().expect("sync");
    let health = ada.admin_plugin_health().expect("health");
    let blank = health
        .iter()
        .find(|h| h.plugin_id == "local.blank")
        .expect("reported");
    assert_eq!(
        (
            blank.version.as_str(),
            blank.devices,
            blank.enabled,
            blank.stopped
        ),
        ("0.1.0", 2, 1, 1)
    );
    assert_eq!((blank.runs, blank.errors), (3, 0));
}
