//! The fuzz targets. Each takes any bytes; an error result is fine, a panic
//! or a broken invariant is a failure.

use std::sync::OnceLock;

use crm_core::import::{ImportControl, ImportOptions};
use crm_core::Store;
use crm_pg_testkit::TestPg;
use crm_plugins::{Limits, Manifest, Sandbox};
use crm_sync_server::auth::Role;
use crm_sync_server::{admin, db};

/// The plugin manifest parser.
pub fn manifest(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Manifest::parse(text) {
            // What parses must serialise and parse again to the same.
            let again = serde_json::to_string(&m).expect("a parsed manifest serialises");
            let back = Manifest::parse(&again)
                .unwrap_or_else(|e| panic!("a parsed manifest does not parse again: {e:?}"));
            assert_eq!(back, m, "the manifest changed on a round trip");
        }
    }
}

/// The plugin package reader (developer mode: unsigned packages accepted, so
/// that everything past the signature check is reached).
pub fn package(data: &[u8]) {
    let _ = crm_plugins::package::read_package(data, &[], true);
}

/// The script compiler, with the limits plugins run under.
pub fn script(data: &[u8]) {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    let sandbox = SANDBOX.get_or_init(|| Sandbox::new(Limits::default()));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sandbox.compile(text);
    }
}

/// The CSV import into a fresh (plain, throwaway) store: every contact the
/// report says it created is there, and the database is intact.
pub fn csv_import(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("input.csv");
    std::fs::write(&file, data).expect("write");
    let mut store = Store::open_path(&dir.path().join("db"), None, true).expect("store");
    let control = ImportControl::new();
    if let Ok(report) =
        store.import_contacts(&file, &ImportOptions::default(), &control, &mut |_| {})
    {
        assert_eq!(
            store.count_contacts().expect("count") as u64,
            report.created,
            "contacts stored vs the report's count of created ones"
        );
    }
    assert_eq!(store.integrity_check().expect("integrity"), "ok");
}

/// A sync server over a throwaway PostgreSQL, with a signed-in device.
pub struct Server {
    _pg: TestPg,
    _rt: tokio::runtime::Runtime,
    pub base: String,
    pub token: String,
    pub tenant: String,
    pub device: String,
    http: reqwest::blocking::Client,
}

/// Placeholders in the push corpus, replaced by the live tenant and device
/// ids so that seeds get past the tenant check into the merge.
pub const TENANT_PLACEHOLDER: &str = "00000000-0000-7000-8000-00000000aaaa";
/// The common prefix of the seeds' op and row ids.
pub const IDS_PLACEHOLDER: &str = "01900000-0000-7000-8000-0000000000";
/// The device in a clock's simple (unhyphenated) form.
pub const DEVICE_PLACEHOLDER: &str = "0000000000007000800000000000bbbb";

impl Server {
    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(Server::start)
    }

    fn start() -> Server {
        let pg = TestPg::start().expect("postgres");
        pg.create_database("crm", "crm_owner", "crm_app")
            .expect("database");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let running = rt.block_on(async {
            let owner = db::connect(&pg.url("crm_owner", "crm"), 2)
                .await
                .expect("owner");
            db::migrate(&owner).await.expect("migrate");
            let t = admin::create_tenant(&owner, "Fuzz").await.expect("tenant");
            admin::add_user(
                &owner,
                t,
                "fuzz@acme.test",
                "fuzz password 1",
                Role::Admin,
                None,
            )
            .await
            .expect("user");
            let pool = db::connect(&pg.url("crm_app", "crm"), 8)
                .await
                .expect("pool");
            crm_sync_server::local::spawn(pool, crm_sync_server::Limits::default(), 0)
                .await
                .expect("serve")
        });
        let base = format!("http://127.0.0.1:{}", running.addr.port());
        // The server runs on the runtime's threads until the process ends.
        std::mem::forget(running);
        let http = reqwest::blocking::Client::new();
        let device = uuid::Uuid::now_v7().to_string();
        let login: serde_json::Value = http
            .post(format!("{base}/v1/login"))
            .json(
                &serde_json::json!({"email": "fuzz@acme.test", "password": "fuzz password 1",
                "device_id": device, "device_name": "fuzz"}),
            )
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("login");
        let field = |k: &str| login[k].as_str().expect(k).to_string();
        Server {
            token: field("token"),
            tenant: field("tenant_id"),
            device,
            base,
            _rt: rt,
            _pg: pg,
            http,
        }
    }

    /// The server must answer every request, and never with a server error.
    fn must_answer(&self, what: &str, r: reqwest::Result<reqwest::blocking::Response>) {
        let r = r.unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        let status = r.status();
        let body = r.text().unwrap_or_default();
        assert!(
            !status.is_server_error(),
            "{what}: HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
}

/// `POST /v1/push` with any body.
pub fn push(data: &[u8]) {
    let s = Server::get();
    let r = send_push(s, data);
    s.must_answer("push", r);
}

/// The HTTP status a push body gets (for checking that the seeds reach the
/// merge rather than stopping at validation).
pub fn push_status(data: &[u8]) -> (u16, String) {
    let s = Server::get();
    match send_push(s, data) {
        Ok(r) => (r.status().as_u16(), r.text().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

fn send_push(s: &Server, data: &[u8]) -> reqwest::Result<reqwest::blocking::Response> {
    // Fresh op and row ids each time (the seeds' ids share a prefix), so
    // that a body is merged, not answered as a duplicate of the last one.
    let fresh = uuid::Uuid::now_v7().to_string();
    let body = String::from_utf8_lossy(data)
        .replace(TENANT_PLACEHOLDER, &s.tenant)
        .replace(DEVICE_PLACEHOLDER, &s.device.replace('-', ""))
        .replace(IDS_PLACEHOLDER, &fresh[..34]);
    let body = if std::str::from_utf8(data).is_ok() {
        body.into_bytes()
    } else {
        data.to_vec() // keep invalid UTF-8 invalid
    };
    s.http
        .post(format!("{}/v1/push", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
}

/// `GET /v1/pull?…` with any query string.
pub fn pull(data: &[u8]) {
    let s = Server::get();
    let query: String = String::from_utf8_lossy(data)
        .chars()
        .filter(|c| !c.is_control() && *c != '#')
        .collect();
    // A query no URL can carry is not the server's to answer.
    let Ok(url) = reqwest::Url::parse(&format!("{}/v1/pull?{query}", s.base)) else {
        return;
    };
    let r = s.http.get(url).bearer_auth(&s.token).send();
    s.must_answer("pull", r);
}
