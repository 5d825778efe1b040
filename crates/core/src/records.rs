//! Typed access to synced rows: a record struct's serde form is its field map.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{CoreError, Result};
use crate::store::{load_row, row_to_json, Table, WriteTx};

pub(crate) fn to_fields<T: Serialize>(rec: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(rec)? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

pub(crate) fn from_fields<T: DeserializeOwned>(id: Uuid, mut m: Map<String, Value>) -> Result<T> {
    m.insert("id".into(), Value::String(id.to_string()));
    from_map(m)
}

/// Load a live record.
pub(crate) fn get<T: DeserializeOwned>(
    conn: &rusqlite::Connection,
    table: Table,
    id: Uuid,
) -> Result<T> {
    match load_row(conn, table, id)? {
        Some(r) => from_fields(id, r.fields),
        None => Err(CoreError::NotFound {
            kind: table.kind(),
            id: id.to_string(),
        }),
    }
}

/// Save a record through the write path. Returns true if anything changed.
pub(crate) fn save<T: Serialize>(
    tx: &mut WriteTx<'_>,
    table: Table,
    id: Uuid,
    rec: &T,
) -> Result<bool> {
    let before = load_row(tx.conn(), table, id)?;
    let changed = tx.put(table, id, before.as_ref(), &to_fields(rec)?)?;
    Ok(!changed.is_empty())
}

/// The query [`list`] runs (its plan is tested).
pub(crate) fn list_sql(
    table: Table,
    filter: &str,
    order: &str,
    limit: usize,
    offset: usize,
) -> String {
    format!(
        "SELECT id, {} FROM {} WHERE deleted = 0 {} ORDER BY {} LIMIT {} OFFSET {}",
        table.fields().join(", "),
        table.name(),
        if filter.is_empty() {
            String::new()
        } else {
            format!("AND {filter}")
        },
        order,
        // SQLite's LIMIT is a signed 64-bit integer: "no limit" is its
        // largest, not `usize::MAX` (a datatype mismatch).
        limit.min(i64::MAX as usize),
        offset
    )
}

/// The rows of a list, at most as many as were asked for, and whether
/// more matched: a caller that shows or hands on a list can say it was cut
/// instead of passing a part off as the whole.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed<T> {
    /// The rows, in the list's order.
    pub rows: Vec<T>,
    /// More rows matched than the limit let through.
    pub more: bool,
}

impl<T> Listed<T> {
    /// The first `limit` of `rows`, noting whether there were more.
    pub fn cut(mut rows: Vec<T>, limit: usize) -> Listed<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        Listed { rows, more }
    }
}

/// How many live records match `filter` (SQL after `AND`, may be empty).
pub(crate) fn count(
    conn: &rusqlite::Connection,
    table: Table,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<usize> {
    let sql = if filter.is_empty() {
        format!("SELECT count(*) FROM {} WHERE deleted = 0", table.name())
    } else {
        format!(
            "SELECT count(*) FROM {} WHERE deleted = 0 AND {filter}",
            table.name()
        )
    };
    let n: i64 = conn.prepare_cached(&sql)?.query_row(args, |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// [`list`] of at most `limit` records, saying whether more matched.
pub(crate) fn list_limited<T: DeserializeOwned>(
    conn: &rusqlite::Connection,
    table: Table,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    order: &str,
    limit: usize,
) -> Result<Listed<T>> {
    let rows = list(conn, table, filter, args, order, limit.saturating_add(1), 0)?;
    Ok(Listed::cut(rows, limit))
}

/// List live records matching `filter` (SQL after `AND`, may be empty),
/// `limit` of them after skipping `offset`.
pub(crate) fn list<T: DeserializeOwned>(
    conn: &rusqlite::Connection,
    table: Table,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    order: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<T>> {
    list_fields(conn, table, filter, args, order, limit, offset)?
        .into_iter()
        .map(from_listed)
        .collect()
}

/// A record from its fields as [`list_fields`] gives them.
pub(crate) fn from_listed<T: DeserializeOwned>(fields: Vec<(&'static str, Value)>) -> Result<T> {
    from_map(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A record from its serialised form.
pub(crate) fn from_map<T: DeserializeOwned>(m: Map<String, Value>) -> Result<T> {
    Ok(serde_json::from_value(Value::Object(m))?)
}

/// [`list`] as each record's serialised form (what `T`'s `Serialize`
/// gives) without making the records: its fields in table order, `id`
/// last, named by static names, for a caller that builds its own values
/// from them (the plugin host's script maps), not a way past validation.
pub(crate) fn list_fields(
    conn: &rusqlite::Connection,
    table: Table,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    order: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<Vec<(&'static str, Value)>>> {
    let mut out = Vec::new();
    each_fields(conn, table, filter, args, order, limit, offset, |m| {
        out.push(m);
        Ok(())
    })?;
    Ok(out)
}

/// [`list_fields`] one record at a time, handed to `each` as it is read
/// (nothing kept): for work over a whole table, such as arrears.
#[allow(clippy::too_many_arguments)]
pub(crate) fn each_fields(
    conn: &rusqlite::Connection,
    table: Table,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    order: &str,
    limit: usize,
    offset: usize,
    mut each: impl FnMut(Vec<(&'static str, Value)>) -> Result<()>,
) -> Result<()> {
    let fields = table.fields();
    let mut st = conn.prepare_cached(&list_sql(table, filter, order, limit, offset))?;
    let mut rows = st.query(args)?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let id = Uuid::parse_str(&id).map_err(|e| CoreError::BadProfile {
            path: std::path::PathBuf::from(crate::store::DB_FILE),
            reason: format!("{} id {id:?}: {e}", table.kind()),
        })?;
        let mut m = Vec::with_capacity(fields.len() + 1);
        for (i, f) in fields.iter().enumerate() {
            m.push((*f, row_to_json(table, f, r.get_ref(i + 1)?)));
        }
        m.push(("id", Value::String(id.to_string())));
        each(m)?;
    }
    Ok(())
}

/// A UUID stored as text in a column, read without copying it out;
/// `None` for anything else.
pub(crate) fn uuid_in(v: rusqlite::types::ValueRef<'_>) -> Option<Uuid> {
    match v {
        rusqlite::types::ValueRef::Text(t) => Uuid::try_parse_ascii(t).ok(),
        _ => None,
    }
}

/// Parse a record id given by a person, naming what was expected.
pub fn parse_id(kind: &'static str, raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        CoreError::Invalid(crate::ValidationError::new(
            format!("{kind} id"),
            format!(
                "{:?} is not a record id (a UUID like 0192…)",
                crate::normalize::clip(raw)
            ),
        ))
    })
}
