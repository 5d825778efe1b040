//! Agents write only inside their view: own and team contacts and what
//! hangs off them (the rule pull uses). Anything else is refused with 403
//! naming the op, and nothing of the batch is written.

mod common;

use axum::http::StatusCode;
use common::{contact, Device, Env};
use crm_sync_server::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

fn policy(contact: Uuid, number: &str) -> Value {
    json!({"contact_id": contact.to_string(), "policy_number": number, "carrier": "Aviva",
           "line_of_business": "motor", "premium_minor": 4250, "currency": "GBP",
           "payment_frequency": "monthly", "effective_date": "2025-01-01", "status": "active"})
}

fn payment(policy: Uuid) -> Value {
    json!({"policy_id": policy.to_string(), "due_date": "2025-01-01",
           "amount_due_minor": 4250, "amount_paid_minor": 0})
}

fn task(contact: Option<Uuid>, title: &str) -> Value {
    json!({"title": title, "status": "open", "contact_id": contact.map(|c| c.to_string())})
}

fn activity(contact: Uuid) -> Value {
    json!({"contact_id": contact.to_string(), "kind": "note", "body": "hello",
           "occurred_at": "2025-01-01T10:00:00.000Z", "actor": "{}"})
}

fn find(rows: &[Value], id: Uuid) -> Option<&Value> {
    rows.iter().find(|r| r["row_id"] == json!(id))
}

struct World {
    env: Env,
    tenant: Uuid,
    admin: Device,
    ann: Device,
    bob: Device,
    cat: Device,
    /// Cat's contact (team south) and what hangs off it.
    c_cat: Uuid,
    p_cat: Uuid,
    pay_cat: Uuid,
    t_cat: Uuid,
    a_cat: Uuid,
    /// Cat's task about no contact.
    free_cat: Uuid,
    /// Ann's contact (team north, with bob).
    c_ann: Uuid,
    t_ann: Uuid,
}

async fn world() -> World {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "admin@acme.test", Role::Admin, None).await;
    env.user(t, "ann@acme.test", Role::Agent, Some("north"))
        .await;
    env.user(t, "bob@acme.test", Role::Agent, Some("north"))
        .await;
    env.user(t, "cat@acme.test", Role::Agent, Some("south"))
        .await;
    let admin = env.login("admin@acme.test").await;
    let mut ann = env.login("ann@acme.test").await;
    let bob = env.login("bob@acme.test").await;
    let mut cat = env.login("cat@acme.test").await;
    let (c_cat, p_cat, pay_cat, t_cat, a_cat, free_cat) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let ops = vec![
        cat.op("contacts", c_cat, contact("Cat's client", None)),
        cat.op("policies", p_cat, policy(c_cat, "S-1")),
        cat.op("payments", pay_cat, payment(p_cat)),
        cat.op("tasks", t_cat, task(Some(c_cat), "Call")),
        cat.op("activities", a_cat, activity(c_cat)),
        cat.op("tasks", free_cat, task(None, "Own errand")),
    ];
    let (s, v) = env.push(&cat, &ops).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (c_ann, t_ann) = (Uuid::now_v7(), Uuid::now_v7());
    let ops = vec![
        ann.op("contacts", c_ann, contact("Ann's client", None)),
        ann.op("tasks", t_ann, task(Some(c_ann), "Visit")),
    ];
    let (s, v) = env.push(&ann, &ops).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    World {
        env,
        tenant: t,
        admin,
        ann,
        bob,
        cat,
        c_cat,
        p_cat,
        pay_cat,
        t_cat,
        a_cat,
        free_cat,
        c_ann,
        t_ann,
    }
}

impl World {
    async fn applied_ops(&self) -> i64 {
        let mut tx = crm_sync_server::db::tenant_tx(&self.env.owner, self.tenant)
            .await
            .expect("tx");
        let (n,): (i64,) = crm_sync_server::sql::query_as("SELECT count(*) FROM applied_ops")
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        n
    }

    /// Everything the admin sees: the tenant as stored.
    async fn tenant_rows(&self) -> Vec<Value> {
        let mut rows = self.env.pull_all(&self.admin).await.0;
        rows.sort_by_key(|r| r["row_id"].as_str().unwrap_or_default().to_string());
        rows
    }
}

/// Push as `dev` and expect 403 `not_visible` naming `culprit`, with nothing
/// of the batch written.
async fn refused(w: &World, dev: &Device, batch: &[crm_protocol::SyncOp], culprit: Uuid) {
    let rows_before = w.tenant_rows().await;
    let applied_before = w.applied_ops().await;
    let (s, v) = w.env.push(dev, batch).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_visible")),
        "{v}"
    );
    assert_eq!(v["op_id"], json!(culprit), "the refusal names the op: {v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains(&culprit.to_string()) && m.contains("view")),
        "{v}"
    );
    assert_eq!(w.applied_ops().await, applied_before, "no op recorded");
    assert_eq!(w.tenant_rows().await, rows_before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_write_rows_outside_their_view() {
    let mut w = world().await;
    let mut ann = std::mem::replace(
        &mut w.ann,
        Device {
            tenant: Uuid::nil(),
            id: Uuid::nil(),
            token: String::new(),
            counter: 0,
        },
    );

    // Rows of another team's contact, and a contact-less row of another
    // agent: edits, deletes and a grab of the contact are all refused.
    let cases = [
        ("contacts", w.c_cat, json!({"city": "Hull"})),
        ("contacts", w.c_cat, json!({"deleted": true})),
        ("contacts", w.c_cat, json!({"owner": "ann@acme.test"})),
        ("policies", w.p_cat, json!({"premium_minor": 1})),
        ("payments", w.pay_cat, json!({"amount_paid_minor": 4250})),
        ("tasks", w.t_cat, json!({"status": "done"})),
        ("activities", w.a_cat, json!({"body": "edited"})),
        ("tasks", w.free_cat, json!({"status": "cancelled"})),
    ];
    for (table, row, fields) in cases {
        let op = ann.op(table, row, fields);
        refused(&w, &ann, std::slice::from_ref(&op), op.op_id).await;
    }

    // New rows hanging off what she cannot see, or off nothing that exists
    // (the same answer, so ids cannot be probed), and moving her own task
    // to cat's contact.
    let ghost = Uuid::now_v7();
    let cases = [
        ("policies", policy(w.c_cat, "X-1")),
        ("payments", payment(w.p_cat)),
        ("tasks", task(Some(w.c_cat), "Snoop")),
        ("activities", activity(w.c_cat)),
        ("policies", policy(ghost, "X-2")),
        ("payments", payment(ghost)),
    ];
    for (table, fields) in cases {
        let op = ann.op(table, Uuid::now_v7(), fields);
        refused(&w, &ann, std::slice::from_ref(&op), op.op_id).await;
    }
    let op = ann.op("tasks", w.t_ann, json!({"contact_id": w.c_cat.to_string()}));
    refused(&w, &ann, std::slice::from_ref(&op), op.op_id).await;

    // One bad op refuses the whole batch, good ops before it included.
    let fresh = Uuid::now_v7();
    let good = ann.op("contacts", fresh, contact("Fresh", None));
    let bad = ann.op("contacts", w.c_cat, json!({"city": "Hull"}));
    refused(&w, &ann, &[good, bad.clone()], bad.op_id).await;
    let rows = w.tenant_rows().await;
    assert!(find(&rows, fresh).is_none());
    assert_eq!(
        find(&rows, w.c_cat).map(|r| r["fields"]["city"].clone()),
        Some(Value::Null)
    );

    // The admin may write anywhere.
    let op = w.admin.op("contacts", w.c_cat, json!({"city": "Hull"}));
    assert_eq!(w.env.push(&w.admin, &[op]).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_writes_own_and_team_rows_and_can_give_a_contact_away() {
    let mut w = world().await;

    // A team mate edits ann's contact and its task.
    let ops = vec![
        w.bob.op("contacts", w.c_ann, json!({"city": "York"})),
        w.bob.op("tasks", w.t_ann, json!({"status": "done"})),
    ];
    let (s, v) = w.env.push(&w.bob, &ops).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Bob takes ann's task off the contact: it stays with ann, who made it
    // (no eviction for her), and leaves bob's view.
    let ann_at = w.env.pull(&w.ann, 0).await.1["cursor"]
        .as_i64()
        .unwrap_or(0);
    let bob_at = w.env.pull(&w.bob, 0).await.1["cursor"]
        .as_i64()
        .unwrap_or(0);
    let op = w.bob.op("tasks", w.t_ann, json!({"contact_id": null}));
    let (s, v) = w.env.push(&w.bob, &[op]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = w.env.pull(&w.ann, ann_at).await;
    assert!(
        find(
            v["rows"].as_array().map(Vec::as_slice).unwrap_or_default(),
            w.t_ann
        )
        .is_some(),
        "{v}"
    );
    assert_eq!(v["evictions"], json!([]), "{v}");
    let (_, v) = w.env.pull(&w.bob, bob_at).await;
    assert_eq!(
        v["evictions"],
        json!([{"table": "tasks", "row_id": w.t_ann}]),
        "{v}"
    );

    // A contact created earlier in the same batch is hers for the ops after
    // it: a policy, its payment and a task hang off it.
    let (d, p) = (Uuid::now_v7(), Uuid::now_v7());
    let ops = vec![
        w.ann.op("contacts", d, contact("Dee", None)),
        w.ann.op("policies", p, policy(d, "N-1")),
        w.ann.op("payments", Uuid::now_v7(), payment(p)),
        w.ann.op("tasks", Uuid::now_v7(), task(Some(d), "Welcome")),
    ];
    let (s, v) = w.env.push(&w.ann, &ops).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Reassigning a contact away and then editing it in the same batch:
    // the edit comes after the contact left her view, so it is refused (and
    // with it the reassignment).
    let give = w.ann.op("contacts", d, json!({"owner": "cat@acme.test"}));
    let edit = w.ann.op("contacts", d, json!({"city": "Leeds"}));
    refused(&w, &w.ann, &[give, edit.clone()], edit.op_id).await;

    // Reassigning alone is allowed: the contact and what hangs off it leave
    // her view (evictions), cat gets them, and her next edit is refused.
    let (_, first) = w.env.pull(&w.ann, 0).await;
    let cursor = first["cursor"].as_i64().unwrap_or(0);
    let give = w.ann.op("contacts", d, json!({"owner": "cat@acme.test"}));
    let (s, v) = w.env.push(&w.ann, &[give]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = w.env.pull(&w.ann, cursor).await;
    let evicted = v["evictions"].as_array().cloned().unwrap_or_default();
    assert!(
        evicted.contains(&json!({"table": "contacts", "row_id": d}))
            && evicted.contains(&json!({"table": "policies", "row_id": p})),
        "{v}"
    );
    let (rows, _) = w.env.pull_all(&w.cat).await;
    assert!(find(&rows, d).is_some() && find(&rows, p).is_some());
    let edit = w.ann.op("contacts", d, json!({"city": "Leeds"}));
    refused(&w, &w.ann, std::slice::from_ref(&edit), edit.op_id).await;

    // A new contact may be created for someone outside her view (an import
    // naming owners): it is then out of her view at once, and her devices
    // are told to drop it.
    let (_, v) = w.env.pull(&w.ann, cursor).await;
    let cursor = v["cursor"].as_i64().unwrap_or(0);
    let e = Uuid::now_v7();
    let mut fields = contact("Handed over", Some("cat@acme.test"));
    fields["city"] = json!("Bath");
    let op = w.ann.op("contacts", e, fields);
    let (s, v) = w.env.push(&w.ann, &[op]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = w.env.pull(&w.ann, cursor).await;
    assert!(
        v["evictions"]
            .as_array()
            .is_some_and(|ev| ev.contains(&json!({"table": "contacts", "row_id": e}))),
        "{v}"
    );
    let (rows, _) = w.env.pull_all(&w.ann).await;
    assert!(find(&rows, e).is_none(), "not in her view");
    let (rows, _) = w.env.pull_all(&w.cat).await;
    assert_eq!(
        find(&rows, e).map(|r| r["fields"]["city"].clone()),
        Some(json!("Bath"))
    );
    // A contact created for a team mate stays in view: no eviction.
    let f = Uuid::now_v7();
    let op = w
        .ann
        .op("contacts", f, contact("For bob", Some("bob@acme.test")));
    let (s, v) = w.env.push(&w.ann, &[op]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (rows, ev) = w.env.pull_all(&w.ann).await;
    assert!(find(&rows, f).is_some());
    assert!(!ev.contains(&json!({"table": "contacts", "row_id": f})));

    // Cat, for her part, still cannot touch ann's contact.
    let op = w.cat.op("contacts", w.c_ann, json!({"city": "Hull"}));
    refused(&w, &w.cat, std::slice::from_ref(&op), op.op_id).await;
}
