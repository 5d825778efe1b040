//! `crm`: the command-line way into the CRM core.
//!
//! Glue only: parse arguments, open the profile, call the core, print.
//! Errors are reported once, here, as one `error: …` line with exit code 1.

crm_plugins::counting_allocator!();

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use crm_core::{parse_id, KeyStoreChoice, Store};
use zeroize::Zeroizing;

mod admin_cmd;
mod catalog_cmd;
mod compliance_cmd;
mod contacts_cmd;
mod docs_cmd;
mod export_cmd;
mod hooks;
mod import_cmd;
mod payments_cmd;
mod plugin_cmd;
mod policies_cmd;
mod remedy;
mod script_cmd;
mod settings_cmd;
mod staff_cmd;
mod studio_cmd;
mod sync_cmd;
mod tasks_cmd;
mod training_cmd;

use contacts_cmd::ContactsCmd;
use docs_cmd::DocsCmd;
use export_cmd::ExportCmd;
use import_cmd::ImportCmd;
use payments_cmd::PaymentsCmd;
use plugin_cmd::PluginCmd;
use policies_cmd::PoliciesCmd;
use script_cmd::ScriptCmd;
use settings_cmd::SettingsCmd;
use tasks_cmd::TasksCmd;

#[derive(Parser)]
#[command(
    name = "crm",
    version,
    about = "Insurance CRM: encrypted local store, contacts, policies, payments, tasks"
)]
struct Cli {
    /// Profile folder (one per agent). Default: the platform's app-data folder.
    #[arg(long, global = true, env = "CRM_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new encrypted profile.
    Init {
        /// Where to keep the database key.
        #[arg(long, value_enum, default_value_t = KeyStoreArg::Auto)]
        key_store: KeyStoreArg,
        /// Region for phone numbers without a country code.
        #[arg(long, default_value = "GB")]
        region: String,
    },
    /// Import records from a CSV file.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Export records to a CSV file.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Contacts.
    #[command(subcommand)]
    Contacts(ContactsCmd),
    /// Insurance policies.
    #[command(subcommand)]
    Policies(PoliciesCmd),
    /// Premium instalments, payments and arrears.
    #[command(subcommand)]
    Payments(PaymentsCmd),
    /// Documents: add, search and ask the agency's policies, SOPs and guides.
    #[command(subcommand)]
    Docs(DocsCmd),
    /// Tasks.
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Care compliance: staff records, recruitment checks, supervisions.
    #[command(subcommand)]
    Staff(staff_cmd::StaffCmd),
    /// Care compliance: courses, training records, the training matrix.
    #[command(subcommand)]
    Training(training_cmd::TrainingCmd),
    /// Care compliance: policies and SOPs (approval, review, read-and-sign).
    #[command(subcommand)]
    Compliance(compliance_cmd::ComplianceCmd),
    /// Write the inspector's evidence pack (PDF, and a CSV beside it).
    EvidencePack(compliance_cmd::PackArgs),
    /// Profile settings.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Run Rhai scripts in the plugin sandbox.
    #[command(subcommand)]
    Script(ScriptCmd),
    /// Plugins.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Sign in to a sync server (registers this device).
    Login(sync_cmd::LoginArgs),
    /// Push local changes and pull the server's; `crm sync status` shows the state.
    Sync(sync_cmd::SyncArgs),
    /// The tenant's plugin catalog on the sync server.
    #[command(subcommand)]
    Catalog(catalog_cmd::CatalogCmd),
    /// The agency's users and devices on the sync server (an admin's).
    #[command(subcommand)]
    Admin(admin_cmd::AdminCmd),
    /// Your account on the sync server (`crm account password`).
    #[command(subcommand)]
    Account(admin_cmd::AccountCmd),
    /// Show the audit trail of one record.
    Audit {
        /// Record id.
        id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyStoreArg {
    /// The OS keyring, or a passphrase if no keyring answers.
    Auto,
    /// The OS keyring only.
    Keyring,
    /// A passphrase only (CRM_PASSPHRASE or a prompt).
    Passphrase,
}

/// Set by Ctrl-C; long work (import, hook runs) polls it and stops cleanly.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// True while work that polls [`INTERRUPTED`] runs; otherwise Ctrl-C (and a
/// second Ctrl-C always) ends the process at once, as users expect.
static CANCELLABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() -> ExitCode {
    // Reading a document runs in a copy of this program (see crm-extract).
    crm_extract::run_worker_if_asked();
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        use std::sync::atomic::Ordering::SeqCst;
        if !CANCELLABLE.load(SeqCst) || INTERRUPTED.swap(true, SeqCst) {
            std::process::exit(130);
        }
    });
    match run(cli) {
        Ok(profile) => {
            // The change is made; hooks run after it (on the store the
            // command opened), and their failures are reported without
            // failing the command.
            hooks::dispatch_hooks(profile);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let msg = format!("{e:#}").replace('\n', " ");
            match remedy::hint(&e) {
                Some(hint) => eprintln!("error: {msg}; {hint}"),
                None => eprintln!("error: {msg}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// The passphrase: `CRM_PASSPHRASE`, else a prompt on a terminal.
fn passphrase(confirm: bool) -> Option<Zeroizing<String>> {
    if let Ok(p) = std::env::var("CRM_PASSPHRASE") {
        if !p.is_empty() {
            return Some(Zeroizing::new(p));
        }
    }
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(if confirm {
            "Choose a passphrase for this profile: "
        } else {
            "Passphrase: "
        })
        .ok()?,
    );
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Repeat the passphrase: ").ok()?);
        if again != first {
            eprintln!("the passphrases differ");
            return None;
        }
    }
    Some(first)
}

fn data_dir(cli: &Option<PathBuf>) -> Result<PathBuf> {
    match cli {
        Some(d) => Ok(d.clone()),
        None => {
            Store::default_dir().context("no app-data folder on this platform; pass --data-dir")
        }
    }
}

fn open(dir: &Path) -> Result<Store> {
    let mut store = Store::open(dir, &passphrase)?;
    hooks::collect_hook_events(&mut store);
    Ok(store)
}

/// Open without collecting hook events (for the hook dispatcher itself).
fn open_quiet(dir: &Path) -> Result<Store> {
    Ok(Store::open(dir, &passphrase)?)
}

/// The profile a command works on: its folder, and its store once the
/// command has opened it. The store is opened at most once per command and
/// the plugin hooks after the command run on it, so a profile protected by
/// a passphrase derives its key once, not once more for the hooks.
struct Profile {
    dir: PathBuf,
    store: Option<Store>,
}

impl Profile {
    fn new(dir: PathBuf) -> Profile {
        Profile { dir, store: None }
    }

    /// The profile's folder.
    fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store, opened on first use (collecting hook events).
    fn store(&mut self) -> Result<&mut Store> {
        if self.store.is_none() {
            self.store = Some(open(&self.dir)?);
        }
        self.store.as_mut().context("the profile is not open")
    }

    /// The store, for a caller that must own it (opened if need be,
    /// collecting hook events); [`Profile::put_back`] returns it for the
    /// hooks.
    fn take(&mut self) -> Result<Store> {
        match self.store.take() {
            Some(store) => Ok(store),
            None => open(&self.dir),
        }
    }

    /// Keep `store` (taken with [`Profile::take`]) for the hooks.
    fn put_back(&mut self, store: Store) {
        self.store = Some(store);
    }

    /// The store the hooks run on: the command's own, or, when the command
    /// kept none, one opened now without collecting hook events.
    fn into_store(self) -> Result<Store> {
        match self.store {
            Some(store) => Ok(store),
            None => open_quiet(&self.dir),
        }
    }
}

/// The most rows a list command prints; more are said on stderr.
pub(crate) const LIST_LIMIT: usize = 10_000;

/// Say on stderr (stdout stays the list, or valid JSON) that a list was
/// cut at [`LIST_LIMIT`].
pub(crate) fn say_if_cut(what: &str, more: bool) {
    if more {
        eprintln!("note: only the first {LIST_LIMIT} {what} are listed; more matched");
    }
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn date_arg(name: &str, v: &Option<String>) -> Result<NaiveDate> {
    match v {
        None => Ok(today()),
        Some(s) => crm_core::normalize::date(s).map_err(|r| anyhow!("--{name}: {r}")),
    }
}

/// Run the command; the profile it worked on, for the hooks.
fn run(cli: Cli) -> Result<Profile> {
    let dir = data_dir(&cli.data_dir)?;
    let mut profile = Profile::new(dir.clone());
    match cli.cmd {
        Cmd::Init { key_store, region } => {
            let choice = match key_store {
                KeyStoreArg::Auto => KeyStoreChoice::Auto,
                KeyStoreArg::Keyring => KeyStoreChoice::Keyring,
                KeyStoreArg::Passphrase => KeyStoreChoice::Passphrase,
            };
            crm_core::normalize::region(&region).map_err(|r| anyhow!("--region: {r}"))?;
            let mut store = Store::create(&dir, choice, &passphrase)?;
            store.set_default_region(&region)?;
            let meta = crm_core::keys::ProfileMeta::load(&dir)?;
            let kept = match meta.key {
                crm_core::keys::KeySource::Keyring { .. } => "key in the OS keyring",
                crm_core::keys::KeySource::Passphrase(_) => "key derived from your passphrase",
            };
            println!("created encrypted profile in {} ({kept})", dir.display());
        }
        Cmd::Import(c) => import_cmd::run(&mut profile, c)?,
        Cmd::Export(c) => export_cmd::run(&mut profile, c)?,
        Cmd::Contacts(c) => contacts_cmd::run(&mut profile, c)?,
        Cmd::Policies(c) => policies_cmd::run(&mut profile, c)?,
        Cmd::Payments(c) => payments_cmd::run(&mut profile, c)?,
        Cmd::Tasks(c) => tasks_cmd::run(&mut profile, c)?,
        Cmd::Docs(c) => docs_cmd::run(&mut profile, c)?,
        Cmd::Staff(c) => staff_cmd::run(&mut profile, c)?,
        Cmd::Training(c) => training_cmd::run(&mut profile, c)?,
        Cmd::Compliance(c) => compliance_cmd::run(&mut profile, c)?,
        Cmd::EvidencePack(a) => compliance_cmd::evidence_pack(&mut profile, a)?,
        Cmd::Settings(c) => settings_cmd::run(&mut profile, c)?,
        Cmd::Script(c) => script_cmd::run(&mut profile, c)?,
        Cmd::Plugin(c) => plugin_cmd::run(&mut profile, c)?,
        Cmd::Login(args) => sync_cmd::login(&dir, open_quiet(&dir)?, args)?,
        Cmd::Sync(args) => sync_cmd::sync(&dir, open_quiet(&dir)?, args)?,
        Cmd::Catalog(c) => catalog_cmd::run(&dir, open_quiet(&dir)?, c)?,
        Cmd::Admin(c) => admin_cmd::run(&dir, open_quiet(&dir)?, c)?,
        Cmd::Account(c) => admin_cmd::account(&dir, open_quiet(&dir)?, c)?,
        Cmd::Audit { id } => {
            let store = profile.store()?;
            for a in store.audit_for(parse_id("record", &id)?)? {
                // A pulled change: say whose device it came from, when a
                // pull has named it.
                let writer = a
                    .actor
                    .get("device")
                    .and_then(|d| d.as_str())
                    .and_then(|d| d.parse().ok())
                    .map(|d| store.writer(d))
                    .transpose()?
                    .flatten()
                    .map(|w| {
                        // Named by another client: shown, never obeyed.
                        let said = format!("{} on {}", w.user_email, w.device_name);
                        format!(" ({})", crm_plugins::text::neutralise(&said))
                    })
                    .unwrap_or_default();
                println!("{}  {}  {}{writer}  {}", a.at, a.action, a.actor, a.changes);
            }
        }
    }
    Ok(profile)
}
