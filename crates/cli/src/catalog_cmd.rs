//! `crm catalog …`: the tenant's plugin catalog on the sync server (an
//! admin's changes; anyone may list what applies to them). The device
//! applies it at every `crm sync`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use crm_core::Store;
use crm_protocol::catalog::{Audience, PolicyRequest, TrustRequest, LOCAL_PLUGINS, MODES};
use crm_sync_client::{Connection, Options};

/// `crm catalog`.
#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Publish a signed package to the tenant's catalog (an admin's).
    Publish {
        /// The package (from `crm plugin pack` or `crm plugin export`).
        package: PathBuf,
        /// allowed, force_installed, blocked or removed.
        #[arg(long)]
        mode: Option<String>,
        /// A permission devices may grant it (repeatable).
        #[arg(long = "grant", value_name = "PERMISSION")]
        grants: Vec<String>,
    },
    /// Set a plugin's policy (an admin's).
    Set {
        /// Plugin id.
        id: String,
        /// allowed, force_installed, blocked or removed.
        #[arg(long)]
        mode: Option<String>,
        /// Run exactly this published version.
        #[arg(long, conflicts_with = "min_version")]
        version: Option<String>,
        /// Run the newest published version at or above this one.
        #[arg(long)]
        min_version: Option<String>,
        /// The permissions devices may grant it (repeatable; replaces them).
        #[arg(long = "grant", value_name = "PERMISSION")]
        grants: Vec<String>,
        /// Why (shown to people whose plugin stops).
        #[arg(long)]
        reason: Option<String>,
        /// A setting's default for every device, KEY=VALUE (repeatable;
        /// replaces them; never a secret). A value that reads as JSON
        /// (`42`, `true`) is taken as such, anything else as text.
        #[arg(long = "setting", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// Who may use it: this role (repeatable; with --team, replaces the
        /// audience).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Who may use it: this team (repeatable).
        #[arg(long = "team", value_name = "TEAM")]
        teams: Vec<String>,
        /// Everyone in the tenant may use it again.
        #[arg(long, conflicts_with_all = ["roles", "teams"])]
        everyone: bool,
    },
    /// The catalog as it applies to this device's user.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Trust a publisher's key for the whole tenant (an admin's).
    Trust {
        /// The publisher's .pub file.
        pubfile: PathBuf,
        /// A name for the publisher.
        #[arg(long)]
        name: String,
    },
    /// Stop trusting a publisher (an admin's): devices drop the key, and
    /// its plugins stop verifying there.
    Distrust {
        /// The key, or its first 8 or more characters as `crm catalog list`
        /// shows them.
        key: String,
    },
    /// Say who may run plugins that are not in the catalog: everyone,
    /// admins (the default) or no_one (an admin's).
    LocalPlugins {
        /// everyone, admins or no_one.
        who: String,
    },
    /// Install a plugin the catalog allows you (it starts off; enable it
    /// with at most the grants the catalog approves).
    Install {
        /// Plugin id.
        id: String,
    },
    /// The catalog's changes, newest first (an admin's).
    Audit,
}

fn connect(dir: &Path, store: &Store) -> Result<(Connection, zeroize::Zeroizing<String>)> {
    let status = store.sync_status()?;
    let (Some(server), Some(token)) = (status.server, store.device_token(dir)?) else {
        return Err(crm_sync_client::SyncError::NotSignedIn.into());
    };
    Ok((Connection::new(&server, Options::default())?, token))
}

/// Run a `crm catalog` command.
pub fn run(dir: &Path, store: Store, cmd: CatalogCmd) -> Result<()> {
    let (conn, token) = connect(dir, &store)?;
    match cmd {
        CatalogCmd::Publish {
            package,
            mode,
            grants,
        } => {
            if let Some(m) = &mode {
                check_mode(m)?;
            }
            let bytes = std::fs::read(&package)
                .with_context(|| format!("cannot read {}", package.display()))?;
            let out = conn.catalog_publish(&token, bytes, mode.as_deref(), &grants)?;
            println!(
                "published {} {} (sha256 {}); it asks for: {}",
                out.plugin_id,
                out.version,
                out.sha256.chars().take(16).collect::<String>(),
                if out.permissions.is_empty() {
                    "nothing".to_string()
                } else {
                    out.permissions.join(", ")
                }
            );
        }
        CatalogCmd::Set {
            id,
            mode,
            version,
            min_version,
            grants,
            reason,
            settings,
            roles,
            teams,
            everyone,
        } => {
            if let Some(m) = &mode {
                check_mode(m)?;
            }
            let audience = if everyone {
                Some(Audience {
                    everyone: true,
                    ..Default::default()
                })
            } else if roles.is_empty() && teams.is_empty() {
                None
            } else {
                Some(Audience {
                    everyone: false,
                    roles,
                    teams,
                })
            };
            let req = PolicyRequest {
                mode,
                version,
                min_version,
                grants: (!grants.is_empty()).then_some(grants),
                reason,
                settings: if settings.is_empty() {
                    None
                } else {
                    // Typed by the settings form the catalog keeps for it.
                    let fields = conn
                        .catalog(&token, None)?
                        .plugins
                        .into_iter()
                        .find(|e| e.plugin_id == id)
                        .map(|e| e.setting_fields)
                        .unwrap_or_default();
                    Some(setting_defaults(&settings, &fields)?)
                },
                audience,
            };
            let e = conn.catalog_set(&token, &id, &req)?;
            println!(
                "{}: {}{}",
                e.plugin_id,
                e.mode,
                e.version
                    .map(|v| format!(", devices run {v}"))
                    .unwrap_or_default()
            );
        }
        CatalogCmd::List { json } => {
            let cat = conn.catalog(&token, None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cat)?);
                return Ok(());
            }
            if cat.plugins.is_empty() {
                println!("the catalog is empty");
            }
            for e in &cat.plugins {
                println!(
                    "{}  {}  {}{}{}",
                    e.plugin_id,
                    e.mode,
                    e.version.as_deref().unwrap_or("-"),
                    if e.applies { "" } else { "  (not for you)" },
                    e.reason
                        .as_deref()
                        .map(|r| format!("  reason: {}", crm_plugins::text::neutralise(r)))
                        .unwrap_or_default()
                );
            }
            for p in &cat.publishers {
                println!(
                    "trusted publisher {}  {}…",
                    crm_plugins::text::neutralise(&p.name),
                    p.public_key.chars().take(16).collect::<String>()
                );
            }
        }
        CatalogCmd::Trust { pubfile, name } => {
            let text = std::fs::read_to_string(&pubfile)
                .with_context(|| format!("cannot read {}", pubfile.display()))?;
            let p = conn.catalog_trust(
                &token,
                &TrustRequest {
                    public_key: text.trim().to_string(),
                    name,
                },
            )?;
            println!(
                "the tenant now trusts {} ({}…)",
                crm_plugins::text::neutralise(&p.name),
                p.public_key.chars().take(16).collect::<String>()
            );
        }
        CatalogCmd::Distrust { key } => {
            let key = key.trim();
            let publishers = conn.catalog(&token, None)?.publishers;
            let matching: Vec<_> = publishers
                .iter()
                .filter(|p| key.len() >= 8 && p.public_key.starts_with(key))
                .collect();
            let p = match matching.as_slice() {
                [one] => *one,
                [] => bail!(
                    "the tenant trusts no publisher whose key starts with {key:?} (give 8 or more \
                     characters; crm catalog list shows the trusted ones)"
                ),
                _ => bail!("{key:?} starts more than one trusted key: give more characters"),
            };
            conn.catalog_distrust(&token, &p.public_key)?;
            println!(
                "the tenant no longer trusts {} ({}…); its plugins stop at each device's next sync",
                crm_plugins::text::neutralise(&p.name),
                p.public_key.chars().take(16).collect::<String>()
            );
        }
        CatalogCmd::LocalPlugins { who } => {
            if !LOCAL_PLUGINS.contains(&who.as_str()) {
                bail!("{who:?}: use one of {}", LOCAL_PLUGINS.join(", "));
            }
            conn.catalog_local_plugins(&token, &who)?;
            println!(
                "plugins from outside the catalog now run for {}; devices follow at their next sync",
                match who.as_str() {
                    "everyone" => "everyone",
                    "no_one" => "no one",
                    _ => "admins only",
                }
            );
        }
        CatalogCmd::Install { id } => {
            let mut store = store;
            let m = match crm_catalog::install_allowed(&mut store, &conn, &token, &id) {
                Ok(m) => m,
                Err(crm_catalog::CatalogError::Refused(why)) => bail!("{why}"),
                Err(e) => return Err(e.into()),
            };
            println!(
                "installed {} {} from your agency's catalog (off); next: crm plugin enable {}",
                m.id, m.version, m.id
            );
        }
        CatalogCmd::Audit => {
            for a in conn.catalog_audit(&token)? {
                println!(
                    "{}  {}  {}  {}  {}",
                    a.at,
                    a.actor,
                    a.action,
                    a.plugin_id.as_deref().unwrap_or("-"),
                    a.detail
                );
            }
        }
    }
    Ok(())
}

/// `--setting KEY=VALUE` pairs as the policy's defaults, each value of its
/// setting's type (`fields`: the plugin's settings form as the catalog
/// keeps it); a key it does not know goes as text, for the server to name.
fn setting_defaults(
    pairs: &[String],
    fields: &[crm_protocol::catalog::SettingField],
) -> Result<std::collections::BTreeMap<String, serde_json::Value>> {
    let mut out = std::collections::BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--setting {p:?}: expected KEY=VALUE");
        };
        let key = k.trim();
        let kind = fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.kind.as_str());
        let text = v.trim();
        let value = match kind {
            Some("boolean") => match text.to_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => serde_json::Value::Bool(true),
                "false" | "no" | "off" | "0" => serde_json::Value::Bool(false),
                _ => bail!("--setting {key}: {text:?} is not true or false"),
            },
            Some("integer") => text
                .parse::<i64>()
                .map(serde_json::Value::from)
                .map_err(|_| anyhow::anyhow!("--setting {key}: {text:?} is not a whole number"))?,
            Some("number") => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .ok_or_else(|| anyhow::anyhow!("--setting {key}: {text:?} is not a number"))?,
            _ => serde_json::Value::from(v),
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

fn check_mode(m: &str) -> Result<()> {
    if !MODES.contains(&m) {
        bail!("--mode {m:?}: use one of {}", MODES.join(", "));
    }
    Ok(())
}

/// Apply the tenant's catalog after a sync, saying what changed here.
pub fn apply_after_sync(store: &mut Store, conn: &Connection, token: &str) -> Result<()> {
    let a = crm_catalog::pull(store, conn, token)?;
    for p in &a.installed {
        println!("catalog: installed {p}");
    }
    for p in &a.enabled {
        println!("catalog: enabled {p}");
    }
    for p in &a.blocked {
        println!("catalog: stopped {p} (blocked by your agency)");
    }
    for p in &a.removed {
        println!("catalog: removed {p} (its data is kept in this profile)");
    }
    for (_, why) in &a.waiting {
        println!("catalog: {why}");
    }
    for (p, why) in &a.failed {
        eprintln!("catalog: {p} could not be applied: {why}");
    }
    // What this device runs, for the admins (when it changed).
    if let Err(e) = crm_catalog::report(store, conn, token, env!("CARGO_PKG_VERSION")) {
        eprintln!("catalog: the plugin report was not sent: {e}");
    }
    Ok(())
}
