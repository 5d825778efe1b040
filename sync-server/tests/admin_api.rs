//! The admin API (`/v1/admin…`), one-time passwords and
//! `/v1/account/password`, and device reports: each rule, against a real
//! PostgreSQL.

mod common;

use axum::http::{Method, StatusCode};
use common::{contact, Env, PASSWORD};
use crm_sync_server::auth::Role;
use crm_sync_server::sql;
use serde_json::{json, Value};
use uuid::Uuid;

fn body(v: Value) -> Option<Vec<u8>> {
    Some(v.to_string().into_bytes())
}

/// Sign in with a password: (status, answer).
async fn sign_in(env: &Env, email: &str, password: &str) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        "/v1/login",
        None,
        body(
            json!({"email": email, "password": password, "device_id": Uuid::now_v7(),
                    "device_name": "laptop", "app_version": "9.8.7"}),
        ),
    )
    .await
}

async fn invite(env: &Env, token: &str, email: &str, role: &str) -> Value {
    let (s, v) = env
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(token),
            body(json!({"email": email, "role": role})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn patch(env: &Env, token: &str, user: &Value, change: Value) -> (StatusCode, Value) {
    let id = user.as_str().expect("user id");
    env.call(
        Method::PATCH,
        &format!("/v1/admin/users/{id}"),
        Some(token),
        body(change),
    )
    .await
}

async fn get(env: &Env, token: &str, path: &str) -> (StatusCode, Value) {
    env.call(Method::GET, path, Some(token), None).await
}

/// An admin and an agent of one tenant, signed in.
async fn agency() -> (Env, Uuid, common::Device, common::Device, Uuid) {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "boss@acme.test", Role::Admin, None).await;
    let agent = env.user(t, "ann@acme.test", Role::Agent, None).await;
    let boss = env.login("boss@acme.test").await;
    let ann = env.login("ann@acme.test").await;
    (env, t, boss, ann, agent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_is_refused_every_admin_request_with_a_reason() {
    let (env, _t, _boss, ann, agent) = agency().await;
    let id = agent.to_string();
    let calls = [
        (Method::GET, "/v1/admin/users".to_string(), None),
        (
            Method::POST,
            "/v1/admin/users".into(),
            body(json!({"email": "x@acme.test", "role": "admin"})),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/users/{id}"),
            body(json!({"role": "admin"})),
        ),
        (Method::POST, format!("/v1/admin/users/{id}/password"), None),
        (Method::GET, "/v1/admin/devices".into(), None),
        (
            Method::POST,
            format!("/v1/admin/devices/{}/revoke", ann.id),
            None,
        ),
        (Method::GET, "/v1/admin/audit".into(), None),
        (Method::GET, "/v1/admin/plugins/health".into(), None),
    ];
    for (m, path, b) in calls {
        let (s, v) = env.call(m.clone(), &path, Some(&ann.token), b).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("admin_only")),
            "{m} {path}: {v}"
        );
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains("admin")),
            "{v}"
        );
    }
    // Nothing changed: still an agent, device not revoked, nobody invited.
    let (s, v) = get(&env, &_boss.token, "/v1/admin/users").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert!(v.as_array().is_some_and(|a| a
        .iter()
        .any(|u| u["email"] == "ann@acme.test" && u["role"] == "agent")));
    let (s, _) = env.pull(&ann, 0).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = get(&env, &_boss.token, "/v1/admin/audit").await;
    assert_eq!(v, json!([]), "nothing audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_user_signs_in_once_with_the_one_time_password_then_must_set_their_own() {
    let (env, _t, boss, _ann, _) = agency().await;
    let otp = invite(&env, &boss.token, "new@acme.test", "agent").await;
    let password = otp["password"].as_str().expect("password").to_string();
    assert!(password.replace('-', "").chars().count() >= 16, "{otp}");
    assert!(!password.contains(['0', 'O', '1', 'l', 'I']), "{password}");
    // Stored only as a hash: the answer's text is in no table the owner reads.
    let (s, v) = env
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&boss.token),
            body(json!({"email": "NEW@acme.test", "role": "agent"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("email_taken")),
        "{v}"
    );
    let (s, v) = get(&env, &boss.token, "/v1/admin/users").await;
    assert_eq!(s, StatusCode::OK);
    let new = v
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == "new@acme.test"))
        .cloned()
        .expect("listed");
    assert_eq!(new["one_time_password_pending"], true, "{new}");
    assert_eq!(new["devices"], 0);

    let (s, v) = sign_in(&env, "new@acme.test", &password).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["must_change_password"], true, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    for (m, path) in [
        (Method::GET, "/v1/pull?cursor=0"),
        (Method::POST, "/v1/push"),
        (Method::GET, "/v1/catalog"),
    ] {
        let b = (m == Method::POST).then(|| b"{\"ops\": []}".to_vec());
        let (s, v) = env.call(m, path, Some(&token), b).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("password_change_required")),
            "{path}: {v}"
        );
    }
    // Single use: the same password again is a wrong password.
    let (s, v) = sign_in(&env, "new@acme.test", &password).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
        "{v}"
    );
    let change = |current: &str, new: &str| {
        env.call(
            Method::POST,
            "/v1/account/password",
            Some(&token),
            body(json!({"current": current, "new": new})),
        )
    };
    let (s, v) = change("not it at all", "my own password").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong_password")),
        "{v}"
    );
    let (s, v) = change(&password, "short").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("weak_password")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.starts_with("new")),
        "{v}"
    );
    let (s, v) = change(&password, "my own password").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = env
        .call(Method::GET, "/v1/pull?cursor=0", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "the same token syncs now: {v}");
    let (s, v) = sign_in(&env, "new@acme.test", "my own password").await;
    assert_eq!(
        (s, &v["must_change_password"]),
        (StatusCode::OK, &json!(false)),
        "{v}"
    );
    let (s, _) = sign_in(&env, "new@acme.test", &password).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the one-time password is gone");
    let (_, v) = get(&env, &boss.token, "/v1/admin/users").await;
    let new = v
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == "new@acme.test"))
        .cloned()
        .expect("listed");
    assert_eq!(new["one_time_password_pending"], false, "{new}");
    assert_eq!(new["devices"], 2, "{new}");
    assert!(new["last_seen"].is_string(), "{new}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_one_time_password_is_refused_like_a_wrong_one() {
    let (env, t, boss, _ann, _) = agency().await;
    let otp = invite(&env, &boss.token, "late@acme.test", "agent").await;
    let expires: chrono_free::Day = otp["expires_at"].as_str().expect("expiry").into();
    assert!(expires.days_from_now() >= 6, "{otp}");
    let mut tx = crm_sync_server::db::tenant_tx(&env.owner, t)
        .await
        .expect("tx");
    sql::query("UPDATE users SET otp_expires_at = now() - interval '1 second' WHERE email = 'late@acme.test'")
        .execute(&mut *tx)
        .await
        .expect("expire");
    tx.commit().await.expect("commit");
    let (s, v) = sign_in(
        &env,
        "late@acme.test",
        otp["password"].as_str().expect("pw"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
        "{v}"
    );
}

/// Days between today and an RFC 3339 date, without a date library.
mod chrono_free {
    pub struct Day(String);
    impl From<&str> for Day {
        fn from(s: &str) -> Self {
            Day(s.to_string())
        }
    }
    fn days(date: &str) -> i64 {
        let p: Vec<i64> = date[..10]
            .split('-')
            .map(|x| x.parse().expect("number"))
            .collect();
        let (y, m, d) = (p[0], p[1], p[2]);
        // Days from civil (Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }
    impl Day {
        pub fn days_from_now(&self) -> i64 {
            let now = super::common::now_ms() as i64 / 86_400_000;
            days(&self.0) - now
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_refused_at_once_and_the_last_admin_cannot_go() {
    let (env, _t, boss, ann, agent) = agency().await;
    let agent = json!(agent);
    let (s, v) = patch(&env, &boss.token, &agent, json!({"disabled": true})).await;
    assert_eq!((s, &v["disabled"]), (StatusCode::OK, &json!(true)), "{v}");
    let (s, v) = env.pull(&ann, 0).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_disabled")),
        "{v}"
    );
    let (s, v) = sign_in(&env, "ann@acme.test", PASSWORD).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_disabled")),
        "{v}"
    );
    let (s, _) = patch(&env, &boss.token, &agent, json!({"disabled": false})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(env.pull(&ann, 0).await.0, StatusCode::OK, "enabled again");

    // The only admin can neither demote nor disable themself.
    let (_, users) = get(&env, &boss.token, "/v1/admin/users").await;
    let me = users
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == "boss@acme.test"))
        .map(|u| u["id"].clone())
        .expect("me");
    for change in [json!({"role": "agent"}), json!({"disabled": true})] {
        let (s, v) = patch(&env, &boss.token, &me, change.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("last_admin")),
            "{change}: {v}"
        );
    }
    // A disabled second admin does not count.
    let (s, _) = patch(&env, &boss.token, &agent, json!({"role": "admin"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = patch(&env, &boss.token, &agent, json!({"disabled": true})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = patch(&env, &boss.token, &me, json!({"role": "agent"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_admin")),
        "{v}"
    );
    // An active one does.
    let (s, _) = patch(&env, &boss.token, &agent, json!({"disabled": false})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = patch(&env, &boss.token, &me, json!({"role": "agent"})).await;
    assert_eq!((s, &v["role"]), (StatusCode::OK, &json!("agent")), "{v}");
    let (s, v) = get(&env, &boss.token, "/v1/admin/users").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admin_only"))
    );
    let (s, v) = patch(&env, &boss.token, &agent, json!({"role": "chief"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_and_team_changes_move_what_the_user_sees_and_the_catalog() {
    let (env, t, mut boss, ann, agent) = agency().await;
    let agent = json!(agent);
    let secret = Uuid::now_v7();
    let op = boss.op("contacts", secret, contact("Boss's client", None));
    assert_eq!(env.push(&boss, &[op]).await.0, StatusCode::OK);
    let sees = |rows: &[Value]| rows.iter().any(|r| r["row_id"] == json!(secret));
    assert!(
        !sees(&env.pull_all(&ann).await.0),
        "an agent does not see it"
    );
    let revision = || async {
        let mut tx = crm_sync_server::db::tenant_tx(&env.owner, t)
            .await
            .expect("tx");
        let r: Option<(i64,)> = sql::query_as("SELECT revision FROM catalog_revisions")
            .fetch_optional(&mut *tx)
            .await
            .expect("revision");
        r.map_or(0, |r| r.0)
    };
    let before = revision().await;
    let (s, v) = patch(&env, &boss.token, &agent, json!({"role": "admin"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(sees(&env.pull_all(&ann).await.0), "an admin pulls it");
    assert!(revision().await > before, "the catalog moved on");
    let (s, v) = patch(
        &env,
        &boss.token,
        &agent,
        json!({"role": "agent", "team": "north"}),
    )
    .await;
    assert_eq!((s, &v["team"]), (StatusCode::OK, &json!("north")), "{v}");
    let (_, evictions) = env.pull_all(&ann).await;
    assert!(
        evictions.iter().any(|e| e["row_id"] == json!(secret)),
        "demoted: evicted ({evictions:?})"
    );
    let (s, v) = patch(&env, &boss.token, &agent, json!({"team": null})).await;
    assert_eq!((s, &v["team"]), (StatusCode::OK, &Value::Null), "{v}");
    let (s, v) = patch(
        &env,
        &boss.token,
        &json!(Uuid::now_v7()),
        json!({"team": "x"}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_user")),
        "{v}"
    );
    let (s, v) = patch(&env, &boss.token, &agent, json!({"team": ""})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_team")),
        "{v}"
    );

    let (s, v) = get(&env, &boss.token, "/v1/admin/audit").await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        actions,
        ["team_set", "team_set", "role_set", "role_set"],
        "{v}"
    );
    assert_eq!(v[0]["actor"], "boss@acme.test");
    assert_eq!(v[0]["user_id"], agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_signs_the_user_out_and_a_revoked_device_is_refused() {
    let (env, _t, boss, ann, agent) = agency().await;
    let (s, v) = env
        .call(
            Method::POST,
            &format!("/v1/admin/users/{agent}/password"),
            Some(&boss.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let otp = v["password"].as_str().expect("password").to_string();
    assert_eq!(
        env.pull(&ann, 0).await.0,
        StatusCode::UNAUTHORIZED,
        "signed out"
    );
    let (s, _) = sign_in(&env, "ann@acme.test", PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (s, v) = sign_in(&env, "ann@acme.test", &otp).await;
    assert_eq!(
        (s, &v["must_change_password"]),
        (StatusCode::OK, &json!(true)),
        "{v}"
    );

    let (s, devices) = get(&env, &boss.token, "/v1/admin/devices").await;
    assert_eq!(s, StatusCode::OK);
    let newest = devices
        .as_array()
        .and_then(|a| a.iter().find(|d| d["app_version"] == "9.8.7"))
        .cloned()
        .expect("the device that sent its version");
    assert_eq!(newest["user_email"], "ann@acme.test");
    assert_eq!(newest["revoked"], false);
    let token = v["token"].as_str().expect("token").to_string();
    let revoke = |id: Value| {
        let path = format!("/v1/admin/devices/{}/revoke", id.as_str().unwrap_or(""));
        let (env, token) = (&env, boss.token.clone());
        async move { env.call(Method::POST, &path, Some(&token), None).await }
    };
    let (s, v) = revoke(newest["id"].clone()).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = env
        .call(
            Method::POST,
            "/v1/account/password",
            Some(&token),
            body(json!({"current": otp, "new": "a new password"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("device_revoked")),
        "{v}"
    );
    let (s, v) = revoke(newest["id"].clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("no_device")),
        "{v}"
    );
    let (_, devices) = get(&env, &boss.token, "/v1/admin/devices").await;
    assert!(devices.as_array().is_some_and(|a| a
        .iter()
        .any(|d| d["id"] == newest["id"] && d["revoked"] == true)));
    let (_, v) = get(&env, &boss.token, "/v1/admin/audit").await;
    assert_eq!(v[0]["action"], "device_revoked", "{v}");
    assert_eq!(v[1]["action"], "password_reset", "{v}");
    assert!(!v.to_string().contains(&otp), "the password is not audited");
}

fn plugin(id: &str, version: &str, health: &str, error: Option<&str>) -> Value {
    json!({"plugin_id": id, "version": version, "enabled": health != "stopped",
           "health": health, "last_error": error})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_reports_are_bounded_replaced_and_summed_per_plugin_version() {
    let (env, _t, boss, ann, _agent) = agency().await;
    let report = |token: &str, b: Value| {
        let token = token.to_string();
        let env = &env;
        async move {
            env.call(Method::POST, "/v1/devices/report", Some(&token), body(b))
                .await
        }
    };
    let many: Vec<Value> = (0..501)
        .map(|i| plugin(&format!("p{i}"), "1.0.0", "ok", None))
        .collect();
    for (b, field) in [
        (json!({"app_version": "1", "plugins": many}), "plugins"),
        (
            json!({"app_version": "1", "plugins": [plugin("a", "1", "sick", None)]}),
            "plugins[0].health",
        ),
        (
            json!({"app_version": "1", "plugins": [plugin("a", "1", "failing", Some(&"e".repeat(5000)))]}),
            "plugins[0].last_error",
        ),
        (json!({"app_version": "", "plugins": []}), "app_version"),
        (
            json!({"app_version": "1", "plugins": [plugin(&"x".repeat(300), "1", "ok", None)]}),
            "plugins[0].plugin_id",
        ),
    ] {
        let (s, v) = report(&ann.token, b).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_report")),
            "{v}"
        );
        assert!(
            v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("{field}:"))),
            "{field}: {v}"
        );
    }
    let mut failing = plugin(
        "acme.quotes",
        "1.0.0",
        "failing",
        Some("quote service down"),
    );
    failing["runs"] = json!(10);
    failing["errors"] = json!(4);
    let (s, v) = report(
        &ann.token,
        json!({"app_version": "2.0.0", "plugins": [
            failing,
            plugin("acme.old", "0.1.0", "ok", None)]}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let mut fine = plugin("acme.quotes", "1.0.0", "ok", None);
    fine["runs"] = json!(7);
    // More errors than runs cannot be: counted as the runs at most.
    fine["errors"] = json!(9);
    let (s, _) = report(
        &boss.token,
        json!({"app_version": "2.0.0", "plugins": [fine]}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = get(&env, &boss.token, "/v1/admin/plugins/health").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let quotes = v
        .as_array()
        .and_then(|a| a.iter().find(|h| h["plugin_id"] == "acme.quotes"))
        .cloned()
        .expect("quotes");
    assert_eq!(
        (&quotes["devices"], &quotes["failing"]),
        (&json!(2), &json!(1)),
        "{quotes}"
    );
    assert_eq!(
        (&quotes["runs"], &quotes["errors"]),
        (&json!(17), &json!(11)),
        "{quotes}"
    );
    assert_eq!(quotes["last_errors"][0]["error"], "quote service down");
    assert_eq!(quotes["last_errors"][0]["device_name"], "test");
    // A new report replaces the old one whole.
    let (s, _) = report(&ann.token, json!({"app_version": "2.0.1", "plugins": []})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = get(&env, &boss.token, "/v1/admin/plugins/health").await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (&v[0]["devices"], &v[0]["failing"]),
        (&json!(1), &json!(0)),
        "{v}"
    );
    let (_, devices) = get(&env, &boss.token, "/v1/admin/devices").await;
    assert!(
        devices.as_array().is_some_and(|a| a
            .iter()
            .any(|d| d["id"] == json!(ann.id) && d["app_version"] == "2.0.1")),
        "{devices}"
    );
}
