//! `cargo run --release -p crm-sync-bench -- soak` (or `make soak`).
//!
//! Many simulated devices push and pull against the real server and a real
//! PostgreSQL for minutes on end, to show the server neither fails nor grows:
//!
//! - its own throwaway PostgreSQL, migrated; one tenant per 100 devices, each
//!   with one admin (one device, pulls the whole tenant) and agents with two
//!   devices each (a laptop and a desktop, say), in teams of two (a device
//!   pulls its own, its other device's and its team mate's contacts);
//! - the server is this executable again, started with [`SERVE_ENV`] set, so
//!   it is a process of its own whose memory (`VmRSS`) is the server's alone;
//! - every device has its own HTTP client, hence its own connection, as a real
//!   one has; each cycle it pushes one new contact and two edits of contacts
//!   it created earlier, pulls from its cursor until caught up, and sleeps about
//!   `--interval-ms` (±20 %), so the load is steady rather than saturating;
//! - each minute one line: requests, errors, push and pull p50/p99, server RSS.
//!
//! It fails (non-zero exit) if any request failed, or if the server's RSS at
//! the last minute exceeds the first full minute's by more than
//! [`GROWTH_FACTOR`] and [`GROWTH_SLACK_MIB`].

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crm_pg_testkit::TestPg;
use crm_protocol::wire::{LoginResponse, PullResponse, PushResponse};
use crm_protocol::{Hlc, SyncOp};
use crm_sync_server::auth::Role;
use crm_sync_server::{admin, db, Limits};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{contact_fields, now_ms, percentile, PW};

/// Set to the application role's database URL, this executable serves
/// instead of running a command (see [`serve`]).
pub const SERVE_ENV: &str = "CRM_SOAK_SERVE";
/// The child's connection cap (default: the server's).
const MAX_CONNECTIONS_ENV: &str = "CRM_SOAK_MAX_CONNECTIONS";

/// Memory is "flat" when the last minute's RSS is at most the first full
/// minute's times this, plus [`GROWTH_SLACK_MIB`]: the factor allows for
/// allocator and page-cache noise proportional to the size, the slack for
/// buffers that settle at a fixed size after the first minute.
const GROWTH_FACTOR: f64 = 1.20;
const GROWTH_SLACK_MIB: f64 = 16.0;

/// Devices per tenant; a tenant's writes are serialised on its lock row, so
/// several tenants are also the realistic shape of a server's load.
const DEVICES_PER_TENANT: usize = 100;
/// Devices signed in by one agent (one email): the per-email login limit
/// counts failures only, so this is about realism, not the limit. Every
/// change is pulled by each device that sees it (the agent's and the team
/// mate's devices, and the admin's), so this sets how many rows a push
/// fans out to.
const DEVICES_PER_AGENT: usize = 2;
/// Contacts a device remembers as candidates for edits (its latest).
const KNOWN_ROWS: usize = 256;
/// Page size asked for on pull.
const PULL_LIMIT: u32 = 500;
/// Pages pulled in one cycle at most (a device behind catches up over cycles).
const PULL_PAGES: usize = 10;
/// Error messages kept to print (all are counted).
const ERRORS_KEPT: usize = 10;

/// The soak's parameters.
pub struct Options {
    pub minutes: u64,
    pub devices: usize,
    pub interval: Duration,
}

/// The child: serve on a free loopback port with the default limits and the
/// server's default pool size, say `listening on PORT` on stdout, and serve
/// until stdin closes (the parent ended, or killed us; either way no server
/// is left behind holding the throwaway database).
pub fn serve(app_url: &str) -> Result<()> {
    // Like `sync-server serve` (`#[tokio::main]`): one worker per core.
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let pool = db::connect(app_url, db::default_connections()).await?;
        db::check_serving_role(&pool).await?;
        let mut limits = Limits::default();
        if let Some(n) = std::env::var(MAX_CONNECTIONS_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
        {
            limits.max_connections = n;
        }
        let running = crm_sync_server::local::spawn(pool, limits, 0).await?;
        let mut out = std::io::stdout();
        writeln!(out, "listening on {}", running.addr.port())?;
        out.flush()?;
        tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
            .await??;
        anyhow::Ok(())
    })?;
    // Connections in flight are cut, as when the process is killed.
    std::process::exit(0)
}

/// The server as a child process of this executable.
pub(crate) struct Server {
    child: Child,
    // Held open: the child exits when it closes.
    _stdin: ChildStdin,
    pub(crate) base: String,
}

impl Server {
    /// Start it, serving at most `max_connections` at once.
    pub(crate) fn start(app_url: &str, max_connections: usize) -> Result<Server> {
        let exe = std::env::current_exe().context("this executable's path")?;
        let mut child = Command::new(exe)
            .env(SERVE_ENV, app_url)
            .env(MAX_CONNECTIONS_ENV, max_connections.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server process")?;
        let stdin = child.stdin.take().context("server stdin")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the server's first line")?;
        let Some(port) = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse::<u16>().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the server did not start: {line:?}");
        };
        Ok(Server {
            child,
            _stdin: stdin,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has ended.
    fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server process ended: {status}");
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `/proc/<pid>/status` figure in MiB (`VmRSS`: resident now; `VmHWM`: its
/// peak so far).
pub(crate) fn proc_mib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(kib / 1024.0)
}

/// Create the tenants and users; the email each device signs in with, in
/// device order (an agent's devices share the agent's email).
async fn accounts(owner: &crm_sync_server::sql::PgPool, devices: usize) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(devices);
    for (t, first) in (0..devices).step_by(DEVICES_PER_TENANT).enumerate() {
        let n = DEVICES_PER_TENANT.min(devices - first);
        let name = format!("soak-{t}");
        let tenant = admin::create_tenant(owner, &name).await?;
        let admin_email = format!("admin@{name}.test");
        admin::add_user(owner, tenant, &admin_email, PW, Role::Admin, None).await?;
        out.push(admin_email);
        for slot in 1..n {
            let agent = (slot - 1) / DEVICES_PER_AGENT;
            let email = format!("agent{agent}@{name}.test");
            if (slot - 1) % DEVICES_PER_AGENT == 0 {
                let team = format!("team-{}", agent / 2);
                admin::add_user(owner, tenant, &email, PW, Role::Agent, Some(&team)).await?;
            }
            out.push(email);
        }
    }
    Ok(out)
}

/// Sign every account's device in. The server runs at most one Argon2 check
/// per core and answers 503 `busy` beyond that, so logins go one per core at
/// a time and a `busy` answer is retried after its `Retry-After`; a
/// successful login leaves no failure behind, so the per-email and
/// per-address limits (failures within 15 minutes) are never reached.
pub(crate) async fn sign_in(
    base: &str,
    accounts: &[String],
) -> Result<(Vec<LoginResponse>, usize)> {
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let accounts = Arc::new(accounts.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..Limits::default().password_checks {
        let (http, next, busy, accounts) =
            (http.clone(), next.clone(), busy.clone(), accounts.clone());
        let url = format!("{base}/v1/login");
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(email) = accounts.get(k) else {
                    return anyhow::Ok(out);
                };
                let body = json!({"email": email, "password": PW,
                    "device_id": Uuid::now_v7(), "device_name": format!("soak {k}")});
                let mut tries = 0;
                let r = loop {
                    let r = http.post(&url).json(&body).send().await?;
                    // 30 tries at a second each: far more than a queue of
                    // one login per core needs; past that, something is wrong.
                    if r.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE || tries >= 30 {
                        break r;
                    }
                    tries += 1;
                    busy.fetch_add(1, Ordering::Relaxed);
                    let wait = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                };
                if !r.status().is_success() {
                    let status = r.status();
                    bail!(
                        "login of {email}: HTTP {status} {}",
                        r.text().await.unwrap_or_default()
                    );
                }
                out.push((k, r.json::<LoginResponse>().await?));
            }
        });
    }
    let mut all = Vec::with_capacity(accounts.len());
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    // In device order, so device k is account k.
    all.sort_by_key(|(k, _)| *k);
    Ok((
        all.into_iter().map(|(_, l)| l).collect(),
        busy.load(Ordering::Relaxed),
    ))
}

/// What happened within one minute (or after the last one).
#[derive(Default)]
struct Window {
    push: Vec<Duration>,
    pull: Vec<Duration>,
    errors: u64,
    ops: u64,
    rows: u64,
}

/// Shared by the devices and the reporter.
#[derive(Default)]
struct Stats {
    window: Mutex<Window>,
    messages: Mutex<Vec<String>>,
}

impl Stats {
    fn ok(&self, push: bool, took: Duration, count: usize) {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if push {
            w.push.push(took);
            w.ops += count as u64;
        } else {
            w.pull.push(took);
            w.rows += count as u64;
        }
    }

    fn error(&self, what: String) {
        self.window.lock().unwrap_or_else(|e| e.into_inner()).errors += 1;
        let mut m = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() < ERRORS_KEPT {
            m.push(what);
        }
    }

    fn take(&self) -> Window {
        std::mem::take(&mut *self.window.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A small deterministic generator for jitter and choices (a device's
/// schedule should differ from its neighbours', not be unpredictable).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One simulated device.
struct Device {
    login: LoginResponse,
    http: reqwest::Client,
    base: String,
    counter: u32,
    created: usize,
    cursor: i64,
    known: VecDeque<Uuid>,
    rng: SplitMix,
}

impl Device {
    fn op(&mut self, row_id: Uuid, fields: BTreeMap<String, Value>) -> SyncOp {
        self.counter = self.counter.wrapping_add(1);
        SyncOp {
            op_id: Uuid::now_v7(),
            table: "contacts".into(),
            row_id,
            tenant_id: self.login.tenant_id,
            hlc: Hlc {
                millis: now_ms(),
                counter: self.counter,
                node: self.login.device_id,
            },
            fields,
        }
    }

    fn remember(&mut self, id: Uuid) {
        if self.known.len() == KNOWN_ROWS {
            self.known.pop_front();
        }
        self.known.push_back(id);
    }

    /// One new contact and up to two edits of contacts this device created
    /// earlier (two edits may hit one contact: the later op wins each field).
    fn batch(&mut self) -> (Vec<SyncOp>, Uuid) {
        let i = self.created;
        self.created += 1;
        let fields = match contact_fields(i) {
            Value::Object(m) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        let new_id = Uuid::now_v7();
        let mut ops = vec![self.op(new_id, fields)];
        for e in 0..2 {
            if self.known.is_empty() {
                break;
            }
            let pick = (self.rng.next() % self.known.len() as u64) as usize;
            let row = self.known[pick];
            let n = self.counter;
            let fields = BTreeMap::from([
                ("job_title".to_string(), json!(format!("Title {n}.{e}"))),
                ("city".to_string(), json!(format!("City {}", n % 50))),
            ]);
            ops.push(self.op(row, fields));
        }
        (ops, new_id)
    }

    async fn push(&mut self, stats: &Stats) {
        let (ops, new_id) = self.batch();
        let t = Instant::now();
        let r = async {
            let r = self
                .http
                .post(format!("{}/v1/push", self.base))
                .bearer_auth(&self.login.token)
                .json(&json!({ "ops": ops }))
                .send()
                .await?;
            let status = r.status();
            if !status.is_success() {
                bail!("push: HTTP {status} {}", r.text().await.unwrap_or_default());
            }
            let body: PushResponse = r.json().await?;
            let acked = body.applied.len() + body.duplicates.len();
            if acked != ops.len() {
                bail!("push: {acked} of {} ops acknowledged", ops.len());
            }
            anyhow::Ok(())
        }
        .await;
        match r {
            Ok(()) => {
                stats.ok(true, t.elapsed(), ops.len());
                self.remember(new_id);
            }
            Err(e) => stats.error(format!("{e:#}")),
        }
    }

    async fn pull(&mut self, stats: &Stats) {
        for _ in 0..PULL_PAGES {
            let t = Instant::now();
            let r = async {
                let r = self
                    .http
                    .get(format!(
                        "{}/v1/pull?cursor={}&limit={PULL_LIMIT}",
                        self.base, self.cursor
                    ))
                    .bearer_auth(&self.login.token)
                    .send()
                    .await?;
                let status = r.status();
                if !status.is_success() {
                    bail!("pull: HTTP {status} {}", r.text().await.unwrap_or_default());
                }
                anyhow::Ok(r.json::<PullResponse>().await?)
            }
            .await;
            match r {
                Ok(page) => {
                    stats.ok(false, t.elapsed(), page.rows.len());
                    self.cursor = page.cursor;
                    if !page.more {
                        return;
                    }
                }
                Err(e) => {
                    stats.error(format!("{e:#}"));
                    return;
                }
            }
        }
    }

    /// Push, pull, sleep, until `end`. The first cycle starts at a random
    /// point of the first interval, so the devices do not move in step.
    async fn run(mut self, interval: Duration, end: Instant, stats: Arc<Stats>) {
        let offset = interval.mul_f64(self.rng.unit());
        tokio::time::sleep(offset).await;
        while Instant::now() < end {
            self.push(&stats).await;
            self.pull(&stats).await;
            let pause = interval.mul_f64(0.8 + 0.4 * self.rng.unit());
            tokio::time::sleep_until(tokio::time::Instant::from_std(
                (Instant::now() + pause).min(end),
            ))
            .await;
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Run the soak; an error (or a failed check) is a non-zero exit.
pub fn run(o: Options) -> Result<()> {
    let max_connections = Limits::default().max_connections;
    if o.devices == 0 || o.minutes == 0 {
        bail!("--devices and --minutes must be at least 1");
    }
    // One connection per device: past the server's cap they would be
    // answered 503 `busy`, which is the cap working, not a soak.
    if o.devices > max_connections {
        bail!("--devices at most {max_connections} (the server's connection cap; one connection per device)");
    }
    if o.interval < Duration::from_millis(100) {
        bail!("--interval-ms must be at least 100");
    }
    println!("starting a throwaway PostgreSQL and the sync server (own process)…");
    let pg = TestPg::start()?;
    pg.create_database("crm", "crm_owner", "crm_app")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let accounts = rt.block_on(async {
        let owner = db::connect(&pg.url("crm_owner", "crm"), 4).await?;
        db::migrate(&owner).await?;
        let a = accounts(&owner, o.devices).await?;
        owner.close().await;
        anyhow::Ok(a)
    })?;
    let mut server = Server::start(&pg.url("crm_app", "crm"), Limits::default().max_connections)?;
    let pid = server.pid();
    let tenants = o.devices.div_ceil(DEVICES_PER_TENANT);
    let users = {
        let mut e: Vec<&str> = accounts.iter().map(String::as_str).collect();
        e.sort_unstable();
        e.dedup();
        e.len()
    };
    println!(
        "server pid {pid} at {}; {tenants} tenant(s), {users} users (an admin with 1 device and agents with {DEVICES_PER_AGENT}, in teams of 2, per tenant)",
        server.base
    );

    let started = Instant::now();
    let (logins, busy) = rt.block_on(sign_in(&server.base, &accounts))?;
    println!(
        "signed in {} devices in {:.1?} (one login per core at a time; {busy} `busy` answers waited out); server RSS {:.1} MiB",
        logins.len(),
        started.elapsed(),
        proc_mib(pid, "VmRSS")?
    );

    let rule = format!(
        "memory flat: RSS at the last minute <= first full minute's x {GROWTH_FACTOR:.2} + {GROWTH_SLACK_MIB:.0} MiB"
    );
    println!(
        "{} devices for {} minute(s), each: push 1 new contact + 2 edits, pull to caught up, sleep {:?} ±20 %",
        o.devices, o.minutes, o.interval
    );
    println!("fails on any request error, or unless {rule}");
    println!();
    println!("minute  requests  errors   push p50/p99 ms    pull p50/p99 ms   ops pushed  rows pulled  server RSS MiB");

    let stats = Arc::new(Stats::default());
    let start = Instant::now();
    let end = start + Duration::from_secs(60 * o.minutes);
    let base = server.base.clone();
    let mut tasks = tokio::task::JoinSet::new();
    // Clients are built, and devices spawned, inside the runtime they run on.
    let in_rt = rt.enter();
    for (k, login) in logins.into_iter().enumerate() {
        // A client per device: its own connection, as on a real device.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let dev = Device {
            login,
            http,
            base: base.clone(),
            counter: 0,
            created: 0,
            cursor: 0,
            known: VecDeque::with_capacity(KNOWN_ROWS),
            rng: SplitMix(k as u64 + 1),
        };
        tasks.spawn(dev.run(o.interval, end, stats.clone()));
    }
    drop(in_rt);

    let mut rss = Vec::with_capacity(o.minutes as usize);
    let mut total = Window::default();
    let mut requests = 0u64;
    for minute in 1..=o.minutes {
        let at = start + Duration::from_secs(60 * minute);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let mut w = stats.take();
        server.check_alive()?;
        let mib = proc_mib(pid, "VmRSS")?;
        rss.push(mib);
        w.push.sort_unstable();
        w.pull.sort_unstable();
        let n = (w.push.len() + w.pull.len()) as u64;
        requests += n;
        println!(
            "{minute:>6}  {n:>8}  {:>6}  {:>7.1} / {:>7.1}  {:>7.1} / {:>7.1}  {:>10}  {:>11}  {mib:>14.1}",
            w.errors,
            ms(percentile(&w.push, 0.5)),
            ms(percentile(&w.push, 0.99)),
            ms(percentile(&w.pull, 0.5)),
            ms(percentile(&w.pull, 0.99)),
            w.ops,
            w.rows,
        );
        total.errors += w.errors;
        total.ops += w.ops;
        total.rows += w.rows;
    }
    // Cycles begun before the end finish now; their errors count too.
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(90), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
    });
    let unfinished = tasks.len();
    let tail = stats.take();
    requests += (tail.push.len() + tail.pull.len()) as u64;
    total.errors += tail.errors;
    total.ops += tail.ops;
    total.rows += tail.rows;
    server.check_alive()?;
    let peak = proc_mib(pid, "VmHWM")?;

    println!();
    println!(
        "total: {requests} requests, {} errors, {} ops pushed, {} rows pulled; server peak RSS (VmHWM) {peak:.1} MiB",
        total.errors, total.ops, total.rows
    );
    let mut failed = Vec::new();
    if total.errors > 0 {
        let m = stats.messages.lock().unwrap_or_else(|e| e.into_inner());
        println!("first errors:");
        for e in m.iter() {
            println!("  {e}");
        }
        failed.push(format!("{} requests failed", total.errors));
    }
    if unfinished > 0 {
        failed.push(format!(
            "{unfinished} devices still busy 90 s after the end"
        ));
    }
    let (first, last) = (rss[0], rss[rss.len() - 1]);
    let bound = first * GROWTH_FACTOR + GROWTH_SLACK_MIB;
    let flat = last <= bound;
    println!(
        "{rule}: first {first:.1}, last {last:.1}, bound {bound:.1} MiB: {}",
        if o.minutes == 1 {
            "ok (one minute: first is last, nothing to compare)"
        } else if flat {
            "ok"
        } else {
            "GREW"
        }
    );
    if !flat {
        failed.push(format!(
            "server RSS grew from {first:.1} to {last:.1} MiB (bound {bound:.1})"
        ));
    }
    drop(server);
    drop(pg);
    if !failed.is_empty() {
        bail!("soak failed: {}", failed.join("; "));
    }
    println!("soak passed");
    Ok(())
}
