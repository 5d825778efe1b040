//! The record shapes scripts see: a contract of the host API, versioned with
//! it ([`crate::manifest::API_VERSION`]) and written out in
//! `docs/host-api.md`.
//!
//! A core record's serialised form is the core's business: its database
//! columns, sync fields and the CLI's `--json` may change with it. What a
//! script receives is built here, field by field, from that form under the
//! names this contract promises, so a rename in the core cannot silently
//! break third-party scripts: the core's name changes in `from`, the
//! script's stays. Within a major version the shapes only grow (a field
//! added is a minor version); a field renamed or removed is a new major.
//!
//! `tests/contract.rs` holds this to the committed shape of the current
//! version (`contract/<version>.json`), and to the core: every `from`
//! must exist in the core's serialised records.

use rhai::{Dynamic, Map};
use serde_json::Value;

pub mod compliance;

/// One field of a record as scripts see it.
#[derive(Clone, Copy, Debug)]
pub struct ScriptField {
    /// The name scripts use.
    pub name: &'static str,
    /// The field of the core's serialised record it comes from.
    pub from: &'static str,
    /// What its value is, in words, for the reference.
    pub ty: &'static str,
}

/// A record kind as scripts see it.
#[derive(Clone, Copy, Debug)]
pub struct RecordShape {
    /// The record kind (`contact`, `policy`…).
    pub kind: &'static str,
    /// What it is, for the reference.
    pub doc: &'static str,
    /// Its fields, in the order the reference lists them.
    pub fields: &'static [ScriptField],
}

const fn f(name: &'static str, ty: &'static str) -> ScriptField {
    ScriptField {
        name,
        from: name,
        ty,
    }
}

const ID: &str = "id (text)";
const TEXT: &str = "text";
const OPT_TEXT: &str = "text or ()";
const DATE: &str = "date `YYYY-MM-DD`";
const OPT_DATE: &str = "date `YYYY-MM-DD` or ()";
const INT: &str = "integer";
const TEXTS: &str = "array of text";

/// A person or company.
pub const CONTACT: RecordShape = RecordShape {
    kind: "contact",
    doc: "A person or company (`contacts::get`, `list`, `page`, `query`, `scan`, `create`, `update`).",
    fields: &[
        f("id", ID),
        f("kind", "`person` or `company`"),
        f("display_name", TEXT),
        f("first_name", OPT_TEXT),
        f("last_name", OPT_TEXT),
        f("company_name", OPT_TEXT),
        f("job_title", OPT_TEXT),
        f("stage", "`prospect`, `client` or `lapsed`"),
        f("owner", OPT_TEXT),
        f("tags", TEXTS),
        f("emails", TEXTS),
        f("phones", "array of text (E.164, an extension as `;ext=…`)"),
        f("address_line1", OPT_TEXT),
        f("address_line2", OPT_TEXT),
        f("city", OPT_TEXT),
        f("region", OPT_TEXT),
        f("postcode", OPT_TEXT),
        f("country", OPT_TEXT),
        f("source", OPT_TEXT),
        f("external_id", OPT_TEXT),
        f("date_of_birth", OPT_DATE),
        f("custom", "map of text (custom fields by name)"),
        f(
            "preferred_contact_method",
            "`email`, `phone`, `text_message`, `post` or () (since 1.1)",
        ),
    ],
};

/// An insurance policy.
pub const POLICY: RecordShape = RecordShape {
    kind: "policy",
    doc: "An insurance policy (`policies::get`, `of_contact`, `renewals_due`).",
    fields: &[
        f("id", ID),
        f("contact_id", ID),
        f("policy_number", TEXT),
        f("carrier", TEXT),
        f("line_of_business", TEXT),
        f("premium_minor", "integer (minor units: pence, cents)"),
        f("currency", "ISO 4217 code (`GBP`)"),
        f(
            "payment_frequency",
            "`monthly`, `quarterly`, `semi_annual`, `annual` or `single`",
        ),
        f("effective_date", DATE),
        f("expiry_date", OPT_DATE),
        f(
            "status",
            "`quoted`, `active`, `lapsed`, `cancelled` or `expired`",
        ),
    ],
};

/// A premium instalment and what was paid of it.
pub const PAYMENT: RecordShape = RecordShape {
    kind: "payment",
    doc: "A premium instalment and what was paid of it (`payments::of_policy`).",
    fields: &[
        f("id", ID),
        f("policy_id", ID),
        f("due_date", DATE),
        f("amount_due_minor", INT),
        f("amount_paid_minor", INT),
        f("paid_date", OPT_DATE),
        f("method", "text or () (`direct_debit`, `card`, …)"),
        f("reference", OPT_TEXT),
    ],
};

/// A policy in arrears.
pub const ARREARS: RecordShape = RecordShape {
    kind: "arrears",
    doc: "A policy with unpaid instalments past due (`payments::arrears`).",
    fields: &[
        f("policy_id", ID),
        f("policy_number", TEXT),
        f("contact_id", ID),
        f("outstanding_minor", INT),
        f("instalments", INT),
        f("oldest_due", DATE),
    ],
};

/// A task.
pub const TASK: RecordShape = RecordShape {
    kind: "task",
    doc: "A task (`tasks::list`, `create`, `complete`).",
    fields: &[
        f("id", ID),
        f("title", TEXT),
        f("due_date", OPT_DATE),
        f("status", "`open`, `done` or `cancelled`"),
        f("contact_id", "id (text) or ()"),
        f("assignee", OPT_TEXT),
        f("notes", OPT_TEXT),
    ],
};

/// A timeline entry.
pub const ACTIVITY: RecordShape = RecordShape {
    kind: "activity",
    doc: "An entry of a contact's timeline (`activities::timeline`, `log`).",
    fields: &[
        f("id", ID),
        f("contact_id", ID),
        f(
            "kind",
            "`note`, `call`, `email`, `meeting` or `status_change`",
        ),
        f("body", TEXT),
        f("occurred_at", "time, RFC 3339"),
        f("actor", TEXT),
    ],
};

/// What a hook receives.
pub const EVENT: RecordShape = RecordShape {
    kind: "event",
    doc: "What a hook on a change to a record receives: the change, committed (the compliance reminders' events receive a `reminder`).",
    fields: &[
        f("name", "the hook's event (`contact.created`, …)"),
        f(
            "table",
            "`contacts`, `policies`, `payments`, `tasks` or `activities`",
        ),
        f("row_id", ID),
        f("action", "`created`, `updated` or `deleted`"),
        f(
            "actor",
            "map: `kind` (`user`, `plugin`, `import`, `sync`) and who",
        ),
        f("fields", "array of text (the fields that changed)"),
    ],
};

/// A passage of a document (host API 1.2).
pub const PASSAGE: RecordShape = RecordShape {
    kind: "passage",
    doc: "A passage of a document the user may see (`documents::search`, `passage`).",
    fields: &[
        f("passage_id", INT),
        f("document_id", ID),
        f("title", TEXT),
        f("file_name", TEXT),
        f("version", INT),
        f("page", "integer or () (formats without pages)"),
        f("heading", "text (headings above it, joined by ` › `)"),
        f("text", TEXT),
        f("score", "number (BM25; higher is better)"),
    ],
};

/// Every record shape, for the reference and the contract test.
pub const SHAPES: &[RecordShape] = &[
    CONTACT,
    POLICY,
    PAYMENT,
    ARREARS,
    TASK,
    ACTIVITY,
    EVENT,
    PASSAGE,
    compliance::STAFF,
    compliance::CHECK,
    compliance::SUPERVISION,
    compliance::MEETING,
    compliance::COURSE,
    compliance::TRAINING,
    compliance::TRAINING_ROW,
    compliance::TRAINING_DUE,
    compliance::CARE_POLICY,
    compliance::ACKNOWLEDGEMENTS,
    compliance::COMPLIANCE_DASHBOARD,
    compliance::REMINDER,
];

/// A core record as scripts see it under `shape`.
pub trait ScriptRecord: serde::Serialize {
    /// Its shape in the contract.
    const SHAPE: RecordShape;
}

impl ScriptRecord for crm_core::Contact {
    const SHAPE: RecordShape = CONTACT;
}
impl ScriptRecord for crm_core::Policy {
    const SHAPE: RecordShape = POLICY;
}
impl ScriptRecord for crm_core::Payment {
    const SHAPE: RecordShape = PAYMENT;
}
impl ScriptRecord for crm_core::Arrears {
    const SHAPE: RecordShape = ARREARS;
}
impl ScriptRecord for crm_core::Task {
    const SHAPE: RecordShape = TASK;
}
impl ScriptRecord for crm_core::Activity {
    const SHAPE: RecordShape = ACTIVITY;
}
impl ScriptRecord for crm_core::ChangeEvent {
    const SHAPE: RecordShape = EVENT;
}
impl ScriptRecord for crm_documents::Hit {
    const SHAPE: RecordShape = PASSAGE;
}

/// `record` as the script map its shape promises.
pub fn to_script<T: ScriptRecord>(record: &T) -> Result<Dynamic, serde_json::Error> {
    let Value::Object(mut core) = serde_json::to_value(record)? else {
        return Ok(Dynamic::UNIT);
    };
    let mut out = Map::new();
    for field in T::SHAPE.fields {
        let v = core.remove(field.from).unwrap_or(Value::Null);
        out.insert(field.name.into(), crate::host::json_to_dynamic(v));
    }
    Ok(Dynamic::from_map(out))
}

/// Records as the core lists them by field ([`crm_core::Store::scan_contact_fields`]:
/// the core's names) as script maps under `shape`.
pub(crate) fn fields_to_script(shape: &RecordShape, fields: Vec<(&'static str, Value)>) -> Dynamic {
    let mut out = Map::new();
    for (from, v) in fields {
        if let Some(field) = shape.fields.iter().find(|f| f.from == from) {
            out.insert(field.name.into(), crate::host::json_to_dynamic(v));
        }
    }
    Dynamic::from_map(out)
}

/// The contract as data: per record kind, its fields and their types (what
/// `contract/<version>.json` holds).
pub fn describe() -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for shape in SHAPES {
        let fields: Vec<Value> = shape
            .fields
            .iter()
            .map(|f| serde_json::json!([f.name, f.ty]))
            .collect();
        out.insert(shape.kind.into(), Value::Array(fields));
    }
    Value::Object(out)
}
