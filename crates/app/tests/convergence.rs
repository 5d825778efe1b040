//! Convergence with the app's own automatic sync, as a property: three
//! desktop apps (three agents of one team) sync by themselves, the way the
//! shell drives them (a thread asking `sync_auto` every few milliseconds,
//! another listening for the server's notices), while the test makes
//! edits, payments and premium schedules on all three concurrently with
//! those syncs. Meanwhile a device falls asleep (offline: every connection
//! refused and open ones dropped) for a long stretch while the others work
//! on, the network is cut in the middle of answers (a pull's page, a
//! push's acknowledgement, the notice stream), and the server restarts.
//!
//! Once the faults stop, with no click: every device reaches "synced"
//! with nothing waiting and nothing set aside, every device shows what
//! the server holds, no contact made anywhere is missing, each field only
//! one device writes ends as that device last wrote it (no edit lost), a
//! field several write ends as one of the values written, every payment
//! recorded counts once, and the schedule has one instalment per date.
//!
//! Real parts: encrypted profiles, the real server over a throwaway
//! PostgreSQL, real TCP through a fault-injecting proxy per device.

crm_plugins::counting_allocator!();

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crm_app::dto::*;
use crm_app::App;
use crm_sync_server::auth::Role;
use crm_sync_server::db;
use crm_sync_testkit::{Throwaway, PASSWORD};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

const PASS: &str = "a long enough passphrase";
const DEVICES: usize = 3;
/// The detail only device `d` ever writes: its last write must win.
const OWN_FIELD: [&str; DEVICES] = ["city", "job_title", "region"];
/// The detail every device writes: one of the values written must win.
const SHARED_FIELD: &str = "address_line1";
/// How long healed devices get to agree, by themselves.
const SETTLE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
enum Action {
    Create(usize),
    /// Device, contact, value: the device's own field.
    EditOwn(usize, usize, u8),
    /// Device, contact, value: the field everyone writes.
    EditShared(usize, usize, u8),
    /// Record (1..=4) × £10.50 against the policy.
    Pay(usize, u8),
    Schedule(usize),
    /// The device goes offline (asleep) / comes back.
    Sleep(usize),
    Wake(usize),
    /// The next (1..=3) answers to the device are cut after a few bytes.
    Cut(usize, usize),
    RestartServer,
    /// Let the background syncs run for a moment (×40 ms).
    Pause(u8),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => (0..DEVICES).prop_map(Action::Create),
        5 => (0..DEVICES, 0..6usize, 0..4u8).prop_map(|(d, c, v)| Action::EditOwn(d, c, v)),
        3 => (0..DEVICES, 0..6usize, 0..4u8).prop_map(|(d, c, v)| Action::EditShared(d, c, v)),
        3 => (0..DEVICES, 1..5u8).prop_map(|(d, n)| Action::Pay(d, n)),
        1 => (0..DEVICES).prop_map(Action::Schedule),
        1 => (0..DEVICES).prop_map(Action::Sleep),
        1 => (0..DEVICES).prop_map(Action::Wake),
        2 => (0..DEVICES, 1..4usize).prop_map(|(d, n)| Action::Cut(d, n)),
        1 => Just(Action::RestartServer),
        3 => (1..10u8).prop_map(Action::Pause),
    ]
}

/// A TCP proxy for one device: forwards to the server, or refuses and
/// drops everything while the device is asleep, or cuts the next answers
/// after their first bytes (headers through, body cut: a network lost in
/// the middle of a pull's page or a push's acknowledgement).
#[derive(Clone)]
struct Proxy {
    addr: SocketAddr,
    asleep: Arc<AtomicBool>,
    cut_next: Arc<AtomicUsize>,
    /// Each connection is held back this long first (a slow network).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Bumped to drop every open connection.
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy bind");
        let proxy = Proxy {
            addr: listener.local_addr().expect("addr"),
            asleep: Arc::new(AtomicBool::new(false)),
            cut_next: Arc::new(AtomicUsize::new(0)),
            delay_ms: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            generation: Arc::new(tokio::sync::watch::channel(0).0),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if p.asleep.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let cutting = p
                    .cut_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let mut dropped = p.generation.subscribe();
                let delay = Duration::from_millis(p.delay_ms.load(Ordering::SeqCst));
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = forward(client, server, cutting) => {}
                        _ = dropped.changed() => {}
                    }
                });
            }
        });
        proxy
    }

    fn sleep(&self) {
        self.asleep.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn wake(&self) {
        self.asleep.store(false, Ordering::SeqCst);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Copy both ways; when `cutting`, stop after the answer's first 200
/// bytes and close both sides.
async fn forward(client: tokio::net::TcpStream, server: tokio::net::TcpStream, cutting: bool) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
    if cutting {
        let mut first = [0u8; 200];
        let mut got = 0;
        while got < first.len() {
            match sr.read(&mut first[got..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        let _ = cw.write_all(&first[..got]).await;
        up.abort();
        return;
    }
    let _ = tokio::io::copy(&mut sr, &mut cw).await;
    up.abort();
}

/// One desktop app with the shell's two sync threads.
struct Device {
    app: Arc<App>,
    proxy: Proxy,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Device {
    fn start(proxy: Proxy, email: &str) -> Device {
        let dir = tempfile::tempdir().expect("tmp");
        let app = Arc::new(App::new(dir.path().join("profile")));
        app.profile_create(Some(PASS.into()), "GB")
            .expect("profile");
        app.sync_login(LoginArgs {
            server: proxy.url(),
            email: email.into(),
            password: PASSWORD.into(),
            new_password: None,
        })
        .expect("sign in");
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (app.clone(), stop.clone());
        let auto = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                a.wait_for_sync(Duration::from_millis(50));
                let _ = a.sync_auto();
            }
        });
        let (a, s) = (app.clone(), stop.clone());
        let listen = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if a.listen_for_changes().is_err() {
                    a.pause_listening(Duration::from_millis(200));
                }
            }
        });
        Device {
            app,
            proxy,
            stop,
            threads: vec![auto, listen],
            _dir: dir,
        }
    }

    fn shut(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        // Ends the notice stream the listener is blocked on.
        self.proxy.sleep();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A case that fails half way still stops its device's threads, so they
/// do not sync on into the next case.
impl Drop for Device {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Clears a flag however the scope ends (a panic included), so threads
/// that watch it stop.
struct Lower(Arc<AtomicBool>);

impl Drop for Lower {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Stop every device's threads; what each last said of its sync, for a
/// failure's message.
fn shut_all(devices: &mut [Device]) -> Vec<String> {
    let states = devices
        .iter()
        .map(|d| format!("{:?}", d.app.sync_state()))
        .collect();
    for d in devices.iter_mut() {
        d.shut();
    }
    states
}

fn only(field: &str, value: &str) -> ContactForm {
    let mut form = ContactForm {
        changed: Some(vec![field.to_string()]),
        ..Default::default()
    };
    form.details.insert(field.into(), value.into());
    form
}

/// What the test did, to check the end state against.
#[derive(Default)]
struct Made {
    contacts: Vec<String>,
    /// (contact, device) -> the last value that device wrote to its field.
    own: BTreeMap<(String, usize), String>,
    /// contact -> every value written to the shared field.
    shared: BTreeMap<String, BTreeSet<String>>,
    /// Minor units recorded.
    paid_in: i64,
}

fn run_case(server: &mut Throwaway, case: usize, actions: &[Action]) -> Result<(), TestCaseError> {
    let emails: Vec<String> = (0..DEVICES)
        .map(|d| format!("agent{d}.case{case}@t{}.test", Uuid::new_v4().simple()))
        .collect();
    let accounts: Vec<(&str, Role, Option<&str>)> = emails
        .iter()
        .map(|e| (e.as_str(), Role::Agent, Some("north")))
        .collect();
    let tenant = server.tenant("T", &accounts).expect("tenant");
    let target = server.addr();
    let mut devices: Vec<Device> = emails
        .iter()
        .map(|email| {
            let proxy = server.rt.block_on(Proxy::start(target));
            Device::start(proxy, email)
        })
        .collect();

    // One contact with a policy everyone has, for payments.
    let payer = devices[0]
        .app
        .contact_create(ContactForm {
            first_name: "Payer".into(),
            ..Default::default()
        })
        .expect("contact")
        .id;
    let policy = devices[0]
        .app
        .policy_create(PolicyForm {
            contact_id: payer.clone(),
            policy_number: "P-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "home".into(),
            premium: "25.00".into(),
            currency: "GBP".into(),
            frequency: "quarterly".into(),
            effective: "2025-01-01".into(),
            expiry: "2025-12-31".into(),
            status: "active".into(),
        })
        .expect("policy")
        .id;
    let mut made = Made {
        contacts: vec![payer.clone()],
        ..Made::default()
    };
    wait_until("everyone has the policy", Duration::from_secs(20), || {
        devices.iter().all(|d| {
            d.app
                .contact_detail(&payer)
                .is_ok_and(|c| c.policies.len() == 1)
        })
    })?;

    let mut n = 0;
    for a in actions {
        match a {
            Action::Create(d) => {
                n += 1;
                let form = ContactForm {
                    first_name: format!("P{n}"),
                    ..Default::default()
                };
                made.contacts
                    .push(devices[*d].app.contact_create(form).expect("create").id);
            }
            Action::EditOwn(d, k, v) => {
                if let Some(id) = made.contacts.get(*k) {
                    let value = format!("{}-{v}-{n}", OWN_FIELD[*d]);
                    n += 1;
                    // Not pulled here yet: refused, as for a person.
                    if devices[*d]
                        .app
                        .contact_update(id, only(OWN_FIELD[*d], &value))
                        .is_ok()
                    {
                        made.own.insert((id.clone(), *d), value);
                    }
                }
            }
            Action::EditShared(d, k, v) => {
                if let Some(id) = made.contacts.get(*k) {
                    let value = format!("{v} High Street ({d})");
                    if devices[*d]
                        .app
                        .contact_update(id, only(SHARED_FIELD, &value))
                        .is_ok()
                    {
                        made.shared.entry(id.clone()).or_default().insert(value);
                    }
                }
            }
            Action::Pay(d, k) => {
                let form = PaymentForm {
                    policy_id: policy.clone(),
                    amount: format!("{}.50", 10 * *k as i64),
                    method: "card".into(),
                    date: format!("2025-01-0{k}"),
                    reference: String::new(),
                };
                devices[*d].app.payment_record(form).expect("payment");
                made.paid_in += 1_000 * *k as i64 + 50;
            }
            Action::Schedule(d) => {
                devices[*d].app.policy_schedule(&policy).expect("schedule");
            }
            Action::Sleep(d) => devices[*d].proxy.sleep(),
            Action::Wake(d) => devices[*d].proxy.wake(),
            Action::Cut(d, k) => devices[*d].proxy.cut_next.store(*k, Ordering::SeqCst),
            Action::RestartServer => server.restart().expect("serve again"),
            Action::Pause(k) => std::thread::sleep(Duration::from_millis(40 * *k as u64)),
        }
    }

    // The faults stop; nobody clicks anything.
    for d in &devices {
        d.proxy.cut_next.store(0, Ordering::SeqCst);
        d.proxy.wake();
    }
    let on_server = || server_contacts(server, tenant);
    // A device can be synced with the server's contacts a moment before a
    // colleague's notice brings it their payments, so settling waits for the
    // money as well: every device settles the policy alike, every payment counted.
    let settlement = |d: &Device| -> Vec<(String, i64, i64)> {
        d.app
            .contact_detail(&payer)
            .ok()
            .and_then(|detail| detail.payments.get(&policy).cloned())
            .unwrap_or_default()
            .iter()
            .map(|p| (p.due_date.clone(), p.amount_due_minor, p.amount_paid_minor))
            .collect()
    };
    let result = wait_until(
        "every device synced and equal to the server",
        SETTLE,
        || {
            let server_now = on_server();
            let first = settlement(&devices[0]);
            first.iter().map(|p| p.2).sum::<i64>() == made.paid_in
                && devices.iter().all(|d| {
                    d.app
                        .sync_state()
                        .is_ok_and(|s| s.state == "synced" && s.pending == 0 && s.set_aside == 0)
                        && local_contacts(&d.app, &server_now) == server_now
                        && settlement(d) == first
                })
        },
    );
    let server_now = on_server();
    let states = shut_all(&mut devices);
    let lists: Vec<Vec<(String, i64, i64)>> = devices.iter().map(settlement).collect();
    result.map_err(|e| {
        TestCaseError::fail(format!(
            "{e}; states: {states:?}; settlements: {lists:?}; paid in: {}",
            made.paid_in
        ))
    })?;

    // Nothing made anywhere is missing; no edit lost.
    for id in &made.contacts {
        let uuid = Uuid::parse_str(id).expect("id");
        prop_assert!(server_now.contains_key(&uuid), "contact {} is missing", id);
    }
    for ((id, d), value) in &made.own {
        let uuid = Uuid::parse_str(id).expect("id");
        prop_assert_eq!(
            server_now[&uuid].get(OWN_FIELD[*d]),
            Some(&Value::String(value.clone())),
            "device {}'s last edit of contact {} was lost",
            d,
            id
        );
    }
    for (id, values) in &made.shared {
        let uuid = Uuid::parse_str(id).expect("id");
        let got = server_now[&uuid].get(SHARED_FIELD).and_then(Value::as_str);
        prop_assert!(
            got.is_some_and(|v| values.contains(v)),
            "contact {}: {:?} is none of the values written {:?}",
            id,
            got,
            values
        );
    }
    // Money: counted once, the same everywhere, one instalment per date.
    for (i, list) in lists.iter().enumerate() {
        prop_assert_eq!(
            list,
            &lists[0],
            "device {} settles the policy differently",
            i
        );
    }
    let paid: i64 = lists[0].iter().map(|p| p.2).sum();
    prop_assert_eq!(paid, made.paid_in, "every payment counts once");
    // Instalments are the server's payment rows with an amount due.
    let mut dates = server_instalment_dates(server, tenant);
    let all = dates.len();
    dates.sort_unstable();
    dates.dedup();
    prop_assert_eq!(dates.len(), all, "one instalment per date: {:?}", lists[0]);
    Ok(())
}

/// The due date of every instalment on the server.
fn server_instalment_dates(server: &Throwaway, tenant: Uuid) -> Vec<String> {
    server.rt.block_on(async {
        let mut tx = db::tenant_tx(&server.owner, tenant).await.expect("tx");
        crm_sync_server::sql::query_as::<_, (String,)>(
            "SELECT fields->>'due_date' FROM rows WHERE tbl = 'payments' AND NOT deleted \
             AND (fields->>'amount_due_minor')::bigint > 0",
        )
        .fetch_all(&mut *tx)
        .await
        .expect("rows")
        .into_iter()
        .map(|(d,)| d)
        .collect()
    })
}

/// The compared fields of every live contact on the server.
fn server_contacts(server: &Throwaway, tenant: Uuid) -> BTreeMap<Uuid, BTreeMap<String, Value>> {
    server.rt.block_on(async {
        let Ok(mut tx) = db::tenant_tx(&server.owner, tenant).await else {
            return BTreeMap::new();
        };
        let rows: Vec<(Uuid, Value)> = crm_sync_server::sql::query_as(
            "SELECT id, fields FROM rows WHERE tbl = 'contacts' AND NOT deleted",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap_or_default();
        rows.into_iter()
            .map(|(id, f)| {
                let compared = compared_fields()
                    .map(|k| (k.to_string(), f.get(k).cloned().unwrap_or(Value::Null)))
                    .collect();
                (id, compared)
            })
            .collect()
    })
}

fn compared_fields() -> impl Iterator<Item = &'static str> {
    ["display_name"]
        .into_iter()
        .chain(OWN_FIELD)
        .chain([SHARED_FIELD])
}

/// The same fields as the app shows them, for the contacts the server has
/// (and any the app has that the server does not).
fn local_contacts(
    app: &App,
    server: &BTreeMap<Uuid, BTreeMap<String, Value>>,
) -> BTreeMap<Uuid, BTreeMap<String, Value>> {
    let Ok(page) = app.contacts_page(ContactQueryArgs {
        limit: 1_000,
        ..Default::default()
    }) else {
        return BTreeMap::new();
    };
    let mut ids: BTreeSet<Uuid> = server.keys().copied().collect();
    ids.extend(page.rows.iter().filter_map(|r| Uuid::parse_str(&r.id).ok()));
    ids.into_iter()
        .filter_map(|id| {
            let c = app.contact_detail(&id.to_string()).ok()?.contact;
            let mut m = BTreeMap::new();
            m.insert("display_name".into(), Value::String(c.display_name.clone()));
            for f in OWN_FIELD.into_iter().chain([SHARED_FIELD]) {
                let v = c
                    .details
                    .get(f)
                    .map_or(Value::Null, |v| Value::String(v.clone()));
                m.insert(f.to_string(), v);
            }
            Some((id, m))
        })
        .collect()
}

fn wait_until(
    what: &str,
    most: Duration,
    mut ok: impl FnMut() -> bool,
) -> Result<(), TestCaseError> {
    let start = Instant::now();
    while !ok() {
        if start.elapsed() > most {
            return Err(TestCaseError::fail(format!("{what}: not within {most:?}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[test]
fn apps_syncing_by_themselves_converge_through_sleep_cuts_and_restarts() {
    let cases: u32 = std::env::var("CRM_SYNC_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(4, |n: u32| n.div_ceil(4).max(1));
    let server = Mutex::new(Throwaway::start().expect("server"));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // Shrinking replays a timing-dependent run; a few tries are enough.
        max_shrink_iters: 4,
        ..Config::default()
    });
    let case = AtomicUsize::new(0);
    let result = runner.run(&proptest::collection::vec(action(), 10..40), |actions| {
        let n = case.fetch_add(1, Ordering::SeqCst);
        let mut server = server.lock().unwrap_or_else(|e| e.into_inner());
        run_case(&mut server, n, &actions)
    });
    if let Err(e) = result {
        let server = server.lock().unwrap_or_else(|e| e.into_inner());
        let log = server.pg.log();
        let lines: Vec<&str> = log.lines().collect();
        panic!(
            "{e}\nserver log tail:\n{}",
            lines[lines.len().saturating_sub(20)..].join("\n")
        );
    }
}

/// An import on one app, the app's own sync running beside it, and edits
/// made on it and on a colleague's app meanwhile: when all is quiet, both
/// apps and the server hold every imported row and every edit.
#[test]
fn an_import_and_edits_made_while_it_syncs_all_arrive() {
    const ROWS: usize = 30_000;
    let server = Throwaway::start().expect("server");
    let emails = ["imp@acme.test", "mate@acme.test"];
    let accounts: Vec<(&str, Role, Option<&str>)> = emails
        .iter()
        .map(|e| (*e, Role::Agent, Some("north")))
        .collect();
    let tenant = server.tenant("Acme", &accounts).expect("tenant");
    let mut devices: Vec<Device> = emails
        .iter()
        .map(|email| {
            let proxy = server.rt.block_on(Proxy::start(server.addr()));
            Device::start(proxy, email)
        })
        .collect();
    let mate_contacts: Vec<String> = (0..20)
        .map(|i| {
            devices[1]
                .app
                .contact_create(ContactForm {
                    first_name: format!("Mate{i}"),
                    ..Default::default()
                })
                .expect("contact")
                .id
        })
        .collect();
    wait_until("the importer has the colleague's contacts", SETTLE, || {
        devices[0]
            .app
            .contacts_page(ContactQueryArgs::default())
            .is_ok_and(|p| p.total == 20)
    })
    .expect("first sync");

    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("book.csv");
    let mut text = String::from("First name,Last name,Email,City\n");
    for i in 0..ROWS {
        text.push_str(&format!("Imp{i},Row,imp{i}@example.com,Leeds\n"));
    }
    std::fs::write(&csv, text).expect("csv");

    // While the import runs: the colleague edits their contacts, and the
    // importer's own window edits them too (another field).
    let importing = Arc::new(AtomicBool::new(true));
    let lowered = Lower(importing.clone());
    let editors: Vec<std::thread::JoinHandle<BTreeMap<String, String>>> =
        [(1, "city"), (0, "job_title")]
            .into_iter()
            .map(|(d, field)| {
                let (app, going, ids) = (
                    devices[d].app.clone(),
                    importing.clone(),
                    mate_contacts.clone(),
                );
                std::thread::spawn(move || {
                    let mut last = BTreeMap::new();
                    let mut n = 0;
                    while going.load(Ordering::SeqCst) || n < ids.len() {
                        let id = &ids[n % ids.len()];
                        let value = format!("{field}-{n}");
                        if app.contact_update(id, only(field, &value)).is_ok() {
                            last.insert(id.clone(), value);
                        }
                        n += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    last
                })
            })
            .collect();
    // On a slow network, someone presses "Sync now" again and again while
    // it runs, beside the automatic sync: a sync is under way throughout.
    devices[0].proxy.delay_ms.store(200, Ordering::SeqCst);
    let syncing = Arc::new(AtomicBool::new(false));
    let clicker = {
        let (app, going, syncing) = (devices[0].app.clone(), importing.clone(), syncing.clone());
        std::thread::spawn(move || {
            let mut ran = 0;
            while going.load(Ordering::SeqCst) {
                syncing.store(true, Ordering::SeqCst);
                // Every one must succeed: none may fail for the import's
                // sake ("database is locked").
                app.sync_now().expect("a sync beside the import");
                ran += 1;
                syncing.store(false, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
            }
            ran
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let mut overlapped = 0;
    let report = devices[0]
        .app
        .import_run(
            &ImportArgs {
                path: csv.display().to_string(),
                mappings: vec![],
                dry_run: false,
            },
            &mut |_| {
                if syncing.load(Ordering::SeqCst) {
                    overlapped += 1;
                }
            },
        )
        .expect("import");
    drop(lowered);
    let clicked = clicker.join().expect("clicker");
    devices[0].proxy.delay_ms.store(0, Ordering::SeqCst);
    assert_eq!(report.created as usize, ROWS);
    assert!(clicked > 0, "no sync ran");
    assert!(
        overlapped > 0,
        "the import never ran while a sync was under way"
    );
    let mut last_by_field = Vec::new();
    for e in editors {
        last_by_field.push(e.join().expect("editor"));
    }

    let want = ROWS + mate_contacts.len();
    let result = wait_until(
        "both apps hold everything, synced",
        Duration::from_secs(120),
        || {
            devices.iter().all(|d| {
                d.app
                    .sync_state()
                    .is_ok_and(|s| s.state == "synced" && s.pending == 0)
                    && d.app
                        .contacts_page(ContactQueryArgs::default())
                        .is_ok_and(|p| p.total as usize == want)
            })
        },
    );
    let on_server = server_contacts(&server, tenant);
    let states = shut_all(&mut devices);
    if let Err(e) = result {
        panic!("{e}; server has {}; states {states:?}", on_server.len());
    }
    assert_eq!(on_server.len(), want, "the server holds every row");
    // Each editor's last edit of each contact is on both apps.
    for (fields, field) in last_by_field.iter().zip(["city", "job_title"]) {
        for (id, value) in fields {
            for d in &devices {
                let c = d.app.contact_detail(id).expect("detail").contact;
                assert_eq!(c.details.get(field), Some(value), "{field} of {id}");
            }
        }
    }
}
