//! Bad input: each a clear 4xx with a stable code, and nothing written.

mod common;

use axum::http::{Method, StatusCode};
use common::{contact, Env};
use crm_protocol::{Hlc, MAX_DRIFT_MS};
use crm_sync_server::auth::Role;
use crm_sync_server::Limits;
use serde_json::json;
use uuid::Uuid;

async fn setup(limits: Limits) -> (Env, common::Device, Uuid) {
    let env = Env::with_limits(limits).await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    let a = env.login("a@acme.test").await;
    (env, a, t)
}

async fn nothing_written(env: &Env, t: Uuid) {
    assert_eq!(env.rows_of(t).await, 0, "no row was written");
    let mut tx = crm_sync_server::db::tenant_tx(&env.owner, t)
        .await
        .expect("tx");
    let (n,): (i64,) = crm_sync_server::sql::query_as("SELECT count(*) FROM applied_ops")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(n, 0, "no op was recorded as applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_unknown_and_future_input_is_refused_with_nothing_written() {
    let (env, mut a, t) = setup(Limits {
        max_body: 64 * 1024,
        ..Limits::default()
    })
    .await;
    let push_raw = |body: Vec<u8>| env.call(Method::POST, "/v1/push", Some(&a.token), Some(body));

    let (s, v) = push_raw(b"{\"ops\": [".to_vec()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json")),
        "{v}"
    );
    let (s, v) = push_raw(b"{\"ops\": 5}".to_vec()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json")),
        "{v}"
    );

    let big = json!({"ops": [], "pad": "x".repeat(100 * 1024)})
        .to_string()
        .into_bytes();
    let (s, v) = push_raw(big).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")),
        "{v}"
    );

    let good = a.op("contacts", Uuid::now_v7(), contact("Ann", None));
    let unknown_table = a.op("users", Uuid::now_v7(), json!({"role": "admin"}));
    let (s, v) = env.push(&a, &[good.clone(), unknown_table.clone()]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_table")),
        "{v}"
    );
    assert_eq!(
        v["op_id"],
        json!(unknown_table.op_id),
        "the refusal names the op"
    );

    let unknown_field = a.op("contacts", Uuid::now_v7(), json!({"password": "x"}));
    let (s, v) = env.push(&a, &[good.clone(), unknown_field]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field")),
        "{v}"
    );

    let undelete = a.op("contacts", Uuid::now_v7(), json!({"deleted": false}));
    let (s, v) = env.push(&a, &[undelete]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_value")),
        "{v}"
    );

    let future = Hlc {
        millis: common::now_ms() + MAX_DRIFT_MS + 60_000,
        counter: 0,
        node: a.id,
    };
    let ahead = a.op_at("contacts", Uuid::now_v7(), contact("Later", None), future);
    let (s, v) = env.push(&a, &[good.clone(), ahead]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("clock_ahead")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("ahead")),
        "{v}"
    );

    let foreign = Hlc {
        node: Uuid::now_v7(),
        ..a.hlc()
    };
    let spoof = a.op_at("contacts", Uuid::now_v7(), contact("Spoof", None), foreign);
    let (s, v) = env.push(&a, &[spoof]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("foreign_clock")),
        "{v}"
    );

    let (s, v) = env
        .call(Method::GET, "/v1/pull?cursor=-1", Some(&a.token), None)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_cursor")),
        "{v}"
    );
    let (s, v) = env
        .call(Method::GET, "/v1/pull?cursor=abc", Some(&a.token), None)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query")),
        "{v}"
    );

    let (s, v) = env
        .call(
            Method::POST,
            "/v1/login",
            None,
            Some(b"{\"email\":".to_vec()),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json")),
        "{v}"
    );

    nothing_written(&env, t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_stops_at_its_next_request() {
    let (env, mut a, t) = setup(Limits::default()).await;
    let op = a.op("contacts", Uuid::now_v7(), contact("Ann", None));
    crm_sync_server::admin::revoke_device(&env.owner, t, a.id)
        .await
        .expect("revoke");
    let (s, v) = env.push(&a, &[op]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("device_revoked")),
        "{v}"
    );
    let (s, _) = env.pull(&a, 0).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    nothing_written(&env, t).await;
    let (s, v) = env
        .call(Method::POST, "/v1/push", None, Some(b"{}".to_vec()))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_api_document_are_served() {
    let (env, a, _t) = setup(Limits::default()).await;
    let (s, v) = env.call(Method::GET, "/health", None, None).await;
    assert_eq!((s, v.as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = env.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for path in ["/v1/login", "/v1/push", "/v1/pull"] {
        assert!(v["paths"][path].is_object(), "{path} documented");
    }
    // A refused request is counted, by code.
    let (s, _) = env
        .call(Method::GET, "/v1/pull?cursor=-1", Some(&a.token), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = env.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v.as_str()
            .is_some_and(|m| m.contains("sync_client_errors_total{code=\"bad_cursor\"}")),
        "{v}"
    );
}
