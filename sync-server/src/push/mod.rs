//! `POST /v1/push`: apply a batch of ops at most once, per-field LWW.
//!
//! The whole batch is one transaction. It is checked first (tenant, tables,
//! fields, the kind of every value, clocks); any problem refuses the batch
//! with a 4xx naming the op, and nothing is written. Then, under the
//! tenant's write lock (held to commit, so change numbers become visible in
//! order), op ids not seen before are recorded, the touched rows are loaded,
//! merged in memory op by op (an op creating a row must carry every required
//! field; an agent's op must stay inside their view, see [`crate::view`])
//! and written back in one statement, and visibility side effects are
//! recorded: when a contact changes hands, agents who lose sight of it get
//! evictions for it and everything hanging off it, and its children get new
//! change numbers so those who gain sight pull them.
//!
//! Checking the batch is in `check.rs`, loading the agent's view in
//! `guard.rs`, the evictions visibility changes cost in `evict.rs`; this
//! file holds the handler and the merge into the database.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use crate::sql::{self, Postgres, Transaction};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use crm_protocol::schema;
use crm_protocol::wire::{PushRequest, PushResponse};
use crm_protocol::SyncOp;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{self, Bearer, Device, Role};
use crate::error::{ApiResult, ServerError};
use crate::merge::RowData;
use crate::view::{parse_uuid, placement, Users};
use crate::AppState;

mod check;
mod evict;
mod guard;

use check::{read_batch, wall_millis};
use guard::guard_for;

/// The code of a push that met a new row another push created meanwhile
/// (retried here; sent to the device, which sends the batch again, only
/// if it keeps happening).
const CREATED_MEANWHILE: &str = "created_meanwhile";

/// Rows to write, column by column (bound as arrays).
#[derive(Default)]
struct Writes {
    tbl: Vec<String>,
    id: Vec<Uuid>,
    fields: Vec<Value>,
    clocks: Vec<Value>,
    deleted: Vec<bool>,
    scope: Vec<Option<Uuid>>,
    owner: Vec<Option<Uuid>>,
    creator: Vec<Uuid>,
}

/// A stored row as loaded for merging.
struct Loaded {
    data: RowData,
    scope: Option<Uuid>,
    owner: Option<Uuid>,
    creator: Uuid,
}

/// Apply a batch.
#[utoipa::path(post, path = "/v1/push", request_body = PushRequest,
    security(("device_token" = [])),
    responses((status = 200, body = PushResponse), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 401, body = crm_protocol::wire::ApiError), (status = 403, body = crm_protocol::wire::ApiError),
              (status = 413, body = crm_protocol::wire::ApiError), (status = 422, body = crm_protocol::wire::ApiError)))]
pub async fn push(
    State(st): State<AppState>,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<PushResponse>> {
    let started = Instant::now();
    let body = body.map_err(crate::body_error)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    // Reading and checking a batch is the request's heaviest work: it runs
    // on the blocking pool, so the runtime's threads stay free to carry
    // the pushes that hold their tenant's write lock on to their commit.
    let max_ops = st.limits.max_ops;
    let checker = dev.clone();
    let again = body.clone();
    let req =
        tokio::task::spawn_blocking(move || read_batch(body, &checker, max_ops, wall_millis()))
            .await
            .map_err(|e| ServerError::Internal(format!("reading a push: {e}")))??;
    let mut ops = req.ops;
    // A new row another push created after this one looked (both under
    // way at once) is found when writing it: start again, reading it.
    let mut attempt = 1;
    let mut spent = Vec::new();
    let (resp, written) = loop {
        match apply(&mut tx, &dev, &mut ops, &mut spent).await {
            Err(ServerError::Client { code, .. }) if code == CREATED_MEANWHILE && attempt < 5 => {
                tx.rollback().await?;
                attempt += 1;
                // The merge took the ops' fields: read the batch again.
                ops = read_batch(again.clone(), &dev, max_ops, wall_millis())?.ops;
                tx = auth::begin(&st.pool, &bearer, false).await?.0;
            }
            other => break other?,
        }
    };
    tx.commit().await?;
    drop(spent);
    if let Some(last) = written.last {
        st.notices
            .announce(&st.pool, &dev, last, written.users, written.scopes);
    }
    metrics::counter!("sync_ops_applied_total").increment(resp.applied.len() as u64);
    metrics::counter!("sync_ops_duplicate_total").increment(resp.duplicates.len() as u64);
    metrics::histogram!("sync_push_seconds").record(started.elapsed().as_secs_f64());
    Ok(Json(resp))
}

/// What a push changed, for the notice announcing it.
#[derive(Default)]
struct Written {
    /// The newest change number it took (`None`: nothing changed).
    last: Option<i64>,
    /// Whose records changed (a contact's owner, the creator of a row
    /// hanging off no contact), and users it sent evictions.
    users: HashSet<Uuid>,
    /// Contacts that rows it wrote hang off, whose owner it did not load:
    /// the announcement looks them up.
    scopes: HashSet<Uuid>,
}

impl Written {
    /// Whose records the written rows are, by the rule pulls use
    /// (`pull::AGENT_PAGE`): a row hanging off a contact is its owner's,
    /// one hanging off none its creator's. Children renumbered because
    /// their contact changed hands are the contact's, which is written too.
    fn owners_of(&mut self, written: [&Writes; 2]) {
        let mut owner_of: HashMap<Uuid, Uuid> = HashMap::new();
        for w in written {
            for i in 0..w.id.len() {
                if w.tbl[i] == "contacts" {
                    if let Some(owner) = w.owner[i] {
                        owner_of.insert(w.id[i], owner);
                    }
                }
            }
        }
        for w in written {
            for i in 0..w.id.len() {
                if w.tbl[i] == "contacts" {
                    continue;
                }
                match w.scope[i] {
                    None => {
                        self.users.insert(w.creator[i]);
                    }
                    Some(c) => match owner_of.get(&c) {
                        Some(owner) => {
                            self.users.insert(*owner);
                        }
                        None => {
                            self.scopes.insert(c);
                        }
                    },
                }
            }
        }
        self.users.extend(owner_of.into_values());
    }

    fn evicted_by(&mut self, evictions: Vec<(Uuid, i64)>) {
        for (user, seq) in evictions {
            self.users.insert(user);
            self.took(seq);
        }
    }

    fn took(&mut self, seq: i64) {
        self.last = Some(self.last.map_or(seq, |l| l.max(seq)));
    }
}

async fn apply(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    ops: &mut [SyncOp],
    spent: &mut Vec<Writes>,
) -> ApiResult<(PushResponse, Written)> {
    let t = dev.tenant_id;
    let mut written = Written::default();
    if ops.is_empty() {
        return Ok((PushResponse::default(), written));
    }
    let ids: Vec<Uuid> = ops.iter().map(|o| o.op_id).collect();
    let fresh: Vec<(Uuid,)> = sql::query_as(
        "INSERT INTO applied_ops (tenant_id, op_id, device_id) SELECT $1, unnest($2::uuid[]), $3 \
         ON CONFLICT DO NOTHING RETURNING op_id",
    )
    .bind(t)
    .bind(&ids)
    .bind(dev.device_id)
    .fetch_all(&mut **tx)
    .await?;
    let fresh: HashSet<Uuid> = fresh.into_iter().map(|(id,)| id).collect();
    let mut resp = PushResponse::default();
    for id in &ids {
        if fresh.contains(id) {
            resp.applied.push(*id);
        } else {
            resp.duplicates.push(*id);
        }
    }
    // The ops to apply, by position (the merge takes their fields).
    let new_idx: Vec<usize> = (0..ops.len())
        .filter(|i| fresh.contains(&ops[*i].op_id))
        .collect();
    if new_idx.is_empty() {
        return Ok((resp, written));
    }
    let new_ops: Vec<&SyncOp> = new_idx.iter().map(|i| &ops[*i]).collect();

    let before = load_rows(tx, t, &new_ops).await?;

    // Who owns contacts and who sees what: the tenant's users (when a
    // contact's owner is resolved, or the pusher is an agent).
    let agent = dev.role == Role::Agent;
    let users = if agent || new_ops.iter().any(|o| o.table == "contacts") {
        let list: Vec<(Uuid, String, Option<String>)> =
            sql::query_as("SELECT id, lower(email), team FROM users WHERE tenant_id = $1")
                .bind(t)
                .fetch_all(&mut **tx)
                .await?;
        Users::new(list)
    } else {
        Users::new(Vec::new())
    };
    let mut guard = if agent {
        Some(guard_for(tx, dev, &new_ops, &before, &users).await?)
    } else {
        None
    };
    drop(new_ops);

    // Merge in op order, each op checked against the state the ones
    // before it left.
    let mut merged: BTreeMap<(String, Uuid), RowData> = BTreeMap::new();
    let mut changed: HashSet<(String, Uuid)> = HashSet::new();
    for &i in &new_idx {
        let op = &mut ops[i];
        let key = (op.table.clone(), op.row_id);
        let exists = before.contains_key(&key) || merged.contains_key(&key);
        if !exists {
            let missing = schema::table(&op.table)
                .map(|t| t.missing(&op.fields))
                .unwrap_or_default();
            if !missing.is_empty() {
                return Err(ServerError::bad_op(
                    "incomplete_row",
                    op.op_id,
                    format!(
                        "op {}: it creates {} {} without {} (a new row needs every required field)",
                        op.op_id,
                        op.table,
                        op.row_id,
                        missing.join(", ")
                    ),
                ));
            }
        }
        if let Some(g) = &guard {
            g.check(op)?;
        }
        let row = merged
            .entry(key.clone())
            .or_insert_with(|| before.get(&key).map(|l| l.data.clone()).unwrap_or_default());
        let m = row.merge_owned(op.hlc, std::mem::take(&mut op.fields));
        // An op that lost a field still gets its row a new change number:
        // its device shows a value the row does not have, and must pull
        // the winner back (it may have pulled past the winner already).
        if m.changed || m.lost {
            changed.insert(key.clone());
        }
        if let Some(g) = &mut guard {
            let creator = before.get(&key).map(|l| l.creator).unwrap_or(dev.user_id);
            g.record(&op.table, op.row_id, row, creator, &users);
        }
    }
    if changed.is_empty() {
        return Ok((resp, written));
    }

    let policy_scope = policy_scopes(tx, t, &merged, &changed).await?;

    // What to write: rows that are new, and rows that exist.
    let (mut created, mut updated) = (Writes::default(), Writes::default());
    // (contact, old owner, new owner) for contacts that changed hands.
    let mut owner_moves: Vec<(Uuid, Uuid, Uuid)> = Vec::new();
    let mut new_contacts: Vec<Uuid> = Vec::new();
    // New contacts an agent created for an owner outside their own view.
    let mut given_away: Vec<Uuid> = Vec::new();
    // (table, row, old scope, new scope, creator) for children that moved
    // contact.
    let mut scope_moves: Vec<evict::ScopeMove> = Vec::new();
    // The merged rows are consumed: their fields move into what is bound.
    for (key, row) in merged {
        if !changed.contains(&key) {
            continue;
        }
        let (tbl, id) = (&key.0, &key.1);
        let old = before.get(&key);
        let creator = old.map(|o| o.creator).unwrap_or(dev.user_id);
        let (scope, owner) = placement(tbl, *id, &row, creator, &users, |p| {
            policy_scope.get(&p).copied().flatten()
        });
        match (tbl.as_str(), old) {
            ("contacts", None) => {
                new_contacts.push(*id);
                if let (Some(g), Some(o)) = (&guard, owner) {
                    if !g.sees_owner(o) {
                        given_away.push(*id);
                    }
                }
            }
            ("contacts", Some(o)) => {
                if let (Some(a), Some(b)) = (o.owner, owner) {
                    if a != b {
                        owner_moves.push((*id, a, b));
                    }
                }
            }
            (_, Some(o)) if o.scope != scope => {
                if let Some(old_scope) = o.scope {
                    scope_moves.push((tbl.clone(), *id, old_scope, scope, creator));
                }
            }
            _ => {}
        }
        let w = if old.is_some() {
            &mut updated
        } else {
            &mut created
        };
        w.clocks.push(row.clocks_json(tbl));
        w.deleted.push(row.deleted);
        w.fields.push(Value::Object(row.fields));
        w.tbl.push(key.0);
        w.id.push(key.1);
        w.scope.push(scope);
        w.owner.push(owner);
        w.creator.push(creator);
    }
    // Those who can now see a contact need what hangs off it, even rows
    // that changed before their cursor: its children get new numbers.
    let mut bump: Vec<Uuid> = owner_moves.iter().map(|m| m.0).collect();
    bump.extend(new_contacts);
    let (locked, inserted, rewritten, last) = write_rows(tx, t, &created, &updated, &bump).await?;
    if locked != 1 {
        return Err(ServerError::Internal(format!(
            "tenant {t} has no write lock row"
        )));
    }
    if inserted != created.id.len() as i64 {
        return Err(ServerError::client(
            StatusCode::CONFLICT,
            CREATED_MEANWHILE,
            "another push created some of these records at the same moment; send the batch again",
        ));
    }
    if let Some(seq) = last {
        written.took(seq);
    }
    written.owners_of([&created, &updated]);
    if rewritten != updated.id.len() as i64 {
        return Err(ServerError::Internal(format!(
            "{} of {} locked rows were rewritten",
            rewritten,
            updated.id.len()
        )));
    }

    evict::owner_moves(tx, t, &owner_moves, &mut written).await?;
    evict::given_away(tx, t, dev.user_id, &given_away, &mut written).await?;
    evict::scope_moves(tx, t, &scope_moves, &mut written).await?;
    // Freed after the commit, not while the tenant's lock is held.
    spent.push(created);
    spent.push(updated);
    Ok((resp, written))
}

/// The rows `ops` touch that exist, locked for update (in one order, so
/// concurrent pushes do not deadlock), by (table, id); the others are new.
/// Two pushes that create the same row at once meet when writing it.
async fn load_rows(
    tx: &mut Transaction<'static, Postgres>,
    t: Uuid,
    ops: &[&SyncOp],
) -> ApiResult<HashMap<(String, Uuid), Loaded>> {
    // Sorted, so concurrent pushes take row locks in one order.
    let keys: Vec<(String, Uuid)> = ops
        .iter()
        .map(|op| (op.table.clone(), op.row_id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let tbls: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
    let rids: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
    type RowTuple = (
        String,
        Uuid,
        Value,
        Value,
        bool,
        Option<Uuid>,
        Option<Uuid>,
        Uuid,
    );
    // Rows that exist are locked here (sorted, so concurrent pushes lock
    // in one order) and merged into; the others are new. Two pushes that
    // create the same row at once meet when writing it (see below).
    let stored: Vec<RowTuple> = sql::query_as(
        "SELECT r.tbl, r.id, r.fields, r.clocks, r.deleted, r.scope_contact, r.owner_user, r.creator \
         FROM rows r JOIN unnest($2::text[], $3::uuid[]) AS k(tbl, id) ON r.tbl = k.tbl AND r.id = k.id \
         WHERE r.tenant_id = $1 ORDER BY r.tbl, r.id FOR UPDATE OF r",
    )
    .bind(t)
    .bind(&tbls)
    .bind(&rids)
    .fetch_all(&mut **tx)
    .await?;
    let mut before: HashMap<(String, Uuid), Loaded> = HashMap::with_capacity(stored.len());
    for (tbl, id, fields, clocks, deleted, scope, owner, creator) in stored {
        let clocks = RowData::clocks_from_json(&tbl, &clocks);
        before.insert(
            (tbl, id),
            Loaded {
                data: RowData {
                    fields: fields.as_object().cloned().unwrap_or_default(),
                    clocks,
                    deleted,
                },
                scope,
                owner,
                creator,
            },
        );
    }

    Ok(before)
}

/// The contact each policy that a changed payment (or a merged policy)
/// hangs off belongs to: where those payments are placed.
async fn policy_scopes(
    tx: &mut Transaction<'static, Postgres>,
    t: Uuid,
    merged: &BTreeMap<(String, Uuid), RowData>,
    changed: &HashSet<(String, Uuid)>,
) -> ApiResult<HashMap<Uuid, Option<Uuid>>> {
    let mut policy_ids: Vec<Uuid> = Vec::new();
    for key in changed {
        if key.0 == "payments" {
            if let Some(row) = merged.get(key) {
                if let Some(p) = parse_uuid(row.fields.get("policy_id")) {
                    policy_ids.push(p);
                }
            }
        }
    }
    let mut policy_scope: HashMap<Uuid, Option<Uuid>> = HashMap::new();
    if !policy_ids.is_empty() {
        let found: Vec<(Uuid, Option<Uuid>)> = sql::query_as(
            "SELECT id, scope_contact FROM rows WHERE tenant_id = $1 AND tbl = 'policies' AND id = ANY($2)",
        )
        .bind(t)
        .bind(&policy_ids)
        .fetch_all(&mut **tx)
        .await?;
        policy_scope.extend(found);
    }
    for ((tbl, id), row) in merged {
        if tbl == "policies" {
            policy_scope.insert(*id, parse_uuid(row.fields.get("contact_id")));
        }
    }

    Ok(policy_scope)
}

/// One statement, one round trip while the lock is held: it takes the
/// tenant's write lock (held to commit: change numbers are taken from
/// here on, so within a tenant they become visible in order; every
/// `nextval` below is evaluated on rows joined with the lock's row, so
/// after it), writes the new rows and the existing ones (locked since
/// they were read), and renumbers the children of `bump` that it did
/// not write itself (a row is changed once per statement; a
/// data-modifying `WITH` runs whether or not it is read). A new row
/// that exists by now was created by a push that ran beside this one
/// (it committed before this one took the lock): start again, merging
/// into it.
///
/// Answers (lock rows found, rows inserted, rows rewritten, the newest
/// change number taken).
async fn write_rows(
    tx: &mut Transaction<'static, Postgres>,
    t: Uuid,
    created: &Writes,
    updated: &Writes,
    bump: &[Uuid],
) -> ApiResult<(i64, i64, i64, Option<i64>)> {
    Ok(sql::query_as(
        "WITH lk AS (SELECT 1 FROM tenant_locks WHERE tenant_id = $1 FOR UPDATE), \
         ins AS (INSERT INTO rows (tenant_id, tbl, id, fields, clocks, deleted, seq, scope_contact, owner_user, creator) \
           SELECT $1, k.tbl, k.id, k.fields, k.clocks, k.deleted, nextval('change_seq'), k.scope, k.owner, k.creator \
           FROM lk, unnest($2::text[], $3::uuid[], $4::jsonb[], $5::jsonb[], $6::bool[], $7::uuid[], $8::uuid[], $9::uuid[]) \
                AS k(tbl, id, fields, clocks, deleted, scope, owner, creator) \
           ON CONFLICT (tenant_id, tbl, id) DO NOTHING RETURNING seq), \
         upd AS (UPDATE rows AS r SET fields = k.fields, clocks = k.clocks, deleted = k.deleted, \
             seq = nextval('change_seq'), scope_contact = k.scope, owner_user = k.owner \
           FROM lk, unnest($10::text[], $11::uuid[], $12::jsonb[], $13::jsonb[], $14::bool[], $15::uuid[], $16::uuid[]) \
                AS k(tbl, id, fields, clocks, deleted, scope, owner) \
           WHERE r.tenant_id = $1 AND r.tbl = k.tbl AND r.id = k.id RETURNING r.seq), \
         bmp AS (UPDATE rows AS r SET seq = nextval('change_seq') FROM lk \
           WHERE r.tenant_id = $1 AND r.scope_contact = ANY($17::uuid[]) AND r.tbl <> 'contacts' \
             AND NOT EXISTS (SELECT 1 FROM unnest($10::text[], $11::uuid[]) AS u(tbl, id) \
                             WHERE u.tbl = r.tbl AND u.id = r.id) \
           RETURNING r.seq), \
         took AS (SELECT seq FROM ins UNION ALL SELECT seq FROM upd UNION ALL SELECT seq FROM bmp) \
         SELECT (SELECT count(*) FROM lk), (SELECT count(*) FROM ins), (SELECT count(*) FROM upd), \
                (SELECT max(seq) FROM took)",
    )
    .bind(t)
    .bind(&created.tbl)
    .bind(&created.id)
    .bind(&created.fields)
    .bind(&created.clocks)
    .bind(&created.deleted)
    .bind(&created.scope)
    .bind(&created.owner)
    .bind(&created.creator)
    .bind(&updated.tbl)
    .bind(&updated.id)
    .bind(&updated.fields)
    .bind(&updated.clocks)
    .bind(&updated.deleted)
    .bind(&updated.scope)
    .bind(&updated.owner)
    .bind(bump)
    .fetch_one(&mut **tx)
    .await?)
}
