//! The tenant's plugin catalog as this device last pulled it: one local
//! policy per plugin (its mode, the version to run, the grants an admin
//! approved), the catalog's revision, and the trusted publishers it
//! brought. The plugin runtime reads [`Store::catalog_block`] before every
//! run: a plugin the catalog blocks or removed never runs, whatever its own
//! record says. Applying a catalog (installing, enabling, removing) is
//! `crm-catalog`'s, under [`Store::with_catalog_authority`].

use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use crate::error::Result;
use crate::store::Store;

/// A plugin's policy as pulled.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalPolicy {
    /// Plugin id.
    pub plugin_id: String,
    /// `allowed`, `force_installed`, `blocked` or `removed`.
    pub mode: String,
    /// The version devices run.
    pub version: Option<String>,
    /// Whether that version is pinned (a device then goes down to it).
    pub pinned: bool,
    /// SHA-256 of that version's package, hex.
    pub sha256: Option<String>,
    /// The grants an admin approved.
    pub grants: Vec<String>,
    /// Non-secret setting defaults.
    pub settings: serde_json::Map<String, Value>,
    /// Whether this device's user is in its audience.
    pub applies: bool,
    /// Why, when an admin said.
    pub reason: Option<String>,
}

impl LocalPolicy {
    /// Whether the catalog stops it on this device.
    pub fn stops(&self) -> bool {
        matches!(self.mode.as_str(), "blocked" | "removed")
    }
}

const REVISION: &str = "catalog.revision";

impl Store {
    /// Run `f` with the authority of the tenant's catalog: what it installs,
    /// enables or removes an admin decided, so this device's user need not
    /// be one. Only the catalog's application uses it.
    pub fn with_catalog_authority<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> T {
        /// Puts the flag back however `f` ends (a panic included: the
        /// store may be used again after one).
        struct Restore<'a>(&'a mut Store, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.catalog_authority = self.1;
            }
        }
        let before = std::mem::replace(&mut self.catalog_authority, true);
        let guard = Restore(self, before);
        f(&mut *guard.0)
    }

    /// The catalog revision this device has, if it ever pulled one.
    pub fn catalog_revision(&self) -> Result<Option<i64>> {
        Ok(crate::sync::get_meta(self.conn(), REVISION)?.and_then(|v| v.parse().ok()))
    }

    /// Replace the pulled catalog: every plugin's policy, the publishers it
    /// trusts (added; those it brought before and no longer lists leave)
    /// and its revision, in one transaction.
    pub fn set_catalog(
        &mut self,
        revision: i64,
        policies: &[LocalPolicy],
        publishers: &[(String, String)],
    ) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM catalog_policy", [])?;
        for p in policies {
            tx.execute(
                "INSERT INTO catalog_policy (plugin_id, mode, version, sha256, grants, settings, applies, reason, pinned) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    p.plugin_id,
                    p.mode,
                    p.version,
                    p.sha256,
                    serde_json::to_string(&p.grants)?,
                    serde_json::to_string(&p.settings)?,
                    p.applies,
                    p.reason,
                    p.pinned
                ],
            )?;
        }
        let keep: Vec<&str> = publishers.iter().map(|(k, _)| k.as_str()).collect();
        let mut gone = Vec::new();
        {
            let mut st =
                tx.prepare("SELECT public_key FROM trusted_publishers WHERE from_catalog = 1")?;
            for k in st.query_map([], |r| r.get::<_, String>(0))? {
                let k = k?;
                if !keep.contains(&k.as_str()) {
                    gone.push(k);
                }
            }
        }
        for k in gone {
            tx.execute("DELETE FROM trusted_publishers WHERE public_key = ?1", [k])?;
        }
        for (key, name) in publishers {
            tx.execute(
                "INSERT INTO trusted_publishers (public_key, name, added_at, from_catalog) VALUES (?1, ?2, ?3, 1) \
                 ON CONFLICT(public_key) DO UPDATE SET name = excluded.name, from_catalog = 1",
                params![key, name, crate::store::now_text()],
            )?;
        }
        crate::sync::set_meta(&tx, REVISION, Some(&revision.to_string()))?;
        tx.commit()?;
        Ok(())
    }

    /// Every pulled policy.
    pub fn catalog_policies(&self) -> Result<Vec<LocalPolicy>> {
        let mut st = self.conn().prepare(
            "SELECT plugin_id, mode, version, sha256, grants, settings, applies, reason, pinned FROM catalog_policy \
             ORDER BY plugin_id",
        )?;
        let rows = st.query_map([], row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Plugin `id`'s pulled policy, if the catalog has one.
    pub fn catalog_policy(&self, id: &str) -> Result<Option<LocalPolicy>> {
        let found = self
            .conn()
            .query_row(
                "SELECT plugin_id, mode, version, sha256, grants, settings, applies, reason, pinned FROM catalog_policy \
                 WHERE plugin_id = ?1",
                [id],
                row,
            )
            .optional()?;
        found.transpose()
    }

    /// Why the catalog stops plugin `id` on this device, if it does: the
    /// runtime asks before every run.
    pub fn catalog_block(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .catalog_policy(id)?
            .filter(LocalPolicy::stops)
            .map(|p| {
                let what = if p.mode == "removed" {
                    "removed from"
                } else {
                    "blocked in"
                };
                match p.reason {
                    Some(r) => format!("{id} is {what} your agency's plugin catalog: {r}"),
                    None => format!("{id} is {what} your agency's plugin catalog"),
                }
            }))
    }
}

impl Store {
    /// Keep a plugin's data (its export, as `uninstall --export` writes it)
    /// in the encrypted profile: what the catalog's removal of a plugin
    /// saves before uninstalling it.
    pub fn keep_plugin_export(&mut self, plugin: &str, data: &Value) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO plugin_exports (plugin_id, at, data) VALUES (?1, ?2, ?3)",
            params![
                plugin,
                crate::store::now_text(),
                serde_json::to_string(data)?
            ],
        )?;
        Ok(())
    }

    /// The exports kept for plugin `id`, newest first: (when, data).
    pub fn plugin_exports(&self, plugin: &str) -> Result<Vec<(String, Value)>> {
        let mut st = self
            .conn()
            .prepare("SELECT at, data FROM plugin_exports WHERE plugin_id = ?1 ORDER BY at DESC")?;
        let rows = st.query_map([plugin], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (at, data) = r?;
            out.push((at, serde_json::from_str(&data)?));
        }
        Ok(out)
    }
}

type Parsed = Result<LocalPolicy>;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Parsed> {
    let grants: String = r.get(4)?;
    let settings: String = r.get(5)?;
    let mut p = LocalPolicy {
        plugin_id: r.get(0)?,
        mode: r.get(1)?,
        version: r.get(2)?,
        sha256: r.get(3)?,
        grants: Vec::new(),
        settings: serde_json::Map::new(),
        applies: r.get(6)?,
        reason: r.get(7)?,
        pinned: r.get(8)?,
    };
    Ok((|| {
        p.grants = serde_json::from_str(&grants)?;
        p.settings = serde_json::from_str(&settings)?;
        Ok(p)
    })())
}
