//! `cargo run --release -p crm-sync-bench -- sync` (or `make bench-sync`).
//!
//! Starts its own throwaway PostgreSQL and an in-process sync server, then:
//!
//! 1. **Raw baseline**: inserts the benchmark's contact rows straight into a
//!    plain PostgreSQL table, in batches of the push size, one transaction
//!    per batch (what the server does at least, without merge, dedupe, RLS).
//! 2. **Push, saturated**: 200 devices of one tenant push the same rows as
//!    contact-create ops as fast as they can; ops/s against the raw rate.
//! 3. **Push, paced**: 200 devices (another tenant) each push a batch every
//!    second so that 5,000 ops/s are offered; latency p50/p99.
//! 4. **Initial sync**: a fresh device (SQLCipher profile) pulls the first
//!    tenant's 100,000 contacts through the real client and merges them.
//!
//! Both the server and PostgreSQL run on this machine, with durability off
//! (`fsync=off`) for the baseline and the server alike.
//!
//! `notify` (or `make bench-notify`, [`notify`]): how soon a colleague's
//! edit is on another device, through the server's change notices.
//!
//! `catalog` (or `make bench-catalog`, [`catalog`]): 200 devices and a
//! catalog of 50 plugins.
//!
//! `soak` (or `make soak`, [`soak`]): devices pushing and pulling for minutes
//! against the server in a process of its own; errors, latency and the
//! server's memory each minute.

use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_pg_testkit::TestPg;
use crm_protocol::wire::LoginResponse;
use crm_protocol::{Hlc, SyncOp};
use crm_sync_server::auth::Role;
use crm_sync_server::{admin, db, sql, Limits};
use serde_json::{json, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

mod catalog;
mod notify;
mod soak;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the sync benchmark.
    Sync {
        /// Contacts pushed and then pulled by a fresh device.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Simulated devices.
        #[arg(long, default_value_t = 200)]
        devices: usize,
        /// Ops per push.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Ops per second offered in the paced phase.
        #[arg(long, default_value_t = 5_000)]
        rate: usize,
        /// Length of the paced phase, seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Notice latency: from an edit's commit on one device to its commit on
    /// a colleague's, with 20 and then 500 devices connected.
    Notify {
        /// Edits timed with 20 devices connected.
        #[arg(long, default_value_t = 1000)]
        edits: usize,
        /// Devices connected in the large run.
        #[arg(long, default_value_t = 500)]
        devices: usize,
        /// Edits timed in the large run.
        #[arg(long, default_value_t = 300)]
        edits_large: usize,
    },
    /// The plugin catalog: devices pulling a catalog of plugins (first pull,
    /// unchanged pulls against a sync with nothing new, after a block).
    Catalog {
        /// Devices.
        #[arg(long, default_value_t = 200)]
        devices: usize,
        /// Plugins in the catalog.
        #[arg(long, default_value_t = 50)]
        plugins: usize,
        /// Unchanged pulls timed per device.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Soak the server: devices pushing and pulling for minutes; fails on
    /// any request error or if the server's memory grows.
    Soak {
        /// Length of the run, minutes.
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        /// Simulated devices (one connection each).
        #[arg(long, default_value_t = 500)]
        devices: usize,
        /// Mean pause between a device's cycles (push, pull), milliseconds;
        /// each pause is this ±20 %.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
}

const PW: &str = "bench password 1";

fn contact_fields(i: usize) -> Value {
    json!({
        "kind": "person", "display_name": format!("Person {i}"), "first_name": "Person",
        "last_name": format!("{i}"), "company_name": "Acme Insurance Brokers Ltd", "job_title": "Director",
        "stage": "client", "owner": null, "tags": ["vip", "motor"], "emails": [format!("p{i}@example.com")],
        "phones": ["+447911123456"], "address_line1": "1 High Street", "address_line2": null,
        "city": "Leeds", "region": "West Yorkshire", "postcode": "LS1 1AA", "country": "GB",
        "source": "bench", "external_id": format!("ext-{i}"), "date_of_birth": "1980-01-01", "custom": {}
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Bench {
    pg: TestPg,
    rt: tokio::runtime::Runtime,
    owner: sql::PgPool,
    base: String,
    _server: crm_sync_server::local::Running,
}

impl Bench {
    fn start() -> Result<Bench> {
        let pg = TestPg::start()?;
        pg.create_database("crm", "crm_owner", "crm_app")?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let (owner, server) = rt.block_on(async {
            let owner = db::connect(&pg.url("crm_owner", "crm"), 4).await?;
            db::migrate(&owner).await?;
            // The server's own default pool size.
            let pool = db::connect(&pg.url("crm_app", "crm"), db::default_connections()).await?;
            let server = crm_sync_server::local::spawn(pool, Limits::default(), 0).await?;
            anyhow::Ok((owner, server))
        })?;
        let base = format!("http://{}", server.addr);
        Ok(Bench {
            pg,
            rt,
            owner,
            base,
            _server: server,
        })
    }

    fn tenant(&self, name: &str) -> Result<(Uuid, String)> {
        let email = format!("admin@{name}.test");
        let t = self.rt.block_on(async {
            let t = admin::create_tenant(&self.owner, name).await?;
            admin::add_user(&self.owner, t, &email, PW, Role::Admin, None).await?;
            anyhow::Ok(t)
        })?;
        Ok((t, email))
    }

    /// Sign `n` devices in (concurrently; each login is an Argon2id check).
    fn devices(&self, email: &str, n: usize) -> Result<Vec<LoginResponse>> {
        let http = reqwest::blocking::Client::new();
        let out = Mutex::new(Vec::new());
        let next = Mutex::new(0usize);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| loop {
                    {
                        let mut k = next.lock().unwrap_or_else(|e| e.into_inner());
                        if *k >= n {
                            return;
                        }
                        *k += 1;
                    }
                    let device = Uuid::now_v7();
                    // The server bounds password checks at once and answers
                    // the rest 503 with Retry-After: wait as told.
                    for _ in 0..100 {
                        let r = http
                            .post(format!("{}/v1/login", self.base))
                            .json(&json!({"email": email, "password": PW,
                                "device_id": device, "device_name": "bench"}))
                            .send();
                        let Ok(r) = r else { break };
                        if r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                            let wait = r
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                                .unwrap_or(1);
                            std::thread::sleep(std::time::Duration::from_millis(wait * 1000));
                            continue;
                        }
                        if let Ok(r) = r.error_for_status().and_then(|r| r.json::<LoginResponse>())
                        {
                            out.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                        }
                        break;
                    }
                });
            }
        });
        let v = out.into_inner().unwrap_or_else(|e| e.into_inner());
        if v.len() != n {
            bail!("only {} of {n} devices could sign in", v.len());
        }
        Ok(v)
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ops_for(dev: &LoginResponse, rows: std::ops::Range<usize>, counter: &mut u32) -> Vec<SyncOp> {
    rows.map(|i| {
        *counter += 1;
        SyncOp {
            op_id: Uuid::now_v7(),
            table: "contacts".into(),
            row_id: Uuid::now_v7(),
            tenant_id: dev.tenant_id,
            hlc: Hlc {
                millis: now_ms(),
                counter: *counter,
                node: dev.device_id,
            },
            fields: serde_json::from_value(contact_fields(i)).unwrap_or_default(),
        }
    })
    .collect()
}

fn push(http: &reqwest::blocking::Client, base: &str, token: &str, ops: &[SyncOp]) -> Result<()> {
    let r = http
        .post(format!("{base}/v1/push"))
        .bearer_auth(token)
        .json(&json!({ "ops": ops }))
        .send()?;
    if !r.status().is_success() {
        bail!("push: HTTP {} {}", r.status(), r.text().unwrap_or_default());
    }
    Ok(())
}

fn run(rows: usize, devices: usize, batch: usize, rate: usize, seconds: u64) -> Result<()> {
    println!("starting a throwaway PostgreSQL and the sync server…");
    let b = Bench::start()?;

    // 1. Raw baseline.
    let raw_rate = b.rt.block_on(async {
        sql::query("CREATE TABLE raw_contacts (tenant_id uuid NOT NULL, id uuid PRIMARY KEY, fields jsonb NOT NULL)")
            .execute(&b.owner)
            .await?;
        let t = Uuid::now_v7();
        let start = Instant::now();
        for chunk in (0..rows).collect::<Vec<_>>().chunks(batch) {
            let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
            let fields: Vec<Value> = chunk.iter().map(|i| contact_fields(*i)).collect();
            let mut tx = b.owner.begin().await?;
            sql::query("INSERT INTO raw_contacts SELECT $1, * FROM unnest($2::uuid[], $3::jsonb[])")
                .bind(t)
                .bind(&ids)
                .bind(&fields)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        anyhow::Ok(rows as f64 / start.elapsed().as_secs_f64())
    })?;
    println!("raw PostgreSQL insert:   {raw_rate:>9.0} rows/s ({rows} rows, batches of {batch})");

    // 2. Saturated push: the same rows through the server.
    let (t1, email1) = b.tenant("saturated")?;
    let devs = b.devices(&email1, devices)?;
    let per_dev = rows.div_ceil(devices);
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()?;
    let lat = Mutex::new(Vec::with_capacity(rows / batch + devices));
    let barrier = Barrier::new(devices);
    let start = Mutex::new(None::<Instant>);
    let failed = Mutex::new(None::<String>);
    std::thread::scope(|s| {
        for (k, dev) in devs.iter().enumerate() {
            let (http, lat, barrier, start, failed) = (&http, &lat, &barrier, &start, &failed);
            let base = b.base.as_str();
            s.spawn(move || {
                let lo = (k * per_dev).min(rows);
                let hi = ((k + 1) * per_dev).min(rows);
                let mut counter = 0;
                let batches: Vec<Vec<SyncOp>> = (lo..hi)
                    .collect::<Vec<_>>()
                    .chunks(batch)
                    .map(|c| ops_for(dev, c[0]..c[c.len() - 1] + 1, &mut counter))
                    .collect();
                if barrier.wait().is_leader() {
                    *start.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                }
                for ops in batches {
                    let t = Instant::now();
                    if let Err(e) = push(http, base, &dev.token, &ops) {
                        *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                        return;
                    }
                    lat.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(t.elapsed());
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        bail!("saturated push failed: {e}");
    }
    let elapsed = start
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .map(|s| s.elapsed())
        .context("no start")?;
    let sat_rate = rows as f64 / elapsed.as_secs_f64();
    let mut l = lat.into_inner().unwrap_or_else(|e| e.into_inner());
    l.sort();
    println!(
        "push, saturated:         {sat_rate:>9.0} ops/s ({devices} devices, {batch} ops/push; p50 {:?}, p99 {:?} per push while queued)",
        percentile(&l, 0.5),
        percentile(&l, 0.99)
    );

    // 3. Paced push: `rate` ops/s offered by all devices together.
    let (_t2, email2) = b.tenant("paced")?;
    let devs2 = b.devices(&email2, devices)?;
    let per_push = (rate / devices).max(1);
    let lat = Mutex::new(Vec::new());
    let sent = Mutex::new(0usize);
    let t0 = Instant::now() + Duration::from_millis(200);
    std::thread::scope(|s| {
        for (k, dev) in devs2.iter().enumerate() {
            let (http, lat, sent) = (&http, &lat, &sent);
            let base = b.base.as_str();
            s.spawn(move || {
                let mut counter = 0;
                // Spread the devices over the second.
                let offset = Duration::from_micros((k as u64 * 1_000_000) / devices as u64);
                for tick in 0..seconds {
                    let at = t0 + Duration::from_secs(tick) + offset;
                    let now = Instant::now();
                    if at > now {
                        std::thread::sleep(at - now);
                    }
                    let ops = ops_for(dev, 0..per_push, &mut counter);
                    let t = Instant::now();
                    if push(http, base, &dev.token, &ops).is_ok() {
                        lat.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(t.elapsed());
                        *sent.lock().unwrap_or_else(|e| e.into_inner()) += ops.len();
                    }
                }
            });
        }
    });
    let paced_elapsed = t0.elapsed();
    let sent = sent.into_inner().unwrap_or_else(|e| e.into_inner());
    let paced_rate = sent as f64 / paced_elapsed.as_secs_f64();
    let mut l = lat.into_inner().unwrap_or_else(|e| e.into_inner());
    l.sort();
    let p99 = percentile(&l, 0.99);
    println!(
        "push, paced:             {paced_rate:>9.0} ops/s ({devices} devices x {per_push} ops each second for {seconds} s; p50 {:?}, p99 {:?})",
        percentile(&l, 0.5),
        p99
    );

    // 4. Initial sync of the first tenant to a fresh SQLCipher device.
    let dir = tempfile::tempdir()?;
    let pass = FixedPassphrase(Zeroizing::new("bench profile passphrase".into()));
    let mut store = Store::create(dir.path(), KeyStoreChoice::Passphrase, &pass)?;
    let conn = crm_sync_client::Connection::new(&b.base, crm_sync_client::Options::default())?;
    let login = conn.login(&email1, PW, store.identity().device_id, "fresh")?;
    store.bind_to_server(&b.base, &email1, t1, login.user_id, &login.role)?;
    // The real client: pages fetched on one thread, merged on another.
    let start = Instant::now();
    let report = crm_sync_client::sync(&mut store, &conn, &login.token)?;
    let init_elapsed = start.elapsed();
    let pulled = report.pulled;
    if pulled < rows {
        bail!("initial sync pulled {pulled} rows, expected {rows}");
    }
    let init_rate = pulled as f64 / init_elapsed.as_secs_f64();
    println!("initial sync:            {init_rate:>9.0} rows/s ({pulled} contacts to a fresh SQLCipher device in {init_elapsed:.1?})");

    let ratio = sat_rate / raw_rate;
    println!();
    let verdict = |ok: bool| if ok { "ok" } else { "BELOW TARGET" };
    println!("targets:");
    println!(
        "  initial sync >= 20,000 rows/s        {:>9.0}  {}",
        init_rate,
        verdict(init_rate >= 20_000.0)
    );
    println!(
        "  push >= 5,000 ops/s (paced, offered {rate}) {:>9.0}  {}",
        paced_rate,
        verdict(paced_rate >= 5_000.0 * 0.97)
    );
    println!(
        "  push p99 <= 100 ms (paced)           {:>9.1} ms  {}",
        p99.as_secs_f64() * 1000.0,
        verdict(p99 <= Duration::from_millis(100))
    );
    println!(
        "  server/raw >= 0.3 (saturated)        {:>9.2}  {}",
        ratio,
        verdict(ratio >= 0.3)
    );
    drop(b.pg);
    Ok(())
}

fn main() -> Result<()> {
    // The soak's server process is this executable again (see `soak::serve`).
    if let Some(url) = std::env::var_os(soak::SERVE_ENV) {
        let url = url
            .into_string()
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8", soak::SERVE_ENV))?;
        return soak::serve(&url);
    }
    match Cli::parse().cmd {
        Cmd::Sync {
            rows,
            devices,
            batch,
            rate,
            seconds,
        } => run(rows, devices, batch, rate, seconds),
        Cmd::Notify {
            edits,
            devices,
            edits_large,
        } => notify::run(notify::Options {
            edits,
            devices,
            edits_large,
        }),
        Cmd::Catalog {
            devices,
            plugins,
            rounds,
        } => catalog::run(catalog::Options {
            devices,
            plugins,
            rounds,
        }),
        Cmd::Soak {
            minutes,
            devices,
            interval_ms,
        } => soak::run(soak::Options {
            minutes,
            devices,
            interval: Duration::from_millis(interval_ms),
        }),
    }
}
