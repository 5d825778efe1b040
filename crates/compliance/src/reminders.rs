//! Reminders as tasks: read-and-sign before and after the due date,
//! training before it lapses, policy reviews before they fall due. Each
//! reminder is made once (remembered by a key), through the core's task
//! write path, and assigned to whoever must act.

use chrono::NaiveDate;
use crm_core::{Store, TaskDraft};
use rusqlite::params;
use serde::Serialize;

use crate::dates::{stored, text, Standing, DUE_SOON_DAYS};
use crate::error::Result;
use crate::readsign::AckState;
use crate::schema::{install, FEATURE};
use crate::who::Access;

/// Days before a read-and-sign due date the person is reminded.
pub const ACK_NOTICE_DAYS: i64 = 7;

/// A reminder made.
#[derive(Clone, Debug, Serialize)]
pub struct Reminder {
    /// What it is: `acknowledgement.due`, `acknowledgement.overdue`,
    /// `document.review_due` or `training.expiring` (also the name of the
    /// plugin event the front ends fire for it).
    pub kind: &'static str,
    /// The staff member it is about, if any.
    pub staff_id: Option<String>,
    /// The policy (document id), if any.
    pub doc_id: Option<String>,
    /// The course, if any.
    pub course_id: Option<String>,
    /// The day it is about (due date, review date, expiry).
    pub date: String,
    /// What it is about (its key).
    pub key: String,
    /// The task's title.
    pub title: String,
    /// The task's due date.
    pub due: String,
    /// The task's id.
    pub task_id: String,
}

struct Due {
    kind: &'static str,
    staff_id: Option<String>,
    doc_id: Option<String>,
    course_id: Option<String>,
    key: String,
    title: String,
    due: NaiveDate,
    assignee: Option<String>,
}

/// Make the reminders due on `today` that were not made before (admins and
/// managers: the person who manages the records runs them).
pub fn run(store: &mut Store, today: NaiveDate) -> Result<Vec<Reminder>> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_admin_or_manager("make compliance reminders")?;
    let mut due: Vec<Due> = Vec::new();
    // Read-and-sign: the person a week before, their manager (this user)
    // once overdue.
    for p in crate::policies::list(store, today)? {
        if p.status != crm_documents::DocStatus::Published {
            continue;
        }
        let st = crate::readsign::status(store, &p.doc_id, today)?;
        let version = st.from_version.unwrap_or(0);
        for person in st.people {
            let Some(d) = stored(Some(&person.due)) else {
                continue;
            };
            match person.state {
                AckState::Pending if (d - today).num_days() <= ACK_NOTICE_DAYS => due.push(Due {
                    kind: "acknowledgement.due",
                    staff_id: Some(person.staff_id.clone()),
                    doc_id: Some(p.doc_id.clone()),
                    course_id: None,
                    key: format!("ack:{}:{}:{version}:before", p.doc_id, person.staff_id),
                    title: format!("Read and sign: {}", p.title),
                    due: d,
                    assignee: person.user_id.clone(),
                }),
                AckState::Overdue => due.push(Due {
                    kind: "acknowledgement.overdue",
                    staff_id: Some(person.staff_id.clone()),
                    doc_id: Some(p.doc_id.clone()),
                    course_id: None,
                    key: format!("ack:{}:{}:{version}:after", p.doc_id, person.staff_id),
                    title: format!("Overdue: {} has not signed {}", person.name, p.title),
                    due: today,
                    assignee: None,
                }),
                _ => {}
            }
        }
        if matches!(p.review, Standing::DueSoon | Standing::Expired) {
            if let Some(d) = stored(Some(&p.next_review)) {
                due.push(Due {
                    kind: "document.review_due",
                    staff_id: None,
                    doc_id: Some(p.doc_id.clone()),
                    course_id: None,
                    key: format!("review:{}:{}", p.doc_id, p.next_review),
                    title: format!("Review the policy {} (owner: {})", p.title, p.owner),
                    due: d,
                    assignee: None,
                });
            }
        }
    }
    // Training lapsing within the window (or lapsed): one per record's expiry.
    let m = crate::training::matrix(store, &Default::default(), today)?;
    for row in &m.rows {
        for (course, cell) in m.courses.iter().zip(&row.cells) {
            if !matches!(cell.standing, Standing::DueSoon | Standing::Expired) {
                continue;
            }
            let Some(exp) = stored(cell.expires.as_deref()) else {
                continue;
            };
            if (exp - today).num_days() > DUE_SOON_DAYS {
                continue;
            }
            due.push(Due {
                kind: "training.expiring",
                staff_id: Some(row.staff_id.clone()),
                doc_id: None,
                course_id: Some(course.id.clone()),
                key: format!("training:{}:{}:{}", row.staff_id, course.id, text(exp)),
                title: format!("Renew {} for {}", course.name, row.name),
                due: exp,
                assignee: None,
            });
        }
    }
    let made: std::collections::HashSet<String> = store.feature_read(|c| {
        let mut st = c.prepare("SELECT key FROM compliance_reminders")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect()
    })?;
    let mut out = Vec::new();
    for d in due.into_iter().filter(|d| !made.contains(&d.key)) {
        // The task first, then the note that it was made: a crash between
        // them makes it twice rather than never.
        let task = store.create_task(&TaskDraft {
            title: d.title.clone(),
            due: Some(text(d.due)),
            assignee: d.assignee.clone(),
            ..Default::default()
        })?;
        let actor = store.user_actor();
        let task_id = task.id.to_string();
        store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
            tx.conn().execute(
                "INSERT OR IGNORE INTO compliance_reminders (key, task_id, created_at) VALUES (?1, ?2, ?3)",
                params![d.key, task_id, tx.now()],
            )?;
            Ok(())
        })?;
        out.push(Reminder {
            kind: d.kind,
            staff_id: d.staff_id,
            doc_id: d.doc_id,
            course_id: d.course_id,
            date: text(d.due),
            key: d.key,
            title: d.title,
            due: text(d.due),
            task_id,
        });
    }
    Ok(out)
}
