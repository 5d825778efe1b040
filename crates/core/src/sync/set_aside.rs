//! Changes the server refused, set aside so they never block the rest
//! ([`Store::outbox_quarantine`]): listed with the server's reason, sent
//! again (after the cause was fixed, e.g. the server was upgraded to know a
//! new field) or discarded by the person whose change it was. Both are
//! audited: a discarded change is a local edit that will never reach the
//! others.

use super::*;

/// The meta keys the set-aside changes live under.
const PREFIX: &str = "sync.quarantine.";

/// A change the server refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SetAside {
    /// The op's id (what retry and discard name).
    pub op_id: Uuid,
    /// The synced table.
    pub table: String,
    /// The record's id.
    pub row_id: String,
    /// The values it carried.
    pub fields: Map<String, Value>,
    /// The server's reason, as it said it.
    pub reason: String,
    /// When it was set aside (RFC 3339).
    pub at: String,
    hlc: String,
}

fn parse(key: &str, text: &str) -> Result<SetAside> {
    let bad = |what: String| super::outbox::bad_outbox(format!("set-aside change {key}: {what}"));
    let op_id = key
        .strip_prefix(PREFIX)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| bad("no op id".into()))?;
    let v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let text_of = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(SetAside {
        op_id,
        table: text_of("table"),
        row_id: text_of("row_id"),
        fields: v
            .get("fields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        reason: text_of("reason"),
        at: text_of("at"),
        hlc: text_of("hlc"),
    })
}

impl Store {
    /// The changes set aside, oldest first.
    pub fn set_aside(&self) -> Result<Vec<SetAside>> {
        let mut st = self
            .conn()
            .prepare("SELECT key, value FROM meta WHERE key LIKE 'sync.quarantine.%'")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, text) = row?;
            out.push(parse(&key, &text)?);
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then(a.op_id.cmp(&b.op_id)));
        Ok(out)
    }

    fn take_set_aside(tx: &rusqlite::Connection, op_id: Uuid) -> Result<SetAside> {
        let key = format!("{PREFIX}{op_id}");
        let text = get_meta(tx, &key)?.ok_or_else(|| CoreError::NotFound {
            kind: "set-aside change",
            id: op_id.to_string(),
        })?;
        set_meta(tx, &key, None)?;
        parse(&key, &text)
    }

    /// Send a set-aside change again at the next sync, as it was (its values
    /// and its original time, so a newer change made elsewhere meanwhile
    /// still wins). If the server refuses it again it is set aside again.
    pub fn retry_set_aside(&mut self, op_id: Uuid) -> Result<()> {
        let actor = self.user_actor();
        let w = self.write(actor)?;
        let op = Self::take_set_aside(w.conn(), op_id)?;
        let hlc = if op.hlc.is_empty() {
            w.clock.now().to_string()
        } else {
            op.hlc.clone()
        };
        w.exec(
            "INSERT INTO sync_outbox (op_id, table_name, row_id, hlc, fields) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                op_id.to_string(),
                op.table,
                op.row_id,
                hlc,
                Value::Object(op.fields.clone()).to_string()
            ],
        )?;
        let note = serde_json::json!({ "op_id": op_id, "reason": op.reason }).to_string();
        w.audit(&op.table, &op.row_id, "sync.retry", &note, &now_text())?;
        w.commit()
    }

    /// Give up a set-aside change: it will never be sent. The record keeps
    /// its values on this device until the server's next change to it.
    pub fn discard_set_aside(&mut self, op_id: Uuid) -> Result<()> {
        let actor = self.user_actor();
        let w = self.write(actor)?;
        let op = Self::take_set_aside(w.conn(), op_id)?;
        let note = serde_json::json!({ "op_id": op_id, "reason": op.reason, "fields": op.fields })
            .to_string();
        w.audit(&op.table, &op.row_id, "sync.discard", &note, &now_text())?;
        w.commit()
    }
}
