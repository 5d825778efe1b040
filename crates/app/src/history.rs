//! A contact's history: every change to it from the audit trail, newest
//! first, each saying who made it in words. A change that came from
//! another device names that device and its user as the server reported
//! them ("sam@agency.test on Front desk PC"), so a surprising value has an
//! explanation.

use std::collections::HashMap;

use crm_core::Store;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::convert::id;
use crate::{ApiResult, App};

/// Most entries one history shows (the newest).
pub const HISTORY_LIMIT: usize = 500;

/// What a history entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    /// The record was made.
    Created,
    /// Some of its fields changed.
    Updated,
    /// It was deleted.
    Deleted,
    /// It left this device (given to someone this user does not work with).
    Evicted,
}

/// One field a history entry changed.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct FieldChangeDto {
    /// The field's name (`custom.<key>` for a custom field).
    pub field: String,
    /// How people see its name.
    pub label: String,
    /// The value before, in words; `None` when it was empty.
    pub before: Option<String>,
    /// The value after, in words; `None` when it was emptied.
    pub after: Option<String>,
}

/// One change to a record.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
pub struct HistoryEntryDto {
    /// When (RFC 3339).
    pub at: String,
    /// Who, in words: "you", "you on Laptop 2", "sam@agency.test on Front
    /// desk PC", "plugin acme.x", "import", "the server" (an eviction), or
    /// "another device" when the server did not say.
    pub who: String,
    /// What happened.
    pub action: HistoryAction,
    /// The fields it set or changed.
    pub changes: Vec<FieldChangeDto>,
}

impl App {
    /// The changes to a contact, newest first (at most [`HISTORY_LIMIT`]).
    pub fn contact_history(&self, contact_id: &str) -> ApiResult<Vec<HistoryEntryDto>> {
        let cid = id("contact", contact_id)?;
        self.read(|s| {
            s.contact(cid)?;
            let mut authors = Authors::new(s);
            let mut out = Vec::new();
            for e in s.audit_for(cid)?.into_iter().rev().take(HISTORY_LIMIT) {
                let action = match e.action.as_str() {
                    "created" => HistoryAction::Created,
                    "updated" => HistoryAction::Updated,
                    "deleted" => HistoryAction::Deleted,
                    "evicted" => HistoryAction::Evicted,
                    // Bookkeeping on the record (a refused change sent
                    // again or given up): not a change to its fields.
                    _ => continue,
                };
                out.push(HistoryEntryDto {
                    at: e.at,
                    who: authors.of(&e.actor)?,
                    action,
                    changes: field_changes(action, &e.changes),
                });
            }
            Ok(out)
        })
    }
}

/// Who made changes, in words (see [`HistoryEntryDto::who`]): a listing
/// names the same few people again and again, so each actor is looked up
/// in the store once.
pub(crate) struct Authors<'a> {
    s: &'a Store,
    /// This profile's user id.
    me: String,
    said: HashMap<String, String>,
}

impl<'a> Authors<'a> {
    pub(crate) fn new(s: &'a Store) -> Self {
        Authors {
            s,
            me: s.identity().user_id.clone(),
            said: HashMap::new(),
        }
    }

    /// The author of an entry whose actor is this JSON text.
    pub(crate) fn of_text(&mut self, actor: &str) -> ApiResult<String> {
        match self.said.get(actor) {
            Some(words) => Ok(words.clone()),
            None => {
                let value: Value = serde_json::from_str(actor).unwrap_or_default();
                self.remember(actor.to_string(), &value)
            }
        }
    }

    /// The author of an entry whose actor is this value.
    pub(crate) fn of(&mut self, actor: &Value) -> ApiResult<String> {
        let key = actor.to_string();
        match self.said.get(&key) {
            Some(words) => Ok(words.clone()),
            None => self.remember(key, actor),
        }
    }

    fn remember(&mut self, key: String, actor: &Value) -> ApiResult<String> {
        let words = self.words(actor)?;
        self.said.insert(key, words.clone());
        Ok(words)
    }

    fn person(&self, user: &str) -> ApiResult<String> {
        // "local": this profile's user before it first signed in.
        if user == self.me || user == "local" {
            return Ok("you".into());
        }
        Ok(self.s.user_email(user)?.unwrap_or_else(|| user.to_string()))
    }

    fn words(&self, actor: &Value) -> ApiResult<String> {
        let field = |k: &str| actor.get(k).and_then(Value::as_str).unwrap_or("");
        Ok(match actor.get("kind").and_then(Value::as_str) {
            Some("user") => self.person(field("user"))?,
            Some("plugin") => format!("plugin {}", field("plugin")),
            Some("import") => "import".into(),
            Some("sync") => {
                let device = uuid::Uuid::parse_str(field("device")).ok();
                if device.is_some_and(|d| d.is_nil()) {
                    // An eviction: the server took it off this device.
                    return Ok("the server".into());
                }
                match device.map(|d| self.s.writer(d)).transpose()?.flatten() {
                    Some(w) => format!(
                        "{} on {}",
                        self.person(&w.user_id.to_string())?,
                        w.device_name
                    ),
                    None => "another device".into(),
                }
            }
            _ => "system".into(),
        })
    }
}

/// The fields an entry set (a creation: `{field: value}`) or changed (an
/// update: `{field: [old, new]}`), each custom field on its own, in the
/// order the schema lists them. Values nobody sees (clocks, internal ids)
/// are left out.
fn field_changes(action: HistoryAction, changes: &Value) -> Vec<FieldChangeDto> {
    let Some(map) = changes.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, change) in map {
        if HIDDEN.contains(&name.as_str()) {
            continue;
        }
        let (before, after) = match (action, change) {
            (HistoryAction::Created, v) => (&Value::Null, v),
            (_, Value::Array(pair)) if pair.len() == 2 => (&pair[0], &pair[1]),
            (_, v) => (&Value::Null, v),
        };
        if name == "custom" {
            custom_changes(before, after, &mut out);
            continue;
        }
        let (before, after) = (words(before), words(after));
        if before == after {
            continue;
        }
        out.push(FieldChangeDto {
            field: name.clone(),
            label: label(name),
            before,
            after,
        });
    }
    let order = |f: &str| {
        let base = f.split_once('.').map_or(f, |(b, _)| b);
        crm_protocol::schema::CONTACTS
            .fields
            .iter()
            .position(|x| x.name == base)
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|c| order(&c.field));
    out
}

/// Fields kept for the machinery, not for people.
const HIDDEN: &[&str] = &[
    "id",
    "tenant_id",
    "clocks",
    "created_at",
    "updated_at",
    // Worked out from the names, which are listed.
    "display_name",
];

/// Each custom field whose value differs between two maps.
fn custom_changes(before: &Value, after: &Value, out: &mut Vec<FieldChangeDto>) {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (was, now) = (
            words(b.get(key).unwrap_or(&Value::Null)),
            words(a.get(key).unwrap_or(&Value::Null)),
        );
        if was != now {
            out.push(FieldChangeDto {
                field: format!("custom.{key}"),
                label: humane(key),
                before: was,
                after: now,
            });
        }
    }
}

/// A field's label: a detail's declared one, else its name in words.
pub(crate) fn label(name: &str) -> String {
    crm_protocol::schema::CONTACTS
        .fields
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.label)
        .map_or_else(|| humane(name), str::to_string)
}

/// `date_of_birth` -> "Date of birth".
fn humane(name: &str) -> String {
    let spaced = crm_core::details::choice_words(name);
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// A stored value in words: lists joined by commas; `None` when empty.
pub(crate) fn words(v: &Value) -> Option<String> {
    let text = match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(words)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(m) if m.is_empty() => return None,
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_lists_each_changed_field_and_custom_key_in_words() {
        let changes = json!({
            "city": ["York", "Leeds"],
            "tags": [["a"], ["a", "b"]],
            "custom": [{"score": "1", "tier": "gold"}, {"score": "2", "tier": "gold"}],
            "updated_at": ["x", "y"],
            "job_title": [null, "Broker"],
        });
        let got = field_changes(HistoryAction::Updated, &changes);
        let names: Vec<&str> = got.iter().map(|c| c.field.as_str()).collect();
        assert!(names.contains(&"city") && names.contains(&"custom.score"));
        assert!(!names.contains(&"custom.tier"), "unchanged key left out");
        assert!(!names.contains(&"updated_at"));
        let city = got.iter().find(|c| c.field == "city").expect("city");
        assert_eq!(
            (city.before.as_deref(), city.after.as_deref()),
            (Some("York"), Some("Leeds"))
        );
        let tags = got.iter().find(|c| c.field == "tags").expect("tags");
        assert_eq!(tags.after.as_deref(), Some("a, b"));
        let job = got.iter().find(|c| c.field == "job_title").expect("job");
        assert_eq!(
            (job.label.as_str(), job.before.as_deref()),
            ("Job title", None)
        );
    }

    #[test]
    fn a_creation_lists_the_fields_it_set() {
        let got = field_changes(
            HistoryAction::Created,
            &json!({"first_name": "Ann", "last_name": null, "emails": []}),
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].label, "First name");
        assert_eq!(got[0].after.as_deref(), Some("Ann"));
    }
}
