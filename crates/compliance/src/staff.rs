//! Staff records: who works here, in what role and team, under whom.

use crm_core::Store;
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::dates::{parse_date, parse_opt_date, text};
use crate::error::{ComplianceError, Result};
use crate::schema::{install, installed, FEATURE};
use crate::who::{not_found, Access};

/// What a person typed for a staff record (every field as text: the
/// checks below name the one that is wrong).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StaffDraft {
    /// Full name.
    pub name: String,
    /// Job role, e.g. `carer`, `senior carer`, `nurse`, `manager`.
    pub role: String,
    /// Team, e.g. `north`.
    pub team: Option<String>,
    /// Their manager's staff id.
    pub manager_id: Option<String>,
    /// First day of work.
    pub start_date: String,
    /// Contract, e.g. `full-time`, `part-time`, `zero-hours`, `bank`.
    pub contract: Option<String>,
    /// The user account they sign in with, if any.
    pub user_id: Option<String>,
    /// Weeks between supervisions (e.g. 8).
    pub supervision_weeks: Option<i64>,
    /// Months between appraisals (e.g. 12).
    pub appraisal_months: Option<i64>,
    /// Last day of work, once they leave.
    pub left_date: Option<String>,
}

/// A staff record.
#[derive(Clone, Debug, Serialize)]
pub struct Staff {
    /// Its id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Job role.
    pub role: String,
    /// Team.
    pub team: Option<String>,
    /// Their manager's staff id.
    pub manager_id: Option<String>,
    /// Their manager's name.
    pub manager_name: Option<String>,
    /// First day (YYYY-MM-DD).
    pub start_date: String,
    /// Contract.
    pub contract: Option<String>,
    /// Linked user account.
    pub user_id: Option<String>,
    /// Weeks between supervisions.
    pub supervision_weeks: Option<i64>,
    /// Months between appraisals.
    pub appraisal_months: Option<i64>,
    /// Last day, once they have left.
    pub left_date: Option<String>,
    /// Last change.
    pub updated_at: String,
}

const COLUMNS: &str = "s.id, s.name, s.role, s.team, s.manager_id, m.name, s.start_date, \
    s.contract, s.user_id, s.supervision_weeks, s.appraisal_months, s.left_date, s.updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Staff> {
    Ok(Staff {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        team: r.get(3)?,
        manager_id: r.get(4)?,
        manager_name: r.get(5)?,
        start_date: r.get(6)?,
        contract: r.get(7)?,
        user_id: r.get(8)?,
        supervision_weeks: r.get(9)?,
        appraisal_months: r.get(10)?,
        left_date: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

/// Trimmed text; empty is none.
pub(crate) fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A short piece of text a person typed: trimmed, not empty, bounded.
pub(crate) fn required(field: &'static str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ComplianceError::invalid(field, "is required"));
    }
    bounded(field, t, max)
}

pub(crate) fn bounded(field: &'static str, s: &str, max: usize) -> Result<String> {
    if s.chars().count() > max {
        return Err(ComplianceError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ComplianceError::invalid(
            field,
            "holds control characters; type it again",
        ));
    }
    Ok(s.to_string())
}

/// A checked draft, ready to store.
struct Checked {
    name: String,
    role: String,
    team: Option<String>,
    manager_id: Option<String>,
    start_date: String,
    contract: Option<String>,
    user_id: Option<String>,
    supervision_weeks: Option<i64>,
    appraisal_months: Option<i64>,
    left_date: Option<String>,
}

fn check(store: &Store, d: &StaffDraft, id: Option<&str>) -> Result<Checked> {
    let name = required("name", &d.name, 200)?;
    let role = required("role", &d.role, 100)?.to_lowercase();
    let team = opt(&d.team).map(|t| bounded("team", &t, 100)).transpose()?;
    let start = parse_date("start date", &d.start_date)?;
    let left = parse_opt_date("left date", d.left_date.as_deref())?;
    if let Some(l) = left {
        if l < start {
            return Err(ComplianceError::invalid(
                "left date",
                format!("{} is before the start date {}", text(l), text(start)),
            ));
        }
    }
    let in_range = |field: &'static str, v: Option<i64>, max: i64| match v {
        Some(n) if !(1..=max).contains(&n) => Err(ComplianceError::invalid(
            field,
            format!("{n} is not between 1 and {max}"),
        )),
        v => Ok(v),
    };
    let supervision_weeks = in_range("supervision weeks", d.supervision_weeks, 52)?;
    let appraisal_months = in_range("appraisal months", d.appraisal_months, 36)?;
    let manager_id = opt(&d.manager_id);
    if let Some(m) = &manager_id {
        if Some(m.as_str()) == id {
            return Err(ComplianceError::invalid(
                "manager",
                "a person cannot be their own manager",
            ));
        }
        let exists: bool = store.feature_read(|c| {
            c.query_row(
                "SELECT count(*) FROM compliance_staff WHERE id = ?1",
                [m],
                |r| r.get::<_, i64>(0),
            )
        })? > 0;
        if !exists {
            return Err(ComplianceError::invalid(
                "manager",
                format!("no staff member {m}; see `crm staff list`"),
            ));
        }
        // A manager chain that loops back would hide people from everyone
        // but admins.
        if let Some(me) = id {
            let loops: i64 = store.feature_read(|c| {
                c.query_row(
                    "WITH RECURSIVE up(id) AS (SELECT ?1 UNION \
                       SELECT s.manager_id FROM compliance_staff s JOIN up ON s.id = up.id \
                       WHERE s.manager_id IS NOT NULL) \
                     SELECT count(*) FROM up WHERE id = ?2",
                    params![m, me],
                    |r| r.get(0),
                )
            })?;
            if loops > 0 {
                return Err(ComplianceError::invalid(
                    "manager",
                    "that person is managed by this one (directly or down the line)",
                ));
            }
        }
    }
    Ok(Checked {
        name,
        role,
        team,
        manager_id,
        start_date: text(start),
        contract: opt(&d.contract)
            .map(|c| bounded("contract", &c, 100))
            .transpose()?,
        user_id: opt(&d.user_id),
        supervision_weeks,
        appraisal_months,
        left_date: left.map(text),
    })
}

/// Add a staff member (admins, and managers for people they will manage).
pub fn create(store: &mut Store, d: &StaffDraft) -> Result<Staff> {
    install(store)?;
    let access = Access::of(store)?;
    let c = check(store, d, None)?;
    if !access.admin {
        let theirs = c
            .manager_id
            .as_deref()
            .is_some_and(|m| access.staff_id.as_deref() == Some(m) || access.may_edit(m));
        if !theirs {
            return Err(ComplianceError::Forbidden(
                "only an admin can add staff, or a manager adding someone they will manage".into(),
            ));
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn().execute(
            "INSERT INTO compliance_staff (id, name, role, team, manager_id, start_date, contract, \
             user_id, supervision_weeks, appraisal_months, left_date, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
            params![
                id,
                c.name,
                c.role,
                c.team,
                c.manager_id,
                c.start_date,
                c.contract,
                c.user_id,
                c.supervision_weeks,
                c.appraisal_months,
                c.left_date,
                tx.now()
            ],
        )?;
        tx.audit("staff", &id, "created", &audit_json(&c))?;
        Ok(())
    })?;
    get(store, &id)
}

fn audit_json(c: &Checked) -> serde_json::Value {
    json!({"name": c.name, "role": c.role, "team": c.team, "manager_id": c.manager_id,
           "start_date": c.start_date, "contract": c.contract, "user_id": c.user_id,
           "supervision_weeks": c.supervision_weeks, "appraisal_months": c.appraisal_months,
           "left_date": c.left_date})
}

/// Change a staff record: every field as given.
pub fn update(store: &mut Store, id: &str, d: &StaffDraft) -> Result<Staff> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_edit(id, "change a staff record")?;
    get(store, id)?;
    let c = check(store, d, Some(id))?;
    if !access.admin && c.user_id != get(store, id)?.user_id {
        return Err(ComplianceError::Forbidden(
            "only an admin can link a staff record to a user account".into(),
        ));
    }
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn().execute(
            "UPDATE compliance_staff SET name = ?2, role = ?3, team = ?4, manager_id = ?5, \
             start_date = ?6, contract = ?7, user_id = ?8, supervision_weeks = ?9, \
             appraisal_months = ?10, left_date = ?11, updated_at = ?12, dirty = 1 WHERE id = ?1",
            params![
                id,
                c.name,
                c.role,
                c.team,
                c.manager_id,
                c.start_date,
                c.contract,
                c.user_id,
                c.supervision_weeks,
                c.appraisal_months,
                c.left_date,
                tx.now()
            ],
        )?;
        tx.audit("staff", id, "updated", &audit_json(&c))?;
        Ok(())
    })?;
    get(store, id)
}

/// One staff record, if the person using the profile may see it.
pub fn get(store: &Store, id: &str) -> Result<Staff> {
    if !installed(store)? {
        return Err(not_found(id));
    }
    Access::of(store)?.check_see(id)?;
    store
        .feature_read(|c| {
            c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM compliance_staff s \
                     LEFT JOIN compliance_staff m ON m.id = s.manager_id WHERE s.id = ?1"
                ),
                [id],
                from_row,
            )
            .optional()
        })?
        .ok_or_else(|| not_found(id))
}

/// Which staff to list.
#[derive(Clone, Debug, Default)]
pub struct StaffQuery {
    /// Only this team.
    pub team: Option<String>,
    /// Only this role.
    pub role: Option<String>,
    /// Names containing this (any case).
    pub text: Option<String>,
    /// Include people who have left.
    pub include_left: bool,
}

/// The staff the person using the profile may see, by name.
pub fn list(store: &Store, q: &StaffQuery) -> Result<Vec<Staff>> {
    if !installed(store)? {
        return Ok(Vec::new());
    }
    let access = Access::of(store)?;
    let all = store.feature_read(|c| {
        let mut st = c.prepare(&format!(
            "SELECT {COLUMNS} FROM compliance_staff s \
             LEFT JOIN compliance_staff m ON m.id = s.manager_id \
             WHERE (?1 IS NULL OR s.team = ?1 COLLATE NOCASE) \
               AND (?2 IS NULL OR s.role = ?2 COLLATE NOCASE) \
               AND (?3 IS NULL OR instr(lower(s.name), lower(?3)) > 0) \
               AND (?4 OR s.left_date IS NULL) \
             ORDER BY s.name COLLATE NOCASE, s.id"
        ))?;
        let rows = st.query_map(
            params![opt(&q.team), opt(&q.role), opt(&q.text), q.include_left],
            from_row,
        )?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(all.into_iter().filter(|s| access.may_see(&s.id)).collect())
}

/// Find a staff member by id or by their exact name (any case); a name two
/// people share is refused with both ids.
pub fn find(store: &Store, who: &str) -> Result<Staff> {
    if let Ok(s) = get(store, who.trim()) {
        return Ok(s);
    }
    let q = StaffQuery {
        include_left: true,
        ..Default::default()
    };
    let same: Vec<Staff> = list(store, &q)?
        .into_iter()
        .filter(|s| s.name.eq_ignore_ascii_case(who.trim()))
        .collect();
    match same.len() {
        1 => Ok(same.into_iter().next().ok_or_else(|| not_found(who))?),
        0 => Err(not_found(who)),
        _ => Err(ComplianceError::invalid(
            "staff",
            format!(
                "{} people are called {:?}; use one of their ids: {}",
                same.len(),
                who.trim(),
                same.iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}
