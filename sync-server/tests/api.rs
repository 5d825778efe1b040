//! The sync API against a real PostgreSQL: login, push, pull, merge,
//! visibility and evictions, migrations, several server processes.

mod common;

use axum::http::{Method, StatusCode};
use common::{contact, Env, PASSWORD};
use crm_protocol::Hlc;
use crm_sync_server::auth::Role;
use crm_sync_server::{app, db, AppState, Limits};
use serde_json::{json, Value};
use uuid::Uuid;

fn find(rows: &[Value], id: Uuid) -> Option<&Value> {
    rows.iter().find(|r| r["row_id"] == json!(id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_contact_is_pulled_by_another_device_of_the_tenant() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "boss@acme.test", Role::Admin, None).await;
    let mut a = env.login("boss@acme.test").await;
    let b = env.login("BOSS@acme.test").await;
    let id = Uuid::now_v7();
    let op = a.op("contacts", id, contact("Ann Lee", None));
    let (s, v) = env.push(&a, std::slice::from_ref(&op)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applied"], json!([op.op_id]));
    let (rows, ev) = env.pull_all(&b).await;
    assert!(ev.is_empty());
    let row = find(&rows, id).expect("the contact arrives");
    assert_eq!(row["fields"]["display_name"], "Ann Lee");
    // One op wrote every field: one shared stamp on the wire.
    assert_eq!(row["clocks"]["_"], json!(op.hlc.to_string()));
    assert_eq!(row["deleted"], false);
    // Pulling again from the returned cursor gives nothing new.
    let (_, first) = env.pull(&b, 0).await;
    let (_, again) = env.pull(&b, first["cursor"].as_i64().unwrap_or(0)).await;
    assert_eq!(again["rows"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_batch_is_applied_once() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    let mut a = env.login("a@acme.test").await;
    let id = Uuid::now_v7();
    let create = a.op("contacts", id, contact("Ann", None));
    let edit = a.op("contacts", id, json!({"city": "Leeds"}));
    let (s, v) = env.push(&a, &[create.clone(), edit.clone()]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let seq_before = env.count("SELECT count(*) FROM applied_ops").await;
    // The response was lost; the device sends the same batch again.
    let (s, v) = env.push(&a, &[create.clone(), edit.clone()]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["applied"], json!([]));
    assert_eq!(v["duplicates"], json!([create.op_id, edit.op_id]));
    assert_eq!(
        env.count("SELECT count(*) FROM applied_ops").await,
        seq_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_merge_by_clock_ties_by_device_and_tombstones_win_over_older_edits() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    let mut a = env.login("a@acme.test").await;
    let mut b = env.login("a@acme.test").await;
    let id = Uuid::now_v7();
    let base = common::now_ms() - 10_000;
    let at = |ms: u64, node: Uuid| Hlc {
        millis: ms,
        counter: 0,
        node,
    };
    let create = a.op_at("contacts", id, contact("Ann", None), at(base, a.id));
    env.push(&a, &[create]).await;
    // b's later city wins over a's older one, whatever the arrival order;
    // a's later stage wins too: per field, not per row.
    let b_city = b.op_at(
        "contacts",
        id,
        json!({"city": "York", "stage": "client"}),
        at(base + 20, b.id),
    );
    let a_city = a.op_at("contacts", id, json!({"city": "Hull"}), at(base + 10, a.id));
    let a_stage = a.op_at(
        "contacts",
        id,
        json!({"stage": "lapsed"}),
        at(base + 30, a.id),
    );
    assert_eq!(env.push(&b, &[b_city]).await.0, StatusCode::OK);
    assert_eq!(env.push(&a, &[a_city, a_stage]).await.0, StatusCode::OK);
    // Same millisecond and counter: the larger device id wins.
    let (lo, hi) = if a.id < b.id {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let lo_op = lo.op_at(
        "contacts",
        id,
        json!({"job_title": "low"}),
        at(base + 40, lo.id),
    );
    let hi_op = hi.op_at(
        "contacts",
        id,
        json!({"job_title": "high"}),
        at(base + 40, hi.id),
    );
    assert_eq!(env.push(hi, &[hi_op]).await.0, StatusCode::OK);
    assert_eq!(env.push(lo, &[lo_op]).await.0, StatusCode::OK);
    // A delete at +50 wins over an edit stamped +45 that arrives later: the
    // row stays deleted (the edit's field still merges into the tombstone).
    let del = a.op_at(
        "contacts",
        id,
        json!({"deleted": true}),
        at(base + 50, a.id),
    );
    let late = b.op_at("contacts", id, json!({"city": "Bath"}), at(base + 45, b.id));
    assert_eq!(env.push(&a, &[del]).await.0, StatusCode::OK);
    assert_eq!(env.push(&b, &[late]).await.0, StatusCode::OK);
    let (rows, _) = env.pull_all(&a).await;
    let row = find(&rows, id).expect("row");
    assert_eq!(row["fields"]["city"], "Bath");
    assert_eq!(row["fields"]["stage"], "lapsed");
    assert_eq!(row["fields"]["job_title"], "high");
    assert_eq!(row["deleted"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_own_and_team_contacts_and_a_reassigned_contact_is_evicted() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "admin@acme.test", Role::Admin, None).await;
    env.user(t, "ann@acme.test", Role::Agent, None).await;
    env.user(t, "bob@acme.test", Role::Agent, Some("north"))
        .await;
    env.user(t, "cat@acme.test", Role::Agent, Some("north"))
        .await;
    let mut admin = env.login("admin@acme.test").await;
    let mut ann = env.login("ann@acme.test").await;
    let bob = env.login("bob@acme.test").await;
    let cat = env.login("cat@acme.test").await;

    // Ann creates a contact (no owner: hers as creator) with a policy.
    let c = Uuid::now_v7();
    let p = Uuid::now_v7();
    let ops = vec![
        ann.op("contacts", c, contact("Zoe", None)),
        ann.op(
            "policies",
            p,
            json!({"contact_id": c.to_string(), "policy_number": "P-1", "carrier": "Aviva",
            "line_of_business": "motor", "premium_minor": 4250, "currency": "GBP",
            "payment_frequency": "monthly", "effective_date": "2025-01-01", "status": "active"}),
        ),
    ];
    assert_eq!(env.push(&ann, &ops).await.0, StatusCode::OK);
    let (rows, _) = env.pull_all(&ann).await;
    assert!(find(&rows, c).is_some() && find(&rows, p).is_some());
    let (rows, _) = env.pull_all(&bob).await;
    assert!(rows.is_empty(), "bob sees nothing of ann's: {rows:?}");

    // Remember where bob and ann are.
    let ann_cursor = env.pull(&ann, 0).await.1["cursor"].as_i64().unwrap_or(0);
    let bob_cursor = env.pull(&bob, 0).await.1["cursor"].as_i64().unwrap_or(0);

    // The admin reassigns Zoe to bob (by email).
    let op = admin.op("contacts", c, json!({"owner": "bob@acme.test"}));
    assert_eq!(env.push(&admin, &[op]).await.0, StatusCode::OK);

    let (_, v) = env.pull(&ann, ann_cursor).await;
    let evicted: Vec<Value> = v["evictions"].as_array().cloned().unwrap_or_default();
    assert!(
        evicted.contains(&json!({"table": "contacts", "row_id": c})),
        "{v}"
    );
    assert!(
        evicted.contains(&json!({"table": "policies", "row_id": p})),
        "{v}"
    );
    assert_eq!(
        v["rows"],
        json!([]),
        "ann gets no content of the moved contact"
    );

    // Bob (and cat, his team mate) now get the contact and its policy even
    // though the policy last changed before their cursors.
    let (_, v) = env.pull(&bob, bob_cursor).await;
    let rows = v["rows"].as_array().cloned().unwrap_or_default();
    assert!(find(&rows, c).is_some() && find(&rows, p).is_some(), "{v}");
    let (rows, _) = env.pull_all(&cat).await;
    assert!(
        find(&rows, c).is_some(),
        "team mates see each other's contacts"
    );
    let (rows, _) = env.pull_all(&admin).await;
    assert_eq!(rows.len(), 2, "the admin sees the tenant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_and_then_rate_limited() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Agent, None).await;
    let body = |pw: &str| {
        Some(
            json!({"email": "a@acme.test", "password": pw, "device_id": Uuid::now_v7(), "device_name": "x"})
                .to_string()
                .into_bytes(),
        )
    };
    let (s, v) = env
        .call(Method::POST, "/v1/login", None, body("nope"))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "bad_credentials");
    let (s, _) = env
        .call(
            Method::POST,
            "/v1/login",
            None,
            Some(
                json!({"email": "ghost@acme.test", "password": "x", "device_id": Uuid::now_v7(), "device_name": "x"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "unknown emails look the same");
    for _ in 1..crm_sync_server::auth::MAX_FAILURES {
        env.call(Method::POST, "/v1/login", None, body("nope"))
            .await;
    }
    let (s, v) = env
        .call(Method::POST, "/v1/login", None, body(PASSWORD))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["code"], "rate_limited");
    assert_eq!(env.count("SELECT count(*) FROM devices").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_recorded_with_checksums_and_an_edited_one_is_refused() {
    let env = Env::start().await;
    db::migrate(&env.owner)
        .await
        .expect("a second run is a no-op");
    // Every file in migrations/ is applied and recorded.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64;
    assert!(files >= 3);
    assert_eq!(
        env.count("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .await,
        files
    );
    crm_sync_server::sql::query("UPDATE _sqlx_migrations SET checksum = '\\x00'")
        .execute(&env.owner)
        .await
        .expect("tamper");
    let err = db::migrate(&env.owner)
        .await
        .expect_err("checksum mismatch");
    assert!(
        err.to_string().contains("modified")
            || err.to_string().contains("checksum")
            || err.to_string().contains("1"),
        "{err}"
    );
    // The owner cannot serve: RLS would not bind a table owner without FORCE,
    // and the server refuses such roles on principle.
    assert!(db::check_serving_role(&env.owner).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_database_converge() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    // A second, independent server: own pool, own router.
    let pool2 = db::connect(&env.pg.url("crm_app", "crm"), 8)
        .await
        .expect("pool");
    let other = app(AppState::new(pool2, Limits::default()));
    let mut a = env.login("a@acme.test").await;
    let mut b = env.login("a@acme.test").await;
    let id = Uuid::now_v7();
    let create = a.op("contacts", id, contact("Ann", None));
    env.push(&a, &[create]).await;
    let mut tasks = Vec::new();
    let mut expected = (Hlc::ZERO, String::new());
    for i in 0..20 {
        let (dev, router) = if i % 2 == 0 {
            (&mut a, env.app.clone())
        } else {
            (&mut b, other.clone())
        };
        let op = dev.op("contacts", id, json!({"city": format!("c{i}")}));
        if op.hlc > expected.0 {
            expected = (op.hlc, format!("c{i}"));
        }
        let token = dev.token.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post("/v1/push")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::from(json!({"ops": [op]}).to_string()))
                .expect("req");
            router.oneshot(req).await.expect("resp").status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join"), StatusCode::OK);
    }
    let (rows, _) = env.pull_all(&a).await;
    let row = find(&rows, id).expect("row");
    // The winner is the op with the greatest clock, whichever server took it.
    assert_eq!(row["fields"]["city"], json!(expected.1));
    let city_clock = row["clocks"].get("city").unwrap_or(&row["clocks"]["_"]);
    assert_eq!(city_clock, &json!(expected.0.to_string()));
    assert_eq!(
        env.count("SELECT count(*) FROM applied_ops").await,
        0,
        "the owner sees nothing without a tenant scope"
    );
    assert_eq!(env.rows_of(t).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_creating_the_same_row_at_once_both_keep_their_fields() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    let mut a = env.login("a@acme.test").await;
    let mut b = env.login("a@acme.test").await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let id = Uuid::now_v7();
        ids.push(id);
        // Both create the row (a new row must carry every required field),
        // each with a field the other does not write; a's write is the
        // later one. Whichever push lands second merges into the first.
        let hb = b.hlc();
        let ha = Hlc {
            millis: hb.millis + 1,
            ..a.hlc()
        };
        let mut fa = contact("From A", None);
        fa["city"] = json!("Leeds");
        let mut fb = contact("From B", None);
        fb["job_title"] = json!("CEO");
        let oa = a.op_at("contacts", id, fa, ha);
        let ob = b.op_at("contacts", id, fb, hb);
        let (va, vb) = ([oa], [ob]);
        let (ra, rb) = tokio::join!(env.push(&a, &va), env.push(&b, &vb));
        assert_eq!(
            (ra.0, rb.0),
            (StatusCode::OK, StatusCode::OK),
            "{} {}",
            ra.1,
            rb.1
        );
    }
    let (rows, _) = env.pull_all(&a).await;
    for id in ids {
        let row = find(&rows, id).expect("row");
        assert_eq!(row["fields"]["display_name"], "From A", "{row}");
        assert_eq!(row["fields"]["city"], "Leeds", "{row}");
        assert_eq!(row["fields"]["job_title"], "CEO", "{row}");
    }
}

/// A device whose op loses a field to a newer write it has already pulled
/// past gets the row again: the row takes a new change number, so the
/// device's next pull brings the winner (it would otherwise show its own
/// value for good). An op that loses nothing leaves the row alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_op_that_loses_a_field_sends_its_row_back_to_the_device() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    let mut a = env.login("a@acme.test").await;
    let mut b = env.login("a@acme.test").await;
    let id = Uuid::now_v7();
    let base = common::now_ms() - 10_000;
    let at = |ms: u64, node: Uuid| Hlc {
        millis: ms,
        counter: 0,
        node,
    };
    let create = a.op_at("contacts", id, contact("Ann", None), at(base, a.id));
    let leeds = a.op_at(
        "contacts",
        id,
        json!({"city": "Leeds"}),
        at(base + 50, a.id),
    );
    assert_eq!(env.push(&a, &[create, leeds]).await.0, StatusCode::OK);
    // B pulls everything, Leeds included: its cursor is past the row.
    let (s, v) = env.pull(&b, 0).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let cursor = v["cursor"].as_i64().expect("cursor");
    // B's edit is stamped older than Leeds: it loses, and is acknowledged.
    let hull = b.op_at("contacts", id, json!({"city": "Hull"}), at(base + 10, b.id));
    let (s, v) = env.push(&b, &[hull]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["applied"].as_array().is_some_and(|a| a.len() == 1), "{v}");
    let (_, v) = env.pull(&b, cursor).await;
    let rows = v["rows"].as_array().cloned().unwrap_or_default();
    let row = find(&rows, id).expect("the row comes back to B");
    assert_eq!(row["fields"]["city"], "Leeds");
    let cursor = v["cursor"].as_i64().expect("cursor");
    // An older op with the value the row has loses nothing: no new number.
    let same = b.op_at(
        "contacts",
        id,
        json!({"city": "Leeds"}),
        at(base + 20, b.id),
    );
    assert_eq!(env.push(&b, &[same]).await.0, StatusCode::OK);
    let (_, v) = env.pull(&b, cursor).await;
    assert!(v["rows"].as_array().is_some_and(|r| r.is_empty()), "{v}");
}
