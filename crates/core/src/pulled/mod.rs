//! Merging what the server sends: pulled rows and evictions, through the
//! same write path as local changes ([`WriteTx`]'s row writers, audit
//! writer and change events), without outbox ops (what came from the
//! server is not sent back).
//!
//! A pulled row this device cannot store (a record type this version does
//! not know, a value its schema refuses, a field it requires missing) is
//! **held**, never skipped: kept whole in `sync_held` with the reason, shown
//! in the sync status, and tried again after every page, so it lands as
//! soon as what it was waiting for arrives (or after an update that knows
//! its type). The cursor moves on; nothing pulled is lost.

use crm_protocol::wire::{Eviction, PullResponse, RowState, Writer};
use crm_protocol::Hlc;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::store::{load_any_row, now_text, Action, Actor, NewRow, Store, Table, WriteTx, BY_ROW};
use crate::sync::{compact_clocks, expand_clocks, set_meta, table_named};

/// What merging a page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Rows inserted or changed (held rows that landed included).
    pub changed: usize,
    /// Rows already up to date.
    pub unchanged: usize,
    /// Rows removed by evictions (children of evicted contacts included).
    pub evicted: usize,
    /// Rows of this page that could not be stored and are held (see the
    /// module's documentation).
    pub held: usize,
    /// Rows held earlier that were stored now.
    pub released: usize,
    /// The first [`ApplyReport::LISTED`] rows this page changed (table, id),
    /// for a front end to say what arrived.
    pub arrived: Vec<(String, Uuid)>,
}

impl ApplyReport {
    /// Most rows listed in [`ApplyReport::arrived`].
    pub const LISTED: usize = 50;
}

/// A pulled row waiting on this device to be stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldRow {
    /// The synced table, as the server named it.
    pub table: String,
    /// The row's id.
    pub row_id: Uuid,
    /// Why it could not be stored, the last time it was tried.
    pub reason: String,
    /// When it was first held (RFC 3339).
    pub held_at: String,
    /// How many times it was tried.
    pub tries: i64,
}

/// How one pulled row was merged.
enum Merged {
    Changed,
    Unchanged,
}

/// A row that cannot be stored here, and why (for the user: which field,
/// what is wrong).
struct Refused(String);

impl Store {
    /// Merge a page from the server: evictions first, then rows, then the
    /// rows held earlier, then hold what could not be stored, then save
    /// `cursor`, all in one transaction.
    /// Nothing enters the outbox. After the commit, listeners get a
    /// `ChangeEvent` (actor: sync, with the writing device) for each row
    /// that changed here, as for local writes, so plugin hooks see changes
    /// made on other devices too. Evictions are not changes to the data
    /// and send none.
    pub fn apply_remote(
        &mut self,
        rows: &[RowState],
        evictions: &[Eviction],
        cursor: i64,
    ) -> Result<ApplyReport> {
        self.apply_parts(rows, evictions, &[], cursor)
    }

    /// [`Store::apply_remote`] for a whole page as pulled, keeping the
    /// writers it names (see `sync::writers`) in the same transaction.
    pub fn apply_page(&mut self, page: &PullResponse) -> Result<ApplyReport> {
        self.apply_parts(&page.rows, &page.evictions, &page.writers, page.cursor)
    }

    fn apply_parts(
        &mut self,
        rows: &[RowState],
        evictions: &[Eviction],
        writers: &[Writer],
        cursor: i64,
    ) -> Result<ApplyReport> {
        let mut tx = self.write(Actor::Sync {
            device: Uuid::nil(),
        })?;
        let mut report = ApplyReport::default();
        let now = now_text();
        crate::sync::writers::remember(tx.conn(), writers, &now)?;
        for ev in evictions {
            evict(&mut tx, ev, &now, &mut report)?;
        }
        let mut refused = Vec::new();
        for row in rows {
            match merge(&mut tx, row, &now)? {
                Ok(Merged::Changed) => {
                    report.changed += 1;
                    if report.arrived.len() < ApplyReport::LISTED {
                        report.arrived.push((row.table.clone(), row.row_id));
                    }
                }
                Ok(Merged::Unchanged) => report.unchanged += 1,
                Err(reason) => refused.push((row, reason)),
            }
        }
        // What this page brought may be what a held row waited for.
        retry_held(&mut tx, &now, &mut report)?;
        for (row, Refused(reason)) in refused {
            tracing::warn!(table = %row.table, row = %row.row_id, %reason, "a pulled row is held: it could not be stored");
            hold(&tx, row, &reason, &now)?;
            report.held += 1;
        }
        set_meta(tx.conn(), "sync.cursor", Some(&cursor.to_string()))?;
        tx.commit()?;
        Ok(report)
    }

    /// The pulled rows waiting to be stored, oldest first.
    pub fn held_rows(&self) -> Result<Vec<HeldRow>> {
        let mut st = self.conn().prepare(
            "SELECT table_name, row_id, reason, held_at, tries FROM sync_held ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (table, id, reason, held_at, tries) = row?;
            out.push(HeldRow {
                table,
                row_id: crate::records::parse_id("held row", &id)?,
                reason,
                held_at,
                tries,
            });
        }
        Ok(out)
    }
}

/// Remove a row that left this device's view, with what hangs off it (a
/// contact's policies, tasks and activities; a policy's payments) and any
/// of them held.
fn evict(tx: &mut WriteTx<'_>, ev: &Eviction, now: &str, report: &mut ApplyReport) -> Result<()> {
    let Some(table) = table_named(&ev.table) else {
        // A record type this version does not know: nothing of it is here
        // but what is held.
        tx.exec(
            "DELETE FROM sync_held WHERE table_name = ?1 AND row_id = ?2",
            [&ev.table, &ev.row_id.to_string()],
        )?;
        return Ok(());
    };
    let id = ev.row_id.to_string();
    let mut victims: Vec<(&'static str, String)> = vec![(table.name(), id.clone())];
    let children = |tx: &WriteTx<'_>, sql: &str, parent: &str| -> Result<Vec<String>> {
        let mut st = tx.stmt(sql)?;
        let ids = st
            .query_map([parent], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        Ok(ids)
    };
    if table == Table::Contacts {
        for t in ["policies", "tasks", "activities"] {
            let sql = format!("SELECT id FROM {t} WHERE contact_id = ?1");
            victims.extend(children(tx, &sql, &id)?.into_iter().map(|i| (t, i)));
        }
    }
    let policies: Vec<String> = victims
        .iter()
        .filter(|(t, _)| *t == "policies")
        .map(|(_, i)| i.clone())
        .collect();
    for p in policies {
        let ids = children(tx, "SELECT id FROM payments WHERE policy_id = ?1", &p)?;
        victims.extend(ids.into_iter().map(|i| ("payments", i)));
    }
    for (t, i) in victims {
        if t == "contacts" {
            // Read what it was indexed from while it is still there.
            crate::lookups::unindex_stored(tx.conn(), &i)?;
        }
        let n = tx.exec(&format!("DELETE FROM {t} WHERE id = ?1"), [&i])?;
        if t == "contacts" {
            tx.exec("DELETE FROM import_keys WHERE contact_id = ?1", [&i])?;
        }
        tx.exec(
            "DELETE FROM sync_held WHERE table_name = ?1 AND row_id = ?2",
            [t, &i],
        )?;
        if n > 0 {
            report.evicted += 1;
            tx.set_actor(Actor::Sync {
                device: Uuid::nil(),
            });
            tx.audit(t, &i, "evicted", "null", now)?;
        }
    }
    Ok(())
}

/// A refusal of the row (its values, a field it lacks), or an error of
/// the page.
fn refused(e: CoreError) -> Result<Result<Merged, Refused>> {
    match e {
        CoreError::Invalid(e) => Ok(Err(Refused(e.to_string()))),
        CoreError::Sqlite(rusqlite::Error::SqliteFailure(e, msg))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(Err(Refused(msg.unwrap_or_else(|| e.to_string()))))
        }
        e => Err(e),
    }
}

/// Merge one pulled row with the per-field last-writer-wins rule the
/// server uses (compare each field's clock; `deleted` only ever becomes
/// true), audited as the writing device's: stored (or already up to
/// date), or refused with nothing of it written. Only the row's checks and
/// its first write (the INSERT or UPDATE of the row itself, a statement
/// SQLite undoes whole when it fails) can refuse it; what follows
/// (look-ups that ignore duplicates, the audit entry) cannot, for the
/// row's sake. So no savepoint per row: one would copy every page the row
/// touches into a sub-journal (it made an initial sync a third slower).
/// Errors that are not the row's (the disk, a damaged database) end the
/// whole page.
fn merge(tx: &mut WriteTx<'_>, row: &RowState, now: &str) -> Result<Result<Merged, Refused>> {
    let Some(table) = table_named(&row.table) else {
        return Ok(Err(Refused(format!(
            "table: {} is a record type this version does not know; it is stored once the app is updated",
            row.table
        ))));
    };
    let fields = table.fields();
    let row_clocks = expand_clocks(fields, &row.clocks);
    let newest = row_clocks.values().max().copied().unwrap_or(Hlc::ZERO);
    tx.observe(newest);
    tx.set_actor(Actor::Sync {
        device: newest.node,
    });
    let id = row.row_id.to_string();
    let Some(local) = load_any_row(tx.conn(), table, row.row_id)? else {
        let new = match NewRow::new(table, &row.fields) {
            Ok(n) => n,
            Err(e) => return refused(e),
        };
        let clocks = Value::Object(compact_clocks(fields, &row_clocks)).to_string();
        if let Err(e) = tx.insert_row(&id, &new, &clocks, row.deleted, now) {
            return refused(e);
        }
        if table == Table::Contacts && !row.deleted {
            crate::lookups::index(tx.conn(), &id, &row.fields)?;
        }
        // Like a local creation, the entry refers to the row; it is put
        // down to the device of the row's oldest stamp (its creation's),
        // not to whoever edited it last before this device first saw it.
        let oldest = row_clocks.values().min().copied().unwrap_or(newest);
        tx.set_actor(Actor::Sync {
            device: oldest.node,
        });
        tx.audit(table.name(), &id, Action::Created.as_str(), BY_ROW, now)?;
        tx.set_actor(Actor::Sync {
            device: newest.node,
        });
        if !row.deleted {
            tx.announce(table, row.row_id, Action::Created, fields);
        }
        return Ok(Ok(Merged::Changed));
    };
    let local_deleted = is_tombstone(tx, table, &id)?;
    let mut clocks = local.clocks;
    // Map fields merge entry by entry (see `Kind::TextMap`).
    let maps: Vec<(&'static str, Value)> = table
        .spec()
        .fields
        .iter()
        .filter(|f| f.kind == crm_protocol::schema::Kind::TextMap)
        .filter_map(|f| {
            let merged =
                merge_entries(f.name, &local.fields, &row.fields, &row_clocks, &mut clocks);
            merged.map(|m| (f.name, m))
        })
        .collect();
    let mut changed: Vec<(&'static str, &Value)> = Vec::new();
    let mut changes = Map::new();
    for (f, new) in &maps {
        let old = local.fields.get(*f).unwrap_or(&Value::Null);
        changed.push((f, new));
        changes.insert(
            (*f).to_string(),
            Value::Array(vec![old.clone(), new.clone()]),
        );
    }
    let mut deleted_now = false;
    for (name, remote) in &row_clocks {
        if *remote <= clock_of(&clocks, name) || is_map_field(table, name) {
            continue;
        }
        if name == crm_protocol::schema::DELETED {
            if row.deleted && !local_deleted {
                deleted_now = true;
                changes.insert(name.clone(), Value::Bool(true));
            }
        } else if let Some(f) = fields.iter().copied().find(|f| f == name) {
            let new = row.fields.get(f).unwrap_or(&Value::Null);
            let old = local.fields.get(f).unwrap_or(&Value::Null);
            if new != old {
                changed.push((f, new));
                changes.insert(name.clone(), Value::Array(vec![old.clone(), new.clone()]));
            }
        } else {
            continue;
        }
        clocks.insert(name.clone(), Value::String(remote.to_string()));
    }
    let clocks = Value::Object(clocks).to_string();
    if changes.is_empty() {
        // Clocks may still have advanced (same values).
        tx.exec(
            &format!("UPDATE {} SET clocks = ?1 WHERE id = ?2", table.name()),
            [&clocks, &id],
        )?;
        return Ok(Ok(Merged::Unchanged));
    }
    if let Err(e) = tx.update_row(table, &id, &changed, deleted_now, &clocks, now) {
        return refused(e);
    }
    if table == Table::Contacts {
        if deleted_now || local_deleted {
            crate::lookups::unindex(tx.conn(), &id, &local.fields)?;
        } else {
            crate::lookups::reindex(tx.conn(), &id, &local.fields, &row.fields, |f| {
                changes.contains_key(f)
            })?;
        }
    }
    // One entry per device that wrote them (a page brings a row's state:
    // edits two people made since the last pull arrive together, and each
    // must still be put down to whoever made it), older writers first; the
    // deletion is the entry that carries it.
    for (device, part) in by_writer(changes, &row_clocks) {
        let action = if part.contains_key(crm_protocol::schema::DELETED) {
            Action::Deleted
        } else {
            Action::Updated
        };
        tx.set_actor(Actor::Sync { device });
        tx.audit(
            table.name(),
            &id,
            action.as_str(),
            &Value::Object(part).to_string(),
            now,
        )?;
    }
    tx.set_actor(Actor::Sync {
        device: newest.node,
    });
    if deleted_now {
        tx.announce(table, row.row_id, Action::Deleted, &["deleted"]);
    } else if !local_deleted {
        let names: Vec<&str> = changed.iter().map(|(f, _)| *f).collect();
        tx.announce(table, row.row_id, Action::Updated, &names);
    }
    Ok(Ok(Merged::Changed))
}

/// Split a merged row's `{field: [old, new]}` changes by the device whose
/// stamp set each field (a map field: the newest stamp among the entries
/// that changed), oldest writer first.
fn by_writer(
    changes: Map<String, Value>,
    clocks: &std::collections::BTreeMap<String, Hlc>,
) -> Vec<(Uuid, Map<String, Value>)> {
    let stamp = |field: &str, change: &Value| {
        let entry_changed = |key: &str| match change {
            Value::Array(pair) if pair.len() == 2 => pair[0].get(key) != pair[1].get(key),
            _ => true,
        };
        let prefix = format!("{field}.");
        clocks
            .iter()
            .filter(|(k, _)| *k == field || k.strip_prefix(&prefix).is_some_and(entry_changed))
            .map(|(_, c)| *c)
            .max()
            .unwrap_or(Hlc::ZERO)
    };
    let mut groups: Vec<(Hlc, Uuid, Map<String, Value>)> = Vec::new();
    for (field, change) in changes {
        let at = stamp(&field, &change);
        match groups.iter_mut().find(|(_, node, _)| *node == at.node) {
            Some((newest, _, part)) => {
                *newest = (*newest).max(at);
                part.insert(field, change);
            }
            None => {
                let mut part = Map::new();
                part.insert(field, change);
                groups.push((at, at.node, part));
            }
        }
    }
    groups.sort_by_key(|(at, _, _)| *at);
    groups
        .into_iter()
        .map(|(_, node, part)| (node, part))
        .collect()
}

/// Whether `name` is a map field of `table` or one of its entries' clocks
/// (merged by [`merge_entries`]).
fn is_map_field(table: Table, name: &str) -> bool {
    let field = name.split_once('.').map_or(name, |(f, _)| f);
    table
        .spec()
        .field(field)
        .is_some_and(|f| f.kind == crm_protocol::schema::Kind::TextMap)
}

/// Merge map field `field` entry by entry: an entry takes the pulled value
/// (absent: removed) when its pulled clock is newer than the local one;
/// the entry's clock moves either way. The map
/// as it is now, when it changed.
fn merge_entries(
    field: &str,
    local: &Map<String, Value>,
    pulled: &Map<String, Value>,
    pulled_clocks: &std::collections::BTreeMap<String, Hlc>,
    clocks: &mut Map<String, Value>,
) -> Option<Value> {
    let empty = Map::new();
    let before = local
        .get(field)
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let remote = pulled
        .get(field)
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let prefix = format!("{field}.");
    let mut keys: std::collections::BTreeSet<&str> = before.keys().map(String::as_str).collect();
    keys.extend(remote.keys().map(String::as_str));
    keys.extend(pulled_clocks.keys().filter_map(|k| k.strip_prefix(&prefix)));
    // An entry here without a clock of its own was written with its row's
    // creation (the field's clock); one not here was never written here.
    // On the server every entry written has its own clock.
    let local_base = clock_of(clocks, field);
    let mut map = before.clone();
    for key in keys {
        let name = crm_protocol::schema::entry_clock(field, key);
        let theirs = pulled_clocks.get(&name).copied().unwrap_or(Hlc::ZERO);
        let ours = clocks
            .get(&name)
            .and_then(|v| v.as_str()?.parse::<Hlc>().ok())
            .unwrap_or(if before.contains_key(key) {
                local_base
            } else {
                Hlc::ZERO
            });
        if theirs <= ours {
            continue;
        }
        match remote.get(key) {
            Some(v) => map.insert(key.to_string(), v.clone()),
            None => map.remove(key),
        };
        clocks.insert(name, Value::String(theirs.to_string()));
    }
    (&map != before).then_some(Value::Object(map))
}

fn is_tombstone(tx: &WriteTx<'_>, table: Table, id: &str) -> Result<bool> {
    let deleted: i64 = tx
        .stmt(&format!(
            "SELECT deleted FROM {} WHERE id = ?1",
            table.name()
        ))?
        .query_row([id], |r| r.get(0))?;
    Ok(deleted != 0)
}

fn clock_of(clocks: &Map<String, Value>, field: &str) -> Hlc {
    clocks
        .get(field)
        .or_else(|| clocks.get("_"))
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(Hlc::ZERO)
}

/// Keep a row that could not be stored, whole, for the next try.
fn hold(tx: &WriteTx<'_>, row: &RowState, reason: &str, now: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO sync_held (table_name, row_id, row, reason, held_at, tries) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1)",
        rusqlite::params![
            row.table,
            row.row_id.to_string(),
            serde_json::to_string(row)?,
            crate::normalize::cut(reason, 1_000),
            now
        ],
    )?;
    Ok(())
}

/// Try every held row again, oldest first: stored ones leave the hold,
/// the others keep their place with the latest reason. Several versions
/// of one row may be held; merging each in turn ends where merging the
/// newest alone would (per-field clocks decide).
fn retry_held(tx: &mut WriteTx<'_>, now: &str, report: &mut ApplyReport) -> Result<()> {
    let held: Vec<(i64, String)> = {
        let mut st = tx.stmt("SELECT seq, row FROM sync_held ORDER BY seq")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        rows
    };
    for (seq, text) in held {
        let row: RowState = serde_json::from_str(&text)?;
        match merge(tx, &row, now)? {
            Ok(_) => {
                tx.exec("DELETE FROM sync_held WHERE seq = ?1", [seq])?;
                report.released += 1;
                report.changed += 1;
            }
            Err(Refused(reason)) => {
                tx.exec(
                    "UPDATE sync_held SET reason = ?1, tries = tries + 1 WHERE seq = ?2",
                    rusqlite::params![crate::normalize::cut(&reason, 1_000), seq],
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
