//! The encrypted store and its one write path.
//!
//! [`Store`] owns the SQLCipher connection of one profile. Every change goes
//! through a [`WriteTx`]: it writes the row, stamps each changed field with a
//! hybrid-logical-clock time, appends an audit entry and a sync outbox entry,
//! all in the same SQLite transaction, and after the commit hands a
//! [`ChangeEvent`] to every listener (plugins will listen).

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use crm_protocol::Clock;
use rusqlite::wal::CheckpointMode;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::keys::{self, DbKey, KeyStoreChoice, PageHmac, PassphraseSource, ProfileMeta};
use crate::migrations::{self, APPLICATION_ID};

mod checkpoint;
mod open;
mod rows;
mod scratch;
mod write;

pub(crate) use checkpoint::*;
pub(crate) use open::*;
pub(crate) use rows::*;
pub use scratch::RowChange;
pub use write::WriteTx;
pub(crate) use write::{NewRow, BY_ROW};

/// Name of the database file in a profile folder.
pub const DB_FILE: &str = "crm.db";

/// Who makes a change. Every write names one; the audit trail records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A person using the app or CLI.
    User {
        /// Their user id.
        user: String,
    },
    /// A plugin acting for a person.
    Plugin {
        /// The plugin id.
        plugin: String,
        /// The user it acts for.
        user: String,
    },
    /// A CSV import started by a person.
    Import {
        /// Who started it.
        user: String,
        /// The import's id (one per run).
        batch: Uuid,
    },
    /// Changes received from the sync server.
    Sync {
        /// The device they came from.
        device: Uuid,
    },
}

impl Actor {
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The synced tables, with their user-visible fields in column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// People and companies.
    Contacts,
    /// Insurance policies.
    Policies,
    /// Premium instalments and payments.
    Payments,
    /// Tasks and next steps.
    Tasks,
    /// The activity timeline.
    Activities,
}

impl Table {
    /// SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Contacts => "contacts",
            Table::Policies => "policies",
            Table::Payments => "payments",
            Table::Tasks => "tasks",
            Table::Activities => "activities",
        }
    }

    /// Singular, for messages and event names.
    pub fn kind(self) -> &'static str {
        match self {
            Table::Contacts => "contact",
            Table::Policies => "policy",
            Table::Payments => "payment",
            Table::Tasks => "task",
            Table::Activities => "activity",
        }
    }

    /// The table's declaration in the synced schema: its fields in column
    /// order, their kinds, bounds and whether they are required. The one
    /// place a synced field is declared; the store's field list, its checks
    /// and its JSON columns come from it (the migrations make the columns,
    /// and `tests::every_declared_field_is_a_column_of_its_kind` holds the
    /// two together).
    pub fn spec(self) -> &'static crm_protocol::schema::Table {
        use crm_protocol::schema as s;
        match self {
            Table::Contacts => &s::CONTACTS,
            Table::Policies => &s::POLICIES,
            Table::Payments => &s::PAYMENTS,
            Table::Tasks => &s::TASKS,
            Table::Activities => &s::ACTIVITIES,
        }
    }

    /// The synced fields, in column order.
    pub fn fields(self) -> &'static [&'static str] {
        use std::sync::OnceLock;
        static NAMES: [OnceLock<Vec<&'static str>>; 5] = [const { OnceLock::new() }; 5];
        NAMES[self as usize].get_or_init(|| self.spec().names().collect())
    }

    /// The INSERT statement for a new row (built once per table).
    fn insert_sql(self) -> &'static str {
        use std::sync::OnceLock;
        static SQL: [OnceLock<String>; 5] = [const { OnceLock::new() }; 5];
        SQL[self as usize].get_or_init(|| {
            let fields = self.fields();
            format!(
                "INSERT INTO {} (id, tenant_id, {}, clocks, deleted, created_at, updated_at) \
                 VALUES (?, ?, {}, ?, ?, ?, ?)",
                self.name(),
                fields.join(", "),
                vec!["?"; fields.len()].join(", ")
            )
        })
    }

    /// Fields stored as JSON text: lists and maps.
    fn is_json(self, field: &str) -> bool {
        use crm_protocol::schema::Kind;
        use std::sync::OnceLock;
        static JSON: [OnceLock<Vec<&'static str>>; 5] = [const { OnceLock::new() }; 5];
        JSON[self as usize]
            .get_or_init(|| {
                let spec = self.spec();
                let json = |f: &&crm_protocol::schema::Field| {
                    matches!(f.kind, Kind::TextList | Kind::TextMap)
                };
                spec.fields.iter().filter(json).map(|f| f.name).collect()
            })
            .contains(&field)
    }
}

/// What a write did to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new row.
    Created,
    /// Changed fields of an existing row.
    Updated,
    /// Tombstoned.
    Deleted,
}

impl Action {
    /// The verb in audit entries and event names.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
        }
    }
}

/// Sent to listeners after a transaction commits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// e.g. `contact.created`, `contact.imported`, `policy.updated`.
    pub name: String,
    /// The table.
    pub table: Table,
    /// The row.
    pub row_id: Uuid,
    /// What happened.
    pub action: Action,
    /// Who did it.
    pub actor: Actor,
    /// The fields that changed.
    pub fields: Vec<String>,
}

/// A listener for committed changes.
pub type Listener = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

/// Identity of this replica.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The tenant (agency) the data belongs to.
    pub tenant_id: Uuid,
    /// This device.
    pub device_id: Uuid,
    /// The local user.
    pub user_id: String,
}

/// One profile's encrypted database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    identity: Identity,
    clock: Clock,
    listeners: Vec<Listener>,
    default_region: crate::normalize::Region,
    /// Set while a plugin acts for the user (see [`Store::with_actor`]).
    acting: Option<Actor>,
    /// The key, kept (zeroised on drop) to open reader connections; SQLCipher
    /// holds it in this process's memory for the connection's life anyway.
    key: Option<DbKey>,
    /// The database's page size and HMAC (see [`Layout`]), for further
    /// connections to it.
    layout: Layout,
    /// Copies the write-ahead log into the database on a thread of its own
    /// (`None` for readers, or where a second connection could not open:
    /// SQLite then checkpoints on the writer as it does by default).
    checkpointer: Option<Checkpointer>,
    /// A copy in memory ([`Store::scratch_copy`]): it opens no second
    /// connection (that would open the profile on disk instead).
    scratch: bool,
    /// Set while the tenant's plugin catalog is applied
    /// ([`Store::with_catalog_authority`]): an admin decided it.
    pub(crate) catalog_authority: bool,
}

impl Drop for Store {
    fn drop(&mut self) {
        // Stop the thread (and close its connection) before the writer
        // closes: the writer, closing last, copies what is left and
        // removes the log.
        self.checkpointer.take();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Now, as every stored time is written (RFC 3339, milliseconds, UTC).
pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The one audit writer: every entry, whatever changed (synced rows,
/// pulled rows, plugins, settings), is written here.
pub(crate) fn write_audit(
    conn: &Connection,
    at: &str,
    actor_json: &str,
    table: &str,
    row_id: &str,
    action: &str,
    changes: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, table_name, row_id, action, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![at, actor_json, table, row_id, action, changes])?;
    Ok(())
}

impl Store {
    /// The default profile folder for this platform (e.g. `~/.local/share/insurance-crm`).
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "insurance-crm").map(|d| d.data_dir().to_path_buf())
    }

    /// Create a new profile in `dir` (made if missing): a key, an encrypted
    /// database and this replica's identity.
    pub fn create(
        dir: &Path,
        choice: KeyStoreChoice,
        pass: &dyn PassphraseSource,
    ) -> Result<Store> {
        let db = dir.join(DB_FILE);
        if ProfileMeta::path(dir).exists() || db.exists() {
            return Err(CoreError::ProfileExists(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|source| CoreError::Io {
            path: dir.to_path_buf(),
            err: source,
        })?;
        restrict_permissions(dir);
        let (mut meta, key) = keys::create_key(choice, pass)?;
        let made = Self::open_path(&db, Some(&key), true).and_then(|mut store| {
            store.init_identity()?;
            meta.page_size = Some(store.layout.page_size);
            meta.page_hmac = Some(store.layout.hmac);
            meta.save(dir)?;
            Ok(store)
        });
        if made.is_err() {
            // Leave no half-made profile behind.
            let _ = std::fs::remove_file(&db);
            let _ = keys::forget_key(&meta);
        }
        made
    }

    /// Open the profile in `dir`.
    pub fn open(dir: &Path, pass: &dyn PassphraseSource) -> Result<Store> {
        let meta = ProfileMeta::load(dir)?;
        let key = keys::load_key(&meta, pass)?;
        let db = dir.join(DB_FILE);
        if !db.exists() {
            return Err(CoreError::NoProfile(dir.to_path_buf()));
        }
        // The layout is known: no profile is opened with the wrong one.
        let layout = Layout::of_profile(&meta);
        let (conn, layout) = open_connection(&db, Some(&key), false, Some(layout))?;
        Store::from_connection(conn, &db, Some(&key), layout, None)
    }

    /// Open a database file directly with a key (`None`: plain SQLite, used
    /// only as the benchmark baseline).
    pub fn open_path(path: &Path, key: Option<&DbKey>, create: bool) -> Result<Store> {
        Store::open_path_with(path, key, create, None)
    }

    /// [`Store::open_path`] with other checkpoint limits (tests; `None`:
    /// the default sizes for the database's page size).
    pub(crate) fn open_path_with(
        path: &Path,
        key: Option<&DbKey>,
        create: bool,
        limits: Option<CheckpointLimits>,
    ) -> Result<Store> {
        let (conn, layout) = open_connection(path, key, create, None)?;
        Store::from_connection(conn, path, key, layout, limits)
    }

    /// A store on a connection just opened with `layout`.
    fn from_connection(
        mut conn: Connection,
        path: &Path,
        key: Option<&DbKey>,
        layout: Layout,
        limits: Option<CheckpointLimits>,
    ) -> Result<Store> {
        let limits = limits.unwrap_or_else(|| CheckpointLimits::for_page_size(layout.page_size));
        migrations::migrate(&mut conn, path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "journal_size_limit", limits.keep_bytes)?;
        let identity = load_identity(&conn)?;
        let region = load_region(&conn)?.unwrap_or(crate::normalize::Region::GB);
        // Last: nothing after it can fail and leave it to be dropped
        // before the connection whose hook wakes it.
        let checkpointer = Checkpointer::start(&mut conn, path, key, layout, limits);
        let clock = Clock::new(
            identity
                .as_ref()
                .map(|i| i.device_id)
                .unwrap_or_else(Uuid::now_v7),
        );
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            identity: identity.unwrap_or(Identity {
                tenant_id: Uuid::nil(),
                device_id: clock.node(),
                user_id: "local".into(),
            }),
            clock,
            listeners: Vec::new(),
            default_region: region,
            acting: None,
            key: key.cloned(),
            layout,
            checkpointer,
            scratch: false,
            catalog_authority: false,
        })
    }

    /// A second, read-only connection to the same database, for a process
    /// that must answer queries while this one is busy writing (an import,
    /// a sync): WAL lets it read the last committed state meanwhile.
    /// SQLite itself refuses any write through it (`query_only`). Call
    /// [`Store::refresh`] before using it after a while: it does not see
    /// changes to this store's cached identity or region by itself.
    pub fn open_reader(&self) -> Result<Store> {
        if self.scratch {
            return Err(scratch::scratch_refusal("a scratch copy has no reader"));
        }
        let (conn, _) = open_connection(&self.path, self.key.as_ref(), false, Some(self.layout))?;
        conn.pragma_update(None, "query_only", true)?;
        // It starts with this store's identity and region (current now).
        Ok(Store {
            conn,
            path: self.path.clone(),
            identity: self.identity.clone(),
            clock: Clock::new(self.clock.node()),
            listeners: Vec::new(),
            default_region: self.default_region,
            acting: None,
            key: None,
            layout: self.layout,
            checkpointer: None,
            scratch: false,
            catalog_authority: false,
        })
    }

    /// A second connection to this profile that may write, for work that
    /// must not hold this one for long (a sync waiting on the network):
    /// same identity, region and listeners (so changes it merges reach the
    /// same plugin hooks); its write transactions and this store's take
    /// turns in SQLite, each waiting for the other's to end.
    pub fn open_sibling(&self) -> Result<Store> {
        if self.scratch {
            return Err(scratch::scratch_refusal("a scratch copy has no sibling"));
        }
        let (conn, _) = open_connection(&self.path, self.key.as_ref(), false, Some(self.layout))?;
        Ok(Store {
            conn,
            path: self.path.clone(),
            identity: self.identity.clone(),
            clock: Clock::new(self.clock.node()),
            listeners: self.listeners.clone(),
            default_region: self.default_region,
            acting: None,
            key: self.key.clone(),
            layout: self.layout,
            checkpointer: None,
            scratch: false,
            catalog_authority: false,
        })
    }

    /// Re-read the identity and default region from the database (they
    /// change when another connection signs in or sets the region).
    pub fn refresh(&mut self) -> Result<()> {
        if let Some(identity) = load_identity(&self.conn)? {
            self.identity = identity;
        }
        if let Some(region) = load_region(&self.conn)? {
            self.default_region = region;
        }
        Ok(())
    }

    /// Run `f` inside one read transaction: every query it makes sees the
    /// same committed state (a list and its count agree).
    pub fn snapshot<T>(&self, f: impl FnOnce(&Store) -> T) -> Result<T> {
        let tx = self.conn.unchecked_transaction()?;
        let out = f(self);
        tx.rollback()?;
        Ok(out)
    }

    fn init_identity(&mut self) -> Result<()> {
        if load_identity(&self.conn)?.is_some() {
            return Ok(());
        }
        let ident = Identity {
            tenant_id: Uuid::now_v7(),
            device_id: self.clock.node(),
            user_id: "local".into(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (k, v) in [
            ("tenant_id", ident.tenant_id.to_string()),
            ("device_id", ident.device_id.to_string()),
            ("user_id", ident.user_id.clone()),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        self.identity = ident;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This replica's tenant, device and user.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Read the wall time from `wall` instead of the system clock, as a
    /// device whose clock is wrong would (tests of clock skew set one
    /// device's clock minutes ahead).
    #[doc(hidden)]
    pub fn set_wall_clock(&mut self, wall: fn() -> u64) {
        self.clock = Clock::with_wall(self.clock.node(), wall);
    }

    /// The acting local user.
    pub fn user_actor(&self) -> Actor {
        if let Some(a) = &self.acting {
            return a.clone();
        }
        Actor::User {
            user: self.identity.user_id.clone(),
        }
    }

    /// Run `f` with every write (and audit entry) made in the name of
    /// `actor`, e.g. a plugin acting for the user. The previous actor is
    /// restored afterwards, whatever `f` returns.
    pub fn with_actor<T>(&mut self, actor: Actor, f: impl FnOnce(&mut Store) -> T) -> T {
        let before = self.acting.replace(actor);
        let out = f(self);
        self.acting = before;
        out
    }

    /// Region used for phone numbers written without a country code.
    pub fn default_region(&self) -> crate::normalize::Region {
        self.default_region
    }

    /// Change the default phone region (e.g. "GB", "DE").
    pub fn set_default_region(&mut self, code: &str) -> Result<()> {
        let id =
            crate::normalize::region(code).map_err(|r| crate::ValidationError::new("region", r))?;
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('default_region', ?1) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [code.trim().to_uppercase()],
        )?;
        self.default_region = id;
        Ok(())
    }

    /// Register a listener for committed changes.
    pub fn subscribe(&mut self, listener: Listener) {
        self.listeners.push(listener);
    }

    /// Read-only access for queries.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Cap SQLite's page cache at `mib` MiB (64 by default, sized for
    /// bulk imports). A long-running interactive process lowers it: the
    /// cache only grows, so a scan of a large table would otherwise keep
    /// that much of it in memory for the life of the session. Lowering it
    /// frees the pages above the new cap at once.
    pub fn set_cache_limit_mib(&self, mib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -(i64::from(mib.max(1)) * 1024))?;
        Ok(())
    }

    /// Local-only tables (plugin registry) write through this.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The connection, clock and identity for the sync module: changes
    /// received from the server are merged without entering the outbox.
    pub(crate) fn sync_parts(&mut self) -> (&mut Connection, &Clock, &mut Identity) {
        (&mut self.conn, &self.clock, &mut self.identity)
    }

    /// Start a write transaction. Nothing is visible until [`WriteTx::commit`];
    /// dropping it rolls everything back.
    pub fn write(&mut self, actor: Actor) -> Result<WriteTx<'_>> {
        let Store {
            conn,
            identity,
            clock,
            listeners,
            ..
        } = self;
        // Shared from here on, for as long as the transaction (which still
        // cannot nest: `self` stays borrowed mutably).
        let conn: &Connection = conn;
        // The write lock is taken at the start, waiting (the busy timeout)
        // for another connection's write to end: a transaction that read
        // first and then found another connection had written meanwhile
        // would fail at once instead.
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        Ok(WriteTx {
            tx,
            tenant_text: identity.tenant_id.to_string(),
            clock,
            listeners,
            actor_json: actor.to_json(),
            actor,
            events: Vec::new(),
            created: Vec::new(),
        })
    }

    /// Number of ops waiting to be pushed.
    pub fn outbox_len(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row(crate::bulk::OUTBOX_LEN, [], |r| r.get(0))?)
    }

    /// Audit entries for one row, oldest first. A creation's values are
    /// not stored twice (see [`BY_ROW`]); they are worked back here from the
    /// row as it is and the `[old, new]` pairs of the updates since. If the
    /// row has left this device (evicted), they are `null`.
    pub fn audit_for(&self, row_id: Uuid) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare_cached(crate::bulk::AUDIT_OF_ROW)?;
        let rows = st.query_map([row_id.to_string()], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, actor, table, action, changes) = row?;
            out.push(AuditEntry {
                at,
                actor: serde_json::from_str(&actor)?,
                table,
                action,
                changes: serde_json::from_str(&changes)?,
            });
        }
        let Some(table) = out.first().and_then(|e| crate::sync::table_named(&e.table)) else {
            return Ok(out);
        };
        let mut state = match load_any_row(&self.conn, table, row_id)? {
            Some(r) => r.fields,
            None => return Ok(out),
        };
        for e in out.iter_mut().rev() {
            match (e.action.as_str(), &e.changes) {
                ("created", Value::Null) => {
                    e.changes = Value::Object(
                        std::mem::take(&mut state)
                            .into_iter()
                            .filter(|(_, v)| !v.is_null())
                            .collect(),
                    );
                }
                ("updated", Value::Object(m)) => {
                    for (f, pair) in m {
                        if let Some(old) = pair.as_array().and_then(|p| p.first()) {
                            state.insert(f.clone(), old.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// A SHA-256 of every table's rows (names, columns and values, the
    /// local-only tables, audit log and outbox included): equal digests
    /// mean nothing was written in between (a dry run's proof).
    pub fn content_digest(&self) -> Result<String> {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let tables: Vec<String> = {
            let mut st = self
                .conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
            let names = st.query_map([], |r| r.get::<_, String>(0))?;
            names.collect::<rusqlite::Result<_>>()?
        };
        for t in tables {
            h.update(t.as_bytes());
            let mut st = self
                .conn
                .prepare(&format!("SELECT * FROM \"{}\"", t.replace('"', "\"\"")))?;
            let n = st.column_count();
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                for i in 0..n {
                    use rusqlite::types::ValueRef;
                    match r.get_ref(i)? {
                        ValueRef::Null => h.update([0]),
                        ValueRef::Integer(v) => {
                            h.update([1]);
                            h.update(v.to_le_bytes());
                        }
                        ValueRef::Real(v) => {
                            h.update([2]);
                            h.update(v.to_le_bytes());
                        }
                        ValueRef::Text(v) | ValueRef::Blob(v) => {
                            h.update([3]);
                            h.update((v.len() as u64).to_le_bytes());
                            h.update(v);
                        }
                    }
                }
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Check the database's integrity (SQLite's own check).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// One entry of the audit trail.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who.
    pub actor: Value,
    /// Which table.
    pub table: String,
    /// created / updated / deleted.
    pub action: String,
    /// For updates `{field: [old, new]}`; for creates `{field: value}`
    /// (the fields that were set).
    pub changes: Value,
}

/// The profile's default phone region, if one is set and valid.
fn load_region(conn: &Connection) -> Result<Option<crate::normalize::Region>> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'default_region'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|r| crate::normalize::region(&r).ok()))
}

fn load_identity(conn: &Connection) -> Result<Option<Identity>> {
    let get = |k: &str| -> Result<Option<String>> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()?)
    };
    let (Some(t), Some(d), Some(u)) = (get("tenant_id")?, get("device_id")?, get("user_id")?)
    else {
        return Ok(None);
    };
    let parse = |s: &str| {
        Uuid::parse_str(s).map_err(|e| CoreError::BadProfile {
            path: PathBuf::from(DB_FILE),
            reason: format!("identity: {e}"),
        })
    };
    Ok(Some(Identity {
        tenant_id: parse(&t)?,
        device_id: parse(&d)?,
        user_id: u,
    }))
}

#[cfg(unix)]
fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &Path) {}

/// Hand committed changes to the listeners. A listener that panics is
/// contained and logged; the data is already committed.
pub(crate) fn dispatch(listeners: &[Listener], events: &[ChangeEvent]) {
    for ev in events {
        for l in listeners {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l(ev))).is_err() {
                tracing::error!(event = %ev.name, row = %ev.row_id, "a change listener panicked");
            }
        }
    }
}

/// A store on a plain database in a temporary folder, for unit tests.
#[cfg(test)]
pub(crate) fn scratch_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
    (dir, s)
}

#[cfg(test)]
mod tests;
