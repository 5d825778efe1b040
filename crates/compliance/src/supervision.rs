//! Supervisions and appraisals: each person's schedule (every N weeks,
//! every N months) and the meetings held.

use chrono::{Duration, NaiveDate};
use crm_core::Store;
use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use crate::dates::{add_months, parse_date, standing, stored, text, Standing};
use crate::error::{ComplianceError, Result};
use crate::schema::{install, FEATURE};
use crate::staff::{bounded, opt, required, Staff};
use crate::who::Access;

/// The two kinds of meeting.
pub const KINDS: &[&str] = &["supervision", "appraisal"];

/// A meeting held.
#[derive(Clone, Debug, Serialize)]
pub struct Meeting {
    /// Its id.
    pub id: String,
    /// The staff member.
    pub staff_id: String,
    /// `supervision` or `appraisal`.
    pub kind: String,
    /// When (YYYY-MM-DD).
    pub date: String,
    /// Who held it.
    pub supervisor: String,
    /// Notes.
    pub notes: Option<String>,
}

/// Record a supervision or appraisal (admins; the person's managers).
pub fn record(
    store: &mut Store,
    staff_id: &str,
    kind: &str,
    date: &str,
    supervisor: &str,
    notes: Option<&str>,
    today: NaiveDate,
) -> Result<Meeting> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_edit(staff_id, "record supervisions")?;
    crate::staff::get(store, staff_id)?;
    let kind = kind.trim().to_lowercase();
    if !KINDS.contains(&kind.as_str()) {
        return Err(ComplianceError::invalid(
            "kind",
            format!("{kind:?} is not one of: {}", KINDS.join(", ")),
        ));
    }
    let day = parse_date("date", date)?;
    if day > today {
        return Err(ComplianceError::invalid(
            "date",
            format!("{} is in the future; record a meeting once held", text(day)),
        ));
    }
    let supervisor = required("supervisor", supervisor, 200)?;
    let notes = opt(&notes.map(str::to_string))
        .map(|n| bounded("notes", &n, 8000))
        .transpose()?;
    let id = uuid::Uuid::now_v7().to_string();
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn().execute(
            "INSERT INTO compliance_supervisions (id, staff_id, kind, date, supervisor, notes, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, staff_id, kind, text(day), supervisor, notes, tx.now()],
        )?;
        // Notes are personal: the audit says a meeting was recorded, not what was said.
        tx.audit("supervisions", &id, "created", &json!({"staff_id": staff_id, "kind": kind, "date": text(day), "supervisor": supervisor}))?;
        Ok(())
    })?;
    Ok(Meeting {
        id,
        staff_id: staff_id.into(),
        kind,
        date: text(day),
        supervisor,
        notes,
    })
}

/// A person's meetings, newest first.
pub fn meetings(store: &Store, staff_id: &str) -> Result<Vec<Meeting>> {
    crate::staff::get(store, staff_id)?;
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT id, staff_id, kind, date, supervisor, notes FROM compliance_supervisions \
             WHERE staff_id = ?1 ORDER BY date DESC, id",
        )?;
        let rows = st.query_map([staff_id], |r| {
            Ok(Meeting {
                id: r.get(0)?,
                staff_id: r.get(1)?,
                kind: r.get(2)?,
                date: r.get(3)?,
                supervisor: r.get(4)?,
                notes: r.get(5)?,
            })
        })?;
        rows.collect()
    })?)
}

/// Where a person's supervisions (or appraisals) stand.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    /// `supervision` or `appraisal`.
    pub kind: &'static str,
    /// The last one held.
    pub last: Option<String>,
    /// When the next is due (from the last, or from the start date).
    pub next_due: Option<String>,
    /// In date, due soon, overdue (`expired`); `valid` with no schedule.
    pub standing: Standing,
}

/// When the next meeting is due: a period after the last one, or after the
/// start date when none was held yet.
pub fn next_due(
    kind: &str,
    last: Option<NaiveDate>,
    start: NaiveDate,
    staff: &Staff,
) -> Option<NaiveDate> {
    let from = last.unwrap_or(start);
    match kind {
        "supervision" => staff.supervision_weeks.map(|w| from + Duration::weeks(w)),
        _ => staff
            .appraisal_months
            .and_then(|m| add_months(from, u32::try_from(m).ok()?)),
    }
}

/// Both schedules of a person on `today`.
pub fn schedules(store: &Store, staff: &Staff, today: NaiveDate) -> Result<Vec<Schedule>> {
    let held = meetings(store, &staff.id)?;
    let start = stored(Some(&staff.start_date)).unwrap_or(today);
    Ok(["supervision", "appraisal"]
        .into_iter()
        .map(|kind| {
            let last = held
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| m.date.clone())
                .max();
            let due = next_due(kind, stored(last.as_deref()), start, staff);
            Schedule {
                kind,
                standing: match due {
                    // Overdue the day after it was due; due soon within 14 days.
                    Some(d) if d < today => Standing::Expired,
                    Some(d) if (d - today).num_days() <= 14 => Standing::DueSoon,
                    Some(_) | None => standing(None, today),
                },
                next_due: due.map(text),
                last,
            }
        })
        .collect())
}
