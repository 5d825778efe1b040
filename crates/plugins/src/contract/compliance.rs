//! The care-compliance records scripts see (host API 1.3): staff, their
//! recruitment checks and supervisions, courses, training and its matrix,
//! policies and who has read them, and the reminders hooks receive.
//!
//! Where the compliance crate's record is not fit to cross as it is, a view
//! here is built from it field by field: a checklist item's secret fields
//! (a DBS certificate number, a right-to-work document number: see
//! `crm_compliance::checks::FieldDef::secret`) never reach a script, only
//! the word `(recorded)` in their place; nested lists (the matrix's cells,
//! the people who must read a policy) are views of their own, so their
//! names are this contract's too.

use crm_compliance::dates::Standing;
use crm_compliance::{checks, policies, readsign, reminders, staff, supervision, training};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{f, RecordShape, ScriptField, ScriptRecord, DATE, ID, INT, OPT_DATE, OPT_TEXT, TEXT};

const STANDING: &str = "`valid`, `due_soon`, `expired` or `missing`";
const OPT_ID: &str = "id (text) or ()";
const OPT_INT: &str = "integer or ()";

/// What a secret field's value is replaced with: it was recorded, and no
/// more is said.
pub const RECORDED: &str = "(recorded)";

/// A staff record.
pub const STAFF: RecordShape = RecordShape {
    kind: "staff",
    doc: "A staff record the user may see: admins everyone, managers their people down the line, staff their own (`staff::get`, `list`, `me`; since 1.3).",
    fields: &[
        f("id", ID),
        f("name", TEXT),
        f("role", "text, lowercase (`carer`, `senior carer`, `nurse`…)"),
        f("team", OPT_TEXT),
        f("manager_id", OPT_ID),
        f("manager_name", OPT_TEXT),
        f("start_date", DATE),
        f("contract", OPT_TEXT),
        f("user_id", "text or () (the account they sign in with)"),
        f("supervision_weeks", OPT_INT),
        f("appraisal_months", OPT_INT),
        f("left_date", OPT_DATE),
    ],
};

/// One item of a person's recruitment checklist.
pub const CHECK: RecordShape = RecordShape {
    kind: "check",
    doc: "One item of a person's recruitment checklist (Schedule 3), without secret numbers (`staff::checklist`, `set_check`; since 1.3).",
    fields: &[
        f("item", "text (`identity`, `dbs`, `right_to_work`, `references`…)"),
        f("name", TEXT),
        f("status", "`missing`, `received`, `verified` or `not_required`"),
        f("standing", STANDING),
        f("expires", OPT_DATE),
        f(
            "details",
            "map of the item's fields; a certificate or document number is `(recorded)`, never its value",
        ),
        f("note", OPT_TEXT),
        f("evidence_files", "integer (evidence files held for it)"),
        f("updated_at", "time, RFC 3339, or ()"),
    ],
};

/// Where a person's supervisions or appraisals stand.
pub const SUPERVISION: RecordShape = RecordShape {
    kind: "supervision",
    doc: "Where a person's supervisions or appraisals stand (`staff::supervisions`; since 1.3).",
    fields: &[
        f("kind", "`supervision` or `appraisal`"),
        f("last", OPT_DATE),
        f("next_due", OPT_DATE),
        f("standing", "`valid`, `due_soon` or `expired` (overdue)"),
    ],
};

/// A supervision or appraisal held.
pub const MEETING: RecordShape = RecordShape {
    kind: "meeting",
    doc: "A supervision or appraisal held (`staff::record_supervision`; since 1.3).",
    fields: &[
        f("id", ID),
        f("staff_id", ID),
        f("kind", "`supervision` or `appraisal`"),
        f("date", DATE),
        f("supervisor", TEXT),
        f("notes", OPT_TEXT),
    ],
};

/// A course.
pub const COURSE: RecordShape = RecordShape {
    kind: "course",
    doc: "A training course (`training::courses`; since 1.3).",
    fields: &[
        f("id", "text (a slug, e.g. `fire-safety`)"),
        f("name", TEXT),
        f("category", "`mandatory`, `care_certificate` or `other`"),
        f("renewal_months", "integer or () (never lapses)"),
        f("active", "true or false (in the matrix)"),
    ],
};

/// A training record.
pub const TRAINING: RecordShape = RecordShape {
    kind: "training",
    doc: "A course a person completed (`training::records`, `record`; since 1.3).",
    fields: &[
        f("id", ID),
        f("staff_id", ID),
        f("course_id", TEXT),
        f("course_name", TEXT),
        f("achieved", DATE),
        f("expires", "date `YYYY-MM-DD` or () (never lapses)"),
        f("provider", OPT_TEXT),
        f("evidence_id", OPT_ID),
    ],
};

/// A person's row of the training matrix.
pub const TRAINING_ROW: RecordShape = RecordShape {
    kind: "training_row",
    doc: "A person's row of the training matrix: their latest record of each active course (`training::matrix`, `row`; since 1.3).",
    fields: &[
        f("staff_id", ID),
        f("name", TEXT),
        f("role", TEXT),
        f("team", OPT_TEXT),
        f(
            "cells",
            "array of maps, one per course in the matrix's order: `course_id`, `course_name`, `standing` (`valid`, `due_soon`, `expired`, `missing`), `achieved` and `expires` (dates or ())",
        ),
    ],
};

/// Training that lapses soon (or has lapsed).
pub const TRAINING_DUE: RecordShape = RecordShape {
    kind: "training_due",
    doc: "A person's training that lapses within the days asked, or has lapsed (`training::expiring`; since 1.3).",
    fields: &[
        f("staff_id", ID),
        f("name", TEXT),
        f("team", OPT_TEXT),
        f("course_id", TEXT),
        f("course_name", TEXT),
        f("expires", DATE),
        f("days_left", "integer (negative: lapsed that many days ago)"),
        f("standing", "`due_soon`, `expired` or `valid`"),
    ],
};

/// A policy or SOP under document control.
pub const CARE_POLICY: RecordShape = RecordShape {
    kind: "care_policy",
    doc: "A policy or SOP under document control (`compliance::policies`, `policy`; since 1.3).",
    fields: &[
        f("doc_id", "id (text; the library document)"),
        f("title", TEXT),
        f("kind", "`policy` or `sop`"),
        f("owner", "text (who answers for it)"),
        f("review_months", INT),
        f("next_review", DATE),
        f("last_review", OPT_DATE),
        f("review", "`valid`, `due_soon` or `expired` (overdue)"),
        f(
            "approval",
            "`draft`, `awaiting_approval`, `approved` or `published`",
        ),
        f("status", "`draft`, `published` or `retired`"),
        f("live_version", OPT_INT),
        f(
            "statements",
            "array of text (CQC quality statement codes, e.g. `S3`)",
        ),
    ],
};

/// A policy's read-and-sign state.
pub const ACKNOWLEDGEMENTS: RecordShape = RecordShape {
    kind: "acknowledgements",
    doc: "Who must read and sign a policy and where each stands, among the staff the user may see (`compliance::acknowledgements`; since 1.3).",
    fields: &[
        f("doc_id", ID),
        f("title", TEXT),
        f("version", "integer or () (the version in force)"),
        f("done", INT),
        f("pending", INT),
        f("overdue", INT),
        f("percent", "number (done, percent of the people; 100 with nobody)"),
        f(
            "people",
            "array of maps: `staff_id`, `name`, `team`, `user_id`, `due`, `state` (`done`, `pending`, `overdue`), `signed_at` (time or ()), `version` (integer or ())",
        ),
    ],
};

/// The policies dashboard's counts.
pub const COMPLIANCE_DASHBOARD: RecordShape = RecordShape {
    kind: "compliance_dashboard",
    doc: "The policies dashboard's counts (`compliance::dashboard`; since 1.3).",
    fields: &[
        f("today", DATE),
        f("policies", "integer (policies and SOPs the user may see)"),
        f(
            "due_for_review",
            "integer (published, review within 60 days)",
        ),
        f("overdue", "integer (published, review overdue)"),
        f("awaiting_approval", INT),
        f("approved", "integer (approved, not yet published)"),
        f(
            "uncovered",
            "array of text (quality statement codes no current policy evidences)",
        ),
    ],
};

/// What a hook on a compliance reminder receives.
pub const REMINDER: RecordShape = RecordShape {
    kind: "reminder",
    doc: "What a hook on `training.expiring`, `document.review_due`, `acknowledgement.due` or `acknowledgement.overdue` receives: a compliance reminder just made as a task (since 1.3).",
    fields: &[
        ScriptField {
            name: "name",
            from: "kind",
            ty: "the hook's event (`training.expiring`, …)",
        },
        f("staff_id", "id (text) or () (the person it is about)"),
        f("doc_id", "id (text) or () (the policy it is about)"),
        f("course_id", "text or () (the course that lapses)"),
        f(
            "date",
            "date `YYYY-MM-DD` (the expiry, review or due date it is about)",
        ),
        f("title", "text (the task's title)"),
        f("due", "date `YYYY-MM-DD` (the task's due date)"),
        f("task_id", "id (text; the task made)"),
        f(
            "key",
            "text (what the reminder is about; made once per key)",
        ),
    ],
};

impl ScriptRecord for staff::Staff {
    const SHAPE: RecordShape = STAFF;
}
impl ScriptRecord for supervision::Schedule {
    const SHAPE: RecordShape = SUPERVISION;
}
impl ScriptRecord for supervision::Meeting {
    const SHAPE: RecordShape = MEETING;
}
impl ScriptRecord for training::Course {
    const SHAPE: RecordShape = COURSE;
}
impl ScriptRecord for training::Record {
    const SHAPE: RecordShape = TRAINING;
}
impl ScriptRecord for policies::Policy {
    const SHAPE: RecordShape = CARE_POLICY;
}
impl ScriptRecord for reminders::Reminder {
    const SHAPE: RecordShape = REMINDER;
}

/// A checklist item as scripts see it: secret fields say `(recorded)`.
#[derive(Clone, Debug, Serialize)]
pub struct CheckView {
    item: &'static str,
    name: &'static str,
    status: String,
    standing: Standing,
    expires: Option<String>,
    details: Map<String, Value>,
    note: Option<String>,
    evidence_files: usize,
    updated_at: Option<String>,
}

impl CheckView {
    /// The view of `c`. A field is shown only when the item's definition
    /// says it is not secret; a field of an item this build does not know
    /// is treated as secret.
    pub fn of(c: &checks::Check) -> CheckView {
        let def = checks::ITEMS.iter().find(|i| i.id == c.item);
        let shown = |k: &str| def.is_some_and(|d| d.fields.iter().any(|f| f.key == k && !f.secret));
        CheckView {
            item: c.item,
            name: c.name,
            status: c.status.clone(),
            standing: c.standing,
            expires: c.expires.clone(),
            details: c
                .details
                .iter()
                .map(|(k, v)| {
                    let v = if shown(k) {
                        v.clone()
                    } else {
                        Value::from(RECORDED)
                    };
                    (k.clone(), v)
                })
                .collect(),
            note: c.note.clone(),
            evidence_files: c.evidence.len(),
            updated_at: c.updated_at.clone(),
        }
    }
}

impl ScriptRecord for CheckView {
    const SHAPE: RecordShape = CHECK;
}

/// One cell of a matrix row.
#[derive(Clone, Debug, Serialize)]
struct CellView {
    course_id: String,
    course_name: String,
    standing: Standing,
    achieved: Option<String>,
    expires: Option<String>,
}

/// A person's row of the training matrix, each cell naming its course.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingRowView {
    staff_id: String,
    name: String,
    role: String,
    team: Option<String>,
    cells: Vec<CellView>,
}

impl TrainingRowView {
    /// The rows of `m`, in its order.
    pub fn rows_of(m: &training::Matrix) -> Vec<TrainingRowView> {
        m.rows
            .iter()
            .map(|r| TrainingRowView {
                staff_id: r.staff_id.clone(),
                name: r.name.clone(),
                role: r.role.clone(),
                team: r.team.clone(),
                cells: m
                    .courses
                    .iter()
                    .zip(&r.cells)
                    .map(|(c, cell)| CellView {
                        course_id: c.id.clone(),
                        course_name: c.name.clone(),
                        standing: cell.standing,
                        achieved: cell.achieved.clone(),
                        expires: cell.expires.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The person's staff id.
    pub fn staff_id(&self) -> &str {
        &self.staff_id
    }
}

impl ScriptRecord for TrainingRowView {
    const SHAPE: RecordShape = TRAINING_ROW;
}

/// A person's training that lapses soon.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingDueView {
    staff_id: String,
    name: String,
    team: Option<String>,
    course_id: String,
    course_name: String,
    expires: String,
    days_left: i64,
    standing: Standing,
}

impl TrainingDueView {
    /// The cells of `m` lapsing on or before `today` + `days` (lapsed ones
    /// too), soonest first, then by name and course.
    pub fn of(m: &training::Matrix, today: chrono::NaiveDate, days: i64) -> Vec<TrainingDueView> {
        let mut out = Vec::new();
        for r in &m.rows {
            for (c, cell) in m.courses.iter().zip(&r.cells) {
                let Some(exp) = cell
                    .expires
                    .as_deref()
                    .and_then(|e| chrono::NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                let left = (exp - today).num_days();
                if left > days {
                    continue;
                }
                out.push(TrainingDueView {
                    staff_id: r.staff_id.clone(),
                    name: r.name.clone(),
                    team: r.team.clone(),
                    course_id: c.id.clone(),
                    course_name: c.name.clone(),
                    expires: crm_compliance::dates::text(exp),
                    days_left: left,
                    standing: cell.standing,
                });
            }
        }
        out.sort_by(|a, b| {
            (a.days_left, &a.name, &a.course_name).cmp(&(b.days_left, &b.name, &b.course_name))
        });
        out
    }
}

impl ScriptRecord for TrainingDueView {
    const SHAPE: RecordShape = TRAINING_DUE;
}

/// One person who must read a policy.
#[derive(Clone, Debug, Serialize)]
struct SignerView {
    staff_id: String,
    name: String,
    team: Option<String>,
    user_id: Option<String>,
    due: String,
    state: readsign::AckState,
    signed_at: Option<String>,
    version: Option<i64>,
}

/// A policy's read-and-sign state.
#[derive(Clone, Debug, Serialize)]
pub struct AcknowledgementsView {
    doc_id: String,
    title: String,
    version: Option<i64>,
    done: usize,
    pending: usize,
    overdue: usize,
    percent: f64,
    people: Vec<SignerView>,
}

impl AcknowledgementsView {
    /// The view of `st`.
    pub fn of(st: &readsign::AckStatus) -> AcknowledgementsView {
        AcknowledgementsView {
            doc_id: st.doc_id.clone(),
            title: st.title.clone(),
            version: st.version,
            done: st.done,
            pending: st.pending,
            overdue: st.overdue,
            percent: st.percent,
            people: st
                .people
                .iter()
                .map(|p| SignerView {
                    staff_id: p.staff_id.clone(),
                    name: p.name.clone(),
                    team: p.team.clone(),
                    user_id: p.user_id.clone(),
                    due: p.due.clone(),
                    state: p.state,
                    signed_at: p.at.clone(),
                    version: p.version,
                })
                .collect(),
        }
    }

    /// How many people it lists.
    pub fn people(&self) -> usize {
        self.people.len()
    }
}

impl ScriptRecord for AcknowledgementsView {
    const SHAPE: RecordShape = ACKNOWLEDGEMENTS;
}

/// The policies dashboard as counts.
#[derive(Clone, Debug, Serialize)]
pub struct DashboardView {
    today: String,
    policies: usize,
    due_for_review: usize,
    overdue: usize,
    awaiting_approval: usize,
    approved: usize,
    uncovered: Vec<String>,
}

impl DashboardView {
    /// The counts of `d`, over `policies` policies the user may see.
    pub fn of(d: &policies::Dashboard, policies: usize) -> DashboardView {
        DashboardView {
            today: d.today.clone(),
            policies,
            due_for_review: d.due_for_review.len(),
            overdue: d.overdue.len(),
            awaiting_approval: d.awaiting_approval.len(),
            approved: d.approved.len(),
            uncovered: d.uncovered.iter().map(|s| s.id.clone()).collect(),
        }
    }
}

impl ScriptRecord for DashboardView {
    const SHAPE: RecordShape = COMPLIANCE_DASHBOARD;
}
