//! Policies and SOPs: a document of the library under document control.
//! One admin drafts and submits a version, another approves it, and only
//! then is it published; each policy has an owner, a review cycle and the
//! CQC quality statements it evidences.

use chrono::NaiveDate;
use crm_core::Store;
use crm_documents::DocStatus;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::dates::{add_months, stored, text, Standing};
use crate::error::{ComplianceError, Result};
use crate::schema::{install, installed, FEATURE};
use crate::staff::required;
use crate::who::Access;

/// A CQC quality statement.
#[derive(Clone, Debug, Serialize)]
pub struct Statement {
    /// Its code (`S3`: the third under Safe).
    pub id: String,
    /// `safe`, `effective`, `caring`, `responsive`, `well-led`.
    pub key_question: String,
    /// Its name.
    pub name: String,
}

/// The five key questions, in the CQC's order.
pub const KEY_QUESTIONS: &[(&str, &str)] = &[
    ("safe", "Safe"),
    ("effective", "Effective"),
    ("caring", "Caring"),
    ("responsive", "Responsive"),
    ("well-led", "Well-led"),
];

/// The 34 quality statements.
pub fn statements(store: &mut Store) -> Result<Vec<Statement>> {
    install(store)?;
    Ok(store.feature_read(|c| {
        let mut st =
            c.prepare("SELECT id, key_question, name FROM compliance_statements ORDER BY ord")?;
        let rows = st.query_map([], |r| {
            Ok(Statement {
                id: r.get(0)?,
                key_question: r.get(1)?,
                name: r.get(2)?,
            })
        })?;
        rows.collect()
    })?)
}

/// Policy or SOP.
pub const KINDS: &[&str] = &["policy", "sop"];

/// What an admin sets on a policy.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PolicyDraft {
    /// `policy` or `sop`.
    pub kind: String,
    /// Who answers for it.
    pub owner: String,
    /// Months between reviews (12 is usual).
    pub review_months: i64,
    /// The quality statements it evidences (codes such as `S3`).
    pub statements: Vec<String>,
}

/// A policy as listed.
#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    /// The document's id.
    pub doc_id: String,
    /// Its title.
    pub title: String,
    /// `policy` or `sop`.
    pub kind: String,
    /// Who answers for it.
    pub owner: String,
    /// Months between reviews.
    pub review_months: i64,
    /// Next review (YYYY-MM-DD).
    pub next_review: String,
    /// Last review (publication of a version, or a review without change).
    pub last_review: Option<String>,
    /// Review standing today: valid, due soon, overdue (`expired`).
    pub review: Standing,
    /// `draft`, `awaiting_approval`, `approved` or `published` (for the
    /// newest readable version).
    pub approval: String,
    /// The document's status.
    pub status: DocStatus,
    /// The version in force (published).
    pub live_version: Option<i64>,
    /// The newest readable version.
    pub readable_version: Option<i64>,
    /// Who submitted the version awaiting approval.
    pub submitted_by: Option<String>,
    /// The version approved, by whom and when.
    pub approved_version: Option<i64>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Acknowledgements count from this version (a minor change keeps the
    /// earlier one).
    pub ack_from_version: Option<i64>,
    /// Who drafted it.
    pub drafted_by: String,
    /// Quality statements it evidences.
    pub statements: Vec<String>,
}

fn check(store: &mut Store, d: &PolicyDraft) -> Result<(String, String, i64, Vec<String>)> {
    let kind = d.kind.trim().to_lowercase();
    if !KINDS.contains(&kind.as_str()) {
        return Err(ComplianceError::invalid(
            "kind",
            format!("{:?} is not policy or sop", d.kind),
        ));
    }
    let owner = required("owner", &d.owner, 200)?;
    if !(1..=60).contains(&d.review_months) {
        return Err(ComplianceError::invalid(
            "review months",
            format!("{} is not between 1 and 60 (12 is usual)", d.review_months),
        ));
    }
    let known = statements(store)?;
    let mut ids = Vec::new();
    for s in &d.statements {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        let found = known
            .iter()
            .find(|k| k.id.eq_ignore_ascii_case(s) || k.name.eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ComplianceError::invalid(
                    "statements",
                    format!("{s:?} is not a CQC quality statement; see `crm compliance statements` (codes such as S3)"),
                )
            })?;
        if !ids.contains(&found.id) {
            ids.push(found.id.clone());
        }
    }
    Ok((kind, owner, d.review_months, ids))
}

fn readable(store: &Store, doc_id: &str) -> Result<Option<i64>> {
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT max(version) FROM documents_versions WHERE doc_id = ?1 AND state = 'indexed'",
            [doc_id],
            |r| r.get(0),
        )
    })?)
}

/// Make a document of the library a policy or SOP (admins). It comes under
/// control: new versions wait as drafts and publishing needs approval.
pub fn register(
    store: &mut Store,
    doc_id: &str,
    d: &PolicyDraft,
    today: NaiveDate,
) -> Result<Policy> {
    install(store)?;
    let access = Access::of(store)?;
    access.check_admin("make a document a policy")?;
    crm_documents::get(store, doc_id)?;
    if find(store, doc_id)?.is_some() {
        return Err(ComplianceError::State(
            "this document is a policy already; change it with `crm compliance policy edit`".into(),
        ));
    }
    let (kind, owner, months, ids) = check(store, d)?;
    let next = add_months(today, months as u32)
        .ok_or_else(|| ComplianceError::invalid("review months", "beyond the calendar"))?;
    crm_documents::set_controlled(store, doc_id, true)?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        c.execute(
            "INSERT INTO compliance_policies (doc_id, kind, owner, review_months, next_review, drafted_by, \
             approval, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?7)",
            params![doc_id, kind, owner, months, text(next), access.user_id, tx.now()],
        )?;
        for s in &ids {
            c.execute("INSERT INTO compliance_policy_statements (doc_id, statement_id) VALUES (?1, ?2)", params![doc_id, s])?;
        }
        tx.audit("policies", doc_id, "created", &json!({"kind": kind, "owner": owner, "review_months": months, "statements": ids}))?;
        Ok(())
    })?;
    get(store, doc_id, today)
}

/// Change a policy's owner, kind, review cycle or statements (admins). A
/// new cycle counts from the last review.
pub fn edit(store: &mut Store, doc_id: &str, d: &PolicyDraft, today: NaiveDate) -> Result<Policy> {
    let before = get(store, doc_id, today)?;
    Access::of(store)?.check_admin("change a policy")?;
    let (kind, owner, months, ids) = check(store, d)?;
    let from = stored(before.last_review.as_deref()).unwrap_or(today);
    let next = add_months(from, months as u32)
        .ok_or_else(|| ComplianceError::invalid("review months", "beyond the calendar"))?;
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let c = tx.conn();
        c.execute(
            "UPDATE compliance_policies SET kind = ?2, owner = ?3, review_months = ?4, next_review = ?5, \
             updated_at = ?6, dirty = 1 WHERE doc_id = ?1",
            params![doc_id, kind, owner, months, text(next), tx.now()],
        )?;
        c.execute("DELETE FROM compliance_policy_statements WHERE doc_id = ?1", [doc_id])?;
        for s in &ids {
            c.execute("INSERT INTO compliance_policy_statements (doc_id, statement_id) VALUES (?1, ?2)", params![doc_id, s])?;
        }
        tx.audit("policies", doc_id, "updated", &json!({"kind": kind, "owner": owner, "review_months": months, "statements": ids}))?;
        Ok(())
    })?;
    get(store, doc_id, today)
}

fn set_approval(
    store: &mut Store,
    doc_id: &str,
    action: &str,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
    audit: serde_json::Value,
) -> Result<()> {
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&doc_id];
        let now = tx.now().to_string();
        all.push(&now);
        all.extend_from_slice(args);
        tx.conn().execute(sql, all.as_slice())?;
        tx.audit("policies", doc_id, action, &audit)?;
        Ok(())
    })
}

/// Submit the newest readable version for approval (admins).
pub fn submit(store: &mut Store, doc_id: &str, today: NaiveDate) -> Result<Policy> {
    let p = get(store, doc_id, today)?;
    let access = Access::of(store)?;
    access.check_admin("submit a policy for approval")?;
    let Some(v) = p.readable_version else {
        return Err(ComplianceError::State(
            "no version of this document could be read; add a readable file first".into(),
        ));
    };
    if p.approval != "draft" {
        return Err(ComplianceError::State(format!(
            "version {v} is {} already",
            p.approval.replace('_', " ")
        )));
    }
    set_approval(
        store,
        doc_id,
        "submitted",
        "UPDATE compliance_policies SET approval = 'awaiting', submitted_version = ?3, submitted_by = ?4, \
         updated_at = ?2, dirty = 1 WHERE doc_id = ?1",
        &[&v, &access.user_id],
        json!({"version": v}),
    )?;
    get(store, doc_id, today)
}

/// Approve the version awaiting approval: by an admin other than the one
/// who submitted it.
pub fn approve(store: &mut Store, doc_id: &str, today: NaiveDate) -> Result<Policy> {
    let p = get(store, doc_id, today)?;
    let access = Access::of(store)?;
    access.check_admin("approve a policy")?;
    if p.approval != "awaiting_approval" {
        return Err(ComplianceError::State(format!(
            "nothing awaits approval: the newest version is {} (submit it first)",
            p.approval.replace('_', " ")
        )));
    }
    if p.submitted_by.as_deref() == Some(access.user_id.as_str()) {
        return Err(ComplianceError::Forbidden(
            "you submitted this version: another admin must approve it".into(),
        ));
    }
    let v = p.readable_version;
    set_approval(
        store,
        doc_id,
        "approved",
        "UPDATE compliance_policies SET approval = 'approved', approved_version = ?3, approved_by = ?4, \
         approved_at = ?2, updated_at = ?2, dirty = 1 WHERE doc_id = ?1",
        &[&v, &access.user_id],
        json!({"version": v}),
    )?;
    get(store, doc_id, today)
}

/// Send a submitted version back to draft (admins), saying why.
pub fn reject(store: &mut Store, doc_id: &str, reason: &str, today: NaiveDate) -> Result<Policy> {
    let p = get(store, doc_id, today)?;
    Access::of(store)?.check_admin("reject a policy")?;
    let reason = required("reason", reason, 2000)?;
    if p.approval != "awaiting_approval" {
        return Err(ComplianceError::State("nothing awaits approval".into()));
    }
    set_approval(
        store,
        doc_id,
        "rejected",
        "UPDATE compliance_policies SET approval = 'draft', submitted_version = NULL, submitted_by = NULL, \
         updated_at = ?2, dirty = 1 WHERE doc_id = ?1",
        &[],
        json!({"version": p.readable_version, "reason": reason}),
    )?;
    get(store, doc_id, today)
}

/// Publish the approved version (admins). Its review cycle starts today;
/// everyone assigned must acknowledge it again, unless `minor` (a change
/// that does not alter what people must do).
pub fn publish(store: &mut Store, doc_id: &str, minor: bool, today: NaiveDate) -> Result<Policy> {
    let p = get(store, doc_id, today)?;
    Access::of(store)?.check_admin("publish a policy")?;
    if p.approval != "approved" && p.approval != "published" {
        return Err(ComplianceError::State(format!(
            "version {} is {}: another admin must approve it before it is published",
            p.readable_version.unwrap_or(0),
            p.approval.replace('_', " ")
        )));
    }
    if p.approval == "published" {
        return Ok(p);
    }
    crm_documents::publish_controlled(store, doc_id)?;
    let next = add_months(today, p.review_months as u32)
        .ok_or_else(|| ComplianceError::invalid("review months", "beyond the calendar"))?;
    let ack_from = match (minor, p.ack_from_version) {
        (true, Some(v)) => Some(v),
        _ => p.approved_version,
    };
    set_approval(
        store,
        doc_id,
        "published",
        "UPDATE compliance_policies SET approval = 'published', last_review = ?3, next_review = ?4, \
         ack_from_version = ?5, minor = ?6, updated_at = ?2, dirty = 1 WHERE doc_id = ?1",
        &[&text(today), &text(next), &ack_from, &minor],
        json!({"version": p.approved_version, "minor": minor, "next_review": text(next)}),
    )?;
    get(store, doc_id, today)
}

/// Record a review that changed nothing (admins): the next review is one
/// cycle from today.
pub fn reviewed(store: &mut Store, doc_id: &str, today: NaiveDate) -> Result<Policy> {
    let p = get(store, doc_id, today)?;
    Access::of(store)?.check_admin("record a policy review")?;
    if p.status != DocStatus::Published {
        return Err(ComplianceError::State(
            "only a published policy is reviewed; publish it first".into(),
        ));
    }
    let next = add_months(today, p.review_months as u32)
        .ok_or_else(|| ComplianceError::invalid("review months", "beyond the calendar"))?;
    set_approval(
        store,
        doc_id,
        "reviewed",
        "UPDATE compliance_policies SET last_review = ?3, next_review = ?4, updated_at = ?2, dirty = 1 WHERE doc_id = ?1",
        &[&text(today), &text(next)],
        json!({"next_review": text(next)}),
    )?;
    get(store, doc_id, today)
}

type PolicyRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
);

fn find(store: &Store, doc_id: &str) -> Result<Option<PolicyRow>> {
    if !installed(store)? {
        return Ok(None);
    }
    Ok(store.feature_read(|c| {
        c.query_row(
            "SELECT kind, owner, review_months, next_review, last_review, approval, submitted_version, \
             submitted_by, approved_version, approved_by, approved_at, ack_from_version, drafted_by \
             FROM compliance_policies WHERE doc_id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?)),
        )
        .optional()
    })?)
}

/// A policy, as the person using the profile may see it.
pub fn get(store: &Store, doc_id: &str, today: NaiveDate) -> Result<Policy> {
    let doc = crm_documents::get(store, doc_id)?;
    let row = find(store, doc_id)?.ok_or_else(|| ComplianceError::NotFound {
        what: "policy",
        id: doc_id.to_string(),
        hint: "see `crm compliance policies`; make a document a policy with `crm compliance policy add`",
    })?;
    let (
        kind,
        owner,
        months,
        next,
        last,
        approval,
        submitted,
        submitted_by,
        approved,
        approved_by,
        approved_at,
        ack_from,
        drafted_by,
    ) = row;
    let readable = readable(store, doc_id)?;
    // The stored step applies to the version it names; a newer version
    // starts again as a draft.
    let approval = match approval.as_str() {
        "awaiting" if submitted == readable => "awaiting_approval",
        "approved" if approved == readable => "approved",
        "published" if approved == readable && doc.live_version == approved => "published",
        _ => "draft",
    }
    .to_string();
    let statements = store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT ps.statement_id FROM compliance_policy_statements ps \
             JOIN compliance_statements s ON s.id = ps.statement_id WHERE ps.doc_id = ?1 ORDER BY s.ord",
        )?;
        let rows = st.query_map([doc_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
    })?;
    let review = crate::dates::standing(stored(Some(&next)), today);
    Ok(Policy {
        doc_id: doc.id,
        title: doc.title,
        kind,
        owner,
        review_months: months,
        next_review: next,
        last_review: last,
        review,
        approval,
        status: doc.status,
        live_version: doc.live_version,
        readable_version: readable,
        submitted_by,
        approved_version: approved,
        approved_by,
        approved_at,
        ack_from_version: ack_from,
        drafted_by,
        statements,
    })
}

/// Every policy and SOP the person may see (drafts for admins only), by
/// title.
pub fn list(store: &Store, today: NaiveDate) -> Result<Vec<Policy>> {
    if !installed(store)? {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = store.feature_read(|c| {
        let mut st = c.prepare(
            "SELECT p.doc_id FROM compliance_policies p JOIN documents_docs d ON d.id = p.doc_id \
             WHERE d.status <> 'removed' ORDER BY d.title COLLATE NOCASE, p.doc_id",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect()
    })?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match get(store, &id, today) {
            Ok(p) => out.push(p),
            // A document this person may not see is not listed.
            Err(ComplianceError::Docs(crm_documents::DocsError::NotFound(_))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A quality statement and the policies in force that evidence it.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// The statement.
    pub statement: Statement,
    /// Published policies linked to it whose review is not overdue.
    pub current: Vec<String>,
    /// Linked but not current (draft, retired or review overdue).
    pub stale: Vec<String>,
}

/// What an admin checks first.
#[derive(Clone, Debug, Serialize)]
pub struct Dashboard {
    /// The day it is for.
    pub today: String,
    /// Reviews due within 60 days.
    pub due_for_review: Vec<Policy>,
    /// Reviews overdue.
    pub overdue: Vec<Policy>,
    /// Versions waiting for a second admin.
    pub awaiting_approval: Vec<Policy>,
    /// Approved, not yet published.
    pub approved: Vec<Policy>,
    /// Quality statements with no current evidence.
    pub uncovered: Vec<Statement>,
    /// Every statement and what evidences it.
    pub coverage: Vec<Coverage>,
}

/// The policies dashboard on `today`.
pub fn dashboard(store: &mut Store, today: NaiveDate) -> Result<Dashboard> {
    let statements = statements(store)?;
    let policies = list(store, today)?;
    let in_force = |p: &Policy| p.status == DocStatus::Published && p.review != Standing::Expired;
    let coverage: Vec<Coverage> = statements
        .into_iter()
        .map(|s| {
            let linked = policies.iter().filter(|p| p.statements.contains(&s.id));
            let (current, stale): (Vec<&Policy>, Vec<&Policy>) = linked.partition(|p| in_force(p));
            Coverage {
                statement: s,
                current: current.iter().map(|p| p.doc_id.clone()).collect(),
                stale: stale.iter().map(|p| p.doc_id.clone()).collect(),
            }
        })
        .collect();
    let published = |p: &&Policy| p.status == DocStatus::Published;
    Ok(Dashboard {
        today: text(today),
        due_for_review: policies
            .iter()
            .filter(published)
            .filter(|p| p.review == Standing::DueSoon)
            .cloned()
            .collect(),
        overdue: policies
            .iter()
            .filter(published)
            .filter(|p| p.review == Standing::Expired)
            .cloned()
            .collect(),
        awaiting_approval: policies
            .iter()
            .filter(|p| p.approval == "awaiting_approval")
            .cloned()
            .collect(),
        approved: policies
            .iter()
            .filter(|p| p.approval == "approved")
            .cloned()
            .collect(),
        uncovered: coverage
            .iter()
            .filter(|c| c.current.is_empty())
            .map(|c| c.statement.clone())
            .collect(),
        coverage,
    })
}
