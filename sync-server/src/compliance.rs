//! `/v1/compliance`: care compliance records (staff, their checks,
//! evidence, supervisions and training; courses; policies' control;
//! read-and-sign assignments and acknowledgements). Each record travels
//! whole; the last push the server accepts wins.
//!
//! Who sees what is decided here, before anything reaches a device: an
//! admin everything; a person with a staff record their own record and the
//! people they manage, down the line (a manager is whoever a staff record
//! names as its manager), plus courses, policies and assignments; anyone
//! else (an insurance agent) nothing at all. Writes follow the same rule:
//! admins anything; managers the records of the people they manage (not
//! their own, and not linking accounts); a person only their own
//! acknowledgements. Every accepted push takes the tenant's revision row
//! first, so pushes apply one at a time, and is audited with it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use crm_protocol::compliance::{
    kind_is_about_staff, CompliancePull, CompliancePush, CompliancePushed, ComplianceRecord,
    PushOutcome, MAX_BODY, MAX_EVIDENCE, MAX_PUSH,
};
use crm_protocol::documents::FileChunks;
use serde::Deserialize;
use sha2::Digest;
use uuid::Uuid;

use crate::auth::{self, Bearer, Device, Role};
use crate::error::{ApiResult, ServerError};
use crate::files::{self, check_sha, Chunks};
use crate::sql::{self, Postgres, Transaction};
use crate::AppState;

/// Query of a pull.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PullQuery {
    /// The revision the device has.
    pub since: Option<i64>,
    /// The `view` of the device's last answer.
    pub view: Option<String>,
}

/// What the device's user may see and change.
struct Scope {
    admin: bool,
    /// Their own staff record.
    me: Option<String>,
    /// The people they manage, down the line (not themselves).
    managed: Vec<String>,
}

impl Scope {
    fn manages(&self, staff_id: &str) -> bool {
        self.admin || self.managed.iter().any(|m| m == staff_id)
    }

    /// Who the answer is for: role and the staff they may see.
    fn view(&self) -> String {
        if self.admin {
            return "admin".into();
        }
        let mut ids: Vec<&str> = self.managed.iter().map(String::as_str).collect();
        ids.sort_unstable();
        let mut h = sha2::Sha256::new();
        h.update(self.me.as_deref().unwrap_or("-"));
        for id in ids {
            h.update(b"\n");
            h.update(id);
        }
        hex::encode(&h.finalize()[..12])
    }
}

async fn scope(tx: &mut Transaction<'static, Postgres>, dev: &Device) -> ApiResult<Scope> {
    if dev.role == Role::Admin {
        return Ok(Scope {
            admin: true,
            me: None,
            managed: Vec::new(),
        });
    }
    let me: Option<(String,)> = sql::query_as(
        "SELECT id FROM comp_records WHERE tenant_id = $1 AND kind = 'staff' AND NOT deleted \
         AND user_ref = $2 ORDER BY id LIMIT 1",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((me,)) = me else {
        return Ok(Scope {
            admin: false,
            me: None,
            managed: Vec::new(),
        });
    };
    // Down the line; UNION ends a loop in the data.
    let rows: Vec<(String,)> = sql::query_as(
        "WITH RECURSIVE down(id) AS ( \
           SELECT id FROM comp_records WHERE tenant_id = $1 AND kind = 'staff' AND NOT deleted AND manager_ref = $2 \
           UNION SELECT s.id FROM comp_records s JOIN down d ON s.manager_ref = d.id \
             WHERE s.tenant_id = $1 AND s.kind = 'staff' AND NOT s.deleted) \
         SELECT id FROM down WHERE id <> $2",
    )
    .bind(dev.tenant_id)
    .bind(&me)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Scope {
        admin: false,
        me: Some(me),
        managed: rows.into_iter().map(|r| r.0).collect(),
    })
}

type Row = (
    String,
    String,
    Option<String>,
    sql::Json<serde_json::Value>,
    bool,
    i64,
);

/// What changed among what this device's user may see.
#[utoipa::path(get, path = "/v1/compliance", params(PullQuery), security(("device_token" = [])),
    responses((status = 200, body = CompliancePull), (status = 401, body = crm_protocol::wire::ApiError)))]
pub async fn pull(
    State(st): State<AppState>,
    bearer: Bearer,
    Query(q): Query<PullQuery>,
) -> ApiResult<Json<CompliancePull>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, true).await?;
    let scope = scope(&mut tx, &dev).await?;
    let view = scope.view();
    let rev: Option<(i64,)> =
        sql::query_as("SELECT revision FROM comp_revisions WHERE tenant_id = $1")
            .bind(dev.tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
    let rev = rev.map_or(0, |r| r.0);
    let full = q.since.is_none() || q.view.as_deref() != Some(view.as_str());
    let since = if full { 0 } else { q.since.unwrap_or(0) };
    let mut visible: Vec<String> = scope.managed.clone();
    visible.extend(scope.me.clone());
    let rows: Vec<Row> = if !scope.admin && scope.me.is_none() {
        // Not staff, not an admin: no compliance data at all.
        Vec::new()
    } else {
        sql::query_as(
            "SELECT kind, id, staff_id, body, deleted, rev FROM comp_records \
             WHERE tenant_id = $1 AND rev > $2 AND rev <= $3 AND NOT ($4 AND deleted) AND ( \
               $5 OR (kind IN ('staff', 'check', 'evidence', 'supervision', 'training', 'ack') \
                      AND staff_id = ANY($6)) \
                  OR kind IN ('course', 'policy', 'assignment')) \
             ORDER BY rev, kind, id",
        )
        .bind(dev.tenant_id)
        .bind(since)
        .bind(rev)
        .bind(full)
        .bind(scope.admin)
        .bind(&visible)
        .fetch_all(&mut *tx)
        .await?
    };
    tx.commit().await?;
    Ok(Json(CompliancePull {
        rev,
        view,
        full,
        me: scope.me,
        records: rows
            .into_iter()
            .map(|r| ComplianceRecord {
                kind: r.0,
                id: r.1,
                staff_id: r.2,
                body: r.3 .0,
                deleted: r.4,
                rev: r.5,
            })
            .collect(),
    }))
}

/// Why a record is refused, if it is (shape first, then the rights).
fn check_shape(r: &ComplianceRecord) -> Result<bool, String> {
    let about_staff = kind_is_about_staff(&r.kind)
        .ok_or_else(|| format!("{:?} is not a kind of compliance record", r.kind))?;
    if r.id.is_empty() || r.id.len() > 300 || r.id.chars().any(char::is_control) {
        return Err("id: 1 to 300 characters, no control characters".into());
    }
    if !r.deleted && !r.body.is_object() {
        return Err("body: a JSON object".into());
    }
    if r.body.to_string().len() > MAX_BODY {
        return Err(format!("body: larger than {MAX_BODY} bytes"));
    }
    if about_staff && r.staff_id.as_deref().is_none_or(str::is_empty) {
        return Err("staff_id: a record about staff names them".into());
    }
    if r.kind == "staff" && r.staff_id.as_deref() != Some(r.id.as_str()) {
        return Err("staff_id: a staff record's staff_id is its id".into());
    }
    Ok(about_staff)
}

fn text_field<'a>(r: &'a ComplianceRecord, key: &str) -> Option<&'a str> {
    r.body
        .get(key)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Records changed on a device: each accepted or refused on its own.
#[utoipa::path(post, path = "/v1/compliance", request_body = CompliancePush, security(("device_token" = [])),
    responses((status = 200, body = CompliancePushed), (status = 400, body = crm_protocol::wire::ApiError)))]
pub async fn push(
    State(st): State<AppState>,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CompliancePushed>> {
    let p: CompliancePush = crate::parse_body(body)?;
    if p.records.len() > MAX_PUSH {
        return Err(ServerError::bad_request(
            "too_many",
            format!("at most {MAX_PUSH} records in one push"),
        ));
    }
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    let rev: (i64,) = sql::query_as(
        "INSERT INTO comp_revisions (tenant_id, revision) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET revision = comp_revisions.revision + 1 RETURNING revision",
    )
    .bind(dev.tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    let mut scope = scope(&mut tx, &dev).await?;
    let mut outcomes = Vec::with_capacity(p.records.len());
    for r in &p.records {
        let refused = match allowed(&mut tx, &dev, &scope, r).await? {
            Err(why) => Some(why),
            Ok(skip) => {
                if !skip {
                    store(&mut tx, &dev, rev.0, r).await?;
                    // Someone a manager just added is theirs for the rest of the push.
                    if r.kind == "staff" && !scope.admin && !scope.managed.contains(&r.id) {
                        scope.managed.push(r.id.clone());
                    }
                }
                None
            }
        };
        outcomes.push(PushOutcome {
            kind: r.kind.clone(),
            id: r.id.clone(),
            refused,
        });
    }
    tx.commit().await?;
    Ok(Json(CompliancePushed { outcomes }))
}

/// `Ok(false)`: store it; `Ok(true)`: already there, nothing to do;
/// `Err`: refused, and why.
async fn allowed(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    scope: &Scope,
    r: &ComplianceRecord,
) -> ApiResult<Result<bool, String>> {
    let about_staff = match check_shape(r) {
        Ok(a) => a,
        Err(why) => return Ok(Err(why)),
    };
    let before: Option<(Option<String>, Option<Uuid>)> = sql::query_as(
        "SELECT staff_id, user_ref FROM comp_records WHERE tenant_id = $1 AND kind = $2 AND id = $3",
    )
    .bind(dev.tenant_id)
    .bind(&r.kind)
    .bind(&r.id)
    .fetch_optional(&mut **tx)
    .await?;
    if r.kind == "evidence" && !r.deleted {
        let sha = text_field(r, "sha256").unwrap_or_default().to_string();
        let size = r
            .body
            .get("size")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(u64::MAX);
        if check_sha(&sha).is_err() || size > MAX_EVIDENCE {
            return Ok(Err(
                "evidence: a file's sha256 and size (at most 20 MB)".into()
            ));
        }
        if let Err(e) = files::check_whole(tx, dev, Chunks::Compliance, &sha, size).await {
            return Ok(Err(format!("evidence: {e}")));
        }
    }
    if scope.admin {
        return Ok(Ok(false));
    }
    let staff_id = r.staff_id.as_deref().unwrap_or("");
    let refuse = |why: &str| Ok(Err(why.to_string()));
    if r.kind == "ack" {
        // Only the person themself acknowledges, once.
        if scope.me.as_deref() != Some(staff_id)
            || text_field(r, "user_id") != Some(dev.user_id.to_string().as_str())
        {
            return refuse("only the person themself acknowledges a policy");
        }
        return Ok(Ok(before.is_some()));
    }
    if !about_staff {
        return refuse("only an admin changes courses, policies and assignments");
    }
    if let Some((Some(was), _)) = &before {
        if !scope.manages(was) {
            return refuse("only an admin or this person's manager changes their records");
        }
    }
    if r.kind == "staff" {
        let manager = text_field(r, "manager_id");
        let theirs = scope.manages(&r.id)
            || (before.is_none()
                && manager.is_some_and(|m| scope.me.as_deref() == Some(m) || scope.manages(m)));
        if !theirs {
            return refuse("only an admin adds staff, or a manager adding someone they manage");
        }
        let user_before = before.as_ref().and_then(|b| b.1).map(|u| u.to_string());
        if text_field(r, "user_id").map(str::to_string) != user_before {
            return refuse("only an admin links a staff record to a user account");
        }
        return Ok(Ok(false));
    }
    if !scope.manages(staff_id) {
        return refuse("only an admin or this person's manager changes their records");
    }
    Ok(Ok(false))
}

async fn store(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    rev: i64,
    r: &ComplianceRecord,
) -> ApiResult<()> {
    let (user_ref, manager_ref) = if r.kind == "staff" {
        (
            text_field(r, "user_id").and_then(|u| Uuid::parse_str(u).ok()),
            text_field(r, "manager_id").map(str::to_string),
        )
    } else {
        (None, None)
    };
    let body = if r.deleted {
        serde_json::json!({})
    } else {
        r.body.clone()
    };
    sql::query(
        "INSERT INTO comp_records (tenant_id, kind, id, staff_id, body, deleted, rev, user_ref, manager_ref, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, kind, id) DO UPDATE SET staff_id = $4, body = $5, deleted = $6, rev = $7, \
           user_ref = $8, manager_ref = $9, updated_by = $10, updated_at = now()",
    )
    .bind(dev.tenant_id)
    .bind(&r.kind)
    .bind(&r.id)
    .bind(&r.staff_id)
    .bind(sql::Json(&body))
    .bind(r.deleted)
    .bind(rev)
    .bind(user_ref)
    .bind(manager_ref)
    .bind(dev.user_id)
    .execute(&mut **tx)
    .await?;
    sql::query("INSERT INTO comp_audit (tenant_id, actor, kind, record_id, action) VALUES ($1, $2, $3, $4, $5)")
        .bind(dev.tenant_id)
        .bind(dev.user_id)
        .bind(&r.kind)
        .bind(&r.id)
        .bind(if r.deleted { "deleted" } else { "saved" })
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Who may upload evidence files: admins and managers.
fn may_upload(scope: &Scope) -> ApiResult<()> {
    if scope.admin || !scope.managed.is_empty() {
        Ok(())
    } else {
        Err(ServerError::client(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only an admin or a manager adds evidence files",
        ))
    }
}

/// Which chunks of an evidence file the server holds (an upload resumes).
#[utoipa::path(get, path = "/v1/compliance/files/{sha256}", security(("device_token" = [])),
    params(("sha256" = String, Path, description = "the file's SHA-256")),
    responses((status = 200, body = FileChunks), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn file_chunks(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(sha): Path<String>,
) -> ApiResult<Json<FileChunks>> {
    check_sha(&sha)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    may_upload(&scope(&mut tx, &dev).await?)?;
    let have = files::held(&mut tx, &dev, Chunks::Compliance, &sha).await?;
    tx.commit().await?;
    Ok(Json(FileChunks { have }))
}

/// Query of a chunk upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChunkQuery {
    /// The whole file's size, bytes.
    pub size: u64,
}

/// Upload chunk `n` of an evidence file.
#[utoipa::path(put, path = "/v1/compliance/files/{sha256}/{n}", security(("device_token" = [])),
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
    may_upload(&scope(&mut tx, &dev).await?)?;
    files::put(
        &mut tx,
        &dev,
        Chunks::Compliance,
        &sha,
        n,
        q.size,
        MAX_EVIDENCE,
        "an evidence file",
        body.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Chunk `n` of an evidence file, for a device whose user may see the
/// person it is about (404 otherwise: to them it does not exist).
#[utoipa::path(get, path = "/v1/compliance/evidence/{id}/{n}", security(("device_token" = [])),
    params(("id" = String, Path, description = "the evidence record's id"),
           ("n" = u64, Path, description = "the chunk's number, from 0")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, body = crm_protocol::wire::ApiError)))]
pub async fn get_chunk(
    State(st): State<AppState>,
    bearer: Bearer,
    Path((id, n)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    let scope = scope(&mut tx, &dev).await?;
    let missing = || {
        ServerError::client(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no evidence file {id} for this user"),
        )
    };
    let row: Option<(Option<String>, sql::Json<serde_json::Value>)> = sql::query_as(
        "SELECT staff_id, body FROM comp_records WHERE tenant_id = $1 AND kind = 'evidence' AND id = $2 AND NOT deleted",
    )
    .bind(dev.tenant_id)
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((Some(staff_id), body)) = row else {
        return Err(missing());
    };
    let sees = scope.admin
        || scope.me.as_deref() == Some(staff_id.as_str())
        || scope.managed.contains(&staff_id);
    let sha = body
        .0
        .get("sha256")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !sees || check_sha(&sha).is_err() {
        return Err(missing());
    }
    let chunk = files::get(&mut tx, &dev, Chunks::Compliance, &sha, n).await?;
    tx.commit().await?;
    let bytes = chunk.ok_or_else(missing)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
