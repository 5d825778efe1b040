//! Who is looking: what their role lets them see. Admins (and the owner of
//! a profile never signed in to an agency) see every document; anyone
//! else sees published documents whose audience names everyone, their
//! role or their team. The same rule filters listing (in SQL) and search
//! (inside the index query), and the sync server applies it before a
//! document reaches a device at all.

use crm_core::{AccountRole, Store};

use crate::model::{DocStatus, DocsError, Document, Result};

/// The person a read is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// Sees every document, drafts and retired ones too.
    pub admin: bool,
    /// The audience terms that include them: `everyone`, `role:R`,
    /// `team:T`.
    pub terms: Vec<String>,
}

impl Viewer {
    /// The profile's own user.
    pub fn of(store: &Store) -> Result<Viewer> {
        let role = store.account_role()?;
        let terms =
            crm_protocol::documents::viewer_terms(role.as_str(), store.account_team()?.as_deref());
        Ok(Viewer {
            admin: matches!(role, AccountRole::Owner | AccountRole::Admin),
            terms,
        })
    }

    /// An agent in `team` (for tests and previews of an audience).
    pub fn agent(team: Option<&str>) -> Viewer {
        Viewer {
            admin: false,
            terms: crm_protocol::documents::viewer_terms("agent", team),
        }
    }

    /// Whether they may see `doc`.
    pub fn may_see(&self, doc: &Document) -> bool {
        self.admin
            || (doc.status == DocStatus::Published
                && doc.audience.iter().any(|a| self.terms.contains(a)))
    }

    /// Whether they may search `audience` (published documents only).
    pub fn may_search(&self, audience: &[String]) -> bool {
        self.admin || audience.iter().any(|a| self.terms.contains(a))
    }

    /// An SQL condition on `documents_docs d` for [`Viewer::may_see`], and
    /// its parameter (`?3`, the terms as JSON, or NULL for an admin).
    pub(crate) fn sql_filter(&self) -> (&'static str, Option<String>) {
        (
            "(?3 IS NULL OR (d.status = 'published' AND EXISTS (SELECT 1 FROM json_each(d.audience) a \
             WHERE a.value IN (SELECT value FROM json_each(?3)))))",
            (!self.admin).then(|| serde_json::to_string(&self.terms).unwrap_or_default()),
        )
    }
}

/// An audience entry: `everyone`, `role:R` or `team:T` (the rule the
/// server applies too).
pub fn check_audience(a: &str) -> Result<()> {
    match crm_protocol::documents::audience_error(a) {
        None => Ok(()),
        Some(reason) => Err(DocsError::Invalid {
            field: "--audience",
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_are_checked() {
        for ok in ["everyone", "role:agent", "team:North Leeds"] {
            check_audience(ok).unwrap();
        }
        for bad in ["all", "team:", "role:Agent", "group:x", "team: x"] {
            assert!(check_audience(bad).is_err(), "{bad}");
        }
    }
}
