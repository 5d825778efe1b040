//! Who is looking, and which staff records they may see. Staff records are
//! sensitive: admins see everyone; a manager sees the people they manage
//! (and theirs, down the line); a member of staff sees only their own
//! record; anyone else (an insurance agent) sees none of it. The sync
//! server applies the same rule before anything reaches a device; this
//! applies it again on the device (a profile may hold rows from before a
//! change of role).

use std::collections::HashSet;

use crm_core::{AccountRole, Store};

use crate::error::{ComplianceError, Result};
use crate::schema::installed;

/// The person using the profile, as compliance sees them.
#[derive(Clone, Debug)]
pub struct Access {
    /// Their user id (`local` on a profile never signed in).
    pub user_id: String,
    /// An admin (or the owner of a one-person profile).
    pub admin: bool,
    /// Their own staff record, when one is linked to their account.
    pub staff_id: Option<String>,
    /// The staff they may see (`None`: everyone, for admins).
    visible: Option<HashSet<String>>,
    /// The staff they manage (their own record excluded).
    managed: HashSet<String>,
}

impl Access {
    /// Work out who is using `store`.
    pub fn of(store: &Store) -> Result<Access> {
        let admin = matches!(
            store.account_role()?,
            AccountRole::Owner | AccountRole::Admin
        );
        let user_id = match store.user_actor() {
            crm_core::Actor::User { user }
            | crm_core::Actor::Plugin { user, .. }
            | crm_core::Actor::Import { user, .. } => user,
            crm_core::Actor::Sync { .. } => store.identity().user_id.clone(),
        };
        if !installed(store)? {
            return Ok(Access {
                user_id,
                admin,
                staff_id: None,
                visible: (!admin).then(HashSet::new),
                managed: HashSet::new(),
            });
        }
        let (staff_id, managed) = store.feature_read(|c| {
            let staff_id: Option<String> = c
                .query_row(
                    "SELECT id FROM compliance_staff WHERE user_id = ?1 ORDER BY created_at LIMIT 1",
                    [&user_id],
                    |r| r.get(0),
                )
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
            let mut managed = HashSet::new();
            if let Some(me) = &staff_id {
                // Down the line: the people I manage and the people they
                // manage (a loop in the data ends the walk, UNION dedups).
                let mut st = c.prepare(
                    "WITH RECURSIVE down(id) AS ( \
                       SELECT id FROM compliance_staff WHERE manager_id = ?1 \
                       UNION SELECT s.id FROM compliance_staff s JOIN down ON s.manager_id = down.id) \
                     SELECT id FROM down WHERE id <> ?1",
                )?;
                for id in st.query_map([me], |r| r.get::<_, String>(0))? {
                    managed.insert(id?);
                }
            }
            Ok((staff_id, managed))
        })?;
        let visible = (!admin).then(|| {
            let mut v = managed.clone();
            v.extend(staff_id.clone());
            v
        });
        Ok(Access {
            user_id,
            admin,
            staff_id,
            visible,
            managed,
        })
    }

    /// Whether they may see `staff_id`'s record.
    pub fn may_see(&self, staff_id: &str) -> bool {
        self.visible.as_ref().is_none_or(|v| v.contains(staff_id))
    }

    /// Whether they may change `staff_id`'s record (admins; managers for
    /// the people they manage, not for themselves).
    pub fn may_edit(&self, staff_id: &str) -> bool {
        self.admin || self.managed.contains(staff_id)
    }

    /// Whether they manage anyone.
    pub fn is_manager(&self) -> bool {
        !self.managed.is_empty()
    }

    /// Whether they see any staff record at all.
    pub fn sees_staff(&self) -> bool {
        self.admin || self.staff_id.is_some() || self.is_manager()
    }

    /// Refuse unless they may see `staff_id`'s record. The refusal reads as
    /// "no such record": a record one may not see is not confirmed to exist.
    pub fn check_see(&self, staff_id: &str) -> Result<()> {
        if self.may_see(staff_id) {
            Ok(())
        } else {
            Err(not_found(staff_id))
        }
    }

    /// Refuse unless they may change `staff_id`'s record.
    pub fn check_edit(&self, staff_id: &str, what: &str) -> Result<()> {
        self.check_see(staff_id)?;
        if self.may_edit(staff_id) {
            Ok(())
        } else {
            Err(ComplianceError::Forbidden(format!(
                "only an admin or this person's manager can {what}"
            )))
        }
    }

    /// Refuse unless an admin.
    pub fn check_admin(&self, what: &str) -> Result<()> {
        if self.admin {
            Ok(())
        } else {
            Err(ComplianceError::Forbidden(format!(
                "only an admin can {what}: ask an admin of your organisation"
            )))
        }
    }

    /// Refuse unless an admin or a manager.
    pub fn check_admin_or_manager(&self, what: &str) -> Result<()> {
        if self.admin || self.is_manager() {
            Ok(())
        } else {
            Err(ComplianceError::Forbidden(format!(
                "only an admin or a manager can {what}"
            )))
        }
    }
}

/// The error for a staff record that does not exist (or may not be seen).
pub(crate) fn not_found(staff_id: &str) -> ComplianceError {
    ComplianceError::NotFound {
        what: "staff member",
        id: staff_id.to_string(),
        hint: "see `crm staff list`",
    }
}
