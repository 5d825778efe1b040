//! `/v1/documents`: a file is taken only whole and as its SHA-256 says;
//! bad input is a 400 naming the field; one tenant never sees or fetches
//! another's documents; every table that holds a tenant's rows is under
//! forced row-level security.

mod common;

use axum::http::{Method, StatusCode};
use common::Env;
use crm_sync_server::auth::Role;
use serde_json::json;
use sha2::Digest;

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn entry(id: &str, bytes: &[u8], audience: &[&str]) -> serde_json::Value {
    json!({
        "id": id, "title": "Lone working", "status": "published", "audience": audience,
        "version": 1, "file_name": "lone-working.md", "sha256": sha(bytes), "size": bytes.len(),
    })
}

async fn put_file(env: &Env, token: &str, bytes: &[u8]) {
    let (s, v) = env
        .call(
            Method::PUT,
            &format!("/v1/documents/files/{}/0?size={}", sha(bytes), bytes.len()),
            Some(token),
            Some(bytes.to_vec()),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_needs_its_whole_file_and_good_fields() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "boss@a.test", Role::Admin, None).await;
    let boss = env.login("boss@a.test").await;
    let bytes = b"# Lone working\n\nRing the office every two hours.\n".to_vec();
    let put = |body: serde_json::Value| {
        let token = boss.token.clone();
        let env = &env;
        async move {
            env.call(
                Method::PUT,
                "/v1/documents/doc-1",
                Some(&token),
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    // No file yet.
    let (s, v) = put(entry("doc-1", &bytes, &["everyone"])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "file_incomplete");
    // A chunk of the wrong size, a chunk past the end.
    let path = format!("/v1/documents/files/{}/0?size=999", sha(&bytes));
    let (s, v) = env
        .call(Method::PUT, &path, Some(&boss.token), Some(bytes.clone()))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("chunk 0"),
        "{v}"
    );
    let path = format!("/v1/documents/files/{}/3?size={}", sha(&bytes), bytes.len());
    let (s, _) = env
        .call(Method::PUT, &path, Some(&boss.token), Some(bytes.clone()))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Bytes that are not what the SHA-256 says.
    let mut forged = bytes.clone();
    forged[0] = b'!';
    let path = format!("/v1/documents/files/{}/0?size={}", sha(&bytes), bytes.len());
    let (s, _) = env
        .call(Method::PUT, &path, Some(&boss.token), Some(forged))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = put(entry("doc-1", &bytes, &["everyone"])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "file_mismatch");
    assert_eq!(env.count("SELECT count(*) FROM doc_documents").await, 0);

    // Bad fields, each named.
    let other = b"the real file".to_vec();
    put_file(&env, &boss.token, &other).await;
    for (field, body) in [
        ("audience", entry("doc-2", &other, &["team: north"])),
        ("audience", entry("doc-2", &other, &[])),
        ("id", entry("doc 2", &other, &["everyone"])),
        ("status", {
            let mut e = entry("doc-2", &other, &["everyone"]);
            e["status"] = json!("archived");
            e
        }),
        ("review_date", {
            let mut e = entry("doc-2", &other, &["everyone"]);
            e["review_date"] = json!("31/01/2027");
            e
        }),
    ] {
        let id = body["id"].as_str().unwrap_or_default().replace(' ', "%20");
        let (s, v) = env
            .call(
                Method::PUT,
                &format!("/v1/documents/{id}"),
                Some(&boss.token),
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").starts_with(field),
            "{field}: {v}"
        );
    }
    let (s, v) = put(entry("doc-1", &other, &["everyone"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Version 1 is that file now: another file as version 1 is refused.
    put_file(&env, &boss.token, &bytes).await;
    let (s, v) = put(entry("doc-1", &bytes, &["everyone"])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "version_exists");
}

/// A published document's version waiting for approval: kept whole,
/// listed and fetched for admins only; a pending version not above the
/// one in force is refused naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_waiting_for_approval_reaches_admins_only() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "boss@a.test", Role::Admin, None).await;
    env.user(t, "kim@a.test", Role::Admin, None).await;
    env.user(t, "amy@a.test", Role::Agent, None).await;
    let boss = env.login("boss@a.test").await;
    let v1 = b"# Lone working\n\nRing the office every two hours.\n".to_vec();
    let v2 = b"# Lone working\n\nRing the office every hour.\n".to_vec();
    put_file(&env, &boss.token, &v1).await;
    let mut e = entry("doc-1", &v1, &["everyone"]);
    e["pending"] =
        json!({"version": 2, "file_name": "lone-working.md", "sha256": sha(&v2), "size": v2.len()});
    let put = |body: serde_json::Value| {
        let token = boss.token.clone();
        let env = &env;
        async move {
            env.call(
                Method::PUT,
                "/v1/documents/doc-1",
                Some(&token),
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    // Its file first, whole.
    let (s, v) = put(e.clone()).await;
    assert_eq!(
        (s, v["code"].clone()),
        (StatusCode::CONFLICT, json!("file_incomplete")),
        "{v}"
    );
    put_file(&env, &boss.token, &v2).await;
    let mut low = e.clone();
    low["pending"]["version"] = json!(1);
    let (s, v) = put(low).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("pending.version"),
        "{v}"
    );
    let (s, v) = put(e).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let chunk = format!("/v1/documents/doc-1/files/{}/0", sha(&v2));
    for (who, admin) in [("kim@a.test", true), ("amy@a.test", false)] {
        let dev = env.login(who).await;
        let (s, list) = env
            .call(Method::GET, "/v1/documents", Some(&dev.token), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let doc = &list["documents"][0];
        assert_eq!(doc["version"], 1, "{who}: {list}");
        assert_eq!(
            doc["pending"]["version"].as_i64(),
            admin.then_some(2),
            "{who}: {list}"
        );
        let (s, _) = env.call(Method::GET, &chunk, Some(&dev.token), None).await;
        assert_eq!(
            s == StatusCode::OK,
            admin,
            "{who} fetching the waiting file: {s}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_never_sees_anothers_documents() {
    let env = Env::start().await;
    let ta = env.tenant("A").await;
    let tb = env.tenant("B").await;
    env.user(ta, "a@a.test", Role::Admin, None).await;
    env.user(tb, "b@b.test", Role::Admin, None).await;
    let a = env.login("a@a.test").await;
    let b = env.login("b@b.test").await;
    let bytes = b"B's confidential procedure".to_vec();
    put_file(&env, &b.token, &bytes).await;
    let (s, v) = env
        .call(
            Method::PUT,
            "/v1/documents/b-doc",
            Some(&b.token),
            Some(
                entry("b-doc", &bytes, &["everyone"])
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = env
        .call(Method::GET, "/v1/documents", Some(&a.token), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["documents"], json!([]), "{v}");
    let path = format!("/v1/documents/b-doc/files/{}/0", sha(&bytes));
    let (s, _) = env.call(Method::GET, &path, Some(&a.token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nor which chunks B uploaded.
    let (s, v) = env
        .call(
            Method::GET,
            &format!("/v1/documents/files/{}", sha(&bytes)),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["have"], json!([]));
    // B fetches its own.
    let (s, v) = env.call(Method::GET, &path, Some(&b.token), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!("B's confidential procedure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_with_tenant_rows_is_under_forced_row_level_security() {
    let env = Env::start().await;
    // The two look-up tables answered before a tenant is known are
    // reached only through SECURITY DEFINER functions: the serving role
    // has no privilege on them at all.
    let lookups = env
        .count(
            "SELECT count(*) FROM (VALUES ('credentials'), ('device_tokens')) t(name) \
             WHERE has_table_privilege('crm_app', t.name, 'SELECT, INSERT, UPDATE, DELETE')",
        )
        .await;
    assert_eq!(lookups, 0);
    let unguarded = env
        .count(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
             WHERE n.nspname = 'public' AND c.relkind = 'r' \
               AND c.relname NOT IN ('credentials', 'device_tokens') \
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
        )
        .await;
    assert_eq!(unguarded, 0);
    // And the documents' tables are among those checked.
    let docs = env
        .count(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'doc\\_%' AND relkind = 'r' \
             AND relrowsecurity AND relforcerowsecurity",
        )
        .await;
    assert_eq!(docs, 5);
}
