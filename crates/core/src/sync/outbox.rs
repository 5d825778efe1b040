//! The outbox: changes waiting to be pushed, handed out in order (a shared
//! creation op one row at a time), acknowledged, or set aside when the
//! server refuses one.

use super::*;

/// The fields an outbox op carries. A new row's op refers to the row
/// ([`crate::store::BY_ROW`]) and carries every field as the row holds it
/// now: later edits have ops of their own with later clocks, so the server
/// ends with the same values either way. A row that has left this device
/// (evicted before its op was sent) gives no fields, and the server refuses
/// the op, which sets it aside.
pub(crate) fn op_fields(
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

pub(crate) fn bad_outbox(what: String) -> CoreError {
    CoreError::BadProfile {
        path: std::path::PathBuf::from(crate::store::DB_FILE),
        reason: format!("sync outbox: {what}"),
    }
}

/// The rows a shared creation op names.
pub(crate) fn shared_rows(fields: &str) -> Result<Vec<Uuid>> {
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
pub(crate) fn created_row(
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
pub(crate) enum Found {
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
                conn.prepare_cached(
                    "UPDATE sync_outbox SET row_count = ?1, fields = ?2 WHERE seq = ?3",
                )?
                .execute(params![stay.len() as i64, fields, seq])?;
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
pub(crate) fn outbox_find(conn: &rusqlite::Connection, op_ids: &[Uuid]) -> Result<Vec<Found>> {
    let mut wanted: std::collections::HashSet<Uuid> = op_ids.iter().copied().collect();
    let mut found = Vec::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut st = conn.prepare_cached(
        "SELECT seq, op_id, table_name, row_count, fields FROM sync_outbox ORDER BY seq",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let Some(id) = crate::records::uuid_in(r.get_ref(1)?) else {
            continue;
        };
        // A shared creation op (`bulk`) counts its rows.
        let shared = r.get::<_, Option<i64>>(3)?.is_some();
        if shared {
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

impl Store {
    /// The oldest `limit` ops of the outbox, ready to push. A shared
    /// creation op (see [`crate::bulk`]) hands out one op per row it
    /// names, in order.
    pub fn outbox_batch(&self, limit: usize) -> Result<Vec<SyncOp>> {
        let tenant = self.identity().tenant_id;
        let mut st = self.conn().prepare_cached(
            "SELECT op_id, table_name, row_id, hlc, fields, row_count FROM sync_outbox ORDER BY seq",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next()? else { break };
            let (op_id, table, row_id, hlc, fields, shared): (
                String,
                String,
                String,
                String,
                String,
                Option<i64>,
            ) = (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            );
            let op_id = Uuid::parse_str(&op_id).map_err(|e| bad_outbox(format!("op id: {e}")))?;
            let hlc: Hlc = hlc.parse().map_err(|e| bad_outbox(format!("{e}")))?;
            if shared.is_some() {
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
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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
}
