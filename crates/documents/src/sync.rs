//! The library with the agency's server, at each sync: an admin's device
//! first sends what it published, retired or changed since it last did
//! (each file in chunks the server lacks, then the document); then every
//! device reads the documents its user may have and makes its library
//! match: a new or changed one is fetched by chunk (a lost connection
//! resumes at the next chunk), read in a worker process here and indexed;
//! one no longer in the answer (retired, or the person left its audience)
//! is removed with its passages. Drafts stay on the admin's device, but
//! for controlled ones (policies and SOPs): a controlled draft, and a
//! published one's newer version, go to the other admins, who approve it
//! on their own devices.
//!
//! The server decides the audience; this device also records the team the
//! server names, so its own search filters the same way.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use crm_core::{AccountRole, Store};
use crm_extract::Extractor;
use crm_protocol::documents::{chunks_of, DocumentEntry, PendingVersion};
use crm_sync_client::Connection;
use rusqlite::{params, OptionalExtension};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::library::{actor_user, next_seq};
use crate::model::{DocsError, FileState, Result};
use crate::passages::{layout, Layout};
use crate::schema::FEATURE;
use crate::stored::{delete_version, insert_version, NewVersion, CHUNK};

/// What a sync did to the library.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Synced {
    /// Documents sent to the server (an admin's device).
    pub sent: usize,
    /// Documents received or changed here.
    pub received: usize,
    /// Documents removed from this device.
    pub removed: usize,
    /// The server had nothing new.
    pub unchanged: bool,
    /// Documents that could not be sent or received, with why (tried
    /// again at the next sync).
    pub failed: Vec<String>,
}

impl Synced {
    /// Whether the library on this device changed.
    pub fn changed(&self) -> bool {
        self.received + self.removed > 0
    }
}

/// Sync the library with the server (see the module docs). `cancel` stops
/// between chunks; what was fetched is kept for the next time.
pub fn sync(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    extractor: &Extractor,
    cancel: &AtomicBool,
) -> Result<Synced> {
    store.install_feature(&FEATURE)?;
    let mut out = Synced::default();
    if store.account_role()? == AccountRole::Admin {
        send(store, conn, token, cancel, &mut out)?;
    }
    let received = receive(store, conn, token, extractor, cancel, &mut out);
    if out.changed() {
        crate::saved::keep_saved(store);
    }
    received?;
    Ok(out)
}

/// A document of this device waiting to go to the server.
struct Outgoing {
    entry: DocumentEntry,
    seq: i64,
}

fn outgoing(store: &Store) -> Result<Vec<Outgoing>> {
    Ok(store.feature_read(|c| {
        // Published ones, drafts under control (a policy another admin
        // must approve: the server gives drafts to admins only), and
        // retired ones the server has (a draft retired before it was ever
        // published stays here).
        // A published controlled document's newer readable version goes
        // with it, pending, for another admin to approve.
        let mut st = c.prepare(
            "SELECT d.id, d.title, d.status, d.audience, d.owner, d.effective_date, d.review_date, \
                    d.live_version, v.file_name, v.sha256, v.size, v.change_note, d.seq, \
                    p.version, p.file_name, p.sha256, p.size, p.change_note \
             FROM documents_docs d JOIN documents_versions v \
               ON v.doc_id = d.id AND v.version = d.live_version \
             LEFT JOIN documents_versions p ON p.doc_id = d.id AND d.controlled = 1 \
               AND d.status = 'published' AND p.version = d.latest_version \
               AND p.version > d.live_version AND p.state = 'indexed' \
             WHERE (d.status = 'published' OR (d.status = 'draft' AND d.controlled = 1) \
                    OR (d.status = 'retired' AND d.pushed_seq IS NOT NULL)) \
               AND (d.pushed_seq IS NULL OR d.pushed_seq < d.seq) ORDER BY d.seq",
        )?;
        let rows = st.query_map([], |r| {
            let audience: String = r.get(3)?;
            Ok(Outgoing {
                entry: DocumentEntry {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    status: r.get(2)?,
                    audience: serde_json::from_str(&audience).unwrap_or_default(),
                    owner: r.get(4)?,
                    effective_date: r.get(5)?,
                    review_date: r.get(6)?,
                    version: r.get(7)?,
                    file_name: r.get(8)?,
                    sha256: r.get(9)?,
                    size: r.get::<_, i64>(10)?.max(0) as u64,
                    change_note: r.get(11)?,
                    pending: match r.get::<_, Option<i64>>(13)? {
                        Some(version) => Some(PendingVersion {
                            version,
                            file_name: r.get(14)?,
                            sha256: r.get(15)?,
                            size: r.get::<_, i64>(16)?.max(0) as u64,
                            change_note: r.get(17)?,
                        }),
                        None => None,
                    },
                },
                seq: r.get(12)?,
            })
        })?;
        rows.collect()
    })?)
}

/// Upload the chunks of `version`'s file the server does not hold yet.
#[allow(clippy::too_many_arguments)]
fn upload(
    store: &Store,
    conn: &Connection,
    token: &str,
    cancel: &AtomicBool,
    id: &str,
    version: i64,
    sha: &str,
    size: u64,
) -> Result<()> {
    let have: HashSet<u64> = conn
        .document_file_chunks(token, sha)?
        .have
        .into_iter()
        .collect();
    for n in 0..chunks_of(size) {
        if have.contains(&n) {
            continue;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(DocsError::Cancelled);
        }
        let bytes: Vec<u8> = store.feature_read(|c| {
            c.query_row(
                "SELECT bytes FROM documents_chunks WHERE doc_id = ?1 AND version = ?2 AND n = ?3",
                params![id, version, n as i64],
                |r| r.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
        })?;
        conn.put_document_chunk(token, sha, n, size, bytes)?;
    }
    Ok(())
}

fn send(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    cancel: &AtomicBool,
    out: &mut Synced,
) -> Result<()> {
    for o in outgoing(store)? {
        if cancel.load(Ordering::Relaxed) {
            return Err(DocsError::Cancelled);
        }
        let e = &o.entry;
        let sent = (|| -> Result<()> {
            upload(
                store, conn, token, cancel, &e.id, e.version, &e.sha256, e.size,
            )?;
            if let Some(p) = &e.pending {
                upload(
                    store, conn, token, cancel, &e.id, p.version, &p.sha256, p.size,
                )?;
            }
            conn.put_document(token, e)?;
            Ok(())
        })();
        match sent {
            Ok(()) => {
                let actor = store.user_actor();
                store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
                    // A change made meanwhile keeps its higher seq: sent next time.
                    tx.conn().execute(
                        "UPDATE documents_docs SET pushed_seq = ?2 WHERE id = ?1",
                        params![e.id, o.seq],
                    )?;
                    tx.audit(
                        "docs",
                        &e.id,
                        "sent",
                        &json!({"version": e.version, "status": e.status, "audience": e.audience}),
                    )?;
                    Ok(())
                })?;
                out.sent += 1;
            }
            Err(DocsError::Cancelled) => return Err(DocsError::Cancelled),
            // Offline: the rest would fail the same way.
            Err(e @ DocsError::Sync(crm_sync_client::SyncError::Offline(_))) => return Err(e),
            Err(err) => out
                .failed
                .push(format!("{} ({}): {err}", e.title, e.file_name)),
        }
    }
    Ok(())
}

fn sync_value(store: &Store, key: &str) -> Result<Option<String>> {
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT value FROM documents_sync WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()
    })?)
}

/// What this device has of a document.
struct Local {
    live_sha: Option<String>,
    has_version: bool,
    title: String,
    status: String,
    audience: Vec<String>,
    owner: Option<String>,
    effective: Option<String>,
    review: Option<String>,
    live: Option<i64>,
    /// Changed here and not yet sent (an admin's device): it wins.
    unsent: bool,
}

fn local(store: &Store, e: &DocumentEntry) -> Result<Option<Local>> {
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT (SELECT sha256 FROM documents_versions WHERE doc_id = d.id AND version = d.live_version), \
                    EXISTS (SELECT 1 FROM documents_versions WHERE doc_id = d.id AND version = ?2 AND sha256 = ?3 AND state = 'indexed'), \
                    d.title, d.status, d.audience, d.owner, d.effective_date, d.review_date, d.live_version, \
                    d.status != 'removed' AND d.status != 'draft' AND (d.pushed_seq IS NULL OR d.pushed_seq < d.seq) \
             FROM documents_docs d WHERE d.id = ?1",
            params![e.id, e.version, e.sha256],
            |r| {
                let audience: String = r.get(4)?;
                Ok(Local {
                    live_sha: r.get(0)?,
                    has_version: r.get(1)?,
                    title: r.get(2)?,
                    status: r.get(3)?,
                    audience: serde_json::from_str(&audience).unwrap_or_default(),
                    owner: r.get(5)?,
                    effective: r.get(6)?,
                    review: r.get(7)?,
                    live: r.get(8)?,
                    unsent: r.get(9)?,
                })
            },
        )
        .optional()
    })?)
}

fn current(l: &Local, e: &DocumentEntry) -> bool {
    l.live == Some(e.version)
        && l.live_sha.as_deref() == Some(e.sha256.as_str())
        && l.title == e.title
        && l.status == e.status
        && l.audience == e.audience
        && l.owner == e.owner
        && l.effective == e.effective_date
        && l.review == e.review_date
}

fn receive(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    extractor: &Extractor,
    cancel: &AtomicBool,
    out: &mut Synced,
) -> Result<()> {
    let since = sync_value(store, "revision")?.and_then(|r| r.parse().ok());
    let viewer = sync_value(store, "viewer")?;
    let answer = conn.documents(token, since, viewer.as_deref())?;
    store.set_account_team(answer.team.as_deref())?;
    if answer.unchanged {
        out.unchanged = true;
        return Ok(());
    }
    let admin = store.account_role()? == AccountRole::Admin;
    let mut complete = true;
    for e in &answer.documents {
        if cancel.load(Ordering::Relaxed) {
            return Err(DocsError::Cancelled);
        }
        let here = local(store, e)?;
        if here.as_ref().is_some_and(|l| l.unsent) {
            continue;
        }
        let mut here_now = here.is_some();
        if !here.as_ref().is_some_and(|l| current(l, e)) {
            let has_file = here.as_ref().is_some_and(|l| l.has_version);
            let got = if has_file {
                apply(store, e, None, admin)
            } else {
                fetch(store, conn, token, extractor, e, cancel)
                    .and_then(|read| apply(store, e, Some(read), admin))
            };
            match got {
                Ok(()) => {
                    out.received += 1;
                    here_now = true;
                }
                Err(DocsError::Cancelled) => return Err(DocsError::Cancelled),
                Err(e @ DocsError::Sync(crm_sync_client::SyncError::Offline(_))) => return Err(e),
                Err(err) => {
                    complete = false;
                    here_now = false;
                    out.failed
                        .push(format!("{} ({}): {err}", e.title, e.file_name));
                }
            }
        }
        // A version waiting for approval (admins only are sent one): kept
        // beside the version in force, for a second admin to read and
        // approve here.
        let Some(p) = e.pending.as_ref().filter(|_| admin && here_now) else {
            continue;
        };
        if has_version(store, &e.id, p)? {
            continue;
        }
        let waiting = DocumentEntry {
            version: p.version,
            file_name: p.file_name.clone(),
            sha256: p.sha256.clone(),
            size: p.size,
            change_note: p.change_note.clone(),
            pending: None,
            ..e.clone()
        };
        match fetch(store, conn, token, extractor, &waiting, cancel)
            .and_then(|read| keep_pending(store, &waiting, read))
        {
            Ok(()) => out.received += 1,
            Err(DocsError::Cancelled) => return Err(DocsError::Cancelled),
            Err(e @ DocsError::Sync(crm_sync_client::SyncError::Offline(_))) => return Err(e),
            Err(err) => {
                complete = false;
                out.failed.push(format!(
                    "{} ({}, version {} awaiting approval): {err}",
                    e.title, p.file_name, p.version
                ));
            }
        }
    }
    // What the server no longer sends this person leaves the device: not
    // an admin's (they are sent everything the server has; their drafts
    // never were there).
    if !admin {
        let wanted: HashSet<&str> = answer.documents.iter().map(|e| e.id.as_str()).collect();
        let known: Vec<String> = store.feature_read(|c| {
            let mut st = c.prepare(
                "SELECT id FROM documents_docs WHERE status != 'removed' AND pushed_seq IS NOT NULL",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })?;
        for id in known.iter().filter(|id| !wanted.contains(id.as_str())) {
            remove(store, id)?;
            out.removed += 1;
        }
    }
    // Only an answer applied whole is remembered: anything that failed is
    // asked for again next time.
    if complete {
        let actor = store.user_actor();
        store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
            for (k, v) in [
                ("revision", answer.revision.to_string()),
                ("viewer", answer.viewer.clone()),
            ] {
                tx.conn().execute(
                    "INSERT INTO documents_sync (key, value) VALUES (?1, ?2) \
                     ON CONFLICT (key) DO UPDATE SET value = ?2",
                    params![k, v],
                )?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Fetch a document's file (chunks already here are not fetched again),
/// check it and read it in a worker process.
fn fetch(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    extractor: &Extractor,
    e: &DocumentEntry,
    cancel: &AtomicBool,
) -> Result<Received> {
    let have: HashSet<i64> = store.feature_read(|c| {
        let mut st = c.prepare("SELECT n FROM documents_incoming WHERE sha256 = ?1")?;
        let rows = st.query_map([&e.sha256], |r| r.get(0))?;
        rows.collect()
    })?;
    let count = chunks_of(e.size);
    for n in 0..count {
        if have.contains(&(n as i64)) {
            continue;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(DocsError::Cancelled);
        }
        let bytes = conn.document_chunk(token, &e.id, &e.sha256, n)?;
        let expected = (e.size - n * CHUNK as u64).min(CHUNK as u64);
        if bytes.len() as u64 != expected {
            return Err(DocsError::State(format!(
                "the server sent {} bytes for chunk {n}, not {expected}",
                bytes.len()
            )));
        }
        // Each chunk kept as it comes: a lost connection costs one chunk.
        let actor = store.user_actor();
        store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
            tx.conn().execute(
                "INSERT OR IGNORE INTO documents_incoming (sha256, n, bytes) VALUES (?1, ?2, ?3)",
                params![e.sha256, n as i64, bytes],
            )?;
            Ok(())
        })?;
    }
    let bytes: Vec<u8> = store.feature_read(|c| {
        let mut st =
            c.prepare("SELECT bytes FROM documents_incoming WHERE sha256 = ?1 ORDER BY n")?;
        let mut all = Vec::with_capacity(e.size as usize);
        for chunk in st.query_map([&e.sha256], |r| r.get::<_, Vec<u8>>(0))? {
            all.extend(chunk?);
        }
        Ok(all)
    })?;
    if hex::encode(Sha256::digest(&bytes)) != e.sha256 {
        // A damaged download: fetched whole again next time.
        drop_incoming(store, &e.sha256)?;
        return Err(DocsError::State(format!(
            "the file received for {} does not match its SHA-256; it is fetched again at the next sync",
            e.file_name
        )));
    }
    let read = extractor
        .extract(&e.file_name, &bytes)
        .map_err(|err| DocsError::State(format!("could not be read here: {err}")))?;
    let layout = layout(&read);
    if layout.passages.is_empty() || read.needs_ocr {
        return Err(DocsError::State(
            "no text could be read from it on this device".into(),
        ));
    }
    Ok(Received {
        bytes,
        read,
        layout,
    })
}

fn drop_incoming(store: &mut Store, sha: &str) -> Result<()> {
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn()
            .execute("DELETE FROM documents_incoming WHERE sha256 = ?1", [sha])?;
        Ok(())
    })
}

/// A file fetched and read, with text to index.
struct Received {
    bytes: Vec<u8>,
    read: crm_extract::Extracted,
    layout: Layout,
}

/// Keep version `e.version` from `f`; one of that number here with another
/// file (an admin's device that never sent it) gives way to the server's.
fn put_version(
    c: &rusqlite::Connection,
    e: &DocumentEntry,
    f: &Received,
    at: &str,
    by: &str,
) -> rusqlite::Result<()> {
    delete_version(c, &e.id, e.version)?;
    insert_version(
        c,
        &NewVersion {
            id: &e.id,
            version: e.version,
            file_name: &e.file_name,
            kind: f.read.kind.as_str(),
            bytes: &f.bytes,
            sha: &e.sha256,
            state: FileState::Indexed,
            reason: None,
            change_note: e.change_note.as_deref(),
            layout: Some(&f.layout),
            at,
            by,
        },
    )
}

/// Make the document here what the server says: its metadata and, with
/// `file`, its version in force. Others than admins keep only that version.
fn apply(store: &mut Store, e: &DocumentEntry, file: Option<Received>, admin: bool) -> Result<()> {
    let actor = store.user_actor();
    let by = actor_user(&actor);
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let now = tx.now().to_string();
        let c = tx.conn();
        let seq = next_seq(c)?;
        let existing: Option<(i64, String)> = c
            .query_row(
                "SELECT latest_version, status FROM documents_docs WHERE id = ?1",
                [&e.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some(f) = &file {
            put_version(c, e, f, &now, &by)?;
        }
        if !admin {
            let old: Vec<i64> = {
                let mut st = c.prepare(
                    "SELECT version FROM documents_versions WHERE doc_id = ?1 AND version != ?2",
                )?;
                let rows = st.query_map(params![e.id, e.version], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for v in old {
                delete_version(c, &e.id, v)?;
            }
        }
        let audience = serde_json::to_string(&e.audience).map_err(crm_core::CoreError::from)?;
        let latest = match &existing {
            Some((latest, status)) if admin && status != "removed" => (*latest).max(e.version),
            _ => e.version,
        };
        c.execute(
            "INSERT INTO documents_docs (id, title, status, audience, owner, effective_date, \
             review_date, live_version, latest_version, file_name, seq, created_at, updated_at, \
             pushed_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?11) \
             ON CONFLICT (id) DO UPDATE SET title = ?2, status = ?3, audience = ?4, owner = ?5, \
               effective_date = ?6, review_date = ?7, live_version = ?8, latest_version = ?9, \
               file_name = ?10, seq = ?11, updated_at = ?12, pushed_seq = ?11",
            params![
                e.id,
                e.title,
                e.status,
                audience,
                e.owner,
                e.effective_date,
                e.review_date,
                e.version,
                latest,
                e.file_name,
                seq,
                now
            ],
        )?;
        c.execute(
            "DELETE FROM documents_incoming WHERE sha256 = ?1",
            [&e.sha256],
        )?;
        tx.audit(
            "docs",
            &e.id,
            "received",
            &json!({"title": e.title, "status": e.status, "audience": e.audience,
                    "version": e.version, "file": file.is_some()}),
        )?;
        Ok(())
    })
}

/// Whether this device holds version `p` of `id`, read, with that file.
fn has_version(store: &Store, id: &str, p: &PendingVersion) -> Result<bool> {
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT EXISTS (SELECT 1 FROM documents_versions WHERE doc_id = ?1 AND version = ?2 \
             AND sha256 = ?3 AND state = 'indexed')",
            params![id, p.version, p.sha256],
            |r| r.get(0),
        )
    })?)
}

/// Keep a version awaiting approval beside the version in force: the
/// document's newest version, not published.
fn keep_pending(store: &mut Store, e: &DocumentEntry, file: Received) -> Result<()> {
    let actor = store.user_actor();
    let by = actor_user(&actor);
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let now = tx.now().to_string();
        let c = tx.conn();
        put_version(c, e, &file, &now, &by)?;
        c.execute(
            "UPDATE documents_docs SET latest_version = max(latest_version, ?2), updated_at = ?3 \
             WHERE id = ?1",
            params![e.id, e.version, now],
        )?;
        c.execute(
            "DELETE FROM documents_incoming WHERE sha256 = ?1",
            [&e.sha256],
        )?;
        tx.audit(
            "docs",
            &e.id,
            "received",
            &json!({"version": e.version, "pending": true}),
        )?;
        Ok(())
    })
}

/// Remove a document from this device: its versions, file and passages;
/// a row stays (status `removed`, seen by no one) so the index drops it.
fn remove(store: &mut Store, id: &str) -> Result<()> {
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        let versions: Vec<i64> = {
            let mut st = c.prepare("SELECT version FROM documents_versions WHERE doc_id = ?1")?;
            let rows = st.query_map([id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for v in versions {
            delete_version(c, id, v)?;
        }
        let seq = next_seq(c)?;
        c.execute(
            "UPDATE documents_docs SET status = 'removed', live_version = NULL, seq = ?2, \
             pushed_seq = NULL, updated_at = ?3 WHERE id = ?1",
            params![id, seq, tx.now()],
        )?;
        tx.audit(
            "docs",
            id,
            "removed",
            &json!({"why": "retired, or no longer for this person's role or team"}),
        )?;
        Ok(())
    })
}
