//! Team and role changes: the devices of users who lose sight of contacts
//! are told to drop them (and what hangs off them); users who gain sight
//! pull them, although their cursors are past those rows' change numbers.

mod common;

use axum::http::StatusCode;
use common::{contact, Device, Env};
use crm_sync_server::admin::{self, ViewChange};
use crm_sync_server::auth::Role;
use crm_sync_server::error::ServerError;
use serde_json::{json, Value};
use uuid::Uuid;

fn policy(contact: Uuid) -> Value {
    json!({"contact_id": contact.to_string(), "policy_number": "P-1", "carrier": "Aviva",
           "line_of_business": "motor", "premium_minor": 4250, "currency": "GBP",
           "payment_frequency": "monthly", "effective_date": "2025-01-01", "status": "active"})
}

fn task(contact: Uuid) -> Value {
    json!({"title": "Call", "status": "open", "contact_id": contact.to_string()})
}

/// Where a device stands: its cursor after pulling everything.
async fn cursor(env: &Env, dev: &Device) -> i64 {
    let mut c = 0;
    loop {
        let (s, v) = env.pull(dev, c).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        c = v["cursor"].as_i64().unwrap_or(0);
        if !v["more"].as_bool().unwrap_or(false) {
            return c;
        }
    }
}

/// The rows and evictions a device gets from `cursor` on: (rows, evictions)
/// as sets of (table, id).
async fn since(env: &Env, dev: &Device, cursor: i64) -> (Vec<(String, Uuid)>, Vec<(String, Uuid)>) {
    let (s, v) = env.pull(dev, cursor).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pick = |key: &str, id: &str| -> Vec<(String, Uuid)> {
        let mut out: Vec<(String, Uuid)> = v[key]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r["table"].as_str().unwrap_or_default().to_string(),
                    r[id]
                        .as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .unwrap_or_default(),
                )
            })
            .collect();
        out.sort();
        out
    };
    (pick("rows", "row_id"), pick("evictions", "row_id"))
}

/// `rows` holds every row of `must` and nothing outside `must` and `may`.
fn within(rows: &[(String, Uuid)], must: &[(&str, Uuid)], may: &[(&str, Uuid)]) -> bool {
    let named = |list: &[(&str, Uuid)], r: &(String, Uuid)| {
        list.iter().any(|(t, i)| r.0 == *t && r.1 == *i)
    };
    must.iter()
        .all(|(t, i)| rows.iter().any(|r| r.0 == *t && r.1 == *i))
        && rows.iter().all(|r| named(must, r) || named(may, r))
}

fn set(items: &[(&str, Uuid)]) -> Vec<(String, Uuid)> {
    let mut v: Vec<(String, Uuid)> = items.iter().map(|(t, i)| (t.to_string(), *i)).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_an_agent_between_teams_evicts_and_sends_exactly_what_changed_view() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "ann@acme.test", Role::Agent, Some("north"))
        .await;
    env.user(t, "bob@acme.test", Role::Agent, Some("south"))
        .await;
    env.user(t, "cat@acme.test", Role::Agent, Some("south"))
        .await;
    let mut ann = env.login("ann@acme.test").await;
    let mut bob = env.login("bob@acme.test").await;
    let mut cat = env.login("cat@acme.test").await;

    // Ann (north) has A with a policy; bob (south) has B with a task; cat
    // (south) has C.
    let (a, pa, b, tb, c) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let ops = vec![
        ann.op("contacts", a, contact("A", None)),
        ann.op("policies", pa, policy(a)),
    ];
    assert_eq!(env.push(&ann, &ops).await.0, StatusCode::OK);
    let ops = vec![
        bob.op("contacts", b, contact("B", None)),
        bob.op("tasks", tb, task(b)),
    ];
    assert_eq!(env.push(&bob, &ops).await.0, StatusCode::OK);
    let ops = vec![cat.op("contacts", c, contact("C", None))];
    assert_eq!(env.push(&cat, &ops).await.0, StatusCode::OK);
    let (ann_c, bob_c, cat_c) = (
        cursor(&env, &ann).await,
        cursor(&env, &bob).await,
        cursor(&env, &cat).await,
    );

    // Bob joins north.
    let change = admin::set_team(&env.owner, "Bob@acme.test", Some("north"))
        .await
        .expect("set team");
    assert_eq!(
        change,
        ViewChange {
            evictions: 3,  // bob loses C; cat loses B and its task
            renumbered: 4  // A and its policy (for bob), B and its task (for ann)
        }
    );
    // Ann now gets B and its task, though they changed before her cursor
    // (renumbered rows she already had may come again: merging them is a
    // no-op).
    let (rows, evicted) = since(&env, &ann, ann_c).await;
    assert!(
        within(
            &rows,
            &[("contacts", b), ("tasks", tb)],
            &[("contacts", a), ("policies", pa)]
        ),
        "{rows:?}"
    );
    assert_eq!(evicted, vec![]);
    // Bob gets A and its policy, and drops C.
    let (rows, evicted) = since(&env, &bob, bob_c).await;
    assert!(
        within(
            &rows,
            &[("contacts", a), ("policies", pa)],
            &[("contacts", b), ("tasks", tb)]
        ),
        "{rows:?}"
    );
    assert_eq!(evicted, set(&[("contacts", c)]));
    // Cat drops B and its task.
    let (_, evicted) = since(&env, &cat, cat_c).await;
    assert_eq!(evicted, set(&[("contacts", b), ("tasks", tb)]));
    // Bob may now write to A; cat may no longer write to B.
    let op = bob.op("contacts", a, json!({"city": "York"}));
    assert_eq!(env.push(&bob, &[op]).await.0, StatusCode::OK);
    let op = cat.op("contacts", b, json!({"city": "Hull"}));
    assert_eq!(env.push(&cat, &[op]).await.0, StatusCode::FORBIDDEN);
    // Setting the same team again changes nothing.
    assert_eq!(
        admin::set_team(&env.owner, "bob@acme.test", Some("north"))
            .await
            .expect("same team"),
        ViewChange::default()
    );

    // Out of any team, through the operator's command: ann and bob lose
    // each other's contacts.
    let (ann_c, bob_c) = (cursor(&env, &ann).await, cursor(&env, &bob).await);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["user", "set-team", "bob@acme.test", "--no-team"])
        .env("DATABASE_URL", env.pg.url("crm_owner", "crm"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run sync-server");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("4 evictions"), "{said}");
    let (rows, evicted) = since(&env, &ann, ann_c).await;
    assert_eq!(evicted, set(&[("contacts", b), ("tasks", tb)]));
    assert!(rows.is_empty(), "{rows:?}");
    let (_, evicted) = since(&env, &bob, bob_c).await;
    assert_eq!(evicted, set(&[("contacts", a), ("policies", pa)]));
    let (rows, _) = env.pull_all(&bob).await;
    let ids: Vec<&Value> = rows.iter().map(|r| &r["row_id"]).collect();
    assert_eq!(ids.len(), 2, "bob sees only his own: {ids:?}");

    // Unknown emails and bad team names are refused.
    let err = admin::set_team(&env.owner, "nobody@acme.test", None)
        .await
        .expect_err("no such user");
    assert!(
        matches!(
            err,
            ServerError::Client {
                code: "no_user",
                ..
            }
        ),
        "{err}"
    );
    let err = admin::set_team(&env.owner, "bob@acme.test", Some("  "))
        .await
        .expect_err("empty team");
    assert!(
        matches!(
            err,
            ServerError::Client {
                code: "bad_team",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_sends_or_evicts_what_the_new_role_sees() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "ann@acme.test", Role::Agent, Some("north"))
        .await;
    env.user(t, "bob@acme.test", Role::Agent, Some("south"))
        .await;
    let mut ann = env.login("ann@acme.test").await;
    let mut bob = env.login("bob@acme.test").await;
    let (a, b, pb) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let op = ann.op("contacts", a, contact("A", None));
    assert_eq!(env.push(&ann, &[op]).await.0, StatusCode::OK);
    let ops = vec![
        bob.op("contacts", b, contact("B", None)),
        bob.op("policies", pb, policy(b)),
    ];
    assert_eq!(env.push(&bob, &ops).await.0, StatusCode::OK);
    let ann_c = cursor(&env, &ann).await;

    // Ann becomes an admin: she pulls bob's contact and policy.
    let change = admin::set_role(&env.owner, "ann@acme.test", Role::Admin)
        .await
        .expect("set role");
    assert_eq!(change.renumbered, 2);
    assert_eq!(
        since(&env, &ann, ann_c).await,
        (set(&[("contacts", b), ("policies", pb)]), vec![])
    );
    let op = ann.op("contacts", b, json!({"city": "Leeds"}));
    assert_eq!(env.push(&ann, &[op]).await.0, StatusCode::OK);

    // Back to agent: she drops them again, and keeps her own.
    let ann_c = cursor(&env, &ann).await;
    let change = admin::set_role(&env.owner, "ann@acme.test", Role::Agent)
        .await
        .expect("set role");
    assert_eq!(change.evictions, 2);
    assert_eq!(
        since(&env, &ann, ann_c).await,
        (vec![], set(&[("contacts", b), ("policies", pb)]))
    );
    let (rows, _) = env.pull_all(&ann).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["row_id"], json!(a));
}
