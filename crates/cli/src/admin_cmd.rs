//! `crm admin …`: the agency's accounts and devices on the sync server (an
//! admin's), and `crm account password`: set one's own password.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use crm_core::Store;
use crm_plugins::text::neutralise;
use crm_protocol::admin::{InviteRequest, OneTimePassword, UserChange, MIN_PASSWORD};
use crm_sync_client::{Connection, Options};
use uuid::Uuid;
use zeroize::Zeroizing;

/// `crm admin`.
#[derive(Subcommand)]
pub enum AdminCmd {
    /// The agency's users.
    Users {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Invite someone: prints a one-time password to pass on privately.
    Invite {
        /// Their email.
        email: String,
        /// agent or admin.
        #[arg(long)]
        role: String,
        /// Their team.
        #[arg(long)]
        team: Option<String>,
    },
    /// Change a user's role or team, or disable or enable them.
    Set {
        /// The user's email.
        email: String,
        /// agent or admin.
        #[arg(long)]
        role: Option<String>,
        /// Their team.
        #[arg(long, conflicts_with = "no_team")]
        team: Option<String>,
        /// Take them out of their team.
        #[arg(long)]
        no_team: bool,
        /// Disable the account: sign-in refused, its devices stopped.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enable a disabled account.
        #[arg(long)]
        enable: bool,
    },
    /// Give a user a new one-time password (their devices are signed out).
    ResetPassword {
        /// The user's email.
        email: String,
    },
    /// The agency's devices.
    Devices {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its token stops working.
    Revoke {
        /// The device's id, as `crm admin devices` lists it.
        device_id: String,
    },
    /// The admin changes to users and devices, newest first.
    Audit,
    /// Plugin health across the agency's devices.
    Health {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `crm account`.
#[derive(Subcommand)]
pub enum AccountCmd {
    /// Set your own password on the sync server (asked for on a terminal;
    /// CRM_SYNC_PASSWORD and CRM_SYNC_NEW_PASSWORD for scripts).
    Password,
}

fn connect(dir: &Path, store: &Store) -> Result<(Connection, Zeroizing<String>)> {
    let status = store.sync_status()?;
    let (Some(server), Some(token)) = (status.server, store.device_token(dir)?) else {
        return Err(crm_sync_client::SyncError::NotSignedIn.into());
    };
    Ok((Connection::new(&server, Options::default())?, token))
}

fn user_id(conn: &Connection, token: &str, email: &str) -> Result<Uuid> {
    let users = conn.admin_users(token)?;
    users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
        .map(|u| u.id)
        .with_context(|| format!("no user with email {:?} in this agency", email.trim()))
}

fn print_one_time(otp: &OneTimePassword, what: &str) {
    println!(
        "{what} {}; one-time password (shown once, pass it on privately):\n  {}\nit works for one sign-in until {}; they then choose their own",
        neutralise(&otp.email),
        otp.password,
        otp.expires_at
    );
}

/// Run a `crm admin` command.
pub fn run(dir: &Path, store: Store, cmd: AdminCmd) -> Result<()> {
    let (conn, token) = connect(dir, &store)?;
    match cmd {
        AdminCmd::Users { json } => {
            let users = conn.admin_users(&token)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
                return Ok(());
            }
            for u in users {
                let mut notes = Vec::new();
                if u.disabled {
                    notes.push("disabled".to_string());
                }
                if u.one_time_password_pending {
                    notes.push("one-time password pending".into());
                }
                println!(
                    "{}  {}  {}  team {}  {} device(s), last seen {}{}",
                    u.id,
                    neutralise(&u.email),
                    u.role,
                    u.team.as_deref().map(neutralise).unwrap_or("-".into()),
                    u.devices,
                    u.last_seen.as_deref().unwrap_or("never"),
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!("  ({})", notes.join(", "))
                    }
                );
            }
        }
        AdminCmd::Invite { email, role, team } => {
            let otp = conn.admin_invite(&token, &InviteRequest { email, role, team })?;
            print_one_time(&otp, "invited");
        }
        AdminCmd::Set {
            email,
            role,
            team,
            no_team,
            disable,
            enable,
        } => {
            let change = UserChange {
                role,
                team: if no_team { Some(None) } else { team.map(Some) },
                disabled: if disable {
                    Some(true)
                } else if enable {
                    Some(false)
                } else {
                    None
                },
            };
            if change == UserChange::default() {
                bail!("nothing to change: pass --role, --team, --no-team, --disable or --enable");
            }
            let id = user_id(&conn, &token, &email)?;
            let u = conn.admin_change_user(&token, id, &change)?;
            println!(
                "{}: {}, team {}{}",
                neutralise(&u.email),
                u.role,
                u.team.as_deref().map(neutralise).unwrap_or("-".into()),
                if u.disabled { ", disabled" } else { "" }
            );
        }
        AdminCmd::ResetPassword { email } => {
            let id = user_id(&conn, &token, &email)?;
            let otp = conn.admin_reset_password(&token, id)?;
            print_one_time(&otp, "reset the password of");
            println!("their devices were signed out");
        }
        AdminCmd::Devices { json } => {
            let devices = conn.admin_devices(&token)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&devices)?);
                return Ok(());
            }
            for d in devices {
                println!(
                    "{}  {}  {}  app {}  last seen {}{}",
                    d.id,
                    neutralise(&d.name),
                    neutralise(&d.user_email),
                    d.app_version
                        .as_deref()
                        .map(neutralise)
                        .unwrap_or("-".into()),
                    d.last_seen.as_deref().unwrap_or("never"),
                    d.revoked_at
                        .map(|at| format!("  (revoked {at})"))
                        .unwrap_or_default()
                );
            }
        }
        AdminCmd::Revoke { device_id } => {
            let id: Uuid = device_id
                .trim()
                .parse()
                .with_context(|| format!("device id {device_id:?} is not a UUID"))?;
            conn.admin_revoke_device(&token, id)?;
            println!("revoked device {id}; its token no longer works");
        }
        AdminCmd::Audit => {
            for e in conn.admin_audit(&token)? {
                println!(
                    "{}  {}  {}  {}",
                    e.at,
                    neutralise(&e.actor),
                    e.action,
                    neutralise(&e.detail.to_string())
                );
            }
        }
        AdminCmd::Health { json } => {
            let health = conn.admin_plugin_health(&token)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&health)?);
                return Ok(());
            }
            if health.is_empty() {
                println!("no device has reported plugins yet");
            }
            for h in health {
                println!(
                    "{} {}: {} device(s), {} enabled, {} failing, {} stopped",
                    neutralise(&h.plugin_id),
                    neutralise(&h.version),
                    h.devices,
                    h.enabled,
                    h.failing,
                    h.stopped
                );
                for e in h.last_errors {
                    println!(
                        "  {} on {}: {}",
                        e.reported_at,
                        neutralise(&e.device_name),
                        neutralise(&e.error)
                    );
                }
            }
        }
    }
    Ok(())
}

/// A secret from `var` (tests, scripts), else asked for on the terminal.
fn secret(var: &str, prompt: &str) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(var) {
        if !p.is_empty() {
            return Ok(Zeroizing::new(p));
        }
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: set {var} or run in a terminal to be asked");
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password(prompt).context("reading the password")?,
    ))
}

/// Ask for a new password (twice on a terminal) and set it on the server.
pub fn set_new_password(conn: &Connection, token: &str, current: &str) -> Result<()> {
    let new = secret("CRM_SYNC_NEW_PASSWORD", "New password: ")?;
    if new.chars().count() < MIN_PASSWORD {
        bail!("the new password is too short: use at least {MIN_PASSWORD} characters");
    }
    if std::env::var("CRM_SYNC_NEW_PASSWORD").map_or(true, |p| p.is_empty()) {
        let again = secret("CRM_SYNC_NEW_PASSWORD", "New password again: ")?;
        if *again != *new {
            bail!("the two new passwords differ; nothing was changed");
        }
    }
    conn.change_password(token, current, &new)?;
    println!("your password is changed; sync works again");
    Ok(())
}

/// Run a `crm account` command.
pub fn account(dir: &Path, mut store: Store, cmd: AccountCmd) -> Result<()> {
    let (conn, token) = connect(dir, &store)?;
    match cmd {
        AccountCmd::Password => {
            let current = secret("CRM_SYNC_PASSWORD", "Current password: ")?;
            set_new_password(&conn, &token, &current)?;
            // The app's Sync screen stops asking for one.
            store.set_must_change_password(false)?;
            Ok(())
        }
    }
}
