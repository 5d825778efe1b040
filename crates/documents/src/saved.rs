//! The index kept inside the encrypted store, so opening a large library
//! loads its segments instead of building them again (the benchmark's
//! "index open" figure). Written after each change of the library, in one
//! feature write with the change counter it matches; segment files never
//! change once written, so a save adds the new ones and drops the ones no
//! longer used. Anything unexpected (another format, a schema of another
//! version, a file missing or damaged) makes `load` answer `None` and the
//! index is built from the store's passages: never lost, never plaintext.

use std::collections::HashSet;
use std::path::Path;

use crm_core::Store;
use rusqlite::{params, OptionalExtension};
use tantivy::directory::{Directory, RamDirectory};
use tantivy::Index;

use crate::index::{schema, DocIndex};
use crate::model::{DocsError, Result};
use crate::schema::FEATURE;

/// Bumped when what the index holds changes meaning (analyzer, fields):
/// a saved index of another format is built again.
const FORMAT: i64 = 1;

const META: &str = "meta.json";

/// The saved index, caught up with nothing newer than when it was saved.
pub(crate) fn load(store: &Store) -> Option<DocIndex> {
    let found = store.feature_read(|c| {
        let present: i64 = c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'documents_index_state'",
            [],
            |r| r.get(0),
        )?;
        if present == 0 {
            return Ok(None);
        }
        let state: Option<(i64, i64, i64)> = c
            .query_row(
                "SELECT format, seq, passages FROM documents_index_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some(state) = state.filter(|s| s.0 == FORMAT) else {
            return Ok(None);
        };
        let mut st = c.prepare("SELECT name, bytes FROM documents_index_files")?;
        let files = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some((state, files)))
    });
    let ((_, seq, passages), files) = found.ok()??;
    let dir = RamDirectory::create();
    for (name, bytes) in &files {
        dir.atomic_write(Path::new(name), bytes).ok()?;
    }
    let index = Index::open(dir).ok()?;
    let (expected, fields) = schema();
    if index.schema() != expected {
        return None;
    }
    let mut me = DocIndex::over(index, fields).ok()?;
    // The files read must be a whole index: every segment file there.
    me.reader.reload().ok()?;
    me.seq = seq;
    me.passages = passages.max(0) as u64;
    Some(me)
}

impl DocIndex {
    /// Keep this index in the store (when it holds changes the saved one
    /// does not).
    pub fn save(&self, store: &mut Store) -> Result<()> {
        store.install_feature(&FEATURE)?;
        let saved: Option<(i64, i64)> = store.feature_read(|c| {
            c.query_row(
                "SELECT format, seq FROM documents_index_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        if saved == Some((FORMAT, self.seq)) {
            return Ok(());
        }
        let metas = self.index.load_metas()?;
        let dir = self.index.directory();
        let mut wanted: Vec<String> = metas
            .list_segment_files()
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        wanted.push(META.to_string());
        let held: HashSet<String> = store.feature_read(|c| {
            let mut st = c.prepare("SELECT name FROM documents_index_files")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })?;
        let mut new_files = Vec::new();
        let mut keep = HashSet::new();
        for name in wanted {
            let path = Path::new(&name);
            if !dir.exists(path).unwrap_or(false) {
                continue;
            }
            keep.insert(name.clone());
            if name != META && held.contains(&name) {
                continue;
            }
            let bytes = dir
                .atomic_read(path)
                .map_err(|e| DocsError::Index(format!("reading {name}: {e}")))?;
            new_files.push((name, bytes));
        }
        let actor = store.user_actor();
        store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
            let c = tx.conn();
            for name in held.iter().filter(|n| !keep.contains(*n)) {
                c.execute("DELETE FROM documents_index_files WHERE name = ?1", [name])?;
            }
            for (name, bytes) in &new_files {
                c.execute(
                    "INSERT INTO documents_index_files (name, bytes) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET bytes = ?2",
                    params![name, bytes],
                )?;
            }
            c.execute(
                "INSERT INTO documents_index_state (id, format, seq, passages) VALUES (1, ?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET format = ?1, seq = ?2, passages = ?3",
                params![FORMAT, self.seq, self.passages as i64],
            )?;
            Ok(())
        })
    }
}

/// After a change of the library: bring the process's shared index up to
/// date and keep it in the store. A failure costs only speed (the next
/// start builds the index from the store), so it is not the change's.
pub(crate) fn keep_saved(store: &mut Store) {
    let _ = crate::index::with_shared(store, |index, store| {
        index.catch_up(store)?;
        Ok(index.seq)
    })
    .and_then(|_| crate::index::save_shared(store));
}
