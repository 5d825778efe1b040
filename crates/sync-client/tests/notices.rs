//! The server tells connected devices, at once, that changes in their view
//! wait: a team mate and an admin hear of an agent's edit, an agent of
//! another team and the device that pushed do not; a notice sent through
//! one server process reaches a stream on another (they meet only in
//! PostgreSQL); a listener that lost its database connection tells every
//! stream to pull. Real parts: encrypted profiles, the real server over a
//! throwaway PostgreSQL, the client's event stream over TCP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crm_core::{ContactDraft, FixedPassphrase, KeyStoreChoice, Store};
use crm_sync_client::{Connection, Notice, Options};
use crm_sync_server::auth::Role;
use crm_sync_server::{db, Limits};
use crm_sync_testkit::{Throwaway, PASSWORD};
use zeroize::Zeroizing;

/// How long a notice may take in these tests (it takes milliseconds; the
/// margin is for a loaded machine).
const PATIENCE: Duration = Duration::from_secs(15);

struct World {
    server: Throwaway,
    dir: tempfile::TempDir,
}

fn pass() -> FixedPassphrase {
    FixedPassphrase(Zeroizing::new("profile passphrase".into()))
}

impl World {
    fn start() -> World {
        let server = Throwaway::start().expect("server");
        server
            .tenant(
                "Acme",
                &[
                    ("boss@acme.test", Role::Admin, None),
                    ("red1@acme.test", Role::Agent, Some("red")),
                    ("red2@acme.test", Role::Agent, Some("red")),
                    ("blue@acme.test", Role::Agent, Some("blue")),
                ],
            )
            .expect("tenant");
        World {
            server,
            dir: tempfile::tempdir().expect("tmp"),
        }
    }

    /// A signed-in device: its profile's folder and token.
    fn device(&self, name: &str, email: &str) -> (PathBuf, String) {
        let path = self.dir.path().join(name);
        let mut store = Store::create(&path, KeyStoreChoice::Passphrase, &pass()).expect("profile");
        let resp = conn(&self.server.url())
            .login(email, PASSWORD, store.identity().device_id, name)
            .expect("login");
        store
            .bind_to_server(
                &self.server.url(),
                email,
                resp.tenant_id,
                resp.user_id,
                &resp.role,
            )
            .expect("bind");
        (path, resp.token)
    }
}

fn conn(url: &str) -> Connection {
    Connection::new(url, Options::default()).expect("client")
}

fn sync(url: &str, path: &Path, token: &str) -> crm_sync_client::Report {
    let mut store = Store::open(path, &pass()).expect("open");
    crm_sync_client::sync(&mut store, &conn(url), token).expect("sync")
}

fn new_contact(path: &Path, name: &str, owner: &str) -> uuid::Uuid {
    let mut s = Store::open(path, &pass()).expect("open");
    let mut d = ContactDraft::default();
    d.set("first_name", name).expect("name");
    d.set("owner", owner).expect("owner");
    s.create_contact(&d).expect("create").id
}

/// A device listening on a thread of its own, reconnecting when its stream
/// ends, keeping what it heard (keep-alives aside).
struct Ear {
    heard: Arc<Mutex<Vec<Notice>>>,
}

impl Ear {
    fn new(url: String, token: String) -> Ear {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let keep = heard.clone();
        std::thread::spawn(move || loop {
            let c = conn(&url);
            let _ = c.listen(&token, |n| {
                if n != Notice::Alive {
                    keep.lock().expect("lock").push(n);
                }
                true
            });
            std::thread::sleep(Duration::from_millis(100));
        });
        let ear = Ear { heard };
        assert!(ear.wait(|n| *n == Notice::Ready), "the stream opened");
        ear
    }

    fn wait(&self, want: impl Fn(&Notice) -> bool) -> bool {
        let end = Instant::now() + PATIENCE;
        while Instant::now() < end {
            if self.heard.lock().expect("lock").iter().any(&want) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn changes(&self) -> Vec<Notice> {
        self.heard
            .lock()
            .expect("lock")
            .iter()
            .filter(|n| matches!(n, Notice::Changed(_)))
            .cloned()
            .collect()
    }

    fn forget(&self) {
        self.heard.lock().expect("lock").clear();
    }
}

fn changed(n: &Notice) -> bool {
    matches!(n, Notice::Changed(Some(_)))
}

#[test]
fn a_team_mate_and_an_admin_hear_of_an_edit_and_nobody_else_does() {
    let w = World::start();
    let url = w.server.url();
    let (red1, red1_token) = w.device("red1", "red1@acme.test");
    let (red2, red2_token) = w.device("red2", "red2@acme.test");
    let (_blue, blue_token) = w.device("blue", "blue@acme.test");
    let (_boss, boss_token) = w.device("boss", "boss@acme.test");
    let own = Ear::new(url.clone(), red1_token.clone());
    let mate = Ear::new(url.clone(), red2_token.clone());
    let outsider = Ear::new(url.clone(), blue_token);
    let admin = Ear::new(url.clone(), boss_token);

    let id = new_contact(&red1, "Ann", "red1@acme.test");
    sync(&url, &red1, &red1_token);
    assert!(mate.wait(changed), "the team mate heard of it");
    assert!(admin.wait(changed), "the admin heard of it");
    // The notice is only a nudge: the data comes by the pull, scoped as ever.
    let got = sync(&url, &red2, &red2_token);
    assert_eq!(got.pulled, 1);
    assert!(Store::open(&red2, &pass())
        .expect("open")
        .contact(id)
        .is_ok());

    // A second change the outsider does see: by the time it hears of it, it
    // would have heard of the first, had it been told.
    new_contact(&red1, "Bob", "blue@acme.test");
    sync(&url, &red1, &red1_token);
    assert!(
        outsider.wait(changed),
        "the blue agent heard of the contact given to them"
    );
    assert_eq!(
        outsider.changes().len(),
        1,
        "the blue agent was never told of the red team's contact"
    );
    assert!(
        own.changes().is_empty(),
        "the pushing device is not told of its own changes: {:?}",
        own.changes()
    );
    mate.forget();
    // An edit of the red contact by the admin reaches the red agents, not blue.
    let (boss_path, boss_token2) = w.device("boss2", "boss@acme.test");
    sync(&url, &boss_path, &boss_token2);
    let mut s = Store::open(&boss_path, &pass()).expect("open");
    s.update_contact(id, &[("city".into(), "York".into())])
        .expect("edit");
    drop(s);
    outsider.forget();
    sync(&url, &boss_path, &boss_token2);
    assert!(mate.wait(changed));
    assert!(
        own.wait(changed),
        "the creator's device hears of another device's edit"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(outsider.changes().is_empty(), "{:?}", outsider.changes());
}

#[test]
fn a_notice_reaches_a_stream_on_another_server_process() {
    let w = World::start();
    let url = w.server.url();
    // A second server over the same database, as behind a load balancer.
    let other = w.server.rt.block_on(async {
        let pool = db::connect(&w.server.pg.url("crm_app", "crm"), 4)
            .await
            .expect("pool");
        crm_sync_server::local::spawn(pool, Limits::default(), 0)
            .await
            .expect("second server")
    });
    let other_url = format!("http://{}", other.addr);
    let (red1, red1_token) = w.device("red1", "red1@acme.test");
    let (_red2, red2_token) = w.device("red2", "red2@acme.test");
    let mate = Ear::new(other_url, red2_token);
    new_contact(&red1, "Ann", "red1@acme.test");
    sync(&url, &red1, &red1_token);
    assert!(mate.wait(changed), "heard through the other process");
    w.server.rt.block_on(other.stop());
}

#[test]
fn streams_are_told_to_pull_when_the_listener_loses_the_database() {
    let w = World::start();
    let url = w.server.url();
    let (red1, red1_token) = w.device("red1", "red1@acme.test");
    let (_red2, red2_token) = w.device("red2", "red2@acme.test");
    let mate = Ear::new(url.clone(), red2_token);
    let cut = w
        .server
        .pg
        .psql(
            "crm",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'",
        )
        .expect("terminate the listener's connection");
    assert!(
        cut.lines().any(|l| l.trim() == "1"),
        "one listening connection was cut: {cut}"
    );
    assert!(
        mate.wait(|n| *n == Notice::Changed(None)),
        "told to pull, whatever was missed"
    );
    // And it listens again.
    new_contact(&red1, "Ann", "red1@acme.test");
    sync(&url, &red1, &red1_token);
    assert!(mate.wait(changed));
}

#[test]
fn a_stream_needs_a_valid_token() {
    let w = World::start();
    let err = conn(&w.server.url())
        .listen("not a token", |_| true)
        .expect_err("refused");
    assert!(
        matches!(err, crm_sync_client::SyncError::Refused { status: 401, .. }),
        "{err:?}"
    );
}
