//! The `tasks` and `activities` modules: listing, creating and completing
//! tasks, and a contact's timeline.

use rhai::{Dynamic, Engine, FuncRegistration, Map, Module};

use super::{core_err, fail, field_text, id_of, read_all, record, today, write, HostResult};
use crate::sandbox::ErrorKind;

pub(super) fn register_tasks(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "list",
        ["filter: &str", "Array"],
        "Tasks: \"open\", \"due_today\", \"overdue\" or \"all\". Needs tasks:read.",
        |filter: &str| -> HostResult<Dynamic> {
            let f = match filter {
                "open" => crm_core::TaskFilter::Open,
                "due_today" => crm_core::TaskFilter::DueToday,
                "overdue" => crm_core::TaskFilter::Overdue,
                "all" => crm_core::TaskFilter::All,
                other => {
                    return Err(fail(
                        ErrorKind::Runtime,
                        format!("tasks::list: unknown filter {other:?}; use open, due_today, overdue or all"),
                    ))
                }
            };
            read_all("tasks:read", "the list of tasks", |s, budget| {
                s.list_tasks(f, today(), budget)
            })
        }
    );
    func!(
        m,
        "create",
        ["fields: Map", "Map"],
        "Create a task: `title` (required), `due` (a date), `contact_id`, `assignee`, `notes`. Needs tasks:write.",
        |fields: Map| -> HostResult<Dynamic> {
            let text = |k: &str| {
                fields
                    .get(k)
                    .map(field_text)
                    .filter(|s| !s.trim().is_empty())
            };
            let contact_id = match text("contact_id") {
                Some(c) => Some(id_of("contact", &c)?),
                None => None,
            };
            let draft = crm_core::TaskDraft {
                title: text("title").unwrap_or_default(),
                due: text("due"),
                contact_id,
                assignee: text("assignee"),
                notes: text("notes"),
            };
            write("tasks:write", 1, |s| {
                let t = s.create_task(&draft).map_err(core_err)?;
                record(&t)
            })
        }
    );
    func!(
        m,
        "complete",
        ["id: &str", "Map"],
        "Mark a task done. Needs tasks:write.",
        |id: &str| -> HostResult<Dynamic> {
            let id = id_of("task", id)?;
            write("tasks:write", 1, |s| {
                let t = s
                    .set_task_status(id, crm_core::TaskStatus::Done)
                    .map_err(core_err)?;
                record(&t)
            })
        }
    );
    engine.register_static_module("tasks", m.into());

    let mut m = Module::new();
    func!(
        m,
        "timeline",
        ["contact_id: &str", "Array"],
        "A contact's activity timeline, newest first. Needs activities:read.",
        |contact: &str| -> HostResult<Dynamic> {
            let contact = id_of("contact", contact)?;
            read_all("activities:read", "the contact's timeline", |s, budget| {
                s.timeline(contact, budget)
            })
        }
    );
    func!(
        m,
        "log",
        ["contact_id: &str", "kind: &str", "body: &str", "Map"],
        "Add a timeline entry: kind \"note\", \"call\", \"email\" or \"meeting\". Needs activities:write.",
        |contact: &str, kind: &str, body: &str| -> HostResult<Dynamic> {
            let contact = id_of("contact", contact)?;
            let kind = crm_core::ActivityKind::parse(kind).ok_or_else(|| {
                fail(
                    ErrorKind::Runtime,
                    format!("activities::log: unknown kind {kind:?}; use note, call, email or meeting"),
                )
            })?;
            write("activities:write", 1, |s| {
                let a = s.log_activity(contact, kind, body).map_err(core_err)?;
                record(&a)
            })
        }
    );
    engine.register_static_module("activities", m.into());
}
