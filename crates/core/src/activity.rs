//! Tasks and the activity timeline.

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, Result, ValidationError};
use crate::normalize;
use crate::records::{self, Listed};
use crate::store::{Store, Table, WriteTx};

/// What kind of timeline entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A free note.
    Note,
    /// A phone call.
    Call,
    /// An email.
    Email,
    /// A meeting.
    Meeting,
    /// The contact's stage changed (written by the core).
    StatusChange,
}

impl ActivityKind {
    /// Parse from text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_lowercase().as_str() {
            "note" => Self::Note,
            "call" => Self::Call,
            "email" => Self::Email,
            "meeting" => Self::Meeting,
            "status_change" => Self::StatusChange,
            _ => return None,
        })
    }
}

/// One entry of a contact's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// UUIDv7.
    pub id: Uuid,
    /// The contact.
    pub contact_id: Uuid,
    /// Kind.
    pub kind: ActivityKind,
    /// Text.
    pub body: String,
    /// When (UTC, RFC 3339).
    pub occurred_at: String,
    /// Who (the writing actor, as JSON).
    pub actor: String,
}

/// Task status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// To do.
    Open,
    /// Done.
    Done,
    /// No longer needed.
    Cancelled,
}

impl TaskStatus {
    /// Parse from text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_lowercase().as_str() {
            "open" | "todo" => Self::Open,
            "done" | "completed" => Self::Done,
            "cancelled" | "canceled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// A task or next step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// UUIDv7.
    pub id: Uuid,
    /// What to do.
    pub title: String,
    /// When (ISO date).
    pub due_date: Option<String>,
    /// Status.
    pub status: TaskStatus,
    /// About which contact.
    pub contact_id: Option<Uuid>,
    /// Who should do it.
    pub assignee: Option<String>,
    /// More detail.
    pub notes: Option<String>,
}

/// Input for a new task.
#[derive(Clone, Debug, Default)]
pub struct TaskDraft {
    /// What to do.
    pub title: String,
    /// Due date (text).
    pub due: Option<String>,
    /// About which contact.
    pub contact_id: Option<Uuid>,
    /// Who should do it.
    pub assignee: Option<String>,
    /// More detail.
    pub notes: Option<String>,
}

/// Which tasks to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFilter {
    /// Every open task.
    Open,
    /// Open and due today.
    DueToday,
    /// Open and past due.
    Overdue,
    /// Everything, done included.
    All,
    /// Everything about one contact, done included.
    OfContact(Uuid),
}

impl WriteTx<'_> {
    /// Add a timeline entry for a contact.
    pub fn add_activity(
        &mut self,
        contact_id: Uuid,
        kind: ActivityKind,
        body: &str,
    ) -> Result<Activity> {
        let a = Activity {
            id: Uuid::now_v7(),
            contact_id,
            kind,
            body: body.to_string(),
            occurred_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            actor: serde_json::to_string(self.actor())?,
        };
        records::save(self, Table::Activities, a.id, &a)?;
        Ok(a)
    }
}

impl Store {
    /// Log a note, call, email or meeting on a contact's timeline.
    pub fn log_activity(
        &mut self,
        contact_id: Uuid,
        kind: ActivityKind,
        body: &str,
    ) -> Result<Activity> {
        if body.trim().is_empty() {
            return Err(ValidationError::new("body", "is empty").into());
        }
        self.contact(contact_id)?;
        let mut tx = self.write(self.user_actor())?;
        let a = tx.add_activity(contact_id, kind, body.trim())?;
        tx.commit()?;
        Ok(a)
    }

    /// A contact's timeline, newest first, at most `limit` entries.
    pub fn timeline(&self, contact_id: Uuid, limit: usize) -> Result<Listed<Activity>> {
        records::list_limited(
            self.conn(),
            Table::Activities,
            "contact_id = ?1",
            &[&contact_id.to_string()],
            "occurred_at DESC, id DESC",
            limit,
        )
    }

    /// Create a task.
    pub fn create_task(&mut self, d: &TaskDraft) -> Result<Task> {
        let title = d.title.trim();
        if title.is_empty() {
            return Err(ValidationError::new("title", "a task needs a title").into());
        }
        let due_date = match &d.due {
            Some(s) => Some(
                normalize::date(s)
                    .map_err(|r| ValidationError::new("due", r))?
                    .to_string(),
            ),
            None => None,
        };
        if let Some(c) = d.contact_id {
            self.contact(c)?;
        }
        let t = Task {
            id: Uuid::now_v7(),
            title: title.to_string(),
            due_date,
            status: TaskStatus::Open,
            contact_id: d.contact_id,
            assignee: d
                .assignee
                .clone()
                .or_else(|| Some(self.identity().user_id.clone())),
            notes: d.notes.clone(),
        };
        let mut tx = self.write(self.user_actor())?;
        records::save(&mut tx, Table::Tasks, t.id, &t)?;
        tx.commit()?;
        Ok(t)
    }

    /// Set a task's status.
    pub fn set_task_status(&mut self, id: Uuid, status: TaskStatus) -> Result<Task> {
        let mut t: Task = records::get(self.conn(), Table::Tasks, id)?;
        t.status = status;
        let mut tx = self.write(self.user_actor())?;
        records::save(&mut tx, Table::Tasks, id, &t)?;
        tx.commit()?;
        Ok(t)
    }

    /// List tasks, soonest due first, at most `limit`.
    pub fn list_tasks(
        &self,
        filter: TaskFilter,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Listed<Task>> {
        let (cond, arg) = task_filter(filter, today);
        let args: Vec<&dyn rusqlite::ToSql> =
            arg.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
        records::list_limited(
            self.conn(),
            Table::Tasks,
            cond,
            &args,
            "due_date IS NULL, due_date, id",
            limit,
        )
    }

    /// How many tasks [`Self::list_tasks`] would list, counted, not loaded.
    pub fn count_tasks(&self, filter: TaskFilter, today: NaiveDate) -> Result<usize> {
        let (cond, arg) = task_filter(filter, today);
        let args: Vec<&dyn rusqlite::ToSql> =
            arg.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
        records::count(self.conn(), Table::Tasks, cond, &args)
    }

    /// A task by id.
    pub fn task(&self, id: Uuid) -> Result<Task> {
        records::get(self.conn(), Table::Tasks, id).map_err(|e| match e {
            CoreError::NotFound { .. } => CoreError::NotFound {
                kind: "task",
                id: id.to_string(),
            },
            e => e,
        })
    }
}

/// The condition a task filter selects by, and its argument if it has one.
fn task_filter(filter: TaskFilter, today: NaiveDate) -> (&'static str, Option<String>) {
    match filter {
        TaskFilter::Open => ("status = 'open'", None),
        TaskFilter::DueToday => ("status = 'open' AND due_date = ?1", Some(today.to_string())),
        TaskFilter::Overdue => ("status = 'open' AND due_date < ?1", Some(today.to_string())),
        TaskFilter::All => ("", None),
        TaskFilter::OfContact(c) => ("contact_id = ?1", Some(c.to_string())),
    }
}
