//! Tenant isolation: A's token can neither read nor write B's rows by any
//! route, and row-level security alone (the app's filter bypassed) returns
//! nothing of B.

mod common;

use axum::http::{Method, StatusCode};
use common::{contact, Env};
use crm_sync_server::auth::Role;
use crm_sync_server::sql;
use serde_json::json;
use uuid::Uuid;

async fn two_tenants() -> (Env, common::Device, common::Device, Uuid, Uuid) {
    let env = Env::start().await;
    let ta = env.tenant("A").await;
    let tb = env.tenant("B").await;
    env.user(ta, "a@a.test", Role::Admin, None).await;
    env.user(tb, "b@b.test", Role::Admin, None).await;
    let a = env.login("a@a.test").await;
    let mut b = env.login("b@b.test").await;
    let secret = Uuid::now_v7();
    let op = b.op("contacts", secret, contact("B's secret client", None));
    assert_eq!(env.push(&b, &[op]).await.0, StatusCode::OK);
    (env, a, b, ta, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_tenant_a_reads_nothing_of_b_from_any_cursor() {
    let (env, a, _b, _ta, secret) = two_tenants().await;
    for cursor in [0i64, 1, 2, 5, 100, 1_000_000, i64::MAX - 1] {
        let (s, v) = env.pull(&a, cursor).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["rows"], json!([]), "cursor {cursor}: {v}");
        assert_eq!(v["evictions"], json!([]));
        assert!(!v.to_string().contains(&secret.to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_tenant_a_cannot_write_into_b() {
    let (env, mut a, b, _ta, secret) = two_tenants().await;
    // Naming B's tenant in the op: refused, nothing written.
    let mut forged = a.op("contacts", secret, json!({"display_name": "pwned"}));
    forged.tenant_id = b.tenant;
    let (s, v) = env.push(&a, &[forged]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "wrong_tenant");
    // Using B's row id under A's own tenant: a row of A's is made; B's
    // row is untouched.
    let guess = a.op("contacts", secret, contact("pwned", None));
    assert_eq!(env.push(&a, &[guess]).await.0, StatusCode::OK);
    let (rows, _) = env.pull_all(&b).await;
    let row = rows
        .iter()
        .find(|r| r["row_id"] == json!(secret))
        .expect("b's row");
    assert_eq!(row["fields"]["display_name"], "B's secret client");
    // Replaying B's op id from A does not mark it applied in B, nor is
    // B's op-id space visible: A's op with B's op id is simply A's op.
    assert_eq!(env.rows_of(b.tenant).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_alone_hides_b_from_the_application_role() {
    let (env, _a, b, ta, secret) = two_tenants().await;
    // B has a plugin catalog too (written under B's own scope).
    let mut tx = crm_sync_server::db::tenant_tx(&env.pool, b.tenant)
        .await
        .expect("tx");
    for insert in [
        "INSERT INTO catalog_publishers (tenant_id, public_key, name, added_by) VALUES ($1, 'k', 'B IT', $2)",
        "INSERT INTO catalog_packages (tenant_id, plugin_id, version, name, package, sha256, signer, permissions, uploaded_by) \
         VALUES ($1, 'b.secret', '1.0.0', 'B secret', '\\x00', 's', 'k', '[]', $2)",
        "INSERT INTO catalog_policies (tenant_id, plugin_id, mode, updated_by) VALUES ($1, 'b.secret', 'allowed', $2)",
        "INSERT INTO catalog_audit (tenant_id, actor, plugin_id, action, detail) VALUES ($1, $2, 'b.secret', 'published', '{}')",
        "INSERT INTO catalog_revisions (tenant_id, revision) VALUES ($1, 1)",
        "INSERT INTO admin_audit (tenant_id, actor, action, detail) VALUES ($1, $2, 'invited', '{}')",
    ] {
        sql::query(insert)
            .bind(b.tenant)
            .bind(Uuid::now_v7())
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{insert}: {e}"));
    }
    tx.commit().await.expect("commit");
    // As crm_app, scoped to A, with no WHERE at all.
    let mut tx = crm_sync_server::db::tenant_tx(&env.pool, ta)
        .await
        .expect("tx");
    for table in [
        "rows",
        "users",
        "devices",
        "applied_ops",
        "evictions",
        "tenants",
        "tenant_locks",
        "catalog_publishers",
        "catalog_packages",
        "catalog_policies",
        "catalog_audit",
        "catalog_revisions",
        "device_plugins",
        "admin_audit",
    ] {
        let (n,): (i64,) = sql::query_as(&format!(
            "SELECT count(*) FROM {table} WHERE {col} = $1",
            col = if table == "tenants" {
                "id"
            } else {
                "tenant_id"
            }
        ))
        .bind(b.tenant)
        .fetch_one(&mut *tx)
        .await
        .expect("count");
        assert_eq!(n, 0, "{table}: B's rows are invisible under A's scope");
    }
    let all: Vec<(Uuid,)> = sql::query_as("SELECT id FROM rows")
        .fetch_all(&mut *tx)
        .await
        .expect("rows");
    assert!(!all.iter().any(|(id,)| *id == secret));
    // Writing a row labelled B under A's scope is refused by the policy.
    let err = sql::query(
        "INSERT INTO rows (tenant_id, tbl, id, fields, clocks, seq, creator) VALUES ($1, 'contacts', $2, '{}', '{}', 1, $2)",
    )
    .bind(b.tenant)
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await
    .expect_err("WITH CHECK refuses another tenant's rows");
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);
    // The tables every push writes have no foreign key to tenants (see
    // migration 3): the policy alone refuses a row of B, or of a tenant
    // that does not exist.
    for tenant in [b.tenant, Uuid::now_v7()] {
        for insert in [
            "INSERT INTO rows (tenant_id, tbl, id, fields, clocks, seq, creator) VALUES ($1, 'contacts', $2, '{}', '{}', 1, $2)",
            "INSERT INTO applied_ops (tenant_id, op_id, device_id) VALUES ($1, $2, $2)",
            "INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) VALUES ($1, $2, 'contacts', $2, 1)",
            "INSERT INTO catalog_policies (tenant_id, plugin_id, mode, updated_by) VALUES ($1, 'x', 'blocked', $2)",
            "INSERT INTO admin_audit (tenant_id, actor, action, detail) VALUES ($1, $2, 'x', '{}')",
            "INSERT INTO device_plugins (tenant_id, device_id, plugin_id, version, enabled, health) VALUES ($1, $2, 'x', '1', true, 'ok')",
        ] {
            let mut tx = crm_sync_server::db::tenant_tx(&env.pool, ta)
                .await
                .expect("tx");
            let err = sql::query(insert)
                .bind(tenant)
                .bind(Uuid::now_v7())
                .execute(&mut *tx)
                .await
                .expect_err("WITH CHECK refuses another tenant's rows");
            assert!(err.to_string().contains("row-level security"), "{insert}: {err}");
        }
    }
    // No scope at all: nothing.
    let (n,): (i64,) = sql::query_as("SELECT count(*) FROM rows")
        .fetch_one(&env.pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
    // The look-up tables behind login are out of the app role's reach.
    let err = sql::query("SELECT * FROM credentials")
        .execute(&env.pool)
        .await
        .expect_err("no privilege");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_foreign_token_gets_nothing() {
    let (env, _a, _b, _ta, _secret) = two_tenants().await;
    for token in ["", "not-a-token", &"0".repeat(64)] {
        let (s, v) = env
            .call(Method::GET, "/v1/pull?cursor=0", Some(token), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token:?}: {v}");
    }
}

/// The admin API: A's admin never sees or changes B's users, devices,
/// reports or audit, by any path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_of_a_neither_sees_nor_changes_what_is_b_s() {
    let (env, a, b, _ta, _secret) = two_tenants().await;
    let body = |v: serde_json::Value| Some(v.to_string().into_bytes());
    // B has a report, an audit entry and a second user.
    let (s, v) = env
        .call(
            Method::POST,
            "/v1/devices/report",
            Some(&b.token),
            body(
                json!({"app_version": "1", "plugins": [{"plugin_id": "b.secret", "version": "1",
                          "enabled": true, "health": "failing", "last_error": "B's error"}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = env
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&b.token),
            body(json!({"email": "b2@b.test", "role": "agent"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let b_user = v["user_id"].as_str().expect("id").to_string();
    for path in [
        "/v1/admin/users",
        "/v1/admin/devices",
        "/v1/admin/audit",
        "/v1/admin/plugins/health",
    ] {
        let (s, v) = env.call(Method::GET, path, Some(&a.token), None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let text = v.to_string();
        for b_thing in [
            "b@b.test",
            "b2@b.test",
            "b.secret",
            "B's error",
            &b.id.to_string(),
            &b_user,
        ] {
            assert!(!text.contains(b_thing), "{path} shows {b_thing}: {text}");
        }
    }
    let (s, v) = env
        .call(
            Method::PATCH,
            &format!("/v1/admin/users/{b_user}"),
            Some(&a.token),
            body(json!({"disabled": true, "role": "admin"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_user")),
        "{v}"
    );
    let (s, v) = env
        .call(
            Method::POST,
            &format!("/v1/admin/users/{b_user}/password"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_user")),
        "{v}"
    );
    let (s, v) = env
        .call(
            Method::POST,
            &format!("/v1/admin/devices/{}/revoke", b.id),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("no_device")),
        "{v}"
    );
    // B is untouched: its device works, its user is an agent, enabled.
    let (s, _) = env.pull(&b, 0).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = env
        .call(Method::GET, "/v1/admin/users", Some(&b.token), None)
        .await;
    let b2 = v
        .as_array()
        .and_then(|u| u.iter().find(|u| u["email"] == "b2@b.test"))
        .cloned()
        .expect("b2");
    assert_eq!(
        (&b2["role"], &b2["disabled"]),
        (&json!("agent"), &json!(false)),
        "{b2}"
    );
    let (_, v) = env
        .call(Method::GET, "/v1/admin/audit", Some(&b.token), None)
        .await;
    assert_eq!(
        v.as_array().map(Vec::len),
        Some(1),
        "only B's own invitation: {v}"
    );
}
