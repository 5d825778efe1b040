//! From a checked model to a plugin: a readable, commented Rhai script and
//! a manifest that asks for exactly the permissions its actions need.
//!
//! Everything a person typed reaches the script only inside string
//! literals ([`lit`]) or comments ([`comment`]), never as code: a value such
//! as `"); contacts::delete(…` stays text.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::catalog::{op_words, Kind, Subject};
use super::model::{ActionSpec, Automation, Condition, Match, Op, Trigger};
use super::validate::{resolve, Resolved};

/// A generated plugin's files.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The plugin id.
    pub id: String,
    /// `manifest.json`.
    pub manifest: String,
    /// `main.rhai`.
    pub script: String,
    /// `wizard.json`: the model, to reopen the wizard.
    pub wizard: String,
    /// The automation in plain words.
    pub summary: String,
    /// The permissions the manifest asks for.
    pub permissions: Vec<String>,
}

/// A Rhai string literal holding `s` exactly.
pub(crate) fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` safe inside a `//` comment: one line, no control characters.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A number as a Rhai float literal.
fn float(n: f64) -> String {
    let s = format!("{n}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// The words a value is shown with in sentences.
fn value_words(kind: Kind, op: Op, v: &Value) -> String {
    let one = |v: &Value| -> String {
        match (kind, v) {
            (Kind::Money, v) => money_words(super::validate::number(v).unwrap_or(0.0)),
            (_, Value::String(s)) => format!("\"{s}\""),
            (_, other) => other.to_string(),
        }
    };
    match (op, v) {
        (Op::IsEmpty | Op::IsNotEmpty, _) => String::new(),
        (Op::Between, Value::Array(a)) if a.len() == 2 => {
            format!("{} and {}", one(&a[0]), one(&a[1]))
        }
        (Op::IsOneOf, Value::Array(a)) => a.iter().map(one).collect::<Vec<_>>().join(", "),
        (Op::WithinNextDays | Op::WithinLastDays, v) => format!("{} days", one(v)),
        (_, v) => one(v),
    }
}

fn money_words(pence: f64) -> String {
    format!("£{:.2}", pence / 100.0)
}

/// A condition in words ("source is \"web\"").
pub fn condition_words(subject: Subject, c: &Condition) -> String {
    let Ok(r) = resolve(subject, &c.field) else {
        return c.field.clone();
    };
    let words = match c.op {
        Op::WithinNextDays => "is within the next",
        Op::WithinLastDays => "was within the last",
        op => op_words(op),
    };
    let value = value_words(r.kind, c.op, &c.value);
    format!("{} {words} {value}", r.label.to_lowercase())
        .trim_end()
        .to_string()
}

/// The trigger in words ("a contact is created").
pub fn trigger_words(t: &Trigger) -> String {
    match t {
        Trigger::ContactCreated => "a contact is created".into(),
        Trigger::ContactImported => "a contact is imported".into(),
        Trigger::ContactUpdated => "a contact is changed".into(),
        Trigger::ContactStageChanged { stage } => format!("a contact moves to {stage}"),
        Trigger::PolicyCreated => "a policy is created".into(),
        Trigger::PolicyRenewalDue { days } => {
            format!("a policy expires within {days} days (checked every morning, once per policy)")
        }
        Trigger::InstalmentOverdue { days } => format!(
            "a premium instalment is {days} or more days overdue (checked every morning, once per policy)"
        ),
        Trigger::TaskOverdue => "a task is overdue (checked every morning, once per task)".into(),
        Trigger::Schedule { every, at } => {
            let when = super::catalog::EVERY
                .iter()
                .find(|(k, _)| k == every)
                .map(|(_, w)| w.to_lowercase())
                .unwrap_or_else(|| every.clone());
            format!("{when} at {at}, for every contact")
        }
        Trigger::Button { on, label } => format!("someone presses \"{label}\" on a {on}"),
    }
}

/// An action in words.
pub fn action_words(a: &ActionSpec) -> String {
    match a {
        ActionSpec::SetField { field, value } => format!("set {field} to \"{value}\""),
        ActionSpec::AddTag { tag } => format!("add the tag {tag}"),
        ActionSpec::RemoveTag { tag } => format!("remove the tag {tag}"),
        ActionSpec::MoveStage { stage } => format!("move the contact to {stage}"),
        ActionSpec::CreateTask {
            title,
            due_in_days,
            for_owner,
        } => {
            let due = match due_in_days {
                0 => "due today".to_string(),
                1 => "due tomorrow".to_string(),
                n => format!("due in {n} days"),
            };
            let who = if *for_owner { " for the owner" } else { "" };
            format!("create a task \"{title}\" {due}{who}")
        }
        ActionSpec::LogNote { text } => format!("add the note \"{text}\" to the timeline"),
        ActionSpec::Notify { message, .. } => format!("show \"{message}\""),
        ActionSpec::AiChoose { field, labels, .. } => {
            format!("ask the AI to choose {} into {field}", labels.join(" / "))
        }
        ActionSpec::PostJson { url } => format!("send the record to {url}"),
    }
}

/// The automation in one sentence.
pub fn summary(m: &Automation) -> String {
    let subject = subject_of(&m.trigger);
    let mut out = format!("When {}", trigger_words(&m.trigger));
    if !m.conditions.is_empty() {
        let joiner = match m.match_ {
            Match::All => " and ",
            Match::Any => " or ",
        };
        let conds: Vec<String> = m
            .conditions
            .iter()
            .map(|c| condition_words(subject, c))
            .collect();
        out.push_str(&format!(", if {}", conds.join(joiner)));
    }
    let acts: Vec<String> = m.actions.iter().map(action_words).collect();
    out.push_str(&format!(": {}.", acts.join("; ")));
    out
}

/// The record a trigger gives.
pub fn subject_of(t: &Trigger) -> Subject {
    match t {
        Trigger::PolicyCreated | Trigger::PolicyRenewalDue { .. } => Subject::Policy,
        Trigger::Button { on, .. } if on == "policy" => Subject::Policy,
        Trigger::InstalmentOverdue { .. } => Subject::Arrears,
        Trigger::TaskOverdue => Subject::Task,
        _ => Subject::Contact,
    }
}

/// The `net:` permission for an address (`https://host[:port]`).
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let host_port = rest.split(['/', '?', '#']).next()?;
    if host_port.is_empty() || host_port.contains('@') {
        return None;
    }
    let host_port = host_port.to_ascii_lowercase();
    let host_port = host_port.strip_suffix(":443").unwrap_or(&host_port);
    Some(format!("net:https://{host_port}"))
}

/// Generate the plugin (at `version`) for a model already checked by
/// [`super::validate`].
pub(crate) fn generate(m: &Automation, id: &str, version: &str) -> Generated {
    let subject = subject_of(&m.trigger);
    // Shown to people as the plugin's description: one line of text.
    let summary = comment(&summary(m));
    let mut perms = BTreeSet::new();
    perms.insert("contacts:read".to_string());
    perms.insert(subject.read_permission().to_string());
    let mut manifest = json!({
        "id": id,
        "name": m.name,
        "version": version,
        "api_version": "^1",
        "author": "Made in the Studio",
        "description": summary,
    });
    let mut script = String::new();
    script.push_str(&format!("// {}\n", comment(&m.name)));
    script.push_str(
        "//\n// Made with the Studio wizard, which keeps its model in wizard.json and\n\
         // writes this file again whenever the automation is changed there.\n\
         // \"Edit as code\" in the Studio turns it into a code plugin for good.\n//\n",
    );
    for line in wrap(&summary, 76) {
        script.push_str(&format!("// {line}\n"));
    }
    script.push('\n');
    script.push_str(&entry(m, &mut manifest, &mut perms));
    script.push_str(&handle_fn());
    script.push_str(&unmet_fn(m, subject));
    script.push_str(&act_fn(m, &mut perms));
    script.push_str(HELPERS);
    let permissions: Vec<String> = perms.into_iter().collect();
    manifest["permissions"] = json!(permissions);
    let mut manifest = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    manifest.push('\n');
    let made = Automation {
        made: Some(super::model::Made {
            script: super::model::digest(script.as_bytes()),
            manifest: super::model::digest(manifest.as_bytes()),
        }),
        ..m.clone()
    };
    let mut wizard = serde_json::to_string_pretty(&made).unwrap_or_default();
    wizard.push('\n');
    Generated {
        id: id.to_string(),
        manifest,
        script,
        wizard,
        summary,
        permissions,
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// Cron for a schedule: minute hour * * days.
pub(crate) fn cron_of(every: &str, at: &str) -> Option<String> {
    let (h, mi) = at.split_once(':')?;
    let (h, mi): (u32, u32) = (h.parse().ok()?, mi.parse().ok()?);
    if h > 23 || mi > 59 {
        return None;
    }
    let days = match every {
        "day" => "*",
        "weekday" => "1-5",
        "monday" => "1",
        "tuesday" => "2",
        "wednesday" => "3",
        "thursday" => "4",
        "friday" => "5",
        "saturday" => "6",
        "sunday" => "0",
        _ => return None,
    };
    Some(format!("{mi} {h} * * {days}"))
}

/// The functions the manifest names, and the manifest's entries for them.
fn entry(m: &Automation, manifest: &mut Value, perms: &mut BTreeSet<String>) -> String {
    let hook = |manifest: &mut Value, event: &str| {
        manifest["hooks"] = json!([{ "event": event, "function": "on_event" }]);
    };
    let daily = |manifest: &mut Value, perms: &mut BTreeSet<String>| {
        manifest["schedules"] =
            json!([{ "id": "daily", "cron": "0 8 * * *", "function": "daily" }]);
        manifest["actions"] = json!([{ "id": "run_now", "label": "Run now", "target": "global", "function": "daily" }]);
        perms.insert("storage".into());
    };
    match &m.trigger {
        Trigger::ContactCreated | Trigger::ContactImported | Trigger::ContactUpdated => {
            let event = match m.trigger {
                Trigger::ContactCreated => "contact.created",
                Trigger::ContactImported => "contact.imported",
                _ => "contact.updated",
            };
            hook(manifest, event);
            format!(
                "// Runs on {event}, with the contact.\n\
                 fn on_event(event) {{\n    let contact = contacts::get(event.row_id);\n    handle(contact, contact)\n}}\n\n"
            )
        }
        Trigger::ContactStageChanged { stage } => {
            hook(manifest, "contact.updated");
            format!(
                "// Runs when a contact changes; acts only when it moved to {stage}.\n\
                 fn on_event(event) {{\n    if !event.fields.contains(\"stage\") {{\n        return #{{ skipped: \"its stage did not change\" }};\n    }}\n\
                 \x20   let contact = contacts::get(event.row_id);\n    if contact.stage != {s} {{\n        return #{{ skipped: \"its stage is \" + contact.stage + \", not \" + {s} }};\n    }}\n\
                 \x20   handle(contact, contact)\n}}\n\n",
                s = lit(stage)
            )
        }
        Trigger::PolicyCreated => {
            hook(manifest, "policy.created");
            "// Runs on policy.created, with the policy and its holder.\n\
             fn on_event(event) {\n    let policy = policies::get(event.row_id);\n    handle(policy, contacts::get(policy.contact_id))\n}\n\n"
                .to_string()
        }
        Trigger::PolicyRenewalDue { days } => {
            daily(manifest, perms);
            format!(
                "// Every morning at 8 (and from \"Run now\"): each policy expiring within\n\
                 // {days} days, once per policy and expiry date.\n\
                 fn daily() {{\n    let done = 0;\n    let skipped = 0;\n    for policy in policies::renewals_due({days}) {{\n\
                 \x20       let key = \"done:\" + policy.id + \":\" + text(policy.expiry_date);\n\
                 \x20       if storage::get(key) != () {{ continue; }}\n\
                 \x20       let outcome = handle(policy, contacts::get(policy.contact_id));\n\
                 \x20       if outcome.skipped == () {{ storage::set(key, dates::today()); done += 1; }} else {{ skipped += 1; }}\n\
                 \x20   }}\n    summed(done, skipped, \"policies\")\n}}\n\n"
            )
        }
        Trigger::InstalmentOverdue { days } => {
            daily(manifest, perms);
            format!(
                "// Every morning at 8 (and from \"Run now\"): each policy whose oldest\n\
                 // unpaid instalment is {days} or more days overdue, once per policy and date.\n\
                 fn daily() {{\n    let done = 0;\n    let skipped = 0;\n    for arrears in payments::arrears() {{\n\
                 \x20       if dates::days_between(arrears.oldest_due, dates::today()) < {days} {{ continue; }}\n\
                 \x20       let key = \"done:\" + arrears.policy_id + \":\" + arrears.oldest_due;\n\
                 \x20       if storage::get(key) != () {{ continue; }}\n\
                 \x20       let outcome = handle(arrears, contacts::get(arrears.contact_id));\n\
                 \x20       if outcome.skipped == () {{ storage::set(key, dates::today()); done += 1; }} else {{ skipped += 1; }}\n\
                 \x20   }}\n    summed(done, skipped, \"policies\")\n}}\n\n"
            )
        }
        Trigger::TaskOverdue => {
            daily(manifest, perms);
            perms.insert("tasks:read".into());
            "// Every morning at 8 (and from \"Run now\"): each overdue task, once.\n\
             fn daily() {\n    let done = 0;\n    let skipped = 0;\n    for task in tasks::list(\"overdue\") {\n\
             \x20       let key = \"done:\" + task.id;\n\
             \x20       if storage::get(key) != () { continue; }\n\
             \x20       let contact = if task.contact_id == () { () } else { contacts::get(task.contact_id) };\n\
             \x20       let outcome = handle(task, contact);\n\
             \x20       if outcome.skipped == () { storage::set(key, dates::today()); done += 1; } else { skipped += 1; }\n\
             \x20   }\n    summed(done, skipped, \"tasks\")\n}\n\n"
                .to_string()
        }
        Trigger::Schedule { every, at } => {
            let cron = cron_of(every, at).unwrap_or_else(|| "0 8 * * *".into());
            manifest["schedules"] =
                json!([{ "id": "scheduled", "cron": cron, "function": "scheduled" }]);
            manifest["actions"] = json!([{ "id": "run_now", "label": "Run now", "target": "global", "function": "scheduled" }]);
            format!(
                "// {}: every contact, page by page.\n\
                 fn scheduled() {{\n    let done = 0;\n    let skipped = 0;\n    let after = \"\";\n    loop {{\n\
                 \x20       let page = contacts::scan(after, 200);\n        if page.len() == 0 {{ break; }}\n\
                 \x20       for contact in page {{\n            after = contact.id;\n\
                 \x20           let outcome = handle(contact, contact);\n\
                 \x20           if outcome.skipped == () {{ done += 1; }} else {{ skipped += 1; }}\n\
                 \x20       }}\n    }}\n    summed(done, skipped, \"contacts\")\n}}\n\n",
                comment(&trigger_words(&m.trigger))
            )
        }
        Trigger::Button { on, label } => {
            manifest["actions"] =
                json!([{ "id": "button", "label": label, "target": on, "function": "on_button" }]);
            if on == "policy" {
                "// The button on a policy.\n\
                 fn on_button(id) {\n    let policy = policies::get(id);\n    handle(policy, contacts::get(policy.contact_id))\n}\n\n"
                    .to_string()
            } else {
                "// The button on a contact.\n\
                 fn on_button(id) {\n    let contact = contacts::get(id);\n    handle(contact, contact)\n}\n\n"
                    .to_string()
            }
        }
    }
}

fn handle_fn() -> String {
    "// The conditions, then the actions: what happened, or why it was skipped\n\
     // (the dry run shows the reason beside each record it skipped).\n\
     fn handle(record, contact) {\n    let why = unmet(record, contact);\n    if why != \"\" { return #{ skipped: why }; }\n\
     \x20   let why = act(record, contact);\n    if why != \"\" { return #{ skipped: why }; }\n    #{ done: true }\n}\n\n"
        .to_string()
}

/// The expression reading a condition's field.
fn read_expr(r: &Resolved) -> String {
    let base = if r.on_contact { "contact" } else { "record" };
    match &r.custom {
        Some(name) => format!("custom({base}, {})", lit(name)),
        None => format!("get({base}, {})", lit(r.name)),
    }
}

/// The test a condition makes on `seen`.
fn test_expr(r: &Resolved, c: &Condition) -> String {
    let text_of = |v: &Value| -> String {
        match v {
            Value::String(s) => s.to_lowercase(),
            other => other.to_string(),
        }
    };
    let num = |v: &Value| -> String {
        let n = super::validate::number(v).unwrap_or(0.0);
        float(if r.kind == Kind::Money {
            (n * 100.0).round()
        } else {
            n
        })
    };
    match c.op {
        Op::Is => format!("lower(seen) == {}", lit(&text_of(&c.value))),
        Op::IsNot => format!("lower(seen) != {}", lit(&text_of(&c.value))),
        Op::Contains => format!("lower(seen).contains({})", lit(&text_of(&c.value))),
        Op::IsEmpty => "blank(seen)".into(),
        Op::IsNotEmpty => "!blank(seen)".into(),
        Op::Eq => format!("num(seen) != () && num(seen) == {}", num(&c.value)),
        Op::Lt => format!("num(seen) != () && num(seen) < {}", num(&c.value)),
        Op::Gt => format!("num(seen) != () && num(seen) > {}", num(&c.value)),
        Op::Between => {
            let (lo, hi) = match &c.value {
                Value::Array(a) if a.len() == 2 => (num(&a[0]), num(&a[1])),
                _ => ("0.0".into(), "0.0".into()),
            };
            format!("num(seen) != () && num(seen) >= {lo} && num(seen) <= {hi}")
        }
        Op::Before => format!("text(seen) != \"\" && text(seen) < {}", lit(&text_of(&c.value))),
        Op::After => format!("text(seen) != \"\" && text(seen) > {}", lit(&text_of(&c.value))),
        Op::WithinNextDays => format!(
            "days_from_today(seen) != () && days_from_today(seen) >= 0 && days_from_today(seen) <= {}",
            super::validate::number(&c.value).unwrap_or(0.0) as i64
        ),
        Op::WithinLastDays => format!(
            "days_from_today(seen) != () && days_from_today(seen) <= 0 && days_from_today(seen) >= -{}",
            super::validate::number(&c.value).unwrap_or(0.0) as i64
        ),
        Op::Has => format!("has(seen, {})", lit(&text_of(&c.value))),
        Op::IsOneOf => {
            let items: Vec<String> = match &c.value {
                Value::Array(a) => a.iter().map(|v| lit(&text_of(v))).collect(),
                v => vec![lit(&text_of(v))],
            };
            format!("[{}].contains(lower(seen))", items.join(", "))
        }
    }
}

fn unmet_fn(m: &Automation, subject: Subject) -> String {
    let mut out = String::from(
        "// Each condition on a record: whether it holds, what was seen, and\n\
         // the reason to give when it does not.\n\
         fn checks(record, contact) {\n    let out = [];\n",
    );
    for c in &m.conditions {
        let Ok(r) = resolve(subject, &c.field) else {
            continue;
        };
        let words = condition_words(subject, c);
        let reason = format!(
            "{} + show(seen) + {}",
            lit(&format!("{} is ", r.label)),
            lit(&format!(" (needed: {words})"))
        );
        out.push_str(&format!("    // {}\n", comment(&words)));
        out.push_str(&format!("    let seen = {};\n", read_expr(&r)));
        out.push_str(&format!(
            "    out.push(#{{ holds: {}, seen: show(seen), reason: {reason} }});\n",
            test_expr(&r, c)
        ));
    }
    out.push_str("    out\n}\n\n");
    let any = if m.match_ == Match::Any {
        "        if c.holds { return \"\"; }\n"
    } else {
        ""
    };
    out.push_str(&format!(
        "// Whether the conditions hold ({} of them): \"\" when they do, else\n\
         // what was seen.\n\
         fn unmet(record, contact) {{\n    let failed = [];\n    for c in checks(record, contact) {{\n{any}\
         \x20       if !c.holds {{ failed.push(c.reason); }}\n    }}\n    joined(failed)\n}}\n\n",
        if m.match_ == Match::Any { "any" } else { "all" }
    ));
    // The wizard shows each condition on a sample record as it is built.
    let sample = match subject {
        Subject::Contact => Some("let contact = contacts::get(id);\n    checks(contact, contact)"),
        Subject::Policy => Some(
            "let policy = policies::get(id);\n    checks(policy, contacts::get(policy.contact_id))",
        ),
        Subject::Arrears => Some(
            "for a in payments::arrears() {\n        if a.policy_id == id { return checks(a, contacts::get(a.contact_id)); }\n    }\n    throw \"that policy is not in arrears\";",
        ),
        Subject::Task => Some(
            "for t in tasks::list(\"all\") {\n        if t.id == id {\n            let contact = if t.contact_id == () { () } else { contacts::get(t.contact_id) };\n            return checks(t, contact);\n        }\n    }\n    throw \"no such task\";",
        ),
    };
    if let Some(body) = sample {
        out.push_str(&format!(
            "// For the wizard: each condition on one record, as it stands.\n\
             fn sample(id) {{\n    {body}\n}}\n\n"
        ));
    }
    out
}

fn act_fn(m: &Automation, perms: &mut BTreeSet<String>) -> String {
    let mut out = String::from(
        "// What it does. Changes to the contact are written once, together.\n\
         fn act(record, contact) {\n",
    );
    let needs_contact = m
        .actions
        .iter()
        .any(|a| !matches!(a, ActionSpec::Notify { .. } | ActionSpec::PostJson { .. }));
    if needs_contact {
        out.push_str(
            "    if contact == () { return \"it has no contact to act on\"; }\n    let change = #{};\n",
        );
    }
    let mut writes_contact = false;
    for a in &m.actions {
        out.push_str(&format!("    // {}\n", comment(&action_words(a))));
        match a {
            ActionSpec::SetField { field, value } => {
                writes_contact = true;
                let v = format!("fill({}, record, contact)", lit(value));
                out.push_str(&format!(
                    "    let value = {v};\n    if text(pending(change, contact, {f})) != value {{ change[{f}] = value; }}\n",
                    f = lit(field)
                ));
            }
            ActionSpec::AddTag { tag } => {
                writes_contact = true;
                out.push_str(&format!(
                    "    let tags = pending(change, contact, \"tags\");\n    if !has(tags, {t}) {{ change[\"tags\"] = listed(tags) + [{t}]; }}\n",
                    t = lit(tag)
                ));
            }
            ActionSpec::RemoveTag { tag } => {
                writes_contact = true;
                out.push_str(&format!(
                    "    let tags = pending(change, contact, \"tags\");\n    if has(tags, {t}) {{ change[\"tags\"] = without(tags, {t}); }}\n",
                    t = lit(tag)
                ));
            }
            ActionSpec::MoveStage { stage } => {
                writes_contact = true;
                out.push_str(&format!(
                    "    if text(pending(change, contact, \"stage\")) != {s} {{ change[\"stage\"] = {s}; }}\n",
                    s = lit(stage)
                ));
            }
            ActionSpec::CreateTask {
                title,
                due_in_days,
                for_owner,
            } => {
                perms.insert("tasks:write".into());
                let owner = if *for_owner {
                    ", assignee: get(contact, \"owner\")"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "    tasks::create(#{{ title: fill({}, record, contact), due: dates::add_days(dates::today(), {due_in_days}), contact_id: contact.id{owner} }});\n",
                    lit(title)
                ));
            }
            ActionSpec::LogNote { text } => {
                perms.insert("activities:write".into());
                out.push_str(&format!(
                    "    activities::log(contact.id, \"note\", fill({}, record, contact));\n",
                    lit(text)
                ));
            }
            ActionSpec::Notify { message, level } => {
                perms.insert("ui:notify".into());
                out.push_str(&format!(
                    "    ui::notify({}, fill({}, record, contact));\n",
                    lit(level),
                    lit(message)
                ));
            }
            ActionSpec::AiChoose {
                field,
                labels,
                question,
            } => {
                writes_contact = true;
                perms.insert("ai:use".into());
                let labels: Vec<String> = labels.iter().map(|l| lit(l)).collect();
                out.push_str(&format!(
                    "    let label = ai::classify({} + \"\\n\" + about(contact), [{}]);\n    if text(pending(change, contact, {f})) != label {{ change[{f}] = label; }}\n",
                    lit(question),
                    labels.join(", "),
                    f = lit(field)
                ));
            }
            ActionSpec::PostJson { url } => {
                if let Some(origin) = origin_of(url) {
                    perms.insert(origin);
                }
                out.push_str(&format!(
                    "    http::post({}, #{{ automation: {}, record: record, contact: contact }});\n",
                    lit(url),
                    lit(&m.name)
                ));
            }
        }
    }
    if writes_contact {
        perms.insert("contacts:write".into());
        out.push_str("    if change.len() > 0 { contacts::update(contact.id, change); }\n");
    }
    out.push_str("    \"\"\n}\n\n");
    out
}

const HELPERS: &str = r#"// ---- Helpers the wizard adds to every automation ----

// A field of a record; () when there is no record.
fn get(r, name) {
    if r == () { return (); }
    r[name]
}

// A custom field of a record.
fn custom(r, name) {
    if r == () || r.custom == () { return (); }
    r.custom[name]
}

// A value as text: "" when there is none.
fn text(v) {
    if v == () { return ""; }
    `${v}`
}

// A value as lower-case text, to compare ignoring case.
fn lower(v) {
    text(v).to_lower()
}

// A value as a skipped record's reason shows it.
fn show(v) {
    if blank(v) { return "empty"; }
    "\"" + text(v) + "\""
}

// Nothing there: no value, empty text or an empty list.
fn blank(v) {
    if v == () || v == [] { return true; }
    let t = text(v);
    t.trim();
    t == ""
}

// A value as a number (custom fields hold text); () when it is none.
fn num(v) {
    let t = text(v);
    t.trim();
    if t == "" { return (); }
    let n = ();
    try { n = parse_float(t); } catch { }
    n
}

// Days from today to a date (negative: in the past); () without a date.
fn days_from_today(v) {
    let t = text(v);
    if t == "" { return (); }
    dates::days_between(dates::today(), t)
}

// A list as a list (no value: empty).
fn listed(v) {
    if v == () { return []; }
    v
}

// Whether a list holds an item, ignoring case.
fn has(list, item) {
    let want = item.to_lower();
    for x in listed(list) {
        if lower(x) == want { return true; }
    }
    false
}

// A list without an item (ignoring case).
fn without(list, item) {
    let want = item.to_lower();
    let out = [];
    for x in listed(list) {
        if lower(x) != want { out.push(x); }
    }
    out
}

// A contact field as the changes so far leave it.
fn pending(change, contact, name) {
    if change.contains(name) { return change[name]; }
    if name.starts_with("custom.") { return custom(contact, name.sub_string(7)); }
    get(contact, name)
}

// Text with {field} placeholders filled from the record and its contact.
fn fill(template, record, contact) {
    let out = template;
    for source in [record, contact] {
        if source == () { continue; }
        for key in source.keys() {
            out.replace("{" + key + "}", text(source[key]));
        }
    }
    out
}

// What the AI is told about a contact.
fn about(contact) {
    "Contact: " + text(get(contact, "display_name")) + "; job title: " + text(get(contact, "job_title"))
        + "; company: " + text(get(contact, "company_name")) + "; source: " + text(get(contact, "source"))
        + "; stage: " + text(get(contact, "stage")) + "; tags: " + text(get(contact, "tags"))
}

// Reasons joined into one.
fn joined(reasons) {
    let out = "";
    for r in reasons {
        if out != "" { out += "; "; }
        out += r;
    }
    out
}

// A daily or scheduled run's outcome.
fn summed(done, skipped, what) {
    if done == 0 && skipped > 0 {
        return #{ skipped: `${skipped} ${what} did not meet the conditions` };
    }
    #{ done: done, skipped_records: skipped }
}
"#;
