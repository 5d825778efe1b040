//! The `crm` binary as a user runs it: exit codes, one-line errors, the real
//! OS keyring, and an import killed mid-way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/secret_service.rs"]
mod secret_service;
use secret_service::SecretService;

const PASS: &str = "correct horse battery";

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
        // No session bus: the keyring is unreachable unless a test provides one.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run crm")
}

fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(
        o.status.success(),
        "crm failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Failure contract: exit 1, exactly one stderr line starting `error:`.
fn fails(c: &mut Command) -> String {
    let o = run(c);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "expected one line, got {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn init(dir: &Path) {
    ok(crm(dir).args(["init", "--key-store", "passphrase"]));
}

#[test]
fn errors_are_one_clear_line_and_exit_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let e = fails(crm(&dir).args(["contacts", "count"]));
    assert!(
        e.contains("no CRM profile") && e.contains("crm init"),
        "{e}"
    );
    init(&dir);
    let e = fails(crm(&dir).args(["init"]));
    assert!(e.contains("already exists"), "{e}");
    let e = fails(crm(&dir).args(["contacts", "show", "not-an-id"]));
    assert!(e.contains("not a record id"), "{e}");
    let e = fails(crm(&dir).args(["contacts", "show", "01940000-0000-7000-8000-000000000000"]));
    assert!(e.contains("no contact with id"), "{e}");
    let e = fails(crm(&dir).args(["contacts", "add", "--first-name", "Ann", "--email", "ann@"]));
    assert!(e.contains("email"), "{e}");
    let e = fails(crm(&dir).args(["import", "contacts", "/nonexistent/file.csv"]));
    assert!(e.contains("/nonexistent/file.csv"), "{e}");
    let e = fails(
        crm(&dir)
            .args(["contacts", "count"])
            .env("CRM_PASSPHRASE", "wrong passphrase"),
    );
    assert!(e.contains("wrong passphrase or not a CRM database"), "{e}");
    let e = fails(
        crm(&dir)
            .args(["contacts", "count"])
            .env_remove("CRM_PASSPHRASE"),
    );
    assert!(e.contains("CRM_PASSPHRASE"), "{e}");
    let e = fails(crm(&dir).args([
        "payments", "add", "--policy", "x", "--amount", "1", "--method", "card",
    ]));
    assert!(e.contains("policy id"), "{e}");
}

#[test]
fn a_day_in_the_cli_contacts_policies_payments_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    init(&dir);
    let id = ok(crm(&dir).args([
        "contacts",
        "add",
        "--first-name",
        "Ann",
        "--last-name",
        "Lee",
        "--email",
        "Ann@Example.com",
        "--phone",
        "07911 123456",
        "--tag",
        "vip",
        "--set",
        "custom.referrer=Bob",
    ]))
    .trim()
    .to_string();
    assert_eq!(ok(crm(&dir).args(["contacts", "count"])).trim(), "1");
    let list = ok(crm(&dir).args(["contacts", "list", "--search", "ann@", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v[0]["phones"][0], "+447911123456");
    assert_eq!(v[0]["custom"]["referrer"], "Bob");
    assert_eq!(
        ok(crm(&dir).args(["contacts", "list", "--tag", "VIP"]))
            .lines()
            .count(),
        1
    );
    assert!(ok(crm(&dir).args(["contacts", "list", "--stage", "client"])).contains("no contacts"));
    let pol = ok(crm(&dir).args([
        "policies",
        "add",
        "--contact",
        &id,
        "--number",
        "H-1",
        "--carrier",
        "Aviva",
        "--line",
        "home",
        "--premium",
        "30.00",
        "--effective",
        "2020-01-01",
        "--frequency",
        "quarterly",
    ]))
    .trim()
    .to_string();
    assert!(ok(crm(&dir).args(["payments", "schedule", &pol])).contains("created 4 instalment"));
    ok(crm(&dir).args([
        "payments",
        "add",
        "--policy",
        &pol,
        "--amount",
        "30",
        "--method",
        "card",
        "--date",
        "2020-01-05",
    ]));
    let arrears = ok(crm(&dir).args(["payments", "list", "--arrears", "--json"]));
    let a: serde_json::Value = serde_json::from_str(&arrears).unwrap();
    assert_eq!(a[0]["outstanding_minor"], 9000);
    ok(crm(&dir).args([
        "tasks",
        "add",
        "Call about renewal",
        "--contact",
        &id,
        "--due",
        "2020-02-01",
    ]));
    assert!(ok(crm(&dir).args(["tasks", "list", "--overdue"])).contains("Call about renewal"));
    ok(crm(&dir).args([
        "contacts",
        "log",
        &id,
        "Discussed home cover",
        "--kind",
        "call",
    ]));
    let show = ok(crm(&dir).args(["contacts", "show", &id]));
    assert!(
        show.contains("Discussed home cover") && show.contains("H-1"),
        "{show}"
    );
    let audit = ok(crm(&dir).args(["audit", &id]));
    assert!(
        audit.contains("created") && audit.contains("\"kind\":\"user\""),
        "{audit}"
    );
    ok(crm(&dir).args(["contacts", "delete", &id]));
    assert_eq!(ok(crm(&dir).args(["contacts", "count"])).trim(), "0");
}

#[test]
fn init_falls_back_to_the_passphrase_when_no_keyring_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let out = ok(crm(&dir).args(["init"]));
    assert!(out.contains("passphrase"), "{out}");
    let e = fails(
        crm(&dir)
            .args(["init", "--key-store", "keyring"])
            .env("CRM_DATA_DIR", tmp.path().join("q")),
    );
    assert!(e.contains("keyring"), "{e}");
    assert!(
        !tmp.path().join("q").join("crm.db").exists(),
        "a failed init must leave no database"
    );
}

#[test]
fn the_key_lives_in_a_real_secret_service_and_nowhere_on_disk() {
    let ss = SecretService::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let out = ok(ss
        .attach(&mut crm(&dir))
        .args(["init", "--key-store", "keyring"]));
    assert!(out.contains("OS keyring"), "{out}");
    ok(ss.attach(&mut crm(&dir)).args([
        "contacts",
        "add",
        "--first-name",
        "Keyring",
        "--email",
        "kr@example.com",
    ]));
    assert_eq!(
        ok(ss.attach(&mut crm(&dir)).args(["contacts", "count"])).trim(),
        "1"
    );
    // The profile file names the entry but holds no key.
    let meta = std::fs::read_to_string(dir.join("profile.json")).unwrap();
    assert!(meta.contains("\"keyring\""), "{meta}");
    // Read the secret back through the Secret Service's own client, and
    // check it is nowhere in the profile folder.
    let key_hex = ss.secret_of(crm_core::keys::KEYRING_SERVICE, &dir);
    assert_eq!(
        key_hex.trim().len(),
        64,
        "expected a 256-bit hex key, got {key_hex:?}"
    );
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let raw = hex_decode(key_hex.trim());
        assert!(!bytes.windows(32).any(|w| w == raw.as_slice()));
        assert!(!bytes.windows(64).any(|w| w == key_hex.trim().as_bytes()));
    }
    // Without the keyring the profile cannot be opened, and says why.
    let e = fails(crm(&dir).args(["contacts", "count"]));
    assert!(e.contains("keyring"), "{e}");
}

/// `crm plugin export` signs with this profile's publisher key, made on
/// first use and kept in the real Secret Service (the profile keeps only
/// which entry): the package verifies against the printed key, the secret
/// half is in the keyring and nowhere in the profile folder, and a second
/// export signs with the same key.
#[test]
fn a_plugin_is_exported_signed_with_a_publisher_key_kept_in_the_keyring() {
    let ss = SecretService::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    ok(ss
        .attach(&mut crm(&dir))
        .args(["init", "--key-store", "keyring"]));
    let plug = tmp.path().join("hello");
    std::fs::create_dir(&plug).unwrap();
    std::fs::write(
        plug.join("manifest.json"),
        r#"{"id": "acme.hello", "name": "Hello", "version": "1.0.0", "api_version": "^1",
            "author": "Acme", "description": "Says hello.",
            "actions": [{"id": "hi", "label": "Hi", "target": "global", "function": "hi"}]}"#,
    )
    .unwrap();
    std::fs::write(plug.join("main.rhai"), "fn hi() { \"hi\" }\n").unwrap();
    ok(ss
        .attach(&mut crm(&dir))
        .args(["plugin", "install", "--dev"])
        .arg(&plug));
    let pkg = tmp.path().join("hello.zip");
    let out = ok(ss
        .attach(&mut crm(&dir))
        .args(["plugin", "export", "acme.hello", "-o"])
        .arg(&pkg));
    assert!(out.contains("OS keyring"), "{out}");
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("publisher key (trust it with `crm plugin trust`): "))
        .expect("the public key is printed")
        .trim()
        .to_string();
    let pubfile = tmp.path().join("me.pub");
    std::fs::write(&pubfile, &public).unwrap();
    let verified = ok(crm(&dir)
        .args(["plugin", "verify"])
        .arg(&pkg)
        .arg("--trust")
        .arg(&pubfile));
    assert!(verified.contains("acme.hello"), "{verified}");

    // The secret half, read through the Secret Service's own client, is
    // the public key's, and is nowhere in the profile folder.
    let found = Command::new("secret-tool")
        .args([
            "search",
            "--all",
            "service",
            crm_plugins::publisher::KEYRING_SERVICE,
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", &ss.bus)
        .output()
        .expect("secret-tool (libsecret-tools)");
    let text = String::from_utf8_lossy(&found.stdout).to_string()
        + String::from_utf8_lossy(&found.stderr).as_ref();
    let secret = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("secret = "))
        .unwrap_or_else(|| panic!("one publisher key in the keyring: {text}"))
        .trim()
        .to_string();
    let key = crm_plugins::package::parse_secret_key(&secret).expect("a secret key");
    assert_eq!(hex_encode(&key.verifying_key().to_bytes()), public);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(64).any(|w| w == secret.as_bytes()));
        assert!(!bytes
            .windows(32)
            .any(|w| w == hex_decode(&secret).as_slice()));
    }

    // A second export uses the same key.
    let again = ok(ss
        .attach(&mut crm(&dir))
        .args(["plugin", "export", "acme.hello", "-o"])
        .arg(&pkg));
    assert!(again.contains(&public), "{again}");
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The plugin hooks after a change run on the store the command opened:
/// the profile's key is fetched once for `contacts add` with a hook to run,
/// as for `contacts count`, not once more for the hooks (a passphrase
/// profile would derive it again). Counted as the Secret Service sees it.
#[test]
fn the_hooks_after_a_change_do_not_open_the_profile_again() {
    use std::io::{BufRead, BufReader};
    use std::sync::{Arc, Mutex};
    let ss = SecretService::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let plug = tmp.path().join("hello");
    std::fs::create_dir(&plug).unwrap();
    std::fs::write(
        plug.join("manifest.json"),
        r#"{"id": "acme.hello", "name": "Hello", "version": "1.0.0", "api_version": "^1", "author": "A",
            "permissions": ["ui:notify"],
            "hooks": [{"event": "contact.created", "function": "on_created"}]}"#,
    )
    .unwrap();
    std::fs::write(
        plug.join("main.rhai"),
        r#"fn on_created(e) { ui::notify("info", "hook ran"); }"#,
    )
    .unwrap();
    ok(ss
        .attach(&mut crm(&dir))
        .args(["init", "--key-store", "keyring"]));
    let p = plug.to_str().unwrap();
    ok(ss
        .attach(&mut crm(&dir))
        .args(["plugin", "install", p, "--dev"]));
    ok(ss
        .attach(&mut crm(&dir))
        .args(["plugin", "enable", "acme.hello", "--grant-all"]));

    // Every secret the Secret Service hands out, as the bus carries it.
    let mut monitor = Command::new("dbus-monitor")
        .args(["--address", &ss.bus])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-monitor (dbus)");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let out = monitor.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            seen.lock().unwrap().push(l);
        }
    });
    let fetched = || {
        // Give the bus time to pass on what the last command sent.
        std::thread::sleep(Duration::from_millis(500));
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("member=GetSecret"))
            .count()
    };
    let t = Instant::now();
    while !lines.lock().unwrap().iter().any(|l| l.contains("NameLost")) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "dbus-monitor never attached"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let before = fetched();
    assert_eq!(
        ok(ss.attach(&mut crm(&dir)).args(["contacts", "count"])).trim(),
        "0"
    );
    let one_open = fetched() - before;
    assert!(one_open > 0, "the key was never fetched from the keyring");
    let before = fetched();
    let o = run(ss
        .attach(&mut crm(&dir))
        .args(["contacts", "add", "--first-name", "Hooked"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("[info] acme.hello: hook ran"), "{err}");
    let add = fetched() - before;
    let _ = monitor.kill();
    let _ = monitor.wait();
    assert_eq!(
        add, one_open,
        "contacts add with a hook fetched the key {add} times, contacts count {one_open}"
    );
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn big_csv(path: &PathBuf, rows: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "First Name,Last Name,Email,Phone,City").unwrap();
    for i in 0..rows {
        writeln!(
            f,
            "First{i},Last{i},person{i}@example.com,07911 {:06},Leeds",
            i % 1_000_000
        )
        .unwrap();
    }
}

#[test]
fn an_import_killed_mid_way_leaves_a_consistent_store_and_a_rerun_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    init(&dir);
    let csv = tmp.path().join("big.csv");
    let rows = 60_000;
    big_csv(&csv, rows);
    let mut child = crm(&dir)
        .args([
            "import",
            "contacts",
            csv.to_str().unwrap(),
            "--batch-size",
            "250",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches are committed (a reader sees them; WAL size
    // alone is no sign, frames are written before their commit record),
    // then kill -9.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let seen: usize = ok(crm(&dir).args(["contacts", "count"]))
            .trim()
            .parse()
            .unwrap();
        if seen > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the import finished before it could be killed; make the file larger"
    );
    let n: usize = ok(crm(&dir).args(["contacts", "count"]))
        .trim()
        .parse()
        .unwrap();
    assert!(n > 0 && n < rows, "expected a partial import, got {n}");
    assert_eq!(n % 250, 0, "only whole batches may be visible, got {n}");
    let out = ok(crm(&dir).args(["import", "contacts", csv.to_str().unwrap(), "--json"]));
    let rep: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rep["created"].as_u64().unwrap() as usize, rows - n);
    assert_eq!(
        ok(crm(&dir).args(["contacts", "count"])).trim(),
        rows.to_string()
    );
}

#[test]
fn dry_run_and_report_file_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    init(&dir);
    let csv = tmp.path().join("c.csv");
    std::fs::write(
        &csv,
        "Name,Email,Notiz\nAnn Lee,ann@example.com,x\nBad,nope,y\n",
    )
    .unwrap();
    let out = ok(crm(&dir).args(["import", "contacts", csv.to_str().unwrap(), "--dry-run"]));
    assert!(out.contains("would be created 1"), "{out}");
    assert!(out.contains("row 3, column \"Email\""), "{out}");
    assert!(out.contains("\"Notiz\" not imported"), "{out}");
    assert_eq!(ok(crm(&dir).args(["contacts", "count"])).trim(), "0");
    let rep = tmp.path().join("rep.csv");
    ok(crm(&dir).args([
        "import",
        "contacts",
        csv.to_str().unwrap(),
        "--map",
        "Notiz=custom.note",
        "--report",
        rep.to_str().unwrap(),
    ]));
    assert!(std::fs::read_to_string(&rep).unwrap().contains("nope"));
    let e = fails(crm(&dir).args([
        "import",
        "contacts",
        csv.to_str().unwrap(),
        "--map",
        "Notiz",
    ]));
    assert!(e.contains("--map"), "{e}");
    let out_csv = tmp.path().join("out.csv");
    ok(crm(&dir).args(["export", "contacts", out_csv.to_str().unwrap()]));
    assert!(std::fs::read_to_string(&out_csv)
        .unwrap()
        .contains("custom.note"));
}

#[test]
fn script_run_prints_json_or_one_error_line_naming_the_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    init(&dir);
    ok(crm(&dir).args(["contacts", "add", "--first-name", "Ann"]));
    let script = |name: &str, src: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, src).unwrap();
        p.to_str().unwrap().to_string()
    };
    let out = ok(crm(&dir).args([
        "script",
        "run",
        &script("ok.rhai", "#{ answer: 40 + 2, list: [1, \"two\"] }"),
    ]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"answer": 42, "list": [1, "two"]}));
    let count = script("count.rhai", "contacts::count()");
    assert_eq!(
        ok(crm(&dir).args(["script", "run", &count, "--grant", "contacts:read"])).trim(),
        "1"
    );
    let cases = [
        (
            script("perm.rhai", "contacts::count()"),
            "error: permission",
        ),
        (script("loop.rhai", "loop {}"), "error: limit"),
        (script("syntax.rhai", "let = ;"), "error: syntax"),
        (script("throw.rhai", "throw \"nope\""), "error: runtime"),
    ];
    for (file, prefix) in cases {
        let start = Instant::now();
        let e = fails(crm(&dir).args(["script", "run", &file, "--timeout-ms", "500"]));
        assert!(e.starts_with(prefix), "{file}: {e}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    let big = script("big.rhai", &"1;".repeat(200_000));
    let e = fails(crm(&dir).args(["script", "run", &big]));
    assert!(
        e.starts_with("error: limit") && e.contains("big.rhai"),
        "{e}"
    );
    let slow = script(
        "slow.rhai",
        "let n = 0; loop { n += 1; let a = [n, n]; a.reverse(); }",
    );
    let start = Instant::now();
    let e = fails(crm(&dir).args(["script", "run", &slow, "--timeout-ms", "300"]));
    assert!(
        e.starts_with("error: timeout") || e.starts_with("error: limit"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_millis(300 + 1000 + 2000));
}

#[test]
fn plugin_keygen_pack_and_verify_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let plug = tmp.path().join("demo");
    std::fs::create_dir(&plug).unwrap();
    std::fs::write(
        plug.join("manifest.json"),
        r#"{"id": "acme.demo", "name": "Demo", "version": "1.0.0", "api_version": "^1", "author": "Acme",
            "permissions": ["contacts:read"],
            "actions": [{"id": "hello", "label": "Hello", "target": "contact", "function": "hello"}]}"#,
    )
    .unwrap();
    std::fs::write(plug.join("main.rhai"), "fn hello(id) { 42 }").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    assert!(ok(crm(&dir).args(["plugin", "check", &s(&plug)])).contains("asks for: contacts:read"));
    let key = tmp.path().join("acme");
    ok(crm(&dir).args(["plugin", "keygen", "-o", &s(&key)]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key.with_extension("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the secret key must be private to its owner"
        );
    }
    let e = fails(crm(&dir).args(["plugin", "keygen", "-o", &s(&key)]));
    assert!(e.contains("already exists"), "{e}");
    let pkg = tmp.path().join("demo.zip");
    ok(crm(&dir).args([
        "plugin",
        "pack",
        &s(&plug),
        "--key",
        &s(&key.with_extension("key")),
        "-o",
        &s(&pkg),
    ]));
    let out = ok(crm(&dir).args([
        "plugin",
        "verify",
        &s(&pkg),
        "--trust",
        &s(&key.with_extension("pub")),
    ]));
    assert!(
        out.contains("acme.demo 1.0.0: ok") && out.contains("signed by"),
        "{out}"
    );
    let other = tmp.path().join("other");
    ok(crm(&dir).args(["plugin", "keygen", "-o", &s(&other)]));
    let e = fails(crm(&dir).args([
        "plugin",
        "verify",
        &s(&pkg),
        "--trust",
        &s(&other.with_extension("pub")),
    ]));
    assert!(e.contains("not a trusted publisher"), "{e}");
    // Trust, install (disabled), enable with an explicit choice, run.
    init(&dir);
    let e = fails(crm(&dir).args(["plugin", "install", &s(&pkg)]));
    assert!(e.contains("not a trusted publisher"), "{e}");
    ok(crm(&dir).args([
        "plugin",
        "trust",
        &s(&key.with_extension("pub")),
        "--name",
        "Acme",
    ]));
    // The same signed package with a megabyte of junk in front of it (zip
    // readers find the entries from the end): bytes the signature does not
    // cover are refused by verify and install alike, nothing is installed.
    let padded = tmp.path().join("padded.zip");
    let mut bytes = vec![0u8; 1 << 20];
    bytes.extend_from_slice(&std::fs::read(&pkg).unwrap());
    std::fs::write(&padded, &bytes).unwrap();
    let e = fails(crm(&dir).args([
        "plugin",
        "verify",
        &s(&padded),
        "--trust",
        &s(&key.with_extension("pub")),
    ]));
    assert!(e.contains("bytes outside the signed files"), "{e}");
    let e = fails(crm(&dir).args(["plugin", "install", &s(&padded)]));
    assert!(e.contains("bytes outside the signed files"), "{e}");
    assert!(ok(crm(&dir).args(["plugin", "list"])).contains("no plugins installed"));
    assert!(ok(crm(&dir).args(["plugin", "install", &s(&pkg)]))
        .contains("installed acme.demo 1.0.0 (disabled)"));
    assert!(ok(crm(&dir).args(["plugin", "list"])).contains("acme.demo 1.0.0  disabled  signed"));
    let e = fails(crm(&dir).args(["plugin", "run", "acme.demo", "hello", "--record", "x"]));
    assert!(e.contains("disabled"), "{e}");
    let e = fails(crm(&dir).args(["plugin", "enable", "acme.demo"]));
    assert!(e.contains("--grant-all"), "{e}");
    ok(crm(&dir).args(["plugin", "enable", "acme.demo", "--grant-all"]));
    assert_eq!(
        ok(crm(&dir).args(["plugin", "run", "acme.demo", "hello", "--record", "x"])).trim(),
        "42"
    );
    ok(crm(&dir).args(["plugin", "disable", "acme.demo"]));
    ok(crm(&dir).args(["plugin", "uninstall", "acme.demo"]));
    assert!(ok(crm(&dir).args(["plugin", "list"])).contains("no plugins installed"));
    // A manifest naming a function the script lacks is caught before packing.
    std::fs::write(plug.join("main.rhai"), "fn other() { 1 }").unwrap();
    let e = fails(crm(&dir).args([
        "plugin",
        "pack",
        &s(&plug),
        "--key",
        &s(&key.with_extension("key")),
        "-o",
        &s(&pkg),
    ]));
    assert!(
        e.contains("actions[0].function") && e.contains("\"hello\""),
        "{e}"
    );
}

#[test]
fn the_version_is_the_workspaces() {
    let o = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--version")
        .output()
        .expect("run crm");
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("crm {}", env!("CARGO_PKG_VERSION"))
    );
}
