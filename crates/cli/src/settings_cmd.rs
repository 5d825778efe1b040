//! `crm settings …`: the profile's region, AI endpoint and plugin limits,
//! certificate authority and network policy.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use zeroize::Zeroizing;

use crm_core::settings::{AiChange, AI_ENDPOINT};

use crate::Profile;

#[derive(Subcommand)]
pub enum SettingsCmd {
    /// Set the region for phone numbers without a country code (e.g. GB, DE).
    Region {
        /// Two-letter region code.
        code: String,
    },
    /// Show the profile's settings and sync state.
    Show,
    /// Allow (on) or refuse (off) unsigned plugins on this profile (an admin's; audited).
    DeveloperMode {
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// The language model plugins use (`ai:use`): an OpenAI-compatible endpoint.
    Ai {
        /// Base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1.
        #[arg(long)]
        endpoint: Option<String>,
        /// Model name.
        #[arg(long)]
        model: Option<String>,
        /// Read the API key from this environment variable (kept in the encrypted profile).
        #[arg(long, value_name = "VAR")]
        api_key_env: Option<String>,
        /// Forget the endpoint, model and key.
        #[arg(long)]
        clear: bool,
    },
    /// Override a plugin limit for this tenant (no VALUE: back to the default).
    PluginLimit {
        /// timeout_ms, max_operations, max_memory, max_rows_read, max_writes,
        /// storage_quota, max_requests, request_timeout_ms or max_response.
        name: String,
        /// A positive whole number (milliseconds, bytes or a count).
        value: Option<u64>,
    },
    /// Trust this PEM file's certificate authority for plugins' https calls
    /// (an on-premises system's own CA); without FILE, forget it.
    PluginCa {
        /// The CA certificate(s), PEM.
        file: Option<PathBuf>,
    },
    /// Let plugins' http calls reach loopback and private networks (off by default).
    PluginNetwork {
        /// allow or deny.
        #[arg(value_parser = ["allow", "deny"])]
        policy: String,
    },
}

/// `crm settings …`.
pub fn run(profile: &mut Profile, cmd: SettingsCmd) -> Result<()> {
    match cmd {
        SettingsCmd::Region { code } => {
            let store = profile.store()?;
            store.set_default_region(&code)?;
            println!("default phone region: {:?}", store.default_region());
        }
        SettingsCmd::Ai {
            endpoint,
            model,
            api_key_env,
            clear,
        } => {
            let store = profile.store()?;
            if clear {
                store.set_ai(&AiChange {
                    endpoint: Some(""),
                    model: Some(""),
                    api_key: Some(""),
                })?;
                println!("AI endpoint cleared");
            } else {
                let key = match &api_key_env {
                    Some(var) => Some(Zeroizing::new(
                        std::env::var(var)
                            .map_err(|_| anyhow!("--api-key-env: {var} is not set"))?,
                    )),
                    None => None,
                };
                store
                    .set_ai(&AiChange {
                        endpoint: endpoint.as_deref(),
                        model: model.as_deref(),
                        api_key: key.as_ref().map(|k| k.as_str()),
                    })
                    .map_err(|e| match e {
                        crm_core::CoreError::Invalid(v) if v.field == AI_ENDPOINT => {
                            anyhow!("--endpoint {}", v.reason)
                        }
                        e => e.into(),
                    })?;
                let ai = store.ai_settings()?;
                println!(
                    "AI endpoint: {} (model {}; key {})",
                    ai.endpoint.as_deref().unwrap_or("(none)"),
                    ai.model,
                    if ai.api_key.is_some() {
                        "set"
                    } else {
                        "not set"
                    }
                );
            }
        }
        SettingsCmd::PluginLimit { name, value } => {
            let mut check = crm_plugins::Limits::default();
            check
                .set(&name, value.unwrap_or(1).max(1))
                .map_err(|e| anyhow!(e))?;
            if value == Some(0) {
                bail!("{name}: give a positive whole number, or no value for the default");
            }
            let store = profile.store()?;
            let v = value.map(|v| v.to_string());
            store.set_setting(&format!("plugins.limit.{name}"), v.as_deref())?;
            match value {
                Some(v) => println!("plugin limit {name} = {v} for this tenant"),
                None => println!("plugin limit {name} back to its default"),
            }
        }
        SettingsCmd::PluginCa { file } => {
            let store = profile.store()?;
            match file {
                None => {
                    store.set_setting(crm_plugins::runtime::CA_SETTING, None)?;
                    println!("plugins trust the public certificate authorities only");
                }
                Some(f) => {
                    let pem = std::fs::read_to_string(&f)
                        .with_context(|| format!("cannot read {}", f.display()))?;
                    if !pem.contains("-----BEGIN CERTIFICATE-----") {
                        bail!(
                            "{}: not a PEM certificate (-----BEGIN CERTIFICATE-----)",
                            f.display()
                        );
                    }
                    store.set_setting(crm_plugins::runtime::CA_SETTING, Some(&pem))?;
                    println!(
                        "plugins also trust the certificate authority in {}",
                        f.display()
                    );
                }
            }
        }
        SettingsCmd::PluginNetwork { policy } => {
            let store = profile.store()?;
            store.set_setting(
                crm_plugins::runtime::ALLOW_PRIVATE_SETTING,
                Some(if policy == "allow" { "true" } else { "false" }),
            )?;
            println!("plugins may {policy} loopback and private network addresses");
        }
        SettingsCmd::DeveloperMode { state } => {
            let store = profile.store()?;
            store.set_developer_mode(state == "on")?;
            println!(
                "developer mode {state}: unsigned plugins are {} on this profile",
                if state == "on" { "accepted" } else { "refused" }
            );
        }
        SettingsCmd::Show => {
            let dir = profile.dir().to_path_buf();
            let store = profile.store()?;
            let id = store.identity();
            println!("profile:      {}", dir.display());
            println!("tenant:       {}", id.tenant_id);
            println!("device:       {}", id.device_id);
            println!("phone region: {:?}", store.default_region());
            println!("unsynced ops: {}", store.outbox_len()?);
        }
    }
    Ok(())
}
