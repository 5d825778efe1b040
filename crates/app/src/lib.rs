//! The desktop app's API: one method per command the UI calls.
//!
//! `src-tauri` registers each method as a Tauri command in a line; every
//! behaviour is here, tested without a window (`tests/`). Records cross IPC
//! as the DTOs of [`dto`], whose TypeScript declarations are generated into
//! `src-ui/src/bindings.ts` (a test fails when that file is stale); errors
//! cross as [`ApiError`] `{code, message, field}`.
//!
//! Architecture invariant: this crate knows nothing about Tauri or windows.
//! Long work takes a progress callback and can be cancelled; the shell turns
//! progress into events.
#![deny(missing_docs)]

/// This build's version: the workspace's (`Cargo.toml`), the one place it
/// is set; the app, `crm --version` and `sync-server --version` all show it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crm_core::Store;
use crm_plugins::runtime::{RunReport, Runtime};
use crm_plugins::Limits;

pub mod admin_console;
pub mod bindings;
pub mod catalog;
pub mod compliance;
pub mod compliance_policies;
pub mod compliance_training;
mod convert;
pub mod documents;
pub mod dto;
mod error;
pub mod history;
mod import;
mod plugins;
mod records;
mod settings;
pub mod studio;
pub mod studio_code;
pub mod studio_console;
pub mod studio_history;
pub mod studio_sample;
pub mod studio_share;
mod sync;

pub use error::{ApiError, ApiResult, ErrorCode};
pub use import::ImportJobs;

use dto::{NoticeDto, ProfileState};

/// SQLite's page cache while the window is open, in MiB.
pub(crate) const INTERACTIVE_CACHE_MIB: u32 = 8;
/// … and while an import runs (its batches stay in memory until commit).
pub(crate) const IMPORT_CACHE_MIB: u32 = 64;

/// The open profile: its store (shared with the plugin runtime, which
/// writes through it) and a read-only connection that answers the screens'
/// queries, so an import or a sync holding the store does not freeze them.
struct Session {
    rt: Runtime,
    reader: Mutex<Store>,
    /// The sync's own connection (`App::sync_now`): a sync never waits
    /// for the store an import or a plugin holds, nor they for it; its
    /// lock also makes this app's syncs take turns.
    syncer: Mutex<Store>,
}

/// The app's state: one profile folder, open or not.
pub struct App {
    dir: PathBuf,
    session: Mutex<Option<Arc<Session>>>,
    notices: Mutex<Vec<NoticeDto>>,
    problem: Mutex<Option<String>>,
    imports: ImportJobs,
    auto: sync::AutoSync,
    studio: studio::StudioJobs,
    docs: documents::DocsJobs,
}

pub(crate) fn poisoned<T>(_: T) -> ApiError {
    ApiError::new(
        crate::ErrorCode::Internal,
        "an earlier command failed badly; restart the app",
    )
}

impl App {
    /// The app over the profile folder `dir` (made on first run).
    pub fn new(dir: PathBuf) -> App {
        App {
            dir,
            session: Mutex::new(None),
            notices: Mutex::new(Vec::new()),
            problem: Mutex::new(None),
            imports: ImportJobs::default(),
            docs: documents::DocsJobs::default(),
            auto: sync::AutoSync::default(),
            studio: studio::StudioJobs::default(),
        }
    }

    /// The profile folder.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Where the app is with the profile. Opens a keyring-protected profile
    /// on the first call, so the user is asked nothing.
    pub fn profile_state(&self) -> ApiResult<ProfileState> {
        let exists = crm_core::keys::ProfileMeta::path(&self.dir).exists();
        let mut needs_passphrase = false;
        if exists && !self.is_open()? {
            match crm_core::keys::ProfileMeta::load(&self.dir) {
                Ok(meta) => match meta.key {
                    crm_core::keys::KeySource::Passphrase(_) => needs_passphrase = true,
                    crm_core::keys::KeySource::Keyring { .. } => {
                        let none = |_: bool| None;
                        match Store::open(&self.dir, &none) {
                            Ok(store) => self.start(store)?,
                            Err(e) => self.set_problem(Some(e.to_string()))?,
                        }
                    }
                },
                Err(e) => self.set_problem(Some(e.to_string()))?,
            }
        }
        Ok(ProfileState {
            data_dir: self.dir.display().to_string(),
            exists,
            unlocked: self.is_open()?,
            needs_passphrase,
            problem: self.problem.lock().map_err(poisoned)?.clone(),
        })
    }

    /// Whether an OS keyring can keep a new profile's key (if not, the
    /// first-run screen asks for a passphrase).
    pub fn keyring_available(&self) -> bool {
        crm_core::keys::keyring_available()
    }

    /// First run: create the encrypted profile. With a passphrase, the key
    /// is derived from it; without one, a random key goes to the OS keyring
    /// (`keyring_unavailable` when there is none: ask for a passphrase).
    pub fn profile_create(
        &self,
        passphrase: Option<String>,
        region: &str,
    ) -> ApiResult<ProfileState> {
        crm_core::normalize::region(region).map_err(|r| ApiError::invalid("region", r))?;
        let (choice, phrase) = match passphrase {
            Some(p) => (
                crm_core::KeyStoreChoice::Passphrase,
                Some(zeroize::Zeroizing::new(p)),
            ),
            None => (crm_core::KeyStoreChoice::Keyring, None),
        };
        let source = move |_: bool| phrase.clone();
        let mut store = Store::create(&self.dir, choice, &source)?;
        store.set_default_region(region)?;
        self.start(store)?;
        self.profile_state()
    }

    /// Open a passphrase-protected profile.
    pub fn profile_unlock(&self, passphrase: String) -> ApiResult<ProfileState> {
        if !self.is_open()? {
            let phrase = zeroize::Zeroizing::new(passphrase);
            let source = crm_core::FixedPassphrase(phrase);
            let store = Store::open(&self.dir, &source)?;
            self.start(store)?;
        }
        self.profile_state()
    }

    /// Close the profile (the window stays; the unlock screen shows).
    pub fn profile_lock(&self) -> ApiResult<ProfileState> {
        *self.session.lock().map_err(poisoned)? = None;
        self.profile_state()
    }

    fn start(&self, store: Store) -> ApiResult<()> {
        // The window lives for hours: a small page cache keeps the app's
        // memory flat however large the profile (imports raise it for
        // their run; see import.rs).
        store.set_cache_limit_mib(INTERACTIVE_CACHE_MIB)?;
        let reader = store.open_reader()?;
        reader.set_cache_limit_mib(INTERACTIVE_CACHE_MIB)?;
        let limits = Limits::for_profile(&store).unwrap_or_else(|e| {
            tracing::warn!("plugin limits: {e}; using the defaults");
            Limits::default()
        });
        // Opened after the runtime subscribed to the store's changes, so
        // what a sync merges reaches the plugins' hooks too.
        let store = Arc::new(Mutex::new(store));
        let rt = Runtime::new(store.clone(), limits)?;
        let syncer = store.lock().map_err(poisoned)?.open_sibling()?;
        syncer.set_cache_limit_mib(INTERACTIVE_CACHE_MIB)?;
        *self.session.lock().map_err(poisoned)? = Some(Arc::new(Session {
            rt,
            reader: Mutex::new(reader),
            syncer: Mutex::new(syncer),
        }));
        self.set_problem(None)?;
        self.auto.reset();
        tracing::info!("profile opened");
        Ok(())
    }

    fn set_problem(&self, p: Option<String>) -> ApiResult<()> {
        *self.problem.lock().map_err(poisoned)? = p;
        Ok(())
    }

    fn is_open(&self) -> ApiResult<bool> {
        Ok(self.session.lock().map_err(poisoned)?.is_some())
    }

    fn session(&self) -> ApiResult<Arc<Session>> {
        self.session
            .lock()
            .map_err(poisoned)?
            .clone()
            .ok_or_else(|| ApiError::new(crate::ErrorCode::Locked, "open your profile first"))
    }

    /// Read from the store's last committed state, through the reader
    /// connection (never waits for a running import or sync), in one
    /// snapshot.
    fn read<T>(&self, f: impl FnOnce(&Store) -> ApiResult<T>) -> ApiResult<T> {
        let s = self.session()?;
        let mut reader = s.reader.lock().map_err(poisoned)?;
        reader.refresh()?;
        reader.snapshot(f)?
    }

    /// Change the store as the user, then run the plugins' hooks for what
    /// changed (their failures become notices, never the command's error).
    fn write<T>(&self, f: impl FnOnce(&mut Store) -> ApiResult<T>) -> ApiResult<T> {
        let s = self.session()?;
        let out = {
            let mut store = lock_store(&s)?;
            f(&mut store)?
        };
        self.auto.touch();
        self.run_hooks(&s, &mut |_, _| true);
        Ok(out)
    }

    fn run_hooks(&self, s: &Session, progress: &mut dyn FnMut(usize, usize) -> bool) {
        match s.rt.dispatch_pending_with(progress) {
            Ok(reports) => self.notice_reports(&reports),
            Err(e) => self.notice(NoticeDto {
                level: "warning".into(),
                message: format!("plugin hooks did not run: {e}"),
                source: None,
            }),
        }
    }

    fn notice_reports(&self, reports: &[RunReport]) {
        for r in reports {
            match &r.result {
                Ok(out) => {
                    for n in &out.notifications {
                        self.notice(NoticeDto {
                            level: n.level.clone(),
                            message: n.message.clone(),
                            source: Some(r.plugin_id.clone()),
                        });
                    }
                }
                Err(e) => self.notice(NoticeDto {
                    level: "error".into(),
                    message: format!("{} failed: {e}", r.trigger),
                    source: Some(r.plugin_id.clone()),
                }),
            }
            if let Some(why) = &r.disabled {
                self.notice(NoticeDto {
                    level: "error".into(),
                    message: format!("disabled: {why}"),
                    source: Some(r.plugin_id.clone()),
                });
            }
        }
    }

    /// Say that a list shows only its first `shown` rows (the core said
    /// more matched), rather than pass a part off as the whole.
    pub(crate) fn notice_cut(&self, what: &str, shown: usize, narrow: &str) {
        self.notice(NoticeDto {
            level: "info".into(),
            message: format!("Only the first {shown} {what} are shown; {narrow}."),
            source: None,
        });
    }

    fn notice(&self, n: NoticeDto) {
        if let Ok(mut q) = self.notices.lock() {
            // Bounded: a runaway plugin cannot fill memory with notices.
            if q.len() < 200 {
                q.push(n);
            }
        }
    }

    /// Messages for the user since the last call (plugin notifications,
    /// failed hooks), oldest first.
    pub fn notices_take(&self) -> ApiResult<Vec<NoticeDto>> {
        Ok(std::mem::take(&mut *self.notices.lock().map_err(poisoned)?))
    }

    /// Run the schedules that are due and any pending hooks (the shell calls
    /// this every minute).
    pub fn tick(&self) -> ApiResult<()> {
        let s = self.session()?;
        let reports = s.rt.run_due(chrono::Utc::now())?;
        self.notice_reports(&reports);
        self.run_hooks(&s, &mut |_, _| true);
        Ok(())
    }
}

fn lock_store(s: &Session) -> ApiResult<MutexGuard<'_, Store>> {
    s.rt.store().lock().map_err(poisoned)
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// The default profile folder for this platform.
pub fn default_data_dir() -> Option<PathBuf> {
    Store::default_dir()
}
