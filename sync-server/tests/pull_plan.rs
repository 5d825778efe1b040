//! A pull page walks the change-number index, whatever PostgreSQL's
//! statistics say: right after a bulk push (a table grown faster than
//! autovacuum analyses it) the planner would otherwise fetch every change
//! after the cursor and sort them all, so each page cost in step with what
//! is left to pull.

mod common;

use common::Env;
use crm_sync_server::auth::Role;
use crm_sync_server::sql;
use uuid::Uuid;

/// The plan of `query` in a transaction set up as a pull's.
async fn plan(env: &Env, tenant: Uuid, user: Uuid, query: &str, agent: bool) -> String {
    let mut tx = crm_sync_server::db::tenant_tx(&env.pool, tenant)
        .await
        .expect("tx");
    crm_sync_server::pull::walk_in_index_order(&mut tx)
        .await
        .expect("plan settings");
    let explain = format!("EXPLAIN {query}");
    let mut q = sql::query_as::<_, (String,)>(&explain)
        .bind(tenant)
        .bind(0i64)
        .bind(5001i64);
    if agent {
        q = q.bind(user);
    }
    let lines = q.fetch_all(&mut *tx).await.expect("explain");
    lines
        .into_iter()
        .map(|(l,)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_walks_the_change_index_instead_of_sorting_everything_after_the_cursor() {
    let env = Env::start().await;
    let t = env.tenant("bulk").await;
    let admin = env.user(t, "admin@bulk.test", Role::Admin, None).await;
    let agent = env
        .user(t, "agent@bulk.test", Role::Agent, Some("north"))
        .await;
    // 60,000 fresh contacts, as a bulk push leaves them: no ANALYZE since.
    let mut tx = crm_sync_server::db::tenant_tx(&env.owner, t)
        .await
        .expect("tx");
    sql::query(
        "INSERT INTO rows (tenant_id, tbl, id, fields, clocks, seq, scope_contact, owner_user, creator) \
         SELECT $1, 'contacts', g.id, jsonb_build_object('display_name', 'Contact ' || g.n), \
                '{\"_\": \"x\"}', nextval('change_seq'), g.id, $2, $2 \
         FROM (SELECT n, gen_random_uuid() AS id FROM generate_series(1, 60000) AS n) AS g",
    )
    .bind(t)
    .bind(agent)
    .execute(&mut *tx)
    .await
    .expect("bulk rows");
    tx.commit().await.expect("commit");

    for (name, query, is_agent, user) in [
        ("admin", crm_sync_server::pull::ADMIN_PAGE, false, admin),
        ("agent", crm_sync_server::pull::AGENT_PAGE, true, agent),
    ] {
        let p = plan(&env, t, user, query, is_agent).await;
        assert!(
            !p.contains("Sort"),
            "the {name} page sorts instead of walking the index:\n{p}"
        );
        assert!(
            p.contains("rows_seq"),
            "the {name} page does not read the change-number index:\n{p}"
        );
    }
}
