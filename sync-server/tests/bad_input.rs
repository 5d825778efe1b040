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

fn policy(contact: Uuid) -> serde_json::Value {
    json!({"contact_id": contact.to_string(), "policy_number": "P-1", "carrier": "Aviva",
           "line_of_business": "motor", "premium_minor": 4250, "currency": "GBP",
           "payment_frequency": "monthly", "effective_date": "2025-01-01",
           "expiry_date": null, "status": "active"})
}

/// Push `[good, bad]` and expect the batch refused because of `bad`, with
/// a message naming the op, the field, the value given and what is
/// expected.
async fn refused_value(
    env: &Env,
    a: &mut common::Device,
    table: &str,
    fields: serde_json::Value,
    given: &str,
    expected: &str,
) {
    let good = a.op("contacts", Uuid::now_v7(), contact("Ann", None));
    let bad = a.op(table, Uuid::now_v7(), fields.clone());
    let (s, v) = env.push(a, &[good, bad.clone()]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_value")),
        "{fields}: {v}"
    );
    assert_eq!(v["op_id"], json!(bad.op_id), "the refusal names the op");
    let msg = v["message"].as_str().unwrap_or_default();
    let field = fields
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .unwrap_or_default();
    for part in [
        bad.op_id.to_string(),
        format!("{table}.{field}"),
        given.to_string(),
        expected.to_string(),
    ] {
        assert!(msg.contains(&part), "{msg:?} should name {part:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_stores_cannot_read_are_refused_naming_op_field_value_and_expectation() {
    let (env, mut a, t) = setup(Limits::default()).await;
    let c = Uuid::now_v7();
    let e = &env;
    let a = &mut a;
    refused_value(
        e,
        a,
        "contacts",
        json!({"stage": "lead"}),
        "\"lead\"",
        "one of prospect, client, lapsed",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"premium_minor": "abc"}),
        "\"abc\"",
        "a whole number",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"premium_minor": 42.5}),
        "42.5",
        "a whole number",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"payment_frequency": "weekly"}),
        "\"weekly\"",
        "one of monthly, quarterly, semi_annual, annual, single",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"status": "Active"}),
        "\"Active\"",
        "one of quoted, active, lapsed, cancelled, expired",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"effective_date": "31/12/2025"}),
        "\"31/12/2025\"",
        "a date as YYYY-MM-DD",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"expiry_date": "2025-02-30"}),
        "\"2025-02-30\"",
        "a date as YYYY-MM-DD or null",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"contact_id": null}),
        "null",
        "a record id",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"contact_id": c.to_string().to_uppercase()}),
        &c.to_string().to_uppercase(),
        "a record id",
    )
    .await;
    refused_value(
        e,
        a,
        "policies",
        json!({"currency": "pounds"}),
        "\"pounds\"",
        "three capital letters",
    )
    .await;
    // Bounded like the store: a name of 2,001 characters, a tag list of
    // 1,001, a note of 100,001.
    refused_value(
        e,
        a,
        "contacts",
        json!({"city": "y".repeat(2001)}),
        "\"yyyy",
        "text of at most 2000 characters",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"tags": vec!["t"; 1001]}),
        "[\"t\"",
        "a list of at most 1000 strings",
    )
    .await;
    refused_value(
        e,
        a,
        "activities",
        json!({"body": "b".repeat(100_001)}),
        "\"bbbb",
        "text of at most 100000 characters",
    )
    .await;
    refused_value(
        e,
        a,
        "payments",
        json!({"method": "bitcoin"}),
        "\"bitcoin\"",
        "one of direct_debit, card, bank_transfer, cash, cheque or null",
    )
    .await;
    refused_value(
        e,
        a,
        "payments",
        json!({"amount_paid_minor": null}),
        "null",
        "a whole number",
    )
    .await;
    refused_value(
        e,
        a,
        "tasks",
        json!({"status": "later"}),
        "\"later\"",
        "one of open, done, cancelled",
    )
    .await;
    refused_value(
        e,
        a,
        "tasks",
        json!({"due_date": 20250101}),
        "20250101",
        "a date as YYYY-MM-DD or null",
    )
    .await;
    refused_value(
        e,
        a,
        "activities",
        json!({"kind": "sms"}),
        "\"sms\"",
        "one of note, call, email, meeting, status_change",
    )
    .await;
    refused_value(
        e,
        a,
        "activities",
        json!({"occurred_at": "yesterday"}),
        "\"yesterday\"",
        "RFC 3339",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"kind": "robot"}),
        "\"robot\"",
        "one of person, company",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"tags": "vip"}),
        "\"vip\"",
        "a list of at most 1000 strings",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"emails": ["a@b.test", 5]}),
        "[\"a@b.test\",5]",
        "a list of at most 1000 strings",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"custom": {"score": 5}}),
        "{\"score\":5}",
        "an object of at most 100 strings",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"display_name": null}),
        "null",
        "text",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"city": 7}),
        "7",
        "characters or null",
    )
    .await;
    refused_value(
        e,
        a,
        "contacts",
        json!({"date_of_birth": "1980-1-1"}),
        "\"1980-1-1\"",
        "a date as YYYY-MM-DD or null",
    )
    .await;

    // A long value is cut in the message, not echoed whole.
    let bad = a.op(
        "contacts",
        Uuid::now_v7(),
        json!({"stage": "x".repeat(10_000)}),
    );
    let (s, v) = env.push(a, &[bad]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(msg.len() < 400 && msg.contains('…'), "{msg}");

    // A new row must carry every required field: a partial create would
    // be a row no device can store.
    let partial = a.op(
        "contacts",
        Uuid::now_v7(),
        json!({"display_name": "Half", "city": "Leeds"}),
    );
    let (s, v) = env.push(a, std::slice::from_ref(&partial)).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("incomplete_row")),
        "{v}"
    );
    assert_eq!(v["op_id"], json!(partial.op_id));
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("kind, stage, tags, emails, phones, custom")),
        "{v}"
    );
    let tombstone_of_nothing = a.op("tasks", Uuid::now_v7(), json!({"deleted": true}));
    let (s, v) = env.push(a, &[tombstone_of_nothing]).await;
    assert_eq!(v["code"], "incomplete_row", "{s} {v}");

    nothing_written(&env, t).await;

    // Whole rows of every table pass, and later ops may change one field.
    let p = Uuid::now_v7();
    let ops = vec![
        a.op("contacts", c, contact("Ann", None)),
        a.op("policies", p, policy(c)),
        a.op("payments", Uuid::now_v7(), json!({"policy_id": p.to_string(), "due_date": "2025-01-01",
            "amount_due_minor": 4250, "amount_paid_minor": 0, "paid_date": null, "method": null, "reference": null})),
        a.op("tasks", Uuid::now_v7(), json!({"title": "Call", "due_date": "2025-02-28", "status": "open",
            "contact_id": c.to_string(), "assignee": null, "notes": null})),
        a.op("activities", Uuid::now_v7(), json!({"contact_id": c.to_string(), "kind": "status_change",
            "body": "now a client", "occurred_at": "2025-01-01T09:30:00.000Z", "actor": "{\"kind\":\"user\"}"})),
        a.op("contacts", c, json!({"stage": "client", "date_of_birth": "1980-02-29"})),
        a.op("policies", p, json!({"premium_minor": -100})),
    ];
    let (s, v) = env.push(a, &ops).await;
    assert_eq!(s, StatusCode::OK, "{v}");
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
    for path in [
        "/v1/login",
        "/v1/push",
        "/v1/pull",
        "/v1/catalog",
        "/v1/catalog/packages",
        "/v1/catalog/plugins/{id}",
        "/v1/catalog/publishers",
        "/v1/admin/users",
        "/v1/admin/users/{id}",
        "/v1/admin/users/{id}/password",
        "/v1/admin/devices",
        "/v1/admin/devices/{id}/revoke",
        "/v1/admin/audit",
        "/v1/admin/plugins/health",
        "/v1/account/password",
        "/v1/devices/report",
    ] {
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

/// PostgreSQL's jsonb and text refuse U+0000: a NUL in a pushed text of any
/// kind was a 500 (`internal`), which a device retries forever. It is a 422
/// `bad_value` naming the op and the field, so the device sets that op
/// aside; a NUL in a login's email or device name is a 400. Over a socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_pushed_text_of_any_kind_is_a_422_naming_op_and_field_with_nothing_written() {
    let (env, mut a, t) = setup(Limits::default()).await;
    let server = crm_sync_server::local::spawn(env.pool.clone(), Limits::default(), 0)
        .await
        .expect("serve");
    let row = Uuid::now_v7();
    let token = a.token.clone();
    let mut with = |fields: serde_json::Value| {
        let mut f = contact("Ann", None);
        if let (Some(f), Some(extra)) = (f.as_object_mut(), fields.as_object()) {
            f.extend(extra.clone());
        }
        a.op("contacts", row, f)
    };
    let cases = [
        ("contacts.city", with(json!({"city": "Le\u{0}eds"}))),
        (
            "contacts.display_name",
            with(json!({"display_name": "\u{0}"})),
        ),
        ("contacts.tags", with(json!({"tags": ["vip", "a\u{0}"]}))),
        (
            "contacts.custom",
            with(json!({"custom": {"score": "5\u{0}"}})),
        ),
        (
            "contacts.custom",
            with(json!({"custom": {"sc\u{0}ore": "5"}})),
        ),
    ];
    for (field, op) in cases {
        let body = json!({ "ops": [op] }).to_string();
        assert!(body.contains("\\u0000"), "{body}");
        let ans = common::http(
            server.addr,
            "POST",
            "/v1/push",
            Some(&token),
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(
            (ans.status, ans.code()),
            (422, Some("bad_value")),
            "{ans:?}"
        );
        assert_eq!(ans.body["op_id"], json!(op.op_id), "{ans:?}");
        let msg = ans.body["message"].as_str().unwrap_or_default();
        for part in [
            op.op_id.to_string().as_str(),
            field,
            "without NUL characters (U+0000): remove them",
        ] {
            assert!(msg.contains(part), "{msg:?} should name {part:?}");
        }
    }
    nothing_written(&env, t).await;

    // The same contact without the NUL goes through.
    let clean = with(json!({"city": "Leeds"}));
    let body = json!({ "ops": [clean] }).to_string();
    let ans = common::http(
        server.addr,
        "POST",
        "/v1/push",
        Some(&token),
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(ans.status, 200, "{ans:?}");

    for (email, device) in [
        ("a\u{0}@acme.test", "laptop"),
        ("a@acme.test", "lap\u{0}top"),
    ] {
        let body = json!({"email": email, "password": "x", "device_id": Uuid::now_v7(),
                          "device_name": device})
        .to_string();
        let ans = common::http(
            server.addr,
            "POST",
            "/v1/login",
            None,
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(ans.status, 400, "{ans:?}");
        assert!(
            ans.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("without NUL characters")),
            "{ans:?}"
        );
    }
    server.stop().await;
}
