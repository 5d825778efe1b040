//! A throwaway PostgreSQL cluster for tests and benchmarks.
//!
//! [`TestPg::start`] runs `initdb` and `pg_ctl start` from the installed
//! PostgreSQL binaries into a fresh temporary folder, listening on a free
//! loopback port, and [`Drop`] stops it (`-m immediate`) and removes the
//! folder. No Docker: the tests use the real server the product runs on.
//!
//! Binaries are looked for in `CRM_PG_BIN`, then on `PATH`, then in
//! `/usr/lib/postgresql/<newest>/bin` (Debian's layout). `initdb` refuses to
//! run as root, so when the effective user is root (CI) every PostgreSQL
//! binary runs as the `postgres` system user through `runuser`, with the
//! temporary folder given to that user.
//!
//! Durability is switched off (`fsync`, `synchronous_commit`,
//! `full_page_writes`): the cluster is thrown away, and tests should measure
//! logic, not the disk.
#![deny(missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Role name of the cluster's superuser.
pub const SUPERUSER: &str = "postgres";

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No PostgreSQL binaries were found.
    #[error("no PostgreSQL server binaries found (looked in CRM_PG_BIN, PATH and /usr/lib/postgresql/*/bin); install the `postgresql` package (scripts/install-deps does)")]
    NoBinaries,
    /// A command could not be run or failed.
    #[error("{cmd} failed: {detail}")]
    Command {
        /// What was run.
        cmd: String,
        /// Its stderr, or the I/O error.
        detail: String,
    },
    /// Temporary folder trouble.
    #[error("temporary folder: {0}")]
    Io(#[from] std::io::Error),
}

/// A running throwaway cluster. Dropping it stops the server and deletes
/// its files.
#[derive(Debug)]
pub struct TestPg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CRM_PG_BIN") {
        let d = PathBuf::from(d);
        if d.join("pg_ctl").exists() {
            return Some(d);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("pg_ctl").exists() && d.join("initdb").exists() {
                // Debian links a few tools into PATH; the rest (psql too)
                // live next to the real pg_ctl.
                let real = std::fs::canonicalize(d.join("pg_ctl")).ok();
                return Some(
                    real.and_then(|p| p.parent().map(Path::to_path_buf))
                        .unwrap_or(d),
                );
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    // SAFETY-free way to ask for the effective uid: `id -u` would spawn a
    // process; /proc/self/status has it on Linux.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> Result<u16, PgError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run(mut cmd: Command) -> Result<Output, PgError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| PgError::Command {
        cmd: shown.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(PgError::Command {
            cmd: shown,
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ),
        });
    }
    Ok(out)
}

impl TestPg {
    /// Start a new cluster on a free loopback port. Takes a second or two.
    pub fn start() -> Result<TestPg, PgError> {
        let bin = find_bin_dir().ok_or(PgError::NoBinaries)?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("crm-pg-").tempdir()?;
        if as_postgres {
            chown_to_postgres(dir.path())?;
        }
        let mut pg = TestPg {
            dir,
            bin,
            port: 0,
            as_postgres,
            running: false,
        };
        let data = pg.data_dir();
        let mut init = pg.pg_command("initdb");
        init.arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"])
            .arg("--locale=C");
        run(init)?;
        // A port found free may be taken before the server binds it; try again.
        let mut last = None;
        for _ in 0..5 {
            pg.port = free_port()?;
            match pg.pg_ctl_start() {
                Ok(()) => {
                    pg.running = true;
                    return Ok(pg);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(PgError::NoBinaries))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_command(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn pg_ctl_start(&self) -> Result<(), PgError> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB",
            self.port,
            self.dir.path().display()
        );
        let mut c = self.pg_command("pg_ctl");
        c.arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "-l"])
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &opts, "start"]);
        run(c).map(|_| ())
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `user` on `database` (trust authentication:
    /// no password is needed on this throwaway cluster).
    pub fn url(&self, user: &str, database: &str) -> String {
        format!(
            "postgres://{user}@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Run SQL as the superuser with `psql` (`ON_ERROR_STOP`), on `database`.
    /// Returns psql's unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgError> {
        let mut c = Command::new(self.bin.join("psql"));
        c.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args([
            "-p",
            &self.port.to_string(),
            "-U",
            SUPERUSER,
            "-d",
            database,
        ])
        .args(["-c", sql]);
        let out = run(c)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Create a database owned by a new login role `owner` (allowed to create
    /// roles, as migrations may), and make sure the plain application role
    /// `app` exists (login, no superuser, no BYPASSRLS).
    pub fn create_database(&self, database: &str, owner: &str, app: &str) -> Result<(), PgError> {
        self.psql(
            "postgres",
            &format!(
                "DO $$ BEGIN \
                   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN \
                     CREATE ROLE {owner} LOGIN CREATEROLE; END IF; \
                   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN \
                     CREATE ROLE {app} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
                 END $$;"
            ),
        )?;
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {database} OWNER {owner}"),
        )?;
        Ok(())
    }

    /// Stop the server (fast shutdown) and start it again on the same port.
    pub fn restart(&mut self) -> Result<(), PgError> {
        self.stop()?;
        self.pg_ctl_start()?;
        self.running = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), PgError> {
        if self.running {
            let mut c = self.pg_command("pg_ctl");
            c.arg("-D")
                .arg(self.data_dir())
                .args(["-w", "-m", "immediate", "stop"]);
            run(c)?;
            self.running = false;
        }
        Ok(())
    }

    /// The server's log so far (for failing tests).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

#[cfg(unix)]
fn chown_to_postgres(dir: &Path) -> Result<(), PgError> {
    let mut c = Command::new("chown");
    c.arg("postgres:").arg(dir);
    run(c).map(|_| ())
}

#[cfg(not(unix))]
fn chown_to_postgres(_dir: &Path) -> Result<(), PgError> {
    Ok(())
}

impl Drop for TestPg {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_answers_and_is_removed_on_drop() {
        let pg = TestPg::start().expect("start postgres");
        pg.create_database("t1", "t1_owner", "crm_app")
            .expect("create db");
        assert_eq!(pg.psql("t1", "SELECT 40 + 2").expect("query"), "42");
        let dir = pg.dir.path().to_path_buf();
        assert!(dir.join("data/PG_VERSION").exists());
        drop(pg);
        assert!(!dir.exists(), "the cluster's folder is removed");
    }
}
