//! Training: courses with a renewal period, what each person achieved, and
//! the matrix of staff by course an office reads at a glance.

use chrono::NaiveDate;
use crm_core::Store;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::dates::{add_months, parse_date, parse_opt_date, standing, stored, text, Standing};
use crate::error::{ComplianceError, Result};
use crate::schema::{install, installed, FEATURE};
use crate::staff::{bounded, opt, required};
use crate::who::Access;

/// A course.
#[derive(Clone, Debug, Serialize)]
pub struct Course {
    /// Its id (a slug).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `mandatory`, `care_certificate` or `other`.
    pub category: String,
    /// Months until it must be done again (`None`: never lapses).
    pub renewal_months: Option<i64>,
    /// Whether it is in the matrix.
    pub active: bool,
}

/// Course categories.
pub const CATEGORIES: &[&str] = &["mandatory", "care_certificate", "other"];

/// Every course, in the matrix's order (inactive ones only when asked).
pub fn courses(store: &Store, include_inactive: bool) -> Result<Vec<Course>> {
    if !installed(store)? {
        // The seeded list is in the first migration; a profile that never
        // opened compliance has none yet.
        return Ok(Vec::new());
    }
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT id, name, category, renewal_months, active FROM compliance_courses \
             WHERE ?1 OR active = 1 ORDER BY ord, name",
        )?;
        let rows = st.query_map([include_inactive], |r| {
            Ok(Course {
                id: r.get(0)?,
                name: r.get(1)?,
                category: r.get(2)?,
                renewal_months: r.get(3)?,
                active: r.get(4)?,
            })
        })?;
        rows.collect()
    })?)
}

/// A course by id or name (any case).
pub fn course(store: &mut Store, which: &str) -> Result<Course> {
    install(store)?;
    let w = which.trim();
    courses(store, true)?
        .into_iter()
        .find(|c| c.id == w || c.name.eq_ignore_ascii_case(w))
        .ok_or_else(|| ComplianceError::NotFound {
            what: "course",
            id: w.to_string(),
            hint: "see `crm training courses`",
        })
}

/// A course as an admin types it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CourseDraft {
    /// Its name.
    pub name: String,
    /// `mandatory`, `care_certificate` or `other`.
    pub category: String,
    /// Months until renewal; `None`: never lapses.
    pub renewal_months: Option<i64>,
    /// In the matrix.
    pub active: bool,
}

fn check_course(d: &CourseDraft) -> Result<(String, String, Option<i64>)> {
    let name = required("name", &d.name, 150)?;
    let category = d.category.trim().to_lowercase().replace(' ', "_");
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(ComplianceError::invalid(
            "category",
            format!("{:?} is not one of: {}", d.category, CATEGORIES.join(", ")),
        ));
    }
    if let Some(m) = d.renewal_months {
        if !(1..=120).contains(&m) {
            return Err(ComplianceError::invalid(
                "renewal months",
                format!(
                    "{m} is not between 1 and 120 (leave it empty for a course that never lapses)"
                ),
            ));
        }
    }
    Ok((name, category, d.renewal_months))
}

/// Add a course (admins).
pub fn add_course(store: &mut Store, d: &CourseDraft) -> Result<Course> {
    install(store)?;
    Access::of(store)?.check_admin("change the list of courses")?;
    let (name, category, renewal) = check_course(d)?;
    let mut id: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if id.is_empty() {
        id = uuid::Uuid::now_v7().to_string();
    }
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        let taken: i64 = c.query_row(
            "SELECT count(*) FROM compliance_courses WHERE id = ?1 OR name = ?2 COLLATE NOCASE",
            params![id, name],
            |r| r.get(0),
        )?;
        if taken > 0 {
            return Err(ComplianceError::invalid("name", format!("a course called {name:?} exists already")));
        }
        c.execute(
            "INSERT INTO compliance_courses (id, name, category, renewal_months, active, ord, updated_at, dirty) \
             VALUES (?1, ?2, ?3, ?4, ?5, (SELECT coalesce(max(ord), 0) + 1 FROM compliance_courses), ?6, 1)",
            params![id, name, category, renewal, d.active, tx.now()],
        )?;
        tx.audit("courses", &id, "created", &json!({"name": name, "category": category, "renewal_months": renewal, "active": d.active}))?;
        Ok(())
    })?;
    course(store, &id)
}

/// Change a course (admins). Records keep the expiry they were given.
pub fn edit_course(store: &mut Store, id: &str, d: &CourseDraft) -> Result<Course> {
    let before = course(store, id)?;
    Access::of(store)?.check_admin("change the list of courses")?;
    let (name, category, renewal) = check_course(d)?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let clash: i64 = tx.conn().query_row(
            "SELECT count(*) FROM compliance_courses WHERE id <> ?1 AND name = ?2 COLLATE NOCASE",
            params![before.id, name],
            |r| r.get(0),
        )?;
        if clash > 0 {
            return Err(ComplianceError::invalid("name", format!("a course called {name:?} exists already")));
        }
        tx.conn().execute(
            "UPDATE compliance_courses SET name = ?2, category = ?3, renewal_months = ?4, active = ?5, \
             updated_at = ?6, dirty = 1 WHERE id = ?1",
            params![before.id, name, category, renewal, d.active, tx.now()],
        )?;
        tx.audit("courses", &before.id, "updated", &json!({"name": name, "category": category, "renewal_months": renewal, "active": d.active}))?;
        Ok(())
    })?;
    course(store, &before.id)
}

/// A training record as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RecordDraft {
    /// The staff member's id.
    pub staff_id: String,
    /// The course's id or name.
    pub course: String,
    /// The day it was achieved.
    pub achieved: String,
    /// The day it lapses, when the certificate says (else the course's
    /// renewal period from `achieved`).
    pub expires: Option<String>,
    /// Who trained them.
    pub provider: Option<String>,
    /// An evidence file already added (its id).
    pub evidence_id: Option<String>,
}

/// A certificate to keep with a new record: its file name and bytes.
pub type Certificate<'a> = (&'a str, &'a [u8]);

/// A training record.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Its id.
    pub id: String,
    /// The staff member.
    pub staff_id: String,
    /// The course.
    pub course_id: String,
    /// The course's name.
    pub course_name: String,
    /// Achieved (YYYY-MM-DD).
    pub achieved: String,
    /// Lapses after (YYYY-MM-DD; `None`: never).
    pub expires: Option<String>,
    /// Who trained them.
    pub provider: Option<String>,
    /// Its evidence file.
    pub evidence_id: Option<String>,
}

/// The day a course achieved on `achieved` lapses.
pub fn expiry(achieved: NaiveDate, renewal_months: Option<i64>) -> Option<NaiveDate> {
    renewal_months
        .and_then(|m| u32::try_from(m).ok())
        .and_then(|m| add_months(achieved, m))
}

/// Record training (admins; managers for the people they manage). The
/// achieved date may not be in the future, nor the expiry before it. A
/// certificate given is kept with it: both are stored or neither.
pub fn record(
    store: &mut Store,
    d: &RecordDraft,
    certificate: Option<Certificate<'_>>,
    today: NaiveDate,
) -> Result<Record> {
    install(store)?;
    let access = Access::of(store)?;
    let staff_id = required("staff", &d.staff_id, 100)?;
    access.check_edit(&staff_id, "record training")?;
    crate::staff::get(store, &staff_id)?;
    let course = course(store, &d.course)?;
    let achieved = parse_date("achieved", &d.achieved)?;
    if achieved > today {
        return Err(ComplianceError::invalid(
            "achieved",
            format!(
                "{} is in the future; record training once it is done",
                text(achieved)
            ),
        ));
    }
    let expires = match parse_opt_date("expires", d.expires.as_deref())? {
        Some(e) if e < achieved => {
            return Err(ComplianceError::invalid(
                "expires",
                format!("{} is before the achieved date {}", text(e), text(achieved)),
            ))
        }
        Some(e) => Some(e),
        None => expiry(achieved, course.renewal_months),
    };
    let provider = opt(&d.provider)
        .map(|p| bounded("provider", &p, 200))
        .transpose()?;
    let mut evidence_id = opt(&d.evidence_id);
    let certificate = match certificate {
        Some((name, bytes)) => {
            let kind = crate::evidence::check(name, bytes)?;
            let name = required("evidence file", name, 255)?;
            let id = uuid::Uuid::now_v7().to_string();
            evidence_id = Some(id.clone());
            Some((id, name, kind, bytes))
        }
        None => None,
    };
    if let (Some(e), None) = (&evidence_id, &certificate) {
        let theirs = crate::evidence::list(store, &staff_id)?
            .iter()
            .any(|x| &x.id == e);
        if !theirs {
            return Err(ComplianceError::invalid(
                "evidence",
                format!("no evidence file {e} for this person"),
            ));
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    let actor = store.user_actor();
    let by = access.user_id.clone();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        if let Some((id, name, kind, bytes)) = &certificate {
            crate::evidence::insert(
                tx,
                &crate::evidence::New { id, staff_id: &staff_id, item: "training", file_name: name, kind, bytes, by: &by },
            )?;
        }
        tx.conn().execute(
            "INSERT INTO compliance_training (id, staff_id, course_id, achieved, expires, provider, \
             evidence_id, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![id, staff_id, course.id, text(achieved), expires.map(text), provider, evidence_id, tx.now(), by],
        )?;
        tx.audit("training", &id, "created", &json!({"staff_id": staff_id, "course_id": course.id,
            "achieved": text(achieved), "expires": expires.map(text), "provider": provider}))?;
        Ok(())
    })?;
    Ok(Record {
        id,
        staff_id,
        course_id: course.id,
        course_name: course.name,
        achieved: text(achieved),
        expires: expires.map(text),
        provider,
        evidence_id,
    })
}

/// A person's training records, newest first.
pub fn records(store: &Store, staff_id: &str) -> Result<Vec<Record>> {
    crate::staff::get(store, staff_id)?;
    Ok(store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT t.id, t.staff_id, t.course_id, c.name, t.achieved, t.expires, t.provider, t.evidence_id \
             FROM compliance_training t JOIN compliance_courses c ON c.id = t.course_id \
             WHERE t.staff_id = ?1 ORDER BY t.achieved DESC, t.id",
        )?;
        let rows = st.query_map([staff_id], |r| {
            Ok(Record {
                id: r.get(0)?,
                staff_id: r.get(1)?,
                course_id: r.get(2)?,
                course_name: r.get(3)?,
                achieved: r.get(4)?,
                expires: r.get(5)?,
                provider: r.get(6)?,
                evidence_id: r.get(7)?,
            })
        })?;
        rows.collect()
    })?)
}

/// One cell of the matrix: a person's latest record of a course.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Valid, due soon, expired or missing.
    pub standing: Standing,
    /// Achieved (latest record).
    pub achieved: Option<String>,
    /// Lapses after.
    pub expires: Option<String>,
}

/// One row of the matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The staff member.
    pub staff_id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// Their team.
    pub team: Option<String>,
    /// One cell per course, in the courses' order.
    pub cells: Vec<Cell>,
}

/// How one course stands across the rows shown.
#[derive(Clone, Debug, Serialize)]
pub struct CourseTotals {
    /// Valid.
    pub valid: usize,
    /// Due soon.
    pub due_soon: usize,
    /// Expired.
    pub expired: usize,
    /// Missing.
    pub missing: usize,
    /// In date (valid or due soon), percent of the rows; 100 with no rows.
    pub compliant_percent: f64,
}

/// The training matrix: staff by course.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    /// The day it is for.
    pub today: String,
    /// The courses (columns).
    pub courses: Vec<Course>,
    /// The staff (rows).
    pub rows: Vec<Row>,
    /// Per course, in the courses' order.
    pub totals: Vec<CourseTotals>,
}

/// Which part of the matrix to show.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MatrixQuery {
    /// Only this team.
    pub team: Option<String>,
    /// Only this role.
    pub role: Option<String>,
    /// Only courses of this category.
    pub category: Option<String>,
    /// Only this course (id or name).
    pub course: Option<String>,
    /// Only rows with at least one cell in this standing
    /// (`valid`, `due_soon`, `expired`, `missing`).
    pub standing: Option<String>,
    /// Names containing this.
    pub text: Option<String>,
}

/// The matrix on `today`, for the staff the person may see. One query
/// reads every person's latest record of every course.
pub fn matrix(store: &Store, q: &MatrixQuery, today: NaiveDate) -> Result<Matrix> {
    let want = match opt(&q.standing) {
        Some(s) => Some(Standing::parse(&s).ok_or_else(|| {
            ComplianceError::invalid(
                "standing",
                format!("{s:?} is not one of: valid, due_soon, expired, missing"),
            )
        })?),
        None => None,
    };
    let mut courses = courses(store, false)?;
    if let Some(cat) = opt(&q.category) {
        courses.retain(|c| c.category.eq_ignore_ascii_case(&cat));
    }
    if let Some(one) = opt(&q.course) {
        courses.retain(|c| c.id == one || c.name.eq_ignore_ascii_case(&one));
    }
    let staff = crate::staff::list(
        store,
        &crate::staff::StaffQuery {
            team: q.team.clone(),
            role: q.role.clone(),
            text: q.text.clone(),
            include_left: false,
        },
    )?;
    let col: std::collections::HashMap<&str, usize> = courses
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let row_of: std::collections::HashMap<&str, usize> = staff
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut cells: Vec<Vec<Cell>> = staff
        .iter()
        .map(|_| {
            courses
                .iter()
                .map(|_| Cell {
                    standing: Standing::Missing,
                    achieved: None,
                    expires: None,
                })
                .collect()
        })
        .collect();
    if installed(store)? && !staff.is_empty() {
        store.feature_read(|c| {
            // SQLite takes the other columns from the row holding max().
            let mut st = c.prepare(
                "SELECT staff_id, course_id, max(achieved), expires FROM compliance_training \
                 GROUP BY staff_id, course_id",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let (s, k): (String, String) = (r.get(0)?, r.get(1)?);
                let (Some(&i), Some(&j)) = (row_of.get(s.as_str()), col.get(k.as_str())) else {
                    continue;
                };
                let achieved: String = r.get(2)?;
                let expires: Option<String> = r.get(3)?;
                cells[i][j] = Cell {
                    standing: standing(stored(expires.as_deref()), today),
                    achieved: Some(achieved),
                    expires,
                };
            }
            Ok(())
        })?;
    }
    let mut rows: Vec<Row> = staff
        .into_iter()
        .zip(cells)
        .map(|(s, cells)| Row {
            staff_id: s.id,
            name: s.name,
            role: s.role,
            team: s.team,
            cells,
        })
        .collect();
    if let Some(w) = want {
        rows.retain(|r| r.cells.iter().any(|c| c.standing == w));
    }
    let totals = (0..courses.len())
        .map(|j| {
            let count = |s: Standing| rows.iter().filter(|r| r.cells[j].standing == s).count();
            let (valid, due_soon, expired, missing) = (
                count(Standing::Valid),
                count(Standing::DueSoon),
                count(Standing::Expired),
                count(Standing::Missing),
            );
            CourseTotals {
                valid,
                due_soon,
                expired,
                missing,
                compliant_percent: percent(valid + due_soon, rows.len()),
            }
        })
        .collect();
    Ok(Matrix {
        today: text(today),
        courses,
        rows,
        totals,
    })
}

/// `part` of `whole` in percent, one decimal; 100 of nothing.
pub fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// A training record by id (for the evidence it links).
pub fn get_record(store: &Store, id: &str) -> Result<Option<Record>> {
    let staff: Option<String> = store.feature_read(|c| {
        c.query_row(
            "SELECT staff_id FROM compliance_training WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
    })?;
    match staff {
        Some(s) => Ok(records(store, &s)?.into_iter().find(|r| r.id == id)),
        None => Ok(None),
    }
}
