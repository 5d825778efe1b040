//! `/v1/documents`: the tenant's documents library. An admin's device
//! uploads each published document's file in chunks (resumable: it asks
//! which chunks the server holds), then says what the document is (title,
//! status, audience, version in force); the server checks the file is
//! whole and is what its SHA-256 says before the document exists. Every
//! device reads the documents its user's audience allows at each sync and
//! fetches their files by chunk.
//!
//! The audience rule is applied here, before anything reaches a device: an
//! agent is never sent, nor may fetch, a document whose audience does not
//! name everyone, their role or their team; to them such a document does
//! not exist (404, not 403). Admins receive every published and retired
//! document (and the drafts of controlled documents, a policy awaiting a
//! second admin's approval, and a published one's newer version waiting
//! for that approval; no one else ever receives or fetches either). Every
//! change takes the tenant's revision row lock first, so
//! changes apply one at a time, and is audited in the same transaction.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use crm_protocol::documents::{
    audience_error, DocumentEntry, DocumentsResponse, FileChunks, PendingVersion, MAX_FILE,
};
use serde::Deserialize;

use crate::admin_api::admin_only;
use crate::auth::{self, Bearer, Device, Role};
use crate::error::{ApiResult, ServerError};
use crate::files::{self, check_sha, Chunks};
use crate::sql::{self, Postgres, Transaction};
use crate::AppState;

/// Query of a library read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct DocumentsQuery {
    /// The revision the device has.
    pub since: Option<i64>,
    /// Who the device's copy was for (`viewer` of the last answer).
    pub viewer: Option<String>,
}

async fn revision(tx: &mut Transaction<'static, Postgres>, dev: &Device) -> ApiResult<i64> {
    let row: Option<(i64,)> =
        sql::query_as("SELECT revision FROM doc_revisions WHERE tenant_id = $1")
            .bind(dev.tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map_or(0, |r| r.0))
}

type EntryRow = (
    String,
    String,
    String,
    sql::Json<Vec<String>>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<sql::Json<PendingVersion>>,
);

/// The version in force, and (for admins: see [`entry`]) the pending one.
const ENTRY_SELECT: &str =
    "SELECT d.id, d.title, d.status, d.audience, d.owner, d.effective_date, \
     d.review_date, d.version, v.file_name, v.sha256, v.size, v.change_note, \
     (SELECT to_jsonb(p) FROM (SELECT pv.version, pv.file_name, pv.sha256, pv.size, pv.change_note \
        FROM doc_versions pv WHERE pv.tenant_id = d.tenant_id AND pv.doc_id = d.id \
          AND pv.version = d.pending_version) p) \
     FROM doc_documents d JOIN doc_versions v \
       ON v.tenant_id = d.tenant_id AND v.doc_id = d.id AND v.version = d.version \
     WHERE d.tenant_id = $1";

/// The SQL condition of the audience rule on `doc_documents d` (`$2`:
/// sees all, `$3`: the viewer's terms as a text array).
const VISIBLE: &str = "($2 OR (d.status = 'published' AND d.audience ?| $3))";

/// An entry as `admin` may see it: a version waiting for approval only for
/// admins.
fn entry(r: EntryRow, admin: bool) -> DocumentEntry {
    DocumentEntry {
        id: r.0,
        title: r.1,
        status: r.2,
        audience: r.3 .0,
        owner: r.4,
        effective_date: r.5,
        review_date: r.6,
        version: r.7,
        file_name: r.8,
        sha256: r.9,
        size: r.10.max(0) as u64,
        change_note: r.11,
        pending: if admin { r.12.map(|p| p.0) } else { None },
    }
}

/// The documents this device's user may have.
#[utoipa::path(get, path = "/v1/documents", params(DocumentsQuery), security(("device_token" = [])),
    responses((status = 200, body = DocumentsResponse), (status = 401, body = crm_protocol::wire::ApiError)))]
pub async fn list(
    State(st): State<AppState>,
    bearer: Bearer,
    Query(q): Query<DocumentsQuery>,
) -> ApiResult<Json<DocumentsResponse>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, true).await?;
    let team = auth::user_team(&mut tx, &dev).await?;
    let role = dev.role.as_str();
    let viewer = match &team {
        Some(t) => format!("{role}:{t}"),
        None => role.to_string(),
    };
    let revision = revision(&mut tx, &dev).await?;
    let mut out = DocumentsResponse {
        unchanged: q.since == Some(revision) && q.viewer.as_deref() == Some(viewer.as_str()),
        revision,
        viewer,
        role: role.to_string(),
        team: team.clone(),
        documents: Vec::new(),
    };
    if out.unchanged {
        return Ok(Json(out));
    }
    let terms = crm_protocol::documents::viewer_terms(role, team.as_deref());
    let rows: Vec<EntryRow> = sql::query_as(&format!("{ENTRY_SELECT} AND {VISIBLE} ORDER BY d.id"))
        .bind(dev.tenant_id)
        .bind(dev.role == Role::Admin)
        .bind(&terms)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let admin = dev.role == Role::Admin;
    out.documents = rows.into_iter().map(|r| entry(r, admin)).collect();
    Ok(Json(out))
}

/// Which chunks of a file the server holds (an admin's upload resumes).
#[utoipa::path(get, path = "/v1/documents/files/{sha256}", security(("device_token" = [])),
    params(("sha256" = String, Path, description = "the file's SHA-256")),
    responses((status = 200, body = FileChunks), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn file_chunks(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(sha): Path<String>,
) -> ApiResult<Json<FileChunks>> {
    check_sha(&sha)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "upload documents")?;
    let have = files::held(&mut tx, &dev, Chunks::Documents, &sha).await?;
    tx.commit().await?;
    Ok(Json(FileChunks { have }))
}

/// Query of a chunk upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChunkQuery {
    /// The whole file's size, bytes.
    pub size: u64,
}

/// Upload chunk `n` of a file (an admin's); the same chunk twice is kept once.
#[utoipa::path(put, path = "/v1/documents/files/{sha256}/{n}", security(("device_token" = [])),
    params(("sha256" = String, Path, description = "the file's SHA-256"),
           ("n" = u64, Path, description = "the chunk's number, from 0"), ChunkQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "kept"), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn put_chunk(
    State(st): State<AppState>,
    bearer: Bearer,
    Path((sha, n)): Path<(String, u64)>,
    Query(q): Query<ChunkQuery>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    check_sha(&sha)?;
    let body = body.map_err(crate::body_error)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "upload documents")?;
    files::put(
        &mut tx,
        &dev,
        Chunks::Documents,
        &sha,
        n,
        q.size,
        MAX_FILE,
        "a document's file",
        body.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn check_entry(id: &str, e: &DocumentEntry) -> ApiResult<()> {
    let bad = |field: &str, reason: String| {
        Err(ServerError::bad_request(
            "bad_document",
            format!("{field}: {reason}"),
        ))
    };
    if e.id != id {
        return bad("id", format!("the body names {:?}, the path {id:?}", e.id));
    }
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return bad("id", "1 to 64 letters, digits or dashes".into());
    }
    if e.title.trim().is_empty() || e.title.chars().count() > 200 {
        return bad("title", "give a title of 1 to 200 characters".into());
    }
    if !matches!(e.status.as_str(), "published" | "retired" | "draft") {
        return bad(
            "status",
            format!("{:?}: draft, published or retired", e.status),
        );
    }
    if e.audience.is_empty() {
        return bad(
            "audience",
            "name at least one: everyone, role:R or team:T".into(),
        );
    }
    if let Some(reason) = e.audience.iter().find_map(|a| audience_error(a)) {
        return bad("audience", reason);
    }
    if e.version < 1 {
        return bad("version", "versions count from 1".into());
    }
    if e.file_name.trim().is_empty() || e.file_name.len() > 255 {
        return bad("file_name", "1 to 255 bytes".into());
    }
    for (field, v) in [
        ("effective_date", &e.effective_date),
        ("review_date", &e.review_date),
    ] {
        if let Some(v) = v {
            if !is_date(v) {
                return bad(field, format!("{v:?} is not a date: use YYYY-MM-DD"));
            }
        }
    }
    if e.size > MAX_FILE {
        return bad("size", format!("at most {MAX_FILE} bytes"));
    }
    if let Some(p) = &e.pending {
        if e.status != "published" {
            return bad(
                "pending",
                "only a published document has a version waiting".into(),
            );
        }
        if p.version <= e.version {
            return bad(
                "pending.version",
                format!(
                    "{} is not above the version in force ({})",
                    p.version, e.version
                ),
            );
        }
        if p.file_name.trim().is_empty() || p.file_name.len() > 255 {
            return bad("pending.file_name", "1 to 255 bytes".into());
        }
        if p.size > MAX_FILE {
            return bad("pending.size", format!("at most {MAX_FILE} bytes"));
        }
        check_sha(&p.sha256)?;
    }
    check_sha(&e.sha256)
}

/// Keep `version` of document `id` (its file whole on the server), or
/// find it kept already with the same file; another file under that
/// number is a conflict.
#[allow(clippy::too_many_arguments)]
async fn keep_version(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    id: &str,
    title: &str,
    version: i64,
    file_name: &str,
    sha: &str,
    size: u64,
    change_note: &Option<String>,
) -> ApiResult<()> {
    let known: Option<(String,)> = sql::query_as(
        "SELECT sha256 FROM doc_versions WHERE tenant_id = $1 AND doc_id = $2 AND version = $3",
    )
    .bind(dev.tenant_id)
    .bind(id)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    match known {
        Some((known,)) if known == sha => Ok(()),
        Some(_) => Err(ServerError::client(
            StatusCode::CONFLICT,
            "version_exists",
            format!(
                "version {version} of {title} is already on the server with another file: add the file again as a new version"
            ),
        )),
        None => {
            files::check_whole(tx, dev, Chunks::Documents, sha, size).await?;
            sql::query(
                "INSERT INTO doc_versions (tenant_id, doc_id, version, file_name, sha256, size, \
                 change_note, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(dev.tenant_id)
            .bind(id)
            .bind(version)
            .bind(file_name)
            .bind(sha)
            .bind(size as i64)
            .bind(change_note)
            .bind(dev.user_id)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    }
}

/// `YYYY-MM-DD` with a month and day that can be (devices check the
/// calendar itself).
fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    let num = |r: std::ops::Range<usize>| v.get(r).and_then(|s| s.parse::<u32>().ok());
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && v.bytes()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && num(5..7).is_some_and(|m| (1..=12).contains(&m))
        && num(8..10).is_some_and(|d| (1..=31).contains(&d))
}

/// Check the uploaded chunks of `sha` make a file of `size` bytes with
/// that SHA-256 (read one chunk at a time).
/// Publish, retire or change a document (an admin's); its file must be
/// uploaded first.
#[utoipa::path(put, path = "/v1/documents/{id}", request_body = DocumentEntry, security(("device_token" = [])),
    params(("id" = String, Path, description = "the document's id")),
    responses((status = 200, body = DocumentsResponse), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError), (status = 409, body = crm_protocol::wire::ApiError)))]
pub async fn put_document(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<DocumentEntry>> {
    let e: DocumentEntry = crate::parse_body(body)?;
    check_entry(&id, &e)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "publish or change documents")?;
    let rev: (i64,) = sql::query_as(
        "INSERT INTO doc_revisions (tenant_id, revision) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET revision = doc_revisions.revision + 1 \
         RETURNING revision",
    )
    .bind(dev.tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    keep_version(
        &mut tx,
        &dev,
        &id,
        &e.title,
        e.version,
        &e.file_name,
        &e.sha256,
        e.size,
        &e.change_note,
    )
    .await?;
    if let Some(p) = &e.pending {
        keep_version(
            &mut tx,
            &dev,
            &id,
            &e.title,
            p.version,
            &p.file_name,
            &p.sha256,
            p.size,
            &p.change_note,
        )
        .await?;
    }
    let before: Option<(String, i64)> =
        sql::query_as("SELECT status, version FROM doc_documents WHERE tenant_id = $1 AND id = $2")
            .bind(dev.tenant_id)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
    sql::query(
        "INSERT INTO doc_documents (tenant_id, id, title, status, audience, owner, effective_date, \
         review_date, version, updated_by, pending_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET title = $3, status = $4, audience = $5, \
           owner = $6, effective_date = $7, review_date = $8, version = $9, updated_by = $10, \
           pending_version = $11, updated_at = now()",
    )
    .bind(dev.tenant_id)
    .bind(&id)
    .bind(e.title.trim())
    .bind(&e.status)
    .bind(sql::Json(&e.audience))
    .bind(&e.owner)
    .bind(&e.effective_date)
    .bind(&e.review_date)
    .bind(e.version)
    .bind(dev.user_id)
    .bind(e.pending.as_ref().map(|p| p.version))
    .execute(&mut *tx)
    .await?;
    let action = match (&before, e.status.as_str()) {
        (_, "draft") => "drafted",
        (Some((s, v)), "published")
            if s == "published" && *v == e.version && e.pending.is_some() =>
        {
            "version_waiting"
        }
        (None, "published") => "published",
        (Some((s, _)), "published") if s != "published" => "published",
        (Some((s, _)), "retired") if s != "retired" => "retired",
        (None, _) => "retired",
        (Some((_, v)), _) if *v != e.version => "new_version",
        _ => "changed",
    };
    sql::query(
        "INSERT INTO doc_audit (tenant_id, actor, doc_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .bind(&id)
    .bind(action)
    .bind(sql::Json(serde_json::json!({
        "revision": rev.0, "title": e.title, "status": e.status, "audience": e.audience,
        "version": e.version, "sha256": e.sha256,
        "pending": e.pending.as_ref().map(|p| p.version),
    })))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(e))
}

/// Chunk `n` of a document's file, for a device whose user may see it.
#[utoipa::path(get, path = "/v1/documents/{id}/files/{sha256}/{n}", security(("device_token" = [])),
    params(("id" = String, Path, description = "the document's id"),
           ("sha256" = String, Path, description = "the file's SHA-256"),
           ("n" = u64, Path, description = "the chunk's number, from 0")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, body = crm_protocol::wire::ApiError)))]
pub async fn get_chunk(
    State(st): State<AppState>,
    bearer: Bearer,
    Path((id, sha, n)): Path<(String, String, u64)>,
) -> ApiResult<Response> {
    check_sha(&sha)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    let team = auth::user_team(&mut tx, &dev).await?;
    let terms = crm_protocol::documents::viewer_terms(dev.role.as_str(), team.as_deref());
    // Agents fetch only the version in force of a document they may see;
    // admins any version of any document.
    let visible: Option<(i64,)> = sql::query_as(&format!(
        "SELECT 1::bigint FROM doc_documents d JOIN doc_versions v \
           ON v.tenant_id = d.tenant_id AND v.doc_id = d.id \
         WHERE d.tenant_id = $1 AND d.id = $4 AND v.sha256 = $5 AND {VISIBLE} \
           AND ($2 OR v.version = d.version) LIMIT 1"
    ))
    .bind(dev.tenant_id)
    .bind(dev.role == Role::Admin)
    .bind(&terms)
    .bind(&id)
    .bind(&sha)
    .fetch_optional(&mut *tx)
    .await?;
    let missing = || {
        ServerError::client(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no document {id} with the file {sha} for this user"),
        )
    };
    if visible.is_none() {
        return Err(missing());
    }
    let chunk = files::get(&mut tx, &dev, Chunks::Documents, &sha, n).await?;
    tx.commit().await?;
    let bytes = chunk.ok_or_else(missing)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
