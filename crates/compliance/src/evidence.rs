//! Evidence files (a scanned passport, a DBS certificate, a training
//! certificate): kept inside the encrypted store in 1 MiB chunks, never as
//! files on disk. Only documents and pictures are taken, checked by their
//! bytes, not their name.

use std::io::Read;
use std::path::Path;

use crm_core::Store;
use rusqlite::params;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{ComplianceError, Result};
use crate::schema::{install, installed, FEATURE};
use crate::who::Access;

/// The largest evidence file taken (a phone's photo of a certificate is a
/// few MB; a 200 MB file is not evidence).
pub const MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Bytes per stored chunk.
const CHUNK: usize = 1024 * 1024;

/// An evidence file as listed.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Its id.
    pub id: String,
    /// The staff member it is about.
    pub staff_id: String,
    /// What it evidences: a checklist item's id, or `training`.
    pub item: String,
    /// The name it was added with.
    pub file_name: String,
    /// `pdf`, `png`, `jpeg`, `docx`.
    pub kind: String,
    /// Bytes.
    pub size: i64,
    /// When added.
    pub added_at: String,
}

/// What the bytes are, when they are a document or a picture.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if bytes.starts_with(b"PK\x03\x04")
        && bytes.windows(5).take(64 * 1024).any(|w| w == b"word/")
    {
        Some("docx")
    } else {
        None
    }
}

/// Read an evidence file from disk, refusing it before reading when it is
/// too large.
pub fn read_file(path: &Path) -> Result<(String, Vec<u8>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let io = |e: std::io::Error| {
        ComplianceError::invalid("evidence file", format!("{}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_BYTES {
        return Err(too_large(&name, len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok((name, bytes))
}

fn too_large(name: &str, len: u64) -> ComplianceError {
    ComplianceError::invalid(
        "evidence file",
        format!(
            "{name} is {} MB; the largest taken is {} MB (scan at a lower resolution, or save as PDF)",
            len.div_ceil(1024 * 1024),
            MAX_BYTES / (1024 * 1024)
        ),
    )
}

/// Check an evidence file's bytes: a PDF, PNG, JPEG or Word document, not
/// empty, not too large. Returns its kind.
pub fn check(name: &str, bytes: &[u8]) -> Result<&'static str> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(name, bytes.len() as u64));
    }
    sniff(bytes).ok_or_else(|| {
        ComplianceError::invalid(
            "evidence file",
            format!(
                "{name} is not a document or a picture; add a PDF, a Word document, or a PNG or JPEG photo"
            ),
        )
    })
}

/// Keep `bytes` as evidence for `staff_id`'s `item` (a checklist item or
/// `training`), checked first; nothing is stored when they are refused.
pub fn add(
    store: &mut Store,
    staff_id: &str,
    item: &str,
    name: &str,
    bytes: &[u8],
) -> Result<Evidence> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_edit(staff_id, "add evidence")?;
    crate::staff::get(store, staff_id)?;
    if item != "training" {
        crate::checks::item(item)?;
    }
    let kind = check(name, bytes)?;
    let file_name = crate::staff::required("evidence file", name, 255)?;
    let id = uuid::Uuid::now_v7().to_string();
    let actor = store.user_actor();
    let by = access.user_id.clone();
    store.feature_write(&FEATURE, actor, |tx| {
        insert(
            tx,
            &New {
                id: &id,
                staff_id,
                item,
                file_name: &file_name,
                kind,
                bytes,
                by: &by,
            },
        )
    })?;
    list(store, staff_id)?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| ComplianceError::State("the evidence was not stored".into()))
}

/// An evidence file about to be stored (checked already).
pub(crate) struct New<'a> {
    pub id: &'a str,
    pub staff_id: &'a str,
    pub item: &'a str,
    pub file_name: &'a str,
    pub kind: &'a str,
    pub bytes: &'a [u8],
    pub by: &'a str,
}

/// Store a checked evidence file inside a write (with the record it
/// evidences, when there is one: both or neither).
pub(crate) fn insert(tx: &crm_core::FeatureTx<'_>, e: &New<'_>) -> Result<()> {
    let sha = hex::encode(Sha256::digest(e.bytes));
    let c = tx.conn();
    c.execute(
        "INSERT INTO compliance_evidence (id, staff_id, item, file_name, kind, size, sha256, added_at, added_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![e.id, e.staff_id, e.item, e.file_name, e.kind, e.bytes.len() as i64, sha, tx.now(), e.by],
    )?;
    for (n, chunk) in e.bytes.chunks(CHUNK).enumerate() {
        c.execute(
            "INSERT INTO compliance_evidence_chunks (evidence_id, n, bytes) VALUES (?1, ?2, ?3)",
            params![e.id, n as i64, chunk],
        )?;
    }
    tx.audit(
        "evidence",
        e.id,
        "added",
        &json!({"staff_id": e.staff_id, "item": e.item,
        "file_name": e.file_name, "kind": e.kind, "size": e.bytes.len(), "sha256": sha}),
    )?;
    Ok(())
}

/// `staff_id`'s evidence files.
pub fn list(store: &Store, staff_id: &str) -> Result<Vec<Evidence>> {
    if !installed(store)? || !Access::of(store)?.may_see(staff_id) {
        return Ok(Vec::new());
    }
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT id, staff_id, item, file_name, kind, size, added_at FROM compliance_evidence \
             WHERE staff_id = ?1 ORDER BY added_at, id",
        )?;
        let rows = st.query_map([staff_id], |r| {
            Ok(Evidence {
                id: r.get(0)?,
                staff_id: r.get(1)?,
                item: r.get(2)?,
                file_name: r.get(3)?,
                kind: r.get(4)?,
                size: r.get(5)?,
                added_at: r.get(6)?,
            })
        })?;
        rows.collect()
    })?)
}

/// An evidence file's bytes, for someone who may see its staff record.
pub fn bytes(store: &Store, evidence_id: &str) -> Result<(Evidence, Vec<u8>)> {
    let missing = || ComplianceError::NotFound {
        what: "evidence file",
        id: evidence_id.to_string(),
        hint: "see the staff member's checklist",
    };
    if !installed(store)? {
        return Err(missing());
    }
    let staff_id: String = store
        .feature_read(|c| {
            c.query_row(
                "SELECT staff_id FROM compliance_evidence WHERE id = ?1",
                [evidence_id],
                |r| r.get(0),
            )
        })
        .map_err(|_| missing())?;
    let ev = list(store, &staff_id)?
        .into_iter()
        .find(|e| e.id == evidence_id)
        .ok_or_else(missing)?;
    let bytes = stored_bytes(store, evidence_id)?;
    if bytes.len() as i64 != ev.size {
        return Err(ComplianceError::State(format!(
            "{} has not fully arrived on this device yet; it comes with the next sync",
            ev.file_name
        )));
    }
    Ok((ev, bytes))
}

/// The bytes of an evidence file held here (all its chunks, in order).
pub(crate) fn stored_bytes(store: &Store, evidence_id: &str) -> Result<Vec<u8>> {
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT bytes FROM compliance_evidence_chunks WHERE evidence_id = ?1 ORDER BY n",
        )?;
        let mut out = Vec::new();
        for chunk in st.query_map([evidence_id], |r| r.get::<_, Vec<u8>>(0))? {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    })?)
}
