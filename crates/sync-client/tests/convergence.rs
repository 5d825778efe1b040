//! Convergence under faults, as a property: several devices make random
//! offline creates, edits and deletes and sync in random orders, while the
//! server restarts and a proxy drops responses after the server has acted
//! on them (the device cannot know whether its push landed). At the end,
//! after every device has synced twice: every device equals the server, the
//! outboxes are empty, nothing was set aside, and the server equals the
//! per-field LWW of every op any device ever made (no acknowledged op lost).
//!
//! Real parts: SQLCipher stores, the real server over a throwaway
//! PostgreSQL, real TCP through a fault-injecting proxy.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_core::{ContactDraft, ContactQuery, FixedPassphrase, KeyStoreChoice, Store};
use crm_pg_testkit::TestPg;
use crm_protocol::SyncOp;
use crm_sync_client::{Connection, Options};
use crm_sync_server::auth::Role;
use crm_sync_server::local::Running;
use crm_sync_server::merge::RowData;
use crm_sync_server::sql::PgPool;
use crm_sync_server::{admin, db, Limits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use uuid::Uuid;
use zeroize::Zeroizing;

const DEVICES: usize = 3;
const PW: &str = "account password 1";

#[derive(Clone, Debug)]
enum Action {
    Create(usize),
    Edit(usize, usize, usize, u8),
    Delete(usize, usize),
    Sync(usize),
    DropResponses(usize),
    RestartServer,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..DEVICES).prop_map(Action::Create),
        6 => (0..DEVICES, 0..8usize, 0..3usize, 0..4u8).prop_map(|(d, c, f, v)| Action::Edit(d, c, f, v)),
        1 => (0..DEVICES, 0..8usize).prop_map(|(d, c)| Action::Delete(d, c)),
        5 => (0..DEVICES).prop_map(Action::Sync),
        1 => (1..3usize).prop_map(Action::DropResponses),
        1 => Just(Action::RestartServer),
    ]
}

/// A TCP proxy that can drop the server's answer: it forwards the request,
/// waits for the first byte of the response, then closes both sides.
struct Proxy {
    addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    drop_next: Arc<AtomicUsize>,
}

async fn start_proxy(target: SocketAddr) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy bind");
    let addr = listener.local_addr().expect("addr");
    let target = Arc::new(Mutex::new(target));
    let drop_next = Arc::new(AtomicUsize::new(0));
    let (t, d) = (target.clone(), drop_next.clone());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let to = *t.lock().unwrap_or_else(|e| e.into_inner());
            let d = d.clone();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                let dropping = d
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if !dropping {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let (mut cr, _cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
                let mut first = [0u8; 1];
                let _ = sr.read(&mut first).await;
                up.abort();
            });
        }
    });
    Proxy {
        addr,
        target,
        drop_next,
    }
}

struct World {
    pg: TestPg,
    rt: tokio::runtime::Runtime,
    owner: PgPool,
    server: Option<Running>,
    proxy: Proxy,
}

impl World {
    fn start() -> World {
        let pg = TestPg::start().expect("postgres");
        pg.create_database("crm", "crm_owner", "crm_app")
            .expect("database");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (owner, server, proxy) = rt.block_on(async {
            let owner = db::connect(&pg.url("crm_owner", "crm"), 2)
                .await
                .expect("owner");
            db::migrate(&owner).await.expect("migrate");
            let pool = db::connect(&pg.url("crm_app", "crm"), 8)
                .await
                .expect("pool");
            let server = crm_sync_server::local::spawn(pool, Limits::default(), 0)
                .await
                .expect("serve");
            let proxy = start_proxy(server.addr).await;
            (owner, server, proxy)
        });
        World {
            pg,
            rt,
            owner,
            server: Some(server),
            proxy,
        }
    }

    fn restart_server(&mut self) {
        let port = self.server.as_ref().map(|s| s.addr.port()).unwrap_or(0);
        if let Some(s) = self.server.take() {
            let _g = self.rt.enter();
            s.stop();
        }
        let url = self.pg.url("crm_app", "crm");
        let server = self.rt.block_on(async move {
            let pool = db::connect(&url, 8).await.expect("pool");
            crm_sync_server::local::spawn(pool, Limits::default(), port)
                .await
                .expect("serve again")
        });
        *self.proxy.target.lock().unwrap_or_else(|e| e.into_inner()) = server.addr;
        self.server = Some(server);
    }

    /// A new tenant with one admin account: each case starts clean.
    fn tenant(&self, case: usize) -> (Uuid, String) {
        let email = format!("admin{case}@t{}.test", Uuid::new_v4().simple());
        self.rt.block_on(async {
            let t = admin::create_tenant(&self.owner, "T")
                .await
                .expect("tenant");
            admin::add_user(&self.owner, t, &email, PW, Role::Admin, None)
                .await
                .expect("user");
            (t, email)
        })
    }

    /// Live contacts on the server: id -> (fields we compare).
    fn server_contacts(&self, tenant: Uuid) -> BTreeMap<Uuid, BTreeMap<String, Value>> {
        self.rt.block_on(async {
            let mut tx = db::tenant_tx(&self.owner, tenant).await.expect("tx");
            let rows: Vec<(Uuid, Value)> = crm_sync_server::sql::query_as(
                "SELECT id, fields FROM rows WHERE tbl = 'contacts' AND NOT deleted",
            )
            .fetch_all(&mut *tx)
            .await
            .expect("rows");
            rows.into_iter()
                .map(|(id, f)| (id, compared(f.as_object().cloned().unwrap_or_default())))
                .collect()
        })
    }
}

const FIELDS: [&str; 3] = ["city", "stage", "job_title"];
const STAGES: [&str; 4] = ["lead", "client", "lost", "prospect"];

fn compared(m: serde_json::Map<String, Value>) -> BTreeMap<String, Value> {
    ["display_name", "city", "stage", "job_title"]
        .iter()
        .map(|f| (f.to_string(), m.get(*f).cloned().unwrap_or(Value::Null)))
        .collect()
}

fn local_contacts(store: &Store) -> BTreeMap<Uuid, BTreeMap<String, Value>> {
    let q = ContactQuery {
        limit: Some(100_000),
        ..ContactQuery::default()
    };
    store
        .list_contacts(&q)
        .expect("list")
        .into_iter()
        .map(|c| {
            let v = serde_json::to_value(&c).expect("json");
            (c.id, compared(v.as_object().cloned().unwrap_or_default()))
        })
        .collect()
}

struct Device {
    store: Store,
    token: String,
    _dir: tempfile::TempDir,
}

fn record_outbox(store: &Store, ops: &mut HashMap<Uuid, SyncOp>) {
    for op in store.outbox_batch(1_000_000).expect("outbox") {
        ops.entry(op.op_id).or_insert(op);
    }
}

fn run_case(world: &mut World, case: usize, actions: &[Action]) -> Result<(), TestCaseError> {
    let (tenant, email) = world.tenant(case);
    let url = format!("http://{}", world.proxy.addr);
    let opts = Options {
        batch: 7,
        page: 5,
        attempts: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
    };
    let conn = Connection::new(&url, opts).expect("client");
    let mut devices: Vec<Device> = (0..DEVICES)
        .map(|_| {
            let dir = tempfile::tempdir().expect("tmp");
            let pass = FixedPassphrase(Zeroizing::new("profile passphrase".into()));
            let mut store =
                Store::create(dir.path(), KeyStoreChoice::Passphrase, &pass).expect("profile");
            let resp = conn
                .login(&email, PW, store.identity().device_id, "prop")
                .expect("login");
            store
                .bind_to_server(&url, &email, resp.tenant_id, resp.user_id, &resp.role)
                .expect("bind");
            Device {
                store,
                token: resp.token,
                _dir: dir,
            }
        })
        .collect();
    let mut ids: Vec<Uuid> = Vec::new();
    let mut all_ops: HashMap<Uuid, SyncOp> = HashMap::new();
    let mut n = 0;
    for a in actions {
        match a {
            Action::Create(d) => {
                n += 1;
                let mut draft = ContactDraft::default();
                draft.set("first_name", &format!("P{n}")).expect("draft");
                let c = devices[*d].store.create_contact(&draft).expect("create");
                ids.push(c.id);
            }
            Action::Edit(d, k, f, v) => {
                if let Some(id) = ids.get(*k) {
                    let value = if FIELDS[*f] == "stage" {
                        STAGES[*v as usize].to_string()
                    } else {
                        format!("{}{v}", FIELDS[*f])
                    };
                    // Not yet pulled here, or deleted: the edit is refused
                    // locally, as for a user.
                    let _ = devices[*d]
                        .store
                        .update_contact(*id, &[(FIELDS[*f].to_string(), value)]);
                }
            }
            Action::Delete(d, k) => {
                if let Some(id) = ids.get(*k) {
                    let _ = devices[*d].store.delete_contact(*id);
                }
            }
            Action::Sync(d) => {
                let dev = &mut devices[*d];
                record_outbox(&dev.store, &mut all_ops);
                // Faults make a run fail; the next one continues.
                let _ = crm_sync_client::sync(&mut dev.store, &conn, &dev.token);
            }
            Action::DropResponses(k) => world.proxy.drop_next.store(*k, Ordering::SeqCst),
            Action::RestartServer => world.restart_server(),
        }
    }
    // Heal, then everyone syncs twice (push all, then pull all).
    world.proxy.drop_next.store(0, Ordering::SeqCst);
    for _ in 0..2 {
        for dev in devices.iter_mut() {
            record_outbox(&dev.store, &mut all_ops);
            crm_sync_client::sync(&mut dev.store, &conn, &dev.token)
                .map_err(|e| TestCaseError::fail(format!("final sync: {e}")))?;
        }
    }
    let server = world.server_contacts(tenant);
    for (i, dev) in devices.iter().enumerate() {
        let status = dev.store.sync_status().expect("status");
        prop_assert_eq!(status.pending, 0, "device {} outbox", i);
        prop_assert_eq!(status.quarantined, 0, "device {} set aside ops", i);
        prop_assert_eq!(
            &local_contacts(&dev.store),
            &server,
            "device {} differs from the server",
            i
        );
    }
    // The server is the LWW of every op ever made: none was lost.
    let mut model: BTreeMap<Uuid, RowData> = BTreeMap::new();
    for op in all_ops.values().filter(|o| o.table == "contacts") {
        model
            .entry(op.row_id)
            .or_default()
            .apply(op.hlc, &op.fields);
    }
    let expected: BTreeMap<Uuid, BTreeMap<String, Value>> = model
        .into_iter()
        .filter(|(_, r)| !r.deleted)
        .map(|(id, r)| (id, compared(r.fields)))
        .collect();
    prop_assert_eq!(&server, &expected, "server vs LWW of all ops");
    Ok(())
}

#[test]
fn devices_converge_with_the_server_through_faults_and_restarts() {
    let cases: u32 = std::env::var("CRM_SYNC_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let world = std::cell::RefCell::new(World::start());
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 20,
        ..Config::default()
    });
    let case = std::cell::Cell::new(0);
    let result = runner.run(&proptest::collection::vec(action(), 8..40), |actions| {
        case.set(case.get() + 1);
        run_case(&mut world.borrow_mut(), case.get(), &actions)
    });
    if let Err(e) = result {
        panic!("{e}\nserver log tail:\n{}", tail(&world.borrow().pg.log()));
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
