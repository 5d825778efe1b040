//! Reading a push's body and checking every op in it (tenant, table,
//! fields, value kinds, clocks, no duplicates) before anything touches the
//! database; pure work, run on the blocking pool.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::StatusCode;
use crm_protocol::schema::{self, FieldError};
use crm_protocol::wire::PushRequest;
use crm_protocol::{SyncOp, MAX_DRIFT_MS};

use crate::auth::Device;
use crate::error::{ApiResult, ServerError};
use crate::parse_body;

pub(super) fn wall_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Check one op against the device and the schema: its tenant, its table,
/// its fields and the kind of every value.
fn check_op(op: &SyncOp, dev: &Device, now: u64) -> ApiResult<()> {
    if op.tenant_id != dev.tenant_id {
        return Err(ServerError::Client {
            status: StatusCode::FORBIDDEN,
            code: "wrong_tenant",
            message: format!(
                "op {} names tenant {}, but this device belongs to another tenant",
                op.op_id, op.tenant_id
            ),
            op_id: Some(op.op_id),
        });
    }
    let Some(table) = schema::table(&op.table) else {
        return Err(ServerError::bad_op(
            "unknown_table",
            op.op_id,
            format!(
                "op {}: unknown table {:?} (known: contacts, policies, payments, tasks, activities)",
                op.op_id,
                op.table.chars().take(64).collect::<String>()
            ),
        ));
    };
    if op.fields.is_empty() {
        return Err(ServerError::bad_op(
            "empty_op",
            op.op_id,
            format!("op {} changes no fields", op.op_id),
        ));
    }
    table.check(&op.fields).map_err(|e| {
        let code = match e {
            FieldError::UnknownField { .. } => "unknown_field",
            FieldError::BadValue { .. } => "bad_value",
        };
        ServerError::bad_op(code, op.op_id, format!("op {}: {e}", op.op_id))
    })?;
    if op.hlc.node != dev.device_id {
        return Err(ServerError::bad_op(
            "foreign_clock",
            op.op_id,
            format!(
                "op {}: its clock names device {}, not the device sending it",
                op.op_id, op.hlc.node
            ),
        ));
    }
    if op.hlc.millis > now + MAX_DRIFT_MS {
        return Err(ServerError::bad_op(
            "clock_ahead",
            op.op_id,
            format!(
                "op {}: its clock is {} s ahead of the server's (limit {} s); check the device's date and time",
                op.op_id,
                (op.hlc.millis - now) / 1000,
                MAX_DRIFT_MS / 1000
            ),
        ));
    }
    Ok(())
}

/// A push's body as a batch, every op checked (see [`check_op`]), none
/// twice.
pub(super) fn read_batch(
    body: Bytes,
    dev: &Device,
    max_ops: usize,
    now: u64,
) -> ApiResult<PushRequest> {
    let req: PushRequest = parse_body(Ok(body))?;
    if req.ops.len() > max_ops {
        return Err(ServerError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} ops in one push; send at most {max_ops}", req.ops.len()),
        ));
    }
    let mut seen = HashSet::new();
    for op in &req.ops {
        check_op(op, dev, now)?;
        if !seen.insert(op.op_id) {
            return Err(ServerError::bad_op(
                "duplicate_op",
                op.op_id,
                format!("op {} appears twice in the batch", op.op_id),
            ));
        }
    }
    Ok(req)
}
