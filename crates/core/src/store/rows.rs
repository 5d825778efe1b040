//! Rows as the store keeps them: a JSON value bound as an SQL parameter,
//! a column read back as JSON, and a synced row loaded whole (its fields
//! and clocks) for the write path and merging.

use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Table;
use crate::error::Result;

/// A stored row's fields as JSON values, and its clocks.
#[derive(Clone, Debug)]
pub(crate) struct StoredRow {
    pub fields: Map<String, Value>,
    pub clocks: Map<String, Value>,
}

/// A JSON field value bound as an SQL parameter, strings borrowed (no copy
/// per bind). Lists and objects are stored as JSON text.
pub(crate) struct SqlArg<'a>(pub &'a Value);

impl SqlArg<'_> {
    /// The same value, owned (for parameter lists that outlive the map).
    pub(crate) fn owned(&self) -> rusqlite::types::Value {
        use rusqlite::types::ToSqlOutput as O;
        match rusqlite::ToSql::to_sql(self) {
            Ok(O::Borrowed(r)) => {
                rusqlite::types::Value::try_from(r).unwrap_or(rusqlite::types::Value::Null)
            }
            Ok(O::Owned(v)) => v,
            _ => rusqlite::types::Value::Null,
        }
    }
}

impl rusqlite::ToSql for SqlArg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput as O, Value as S, ValueRef as R};
        Ok(match self.0 {
            Value::Null => O::Owned(S::Null),
            Value::Bool(b) => O::Owned(S::Integer(*b as i64)),
            Value::Number(n) => O::Owned(
                n.as_i64()
                    .map(S::Integer)
                    .or_else(|| n.as_f64().map(S::Real))
                    .unwrap_or(S::Null),
            ),
            Value::String(s) => O::Borrowed(R::Text(s.as_bytes())),
            other => O::Owned(S::Text(other.to_string())),
        })
    }
}

pub(crate) fn row_to_json(table: Table, field: &str, v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as R;
    match v {
        R::Null => Value::Null,
        R::Integer(i) => Value::from(i),
        R::Real(f) => Value::from(f),
        R::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if table.is_json(field) {
                serde_json::from_str(&s).unwrap_or(Value::Null)
            } else {
                Value::String(s.into_owned())
            }
        }
        R::Blob(b) => Value::String(hex::encode(b)),
    }
}

/// Read a live (not tombstoned) row's fields.
pub(crate) fn load_row(conn: &Connection, table: Table, id: Uuid) -> Result<Option<StoredRow>> {
    load(conn, table, id, true)
}

/// Read some fields of a live row (and its clocks): enough for an update
/// that names only those fields.
pub(crate) fn load_some(
    conn: &Connection,
    table: Table,
    id: Uuid,
    fields: &'static [&'static str],
) -> Result<Option<StoredRow>> {
    load_fields(conn, table, id, fields, true)
}

/// Read a row's fields, tombstoned or not (`None`: not on this device).
pub(crate) fn load_any_row(conn: &Connection, table: Table, id: Uuid) -> Result<Option<StoredRow>> {
    load(conn, table, id, false)
}

fn load(conn: &Connection, table: Table, id: Uuid, live: bool) -> Result<Option<StoredRow>> {
    load_fields(conn, table, id, table.fields(), live)
}

fn load_fields(
    conn: &Connection,
    table: Table,
    id: Uuid,
    fields: &[&str],
    live: bool,
) -> Result<Option<StoredRow>> {
    let sql = format!(
        "SELECT {}, clocks FROM {} WHERE id = ?1{}",
        fields.join(", "),
        table.name(),
        if live { " AND deleted = 0" } else { "" }
    );
    let mut st = conn.prepare_cached(&sql)?;
    let row = st
        .query_row([id.to_string()], |r| {
            let mut map = Map::new();
            for (i, f) in fields.iter().enumerate() {
                map.insert((*f).to_string(), row_to_json(table, f, r.get_ref(i)?));
            }
            let clocks: String = r.get(fields.len())?;
            Ok((map, clocks))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((fields, clocks)) => Ok(Some(StoredRow {
            fields,
            clocks: serde_json::from_str(&clocks)?,
        })),
    }
}
