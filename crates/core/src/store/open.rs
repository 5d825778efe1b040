//! Opening an encrypted database: its page layout (SQLCipher keeps no
//! plaintext header to read it from), the key, and the connection's
//! settings.

use super::*;

/// The page size of databases this build creates. Each encrypted page
/// carries its own IV and HMAC and is written as one WAL frame; with 16 KiB
/// pages an import writes a quarter as many (measured: 100,000 contacts in
/// 2.2 s instead of 2.6 s into SQLCipher, plain SQLite 9% faster too),
/// while a one-contact edit still rewrites only a few pages.
pub(crate) const PAGE_SIZE: u32 = 16_384;

/// How an encrypted database's pages are laid out: their size and the
/// HMAC that authenticates each. SQLCipher keeps no plaintext header to
/// read either from, so a profile records them ([`ProfileMeta`]); a
/// database opened by path alone has today's ([`LAYOUT`]).
///
/// Development builds before the first release made two other layouts
/// (4 KiB pages, HMAC-SHA512) and opening tried each in turn: a wrong
/// passphrase cost three key checks, and every reader had to learn why.
/// No release ever made them, so no user has such a profile; they are no
/// longer tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub page_size: u32,
    pub hmac: PageHmac,
}

/// What new databases get.
pub(crate) const LAYOUT: Layout = Layout {
    page_size: PAGE_SIZE,
    hmac: PageHmac::Sha256,
};

impl Layout {
    /// A profile's layout, as its metadata records it.
    pub(crate) fn of_profile(meta: &ProfileMeta) -> Layout {
        Layout {
            page_size: meta.page_size.unwrap_or(LAYOUT.page_size),
            hmac: meta.page_hmac.unwrap_or(LAYOUT.hmac),
        }
    }
}

/// Open the database at `path` with `layout` when known (a profile, a
/// second connection to a database already open), else [`LAYOUT`].
/// Returns the connection and its layout (for plain SQLite, the page size
/// its header names). A failed open writes nothing.
pub(crate) fn open_connection(
    path: &Path,
    key: Option<&DbKey>,
    create: bool,
    layout: Option<Layout>,
) -> Result<(Connection, Layout)> {
    let layout = layout.unwrap_or(LAYOUT);
    let conn = open_connection_laid_out(path, key, create, layout)?;
    let page_size = read_page_size(&conn)?;
    Ok((
        conn,
        Layout {
            page_size,
            ..layout
        },
    ))
}

/// `PRAGMA page_size` (SQLCipher answers it as text, plain SQLite as a
/// number).
pub(crate) fn read_page_size(conn: &Connection) -> Result<u32> {
    use rusqlite::types::ValueRef;
    let v = conn.query_row("PRAGMA page_size", [], |r| {
        Ok(match r.get_ref(0)? {
            ValueRef::Integer(i) => u32::try_from(i).ok(),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.trim().parse().ok()),
            _ => None,
        })
    })?;
    v.ok_or_else(|| CoreError::BadProfile {
        path: PathBuf::from(DB_FILE),
        reason: "the database reports no page size".into(),
    })
}

pub(crate) fn open_connection_laid_out(
    path: &Path,
    key: Option<&DbKey>,
    create: bool,
    layout: Layout,
) -> Result<Connection> {
    let page_size = layout.page_size;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
            CoreError::Io {
                path: path.to_path_buf(),
                err: std::io::Error::new(std::io::ErrorKind::NotFound, "cannot open database file"),
            }
        }
        other => CoreError::Sqlite(other),
    })?;
    // SQLCipher logs decryption failures to stderr by itself; errors are
    // reported once, by the caller, so keep it quiet.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
    if let Some(key) = key {
        conn.pragma_update(None, "key", &*key.pragma_value())?;
        conn.execute_batch(&format!(
            "PRAGMA cipher_page_size = {page_size}; PRAGMA cipher_hmac_algorithm = {};",
            layout.hmac.pragma_name()
        ))?;
    } else if create {
        // Takes effect only on a database that has no pages yet.
        conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
    }
    // Reading the schema is the first access that decrypts a page: a wrong key
    // or a foreign file fails here, before anything is written.
    let wrong = || CoreError::WrongKeyOrNotOurs {
        path: path.to_path_buf(),
    };
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            wrong()
        }
        other => CoreError::Sqlite(other),
    })?;
    let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if app_id != APPLICATION_ID && !(create && app_id == 0 && version == 0) {
        return Err(wrong());
    }
    // Temp tables and sort spills stay in memory: SQLCipher's temp files
    // would otherwise be a second place for plaintext to land.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 64 MiB page cache: large imports stay in memory until commit.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}
