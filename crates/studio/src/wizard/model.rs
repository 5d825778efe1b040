//! The wizard's model: what a person chose (a trigger, conditions, actions,
//! a name), kept in the plugin as `wizard.json` so the wizard can reopen it.
//! Plain data; [`super::validate`] checks it and names the field at fault.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The model's format version.
pub const MODEL_VERSION: u32 = 1;

/// A wizard-made automation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    /// Format version ([`MODEL_VERSION`]).
    pub version: u32,
    /// What people call it ("Web lead follow-up").
    pub name: String,
    /// The plugin id; made from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it runs.
    pub trigger: Trigger,
    /// Whether all conditions must hold, or any one.
    #[serde(default, rename = "match")]
    pub match_: Match,
    /// Rows of field, operator, value.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What it does, in order.
    pub actions: Vec<ActionSpec>,
    /// The files the wizard wrote from this model, by digest: set by the
    /// generator, so a plugin stays wizard-made after the generator's
    /// output changes and stops being one when its files are edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<Made>,
}

/// Digests (SHA-256, hex) of the files the wizard generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Made {
    /// `main.rhai`.
    pub script: String,
    /// `manifest.json`.
    pub manifest: String,
}

/// SHA-256 of `bytes`, hex.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// When an automation runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A contact is created in the app (or pulled from a colleague).
    ContactCreated,
    /// A contact arrives by CSV import.
    ContactImported,
    /// A contact is changed.
    ContactUpdated,
    /// A contact moves to a stage.
    ContactStageChanged {
        /// The stage it moves to.
        stage: String,
    },
    /// A policy is created.
    PolicyCreated,
    /// A policy comes up for renewal: checked every morning, once per
    /// policy and expiry date.
    PolicyRenewalDue {
        /// How many days before expiry.
        days: i64,
    },
    /// A premium instalment is overdue: checked every morning, once per
    /// policy and oldest unpaid date.
    InstalmentOverdue {
        /// By how many days.
        days: i64,
    },
    /// A task is overdue: checked every morning, once per task.
    TaskOverdue,
    /// On a schedule, for every contact.
    Schedule {
        /// `day`, `weekday`, or a day of the week (`monday` …).
        every: String,
        /// The time, `HH:MM`.
        at: String,
    },
    /// A button on a contact or a policy.
    Button {
        /// `contact` or `policy`.
        on: String,
        /// The button's label.
        label: String,
    },
}

/// All conditions, or any one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// Every row must hold.
    #[default]
    All,
    /// One row is enough.
    Any,
}

/// One condition row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The field (`source`, `custom.lead_score`, `contact.stage` for the
    /// contact of a policy, instalment or task).
    pub field: String,
    /// The operator.
    pub op: Op,
    /// The value: text, a number, a list (`is_one_of`), a pair (`between`),
    /// a count of days; absent for `is_empty`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

/// Condition operators; which ones a field offers depends on its kind
/// ([`super::catalog::Kind::ops`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Text equal (ignoring case).
    Is,
    /// Text not equal (ignoring case).
    IsNot,
    /// Text contains (ignoring case).
    Contains,
    /// Nothing there.
    IsEmpty,
    /// Something there.
    IsNotEmpty,
    /// Number equal.
    Eq,
    /// Number less than.
    Lt,
    /// Number greater than.
    Gt,
    /// Number between two (inclusive).
    Between,
    /// Date before.
    Before,
    /// Date after.
    After,
    /// Date within the next N days (today included).
    WithinNextDays,
    /// Date within the last N days (today included).
    WithinLastDays,
    /// A list holds this item (ignoring case).
    Has,
    /// A choice is one of these.
    IsOneOf,
}

/// One action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionSpec {
    /// Set a contact field or custom field.
    SetField {
        /// The field (`source`, `custom.segment`).
        field: String,
        /// Its new value (placeholders such as `{first_name}` filled in).
        value: String,
    },
    /// Add a tag to the contact.
    AddTag {
        /// The tag.
        tag: String,
    },
    /// Remove a tag from the contact.
    RemoveTag {
        /// The tag.
        tag: String,
    },
    /// Move the contact to a stage.
    MoveStage {
        /// The stage.
        stage: String,
    },
    /// Create a task about the contact.
    CreateTask {
        /// The title (placeholders filled in).
        title: String,
        /// Due this many days from the day it runs (0: today).
        #[serde(default)]
        due_in_days: i64,
        /// Assign it to the contact's owner.
        #[serde(default = "yes")]
        for_owner: bool,
    },
    /// Add a note to the contact's timeline.
    LogNote {
        /// The note (placeholders filled in).
        text: String,
    },
    /// Show the user a message.
    Notify {
        /// The message (placeholders filled in).
        message: String,
        /// `info`, `success`, `warning` or `error`.
        #[serde(default = "info")]
        level: String,
    },
    /// Ask the configured AI to choose one of some labels into a field.
    AiChoose {
        /// The field the label goes into.
        field: String,
        /// The labels to choose from.
        labels: Vec<String>,
        /// What to ask, beside the contact's details (optional).
        #[serde(default)]
        question: String,
    },
    /// Send the record as JSON to an https address.
    PostJson {
        /// The address; its origin becomes the plugin's one network permission.
        url: String,
    },
}

fn yes() -> bool {
    true
}

fn info() -> String {
    "info".into()
}
