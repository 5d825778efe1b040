//! `GET /v1/events`: tell connected devices, at once, that changes in their
//! view are waiting; the device then pulls as usual.
//!
//! **Server-sent events**, not WebSocket or long polling: the notices go one
//! way, SSE is a plain HTTP response that every proxy and load balancer
//! passes, and the blocking client reads it as lines; a long poll would
//! cost a request per notice and a gap between them.
//!
//! **Across processes**: a push that committed announces what it changed
//! with `pg_notify` on [`CHANNEL`] (after its commit, never under the
//! tenant's write lock; pushes that commit while an announcement is being
//! sent go together in the next, so a burst of pushes costs a few
//! transactions, not one each). Every server process LISTENs on one connection of its own and fans
//! the notices out to its streams ([`Hub`]); processes behind a load
//! balancer meet only in PostgreSQL, as for everything else.
//!
//! **Scoped like pulls**: a notice names the tenant and the users whose
//! records changed (the owner of the contact a row hangs off, or the
//! creator of a row hanging off none, plus users who were sent evictions).
//! A stream passes it on to an admin of the tenant, or to an agent who sees
//! one of those users' records (themselves or a team mate): an agent of
//! another team is never told. The device that pushed is not told of its
//! own change. A notice carries ids and a change number, never data.
//!
//! **Nothing relied on**: a notice can be lost (the listener's connection
//! dropped, the process died between commit and announce). After the
//! listener reconnects every stream is told to pull once; a device also
//! pulls whenever its stream (re)connects, and periodically.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use sqlx_postgres::PgListener;
use tokio::sync::{broadcast, mpsc, watch, OnceCell};
use uuid::Uuid;

use crate::auth::{self, Bearer, Device, Role};
use crate::error::{ApiResult, ServerError};
use crate::sql::{self, PgPool};
use crate::{db, AppState};

/// The PostgreSQL channel the processes announce changes on.
pub const CHANNEL: &str = "crm_changes";
/// Users named in one notice (PostgreSQL caps a payload at 8,000 bytes; a
/// push touching more users' records sends several).
const USERS_PER_NOTICE: usize = 100;
/// Notices kept for a stream that is slow to take them; past this it is
/// told to pull once instead.
const BACKLOG: usize = 1024;
/// How often an idle stream sends a comment, so proxies keep it open and a
/// client notices a dead connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long one stream lasts before the server ends it (the client
/// reconnects at once): a revoked device or a user moved to another team
/// is looked at again at least this often.
const LIFETIME: Duration = Duration::from_secs(10 * 60);

/// What a push announces.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notice {
    /// The tenant.
    #[serde(rename = "t")]
    pub tenant: Uuid,
    /// The newest change number the push wrote.
    #[serde(rename = "s")]
    pub seq: i64,
    /// The device that pushed (not told of its own change).
    #[serde(rename = "d")]
    pub device: Uuid,
    /// The users whose records changed, or who were sent evictions.
    #[serde(rename = "u")]
    pub users: Vec<Uuid>,
}

/// What a process's listener heard.
#[derive(Clone, Debug)]
enum Heard {
    Change(Notice),
    /// The listener lost its connection and made a new one: notices sent
    /// meanwhile are lost, so every stream is told to pull.
    Everyone,
}

/// A process's notices: one listening connection, fanned out to streams.
pub struct Hub {
    sender: broadcast::Sender<Arc<Heard>>,
    started: OnceCell<tokio::task::AbortHandle>,
    closing: watch::Sender<bool>,
    /// Connections of the notices' own (the listener's and one to
    /// announce), apart from the requests' pool: under a burst of pushes
    /// the announcements queue here instead of taking connections the
    /// pushes wait for (they did, and pushes timed out).
    pool: OnceCell<PgPool>,
    /// Pushes waiting to be announced ([`Hub::announce`]).
    queue: std::sync::OnceLock<mpsc::UnboundedSender<Pending>>,
}

/// Under a burst of pushes, how long the announcer lets the next batch
/// gather.
const GATHER: Duration = Duration::from_millis(25);

/// Connections in [`Hub::pool`]: the listener's, and one that announces.
const NOTICE_CONNECTIONS: u32 = 2;

impl Default for Hub {
    fn default() -> Self {
        Hub {
            sender: broadcast::channel(BACKLOG).0,
            started: OnceCell::new(),
            closing: watch::channel(false).0,
            pool: OnceCell::new(),
            queue: std::sync::OnceLock::new(),
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(task) = self.started.get() {
            task.abort();
        }
    }
}

impl Hub {
    /// Start listening, the first time a stream needs it; returns once
    /// `LISTEN` is in place, so nothing committed after it is missed.
    async fn ensure_listening(&self, requests: &PgPool) -> Result<(), sql::Error> {
        let pool = self.pool(requests).await?;
        self.started
            .get_or_try_init(|| async {
                let listener = listen(pool).await?;
                let task = tokio::spawn(relay(listener, pool.clone(), self.sender.clone()));
                Ok::<_, sql::Error>(task.abort_handle())
            })
            .await?;
        Ok(())
    }

    /// The notices' own connections, to the requests' database as the
    /// same role.
    async fn pool(&self, requests: &PgPool) -> Result<&PgPool, sql::Error> {
        self.pool
            .get_or_try_init(|| async {
                sql::PgPoolOptions::new()
                    .max_connections(NOTICE_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(60))
                    .connect_with((*requests.connect_options()).clone())
                    .await
            })
            .await
    }

    /// End every stream (the server is shutting down).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sql::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Pass what the listener hears to the streams; when its connection drops,
/// make a new one (retrying each second) and tell every stream to pull.
async fn relay(mut listener: PgListener, pool: PgPool, to: broadcast::Sender<Arc<Heard>>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                let heard = match serde_json::from_str::<Notice>(n.payload()) {
                    Ok(notice) => Heard::Change(notice),
                    Err(e) => {
                        tracing::warn!(error = %e, "a notice that does not parse: telling every stream");
                        Heard::Everyone
                    }
                };
                let _ = to.send(Arc::new(heard));
            }
            Ok(None) | Err(_) => {
                tracing::warn!("the notice listener lost its connection; listening again");
                drop(listener);
                listener = loop {
                    match listen(&pool).await {
                        Ok(l) => break l,
                        Err(e) => {
                            tracing::warn!(error = %e, "listening for notices failed; trying again");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                };
                let _ = to.send(Arc::new(Heard::Everyone));
            }
        }
    }
}

/// What one push changed, waiting to be announced.
struct Pending {
    tenant: Uuid,
    device: Uuid,
    last: i64,
    users: HashSet<Uuid>,
    scopes: HashSet<Uuid>,
}

/// One tenant's share of a batch of announcements.
#[derive(Default)]
struct TenantBatch {
    last: i64,
    devices: HashSet<Uuid>,
    users: HashSet<Uuid>,
    scopes: HashSet<Uuid>,
}

impl Hub {
    /// After a push committed: announce that changes up to `last` wait for
    /// `users` (whose records changed, or who were sent evictions) and for
    /// the owners of the contacts `scopes`, to every process. It returns
    /// at once; one task per process sends what is queued (see
    /// [`announcer`]). A failure is logged (devices still pull
    /// periodically).
    pub fn announce(
        self: &Arc<Self>,
        requests: &PgPool,
        device: &Device,
        last: i64,
        users: HashSet<Uuid>,
        scopes: HashSet<Uuid>,
    ) {
        let pending = Pending {
            tenant: device.tenant_id,
            device: device.device_id,
            last,
            users,
            scopes,
        };
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(announcer(Arc::downgrade(self), requests.clone(), rx));
            tx
        });
        let _ = queue.send(pending);
    }
}

/// Send what is queued, as it comes: whatever queued while the last batch
/// was being sent goes in the next, in one transaction, a tenant's pushes
/// merged into one range and one query. Idle, a push is announced alone
/// at once; under a burst of pushes the cost is shared by the batch
/// instead of a transaction each (which took a third of the saturated push
/// rate when every push announced itself).
async fn announcer(
    hub: std::sync::Weak<Hub>,
    requests: PgPool,
    mut queue: mpsc::UnboundedReceiver<Pending>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = queue.try_recv() {
            batch.push(more);
        }
        let busy = batch.len() > 1;
        let Some(hub) = hub.upgrade() else { return };
        let sent = match hub.pool(&requests).await {
            Ok(pool) => send(pool, batch).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "announcing pushes failed; devices will find them at their next pull");
        }
        drop(hub);
        // Pushes are arriving faster than one at a time: let the next
        // batch gather for a moment (what a notice then waits is small
        // beside a sync; sent one by one they took a quarter of the
        // saturated push rate).
        if busy {
            tokio::time::sleep(GATHER).await;
        }
    }
}

async fn send(pool: &PgPool, batch: Vec<Pending>) -> Result<(), sql::Error> {
    let mut tenants: HashMap<Uuid, TenantBatch> = HashMap::new();
    for p in batch {
        let t = tenants.entry(p.tenant).or_default();
        t.last = t.last.max(p.last);
        t.devices.insert(p.device);
        t.users.extend(p.users);
        t.scopes.extend(p.scopes);
    }
    let mut tx = pool.begin().await?;
    let mut payloads = Vec::new();
    for (tenant, mut b) in tenants {
        if !b.scopes.is_empty() {
            db::set_tenant(&mut tx, tenant).await?;
            let scopes: Vec<Uuid> = b.scopes.into_iter().collect();
            let owners: Vec<(Option<Uuid>,)> = sql::query_as(
                "SELECT DISTINCT owner_user FROM rows \
                 WHERE tenant_id = $1 AND tbl = 'contacts' AND id = ANY($2)",
            )
            .bind(tenant)
            .bind(&scopes)
            .fetch_all(&mut *tx)
            .await?;
            b.users.extend(owners.into_iter().filter_map(|(u,)| u));
        }
        // Several devices pushed: none is left out (each hears of the
        // others' changes, and of its own: one extra pull).
        let device = if b.devices.len() == 1 {
            b.devices.iter().next().copied().unwrap_or_default()
        } else {
            Uuid::nil()
        };
        let users: Vec<Uuid> = b.users.into_iter().collect();
        // An admin hears of every change, even one no agent sees: always
        // at least one notice.
        let chunks: Vec<&[Uuid]> = if users.is_empty() {
            vec![&[]]
        } else {
            users.chunks(USERS_PER_NOTICE).collect()
        };
        for chunk in chunks {
            let notice = Notice {
                tenant,
                seq: b.last,
                device,
                users: chunk.to_vec(),
            };
            payloads.push(
                serde_json::to_string(&notice).map_err(|e| sql::Error::Protocol(e.to_string()))?,
            );
        }
    }
    sql::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
        .bind(CHANNEL)
        .bind(&payloads)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    metrics::counter!("sync_notices_sent_total").increment(payloads.len() as u64);
    Ok(())
}

/// Who a stream is for.
struct Listener {
    tenant: Uuid,
    device: Uuid,
    /// For an agent, the users whose records they see; `None`: an admin,
    /// who sees the whole tenant.
    sees: Option<HashSet<Uuid>>,
}

impl Listener {
    fn wants(&self, heard: &Heard) -> Option<Option<i64>> {
        match heard {
            Heard::Everyone => Some(None),
            Heard::Change(n) => {
                let mine = n.tenant == self.tenant
                    && n.device != self.device
                    && self
                        .sees
                        .as_ref()
                        .is_none_or(|sees| n.users.iter().any(|u| sees.contains(u)));
                mine.then_some(Some(n.seq))
            }
        }
    }
}

/// The users whose records an agent sees: themselves and their team mates
/// (the rule of `pull::AGENT_PAGE` and `view::Users::seen_by`).
async fn seen_by(pool: &PgPool, dev: &Device) -> ApiResult<Option<HashSet<Uuid>>> {
    if dev.role == Role::Admin {
        return Ok(None);
    }
    let mut tx = db::tenant_tx(pool, dev.tenant_id).await?;
    let ids: Vec<(Uuid,)> = sql::query_as(
        "SELECT u.id FROM users u, (SELECT team FROM users WHERE tenant_id = $1 AND id = $2) me \
         WHERE u.tenant_id = $1 AND (u.id = $2 OR (me.team IS NOT NULL AND u.team = me.team))",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(ids.into_iter().map(|(id,)| id).collect()))
}

/// The event a device gets: `ready` once when its stream opens (pull now:
/// anything committed before this moment is in that pull, anything after
/// comes as a notice), then `changed` with the newest change number
/// (`null` when the server cannot say: pull anyway).
fn event(kind: &str, seq: Option<i64>) -> Event {
    Event::default()
        .event(kind)
        .data(serde_json::json!({ "seq": seq }).to_string())
}

type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;

struct Open {
    who: Listener,
    heard: broadcast::Receiver<Arc<Heard>>,
    closing: watch::Receiver<bool>,
    ends: Pin<Box<tokio::time::Sleep>>,
    ready: bool,
}

/// Notices of changes waiting for this device, as server-sent events.
#[utoipa::path(get, path = "/v1/events", security(("device_token" = [])),
    responses((status = 200, description = "text/event-stream: `ready` once, then `changed` with `{\"seq\": n}` whenever changes in this device's view are waiting; the device pulls"),
              (status = 401, body = crm_protocol::wire::ApiError)))]
pub async fn events(State(st): State<AppState>, bearer: Bearer) -> ApiResult<Response> {
    let (tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    tx.commit().await?;
    let sees = seen_by(&st.pool, &dev).await?;
    st.notices
        .ensure_listening(&st.pool)
        .await
        .map_err(|e| ServerError::Internal(format!("listening for notices: {e}")))?;
    let open = Open {
        who: Listener {
            tenant: dev.tenant_id,
            device: dev.device_id,
            sees,
        },
        heard: st.notices.sender.subscribe(),
        closing: st.notices.closing.subscribe(),
        ends: Box::pin(tokio::time::sleep(spread(LIFETIME))),
        ready: false,
    };
    metrics::counter!("sync_event_streams_total").increment(1);
    let stream: EventStream = Box::pin(stream::unfold(open, next_event));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

async fn next_event(mut o: Open) -> Option<(Result<Event, Infallible>, Open)> {
    if !o.ready {
        o.ready = true;
        return Some((Ok(event("ready", None)), o));
    }
    loop {
        if *o.closing.borrow() {
            return None;
        }
        tokio::select! {
            heard = o.heard.recv() => match heard {
                Ok(h) => {
                    if let Some(seq) = o.who.wants(&h) {
                        return Some((Ok(event("changed", seq)), o));
                    }
                }
                // It fell behind: whatever it missed, one pull finds.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some((Ok(event("changed", None)), o));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            _ = &mut o.ends => return None,
            _ = o.closing.changed() => return None,
        }
    }
}

/// `d` plus up to a fifth more: streams opened together do not all end
/// (and reconnect) together.
fn spread(d: Duration) -> Duration {
    use rand::Rng;
    d + (d / 5).mul_f64(rand::thread_rng().gen_range(0.0..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(tenant: Uuid, device: Uuid, users: Vec<Uuid>) -> Heard {
        Heard::Change(Notice {
            tenant,
            seq: 7,
            device,
            users,
        })
    }

    #[test]
    fn a_stream_hears_only_its_view() {
        let (t, other_t) = (Uuid::new_v4(), Uuid::new_v4());
        let (me, mate, stranger) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (my_device, their_device) = (Uuid::new_v4(), Uuid::new_v4());
        let agent = Listener {
            tenant: t,
            device: my_device,
            sees: Some([me, mate].into_iter().collect()),
        };
        assert_eq!(
            agent.wants(&notice(t, their_device, vec![mate])),
            Some(Some(7))
        );
        assert_eq!(
            agent.wants(&notice(t, their_device, vec![stranger, me])),
            Some(Some(7))
        );
        assert_eq!(agent.wants(&notice(t, their_device, vec![stranger])), None);
        assert_eq!(agent.wants(&notice(t, their_device, vec![])), None);
        assert_eq!(
            agent.wants(&notice(other_t, their_device, vec![me])),
            None,
            "another tenant"
        );
        assert_eq!(
            agent.wants(&notice(t, my_device, vec![me])),
            None,
            "its own push"
        );
        assert_eq!(agent.wants(&Heard::Everyone), Some(None));
        let admin = Listener {
            tenant: t,
            device: my_device,
            sees: None,
        };
        assert_eq!(admin.wants(&notice(t, their_device, vec![])), Some(Some(7)));
        assert_eq!(
            admin.wants(&notice(t, their_device, vec![stranger])),
            Some(Some(7))
        );
        assert_eq!(admin.wants(&notice(other_t, their_device, vec![])), None);
    }

    #[test]
    fn a_notice_fits_postgresql_payload_limit() {
        let n = Notice {
            tenant: Uuid::new_v4(),
            seq: i64::MAX,
            device: Uuid::new_v4(),
            users: (0..USERS_PER_NOTICE).map(|_| Uuid::new_v4()).collect(),
        };
        let len = serde_json::to_string(&n).expect("json").len();
        assert!(len < 8000, "{len} bytes");
    }
}
