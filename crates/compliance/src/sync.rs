//! Sync with the agency's server (`/v1/compliance`): push what changed
//! here (and what was deleted), then pull what changed among what this
//! user may see. A record travels whole; the server's last accepted copy
//! wins. A record the server refuses is kept here, set aside with the
//! reason (never dropped, never retried blindly): listed with the store's
//! own refused changes (the Sync screen, `crm sync set-aside`), a person
//! sends it again (`retry`) or gives it up (`discard`). When the user's view
//! changed (a new manager, a role change) the server sends everything they
//! may see and this device drops the rest.

use crm_core::Store;
use crm_protocol::compliance::{CompliancePush, ComplianceRecord, MAX_PUSH};
use crm_sync_client::Connection;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ComplianceError, Result};
use crate::schema::{install, FEATURE};

/// One synced table: the record kind it holds and how its rows map.
struct Synced {
    kind: &'static str,
    table: &'static str,
    /// The record's id from the row's columns (SQL).
    id: &'static str,
    /// The staff member it is about (SQL), for records about staff.
    staff: Option<&'static str>,
    /// The primary key's columns (upserts).
    key: &'static str,
    cols: &'static [&'static str],
}

const TABLES: &[Synced] = &[
    Synced {
        kind: "staff",
        table: "compliance_staff",
        id: "id",
        staff: Some("id"),
        key: "id",
        cols: &[
            "id",
            "name",
            "role",
            "team",
            "manager_id",
            "start_date",
            "contract",
            "user_id",
            "supervision_weeks",
            "appraisal_months",
            "left_date",
            "created_at",
            "updated_at",
        ],
    },
    Synced {
        kind: "check",
        table: "compliance_checks",
        id: "staff_id || ':' || item",
        staff: Some("staff_id"),
        key: "staff_id, item",
        cols: &[
            "staff_id",
            "item",
            "status",
            "details",
            "note",
            "updated_at",
            "updated_by",
        ],
    },
    Synced {
        kind: "evidence",
        table: "compliance_evidence",
        id: "id",
        staff: Some("staff_id"),
        key: "id",
        cols: &[
            "id",
            "staff_id",
            "item",
            "file_name",
            "kind",
            "size",
            "sha256",
            "added_at",
            "added_by",
        ],
    },
    Synced {
        kind: "supervision",
        table: "compliance_supervisions",
        id: "id",
        staff: Some("staff_id"),
        key: "id",
        cols: &[
            "id",
            "staff_id",
            "kind",
            "date",
            "supervisor",
            "notes",
            "created_at",
        ],
    },
    Synced {
        kind: "training",
        table: "compliance_training",
        id: "id",
        staff: Some("staff_id"),
        key: "id",
        cols: &[
            "id",
            "staff_id",
            "course_id",
            "achieved",
            "expires",
            "provider",
            "evidence_id",
            "created_at",
            "created_by",
        ],
    },
    Synced {
        kind: "ack",
        table: "compliance_acks",
        id: "doc_id || ':' || version || ':' || staff_id",
        staff: Some("staff_id"),
        key: "doc_id, version, staff_id",
        cols: &[
            "doc_id",
            "version",
            "staff_id",
            "user_id",
            "at",
            "statement",
        ],
    },
    Synced {
        kind: "course",
        table: "compliance_courses",
        id: "id",
        staff: None,
        key: "id",
        cols: &[
            "id",
            "name",
            "category",
            "renewal_months",
            "active",
            "ord",
            "updated_at",
        ],
    },
    Synced {
        kind: "policy",
        table: "compliance_policies",
        id: "doc_id",
        staff: None,
        key: "doc_id",
        cols: &[
            "doc_id",
            "kind",
            "owner",
            "review_months",
            "next_review",
            "last_review",
            "drafted_by",
            "approval",
            "submitted_version",
            "submitted_by",
            "approved_version",
            "approved_by",
            "approved_at",
            "minor",
            "ack_from_version",
            "created_at",
            "updated_at",
        ],
    },
    Synced {
        kind: "assignment",
        table: "compliance_assignments",
        id: "id",
        staff: None,
        key: "id",
        cols: &["id", "doc_id", "target", "due", "created_at", "created_by"],
    },
];

fn table(kind: &str) -> Option<&'static Synced> {
    TABLES.iter().find(|t| t.kind == kind)
}

/// What a sync did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Records the server accepted.
    pub sent: usize,
    /// Records it refused (kept here, set aside), with why.
    pub refused: Vec<String>,
    /// Records received.
    pub received: usize,
    /// The whole view was received (the user's view changed).
    pub full: bool,
}

fn get(store: &Store, key: &str) -> Result<Option<String>> {
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT value FROM compliance_sync WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()
    })?)
}

/// What waits to be sent: changed rows, then deletions.
fn outgoing(store: &Store) -> Result<Vec<ComplianceRecord>> {
    let mut out = Vec::new();
    store.feature_read(|c| {
        for t in TABLES {
            let mut pairs: Vec<String> = t.cols.iter().map(|c| format!("'{c}', {c}")).collect();
            if t.kind == "policy" {
                // json(): a value loses its JSON subtype through a subquery,
                // and would travel as a string holding an array.
                pairs.push("'statements', json((SELECT json_group_array(statement_id) FROM compliance_policy_statements ps WHERE ps.doc_id = t.doc_id))".into());
            }
            if t.kind == "check" {
                // Stored as JSON text; travels as an object.
                pairs.retain(|p| !p.starts_with("'details'"));
                pairs.push("'details', json(details)".into());
            }
            let sql = format!(
                "SELECT {}, {}, json_object({}) FROM {} t WHERE dirty = 1",
                t.id,
                t.staff.unwrap_or("NULL"),
                pairs.join(", "),
                t.table
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?)))?;
            for row in rows {
                let (id, staff_id, body) = row?;
                out.push(ComplianceRecord {
                    kind: t.kind.into(),
                    id,
                    staff_id,
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                    deleted: false,
                    rev: 0,
                });
            }
        }
        let mut st = c.prepare("SELECT kind, id FROM compliance_tombstones ORDER BY at")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (kind, id) = row?;
            out.push(ComplianceRecord { kind, id, staff_id: None, body: Value::Null, deleted: true, rev: 0 });
        }
        Ok(())
    })?;
    Ok(out)
}

/// How many records wait to be sent (changed rows and deletions; not those
/// the server refused, which wait for a person). Cheap: counts only.
pub fn waiting(store: &Store) -> Result<i64> {
    Ok(store.feature_read(|c| {
        let installed: i64 = c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'compliance_tombstones'",
            [],
            |r| r.get(0),
        )?;
        if installed == 0 {
            return Ok(0);
        }
        let mut n: i64 = c.query_row("SELECT count(*) FROM compliance_tombstones", [], |r| r.get(0))?;
        for t in TABLES {
            n += c.query_row(
                &format!("SELECT count(*) FROM {} WHERE dirty = 1", t.table),
                [],
                |r| r.get::<_, i64>(0),
            )?;
        }
        Ok(n)
    })?)
}

/// Push this device's changes, then pull. Anyone signed in runs it; what
/// they send and receive is what the server allows them.
pub fn sync(store: &mut Store, conn: &Connection, token: &str) -> Result<Outcome> {
    install(store)?;
    let mut out = Outcome::default();
    let pending = outgoing(store)?;
    // Evidence files go first: the server takes an evidence record only
    // once its file is whole there.
    for rec in pending
        .iter()
        .filter(|r| r.kind == "evidence" && !r.deleted)
    {
        upload(store, conn, token, rec)?;
    }
    for batch in pending.chunks(MAX_PUSH) {
        let answer = conn
            .compliance_push(
                token,
                &CompliancePush {
                    records: batch.to_vec(),
                },
            )
            .map_err(|e| ComplianceError::State(format!("compliance records not synced: {e}")))?;
        let actor = store.user_actor();
        store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
            let c = tx.conn();
            for (rec, o) in batch.iter().zip(&answer.outcomes) {
                let Some(t) = table(&rec.kind) else { continue };
                match (&o.refused, rec.deleted) {
                    (None, true) => {
                        c.execute("DELETE FROM compliance_tombstones WHERE kind = ?1 AND id = ?2", params![rec.kind, rec.id])?;
                    }
                    (None, false) => {
                        c.execute(&format!("UPDATE {} SET dirty = 0 WHERE {} = ?1 AND dirty = 1", t.table, t.id), [&rec.id])?;
                        c.execute("DELETE FROM compliance_set_aside WHERE kind = ?1 AND id = ?2", params![rec.kind, rec.id])?;
                        out.sent += 1;
                    }
                    (Some(why), deleted) => {
                        if deleted {
                            c.execute("DELETE FROM compliance_tombstones WHERE kind = ?1 AND id = ?2", params![rec.kind, rec.id])?;
                        } else {
                            c.execute(&format!("UPDATE {} SET dirty = 2 WHERE {} = ?1", t.table, t.id), [&rec.id])?;
                        }
                        c.execute(
                            "INSERT OR REPLACE INTO compliance_set_aside (kind, id, reason, body, at) \
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![rec.kind, rec.id, why, rec.body.to_string(), tx.now()],
                        )?;
                        out.refused.push(format!("{} {}: {why}", rec.kind, rec.id));
                    }
                }
            }
            Ok(())
        })?;
    }
    // A record given up asks for a full answer (see `discard`).
    let resync = get(store, "resync")?.is_some();
    let since = get(store, "rev")?
        .and_then(|r| r.parse().ok())
        .filter(|_| !resync);
    let view = get(store, "view")?;
    let answer = conn
        .compliance_pull(token, since, view.as_deref())
        .map_err(|e| ComplianceError::State(format!("compliance records not synced: {e}")))?;
    out.full = answer.full;
    out.received = answer.records.len();
    let actor = store.user_actor();
    let mut policies = Vec::new();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        if answer.full {
            // Replace what this user may keep: everything not changed here
            // and not sent yet goes (courses are seeded on every device
            // and only ever changed, so they stay).
            for t in TABLES.iter().filter(|t| t.kind != "course") {
                c.execute(&format!("DELETE FROM {} WHERE dirty = 0", t.table), [])?;
            }
            c.execute("DELETE FROM compliance_policy_statements WHERE doc_id NOT IN (SELECT doc_id FROM compliance_policies)", [])?;
        }
        for rec in &answer.records {
            let Some(t) = table(&rec.kind) else { continue };
            let unsent: bool = c
                .query_row(&format!("SELECT dirty = 1 FROM {} WHERE {} = ?1", t.table, t.id), [&rec.id], |r| r.get(0))
                .optional()?
                .unwrap_or(false);
            if unsent {
                continue;
            }
            if rec.deleted {
                c.execute(&format!("DELETE FROM {} WHERE {} = ?1", t.table, t.id), [&rec.id])?;
                continue;
            }
            apply(c, t, &rec.body)?;
            if t.kind == "policy" {
                policies.push(rec.id.clone());
            }
        }
        if answer.full {
            c.execute("DELETE FROM compliance_sync WHERE key = 'resync'", [])?;
        }
        for (k, v) in [("rev", answer.rev.to_string()), ("view", answer.view.clone())] {
            c.execute("INSERT OR REPLACE INTO compliance_sync (key, value) VALUES (?1, ?2)", params![k, v])?;
        }
        Ok(())
    })?;
    download(store, conn, token, &mut out)?;
    // A policy received on an admin's device is under control there too.
    if crate::Access::of(store)?.admin {
        for doc in policies {
            if crm_documents::get(store, &doc).is_ok() {
                crm_documents::set_controlled(store, &doc, true)?;
            }
        }
    }
    Ok(out)
}

fn offline(e: crm_sync_client::SyncError) -> ComplianceError {
    ComplianceError::State(format!("compliance records not synced: {e}"))
}

/// Send the chunks of an evidence file the server does not hold yet. A
/// refusal (not allowed to add evidence) is left to the record's push,
/// which the server then refuses with the reason.
fn upload(store: &Store, conn: &Connection, token: &str, rec: &ComplianceRecord) -> Result<()> {
    let sha = rec
        .body
        .get("sha256")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let size = rec.body.get("size").and_then(Value::as_u64).unwrap_or(0);
    let held = match conn.compliance_file_chunks(token, sha) {
        Ok(h) => h.have,
        Err(crm_sync_client::SyncError::Refused { .. }) => return Ok(()),
        Err(e) => return Err(offline(e)),
    };
    let chunks: Vec<(i64, Vec<u8>)> = store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT n, bytes FROM compliance_evidence_chunks WHERE evidence_id = ?1 ORDER BY n",
        )?;
        let rows = st.query_map([&rec.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    })?;
    for (n, bytes) in chunks {
        if held.contains(&(n as u64)) {
            continue;
        }
        match conn.put_compliance_chunk(token, sha, n as u64, size, bytes) {
            Ok(()) => {}
            Err(crm_sync_client::SyncError::Refused { .. }) => return Ok(()),
            Err(e) => return Err(offline(e)),
        }
    }
    Ok(())
}

/// Fetch the files of evidence records whose bytes are not all here (each
/// chunk kept as it comes: a cut link resumes), checked against their
/// SHA-256 once whole.
fn download(store: &mut Store, conn: &Connection, token: &str, out: &mut Outcome) -> Result<()> {
    let wanting: Vec<(String, String, i64, i64)> = store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT e.id, e.sha256, e.size, (SELECT count(*) FROM compliance_evidence_chunks k WHERE k.evidence_id = e.id) \
             FROM compliance_evidence e",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.collect()
    })?;
    for (id, sha, size, have) in wanting {
        let count = crm_protocol::documents::chunks_of(size.max(0) as u64) as i64;
        if have >= count {
            continue;
        }
        for n in have..count {
            let bytes = match conn.compliance_evidence_chunk(token, &id, n as u64) {
                Ok(b) => b,
                Err(crm_sync_client::SyncError::Refused { .. }) => break,
                Err(e) => return Err(offline(e)),
            };
            let actor = store.user_actor();
            store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
                tx.conn().execute(
                    "INSERT OR REPLACE INTO compliance_evidence_chunks (evidence_id, n, bytes) VALUES (?1, ?2, ?3)",
                    params![id, n, bytes],
                )?;
                Ok(())
            })?;
        }
        let whole = crate::evidence::stored_bytes(store, &id)?;
        use sha2::Digest;
        if whole.len() as i64 != size || hex::encode(sha2::Sha256::digest(&whole)) != sha {
            let actor = store.user_actor();
            store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
                tx.conn().execute(
                    "DELETE FROM compliance_evidence_chunks WHERE evidence_id = ?1",
                    [&id],
                )?;
                Ok(())
            })?;
            out.refused.push(format!(
                "evidence {id}: the file received does not match; fetched again next time"
            ));
        }
    }
    Ok(())
}

/// Write a received record's row (and a policy's statements).
fn apply(c: &rusqlite::Connection, t: &Synced, body: &Value) -> Result<()> {
    let text = body.to_string();
    let values: Vec<String> = t
        .cols
        .iter()
        .map(|col| {
            if *col == "details" {
                "json(json_extract(?1, '$.details'))".to_string()
            } else {
                format!("json_extract(?1, '$.{col}')")
            }
        })
        .collect();
    let updates: Vec<String> = t
        .cols
        .iter()
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    c.execute(
        &format!(
            "INSERT INTO {} ({}, dirty) VALUES ({}, 0) ON CONFLICT({}) DO UPDATE SET {}, dirty = 0",
            t.table,
            t.cols.join(", "),
            values.join(", "),
            t.key,
            updates.join(", ")
        ),
        [&text],
    )?;
    if t.kind == "policy" {
        let doc = body
            .get("doc_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        c.execute(
            "DELETE FROM compliance_policy_statements WHERE doc_id = ?1",
            [doc],
        )?;
        // Devices before the fix above sent the list as a string of JSON.
        let statements = match body.get("statements") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        for s in statements
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            c.execute("INSERT OR IGNORE INTO compliance_policy_statements (doc_id, statement_id) VALUES (?1, ?2)", params![doc, s])?;
        }
    }
    Ok(())
}

/// A record the server refused, kept on this device until a person
/// sends it again or gives it up.
#[derive(Clone, Debug, Serialize)]
pub struct SetAside {
    /// The kind of record (`staff`, `training`, …).
    pub kind: String,
    /// Its id.
    pub id: String,
    /// The server's reason.
    pub reason: String,
    /// The copy that was refused (null for a deletion).
    pub body: Value,
    /// The member of staff it is about, by name, where this device knows.
    pub about: Option<String>,
    /// When it was set aside (RFC 3339).
    pub at: String,
}

/// What a refused record is named by for retry and discard, beside the
/// store's own refused changes (named by their uuid).
const OP_PREFIX: &str = "compliance:";

impl SetAside {
    /// `compliance:<kind>:<id>`, as the app and the CLI list it.
    pub fn op_id(&self) -> String {
        format!("{OP_PREFIX}{}:{}", self.kind, self.id)
    }
}

/// The kind and id in an op id made by [`SetAside::op_id`], or `None` for
/// any other (a store change's uuid).
pub fn parse_op_id(raw: &str) -> Option<(&str, &str)> {
    raw.trim().strip_prefix(OP_PREFIX)?.split_once(':')
}

/// Records the server refused, kept here, oldest first.
pub fn set_aside(store: &Store) -> Result<Vec<SetAside>> {
    if !crate::schema::installed(store)? {
        return Ok(Vec::new());
    }
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT a.kind, a.id, a.reason, a.body, a.at, s.name FROM compliance_set_aside a \
             LEFT JOIN compliance_staff s ON s.id = CASE a.kind WHEN 'staff' THEN a.id \
               ELSE json_extract(a.body, '$.staff_id') END \
             ORDER BY a.at, a.kind, a.id",
        )?;
        let rows = st.query_map([], |r| {
            let body: String = r.get(3)?;
            Ok(SetAside {
                kind: r.get(0)?,
                id: r.get(1)?,
                reason: r.get(2)?,
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
                at: r.get(4)?,
                about: r.get(5)?,
            })
        })?;
        rows.collect()
    })?)
}

/// How many records the server refused and this device keeps.
pub fn set_aside_count(store: &Store) -> Result<i64> {
    if !crate::schema::installed(store)? {
        return Ok(0);
    }
    Ok(store.feature_read(|c| {
        c.query_row("SELECT count(*) FROM compliance_set_aside", [], |r| {
            r.get(0)
        })
    })?)
}

/// The refused record `kind` `id` and the table it lives in.
fn refused_one(store: &Store, kind: &str, id: &str) -> Result<(SetAside, &'static Synced)> {
    let a = set_aside(store)?
        .into_iter()
        .find(|a| a.kind == kind && a.id == id)
        .ok_or_else(|| ComplianceError::NotFound {
            what: "set-aside record",
            id: format!("{kind} {id}"),
            hint: "list them with `crm sync set-aside`",
        })?;
    let t = table(kind)
        .ok_or_else(|| ComplianceError::State(format!("{kind} records are not synced")))?;
    Ok((a, t))
}

/// Send a refused record again at the next sync (after the reason was
/// dealt with, say the person moved back under this manager).
pub fn retry(store: &mut Store, kind: &str, id: &str) -> Result<()> {
    let (a, t) = refused_one(store, kind, id)?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        if a.body.is_null() {
            c.execute(
                "INSERT OR REPLACE INTO compliance_tombstones (kind, id, at) VALUES (?1, ?2, ?3)",
                params![kind, id, tx.now()],
            )?;
        } else {
            let dirty: Option<i64> = c
                .query_row(
                    &format!("SELECT dirty FROM {} WHERE {} = ?1", t.table, t.id),
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            // Changed here since (dirty 1): that newer copy goes, not the
            // refused one. Still the refused copy (2): sent as it is. The
            // server's copy came meanwhile, or the record left this device:
            // the person asked for theirs, so it is put back and sent (the
            // last accepted copy wins, as ever).
            if dirty != Some(1) {
                if dirty != Some(2) {
                    apply(c, t, &a.body)?;
                }
                c.execute(
                    &format!("UPDATE {} SET dirty = 1 WHERE {} = ?1", t.table, t.id),
                    [id],
                )?;
            }
        }
        c.execute(
            "DELETE FROM compliance_set_aside WHERE kind = ?1 AND id = ?2",
            params![kind, id],
        )?;
        tx.audit(
            t.table,
            id,
            "sync.retry",
            &serde_json::json!({ "reason": a.reason }),
        )?;
        Ok(())
    })
}

/// Give a refused record up: this device's copy goes, and the next sync
/// brings back the server's (if this user may see one) with everything
/// else they may see. A course stays (courses are seeded on every device
/// and a full answer does not replace them): it is only no longer sent.
pub fn discard(store: &mut Store, kind: &str, id: &str) -> Result<()> {
    let (a, t) = refused_one(store, kind, id)?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        if t.kind == "course" {
            c.execute(&format!("UPDATE {} SET dirty = 0 WHERE {} = ?1 AND dirty = 2", t.table, t.id), [id])?;
        } else {
            let gone = c.execute(&format!("DELETE FROM {} WHERE {} = ?1 AND dirty = 2", t.table, t.id), [id])?;
            if gone > 0 && t.kind == "evidence" {
                c.execute("DELETE FROM compliance_evidence_chunks WHERE evidence_id = ?1", [id])?;
            }
            if t.kind == "policy" {
                c.execute("DELETE FROM compliance_policy_statements WHERE doc_id NOT IN (SELECT doc_id FROM compliance_policies)", [])?;
            }
        }
        c.execute("DELETE FROM compliance_set_aside WHERE kind = ?1 AND id = ?2", params![kind, id])?;
        // The next pull asks for everything, whatever a sync running now
        // stores as its revision: cleared only by a full answer.
        c.execute("INSERT OR REPLACE INTO compliance_sync (key, value) VALUES ('resync', '1')", [])?;
        tx.audit(t.table, id, "sync.discard", &serde_json::json!({ "reason": a.reason, "copy": a.body }))?;
        Ok(())
    })
}
