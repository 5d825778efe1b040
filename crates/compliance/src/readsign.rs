//! Read-and-sign: a published policy assigned to roles, teams or named
//! staff with a due date; each person acknowledges the version in force on
//! their own device. A new version asks again unless it was published as a
//! minor change.

use chrono::NaiveDate;
use crm_core::Store;
use crm_documents::DocStatus;
use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use crate::dates::{parse_date, stored, text};
use crate::error::{ComplianceError, Result};
use crate::schema::{install, installed, FEATURE};
use crate::staff::Staff;
use crate::who::Access;

/// What a person says when they acknowledge.
pub const STATEMENT: &str = "I have read and understood";

/// An assignment.
#[derive(Clone, Debug, Serialize)]
pub struct Assignment {
    /// Its id.
    pub id: String,
    /// The policy.
    pub doc_id: String,
    /// `role:R`, `team:T` or `staff:ID`.
    pub target: String,
    /// Due (YYYY-MM-DD).
    pub due: String,
}

/// Check and normalise a target: `role:carer`, `team:north`, `staff:<id or
/// name>`.
fn check_target(store: &Store, target: &str) -> Result<String> {
    let t = target.trim();
    let bad = || {
        ComplianceError::invalid(
            "assign to",
            format!("{t:?}: write role:NAME, team:NAME or staff:ID (e.g. team:north)"),
        )
    };
    let (kind, value) = t.split_once(':').ok_or_else(bad)?;
    let value = value.trim();
    if value.is_empty() {
        return Err(bad());
    }
    match kind.trim().to_lowercase().as_str() {
        "role" => Ok(format!("role:{}", value.to_lowercase())),
        "team" => Ok(format!("team:{value}")),
        "staff" => Ok(format!("staff:{}", crate::staff::find(store, value)?.id)),
        _ => Err(bad()),
    }
}

fn matches(target: &str, s: &Staff) -> bool {
    match target.split_once(':') {
        Some(("role", r)) => s.role.eq_ignore_ascii_case(r),
        Some(("team", t)) => s.team.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(t)),
        Some(("staff", id)) => s.id == id,
        _ => false,
    }
}

/// Assign a published policy (admins); assigning the same target again
/// moves its due date.
pub fn assign(
    store: &mut Store,
    doc_id: &str,
    target: &str,
    due: &str,
    today: NaiveDate,
) -> Result<Assignment> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_admin("assign a policy to read")?;
    let p = crate::policies::get(store, doc_id, today)?;
    if p.status != DocStatus::Published {
        return Err(ComplianceError::State(
            "only a published policy can be assigned; approve and publish it first".into(),
        ));
    }
    let target = check_target(store, target)?;
    let due_day = parse_date("due", due)?;
    if due_day < today {
        return Err(ComplianceError::invalid(
            "due",
            format!("{} is in the past", text(due_day)),
        ));
    }
    // One assignment per policy and target, on every device.
    let id = format!("{doc_id}:{target}");
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn().execute(
            "DELETE FROM compliance_tombstones WHERE kind = 'assignment' AND id = ?1",
            [&id],
        )?;
        tx.conn().execute(
            "INSERT INTO compliance_assignments (id, doc_id, target, due, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(doc_id, target) DO UPDATE SET \
             due = excluded.due, dirty = 1",
            params![id, doc_id, target, text(due_day), tx.now(), access.user_id],
        )?;
        tx.audit(
            "assignments",
            doc_id,
            "assigned",
            &json!({"target": target, "due": text(due_day)}),
        )?;
        Ok(())
    })?;
    assignments(store, doc_id)?
        .into_iter()
        .find(|a| a.target == target)
        .ok_or_else(|| ComplianceError::State("the assignment was not stored".into()))
}

/// Take an assignment away (admins).
pub fn unassign(store: &mut Store, doc_id: &str, target: &str) -> Result<()> {
    install(store)?;
    Access::of(store)?.check_admin("change who must read a policy")?;
    let target = check_target(store, target)?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let n = tx.conn().execute(
            "DELETE FROM compliance_assignments WHERE doc_id = ?1 AND target = ?2",
            params![doc_id, target],
        )?;
        if n > 0 {
            tx.conn().execute(
                "INSERT OR REPLACE INTO compliance_tombstones (kind, id, at) VALUES ('assignment', ?1, ?2)",
                params![format!("{doc_id}:{target}"), tx.now()],
            )?;
        }
        if n == 0 {
            return Err(ComplianceError::NotFound {
                what: "assignment",
                id: target.clone(),
                hint: "see `crm compliance status`",
            });
        }
        tx.audit(
            "assignments",
            doc_id,
            "unassigned",
            &json!({"target": target}),
        )?;
        Ok(())
    })
}

/// A policy's assignments.
pub fn assignments(store: &Store, doc_id: &str) -> Result<Vec<Assignment>> {
    if !installed(store)? {
        return Ok(Vec::new());
    }
    Ok(store.feature_read(|c| {
        let mut st = c.prepare("SELECT id, doc_id, target, due FROM compliance_assignments WHERE doc_id = ?1 ORDER BY target")?;
        let rows = st.query_map([doc_id], |r| Ok(Assignment { id: r.get(0)?, doc_id: r.get(1)?, target: r.get(2)?, due: r.get(3)? }))?;
        rows.collect()
    })?)
}

/// Acknowledge the version in force of a policy assigned to the person
/// using the profile: works offline; synced later.
pub fn acknowledge(store: &mut Store, doc_id: &str, today: NaiveDate) -> Result<Ack> {
    install(store)?;
    let access = Access::of(store)?;
    let Some(me) = access.staff_id.clone() else {
        return Err(ComplianceError::Forbidden(
            "your account is not linked to a staff record; ask an admin to link it".into(),
        ));
    };
    let p = crate::policies::get(store, doc_id, today)?;
    let (Some(version), DocStatus::Published) = (p.live_version, p.status) else {
        return Err(ComplianceError::State(
            "this policy is not published".into(),
        ));
    };
    let staff = crate::staff::get(store, &me)?;
    if !assignments(store, doc_id)?
        .iter()
        .any(|a| matches(&a.target, &staff))
    {
        return Err(ComplianceError::State(
            "this policy is not assigned to you".into(),
        ));
    }
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let n = tx.conn().execute(
            "INSERT INTO compliance_acks (doc_id, version, staff_id, user_id, at, statement) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![doc_id, version, me, access.user_id, tx.now(), STATEMENT],
        )?;
        if n > 0 {
            tx.audit(
                "acks",
                doc_id,
                "acknowledged",
                &json!({"version": version, "staff_id": me}),
            )?;
        }
        Ok(())
    })?;
    let at: String = store.feature_read(|c| {
        c.query_row(
            "SELECT at FROM compliance_acks WHERE doc_id = ?1 AND version = ?2 AND staff_id = ?3",
            params![doc_id, version, me],
            |r| r.get(0),
        )
    })?;
    Ok(Ack {
        doc_id: doc_id.into(),
        version,
        staff_id: me,
        at,
        statement: STATEMENT.into(),
    })
}

/// An acknowledgement.
#[derive(Clone, Debug, Serialize)]
pub struct Ack {
    /// The policy.
    pub doc_id: String,
    /// The version acknowledged.
    pub version: i64,
    /// Who.
    pub staff_id: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What they said.
    pub statement: String,
}

/// Done, pending or overdue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckState {
    /// Acknowledged the version that counts.
    Done,
    /// Not yet; the due date has not passed.
    Pending,
    /// Not yet, and the due date has passed.
    Overdue,
}

/// One person's state for one policy.
#[derive(Clone, Debug, Serialize)]
pub struct PersonAck {
    /// The staff member.
    pub staff_id: String,
    /// Their name.
    pub name: String,
    /// Their team.
    pub team: Option<String>,
    /// Their user account (for reminders).
    pub user_id: Option<String>,
    /// Due (the earliest of their assignments).
    pub due: String,
    /// Done, pending, overdue.
    pub state: AckState,
    /// When they acknowledged (the version that counts).
    pub at: Option<String>,
    /// Which version.
    pub version: Option<i64>,
}

/// A policy's read-and-sign state.
#[derive(Clone, Debug, Serialize)]
pub struct AckStatus {
    /// The policy.
    pub doc_id: String,
    /// Its title.
    pub title: String,
    /// The version in force.
    pub version: Option<i64>,
    /// Acknowledgements count from this version.
    pub from_version: Option<i64>,
    /// Everyone assigned whom the person using the profile may see.
    pub people: Vec<PersonAck>,
    /// Done.
    pub done: usize,
    /// Pending.
    pub pending: usize,
    /// Overdue.
    pub overdue: usize,
    /// Done, percent of people (100 with nobody assigned).
    pub percent: f64,
}

/// Who must read `doc_id`, and where each stands on `today`.
pub fn status(store: &Store, doc_id: &str, today: NaiveDate) -> Result<AckStatus> {
    let p = crate::policies::get(store, doc_id, today)?;
    let assigned = assignments(store, doc_id)?;
    let staff = crate::staff::list(store, &crate::staff::StaffQuery::default())?;
    let from = p.ack_from_version.unwrap_or(i64::MAX);
    let acks: Vec<(String, i64, String)> = store.feature_read(|c| {
        let mut st = c.prepare("SELECT staff_id, version, at FROM compliance_acks WHERE doc_id = ?1 ORDER BY version DESC")?;
        let rows = st.query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    })?;
    let mut people = Vec::new();
    for s in &staff {
        let due = assigned
            .iter()
            .filter(|a| matches(&a.target, s))
            .map(|a| a.due.clone())
            .min();
        let Some(due) = due else { continue };
        let ack = acks.iter().find(|(who, v, _)| who == &s.id && *v >= from);
        let state = match ack {
            Some(_) => AckState::Done,
            None if stored(Some(&due)).is_some_and(|d| d < today) => AckState::Overdue,
            None => AckState::Pending,
        };
        people.push(PersonAck {
            staff_id: s.id.clone(),
            name: s.name.clone(),
            team: s.team.clone(),
            user_id: s.user_id.clone(),
            due,
            state,
            at: ack.map(|a| a.2.clone()),
            version: ack.map(|a| a.1),
        });
    }
    let count = |st: AckState| people.iter().filter(|p| p.state == st).count();
    let (done, pending, overdue) = (
        count(AckState::Done),
        count(AckState::Pending),
        count(AckState::Overdue),
    );
    Ok(AckStatus {
        doc_id: p.doc_id,
        title: p.title,
        version: p.live_version,
        from_version: p.ack_from_version,
        percent: crate::training::percent(done, people.len()),
        people,
        done,
        pending,
        overdue,
    })
}

/// What the person using the profile must read, and where they stand.
pub fn mine(store: &Store, today: NaiveDate) -> Result<Vec<(crate::policies::Policy, PersonAck)>> {
    let access = Access::of(store)?;
    let Some(me) = access.staff_id else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for p in crate::policies::list(store, today)? {
        if p.status != DocStatus::Published {
            continue;
        }
        let st = status(store, &p.doc_id, today)?;
        if let Some(mine) = st.people.into_iter().find(|x| x.staff_id == me) {
            out.push((p, mine));
        }
    }
    Ok(out)
}
