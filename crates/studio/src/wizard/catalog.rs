//! What the wizard offers, as data: triggers, the fields of each kind of
//! record with their kinds (which decide the operators), and actions. The
//! app's wizard screen is drawn from [`catalog`]; nothing is listed twice.
//!
//! Field names are the plugin contract's (`crm_plugins::contract`): a test
//! checks every field here against it.

use serde::Serialize;

use super::model::Op;

/// A field's kind: what its values are and which operators it offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Free text.
    Text,
    /// A whole number.
    Number,
    /// Money, held in minor units (pence); typed as pounds.
    Money,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A list of text (tags, emails).
    List,
    /// One of fixed choices (stage, status).
    Choice,
}

impl Kind {
    /// The operators a field of this kind offers, in the order shown.
    pub fn ops(self) -> &'static [Op] {
        match self {
            Kind::Text => &[Op::Is, Op::IsNot, Op::Contains, Op::IsEmpty, Op::IsNotEmpty],
            Kind::Number | Kind::Money => &[
                Op::Eq,
                Op::Lt,
                Op::Gt,
                Op::Between,
                Op::IsEmpty,
                Op::IsNotEmpty,
            ],
            Kind::Date => &[
                Op::Before,
                Op::After,
                Op::WithinNextDays,
                Op::WithinLastDays,
                Op::IsEmpty,
                Op::IsNotEmpty,
            ],
            Kind::List => &[Op::Has, Op::IsEmpty, Op::IsNotEmpty],
            Kind::Choice => &[Op::IsOneOf, Op::Is, Op::IsNot],
        }
    }
}

/// The words an operator is shown with.
pub fn op_words(op: Op) -> &'static str {
    match op {
        Op::Is => "is",
        Op::IsNot => "is not",
        Op::Contains => "contains",
        Op::IsEmpty => "is empty",
        Op::IsNotEmpty => "is not empty",
        Op::Eq => "=",
        Op::Lt => "<",
        Op::Gt => ">",
        Op::Between => "between",
        Op::Before => "is before",
        Op::After => "is after",
        Op::WithinNextDays => "is within the next … days",
        Op::WithinLastDays => "was within the last … days",
        Op::Has => "contains",
        Op::IsOneOf => "is one of",
    }
}

/// A field the wizard offers.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Field {
    /// Its name in the plugin contract.
    pub name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Its choices (for [`Kind::Choice`]).
    pub choices: &'static [&'static str],
    /// Whether an action may set it.
    pub settable: bool,
}

const fn f(name: &'static str, label: &'static str, kind: Kind) -> Field {
    Field {
        name,
        label,
        kind,
        choices: &[],
        settable: false,
    }
}

const fn set(name: &'static str, label: &'static str) -> Field {
    Field {
        name,
        label,
        kind: Kind::Text,
        choices: &[],
        settable: true,
    }
}

/// Contact stages.
pub const STAGES: &[&str] = &["prospect", "client", "lapsed"];

/// A contact's fields.
pub const CONTACT: &[Field] = &[
    set("first_name", "First name"),
    set("last_name", "Last name"),
    set("company_name", "Company"),
    set("job_title", "Job title"),
    f("display_name", "Name", Kind::Text),
    Field {
        name: "stage",
        label: "Stage",
        kind: Kind::Choice,
        choices: STAGES,
        settable: true,
    },
    set("owner", "Owner"),
    set("source", "Source"),
    f("tags", "Tags", Kind::List),
    f("emails", "Emails", Kind::List),
    f("phones", "Phones", Kind::List),
    set("city", "City"),
    set("region", "County / region"),
    set("postcode", "Postcode"),
    set("country", "Country"),
    f("date_of_birth", "Date of birth", Kind::Date),
];

/// A policy's fields.
pub const POLICY: &[Field] = &[
    f("policy_number", "Policy number", Kind::Text),
    f("carrier", "Carrier", Kind::Text),
    f("line_of_business", "Line of business", Kind::Text),
    f("premium_minor", "Premium", Kind::Money),
    Field {
        name: "payment_frequency",
        label: "Paid",
        kind: Kind::Choice,
        choices: &["monthly", "quarterly", "semi_annual", "annual", "single"],
        settable: false,
    },
    f("effective_date", "Starts", Kind::Date),
    f("expiry_date", "Expires", Kind::Date),
    Field {
        name: "status",
        label: "Status",
        kind: Kind::Choice,
        choices: &["quoted", "active", "lapsed", "cancelled", "expired"],
        settable: false,
    },
];

/// An overdue policy's arrears.
pub const ARREARS: &[Field] = &[
    f("policy_number", "Policy number", Kind::Text),
    f("outstanding_minor", "Outstanding", Kind::Money),
    f("instalments", "Unpaid instalments", Kind::Number),
    f("oldest_due", "Oldest unpaid since", Kind::Date),
];

/// A task's fields.
pub const TASK: &[Field] = &[
    f("title", "Title", Kind::Text),
    f("due_date", "Due", Kind::Date),
    f("assignee", "Assigned to", Kind::Text),
    f("notes", "Notes", Kind::Text),
];

/// The record a trigger gives the conditions and actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A contact.
    Contact,
    /// A policy (and its holder as `contact.…`).
    Policy,
    /// A policy's arrears (and its holder).
    Arrears,
    /// A task (and its contact, if it has one).
    Task,
}

impl Subject {
    /// Its own fields.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Subject::Contact => CONTACT,
            Subject::Policy => POLICY,
            Subject::Arrears => ARREARS,
            Subject::Task => TASK,
        }
    }

    /// What it is called in sentences.
    pub fn noun(self) -> &'static str {
        match self {
            Subject::Contact => "contact",
            Subject::Policy => "policy",
            Subject::Arrears => "policy in arrears",
            Subject::Task => "task",
        }
    }

    /// The permission reading it needs.
    pub fn read_permission(self) -> &'static str {
        match self {
            Subject::Contact => "contacts:read",
            Subject::Policy => "policies:read",
            Subject::Arrears => "payments:read",
            Subject::Task => "tasks:read",
        }
    }
}

/// A trigger as the wizard offers it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TriggerInfo {
    /// The model's `kind`.
    pub kind: &'static str,
    /// What the card says.
    pub label: &'static str,
    /// The record it gives.
    pub subject: Subject,
    /// What it asks for beside (`stage`, `days`, `every`+`at`, `on`+`label`).
    pub params: &'static [&'static str],
}

/// Every trigger, in the order shown.
pub const TRIGGERS: &[TriggerInfo] = &[
    t(
        "contact_created",
        "A contact is created",
        Subject::Contact,
        &[],
    ),
    t(
        "contact_imported",
        "A contact is imported",
        Subject::Contact,
        &[],
    ),
    t(
        "contact_updated",
        "A contact is changed",
        Subject::Contact,
        &[],
    ),
    t(
        "contact_stage_changed",
        "A contact moves to a stage",
        Subject::Contact,
        &["stage"],
    ),
    t(
        "policy_created",
        "A policy is created",
        Subject::Policy,
        &[],
    ),
    t(
        "policy_renewal_due",
        "A policy comes up for renewal",
        Subject::Policy,
        &["days"],
    ),
    t(
        "instalment_overdue",
        "A premium instalment is overdue",
        Subject::Arrears,
        &["days"],
    ),
    t("task_overdue", "A task is overdue", Subject::Task, &[]),
    t(
        "schedule",
        "On a schedule, for every contact",
        Subject::Contact,
        &["every", "at"],
    ),
    t(
        "button",
        "A button on a contact or policy",
        Subject::Contact,
        &["on", "label"],
    ),
];

const fn t(
    kind: &'static str,
    label: &'static str,
    subject: Subject,
    params: &'static [&'static str],
) -> TriggerInfo {
    TriggerInfo {
        kind,
        label,
        subject,
        params,
    }
}

/// Schedule choices for `every`.
pub const EVERY: &[(&str, &str)] = &[
    ("day", "Every day"),
    ("weekday", "Every weekday"),
    ("monday", "Every Monday"),
    ("tuesday", "Every Tuesday"),
    ("wednesday", "Every Wednesday"),
    ("thursday", "Every Thursday"),
    ("friday", "Every Friday"),
    ("saturday", "Every Saturday"),
    ("sunday", "Every Sunday"),
];

/// An action as the wizard offers it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ActionInfo {
    /// The model's `kind`.
    pub kind: &'static str,
    /// What the card says.
    pub label: &'static str,
    /// The permission it needs (`net:` is made from the address).
    pub permission: &'static str,
}

/// Every action, in the order shown.
pub const ACTIONS: &[ActionInfo] = &[
    a("create_task", "Create a task", "tasks:write"),
    a("add_tag", "Add a tag", "contacts:write"),
    a("remove_tag", "Remove a tag", "contacts:write"),
    a("move_stage", "Move the stage", "contacts:write"),
    a("set_field", "Set a field", "contacts:write"),
    a("log_note", "Add a note to the timeline", "activities:write"),
    a("notify", "Show a notification", "ui:notify"),
    a("ai_choose", "Ask the AI to choose a label", "ai:use"),
    a("post_json", "Send to a web address (JSON POST)", "net:"),
];

const fn a(kind: &'static str, label: &'static str, permission: &'static str) -> ActionInfo {
    ActionInfo {
        kind,
        label,
        permission,
    }
}

/// Everything the wizard screen draws from.
#[derive(Clone, Debug, Serialize)]
pub struct Catalog {
    /// Triggers.
    pub triggers: &'static [TriggerInfo],
    /// Fields per subject.
    pub fields: Vec<(Subject, &'static [Field])>,
    /// Operators per kind, with their words.
    pub ops: Vec<(Kind, Vec<(Op, &'static str)>)>,
    /// Schedule choices.
    pub every: &'static [(&'static str, &'static str)],
    /// Actions.
    pub actions: &'static [ActionInfo],
}

/// The wizard's catalog.
pub fn catalog() -> Catalog {
    Catalog {
        triggers: TRIGGERS,
        fields: [
            Subject::Contact,
            Subject::Policy,
            Subject::Arrears,
            Subject::Task,
        ]
        .into_iter()
        .map(|s| (s, s.fields()))
        .collect(),
        ops: [
            Kind::Text,
            Kind::Number,
            Kind::Money,
            Kind::Date,
            Kind::List,
            Kind::Choice,
        ]
        .into_iter()
        .map(|k| (k, k.ops().iter().map(|o| (*o, op_words(*o))).collect()))
        .collect(),
        every: EVERY,
        actions: ACTIONS,
    }
}
