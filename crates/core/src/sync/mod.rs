//! The local half of sync: reading and acknowledging the outbox, merging
//! changes received from the server, evictions, and the sync state.
//!
//! No network here (the core stays free of HTTP and async runtimes; the
//! `crm-sync-client` crate does the talking). What arrives from the server
//! is merged with the same per-field last-writer-wins rule the server uses
//! (compare each field's clock; `deleted` only ever becomes true), written
//! straight to the synced tables **without** an outbox entry (it came from
//! the server, sending it back would echo forever), audited with the actor
//! `sync`, and the page's cursor is saved in the same transaction, so a
//! crash never skips or double-counts a page.
//!
//! The device token lives in the OS keyring when the profile's database key
//! does (same store, its own service name); for passphrase profiles (no
//! keyring answers) it is kept inside the encrypted database, where it is
//! exactly as protected as the data it gives access to.

use std::collections::BTreeMap;
use std::sync::Arc;

use crm_protocol::{Hlc, SyncOp};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{CoreError, Result};
use crate::keys::{KeySource, ProfileMeta};
pub use crate::pulled::{ApplyReport, HeldRow};
use crate::store::{now_text, Store, Table};

/// Keyring service under which device tokens are stored.
pub const TOKEN_KEYRING_SERVICE: &str = "insurance-crm.device-token";

const ALL_TABLES: [Table; 5] = [
    Table::Contacts,
    Table::Policies,
    Table::Payments,
    Table::Tasks,
    Table::Activities,
];

pub(crate) fn table_named(name: &str) -> Option<Table> {
    ALL_TABLES.into_iter().find(|t| t.name() == name)
}

/// What `crm sync status` shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncStatus {
    /// The server this profile is signed in to.
    pub server: Option<String>,
    /// The signed-in account's email.
    pub email: Option<String>,
    /// The pull cursor.
    pub cursor: i64,
    /// Ops waiting to be pushed.
    pub pending: i64,
    /// Ops the server refused (kept aside, never blocking the queue).
    pub quarantined: i64,
    /// Pulled rows this device could not store yet (see
    /// [`Store::held_rows`]); tried again after every page.
    pub held: i64,
    /// When the last sync finished (RFC 3339).
    pub last_success: Option<String>,
    /// The last sync error, cleared by the next success.
    pub last_error: Option<String>,
    /// Signed in with a one-time password: the server syncs nothing until
    /// its owner chooses their own.
    pub must_change_password: bool,
}

/// Who the person using a profile is to their agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Not signed in to a server: a one-person profile, its own admin.
    Owner,
    /// An agency admin.
    Admin,
    /// An agent.
    Agent,
}

impl AccountRole {
    /// The role named by the server; an unknown name is an agent's.
    pub fn from_server(role: &str) -> Self {
        match role {
            "admin" => AccountRole::Admin,
            _ => AccountRole::Agent,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Owner => "owner",
            AccountRole::Admin => "admin",
            AccountRole::Agent => "agent",
        }
    }
}

pub(crate) fn get_meta(conn: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set_meta(conn: &rusqlite::Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, v],
        )?,
        None => conn.execute("DELETE FROM meta WHERE key = ?1", [key])?,
    };
    Ok(())
}

mod outbox;
mod set_aside;
pub(crate) mod writers;

pub use set_aside::SetAside;

impl Store {
    /// This profile's sync state.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let c = self.conn();
        let quarantined: i64 = c.query_row(
            "SELECT count(*) FROM meta WHERE key LIKE 'sync.quarantine.%'",
            [],
            |r| r.get(0),
        )?;
        Ok(SyncStatus {
            server: get_meta(c, "sync.server")?,
            email: get_meta(c, "sync.email")?,
            cursor: get_meta(c, "sync.cursor")?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            pending: self.outbox_len()?,
            quarantined,
            held: c.query_row("SELECT count(*) FROM sync_held", [], |r| r.get(0))?,
            last_success: get_meta(c, "sync.last_success")?,
            last_error: get_meta(c, "sync.last_error")?,
            must_change_password: get_meta(c, "sync.must_change_password")?.is_some(),
        })
    }

    /// Record whether the server waits for this account to choose its own
    /// password (signed in with a one-time password) before it syncs.
    pub fn set_must_change_password(&mut self, on: bool) -> Result<()> {
        set_meta(self.conn(), "sync.must_change_password", on.then_some("1"))
    }

    /// What the person using this profile may do: a profile never signed in
    /// to a server is its owner's own; a signed-in profile has the role the
    /// server gave its account at login. A signed-in profile whose role was
    /// never recorded (signed in by an older version) counts as an agent's
    /// until the next sign-in: deny by default.
    pub fn account_role(&self) -> Result<AccountRole> {
        let c = self.conn();
        if get_meta(c, "sync.tenant")?.is_none() {
            return Ok(AccountRole::Owner);
        }
        Ok(get_meta(c, "sync.role")?
            .map(|r| AccountRole::from_server(&r))
            .unwrap_or(AccountRole::Agent))
    }

    /// The team the server gave this profile's account at sign-in, if any
    /// (what audiences of documents and plugins name).
    pub fn account_team(&self) -> Result<Option<String>> {
        get_meta(self.conn(), "sync.team")
    }

    /// Record the team the server says this account is in now (it answers
    /// with it when the documents library is read; an admin may move a
    /// person between teams at any time).
    pub fn set_account_team(&mut self, team: Option<&str>) -> Result<()> {
        if self.account_team()?.as_deref() == team {
            return Ok(());
        }
        set_meta(self.conn(), "sync.team", team)
    }

    /// Refuse `what` unless this profile's user may administer the agency's
    /// set-up (plugins, trusted publishers): its owner or an admin.
    pub fn require_admin(&self, what: &str) -> Result<()> {
        // The tenant's catalog is an admin's decision, applied here.
        if self.catalog_authority {
            return Ok(());
        }
        match self.account_role()? {
            AccountRole::Owner | AccountRole::Admin => Ok(()),
            AccountRole::Agent => Err(CoreError::Forbidden(format!(
                "only an admin can {what}: this profile is signed in as an agent of its agency. \
                 Ask an admin, or sign in again if your role has just changed"
            ))),
        }
    }

    /// Record the end of a sync attempt: success clears the last error.
    pub fn record_sync_result(&mut self, error: Option<&str>) -> Result<()> {
        let (conn, _, _) = self.sync_parts();
        match error {
            None => {
                set_meta(conn, "sync.last_success", Some(&now_text()))?;
                set_meta(conn, "sync.last_error", None)?;
            }
            Some(e) => set_meta(
                conn,
                "sync.last_error",
                Some(&format!("{} {e}", now_text())),
            )?,
        }
        Ok(())
    }

    /// Bind this profile to a server account after a login: the replica
    /// takes the server's tenant (rows made before the first login are
    /// relabelled, their outbox ops are pushed as the tenant's) and user.
    /// A profile already bound to another tenant is refused untouched.
    /// `role` is the account's role as the server reported it at login
    /// (`admin` or `agent`; anything else is kept as an agent's).
    pub fn bind_to_server(
        &mut self,
        server: &str,
        email: &str,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> Result<()> {
        let role = AccountRole::from_server(role);
        let (conn, _, identity) = self.sync_parts();
        if let Some(bound) = get_meta(conn, "sync.tenant")? {
            if bound != tenant_id.to_string() {
                return Err(CoreError::Invalid(crate::ValidationError::new(
                    "login",
                    format!("this profile belongs to tenant {bound}; the account is in another tenant, which needs a profile of its own"),
                )));
            }
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let tenant = tenant_id.to_string();
        for t in ALL_TABLES {
            tx.execute(
                &format!(
                    "UPDATE {} SET tenant_id = ?1 WHERE tenant_id <> ?1",
                    t.name()
                ),
                [&tenant],
            )?;
        }
        if role != AccountRole::Admin {
            reset_plugin_settings(&tx, user_id)?;
        }
        for (k, v) in [
            ("tenant_id", tenant.clone()),
            ("user_id", user_id.to_string()),
            ("sync.tenant", tenant.clone()),
            ("sync.server", server.to_string()),
            ("sync.email", email.to_string()),
            ("sync.role", role.as_str().to_string()),
        ] {
            set_meta(&tx, k, Some(&v))?;
        }
        // What the catalog applies to depends on who signed in: read it
        // whole at the next sync.
        set_meta(&tx, "catalog.revision", None)?;
        set_meta(&tx, "sync.must_change_password", None)?;
        tx.commit()?;
        identity.tenant_id = tenant_id;
        identity.user_id = user_id.to_string();
        Ok(())
    }

    /// Keep the device token: in the OS keyring when the profile's key is
    /// there, else inside the encrypted database (see the module docs).
    pub fn save_device_token(&mut self, profile_dir: &std::path::Path, token: &str) -> Result<()> {
        let meta = ProfileMeta::load(profile_dir)?;
        let (conn, _, _) = self.sync_parts();
        match &meta.key {
            KeySource::Keyring { user } => {
                token_entry(user)?
                    .set_password(token)
                    .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
                set_meta(conn, "sync.token_store", Some("keyring"))?;
                set_meta(conn, "sync.device_token", None)?;
            }
            KeySource::Passphrase(_) => {
                set_meta(conn, "sync.token_store", Some("database"))?;
                set_meta(conn, "sync.device_token", Some(token))?;
            }
        }
        Ok(())
    }

    /// The device token saved by [`Store::save_device_token`], if signed in.
    pub fn device_token(&self, profile_dir: &std::path::Path) -> Result<Option<Zeroizing<String>>> {
        match get_meta(self.conn(), "sync.token_store")?.as_deref() {
            Some("keyring") => {
                let meta = ProfileMeta::load(profile_dir)?;
                let KeySource::Keyring { user } = &meta.key else {
                    return Ok(None);
                };
                match token_entry(user)?.get_password() {
                    Ok(t) => Ok(Some(Zeroizing::new(t))),
                    Err(keyring_core::Error::NoEntry) => Ok(None),
                    Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
                }
            }
            Some(_) => Ok(get_meta(self.conn(), "sync.device_token")?.map(Zeroizing::new)),
            None => Ok(None),
        }
    }
}

fn token_entry(user: &str) -> Result<keyring_core::Entry> {
    let store: Arc<keyring_core::CredentialStore> = dbus_secret_service_keyring_store::Store::new()
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
    store
        .build(TOKEN_KEYRING_SERVICE, user, None)
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))
}

/// Governed settings (what plugins may do, and where their AI requests
/// go) are an admin's: a profile set up before its first sign-in (its
/// owner's, who may change them) that signs in to an agent's account drops
/// them back to the defaults, each audited, so an agent cannot carry a
/// looser plugin policy in from before the sign-in.
fn reset_plugin_settings(tx: &rusqlite::Transaction<'_>, user: Uuid) -> Result<()> {
    let mut set: Vec<(String, String)> = Vec::new();
    for group in crate::settings::GOVERNED {
        let prefix = format!("setting.{group}");
        let mut st =
            tx.prepare("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1")?;
        let rows = st.query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            set.push(row?);
        }
    }
    let actor = crate::store::Actor::User {
        user: user.to_string(),
    }
    .to_json();
    for (key, value) in set {
        tx.execute("DELETE FROM meta WHERE key = ?1", [&key])?;
        let name = &key["setting.".len()..];
        Store::audit_local(
            tx,
            &actor,
            "settings",
            name,
            "setting_reset",
            serde_json::json!({ name: [
                crate::settings::audited(name, Some(&value)),
                crate::settings::audited(name, None)
            ] }),
        )?;
    }
    Ok(())
}

/// Clocks as the server sends them (`_` stands for every field not listed)
/// to one entry per written field (the zero clock means never written).
pub(crate) fn expand_clocks(
    fields: &[&str],
    clocks: &BTreeMap<String, Hlc>,
) -> BTreeMap<String, Hlc> {
    let mut out = BTreeMap::new();
    if let Some(common) = clocks.get("_") {
        for f in fields.iter().chain([&crm_protocol::schema::DELETED]) {
            out.insert((*f).to_string(), *common);
        }
    }
    for (k, v) in clocks {
        if k != "_" {
            out.insert(k.clone(), *v);
        }
    }
    out.retain(|_, h| *h != Hlc::ZERO);
    out
}

/// A row's clocks as the write path keeps them: `_` is the clock most of
/// its fields share, and only fields with another clock (or none: the
/// oldest) are listed. Same meaning as one entry per field, a fraction of
/// the bytes for the common row written in one go.
pub(crate) fn compact_clocks(
    fields: &[&str],
    clocks: &BTreeMap<String, Hlc>,
) -> Map<String, Value> {
    let of = |f: &str| clocks.get(f).copied().unwrap_or(Hlc::ZERO);
    let mut counts: BTreeMap<Hlc, usize> = BTreeMap::new();
    for f in fields {
        *counts.entry(of(f)).or_default() += 1;
    }
    let common = counts
        .iter()
        .max_by_key(|(h, n)| (**n, **h))
        .map(|(h, _)| *h)
        .unwrap_or(Hlc::ZERO);
    let mut out = Map::new();
    out.insert("_".into(), Value::String(common.to_string()));
    for f in fields {
        if of(f) != common {
            out.insert((*f).to_string(), Value::String(of(f).to_string()));
        }
    }
    // Clocks of map entries (`custom.score`) are kept as they are.
    for (k, h) in clocks {
        if k != crm_protocol::schema::DELETED && !fields.contains(&k.as_str()) {
            out.insert(k.clone(), Value::String(h.to_string()));
        }
    }
    // Never let `deleted` fall back to `_`: absent means never deleted.
    let d = clocks
        .get(crm_protocol::schema::DELETED)
        .copied()
        .unwrap_or(Hlc::ZERO);
    out.insert(
        crm_protocol::schema::DELETED.into(),
        Value::String(d.to_string()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch_store as store;
    use crate::ContactDraft;
    use crm_protocol::wire::Eviction;

    /// A new row is written once: its audit entry and its op refer to it.
    /// If the row leaves the device before its op is sent, the op goes out
    /// empty, so the server refuses it and it is set aside, not lost silently.
    #[test]
    fn a_new_rows_op_and_audit_entry_refer_to_the_row() {
        let (_d, mut s) = store();
        let mut draft = ContactDraft::default();
        draft.set("first_name", "Ann").expect("draft");
        let c = s.create_contact(&draft).expect("create");
        let stored: (String, String) = s
            .conn()
            .query_row(
                "SELECT a.changes, o.fields FROM audit_log a, sync_outbox o \
                 WHERE a.row_id = ?1 AND o.row_id = ?1",
                [c.id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("stored");
        assert_eq!(stored, ("null".to_string(), "null".to_string()));
        assert_eq!(
            s.outbox_batch(1).expect("batch")[0].fields["first_name"],
            "Ann"
        );
        s.apply_remote(
            &[],
            &[Eviction {
                table: "contacts".into(),
                row_id: c.id,
            }],
            1,
        )
        .expect("evict");
        let ops = s.outbox_batch(1).expect("batch");
        assert_eq!(ops.len(), 1);
        assert!(ops[0].fields.is_empty());
    }

    #[test]
    fn a_refused_op_is_set_aside_and_the_queue_moves_on() {
        let (_d, mut s) = store();
        let mut draft = ContactDraft::default();
        draft.set("first_name", "Ann").expect("draft");
        s.create_contact(&draft).expect("create");
        draft.set("first_name", "Bob").expect("draft");
        s.create_contact(&draft).expect("create");
        let ops = s.outbox_batch(10).expect("batch");
        assert_eq!(ops.len(), 2);
        s.outbox_quarantine(ops[0].op_id, "unknown_field: test")
            .expect("quarantine");
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (1, 1));
        assert_eq!(s.outbox_batch(10).expect("batch")[0].op_id, ops[1].op_id);
    }

    /// A set-aside change is listed with its reason and values; sent again
    /// it is queued as it was (same op id, same time, same values); given
    /// up it is gone. Both leave an audit entry; an unknown id is refused.
    #[test]
    fn a_set_aside_change_is_listed_retried_or_discarded() {
        let (_d, mut s) = store();
        contacts(&mut s, &["Ann", "Bob"]);
        let ops = s.outbox_batch(10).expect("batch");
        s.outbox_quarantine(ops[0].op_id, "unknown_field: preferred_contact_method")
            .expect("quarantine");
        s.outbox_quarantine(ops[1].op_id, "not_visible: op 2")
            .expect("quarantine");
        let listed = s.set_aside().expect("list");
        assert_eq!(listed.len(), 2);
        let first = listed
            .iter()
            .find(|a| a.op_id == ops[0].op_id)
            .expect("listed");
        assert_eq!(first.table, "contacts");
        assert_eq!(first.row_id, ops[0].row_id.to_string());
        assert!(first.reason.contains("preferred_contact_method"));
        assert_eq!(first.fields.get("first_name"), Some(&Value::from("Ann")));

        s.retry_set_aside(ops[0].op_id).expect("retry");
        let queued = s.outbox_batch(10).expect("batch");
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].op_id, ops[0].op_id);
        assert_eq!(queued[0].hlc, ops[0].hlc, "its original time");
        assert_eq!(queued[0].fields, ops[0].fields);
        s.discard_set_aside(ops[1].op_id).expect("discard");
        assert!(s.set_aside().expect("list").is_empty());
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (1, 0));
        let audited: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM audit_log WHERE action IN ('sync.retry', 'sync.discard')",
                [],
                |r| r.get(0),
            )
            .expect("audit");
        assert_eq!(audited, 2);
        assert!(matches!(
            s.retry_set_aside(ops[1].op_id),
            Err(CoreError::NotFound { .. })
        ));
    }

    /// The op ids the outbox hands out first.
    fn op_ids(s: &Store, limit: usize) -> Vec<Uuid> {
        s.outbox_batch(limit)
            .expect("batch")
            .iter()
            .map(|o| o.op_id)
            .collect()
    }

    fn contacts(s: &mut Store, names: &[&str]) {
        for n in names {
            let mut draft = ContactDraft::default();
            draft.set("first_name", n).expect("draft");
            s.create_contact(&draft).expect("create");
        }
    }

    /// Acks find their ops wherever they are in the queue (the outbox has
    /// no index by op id): out of order, a gap left, an id never queued or
    /// acknowledged twice, and the queue's order kept.
    #[test]
    fn acks_remove_exactly_their_ops_wherever_they_are_queued() {
        let (_d, mut s) = store();
        contacts(&mut s, &["A", "B", "C", "D", "E"]);
        let ops = s.outbox_batch(10).expect("batch");
        assert_eq!(ops.len(), 5);
        s.outbox_ack(&[ops[3].op_id, ops[0].op_id, Uuid::now_v7()])
            .expect("ack");
        let left: Vec<Uuid> = op_ids(&s, 10);
        assert_eq!(left, vec![ops[1].op_id, ops[2].op_id, ops[4].op_id]);
        // Again, with one already gone: only the other goes.
        s.outbox_ack(&[ops[0].op_id, ops[4].op_id]).expect("ack");
        let left: Vec<Uuid> = op_ids(&s, 10);
        assert_eq!(left, vec![ops[1].op_id, ops[2].op_id]);
        // A set-aside from the middle of what is left.
        contacts(&mut s, &["F"]);
        s.outbox_quarantine(ops[2].op_id, "test")
            .expect("quarantine");
        s.outbox_quarantine(Uuid::now_v7(), "not queued")
            .expect("no-op");
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (2, 1));
        assert_eq!(s.outbox_batch(10).expect("batch")[0].op_id, ops[1].op_id);
        s.outbox_ack(&[]).expect("nothing to ack");
        assert_eq!(s.outbox_len().expect("len"), 2);
    }

    /// Migration 7 rebuilds the outbox without its op-id index and keeps
    /// every queued op, in order, with its id.
    #[test]
    fn migration_7_keeps_the_queue_and_drops_the_op_id_index() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        let before: Vec<Uuid>;
        {
            let mut s = Store::open_path(&path, None, true).expect("store");
            contacts(&mut s, &["A", "B", "C"]);
            before = op_ids(&s, 10);
            crate::migrations::undo_after(s.conn(), 6);
            // Back to schema 6: the outbox as it was made then.
            s.conn()
                .execute_batch(
                    "CREATE TABLE old_outbox (seq INTEGER PRIMARY KEY, op_id TEXT NOT NULL UNIQUE, \
                     table_name TEXT NOT NULL, row_id TEXT NOT NULL, hlc TEXT NOT NULL, \
                     fields TEXT NOT NULL) STRICT; \
                     INSERT INTO old_outbox SELECT * FROM sync_outbox; \
                     DROP TABLE sync_outbox; \
                     ALTER TABLE old_outbox RENAME TO sync_outbox; \
                     PRAGMA user_version = 6;",
                )
                .expect("downgrade");
        }
        let indexes = |s: &Store| -> i64 {
            s.conn()
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sync_outbox'",
                    [],
                    |r| r.get(0),
                )
                .expect("count")
        };
        let mut s = Store::open_path(&path, None, false).expect("reopen");
        assert_eq!(indexes(&s), 0, "the op-id index is gone");
        let after: Vec<Uuid> = op_ids(&s, 10);
        assert_eq!(after, before);
        s.outbox_ack(&[before[1]]).expect("ack");
        assert_eq!(s.outbox_len().expect("len"), 2);
    }

    /// A write creating many rows queues shared ops (see
    /// `crate::bulk`), yet the outbox hands out one op per row, in
    /// creation order, with the same op id every time, each row's own
    /// fields and creation stamp; acks in any order and across own and
    /// shared ops empty it exactly; a refused row is set aside alone.
    #[test]
    fn rows_created_in_bulk_are_pushed_one_op_each() {
        let (_d, mut s) = store();
        let n = 16 + 4096 + 40;
        let region = s.default_region();
        let mut ids = Vec::new();
        let actor = s.user_actor();
        let mut tx = s.write(actor).expect("write");
        for i in 0..n {
            let mut d = ContactDraft::default();
            d.set("first_name", &format!("P{i}")).expect("name");
            let c = d.validate(Uuid::now_v7(), region).expect("valid");
            tx.save_contact(&c).expect("save");
            ids.push(c.id);
        }
        tx.commit().expect("commit");
        contacts(&mut s, &["After"]);
        assert_eq!(s.outbox_len().expect("len"), n as i64 + 1);
        let ops = s.outbox_batch(n + 10).expect("batch");
        assert_eq!(ops.len(), n + 1);
        let order: Vec<Uuid> = ops[..n].iter().map(|o| o.row_id).collect();
        assert_eq!(order, ids, "creation order");
        let unique: std::collections::HashSet<Uuid> = ops.iter().map(|o| o.op_id).collect();
        assert_eq!(unique.len(), n + 1, "an op id per row");
        for (k, op) in ops[..n].iter().enumerate() {
            assert_eq!(op.fields["first_name"], format!("P{k}"));
            let row = crate::store::load_any_row(s.conn(), Table::Contacts, op.row_id)
                .expect("load")
                .expect("row");
            assert_eq!(
                Some(op.hlc.to_string().as_str()),
                row.clocks.get("_").and_then(Value::as_str),
                "row {k}: its own creation stamp"
            );
        }
        // Handed out again: the same ops.
        let again = s.outbox_batch(n + 10).expect("batch");
        assert!(again
            .iter()
            .zip(&ops)
            .all(|(a, b)| a.op_id == b.op_id && a.row_id == b.row_id));
        // A row in the middle of a shared op is refused: set aside alone.
        let refused = ops[2000].clone();
        s.outbox_quarantine(refused.op_id, "test")
            .expect("quarantine");
        let st = s.sync_status().expect("status");
        assert_eq!((st.pending, st.quarantined), (n as i64, 1));
        assert!(s
            .outbox_batch(n + 10)
            .expect("batch")
            .iter()
            .all(|o| o.op_id != refused.op_id));
        // Acks out of order, across own and shared ops, some twice.
        let rest: Vec<Uuid> = ops
            .iter()
            .map(|o| o.op_id)
            .filter(|id| *id != refused.op_id)
            .collect();
        s.outbox_ack(&rest[3000..]).expect("ack tail");
        assert_eq!(s.outbox_len().expect("len"), 3000);
        let left: Vec<Uuid> = op_ids(&s, n);
        assert_eq!(left, rest[..3000].to_vec());
        s.outbox_ack(&rest[10..20]).expect("ack middle");
        s.outbox_ack(&rest[..3000])
            .expect("ack the rest, some again");
        assert_eq!(s.outbox_len().expect("len"), 0);
        assert!(s.outbox_batch(10).expect("batch").is_empty());
        let left: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 0, "no empty shared op is left behind");
    }
}
