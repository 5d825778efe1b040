//! A sync server on a throwaway PostgreSQL, for tests, benchmarks and
//! fuzzing: the cluster, the database with its two roles, the migrations,
//! a connection pool, and the server itself (`local::spawn`, serving as the
//! binary does), plus tenants and accounts made the operator's way
//! (`admin`). What every sync test needs before its first request, in one
//! place.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use crm_pg_testkit::TestPg;
use crm_sync_server::auth::Role;
use crm_sync_server::local::Running;
use crm_sync_server::sql::PgPool;
use crm_sync_server::{admin, db, Limits};
use uuid::Uuid;

/// The password of every account a [`Throwaway`] makes.
pub const PASSWORD: &str = "account password 1";

/// A running sync server over its own PostgreSQL. Dropping it stops both.
pub struct Throwaway {
    /// The cluster (its log helps when a test fails).
    pub pg: TestPg,
    /// The runtime the server runs on; tests may use it for their own
    /// async work.
    pub rt: tokio::runtime::Runtime,
    /// A pool as the database's owner (operator commands, and reading rows
    /// across the row-level security the server's role is under).
    pub owner: PgPool,
    server: Option<Running>,
    limits: Limits,
    port: u16,
}

impl Throwaway {
    /// A server with the default limits.
    pub fn start() -> Result<Throwaway> {
        Throwaway::with_limits(Limits::default())
    }

    /// A server with `limits`.
    pub fn with_limits(limits: Limits) -> Result<Throwaway> {
        let pg = TestPg::start().context("start PostgreSQL")?;
        pg.create_database("crm", "crm_owner", "crm_app")
            .context("create the database")?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("runtime")?;
        let owner = rt.block_on(async {
            let owner = db::connect(&pg.url("crm_owner", "crm"), 2).await?;
            db::migrate(&owner).await?;
            anyhow::Ok(owner)
        })?;
        let mut t = Throwaway {
            pg,
            rt,
            owner,
            server: None,
            limits,
            port: 0,
        };
        t.serve()?;
        Ok(t)
    }

    fn serve(&mut self) -> Result<()> {
        let url = self.pg.url("crm_app", "crm");
        let (limits, port) = (self.limits.clone(), self.port);
        let server = self.rt.block_on(async move {
            let pool = db::connect(&url, 4).await?;
            anyhow::Ok(crm_sync_server::local::spawn(pool, limits, port).await?)
        })?;
        self.port = server.addr.port();
        self.server = Some(server);
        Ok(())
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .map(|s| s.addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], self.port)))
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// A tenant with these accounts (email, role, team), each with
    /// [`PASSWORD`].
    pub fn tenant(&self, name: &str, accounts: &[(&str, Role, Option<&str>)]) -> Result<Uuid> {
        self.rt.block_on(async {
            let t = admin::create_tenant(&self.owner, name).await?;
            for (email, role, team) in accounts {
                admin::add_user(&self.owner, t, email, PASSWORD, *role, *team).await?;
            }
            anyhow::Ok(t)
        })
    }

    /// Stop the server (the database stays): requests fail until
    /// [`Throwaway::restart`].
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.stop());
        }
    }

    /// Stop the server and start it again on the same port, as a restarted
    /// process would.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.serve()
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}
