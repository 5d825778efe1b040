//! The records and arguments that cross IPC. Built by hand from the core's
//! types (the core's own types are not the wire format), exported to
//! TypeScript by `ts-rs` into `src-ui/src/bindings.ts`.
//!
//! Conventions: ids are strings (UUIDs), dates ISO `YYYY-MM-DD`, instants
//! RFC 3339, money in minor units (pence) as numbers, enums as snake_case
//! strings with their choices listed by [`Meta`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the app is with the profile: the first screen depends on it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ProfileState {
    /// The profile folder.
    pub data_dir: String,
    /// A profile exists there.
    pub exists: bool,
    /// It is open.
    pub unlocked: bool,
    /// Opening it needs the passphrase (no keyring key).
    pub needs_passphrase: bool,
    /// Why the last automatic open failed, if it did.
    pub problem: Option<String>,
}

/// Fixed choices the forms offer.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Meta {
    /// Contact stages.
    #[ts(type = "Array<Stage>")]
    pub stages: Vec<String>,
    /// Contact kinds.
    #[ts(type = "Array<ContactKind>")]
    pub kinds: Vec<String>,
    /// Policy payment frequencies.
    #[ts(type = "Array<PaymentFrequency>")]
    pub frequencies: Vec<String>,
    /// Policy statuses.
    #[ts(type = "Array<PolicyStatus>")]
    pub policy_statuses: Vec<String>,
    /// Payment methods.
    #[ts(type = "Array<PaymentMethod>")]
    pub payment_methods: Vec<String>,
    /// Timeline entry kinds a person can log.
    #[ts(type = "Array<ActivityKind>")]
    pub activity_kinds: Vec<String>,
    /// Fields an import column can map to (besides `custom.NAME` and `ignore`).
    pub import_fields: Vec<String>,
    /// A contact's details (job title, address, preferred contact
    /// method…) as declared: the form and the contact page show them from
    /// this list, so a detail declared in the core needs no change here.
    pub contact_details: Vec<DetailSpec>,
    /// Owners in use.
    pub owners: Vec<String>,
    /// Tags in use.
    pub tags: Vec<String>,
}

/// One declared detail of a record.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DetailSpec {
    /// Its name (the key in `details`, and in a validation error's field).
    pub name: String,
    /// How people see it.
    pub label: String,
    /// The values it may take, in order (empty: free text).
    pub choices: Vec<String>,
    /// It holds long text (a text area, not a line).
    pub long: bool,
}

/// One line of the contacts list (small: 100,000 of them scroll).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ContactRow {
    /// Id.
    pub id: String,
    /// Name to show.
    pub display_name: String,
    /// Company.
    pub company_name: Option<String>,
    /// Stage.
    #[ts(type = "Stage")]
    pub stage: String,
    /// Owner.
    pub owner: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Primary email.
    pub email: Option<String>,
    /// Primary phone (E.164).
    pub phone: Option<String>,
    /// Town.
    pub city: Option<String>,
}

/// Which contacts, and which window of them.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct ContactQueryArgs {
    /// Text in the name, company, email or phone.
    #[ts(optional)]
    pub search: Option<String>,
    /// Only this stage.
    #[ts(optional)]
    pub stage: Option<String>,
    /// Only this owner.
    #[ts(optional)]
    pub owner: Option<String>,
    /// Only this tag.
    #[ts(optional)]
    pub tag: Option<String>,
    /// Skip this many.
    pub offset: u32,
    /// At most this many (capped at 500).
    pub limit: u32,
}

/// A window of the contacts list and how many match in all.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ContactPage {
    /// Contacts matching the filter.
    pub total: u32,
    /// Index of the first row.
    pub offset: u32,
    /// The rows.
    pub rows: Vec<ContactRow>,
}

/// A contact with every field.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ContactDto {
    /// Id.
    pub id: String,
    /// person or company.
    #[ts(type = "ContactKind")]
    pub kind: String,
    /// Name to show.
    pub display_name: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Stage.
    #[ts(type = "Stage")]
    pub stage: String,
    /// Owner.
    pub owner: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Emails, primary first.
    pub emails: Vec<String>,
    /// Phones (E.164), primary first.
    pub phones: Vec<String>,
    /// The details that are set, by name ([`Meta::contact_details`] lists
    /// them all).
    pub details: BTreeMap<String, String>,
    /// Date of birth.
    pub date_of_birth: Option<String>,
    /// Custom fields.
    pub custom: BTreeMap<String, String>,
}

/// The contact form: every field as typed. On create, empty fields are left
/// out; on edit, an empty field clears it.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct ContactForm {
    /// person or company.
    pub kind: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Company.
    pub company_name: String,
    /// Stage.
    pub stage: String,
    /// Owner.
    pub owner: String,
    /// Tags, comma separated.
    pub tags: String,
    /// Emails, one per entry.
    pub emails: Vec<String>,
    /// Phones as typed.
    pub phones: Vec<String>,
    /// The details as typed, by name (a declared detail left out is
    /// empty).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// Date of birth.
    pub date_of_birth: String,
    /// On edit, the fields the person changed (the form's names: `city`,
    /// `emails`…): only those are written, so a colleague's change to
    /// another field that arrived while the form was open is kept. Absent:
    /// every field.
    #[serde(default)]
    #[ts(optional)]
    pub changed: Option<Vec<String>>,
}

/// An insurance policy.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PolicyDto {
    /// Id.
    pub id: String,
    /// Holder.
    pub contact_id: String,
    /// Policy number.
    pub policy_number: String,
    /// Carrier.
    pub carrier: String,
    /// Line of business.
    pub line_of_business: String,
    /// Premium per period, minor units.
    #[ts(type = "number")]
    pub premium_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Payment frequency.
    #[ts(type = "PaymentFrequency")]
    pub payment_frequency: String,
    /// In force from.
    pub effective_date: String,
    /// Ends (renewal due).
    pub expiry_date: Option<String>,
    /// Status.
    #[ts(type = "PolicyStatus")]
    pub status: String,
}

/// The new-policy form, as typed.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct PolicyForm {
    /// Holder.
    pub contact_id: String,
    /// Policy number.
    pub policy_number: String,
    /// Carrier.
    pub carrier: String,
    /// Line of business.
    pub line_of_business: String,
    /// Premium per period, e.g. "42.50".
    pub premium: String,
    /// Currency (empty: GBP).
    pub currency: String,
    /// Frequency (empty: monthly).
    pub frequency: String,
    /// Effective date.
    pub effective: String,
    /// Expiry date (empty: a year after effective).
    pub expiry: String,
    /// Status (empty: active).
    pub status: String,
}

/// An instalment due and what was paid against it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PaymentDto {
    /// Id.
    pub id: String,
    /// The policy.
    pub policy_id: String,
    /// Due date.
    pub due_date: String,
    /// Due, minor units.
    #[ts(type = "number")]
    pub amount_due_minor: i64,
    /// Paid, minor units.
    #[ts(type = "number")]
    pub amount_paid_minor: i64,
    /// Still owed, minor units.
    #[ts(type = "number")]
    pub outstanding_minor: i64,
    /// When paid.
    pub paid_date: Option<String>,
    /// How.
    #[ts(type = "PaymentMethod | null")]
    pub method: Option<String>,
    /// Bank or card reference.
    pub reference: Option<String>,
    /// Due before today and not fully paid.
    pub overdue: bool,
}

/// The record-a-payment form.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct PaymentForm {
    /// The policy.
    pub policy_id: String,
    /// Amount, e.g. "42.50".
    pub amount: String,
    /// Method (see [`Meta::payment_methods`]).
    pub method: String,
    /// Date paid (empty: today).
    pub date: String,
    /// Reference.
    pub reference: String,
}

/// Arrears of one policy today.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ArrearsDto {
    /// The policy.
    pub policy_id: String,
    /// Its number.
    pub policy_number: String,
    /// Holder.
    pub contact_id: String,
    /// Holder's name.
    pub contact_name: String,
    /// Owed, minor units.
    #[ts(type = "number")]
    pub outstanding_minor: i64,
    /// Instalments unpaid or part-paid.
    pub instalments: u32,
    /// Oldest unpaid due date.
    pub oldest_due: String,
}

/// A policy up for renewal, with its holder's name.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RenewalDto {
    /// The policy.
    pub policy: PolicyDto,
    /// Holder's name.
    pub contact_name: String,
    /// Days until expiry (negative: past).
    #[ts(type = "number")]
    pub days_left: i64,
}

/// A task.
#[derive(Clone, Debug, Serialize, TS)]
pub struct TaskDto {
    /// Id.
    pub id: String,
    /// What to do.
    pub title: String,
    /// When.
    pub due_date: Option<String>,
    /// open, done or cancelled.
    #[ts(type = "TaskStatus")]
    pub status: String,
    /// About which contact.
    pub contact_id: Option<String>,
    /// That contact's name.
    pub contact_name: Option<String>,
    /// Who should do it.
    pub assignee: Option<String>,
    /// More detail.
    pub notes: Option<String>,
    /// Open and past due.
    pub overdue: bool,
}

/// The new-task form.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct TaskForm {
    /// What to do.
    pub title: String,
    /// Due date (empty: none).
    pub due: String,
    /// About which contact (empty: none).
    pub contact_id: String,
    /// Who (empty: nobody yet).
    pub assignee: String,
    /// More detail.
    pub notes: String,
}

/// Which tasks.
#[derive(Clone, Copy, Debug, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TaskView {
    /// Open tasks assigned to me (or to nobody).
    Mine,
    /// Open and due today.
    DueToday,
    /// Open and past due.
    Overdue,
    /// Every open task.
    Open,
    /// Everything.
    All,
}

/// A timeline entry.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ActivityDto {
    /// Id.
    pub id: String,
    /// note, call, email, meeting, status_change.
    #[ts(type = "ActivityKind")]
    pub kind: String,
    /// Text.
    pub body: String,
    /// When (RFC 3339).
    pub occurred_at: String,
    /// Who, in words ("you", "plugin acme.x", "import", "sync").
    pub actor: String,
}

/// A plugin button on a record or list.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginActionDto {
    /// Plugin id.
    pub plugin_id: String,
    /// Plugin name.
    pub plugin_name: String,
    /// Action id.
    pub action_id: String,
    /// Button label.
    pub label: String,
    /// contact, policy, contact_list or global.
    pub target: String,
}

/// A plugin contribution the host drew from data (never markup).
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginPanel {
    /// Plugin id.
    pub plugin_id: String,
    /// Item id.
    pub item_id: String,
    /// Title.
    pub title: String,
    /// stat, table, list, chart, form, text.
    pub kind: String,
    /// The data (a map with `kind` and `title` set by the host), or `null`
    /// when the plugin failed (see `error`).
    pub data: serde_json::Value,
    /// Why it could not be drawn.
    pub error: Option<String>,
}

/// Everything the contact screen shows.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ContactDetail {
    /// The contact.
    pub contact: ContactDto,
    /// Its policies.
    pub policies: Vec<PolicyDto>,
    /// Instalments per policy id.
    pub payments: BTreeMap<String, Vec<PaymentDto>>,
    /// Total owed today, minor units.
    #[ts(type = "number")]
    pub arrears_minor: i64,
    /// Its tasks.
    pub tasks: Vec<TaskDto>,
    /// Timeline, newest first.
    pub timeline: Vec<ActivityDto>,
    /// Plugin buttons for a contact.
    pub actions: Vec<PluginActionDto>,
    /// Plugin record panels, filled.
    pub panels: Vec<PluginPanel>,
}

/// The dashboard.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Dashboard {
    /// Contacts in all.
    pub contacts: u32,
    /// Policies renewing in the next 30 days.
    pub renewals_due: u32,
    /// Policies in arrears.
    pub arrears_policies: u32,
    /// Owed in all, minor units.
    #[ts(type = "number")]
    pub arrears_minor: i64,
    /// Open tasks due today.
    pub tasks_due_today: u32,
    /// Open tasks past due.
    pub tasks_overdue: u32,
    /// Plugin widgets, filled.
    pub widgets: Vec<PluginPanel>,
    /// Plugin buttons for no record in particular.
    pub actions: Vec<PluginActionDto>,
}

/// A column of the file and the field it goes to.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ColumnDto {
    /// 0-based.
    pub index: u32,
    /// Header text.
    pub header: String,
    /// Target field (`None`: ignored).
    pub field: Option<String>,
    /// Set by the user rather than detected.
    pub explicit: bool,
}

/// What the import wizard shows before running.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportPreview {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// Detected encoding.
    pub encoding: String,
    /// Detected delimiter.
    pub delimiter: String,
    /// Columns and their mapping.
    pub columns: Vec<ColumnDto>,
    /// The first rows, as in the file.
    pub sample: Vec<Vec<String>>,
}

/// A column the user mapped by hand.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct ColumnChoice {
    /// Header text.
    pub column: String,
    /// Field, `custom.NAME` or `ignore`.
    pub field: String,
}

/// Start an import.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct ImportArgs {
    /// The file.
    pub path: String,
    /// Mappings that override detection.
    pub mappings: Vec<ColumnChoice>,
    /// Check only, write nothing.
    pub dry_run: bool,
}

/// Progress of the running import (event `import-progress`).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportProgress {
    /// `reading` the file, then `plugins` running their hooks.
    pub phase: String,
    /// Rows read (or hook runs done).
    #[ts(type = "number")]
    pub done: u64,
    /// Bytes read so far.
    #[ts(type = "number")]
    pub bytes_read: u64,
    /// File size (or hook runs in all).
    #[ts(type = "number")]
    pub total: u64,
}

/// A row the import skipped, and why.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RowProblemDto {
    /// 1-based row of the file (the header is row 1).
    #[ts(type = "number")]
    pub row: u64,
    /// The column, when one is to blame.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ImportReportDto {
    /// Data rows read.
    #[ts(type = "number")]
    pub rows: u64,
    /// New contacts.
    #[ts(type = "number")]
    pub created: u64,
    /// Existing contacts changed.
    #[ts(type = "number")]
    pub updated: u64,
    /// Existing contacts already up to date.
    #[ts(type = "number")]
    pub unchanged: u64,
    /// Rows skipped for a problem.
    #[ts(type = "number")]
    pub skipped: u64,
    /// Blank rows.
    #[ts(type = "number")]
    pub blank: u64,
    /// The problems (capped; `skipped` counts them all).
    pub problems: Vec<RowProblemDto>,
    /// Pairs that share a phone but not an email.
    #[ts(type = "number")]
    pub possible_duplicates: u64,
    /// Nothing was written.
    pub dry_run: bool,
    /// Stopped by the user; rows so far are kept.
    pub cancelled: bool,
}

/// A permission and what it means in plain words.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PermissionDto {
    /// e.g. `contacts:write`.
    pub permission: String,
    /// e.g. "Change and delete contacts".
    pub description: String,
    /// Granted by an admin.
    pub granted: bool,
}

/// A field of a plugin's settings form.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SettingFieldDto {
    /// Key.
    pub key: String,
    /// Label.
    pub label: String,
    /// string, integer, number, boolean or secret.
    pub kind: String,
    /// Must be filled before enabling.
    pub required: bool,
    /// Allowed values (empty: any).
    pub choices: Vec<String>,
    /// The current value (secrets are never sent: `null` with `is_set`).
    pub value: serde_json::Value,
    /// Has a value (for secrets).
    pub is_set: bool,
    /// The value shown is the default the agency's catalog sets (nothing
    /// was entered on this device).
    pub from_agency: bool,
}

/// Data kept in the profile from a plugin the agency's catalog removed.
#[derive(Clone, Debug, Serialize, TS)]
pub struct KeptPluginDataDto {
    /// The plugin.
    pub plugin_id: String,
    /// When it was kept.
    pub at: String,
    /// Its size in bytes (JSON).
    #[ts(type = "number")]
    pub bytes: u64,
}

/// A plugin's health.
#[derive(Clone, Debug, Serialize, TS)]
pub struct HealthDto {
    /// Runs recorded.
    pub runs: u32,
    /// Failed among them.
    pub errors: u32,
    /// Median duration, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Last failure.
    pub last_error: Option<String>,
}

/// Where an installed plugin's code comes from: what people are told
/// before they enable it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PluginOrigin {
    /// A template that ships with the app, installed as shipped.
    App,
    /// Made in this app's Studio wizard, unchanged since.
    Studio,
    /// Signed by a publisher the tenant trusts.
    Signed,
    /// Unsigned code installed in developer mode.
    Unsigned,
}

/// An installed plugin.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginDto {
    /// Where its code comes from.
    pub origin: PluginOrigin,
    /// What the agency's catalog says of it (`None` before any catalog).
    pub catalog: Option<String>,
    /// The agency's catalog stops it: it cannot be enabled here.
    pub stopped_by_catalog: bool,
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Author.
    pub author: String,
    /// What it does.
    pub description: String,
    /// Runs.
    pub enabled: bool,
    /// Why the system disabled it.
    pub disabled_reason: Option<String>,
    /// Signed by (publisher key, short), `None`: unsigned (developer mode).
    pub signer: Option<String>,
    /// What it asks for, and what is granted.
    pub permissions: Vec<PermissionDto>,
    /// Events it listens to, in words.
    pub hooks: Vec<String>,
    /// Schedules, in words.
    pub schedules: Vec<String>,
    /// Its buttons.
    pub actions: Vec<PluginActionDto>,
    /// Its settings form.
    pub settings: Vec<SettingFieldDto>,
    /// Health.
    pub health: HealthDto,
}

/// A template the app can install.
#[derive(Clone, Debug, Serialize, TS)]
pub struct TemplateDto {
    /// Template name (its folder).
    pub name: String,
    /// Its title ("Renewal reminders").
    pub title: String,
    /// What it does.
    pub description: String,
    /// When it runs, in words.
    pub runs: Vec<String>,
    /// What it will be allowed to do, in words.
    pub may: Vec<String>,
    /// Already installed as.
    pub installed_as: Option<String>,
}

/// What running a plugin action did.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ActionResult {
    /// The script's value.
    pub value: serde_json::Value,
    /// Messages for the user.
    pub notifications: Vec<NoticeDto>,
    /// Records written.
    pub writes: u32,
    /// Milliseconds.
    pub elapsed_ms: f64,
}

/// A message for the user.
#[derive(Clone, Debug, Serialize, TS)]
pub struct NoticeDto {
    /// info, success, warning or error.
    pub level: String,
    /// Text (plain, never HTML).
    pub message: String,
    /// Who says it (a plugin id), if not the app.
    pub source: Option<String>,
}

/// Sync state.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SyncStatusDto {
    /// Server, when signed in.
    pub server: Option<String>,
    /// Signed in as an admin of the agency (the admin console shows).
    pub admin: bool,
    /// Account.
    pub email: Option<String>,
    /// Last success.
    pub last_success: Option<String>,
    /// Changes waiting to go up.
    #[ts(type = "number")]
    pub pending: i64,
    /// Changes the server refused, kept aside.
    #[ts(type = "number")]
    pub quarantined: i64,
    /// Received records this device could not store yet, kept and tried
    /// again at every sync.
    #[ts(type = "number")]
    pub held: i64,
    /// Last error.
    pub last_error: Option<String>,
    /// Signed in with a one-time password: nothing syncs until its owner
    /// chooses their own (`sync_change_password`).
    pub must_change_password: bool,
}

/// Where automatic sync stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Not signed in.
    #[default]
    Off,
    /// Everything sent and received.
    Synced,
    /// A sync is running.
    Syncing,
    /// Changes wait to go.
    Waiting,
    /// The server cannot be reached; retrying.
    Offline,
    /// Something else went wrong (see the message).
    Error,
}

impl SyncState {
    /// The name the window and tests see.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Off => "off",
            SyncState::Synced => "synced",
            SyncState::Syncing => "syncing",
            SyncState::Waiting => "waiting",
            SyncState::Offline => "offline",
            SyncState::Error => "error",
        }
    }
}

impl PartialEq<&str> for SyncState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Where automatic sync stands, for the window's frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize, TS)]
pub struct SyncStateDto {
    /// Where it stands (`message` says more for `offline` and `error`).
    pub state: SyncState,
    /// Changes waiting to go up.
    #[ts(type = "number")]
    pub pending: i64,
    /// Changes the server refused, kept aside (see the Sync screen).
    #[ts(type = "number")]
    pub set_aside: i64,
    /// What went wrong and what to do, for `offline` and `error`.
    pub message: Option<String>,
    /// When the last sync finished (RFC 3339).
    pub last_success: Option<String>,
    /// Seconds until the next try after a failure.
    pub retry_in_s: Option<u32>,
}

/// A change the server refused, kept on this computer until the person
/// sends it again or gives it up.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SetAsideDto {
    /// What retry and discard name.
    pub op_id: String,
    /// The kind of record, in words ("contact", "policy").
    pub what: String,
    /// The record's id (a contact's opens its page).
    pub row_id: String,
    /// The record's name where it has one here ("Ann Smith").
    pub name: Option<String>,
    /// The contact page to open for it, when there is one.
    pub contact_id: Option<String>,
    /// The values it carried, as `field: value` lines.
    pub fields: Vec<String>,
    /// The server's reason.
    pub reason: String,
    /// When it was set aside (RFC 3339).
    pub at: String,
}

/// What a sync did.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SyncReportDto {
    /// Changes sent.
    pub pushed: u32,
    /// Changes received.
    pub pulled: u32,
    /// Records removed (left your view).
    pub evicted: u32,
    /// Changes the server refused.
    pub quarantined: u32,
}

/// Sign in.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct LoginArgs {
    /// Server URL.
    pub server: String,
    /// Email.
    pub email: String,
    /// Password (never stored).
    pub password: String,
    /// The password to choose when `password` is a one-time one from an
    /// invitation (set at once, so the account syncs).
    #[serde(default)]
    #[ts(optional)]
    pub new_password: Option<String>,
}

/// Profile settings.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SettingsDto {
    /// Profile folder.
    pub data_dir: String,
    /// Tenant id.
    pub tenant_id: String,
    /// This device.
    pub device_id: String,
    /// Where the database key is: `keyring` or `passphrase`.
    pub key_storage: String,
    /// Default phone region (ISO 3166 alpha-2).
    pub region: String,
    /// AI endpoint.
    pub ai_endpoint: Option<String>,
    /// AI model.
    pub ai_model: Option<String>,
    /// An AI key is stored.
    pub ai_key_set: bool,
    /// Unsigned plugins may be installed.
    pub developer_mode: bool,
    /// This build's version (the workspace's, one place: `Cargo.toml`).
    pub app_version: String,
}

/// Change the AI settings. `api_key`: `None` keeps it, `""` removes it.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct AiSettingsArgs {
    /// Endpoint URL (empty: none).
    pub endpoint: String,
    /// Model (empty: the default).
    pub model: String,
    /// New key.
    #[ts(optional)]
    pub api_key: Option<String>,
}
