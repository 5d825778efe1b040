//! Checking a model before anything is generated: every problem, each
//! naming the field it is about (`conditions[1].value`) and what to do.

use serde_json::Value;

use super::catalog::{Kind, Subject, EVERY, STAGES};
use super::generate::{cron_of, origin_of, subject_of};
use super::model::{ActionSpec, Automation, Condition, Op, Trigger, MODEL_VERSION};

/// One problem with a model.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where (`trigger.days`, `actions[0].title`).
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

/// A condition's field, resolved against the trigger's record.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    /// Its contract name (for a custom field, `custom`).
    pub name: &'static str,
    /// The custom field's name, for `custom.NAME`.
    pub custom: Option<String>,
    /// Read from the record's contact rather than the record.
    pub on_contact: bool,
    /// Its kind.
    pub kind: Kind,
    /// Its label.
    pub label: &'static str,
    /// Its choices.
    pub choices: &'static [&'static str],
}

/// Resolve `field` for a trigger giving `subject`: the subject's own
/// fields, `custom.NAME` on a contact, and `contact.…` for the contact of
/// a policy, instalment or task.
pub(crate) fn resolve(subject: Subject, field: &str) -> Result<Resolved, String> {
    let (on_contact, rest) = match field.strip_prefix("contact.") {
        Some(rest) if subject != Subject::Contact => (true, rest),
        _ => (subject == Subject::Contact, field),
    };
    let fields = if on_contact {
        Subject::Contact.fields()
    } else {
        subject.fields()
    };
    if let Some(name) = rest.strip_prefix("custom.") {
        if !on_contact {
            return Err(format!(
                "a {} has no custom fields; use contact.custom.{name} for its contact's",
                subject.noun()
            ));
        }
        if name.trim().is_empty() {
            return Err("name the custom field after custom.".into());
        }
        return Ok(Resolved {
            name: "custom",
            custom: Some(name.to_string()),
            on_contact,
            // Custom fields hold text; number operators read it as a number.
            kind: Kind::Text,
            label: "Custom field",
            choices: &[],
        });
    }
    match fields.iter().find(|f| f.name == rest) {
        Some(f) => Ok(Resolved {
            name: f.name,
            custom: None,
            on_contact,
            kind: f.kind,
            label: f.label,
            choices: f.choices,
        }),
        None => {
            let mut known: Vec<String> = fields.iter().map(|f| f.name.to_string()).collect();
            if subject != Subject::Contact {
                known.push("contact.<a contact field>".into());
            } else {
                known.push("custom.<name>".into());
            }
            Err(format!(
                "a {} has no field {rest:?}; its fields: {}",
                if on_contact {
                    "contact"
                } else {
                    subject.noun()
                },
                known.join(", ")
            ))
        }
    }
}

/// A JSON number, or text holding one (`"25.50"`, `"£25.50"`).
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .trim_start_matches('£')
            .replace(',', "")
            .parse()
            .ok(),
        _ => None,
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.split('-').all(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn check_condition(subject: Subject, i: usize, c: &Condition, out: &mut Vec<Problem>) {
    let at = |what: &str| format!("conditions[{i}].{what}");
    let r = match resolve(subject, &c.field) {
        Ok(r) => r,
        Err(e) => {
            out.push(problem(at("field"), e));
            return;
        }
    };
    let numeric_custom =
        r.custom.is_some() && matches!(c.op, Op::Eq | Op::Lt | Op::Gt | Op::Between);
    if !r.kind.ops().contains(&c.op) && !numeric_custom {
        let offered: Vec<&str> = r
            .kind
            .ops()
            .iter()
            .map(|o| super::catalog::op_words(*o))
            .collect();
        out.push(problem(
            at("op"),
            format!(
                "{} cannot be compared that way; it offers: {}",
                r.label,
                offered.join(", ")
            ),
        ));
        return;
    }
    let v = &c.value;
    let bad = |msg: &str| problem(at("value"), msg.to_string());
    match c.op {
        Op::IsEmpty | Op::IsNotEmpty => {}
        Op::Is | Op::IsNot | Op::Contains | Op::Has => match v {
            Value::String(s) if !s.trim().is_empty() => {
                if r.kind == Kind::Choice && !r.choices.contains(&s.as_str()) {
                    out.push(bad(&format!("choose one of: {}", r.choices.join(", "))));
                }
            }
            _ => out.push(bad("type the text to compare with")),
        },
        Op::Eq | Op::Lt | Op::Gt => {
            if number(v).is_none() {
                out.push(bad("type a number"));
            }
        }
        Op::Between => match v {
            Value::Array(a) if a.len() == 2 && a.iter().all(|x| number(x).is_some()) => {
                if number(&a[0]) > number(&a[1]) {
                    out.push(bad("the first number must not be above the second"));
                }
            }
            _ => out.push(bad("give two numbers, lowest first")),
        },
        Op::Before | Op::After => match v {
            Value::String(s) if is_date(s) => {}
            _ => out.push(bad("give a date as YYYY-MM-DD")),
        },
        Op::WithinNextDays | Op::WithinLastDays => match number(v) {
            Some(n) if (0.0..=36500.0).contains(&n) && n.fract() == 0.0 => {}
            _ => out.push(bad("give a whole number of days, 0 to 36500")),
        },
        Op::IsOneOf => match v {
            Value::Array(a) if !a.is_empty() => {
                for x in a {
                    match x.as_str() {
                        Some(s) if r.choices.is_empty() || r.choices.contains(&s) => {}
                        _ => {
                            out.push(bad(&format!("choose among: {}", r.choices.join(", "))));
                            break;
                        }
                    }
                }
            }
            _ => out.push(bad("choose at least one")),
        },
    }
}

fn settable(field: &str) -> Result<(), String> {
    if let Some(name) = field.strip_prefix("custom.") {
        return if name.trim().is_empty() {
            Err("name the custom field after custom.".into())
        } else {
            Ok(())
        };
    }
    match Subject::Contact.fields().iter().find(|f| f.name == field) {
        Some(f) if f.settable => Ok(()),
        _ => {
            let can: Vec<&str> = Subject::Contact
                .fields()
                .iter()
                .filter(|f| f.settable)
                .map(|f| f.name)
                .collect();
            Err(format!(
                "{field:?} cannot be set by an automation; it can set {} or custom.<name>",
                can.join(", ")
            ))
        }
    }
}

fn nonempty(out: &mut Vec<Problem>, field: String, v: &str, what: &str) {
    if v.trim().is_empty() {
        out.push(problem(field, format!("type {what}")));
    } else if v.chars().count() > 500 {
        out.push(problem(field, format!("{what} is over 500 characters")));
    }
}

fn check_action(i: usize, a: &ActionSpec, out: &mut Vec<Problem>) {
    let at = |what: &str| format!("actions[{i}].{what}");
    match a {
        ActionSpec::SetField { field, value } => {
            if let Err(e) = settable(field) {
                out.push(problem(at("field"), e));
            }
            if field == "stage" && !STAGES.contains(&value.as_str()) {
                out.push(problem(
                    at("value"),
                    format!("choose one of: {}", STAGES.join(", ")),
                ));
            }
        }
        ActionSpec::AddTag { tag } | ActionSpec::RemoveTag { tag } => {
            nonempty(out, at("tag"), tag, "the tag");
            if tag.contains([';', ',']) {
                out.push(problem(at("tag"), "one tag at a time: no ; or ,"));
            }
        }
        ActionSpec::MoveStage { stage } => {
            if !STAGES.contains(&stage.as_str()) {
                out.push(problem(
                    at("stage"),
                    format!("choose one of: {}", STAGES.join(", ")),
                ));
            }
        }
        ActionSpec::CreateTask {
            title, due_in_days, ..
        } => {
            nonempty(out, at("title"), title, "the task's title");
            if !(0..=3650).contains(due_in_days) {
                out.push(problem(at("due_in_days"), "give 0 to 3650 days"));
            }
        }
        ActionSpec::LogNote { text } => nonempty(out, at("text"), text, "the note"),
        ActionSpec::Notify { message, level } => {
            nonempty(out, at("message"), message, "the message");
            if !["info", "success", "warning", "error"].contains(&level.as_str()) {
                out.push(problem(
                    at("level"),
                    "choose info, success, warning or error",
                ));
            }
        }
        ActionSpec::AiChoose { field, labels, .. } => {
            if let Err(e) = settable(field) {
                out.push(problem(at("field"), e));
            }
            if labels.is_empty() || labels.len() > 20 || labels.iter().any(|l| l.trim().is_empty())
            {
                out.push(problem(at("labels"), "give 1 to 20 labels, none empty"));
            }
        }
        ActionSpec::PostJson { url } => {
            if origin_of(url).is_none() {
                out.push(problem(
                    at("url"),
                    "type an address starting https:// with a host name (no user name or password in it)",
                ));
            }
        }
    }
}

/// Every problem with a model (empty: it can be generated).
pub fn problems(m: &Automation) -> Vec<Problem> {
    let mut out = Vec::new();
    if m.version != MODEL_VERSION {
        out.push(problem(
            "version",
            format!(
                "this model is version {}; this app makes and reads version {MODEL_VERSION}",
                m.version
            ),
        ));
    }
    nonempty(&mut out, "name".into(), &m.name, "a name");
    if m.name.chars().count() > 80 {
        out.push(problem("name", "keep the name within 80 characters"));
    }
    if m.name.chars().any(char::is_control) {
        out.push(problem("name", "the name must be one line of text"));
    }
    match &m.trigger {
        Trigger::ContactStageChanged { stage } if !STAGES.contains(&stage.as_str()) => {
            out.push(problem(
                "trigger.stage",
                format!("choose one of: {}", STAGES.join(", ")),
            ))
        }
        Trigger::PolicyRenewalDue { days } | Trigger::InstalmentOverdue { days }
            if !(0..=3650).contains(days) =>
        {
            out.push(problem("trigger.days", "give 0 to 3650 days"))
        }
        Trigger::Schedule { every, at } => {
            if !EVERY.iter().any(|(k, _)| k == every) {
                let ks: Vec<&str> = EVERY.iter().map(|(k, _)| *k).collect();
                out.push(problem(
                    "trigger.every",
                    format!("choose one of: {}", ks.join(", ")),
                ));
            } else if cron_of(every, at).is_none() {
                out.push(problem("trigger.at", "give the time as HH:MM, e.g. 08:30"));
            }
        }
        Trigger::Button { on, label } => {
            if on != "contact" && on != "policy" {
                out.push(problem("trigger.on", "choose contact or policy"));
            }
            nonempty(
                &mut out,
                "trigger.label".into(),
                label,
                "the button's label",
            );
        }
        _ => {}
    }
    let subject = subject_of(&m.trigger);
    for (i, c) in m.conditions.iter().enumerate() {
        check_condition(subject, i, c, &mut out);
    }
    if m.conditions.len() > 50 {
        out.push(problem("conditions", "at most 50 conditions"));
    }
    if m.actions.is_empty() {
        out.push(problem("actions", "add at least one action"));
    }
    if m.actions.len() > 50 {
        out.push(problem("actions", "at most 50 actions"));
    }
    for (i, a) in m.actions.iter().enumerate() {
        check_action(i, a, &mut out);
    }
    let posts = m
        .actions
        .iter()
        .filter_map(|a| match a {
            ActionSpec::PostJson { url } => origin_of(url),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>();
    if posts.len() > 1 {
        out.push(problem(
            "actions",
            "an automation may send to one web address's site only (its one declared origin)",
        ));
    }
    out
}
