//! A scratch copy of a profile: its whole database copied into this
//! process's memory, for work whose writes must never reach the profile (a
//! plugin's dry run runs its real writes there and reports what they did).
//!
//! The copy is made through SQLCipher's own export into an in-memory
//! database (the documented way to decrypt; its backup API refuses to copy
//! between an encrypted and a plain database), then moved onto a connection
//! of its own. Nothing is written to disk: SQLCipher keeps temporary data in
//! memory, and the profile is only read, in one read transaction, so the
//! copy is one consistent state. The copy has no key, no checkpointer and
//! no listeners; it cannot open second connections.

use super::*;

impl Store {
    /// A copy of this store's database in memory (see the module docs),
    /// with this store's identity and region. Writes to it go through the
    /// same write path (validated, audited, queued for sync) and vanish
    /// with it.
    pub fn scratch_copy(&self) -> Result<Store> {
        if self.scratch {
            return Err(scratch_refusal("a scratch copy is not copied again"));
        }
        let (mut src, _) =
            open_connection(&self.path, self.key.as_ref(), false, Some(self.layout))?;
        src.execute_batch("ATTACH DATABASE ':memory:' AS scratch KEY '';")?;
        // One read transaction: the export sees one committed state.
        src.execute_batch("BEGIN")?;
        let exported = src
            .query_row("SELECT sqlcipher_export('scratch')", [], |_| Ok(()))
            .and_then(|()| src.query_row("PRAGMA main.user_version", [], |r| r.get::<_, i64>(0)));
        src.execute_batch("COMMIT")?;
        let version = exported?;
        let bytes = src.serialize("scratch")?;
        let mut conn = Connection::open_in_memory()?;
        conn.deserialize_read_exact("main", &bytes[..], bytes.len(), false)?;
        drop(bytes);
        drop(src);
        conn.execute_batch(&format!(
            "PRAGMA user_version = {version}; PRAGMA application_id = {APPLICATION_ID};"
        ))?;
        Ok(Store {
            conn,
            path: self.path.clone(),
            identity: self.identity.clone(),
            clock: Clock::new(self.clock.node()),
            listeners: Vec::new(),
            default_region: self.default_region,
            acting: None,
            key: None,
            layout: self.layout,
            checkpointer: None,
            scratch: true,
            catalog_authority: false,
        })
    }

    /// Whether this is a scratch copy ([`Store::scratch_copy`]).
    pub fn is_scratch(&self) -> bool {
        self.scratch
    }
}

/// Why a scratch copy refuses something a profile's store would do.
pub(crate) fn scratch_refusal(what: &str) -> CoreError {
    CoreError::Forbidden(format!("{what}: it lives only in memory"))
}

/// One record a run of writes touched, as its audit entries tell it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowChange {
    /// The table (`contacts`, `tasks`, …).
    pub table: String,
    /// The record's id.
    pub row_id: String,
    /// `created`, `updated` or `deleted`: `created` when the run made it
    /// (however often it changed it after), else its last action.
    pub action: String,
    /// For a creation the values it has now; else `{field: [before, after]}`
    /// over the whole run (a field changed and changed back is left out).
    pub changes: Map<String, Value>,
}

impl Store {
    /// Where the audit trail ends now: [`Store::changes_since`] this mark
    /// tells what was written after it.
    pub fn audit_mark(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM audit_log", [], |r| {
                r.get(0)
            })?)
    }

    /// The records written after `mark` ([`Store::audit_mark`]), in the
    /// order first touched, each with its changes over the whole span.
    pub fn changes_since(&self, mark: i64) -> Result<Vec<RowChange>> {
        self.changes_between(mark, i64::MAX, None)
    }

    /// [`Store::changes_since`] for the span `(from, to]` of the audit
    /// trail, and only what `plugin` wrote when one is named: what one run
    /// of a plugin changed (its run history keeps the span).
    pub fn changes_between(
        &self,
        from: i64,
        to: i64,
        plugin: Option<&str>,
    ) -> Result<Vec<RowChange>> {
        let mut st = self.conn.prepare(
            "SELECT table_name, row_id, action, changes FROM audit_log WHERE seq > ?1 AND seq <= ?2 \
             AND (?3 IS NULL OR json_extract(actor, '$.plugin') = ?3) ORDER BY seq",
        )?;
        let rows = st.query_map(rusqlite::params![from, to, plugin], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut order: Vec<(String, String)> = Vec::new();
        let mut by_row: std::collections::HashMap<(String, String), RowChange> = Default::default();
        for row in rows {
            let (table, row_id, action, changes) = row?;
            let changes: Value = serde_json::from_str(&changes)?;
            // A shared creation entry names its rows (see `crate::bulk`).
            let ids: Vec<String> = if row_id.is_empty() {
                changes["rows"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                vec![row_id]
            };
            for id in ids {
                let key = (table.clone(), id.clone());
                let entry = by_row.entry(key.clone()).or_insert_with(|| {
                    order.push(key);
                    RowChange {
                        table: table.clone(),
                        row_id: id,
                        action: action.clone(),
                        changes: Map::new(),
                    }
                });
                if entry.action != "created" {
                    entry.action = action.clone();
                }
                if let (true, Value::Object(m)) = (action == "updated", &changes) {
                    for (field, pair) in m {
                        let (Some(before), Some(after)) = (
                            pair.as_array().and_then(|p| p.first()),
                            pair.as_array().and_then(|p| p.get(1)),
                        ) else {
                            continue;
                        };
                        match entry.changes.get_mut(field).and_then(Value::as_array_mut) {
                            Some(span) if span.len() == 2 => span[1] = after.clone(),
                            _ => {
                                entry.changes.insert(
                                    field.clone(),
                                    Value::Array(vec![before.clone(), after.clone()]),
                                );
                            }
                        }
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(order.len());
        for key in order {
            let Some(mut change) = by_row.remove(&key) else {
                continue;
            };
            if change.action == "created" {
                let now = crate::sync::table_named(&change.table)
                    .zip(Uuid::parse_str(&change.row_id).ok())
                    .map(|(t, id)| load_any_row(&self.conn, t, id))
                    .transpose()?
                    .flatten();
                change.changes = now
                    .map(|r| r.fields.into_iter().filter(|(_, v)| !v.is_null()).collect())
                    .unwrap_or_default();
            } else {
                change.changes.retain(|_, span| span.get(0) != span.get(1));
            }
            out.push(change);
        }
        Ok(out)
    }
}

impl Store {
    /// The ids of `table`'s live records, oldest first, at most `limit`
    /// (what a dry run over "every record" goes through).
    pub fn live_ids(&self, table: Table, limit: usize) -> Result<Vec<Uuid>> {
        let sql = format!(
            "SELECT id FROM {} WHERE deleted = 0 ORDER BY id LIMIT ?1",
            table.name()
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let ids = st.query_map([limit.min(i64::MAX as usize) as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for id in ids {
            if let Ok(id) = Uuid::parse_str(&id?) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// How many live records `table` has.
    pub fn count_live(&self, table: Table) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM {} WHERE deleted = 0", table.name()),
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as usize)
    }
}
