//! Serving the router over TCP with bounds a client cannot hold open.
//!
//! HTTP/1.1 (hyper's `http1` connection; TLS and HTTP/2 are a proxy's
//! business). A connection that has not sent a whole request head within
//! [`Limits::header_timeout`] is closed, including one that sends nothing
//! and an idle kept-alive one; a request body must arrive whole within
//! [`Limits::body_timeout`] of its head (a total, not a gap between bytes:
//! a byte a second would pass any gap), else it is answered 408 and the
//! connection closed. At most [`Limits::max_connections`] connections are
//! served; beyond them [`RESERVE`] more are served with a short head
//! timeout and only `/health` (everything else 503 with `Retry-After`), so
//! a monitor can still reach a saturated server; beyond those a new
//! connection is closed at once. Open connections and their file
//! descriptors stay bounded however many clients stall.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::error::ServerError;
use crate::{app, AppState, Limits};

/// Connections served beyond [`Limits::max_connections`], for `/health`
/// only.
pub const RESERVE: usize = 16;
/// The head timeout of a reserve connection (at most; the configured one
/// if shorter).
const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serve `state`'s router on `listener` until `shutdown` completes, then
/// let requests in flight finish (at most 30 s). Dropping the future cuts
/// every connection at once.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = state.limits.clone();
    let notices = state.notices.clone();
    let router = app(state);
    let main = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserve = Arc::new(Semaphore::new(RESERVE));
    let open = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, or a connection reset
                        // before it was taken: wait a moment, never spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (permit, spare) = if let Ok(p) = main.clone().try_acquire_owned() {
                    (p, false)
                } else if let Ok(p) = reserve.clone().try_acquire_owned() {
                    (p, true)
                } else {
                    metrics::counter!("sync_connections_refused_total").increment(1);
                    drop(stream);
                    continue;
                };
                let slot = Slot::new(permit, open.clone());
                tasks.spawn(connection(
                    stream,
                    peer,
                    router.clone(),
                    limits.clone(),
                    spare,
                    stop_rx.clone(),
                    slot,
                ));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Event streams never end by themselves: end them now.
    notices.close();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "shutdown: cutting connections still busy"
        );
    }
    Ok(())
}

/// A connection's place under the cap; counts the open connections.
struct Slot {
    _permit: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, open: Arc<AtomicUsize>) -> Self {
        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
        metrics::gauge!("sync_connections_open").set(now as f64);
        Slot {
            _permit: permit,
            open,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let now = self.open.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        metrics::gauge!("sync_connections_open").set(now as f64);
    }
}

/// Serve one connection until it ends, times out or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Arc<Limits>,
    spare: bool,
    mut stop: watch::Receiver<bool>,
    slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let body_timeout = limits.body_timeout;
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            if spare && req.uri().path() != "/health" {
                return Ok::<_, std::convert::Infallible>(busy());
            }
            let mut req = req.map(|b| Body::new(DeadlineBody::new(b, body_timeout)));
            // The per-address login limit needs the peer.
            req.extensions_mut().insert(ConnectInfo(peer));
            router.oneshot(req).await
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new());
    if spare {
        builder
            .header_read_timeout(limits.header_timeout.min(RESERVE_HEADER_TIMEOUT))
            .keep_alive(false);
    } else {
        builder.header_read_timeout(limits.header_timeout);
    }
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        // Timeouts and clients going away: normal, not worth a warning.
        tracing::debug!(error = %e, %peer, "connection ended");
    }
    drop(slot);
}

/// The answer on a reserve connection to anything but `/health`.
fn busy() -> Response<Body> {
    ServerError::Unavailable {
        code: "busy",
        message: "the server is serving as many connections as it can; try again in a second"
            .into(),
        retry_after_secs: 1,
    }
    .into_response()
}

/// A request body that fails once its deadline has passed, however slowly
/// or steadily its bytes came.
struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, limit: Duration) -> Self {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }
}

/// A request body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimedOut(pub Duration);

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.limit)))));
        }
        Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map(|f| f.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
