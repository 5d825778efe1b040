//! Offline-first sync client: push the outbox, pull until caught up.
//!
//! Blocking HTTP (`reqwest::blocking`, rustls) so the CLI and the desktop
//! app's worker thread need no async runtime. One [`sync`] run:
//!
//! 1. **Push** the outbox oldest first in batches. Acknowledged ops (applied
//!    now or already applied: the server dedupes by op id, so a retry after a
//!    lost response is harmless) leave the outbox. If the server refuses a
//!    batch because of one op (a 4xx naming `op_id`), that op is quarantined
//!    in the profile with the reason and the rest is pushed again: one bad op
//!    never wedges the queue.
//! 2. **Pull** pages since the saved cursor and merge each into the store
//!    (`Store::apply_remote`: per-field LWW, no outbox echo, audited as
//!    `sync`, cursor saved in the same transaction) until the server says
//!    there is no more.
//!
//! Network failures and 5xx are retried with exponential backoff and
//! jitter; when the server stays unreachable the run ends with
//! [`SyncError::Offline`], the error is recorded, and nothing local is lost:
//! the app keeps working on its replica and the next run continues.
//!
//! [`Connection::listen`] hears from the server that changes wait (its
//! event stream, see `events.rs`), so a caller can sync at once instead of
//! on a timer.
#![deny(missing_docs)]

mod events;

pub use events::{Notice, SILENCE};

mod catalog;
// The admin API and a device's own account calls.
mod admin;
mod compliance;
mod documents;

use std::time::Duration;

use crm_core::Store;
use crm_protocol::wire::{ApiError, LoginRequest, LoginResponse, PullResponse, PushResponse};
use crm_protocol::SyncOp;
use rand::Rng;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use uuid::Uuid;

/// Why a sync (or login) did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (after retries).
    #[error("server unreachable ({0}); local changes are kept and sent at the next sync")]
    Offline(String),
    /// The server refused the request.
    #[error("the server refused the request ({code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's stable code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// This profile has not signed in.
    #[error("this profile is not signed in to a sync server")]
    NotSignedIn,
    /// The local store failed.
    #[error(transparent)]
    Core(#[from] crm_core::CoreError),
    /// The profile's sync lock could not be taken.
    #[error("cannot take this profile's sync lock ({0})")]
    Lock(String),
}

/// Tuning of one sync run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Ops per push.
    pub batch: usize,
    /// Rows per pull page.
    pub page: u32,
    /// Attempts per request before giving up as offline.
    pub attempts: u32,
    /// First backoff delay (doubles per attempt, with jitter).
    pub backoff: Duration,
    /// Request timeout.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 500,
            page: 5000,
            attempts: 4,
            backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Ops the server acknowledged.
    pub pushed: usize,
    /// Ops set aside because the server refused them.
    pub quarantined: usize,
    /// Rows merged from the server.
    pub pulled: usize,
    /// Rows removed because they left this user's view.
    pub evicted: usize,
    /// Pulled rows this device could not store yet, held and tried again
    /// after every page (`Store::held_rows`).
    pub held: usize,
    /// The first rows merged (table, id), at most 50 of them per page:
    /// what arrived, for a front end to show.
    pub arrived: Vec<(String, Uuid)>,
}

/// A connection to one sync server.
pub struct Connection {
    http: Client,
    base: String,
    opts: Options,
}

fn refused(resp: Response) -> SyncError {
    let status = resp.status().as_u16();
    match resp.json::<ApiError>() {
        Ok(e) => SyncError::Refused {
            status,
            code: e.code,
            message: e.message,
        },
        Err(_) => SyncError::Refused {
            status,
            code: "http".into(),
            message: format!("HTTP {status}"),
        },
    }
}

impl Connection {
    /// A connection to the server at `base` (e.g. `https://sync.example.com`).
    pub fn new(base: &str, opts: Options) -> Result<Self, SyncError> {
        let http = Client::builder()
            .timeout(opts.timeout)
            .build()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(Connection {
            http,
            base: base.trim_end_matches('/').to_string(),
            opts,
        })
    }

    /// Send a request, retrying transport errors, 5xx and 429 with backoff.
    fn send(
        &self,
        make: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> Result<Response, SyncError> {
        let mut last = String::new();
        for attempt in 0..self.opts.attempts.max(1) {
            if attempt > 0 {
                let base = self.opts.backoff.as_millis() as u64 * (1 << (attempt - 1).min(6));
                let jitter = rand::thread_rng().gen_range(0..=base / 2 + 1);
                std::thread::sleep(Duration::from_millis(base + jitter));
            }
            match make().send() {
                // Rate limited: waiting inside one run would not help.
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => return Err(refused(r)),
                Ok(r) if r.status().is_server_error() => last = format!("HTTP {}", r.status()),
                Ok(r) => return Ok(r),
                Err(e) => last = e.to_string(),
            }
        }
        Err(SyncError::Offline(last))
    }

    /// Sign in; the server registers `device_id` and returns its token.
    pub fn login(
        &self,
        email: &str,
        password: &str,
        device_id: Uuid,
        device_name: &str,
    ) -> Result<LoginResponse, SyncError> {
        let body = LoginRequest {
            email: email.into(),
            password: password.into(),
            device_id,
            device_name: device_name.into(),
            // The workspace's version: the app's and this client's are one.
            app_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        };
        let url = format!("{}/v1/login", self.base);
        let resp = self.send(|| self.http.post(&url).json(&body))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        resp.json()
            .map_err(|e| SyncError::Offline(format!("bad login response: {e}")))
    }

    fn pull(&self, token: &str, cursor: i64) -> Result<PullResponse, SyncError> {
        let url = format!(
            "{}/v1/pull?cursor={cursor}&limit={}",
            self.base, self.opts.page
        );
        let resp = self.send(|| self.http.get(&url).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        resp.json()
            .map_err(|e| SyncError::Offline(format!("bad pull response: {e}")))
    }
}

/// A refusal naming one op: that op is quarantined, the rest retried.
struct OpRefused {
    op_id: Uuid,
    message: String,
}

fn op_of(e: &SyncError, body_op: Option<Uuid>) -> Option<OpRefused> {
    match (e, body_op) {
        (
            SyncError::Refused {
                status,
                code,
                message,
            },
            Some(op_id),
        ) if (400..500).contains(status) && *status != 401 => Some(OpRefused {
            op_id,
            message: format!("{code}: {message}"),
        }),
        _ => None,
    }
}

/// Push the outbox and pull until caught up; records the result in the
/// profile (last success, or last error) either way.
pub fn sync(store: &mut Store, conn: &Connection, token: &str) -> Result<Report, SyncError> {
    sync_waiting(store, conn, token, || {})
}

/// [`sync`], calling `waiting` first when another sync of the same profile
/// (another process, or the app beside the CLI) is running: one sync of a
/// profile at a time, the second waits its turn instead of failing with
/// "database is locked" half-way.
pub fn sync_waiting(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    waiting: impl FnOnce(),
) -> Result<Report, SyncError> {
    let _turn = take_turn(store, waiting)?;
    let result = run(store, conn, token);
    let recorded = match &result {
        Ok(_) => store.record_sync_result(None),
        Err(e) => store.record_sync_result(Some(&e.to_string())),
    };
    recorded?;
    result
}

/// The profile's sync lock: an advisory lock on an empty file beside the
/// database, released when the returned file is dropped (or the process
/// ends, however it ends).
fn take_turn(store: &Store, waiting: impl FnOnce()) -> Result<std::fs::File, SyncError> {
    let path = store.path().with_extension("sync-lock");
    let locked = |e: std::io::Error| SyncError::Lock(format!("{}: {e}", path.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(locked)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting();
            file.lock().map_err(locked)?;
            Ok(file)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(locked(e)),
    }
}

fn run(store: &mut Store, conn: &Connection, token: &str) -> Result<Report, SyncError> {
    let mut report = Report::default();
    loop {
        let ops = store.outbox_batch(conn.opts.batch)?;
        if ops.is_empty() {
            break;
        }
        match push_refusing_one(conn, token, &ops)? {
            Ok(resp) => {
                report.pushed += resp.applied.len() + resp.duplicates.len();
                let mut done = resp.applied;
                done.extend(resp.duplicates);
                if !ops.iter().any(|o| done.contains(&o.op_id)) {
                    // Never spin on a batch the server does not account for.
                    return Err(SyncError::Refused {
                        status: 200,
                        code: "no_progress".into(),
                        message: "the server acknowledged none of the pushed ops".into(),
                    });
                }
                store.outbox_ack(&done)?;
            }
            Err(bad) => {
                tracing::warn!(op = %bad.op_id, reason = %bad.message, "the server refused an op; set aside");
                store.outbox_quarantine(bad.op_id, &bad.message)?;
                report.quarantined += 1;
            }
        }
    }
    // Pull and merge overlap: a second thread fetches the next page while
    // this one merges the last (at most two pages wait). Each page's cursor
    // is saved with its merge, so stopping anywhere loses nothing.
    let start = store.sync_status()?.cursor;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<PullResponse, SyncError>>(2);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut cursor = start;
            loop {
                let page = conn.pull(token, cursor);
                let more = match &page {
                    Ok(p) => {
                        cursor = p.cursor;
                        p.more
                    }
                    Err(_) => false,
                };
                // The merging side hung up (it failed): stop fetching.
                if tx.send(page).is_err() || !more {
                    return;
                }
            }
        });
        // Owned here, so an early return drops it and the fetcher stops
        // instead of blocking on a full channel while the scope waits.
        let rx = rx;
        for page in rx.iter() {
            let page = page?;
            let applied = store.apply_page(&page)?;
            report.pulled += applied.changed;
            report.evicted += applied.evicted;
            report.held += applied.held;
            report.arrived.extend(applied.arrived);
        }
        Ok(report)
    })
}

/// Push one batch. `Ok(Err(op))`: the server refused the batch because of
/// that op; any other refusal is an error.
fn push_refusing_one(
    conn: &Connection,
    token: &str,
    ops: &[SyncOp],
) -> Result<Result<PushResponse, OpRefused>, SyncError> {
    let url = format!("{}/v1/push", conn.base);
    let body = serde_json::json!({ "ops": ops });
    let resp = conn.send(|| conn.http.post(&url).bearer_auth(token).json(&body))?;
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return resp
            .json()
            .map(Ok)
            .map_err(|e| SyncError::Offline(format!("bad push response: {e}")));
    }
    let err: Option<ApiError> = resp.json().ok();
    let as_error = |e: &Option<ApiError>| match e {
        Some(e) => SyncError::Refused {
            status,
            code: e.code.clone(),
            message: e.message.clone(),
        },
        None => SyncError::Refused {
            status,
            code: "http".into(),
            message: format!("HTTP {status}"),
        },
    };
    let e = as_error(&err);
    match op_of(&e, err.as_ref().and_then(|e| e.op_id)) {
        Some(bad) if ops.iter().any(|o| o.op_id == bad.op_id) => Ok(Err(bad)),
        _ => Err(e),
    }
}

/// The device name sent at login: the host name, or "device".
pub fn device_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "device".into())
}
