//! The server's one error type and how it becomes an HTTP answer.
//!
//! Client mistakes carry a status, a stable code and a message naming what is
//! wrong; they reach the client as `{code, message, op_id?}`. A bound the
//! server keeps (too many password checks at once) is a 503 with
//! `Retry-After`, in the same shape. Database and
//! internal failures are logged with their detail and answered with a generic
//! 500, so no SQL or stack detail leaks to callers.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use crm_protocol::wire::ApiError;
use uuid::Uuid;

use crate::sql;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The caller's mistake (4xx).
    #[error("{message}")]
    Client {
        /// HTTP status.
        status: StatusCode,
        /// Stable code for programs.
        code: &'static str,
        /// For people: lowercase, names what and where.
        message: String,
        /// The op that made a batch fail, if one did.
        op_id: Option<Uuid>,
    },
    /// The server is at a bound it keeps (503 with `Retry-After`): the
    /// same request later may well succeed.
    #[error("{message}")]
    Unavailable {
        /// Stable code for programs.
        code: &'static str,
        /// For people: what is busy and when to try again.
        message: String,
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Db(#[from] sql::Error),
    /// Something else on our side.
    #[error("internal: {0}")]
    Internal(String),
}

impl ServerError {
    /// A 400: the request cannot be read.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    /// A 422 about one op of a batch.
    pub fn bad_op(code: &'static str, op_id: Uuid, message: impl Into<String>) -> Self {
        ServerError::Client {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
            op_id: Some(op_id),
        }
    }

    /// A 401.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, code, message)
    }

    /// Any 4xx.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ServerError::Client {
            status,
            code,
            message: message.into(),
            op_id: None,
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        match self {
            ServerError::Client {
                status,
                code,
                message,
                op_id,
            } => {
                metrics::counter!("sync_client_errors_total", "code" => code).increment(1);
                let mut resp = (
                    status,
                    Json(ApiError {
                        code: code.into(),
                        message,
                        op_id,
                    }),
                )
                    .into_response();
                // A body that timed out may still be coming: the
                // connection cannot carry another request.
                if status == StatusCode::REQUEST_TIMEOUT {
                    resp.headers_mut().insert(
                        header::CONNECTION,
                        header::HeaderValue::from_static("close"),
                    );
                }
                resp
            }
            ServerError::Unavailable {
                code,
                message,
                retry_after_secs,
            } => {
                metrics::counter!("sync_unavailable_total", "code" => code).increment(1);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, retry_after_secs.to_string())],
                    Json(ApiError {
                        code: code.into(),
                        message,
                        op_id: None,
                    }),
                )
                    .into_response()
            }
            other => {
                tracing::error!(error = %other, "request failed");
                metrics::counter!("sync_server_errors_total").increment(1);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ApiError {
                        code: "internal".into(),
                        message: "internal error; the server log has the detail".into(),
                        op_id: None,
                    }),
                )
                    .into_response()
            }
        }
    }
}

/// Result of a request handler.
pub type ApiResult<T> = Result<T, ServerError>;
