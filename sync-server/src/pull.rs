//! `GET /v1/pull`: changes since the device's cursor, filtered by what its
//! user may see, with evictions.
//!
//! One REPEATABLE READ transaction reads the page, the user's evictions and
//! the tenant's newest change number from the same snapshot. Writers of a
//! tenant commit in change-number order (see `push`), so everything at or
//! below a cursor handed out here is already visible: a later pull never
//! finds an older change it skipped.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_protocol::wire::{Eviction, PullQuery, PullResponse, Writer};
use uuid::Uuid;

use crate::sql;

use crate::auth::{self, Bearer, Role};
use crate::error::{ApiResult, ServerError};
use crate::AppState;

/// Rows per page unless the client asks for fewer.
pub const DEFAULT_PAGE: u32 = 1000;
/// The largest page served.
pub const MAX_PAGE: u32 = 5000;

/// table, id, fields (JSON text as stored), clocks (JSON text as stored), deleted, seq.
type RowTuple = (String, Uuid, String, String, bool, i64);

/// An admin's page: the tenant's changes after the cursor ($2), at most
/// $3 of them, in change-number order.
pub const ADMIN_PAGE: &str = "SELECT tbl, id, fields::text, clocks::text, deleted, seq FROM rows \
     WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// An agent's page: as [`ADMIN_PAGE`], only rows the agent ($4) sees: their
/// own rows that hang off no contact, and whatever hangs off a contact
/// owned by them or their team.
pub const AGENT_PAGE: &str = "WITH me AS (SELECT id, team FROM users WHERE tenant_id = $1 AND id = $4), \
          visible AS (SELECT u.id FROM users u, me WHERE u.tenant_id = $1 \
                      AND (u.id = me.id OR (me.team IS NOT NULL AND u.team = me.team))) \
     SELECT r.tbl, r.id, r.fields::text, r.clocks::text, r.deleted, r.seq FROM rows r \
     LEFT JOIN rows c ON c.tenant_id = r.tenant_id AND c.tbl = 'contacts' AND c.id = r.scope_contact \
     WHERE r.tenant_id = $1 AND r.seq > $2 \
       AND ((r.scope_contact IS NULL AND r.creator = $4) \
            OR c.owner_user IN (SELECT id FROM visible)) \
     ORDER BY r.seq LIMIT $3";

/// Make this transaction's page query walk the `(tenant_id, seq)` index
/// from the cursor and stop at the page's end.
///
/// Left to its statistics, the planner may instead fetch every change after
/// the cursor and sort them all: it does when the table grew faster than
/// autovacuum analyses it, as after a bulk push (measured: 470 ms for the
/// first 5,000-row page of 100,000 fresh rows instead of ~40 ms, spilling
/// the sort to disk, and every page costing in step with what is left).
/// With sorting ruled out only the index order remains, whatever the
/// statistics say; for an agent the walk stops as soon as the page is full
/// of rows they see, which a sort of everything never does.
pub async fn walk_in_index_order(tx: &mut sql::Transaction<'_, sql::Postgres>) -> ApiResult<()> {
    sql::query("SET LOCAL enable_sort = off")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Pull a page of changes.
#[utoipa::path(get, path = "/v1/pull", params(PullQuery), security(("device_token" = [])),
    responses((status = 200, body = PullResponse), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 401, body = crm_protocol::wire::ApiError)))]
pub async fn pull(
    State(st): State<AppState>,
    bearer: Bearer,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| {
        ServerError::bad_request(
            "bad_query",
            format!(
                "pull expects ?cursor=<integer>&limit=<integer>: {}",
                e.body_text()
            ),
        )
    })?;
    if q.cursor < 0 {
        return Err(ServerError::client(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            "cursor must be 0 or a cursor returned by an earlier pull",
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as i64;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, true).await?;
    walk_in_index_order(&mut tx).await?;
    let t = dev.tenant_id;
    let rows: Vec<RowTuple> = match dev.role {
        Role::Admin => {
            sql::query_as(ADMIN_PAGE)
                .bind(t)
                .bind(q.cursor)
                .bind(limit + 1)
                .fetch_all(&mut *tx)
                .await?
        }
        Role::Agent => {
            sql::query_as(AGENT_PAGE)
                .bind(t)
                .bind(q.cursor)
                .bind(limit + 1)
                .bind(dev.user_id)
                .fetch_all(&mut *tx)
                .await?
        }
    };
    let evictions: Vec<(String, Uuid, i64)> = sql::query_as(
        "SELECT tbl, row_id, seq FROM evictions WHERE tenant_id = $1 AND user_id = $2 AND seq > $3 \
         ORDER BY seq LIMIT $4",
    )
    .bind(t)
    .bind(dev.user_id)
    .bind(q.cursor)
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;

    // Merge both streams by change number and cut the page.
    enum Item {
        Row(RowTuple),
        Evict(String, Uuid),
    }
    let mut items: Vec<(i64, Item)> = rows.into_iter().map(|r| (r.5, Item::Row(r))).collect();
    items.extend(
        evictions
            .into_iter()
            .map(|(tbl, id, seq)| (seq, Item::Evict(tbl, id))),
    );
    items.sort_by_key(|(seq, _)| *seq);
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let cursor = if more {
        items.last().map(|(s, _)| *s).unwrap_or(q.cursor)
    } else {
        // Caught up: everything up to the tenant's newest change in this
        // snapshot has been considered (most of it may be invisible here).
        let (head,): (Option<i64>,) = sql::query_as(
            "SELECT GREATEST((SELECT max(seq) FROM rows WHERE tenant_id = $1), \
                             (SELECT max(seq) FROM evictions WHERE tenant_id = $1))",
        )
        .bind(t)
        .fetch_one(&mut *tx)
        .await?;
        head.unwrap_or(0).max(q.cursor)
    };
    // The body is written here rather than through `PullResponse`: each
    // row's fields and clocks are PostgreSQL's JSON text of the stored
    // jsonb, passed through without parsing and re-encoding (the clocks are
    // stored in the wire's compact form). The shape is `PullResponse`'s.
    let mut body = String::with_capacity(items.len() * 1024 + 64);
    let mut evictions = Vec::new();
    let mut n_rows = 0u64;
    let mut nodes = std::collections::BTreeSet::new();
    body.push_str("{\"rows\":[");
    for (_, item) in items {
        match item {
            Item::Row((tbl, id, fields, clocks, deleted, _)) => {
                if n_rows > 0 {
                    body.push(',');
                }
                n_rows += 1;
                nodes_of(&clocks, &mut nodes);
                let table = serde_json::to_string(&tbl)
                    .map_err(|e| ServerError::Internal(e.to_string()))?;
                let _ = write!(
                    body,
                    "{{\"table\":{table},\"row_id\":\"{id}\",\"fields\":{fields},\"clocks\":{clocks},\"deleted\":{deleted}}}"
                );
            }
            Item::Evict(table, row_id) => evictions.push(Eviction { table, row_id }),
        }
    }
    let evictions =
        serde_json::to_string(&evictions).map_err(|e| ServerError::Internal(e.to_string()))?;
    let writers = writers(&mut tx, t, nodes).await?;
    let writers =
        serde_json::to_string(&writers).map_err(|e| ServerError::Internal(e.to_string()))?;
    let _ = write!(
        body,
        "],\"evictions\":{evictions},\"cursor\":{cursor},\"more\":{more},\"writers\":{writers}}}"
    );
    sql::query(
        "UPDATE devices SET cursor = $3, last_seen = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(t)
    .bind(dev.device_id)
    .bind(cursor)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    metrics::counter!("sync_pull_rows_total").increment(n_rows);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The devices whose stamps are in a row's stored clocks (the compact
/// wire form, `{"field": "<millis>.<counter>.<node>"}`): each wrote one of
/// its fields as it is now.
fn nodes_of(clocks: &str, into: &mut std::collections::BTreeSet<Uuid>) {
    // Owned keys: a custom field's name may need escapes in JSON.
    let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(clocks) else {
        return;
    };
    for stamp in map.values().filter_map(serde_json::Value::as_str) {
        if let Some(node) = stamp
            .rsplit_once('.')
            .and_then(|(_, n)| Uuid::parse_str(n).ok())
        {
            if !node.is_nil() {
                into.insert(node);
            }
        }
    }
}

/// The devices among `nodes` with their users: who wrote the page's rows.
async fn writers(
    tx: &mut sql::Transaction<'_, sql::Postgres>,
    tenant: Uuid,
    nodes: std::collections::BTreeSet<Uuid>,
) -> ApiResult<Vec<Writer>> {
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let nodes: Vec<Uuid> = nodes.into_iter().collect();
    let found: Vec<(Uuid, String, Uuid, String)> = sql::query_as(
        "SELECT d.id, d.name, u.id, u.email FROM devices d \
         JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id \
         WHERE d.tenant_id = $1 AND d.id = ANY($2) ORDER BY d.id",
    )
    .bind(tenant)
    .bind(&nodes)
    .fetch_all(&mut **tx)
    .await?;
    Ok(found
        .into_iter()
        .map(|(device_id, device_name, user_id, user_email)| Writer {
            device_id,
            device_name,
            user_id,
            user_email,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::nodes_of;

    #[test]
    fn every_stamp_names_a_writer() {
        let a = "00000000000000aa.00000000.0000000000000000000000000000000a";
        let b = "00000000000000ab.00000000.0000000000000000000000000000000b";
        let zero = "0000000000000000.00000000.00000000000000000000000000000000";
        let mut got = std::collections::BTreeSet::new();
        nodes_of(
            &format!(r#"{{"_":"{a}","custom.say \"hi\"":"{b}","x":"{zero}"}}"#),
            &mut got,
        );
        let got: Vec<String> = got.iter().map(|u| u.simple().to_string()).collect();
        assert_eq!(
            got,
            [
                "0000000000000000000000000000000a",
                "0000000000000000000000000000000b"
            ]
        );
        let mut none = std::collections::BTreeSet::new();
        nodes_of("not json", &mut none);
        assert!(none.is_empty());
    }
}
