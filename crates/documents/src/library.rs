//! Document control: adding files (each read in a worker process), new
//! versions, publishing, retiring, audiences; listing and reading back.
//! Every change is one feature write of the core's write path, audited.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crm_core::Store;
use crm_extract::{ExtractError, Extracted, Extractor};
use rusqlite::{params, OptionalExtension};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::model::{DocStatus, DocsError, Document, FileState, Result, Version};
use crate::passages::layout;
use crate::schema::FEATURE;
use crate::viewer::{check_audience, Viewer};

/// Files read at once, each in a worker process of its own.
const READERS: usize = 2;

pub use crate::stored::CHUNK;

/// How files are added.
#[derive(Clone, Debug, Default)]
pub struct AddOptions {
    /// Who may see them (`everyone`, `role:R`, `team:T`); empty: everyone.
    pub audience: Vec<String>,
    /// The title (only for a single file; else each file's own).
    pub title: Option<String>,
    /// Keep them as drafts instead of publishing.
    pub draft: bool,
    /// What changed, for a new version.
    pub change_note: Option<String>,
}

/// What became of one file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Added {
    /// The file.
    pub path: PathBuf,
    /// The document it is now part of (`None`: refused before storing).
    pub document_id: Option<String>,
    /// Its version, when stored.
    pub version: Option<i64>,
    /// `indexed`, `needs_ocr`, `failed`, `skipped` (a folder's file of a
    /// format not read) or `unchanged` (the same bytes as
    /// the document's latest version).
    pub status: String,
    /// Why it failed, or what to do.
    pub reason: Option<String>,
    /// Pages read.
    pub pages: i64,
}

/// Progress of an add: `done` of `total` files, the one just finished.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AddProgress<'a> {
    /// Files finished.
    pub done: usize,
    /// Files in all.
    pub total: usize,
    /// The file just finished.
    pub last: &'a Added,
}

/// The files `paths` name.
#[derive(Clone, Debug, Default)]
pub struct Expanded {
    /// To add: every file named, and every supported file in the folders
    /// named (sorted, hidden ones left out).
    pub files: Vec<PathBuf>,
    /// Files found in those folders whose name says a format the library
    /// does not read (each gets a `skipped` status, so none is missed
    /// unknowingly).
    pub skipped: Vec<PathBuf>,
}

/// The files `paths` name: a folder gives every file under it; a file is
/// taken as named (its content decides its format).
pub fn expand(paths: &[PathBuf]) -> Result<Expanded> {
    let mut out = Expanded::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| DocsError::Invalid {
                field: "PATH",
                reason: format!("{}: {e}", p.display()),
            })?;
        } else {
            out.files.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Expanded) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        if e.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if crm_extract::Kind::from_name(&name.to_string_lossy()).is_some() {
            out.files.push(path);
        } else {
            out.skipped.push(path);
        }
    }
    Ok(())
}

/// Add `paths` (files and folders): each file read in a worker process,
/// two at a time; a file that fails never stops the others. A file with
/// the name of a document already in the library becomes its new version
/// (unless its bytes are the same). `progress` hears of every file;
/// setting `cancel` stops before the next file (those done stay).
pub fn add(
    store: &mut Store,
    extractor: &Extractor,
    paths: &[PathBuf],
    opts: &AddOptions,
    progress: &mut dyn FnMut(AddProgress<'_>),
    cancel: &AtomicBool,
) -> Result<Vec<Added>> {
    store.require_admin("add documents")?;
    for a in &opts.audience {
        check_audience(a)?;
    }
    store.install_feature(&FEATURE)?;
    let Expanded { files, skipped } = expand(paths)?;
    if opts.title.is_some() && files.len() > 1 {
        return Err(DocsError::Invalid {
            field: "--title",
            reason: "a title names one document; add several files without it (each takes its own)"
                .into(),
        });
    }
    let n_files = files.len();
    let total = n_files + skipped.len();
    // A name is one document (the same name again is its next version):
    // two files of one name in a batch would race to be its version.
    let mut seen = std::collections::HashSet::new();
    let mut clashes = Vec::new();
    let mut files: Vec<(usize, PathBuf)> = files
        .into_iter()
        .enumerate()
        .filter(|(i, p)| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if seen.insert(name) {
                true
            } else {
                clashes.push((*i, p.clone()));
                false
            }
        })
        .collect();
    files.reverse();
    let mut results: Vec<(usize, Added)> = Vec::with_capacity(total);
    // Two files are read at once (each in its worker process) while this
    // thread stores what was read, as it comes (a slow file holds up no
    // other). A failure to store stops the readers and is returned.
    type Read = (PathBuf, Result<(Vec<u8>, Extracted), ExtractError>);
    let queue = std::sync::Mutex::new(files);
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Read)>(1);
    std::thread::scope(|s| -> Result<()> {
        for _ in 0..READERS {
            let tx = tx.clone();
            let (queue, stop) = (&queue, &stop);
            s.spawn(move || loop {
                if cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                    break;
                }
                let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                let Some((i, path)) = next else { break };
                let got = extractor.extract_file(&path);
                if tx.send((i, (path, got))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let rx = rx;
        let outcome = (|| -> Result<()> {
            for (i, (path, got)) in rx.iter() {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let added = match got {
                    Ok((bytes, x)) => store_file(store, &path, &bytes, Ok(x), opts)?,
                    Err(
                        e @ (ExtractError::Damaged(_)
                        | ExtractError::TimedOut(_)
                        | ExtractError::Crashed(_)),
                    ) => {
                        // Read in full but not understood: kept, flagged, so
                        // an admin sees it and can replace it.
                        match std::fs::read(&path) {
                            Ok(bytes) => store_file(store, &path, &bytes, Err(e), opts)?,
                            Err(_) => refused(&path, e.to_string()),
                        }
                    }
                    Err(e) => refused(&path, e.to_string()),
                };
                results.push((i, added));
                if let Some((_, last)) = results.last() {
                    progress(AddProgress {
                        done: results.len(),
                        total,
                        last,
                    });
                }
            }
            Ok(())
        })();
        // Readers waiting to hand over a file find no one and stop.
        stop.store(true, Ordering::Relaxed);
        drop(rx);
        outcome
    })?;
    for (k, path) in skipped.iter().enumerate() {
        let added = Added {
            status: "skipped".into(),
            ..refused(
                path,
                "not a format the library reads (PDF, Word .docx, Markdown, HTML, text); add it by \
                 its own name to have it read anyway"
                    .into(),
            )
        };
        results.push((n_files + k, added));
        if let Some((_, last)) = results.last() {
            progress(AddProgress {
                done: results.len(),
                total,
                last,
            });
        }
    }
    for (i, path) in clashes {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let added = refused(
            &path,
            format!(
                "another file in this batch is also named {name}: rename one (a name is one \
                 document; adding the same name again makes its next version)"
            ),
        );
        results.push((i, added));
    }
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<Added> = results.into_iter().map(|(_, a)| a).collect();
    if results.iter().any(|a| a.document_id.is_some()) {
        crate::saved::keep_saved(store);
    }
    if cancel.load(Ordering::Relaxed) && results.len() < total {
        return Err(DocsError::Cancelled);
    }
    Ok(results)
}

fn refused(path: &Path, reason: String) -> Added {
    Added {
        path: path.to_path_buf(),
        document_id: None,
        version: None,
        status: "failed".into(),
        reason: Some(reason),
        pages: 0,
    }
}

/// Store one file read (or not) as a new document or a new version.
fn store_file(
    store: &mut Store,
    path: &Path,
    bytes: &[u8],
    read: std::result::Result<Extracted, ExtractError>,
    opts: &AddOptions,
) -> Result<Added> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into());
    let sha = hex::encode(Sha256::digest(bytes));
    let (state, reason, lay, kind) = match &read {
        Ok(x) if x.needs_ocr => (
            FileState::NeedsOcr,
            Some("no text layer (a scan): run it through OCR and add it again".to_string()),
            None,
            x.kind.as_str(),
        ),
        Ok(x) if x.text_len() == 0 => (
            FileState::Failed,
            Some("no text in it".to_string()),
            None,
            x.kind.as_str(),
        ),
        Ok(x) => (FileState::Indexed, None, Some(layout(x)), x.kind.as_str()),
        Err(e) => (FileState::Failed, Some(e.to_string()), None, "unknown"),
    };
    let title = opts
        .title
        .clone()
        .or_else(|| read.as_ref().ok().and_then(|x| x.title.clone()))
        .or_else(|| lay.as_ref().and_then(|l| l.first_heading.clone()))
        .unwrap_or_else(|| title_from_name(&file_name));
    let pages = lay.as_ref().map_or(0, |l| l.pages.len() as i64);
    let actor = store.user_actor();
    let actor_name = actor_user(&actor);
    let audience = if opts.audience.is_empty() {
        vec!["everyone".to_string()]
    } else {
        opts.audience.clone()
    };
    store.feature_write(&FEATURE, actor, |tx| -> Result<Added> {
        let c = tx.conn();
        // The document this name is (the one changed last, if a retired
        // one was published again beside a newer one of the same name).
        let existing: Option<(String, i64, String, String, bool)> = c
            .query_row(
                "SELECT d.id, d.latest_version, v.sha256, v.state, d.controlled FROM documents_docs d \
                 JOIN documents_versions v ON v.doc_id = d.id AND v.version = d.latest_version \
                 WHERE d.file_name = ?1 COLLATE NOCASE AND d.status NOT IN ('retired', 'removed') \
                 ORDER BY d.updated_at DESC LIMIT 1",
                [&file_name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        if let Some((id, v, old_sha, old_state, _)) = &existing {
            // The same bytes again change nothing, unless reading them
            // failed last time (a timeout on a busy machine is worth a retry).
            if *old_sha == sha && old_state == FileState::Indexed.as_str() {
                return Ok(Added {
                    path: path.to_path_buf(),
                    document_id: Some(id.clone()),
                    version: Some(*v),
                    status: "unchanged".into(),
                    reason: Some("the same file is already its latest version".into()),
                    pages,
                });
            }
        }
        let seq = next_seq(c)?;
        let now = tx.now().to_string();
        let (id, version) = match &existing {
            Some((id, v, _, _, _)) => (id.clone(), v + 1),
            None => (uuid::Uuid::now_v7().to_string(), 1),
        };
        let status = if existing.is_some() {
            None
        } else if opts.draft || state != FileState::Indexed {
            Some(DocStatus::Draft)
        } else {
            Some(DocStatus::Published)
        };
        crate::stored::insert_version(
            c,
            &crate::stored::NewVersion {
                id: &id,
                version,
                file_name: &file_name,
                kind,
                bytes,
                sha: &sha,
                state,
                reason: reason.as_deref(),
                change_note: opts.change_note.as_deref(),
                layout: lay.as_ref(),
                at: &now,
                by: &actor_name,
            },
        )?;
        // A readable new version goes live at once (the index swaps it in
        // for the old one in one commit), unless added as a draft (it goes
        // live when published); an unreadable one leaves the old version
        // live. A controlled document's new versions always wait.
        let controlled = existing.as_ref().is_some_and(|e| e.4);
        let live = (state == FileState::Indexed && !(existing.is_some() && (opts.draft || controlled)))
            .then_some(version);
        match status {
            Some(status) => {
                c.execute(
                    "INSERT INTO documents_docs (id, title, status, audience, live_version, \
                     latest_version, file_name, seq, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                    params![
                        id,
                        title,
                        status.as_str(),
                        serde_json::to_string(&audience).map_err(crm_core::CoreError::from)?,
                        live,
                        version,
                        file_name,
                        seq,
                        now
                    ],
                )?;
                tx.audit(
                    "docs",
                    &id,
                    "created",
                    &json!({"title": title, "status": status.as_str(), "audience": audience,
                            "file_name": file_name, "version": version, "state": state.as_str()}),
                )?;
            }
            None => {
                // An audience or title given with a new version applies to
                // the document, in the same step.
                let new_audience = (!opts.audience.is_empty())
                    .then(|| serde_json::to_string(&opts.audience))
                    .transpose()
                    .map_err(crm_core::CoreError::from)?;
                c.execute(
                    "UPDATE documents_docs SET latest_version = ?2, \
                     live_version = coalesce(?3, live_version), seq = ?4, updated_at = ?5, \
                     audience = coalesce(?6, audience), title = coalesce(?7, title) WHERE id = ?1",
                    params![id, version, live, seq, now, new_audience, opts.title],
                )?;
                tx.audit(
                    "docs",
                    &id,
                    "version_added",
                    &json!({"version": version, "file_name": file_name, "state": state.as_str(),
                            "change_note": opts.change_note, "live": live.is_some(),
                            "audience": new_audience, "title": opts.title}),
                )?;
            }
        }
        Ok(Added {
            path: path.to_path_buf(),
            document_id: Some(id),
            version: Some(version),
            status: state.as_str().into(),
            reason,
            pages,
        })
    })
}

/// The name a person goes by in records (the user behind a plugin too).
pub(crate) fn actor_user(actor: &crm_core::Actor) -> String {
    serde_json::to_value(actor)
        .ok()
        .and_then(|v| v.get("user").and_then(|u| u.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// `claims-guide_v2.pdf` → `Claims guide v2`.
fn title_from_name(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let spaced: String = stem
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    let mut t = crm_extract::squash(&spaced);
    if let Some(first) = t.get(..1) {
        t = first.to_uppercase() + &t[1..];
    }
    if t.is_empty() {
        "Untitled".into()
    } else {
        t
    }
}

pub(crate) fn next_seq(c: &rusqlite::Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM documents_docs",
        [],
        |r| r.get(0),
    )
}

/// Publish a document (its live version goes to its audience). A
/// controlled document is published only by its controller
/// ([`publish_controlled`]).
pub fn publish(store: &mut Store, id: &str) -> Result<Document> {
    if is_controlled(store, id)? {
        return Err(DocsError::State(
            "this document is a controlled policy or SOP: it is published from Compliance once \
             another admin has approved its version (`crm compliance publish`)"
                .into(),
        ));
    }
    set_status(store, id, DocStatus::Published)
}

/// Publish a controlled document: for the feature that controls it, once
/// its own rules (an approval) are met.
pub fn publish_controlled(store: &mut Store, id: &str) -> Result<Document> {
    set_status(store, id, DocStatus::Published)
}

/// Whether `id` is controlled: its new versions wait as drafts and only its
/// controller publishes it (a policy under document control).
pub fn is_controlled(store: &Store, id: &str) -> Result<bool> {
    get(store, id)?;
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT controlled FROM documents_docs WHERE id = ?1",
            [id],
            |r| r.get::<_, bool>(0),
        )
    })?)
}

/// Put `id` under control (or release it): see [`is_controlled`].
pub fn set_controlled(store: &mut Store, id: &str, on: bool) -> Result<()> {
    store.require_admin("put documents under control")?;
    if is_controlled(store, id)? == on {
        return Ok(());
    }
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn().execute(
            "UPDATE documents_docs SET controlled = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, on, tx.now()],
        )?;
        tx.audit(
            "docs",
            id,
            if on { "controlled" } else { "released" },
            &json!({}),
        )?;
        Ok(())
    })
}

/// Retire a document: searched by no one, removed from devices at their
/// next sync; its versions are kept.
pub fn retire(store: &mut Store, id: &str) -> Result<Document> {
    set_status(store, id, DocStatus::Retired)
}

fn set_status(store: &mut Store, id: &str, to: DocStatus) -> Result<Document> {
    store.require_admin("publish or retire documents")?;
    store.install_feature(&FEATURE)?;
    let doc = get(store, id)?;
    if to == DocStatus::Published && doc.live_version.is_none() {
        return Err(DocsError::State(format!(
            "{} has no readable version to publish ({}): add a readable file as its new version first",
            doc.title,
            doc.reason.as_deref().unwrap_or("its file could not be read")
        )));
    }
    // Publishing also puts the newest readable version live (one added
    // as a draft to a published document waits for this).
    let readable: Option<i64> = store.feature_read(|c| {
        c.query_row(
            "SELECT max(version) FROM documents_versions WHERE doc_id = ?1 AND state = 'indexed'",
            [id],
            |r| r.get(0),
        )
    })?;
    let live = if to == DocStatus::Published {
        readable
    } else {
        doc.live_version
    };
    if doc.status == to && doc.live_version == live {
        return Ok(doc);
    }
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let seq = next_seq(tx.conn())?;
        tx.conn().execute(
            "UPDATE documents_docs SET status = ?2, seq = ?3, updated_at = ?4, live_version = ?5 \
             WHERE id = ?1",
            params![id, to.as_str(), seq, tx.now(), live],
        )?;
        tx.audit(
            "docs",
            id,
            match to {
                DocStatus::Published => "published",
                DocStatus::Retired => "retired",
                DocStatus::Draft => "drafted",
            },
            &json!({"from": doc.status.as_str(), "to": to.as_str(), "live_version": live}),
        )?;
        Ok(())
    })?;
    crate::saved::keep_saved(store);
    get(store, id)
}

/// What an admin says about a document besides its file: `None` leaves a
/// value as it is, `Some("")` clears it.
#[derive(Clone, Debug, Default)]
pub struct Details {
    /// Its title.
    pub title: Option<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// From when it applies, `YYYY-MM-DD`.
    pub effective_date: Option<String>,
    /// When it is next reviewed, `YYYY-MM-DD`.
    pub review_date: Option<String>,
}

fn check_date(field: &'static str, v: &str) -> Result<()> {
    if v.is_empty() || chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
        Ok(())
    } else {
        Err(DocsError::Invalid {
            field,
            reason: format!("{v:?} is not a date: use YYYY-MM-DD, e.g. 2027-01-31"),
        })
    }
}

/// Change a document's title, owner, effective or review date (audited
/// with the old and new values).
pub fn set_details(store: &mut Store, id: &str, d: &Details) -> Result<Document> {
    store.require_admin("change a document's details")?;
    if let Some(t) = &d.title {
        if t.trim().is_empty() || t.chars().count() > 200 {
            return Err(DocsError::Invalid {
                field: "--title",
                reason: "give a title of 1 to 200 characters".into(),
            });
        }
    }
    if let Some(o) = &d.owner {
        if o.chars().count() > 200 {
            return Err(DocsError::Invalid {
                field: "--owner",
                reason: "at most 200 characters".into(),
            });
        }
    }
    check_date("--effective", d.effective_date.as_deref().unwrap_or(""))?;
    check_date("--review", d.review_date.as_deref().unwrap_or(""))?;
    let before = get(store, id)?;
    let actor = store.user_actor();
    let blank = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .map(|s| (!s.is_empty()).then_some(s))
    };
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let seq = next_seq(tx.conn())?;
        let title = d
            .title
            .as_ref()
            .map(|t| t.trim().to_string())
            .unwrap_or(before.title.clone());
        let owner = blank(&d.owner).unwrap_or(before.owner.clone());
        let effective = blank(&d.effective_date).unwrap_or(before.effective_date.clone());
        let review = blank(&d.review_date).unwrap_or(before.review_date.clone());
        tx.conn().execute(
            "UPDATE documents_docs SET title = ?2, owner = ?3, effective_date = ?4, \
             review_date = ?5, seq = ?6, updated_at = ?7 WHERE id = ?1",
            params![id, title, owner, effective, review, seq, tx.now()],
        )?;
        tx.audit(
            "docs",
            id,
            "details",
            &json!({
                "title": [before.title, title],
                "owner": [before.owner, owner],
                "effective_date": [before.effective_date, effective],
                "review_date": [before.review_date, review],
            }),
        )?;
        Ok(())
    })?;
    crate::saved::keep_saved(store);
    get(store, id)
}

/// Set who may see a document.
pub fn set_audience(store: &mut Store, id: &str, audience: &[String]) -> Result<Document> {
    store.require_admin("change who sees a document")?;
    if audience.is_empty() {
        return Err(DocsError::Invalid {
            field: "--audience",
            reason: "name at least one: everyone, role:R or team:T".into(),
        });
    }
    for a in audience {
        check_audience(a)?;
    }
    let doc = get(store, id)?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let seq = next_seq(tx.conn())?;
        tx.conn().execute(
            "UPDATE documents_docs SET audience = ?2, seq = ?3, updated_at = ?4 WHERE id = ?1",
            params![
                id,
                serde_json::to_string(audience).map_err(crm_core::CoreError::from)?,
                seq,
                tx.now()
            ],
        )?;
        tx.audit(
            "docs",
            id,
            "audience",
            &json!({"from": doc.audience, "to": audience}),
        )?;
        Ok(())
    })?;
    crate::saved::keep_saved(store);
    get(store, id)
}

const DOC_COLUMNS: &str = "d.id, d.title, d.file_name, d.status, d.audience, d.owner, \
     d.effective_date, d.review_date, d.live_version, d.latest_version, v.state, v.reason, \
     v.pages, d.updated_at";

fn doc_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Document> {
    let audience: String = r.get(4)?;
    Ok(Document {
        id: r.get(0)?,
        title: r.get(1)?,
        file_name: r.get(2)?,
        status: DocStatus::parse(&r.get::<_, String>(3)?),
        audience: serde_json::from_str(&audience).unwrap_or_default(),
        owner: r.get(5)?,
        effective_date: r.get(6)?,
        review_date: r.get(7)?,
        live_version: r.get(8)?,
        latest_version: r.get(9)?,
        state: FileState::parse(&r.get::<_, String>(10)?),
        reason: r.get(11)?,
        pages: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

/// One document (admins see every one; others only published documents
/// of their audience).
pub fn get(store: &Store, id: &str) -> Result<Document> {
    if !crate::schema::installed(store)? {
        return Err(DocsError::NotFound(id.to_string()));
    }
    let viewer = Viewer::of(store)?;
    let doc = store
        .feature_read(|c| {
            c.query_row(
                &format!(
                    "SELECT {DOC_COLUMNS} FROM documents_docs d JOIN documents_versions v \
                     ON v.doc_id = d.id AND v.version = d.latest_version WHERE d.id = ?1"
                ),
                [id],
                doc_row,
            )
            .optional()
        })?
        .filter(|d| viewer.may_see(d))
        .ok_or_else(|| DocsError::NotFound(id.to_string()))?;
    Ok(doc)
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only documents whose title or file name contains this.
    pub text: Option<String>,
    /// Only documents in this status.
    pub status: Option<DocStatus>,
    /// Skip this many (paging).
    pub offset: usize,
    /// At most this many (0: 100).
    pub limit: usize,
}

/// A page of the library, by title, and how many match in all.
pub fn list(store: &Store, q: &ListQuery) -> Result<(Vec<Document>, usize)> {
    if !crate::schema::installed(store)? {
        return Ok((Vec::new(), 0));
    }
    let viewer = Viewer::of(store)?;
    let limit = if q.limit == 0 { 100 } else { q.limit.min(1000) };
    let like = q.text.as_ref().map(|t| {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    // Audience is a small JSON list: the viewer's terms are matched in SQL
    // so a page is a page (no filtering after the LIMIT).
    let (filter, terms) = viewer.sql_filter();
    let sql_where = format!(
        "WHERE d.status != 'removed' \
         AND (?1 IS NULL OR d.title LIKE ?1 ESCAPE '\\' OR d.file_name LIKE ?1 ESCAPE '\\') \
         AND (?2 IS NULL OR d.status = ?2) AND {filter}"
    );
    let status = q.status.map(|s| s.as_str());
    let (docs, total) = store.feature_read(|c| {
        let total: i64 = c.query_row(
            &format!("SELECT count(*) FROM documents_docs d {sql_where}"),
            params![like, status, terms],
            |r| r.get(0),
        )?;
        let mut st = c.prepare(&format!(
            "SELECT {DOC_COLUMNS} FROM documents_docs d JOIN documents_versions v \
             ON v.doc_id = d.id AND v.version = d.latest_version {sql_where} \
             ORDER BY d.title COLLATE NOCASE, d.id LIMIT ?4 OFFSET ?5"
        ))?;
        let docs = st
            .query_map(
                params![like, status, terms, limit as i64, q.offset as i64],
                doc_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((docs, total as usize))
    })?;
    Ok((docs, total))
}

/// A document's versions, newest first.
pub fn versions(store: &Store, id: &str) -> Result<Vec<Version>> {
    let doc = get(store, id)?;
    // Others than admins see only the version in force: an older one may
    // have been replaced for what it said.
    let only_live = (!Viewer::of(store)?.admin).then_some(doc.live_version.unwrap_or(0));
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT version, file_name, kind, size, sha256, state, reason, change_note, pages, \
             added_at, added_by, paged FROM documents_versions WHERE doc_id = ?1 \
             AND (?2 IS NULL OR version = ?2) ORDER BY version DESC",
        )?;
        let rows = st.query_map(params![id, only_live], |r| {
            let version: i64 = r.get(0)?;
            Ok(Version {
                version,
                file_name: r.get(1)?,
                kind: r.get(2)?,
                size: r.get(3)?,
                sha256: r.get(4)?,
                state: FileState::parse(&r.get::<_, String>(5)?),
                reason: r.get(6)?,
                change_note: r.get(7)?,
                pages: r.get(8)?,
                added_at: r.get(9)?,
                added_by: r.get(10)?,
                paged: r.get(11)?,
                live: doc.live_version == Some(version),
            })
        })?;
        rows.collect()
    })?)
}

/// A version's file, as added.
pub fn file_bytes(store: &Store, id: &str, version: i64) -> Result<Vec<u8>> {
    check_version_visible(store, id, version)?;
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT bytes FROM documents_chunks WHERE doc_id = ?1 AND version = ?2 ORDER BY n",
        )?;
        let mut out = Vec::new();
        for chunk in st.query_map(params![id, version], |r| r.get::<_, Vec<u8>>(0))? {
            out.extend(chunk?);
        }
        Ok(out)
    })?)
}

/// Refuse a version the person may not open: admins open any; others
/// only the version in force of a document they may see.
pub(crate) fn check_version_visible(store: &Store, id: &str, version: i64) -> Result<()> {
    let doc = get(store, id)?;
    if Viewer::of(store)?.admin || doc.live_version == Some(version) {
        Ok(())
    } else {
        Err(DocsError::NotFound(format!("{id} version {version}")))
    }
}
