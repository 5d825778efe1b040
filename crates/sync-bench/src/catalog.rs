//! `cargo run --release -p crm-sync-bench -- catalog` (or `make bench-catalog`).
//!
//! The tenant's plugin catalog at office scale: 200 devices (real encrypted
//! profiles, the real client and `crm-catalog`) and a catalog of 50 signed
//! plugins (force-installed for everyone or for one team, allowed, blocked),
//! the server in a process of its own.
//!
//! Timed, per device, on eight threads at once as devices come and go:
//! - the **first** catalog pull (policies stored, force-installed plugins
//!   fetched, verified, installed and enabled);
//! - **unchanged** pulls (the catalog part of every later sync), against
//!   the baseline from the same run: the rest of a sync with nothing new
//!   (push and pull through the real client);
//! - the pull after an admin **blocks** one plugin.
//!
//! And the bytes of the server's answer to a device that is up to date:
//! nothing but a small "unchanged".

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_pg_testkit::TestPg;
use crm_protocol::catalog::{PolicyRequest, TrustRequest};
use crm_sync_client::{Connection, Options as ClientOptions};
use crm_sync_server::auth::Role;
use crm_sync_server::{admin, db};
use zeroize::Zeroizing;

use crate::soak::Server;
use crate::{percentile, PW};

/// Threads the devices share (devices syncing at the same moment).
const THREADS: usize = 8;
/// Teams the agents are spread over.
const TEAMS: usize = 4;

/// The benchmark's parameters.
pub struct Options {
    /// Devices.
    pub devices: usize,
    /// Plugins in the catalog.
    pub plugins: usize,
    /// Unchanged pulls timed per device.
    pub rounds: usize,
}

struct Device {
    store: Store,
    conn: Connection,
    token: String,
}

fn pass() -> FixedPassphrase {
    FixedPassphrase(Zeroizing::new("bench profile passphrase".into()))
}

/// A small signed plugin: one hook, a couple of permissions.
fn package(key: &crm_package::package::SigningKey, i: usize) -> Result<Vec<u8>> {
    let manifest = serde_json::json!({
        "id": format!("bench.p{i:02}"), "name": format!("Bench plugin {i}"),
        "version": "1.0.0", "api_version": "^1", "author": "Bench",
        "description": "A plugin of the catalog benchmark.",
        "permissions": ["contacts:read", "storage"],
        "hooks": [{"event": "contact.created", "function": "on_created"}],
        "settings": [{"key": "greeting", "label": "Greeting", "type": "string"}]
    });
    let mut files = std::collections::BTreeMap::new();
    files.insert("manifest.json".to_string(), serde_json::to_vec(&manifest)?);
    files.insert(
        "main.rhai".to_string(),
        b"fn on_created(event) { storage::set(\"last\", event.row_id); }".to_vec(),
    );
    Ok(crm_package::package::pack_files(files, key)?)
}

/// Run `f` over every device on [`THREADS`] threads; each call's time.
fn each_device(
    devices: &mut [Device],
    f: impl Fn(&mut Device) -> Result<()> + Sync,
) -> Result<Vec<Duration>> {
    let times = Mutex::new(Vec::with_capacity(devices.len()));
    let queue = Mutex::new(devices.iter_mut());
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).ok().flatten();
                let Some(d) = next else { return };
                let t = Instant::now();
                match f(d) {
                    Ok(()) => {
                        if let Ok(mut v) = times.lock() {
                            v.push(t.elapsed());
                        }
                    }
                    Err(e) => {
                        eprintln!("a device failed: {e:#}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    if failed.load(Ordering::Relaxed) > 0 {
        bail!("{} device(s) failed", failed.load(Ordering::Relaxed));
    }
    let mut v = times.into_inner().unwrap_or_default();
    v.sort();
    Ok(v)
}

fn line(what: &str, v: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {what:<34} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  ({} timed)",
        ms(percentile(v, 0.50)),
        ms(percentile(v, 0.95)),
        ms(percentile(v, 0.99)),
        v.len()
    );
}

/// Run it.
pub fn run(o: Options) -> Result<()> {
    let pg = TestPg::start().context("start PostgreSQL")?;
    pg.create_database("crm", "crm_owner", "crm_app")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let emails: Vec<String> = (0..o.devices)
        .map(|i| format!("agent{i}@catalog.test"))
        .collect();
    rt.block_on(async {
        let owner = db::connect(&pg.url("crm_owner", "crm"), 2).await?;
        db::migrate(&owner).await?;
        let tenant = admin::create_tenant(&owner, "catalog").await?;
        admin::add_user(&owner, tenant, "admin@catalog.test", PW, Role::Admin, None).await?;
        for (i, email) in emails.iter().enumerate() {
            let team = format!("team-{}", i % TEAMS);
            admin::add_user(&owner, tenant, email, PW, Role::Agent, Some(&team)).await?;
        }
        anyhow::Ok(())
    })?;
    let server = Server::start(&pg.url("crm_app", "crm"), o.devices + 64)?;
    let base = server.base.clone();
    println!(
        "catalog: {} devices, {} plugins; server in its own process, PostgreSQL and every device on this machine",
        o.devices, o.plugins
    );

    // The admin's catalog: a fifth force-installed for everyone, a fifth
    // for one team, two fifths allowed, a fifth blocked.
    let conn = Connection::new(&base, ClientOptions::default())?;
    let admin = conn.login("admin@catalog.test", PW, uuid::Uuid::now_v7(), "admin")?;
    let key = crm_package::package::generate_key();
    conn.catalog_trust(
        &admin.token,
        &TrustRequest {
            public_key: hex_key(&key),
            name: "Bench".into(),
        },
    )?;
    let grants = vec!["contacts:read".to_string(), "storage".to_string()];
    for i in 0..o.plugins {
        let mode = match i % 5 {
            0 | 1 => "force_installed",
            2 | 3 => "allowed",
            _ => "blocked",
        };
        conn.catalog_publish(&admin.token, package(&key, i)?, Some(mode), &grants)?;
        if i % 5 == 1 {
            conn.catalog_set(
                &admin.token,
                &format!("bench.p{i:02}"),
                &PolicyRequest {
                    audience: Some(crm_protocol::catalog::Audience {
                        everyone: false,
                        roles: Vec::new(),
                        teams: vec!["team-0".into()],
                    }),
                    ..Default::default()
                },
            )?;
        }
    }

    // The devices: encrypted profiles, signed in.
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let mut devices = Vec::with_capacity(o.devices);
    for (i, email) in emails.iter().enumerate() {
        devices.push(device(dir.path(), i, &base, email)?);
    }
    println!(
        "  {} profiles made and signed in ({:.1?})",
        devices.len(),
        t.elapsed()
    );

    let first = each_device(&mut devices, |d| {
        let a = crm_catalog::pull(&mut d.store, &d.conn, &d.token)?;
        if !a.failed.is_empty() {
            bail!("could not apply: {:?}", a.failed);
        }
        Ok(())
    })?;
    let installed: usize = devices
        .iter()
        .map(|d| d.store.plugins().map(|p| p.len()).unwrap_or(0))
        .sum();
    println!(
        "  {installed} plugins installed and enabled over {} devices",
        devices.len()
    );
    line("first pull (installs)", &first);

    let mut unchanged = Vec::new();
    let mut baseline = Vec::new();
    for _ in 0..o.rounds {
        unchanged.extend(each_device(&mut devices, |d| {
            let a = crm_catalog::pull(&mut d.store, &d.conn, &d.token)?;
            if !a.unchanged {
                bail!("the catalog should be unchanged");
            }
            Ok(())
        })?);
        baseline.extend(each_device(&mut devices, |d| {
            crm_sync_client::sync(&mut d.store, &d.conn, &d.token)?;
            Ok(())
        })?);
    }
    unchanged.sort();
    baseline.sort();
    line("unchanged catalog pull", &unchanged);
    line("baseline: a sync, nothing new", &baseline);

    // What an up-to-date device is sent.
    let d = &devices[0];
    let since = d.store.catalog_revision()?.unwrap_or(0);
    let bytes = reqwest::blocking::Client::new()
        .get(format!("{base}/v1/catalog?since={since}"))
        .bearer_auth(&d.token)
        .send()?
        .bytes()?
        .len();
    let full = reqwest::blocking::Client::new()
        .get(format!("{base}/v1/catalog"))
        .bearer_auth(&d.token)
        .send()?
        .bytes()?
        .len();

    // One plugin blocked: every device's next pull reads the catalog and
    // stops it.
    conn.catalog_set(
        &admin.token,
        "bench.p00",
        &PolicyRequest {
            mode: Some("blocked".into()),
            reason: Some("benchmark".into()),
            ..Default::default()
        },
    )?;
    let after_block = each_device(&mut devices, |d| {
        let a = crm_catalog::pull(&mut d.store, &d.conn, &d.token)?;
        if a.blocked != ["bench.p00"] {
            bail!("expected bench.p00 blocked, got {:?}", a.blocked);
        }
        Ok(())
    })?;
    line("pull after one plugin is blocked", &after_block);

    let p99 = percentile(&unchanged, 0.99);
    let base99 = percentile(&baseline, 0.99);
    println!("  bytes sent to an up-to-date device    {bytes} (the whole catalog: {full})");
    println!(
        "  unchanged / baseline p99              {:.2}",
        p99.as_secs_f64() / base99.as_secs_f64().max(1e-9)
    );
    println!("targets:");
    let verdict = |ok: bool| if ok { "ok" } else { "BELOW TARGET" };
    println!(
        "  unchanged answer <= 128 bytes        {:>7}  {}",
        bytes,
        verdict(bytes <= 128)
    );
    println!(
        "  unchanged p99 <= 2 x baseline p99    {:>7.2}  {}",
        p99.as_secs_f64() / base99.as_secs_f64().max(1e-9),
        verdict(p99 <= base99 * 2)
    );
    drop(server);
    Ok(())
}

fn hex_key(key: &crm_package::package::SigningKey) -> String {
    key.verifying_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn device(dir: &Path, i: usize, base: &str, email: &str) -> Result<Device> {
    let name = format!("device-{i}");
    let mut store = Store::create(&dir.join(&name), KeyStoreChoice::Passphrase, &pass())?;
    let conn = Connection::new(base, ClientOptions::default())?;
    let resp = conn.login(email, PW, store.identity().device_id, &name)?;
    store.bind_to_server(base, email, resp.tenant_id, resp.user_id, &resp.role)?;
    Ok(Device {
        store,
        conn,
        token: resp.token,
    })
}
