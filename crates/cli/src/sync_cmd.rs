//! `crm login SERVER`, `crm sync`, `crm sync status`: glue over
//! `crm-sync-client` and the core's sync state.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use crm_core::Store;
use crm_sync_client::{Connection, Options};
use zeroize::Zeroizing;

/// `crm login`.
#[derive(Args)]
pub struct LoginArgs {
    /// The sync server's URL, e.g. https://sync.example.com
    server: String,
    /// Account email (asked for on a terminal when missing).
    #[arg(long, env = "CRM_SYNC_EMAIL")]
    email: Option<String>,
}

/// `crm sync`.
#[derive(Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    cmd: Option<SyncSub>,
    /// Stay connected: sync whenever the server says changes wait (and
    /// when local changes are queued), printing what arrives, until
    /// interrupted.
    #[arg(long)]
    watch: bool,
}

#[derive(Subcommand)]
enum SyncSub {
    /// Last success, pending ops, last error.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The changes the server refused, with its reasons and their values.
    SetAside {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a refused change again at the next sync (once what the
    /// server objected to is put right).
    Retry {
        /// The change's id, as `crm sync set-aside` lists it.
        op_id: String,
    },
    /// Give a refused change up for good (audited).
    Discard {
        /// The change's id, as `crm sync set-aside` lists it.
        op_id: String,
    },
}

/// The password: `CRM_SYNC_PASSWORD` (tests, scripts), else a prompt.
fn password() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("CRM_SYNC_PASSWORD") {
        if !p.is_empty() {
            return Ok(Zeroizing::new(p));
        }
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: set CRM_SYNC_PASSWORD or run in a terminal to be asked");
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password("Password: ").context("reading the password")?,
    ))
}

fn email(given: Option<String>) -> Result<String> {
    if let Some(e) = given.filter(|e| !e.trim().is_empty()) {
        return Ok(e.trim().to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no email: pass --email or set CRM_SYNC_EMAIL");
    }
    eprint!("Email: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the email")?;
    Ok(line.trim().to_string())
}

/// Sign in: register this device, bind the profile to the account's tenant,
/// keep the device token (keyring, or the encrypted database).
pub fn login(dir: &Path, mut store: Store, args: LoginArgs) -> Result<()> {
    let server = crm_core::normalize::base_url(&args.server).map_err(|r| anyhow!("server {r}"))?;
    let email = email(args.email)?;
    let password = password()?;
    let conn = Connection::new(&server, Options::default())?;
    let device = store.identity().device_id;
    let resp = conn.login(&email, &password, device, &crm_sync_client::device_name())?;
    store.bind_to_server(&server, &email, resp.tenant_id, resp.user_id, &resp.role)?;
    store.save_device_token(dir, &resp.token)?;
    println!(
        "signed in to {server} as {email} ({}); this device is {}",
        resp.role, resp.device_id
    );
    if resp.must_change_password {
        // Until it is changed, the app's Sync screen asks for one too.
        store.set_must_change_password(true)?;
        println!("that was a one-time password: choose your own now");
        let asked = std::io::stdin().is_terminal()
            || std::env::var("CRM_SYNC_NEW_PASSWORD").is_ok_and(|p| !p.is_empty());
        if !asked {
            bail!(
                "signed in with a one-time password: run `crm account password` to choose \
                 your own before syncing"
            );
        }
        crate::admin_cmd::set_new_password(&conn, &resp.token, &password)?;
        store.set_must_change_password(false)?;
    }
    Ok(())
}

/// Push, pull, or show the state.
pub fn sync(dir: &Path, mut store: Store, args: SyncArgs) -> Result<()> {
    match args.cmd {
        Some(SyncSub::SetAside { json }) => return list_set_aside(&store, json),
        Some(SyncSub::Retry { op_id }) => {
            match crm_compliance::sync::parse_op_id(&op_id) {
                Some((kind, id)) => crm_compliance::sync::retry(&mut store, kind, id)?,
                None => store.retry_set_aside(op_id_arg(&op_id)?)?,
            }
            println!("{op_id} will be sent again at the next sync");
            return Ok(());
        }
        Some(SyncSub::Discard { op_id }) => {
            match crm_compliance::sync::parse_op_id(&op_id) {
                Some((kind, id)) => crm_compliance::sync::discard(&mut store, kind, id)?,
                None => store.discard_set_aside(op_id_arg(&op_id)?)?,
            }
            println!("{op_id} given up; it will not be sent");
            return Ok(());
        }
        _ => {}
    }
    if let Some(SyncSub::Status { json }) = args.cmd {
        // Care compliance's records count with the store's, as in the app.
        let mut s = store.sync_status()?;
        s.pending += crm_compliance::sync::waiting(&store)?;
        s.quarantined += crm_compliance::sync::set_aside_count(&store)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            println!(
                "server:        {}",
                s.server.as_deref().unwrap_or("(not signed in)")
            );
            println!("account:       {}", s.email.as_deref().unwrap_or("-"));
            println!("role:          {}", store.account_role()?.as_str());
            println!(
                "last success:  {}",
                s.last_success.as_deref().unwrap_or("never")
            );
            println!("pending ops:   {}", s.pending);
            println!("set aside:     {}", s.quarantined);
            println!("held back:     {}", s.held);
            for h in store.held_rows()? {
                println!(
                    "  {} {} (tried {} times since {}): {}",
                    h.table,
                    h.row_id,
                    h.tries,
                    h.held_at,
                    crm_plugins::text::neutralise(&h.reason)
                );
            }
            println!(
                "last error:    {}",
                s.last_error.as_deref().unwrap_or("none")
            );
        }
        return Ok(());
    }
    let status = store.sync_status()?;
    let (Some(server), Some(token)) = (status.server, store.device_token(dir)?) else {
        return Err(crm_sync_client::SyncError::NotSignedIn.into());
    };
    let conn = Connection::new(&server, Options::default())?;
    if args.watch {
        return watch(&mut store, &conn, &server, &token);
    }
    let report = crm_sync_client::sync_waiting(&mut store, &conn, &token, || {
        eprintln!("another sync of this profile is running; waiting for it to finish");
    })?;
    println!(
        "pushed {}, pulled {}, evicted {}, set aside {}; {} ops pending",
        report.pushed,
        report.pulled,
        report.evicted,
        report.quarantined,
        store.outbox_len()?
    );
    crate::catalog_cmd::apply_after_sync(&mut store, &conn, &token)?;
    crate::docs_cmd::sync_after(&mut store, &conn, &token)?;
    crate::compliance_cmd::sync_after(&mut store, &conn, &token)?;
    let held = store.sync_status()?.held;
    if held > 0 {
        eprintln!(
            "{held} received records could not be stored on this device yet; they are kept and tried again at every sync (see `crm sync status`)"
        );
    }
    Ok(())
}

/// `crm sync --watch`: listen to the server's notices and sync at each,
/// printing what arrived; local changes queued meanwhile (by another `crm`
/// command) go at the next keep-alive. The server away: say so and try
/// again, waiting longer each time (up to a minute).
fn watch(store: &mut Store, conn: &Connection, server: &str, token: &str) -> Result<()> {
    use crm_sync_client::{Notice, SyncError};
    use std::io::Write;
    println!("watching {server} for changes (Ctrl-C to stop)");
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        let mut failed: Option<SyncError> = None;
        let heard = conn.listen(token, |notice| {
            let due = match notice {
                Notice::Ready | Notice::Changed(_) => true,
                Notice::Alive => store.outbox_len().is_ok_and(|n| n > 0),
            };
            if !due {
                return true;
            }
            match crm_sync_client::sync_waiting(store, conn, token, || {}) {
                Ok(report) => {
                    say_arrived(store, &report);
                    // The catalog too: a plugin blocked meanwhile stops.
                    if let Err(e) = crate::catalog_cmd::apply_after_sync(store, conn, token) {
                        eprintln!("plugin catalog not applied: {e}");
                    }
                    if let Err(e) = crate::docs_cmd::sync_after(store, conn, token) {
                        eprintln!("documents not synced: {e}");
                    }
                    if let Err(e) = crate::compliance_cmd::sync_after(store, conn, token) {
                        eprintln!("compliance records not synced: {e}");
                    }
                    true
                }
                // The server went away between notice and sync: the
                // stream finds out too; anything else ends the watch.
                Err(SyncError::Offline(e)) => {
                    eprintln!("sync failed, will try again: {e}");
                    true
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        });
        let _ = std::io::stdout().flush();
        if let Some(e) = failed {
            return Err(e.into());
        }
        match heard {
            Ok(()) => wait = std::time::Duration::from_secs(1),
            Err(SyncError::Offline(e)) => {
                eprintln!(
                    "cannot reach the server ({e}); trying again in {} s",
                    wait.as_secs()
                );
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_secs(60));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One line per sync that moved something, then a line per record that
/// arrived (a contact by name).
fn say_arrived(store: &Store, r: &crm_sync_client::Report) {
    use std::io::Write;
    if r.pushed + r.pulled + r.evicted + r.quarantined == 0 {
        return;
    }
    println!(
        "{} pushed {}, pulled {}, evicted {}, set aside {}",
        chrono::Local::now().format("%H:%M:%S"),
        r.pushed,
        r.pulled,
        r.evicted,
        r.quarantined
    );
    for (table, id) in &r.arrived {
        let name = (table == "contacts")
            .then(|| store.contact(*id).ok())
            .flatten()
            .map(|c| format!(": {}", crm_plugins::text::neutralise(&c.display_name)))
            .unwrap_or_default();
        println!("  {table} {id}{name}");
    }
    if r.pulled > r.arrived.len() {
        println!("  and {} more", r.pulled - r.arrived.len());
    }
    let _ = std::io::stdout().flush();
}

fn op_id_arg(raw: &str) -> Result<uuid::Uuid> {
    crm_core::parse_id("change", raw.trim())
        .map_err(|_| anyhow::anyhow!("{raw:?} is not a change id; `crm sync set-aside` lists them"))
}

/// A refused change's values on one line, `field: value, …` (nulls left
/// out), made safe for a terminal.
fn field_lines(fields: &serde_json::Map<String, serde_json::Value>) -> String {
    let all: Vec<String> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    crm_plugins::text::neutralise(&all.join(", "))
}

/// `crm sync set-aside`: each refused change, oldest first (the store's,
/// then care compliance's records).
fn list_set_aside(store: &Store, json: bool) -> Result<()> {
    let list = store.set_aside()?;
    let compliance = crm_compliance::sync::set_aside(store)?;
    if json {
        let mut all: Vec<serde_json::Value> = list
            .iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<_, _>>()?;
        all.extend(compliance.iter().map(|a| {
            serde_json::json!({
                "op_id": a.op_id(),
                "table": format!("compliance {}", a.kind),
                "row_id": a.id,
                "fields": a.body,
                "reason": a.reason,
                "at": a.at,
            })
        }));
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if list.is_empty() && compliance.is_empty() {
        println!("no changes set aside: the server took everything sent");
        return Ok(());
    }
    for c in &list {
        println!(
            "{}  {} {}  set aside {}\n  refused: {}\n  values:  {}",
            c.op_id,
            c.table,
            c.row_id,
            c.at,
            crm_plugins::text::neutralise(&c.reason),
            field_lines(&c.fields)
        );
    }
    let empty = serde_json::Map::new();
    for a in &compliance {
        println!(
            "{}  compliance {}  set aside {}\n  refused: {}\n  values:  {}",
            a.op_id(),
            a.kind,
            a.at,
            crm_plugins::text::neutralise(&a.reason),
            field_lines(a.body.as_object().unwrap_or(&empty))
        );
    }
    println!(
        "{} set aside: `crm sync retry <id>` sends one again, `crm sync discard <id>` gives it up",
        list.len() + compliance.len()
    );
    Ok(())
}
