//! Sync stays right when two devices record payments or schedules before
//! syncing, clocks are wrong, edits look like no change, or two syncs of
//! one profile overlap. Each case was reproduced with two devices through
//! the server and lost money or left them apart for good. Real parts:
//! encrypted profiles reopened as a new process would, the real server
//! over a throwaway PostgreSQL, TCP.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crm_core::{ContactDraft, FixedPassphrase, KeyStoreChoice, Store};
use crm_sync_client::{Connection, Options};
use crm_sync_server::auth::Role;
use crm_sync_testkit::{Throwaway, PASSWORD};
use uuid::Uuid;
use zeroize::Zeroizing;

/// A server on a throwaway PostgreSQL with one tenant and two admins.
struct World {
    server: Throwaway,
    dir: tempfile::TempDir,
}

impl World {
    fn start() -> World {
        let server = Throwaway::start().expect("server");
        server
            .tenant(
                "Acme",
                &[
                    ("a@acme.test", Role::Admin, None),
                    ("b@acme.test", Role::Admin, None),
                ],
            )
            .expect("tenant");
        World {
            server,
            dir: tempfile::tempdir().expect("tmp"),
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    /// A signed-in device: its profile's folder.
    fn device(&self, name: &str, email: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let mut store = Store::create(&path, KeyStoreChoice::Passphrase, &pass()).expect("profile");
        let conn = self.conn();
        let resp = conn
            .login(email, PASSWORD, store.identity().device_id, name)
            .expect("login");
        store
            .bind_to_server(&self.url(), email, resp.tenant_id, resp.user_id, &resp.role)
            .expect("bind");
        std::fs::write(self.dir.path().join(format!("{name}.token")), &resp.token)
            .expect("keep token");
        path
    }

    fn conn(&self) -> Connection {
        Connection::new(&self.url(), Options::default()).expect("client")
    }

    /// Sync the device at `path` as a new `crm` process would.
    fn sync(&self, path: &Path) {
        let mut store = open(path);
        let token = self.token(path);
        crm_sync_client::sync(&mut store, &self.conn(), &token).expect("sync");
        assert_eq!(store.outbox_len().expect("outbox"), 0, "all pushed");
    }

    fn token(&self, path: &Path) -> String {
        let name = path.file_name().and_then(|s| s.to_str()).expect("name");
        std::fs::read_to_string(self.dir.path().join(format!("{name}.token"))).expect("token")
    }
}

fn pass() -> FixedPassphrase {
    FixedPassphrase(Zeroizing::new("profile passphrase".into()))
}

/// A profile opened as a new process would: its clock starts afresh.
fn open(path: &Path) -> Store {
    Store::open(path, &pass()).expect("open")
}

fn city(path: &Path, id: Uuid) -> Option<String> {
    open(path)
        .contact(id)
        .expect("contact")
        .details
        .get("city")
        .map(str::to_string)
}

fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A clock two minutes fast: within the drift the server accepts.
fn fast() -> u64 {
    system_millis() + 120_000
}

fn set_city(path: &Path, id: Uuid, city: &str, wall: Option<fn() -> u64>) {
    let mut s = open(path);
    if let Some(w) = wall {
        s.set_wall_clock(w);
    }
    s.update_contact(id, &[("city".into(), city.into())])
        .expect("edit");
}

fn new_contact(path: &Path, wall: Option<fn() -> u64>) -> Uuid {
    let mut s = open(path);
    if let Some(w) = wall {
        s.set_wall_clock(w);
    }
    let mut d = ContactDraft::default();
    d.set("first_name", "Ann").expect("name");
    d.set("city", "Leeds").expect("city");
    s.create_contact(&d).expect("create").id
}

/// A device whose clock ran fast and was set right, and a device that
/// pulled a fast clock's value, each still win with their later edit: a
/// change is stamped after every stamp the row shows, whatever the
/// process's clock says.
#[test]
fn later_edits_win_whatever_the_clocks_said_before() {
    let w = World::start();
    let a = w.device("a", "a@acme.test");
    let b = w.device("b", "b@acme.test");
    // A's clock is two minutes fast: Leeds is stamped in the future.
    let id = new_contact(&a, Some(fast));
    w.sync(&a);
    w.sync(&b);
    assert_eq!(city(&b, id).as_deref(), Some("Leeds"));

    // A's clock is set right; its next edit of the same field must still
    // come after its earlier one.
    set_city(&a, id, "York", None);
    w.sync(&a);
    w.sync(&b);
    assert_eq!(city(&a, id).as_deref(), Some("York"));
    assert_eq!(
        city(&b, id).as_deref(),
        Some("York"),
        "the server took York"
    );

    // B, a new process with a right clock, edits after seeing A's stamp.
    set_city(&b, id, "Hull", None);
    w.sync(&b);
    w.sync(&a);
    assert_eq!(city(&b, id).as_deref(), Some("Hull"));
    assert_eq!(
        city(&a, id).as_deref(),
        Some("Hull"),
        "the server took Hull"
    );
}

/// Setting a field to the value this device still shows, while another
/// device changed it meanwhile, is a change: the newest write wins.
#[test]
fn an_edit_to_the_value_shown_is_written_and_wins() {
    let w = World::start();
    let a = w.device("a", "a@acme.test");
    let b = w.device("b", "b@acme.test");
    let id = new_contact(&a, None);
    w.sync(&a);
    w.sync(&b);
    set_city(&a, id, "York", None);
    w.sync(&a);
    // B still shows Leeds and sets Leeds on purpose, after A's edit.
    std::thread::sleep(Duration::from_millis(5));
    set_city(&b, id, "Leeds", None);
    assert_eq!(
        open(&b).outbox_len().expect("outbox"),
        1,
        "the edit is queued"
    );
    w.sync(&b);
    w.sync(&a);
    assert_eq!(city(&a, id).as_deref(), Some("Leeds"));
    assert_eq!(city(&b, id).as_deref(), Some("Leeds"));
}

/// A second sync of a profile while one runs waits its turn (told so),
/// then completes; nothing is pushed twice or lost.
#[test]
fn a_second_sync_of_a_profile_waits_for_the_first() {
    let w = World::start();
    let a = w.device("a", "a@acme.test");
    let mut s = open(&a);
    for i in 0..50 {
        let mut d = ContactDraft::default();
        d.set("first_name", &format!("P{i}")).expect("name");
        s.create_contact(&d).expect("create");
    }
    drop(s);
    // Another sync holds the profile's turn (as a running `crm sync` does).
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(a.join(crm_core::store::DB_FILE).with_extension("sync-lock"))
        .expect("lock file");
    lock.lock().expect("hold the turn");
    let waited = Arc::new(AtomicBool::new(false));
    let (path, token, url, flag) = (a.clone(), w.token(&a), w.url(), waited.clone());
    let second = std::thread::spawn(move || {
        let mut store = open(&path);
        let conn = Connection::new(&url, Options::default()).expect("client");
        crm_sync_client::sync_waiting(&mut store, &conn, &token, || {
            flag.store(true, Ordering::SeqCst)
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(waited.load(Ordering::SeqCst), "told it waits");
    assert!(!second.is_finished(), "it waits while the turn is held");
    lock.unlock().expect("release");
    let report = second.join().expect("thread").expect("the second sync");
    assert_eq!(report.pushed, 50);
    // And two at once, for real: both complete, nothing twice.
    let b = w.device("b", "b@acme.test");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (path, token, url) = (b.clone(), w.token(&b), w.url());
            std::thread::spawn(move || {
                let mut store = open(&path);
                let conn = Connection::new(&url, Options::default()).expect("client");
                crm_sync_client::sync(&mut store, &conn, &token)
            })
        })
        .collect();
    let pulled: usize = runs
        .into_iter()
        .map(|r| r.join().expect("thread").expect("sync").pulled)
        .sum();
    assert_eq!(pulled, 50, "each contact pulled once");
    assert_eq!(open(&b).count_contacts().expect("count"), 50);
}

fn policy_of(path: &Path, contact: Uuid) -> Uuid {
    let mut s = open(path);
    s.create_policy(&crm_core::PolicyDraft {
        contact_id: Some(contact),
        policy_number: "P-1".into(),
        carrier: "Aviva".into(),
        line_of_business: "home".into(),
        premium: "100.00".into(),
        currency: Some("GBP".into()),
        frequency: Some("monthly".into()),
        effective: "2025-01-01".into(),
        expiry: Some("2025-12-01".into()),
        status: Some("active".into()),
    })
    .expect("policy")
    .id
}

/// Money received is never lost to last-writer-wins: two devices that
/// each record £42.50 against the same instalment before syncing end with
/// £85.00 paid everywhere.
#[test]
fn payments_recorded_on_two_devices_both_count() {
    let w = World::start();
    let a = w.device("a", "a@acme.test");
    let b = w.device("b", "b@acme.test");
    let contact = new_contact(&a, None);
    let policy = policy_of(&a, contact);
    open(&a).schedule_premiums(policy).expect("schedule");
    w.sync(&a);
    w.sync(&b);
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 3).expect("date");
    for device in [&a, &b] {
        open(device)
            .record_payment(policy, "42.50", day, "card", None)
            .expect("payment");
    }
    w.sync(&a);
    w.sync(&b);
    w.sync(&a);
    for device in [&a, &b] {
        let s = open(device);
        let pays = s.payments_of(policy).expect("payments");
        assert_eq!(pays.len(), 12, "twelve instalments");
        assert_eq!(pays[0].amount_paid_minor, 8_500, "both payments count");
        let paid: i64 = pays.iter().map(|p| p.amount_paid_minor).sum();
        assert_eq!(paid, 8_500);
        let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 20).expect("date");
        let arrears = s.arrears(today, usize::MAX).expect("arrears").rows;
        assert_eq!(arrears[0].outstanding_minor, 1_500);
    }
}

/// Scheduling a policy's premiums on two devices before they sync makes
/// one schedule, not two: an instalment's id comes from its policy and due
/// date, so the server merges the two devices' rows.
#[test]
fn a_schedule_made_on_two_devices_is_one_schedule() {
    let w = World::start();
    let a = w.device("a", "a@acme.test");
    let b = w.device("b", "b@acme.test");
    let contact = new_contact(&a, None);
    let policy = policy_of(&a, contact);
    w.sync(&a);
    w.sync(&b);
    for device in [&a, &b] {
        let made = open(device).schedule_premiums(policy).expect("schedule");
        assert_eq!(made.len(), 12);
    }
    w.sync(&a);
    w.sync(&b);
    w.sync(&a);
    let today = chrono::NaiveDate::from_ymd_opt(2025, 3, 15).expect("date");
    for device in [&a, &b] {
        let s = open(device);
        assert_eq!(s.payments_of(policy).expect("payments").len(), 12);
        let arrears = s.arrears(today, usize::MAX).expect("arrears").rows;
        assert_eq!(
            (arrears[0].instalments, arrears[0].outstanding_minor),
            (3, 30_000),
            "arrears not doubled"
        );
    }
}

fn custom(path: &Path, id: Uuid) -> std::collections::BTreeMap<String, String> {
    open(path).contact(id).expect("contact").custom
}

fn set_custom(path: &Path, id: Uuid, name: &str, value: Option<&str>) {
    let change = vec![(name.to_string(), value.map(str::to_string))];
    open(path)
        .set_contacts_custom(&[(id, change)])
        .expect("custom field");
}

/// Custom fields merge one by one: two devices (or two plugins on two
/// devices) that set different custom fields of a contact before syncing
/// keep both, and one removed on a device stays removed, while the other
/// device's older write of another field still lands.
#[test]
fn custom_fields_set_on_two_devices_are_both_kept() {
    let w = World::start();
    let a = w.device("a", "a@acme.test");
    let b = w.device("b", "b@acme.test");
    let id = new_contact(&a, None);
    set_custom(&a, id, "source_campaign", Some("spring"));
    w.sync(&a);
    w.sync(&b);
    // B writes first (older), A later; each a field of its own, and A
    // removes the campaign.
    set_custom(&b, id, "segment", Some("gold"));
    std::thread::sleep(Duration::from_millis(5));
    set_custom(&a, id, "score", Some("7"));
    set_custom(&a, id, "source_campaign", None);
    w.sync(&a);
    w.sync(&b);
    w.sync(&a);
    let want: std::collections::BTreeMap<String, String> = [
        ("score".to_string(), "7".to_string()),
        ("segment".to_string(), "gold".to_string()),
    ]
    .into();
    assert_eq!(custom(&a, id), want);
    assert_eq!(custom(&b, id), want);
}
