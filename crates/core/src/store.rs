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

/// A stored row's fields as JSON values, and its clocks.
#[derive(Clone, Debug)]
pub(crate) struct StoredRow {
    pub fields: Map<String, Value>,
    pub clocks: Map<String, Value>,
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
}

impl Drop for Store {
    fn drop(&mut self) {
        // Stop the thread (and close its connection) before the writer
        // closes: the writer, closing last, copies what is left and
        // removes the log.
        self.checkpointer.take();
    }
}

/// When the write-ahead log is copied into the database, in frames
/// (pages) of the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckpointLimits {
    /// A log this long gets copied (SQLite's own automatic checkpoint
    /// starts at the same length).
    pub after: c_int,
    /// The writer copies this many frames or fewer itself (cheap), so
    /// that the next write can start the log afresh.
    pub remainder: c_int,
    /// A log this long is copied whole by the writer before its commit
    /// returns, waiting for the thread if it must: the log's length (and
    /// file) stays bounded even when the thread is starved or never finds
    /// a moment when everything is copied.
    ///
    /// A bulk write that commits batch after batch (an import) never lets
    /// the log start afresh: each batch begins the moment the last one
    /// committed, before the thread has copied it. So every time the log
    /// reaches this length the writer copies the last batch itself and
    /// waits for two `fsync`s (measured: about 50 ms each time, 5% of an
    /// import of 100,000 contacts when it came every second batch). The
    /// limit therefore counts frames whatever their size, so larger pages
    /// let a longer bulk write run without it: 12,000 frames are 48 MiB
    /// of 4 KiB pages and 192 MiB of 16 KiB ones (an import batch of
    /// 20,000 contacts writes about 2,000).
    pub hard: c_int,
    /// Once the log starts afresh its file is cut back to this many bytes
    /// (`journal_size_limit`): a bulk write's long log does not keep its
    /// disk space.
    pub keep_bytes: i64,
}

impl CheckpointLimits {
    /// In frames of 4 KiB pages: 4 MiB, 1 MiB, 48 MiB of log; the file
    /// is cut back to 16 MiB.
    pub(crate) const DEFAULT: CheckpointLimits = CheckpointLimits {
        after: 1000,
        remainder: 256,
        hard: 12_000,
        keep_bytes: 16 << 20,
    };

    /// [`CheckpointLimits::DEFAULT`] for `page_size`: the copying
    /// thresholds keep their sizes in bytes, the hard limit its count of
    /// frames (see [`CheckpointLimits::hard`]).
    pub(crate) fn for_page_size(page_size: u32) -> CheckpointLimits {
        let per = (page_size / 4096).max(1) as c_int;
        let d = CheckpointLimits::DEFAULT;
        CheckpointLimits {
            after: (d.after / per).max(1),
            remainder: (d.remainder / per).max(1),
            ..d
        }
    }
}

/// How long a writer at the hard limit waits for the thread's checkpoint
/// to let go (it copies at most one limit's worth: well under a second).
const HARD_LIMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The thread that checkpoints the write-ahead log. SQLite's automatic
/// checkpoint runs on the committing connection, inside `COMMIT`: a bulk
/// write (an import, a plugin rescoring every contact) waited for every
/// page it had written to be copied a second time, into the database file
/// (measured: 7% of an import, 12% of a rescoring run). A passive
/// checkpoint from a second connection runs beside the writer instead
/// (WAL allows one checkpointer alongside one writer, and a passive
/// checkpoint never takes the writer's lock); the writer only wakes it.
/// Pages move as they are, still encrypted.
///
/// The log starts afresh only when a write begins while every frame has
/// been copied. Under a stream of small writes the thread is always a
/// little behind, so the writer copies the last few frames itself, and
/// the whole log once it reaches [`CheckpointLimits::hard`]. How many
/// are left it asks SQLite (a no-op checkpoint takes no lock). A
/// checkpoint that cannot run at once (the thread holds the checkpoint
/// lock) is skipped, except at the hard limit; the hook never fails a
/// commit that has happened.
struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The writer's hook may still hold a sender (a store that failed
        // to open drops this first): stop by flag, not by disconnection.
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.wake.take() {
            // Full slot: a wake-up is pending and will see the flag.
            let _ = w.try_send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copy the whole log on the writer, waiting (a little) for the thread.
fn copy_whole_log(wal: &mut rusqlite::hooks::Wal) {
    let deadline = std::time::Instant::now() + HARD_LIMIT_WAIT;
    loop {
        match wal.checkpoint_v2(CheckpointMode::PASSIVE) {
            Ok((log, copied)) if copied >= log => return,
            // Partly copied (a reader still uses older frames) or busy
            // (the thread is copying): try again shortly.
            Ok(_) | Err(_) => {}
        }
        if std::time::Instant::now() >= deadline {
            tracing::debug!(
                "checkpoint at the hard limit did not finish; the next commit tries again"
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

impl Checkpointer {
    /// Start one for the writer `conn` of the database at `path`. `None`
    /// if the second connection or the thread cannot be had: `conn` then
    /// keeps SQLite's automatic checkpoint.
    fn start(
        conn: &mut Connection,
        path: &Path,
        key: Option<&DbKey>,
        layout: Layout,
        limits: CheckpointLimits,
    ) -> Option<Checkpointer> {
        let (other, _) = open_connection(path, key, false, Some(layout)).ok()?;
        // It reads no pages through its cache: a checkpoint copies frames.
        other.pragma_update(None, "cache_size", 16).ok()?;
        other.pragma_update(None, "synchronous", "NORMAL").ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("crm-checkpoint".into())
            .spawn(move || {
                // Wake-ups coalesce (one slot): a checkpoint copies every
                // frame committed before it starts.
                while woken.recv().is_ok() && !stopped.load(Ordering::SeqCst) {
                    if let Err(e) = other.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                        tracing::debug!(error = %e, "background checkpoint skipped");
                    }
                }
            })
            .ok()?;
        let signal = wake.clone();
        let hooked = conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            if pages < limits.after {
                return Ok(());
            }
            let left = match wal.checkpoint_v2(CheckpointMode::NOOP) {
                Ok((log, copied)) if log >= 0 && copied >= 0 => log - copied,
                _ => pages,
            };
            if left == 0 {
                // All copied: the next write starts the log afresh.
            } else if pages >= limits.hard {
                copy_whole_log(wal);
            } else if left <= limits.remainder {
                // Busy (the thread is copying): the next commit tries
                // again. The commit itself has happened either way.
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            } else {
                // Full slot: a wake-up is already pending.
                let _ = signal.try_send(());
            }
            Ok(())
        }));
        let me = Checkpointer {
            wake: Some(wake),
            stop,
            thread: Some(thread),
        };
        if hooked.is_err() {
            // Dropping `me` ends the thread; SQLite's default stays.
            let _ = conn.pragma_update(None, "wal_autocheckpoint", limits.after);
            return None;
        }
        Some(me)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The page size of databases this build creates. Each encrypted page
/// carries its own IV and HMAC and is written as one WAL frame; with 16 KiB
/// pages an import writes a quarter as many (measured: 100,000 contacts in
/// 2.2 s instead of 2.6 s into SQLCipher, plain SQLite 9% faster too),
/// while a one-contact edit still rewrites only a few pages.
pub(crate) const PAGE_SIZE: u32 = 16_384;

/// How an encrypted database's pages are laid out: their size and the
/// HMAC that authenticates each. SQLCipher keeps no plaintext header to
/// read either from, so a profile records them ([`ProfileMeta`]); a
/// database opened by path alone has today's ([`LAYOUT`]).
///
/// Development builds before the first release made two other layouts
/// (4 KiB pages, HMAC-SHA512) and opening tried each in turn: a wrong
/// passphrase cost three key checks, and every reader had to learn why.
/// No release ever made them, so no user has such a profile; they are no
/// longer tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub page_size: u32,
    pub hmac: PageHmac,
}

/// What new databases get.
pub(crate) const LAYOUT: Layout = Layout {
    page_size: PAGE_SIZE,
    hmac: PageHmac::Sha256,
};

impl Layout {
    /// A profile's layout, as its metadata records it.
    pub(crate) fn of_profile(meta: &ProfileMeta) -> Layout {
        Layout {
            page_size: meta.page_size.unwrap_or(LAYOUT.page_size),
            hmac: meta.page_hmac.unwrap_or(LAYOUT.hmac),
        }
    }
}

/// Open the database at `path` with `layout` when known (a profile, a
/// second connection to a database already open), else [`LAYOUT`].
/// Returns the connection and its layout (for plain SQLite, the page size
/// its header names). A failed open writes nothing.
fn open_connection(
    path: &Path,
    key: Option<&DbKey>,
    create: bool,
    layout: Option<Layout>,
) -> Result<(Connection, Layout)> {
    let layout = layout.unwrap_or(LAYOUT);
    let conn = open_connection_laid_out(path, key, create, layout)?;
    let page_size = read_page_size(&conn)?;
    Ok((
        conn,
        Layout {
            page_size,
            ..layout
        },
    ))
}

/// `PRAGMA page_size` (SQLCipher answers it as text, plain SQLite as a
/// number).
fn read_page_size(conn: &Connection) -> Result<u32> {
    use rusqlite::types::ValueRef;
    let v = conn.query_row("PRAGMA page_size", [], |r| {
        Ok(match r.get_ref(0)? {
            ValueRef::Integer(i) => u32::try_from(i).ok(),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.trim().parse().ok()),
            _ => None,
        })
    })?;
    v.ok_or_else(|| CoreError::BadProfile {
        path: PathBuf::from(DB_FILE),
        reason: "the database reports no page size".into(),
    })
}

fn open_connection_laid_out(
    path: &Path,
    key: Option<&DbKey>,
    create: bool,
    layout: Layout,
) -> Result<Connection> {
    let page_size = layout.page_size;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
            CoreError::Io {
                path: path.to_path_buf(),
                err: std::io::Error::new(std::io::ErrorKind::NotFound, "cannot open database file"),
            }
        }
        other => CoreError::Sqlite(other),
    })?;
    // SQLCipher logs decryption failures to stderr by itself; errors are
    // reported once, by the caller, so keep it quiet.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
    if let Some(key) = key {
        conn.pragma_update(None, "key", &*key.pragma_value())?;
        conn.execute_batch(&format!(
            "PRAGMA cipher_page_size = {page_size}; PRAGMA cipher_hmac_algorithm = {};",
            layout.hmac.pragma_name()
        ))?;
    } else if create {
        // Takes effect only on a database that has no pages yet.
        conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
    }
    // Reading the schema is the first access that decrypts a page: a wrong key
    // or a foreign file fails here, before anything is written.
    let wrong = || CoreError::WrongKeyOrNotOurs {
        path: path.to_path_buf(),
    };
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            wrong()
        }
        other => CoreError::Sqlite(other),
    })?;
    let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if app_id != APPLICATION_ID && !(create && app_id == 0 && version == 0) {
        return Err(wrong());
    }
    // Temp tables and sort spills stay in memory: SQLCipher's temp files
    // would otherwise be a second place for plaintext to land.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 64 MiB page cache: large imports stay in memory until commit.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
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
        })
    }

    /// A second, read-only connection to the same database, for a process
    /// that must answer queries while this one is busy writing (an import,
    /// a sync): WAL lets it read the last committed state meanwhile.
    /// SQLite itself refuses any write through it (`query_only`). Call
    /// [`Store::refresh`] before using it after a while: it does not see
    /// changes to this store's cached identity or region by itself.
    pub fn open_reader(&self) -> Result<Store> {
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
        })
    }

    /// A second connection to this profile that may write, for work that
    /// must not hold this one for long (a sync waiting on the network):
    /// same identity, region and listeners (so changes it merges reach the
    /// same plugin hooks); its write transactions and this store's take
    /// turns in SQLite, each waiting for the other's to end.
    pub fn open_sibling(&self) -> Result<Store> {
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
        let tx = self.conn.transaction()?;
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

/// What the server would refuse never enters the outbox (it would be set
/// aside at the next sync, far from whoever wrote it): every value written
/// meets the synced schema's bounds.
fn check_field(field: &crm_protocol::schema::Field, v: &Value) -> Result<()> {
    field.check(v).map_err(|expected| {
        crate::ValidationError::new(field.name, format!("must be {expected}"))
    })?;
    Ok(())
}

/// The entries of map `new` that differ from map `old`: their new value,
/// or `null` for one removed (a map field's op, see `Kind::TextMap`).
fn changed_entries(old: &Value, new: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in new {
        if old.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// A new row's values in column order, checked against the synced
/// schema's bounds and converted for SQLite. [`WriteTx::put`] makes one
/// for every new row; an import makes them on its reader thread.
pub(crate) struct NewRow {
    table: Table,
    values: Vec<rusqlite::types::Value>,
}

impl NewRow {
    /// The row `after` (fields it does not name are NULL), or the first
    /// value past a bound.
    pub(crate) fn new(table: Table, after: &Map<String, Value>) -> Result<NewRow> {
        let spec = table.spec();
        let mut values = Vec::with_capacity(spec.fields.len());
        for field in spec.fields {
            let v = after.get(field.name).unwrap_or(&Value::Null);
            check_field(field, v)?;
            values.push(SqlArg(v).owned());
        }
        Ok(NewRow { table, values })
    }
}

/// A write transaction: the one way data changes.
pub struct WriteTx<'s> {
    tx: rusqlite::Transaction<'s>,
    tenant_text: String,
    clock: &'s Clock,
    listeners: &'s [Listener],
    actor: Actor,
    actor_json: String,
    events: Vec<ChangeEvent>,
    /// Rows this write created, per table, and the shared audit entry the
    /// later ones go into (see [`crate::bulk`]).
    pub(crate) created: Vec<(Table, usize, Option<crate::bulk::BulkCreated>)>,
}

/// The body of a new row's audit entry and sync op: not a copy of the row
/// (which tripled what an import writes) but a reference to it. The sync op
/// is filled from the row when it is pushed ([`Store::outbox_batch`]); the
/// audit entry's values are worked back from the row and the later entries'
/// `[old, new]` pairs ([`Store::audit_for`]).
pub(crate) const BY_ROW: &str = "null";

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

/// A JSON field value bound as an SQL parameter, strings borrowed (no copy
/// per bind). Lists and objects are stored as JSON text.
pub(crate) struct SqlArg<'a>(pub &'a Value);

impl SqlArg<'_> {
    /// The same value, owned (for parameter lists that outlive the map).
    pub(crate) fn owned(&self) -> rusqlite::types::Value {
        use rusqlite::types::ToSqlOutput as O;
        match rusqlite::ToSql::to_sql(self) {
            Ok(O::Borrowed(r)) => {
                rusqlite::types::Value::try_from(r).unwrap_or(rusqlite::types::Value::Null)
            }
            Ok(O::Owned(v)) => v,
            _ => rusqlite::types::Value::Null,
        }
    }
}

impl rusqlite::ToSql for SqlArg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput as O, Value as S, ValueRef as R};
        Ok(match self.0 {
            Value::Null => O::Owned(S::Null),
            Value::Bool(b) => O::Owned(S::Integer(*b as i64)),
            Value::Number(n) => O::Owned(
                n.as_i64()
                    .map(S::Integer)
                    .or_else(|| n.as_f64().map(S::Real))
                    .unwrap_or(S::Null),
            ),
            Value::String(s) => O::Borrowed(R::Text(s.as_bytes())),
            other => O::Owned(S::Text(other.to_string())),
        })
    }
}

pub(crate) fn row_to_json(table: Table, field: &str, v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as R;
    match v {
        R::Null => Value::Null,
        R::Integer(i) => Value::from(i),
        R::Real(f) => Value::from(f),
        R::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if table.is_json(field) {
                serde_json::from_str(&s).unwrap_or(Value::Null)
            } else {
                Value::String(s.into_owned())
            }
        }
        R::Blob(b) => Value::String(hex::encode(b)),
    }
}

/// Read a live (not tombstoned) row's fields.
pub(crate) fn load_row(conn: &Connection, table: Table, id: Uuid) -> Result<Option<StoredRow>> {
    load(conn, table, id, true)
}

/// Read some fields of a live row (and its clocks): enough for an update
/// that names only those fields.
pub(crate) fn load_some(
    conn: &Connection,
    table: Table,
    id: Uuid,
    fields: &'static [&'static str],
) -> Result<Option<StoredRow>> {
    load_fields(conn, table, id, fields, true)
}

/// Read a row's fields, tombstoned or not (`None`: not on this device).
pub(crate) fn load_any_row(conn: &Connection, table: Table, id: Uuid) -> Result<Option<StoredRow>> {
    load(conn, table, id, false)
}

fn load(conn: &Connection, table: Table, id: Uuid, live: bool) -> Result<Option<StoredRow>> {
    load_fields(conn, table, id, table.fields(), live)
}

fn load_fields(
    conn: &Connection,
    table: Table,
    id: Uuid,
    fields: &[&str],
    live: bool,
) -> Result<Option<StoredRow>> {
    let sql = format!(
        "SELECT {}, clocks FROM {} WHERE id = ?1{}",
        fields.join(", "),
        table.name(),
        if live { " AND deleted = 0" } else { "" }
    );
    let mut st = conn.prepare_cached(&sql)?;
    let row = st
        .query_row([id.to_string()], |r| {
            let mut map = Map::new();
            for (i, f) in fields.iter().enumerate() {
                map.insert((*f).to_string(), row_to_json(table, f, r.get_ref(i)?));
            }
            let clocks: String = r.get(fields.len())?;
            Ok((map, clocks))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((fields, clocks)) => Ok(Some(StoredRow {
            fields,
            clocks: serde_json::from_str(&clocks)?,
        })),
    }
}

impl<'s> WriteTx<'s> {
    /// The underlying transaction, for reads inside the write.
    pub(crate) fn conn(&self) -> &Connection {
        &self.tx
    }

    /// A statement for `sql` from the connection's statement cache: for
    /// SQL run row after row.
    /// Who writes, as the audit log records it.
    pub(crate) fn actor_json(&self) -> &str {
        &self.actor_json
    }

    pub(crate) fn stmt(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>> {
        Ok(self.tx.prepare_cached(sql)?)
    }

    /// Who this write is for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Write a row: insert when `before` is `None`, else update the fields
    /// that differ. Returns the changed field names (empty: nothing to do).
    pub(crate) fn put(
        &mut self,
        table: Table,
        id: Uuid,
        before: Option<&StoredRow>,
        after: &Map<String, Value>,
    ) -> Result<Vec<&'static str>> {
        self.put_named(table, id, before, after, &[])
    }

    /// [`WriteTx::put`], also writing the fields in `named` when their value
    /// is the one stored: a person who sets a field on purpose means it,
    /// even to the value this device still shows while another device
    /// changed it meanwhile (unwritten, the older change would win).
    pub(crate) fn put_named(
        &mut self,
        table: Table,
        id: Uuid,
        before: Option<&StoredRow>,
        after: &Map<String, Value>,
        named: &[&str],
    ) -> Result<Vec<&'static str>> {
        let Some(b) = before else {
            let row = NewRow::new(table, after)?;
            self.insert(id, &row)?;
            return Ok(table.fields().to_vec());
        };
        let spec = table.spec();
        let mut changed: Vec<(&'static str, &Value)> = Vec::with_capacity(spec.fields.len());
        // A map field's op carries only its entries that changed.
        let mut entries: Vec<(&'static str, Map<String, Value>)> = Vec::new();
        for field in spec.fields {
            // An update leaves the fields `after` does not name alone.
            let f = field.name;
            let Some(new) = after.get(f) else { continue };
            let old = b.fields.get(f).unwrap_or(&Value::Null);
            if field.kind == crm_protocol::schema::Kind::TextMap {
                let diff = changed_entries(old, new);
                if diff.is_empty() {
                    continue;
                }
                entries.push((f, diff));
            } else if old == new && !named.contains(&f) {
                continue;
            }
            check_field(field, new)?;
            changed.push((f, new));
        }
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        let hlc_text = self.stamp_after(&b.clocks).to_string();
        let now = now_text();
        let id_text = id.to_string();
        let mut clocks = b.clocks.clone();
        let mut audit = Map::new();
        let mut out_fields = Map::new();
        for (f, new) in &changed {
            let old = b.fields.get(*f).cloned().unwrap_or(Value::Null);
            match entries.iter().find(|(name, _)| name == f) {
                Some((_, diff)) => {
                    for key in diff.keys() {
                        let clock = crm_protocol::schema::entry_clock(f, key);
                        clocks.insert(clock, Value::String(hlc_text.clone()));
                    }
                    out_fields.insert((*f).to_string(), Value::Object(diff.clone()));
                }
                None => {
                    clocks.insert((*f).to_string(), Value::String(hlc_text.clone()));
                    out_fields.insert((*f).to_string(), (*new).clone());
                }
            }
            audit.insert((*f).to_string(), Value::Array(vec![old, (*new).clone()]));
        }
        let clocks = serde_json::to_string(&clocks)?;
        self.update_row(table, &id_text, &changed, false, &clocks, &now)?;
        let names: Vec<&'static str> = changed.iter().map(|(f, _)| *f).collect();
        self.record(
            table,
            id,
            &id_text,
            Action::Updated,
            &hlc_text,
            &now,
            &serde_json::to_string(&audit)?,
            &serde_json::to_string(&out_fields)?,
            &names,
        )?;
        Ok(names)
    }

    /// Insert a new row made beforehand ([`NewRow::new`], e.g. on an
    /// import's reader thread, which leaves the writer only the writing).
    pub(crate) fn insert(&mut self, id: Uuid, row: &NewRow) -> Result<()> {
        let table = row.table;
        let hlc_text = self.clock.now().to_string();
        let now = now_text();
        let id_text = id.to_string();
        let clocks = format!("{{\"_\":\"{hlc_text}\"}}");
        self.insert_row(&id_text, row, &clocks, false, &now)?;
        // A new row's audit entry and sync op refer to the row itself
        // instead of copying it (see [`BY_ROW`]).
        self.record(
            table,
            id,
            &id_text,
            Action::Created,
            &hlc_text,
            &now,
            BY_ROW,
            BY_ROW,
            table.fields(),
        )
    }

    /// Tombstone a row. Returns false if it did not exist (or was deleted).
    pub(crate) fn tombstone(&mut self, table: Table, id: Uuid) -> Result<bool> {
        let Some(before) = load_row(&self.tx, table, id)? else {
            return Ok(false);
        };
        let hlc = self.stamp_after(&before.clocks);
        let now = now_text();
        let id_text = id.to_string();
        let mut clocks = before.clocks;
        clocks.insert("deleted".into(), Value::String(hlc.to_string()));
        let clocks = Value::Object(clocks).to_string();
        self.update_row(table, &id_text, &[], true, &clocks, &now)?;
        let audit = Value::Object(before.fields).to_string();
        self.record(
            table,
            id,
            &id_text,
            Action::Deleted,
            &hlc.to_string(),
            &now,
            &audit,
            r#"{"deleted":true}"#,
            &["deleted"],
        )?;
        Ok(true)
    }

    /// A stamp for a change of a row whose fields carry `clocks`: after
    /// every stamp the row shows, whatever this process's clock says (it
    /// may have started after a fast clock's stamps were stored, or the
    /// wall clock may have been set back). Otherwise the change would lose
    /// to the value it replaces, everywhere but here.
    fn stamp_after(&self, clocks: &Map<String, Value>) -> crm_protocol::Hlc {
        let newest = clocks
            .values()
            .filter_map(|v| v.as_str()?.parse::<crm_protocol::Hlc>().ok())
            .max();
        if let Some(h) = newest {
            self.clock.advance_past(h);
        }
        self.clock.now()
    }

    /// The INSERT of a row, local or pulled: its values, clocks (JSON) and
    /// whether it is a tombstone.
    pub(crate) fn insert_row(
        &self,
        id_text: &str,
        row: &NewRow,
        clocks: &str,
        deleted: bool,
        now: &str,
    ) -> Result<()> {
        let deleted = deleted as i64;
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(row.values.len() + 6);
        args.push(&id_text);
        args.push(&self.tenant_text);
        for v in &row.values {
            args.push(v);
        }
        args.push(&clocks);
        args.push(&deleted);
        args.push(&now);
        args.push(&now);
        self.stmt(row.table.insert_sql())?
            .execute(args.as_slice())?;
        Ok(())
    }

    /// The UPDATE of a row, local or pulled: the `changed` fields, the
    /// tombstone when `delete`, and always its clocks (JSON) and time.
    pub(crate) fn update_row(
        &self,
        table: Table,
        id_text: &str,
        changed: &[(&str, &Value)],
        delete: bool,
        clocks: &str,
        now: &str,
    ) -> Result<()> {
        let mut sql = format!("UPDATE {} SET ", table.name());
        for (f, _) in changed {
            sql.push_str(f);
            sql.push_str(" = ?, ");
        }
        if delete {
            sql.push_str("deleted = 1, ");
        }
        sql.push_str("clocks = ?, updated_at = ? WHERE id = ?");
        let vals: Vec<SqlArg<'_>> = changed.iter().map(|(_, v)| SqlArg(v)).collect();
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(changed.len() + 3);
        for v in &vals {
            args.push(v);
        }
        args.push(&clocks);
        args.push(&now);
        args.push(&id_text);
        self.stmt(&sql)?.execute(args.as_slice())?;
        Ok(())
    }

    /// Act for someone else from here on (a pulled row: the device that
    /// wrote it).
    pub(crate) fn set_actor(&mut self, actor: Actor) {
        if self.actor != actor {
            self.actor_json = actor.to_json();
            self.actor = actor;
        }
    }

    /// Move this device's clock past a stamp it has seen. The server
    /// bounds clocks already; a stamp it let through is never a reason to
    /// refuse a row.
    pub(crate) fn observe(&self, seen: crm_protocol::Hlc) {
        let _ = self.clock.observe(seen);
    }

    /// The audit entry for a change, by this write's actor.
    pub(crate) fn audit(
        &self,
        table: &str,
        row_id: &str,
        action: &str,
        changes: &str,
        now: &str,
    ) -> Result<()> {
        write_audit(
            &self.tx,
            now,
            &self.actor_json,
            table,
            row_id,
            action,
            changes,
        )
    }

    /// Tell listeners, after the commit, that this write changed a row.
    pub(crate) fn announce(&mut self, table: Table, id: Uuid, action: Action, names: &[&str]) {
        if self.listeners.is_empty() {
            return;
        }
        let imported = matches!(self.actor, Actor::Import { .. }) && action == Action::Created;
        let verb = if imported {
            "imported"
        } else {
            action.as_str()
        };
        self.events.push(ChangeEvent {
            name: format!("{}.{}", table.kind(), verb),
            table,
            row_id: id,
            action,
            actor: self.actor.clone(),
            fields: names.iter().map(|n| n.to_string()).collect(),
        });
    }

    /// A local change's audit entry, sync op and change event.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        table: Table,
        id: Uuid,
        id_text: &str,
        action: Action,
        hlc_text: &str,
        now: &str,
        audit: &str,
        out_fields: &str,
        names: &[&'static str],
    ) -> Result<()> {
        let bulk = action == Action::Created
            && audit == BY_ROW
            && out_fields == BY_ROW
            && self.bulk_created(table, id, hlc_text, now)?;
        if !bulk {
            self.audit(table.name(), id_text, action.as_str(), audit, now)?;
            self.stmt(
                "INSERT INTO sync_outbox (op_id, table_name, row_id, hlc, fields) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                Uuid::now_v7().to_string(),
                table.name(),
                id_text,
                hlc_text,
                out_fields
            ])?;
        }
        self.announce(table, id, action, names);
        Ok(())
    }

    /// Collect no change events: for a write that is never committed (a
    /// dry run), whose events would never be sent.
    pub(crate) fn collect_no_events(&mut self) {
        self.listeners = &[];
        self.events = Vec::new();
    }

    /// Run a raw statement inside the write (local-only index tables).
    pub(crate) fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
        Ok(self.tx.prepare_cached(sql)?.execute(p)?)
    }

    /// Commit, then tell listeners what changed. A listener that panics is
    /// contained; the data is already committed.
    pub fn commit(mut self) -> Result<()> {
        for (_, _, bulk) in std::mem::take(&mut self.created) {
            if let Some(b) = bulk {
                self.finish_bulk(b)?;
            }
        }
        let WriteTx {
            tx,
            listeners,
            events,
            ..
        } = self;
        tx.commit()?;
        dispatch(listeners, &events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::{BULK_AFTER, BULK_ROWS};

    fn page_size_of(s: &Store) -> u32 {
        read_page_size(&s.conn).expect("page size")
    }

    /// A draft of a contact with only a first name.
    fn named(name: &str) -> crate::ContactDraft {
        let mut d = crate::ContactDraft::default();
        d.set("first_name", name).expect("name");
        d
    }

    /// Person `i`, with an email and a long second address line (a few
    /// hundred bytes of row).
    fn padded(i: usize) -> crate::ContactDraft {
        let mut d = named(&format!("Person{i}"));
        d.set("email", &format!("p{i}@example.com")).expect("email");
        d.set("address_line2", &"padding ".repeat(37)).expect("pad");
        d
    }

    fn add_contact(s: &mut Store, name: &str) {
        s.create_contact(&named(name)).expect("contact");
    }

    /// New profiles get 16 KiB pages authenticated with HMAC-SHA256 and
    /// say so in their metadata.
    #[test]
    fn a_new_profile_has_large_pages_and_records_them() {
        let dir = tempfile::tempdir().expect("tmp");
        let pass = crate::FixedPassphrase(zeroize::Zeroizing::new("page size test".into()));
        let profile = dir.path().join("p");
        let mut s =
            Store::create(&profile, crate::KeyStoreChoice::Passphrase, &pass).expect("create");
        add_contact(&mut s, "Ann");
        assert_eq!(page_size_of(&s), PAGE_SIZE);
        assert_eq!(hmac_of(&s), "HMAC_SHA256");
        let meta = crate::keys::ProfileMeta::load(&profile).expect("meta");
        assert_eq!(
            (meta.page_size, meta.page_hmac),
            (Some(PAGE_SIZE), Some(PageHmac::Sha256))
        );
        drop(s);
        let s = Store::open(&profile, &pass).expect("reopen");
        assert_eq!(page_size_of(&s), PAGE_SIZE);
        assert_eq!(hmac_of(&s), "HMAC_SHA256");
        assert_eq!(s.count_contacts().expect("count"), 1);
        let len = std::fs::metadata(profile.join(DB_FILE))
            .expect("file")
            .len();
        assert_eq!(len % PAGE_SIZE as u64, 0, "the file is whole pages");
    }

    /// The HMAC a connection authenticates pages with.
    fn hmac_of(s: &Store) -> String {
        s.conn
            .query_row("PRAGMA cipher_hmac_algorithm", [], |r| r.get(0))
            .expect("hmac")
    }

    /// A wrong key is refused, by profile and by path, and changes
    /// nothing in the file.
    #[test]
    fn a_wrong_key_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let pass = crate::FixedPassphrase(zeroize::Zeroizing::new("the right one".into()));
        let profile = dir.path().join("p");
        let mut s =
            Store::create(&profile, crate::KeyStoreChoice::Passphrase, &pass).expect("create");
        add_contact(&mut s, "Ann");
        drop(s);
        let db = profile.join(DB_FILE);
        let before = std::fs::read(&db).expect("read");
        let wrong = crate::FixedPassphrase(zeroize::Zeroizing::new("not the right one".into()));
        let err = Store::open(&profile, &wrong).expect_err("wrong passphrase");
        assert!(matches!(err, CoreError::WrongKeyOrNotOurs { .. }), "{err}");
        let err = Store::open_path(&db, Some(&DbKey::random()), false).expect_err("wrong key");
        assert!(matches!(err, CoreError::WrongKeyOrNotOurs { .. }), "{err}");
        assert_eq!(std::fs::read(&db).expect("read"), before);
    }

    /// Under a stream of small commits the thread is always a little
    /// behind, so it never finds a moment when everything is copied; the
    /// writer's own copies (the remainder, and the whole log at the hard
    /// limit) keep the log's length within the limit however the thread
    /// is scheduled. Were the log never started afresh it would take
    /// every frame written; were nothing copied, the database file would
    /// not grow.
    #[test]
    fn the_log_stays_within_its_hard_limit_under_a_stream_of_small_commits() {
        let limits = CheckpointLimits {
            after: 64,
            remainder: 8,
            hard: 256,
            keep_bytes: 1 << 20,
        };
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        let key = DbKey::random();
        let mut s = Store::open_path_with(&path, Some(&key), true, Some(limits)).expect("store");
        let wal = dir.path().join("t.db-wal");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let db_start = size(&path);
        let frame = u64::from(s.layout.page_size) + 24;
        let mut peak = 0;
        // Each commit writes at least three frames (the contact's, its
        // audit entry's and its op's pages): about 3,600 in all, far past
        // twice the limit, so a log that never restarted would show.
        for i in 0..1200 {
            s.create_contact(&padded(i)).expect("no commit fails");
            peak = peak.max(size(&wal));
        }
        assert_eq!(s.count_contacts().expect("count"), 1200);
        let peak_frames = peak / frame;
        assert!(
            peak_frames <= 2 * limits.hard as u64,
            "the log reached {peak_frames} frames; its hard limit is {}",
            limits.hard
        );
        assert!(
            size(&path) > db_start + 64 * 4096,
            "the database file did not grow: nothing was copied"
        );
    }

    /// A bulk write leaves a long log; once the log starts afresh its file
    /// is cut back to `keep_bytes`, so the disk space goes back.
    #[test]
    fn the_log_file_is_cut_back_after_a_bulk_write() {
        let limits = CheckpointLimits {
            after: 64,
            remainder: 8,
            hard: 100_000,
            keep_bytes: 256 << 10,
        };
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        let key = DbKey::random();
        let mut s = Store::open_path_with(&path, Some(&key), true, Some(limits)).expect("store");
        let wal = dir.path().join("t.db-wal");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let region = s.default_region();
        let mut tx = s.write(Actor::User { user: "u".into() }).expect("write");
        for i in 0..3000 {
            let c = padded(i).validate(Uuid::now_v7(), region).expect("valid");
            tx.save_contact(&c).expect("save");
        }
        tx.commit().expect("commit");
        let bulk = size(&wal);
        assert!(
            bulk > 4 * limits.keep_bytes as u64,
            "the bulk write left a log of only {bulk} bytes"
        );
        // Small writes go on; the thread copies the bulk meanwhile, and the
        // first write that finds everything copied starts the log afresh.
        let mut cut = false;
        let mut later = 0;
        for i in 0..400 {
            s.create_contact(&named(&format!("Later{i}")))
                .expect("create");
            later += 1;
            if size(&wal) <= limits.keep_bytes as u64 {
                cut = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            cut,
            "the log file stayed at {} bytes (limit {})",
            size(&wal),
            limits.keep_bytes
        );
        assert_eq!(s.count_contacts().expect("count"), 3000 + later);
    }

    /// The schema declares each synced field once; the migrations make its
    /// column. Every declared field is a column of its kind (integers as
    /// INTEGER, the rest as TEXT; an optional field nullable), and every
    /// column is a declared field or one of the store's own.
    #[test]
    fn every_declared_field_is_a_column_of_its_kind() {
        use crm_protocol::schema::Kind;
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open_path(&dir.path().join("t.db"), Some(&DbKey::random()), true)
            .expect("store");
        let own = [
            "id",
            "tenant_id",
            "clocks",
            "deleted",
            "created_at",
            "updated_at",
        ];
        for table in [
            Table::Contacts,
            Table::Policies,
            Table::Payments,
            Table::Tasks,
            Table::Activities,
        ] {
            let mut st = s
                .conn()
                .prepare(&format!(
                    "SELECT name, type, \"notnull\" FROM pragma_table_info('{}')",
                    table.name()
                ))
                .expect("columns");
            let columns: Vec<(String, String, bool)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query")
                .collect::<std::result::Result<_, _>>()
                .expect("read");
            for (name, ty, not_null) in &columns {
                if own.contains(&name.as_str()) {
                    continue;
                }
                let field = table.spec().field(name).unwrap_or_else(|| {
                    panic!("{}.{name} is a column but no declared field", table.name())
                });
                let want = if field.kind == Kind::Integer {
                    "INTEGER"
                } else {
                    "TEXT"
                };
                assert_eq!(ty, want, "{}.{name}: the column's type", table.name());
                assert!(
                    !(field.optional && *not_null),
                    "{}.{name} is optional but its column refuses null",
                    table.name()
                );
            }
            for f in table.fields() {
                assert!(
                    columns.iter().any(|(n, _, _)| n == f),
                    "{}.{f} is declared but no migration made its column",
                    table.name()
                );
            }
        }
    }

    /// A write that creates many rows shares one audit entry among all
    /// but the first few per table, yet every row's trail reads as before:
    /// one creation (who, when, the values it was created with) first,
    /// then its changes, whether made in the same write or later. A
    /// rolled-back write leaves no entry.
    #[test]
    fn rows_created_in_bulk_share_audit_entries_and_keep_their_trail() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open_path(&dir.path().join("t.db"), Some(&DbKey::random()), true)
            .expect("store");
        let n = BULK_AFTER + BULK_ROWS + 10;
        let actor = Actor::Import {
            user: "u".into(),
            batch: Uuid::now_v7(),
        };
        let region = s.default_region();
        let mut ids = Vec::new();
        let mut tx = s.write(actor.clone()).expect("write");
        for i in 0..n {
            let c = named(&format!("P{i}"))
                .validate(Uuid::now_v7(), region)
                .expect("valid");
            tx.save_contact(&c).expect("save");
            ids.push(c.id);
        }
        // Changed in the same write, after its creation.
        let late = ids[BULK_AFTER + 3];
        tx.update_contact_fields(late, &[("city".into(), "York".into())], region)
            .expect("update");
        tx.commit().expect("commit");
        let entries: i64 = s
            .conn
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .expect("count");
        assert_eq!(
            entries,
            (BULK_AFTER + 2 + 1) as i64,
            "own, two shared, one update"
        );
        for (k, id) in ids.iter().enumerate() {
            if ![
                0,
                BULK_AFTER - 1,
                BULK_AFTER,
                BULK_AFTER + BULK_ROWS - 1,
                BULK_AFTER + BULK_ROWS,
                n - 1,
            ]
            .contains(&k)
            {
                continue;
            }
            let trail = s.audit_for(*id).expect("audit");
            assert_eq!(trail.len(), 1, "row {k}");
            assert_eq!(trail[0].action, "created");
            assert_eq!(trail[0].actor, serde_json::to_value(&actor).expect("json"));
            assert_eq!(trail[0].changes["first_name"], format!("P{k}"), "row {k}");
        }
        let mut s2 = s;
        s2.update_contact(late, &[("city".into(), "Leeds".into())])
            .expect("later update");
        let trail = s2.audit_for(late).expect("audit");
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["created", "updated", "updated"]);
        assert!(
            trail[0].changes.get("city").is_none(),
            "created without a city"
        );
        assert_eq!(trail[1].changes["city"], serde_json::json!([null, "York"]));
        assert_eq!(
            trail[2].changes["city"],
            serde_json::json!(["York", "Leeds"])
        );
        // A rolled-back bulk write leaves nothing.
        let before: i64 = s2
            .conn
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .expect("count");
        {
            let mut tx = s2.write(actor).expect("write");
            for i in 0..(BULK_AFTER + 5) {
                let c = named(&format!("Gone{i}"))
                    .validate(Uuid::now_v7(), region)
                    .expect("valid");
                tx.save_contact(&c).expect("save");
            }
        }
        let after: i64 = s2
            .conn
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .expect("count");
        assert_eq!(before, after);
    }
}
