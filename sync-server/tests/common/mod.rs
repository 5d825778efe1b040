//! Test harness: a throwaway PostgreSQL, the migrated schema, and the app
//! called without a socket (`Router::oneshot`).
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use crm_pg_testkit::TestPg;
use crm_protocol::wire::LoginResponse;
use crm_protocol::{Hlc, SyncOp};
use crm_sync_server::auth::Role;
use crm_sync_server::sql::PgPool;
use crm_sync_server::{admin, app, db, AppState, Limits};
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

/// The connection every test request comes from unless it says otherwise.
pub const LOCAL_PEER: &str = "127.0.0.1:40000";

/// A login body.
pub fn login_body(email: &str, password: &str) -> Option<Vec<u8>> {
    Some(
        json!({"email": email, "password": password, "device_id": Uuid::now_v7(), "device_name": "test"})
            .to_string()
            .into_bytes(),
    )
}

pub struct Env {
    pub pg: TestPg,
    pub owner: PgPool,
    pub pool: PgPool,
    pub app: Router,
}

impl Env {
    pub async fn start() -> Env {
        Self::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Env {
        let pg = tokio::task::spawn_blocking(|| {
            let pg = TestPg::start().expect("start postgres");
            pg.create_database("crm", "crm_owner", "crm_app")
                .expect("create database");
            pg
        })
        .await
        .expect("join");
        let owner = db::connect(&pg.url("crm_owner", "crm"), 4)
            .await
            .expect("owner pool");
        db::migrate(&owner).await.expect("migrate");
        let pool = db::connect(&pg.url("crm_app", "crm"), 16)
            .await
            .expect("app pool");
        db::check_serving_role(&pool)
            .await
            .expect("crm_app is a role RLS binds");
        let app = app(AppState::new(pool.clone(), limits));
        Env {
            pg,
            owner,
            pool,
            app,
        }
    }

    pub async fn tenant(&self, name: &str) -> Uuid {
        admin::create_tenant(&self.owner, name)
            .await
            .expect("tenant")
    }

    pub async fn user(&self, tenant: Uuid, email: &str, role: Role, team: Option<&str>) -> Uuid {
        admin::add_user(&self.owner, tenant, email, PASSWORD, role, team)
            .await
            .expect("user")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        Self::call_app(&self.app, LOCAL_PEER, &[], method, path, token, body).await
    }

    /// A request to `app` as if from the connection `peer`, with extra headers.
    pub async fn call_app(
        app: &Router,
        peer: &str,
        headers: &[(&str, &str)],
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let mut req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let peer: std::net::SocketAddr = peer.parse().expect("peer address");
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let resp = app.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
            .await
            .expect("body");
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, v)
    }

    pub async fn login(&self, email: &str) -> Device {
        let device_id = Uuid::now_v7();
        let (s, v) = self
            .call(
                Method::POST,
                "/v1/login",
                None,
                Some(
                    json!({"email": email, "password": PASSWORD, "device_id": device_id, "device_name": "test"})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let r: LoginResponse = serde_json::from_value(v).expect("login response");
        Device {
            tenant: r.tenant_id,
            id: r.device_id,
            token: r.token,
            counter: 0,
        }
    }

    pub async fn push(&self, dev: &Device, ops: &[SyncOp]) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/push",
            Some(&dev.token),
            Some(json!({ "ops": ops }).to_string().into_bytes()),
        )
        .await
    }

    pub async fn pull(&self, dev: &Device, cursor: i64) -> (StatusCode, Value) {
        self.call(
            Method::GET,
            &format!("/v1/pull?cursor={cursor}&limit=1000"),
            Some(&dev.token),
            None,
        )
        .await
    }

    /// Pull everything from cursor 0: (table, id) -> row JSON, and evictions.
    pub async fn pull_all(&self, dev: &Device) -> (Vec<Value>, Vec<Value>) {
        let mut cursor = 0;
        let mut rows = Vec::new();
        let mut ev = Vec::new();
        loop {
            let (s, v) = self.pull(dev, cursor).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            rows.extend(v["rows"].as_array().cloned().unwrap_or_default());
            ev.extend(v["evictions"].as_array().cloned().unwrap_or_default());
            cursor = v["cursor"].as_i64().expect("cursor");
            if !v["more"].as_bool().unwrap_or(false) {
                return (rows, ev);
            }
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = crm_sync_server::sql::query_as(sql)
            .fetch_one(&self.owner)
            .await
            .expect("count");
        n
    }

    /// Rows across all tenants, counted as the owner with RLS in force:
    /// the owner must scope itself, so count per tenant.
    pub async fn rows_of(&self, tenant: Uuid) -> i64 {
        let mut tx = db::tenant_tx(&self.owner, tenant).await.expect("tx");
        let (n,): (i64,) = crm_sync_server::sql::query_as("SELECT count(*) FROM rows")
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        n
    }
}

pub struct Device {
    pub tenant: Uuid,
    pub id: Uuid,
    pub token: String,
    pub counter: u32,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

impl Device {
    pub fn hlc(&mut self) -> Hlc {
        self.counter += 1;
        Hlc {
            millis: now_ms(),
            counter: self.counter,
            node: self.id,
        }
    }

    pub fn op(&mut self, table: &str, row: Uuid, fields: Value) -> SyncOp {
        let hlc = self.hlc();
        self.op_at(table, row, fields, hlc)
    }

    pub fn op_at(&mut self, table: &str, row: Uuid, fields: Value, hlc: Hlc) -> SyncOp {
        SyncOp {
            op_id: Uuid::now_v7(),
            table: table.into(),
            row_id: row,
            tenant_id: self.tenant,
            hlc,
            fields: serde_json::from_value(fields).expect("fields"),
        }
    }
}

pub fn contact(name: &str, owner: Option<&str>) -> Value {
    json!({"kind": "person", "display_name": name, "stage": "prospect", "owner": owner,
           "tags": [], "emails": [], "phones": [], "custom": {}})
}

/// An answer read off a socket: status, headers (names lowercased) and the
/// body as JSON (or as a string when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn code(&self) -> Option<&str> {
        self.body["code"].as_str()
    }
}

/// Parse what a server sent on a connection it then closed.
pub fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    Answer {
        status,
        headers,
        body,
    }
}

/// One HTTP/1.1 request over a fresh connection from `from` (a loopback
/// address), read to the end.
pub async fn http_from(
    from: &str,
    server: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("addr"))
        .expect("bind");
    let mut stream = socket.connect(server).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    // A reset after the answer (a server closing early) still leaves it read.
    let _ = stream.read_to_end(&mut raw).await;
    parse_answer(&raw)
}

/// [`http_from`] from 127.0.0.1.
pub async fn http(
    server: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Answer {
    http_from("127.0.0.1", server, method, path, token, body).await
}

/// A login over a socket from `from`.
pub async fn http_login(
    from: &str,
    server: std::net::SocketAddr,
    email: &str,
    password: &str,
) -> Answer {
    let body = login_body(email, password).unwrap_or_default();
    http_from(from, server, "POST", "/v1/login", None, Some(&body)).await
}
