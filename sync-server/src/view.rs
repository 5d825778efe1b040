//! Who sees what, for writes: an agent may only push ops for rows they could
//! pull, by the same rule as `pull`.
//!
//! An agent sees the contacts owned by themselves or by a user of their team
//! and everything hanging off those contacts (policies, tasks, activities by
//! `contact_id`; payments through their policy), plus rows hanging off no
//! contact that they created. Admins see the whole tenant and are not
//! checked here.
//!
//! Each op of a batch is judged against the state the ops before it left
//! (a contact created earlier in the batch is visible to a policy after it;
//! an edit after a reassignment that moved the contact away is refused):
//! - an op on a row that exists must find the row in the agent's view;
//! - an op that names a parent (`contact_id`, `policy_id`) must name one
//!   that exists and is in the agent's view (the same refusal whether it does
//!   not exist or is out of view, so ids of other agents' records cannot be
//!   probed);
//! - a contact in view may be given to any owner: that is how a record
//!   leaves an agent's view (they get an eviction for it). A new contact may
//!   be created with any owner too (an import names owners; creating and
//!   then reassigning is allowed anyway); if that owner is out of the
//!   agent's view the agent gets an eviction for it at once.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use crm_protocol::SyncOp;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ServerError;
use crate::merge::RowData;

/// A tenant's users as ownership and visibility need them.
pub struct Users {
    /// id, lowercased email, team.
    list: Vec<(Uuid, String, Option<String>)>,
}

impl Users {
    /// From `(id, lower(email), team)` rows.
    pub fn new(list: Vec<(Uuid, String, Option<String>)>) -> Self {
        Users { list }
    }

    /// The user a contact's `owner` field names (by email or by id), if any.
    pub fn resolve_owner(&self, owner: Option<&Value>) -> Option<Uuid> {
        let text = owner?.as_str()?.trim().to_lowercase();
        self.list
            .iter()
            .find(|(id, email, _)| *email == text || id.to_string() == text)
            .map(|(id, _, _)| *id)
    }

    /// The users whose contacts `me` (an agent) sees: themselves and their
    /// team mates.
    pub fn seen_by(&self, me: Uuid) -> HashSet<Uuid> {
        let team = self
            .list
            .iter()
            .find(|(id, _, _)| *id == me)
            .and_then(|(_, _, t)| t.clone());
        self.list
            .iter()
            .filter(|(id, _, t)| *id == me || (team.is_some() && *t == team))
            .map(|(id, _, _)| *id)
            .collect()
    }
}

/// The parsed record id in a field, if it holds one.
pub fn parse_uuid(v: Option<&Value>) -> Option<Uuid> {
    v.and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Where a row sits for visibility: the contact it hangs off (a contact is
/// its own; a payment hangs off its policy's contact, looked up through
/// `policy_scope`) and, for a contact, the user who owns it (the `owner`
/// field resolved to a user, else its creator). One rule for the push's
/// visibility check and for what the push stores.
pub fn placement(
    table: &str,
    id: Uuid,
    row: &RowData,
    creator: Uuid,
    users: &Users,
    policy_scope: impl Fn(Uuid) -> Option<Uuid>,
) -> (Option<Uuid>, Option<Uuid>) {
    match table {
        "contacts" => (
            Some(id),
            Some(
                users
                    .resolve_owner(row.fields.get("owner"))
                    .unwrap_or(creator),
            ),
        ),
        "payments" => (
            parse_uuid(row.fields.get("policy_id")).and_then(policy_scope),
            None,
        ),
        _ => (parse_uuid(row.fields.get("contact_id")), None),
    }
}

/// An agent's view while a batch is checked op by op.
pub struct Guard {
    me: Uuid,
    /// Users whose contacts the agent sees.
    sees: HashSet<Uuid>,
    /// Effective owner of every contact that matters to the batch.
    contact_owner: HashMap<Uuid, Uuid>,
    /// Scope contact and creator of every policy that matters to the batch.
    policies: HashMap<Uuid, (Option<Uuid>, Uuid)>,
    /// Scope contact and creator of the rows the batch touches, as they
    /// stand after the ops checked so far (absent: the row does not exist).
    rows: HashMap<(String, Uuid), (Option<Uuid>, Uuid)>,
}

impl Guard {
    /// A guard for agent `me`, given what the database holds: contacts'
    /// owners, policies' scopes and creators, and the touched rows' scopes
    /// and creators.
    pub fn new(
        me: Uuid,
        users: &Users,
        contact_owner: HashMap<Uuid, Uuid>,
        policies: HashMap<Uuid, (Option<Uuid>, Uuid)>,
        rows: HashMap<(String, Uuid), (Option<Uuid>, Uuid)>,
    ) -> Self {
        Guard {
            me,
            sees: users.seen_by(me),
            contact_owner,
            policies,
            rows,
        }
    }

    /// Whether the agent sees a row hanging off `scope`, made by `creator`.
    fn sees(&self, scope: Option<Uuid>, creator: Uuid) -> bool {
        match scope {
            None => creator == self.me,
            Some(c) => self
                .contact_owner
                .get(&c)
                .is_some_and(|o| self.sees.contains(o)),
        }
    }

    /// Whether the agent sees a contact owned by `owner`.
    pub fn sees_owner(&self, owner: Uuid) -> bool {
        self.sees.contains(&owner)
    }

    /// Before an op is merged: the row it writes, if it exists, must be in
    /// the agent's view, and a parent it names must be too.
    pub fn check(&self, op: &SyncOp) -> Result<(), ServerError> {
        if let Some((scope, creator)) = self.rows.get(&(op.table.clone(), op.row_id)) {
            if !self.sees(*scope, *creator) {
                return Err(refused(
                    op,
                    format!(
                        "op {}: {} {} is outside your view (you see your own and your team's contacts, what hangs off them, and what you made about no contact); nothing was written",
                        op.op_id, op.table, op.row_id
                    ),
                ));
            }
        }
        let Some(parent_field) = crm_protocol::schema::parent_field(&op.table) else {
            return Ok(());
        };
        let Some(parent) = parse_uuid(op.fields.get(parent_field)) else {
            // Not named by this op (or cleared: a task about no contact).
            return Ok(());
        };
        let ok = if op.table == "payments" {
            self.policies
                .get(&parent)
                .is_some_and(|(scope, creator)| self.sees(*scope, *creator))
        } else {
            self.contact_owner
                .get(&parent)
                .is_some_and(|o| self.sees.contains(o))
        };
        if ok {
            return Ok(());
        }
        let what = if op.table == "payments" {
            "policy"
        } else {
            "contact"
        };
        Err(refused(
            op,
            format!(
                "op {}: {} {} names {what} {parent}, which is not on the server or not in your view (yours or your team's); nothing was written",
                op.op_id, op.table, op.row_id
            ),
        ))
    }

    /// After an op is merged: record the row's new scope (and, for a
    /// contact or a policy, what hangs off it now depends on).
    pub fn record(&mut self, table: &str, id: Uuid, row: &RowData, creator: Uuid, users: &Users) {
        let (scope, owner) = placement(table, id, row, creator, users, |p| {
            self.policies.get(&p).and_then(|(s, _)| *s)
        });
        if let Some(owner) = owner {
            self.contact_owner.insert(id, owner);
        }
        if table == "policies" {
            self.policies.insert(id, (scope, creator));
        }
        self.rows.insert((table.to_string(), id), (scope, creator));
    }
}

fn refused(op: &SyncOp, message: String) -> ServerError {
    ServerError::Client {
        status: StatusCode::FORBIDDEN,
        code: "not_visible",
        message,
        op_id: Some(op.op_id),
    }
}
