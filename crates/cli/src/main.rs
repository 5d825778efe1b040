//! `crm`: the command-line way into the CRM core.
//!
//! Glue only: parse arguments, open the profile, call the core, print.
//! Errors are reported once, here, as one `error: …` line with exit code 1.

crm_plugins::counting_allocator!();

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use crm_core::import::{ImportControl, ImportOptions, ImportReport};
use crm_core::normalize::format_minor;
use crm_core::{
    parse_id, ActivityKind, Contact, ContactDraft, ContactQuery, KeyStoreChoice, PolicyDraft,
    Stage, Store, TaskDraft, TaskFilter, TaskStatus,
};
use indicatif::{ProgressBar, ProgressStyle};
use zeroize::Zeroizing;

mod plugin_cmd;
mod remedy;
mod sync_cmd;

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
    /// Tasks.
    #[command(subcommand)]
    Tasks(TasksCmd),
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
    /// Show the audit trail of one record.
    Audit {
        /// Record id.
        id: String,
    },
}

#[derive(Subcommand)]
enum PluginCmd {
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
    /// Trust a publisher's key for this profile's tenant.
    Trust {
        /// The publisher's .pub file.
        pubfile: PathBuf,
        /// A name for the publisher.
        #[arg(long)]
        name: String,
    },
    /// Install a signed package (or a folder with --dev). Installed plugins start disabled.
    Install {
        /// Package file or plugin folder.
        source: PathBuf,
        /// Developer mode: accept unsigned packages and folders.
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
    Reference,
    /// Render the dashboard widgets of enabled plugins (the data the app draws), as JSON.
    Widgets,
    /// List installed plugins.
    List,
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

#[derive(Subcommand)]
enum ScriptCmd {
    /// Run one script in the sandbox; prints its value as JSON.
    Run {
        /// The script file.
        file: PathBuf,
        /// Grant a permission, e.g. contacts:read (repeatable; none by default).
        #[arg(long = "grant", value_name = "PERMISSION")]
        grants: Vec<String>,
        /// Wall-clock deadline in milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
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

#[derive(Subcommand)]
enum ImportCmd {
    /// Import contacts (creates new ones, updates those with the same email).
    Contacts {
        /// The CSV file.
        file: PathBuf,
        /// Check and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Map a column: "CSV Column=field" (field, custom.NAME or ignore). Repeatable.
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        maps: Vec<String>,
        /// Also write the problems found to this CSV file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Rows per transaction.
        #[arg(long, default_value_t = crm_core::import::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// Export all contacts.
    Contacts {
        /// The CSV file to write.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ContactsCmd {
    /// List contacts.
    List {
        /// Text in the name, company, email or phone.
        #[arg(long)]
        search: Option<String>,
        /// Only this stage (prospect, client, lapsed).
        #[arg(long)]
        stage: Option<String>,
        /// Only this owner.
        #[arg(long)]
        owner: Option<String>,
        /// Only this tag.
        #[arg(long)]
        tag: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Count contacts.
    Count,
    /// Show one contact with its policies, tasks and timeline.
    Show {
        /// Contact id.
        id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a contact.
    Add(ContactFields),
    /// Change fields of a contact.
    Edit {
        /// Contact id.
        id: String,
        #[command(flatten)]
        fields: ContactFields,
    },
    /// Delete a contact.
    Delete {
        /// Contact id.
        id: String,
    },
    /// Add a note or call to a contact's timeline.
    Log {
        /// Contact id.
        id: String,
        /// The text.
        text: String,
        /// note, call, email or meeting.
        #[arg(long, default_value = "note")]
        kind: String,
    },
}

#[derive(Args)]
struct ContactFields {
    /// Given name.
    #[arg(long)]
    first_name: Option<String>,
    /// Family name.
    #[arg(long)]
    last_name: Option<String>,
    /// Company.
    #[arg(long)]
    company: Option<String>,
    /// Email (repeatable).
    #[arg(long)]
    email: Vec<String>,
    /// Phone (repeatable).
    #[arg(long)]
    phone: Vec<String>,
    /// prospect, client or lapsed.
    #[arg(long)]
    stage: Option<String>,
    /// Tag (repeatable).
    #[arg(long)]
    tag: Vec<String>,
    /// Owner.
    #[arg(long)]
    owner: Option<String>,
    /// Any field: FIELD=VALUE (custom.NAME=VALUE for custom fields). Repeatable.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
}

impl ContactFields {
    fn pairs(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let one = |out: &mut Vec<(String, String)>, f: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((f.to_string(), v.clone()));
            }
        };
        one(&mut out, "first_name", &self.first_name);
        one(&mut out, "last_name", &self.last_name);
        one(&mut out, "company_name", &self.company);
        one(&mut out, "stage", &self.stage);
        one(&mut out, "owner", &self.owner);
        out.extend(self.email.iter().map(|e| ("email".to_string(), e.clone())));
        out.extend(self.phone.iter().map(|e| ("phone".to_string(), e.clone())));
        if !self.tag.is_empty() {
            out.push(("tags".into(), self.tag.join(",")));
        }
        for s in &self.set {
            let (f, v) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--set {s:?}: expected FIELD=VALUE"))?;
            out.push((f.trim().to_string(), v.to_string()));
        }
        Ok(out)
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum PoliciesCmd {
    /// List policies.
    List {
        /// Only this contact's.
        #[arg(long)]
        contact: Option<String>,
        /// Only active policies expiring within DAYS.
        #[arg(long, value_name = "DAYS")]
        renewals: Option<u32>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a policy to a contact.
    Add {
        /// The holder's contact id.
        #[arg(long)]
        contact: String,
        /// Policy number.
        #[arg(long)]
        number: String,
        /// Insurer.
        #[arg(long)]
        carrier: String,
        /// Line of business (motor, home, life, …).
        #[arg(long)]
        line: String,
        /// Premium per payment period, e.g. 42.50.
        #[arg(long)]
        premium: String,
        /// Currency code.
        #[arg(long, default_value = "GBP")]
        currency: String,
        /// monthly, quarterly, semi_annual, annual or single.
        #[arg(long, default_value = "monthly")]
        frequency: String,
        /// Effective date.
        #[arg(long)]
        effective: String,
        /// Expiry date (default: a year after effective).
        #[arg(long)]
        expiry: Option<String>,
        /// quoted, active, lapsed, cancelled or expired.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Subcommand)]
enum PaymentsCmd {
    /// List a policy's instalments and payments, or all arrears.
    List {
        /// The policy.
        #[arg(long, required_unless_present = "arrears")]
        policy: Option<String>,
        /// List every policy in arrears instead.
        #[arg(long)]
        arrears: bool,
        /// Arrears as of this date (default today).
        #[arg(long)]
        on: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Create a policy's premium schedule (idempotent).
    Schedule {
        /// The policy id.
        policy: String,
    },
    /// Record a payment against a policy.
    Add {
        /// The policy id.
        #[arg(long)]
        policy: String,
        /// Amount, e.g. 42.50.
        #[arg(long)]
        amount: String,
        /// direct_debit, card, bank_transfer, cash or cheque.
        #[arg(long)]
        method: String,
        /// Date paid (default today).
        #[arg(long)]
        date: Option<String>,
        /// Bank or card reference.
        #[arg(long)]
        reference: Option<String>,
    },
}

#[derive(Subcommand)]
enum TasksCmd {
    /// List tasks (open ones by default).
    List {
        /// Only those due today.
        #[arg(long, conflicts_with_all = ["overdue", "all"])]
        due_today: bool,
        /// Only overdue ones.
        #[arg(long, conflicts_with = "all")]
        overdue: bool,
        /// All tasks, done included.
        #[arg(long)]
        all: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a task.
    Add {
        /// What to do.
        title: String,
        /// Due date.
        #[arg(long)]
        due: Option<String>,
        /// About this contact.
        #[arg(long)]
        contact: Option<String>,
        /// Who should do it.
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Mark a task done.
    Done {
        /// Task id.
        id: String,
    },
}

#[derive(Subcommand)]
enum SettingsCmd {
    /// Set the region for phone numbers without a country code (e.g. GB, DE).
    Region {
        /// Two-letter region code.
        code: String,
    },
    /// Show the profile's settings and sync state.
    Show,
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

/// Set by Ctrl-C; long work (import, hook runs) polls it and stops cleanly.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// True while work that polls [`INTERRUPTED`] runs; otherwise Ctrl-C (and a
/// second Ctrl-C always) ends the process at once, as users expect.
static CANCELLABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        use std::sync::atomic::Ordering::SeqCst;
        if !CANCELLABLE.load(SeqCst) || INTERRUPTED.swap(true, SeqCst) {
            std::process::exit(130);
        }
    });
    let dir = cli.data_dir.clone();
    match run(cli) {
        Ok(()) => {
            // The change is made; hooks run after it, and their failures
            // are reported without failing the command.
            if let Ok(dir) = data_dir(&dir) {
                plugin_cmd::dispatch_hooks(&dir);
            }
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
    plugin_cmd::collect_hook_events(&mut store);
    Ok(store)
}

/// Open without collecting hook events (for the hook dispatcher itself).
fn open_quiet(dir: &Path) -> Result<Store> {
    Ok(Store::open(dir, &passphrase)?)
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

fn run(cli: Cli) -> Result<()> {
    let dir = data_dir(&cli.data_dir)?;
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
        Cmd::Import(ImportCmd::Contacts {
            file,
            dry_run,
            maps,
            report,
            batch_size,
            json,
        }) => {
            let mut mappings = Vec::new();
            for m in &maps {
                let (c, f) = m
                    .rsplit_once('=')
                    .ok_or_else(|| anyhow!("--map {m:?}: expected \"CSV Column=field\""))?;
                mappings.push((c.to_string(), f.to_string()));
            }
            let mut store = open(&dir)?;
            let control = ImportControl::new();
            let c2 = control.clone();
            // Ctrl-C cancels cleanly: the open batch rolls back.
            CANCELLABLE.store(true, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || loop {
                if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                    c2.cancel();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            });
            let bar = ProgressBar::new(std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:40}] {bytes}/{total_bytes} {msg} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let opts = ImportOptions {
                dry_run,
                mappings,
                batch_size,
            };
            // Off a terminal (logs, scripts, the crash-loop harness) the bar
            // is hidden: say instead what each committed batch brought.
            let lines = !dry_run && !std::io::stderr().is_terminal();
            let mut said = 0;
            let rep = store.import_contacts(&file, &opts, &control, &mut |p| {
                bar.set_length(p.total_bytes);
                bar.set_position(p.bytes_read);
                bar.set_message(format!("{} rows", p.rows));
                if lines && p.rows > said {
                    said = p.rows;
                    eprintln!("committed: {} rows", p.rows);
                }
            });
            bar.finish_and_clear();
            let rep = rep?;
            if let Some(path) = &report {
                rep.write_csv(path)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&rep)?);
            } else {
                print_import_report(&rep, report.as_deref());
            }
            if rep.cancelled {
                bail!("import cancelled after {} rows; run it again to continue (imported rows are updated, not duplicated)", rep.rows);
            }
        }
        Cmd::Export(ExportCmd::Contacts { file }) => {
            let store = open(&dir)?;
            let total = store.count_contacts()?;
            let bar = ProgressBar::new(total as u64);
            let n = store.export_contacts(&file, &mut |n| bar.set_position(n))?;
            bar.finish_and_clear();
            println!("exported {n} contacts to {}", file.display());
        }
        Cmd::Contacts(c) => contacts(&dir, c)?,
        Cmd::Policies(PoliciesCmd::List {
            contact,
            renewals,
            json,
        }) => {
            let store = open(&dir)?;
            let list = match (renewals, contact) {
                (Some(days), _) => store.renewals_due(today(), days)?,
                (None, Some(c)) => store.list_policies(Some(parse_id("contact", &c)?))?,
                (None, None) => store.list_policies(None)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no policies");
            } else {
                for p in list {
                    println!(
                        "{}  {:<14} {:<16} {:<10} {:>10} {} {:?}  {} → {}  {:?}",
                        p.id,
                        p.policy_number,
                        p.carrier,
                        p.line_of_business,
                        format_minor(p.premium_minor),
                        p.currency,
                        p.payment_frequency,
                        p.effective_date,
                        p.expiry_date.as_deref().unwrap_or("-"),
                        p.status
                    );
                }
            }
        }
        Cmd::Policies(PoliciesCmd::Add {
            contact,
            number,
            carrier,
            line,
            premium,
            currency,
            frequency,
            effective,
            expiry,
            status,
        }) => {
            let mut store = open(&dir)?;
            let p = store.create_policy(&PolicyDraft {
                contact_id: Some(parse_id("contact", &contact)?),
                policy_number: number,
                carrier,
                line_of_business: line,
                premium,
                currency: Some(currency),
                frequency: Some(frequency),
                effective,
                expiry,
                status,
            })?;
            println!("{}", p.id);
        }
        Cmd::Payments(PaymentsCmd::List {
            policy,
            arrears,
            on,
            json,
        }) => {
            let store = open(&dir)?;
            if arrears {
                let list = store.arrears(date_arg("on", &on)?)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else if list.is_empty() {
                    println!("no arrears");
                } else {
                    for a in list {
                        println!(
                            "{}  {:<14} owes {:>10} over {} instalment(s) since {}  (contact {})",
                            a.policy_id,
                            a.policy_number,
                            format_minor(a.outstanding_minor),
                            a.instalments,
                            a.oldest_due,
                            a.contact_id
                        );
                    }
                }
            } else if let Some(p) = policy {
                let list = store.payments_of(parse_id("policy", &p)?)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else if list.is_empty() {
                    println!("no instalments; create them with `crm payments schedule {p}`");
                } else {
                    for pay in list {
                        println!(
                            "{}  due {}  {:>10}  paid {:>10} {} {}",
                            pay.id,
                            pay.due_date,
                            format_minor(pay.amount_due_minor),
                            format_minor(pay.amount_paid_minor),
                            pay.paid_date.as_deref().unwrap_or(""),
                            pay.method.as_deref().unwrap_or("")
                        );
                    }
                }
            }
        }
        Cmd::Payments(PaymentsCmd::Schedule { policy }) => {
            let mut store = open(&dir)?;
            let made = store.schedule_premiums(parse_id("policy", &policy)?)?;
            println!("created {} instalment(s)", made.len());
        }
        Cmd::Payments(PaymentsCmd::Add {
            policy,
            amount,
            method,
            date,
            reference,
        }) => {
            let mut store = open(&dir)?;
            let paid = date_arg("date", &date)?;
            let p = store.record_payment(
                parse_id("policy", &policy)?,
                &amount,
                paid,
                &method,
                reference.as_deref(),
            )?;
            println!("{}", p.id);
        }
        Cmd::Tasks(TasksCmd::List {
            due_today,
            overdue,
            all,
            json,
        }) => {
            let store = open(&dir)?;
            let filter = if due_today {
                TaskFilter::DueToday
            } else if overdue {
                TaskFilter::Overdue
            } else if all {
                TaskFilter::All
            } else {
                TaskFilter::Open
            };
            let list = store.list_tasks(filter, today())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no tasks");
            } else {
                for t in list {
                    println!(
                        "{}  {:<10} {:?}  {}",
                        t.id,
                        t.due_date.as_deref().unwrap_or("-"),
                        t.status,
                        t.title
                    );
                }
            }
        }
        Cmd::Tasks(TasksCmd::Add {
            title,
            due,
            contact,
            assignee,
        }) => {
            let mut store = open(&dir)?;
            let contact_id = contact.map(|c| parse_id("contact", &c)).transpose()?;
            let t = store.create_task(&TaskDraft {
                title,
                due,
                contact_id,
                assignee,
                notes: None,
            })?;
            println!("{}", t.id);
        }
        Cmd::Tasks(TasksCmd::Done { id }) => {
            let mut store = open(&dir)?;
            store.set_task_status(parse_id("task", &id)?, TaskStatus::Done)?;
            println!("done");
        }
        Cmd::Settings(SettingsCmd::Region { code }) => {
            let mut store = open(&dir)?;
            store.set_default_region(&code)?;
            println!("default phone region: {:?}", store.default_region());
        }
        Cmd::Settings(SettingsCmd::Ai {
            endpoint,
            model,
            api_key_env,
            clear,
        }) => {
            let mut store = open(&dir)?;
            if clear {
                for k in ["ai.endpoint", "ai.model", "ai.api_key"] {
                    store.set_setting(k, None)?;
                }
                println!("AI endpoint cleared");
            } else {
                if let Some(e) = &endpoint {
                    let u =
                        crm_core::normalize::base_url(e).map_err(|r| anyhow!("--endpoint {r}"))?;
                    store.set_setting("ai.endpoint", Some(&u))?;
                }
                if let Some(m) = &model {
                    store.set_setting("ai.model", Some(m.trim()))?;
                }
                if let Some(var) = &api_key_env {
                    let key = Zeroizing::new(
                        std::env::var(var)
                            .map_err(|_| anyhow!("--api-key-env: {var} is not set"))?,
                    );
                    store.set_setting("ai.api_key", Some(key.trim()))?;
                }
                println!(
                    "AI endpoint: {} (model {}; key {})",
                    store
                        .setting("ai.endpoint")?
                        .unwrap_or_else(|| "(none)".into()),
                    store
                        .setting("ai.model")?
                        .unwrap_or_else(|| "gpt-4o-mini".into()),
                    if store.setting("ai.api_key")?.is_some() {
                        "set"
                    } else {
                        "not set"
                    }
                );
            }
        }
        Cmd::Settings(SettingsCmd::PluginLimit { name, value }) => {
            let mut check = crm_plugins::Limits::default();
            check
                .set(&name, value.unwrap_or(1).max(1))
                .map_err(|e| anyhow!(e))?;
            if value == Some(0) {
                bail!("{name}: give a positive whole number, or no value for the default");
            }
            let mut store = open(&dir)?;
            let v = value.map(|v| v.to_string());
            store.set_setting(&format!("plugins.limit.{name}"), v.as_deref())?;
            match value {
                Some(v) => println!("plugin limit {name} = {v} for this tenant"),
                None => println!("plugin limit {name} back to its default"),
            }
        }
        Cmd::Settings(SettingsCmd::PluginCa { file }) => {
            let mut store = open(&dir)?;
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
        Cmd::Settings(SettingsCmd::PluginNetwork { policy }) => {
            let mut store = open(&dir)?;
            store.set_setting(
                crm_plugins::runtime::ALLOW_PRIVATE_SETTING,
                Some(if policy == "allow" { "true" } else { "false" }),
            )?;
            println!("plugins may {policy} loopback and private network addresses");
        }
        Cmd::Settings(SettingsCmd::Show) => {
            let store = open(&dir)?;
            let id = store.identity();
            println!("profile:      {}", dir.display());
            println!("tenant:       {}", id.tenant_id);
            println!("device:       {}", id.device_id);
            println!("phone region: {:?}", store.default_region());
            println!("unsynced ops: {}", store.outbox_len()?);
        }
        Cmd::Script(ScriptCmd::Run {
            file,
            grants,
            timeout_ms,
        }) => {
            let limits = crm_plugins::Limits {
                timeout: std::time::Duration::from_millis(timeout_ms.clamp(1, 600_000)),
                ..Default::default()
            };
            // Check the size before reading, and read at most one byte past
            // the limit, so a huge file is never loaded.
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut source = Vec::new();
            std::io::Read::take(f, limits.max_source as u64 + 1)
                .read_to_end(&mut source)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if source.len() > limits.max_source {
                bail!(
                    "limit error: {} is over {} bytes, the most a script may be",
                    file.display(),
                    limits.max_source
                );
            }
            let source = String::from_utf8(source)
                .map_err(|_| anyhow!("syntax error: {} is not UTF-8 text", file.display()))?;
            // Only open the profile when a grant could use it: least privilege.
            let store = if grants.is_empty() {
                None
            } else {
                Some(std::sync::Arc::new(std::sync::Mutex::new(open(&dir)?)))
            };
            let sandbox = crm_plugins::Sandbox::new(limits);
            let ctx = crm_plugins::Context {
                grants: grants.into_iter().collect(),
                store,
                ..Default::default()
            };
            let out = sandbox.run(&source, ctx).map_err(|e| anyhow!("{e}"))?;
            // Marked as the script's, so no printed line can pose as ours.
            for line in &out.output {
                eprintln!("print: {line}");
            }
            if out.output_truncated {
                eprintln!("(output truncated)");
            }
            println!("{}", crm_plugins::text::json_line(&out.value));
        }
        Cmd::Plugin(PluginCmd::Check { dir: plugin_dir }) => {
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
        Cmd::Plugin(PluginCmd::Keygen { out }) => {
            use crm_plugins::package::generate_key;
            let key = generate_key();
            let secret = out.with_extension("key");
            let public = out.with_extension("pub");
            for p in [&secret, &public] {
                if p.exists() {
                    bail!("{} already exists; not overwriting a key", p.display());
                }
            }
            write_private(&secret, &format!("{}\n", hex::encode(key.to_bytes())))?;
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
        Cmd::Plugin(PluginCmd::Pack {
            dir: plugin_dir,
            key,
            out,
        }) => {
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
        Cmd::Plugin(PluginCmd::Verify {
            file,
            trust,
            allow_unsigned,
        }) => {
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
        Cmd::Plugin(PluginCmd::Trust { pubfile, name }) => {
            let text = std::fs::read_to_string(&pubfile)
                .with_context(|| format!("cannot read {}", pubfile.display()))?;
            let key = crm_plugins::package::parse_public_key(&text)?;
            let mut store = open(&dir)?;
            store.trust_publisher(&hex::encode(key.as_bytes()), &name)?;
            println!("trusted publisher {name}");
        }
        Cmd::Plugin(PluginCmd::Install { source, dev }) => {
            let mut store = open(&dir)?;
            let m = crm_plugins::lifecycle::install(&mut store, &source, dev)?;
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
        Cmd::Plugin(PluginCmd::Enable {
            id,
            grants,
            grant_all,
        }) => {
            if grants.is_empty() && !grant_all {
                bail!("say what to grant: --grant PERMISSION (repeatable) or --grant-all (see `crm plugin list`)");
            }
            let mut store = open(&dir)?;
            let granted =
                crm_plugins::lifecycle::enable(&mut store, &id, (!grant_all).then_some(grants))?;
            println!(
                "enabled {id}; granted: {}",
                if granted.is_empty() {
                    "nothing".into()
                } else {
                    granted.join(", ")
                }
            );
        }
        Cmd::Plugin(PluginCmd::Disable { id }) => {
            crm_plugins::lifecycle::disable(&mut open(&dir)?, &id)?;
            println!("disabled {id}");
        }
        Cmd::Plugin(PluginCmd::Uninstall { id, export }) => {
            plugin_cmd::uninstall(&mut open(&dir)?, &id, export.as_deref())?;
        }
        Cmd::Plugin(PluginCmd::Configure { id, settings }) => {
            plugin_cmd::configure(&mut open(&dir)?, &id, &settings)?;
        }
        Cmd::Plugin(PluginCmd::Stats { id, json }) => {
            plugin_cmd::stats(open(&dir)?, id.as_deref(), json)?;
        }
        Cmd::Plugin(PluginCmd::Tick) => plugin_cmd::tick(open_quiet(&dir)?)?,
        Cmd::Plugin(PluginCmd::New { name, template }) => plugin_cmd::new(&name, &template)?,
        Cmd::Plugin(PluginCmd::Templates) => plugin_cmd::templates(),
        Cmd::Plugin(PluginCmd::Test { dir: plugin_dir }) => plugin_cmd::test(&plugin_dir)?,
        Cmd::Plugin(PluginCmd::Widgets) => plugin_cmd::widgets(open_quiet(&dir)?)?,
        Cmd::Plugin(PluginCmd::Reference) => {
            print!(
                "{}",
                crm_plugins::reference::host_api_markdown().map_err(|e| anyhow!(e))?
            );
        }
        Cmd::Plugin(PluginCmd::List) => {
            let store = open(&dir)?;
            let list = store.plugins()?;
            if list.is_empty() {
                println!("no plugins installed");
            }
            for p in list {
                println!(
                    "{} {}  {}  {}  granted: {}",
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
        Cmd::Plugin(PluginCmd::Run { id, action, record }) => {
            plugin_cmd::run_action(open_quiet(&dir)?, &id, &action, record.as_deref())?;
        }
        Cmd::Plugin(PluginCmd::Schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crm_plugins::Manifest::json_schema())?
            );
        }
        Cmd::Login(args) => sync_cmd::login(&dir, open_quiet(&dir)?, args)?,
        Cmd::Sync(args) => sync_cmd::sync(&dir, open_quiet(&dir)?, args)?,
        Cmd::Audit { id } => {
            let store = open(&dir)?;
            for a in store.audit_for(parse_id("record", &id)?)? {
                println!("{}  {}  {}  {}", a.at, a.action, a.actor, a.changes);
            }
        }
    }
    Ok(())
}

fn contacts(dir: &Path, cmd: ContactsCmd) -> Result<()> {
    match cmd {
        ContactsCmd::List {
            search,
            stage,
            owner,
            tag,
            limit,
            offset,
            json,
        } => {
            let store = open(dir)?;
            let stage = stage
                .map(|s| {
                    Stage::parse(&s)
                        .ok_or_else(|| anyhow!("--stage {s:?}: use prospect, client or lapsed"))
                })
                .transpose()?;
            let list = store.list_contacts(&ContactQuery {
                search,
                stage,
                owner,
                tag,
                limit: Some(limit),
                offset,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no contacts");
            } else {
                for c in list {
                    print_contact_line(&c);
                }
            }
        }
        ContactsCmd::Count => println!("{}", open(dir)?.count_contacts()?),
        ContactsCmd::Show { id, json } => {
            let store = open(dir)?;
            let id = parse_id("contact", &id)?;
            let c = store.contact(id)?;
            let policies = store.list_policies(Some(id))?;
            let timeline = store.timeline(id)?;
            if json {
                let v =
                    serde_json::json!({ "contact": c, "policies": policies, "timeline": timeline });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}  ({:?}, {})", c.display_name, c.kind, c.stage.as_str());
                println!("id:       {}", c.id);
                let show = |k: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        println!("{k:<9} {v}");
                    }
                };
                show("company:", &c.company_name);
                show("owner:", &c.owner);
                if !c.emails.is_empty() {
                    println!("emails:   {}", c.emails.join(", "));
                }
                if !c.phones.is_empty() {
                    println!("phones:   {}", c.phones.join(", "));
                }
                // The address is shown on one line; every other detail
                // under its declared label.
                const ADDRESS: [&str; 6] = [
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postcode",
                    "country",
                ];
                let addr: Vec<&str> = ADDRESS.iter().filter_map(|n| c.details.get(n)).collect();
                if !addr.is_empty() {
                    println!("address:  {}", addr.join(", "));
                }
                for (f, v) in c.details.iter() {
                    if let (Some(v), false) = (v, ADDRESS.contains(&f.name)) {
                        println!("{}: {v}", f.label.unwrap_or(f.name).to_lowercase());
                    }
                }
                if !c.tags.is_empty() {
                    println!("tags:     {}", c.tags.join(", "));
                }
                for (k, v) in &c.custom {
                    println!("{k}: {v}");
                }
                for p in &policies {
                    println!(
                        "policy:   {} {} {} {} {} {:?}",
                        p.policy_number,
                        p.carrier,
                        p.line_of_business,
                        format_minor(p.premium_minor),
                        p.currency,
                        p.status
                    );
                }
                for a in &timeline {
                    println!("{}  {:?}: {}", a.occurred_at, a.kind, a.body);
                }
            }
        }
        ContactsCmd::Add(fields) => {
            let mut store = open(dir)?;
            let mut draft = ContactDraft::default();
            for (f, v) in fields.pairs()? {
                draft.set(&f, &v)?;
            }
            let c = store.create_contact(&draft)?;
            println!("{}", c.id);
        }
        ContactsCmd::Edit { id, fields } => {
            let mut store = open(dir)?;
            let pairs = fields.pairs()?;
            if pairs.is_empty() {
                bail!("nothing to change; give --first-name, --email, --set FIELD=VALUE …");
            }
            let c = store.update_contact(parse_id("contact", &id)?, &pairs)?;
            print_contact_line(&c);
        }
        ContactsCmd::Delete { id } => {
            let mut store = open(dir)?;
            store.delete_contact(parse_id("contact", &id)?)?;
            println!("deleted");
        }
        ContactsCmd::Log { id, text, kind } => {
            let mut store = open(dir)?;
            let k = ActivityKind::parse(&kind)
                .filter(|k| *k != ActivityKind::StatusChange)
                .ok_or_else(|| anyhow!("--kind {kind:?}: use note, call, email or meeting"))?;
            let a = store.log_activity(parse_id("contact", &id)?, k, &text)?;
            println!("{}", a.id);
        }
    }
    Ok(())
}

/// Write a file only its owner can read (created new; never overwrites).
fn write_private(path: &Path, text: &str) -> Result<()> {
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

fn print_contact_line(c: &Contact) {
    println!(
        "{}  {:<30} {:<9} {:<32} {}",
        c.id,
        c.display_name,
        c.stage.as_str(),
        c.emails.first().map(String::as_str).unwrap_or(""),
        c.phones.first().map(String::as_str).unwrap_or("")
    );
}

fn print_import_report(r: &ImportReport, report_file: Option<&Path>) {
    let verb = if r.dry_run { "would be " } else { "" };
    println!(
        "{}: {} rows ({}, delimiter {:?})",
        r.file.display(),
        r.rows,
        r.encoding,
        r.delimiter
    );
    for c in &r.columns {
        match &c.field {
            Some(f) => println!("  column {:?} → {f}", c.header),
            None => println!(
                "  column {:?} not imported (map it with --map \"{}=FIELD\")",
                c.header, c.header
            ),
        }
    }
    println!(
        "{verb}created {}, {verb}updated {}, unchanged {}, skipped {}, blank {}",
        r.created, r.updated, r.unchanged, r.skipped, r.blank
    );
    for p in r.problems.iter().take(20) {
        match &p.column {
            Some(c) => println!("  row {}, column {c:?}: {}", p.row, p.reason),
            None => println!("  row {}: {}", p.row, p.reason),
        }
    }
    if r.skipped > 20 {
        match report_file {
            Some(f) => println!("  … all problems are in {}", f.display()),
            None => println!(
                "  … and {} more (use --report FILE for all)",
                r.skipped - 20
            ),
        }
    }
    if r.possible_duplicate_count > 0 {
        println!(
            "possible duplicates (same phone or record id, different email): {}",
            r.possible_duplicate_count
        );
        for d in r.possible_duplicates.iter().take(10) {
            println!(
                "  row {}: {} and {} share {} {}",
                d.row, d.contact_id, d.other_contact_id, d.shared, d.value
            );
        }
    }
}
