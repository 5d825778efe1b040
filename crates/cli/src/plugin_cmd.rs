//! `crm plugin …`: checking, packing, installing, configuring and running
//! plugins (the hooks after other commands are in `hooks.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use crm_core::Store;
use crm_plugins::runtime::{self, RunReport, Runtime};
use crm_plugins::{Limits, Manifest};

use crate::{open_quiet, Profile};

#[derive(Subcommand)]
pub enum PluginCmd {
    /// Check a plugin folder: manifest, entry script, referenced functions.
    Check {
        /// The plugin's folder.
        dir: PathBuf,
    },
    /// Print the JSON Schema of manifest.json.
    Schema,
    /// Make a publisher key pair: NAME.key (secret, keep it safe) and NAME.pub.
    Keygen {
        /// Path prefix of the two files.
        #[arg(short = 'o', long = "out", value_name = "NAME")]
        out: PathBuf,
    },
    /// Check, then pack and sign a plugin folder into a package.
    Pack {
        /// The plugin's folder.
        dir: PathBuf,
        /// The secret key file (from `crm plugin keygen`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The package to write.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
    },
    /// Export an installed plugin as a package signed with this profile's
    /// publisher key (made on first use and kept in the OS keyring, or in
    /// the encrypted profile when no keyring answers); prints the key's
    /// public half, which others trust to install it.
    Export {
        /// The plugin's id.
        id: String,
        /// The package to write.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
    },
    /// Trust a publisher's key for this profile's tenant.
    Trust {
        /// The publisher's .pub file.
        pubfile: PathBuf,
        /// A name for the publisher.
        #[arg(long)]
        name: String,
    },
    /// Install a signed package (or a folder with --dev). Installed plugins start disabled.
    /// Unsigned plugins need the profile's developer mode, as in the app.
    Install {
        /// Package file or plugin folder.
        source: PathBuf,
        /// Turn the profile's developer mode on first (an admin's, audited),
        /// so unsigned packages and folders are accepted.
        #[arg(long)]
        dev: bool,
    },
    /// Enable a plugin, granting the permissions it asked for (or only those given).
    Enable {
        /// Plugin id.
        id: String,
        /// Grant only this permission (repeatable).
        #[arg(
            long = "grant",
            value_name = "PERMISSION",
            conflicts_with = "grant_all"
        )]
        grants: Vec<String>,
        /// Grant everything the manifest asks for.
        #[arg(long)]
        grant_all: bool,
    },
    /// Disable a plugin at once (its data and grants are kept).
    Disable {
        /// Plugin id.
        id: String,
    },
    /// Uninstall a plugin (its storage, settings and history go with it).
    Uninstall {
        /// Plugin id.
        id: String,
        /// First write the plugin's data (storage, settings without secrets,
        /// custom field definitions) to this JSON file.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
    /// Fill in a plugin's settings form: KEY=VALUE (repeatable); no pairs shows them.
    Configure {
        /// Plugin id.
        id: String,
        /// KEY=VALUE pairs.
        settings: Vec<String>,
    },
    /// Health of installed plugins: runs, errors, duration p50/p95, operations.
    Stats {
        /// Only this plugin.
        id: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the schedules that are due now and any pending hooks (the app does this every minute).
    Tick,
    /// Start a new plugin from a template.
    New {
        /// Folder (and plugin name) to create.
        name: PathBuf,
        /// Template: see `crm plugin templates`.
        #[arg(long, short = 't', default_value = "blank")]
        template: String,
    },
    /// List the templates `crm plugin new` can start from.
    Templates,
    /// Run a plugin's own tests (tests/*.rhai) against a throwaway profile.
    Test {
        /// The plugin's folder.
        dir: PathBuf,
    },
    /// Write the host-API reference (Markdown) to stdout.
    Reference {
        /// Print it as JSON (modules, functions, parameters, documentation,
        /// permissions, record shapes), as the plugin editor reads it.
        #[arg(long)]
        json: bool,
    },
    /// Show what a plugin would do, changing nothing: run one of its
    /// actions, or its hooks on an event as if it happened to each record,
    /// on a copy of the profile in memory; requests are recorded, not sent.
    DryRun {
        /// Plugin id (installed; it need not be enabled).
        id: String,
        /// The action to run.
        #[arg(required_unless_present = "event")]
        action: Option<String>,
        /// Run its hooks on this event instead (e.g. contact.created).
        #[arg(long, conflicts_with = "action")]
        event: Option<String>,
        /// Only this record (repeatable).
        #[arg(long, value_name = "ID")]
        record: Vec<String>,
        /// `all` records (the default), or the first N.
        #[arg(long, value_name = "all|N", conflicts_with = "record")]
        records: Option<String>,
        /// Ask the configured AI for real (else its questions are recorded).
        #[arg(long)]
        include_ai: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build a plugin folder from a wizard model (wizard.json's format).
    Wizard {
        /// The model.
        spec: PathBuf,
        /// The folder to write.
        #[arg(short = 'o', long = "out", value_name = "DIR")]
        out: PathBuf,
    },
    /// Render the dashboard widgets of enabled plugins (the data the app draws), as JSON.
    Widgets,
    /// List installed plugins, with what the agency's catalog says of each.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The data kept from plugins the agency's catalog removed (kept in
    /// this profile, encrypted); with --out, write one plugin's newest to a
    /// JSON file (as `uninstall --export` writes it).
    Kept {
        /// Only this plugin.
        id: Option<String>,
        /// Write its newest kept data to this file (needs the id).
        #[arg(long, value_name = "FILE", requires = "id")]
        out: Option<PathBuf>,
    },
    /// Run one of a plugin's actions.
    Run {
        /// Plugin id.
        id: String,
        /// Action id.
        action: String,
        /// The record the action works on.
        #[arg(long)]
        record: Option<String>,
    },
    /// Verify a package against trusted publisher keys (what install checks).
    Verify {
        /// The package.
        file: PathBuf,
        /// A trusted publisher's .pub file (repeatable).
        #[arg(long = "trust", value_name = "PUBFILE")]
        trust: Vec<PathBuf>,
        /// Developer mode: accept an unsigned package.
        #[arg(long)]
        allow_unsigned: bool,
    },
}

/// `crm plugin …`.
pub fn run(profile: &mut Profile, cmd: PluginCmd) -> Result<()> {
    match cmd {
        PluginCmd::Check { dir: plugin_dir } => {
            let sandbox = crm_plugins::Sandbox::new(crm_plugins::Limits::default());
            match crm_plugins::check::check_dir(&plugin_dir, &sandbox) {
                Ok(m) => println!(
                    "{} {} ({}): ok; asks for: {}",
                    m.id,
                    m.version,
                    m.name,
                    if m.permissions.is_empty() {
                        "nothing".to_string()
                    } else {
                        m.permissions.join(", ")
                    }
                ),
                Err(problems) => {
                    // One line, as every failure: the problems joined.
                    bail!("plugin check failed: {}", problems.join("; "));
                }
            }
        }
        PluginCmd::Keygen { out } => {
            use crm_plugins::package::generate_key;
            let key = generate_key();
            let secret = out.with_extension("key");
            let public = out.with_extension("pub");
            for p in [&secret, &public] {
                if p.exists() {
                    bail!("{} already exists; not overwriting a key", p.display());
                }
            }
            create_private(&secret, &format!("{}\n", hex::encode(key.to_bytes())))?;
            std::fs::write(
                &public,
                format!("{}\n", hex::encode(key.verifying_key().as_bytes())),
            )
            .with_context(|| format!("cannot write {}", public.display()))?;
            println!(
                "secret key: {} (keep it private)\npublic key: {}",
                secret.display(),
                public.display()
            );
        }
        PluginCmd::Pack {
            dir: plugin_dir,
            key,
            out,
        } => {
            let sandbox = crm_plugins::Sandbox::new(crm_plugins::Limits::default());
            if let Err(problems) = crm_plugins::check::check_dir(&plugin_dir, &sandbox) {
                bail!("plugin check failed: {}", problems.join("; "));
            }
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            let key = crm_plugins::package::parse_secret_key(&text)?;
            let bytes = crm_plugins::package::pack(&plugin_dir, &key)?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
        }
        PluginCmd::Verify {
            file,
            trust,
            allow_unsigned,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut keys = Vec::new();
            for t in &trust {
                let text = std::fs::read_to_string(t)
                    .with_context(|| format!("cannot read {}", t.display()))?;
                keys.push(crm_plugins::package::parse_public_key(&text)?);
            }
            let pkg = crm_plugins::package::read_package(&bytes, &keys, allow_unsigned)
                .map_err(|e| anyhow!("{}: {e}", file.display()))?;
            println!(
                "{} {}: ok, {} files, {}",
                pkg.manifest.id,
                pkg.manifest.version,
                pkg.files.len(),
                match pkg.signer {
                    Some(s) => format!("signed by {s}"),
                    None => "UNSIGNED (developer mode)".into(),
                }
            );
        }
        PluginCmd::Export { id, out } => {
            let store = profile.store()?;
            let export = crm_plugins::publisher::export(store, &id)?;
            std::fs::write(&out, &export.package)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let kept = match export.home {
                crm_plugins::publisher::KeyHome::Keyring => "the OS keyring",
                crm_plugins::publisher::KeyHome::Profile => "this encrypted profile",
            };
            println!(
                "wrote {} ({} files), signed with the publisher key kept in {kept}",
                out.display(),
                export.files
            );
            println!(
                "publisher key (trust it with `crm plugin trust`): {}",
                hex::encode(export.public_key.to_bytes())
            );
        }
        PluginCmd::Trust { pubfile, name } => {
            let text = std::fs::read_to_string(&pubfile)
                .with_context(|| format!("cannot read {}", pubfile.display()))?;
            let key = crm_plugins::package::parse_public_key(&text)?;
            let store = profile.store()?;
            store.trust_publisher(&hex::encode(key.as_bytes()), &name)?;
            println!("trusted publisher {name}");
        }
        PluginCmd::Install { source, dev } => {
            let store = profile.store()?;
            // One rule for every front end: the profile's developer mode.
            if dev && !store.developer_mode()? {
                store.set_developer_mode(true)?;
                eprintln!(
                    "developer mode is now on for this profile: unsigned plugins may be installed \
                     (`crm settings developer-mode off` turns it off)"
                );
            }
            let m = crm_plugins::lifecycle::install(store, &source, store.developer_mode()?)?;
            println!(
                "installed {} {} (disabled); it asks for: {}",
                m.id,
                m.version,
                if m.permissions.is_empty() {
                    "nothing".to_string()
                } else {
                    m.permissions.join(", ")
                }
            );
        }
        PluginCmd::Enable {
            id,
            grants,
            grant_all,
        } => {
            if grants.is_empty() && !grant_all {
                bail!("say what to grant: --grant PERMISSION (repeatable) or --grant-all (see `crm plugin list`)");
            }
            let store = profile.store()?;
            let granted =
                crm_plugins::lifecycle::enable(store, &id, (!grant_all).then_some(grants))?;
            println!(
                "enabled {id}; granted: {}",
                if granted.is_empty() {
                    "nothing".into()
                } else {
                    granted.join(", ")
                }
            );
        }
        PluginCmd::Disable { id } => {
            crm_plugins::lifecycle::disable(profile.store()?, &id)?;
            println!("disabled {id}");
        }
        PluginCmd::Uninstall { id, export } => {
            uninstall(profile.store()?, &id, export.as_deref())?;
        }
        PluginCmd::Configure { id, settings } => {
            configure(profile.store()?, &id, &settings)?;
        }
        PluginCmd::Stats { id, json } => {
            stats(profile.take()?, id.as_deref(), json)?;
        }
        PluginCmd::Tick => tick(open_quiet(profile.dir())?)?,
        PluginCmd::New { name, template } => new(&name, &template)?,
        PluginCmd::Templates => templates(),
        PluginCmd::Test { dir: plugin_dir } => test(&plugin_dir)?,
        PluginCmd::Widgets => widgets(open_quiet(profile.dir())?)?,
        PluginCmd::Reference { json: true } => {
            let reference = crm_plugins::reference::host_api().map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::to_string_pretty(&reference)?);
        }
        PluginCmd::Reference { json: false } => {
            print!(
                "{}",
                crm_plugins::reference::host_api_markdown().map_err(|e| anyhow!(e))?
            );
        }
        PluginCmd::List { json } => {
            let store = profile.store()?;
            let list = store.plugins()?;
            if json {
                let mut out = Vec::new();
                for p in &list {
                    let block = store.catalog_block(&p.id)?;
                    out.push(serde_json::json!({
                        "id": p.id,
                        "version": p.version,
                        "enabled": p.enabled,
                        // Enabled, and nothing stops it: it runs.
                        "runs": p.enabled && block.is_none(),
                        "signed": p.signer.is_some(),
                        "grants": p.grants,
                        "catalog": store.catalog_policy(&p.id)?.map(|c| serde_json::json!({
                            "mode": c.mode,
                            "version": c.version,
                            "grants": c.grants,
                            "reason": c.reason,
                        })),
                        "catalog_says": crm_catalog::standing(store, &p.id)?,
                        "stopped_by_catalog": block,
                    }));
                }
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            if list.is_empty() {
                println!("no plugins installed");
            }
            for p in list {
                let says = crm_catalog::standing(store, &p.id)?
                    .map(|w| format!("  ({w})"))
                    .unwrap_or_default();
                println!(
                    "{} {}  {}  {}  granted: {}{says}",
                    p.id,
                    p.version,
                    if p.enabled { "enabled " } else { "disabled" },
                    if p.signer.is_some() {
                        "signed"
                    } else {
                        "UNSIGNED (dev)"
                    },
                    if p.grants.is_empty() {
                        "nothing".into()
                    } else {
                        p.grants.join(", ")
                    }
                );
            }
        }
        PluginCmd::Kept { id, out } => {
            let store = profile.store()?;
            let kept = store.kept_plugin_exports()?;
            let kept: Vec<_> = kept
                .into_iter()
                .filter(|(p, _, _)| id.as_ref().is_none_or(|i| i == p))
                .collect();
            if let (Some(id), Some(out)) = (&id, &out) {
                let Some((at, data)) = store.plugin_exports(id)?.into_iter().next() else {
                    bail!("nothing is kept from {id} (crm plugin kept lists what is)");
                };
                std::fs::write(out, serde_json::to_vec_pretty(&data)?)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                println!(
                    "wrote the data kept from {id} on {at} to {} (plain JSON: keep it safe)",
                    out.display()
                );
                return Ok(());
            }
            if kept.is_empty() {
                println!("nothing is kept from removed plugins");
            }
            for (p, at, bytes) in kept {
                println!("{p}  kept {at}  {bytes} bytes");
            }
        }
        PluginCmd::DryRun {
            id,
            action,
            event,
            record,
            records,
            include_ai,
            json,
        } => crate::studio_cmd::dry_run(
            open_quiet(profile.dir())?,
            crate::studio_cmd::DryRunArgs {
                id,
                action,
                event,
                record,
                records,
                include_ai,
                json,
            },
        )?,
        PluginCmd::Wizard { spec, out } => crate::studio_cmd::wizard(&spec, &out)?,
        PluginCmd::Run { id, action, record } => {
            run_action(open_quiet(profile.dir())?, &id, &action, record.as_deref())?;
        }
        PluginCmd::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crm_plugins::Manifest::json_schema())?
            );
        }
    }
    Ok(())
}

/// Write a file only its owner can read (created new; never overwrites).
fn create_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The plugin limits in force for this profile (defaults plus the
/// tenant's overrides).
pub fn limits_of(store: &Store) -> Result<Limits> {
    Limits::for_profile(store).map_err(|e| anyhow!("{e}; fix it with crm settings plugin-limit"))
}

pub fn print_reports(reports: &[RunReport], verbose: bool) {
    for r in reports {
        match &r.result {
            Ok(out) => {
                if verbose {
                    eprintln!(
                        "{} {}: ok ({} ms)",
                        r.plugin_id,
                        r.trigger,
                        out.elapsed.as_millis()
                    );
                }
                for n in &out.notifications {
                    eprintln!("[{}] {}: {}", n.level, r.plugin_id, n.message);
                }
            }
            Err(e) => eprintln!(
                "warning: plugin {} ({}) failed: {e}",
                r.plugin_id, r.trigger
            ),
        }
        if let Some(why) = &r.disabled {
            eprintln!("warning: plugin {} was disabled: {why}", r.plugin_id);
        }
    }
}

/// `crm plugin run ID ACTION [--record ID]`.
pub fn run_action(store: Store, id: &str, action: &str, record: Option<&str>) -> Result<()> {
    let limits = limits_of(&store)?;
    let rt = Runtime::new(Arc::new(Mutex::new(store)), limits)?;
    let report = rt.run_action(id, action, record)?;
    if let Some(why) = &report.disabled {
        eprintln!("warning: plugin {id} was disabled: {why}");
    }
    let out = report.into_output().map_err(|e| anyhow!("{e}"))?;
    // Marked as the plugin's, so no printed line can pose as ours.
    for line in &out.output {
        eprintln!("{id} print: {line}");
    }
    for l in &out.logs {
        eprintln!("{} {id}: {}", l.level, l.message);
    }
    for n in &out.notifications {
        eprintln!("[{}] {id}: {}", n.level, n.message);
    }
    // Other plugins react to what this action wrote.
    print_reports(&rt.dispatch_pending()?, false);
    println!("{}", crm_plugins::text::json_line(&out.value));
    Ok(())
}

/// `crm plugin tick`: due schedules, then pending hooks.
pub fn tick(store: Store) -> Result<()> {
    let limits = limits_of(&store)?;
    let rt = Runtime::new(Arc::new(Mutex::new(store)), limits)?;
    let now = chrono::Utc::now();
    let reports = rt.run_due(now)?;
    print_reports(&reports, true);
    print_reports(&rt.dispatch_pending()?, true);
    println!("ran {} schedule(s)", reports.len());
    for n in rt.next_runs(now)? {
        match n.next {
            Some(t) => println!(
                "next: {} {} at {}",
                n.plugin_id,
                n.schedule_id,
                t.to_rfc3339()
            ),
            None => println!("next: {} {} never", n.plugin_id, n.schedule_id),
        }
    }
    Ok(())
}

/// `crm plugin widgets`: every enabled plugin's dashboard widgets, filled.
pub fn widgets(store: Store) -> Result<()> {
    let limits = limits_of(&store)?;
    let rt = Runtime::new(Arc::new(Mutex::new(store)), limits)?;
    let mut out = Vec::new();
    for (plugin, section, item) in rt.ui_items()? {
        if section != "widgets" {
            continue;
        }
        let data = match rt.render_ui(&plugin, &item.id, None) {
            Ok(v) => v,
            Err(e) => {
                serde_json::json!({ "kind": item.kind, "title": item.title, "error": e.to_string() })
            }
        };
        out.push(serde_json::json!({ "plugin": plugin, "id": item.id, "data": data }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `crm plugin stats [ID] [--json]`.
pub fn stats(store: Store, id: Option<&str>, json: bool) -> Result<()> {
    let ids: Vec<String> = match id {
        Some(i) => vec![i.to_string()],
        None => store.plugins()?.into_iter().map(|p| p.id).collect(),
    };
    let rt = Runtime::new(Arc::new(Mutex::new(store)), Limits::default())?;
    let mut all = Vec::new();
    for i in &ids {
        all.push(rt.health(i)?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("no plugins installed");
    }
    for h in all {
        println!(
            "{}  {}  runs {}  errors {}  p50 {:.1} ms  p95 {:.1} ms  ops/run {:.0}{}",
            h.plugin_id,
            if h.enabled { "enabled" } else { "disabled" },
            h.runs,
            h.errors,
            h.p50_ms,
            h.p95_ms,
            h.mean_operations,
            match (&h.disabled_reason, &h.last_error) {
                (Some(r), _) => format!("  ({r})"),
                (None, Some(e)) => format!("  last error: {e}"),
                _ => String::new(),
            }
        );
    }
    Ok(())
}

/// `crm plugin configure ID [KEY=VALUE]…`.
pub fn configure(store: &mut Store, id: &str, pairs: &[String]) -> Result<()> {
    let rec = store.plugin(id)?;
    let m = Manifest::parse(&rec.manifest)
        .map_err(|_| anyhow!("the stored manifest of {id} is damaged; reinstall it"))?;
    let current = store.plugin_settings(id)?;
    let secrets = runtime::secret_keys_of(store, id, &m)?;
    if pairs.is_empty() {
        if m.settings.is_empty() {
            println!("{id} has no settings");
        }
        let agency = runtime::agency_defaults(store, &m)?;
        for s in &m.settings {
            let shown = match (current.get(&s.key), &s.default) {
                (Some(_), _) if secrets.contains(&s.key) => "(set)".to_string(),
                (Some(v), _) => v.to_string(),
                (None, _) if agency.contains_key(&s.key) => {
                    format!("{} (your agency's default)", agency[&s.key])
                }
                (None, Some(d)) => format!("{d} (default)"),
                (None, None) if s.required => "(not set; required)".into(),
                (None, None) => "(not set)".into(),
            };
            println!("{} = {shown}    {}", s.key, s.label);
        }
        return Ok(());
    }
    let mut values = Vec::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| anyhow!("{p:?}: expected KEY=VALUE"))?;
        values.push((k.trim().to_string(), v.to_string()));
    }
    let base = runtime::settings_base(store, &m)?;
    let new = runtime::validate_settings(&m, &values, &base)
        .map_err(|problems| anyhow!("settings refused: {}", problems.join("; ")))?;
    let new = runtime::settings_to_store(store, &m, new)?;
    store.set_plugin_settings(id, &new, &secrets)?;
    let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
    println!("saved {} for {id}", keys.join(", "));
    Ok(())
}

/// `crm plugin uninstall ID [--export FILE]`.
pub fn uninstall(store: &mut Store, id: &str, export: Option<&Path>) -> Result<()> {
    if let Some(path) = export {
        let rec = store.plugin(id)?;
        let secrets = match Manifest::parse(&rec.manifest) {
            Ok(m) => runtime::secret_keys_of(store, id, &m)?,
            Err(_) => store.plugin_secret_keys(id)?,
        };
        let data = store.plugin_data_export(id, &secrets)?;
        let text = serde_json::to_string_pretty(&data)?;
        write_private(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    crm_plugins::lifecycle::uninstall(store, id)?;
    match export {
        Some(p) => println!("uninstalled {id}; its data is in {}", p.display()),
        None => println!("uninstalled {id}"),
    }
    Ok(())
}

/// Write a file only its owner can read (it holds the user's data).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// `crm plugin new NAME [--template T]`.
pub fn new(dest: &Path, template: &str) -> Result<()> {
    let id = crm_plugins::templates::create(template, dest).map_err(|e| anyhow!(e))?;
    println!(
        "created {} ({id}) from the {template} template; next: crm plugin check {0}, crm plugin test {0}",
        dest.display()
    );
    Ok(())
}

/// `crm plugin templates`.
pub fn templates() {
    for (name, description) in crm_plugins::templates::list() {
        println!("{name:<22} {description}");
    }
}

/// `crm plugin test DIR`.
pub fn test(dir: &Path) -> Result<()> {
    let sandbox = crm_plugins::Sandbox::new(Limits::default());
    let m = crm_plugins::check::check_dir(dir, &sandbox)
        .map_err(|problems| anyhow!("plugin check failed: {}", problems.join("; ")))?;
    let outcomes = crm_plugins::testing::run_plugin_tests(dir).map_err(|e| anyhow!(e))?;
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    for o in &outcomes {
        match &o.failure {
            None => println!("ok      {}", o.name),
            Some(f) => println!("FAILED  {}: {f}", o.name),
        }
    }
    if failed > 0 {
        bail!("{failed} of {} tests of {} failed", outcomes.len(), m.id);
    }
    println!("{} tests of {} passed", outcomes.len(), m.id);
    Ok(())
}
