//! `crm tasks …`: list, add and complete tasks.

use anyhow::Result;
use clap::Subcommand;
use crm_core::{parse_id, TaskDraft, TaskFilter, TaskStatus};

use crate::{today, Profile};

#[derive(Subcommand)]
pub enum TasksCmd {
    /// List tasks (open ones by default).
    List {
        /// Only those due today.
        #[arg(long, conflicts_with_all = ["overdue", "all"])]
        due_today: bool,
        /// Only overdue ones.
        #[arg(long, conflicts_with = "all")]
        overdue: bool,
        /// All tasks, done included.
        #[arg(long)]
        all: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a task.
    Add {
        /// What to do.
        title: String,
        /// Due date.
        #[arg(long)]
        due: Option<String>,
        /// About this contact.
        #[arg(long)]
        contact: Option<String>,
        /// Who should do it.
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Mark a task done.
    Done {
        /// Task id.
        id: String,
    },
}

/// `crm tasks …`.
pub fn run(profile: &mut Profile, cmd: TasksCmd) -> Result<()> {
    match cmd {
        TasksCmd::List {
            due_today,
            overdue,
            all,
            json,
        } => {
            let store = profile.store()?;
            let filter = if due_today {
                TaskFilter::DueToday
            } else if overdue {
                TaskFilter::Overdue
            } else if all {
                TaskFilter::All
            } else {
                TaskFilter::Open
            };
            let listed = store.list_tasks(filter, today(), crate::LIST_LIMIT)?;
            crate::say_if_cut("tasks", listed.more);
            let list = listed.rows;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no tasks");
            } else {
                for t in list {
                    println!(
                        "{}  {:<10} {:?}  {}",
                        t.id,
                        t.due_date.as_deref().unwrap_or("-"),
                        t.status,
                        t.title
                    );
                }
            }
        }
        TasksCmd::Add {
            title,
            due,
            contact,
            assignee,
        } => {
            let store = profile.store()?;
            let contact_id = contact.map(|c| parse_id("contact", &c)).transpose()?;
            let t = store.create_task(&TaskDraft {
                title,
                due,
                contact_id,
                assignee,
                notes: None,
            })?;
            println!("{}", t.id);
        }
        TasksCmd::Done { id } => {
            let store = profile.store()?;
            store.set_task_status(parse_id("task", &id)?, TaskStatus::Done)?;
            println!("done");
        }
    }
    Ok(())
}
