//! The recruitment checks Regulation 19 and Schedule 3 require for every
//! member of staff, and the ones kept beside them (right to work,
//! references, probation): one checklist row per person and item, with the
//! item's own fields.

use chrono::NaiveDate;
use crm_core::Store;
use rusqlite::params;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::dates::{add_months, parse_date, standing, stored, text, Standing};
use crate::error::{ComplianceError, Result};
use crate::schema::{install, installed, FEATURE};
use crate::staff::bounded;
use crate::who::Access;

/// The kind of value an item's field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "choices")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A date.
    Date,
    /// Yes or no.
    YesNo,
    /// A whole number of months.
    Months,
    /// One of a list.
    Choice(&'static [&'static str]),
}

/// One field of a checklist item.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FieldDef {
    /// Its key in the stored details.
    pub key: &'static str,
    /// What a person reads.
    pub label: &'static str,
    /// Its kind.
    pub kind: FieldKind,
    /// A number that must never appear in full outside the record (an
    /// inspector's pack shows its last four characters).
    pub secret: bool,
}

/// One item of the checklist.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ItemDef {
    /// Its id.
    pub id: &'static str,
    /// What a person reads.
    pub name: &'static str,
    /// Its fields.
    pub fields: &'static [FieldDef],
}

const fn f(key: &'static str, label: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        key,
        label,
        kind,
        secret: false,
    }
}

/// The checklist, in the order of Schedule 3.
pub static ITEMS: &[ItemDef] = &[
    ItemDef {
        id: "identity",
        name: "Proof of identity with a recent photograph",
        fields: &[
            f(
                "document_type",
                "Document seen",
                FieldKind::Choice(&[
                    "passport",
                    "driving licence",
                    "national identity card",
                    "other",
                ]),
            ),
            f("checked_on", "Date checked", FieldKind::Date),
            f("photo", "Recent photograph held", FieldKind::YesNo),
        ],
    },
    ItemDef {
        id: "dbs",
        name: "DBS check",
        fields: &[
            f(
                "level",
                "Level",
                FieldKind::Choice(&["basic", "standard", "enhanced", "enhanced with barred list"]),
            ),
            FieldDef {
                key: "certificate_number",
                label: "Certificate number",
                kind: FieldKind::Text,
                secret: true,
            },
            f("issue_date", "Issue date", FieldKind::Date),
            f(
                "update_service",
                "Subscribed to the Update Service",
                FieldKind::YesNo,
            ),
            f(
                "recheck_months",
                "Recheck every (months; empty: no expiry)",
                FieldKind::Months,
            ),
        ],
    },
    ItemDef {
        id: "conduct",
        name: "Conduct in previous health or social care work",
        fields: &[
            f("received_on", "Evidence received", FieldKind::Date),
            f("source", "From", FieldKind::Text),
        ],
    },
    ItemDef {
        id: "leaving_reasons",
        name: "Why previous care employment ended",
        fields: &[f("received_on", "Confirmed on", FieldKind::Date)],
    },
    ItemDef {
        id: "qualifications",
        name: "Relevant qualifications",
        fields: &[
            f("summary", "Qualifications", FieldKind::Text),
            f("checked_on", "Certificates seen", FieldKind::Date),
        ],
    },
    ItemDef {
        id: "employment_history",
        name: "Full employment history, gaps explained",
        fields: &[
            f(
                "gaps_explained",
                "Gaps explained in writing",
                FieldKind::YesNo,
            ),
            f("checked_on", "Checked on", FieldKind::Date),
        ],
    },
    ItemDef {
        id: "health",
        name: "Health declaration",
        fields: &[
            f("declared_on", "Declared on", FieldKind::Date),
            f("adjustments", "Adjustments agreed", FieldKind::Text),
        ],
    },
    ItemDef {
        id: "right_to_work",
        name: "Right to work",
        fields: &[
            f(
                "document_type",
                "Document",
                FieldKind::Choice(&[
                    "british or irish passport",
                    "share code",
                    "biometric residence permit",
                    "visa",
                    "other",
                ]),
            ),
            FieldDef {
                key: "document_number",
                label: "Document number",
                kind: FieldKind::Text,
                secret: true,
            },
            f(
                "expiry",
                "Permission expires (empty: no limit)",
                FieldKind::Date,
            ),
            f("checked_on", "Date checked", FieldKind::Date),
        ],
    },
    ItemDef {
        id: "references",
        name: "References",
        fields: &[
            f(
                "received",
                "How many received",
                FieldKind::Choice(&["0", "1", "2", "3"]),
            ),
            f("received_on", "Last received", FieldKind::Date),
        ],
    },
    ItemDef {
        id: "probation",
        name: "Probation",
        fields: &[
            f("ends_on", "Ends on", FieldKind::Date),
            f(
                "outcome",
                "Outcome",
                FieldKind::Choice(&["in progress", "passed", "extended", "not passed"]),
            ),
        ],
    },
];

/// Where an item stands in the checklist.
pub const STATUSES: &[&str] = &["missing", "received", "verified", "not_required"];

/// An item's definition by id.
pub fn item(id: &str) -> Result<&'static ItemDef> {
    ITEMS.iter().find(|i| i.id == id).ok_or_else(|| {
        ComplianceError::invalid(
            "item",
            format!(
                "{id:?} is not a checklist item; use one of: {}",
                ITEMS.iter().map(|i| i.id).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// One item of one person's checklist.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The item's id.
    pub item: &'static str,
    /// What a person reads.
    pub name: &'static str,
    /// `missing`, `received`, `verified`, `not_required`.
    pub status: String,
    /// The item's fields as stored (dates as YYYY-MM-DD).
    pub details: Map<String, Value>,
    /// A note.
    pub note: Option<String>,
    /// When it lapses, for items that do (DBS recheck, right to work).
    pub expires: Option<String>,
    /// Where it stands today (lapsing items; others `valid` once
    /// verified or not required, `missing` otherwise).
    pub standing: Standing,
    /// Evidence files held for it.
    pub evidence: Vec<crate::evidence::Evidence>,
    /// Last change.
    pub updated_at: Option<String>,
}

/// When an item lapses, from its details.
pub fn expires(item: &str, details: &Map<String, Value>) -> Option<NaiveDate> {
    let date = |k: &str| stored(details.get(k).and_then(Value::as_str));
    match item {
        "dbs" => {
            let months = details.get("recheck_months").and_then(Value::as_i64)?;
            add_months(date("issue_date")?, u32::try_from(months).ok()?)
        }
        "right_to_work" => date("expiry"),
        _ => None,
    }
}

fn item_standing(
    item: &str,
    status: &str,
    details: &Map<String, Value>,
    today: NaiveDate,
) -> Standing {
    match status {
        "not_required" => Standing::Valid,
        "received" | "verified" => standing(expires(item, details), today),
        _ => Standing::Missing,
    }
}

/// Check the fields typed for `def`: unknown fields refused, dates read,
/// choices matched, numbers bounded. Empty values are dropped.
fn check_details(def: &ItemDef, given: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in given {
        let Some(fd) = def.fields.iter().find(|f| f.key == k) else {
            return Err(ComplianceError::invalid(
                "field",
                format!(
                    "{k:?} is not a field of {}; its fields are {}",
                    def.name,
                    def.fields
                        .iter()
                        .map(|f| f.key)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let label = fd.label;
        let raw = match v {
            Value::Null => continue,
            Value::String(s) if s.trim().is_empty() => continue,
            Value::String(s) => s.trim().to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(ComplianceError::invalid(
                    field_name(fd),
                    format!("{label}: give text"),
                ))
            }
        };
        let value = match fd.kind {
            FieldKind::Text => Value::String(bounded(field_name(fd), &raw, 2000)?),
            FieldKind::Date => Value::String(text(parse_date(field_name(fd), &raw)?)),
            FieldKind::YesNo => match raw.to_lowercase().as_str() {
                "yes" | "true" | "y" | "1" => Value::Bool(true),
                "no" | "false" | "n" | "0" => Value::Bool(false),
                _ => {
                    return Err(ComplianceError::invalid(
                        field_name(fd),
                        format!("{raw:?} is not yes or no"),
                    ))
                }
            },
            FieldKind::Months => match raw.parse::<i64>() {
                Ok(n) if (1..=120).contains(&n) => json!(n),
                _ => {
                    return Err(ComplianceError::invalid(
                        field_name(fd),
                        format!("{raw:?} is not a number of months between 1 and 120"),
                    ))
                }
            },
            FieldKind::Choice(choices) => {
                let low = raw.to_lowercase();
                match choices.iter().find(|c| **c == low) {
                    Some(c) => Value::String((*c).to_string()),
                    None => {
                        return Err(ComplianceError::invalid(
                            field_name(fd),
                            format!("{raw:?} is not one of: {}", choices.join(", ")),
                        ))
                    }
                }
            }
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

/// The field's name in errors: its key, as the CLI's flags and the app's
/// form name it (a `'static` str).
fn field_name(fd: &FieldDef) -> &'static str {
    fd.key
}

/// Record an item of `staff_id`'s checklist: its status, fields and note.
/// The fields given replace the stored ones.
pub fn set(
    store: &mut Store,
    staff_id: &str,
    item_id: &str,
    status: &str,
    details: &Map<String, Value>,
    note: Option<&str>,
) -> Result<Check> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_edit(staff_id, "record recruitment checks")?;
    crate::staff::get(store, staff_id)?;
    let def = item(item_id)?;
    if !STATUSES.contains(&status) {
        return Err(ComplianceError::invalid(
            "status",
            format!("{status:?} is not one of: {}", STATUSES.join(", ")),
        ));
    }
    let details = check_details(def, details)?;
    if def.id == "dbs" {
        if let Some(i) = stored(details.get("issue_date").and_then(Value::as_str)) {
            if i > crate::dates::today() {
                return Err(ComplianceError::invalid(
                    "issue_date",
                    format!("{} is in the future", text(i)),
                ));
            }
        }
    }
    let note = note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| bounded("note", n, 4000))
        .transpose()?;
    let body = Value::Object(details.clone()).to_string();
    let actor = store.user_actor();
    let by = access.user_id.clone();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        tx.conn().execute(
            "INSERT INTO compliance_checks (staff_id, item, status, details, note, updated_at, updated_by, dirty) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1) ON CONFLICT(staff_id, item) DO UPDATE SET \
             status = excluded.status, details = excluded.details, note = excluded.note, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by, dirty = 1",
            params![staff_id, def.id, status, body, note, tx.now(), by],
        )?;
        // The audit keeps which fields changed, never a secret's value.
        let shown: Map<String, Value> = details
            .iter()
            .map(|(k, v)| {
                let secret = def.fields.iter().any(|f| f.key == k && f.secret);
                (k.clone(), if secret { json!("(recorded)") } else { v.clone() })
            })
            .collect();
        tx.audit("checks", &format!("{staff_id}:{}", def.id), "set", &json!({"status": status, "details": shown}))?;
        Ok(())
    })?;
    checklist(store, staff_id, crate::dates::today())?
        .into_iter()
        .find(|c| c.item == def.id)
        .ok_or_else(|| ComplianceError::State("the check was not stored".into()))
}

/// `staff_id`'s whole checklist on `today`, every item listed (missing
/// ones too).
pub fn checklist(store: &Store, staff_id: &str, today: NaiveDate) -> Result<Vec<Check>> {
    crate::staff::get(store, staff_id)?;
    let rows: Vec<(String, String, String, Option<String>, String)> = if installed(store)? {
        store.feature_read(|c| {
            let mut st = c.prepare(
                "SELECT item, status, details, note, updated_at FROM compliance_checks WHERE staff_id = ?1",
            )?;
            let rows = st.query_map([staff_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            rows.collect()
        })?
    } else {
        Vec::new()
    };
    let evidence = crate::evidence::list(store, staff_id)?;
    Ok(ITEMS
        .iter()
        .map(|def| {
            let row = rows.iter().find(|r| r.0 == def.id);
            let details: Map<String, Value> = row
                .and_then(|r| serde_json::from_str(&r.2).ok())
                .unwrap_or_default();
            let status = row.map_or("missing".to_string(), |r| r.1.clone());
            Check {
                item: def.id,
                name: def.name,
                standing: item_standing(def.id, &status, &details, today),
                expires: expires(def.id, &details).map(text),
                status,
                note: row.and_then(|r| r.3.clone()),
                updated_at: row.map(|r| r.4.clone()),
                evidence: evidence
                    .iter()
                    .filter(|e| e.item == def.id)
                    .cloned()
                    .collect(),
                details,
            }
        })
        .collect())
}

/// The last four characters of a secret number, for places the whole must
/// not appear (`••••7890`).
pub fn masked(number: &str) -> String {
    let chars: Vec<char> = number.chars().filter(|c| !c.is_whitespace()).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    if chars.len() <= 4 {
        "(recorded)".to_string()
    } else {
        format!("ending {tail}")
    }
}
