//! Convergence under faults, as a property: several devices make random
//! offline creates, edits, custom fields and deletes, policies, premium
//! schedules and payments, and sync in random orders, while the server
//! restarts, a proxy drops responses after the server has acted on them
//! (the device cannot know whether its push landed), device clocks run
//! up to two minutes off (within the drift the server accepts) and are set
//! right, and devices restart (their clocks start afresh). At the end,
//! after every device has synced twice: every device equals the server
//! (contacts with their custom fields, and each policy's settled
//! payments), the outboxes are empty, nothing was set aside, the server
//! equals the per-field LWW of every op any device ever made (no
//! acknowledged op lost), every payment recorded counts once, and no
//! schedule has two instalments on one date.
//!
//! Real parts: SQLCipher stores, the real server over a throwaway
//! PostgreSQL, real TCP through a fault-injecting proxy.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_core::policies::settle;
use crm_core::{
    ContactDraft, ContactQuery, FixedPassphrase, KeyStoreChoice, Payment, PolicyDraft, Store,
};
use crm_protocol::SyncOp;
use crm_sync_client::{Connection, Options};
use crm_sync_server::auth::Role;
use crm_sync_server::db;
use crm_sync_server::merge::RowData;
use crm_sync_testkit::{Throwaway, PASSWORD};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use uuid::Uuid;
use zeroize::Zeroizing;

const DEVICES: usize = 3;

#[derive(Clone, Debug)]
enum Action {
    Create(usize),
    Edit(usize, usize, usize, u8),
    /// Set (value > 0) or remove a custom field of a contact.
    Custom(usize, usize, usize, u8),
    Delete(usize, usize),
    /// A policy for a contact.
    Policy(usize, usize),
    /// Schedule a policy's premiums.
    Schedule(usize, usize),
    /// Record a payment of (1..=4) × £10.50 against a policy.
    Pay(usize, usize, u8),
    /// Set a device's clock off by one of `SKEWS`.
    Skew(usize, usize),
    /// The device's process ends; the next starts with a fresh clock.
    Reopen(usize),
    Sync(usize),
    DropResponses(usize),
    RestartServer,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..DEVICES).prop_map(Action::Create),
        6 => (0..DEVICES, 0..8usize, 0..3usize, 0..4u8).prop_map(|(d, c, f, v)| Action::Edit(d, c, f, v)),
        3 => (0..DEVICES, 0..8usize, 0..3usize, 0..3u8).prop_map(|(d, c, k, v)| Action::Custom(d, c, k, v)),
        1 => (0..DEVICES, 0..8usize).prop_map(|(d, c)| Action::Delete(d, c)),
        2 => (0..DEVICES, 0..3usize).prop_map(|(d, c)| Action::Policy(d, c)),
        3 => (0..DEVICES, 0..2usize).prop_map(|(d, p)| Action::Schedule(d, p)),
        3 => (0..DEVICES, 0..2usize, 1..5u8).prop_map(|(d, p, n)| Action::Pay(d, p, n)),
        1 => (0..DEVICES, 0..SKEWS.len()).prop_map(|(d, s)| Action::Skew(d, s)),
        1 => (0..DEVICES).prop_map(Action::Reopen),
        5 => (0..DEVICES).prop_map(Action::Sync),
        1 => (1..3usize).prop_map(Action::DropResponses),
        1 => Just(Action::RestartServer),
    ]
}

/// Clock offsets a device may run with, milliseconds: within the drift the
/// server accepts.
const SKEWS: [i64; 4] = [0, 120_000, -120_000, 90_000];

/// Each device's clock offset (devices are numbered in a case).
static OFFSETS: [std::sync::atomic::AtomicI64; DEVICES] =
    [const { std::sync::atomic::AtomicI64::new(0) }; DEVICES];

fn wall_of(device: usize) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    (now + OFFSETS[device].load(Ordering::SeqCst)).max(0) as u64
}

fn wall0() -> u64 {
    wall_of(0)
}
fn wall1() -> u64 {
    wall_of(1)
}
fn wall2() -> u64 {
    wall_of(2)
}
const WALLS: [fn() -> u64; DEVICES] = [wall0, wall1, wall2];

const CUSTOM_KEYS: [&str; 3] = ["score", "segment", "tier"];

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
    server: Throwaway,
    proxy: Proxy,
}

impl World {
    fn start() -> World {
        let server = Throwaway::start().expect("server");
        let proxy = server.rt.block_on(start_proxy(server.addr()));
        World { server, proxy }
    }

    fn restart_server(&mut self) {
        // Same port: the proxy's target stays right.
        self.server.restart().expect("serve again");
        *self.proxy.target.lock().unwrap_or_else(|e| e.into_inner()) = self.server.addr();
    }

    /// A new tenant with one admin account: each case starts clean.
    fn tenant(&self, case: usize) -> (Uuid, String) {
        let email = format!("admin{case}@t{}.test", Uuid::new_v4().simple());
        let t = self
            .server
            .tenant("T", &[(email.as_str(), Role::Admin, None)])
            .expect("tenant");
        (t, email)
    }

    /// Live contacts on the server: id -> (fields we compare).
    fn server_contacts(&self, tenant: Uuid) -> BTreeMap<Uuid, BTreeMap<String, Value>> {
        self.server.rt.block_on(async {
            let mut tx = db::tenant_tx(&self.server.owner, tenant).await.expect("tx");
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
    ["display_name", "city", "stage", "job_title", "custom"]
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
    dir: tempfile::TempDir,
}

fn pass() -> FixedPassphrase {
    FixedPassphrase(Zeroizing::new("profile passphrase".into()))
}

/// Each policy's payment rows on the server (instalments and payments
/// received).
fn server_payments(world: &World, tenant: Uuid) -> BTreeMap<Uuid, Vec<Payment>> {
    let rows: Vec<(Uuid, Value)> = world.server.rt.block_on(async {
        let mut tx = db::tenant_tx(&world.server.owner, tenant)
            .await
            .expect("tx");
        crm_sync_server::sql::query_as(
            "SELECT id, fields FROM rows WHERE tbl = 'payments' AND NOT deleted",
        )
        .fetch_all(&mut *tx)
        .await
        .expect("rows")
    });
    let mut by_policy: BTreeMap<Uuid, Vec<Payment>> = BTreeMap::new();
    for (id, mut fields) in rows {
        fields["id"] = Value::String(id.to_string());
        let p: Payment = serde_json::from_value(fields).expect("a payment row");
        by_policy.entry(p.policy_id).or_default().push(p);
    }
    by_policy
}

/// A settled payment as compared: what is due and paid, not the ids or
/// the dates of the payment that settled it (equal payments on one day
/// may settle in either order).
fn money(list: &[Payment]) -> Vec<(String, i64, i64)> {
    list.iter()
        .map(|p| (p.due_date.clone(), p.amount_due_minor, p.amount_paid_minor))
        .collect()
}

fn record_outbox(store: &Store, ops: &mut HashMap<Uuid, SyncOp>) {
    for op in store.outbox_batch(1_000_000).expect("outbox") {
        ops.entry(op.op_id).or_insert(op);
    }
}

fn run_case(world: &mut World, case: usize, actions: &[Action]) -> Result<(), TestCaseError> {
    let (tenant, email) = world.tenant(case);
    let (conn, mut devices) = sign_in_devices(world, &email);
    let mut ids: Vec<Uuid> = Vec::new();
    let mut policies: Vec<Uuid> = Vec::new();
    let mut paid_in: i64 = 0;
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
            Action::Custom(d, k, key, v) => {
                if let Some(id) = ids.get(*k) {
                    let value = (*v > 0).then(|| format!("v{v}"));
                    let change = vec![(CUSTOM_KEYS[*key].to_string(), value)];
                    let _ = devices[*d].store.set_contacts_custom(&[(*id, change)]);
                }
            }
            Action::Delete(d, k) => {
                if let Some(id) = ids.get(*k) {
                    let _ = devices[*d].store.delete_contact(*id);
                }
            }
            Action::Policy(d, k) => {
                if let Some(id) = ids.get(*k) {
                    let made = devices[*d].store.create_policy(&PolicyDraft {
                        contact_id: Some(*id),
                        policy_number: format!("P-{}", policies.len()),
                        carrier: "Aviva".into(),
                        line_of_business: "home".into(),
                        premium: "25.00".into(),
                        currency: Some("GBP".into()),
                        frequency: Some("quarterly".into()),
                        effective: "2025-01-01".into(),
                        expiry: Some("2025-12-31".into()),
                        status: Some("active".into()),
                    });
                    if let Ok(p) = made {
                        policies.push(p.id);
                    }
                }
            }
            Action::Schedule(d, p) => {
                if let Some(id) = policies.get(*p) {
                    let _ = devices[*d].store.schedule_premiums(*id);
                }
            }
            Action::Pay(d, p, n) => {
                if let Some(id) = policies.get(*p) {
                    let day =
                        chrono::NaiveDate::from_ymd_opt(2025, 1, 1 + *n as u32).expect("date");
                    let amount = format!("{}.50", 10 * *n as i64);
                    if devices[*d]
                        .store
                        .record_payment(*id, &amount, day, "card", None)
                        .is_ok()
                    {
                        paid_in += 1_000 * *n as i64 + 50;
                    }
                }
            }
            Action::Skew(d, s) => OFFSETS[*d].store(SKEWS[*s], Ordering::SeqCst),
            Action::Reopen(d) => {
                let dev = &mut devices[*d];
                dev.store = Store::open(dev.dir.path(), &pass()).expect("reopen");
                dev.store.set_wall_clock(WALLS[*d]);
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
    // Payments: every device settles each policy as the server's rows do,
    // every payment recorded counts once, no date has two instalments.
    check_money(world, tenant, &devices, paid_in)?;
    Ok(())
}

#[test]
fn devices_converge_with_the_server_through_faults_and_restarts() {
    run_property(proptest::collection::vec(action(), 8..40), run_case);
}

#[derive(Clone, Debug)]
enum MoneyAction {
    Schedule(usize),
    Pay(usize, u8),
    Skew(usize, usize),
    Reopen(usize),
    Sync(usize),
    DropResponses(usize),
}

fn money_action() -> impl Strategy<Value = MoneyAction> {
    prop_oneof![
        2 => (0..DEVICES).prop_map(MoneyAction::Schedule),
        4 => (0..DEVICES, 1..5u8).prop_map(|(d, n)| MoneyAction::Pay(d, n)),
        1 => (0..DEVICES, 0..SKEWS.len()).prop_map(|(d, s)| MoneyAction::Skew(d, s)),
        1 => (0..DEVICES).prop_map(MoneyAction::Reopen),
        3 => (0..DEVICES).prop_map(MoneyAction::Sync),
        1 => (1..3usize).prop_map(MoneyAction::DropResponses),
    ]
}

/// One policy known to every device, then schedules and payments made on
/// any of them between random syncs, with clocks off, restarts and lost
/// answers: every device settles the policy as the server's rows do,
/// every payment counts once, and the schedule has one instalment per
/// date.
fn run_money_case(
    world: &mut World,
    case: usize,
    actions: &[MoneyAction],
) -> Result<(), TestCaseError> {
    let (tenant, email) = world.tenant(case);
    let (conn, mut devices) = sign_in_devices(world, &email);
    let mut draft = ContactDraft::default();
    draft.set("first_name", "Payer").expect("draft");
    let contact = devices[0].store.create_contact(&draft).expect("contact");
    let policy = devices[0]
        .store
        .create_policy(&PolicyDraft {
            contact_id: Some(contact.id),
            policy_number: "P-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "home".into(),
            premium: "25.00".into(),
            currency: Some("GBP".into()),
            frequency: Some("quarterly".into()),
            effective: "2025-01-01".into(),
            expiry: Some("2025-12-31".into()),
            status: Some("active".into()),
        })
        .expect("policy")
        .id;
    for dev in devices.iter_mut() {
        crm_sync_client::sync(&mut dev.store, &conn, &dev.token)
            .map_err(|e| TestCaseError::fail(format!("setup sync: {e}")))?;
    }
    let mut paid_in = 0i64;
    for a in actions {
        match a {
            MoneyAction::Schedule(d) => {
                devices[*d]
                    .store
                    .schedule_premiums(policy)
                    .expect("schedule");
            }
            MoneyAction::Pay(d, n) => {
                let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1 + *n as u32).expect("date");
                devices[*d]
                    .store
                    .record_payment(policy, &format!("{}.50", 10 * *n as i64), day, "card", None)
                    .expect("payment");
                paid_in += 1_000 * *n as i64 + 50;
            }
            MoneyAction::Skew(d, s) => OFFSETS[*d].store(SKEWS[*s], Ordering::SeqCst),
            MoneyAction::Reopen(d) => {
                let dev = &mut devices[*d];
                dev.store = Store::open(dev.dir.path(), &pass()).expect("reopen");
                dev.store.set_wall_clock(WALLS[*d]);
            }
            MoneyAction::Sync(d) => {
                let dev = &mut devices[*d];
                let _ = crm_sync_client::sync(&mut dev.store, &conn, &dev.token);
            }
            MoneyAction::DropResponses(k) => world.proxy.drop_next.store(*k, Ordering::SeqCst),
        }
    }
    world.proxy.drop_next.store(0, Ordering::SeqCst);
    for _ in 0..2 {
        for dev in devices.iter_mut() {
            crm_sync_client::sync(&mut dev.store, &conn, &dev.token)
                .map_err(|e| TestCaseError::fail(format!("final sync: {e}")))?;
        }
    }
    check_money(world, tenant, &devices, paid_in)?;
    Ok(())
}

#[test]
fn money_received_and_schedules_converge_without_loss_or_doubling() {
    run_property(
        proptest::collection::vec(money_action(), 4..24),
        run_money_case,
    );
}

/// Run `run` on `CRM_SYNC_PROPTEST_CASES` (default 16) sequences of
/// actions against one world, each case in a tenant of its own; a failure
/// shows the server's log tail.
fn run_property<A: std::fmt::Debug>(
    actions: impl Strategy<Value = Vec<A>>,
    run: fn(&mut World, usize, &[A]) -> Result<(), TestCaseError>,
) {
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
    let result = runner.run(&actions, |actions| {
        case.set(case.get() + 1);
        run(&mut world.borrow_mut(), case.get(), &actions)
    });
    if let Err(e) = result {
        panic!(
            "{e}\nserver log tail:\n{}",
            tail(&world.borrow().server.pg.log())
        );
    }
}

/// `DEVICES` profiles signed in to `email`'s account through the proxy,
/// each on its own wall clock (set right at the start of a case), and the
/// client they sync with (small batches and pages, quick retries).
fn sign_in_devices(world: &World, email: &str) -> (Connection, Vec<Device>) {
    let url = format!("http://{}", world.proxy.addr);
    let opts = Options {
        batch: 7,
        page: 5,
        attempts: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
    };
    let conn = Connection::new(&url, opts).expect("client");
    let devices = (0..DEVICES)
        .map(|i| {
            let dir = tempfile::tempdir().expect("tmp");
            let mut store =
                Store::create(dir.path(), KeyStoreChoice::Passphrase, &pass()).expect("profile");
            let resp = conn
                .login(email, PASSWORD, store.identity().device_id, "prop")
                .expect("login");
            store
                .bind_to_server(&url, email, resp.tenant_id, resp.user_id, &resp.role)
                .expect("bind");
            OFFSETS[i].store(0, Ordering::SeqCst);
            store.set_wall_clock(WALLS[i]);
            Device {
                store,
                token: resp.token,
                dir,
            }
        })
        .collect();
    (conn, devices)
}

/// Every device settles each policy as the server's rows do, every payment
/// recorded (`paid_in`, minor units) counts once, and no schedule has two
/// instalments on one date.
fn check_money(
    world: &World,
    tenant: Uuid,
    devices: &[Device],
    paid_in: i64,
) -> Result<(), TestCaseError> {
    let on_server = server_payments(world, tenant);
    for (i, dev) in devices.iter().enumerate() {
        for (policy, rows) in &on_server {
            let here = dev.store.payments_of(*policy).expect("payments");
            let settled = settle(rows.clone());
            prop_assert_eq!(
                money(&here),
                money(&settled),
                "device {} policy {}",
                i,
                policy
            );
        }
    }
    let total: i64 = on_server
        .values()
        .flatten()
        .map(|p| p.amount_paid_minor)
        .sum();
    prop_assert_eq!(total, paid_in, "money received, counted once");
    for rows in on_server.values() {
        let mut dates: Vec<&str> = rows
            .iter()
            .filter(|p| p.amount_due_minor > 0)
            .map(|p| p.due_date.as_str())
            .collect();
        dates.sort_unstable();
        let n = dates.len();
        dates.dedup();
        prop_assert_eq!(dates.len(), n, "one instalment per date");
    }
    Ok(())
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
