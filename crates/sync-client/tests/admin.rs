//! The admin API's client calls against the real server: invite, the
//! one-time password's forced change, user changes, device reports and
//! plugin health, revocation, reset and the audit.

use crm_protocol::admin::{DeviceReport, InviteRequest, PluginReport, UserChange};
use crm_sync_client::{Connection, Options, SyncError};
use crm_sync_server::auth::Role;
use crm_sync_testkit::{Throwaway, PASSWORD};
use uuid::Uuid;

fn code(e: SyncError) -> String {
    match e {
        SyncError::Refused { code, .. } => code,
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn an_admin_manages_users_and_devices_through_the_client() {
    let server = Throwaway::start().expect("server");
    server
        .tenant("Acme", &[("boss@acme.test", Role::Admin, None)])
        .expect("tenant");
    let conn = Connection::new(&server.url(), Options::default()).expect("client");
    let boss = conn
        .login("boss@acme.test", PASSWORD, Uuid::now_v7(), "boss laptop")
        .expect("login");
    assert!(!boss.must_change_password);
    let t = &boss.token;

    let otp = conn
        .admin_invite(
            t,
            &InviteRequest {
                email: "ann@acme.test".into(),
                role: "agent".into(),
                team: Some("north".into()),
            },
        )
        .expect("invite");
    let ann = conn
        .login("ann@acme.test", &otp.password, Uuid::now_v7(), "ann laptop")
        .expect("one-time sign-in");
    assert!(ann.must_change_password);
    assert_eq!(
        code(
            conn.catalog(&ann.token, None)
                .expect_err("must change first")
        ),
        "password_change_required"
    );
    assert_eq!(
        code(
            conn.login("ann@acme.test", &otp.password, Uuid::now_v7(), "again")
                .expect_err("used")
        ),
        "bad_credentials"
    );
    conn.change_password(&ann.token, &otp.password, "ann's own password")
        .expect("change");
    conn.catalog(&ann.token, None).expect("catalog now");

    let bad = DeviceReport {
        app_version: "1.0.0".into(),
        plugins: vec![PluginReport {
            plugin_id: "acme.quotes".into(),
            version: "1.0.0".into(),
            enabled: true,
            health: "poorly".into(),
            last_error: None,
            runs: 1,
            errors: 1,
        }],
    };
    let e = conn
        .report_device(&ann.token, &bad)
        .expect_err("bad health");
    assert!(e.to_string().contains("plugins[0].health"), "{e}");
    let mut good = bad.clone();
    good.plugins[0].health = "failing".into();
    good.plugins[0].last_error = Some("timeout".into());
    conn.report_device(&ann.token, &good).expect("report");
    let health = conn.admin_plugin_health(t).expect("health");
    assert_eq!(health.len(), 1);
    assert_eq!((health[0].devices, health[0].failing), (1, 1));
    assert_eq!(health[0].last_errors[0].device_name, "ann laptop");

    let users = conn.admin_users(t).expect("users");
    let u = users
        .iter()
        .find(|u| u.email == "ann@acme.test")
        .expect("ann listed");
    assert_eq!(u.team.as_deref(), Some("north"));
    assert!(!u.one_time_password_pending);
    let changed = conn
        .admin_change_user(
            t,
            u.id,
            &UserChange {
                team: Some(None),
                disabled: Some(true),
                ..UserChange::default()
            },
        )
        .expect("change");
    assert_eq!((changed.team, changed.disabled), (None, true));
    assert_eq!(
        code(conn.catalog(&ann.token, None).expect_err("disabled")),
        "account_disabled"
    );
    conn.admin_change_user(
        t,
        u.id,
        &UserChange {
            disabled: Some(false),
            ..UserChange::default()
        },
    )
    .expect("enable");

    let devices = conn.admin_devices(t).expect("devices");
    let laptop = devices
        .iter()
        .find(|d| d.name == "ann laptop")
        .expect("ann's device");
    assert_eq!(laptop.app_version.as_deref(), Some("1.0.0"));
    conn.admin_revoke_device(t, laptop.id).expect("revoke");
    assert_eq!(
        code(conn.catalog(&ann.token, None).expect_err("revoked")),
        "device_revoked"
    );
    let reset = conn.admin_reset_password(t, u.id).expect("reset");
    assert_ne!(reset.password, otp.password);
    let actions: Vec<String> = conn
        .admin_audit(t)
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "password_reset",
            "device_revoked",
            "enabled",
            "disabled",
            "team_set",
            "invited"
        ]
    );
}
