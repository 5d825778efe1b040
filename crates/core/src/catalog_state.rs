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
const LOCAL_PLUGINS: &str = "catalog.local_plugins";
const REPORT_SENT: &str = "catalog.report_sent";

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

    /// The digest and time of the last plugin report this device sent
    /// the server, if any (`digest time`).
    pub fn plugin_report_sent(&self) -> Result<Option<(String, String)>> {
        Ok(
            crate::sync::get_meta(self.conn(), REPORT_SENT)?.and_then(|v| {
                v.split_once(' ')
                    .map(|(d, t)| (d.to_string(), t.to_string()))
            }),
        )
    }

    /// Remember that the report with `digest` was sent now.
    pub fn set_plugin_report_sent(&mut self, digest: &str) -> Result<()> {
        let v = format!("{digest} {}", crate::store::now_text());
        crate::sync::set_meta(self.conn(), REPORT_SENT, Some(&v))
    }

    /// Who the tenant lets run plugins from outside its catalog
    /// (`everyone`, `admins` or `no_one`), if this device pulled a catalog.
    pub fn catalog_local_plugins(&self) -> Result<Option<String>> {
        if self.catalog_revision()?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            crate::sync::get_meta(self.conn(), LOCAL_PLUGINS)?.unwrap_or_else(|| "admins".into()),
        ))
    }

    /// The catalog's policy for plugin `id` as far as this device's user
    /// is concerned: `None` when the catalog does not list it for them (not
    /// at all, or for others only), so it counts as a local plugin; a
    /// policy that stops it counts for everyone.
    fn listed_for_me(&self, id: &str) -> Result<Option<LocalPolicy>> {
        Ok(self.catalog_policy(id)?.filter(|p| p.applies || p.stops()))
    }

    /// Whether this device's user may enable, configure or uninstall plugin
    /// `id`: an admin may; so may anyone a plugin the catalog allows them
    /// (`allowed`: its grants then bounded by the catalog's), or one
    /// outside the catalog when the tenant lets everyone run those. A
    /// force-installed plugin is the agency's to manage.
    pub fn require_plugin_right(&self, id: &str, what: &str) -> Result<()> {
        let offered = match self.listed_for_me(id)? {
            Some(p) => p.mode == "allowed",
            None => self.catalog_local_plugins()?.as_deref() == Some("everyone"),
        };
        if offered {
            return Ok(());
        }
        self.require_admin(what)
    }

    /// Whether this device's user may fill in plugin `id`'s settings: as
    /// [`Store::require_plugin_right`], and for a plugin the catalog
    /// installs for them too (its secrets are entered on each device).
    pub fn require_plugin_settings_right(&self, id: &str) -> Result<()> {
        let what = "change a plugin's settings";
        match self.listed_for_me(id)? {
            Some(p) if p.mode == "force_installed" => Ok(()),
            _ => self.require_plugin_right(id, what),
        }
    }

    /// Whether this device's user may install this package of plugin `id`
    /// (`sha256` of its bytes; `signed` by a trusted publisher): an admin
    /// may; anyone else only the exact package the catalog allows them,
    /// or, when the tenant lets everyone run plugins from outside the
    /// catalog, one it does not list.
    pub fn require_plugin_install(&self, id: &str, sha256: &str, signed: bool) -> Result<()> {
        if self.require_admin("install a plugin").is_ok() {
            return Ok(());
        }
        match self.listed_for_me(id)? {
            Some(p) if p.mode == "allowed" => {
                if signed && p.sha256.as_deref() == Some(sha256) {
                    Ok(())
                } else {
                    Err(crate::CoreError::Forbidden(format!(
                        "your agency's catalog offers {id} {} only: install it from the catalog \
                         (the Plugins screen's \"From your agency\", or crm catalog install {id})",
                        p.version.as_deref().unwrap_or("")
                    )))
                }
            }
            None if self.catalog_local_plugins()?.as_deref() == Some("everyone") => Ok(()),
            _ => self.require_admin("install a plugin"),
        }
    }

    /// Replace the pulled catalog: every plugin's policy, the publishers it
    /// trusts (added; those it brought before and no longer lists leave),
    /// who may run plugins from outside it (`local_plugins`) and its
    /// revision, in one transaction.
    pub fn set_catalog(
        &mut self,
        revision: i64,
        policies: &[LocalPolicy],
        publishers: &[(String, String)],
        local_plugins: &str,
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
        crate::sync::set_meta(&tx, LOCAL_PLUGINS, Some(local_plugins))?;
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
    /// runtime asks before every run. Besides the plugins it blocks or
    /// removed, a plugin it does not list for this user stops when the
    /// tenant lets no one (or only admins, and this is an agent's device)
    /// run plugins from outside the catalog.
    pub fn catalog_block(&self, id: &str) -> Result<Option<String>> {
        // A plugin the catalog lists for others only is, here, a local one.
        let policy = self.listed_for_me(id)?;
        if policy.is_none() {
            let who = self.catalog_local_plugins()?;
            let agent = || -> Result<bool> {
                Ok(!self.catalog_authority
                    && self.account_role()? == crate::sync::AccountRole::Agent)
            };
            let stopped = match who.as_deref() {
                Some("no_one") => Some("no one"),
                Some("admins") if agent()? => Some("admins only"),
                _ => None,
            };
            return Ok(stopped.map(|who| {
                format!(
                    "{id} is not in your agency's plugin catalog, and your agency lets {who} run \
                     plugins from outside it: ask an admin to publish it to the catalog"
                )
            }));
        }
        Ok(policy.filter(LocalPolicy::stops).map(|p| {
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

    /// Every kept export, by plugin then newest first: (plugin, when, size
    /// in bytes of its JSON).
    pub fn kept_plugin_exports(&self) -> Result<Vec<(String, String, i64)>> {
        let mut st = self.conn().prepare(
            "SELECT plugin_id, at, length(data) FROM plugin_exports ORDER BY plugin_id, at DESC",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
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
