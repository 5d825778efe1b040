//! Running the server inside another program's tokio runtime, on a given
//! loopback port: the end-to-end tests, the convergence property test (which
//! restarts it) and the benchmark use this instead of a child process.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::auth::PasswordChecks;

use crate::sql::PgPool;
use crate::{serve, AppState, Limits};

/// A server task; [`Running::stop`] ends it (connections in flight are cut,
/// like a killed process), and it serves as `serve` does (timeouts,
/// connection cap).
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    checks: Arc<PasswordChecks>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Its password checks (what they measured: [`PasswordChecks::peak`]).
    pub fn password_checks(&self) -> &PasswordChecks {
        &self.checks
    }

    /// Stop serving at once, and return once the listening socket is
    /// closed: the port may be bound again straight away (a restart on
    /// the same port otherwise races the aborted task's drop).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Serve on `127.0.0.1:port` (0: any free port).
pub async fn spawn(pool: PgPool, limits: Limits, port: u16) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(pool, limits);
    let checks = state.password_checks.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = serve::serve(listener, state, std::future::pending()).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running { addr, checks, task })
}
