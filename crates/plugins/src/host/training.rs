//! The `training` module: courses, a person's training records, the
//! training matrix and what lapses soon, behind `training:read`; recording
//! training behind `training:write`. As in `staff`, a plugin sees and
//! changes only what its user may (`crm_compliance::Access`).

use crm_compliance::training;
use rhai::{Dynamic, Engine, FuncRegistration, Map, Module, INT};

use super::{
    compliance_err, fail, map_text, read_as_user, record, records, within, write, HostResult,
};
use crate::contract::compliance::{TrainingDueView, TrainingRowView};
use crate::sandbox::ErrorKind;

fn err(e: crm_compliance::ComplianceError) -> Box<rhai::EvalAltResult> {
    compliance_err("training", e)
}

fn matrix(q: &training::MatrixQuery) -> HostResult<Dynamic> {
    read_as_user("training:read", |s, budget| {
        let m = training::matrix(s, q, crm_compliance::dates::today()).map_err(err)?;
        // A row is one person's record of every course: it counts once.
        let rows = within("the training matrix", TrainingRowView::rows_of(&m), budget)?;
        records(&rows)
    })
}

pub(super) fn register_training(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "courses",
        ["Array"],
        "The courses in the training matrix, in its order. Needs training:read.",
        || -> HostResult<Dynamic> {
            read_as_user("training:read", |s, budget| {
                let list = within(
                    "the list of courses",
                    training::courses(s, false).map_err(err)?,
                    budget,
                )?;
                records(&list)
            })
        }
    );
    func!(
        m,
        "records",
        ["staff_id: &str", "Array"],
        "A person's training records, newest first (the user must be able to see them). Needs training:read.",
        |id: &str| -> HostResult<Dynamic> {
            read_as_user("training:read", |s, budget| {
                let list = within("the person's training", training::records(s, id).map_err(err)?, budget)?;
                records(&list)
            })
        }
    );
    func!(
        m,
        "matrix",
        ["Array"],
        "The training matrix of the staff the user may see (those who have not left), a row per person with a cell per course. Needs training:read.",
        || -> HostResult<Dynamic> { matrix(&training::MatrixQuery::default()) }
    );
    func!(
        m,
        "matrix",
        ["query: Map", "Array"],
        "Part of the training matrix: `team`, `role`, `category` (of courses), `course` (id or name), `standing` (rows with a cell `valid`, `due_soon`, `expired` or `missing`), `text` (in the name). Needs training:read.",
        |q: Map| -> HostResult<Dynamic> {
            matrix(&training::MatrixQuery {
                team: map_text(&q, "team"),
                role: map_text(&q, "role"),
                category: map_text(&q, "category"),
                course: map_text(&q, "course"),
                standing: map_text(&q, "standing"),
                text: map_text(&q, "text"),
            })
        }
    );
    func!(
        m,
        "row",
        ["staff_id: &str", "Map"],
        "A person's row of the training matrix (an error for someone who has left or whom the user may not see). Needs training:read.",
        |id: &str| -> HostResult<Dynamic> {
            read_as_user("training:read", |s, _| {
                let person = crm_compliance::staff::get(s, id).map_err(err)?;
                let m = training::matrix(
                    s,
                    &training::MatrixQuery {
                        team: person.team.clone(),
                        ..Default::default()
                    },
                    crm_compliance::dates::today(),
                )
                .map_err(err)?;
                let row = TrainingRowView::rows_of(&m)
                    .into_iter()
                    .find(|r| r.staff_id() == person.id)
                    .ok_or_else(|| {
                        fail(
                            ErrorKind::Runtime,
                            format!("training: {} has left; they are not in the matrix", person.name),
                        )
                    })?;
                Ok((record(&row)?, 1))
            })
        }
    );
    func!(
        m,
        "expiring",
        ["days: i64", "Array"],
        "Training of the staff the user may see that lapses within `days` days from today (up to 3,660), or has lapsed, soonest first: one entry per person and course. Needs training:read.",
        |days: INT| -> HostResult<Dynamic> {
            read_as_user("training:read", |s, budget| {
                let today = crm_compliance::dates::today();
                let m = training::matrix(s, &Default::default(), today).map_err(err)?;
                let due = within(
                    "the training lapsing",
                    TrainingDueView::of(&m, today, days.clamp(0, 3660)),
                    budget,
                )?;
                records(&due)
            })
        }
    );
    func!(
        m,
        "record",
        ["fields: Map", "Map"],
        "Record training (admins; the person's managers): `staff_id`, `course` (id or name), `achieved` (a date, not in the future), `expires` (when the certificate says; else the course's renewal period), `provider`. Needs training:write.",
        |fields: Map| -> HostResult<Dynamic> {
            let draft = training::RecordDraft {
                staff_id: map_text(&fields, "staff_id").unwrap_or_default(),
                course: map_text(&fields, "course").unwrap_or_default(),
                achieved: map_text(&fields, "achieved").unwrap_or_default(),
                expires: map_text(&fields, "expires"),
                provider: map_text(&fields, "provider"),
                evidence_id: None,
            };
            write("training:write", 1, |s| {
                let r = training::record(s, &draft, None, crm_compliance::dates::today())
                    .map_err(err)?;
                record(&r)
            })
        }
    );
    engine.register_static_module("training", m.into());
}
