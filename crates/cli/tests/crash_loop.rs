//! The crash loop: `crm` killed with SIGKILL at random moments during a
//! large import, a plugin's bulk update and a sync, and the sync server
//! killed mid-push. After every kill the profile must open, pass SQLite's
//! `PRAGMA integrity_check`, hold every write that was reported committed,
//! and a rerun must finish without duplicates; on the server no acknowledged
//! op may be lost and none applied twice.
//!
//! A plain binary (`harness = false`): it prints its counts, and re-runs
//! itself as the sync server (`CRASH_LOOP_SERVE`) so that the server is a
//! process that can be killed. Sizes come from the environment:
//! `CRM_CRASH_KILLS` (default 12) and `CRM_CRASH_ROWS` (default 20,000);
//! `make crash-loop` runs 100 kills over 100,000 rows in release.
//! `CRM_CRASH_SEED` replays a run; `CRM_CRASH_PARTS` (import, plugin, sync)
//! picks parts.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_core::{FixedPassphrase, Store};
use crm_pg_testkit::TestPg;
use crm_sync_server::auth::Role;
use crm_sync_server::{admin, db, Limits};
use zeroize::Zeroizing;

const PASS: &str = "crash loop passphrase";
const ACCOUNT_PW: &str = "crash loop account 1";
const BATCH: u64 = 1_000;
const PLUGIN: &str = "local.scores";

fn main() {
    if let Ok(url) = std::env::var("CRASH_LOOP_SERVE") {
        serve(&url);
        return;
    }
    let kills: u64 = env_num("CRM_CRASH_KILLS", 12);
    let rows: u64 = env_num("CRM_CRASH_ROWS", 20_000);
    let seed: u64 = env_num("CRM_CRASH_SEED", nanos());
    println!("crash loop: {kills} kills over {rows} rows, seed {seed} (CRM_CRASH_SEED replays)");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = tmp.path().join("contacts.csv");
    write_csv(&csv, 0, rows);

    // Shares: 40% import, 30% plugin, 15% sync client, 15% sync server.
    let import_kills = (kills * 4 / 10).max(1);
    let plugin_kills = (kills * 3 / 10).max(1);
    let client_kills = ((kills - import_kills.min(kills) - plugin_kills.min(kills)) / 2).max(1);
    let server_kills = kills
        .saturating_sub(import_kills + plugin_kills + client_kills)
        .max(1);

    // CRM_CRASH_PARTS picks parts (import, plugin, sync) to replay one.
    let parts = std::env::var("CRM_CRASH_PARTS").unwrap_or("import,plugin,sync".into());
    if parts.contains("import") || parts.contains("plugin") {
        let base = tmp.path().join("base");
        init(&base);
        let started = Instant::now();
        run_ok(crm(&base).args(["import", "contacts", s(&csv)]));
        let import_time = started.elapsed();
        assert_eq!(check_profile(&base, rows), rows);
        println!(
            "a whole import of {rows} rows: {:.1} s",
            import_time.as_secs_f64()
        );
        if parts.contains("import") {
            import_loop(tmp.path(), &csv, rows, import_kills, import_time, &mut rng);
        }
        if parts.contains("plugin") {
            plugin_loop(tmp.path(), &base, rows, plugin_kills, &mut rng);
        }
    }
    if parts.contains("sync") {
        sync_loops(tmp.path(), rows, client_kills, server_kills, &mut rng);
    }
    println!("crash loop: ok ({kills} kills asked, seed {seed})");
}

/// Kill imports until `kills` have landed mid-run; a profile whose import
/// finished is started afresh so that every kill meets a running import.
fn import_loop(tmp: &Path, csv: &Path, rows: u64, kills: u64, whole: Duration, rng: &mut Rng) {
    let mut killed = 0;
    let mut finished = 0;
    let mut round = 0;
    let mut left = Vec::new(); // rows found after each kill
    let mut profile = tmp.join("import-0");
    init(&profile);
    while killed < kills {
        let committed = Arc::new(AtomicU64::new(0));
        let mut child = spawn_reporting(
            crm(&profile).args([
                "import",
                "contacts",
                s(csv),
                "--batch-size",
                &BATCH.to_string(),
            ]),
            committed.clone(),
        );
        let was_killed = kill_at(&mut child, rng.within(whole));
        let reported = committed.load(Ordering::SeqCst);
        let count = check_profile(&profile, rows);
        assert!(
            count >= reported,
            "{} rows were reported committed but {count} are there",
            reported
        );
        assert!(
            count.is_multiple_of(BATCH) || count == rows,
            "{count} rows: a killed import must leave whole batches of {BATCH}"
        );
        if was_killed {
            killed += 1;
            left.push(count);
        } else {
            finished += 1;
            assert_eq!(count, rows, "an import that exited must have finished");
        }
        if count == rows {
            round += 1;
            profile = tmp.join(format!("import-{round}"));
            init(&profile);
        }
    }
    // The last profile: a rerun completes, and nothing is duplicated.
    run_ok(crm(&profile).args(["import", "contacts", s(csv)]));
    assert_eq!(check_profile(&profile, rows), rows);
    run_ok(crm(&profile).args(["import", "contacts", s(csv)]));
    assert_eq!(check_profile(&profile, rows), rows);
    println!(
        "import: {killed} kills mid-import, {finished} imports finished first, {} profiles, every rerun complete without duplicates",
        round + 1
    );
    println!("  rows found after each kill: {}", summary(&left));
}

/// The lead-scoring template re-scores the book in runs of 5,000, keeping a
/// cursor in its storage after each committed page. Kill runs at random;
/// after each kill every contact before the cursor carries the score of the
/// current rules and no contact carries anything but a whole score.
fn plugin_loop(tmp: &Path, profile: &Path, rows: u64, kills: u64, rng: &mut Rng) {
    let plug = tmp.join("scores");
    run_ok(crm(profile).args(["plugin", "new", s(&plug), "--template", "lead-scoring"]));
    run_ok(crm(profile).args(["plugin", "install", s(&plug), "--dev"]));
    run_ok(crm(profile).args(["plugin", "enable", PLUGIN, "--grant-all"]));
    // What each rule set gives, learnt from uninterrupted runs.
    let mut expected: HashMap<&str, HashMap<String, String>> = HashMap::new();
    let mut run_time = Duration::ZERO;
    for tag in ["cold", "hot"] {
        run_ok(crm(profile).args(["plugin", "configure", PLUGIN, &format!("hot_tag={tag}")]));
        loop {
            let started = Instant::now();
            let out = run_ok(crm(profile).args(["plugin", "run", PLUGIN, "score_all"]));
            run_time = run_time.max(started.elapsed());
            if out.contains("\"done\":true") {
                break;
            }
        }
        expected.insert(tag, scores(profile));
    }
    assert_eq!(expected["hot"].len() as u64, rows, "every contact scored");
    assert_ne!(
        expected["hot"], expected["cold"],
        "the two rule sets differ"
    );

    // The calibration ended on "hot": the first round flips to "cold".
    let mut tag = "cold";
    run_ok(crm(profile).args(["plugin", "configure", PLUGIN, "hot_tag=cold"]));
    let mut rescored = Vec::new(); // contacts with this round's score, after each kill
    let mut killed = 0;
    let mut finished = 0;
    while killed < kills {
        let mut child = crm(profile)
            .args(["plugin", "run", PLUGIN, "score_all"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn crm");
        let was_killed = kill_at(&mut child, rng.within(run_time));
        let mut out = String::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut o, &mut out);
        }
        assert_eq!(check_profile(profile, rows), rows);
        let store = open(profile);
        let cursor = store.plugin_storage_get(PLUGIN, "cursor").expect("storage");
        let now = scores_of(&store);
        drop(store);
        for (id, score) in &now {
            assert!(
                score == &expected["hot"][id] || score == &expected["cold"][id],
                "contact {id} has score {score:?}, neither rule set's"
            );
            if cursor.as_deref().is_some_and(|c| id.as_str() <= c) {
                assert_eq!(
                    score, &expected[tag][id],
                    "contact {id} is before the plugin's committed cursor but not re-scored"
                );
            }
        }
        if was_killed {
            killed += 1;
            rescored.push(
                now.iter()
                    .filter(|(id, v)| *v == &expected[tag][*id])
                    .count() as u64,
            );
        } else {
            finished += 1;
            if out.contains("\"done\":true") {
                // A round is complete: every contact has this round's score,
                // and the next round flips the rules so that it writes.
                assert_eq!(scores(profile), expected[tag]);
                tag = if tag == "hot" { "cold" } else { "hot" };
                run_ok(crm(profile).args([
                    "plugin",
                    "configure",
                    PLUGIN,
                    &format!("hot_tag={tag}"),
                ]));
            }
        }
    }
    loop {
        let out = run_ok(crm(profile).args(["plugin", "run", PLUGIN, "score_all"]));
        if out.contains("\"done\":true") {
            break;
        }
    }
    assert_eq!(scores(profile), expected[tag]);
    assert_eq!(check_profile(profile, rows), rows);
    println!("plugin bulk update: {killed} kills mid-run, {finished} runs finished first, every contact re-scored after the rerun");
    println!(
        "  contacts with the round's score after each kill: {}",
        summary(&rescored)
    );
}

/// `crm sync` killed mid-sync, then the server killed mid-push; each round
/// pushes a fresh chunk of contacts. A third profile pulls everything.
fn sync_loops(tmp: &Path, rows: u64, client_kills: u64, server_kills: u64, rng: &mut Rng) {
    let pg = TestPg::start().expect("postgres");
    pg.create_database("crm", "crm_owner", "crm_app")
        .expect("database");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let owner = db::connect(&pg.url("crm_owner", "crm"), 2)
            .await
            .expect("owner");
        db::migrate(&owner).await.expect("migrate");
        let t = admin::create_tenant(&owner, "Acme").await.expect("tenant");
        for email in ["ann@acme.test", "bob@acme.test", "dan@acme.test"] {
            admin::add_user(&owner, t, email, ACCOUNT_PW, Role::Admin, None)
                .await
                .expect("user");
        }
    });
    let app_url = pg.url("crm_app", "crm");
    let mut server = SyncServer::start(&app_url, 0);
    let chunk = (rows / 10).max(100);
    let mut next_row = rows; // rows beyond the import's, so emails stay unique
    let mut enqueued = 0; // ops ever put in any outbox
    let mut total = 0; // contacts made on the pushing profiles

    // Profile ann: sync killed mid-sync.
    let ann = tmp.join("ann");
    init(&ann);
    run_ok(&mut login(&ann, &server, "ann@acme.test"));
    enqueued += outbox(&ann);
    // How long one chunk's sync takes, uninterrupted: kills land within it.
    add_chunk(tmp, &ann, &mut next_row, chunk, &mut enqueued, &mut total);
    let started = Instant::now();
    run_ok(crm(&ann).arg("sync"));
    let mut sync_time = started.elapsed();
    check_server(&pg, total, enqueued);
    let mut through = Vec::new(); // ops on the server after each kill
    let mut killed = 0;
    let mut finished = 0;
    while killed < client_kills {
        add_chunk(tmp, &ann, &mut next_row, chunk, &mut enqueued, &mut total);
        let started = Instant::now();
        let mut child = crm(&ann)
            .arg("sync")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn crm");
        if kill_at(&mut child, rng.within(sync_time)) {
            killed += 1;
            through.push(server_count(&pg, "SELECT count(*) FROM applied_ops"));
        } else {
            finished += 1;
            sync_time = sync_time.max(started.elapsed());
        }
        check_profile(&ann, total);
        check_acknowledged(&pg, &[&ann], enqueued);
    }
    run_ok(crm(&ann).arg("sync"));
    assert_eq!(outbox(&ann), 0);
    check_server(&pg, total, enqueued);
    println!("sync client: {killed} kills mid-sync, {finished} syncs finished first; server holds {total} contacts, {enqueued} ops each applied once");
    println!("  ops on the server after each kill: {}", summary(&through));

    // Profile bob: the server killed mid-push, started again on its port.
    let bob = tmp.join("bob");
    init(&bob);
    run_ok(&mut login(&bob, &server, "bob@acme.test"));
    run_ok(crm(&bob).arg("sync")); // pulls ann's contacts first
    enqueued += outbox(&bob);
    let mut through = Vec::new();
    let mut killed = 0;
    let mut finished = 0;
    while killed < server_kills {
        add_chunk(tmp, &bob, &mut next_row, chunk, &mut enqueued, &mut total);
        let started = Instant::now();
        let mut child = crm(&bob)
            .arg("sync")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn crm");
        let delay = rng.within(sync_time);
        std::thread::sleep(delay);
        if child.try_wait().expect("wait").is_none() {
            server.kill();
            killed += 1;
            through.push(server_count(&pg, "SELECT count(*) FROM applied_ops"));
            // Back on the same port; the client may still be retrying.
            let port = server.port;
            server = SyncServer::start(&app_url, port);
        } else {
            finished += 1;
            sync_time = sync_time.max(started.elapsed());
        }
        let out = child.wait_with_output().expect("wait");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !said.contains("set aside") || said.contains("set aside 0"),
            "the sync the server died under: {said}"
        );
        check_profile(&bob, total);
        check_acknowledged(&pg, &[&ann, &bob], enqueued);
        // The client retries until everything is through.
        let said = run_ok(crm(&bob).arg("sync"));
        assert!(said.contains("set aside 0"), "{said}");
        assert_eq!(outbox(&bob), 0);
        check_server(&pg, total, enqueued);
    }
    println!("sync server: {killed} kills mid-push, {finished} pushes finished first; no acknowledged op lost, none applied twice");
    println!("  ops on the server after each kill: {}", summary(&through));

    // A new device pulls everything, once.
    let dan = tmp.join("dan");
    init(&dan);
    run_ok(&mut login(&dan, &server, "dan@acme.test"));
    run_ok(crm(&dan).arg("sync"));
    run_ok(crm(&ann).arg("sync"));
    assert_eq!(check_profile(&dan, total), total);
    assert_eq!(check_profile(&ann, total), total);
    println!("sync: a new device pulled all {total} contacts, no duplicates");
}

/// Import `chunk` new contacts into `profile` (no kill), counting the ops
/// they queue for the server.
fn add_chunk(
    tmp: &Path,
    profile: &Path,
    next_row: &mut u64,
    chunk: u64,
    enqueued: &mut u64,
    total: &mut u64,
) {
    let file = tmp.join(format!("chunk-{next_row}.csv"));
    write_csv(&file, *next_row, chunk);
    let before = outbox(profile);
    run_ok(crm(profile).args(["import", "contacts", s(&file)]));
    let queued = outbox(profile) - before;
    assert_eq!(
        queued, chunk,
        "every contact of the chunk queued for the server"
    );
    *enqueued += queued;
    *next_row += chunk;
    *total += chunk;
}

/// Every op a device no longer holds was acknowledged by the server: it must
/// be there, and no op may be there more often than once.
fn check_acknowledged(pg: &TestPg, profiles: &[&Path], enqueued: u64) {
    let pending: u64 = profiles.iter().map(|p| outbox(p)).sum();
    let applied = server_count(pg, "SELECT count(*) FROM applied_ops");
    assert!(
        applied + pending >= enqueued,
        "{enqueued} ops queued, {pending} still pending, but only {applied} on the server: an acknowledged op was lost"
    );
    assert!(
        applied <= enqueued,
        "{applied} ops applied of {enqueued} queued"
    );
}

fn check_server(pg: &TestPg, contacts: u64, ops: u64) {
    let rows = server_count(
        pg,
        "SELECT count(*) FROM rows WHERE tbl = 'contacts' AND NOT deleted",
    );
    let applied = server_count(pg, "SELECT count(*) FROM applied_ops");
    assert_eq!(
        (rows, applied),
        (contacts, ops),
        "(contacts, ops applied) on the server; all rows: {}",
        server_count(pg, "SELECT count(*) FROM rows")
    );
    assert_eq!(applied, ops, "ops applied");
}

fn server_count(pg: &TestPg, sql: &str) -> u64 {
    let out = pg.psql("crm", sql).expect("psql");
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: {out:?}"))
}

/// The sync server as a child process of this binary.
struct SyncServer {
    child: Child,
    port: u16,
}

impl SyncServer {
    fn start(app_url: &str, port: u16) -> SyncServer {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .env("CRASH_LOOP_SERVE", app_url)
            .env("CRASH_LOOP_PORT", port.to_string())
            .stdin(Stdio::piped()) // closed when this process ends: the server follows
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server's first line");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the server did not start: {line:?}"));
        SyncServer { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The child: serve until killed.
fn serve(app_url: &str) {
    // The harness holds our stdin: when it ends, however it ends, so do we.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let port: u16 = env_num("CRASH_LOOP_PORT", 0) as u16;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = db::connect(app_url, 8).await.expect("pool");
        // The port may still be held by the killed server for a moment.
        let mut tries = 0;
        let running = loop {
            match crm_sync_server::local::spawn(pool.clone(), Limits::default(), port).await {
                Ok(r) => break r,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("serve: {e}"),
            }
        };
        println!("listening on {}", running.addr.port());
        let _ = std::io::stdout().flush();
        std::future::pending::<()>().await;
    });
}

fn login(profile: &Path, server: &SyncServer, email: &str) -> Command {
    let mut c = crm(profile);
    c.args(["login", &server.url(), "--email", email]);
    c
}

fn outbox(profile: &Path) -> u64 {
    open(profile).outbox_len().expect("outbox") as u64
}

/// Open the profile as the app would, check it, and return its contact
/// count after checking that no email is there twice.
fn check_profile(profile: &Path, expected_at_most: u64) -> u64 {
    let store = open(profile);
    assert_eq!(
        store.integrity_check().expect("integrity"),
        "ok",
        "{}",
        profile.display()
    );
    let mut seen = HashSet::new();
    let mut after = None;
    loop {
        let page = store.scan_contacts(after, 5_000).expect("scan");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for c in &page {
            let email = c.emails.first().cloned().unwrap_or_default();
            assert!(seen.insert(email.clone()), "{email} is there twice");
        }
    }
    let count = store.count_contacts().expect("count") as u64;
    assert_eq!(count, seen.len() as u64);
    assert!(
        count <= expected_at_most,
        "{count} contacts, expected at most {expected_at_most}"
    );
    count
}

fn scores(profile: &Path) -> HashMap<String, String> {
    scores_of(&open(profile))
}

fn scores_of(store: &Store) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut after = None;
    loop {
        let page = store.scan_contacts(after, 5_000).expect("scan");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for c in page {
            if let Some(v) = c.custom.get("lead_score") {
                out.insert(c.id.to_string(), v.to_string());
            }
        }
    }
    out
}

fn open(profile: &Path) -> Store {
    let pass = FixedPassphrase(Zeroizing::new(PASS.to_string()));
    Store::open(profile, &pass).expect("the profile opens after a kill")
}

fn init(profile: &Path) {
    run_ok(crm(profile).args(["init", "--key-store", "passphrase"]));
}

fn crm(profile: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", profile)
        .env("CRM_PASSPHRASE", PASS)
        .env("CRM_SYNC_PASSWORD", ACCOUNT_PW)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().expect("run crm");
    assert!(
        out.status.success(),
        "crm failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Spawn, following the "committed: N rows" lines the import prints.
fn spawn_reporting(c: &mut Command, committed: Arc<AtomicU64>) -> Child {
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crm");
    let err = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(|l| l.ok()) {
            if let Some(n) = line
                .strip_prefix("committed: ")
                .and_then(|r| r.strip_suffix(" rows"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                committed.fetch_max(n, Ordering::SeqCst);
            }
        }
    });
    child
}

/// Sleep, then SIGKILL the child unless it has exited; true if killed. The
/// reader of its output is given a moment to take the last lines.
fn kill_at(child: &mut Child, delay: Duration) -> bool {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if child.try_wait().expect("wait").is_some() {
            std::thread::sleep(Duration::from_millis(50));
            return false;
        }
        std::thread::sleep(Duration::from_millis(5).min(until - Instant::now()));
    }
    let killed = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(50));
    killed
}

/// Contacts `first..first+n`, every email unique; every other one tagged hot.
fn write_csv(path: &PathBuf, first: u64, n: u64) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(
        w,
        "Record ID,First Name,Last Name,Email,Mobile Phone,Company,Job Title,Lead Source,Tags"
    )
    .expect("write");
    for i in first..first + n {
        let title = if i % 3 == 0 { "Director" } else { "Clerk" };
        let source = if i % 5 == 0 { "Referral" } else { "Website" };
        let tag = if i % 2 == 0 { "hot" } else { "cold" };
        writeln!(
            w,
            "CL-{i},First{i},Last{},person.{i}@example{}.com,07911 {:06},Company {} Ltd,{title},{source},{tag}",
            i % 1000,
            i % 97,
            i % 200_000, // 07911 3… is not a valid UK mobile range
            i % 500
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

/// The first few numbers of a list, for the printed counts.
fn summary(v: &[u64]) -> String {
    let shown: Vec<String> = v.iter().take(12).map(u64::to_string).collect();
    let more = if v.len() > 12 {
        format!(" … ({} in all)", v.len())
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// SplitMix64: enough randomness to pick kill moments, replayable by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A moment within `d` (at least a millisecond).
    fn within(&mut self, d: Duration) -> Duration {
        let ms = d.as_millis().max(1) as u64;
        Duration::from_millis(1 + self.next() % ms)
    }
}
