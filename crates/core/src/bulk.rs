//! Shared creation entries: one audit entry and one sync op for many rows
//! that one write creates.
//!
//! A write's first [`BULK_AFTER`] creations in a table get an audit entry
//! and an op of their own, holding only `null` ([`crate::store::BY_ROW`]):
//! who and when, the same for the whole write, and "push the row as it is".
//! Beyond those (an import batch's contacts), one entry and one op name up
//! to [`BULK_ROWS`] rows, `{"rows": [ids]}`: per-row entries and ops took
//! two fifths of an import's pages and two statements and four b-tree
//! inserts per row.
//!
//! What marks them lives in columns of their own (migration 11): a shared
//! audit entry has the range of the ids it names in `first_row`/`last_row`
//! (so [`crate::Store::audit_for`] reads only the entries whose range holds
//! a row, through `audit_bulk`), and an empty `row_id`; a shared op has
//! how many rows it names in `row_count` (`NULL` for a one-row op), and
//! [`crate::Store::outbox_batch`] hands out one op per row
//! (`sync::outbox::member_op_id`). Both are inserted when the first such row is,
//! so their `seq` comes before any later change to their rows, and
//! completed when full or when the write commits; a rolled-back write
//! leaves neither.

use rusqlite::params;
use uuid::Uuid;

use crate::error::Result;
use crate::store::{Table, WriteTx};

/// A write's first creations in a table each get an audit entry of their
/// own (a one-contact edit looks as it always did).
pub(crate) const BULK_AFTER: usize = 16;

/// Rows named by one shared creation entry (at most ~160 KB of ids): a
/// long write, a dry run above all, keeps only this many in memory.
pub(crate) const BULK_ROWS: usize = 4096;

/// How many rows the outbox holds ops for (a shared op counts its rows).
pub(crate) const OUTBOX_LEN: &str =
    "SELECT coalesce(sum(coalesce(row_count, 1)), 0) FROM sync_outbox";

/// A row's audit entries, oldest first: its own, and the shared creation
/// entry whose range holds it and which names it (`?1`: the row's id).
pub(crate) const AUDIT_OF_ROW: &str =
    "SELECT seq, at, actor, table_name, action, changes FROM audit_log WHERE row_id = ?1 \
     UNION ALL \
     SELECT seq, at, actor, table_name, action, 'null' FROM audit_log \
     WHERE first_row <= ?1 AND last_row >= ?1 \
     AND instr(changes, '\"' || ?1 || '\"') > 0 \
     ORDER BY 1";

/// The shared entry and op a write is filling for one table.
pub(crate) struct BulkCreated {
    audit_seq: i64,
    op_seq: i64,
    ids: String,
    count: usize,
    first: Uuid,
    last: Uuid,
}

impl WriteTx<'_> {
    /// Put a created row's audit entry and sync op into the write's shared
    /// ones for `table`; false while the table's first creations still get
    /// their own.
    pub(crate) fn bulk_created(
        &mut self,
        table: Table,
        id: Uuid,
        hlc_text: &str,
        now: &str,
    ) -> Result<bool> {
        let i = match self.created.iter().position(|(t, _, _)| *t == table) {
            Some(i) => i,
            None => {
                self.created.push((table, 0, None));
                self.created.len() - 1
            }
        };
        self.created[i].1 += 1;
        if self.created[i].1 <= BULK_AFTER {
            return Ok(false);
        }
        let mut b = match self.created[i].2.take() {
            Some(b) => b,
            None => self.start_bulk(table, id, hlc_text, now)?,
        };
        if b.count > 0 {
            b.ids.push(',');
        }
        b.ids.push('"');
        b.ids
            .push_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
        b.ids.push('"');
        b.count += 1;
        b.first = b.first.min(id);
        b.last = b.last.max(id);
        if b.count >= BULK_ROWS {
            self.finish_bulk(b)?;
        } else {
            self.created[i].2 = Some(b);
        }
        Ok(true)
    }

    /// Insert a shared creation entry and op, still empty, for rows of
    /// `table` from `id` on.
    fn start_bulk(&self, table: Table, id: Uuid, hlc_text: &str, now: &str) -> Result<BulkCreated> {
        let first = id.to_string();
        self.stmt(
            "INSERT INTO audit_log (at, actor, table_name, row_id, action, changes, first_row, last_row) \
             VALUES (?1, ?2, ?3, '', 'created', '{\"rows\":[]}', ?4, ?4)",
        )?
        .execute(params![now, self.actor_json(), table.name(), first])?;
        let audit_seq = self.conn().last_insert_rowid();
        self.stmt(
            "INSERT INTO sync_outbox (op_id, table_name, row_id, hlc, fields, row_count) \
             VALUES (?1, ?2, '', ?3, '{\"rows\":[]}', 0)",
        )?
        .execute(params![Uuid::now_v7().to_string(), table.name(), hlc_text])?;
        Ok(BulkCreated {
            audit_seq,
            op_seq: self.conn().last_insert_rowid(),
            ids: String::with_capacity(BULK_ROWS * 39),
            count: 0,
            first: id,
            last: id,
        })
    }

    /// Complete a shared creation entry and op: their rows, the entry's
    /// range and the op's count.
    pub(crate) fn finish_bulk(&self, b: BulkCreated) -> Result<()> {
        let rows = format!("{{\"rows\":[{}]}}", b.ids);
        self.stmt(
            "UPDATE audit_log SET first_row = ?1, last_row = ?2, changes = ?3 WHERE seq = ?4",
        )?
        .execute(params![
            b.first.to_string(),
            b.last.to_string(),
            rows,
            b.audit_seq
        ])?;
        self.stmt("UPDATE sync_outbox SET row_count = ?1, fields = ?2 WHERE seq = ?3")?
            .execute(params![b.count as i64, rows, b.op_seq])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContactDraft, Store};

    /// A profile written before migration 11 kept a shared entry's range
    /// and a shared op's count inside `row_id`; opening it moves them into
    /// their columns, and the history and the queue read as before.
    #[test]
    fn migration_11_moves_the_markers_out_of_row_id() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        let n = BULK_AFTER + 30;
        let ids: Vec<Uuid>;
        {
            let mut s = Store::open_path(&path, None, true).expect("store");
            let region = s.default_region();
            let actor = s.user_actor();
            let mut tx = s.write(actor).expect("write");
            let mut made = Vec::new();
            for i in 0..n {
                let mut d = ContactDraft::default();
                d.set("first_name", &format!("P{i}")).expect("name");
                let c = d.validate(Uuid::now_v7(), region).expect("valid");
                tx.save_contact(&c).expect("save");
                made.push(c.id);
            }
            tx.commit().expect("commit");
            ids = made;
            // Back to schema 10: the markers as that version wrote them.
            s.conn()
                .execute_batch(
                    "UPDATE audit_log SET row_id = '*' || first_row || '/' || last_row \
                     WHERE first_row IS NOT NULL; \
                     UPDATE sync_outbox SET row_id = '*' || row_count WHERE row_count IS NOT NULL;",
                )
                .expect("old markers");
            crate::migrations::undo_after(s.conn(), 10);
            s.conn()
                .execute_batch("PRAGMA user_version = 10;")
                .expect("version");
        }
        let s = Store::open_path(&path, None, false).expect("reopen");
        let marked: i64 = s
            .conn()
            .query_row(
                "SELECT (SELECT count(*) FROM audit_log WHERE row_id LIKE '*%') + \
                 (SELECT count(*) FROM sync_outbox WHERE row_id LIKE '*%')",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(marked, 0, "no marker is left in row_id");
        assert_eq!(s.outbox_len().expect("len"), n as i64);
        let late = ids[BULK_AFTER + 5];
        let history = s.audit_for(late).expect("history");
        assert_eq!(history.len(), 1, "{history:?}");
        assert_eq!(history[0].action, "created");
        let ops = s.outbox_batch(n + 1).expect("batch");
        let order: Vec<Uuid> = ops.iter().map(|o| o.row_id).collect();
        assert_eq!(order, ids, "one op per row, in creation order");
    }
}
