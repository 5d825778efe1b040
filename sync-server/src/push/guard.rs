//! The pushing agent's view over what a batch touches, loaded (and its
//! parents locked) inside the push's transaction so the merge can keep the
//! agent inside it.

use std::collections::{HashMap, HashSet};

use crate::sql::{self, Postgres, Transaction};
use crm_protocol::SyncOp;
use uuid::Uuid;

use super::Loaded;
use crate::auth::Device;
use crate::error::ApiResult;
use crate::view::{parse_uuid, Guard, Users};

/// The pushing agent's view over what the batch touches: the touched rows'
/// scopes and creators, the policies payments name, and the owners of every
/// contact involved. Parents are locked `FOR SHARE`, so a contact cannot
/// change hands between this check and the commit.
pub(super) async fn guard_for(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    ops: &[&SyncOp],
    before: &HashMap<(String, Uuid), Loaded>,
    users: &Users,
) -> ApiResult<Guard> {
    let t = dev.tenant_id;
    let mut rows = HashMap::new();
    let mut contacts: HashSet<Uuid> = HashSet::new();
    let mut policy_ids: HashSet<Uuid> = HashSet::new();
    let mut contact_owner = HashMap::new();
    for ((tbl, id), l) in before {
        rows.insert((tbl.clone(), *id), (l.scope, l.creator));
        if let Some(s) = l.scope {
            contacts.insert(s);
        }
        match tbl.as_str() {
            "contacts" => {
                if let Some(o) = l.owner {
                    contact_owner.insert(*id, o);
                }
            }
            "payments" => policy_ids.extend(parse_uuid(l.data.fields.get("policy_id"))),
            _ => {}
        }
    }
    for op in ops {
        match op.table.as_str() {
            "payments" => policy_ids.extend(parse_uuid(op.fields.get("policy_id"))),
            "policies" | "tasks" | "activities" => {
                contacts.extend(parse_uuid(op.fields.get("contact_id")))
            }
            _ => {}
        }
    }
    let mut policies = HashMap::new();
    if !policy_ids.is_empty() {
        let ids: Vec<Uuid> = policy_ids.into_iter().collect();
        let found: Vec<(Uuid, Option<Uuid>, Uuid)> = sql::query_as(
            "SELECT id, scope_contact, creator FROM rows \
             WHERE tenant_id = $1 AND tbl = 'policies' AND id = ANY($2) AND seq > 0 \
             ORDER BY id FOR SHARE",
        )
        .bind(t)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for (id, scope, creator) in found {
            contacts.extend(scope);
            policies.insert(id, (scope, creator));
        }
    }
    let wanted: Vec<Uuid> = contacts
        .into_iter()
        .filter(|c| !contact_owner.contains_key(c))
        .collect();
    if !wanted.is_empty() {
        let found: Vec<(Uuid, Option<Uuid>)> = sql::query_as(
            "SELECT id, owner_user FROM rows \
             WHERE tenant_id = $1 AND tbl = 'contacts' AND id = ANY($2) AND seq > 0 \
             ORDER BY id FOR SHARE",
        )
        .bind(t)
        .bind(&wanted)
        .fetch_all(&mut **tx)
        .await?;
        contact_owner.extend(found.into_iter().filter_map(|(id, o)| o.map(|o| (id, o))));
    }
    Ok(Guard::new(
        dev.user_id,
        users,
        contact_owner,
        policies,
        rows,
    ))
}
