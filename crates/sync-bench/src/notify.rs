//! `cargo run --release -p crm-sync-bench -- notify` (or `make bench-notify`).
//!
//! How soon a colleague's edit is on another device: from the edit's commit
//! on device A to the change committed on device B, through the server's
//! change notices (`/v1/events`), over loopback.
//!
//! - The server is this executable again in a process of its own (as in the
//!   soak), so its memory (`VmRSS`) is the server's alone.
//! - A and B are real devices: encrypted profiles, the real client. A edits a
//!   contact and syncs at once (the app waits [`APP_DEBOUNCE`] after a
//!   change first, so a burst of typing goes in one sync: reported beside
//!   the figures, not inside them); B listens and, at each notice, syncs
//!   (pull and merge). One edit at a time; the next when B has it.
//! - The other devices are connected too, each on its own event stream;
//!   those of A's team pull at each notice, as a real device would; those
//!   of other teams must hear nothing.
//!
//! Two runs: 20 devices in one team; then 500 devices in 25 teams of 20.
//! Each also gives the fan-out time (from A's commit to the last of A's
//! team mates told; A's push included) and the notices sent where they
//! should not go (must be 0); the large run the server's memory idle, with
//! every stream open, and after the edits.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crm_core::{ContactDraft, FixedPassphrase, KeyStoreChoice, Store};
use crm_pg_testkit::TestPg;
use crm_protocol::wire::LoginResponse;
use crm_sync_client::{Connection, Notice, Options as ClientOptions};
use crm_sync_server::auth::Role;
use crm_sync_server::{admin, db};
use zeroize::Zeroizing;

use crate::soak::{proc_mib, sign_in, Server};
use crate::{percentile, PW};

/// The desktop app's wait after a local change before it syncs
/// (`crm_app`'s `DEBOUNCE`).
pub const APP_DEBOUNCE: Duration = Duration::from_millis(500);
/// Devices per team.
const TEAM: usize = 20;
/// An edit B has not got after this counts as lost (and fails the run).
const GIVE_UP: Duration = Duration::from_secs(10);

/// The benchmark's parameters.
pub struct Options {
    /// Edits timed in the 20-device run.
    pub edits: usize,
    /// Devices in the large run.
    pub devices: usize,
    /// Edits timed in the large run.
    pub edits_large: usize,
}

fn pass() -> FixedPassphrase {
    FixedPassphrase(Zeroizing::new("bench profile passphrase".into()))
}

/// A real device: an encrypted profile signed in to the server.
struct Device {
    store: Store,
    conn: Connection,
    token: String,
}

impl Device {
    fn new(dir: &Path, name: &str, base: &str, email: &str) -> Result<Device> {
        let mut store = Store::create(&dir.join(name), KeyStoreChoice::Passphrase, &pass())?;
        let conn = Connection::new(base, ClientOptions::default())?;
        let resp = conn.login(email, PW, store.identity().device_id, name)?;
        store.bind_to_server(base, email, resp.tenant_id, resp.user_id, &resp.role)?;
        Ok(Device {
            store,
            conn,
            token: resp.token,
        })
    }

    fn sync(&mut self) -> Result<crm_sync_client::Report> {
        Ok(crm_sync_client::sync(
            &mut self.store,
            &self.conn,
            &self.token,
        )?)
    }
}

/// What the other devices' streams heard during one edit.
#[derive(Default)]
struct Heard {
    /// Team mates told of the current edit.
    mates: AtomicUsize,
    /// Notices to devices of other teams (must stay 0).
    strays: AtomicUsize,
    /// When the last team mate was told.
    last: Mutex<Option<Instant>>,
}

/// Open an event stream for each of `devices` (async, one task each); a
/// team mate's device pulls at each notice.
async fn listen_all(
    base: String,
    devices: Vec<(LoginResponse, bool)>,
    heard: Arc<Heard>,
    open: Arc<AtomicUsize>,
) {
    let http = reqwest::Client::new();
    for (login, mate) in devices {
        let (http, base, heard, open) = (http.clone(), base.clone(), heard.clone(), open.clone());
        tokio::spawn(async move {
            let Ok(mut resp) = http
                .get(format!("{base}/v1/events"))
                .bearer_auth(&login.token)
                .send()
                .await
            else {
                return;
            };
            open.fetch_add(1, Ordering::SeqCst);
            let mut cursor = 0i64;
            while let Ok(Some(chunk)) = resp.chunk().await {
                let text = String::from_utf8_lossy(&chunk);
                if !text.contains("event: changed") {
                    continue;
                }
                if !mate {
                    heard.strays.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let now = Instant::now();
                heard.mates.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut last) = heard.last.lock() {
                    *last = Some(last.map_or(now, |l| l.max(now)));
                }
                if let Ok(r) = http
                    .get(format!("{base}/v1/pull?cursor={cursor}&limit=500"))
                    .bearer_auth(&login.token)
                    .send()
                    .await
                {
                    if let Ok(page) = r.json::<serde_json::Value>().await {
                        cursor = page["cursor"].as_i64().unwrap_or(cursor);
                    }
                }
            }
        });
    }
}

/// The figures of one run.
struct Figures {
    devices: usize,
    commit_to_commit: Vec<Duration>,
    push: Vec<Duration>,
    fan_out: Vec<Duration>,
    strays: usize,
    lost: usize,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One run: `devices` connected (teams of [`TEAM`], A and B in the first),
/// `edits` timed.
fn run_one(
    pg: &TestPg,
    server: &Server,
    rt: &tokio::runtime::Runtime,
    devices: usize,
    edits: usize,
    on_open: impl FnOnce() -> Result<()>,
) -> Result<Figures> {
    let name = format!("notify-{devices}");
    let owner_url = pg.url("crm_owner", "crm");
    // Accounts: A and B, then the others, team by team.
    let emails: Vec<String> = (0..devices)
        .map(|i| format!("agent{i}@{name}.test"))
        .collect();
    rt.block_on(async {
        let owner = db::connect(&owner_url, 2).await?;
        let tenant = admin::create_tenant(&owner, &name).await?;
        for (i, email) in emails.iter().enumerate() {
            let team = format!("team-{}", i / TEAM);
            admin::add_user(&owner, tenant, email, PW, Role::Agent, Some(&team)).await?;
        }
        anyhow::Ok(())
    })?;
    let dir = tempfile::tempdir()?;
    let mut a = Device::new(dir.path(), "a", &server.base, &emails[0])?;
    let b = Device::new(dir.path(), "b", &server.base, &emails[1])?;
    let (others, _) = rt.block_on(sign_in(&server.base, &emails[2..]))?;
    let heard = Arc::new(Heard::default());
    let open = Arc::new(AtomicUsize::new(0));
    let listeners: Vec<(LoginResponse, bool)> = others
        .into_iter()
        .enumerate()
        .map(|(k, l)| (l, (k + 2) / TEAM == 0))
        .collect();
    let mates = listeners.iter().filter(|(_, m)| *m).count();
    rt.block_on(listen_all(
        server.base.clone(),
        listeners,
        heard.clone(),
        open.clone(),
    ));

    // A's contact, on both devices.
    let mut d = ContactDraft::default();
    d.set("first_name", "Ann")?;
    d.set("owner", &emails[0])?;
    let id = a.store.create_contact(&d)?.id;
    a.sync()?;

    // B listens on a thread of its own; at each notice it syncs and notes
    // when each edit's value was committed on it.
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let b_ready = Arc::new(AtomicUsize::new(0));
    {
        let (arrived, b_ready) = (arrived.clone(), b_ready.clone());
        let Device {
            mut store,
            conn,
            token,
        } = b;
        std::thread::spawn(move || loop {
            let _ = conn.listen(&token, |n| {
                if n == Notice::Alive {
                    return true;
                }
                b_ready.store(1, Ordering::SeqCst);
                if crm_sync_client::sync(&mut store, &conn, &token).is_ok() {
                    let now = Instant::now();
                    if let Ok(c) = store.contact(id) {
                        if let Some(city) = c.details.get("city") {
                            if let Ok(mut m) = arrived.lock() {
                                m.entry(city.to_string()).or_insert(now);
                            }
                        }
                    }
                }
                true
            });
            std::thread::sleep(Duration::from_millis(100));
        });
    }
    let end = Instant::now() + Duration::from_secs(120);
    while (open.load(Ordering::SeqCst) < devices - 2 || b_ready.load(Ordering::SeqCst) == 0)
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    if open.load(Ordering::SeqCst) < devices - 2 {
        bail!(
            "only {} of {} event streams opened",
            open.load(Ordering::SeqCst),
            devices - 2
        );
    }
    on_open()?;

    let mut f = Figures {
        devices,
        commit_to_commit: Vec::with_capacity(edits),
        push: Vec::with_capacity(edits),
        fan_out: Vec::with_capacity(edits),
        strays: 0,
        lost: 0,
    };
    // A few edits first, untimed: connections and caches warm.
    for n in 0..edits + 5 {
        heard.mates.store(0, Ordering::SeqCst);
        if let Ok(mut l) = heard.last.lock() {
            *l = None;
        }
        let value = format!("edit-{n}");
        a.store
            .update_contact(id, &[("city".into(), value.clone())])?;
        let committed = Instant::now();
        a.sync()?;
        let pushed = Instant::now();
        let end = pushed + GIVE_UP;
        let got = loop {
            if let Some(t) = arrived.lock().ok().and_then(|m| m.get(&value).copied()) {
                break Some(t);
            }
            if Instant::now() > end {
                break None;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        // Wait for every team mate too (bounded), for the fan-out figure.
        while heard.mates.load(Ordering::SeqCst) < mates && Instant::now() < end {
            std::thread::sleep(Duration::from_micros(200));
        }
        if n < 5 {
            continue;
        }
        match got {
            Some(t) => {
                f.commit_to_commit
                    .push(t.saturating_duration_since(committed));
                f.push.push(pushed - committed);
                if let Some(last) = heard.last.lock().ok().and_then(|l| *l) {
                    if heard.mates.load(Ordering::SeqCst) >= mates {
                        f.fan_out.push(last.saturating_duration_since(committed));
                    }
                }
            }
            None => f.lost += 1,
        }
    }
    f.strays = heard.strays.load(Ordering::SeqCst);
    Ok(f)
}

fn report(f: &mut Figures) {
    f.commit_to_commit.sort();
    f.push.sort();
    f.fan_out.sort();
    let p = |v: &[Duration], q: f64| ms(percentile(v, q));
    println!(
        "  A's commit to B's commit, {} edits: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (target p95 <= 250 ms){}",
        f.commit_to_commit.len(),
        p(&f.commit_to_commit, 0.50),
        p(&f.commit_to_commit, 0.95),
        p(&f.commit_to_commit, 0.99),
        if p(&f.commit_to_commit, 0.95) <= 250.0 { "" } else { "  MISSED" }
    );
    println!(
        "    of which A's sync (its push, then its own pull): p50 {:.1} ms, p95 {:.1} ms; in the app add the {} ms debounce: p50 {:.1} ms, p95 {:.1} ms",
        p(&f.push, 0.50),
        p(&f.push, 0.95),
        APP_DEBOUNCE.as_millis(),
        p(&f.commit_to_commit, 0.50) + ms(APP_DEBOUNCE),
        p(&f.commit_to_commit, 0.95) + ms(APP_DEBOUNCE),
    );
    println!(
        "  fan-out (A's commit to the last of {} team mates told): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        TEAM.min(f.devices) - 2,
        p(&f.fan_out, 0.50),
        p(&f.fan_out, 0.95),
        p(&f.fan_out, 0.99),
    );
    println!(
        "  notices to devices of other teams: {}; edits B never got: {}",
        f.strays, f.lost
    );
}

/// Both runs; fails if an edit was lost or a notice went astray.
pub fn run(o: Options) -> Result<()> {
    let pg = TestPg::start().context("start PostgreSQL")?;
    pg.create_database("crm", "crm_owner", "crm_app")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let owner = db::connect(&pg.url("crm_owner", "crm"), 2).await?;
        db::migrate(&owner).await?;
        anyhow::Ok(())
    })?;
    let server = Server::start(&pg.url("crm_app", "crm"), o.devices + TEAM + 64)?;
    let idle = proc_mib(server.pid(), "VmRSS")?;
    println!(
        "notice latency: server in its own process, PostgreSQL and every device on this machine"
    );

    println!("{TEAM} devices, one team:");
    let mut small = run_one(&pg, &server, &rt, TEAM, o.edits, || Ok(()))?;
    report(&mut small);

    println!(
        "{} devices, {} teams of {TEAM}:",
        o.devices,
        o.devices.div_ceil(TEAM)
    );
    let mut connected = 0.0;
    let mut large = run_one(&pg, &server, &rt, o.devices, o.edits_large, || {
        std::thread::sleep(Duration::from_secs(2));
        connected = proc_mib(server.pid(), "VmRSS")?;
        Ok(())
    })?;
    report(&mut large);
    let after = proc_mib(server.pid(), "VmRSS")?;
    println!(
        "  server memory: {idle:.1} MiB idle, {connected:.1} MiB with {} streams open ({:.1} KiB a stream), {after:.1} MiB after the edits",
        o.devices + TEAM,
        (connected - idle) * 1024.0 / (o.devices + TEAM) as f64,
    );
    if small.lost + large.lost > 0 {
        bail!("{} edits never reached device B", small.lost + large.lost);
    }
    if small.strays + large.strays > 0 {
        bail!(
            "{} notices reached devices that do not see the change",
            small.strays + large.strays
        );
    }
    Ok(())
}
