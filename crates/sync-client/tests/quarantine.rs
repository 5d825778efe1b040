//! An op the server refuses for its value is set aside and the rest goes
//! on: a text with a NUL (U+0000), which an older build's outbox can hold
//! (the core refuses it now) and which the server once answered 500, so
//! the device retried it forever and pushed nothing behind it. Real parts:
//! a store, the real server over a throwaway PostgreSQL, TCP.

use crm_core::{ContactDraft, Store};
use crm_sync_client::{Connection, Options};
use crm_sync_server::auth::Role;
use crm_sync_server::db;
use crm_sync_testkit::{Throwaway, PASSWORD};
use uuid::Uuid;

#[test]
fn a_pushed_text_with_a_nul_is_refused_422_and_set_aside_while_the_rest_is_pushed() {
    let email = "a@acme.test";
    let server = Throwaway::start().expect("server");
    let tenant = server
        .tenant("Acme", &[(email, Role::Admin, None)])
        .expect("tenant");
    let url = server.url();
    let conn = Connection::new(&url, Options::default()).expect("client");

    // A plain (unencrypted) database, so the test can write into it as an
    // older build could have.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("profile.db");
    let mut store = Store::open_path(&path, None, true).expect("store");
    let resp = conn
        .login(email, PASSWORD, store.identity().device_id, "test")
        .expect("login");
    store
        .bind_to_server(&url, email, resp.tenant_id, resp.user_id, &resp.role)
        .expect("bind");
    let mut made = Vec::new();
    for name in ["Ann", "Bob"] {
        let mut draft = ContactDraft::default();
        draft.set("first_name", name).expect("draft");
        made.push(store.create_contact(&draft).expect("create").id);
    }
    store
        .update_contact(made[0], &[("city".into(), "Leeds".into())])
        .expect("edit");
    let mut draft = ContactDraft::default();
    draft.set("first_name", "Cy").expect("draft");
    made.push(store.create_contact(&draft).expect("create").id);
    // The edit's op now carries a NUL, as the core no longer lets through.
    {
        let raw = rusqlite::Connection::open(&path).expect("raw");
        let changed = raw
            .execute(
                "UPDATE sync_outbox SET fields = replace(fields, 'Leeds', ?1) \
                 WHERE fields LIKE '%Leeds%'",
                ["Le\\u0000eds"],
            )
            .expect("inject");
        assert_eq!(changed, 1);
    }
    let with_nul = store
        .outbox_batch(100)
        .expect("outbox")
        .into_iter()
        .find(|op| op.fields.get("city").and_then(|v| v.as_str()) == Some("Le\u{0}eds"))
        .expect("the op with a NUL");

    let report = crm_sync_client::sync(&mut store, &conn, &resp.token).expect("sync");
    assert_eq!(report.quarantined, 1, "{report:?}");
    assert_eq!(report.pushed, 3, "{report:?}");
    let status = store.sync_status().expect("status");
    assert_eq!((status.pending, status.quarantined), (0, 1));
    let reason: String = rusqlite::Connection::open(&path)
        .expect("raw")
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [format!("sync.quarantine.{}", with_nul.op_id)],
            |r| r.get(0),
        )
        .expect("the set-aside op, with its reason");
    assert!(
        reason.contains("bad_value") && reason.contains("contacts.city") && reason.contains("NUL"),
        "{reason}"
    );

    // The server has the three contacts (Ann's creation pushed as her row
    // holds it, with the city), and nothing of the refused edit.
    let rows: Vec<(Uuid, serde_json::Value)> = server.rt.block_on(async {
        let mut tx = db::tenant_tx(&server.owner, tenant).await.expect("tx");
        crm_sync_server::sql::query_as("SELECT id, fields FROM rows WHERE tbl = 'contacts'")
            .fetch_all(&mut *tx)
            .await
            .expect("rows")
    });
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|(_, f)| f["city"].is_null() || f["city"] == "Leeds"),
        "{rows:?}"
    );

    // A second run has nothing to push and does not retry the refused op.
    let report = crm_sync_client::sync(&mut store, &conn, &resp.token).expect("sync again");
    assert_eq!((report.pushed, report.quarantined), (0, 0), "{report:?}");
}
