//! Sign in to a sync server, sync now, and the sync state.

use crm_core::Store;
use crm_sync_client::{Connection, Options};

use crate::dto::*;
use crate::{ApiError, ApiResult, App};

fn status_dto(s: crm_core::sync::SyncStatus, role: crm_core::AccountRole) -> SyncStatusDto {
    SyncStatusDto {
        admin: role != crm_core::AccountRole::Agent && s.server.is_some(),
        server: s.server,
        email: s.email,
        last_success: s.last_success,
        pending: s.pending,
        quarantined: s.quarantined,
        held: s.held,
        last_error: s.last_error,
        must_change_password: s.must_change_password,
    }
}

/// The device's sync status: the store's own outbox and the compliance
/// records waiting beside it (an acknowledgement signed offline counts).
fn device_status(s: &Store) -> ApiResult<crm_core::sync::SyncStatus> {
    let mut st = s.sync_status()?;
    st.pending += crm_compliance::sync::waiting(s)?;
    st.quarantined += crm_compliance::sync::set_aside_count(s)?;
    Ok(st)
}

/// What to do with a change the server refused.
#[derive(Clone, Copy)]
enum Settle {
    Retry,
    Discard,
}

/// A refused record's values as `field: value` lines (nulls left out).
fn field_lines(fields: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(t) => format!("{k}: {t}"),
            other => format!("{k}: {other}"),
        })
        .collect()
}

fn compliance_set_aside_dto(a: crm_compliance::sync::SetAside) -> SetAsideDto {
    let what = match a.kind.as_str() {
        "staff" => "staff record",
        "check" => "staff check",
        "evidence" => "evidence file",
        "supervision" => "supervision",
        "training" => "training record",
        "ack" => "acknowledgement",
        "course" => "course",
        "policy" => "policy's control",
        "assignment" => "reading assignment",
        other => other,
    };
    let name = a.about.clone().or_else(|| {
        ["name", "title"]
            .iter()
            .find_map(|k| a.body.get(*k).and_then(|v| v.as_str()))
            .map(str::to_string)
    });
    let fields = a.body.as_object().map(field_lines).unwrap_or_default();
    SetAsideDto {
        op_id: a.op_id(),
        what: if a.body.is_null() {
            format!("{what} (deleted)")
        } else {
            what.to_string()
        },
        row_id: a.id,
        name,
        contact_id: None,
        fields,
        reason: a.reason,
        at: a.at,
    }
}

impl App {
    /// Server, account, last success, pending changes, last error.
    pub fn sync_status(&self) -> ApiResult<SyncStatusDto> {
        self.read(|s| Ok(status_dto(device_status(s)?, s.account_role()?)))
    }

    /// Sign in: registers this device; the device token goes to the OS
    /// keyring (or the encrypted database); the password is not kept.
    pub fn sync_login(&self, args: LoginArgs) -> ApiResult<SyncStatusDto> {
        let server = crm_core::normalize::base_url(&args.server)
            .map_err(|r| ApiError::invalid("server", r))?;
        let email = args.email.trim().to_string();
        if !email.contains('@') {
            return Err(ApiError::invalid(
                "email",
                "give the email you sign in with",
            ));
        }
        if args.password.is_empty() {
            return Err(ApiError::invalid("password", "give your password"));
        }
        let password = zeroize::Zeroizing::new(args.password);
        let new_password = args
            .new_password
            .filter(|p| !p.is_empty())
            .map(zeroize::Zeroizing::new);
        // Checked before signing in: a one-time password works only once.
        if let Some(p) = &new_password {
            check_new_password(p)?;
        }
        let conn = Connection::new(&server, Options::default())?;
        let dir = self.data_dir().to_path_buf();
        self.write(|s| {
            let device = s.identity().device_id;
            let resp = conn.login(&email, &password, device, &crm_sync_client::device_name())?;
            s.bind_to_server(&server, &email, resp.tenant_id, resp.user_id, &resp.role)?;
            s.save_device_token(&dir, &resp.token)?;
            if resp.must_change_password {
                // A one-time password works once: the device keeps its
                // token and asks for the new password until it is set.
                s.set_must_change_password(true)?;
                if let Some(new) = &new_password {
                    conn.change_password(&resp.token, &password, new)
                        .map_err(new_password_refused)?;
                    s.set_must_change_password(false)?;
                }
            }
            Ok(status_dto(device_status(s)?, s.account_role()?))
        })
        .inspect(|_| self.auto.wake_listener())
    }

    /// Choose one's own password after signing in with a one-time one
    /// (`current`); the account syncs from then on.
    pub fn sync_change_password(&self, current: &str, new: &str) -> ApiResult<SyncStatusDto> {
        let dir = self.data_dir().to_path_buf();
        let (server, token) =
            self.read(|s| Ok((s.sync_status()?.server, s.device_token(&dir)?)))?;
        let (Some(server), Some(token)) = (server, token) else {
            return Err(crm_sync_client::SyncError::NotSignedIn.into());
        };
        check_new_password(new)?;
        let conn = Connection::new(&server, Options::default())?;
        conn.change_password(&token, current, new)
            .map_err(new_password_refused)?;
        self.write(|s| {
            s.set_must_change_password(false)?;
            Ok(status_dto(device_status(s)?, s.account_role()?))
        })
        .inspect(|_| self.auto.wake_listener())
    }

    /// The changes the server refused, oldest first, with its reasons.
    pub fn sync_set_aside(&self) -> ApiResult<Vec<SetAsideDto>> {
        self.read(|s| {
            let mut out = Vec::new();
            for a in s.set_aside()? {
                let row = uuid::Uuid::parse_str(&a.row_id).ok();
                let what = match a.table.as_str() {
                    "contacts" => "contact",
                    "policies" => "policy",
                    "payments" => "payment",
                    "activities" => "task or note",
                    other => other,
                };
                // A contact still here gives its name and a page to open.
                let contact = row
                    .filter(|_| a.table == "contacts")
                    .and_then(|id| s.contact(id).ok());
                let name = contact
                    .as_ref()
                    .map(|c| c.display_name.clone())
                    .or_else(|| {
                        a.fields
                            .get("display_name")
                            .or_else(|| a.fields.get("title"))
                            .or_else(|| a.fields.get("policy_number"))
                            .and_then(|v| v.as_str())
                            .map(str::to_string)
                    });
                let fields = field_lines(&a.fields);
                out.push(SetAsideDto {
                    op_id: a.op_id.to_string(),
                    what: what.to_string(),
                    row_id: a.row_id,
                    name,
                    contact_id: contact.map(|c| c.id.to_string()),
                    fields,
                    reason: a.reason,
                    at: a.at,
                });
            }
            out.extend(
                crm_compliance::sync::set_aside(s)?
                    .into_iter()
                    .map(compliance_set_aside_dto),
            );
            out.sort_by(|a, b| a.at.cmp(&b.at));
            Ok(out)
        })
    }

    /// Send a refused change again at the next sync (which comes at once).
    pub fn sync_retry(&self, op_id: &str) -> ApiResult<SyncStatusDto> {
        self.settle_set_aside(op_id, Settle::Retry)
    }

    /// Give up a refused change: it will never be sent.
    pub fn sync_discard(&self, op_id: &str) -> ApiResult<SyncStatusDto> {
        self.settle_set_aside(op_id, Settle::Discard)
    }

    fn settle_set_aside(&self, op_id: &str, how: Settle) -> ApiResult<SyncStatusDto> {
        use crm_compliance::sync as compliance;
        // A store change (by its uuid) or a compliance record (kind, id).
        enum Refused<'a> {
            Change(uuid::Uuid),
            Record(&'a str, &'a str),
        }
        let refused = match compliance::parse_op_id(op_id) {
            Some((kind, id)) => Refused::Record(kind, id),
            None => Refused::Change(
                uuid::Uuid::parse_str(op_id)
                    .map_err(|_| ApiError::invalid("op_id", "not a change id"))?,
            ),
        };
        self.write(|s| {
            match (refused, how) {
                (Refused::Change(op), Settle::Retry) => s.retry_set_aside(op)?,
                (Refused::Change(op), Settle::Discard) => s.discard_set_aside(op)?,
                (Refused::Record(kind, id), Settle::Retry) => compliance::retry(s, kind, id)?,
                (Refused::Record(kind, id), Settle::Discard) => compliance::discard(s, kind, id)?,
            }
            Ok(status_dto(device_status(s)?, s.account_role()?))
        })
    }

    /// Listen to the server's notices until its stream ends (it does every
    /// ten minutes or so: call again), the profile is locked or signed
    /// out, or the server cannot be reached (an error: wait and call
    /// again). Each notice makes a sync due at once; the stream opening
    /// does too, and ends any backoff: the server is back.
    pub fn listen_for_changes(&self) -> ApiResult<()> {
        let dir = self.data_dir().to_path_buf();
        let (server, token) = {
            let s = self.session()?;
            let store = crate::lock_store(&s)?;
            let status = store.sync_status()?;
            let (Some(server), Some(token)) = (status.server, store.device_token(&dir)?) else {
                return Err(crm_sync_client::SyncError::NotSignedIn.into());
            };
            (server, token)
        };
        let conn = Connection::new(&server, Options::default())?;
        conn.listen(&token, |notice| {
            match notice {
                crm_sync_client::Notice::Ready => self.auto.heard(true),
                crm_sync_client::Notice::Changed(_) => self.auto.heard(false),
                crm_sync_client::Notice::Alive => {}
            }
            // Still the profile and account it was opened for?
            self.read(|s| Ok(s.sync_status()?.server))
                .is_ok_and(|now| now.as_deref() == Some(server.as_str()))
        })?;
        Ok(())
    }

    /// Wait until the server's notice makes a sync due, or `most` passes:
    /// the automatic sync's thread waits here between its checks, so a
    /// notice is acted on at once.
    pub fn wait_for_sync(&self, most: std::time::Duration) {
        if let Ok(mut st) = self.auto.inner.lock() {
            if !st.rung {
                st = match self.auto.bell.wait_timeout(st, most) {
                    Ok((st, _)) => st,
                    Err(_) => return,
                };
            }
            st.rung = false;
        }
    }

    /// The change listener's pause after a try that failed: until `most`
    /// has passed, or until the profile is opened or signed in meanwhile
    /// (then `true`: try again at once).
    pub fn pause_listening(&self, most: std::time::Duration) -> bool {
        let Ok(mut st) = self.auto.inner.lock() else {
            return false;
        };
        if !st.listen_now {
            st = match self.auto.listen_bell.wait_timeout(st, most) {
                Ok((st, _)) => st,
                Err(_) => return false,
            };
        }
        std::mem::take(&mut st.listen_now)
    }

    /// How many syncs so far brought something from other devices: when it
    /// moves, screens showing records load them again.
    pub fn arrivals(&self) -> u64 {
        self.auto.arrivals.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Push local changes and pull the server's, now. The exchange with
    /// the server runs on a connection of its own, never holding the
    /// store the window's commands use: saving, typing and imports go on
    /// while a sync waits on a slow network (its short write transactions
    /// and theirs take turns).
    pub fn sync_now(&self) -> ApiResult<SyncReportDto> {
        let dir = self.data_dir().to_path_buf();
        let s = self.session()?;
        let (report, catalog_changed) = {
            // A sync that panicked leaves nothing half-done (its writes are
            // transactions): the next one may use the connection.
            let mut own = s.syncer.lock().unwrap_or_else(|e| e.into_inner());
            // Signed in (or out) on the window's connection meanwhile?
            own.refresh()?;
            let status = own.sync_status()?;
            let (Some(server), Some(token)) = (status.server, own.device_token(&dir)?) else {
                return Err(crm_sync_client::SyncError::NotSignedIn.into());
            };
            let conn = Connection::new(&server, Options::default())?;
            let report = crm_sync_client::sync(&mut own, &conn, &token);
            // The server says whether a password of one's own is awaited
            // (signed in with a one-time password elsewhere, say): the Sync
            // screen follows it.
            let awaited = match &report {
                Ok(_) => Some(false),
                Err(crm_sync_client::SyncError::Refused { code, .. })
                    if code == "password_change_required" =>
                {
                    Some(true)
                }
                Err(_) => None,
            };
            if let Some(on) = awaited.filter(|on| *on != status.must_change_password) {
                own.set_must_change_password(on)?;
            }
            // The tenant's plugin catalog, before any plugin runs on what
            // arrived: a plugin blocked meanwhile stops here (whatever
            // became of the data's sync: a refused push must not keep a
            // blocked plugin running).
            let catalog_changed = match crm_catalog::pull(&mut own, &conn, &token) {
                Ok(applied) => {
                    self.catalog_notices(&applied);
                    !applied.unchanged
                }
                Err(e) => {
                    tracing::warn!("plugin catalog not pulled: {e}");
                    false
                }
            };
            // Sent and received beside the store's own records.
            let mut more = (0usize, 0usize);
            // The documents library: what this person's audience allows,
            // read here in a worker process; removed ones leave.
            let docs_changed = match self.extractor().and_then(|x| {
                let never = std::sync::atomic::AtomicBool::new(false);
                Ok(crm_documents::sync(&mut own, &conn, &token, x, &never)?)
            }) {
                Ok(d) => {
                    more.0 += d.sent;
                    more.1 += d.received;
                    for f in &d.failed {
                        self.notice(NoticeDto {
                            level: "warning".into(),
                            message: format!("{f} (tried again at the next sync)"),
                            source: Some("documents".into()),
                        });
                    }
                    d.changed()
                }
                Err(e) => {
                    tracing::warn!("documents not synced: {}", e.message);
                    false
                }
            };
            // Care compliance: staff, training, policies' control and
            // acknowledgements, as far as this person may see them.
            let compliance_changed = match crm_compliance::sync::sync(&mut own, &conn, &token) {
                Ok(c) => {
                    more.0 += c.sent;
                    more.1 += c.received;
                    for r in &c.refused {
                        self.notice(NoticeDto {
                            level: "warning".into(),
                            message: format!(
                                "not accepted by the server, kept on this device: {r}"
                            ),
                            source: Some("compliance".into()),
                        });
                    }
                    c.received > 0 || c.full
                }
                Err(e) => {
                    tracing::warn!("compliance records not synced: {e}");
                    false
                }
            };
            // What this device runs, for the admins (when it changed).
            if report.is_ok() {
                if let Err(e) = crm_catalog::report(&mut own, &conn, &token, APP_VERSION) {
                    tracing::warn!("plugin report not sent: {e}");
                }
            }
            (
                report.map(|mut r| {
                    r.pushed += more.0;
                    r.pulled += more.1;
                    r
                }),
                catalog_changed || docs_changed || compliance_changed,
            )
        };
        // Plugins' hooks for what arrived from other devices.
        self.run_hooks(&s, &mut |_, _| true);
        let report = report?;
        // A changed catalog counts as an arrival too: the Plugins screen
        // shows what the agency decided without being opened again.
        if report.pulled + report.evicted > 0 || catalog_changed {
            self.auto
                .arrivals
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(SyncReportDto {
            pushed: report.pushed as u32,
            pulled: report.pulled as u32,
            evicted: report.evicted as u32,
            quarantined: report.quarantined as u32,
        })
    }
}

impl App {
    /// Tell the window what the catalog changed on this device.
    fn catalog_notices(&self, a: &crm_catalog::Applied) {
        let say = |level: &str, message: String| {
            self.notice(NoticeDto {
                level: level.into(),
                message,
                source: Some("catalog".into()),
            })
        };
        for p in &a.installed {
            say("info", format!("Your agency installed {p}"));
        }
        for p in &a.blocked {
            say("warn", format!("Your agency stopped the plugin {p}"));
        }
        for p in &a.removed {
            say(
                "warn",
                format!("Your agency removed the plugin {p}; its data is kept in your profile"),
            );
        }
        // Said when the catalog changes, not again at every sync after.
        if a.unchanged {
            return;
        }
        for (_, why) in &a.waiting {
            say("info", why.clone());
        }
        for (p, why) in &a.failed {
            say(
                "error",
                format!("The catalog's {p} could not be applied: {why}"),
            );
        }
    }
}

/// A new password the server would refuse for its length.
fn check_new_password(p: &str) -> ApiResult<()> {
    use crm_protocol::admin::{MAX_PASSWORD, MIN_PASSWORD};
    let n = p.chars().count();
    if n < MIN_PASSWORD || p.len() > MAX_PASSWORD {
        return Err(ApiError::invalid(
            "new_password",
            format!("use at least {MIN_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// A refused password change, on the field at fault.
fn new_password_refused(e: crm_sync_client::SyncError) -> ApiError {
    match &e {
        crm_sync_client::SyncError::Refused { code, message, .. } => match code.as_str() {
            "weak_password" | "same_password" => {
                ApiError::invalid("new_password", message.trim_start_matches("new: "))
            }
            "wrong_password" => ApiError::invalid("password", message.clone()),
            _ => e.into(),
        },
        _ => e.into(),
    }
}

/// This build's version, as devices report it.
const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// After a change, how long the app waits for more before it syncs (a
/// burst of edits goes in one sync).
const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(500);
/// The longest a change waits while more keep coming (a plugin's steady
/// updates, someone editing without pause): the burst is cut and sent.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// With nothing to send, how often it asks the server for changes anyway
/// (plus up to a sixth more, so devices that start together spread out).
const PERIOD: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest wait between tries while the server is away.
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(300);

/// Automatic sync: when it is due, and what the frame shows.
#[derive(Debug, Default)]
pub(crate) struct AutoSync {
    inner: std::sync::Mutex<AutoState>,
    running: std::sync::atomic::AtomicBool,
    /// Syncs that brought something ([`App::arrivals`]).
    arrivals: std::sync::atomic::AtomicU64,
    /// Rung when a sync may have become due ([`App::wait_for_sync`]).
    bell: std::sync::Condvar,
    /// Rung when the change listener should try at once
    /// ([`App::pause_listening`]).
    listen_bell: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct AutoState {
    /// The last local change not yet sent.
    changed_at: Option<std::time::Instant>,
    /// The first local change not yet sent (about: see `sync_auto`).
    first_change_at: Option<std::time::Instant>,
    /// The server's last notice not yet acted on.
    heard_at: Option<std::time::Instant>,
    /// The bell rang since the automatic sync last waited for it.
    rung: bool,
    /// The profile was opened or signed in since the change listener
    /// last paused.
    listen_now: bool,
    /// The next sync with nothing to send (`None`: at once, e.g. on start).
    next_periodic: Option<std::time::Instant>,
    /// After a failure: no try before this.
    retry_at: Option<std::time::Instant>,
    failures: u32,
    /// `offline`, `error` or `signed_out` after a failure.
    problem: Option<(crate::ErrorCode, String)>,
    /// When the last sync ended.
    last_end: Option<std::time::Instant>,
}

/// `d` stretched by a random part of itself up to `1/divisor`: devices
/// that come back together do not all knock at once.
fn jittered(d: std::time::Duration, divisor: u32) -> std::time::Duration {
    use rand::Rng;
    let spread = d / divisor;
    d + spread.mul_f64(rand::thread_rng().gen_range(0.0..1.0))
}

impl AutoSync {
    /// A local change was made: sync soon.
    pub(crate) fn touch(&self) {
        if let Ok(mut s) = self.inner.lock() {
            let now = std::time::Instant::now();
            s.changed_at = Some(now);
            s.first_change_at.get_or_insert(now);
        }
    }

    /// The server said changes wait (or, `back`, its stream opened: it
    /// is reachable again): sync at once, without the debounce.
    pub(crate) fn heard(&self, back: bool) {
        if let Ok(mut s) = self.inner.lock() {
            s.heard_at = Some(std::time::Instant::now());
            s.rung = true;
            if back {
                s.retry_at = None;
            }
        }
        self.bell.notify_all();
    }

    /// The profile was (re)opened: sync at once, and listen at once.
    pub(crate) fn reset(&self) {
        if let Ok(mut s) = self.inner.lock() {
            *s = AutoState::default();
        }
        self.wake_listener();
    }

    /// Signed in, or the profile opened: the change listener tries at
    /// once instead of after its pause (up to a minute).
    pub(crate) fn wake_listener(&self) {
        if let Ok(mut s) = self.inner.lock() {
            s.listen_now = true;
        }
        self.listen_bell.notify_all();
    }
}

impl App {
    /// Sync if one is due: after a local change (once no other came for
    /// half a second), at once when the server says changes wait for this
    /// device ([`App::listen_for_changes`]), on start, every minute or so
    /// with nothing to send,
    /// and after a failure on a backoff (2 s, doubling to 5 minutes, with
    /// jitter) while the server is away. The shell calls this every
    /// quarter second from a thread of its own; it returns at once when no
    /// sync is due or one is running. "Sync now" stays for the impatient.
    pub fn sync_auto(&self) -> ApiResult<SyncStateDto> {
        use std::sync::atomic::Ordering;
        let auto = &self.auto;
        let now = std::time::Instant::now();
        let status = self.read(device_status)?;
        let due = {
            let st = auto.inner.lock().map_err(crate::poisoned)?;
            let waited = st.retry_at.is_none_or(|t| now >= t);
            // Changes made here (debounced), or queued by someone else:
            // an import, a plugin's schedule, the CLI beside the app.
            let changed = match st.changed_at {
                Some(t) => {
                    now >= t + DEBOUNCE
                        || st.first_change_at.is_some_and(|f| now >= f + LONGEST_WAIT)
                }
                None => status.pending > 0 && st.last_end.is_none_or(|t| now >= t + DEBOUNCE),
            };
            let periodic = st.next_periodic.is_none_or(|t| now >= t);
            let heard = st.heard_at.is_some();
            status.server.is_some() && waited && (changed || heard || periodic)
        };
        if !due || auto.running.swap(true, Ordering::SeqCst) {
            return self.sync_state();
        }
        let started = std::time::Instant::now();
        let result = self.sync_now();
        auto.running.store(false, Ordering::SeqCst);
        {
            let mut st = auto.inner.lock().map_err(crate::poisoned)?;
            st.last_end = Some(std::time::Instant::now());
            match &result {
                Ok(_) => {
                    // A change made while it ran goes with the next one.
                    if st.changed_at.is_some_and(|t| t <= started) {
                        st.changed_at = None;
                    }
                    // What is still unsent was made after the sync began.
                    st.first_change_at = st.changed_at.map(|_| started);
                    if st.heard_at.is_some_and(|t| t <= started) {
                        st.heard_at = None;
                    }
                    st.failures = 0;
                    st.retry_at = None;
                    st.problem = None;
                    st.next_periodic = Some(std::time::Instant::now() + jittered(PERIOD, 6));
                }
                Err(e) => {
                    // The retry comes after the backoff, not at once.
                    st.heard_at = None;
                    st.failures = st.failures.saturating_add(1);
                    let wait =
                        std::time::Duration::from_secs(1 << st.failures.min(9)).min(MAX_BACKOFF);
                    st.retry_at = Some(std::time::Instant::now() + jittered(wait, 2));
                    st.problem = Some((e.code, e.message.clone()));
                }
            }
        }
        self.sync_state()
    }

    /// Where sync stands: for the frame, always on screen.
    pub fn sync_state(&self) -> ApiResult<SyncStateDto> {
        use std::sync::atomic::Ordering;
        let status = self.read(device_status)?;
        if status.server.is_none() {
            return Ok(SyncStateDto {
                state: SyncState::Off,
                pending: status.pending,
                set_aside: status.quarantined,
                ..SyncStateDto::default()
            });
        }
        let st = self.auto.inner.lock().map_err(crate::poisoned)?;
        let retry_in_s = st.retry_at.map(|t| {
            t.saturating_duration_since(std::time::Instant::now())
                .as_secs()
                .min(u64::from(u32::MAX)) as u32
        });
        let (state, message) = if self.auto.running.load(Ordering::SeqCst) {
            (SyncState::Syncing, None)
        } else if let Some((code, message)) = &st.problem {
            let state = if *code == crate::ErrorCode::Offline {
                SyncState::Offline
            } else {
                SyncState::Error
            };
            (state, Some(message.clone()))
        } else if status.pending > 0 {
            (SyncState::Waiting, None)
        } else {
            (SyncState::Synced, None)
        };
        Ok(SyncStateDto {
            state,
            pending: status.pending,
            message,
            last_success: status.last_success,
            set_aside: status.quarantined,
            retry_in_s: if st.problem.is_some() {
                retry_in_s
            } else {
                None
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused compliance record is listed in words, named so retry and
    /// discard find it, with the person it is about and its values.
    #[test]
    fn a_refused_compliance_record_is_listed_for_retry_and_discard() {
        let refused =
            |body: serde_json::Value, about: Option<&str>| crm_compliance::sync::SetAside {
                kind: "training".into(),
                id: "t-1".into(),
                reason: "not your team: ask their manager".into(),
                body,
                about: about.map(str::to_string),
                at: "2026-12-07T10:00:00Z".into(),
            };
        let dto = compliance_set_aside_dto(refused(
            serde_json::json!({"staff_id": "s-1", "course_id": "fire-safety", "evidence": null}),
            Some("Cat Carer"),
        ));
        assert_eq!(dto.op_id, "compliance:training:t-1");
        assert_eq!(dto.what, "training record");
        assert_eq!(dto.name.as_deref(), Some("Cat Carer"));
        assert_eq!(dto.fields, vec!["course_id: fire-safety", "staff_id: s-1"]);
        assert_eq!(dto.reason, "not your team: ask their manager");
        let gone = compliance_set_aside_dto(refused(serde_json::Value::Null, None));
        assert_eq!(
            (gone.what.as_str(), gone.name),
            ("training record (deleted)", None)
        );
    }

    /// Opening the profile or signing in cuts the listener's pause short,
    /// so changes are heard at once, not after up to a minute.
    #[test]
    fn the_change_listener_is_woken_when_the_profile_opens() {
        let dir = tempfile::tempdir().expect("tmp");
        let app = std::sync::Arc::new(App::new(dir.path().join("profile")));
        let waiting = {
            let app = app.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let woke = app.pause_listening(std::time::Duration::from_secs(60));
                (woke, started.elapsed())
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        app.auto.reset();
        let (woke, took) = waiting.join().expect("listener");
        assert!(woke, "told to try at once");
        assert!(took < std::time::Duration::from_secs(30), "{took:?}");
        // Nothing new since: a pause runs its course.
        assert!(!app.pause_listening(std::time::Duration::from_millis(50)));
    }
}
