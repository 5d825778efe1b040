//! Files kept by chunk (a documents library's files, compliance evidence):
//! content-addressed by SHA-256 in a feature's own chunk table, uploaded
//! and fetched one chunk at a time so a cut link resumes where it stopped,
//! and checked whole against their hash before any record may name them.
//! Who may upload or fetch is the feature's rule; this is only the bytes.

use axum::http::StatusCode;
use crm_protocol::documents::{chunks_of, CHUNK};
use sha2::Digest;

use crate::auth::Device;
use crate::error::{ApiResult, ServerError};
use crate::sql::{self, Postgres, Transaction};

/// The chunk tables (named in SQL; never from a request).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Chunks {
    /// `doc_file_chunks`.
    Documents,
    /// `comp_file_chunks`.
    Compliance,
}

impl Chunks {
    fn table(self) -> &'static str {
        match self {
            Chunks::Documents => "doc_file_chunks",
            Chunks::Compliance => "comp_file_chunks",
        }
    }
}

/// Refuse what is not a SHA-256 in lower-case hex.
pub(crate) fn check_sha(sha: &str) -> ApiResult<()> {
    if sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ServerError::bad_request(
            "bad_sha256",
            format!("{sha:?} is not a SHA-256: give 64 lower-case hex digits"),
        ))
    }
}

/// The chunk numbers held of a file.
pub(crate) async fn held(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    t: Chunks,
    sha: &str,
) -> ApiResult<Vec<u64>> {
    let have: Vec<(i32,)> = sql::query_as(&format!(
        "SELECT n FROM {} WHERE tenant_id = $1 AND sha256 = $2 ORDER BY n",
        t.table()
    ))
    .bind(dev.tenant_id)
    .bind(sha)
    .fetch_all(&mut **tx)
    .await?;
    Ok(have.into_iter().map(|(n,)| n.max(0) as u64).collect())
}

/// Keep chunk `n` of a file of `size` bytes (at most `max`); the same
/// chunk twice is kept once.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn put(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    t: Chunks,
    sha: &str,
    n: u64,
    size: u64,
    max: u64,
    what: &str,
    body: &[u8],
) -> ApiResult<()> {
    if size > max {
        return Err(ServerError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("the file is {size} bytes; {what} may be at most {max}"),
        ));
    }
    let count = chunks_of(size);
    if n >= count {
        return Err(ServerError::bad_request(
            "bad_chunk",
            format!(
                "a file of {size} bytes has chunks 0 to {}; {n} is not one",
                count - 1
            ),
        ));
    }
    let expected = (size - n * CHUNK as u64).min(CHUNK as u64);
    if body.len() as u64 != expected {
        return Err(ServerError::bad_request(
            "bad_chunk",
            format!(
                "chunk {n} of a file of {size} bytes is {expected} bytes; {} were sent",
                body.len()
            ),
        ));
    }
    sql::query(&format!(
        "INSERT INTO {} (tenant_id, sha256, n, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        t.table()
    ))
    .bind(dev.tenant_id)
    .bind(sha)
    .bind(n as i32)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Chunk `n` of a file, if held.
pub(crate) async fn get(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    t: Chunks,
    sha: &str,
    n: u64,
) -> ApiResult<Option<Vec<u8>>> {
    let chunk: Option<(Vec<u8>,)> = sql::query_as(&format!(
        "SELECT bytes FROM {} WHERE tenant_id = $1 AND sha256 = $2 AND n = $3",
        t.table()
    ))
    .bind(dev.tenant_id)
    .bind(sha)
    .bind(i32::try_from(n).unwrap_or(i32::MAX))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(chunk.map(|c| c.0))
}

/// Refuse unless every chunk of the file is held and together they are
/// `size` bytes with SHA-256 `sha`.
pub(crate) async fn check_whole(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    t: Chunks,
    sha: &str,
    size: u64,
) -> ApiResult<()> {
    let mut hasher = sha2::Sha256::new();
    let mut total = 0u64;
    for n in 0..chunks_of(size) {
        let Some(bytes) = get(tx, dev, t, sha, n).await? else {
            return Err(ServerError::client(
                StatusCode::CONFLICT,
                "file_incomplete",
                format!("chunk {n} of the file {sha} was not uploaded: upload every chunk first"),
            ));
        };
        total += bytes.len() as u64;
        hasher.update(&bytes);
    }
    if total != size || hex::encode(hasher.finalize()) != sha {
        return Err(ServerError::bad_request(
            "file_mismatch",
            format!("the chunks uploaded for {sha} are not a file of {size} bytes with that SHA-256: upload it again"),
        ));
    }
    Ok(())
}
