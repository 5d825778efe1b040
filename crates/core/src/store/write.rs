//! [`WriteTx`], the one write path: every change writes the row, stamps
//! each changed field's clock, appends an audit entry and (for a local
//! change) an outbox op in one transaction, then hands [`ChangeEvent`]s
//! to the listeners after the commit.

use super::*;

/// What the server would refuse never enters the outbox (it would be set
/// aside at the next sync, far from whoever wrote it): every value written
/// meets the synced schema's bounds.
pub(crate) fn check_field(field: &crm_protocol::schema::Field, v: &Value) -> Result<()> {
    field.check(v).map_err(|expected| {
        crate::ValidationError::new(field.name, format!("must be {expected}"))
    })?;
    Ok(())
}

/// The entries of map `new` that differ from map `old`: their new value,
/// or `null` for one removed (a map field's op, see `Kind::TextMap`).
pub(crate) fn changed_entries(old: &Value, new: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in new {
        if old.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// A new row's values in column order, checked against the synced
/// schema's bounds and converted for SQLite. [`WriteTx::put`] makes one
/// for every new row; an import makes them on its reader thread.
pub(crate) struct NewRow {
    table: Table,
    values: Vec<rusqlite::types::Value>,
}

impl NewRow {
    /// The row `after` (fields it does not name are NULL), or the first
    /// value past a bound.
    pub(crate) fn new(table: Table, after: &Map<String, Value>) -> Result<NewRow> {
        let spec = table.spec();
        let mut values = Vec::with_capacity(spec.fields.len());
        for field in spec.fields {
            let v = after.get(field.name).unwrap_or(&Value::Null);
            check_field(field, v)?;
            values.push(SqlArg(v).owned());
        }
        Ok(NewRow { table, values })
    }
}

/// A write transaction: the one way data changes.
pub struct WriteTx<'s> {
    pub(crate) tx: rusqlite::Transaction<'s>,
    pub(crate) tenant_text: String,
    pub(crate) clock: &'s Clock,
    pub(crate) listeners: &'s [Listener],
    pub(crate) actor: Actor,
    pub(crate) actor_json: String,
    pub(crate) events: Vec<ChangeEvent>,
    /// Rows this write created, per table, and the shared audit entry the
    /// later ones go into (see [`crate::bulk`]).
    pub(crate) created: Vec<(Table, usize, Option<crate::bulk::BulkCreated>)>,
}

/// The body of a new row's audit entry and sync op: not a copy of the row
/// (which tripled what an import writes) but a reference to it. The sync op
/// is filled from the row when it is pushed ([`Store::outbox_batch`]); the
/// audit entry's values are worked back from the row and the later entries'
/// `[old, new]` pairs ([`Store::audit_for`]).
pub(crate) const BY_ROW: &str = "null";

impl<'s> WriteTx<'s> {
    /// The underlying transaction, for reads inside the write.
    pub(crate) fn conn(&self) -> &Connection {
        &self.tx
    }

    /// A statement for `sql` from the connection's statement cache: for
    /// SQL run row after row.
    /// Who writes, as the audit log records it.
    pub(crate) fn actor_json(&self) -> &str {
        &self.actor_json
    }

    pub(crate) fn stmt(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>> {
        Ok(self.tx.prepare_cached(sql)?)
    }

    /// Who this write is for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Write a row: insert when `before` is `None`, else update the fields
    /// that differ. Returns the changed field names (empty: nothing to do).
    pub(crate) fn put(
        &mut self,
        table: Table,
        id: Uuid,
        before: Option<&StoredRow>,
        after: &Map<String, Value>,
    ) -> Result<Vec<&'static str>> {
        self.put_named(table, id, before, after, &[])
    }

    /// [`WriteTx::put`], also writing the fields in `named` when their value
    /// is the one stored: a person who sets a field on purpose means it,
    /// even to the value this device still shows while another device
    /// changed it meanwhile (unwritten, the older change would win).
    pub(crate) fn put_named(
        &mut self,
        table: Table,
        id: Uuid,
        before: Option<&StoredRow>,
        after: &Map<String, Value>,
        named: &[&str],
    ) -> Result<Vec<&'static str>> {
        let Some(b) = before else {
            let row = NewRow::new(table, after)?;
            self.insert(id, &row)?;
            return Ok(table.fields().to_vec());
        };
        let spec = table.spec();
        let mut changed: Vec<(&'static str, &Value)> = Vec::with_capacity(spec.fields.len());
        // A map field's op carries only its entries that changed.
        let mut entries: Vec<(&'static str, Map<String, Value>)> = Vec::new();
        for field in spec.fields {
            // An update leaves the fields `after` does not name alone.
            let f = field.name;
            let Some(new) = after.get(f) else { continue };
            let old = b.fields.get(f).unwrap_or(&Value::Null);
            if field.kind == crm_protocol::schema::Kind::TextMap {
                let diff = changed_entries(old, new);
                if diff.is_empty() {
                    continue;
                }
                entries.push((f, diff));
            } else if old == new && !named.contains(&f) {
                continue;
            }
            check_field(field, new)?;
            changed.push((f, new));
        }
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        let hlc_text = self.stamp_after(&b.clocks).to_string();
        let now = now_text();
        let id_text = id.to_string();
        let mut clocks = b.clocks.clone();
        let mut audit = Map::new();
        let mut out_fields = Map::new();
        for (f, new) in &changed {
            let old = b.fields.get(*f).cloned().unwrap_or(Value::Null);
            match entries.iter().find(|(name, _)| name == f) {
                Some((_, diff)) => {
                    for key in diff.keys() {
                        let clock = crm_protocol::schema::entry_clock(f, key);
                        clocks.insert(clock, Value::String(hlc_text.clone()));
                    }
                    out_fields.insert((*f).to_string(), Value::Object(diff.clone()));
                }
                None => {
                    clocks.insert((*f).to_string(), Value::String(hlc_text.clone()));
                    out_fields.insert((*f).to_string(), (*new).clone());
                }
            }
            audit.insert((*f).to_string(), Value::Array(vec![old, (*new).clone()]));
        }
        let clocks = serde_json::to_string(&clocks)?;
        self.update_row(table, &id_text, &changed, false, &clocks, &now)?;
        let names: Vec<&'static str> = changed.iter().map(|(f, _)| *f).collect();
        self.record(
            table,
            id,
            &id_text,
            Action::Updated,
            &hlc_text,
            &now,
            &serde_json::to_string(&audit)?,
            &serde_json::to_string(&out_fields)?,
            &names,
        )?;
        Ok(names)
    }

    /// Insert a new row made beforehand ([`NewRow::new`], e.g. on an
    /// import's reader thread, which leaves the writer only the writing).
    pub(crate) fn insert(&mut self, id: Uuid, row: &NewRow) -> Result<()> {
        let table = row.table;
        let hlc_text = self.clock.now().to_string();
        let now = now_text();
        let id_text = id.to_string();
        let clocks = format!("{{\"_\":\"{hlc_text}\"}}");
        self.insert_row(&id_text, row, &clocks, false, &now)?;
        // A new row's audit entry and sync op refer to the row itself
        // instead of copying it (see [`BY_ROW`]).
        self.record(
            table,
            id,
            &id_text,
            Action::Created,
            &hlc_text,
            &now,
            BY_ROW,
            BY_ROW,
            table.fields(),
        )
    }

    /// Tombstone a row. Returns false if it did not exist (or was deleted).
    pub(crate) fn tombstone(&mut self, table: Table, id: Uuid) -> Result<bool> {
        let Some(before) = load_row(&self.tx, table, id)? else {
            return Ok(false);
        };
        let hlc = self.stamp_after(&before.clocks);
        let now = now_text();
        let id_text = id.to_string();
        let mut clocks = before.clocks;
        clocks.insert("deleted".into(), Value::String(hlc.to_string()));
        let clocks = Value::Object(clocks).to_string();
        self.update_row(table, &id_text, &[], true, &clocks, &now)?;
        let audit = Value::Object(before.fields).to_string();
        self.record(
            table,
            id,
            &id_text,
            Action::Deleted,
            &hlc.to_string(),
            &now,
            &audit,
            r#"{"deleted":true}"#,
            &["deleted"],
        )?;
        Ok(true)
    }

    /// A stamp for a change of a row whose fields carry `clocks`: after
    /// every stamp the row shows, whatever this process's clock says (it
    /// may have started after a fast clock's stamps were stored, or the
    /// wall clock may have been set back). Otherwise the change would lose
    /// to the value it replaces, everywhere but here.
    fn stamp_after(&self, clocks: &Map<String, Value>) -> crm_protocol::Hlc {
        let newest = clocks
            .values()
            .filter_map(|v| v.as_str()?.parse::<crm_protocol::Hlc>().ok())
            .max();
        if let Some(h) = newest {
            self.clock.advance_past(h);
        }
        self.clock.now()
    }

    /// The INSERT of a row, local or pulled: its values, clocks (JSON) and
    /// whether it is a tombstone.
    pub(crate) fn insert_row(
        &self,
        id_text: &str,
        row: &NewRow,
        clocks: &str,
        deleted: bool,
        now: &str,
    ) -> Result<()> {
        let deleted = deleted as i64;
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(row.values.len() + 6);
        args.push(&id_text);
        args.push(&self.tenant_text);
        for v in &row.values {
            args.push(v);
        }
        args.push(&clocks);
        args.push(&deleted);
        args.push(&now);
        args.push(&now);
        self.stmt(row.table.insert_sql())?
            .execute(args.as_slice())?;
        Ok(())
    }

    /// The UPDATE of a row, local or pulled: the `changed` fields, the
    /// tombstone when `delete`, and always its clocks (JSON) and time.
    pub(crate) fn update_row(
        &self,
        table: Table,
        id_text: &str,
        changed: &[(&str, &Value)],
        delete: bool,
        clocks: &str,
        now: &str,
    ) -> Result<()> {
        let mut sql = format!("UPDATE {} SET ", table.name());
        for (f, _) in changed {
            sql.push_str(f);
            sql.push_str(" = ?, ");
        }
        if delete {
            sql.push_str("deleted = 1, ");
        }
        sql.push_str("clocks = ?, updated_at = ? WHERE id = ?");
        let vals: Vec<SqlArg<'_>> = changed.iter().map(|(_, v)| SqlArg(v)).collect();
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(changed.len() + 3);
        for v in &vals {
            args.push(v);
        }
        args.push(&clocks);
        args.push(&now);
        args.push(&id_text);
        self.stmt(&sql)?.execute(args.as_slice())?;
        Ok(())
    }

    /// Act for someone else from here on (a pulled row: the device that
    /// wrote it).
    pub(crate) fn set_actor(&mut self, actor: Actor) {
        if self.actor != actor {
            self.actor_json = actor.to_json();
            self.actor = actor;
        }
    }

    /// Move this device's clock past a stamp it has seen. The server
    /// bounds clocks already; a stamp it let through is never a reason to
    /// refuse a row.
    pub(crate) fn observe(&self, seen: crm_protocol::Hlc) {
        let _ = self.clock.observe(seen);
    }

    /// The audit entry for a change, by this write's actor.
    pub(crate) fn audit(
        &self,
        table: &str,
        row_id: &str,
        action: &str,
        changes: &str,
        now: &str,
    ) -> Result<()> {
        write_audit(
            &self.tx,
            now,
            &self.actor_json,
            table,
            row_id,
            action,
            changes,
        )
    }

    /// Tell listeners, after the commit, that this write changed a row.
    pub(crate) fn announce(&mut self, table: Table, id: Uuid, action: Action, names: &[&str]) {
        if self.listeners.is_empty() {
            return;
        }
        let imported = matches!(self.actor, Actor::Import { .. }) && action == Action::Created;
        let verb = if imported {
            "imported"
        } else {
            action.as_str()
        };
        self.events.push(ChangeEvent {
            name: format!("{}.{}", table.kind(), verb),
            table,
            row_id: id,
            action,
            actor: self.actor.clone(),
            fields: names.iter().map(|n| n.to_string()).collect(),
        });
    }

    /// A local change's audit entry, sync op and change event.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        table: Table,
        id: Uuid,
        id_text: &str,
        action: Action,
        hlc_text: &str,
        now: &str,
        audit: &str,
        out_fields: &str,
        names: &[&'static str],
    ) -> Result<()> {
        let bulk = action == Action::Created
            && audit == BY_ROW
            && out_fields == BY_ROW
            && self.bulk_created(table, id, hlc_text, now)?;
        if !bulk {
            self.audit(table.name(), id_text, action.as_str(), audit, now)?;
            self.stmt(
                "INSERT INTO sync_outbox (op_id, table_name, row_id, hlc, fields) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                Uuid::now_v7().to_string(),
                table.name(),
                id_text,
                hlc_text,
                out_fields
            ])?;
        }
        self.announce(table, id, action, names);
        Ok(())
    }

    /// Collect no change events: for a write that is never committed (a
    /// dry run), whose events would never be sent.
    pub(crate) fn collect_no_events(&mut self) {
        self.listeners = &[];
        self.events = Vec::new();
    }

    /// Run a raw statement inside the write (local-only index tables).
    pub(crate) fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
        Ok(self.tx.prepare_cached(sql)?.execute(p)?)
    }

    /// Commit, then tell listeners what changed. A listener that panics is
    /// contained; the data is already committed.
    pub fn commit(mut self) -> Result<()> {
        for (_, _, bulk) in std::mem::take(&mut self.created) {
            if let Some(b) = bulk {
                self.finish_bulk(b)?;
            }
        }
        let WriteTx {
            tx,
            listeners,
            events,
            ..
        } = self;
        tx.commit()?;
        dispatch(listeners, &events);
        Ok(())
    }
}
