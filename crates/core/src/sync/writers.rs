//! Who wrote what arrives: the devices (and their users) whose changes a
//! pull brought, as the server named them in each page, kept on this
//! device so its history can say "sam@agency.test on Front desk PC"
//! instead of "another device". Local-only and not synced: it is only
//! ever what the server said, refreshed with every page that names them.

use crm_protocol::wire::Writer;
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

use crate::error::Result;
use crate::records::parse_id;
use crate::store::Store;

/// Keep (or refresh: a device may be renamed at its next sign-in) the
/// writers a page named. Runs inside the page's transaction.
pub(crate) fn remember(conn: &rusqlite::Connection, writers: &[Writer], now: &str) -> Result<()> {
    if writers.is_empty() {
        return Ok(());
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO sync_writers (device_id, device_name, user_id, user_email, seen_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET \
         device_name = excluded.device_name, user_id = excluded.user_id, \
         user_email = excluded.user_email, seen_at = excluded.seen_at",
    )?;
    for w in writers {
        st.execute(params![
            w.device_id.to_string(),
            w.device_name,
            w.user_id.to_string(),
            w.user_email,
            now
        ])?;
    }
    Ok(())
}

impl Store {
    /// The device `device` and its user, if a pull has named it.
    pub fn writer(&self, device: Uuid) -> Result<Option<Writer>> {
        let found = self
            .conn()
            .query_row(
                "SELECT device_name, user_id, user_email FROM sync_writers WHERE device_id = ?1",
                [device.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        let Some((device_name, user, user_email)) = found else {
            return Ok(None);
        };
        Ok(Some(Writer {
            device_id: device,
            device_name,
            user_id: parse_id("writer's user", &user)?,
            user_email,
        }))
    }

    /// The email of user `user_id`, if a pull has named one of their
    /// devices (timeline entries name their author by user id).
    pub fn user_email(&self, user_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT user_email FROM sync_writers WHERE user_id = ?1 ORDER BY seen_at DESC LIMIT 1",
                [user_id],
                |r| r.get(0),
            )
            .optional()?)
    }
}
