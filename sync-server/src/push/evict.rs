//! What a push's visibility changes cost those who lose sight of rows:
//! evictions, recorded under the tenant's lock in the push's transaction,
//! that their devices apply at the next pull.

use uuid::Uuid;

use super::Written;
use crate::error::ApiResult;
use crate::sql::{self, Postgres, Transaction};

/// A child that moved contact: (table, row, old contact, new contact,
/// creator).
pub(super) type ScopeMove = (String, Uuid, Uuid, Option<Uuid>, Uuid);

/// Agents who saw the old owner's contacts but not the new owner's lose
/// the contact and everything hanging off it.
pub(super) async fn owner_moves(
    tx: &mut Transaction<'static, Postgres>,
    t: Uuid,
    moves: &[(Uuid, Uuid, Uuid)],
    written: &mut Written,
) -> ApiResult<()> {
    for (contact, old_owner, new_owner) in moves {
        let evicted: Vec<(Uuid, i64)> = sql::query_as(
            "INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) \
             SELECT $1, u.id, r.tbl, r.id, nextval('change_seq') \
             FROM users u JOIN rows r ON r.tenant_id = $1 AND r.scope_contact = $2 \
             WHERE u.tenant_id = $1 AND u.role = 'agent' \
               AND (u.id = $3 OR (u.team IS NOT NULL AND u.team = (SELECT team FROM users WHERE tenant_id = $1 AND id = $3))) \
               AND NOT (u.id = $4 OR (u.team IS NOT NULL AND u.team IS NOT DISTINCT FROM (SELECT team FROM users WHERE tenant_id = $1 AND id = $4))) \
             RETURNING user_id, seq",
        )
        .bind(t)
        .bind(contact)
        .bind(old_owner)
        .bind(new_owner)
        .fetch_all(&mut **tx)
        .await?;
        written.evicted_by(evicted);
    }
    Ok(())
}

/// An agent who created a contact for an owner outside their view no
/// longer sees it: their devices drop it (and anything already hanging
/// off it) at the next pull.
pub(super) async fn given_away(
    tx: &mut Transaction<'static, Postgres>,
    t: Uuid,
    user: Uuid,
    given_away: &[Uuid],
    written: &mut Written,
) -> ApiResult<()> {
    if given_away.is_empty() {
        return Ok(());
    }
    let evicted: Vec<(Uuid, i64)> = sql::query_as(
        "INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) \
         SELECT $1, $2, r.tbl, r.id, nextval('change_seq') FROM rows r \
         WHERE r.tenant_id = $1 AND r.scope_contact = ANY($3) \
         RETURNING user_id, seq",
    )
    .bind(t)
    .bind(user)
    .bind(given_away)
    .fetch_all(&mut **tx)
    .await?;
    written.evicted_by(evicted);
    Ok(())
}

/// A child that moved to another contact: agents who saw the old contact
/// but not the new one lose it (and a policy's payments with it). A task
/// moved to no contact stays with its creator.
pub(super) async fn scope_moves(
    tx: &mut Transaction<'static, Postgres>,
    t: Uuid,
    moves: &[ScopeMove],
    written: &mut Written,
) -> ApiResult<()> {
    for (tbl, id, old_scope, new_scope, creator) in moves {
        let mut rows = vec![(tbl.clone(), *id)];
        if tbl == "policies" {
            let pays: Vec<(Uuid, i64)> = sql::query_as(
                "UPDATE rows SET scope_contact = $3, seq = nextval('change_seq') \
                 WHERE tenant_id = $1 AND tbl = 'payments' AND fields->>'policy_id' = $2 RETURNING id, seq",
            )
            .bind(t)
            .bind(id.to_string())
            .bind(new_scope)
            .fetch_all(&mut **tx)
            .await?;
            for (p, seq) in pays {
                written.took(seq);
                rows.push(("payments".to_string(), p));
            }
        }
        let (rt, ri): (Vec<String>, Vec<Uuid>) = rows.into_iter().unzip();
        let evicted: Vec<(Uuid, i64)> = sql::query_as(
            "WITH old_o AS (SELECT owner_user AS o FROM rows WHERE tenant_id = $1 AND tbl = 'contacts' AND id = $2), \
                  new_o AS (SELECT owner_user AS o FROM rows WHERE tenant_id = $1 AND tbl = 'contacts' AND id = $3), \
                  sees AS (SELECT u.id, \
                     EXISTS (SELECT 1 FROM old_o, users ou WHERE ou.tenant_id = $1 AND ou.id = old_o.o \
                             AND (u.id = ou.id OR (u.team IS NOT NULL AND u.team = ou.team))) AS saw, \
                     EXISTS (SELECT 1 FROM new_o, users nu WHERE nu.tenant_id = $1 AND nu.id = new_o.o \
                             AND (u.id = nu.id OR (u.team IS NOT NULL AND u.team = nu.team))) AS sees_now \
                   FROM users u WHERE u.tenant_id = $1 AND u.role = 'agent') \
             INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) \
             SELECT $1, s.id, k.tbl, k.id, nextval('change_seq') \
             FROM sees s, unnest($4::text[], $5::uuid[]) AS k(tbl, id) \
             WHERE s.saw AND NOT s.sees_now AND NOT ($3::uuid IS NULL AND s.id = $6) \
             RETURNING user_id, seq",
        )
        .bind(t)
        .bind(old_scope)
        .bind(new_scope)
        .bind(&rt)
        .bind(&ri)
        .bind(creator)
        .fetch_all(&mut **tx)
        .await?;
        written.evicted_by(evicted);
    }
    Ok(())
}
