//! The local half of sync: reading and acknowledging the outbox, merging
//! changes received from the server, evictions, and the sync state.
//!
//! No network here (the core stays free of HTTP and async runtimes; the
//! `crm-sync-client` crate does the talking). What arrives from the server
//! is merged with the same per-field last-writer-wins rule the server uses
//! (compare each field's clock; `deleted` only ever becomes true), written
//! straight to the synced tables **without** an outbox entry (it came from
//! the server, sending it back would echo forever), audited with the actor
//! `sync`, and the page's cursor is saved in the same transaction, so a
//! crash never skips or double-counts a page.
//!
//! The device token lives in the OS keyring when the profile's database key
//! does (same store, its own service name); for passphrase profiles (no
//! keyring answers) it is kept inside the encrypted database, where it is
//! exactly as protected as the data it gives access to.

use std::collections::BTreeMap;
use std::sync::Arc;

use crm_protocol::wire::{Eviction, RowState};
use crm_protocol::{Hlc, SyncOp};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{CoreError, Result};
use crate::keys::{KeySource, ProfileMeta};
use crate::store::{Action, Actor, ChangeEvent, Store, Table};

/// Keyring service under which device tokens are stored.
pub const TOKEN_KEYRING_SERVICE: &str = "insurance-crm.device-token";

const ALL_TABLES: [Table; 5] = [
    Table::Contacts,
    Table::Policies,
    Table::Payments,
    Table::Tasks,
    Table::Activities,
];

pub(crate) fn table_named(name: &str) -> Option<Table> {
    ALL_TABLES.into_iter().find(|t| t.name() == name)
}

/// What `crm sync status` shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncStatus {
    /// The server this profile is signed in to.
    pub server: Option<String>,
    /// The signed-in account's email.
    pub email: Option<String>,
    /// The pull cursor.
    pub cursor: i64,
    /// Ops waiting to be pushed.
    pub pending: i64,
    /// Ops the server refused (kept aside, never blocking the queue).
    pub quarantined: i64,
    /// When the last sync finished (RFC 3339).
    pub last_success: Option<String>,
    /// The last sync error, cleared by the next success.
    pub last_error: Option<String>,
}

/// Who the person using a profile is to their agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Not signed in to a server: a one-person profile, its own admin.
    Owner,
    /// An agency admin.
    Admin,
    /// An agent.
    Agent,
}

impl AccountRole {
    /// The role named by the server; an unknown name is an agent's.
    pub fn from_server(role: &str) -> Self {
        match role {
            "admin" => AccountRole::Admin,
            _ => AccountRole::Agent,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Owner => "owner",
            AccountRole::Admin => "admin",
            AccountRole::Agent => "agent",
        }
    }
}

/// What merging a page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Rows inserted or changed.
    pub changed: usize,
    /// Rows already up to date.
    pub unchanged: usize,
    /// Rows removed by evictions (children of evicted contacts included).
    pub evicted: usize,
    /// Rows that could not be stored (unknown table, missing required field).
    pub skipped: usize,
}

/// The fields an outbox op carries. A new row's op refers to the row
/// ([`crate::store::BY_ROW`]) and carries every field as the row holds it
/// now: later edits have ops of their own with later clocks, so the server
/// ends with the same values either way. A row that has left this device
/// (evicted before its op was sent) gives no fields, and the server refuses
/// the op, which sets it aside.
fn op_fields(
    conn: &rusqlite::Connection,
    table: &str,
    row_id: Uuid,
    text: &str,
) -> Result<BTreeMap<String, Value>> {
    if text != crate::store::BY_ROW {
        return Ok(serde_json::from_str(text)?);
    }
    Ok(created_row(conn, table, row_id)?.0)
}

/// A local row: its fields, its clocks, whether it is a tombstone.
type LocalRow = (Map<String, Value>, Map<String, Value>, bool);

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn sql_value(v: &Value) -> rusqlite::types::Value {
    crate::store::SqlArg(v).owned()
}

fn clock_of(clocks: &Map<String, Value>, field: &str) -> Hlc {
    clocks
        .get(field)
        .or_else(|| clocks.get("_"))
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(Hlc::ZERO)
}

fn get_meta(conn: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn bad_outbox(what: String) -> CoreError {
    CoreError::BadProfile {
        path: std::path::PathBuf::from(crate::store::DB_FILE),
        reason: format!("sync outbox: {what}"),
    }
}

/// Whether an outbox `row_id` marks a shared creation op.
fn is_shared(row_id: &str) -> bool {
    row_id.starts_with(crate::store::BULK_MARK)
}

/// The rows a shared creation op names.
fn shared_rows(fields: &str) -> Result<Vec<Uuid>> {
    #[derive(serde::Deserialize)]
    struct Rows {
        rows: Vec<Uuid>,
    }
    let rows: Rows =
        serde_json::from_str(fields).map_err(|e| bad_outbox(format!("shared op: {e}")))?;
    Ok(rows.rows)
}

/// The op id of one row of a shared creation op: made from the shared
/// op's id and the row's, so it is the same every time the op is handed
/// out (the server applies each op id once) and differs for every row.
pub(crate) fn member_op_id(shared: Uuid, row: Uuid) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"crm shared op\0");
    h.update(shared.as_bytes());
    h.update(row.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A created row's fields as it is now and the stamp it was created with
/// (what its own op would have held); nothing if it is gone.
fn created_row(
    conn: &rusqlite::Connection,
    table: &str,
    id: Uuid,
) -> Result<(BTreeMap<String, Value>, Option<Hlc>)> {
    let row = match table_named(table) {
        Some(t) => crate::store::load_any_row(conn, t, id)?,
        None => None,
    };
    Ok(match row {
        Some(r) => {
            let created = r
                .clocks
                .get("_")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            (r.fields.into_iter().collect(), created)
        }
        None => (BTreeMap::new(), None),
    })
}

/// Where an op asked for is in the outbox.
enum Found {
    /// An op of its own, at this `seq`.
    Op(i64),
    /// Rows of the shared creation op at `seq`: those `gone` (asked
    /// for) and those that stay.
    Rows {
        seq: i64,
        table: String,
        gone: Vec<Uuid>,
        stay: Vec<Uuid>,
    },
}

impl Found {
    /// Take what was found out of the outbox: the op, or the rows asked
    /// for (the whole shared op once none stays).
    fn remove(&self, conn: &rusqlite::Connection) -> Result<()> {
        match self {
            Found::Rows { seq, stay, .. } if !stay.is_empty() => {
                let fields = serde_json::json!({ "rows": stay }).to_string();
                let count = format!("{}{}", crate::store::BULK_MARK, stay.len());
                conn.prepare_cached(
                    "UPDATE sync_outbox SET row_id = ?1, fields = ?2 WHERE seq = ?3",
                )?
                .execute(params![count, fields, seq])?;
            }
            Found::Op(seq) | Found::Rows { seq, .. } => {
                conn.prepare_cached("DELETE FROM sync_outbox WHERE seq = ?1")?
                    .execute([seq])?;
            }
        }
        Ok(())
    }
}

/// Where the ops `op_ids` are in the outbox, found by walking the queue
/// from its head. The outbox has no index by op id (migration 7: an entry
/// per op written, for nothing else): acks and set-asides concern the ops
/// just pushed, which are the oldest, so the walk ends after about as
/// many ops as ids asked for. Only an id no longer queued (acknowledged
/// twice) makes it walk to the end.
fn outbox_find(conn: &rusqlite::Connection, op_ids: &[Uuid]) -> Result<Vec<Found>> {
    let mut wanted: std::collections::HashSet<Uuid> = op_ids.iter().copied().collect();
    let mut found = Vec::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut st = conn.prepare_cached(
        "SELECT seq, op_id, table_name, row_id, fields FROM sync_outbox ORDER BY seq",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let Some(id) = crate::records::uuid_in(r.get_ref(1)?) else {
            continue;
        };
        let row_id = r.get_ref(3)?.as_str().unwrap_or_default();
        if is_shared(row_id) {
            let (mut gone, mut stay) = (Vec::new(), Vec::new());
            for member in shared_rows(r.get_ref(4)?.as_str().unwrap_or_default())? {
                if wanted.remove(&member_op_id(id, member)) {
                    gone.push(member);
                } else {
                    stay.push(member);
                }
            }
            if !gone.is_empty() {
                found.push(Found::Rows {
                    seq,
                    table: r.get(2)?,
                    gone,
                    stay,
                });
            }
        } else if wanted.remove(&id) {
            found.push(Found::Op(seq));
        }
        if wanted.is_empty() {
            break;
        }
    }
    Ok(found)
}

fn set_meta(conn: &rusqlite::Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, v],
        )?,
        None => conn.execute("DELETE FROM meta WHERE key = ?1", [key])?,
    };
    Ok(())
}

impl Store {
    /// The oldest `limit` ops of the outbox, ready to push. A shared
    /// creation op (see `store::BulkCreated`) hands out one op per row it
    /// names, in order.
    pub fn outbox_batch(&self, limit: usize) -> Result<Vec<SyncOp>> {
        let tenant = self.identity().tenant_id;
        let mut st = self.conn().prepare_cached(
            "SELECT op_id, table_name, row_id, hlc, fields FROM sync_outbox ORDER BY seq",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next()? else { break };
            let (op_id, table, row_id, hlc, fields): (String, String, String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            let op_id = Uuid::parse_str(&op_id).map_err(|e| bad_outbox(format!("op id: {e}")))?;
            let hlc: Hlc = hlc.parse().map_err(|e| bad_outbox(format!("{e}")))?;
            if is_shared(&row_id) {
                for member in shared_rows(&fields)? {
                    if out.len() == limit {
                        break;
                    }
                    let (fields, created) = created_row(self.conn(), &table, member)?;
                    out.push(SyncOp {
                        op_id: member_op_id(op_id, member),
                        table: table.clone(),
                        row_id: member,
                        tenant_id: tenant,
                        hlc: created.unwrap_or(hlc),
                        fields,
                    });
                }
                continue;
            }
            let row_id =
                Uuid::parse_str(&row_id).map_err(|e| bad_outbox(format!("row id: {e}")))?;
            let fields = op_fields(self.conn(), &table, row_id, &fields)?;
            out.push(SyncOp {
                op_id,
                table,
                row_id,
                tenant_id: tenant,
                hlc,
                fields,
            });
        }
        Ok(out)
    }

    /// Drop acknowledged ops (applied or already applied) from the outbox.
    pub fn outbox_ack(&mut self, op_ids: &[Uuid]) -> Result<()> {
        let (conn, _, _) = self.sync_parts();
        let tx = conn.transaction()?;
        {
            for found in outbox_find(&tx, op_ids)? {
                found.remove(&tx)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Set an op the server refused aside, with the reason, so it never
    /// blocks the ops behind it. It stays in the profile for inspection.
    pub fn outbox_quarantine(&mut self, op_id: Uuid, reason: &str) -> Result<()> {
        let (conn, _, _) = self.sync_parts();
        let tx = conn.transaction()?;
        if let Some(found) = outbox_find(&tx, &[op_id])?.pop() {
            let (table, row, hlc, fields) = match &found {
                Found::Op(seq) => {
                    let (table, row, hlc, text): (String, String, String, String) = tx.query_row(
                        "SELECT table_name, row_id, hlc, fields FROM sync_outbox WHERE seq = ?1",
                        [seq],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?;
                    let fields = match Uuid::parse_str(&row) {
                        Ok(id) => serde_json::to_value(op_fields(&tx, &table, id, &text)?)?,
                        Err(_) => serde_json::from_str::<Value>(&text)?,
                    };
                    (table, row, hlc, fields)
                }
                Found::Rows { table, gone, .. } => {
                    let member = gone.first().copied().unwrap_or_default();
                    let (fields, created) = created_row(&tx, table, member)?;
                    (
                        table.clone(),
                        member.to_string(),
                        created.map(|h| h.to_string()).unwrap_or_default(),
                        serde_json::to_value(fields)?,
                    )
                }
            };
            let entry = serde_json::json!({"table": table, "row_id": row, "hlc": hlc,
                "fields": fields, "reason": reason, "at": now_text()});
            set_meta(
                &tx,
                &format!("sync.quarantine.{op_id}"),
                Some(&entry.to_string()),
            )?;
            found.remove(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Merge a page from the server: evictions first, then rows, then save
    /// `cursor`, all in one transaction. Nothing enters the outbox. After
    /// the commit, listeners get a `ChangeEvent` (actor: sync, with the
    /// writing device) for each row that changed here, as for local writes,
    /// so plugin hooks see changes made on other devices too. Evictions are
    /// not changes to the data and send none.
    pub fn apply_remote(
        &mut self,
        rows: &[RowState],
        evictions: &[Eviction],
        cursor: i64,
    ) -> Result<ApplyReport> {
        let listeners = self.listeners();
        let mut events: Vec<ChangeEvent> = Vec::new();
        let mut event =
            |table: Table, id: Uuid, action: Action, device: Uuid, fields: Vec<String>| {
                if listeners.is_empty() {
                    return;
                }
                let verb = action.as_str();
                events.push(ChangeEvent {
                    name: format!("{}.{verb}", table.kind()),
                    table,
                    row_id: id,
                    action,
                    actor: Actor::Sync { device },
                    fields,
                });
            };
        let (conn, clock, identity) = self.sync_parts();
        let tenant = identity.tenant_id.to_string();
        let tx = conn.transaction()?;
        let mut report = ApplyReport::default();
        let now = now_text();
        let audit = |tx: &rusqlite::Transaction<'_>,
                     device: Uuid,
                     table: &str,
                     id: &str,
                     action: &str,
                     changes: &Value|
         -> Result<()> {
            let actor = serde_json::to_string(&Actor::Sync { device })?;
            tx.prepare_cached(
                "INSERT INTO audit_log (at, actor, table_name, row_id, action, changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![now, actor, table, id, action, changes.to_string()])?;
            Ok(())
        };
        for ev in evictions {
            let Some(table) = table_named(&ev.table) else {
                report.skipped += 1;
                continue;
            };
            let id = ev.row_id.to_string();
            let mut victims: Vec<(&'static str, String)> = vec![(table.name(), id.clone())];
            if table == Table::Contacts {
                for t in ["policies", "tasks", "activities"] {
                    let mut st =
                        tx.prepare(&format!("SELECT id FROM {t} WHERE contact_id = ?1"))?;
                    let ids: Vec<String> = st
                        .query_map([&id], |r| r.get(0))?
                        .collect::<std::result::Result<_, _>>()?;
                    victims.extend(ids.into_iter().map(|i| (t, i)));
                }
            }
            let policies: Vec<String> = victims
                .iter()
                .filter(|(t, _)| *t == "policies")
                .map(|(_, i)| i.clone())
                .collect();
            for p in policies {
                let mut st = tx.prepare("SELECT id FROM payments WHERE policy_id = ?1")?;
                let ids: Vec<String> = st
                    .query_map([&p], |r| r.get(0))?
                    .collect::<std::result::Result<_, _>>()?;
                victims.extend(ids.into_iter().map(|i| ("payments", i)));
            }
            for (t, i) in victims {
                if t == "contacts" {
                    // Read what it was indexed from while it is still there.
                    crate::lookups::unindex_stored(&tx, &i)?;
                }
                let n = tx.execute(&format!("DELETE FROM {t} WHERE id = ?1"), [&i])?;
                if t == "contacts" {
                    tx.execute("DELETE FROM import_keys WHERE contact_id = ?1", [&i])?;
                }
                if n > 0 {
                    report.evicted += 1;
                    audit(&tx, Uuid::nil(), t, &i, "evicted", &Value::Null)?;
                }
            }
        }
        for row in rows {
            let Some(table) = table_named(&row.table) else {
                report.skipped += 1;
                continue;
            };
            let fields = table.fields();
            let row_clocks = expand_clocks(fields, &row.clocks);
            if let Some(h) = row_clocks.values().max() {
                // The server bounds clocks already; a stamp it let through
                // is never a reason to drop a page.
                let _ = clock.observe(*h);
            }
            let id = row.row_id.to_string();
            let local: Option<LocalRow> = {
                let sql = format!(
                    "SELECT {}, clocks, deleted FROM {} WHERE id = ?1",
                    fields.join(", "),
                    table.name()
                );
                let mut st = tx.prepare_cached(&sql)?;
                st.query_row([&id], |r| {
                    let mut m = Map::new();
                    for (i, f) in fields.iter().enumerate() {
                        m.insert(
                            (*f).to_string(),
                            crate::store::row_to_json(table, f, r.get_ref(i)?),
                        );
                    }
                    let clocks: String = r.get(fields.len())?;
                    let deleted: i64 = r.get(fields.len() + 1)?;
                    Ok((m, clocks, deleted != 0))
                })
                .optional()?
                .map(|(m, c, d)| {
                    let clocks = serde_json::from_str::<Value>(&c)
                        .ok()
                        .and_then(|v| v.as_object().cloned())
                        .unwrap_or_default();
                    (m, clocks, d)
                })
            };
            let newest = row_clocks.values().max().copied().unwrap_or(Hlc::ZERO);
            match local {
                None => {
                    let sql = format!(
                        "INSERT INTO {} (id, tenant_id, {}, clocks, deleted, created_at, updated_at) \
                         VALUES (?, ?, {}, ?, ?, ?, ?)",
                        table.name(),
                        fields.join(", "),
                        vec!["?"; fields.len()].join(", ")
                    );
                    let mut vals: Vec<rusqlite::types::Value> =
                        vec![id.clone().into(), tenant.clone().into()];
                    for f in fields {
                        vals.push(sql_value(row.fields.get(*f).unwrap_or(&Value::Null)));
                    }
                    vals.push(
                        Value::Object(compact_clocks(fields, &row_clocks))
                            .to_string()
                            .into(),
                    );
                    vals.push((row.deleted as i64).into());
                    vals.push(now.clone().into());
                    vals.push(now.clone().into());
                    match tx
                        .prepare_cached(&sql)?
                        .execute(rusqlite::params_from_iter(vals))
                    {
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(table = table.name(), row = %id, error = %e, "a pulled row could not be stored");
                            report.skipped += 1;
                            continue;
                        }
                    }
                    if table == Table::Contacts && !row.deleted {
                        crate::lookups::index(&tx, &id, &row.fields)?;
                    }
                    // Like a local creation, the entry refers to the row.
                    audit(&tx, newest.node, table.name(), &id, "created", &Value::Null)?;
                    if !row.deleted {
                        let names = fields.iter().map(|f| (*f).to_string()).collect();
                        event(table, row.row_id, Action::Created, newest.node, names);
                    }
                    report.changed += 1;
                }
                Some((local_fields, mut clocks, local_deleted)) => {
                    let mut sets: Vec<String> = Vec::new();
                    let mut vals: Vec<rusqlite::types::Value> = Vec::new();
                    let mut changes = Map::new();
                    let mut deleted_now = false;
                    for (name, remote) in &row_clocks {
                        if *remote <= clock_of(&clocks, name) {
                            continue;
                        }
                        if name == crm_protocol::schema::DELETED {
                            if row.deleted && !local_deleted {
                                sets.push("deleted = 1".into());
                                deleted_now = true;
                                changes.insert(name.clone(), Value::Bool(true));
                            }
                        } else if fields.contains(&name.as_str()) {
                            let new = row.fields.get(name).cloned().unwrap_or(Value::Null);
                            let old = local_fields.get(name).cloned().unwrap_or(Value::Null);
                            if new != old {
                                sets.push(format!("{name} = ?"));
                                vals.push(sql_value(&new));
                                changes.insert(name.clone(), Value::Array(vec![old, new]));
                            }
                        } else {
                            continue;
                        }
                        clocks.insert(name.clone(), Value::String(remote.to_string()));
                    }
                    if sets.is_empty() && changes.is_empty() {
                        // Clocks may still have advanced (same values).
                        tx.execute(
                            &format!("UPDATE {} SET clocks = ?1 WHERE id = ?2", table.name()),
                            params![Value::Object(clocks).to_string(), id],
                        )?;
                        report.unchanged += 1;
                        continue;
                    }
                    sets.push("clocks = ?".into());
                    vals.push(Value::Object(clocks).to_string().into());
                    sets.push("updated_at = ?".into());
                    vals.push(now.clone().into());
                    vals.push(id.clone().into());
                    tx.prepare_cached(&format!(
                        "UPDATE {} SET {} WHERE id = ?",
                        table.name(),
                        sets.join(", ")
                    ))?
                    .execute(rusqlite::params_from_iter(vals))?;
                    if table == Table::Contacts {
                        if deleted_now || local_deleted {
                            crate::lookups::unindex(&tx, &id, &local_fields)?;
                        } else {
                            crate::lookups::reindex(&tx, &id, &local_fields, &row.fields, |f| {
                                changes.contains_key(f)
                            })?;
                        }
                    }
                    let action = if deleted_now { "deleted" } else { "updated" };
                    let names: Vec<String> = changes
                        .keys()
                        .filter(|k| k.as_str() != crm_protocol::schema::DELETED)
                        .cloned()
                        .collect();
                    audit(
                        &tx,
                        newest.node,
                        table.name(),
                        &id,
                        action,
                        &Value::Object(changes),
                    )?;
                    if deleted_now {
                        event(
                            table,
                            row.row_id,
                            Action::Deleted,
                            newest.node,
                            vec!["deleted".into()],
                        );
                    } else if !local_deleted {
                        event(table, row.row_id, Action::Updated, newest.node, names);
                    }
                    report.changed += 1;
                }
            }
        }
        set_meta(&tx, "sync.cursor", Some(&cursor.to_string()))?;
        tx.commit()?;
        crate::store::dispatch(&listeners, &events);
        Ok(report)
    }

    /// This profile's sync state.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let c = self.conn();
        let quarantined: i64 = c.query_row(
            "SELECT count(*) FROM meta WHERE key LIKE 'sync.quarantine.%'",
            [],
            |r| r.get(0),
        )?;
        Ok(SyncStatus {
            server: get_meta(c, "sync.server")?,
            email: get_meta(c, "sync.email")?,
            cursor: get_meta(c, "sync.cursor")?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            pending: self.outbox_len()?,
            quarantined,
            last_success: get_meta(c, "sync.last_success")?,
            last_error: get_meta(c, "sync.last_error")?,
        })
    }

    /// What the person using this profile may do: a profile never signed in
    /// to a server is its owner's own; a signed-in profile has the role the
    /// server gave its account at login. A signed-in profile whose role was
    /// never recorded (signed in by an older version) counts as an agent's
    /// until the next sign-in: deny by default.
    pub fn account_role(&self) -> Result<AccountRole> {
        let c = self.conn();
        if get_meta(c, "sync.tenant")?.is_none() {
            return Ok(AccountRole::Owner);
        }
        Ok(get_meta(c, "sync.role")?
            .map(|r| AccountRole::from_server(&r))
            .unwrap_or(AccountRole::Agent))
    }

    /// Refuse `what` unless this profile's user may administer the agency's
    /// set-up (plugins, trusted publishers): its owner or an admin.
    pub fn require_admin(&self, what: &str) -> Result<()> {
        match self.account_role()? {
            AccountRole::Owner | AccountRole::Admin => Ok(()),
            AccountRole::Agent => Err(CoreError::Forbidden(format!(
                "only an admin can {what}: this profile is signed in as an agent of its agency. \
                 Ask an admin, or sign in again if your role has just changed"
            ))),
        }
    }

    /// Record the end of a sync attempt: success clears the last error.
    pub fn record_sync_result(&mut self, error: Option<&str>) -> Result<()> {
        let (conn, _, _) = self.sync_parts();
        match error {
            None => {
                set_meta(conn, "sync.last_success", Some(&now_text()))?;
                set_meta(conn, "sync.last_error", None)?;
            }
            Some(e) => set_meta(
                conn,
                "sync.last_error",
                Some(&format!("{} {e}", now_text())),
            )?,
        }
        Ok(())
    }

    /// Bind this profile to a server account after a login: the replica
    /// takes the server's tenant (rows made before the first login are
    /// relabelled, their outbox ops are pushed as the tenant's) and user.
    /// A profile already bound to another tenant is refused untouched.
    /// `role` is the account's role as the server reported it at login
    /// (`admin` or `agent`; anything else is kept as an agent's).
    pub fn bind_to_server(
        &mut self,
        server: &str,
        email: &str,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> Result<()> {
        let role = AccountRole::from_server(role);
        let (conn, _, identity) = self.sync_parts();
        if let Some(bound) = get_meta(conn, "sync.tenant")? {
            if bound != tenant_id.to_string() {
                return Err(CoreError::Invalid(crate::ValidationError::new(
                    "login",
                    format!("this profile belongs to tenant {bound}; the account is in another tenant. Use a new profile (--data-dir) for it"),
                )));
            }
        }
        let tx = conn.transaction()?;
        let tenant = tenant_id.to_string();
        for t in ALL_TABLES {
            tx.execute(
                &format!(
                    "UPDATE {} SET tenant_id = ?1 WHERE tenant_id <> ?1",
                    t.name()
                ),
                [&tenant],
            )?;
        }
        for (k, v) in [
            ("tenant_id", tenant.clone()),
            ("user_id", user_id.to_string()),
            ("sync.tenant", tenant.clone()),
            ("sync.server", server.to_string()),
            ("sync.email", email.to_string()),
            ("sync.role", role.as_str().to_string()),
        ] {
            set_meta(&tx, k, Some(&v))?;
        }
        tx.commit()?;
        identity.tenant_id = tenant_id;
        identity.user_id = user_id.to_string();
        Ok(())
    }

    /// Keep the device token: in the OS keyring when the profile's key is
    /// there, else inside the encrypted database (see the module docs).
    pub fn save_device_token(&mut self, profile_dir: &std::path::Path, token: &str) -> Result<()> {
        let meta = ProfileMeta::load(profile_dir)?;
        let (conn, _, _) = self.sync_parts();
        match &meta.key {
            KeySource::Keyring { user } => {
                token_entry(user)?
                    .set_password(token)
                    .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
                set_meta(conn, "sync.token_store", Some("keyring"))?;
                set_meta(conn, "sync.device_token", None)?;
            }
            KeySource::Passphrase(_) => {
                set_meta(conn, "sync.token_store", Some("database"))?;
                set_meta(conn, "sync.device_token", Some(token))?;
            }
        }
        Ok(())
    }

    /// The device token saved by [`Store::save_device_token`], if signed in.
    pub fn device_token(&self, profile_dir: &std::path::Path) -> Result<Option<Zeroizing<String>>> {
        match get_meta(self.conn(), "sync.token_store")?.as_deref() {
            Some("keyring") => {
                let meta = ProfileMeta::load(profile_dir)?;
                let KeySource::Keyring { user } = &meta.key else {
                    return Ok(None);
                };
                match token_entry(user)?.get_password() {
                    Ok(t) => Ok(Some(Zeroizing::new(t))),
                    Err(keyring_core::Error::NoEntry) => Ok(None),
                    Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
                }
            }
            Some(_) => Ok(get_meta(self.conn(), "sync.device_token")?.map(Zeroizing::new)),
            None => Ok(None),
        }
    }
}

fn token_entry(user: &str) -> Result<keyring_core::Entry> {
    let store: Arc<keyring_core::CredentialStore> = dbus_secret_service_keyring_store::Store::new()
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
    store
        .build(TOKEN_KEYRING_SERVICE, user, None)
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))
}

/// Clocks as the server sends them (`_` stands for every field not listed)
/// to one entry per written field (the zero clock means never written).
fn expand_clocks(fields: &[&str], clocks: &BTreeMap<String, Hlc>) -> BTreeMap<String, Hlc> {
    let mut out = BTreeMap::new();
    if let Some(common) = clocks.get("_") {
        for f in fields.iter().chain([&crm_protocol::schema::DELETED]) {
            out.insert((*f).to_string(), *common);
        }
    }
    for (k, v) in clocks {
        if k != "_" {
            out.insert(k.clone(), *v);
        }
    }
    out.retain(|_, h| *h != Hlc::ZERO);
    out
}

/// A row's clocks as the write path keeps them: `_` is the clock most of
/// its fields share, and only fields with another clock (or none: the
/// oldest) are listed. Same meaning as one entry per field, a fraction of
/// the bytes for the common row written in one go.
fn compact_clocks(fields: &[&str], clocks: &BTreeMap<String, Hlc>) -> Map<String, Value> {
    let of = |f: &str| clocks.get(f).copied().unwrap_or(Hlc::ZERO);
    let mut counts: BTreeMap<Hlc, usize> = BTreeMap::new();
    for f in fields {
        *counts.entry(of(f)).or_default() += 1;
    }
    let common = counts
        .iter()
        .max_by_key(|(h, n)| (**n, **h))
        .map(|(h, _)| *h)
        .unwrap_or(Hlc::ZERO);
    let mut out = Map::new();
    out.insert("_".into(), Value::String(common.to_string()));
    for f in fields {
        if of(f) != common {
            out.insert((*f).to_string(), Value::String(of(f).to_string()));
        }
    }
    // Never let `deleted` fall back to `_`: absent means never deleted.
    let d = clocks
        .get(crm_protocol::schema::DELETED)
        .copied()
        .unwrap_or(Hlc::ZERO);
    out.insert(
        crm_protocol::schema::DELETED.into(),
        Value::String(d.to_string()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContactDraft;
    use std::collections::BTreeMap;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
        (dir, s)
    }

    fn by_email(s: &mut Store, email: &str) -> Option<Uuid> {
        let actor = s.user_actor();
        let tx = s.write(actor).expect("write");
        tx.contact_by_email(email).expect("lookup")
    }

    fn hlc(millis: u64, node: u128) -> Hlc {
        Hlc {
            millis,
            counter: 0,
            node: Uuid::from_u128(node),
        }
    }

    fn remote(id: Uuid, fields: &[(&str, Value)], at: Hlc, deleted: bool) -> RowState {
        let mut clocks: BTreeMap<String, Hlc> =
            fields.iter().map(|(k, _)| (k.to_string(), at)).collect();
        if deleted {
            clocks.insert("deleted".into(), at);
        }
        RowState {
            table: "contacts".into(),
            row_id: id,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            clocks,
            deleted,
        }
    }

    fn full(name: &str, city: &str) -> Vec<(&'static str, Value)> {
        vec![
            ("kind", "person".into()),
            ("display_name", name.into()),
            ("stage", "prospect".into()),
            ("city", city.into()),
            ("tags", serde_json::json!([])),
            ("emails", serde_json::json!(["x@example.com"])),
            ("phones", serde_json::json!([])),
            ("custom", serde_json::json!({})),
        ]
    }

    #[test]
    fn pulled_rows_are_stored_audited_as_sync_and_never_enter_the_outbox() {
        let (_d, mut s) = store();
        let id = Uuid::now_v7();
        let r = remote(id, &full("Ann", "Leeds"), hlc(1_000, 7), false);
        let rep = s
            .apply_remote(std::slice::from_ref(&r), &[], 42)
            .expect("apply");
        assert_eq!(rep.changed, 1);
        assert_eq!(s.outbox_len().expect("len"), 0);
        assert_eq!(
            s.contact(id).expect("contact").city.as_deref(),
            Some("Leeds")
        );
        assert_eq!(s.sync_status().expect("status").cursor, 42);
        let audit = s.audit_for(id).expect("audit");
        assert_eq!(audit[0].actor["kind"], "sync");
        // The same page again changes nothing.
        let rep = s.apply_remote(&[r], &[], 42).expect("again");
        assert_eq!((rep.changed, rep.unchanged), (0, 1));
        // The look-up tables follow: the email finds the contact.
        assert_eq!(by_email(&mut s, "x@example.com"), Some(id));
    }

    #[test]
    fn a_newer_local_edit_beats_an_older_remote_one_field_by_field() {
        let (_d, mut s) = store();
        let mut draft = ContactDraft::default();
        draft.set("first_name", "Ann").expect("draft");
        let c = s.create_contact(&draft).expect("create");
        s.update_contact(c.id, &[("city".into(), "York".into())])
            .expect("edit");
        // A remote write stamped long ago loses to the local edit; a newer
        // one wins for the field it writes and leaves the others alone.
        let old = remote(c.id, &[("city", "Hull".into())], hlc(1, 9), false);
        s.apply_remote(&[old], &[], 1).expect("apply");
        assert_eq!(s.contact(c.id).expect("c").city.as_deref(), Some("York"));
        let newer = remote(
            c.id,
            &[("job_title", "CEO".into())],
            hlc(u64::MAX / 2, 9),
            false,
        );
        s.apply_remote(&[newer], &[], 2).expect("apply");
        let c2 = s.contact(c.id).expect("c");
        assert_eq!(c2.job_title.as_deref(), Some("CEO"));
        assert_eq!(c2.city.as_deref(), Some("York"));
    }

    #[test]
    fn evicting_a_contact_removes_what_hangs_off_it() {
        let (_d, mut s) = store();
        let id = Uuid::now_v7();
        s.apply_remote(
            &[remote(id, &full("Ann", "Leeds"), hlc(1_000, 7), false)],
            &[],
            1,
        )
        .expect("apply");
        let actor = s.user_actor();
        let mut tx = s.write(actor).expect("write");
        tx.add_activity(id, crate::ActivityKind::Note, "hello")
            .expect("note");
        tx.commit().expect("commit");
        let rep = s
            .apply_remote(
                &[],
                &[Eviction {
                    table: "contacts".into(),
                    row_id: id,
                }],
                2,
            )
            .expect("evict");
        assert_eq!(rep.evicted, 2, "the contact and its activity");
        assert!(s.contact(id).is_err());
        assert_eq!(by_email(&mut s, "x@example.com"), None);
    }

    fn tagged(s: &Store, tag: &str) -> Vec<Uuid> {
        let q = crate::ContactQuery {
            tag: Some(tag.into()),
            ..Default::default()
        };
        s.list_contacts(&q)
            .expect("list")
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    /// Pulled rows keep the look-up tables in step like local writes do:
    /// a new row, an edit of its lists, a tombstone, an eviction.
    #[test]
    fn pulled_changes_keep_tags_emails_and_phones_looked_up() {
        let (_d, mut s) = store();
        let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let mut a = full("Ann", "Leeds");
        a.retain(|(k, _)| *k != "tags");
        a.push(("tags", serde_json::json!(["Motor", "VIP"])));
        let mut b = full("Bob", "York");
        b.retain(|(k, _)| *k != "emails" && *k != "tags");
        b.push(("emails", serde_json::json!(["bob@example.com"])));
        b.push(("tags", serde_json::json!(["motor"])));
        s.apply_remote(
            &[
                remote(ann, &a, hlc(1_000, 7), false),
                remote(bob, &b, hlc(1_000, 7), false),
            ],
            &[],
            1,
        )
        .expect("apply");
        assert_eq!(tagged(&s, "MOTOR"), vec![ann, bob]);
        assert_eq!(tagged(&s, "vip"), vec![ann]);
        // An edit of Ann's tags and emails from elsewhere.
        let edit = remote(
            ann,
            &[
                ("tags", serde_json::json!(["Home"])),
                ("emails", serde_json::json!(["ann@example.com"])),
            ],
            hlc(2_000, 7),
            false,
        );
        s.apply_remote(&[edit], &[], 2).expect("edit");
        assert_eq!(tagged(&s, "motor"), vec![bob]);
        assert_eq!(tagged(&s, "home"), vec![ann]);
        assert_eq!(by_email(&mut s, "x@example.com"), None);
        assert_eq!(by_email(&mut s, "ann@example.com"), Some(ann));
        // Ann deleted elsewhere; Bob evicted.
        let gone = remote(ann, &[], hlc(3_000, 7), true);
        s.apply_remote(
            &[gone],
            &[Eviction {
                table: "contacts".into(),
                row_id: bob,
            }],
            3,
        )
        .expect("delete");
        assert!(tagged(&s, "home").is_empty());
        assert!(tagged(&s, "motor").is_empty());
        assert_eq!(by_email(&mut s, "ann@example.com"), None);
        assert_eq!(by_email(&mut s, "bob@example.com"), None);
        assert_eq!(
            s.contact_owners_and_tags(10).expect("tags").1,
            Vec::<String>::new()
        );
    }

    /// Listeners (plugin hooks) hear of pulled changes after the page
    /// commits, with the writing device as the actor; a page that changes
    /// nothing, and an eviction, send nothing.
    #[test]
    fn pulled_changes_are_announced_to_listeners_after_the_commit() {
        let (_d, mut s) = store();
        let heard: std::sync::Arc<std::sync::Mutex<Vec<ChangeEvent>>> = Default::default();
        let h = heard.clone();
        s.subscribe(std::sync::Arc::new(move |e: &ChangeEvent| {
            h.lock().expect("lock").push(e.clone())
        }));
        let id = Uuid::now_v7();
        let new = remote(id, &full("Ann", "Leeds"), hlc(1_000, 7), false);
        s.apply_remote(std::slice::from_ref(&new), &[], 1)
            .expect("new");
        s.apply_remote(&[new], &[], 1).expect("same again");
        let edit = remote(id, &[("city", "York".into())], hlc(2_000, 8), false);
        s.apply_remote(&[edit], &[], 2).expect("edit");
        s.apply_remote(&[remote(id, &[], hlc(3_000, 8), true)], &[], 3)
            .expect("delete");
        let got = std::mem::take(&mut *heard.lock().expect("lock"));
        let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["contact.created", "contact.updated", "contact.deleted"]
        );
        assert!(got.iter().all(|e| e.row_id == id));
        let device = |n| Actor::Sync {
            device: Uuid::from_u128(n),
        };
        assert_eq!((&got[0].actor, &got[1].actor), (&device(7), &device(8)));
        assert_eq!(got[1].fields, ["city"]);
        let other = Uuid::now_v7();
        let bob = remote(other, &full("Bob", "Hull"), hlc(4_000, 7), false);
        s.apply_remote(&[bob], &[], 4).expect("bob");
        heard.lock().expect("lock").clear();
        let gone = Eviction {
            table: "contacts".into(),
            row_id: other,
        };
        s.apply_remote(&[], &[gone], 5).expect("evict");
        let got = heard.lock().expect("lock").clone();
        assert!(got.is_empty(), "an eviction is not announced: {got:?}");
    }

    /// A new row is written once: its audit entry and its op refer to it.
    /// If the row leaves the device before its op is sent, the op goes out
    /// empty, so the server refuses it and it is set aside, not lost silently.
    #[test]
    fn a_new_rows_op_and_audit_entry_refer_to_the_row() {
        let (_d, mut s) = store();
        let mut draft = ContactDraft::default();
        draft.set("first_name", "Ann").expect("draft");
        let c = s.create_contact(&draft).expect("create");
        let stored: (String, String) = s
            .conn()
            .query_row(
                "SELECT a.changes, o.fields FROM audit_log a, sync_outbox o \
                 WHERE a.row_id = ?1 AND o.row_id = ?1",
                [c.id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("stored");
        assert_eq!(stored, ("null".to_string(), "null".to_string()));
        assert_eq!(
            s.outbox_batch(1).expect("batch")[0].fields["first_name"],
            "Ann"
        );
        s.apply_remote(
            &[],
            &[Eviction {
                table: "contacts".into(),
                row_id: c.id,
            }],
            1,
        )
        .expect("evict");
        let ops = s.outbox_batch(1).expect("batch");
        assert_eq!(ops.len(), 1);
        assert!(ops[0].fields.is_empty());
    }

    #[test]
    fn a_refused_op_is_set_aside_and_the_queue_moves_on() {
        let (_d, mut s) = store();
        let mut draft = ContactDraft::default();
        draft.set("first_name", "Ann").expect("draft");
        s.create_contact(&draft).expect("create");
        draft.set("first_name", "Bob").expect("draft");
        s.create_contact(&draft).expect("create");
        let ops = s.outbox_batch(10).expect("batch");
        assert_eq!(ops.len(), 2);
        s.outbox_quarantine(ops[0].op_id, "unknown_field: test")
            .expect("quarantine");
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (1, 1));
        assert_eq!(s.outbox_batch(10).expect("batch")[0].op_id, ops[1].op_id);
    }

    /// The op ids the outbox hands out first.
    fn op_ids(s: &Store, limit: usize) -> Vec<Uuid> {
        s.outbox_batch(limit)
            .expect("batch")
            .iter()
            .map(|o| o.op_id)
            .collect()
    }

    fn contacts(s: &mut Store, names: &[&str]) {
        for n in names {
            let mut draft = ContactDraft::default();
            draft.set("first_name", n).expect("draft");
            s.create_contact(&draft).expect("create");
        }
    }

    /// Acks find their ops wherever they are in the queue (the outbox has
    /// no index by op id): out of order, a gap left, an id never queued or
    /// acknowledged twice, and the queue's order kept.
    #[test]
    fn acks_remove_exactly_their_ops_wherever_they_are_queued() {
        let (_d, mut s) = store();
        contacts(&mut s, &["A", "B", "C", "D", "E"]);
        let ops = s.outbox_batch(10).expect("batch");
        assert_eq!(ops.len(), 5);
        s.outbox_ack(&[ops[3].op_id, ops[0].op_id, Uuid::now_v7()])
            .expect("ack");
        let left: Vec<Uuid> = op_ids(&s, 10);
        assert_eq!(left, vec![ops[1].op_id, ops[2].op_id, ops[4].op_id]);
        // Again, with one already gone: only the other goes.
        s.outbox_ack(&[ops[0].op_id, ops[4].op_id]).expect("ack");
        let left: Vec<Uuid> = op_ids(&s, 10);
        assert_eq!(left, vec![ops[1].op_id, ops[2].op_id]);
        // A set-aside from the middle of what is left.
        contacts(&mut s, &["F"]);
        s.outbox_quarantine(ops[2].op_id, "test")
            .expect("quarantine");
        s.outbox_quarantine(Uuid::now_v7(), "not queued")
            .expect("no-op");
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (2, 1));
        assert_eq!(s.outbox_batch(10).expect("batch")[0].op_id, ops[1].op_id);
        s.outbox_ack(&[]).expect("nothing to ack");
        assert_eq!(s.outbox_len().expect("len"), 2);
    }

    /// Migration 7 rebuilds the outbox without its op-id index and keeps
    /// every queued op, in order, with its id.
    #[test]
    fn migration_7_keeps_the_queue_and_drops_the_op_id_index() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        let before: Vec<Uuid>;
        {
            let mut s = Store::open_path(&path, None, true).expect("store");
            contacts(&mut s, &["A", "B", "C"]);
            before = op_ids(&s, 10);
            // Back to schema 6: the outbox as it was made then.
            s.conn()
                .execute_batch(
                    "CREATE TABLE old_outbox (seq INTEGER PRIMARY KEY, op_id TEXT NOT NULL UNIQUE, \
                     table_name TEXT NOT NULL, row_id TEXT NOT NULL, hlc TEXT NOT NULL, \
                     fields TEXT NOT NULL) STRICT; \
                     INSERT INTO old_outbox SELECT * FROM sync_outbox; \
                     DROP TABLE sync_outbox; \
                     ALTER TABLE old_outbox RENAME TO sync_outbox; \
                     ALTER TABLE plugin_settings DROP COLUMN secret_keys; \
                     PRAGMA user_version = 6;",
                )
                .expect("downgrade");
        }
        let indexes = |s: &Store| -> i64 {
            s.conn()
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sync_outbox'",
                    [],
                    |r| r.get(0),
                )
                .expect("count")
        };
        let mut s = Store::open_path(&path, None, false).expect("reopen");
        assert_eq!(indexes(&s), 0, "the op-id index is gone");
        let after: Vec<Uuid> = op_ids(&s, 10);
        assert_eq!(after, before);
        s.outbox_ack(&[before[1]]).expect("ack");
        assert_eq!(s.outbox_len().expect("len"), 2);
    }

    /// A write creating many rows queues shared ops (see
    /// `store::BulkCreated`), yet the outbox hands out one op per row, in
    /// creation order, with the same op id every time, each row's own
    /// fields and creation stamp; acks in any order and across own and
    /// shared ops empty it exactly; a refused row is set aside alone.
    #[test]
    fn rows_created_in_bulk_are_pushed_one_op_each() {
        let (_d, mut s) = store();
        let n = 16 + 4096 + 40;
        let region = s.default_region();
        let mut ids = Vec::new();
        let actor = s.user_actor();
        let mut tx = s.write(actor).expect("write");
        for i in 0..n {
            let mut d = ContactDraft::default();
            d.set("first_name", &format!("P{i}")).expect("name");
            let c = d.validate(Uuid::now_v7(), region).expect("valid");
            tx.save_contact(&c).expect("save");
            ids.push(c.id);
        }
        tx.commit().expect("commit");
        contacts(&mut s, &["After"]);
        assert_eq!(s.outbox_len().expect("len"), n as i64 + 1);
        let ops = s.outbox_batch(n + 10).expect("batch");
        assert_eq!(ops.len(), n + 1);
        let order: Vec<Uuid> = ops[..n].iter().map(|o| o.row_id).collect();
        assert_eq!(order, ids, "creation order");
        let unique: std::collections::HashSet<Uuid> = ops.iter().map(|o| o.op_id).collect();
        assert_eq!(unique.len(), n + 1, "an op id per row");
        for (k, op) in ops[..n].iter().enumerate() {
            assert_eq!(op.fields["first_name"], format!("P{k}"));
            let row = crate::store::load_any_row(s.conn(), Table::Contacts, op.row_id)
                .expect("load")
                .expect("row");
            assert_eq!(
                Some(op.hlc.to_string().as_str()),
                row.clocks.get("_").and_then(Value::as_str),
                "row {k}: its own creation stamp"
            );
        }
        // Handed out again: the same ops.
        let again = s.outbox_batch(n + 10).expect("batch");
        assert!(again
            .iter()
            .zip(&ops)
            .all(|(a, b)| a.op_id == b.op_id && a.row_id == b.row_id));
        // A row in the middle of a shared op is refused: set aside alone.
        let refused = ops[2000].clone();
        s.outbox_quarantine(refused.op_id, "test")
            .expect("quarantine");
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (n as i64, 1));
        assert!(s
            .outbox_batch(n + 10)
            .expect("batch")
            .iter()
            .all(|o| o.op_id != refused.op_id));
        // Acks out of order, across own and shared ops, some twice.
        let rest: Vec<Uuid> = ops
            .iter()
            .map(|o| o.op_id)
            .filter(|id| *id != refused.op_id)
            .collect();
        s.outbox_ack(&rest[3000..]).expect("ack tail");
        assert_eq!(s.outbox_len().expect("len"), 3000);
        let left: Vec<Uuid> = op_ids(&s, n);
        assert_eq!(left, rest[..3000].to_vec());
        s.outbox_ack(&rest[10..20]).expect("ack middle");
        s.outbox_ack(&rest[..3000])
            .expect("ack the rest, some again");
        assert_eq!(s.outbox_len().expect("len"), 0);
        assert!(s.outbox_batch(10).expect("batch").is_empty());
        let left: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 0, "no empty shared op is left behind");
    }
}
