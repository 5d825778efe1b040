//! The CRM sync server: stateless HTTP over tenant-scoped PostgreSQL.
//!
//! Devices sign in ([`login`]), push batches of ops from their outbox
//! ([`push`]), pull pages of changes since their cursor ([`pull`]) and
//! hear at once that changes wait for them ([`notices`]).
//! PostgreSQL holds everything; any number of server processes can run side
//! by side because they meet only there (a tenant's writers serialise on a
//! row lock, rate-limit counts are rows, tokens are checked per request).
//! Every query runs in a transaction scoped to one tenant with
//! `set_config('app.tenant_id', …, true)`, under row-level security, as a
//! role that policies bind ([`db::check_serving_role`]). The application's
//! own `WHERE tenant_id = …` stays too (defence in depth, and Citus needs it).
#![deny(missing_docs)]

pub mod account;
pub mod admin;
pub mod admin_api;
pub mod auth;
pub mod catalog;
pub mod client_addr;
pub mod compliance;
pub mod db;
pub mod documents;
pub mod error;
mod files;
pub mod local;
pub mod login;
pub mod merge;
pub mod notices;
pub mod pull;
pub mod push;
pub mod serve;
pub mod sql;
pub mod view;

use std::sync::{Arc, OnceLock};

use crate::sql::PgPool;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::error::ServerError;

/// Request limits, and how far the client's address is trusted.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    /// Most ops in one push.
    pub max_ops: usize,
    /// Failed logins allowed per email within [`Limits::login_window`].
    pub login_failures_per_email: i64,
    /// Failed logins allowed per client address (IPv6: per /64) within
    /// [`Limits::login_window`], whatever emails they tried.
    pub login_failures_per_address: i64,
    /// How long a failed login counts; older ones are deleted.
    pub login_window: std::time::Duration,
    /// Reverse proxies in front of the server that append the address they
    /// saw to `X-Forwarded-For`. 0 (the default): the header is ignored and
    /// the connection's peer address is the client's. N: the client is the
    /// N-th address from the right of the header (the one the outermost of
    /// our proxies saw); anything further left was sent by the client and
    /// is not believed.
    pub trusted_proxies: usize,
    /// Password checks (Argon2, 19 MiB each) running at once; a login
    /// beyond them is answered 503 with `Retry-After` at once.
    pub password_checks: usize,
    /// How long a connection may take to send a request's head (also the
    /// longest a kept-alive connection waits idle for its next request).
    pub header_timeout: std::time::Duration,
    /// How long a request's body may take to arrive, in total, from its
    /// head (408 past it).
    pub body_timeout: std::time::Duration,
    /// Connections served at once (keep it well below the process's
    /// open-file limit, less the database connections); [`serve::RESERVE`]
    /// more are served for `/health` only.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 8 * 1024 * 1024,
            max_ops: 2000,
            login_failures_per_email: auth::MAX_FAILURES,
            login_failures_per_address: auth::MAX_FAILURES_PER_ADDRESS,
            login_window: std::time::Duration::from_secs(auth::FAILURE_WINDOW_SECS as u64),
            trusted_proxies: 0,
            password_checks: auth::default_password_checks(),
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// Connections as the application role.
    pub pool: PgPool,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// The bound on concurrent password checks.
    pub password_checks: Arc<auth::PasswordChecks>,
    /// This process's change notices (`/v1/events`).
    pub notices: Arc<notices::Hub>,
    metrics: PrometheusHandle,
}

impl AppState {
    /// State over a pool with the given limits.
    pub fn new(pool: PgPool, limits: Limits) -> Self {
        AppState {
            pool,
            password_checks: Arc::new(auth::PasswordChecks::new(limits.password_checks)),
            limits: Arc::new(limits),
            notices: Arc::new(notices::Hub::default()),
            metrics: metrics_handle(),
        }
    }
}

/// The process-wide Prometheus recorder (installed once; tests build many apps).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Histograms keep every sample until upkeep drains them; with
            // nobody scraping /metrics they grew for ever (the soak saw about
            // half a MiB a minute under 500 devices).
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                });
            // Fails only if another recorder is installed; then ours just
            // renders nothing, which /metrics makes visible.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "CRM sync server",
        description = "Device login, push and pull of per-field LWW changes"
    ),
    paths(
        login::login,
        push::push,
        pull::pull,
        notices::events,
        health,
        catalog::catalog,
        catalog::publish,
        catalog::set_policy,
        catalog::package_bytes,
        catalog::trust,
        catalog::audit_log,
        catalog::set_local_plugins,
        admin_api::users,
        admin_api::invite,
        admin_api::change_user,
        admin_api::reset_password,
        admin_api::devices,
        admin_api::revoke,
        admin_api::audit_log,
        admin_api::plugin_health,
        account::change_password,
        account::report,
        compliance::pull,
        compliance::push,
        compliance::file_chunks,
        compliance::put_chunk,
        compliance::get_chunk,
        documents::list,
        documents::file_chunks,
        documents::put_chunk,
        documents::put_document,
        documents::get_chunk
    ),
    components(schemas(
        crm_protocol::wire::LoginRequest,
        crm_protocol::wire::LoginResponse,
        crm_protocol::wire::PushRequest,
        crm_protocol::wire::PushResponse,
        crm_protocol::wire::PullResponse,
        crm_protocol::wire::RowState,
        crm_protocol::wire::Eviction,
        crm_protocol::wire::Writer,
        crm_protocol::wire::ApiError,
        crm_protocol::catalog::CatalogResponse,
        crm_protocol::catalog::CatalogEntry,
        crm_protocol::catalog::Audience,
        crm_protocol::catalog::PolicyRequest,
        crm_protocol::catalog::PublishResponse,
        crm_protocol::catalog::Publisher,
        crm_protocol::catalog::TrustRequest,
        crm_protocol::catalog::RoleTemplate,
        crm_protocol::catalog::SettingField,
        crm_protocol::catalog::LocalPluginsRequest,
        crm_protocol::catalog::CatalogAuditEntry,
        crm_protocol::admin::AdminUser,
        crm_protocol::admin::InviteRequest,
        crm_protocol::admin::OneTimePassword,
        crm_protocol::admin::UserChange,
        crm_protocol::admin::AdminDevice,
        crm_protocol::admin::PasswordChange,
        crm_protocol::admin::DeviceReport,
        crm_protocol::admin::PluginReport,
        crm_protocol::admin::PluginHealth,
        crm_protocol::admin::PluginError,
        crm_protocol::admin::AdminAuditEntry,
        crm_protocol::compliance::ComplianceRecord,
        crm_protocol::compliance::CompliancePush,
        crm_protocol::compliance::CompliancePushed,
        crm_protocol::compliance::PushOutcome,
        crm_protocol::compliance::CompliancePull,
        crm_protocol::documents::DocumentEntry,
        crm_protocol::documents::PendingVersion,
        crm_protocol::documents::DocumentsResponse,
        crm_protocol::documents::FileChunks
    ))
)]
pub struct ApiDoc;

/// The largest login body read, in bytes.
pub const LOGIN_MAX_BODY: usize = 16 * 1024;

/// The router. Tests call it without a socket; [`serve::serve`] serves it
/// with connection bounds.
pub fn app(state: AppState) -> Router {
    let max_body = state.limits.max_body;
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        // A login body is a few hundred bytes: no reason to read megabytes.
        .route(
            "/v1/login",
            post(login::login).layer(DefaultBodyLimit::max(LOGIN_MAX_BODY)),
        )
        .route("/v1/push", post(push::push))
        .route("/v1/pull", get(pull::pull))
        .route("/v1/events", get(notices::events))
        .route("/v1/catalog", get(catalog::catalog))
        .route("/v1/catalog/packages", post(catalog::publish))
        .route(
            "/v1/catalog/packages/{id}/{version}",
            get(catalog::package_bytes),
        )
        .route(
            "/v1/catalog/plugins/{id}",
            axum::routing::put(catalog::set_policy),
        )
        .route("/v1/catalog/publishers", post(catalog::trust))
        .route(
            "/v1/catalog/publishers/{key}",
            axum::routing::delete(catalog::distrust),
        )
        .route("/v1/catalog/audit", get(catalog::audit_log))
        .route(
            "/v1/catalog/local-plugins",
            axum::routing::put(catalog::set_local_plugins),
        )
        .route(
            "/v1/admin/users",
            get(admin_api::users).post(admin_api::invite),
        )
        .route(
            "/v1/admin/users/{id}",
            axum::routing::patch(admin_api::change_user),
        )
        .route(
            "/v1/admin/users/{id}/password",
            post(admin_api::reset_password),
        )
        .route("/v1/admin/devices", get(admin_api::devices))
        .route("/v1/admin/devices/{id}/revoke", post(admin_api::revoke))
        .route("/v1/admin/audit", get(admin_api::audit_log))
        .route("/v1/admin/plugins/health", get(admin_api::plugin_health))
        .route("/v1/account/password", post(account::change_password))
        .route("/v1/devices/report", post(account::report))
        .route(
            "/v1/compliance",
            get(compliance::pull).post(compliance::push),
        )
        .route("/v1/compliance/files/{sha}", get(compliance::file_chunks))
        .route(
            "/v1/compliance/files/{sha}/{n}",
            axum::routing::put(compliance::put_chunk),
        )
        .route(
            "/v1/compliance/evidence/{id}/{n}",
            get(compliance::get_chunk),
        )
        .route("/v1/documents", get(documents::list))
        .route("/v1/documents/files/{sha}", get(documents::file_chunks))
        .route(
            "/v1/documents/files/{sha}/{n}",
            axum::routing::put(documents::put_chunk),
        )
        .route(
            "/v1/documents/{id}",
            axum::routing::put(documents::put_document),
        )
        .route(
            "/v1/documents/{id}/files/{sha}/{n}",
            get(documents::get_chunk),
        )
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "ok"), (status = 503, description = "database unreachable")))]
pub async fn health(State(st): State<AppState>) -> impl IntoResponse {
    match sql::query("SELECT 1").execute(&st.pool).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

async fn metrics_text(State(st): State<AppState>) -> impl IntoResponse {
    st.metrics.render()
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// A body that could not be read: too large (413), too slow (408) or
/// broken (400).
pub(crate) fn body_error(e: BytesRejection) -> ServerError {
    let status = e.status();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(late) = err.downcast_ref::<serve::BodyTimedOut>() {
            return ServerError::client(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "{late}; send the body without pauses (on a slow link, push fewer ops per batch)"
                ),
            );
        }
        source = err.source();
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ServerError::client(
            status,
            "body_too_large",
            "request body too large; push fewer ops per batch",
        )
    } else {
        ServerError::client(status, "bad_body", e.body_text())
    }
}

/// Read a JSON body, answering 400 with serde's line/column on failure.
pub(crate) fn parse_body<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ServerError> {
    let body = body.map_err(body_error)?;
    serde_json::from_slice(&body).map_err(|e| {
        ServerError::bad_request("malformed_json", format!("request body is not valid: {e}"))
    })
}
