//! The holes an attack run found, tried again through the `crm` binary the
//! way they were found: a script with no permissions that ended the whole
//! process, a limit hit inside a sort comparator that vanished, plugin text
//! driving the terminal, huge error messages kept and printed whole, and a
//! secret shown after an upgrade retyped it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", "attack tests")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run crm")
}

fn ok(c: &mut Command) -> (String, String) {
    let o = run(c);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(
        o.status.success(),
        "crm failed ({:?}): {err}\n{out}",
        o.status
    );
    (out, err)
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A plugin folder `id` with `manifest` (JSON, without the id) and `script`.
fn plugin(root: &Path, name: &str, manifest: &str, script: &str) -> std::path::PathBuf {
    let p = root.join(name);
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("manifest.json"), manifest).unwrap();
    std::fs::write(p.join("main.rhai"), script).unwrap();
    p
}

const DEEP_CLOSURES: &str = "let f = 0;\nfor i in 0..200000 { let g = f; f = || g; }\n\"survived\"";

#[test]
fn a_script_that_nests_closures_deeply_does_not_end_the_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    let file = tmp.path().join("deep.rhai");
    std::fs::write(&file, DEEP_CLOSURES).unwrap();
    let (out, _) = ok(crm(&dir).args(["script", "run", &s(&file)]));
    assert_eq!(out.trim(), "\"survived\"");
    // Curried function pointers, as deep as memory allows: a limit error,
    // not an abort.
    std::fs::write(
        &file,
        "let f = Fn(\"x\"); for i in 0..100000000 { let g = f; f = Fn(\"x\").curry(|| g); } 1",
    )
    .unwrap();
    let o = run(crm(&dir).args(["script", "run", &s(&file)]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: memory error"), "{err}");
}

#[test]
fn a_hook_that_nests_closures_deeply_is_a_recorded_run_and_the_change_stands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    let plug = plugin(
        tmp.path(),
        "deep",
        r#"{"id": "acme.deep", "name": "Deep", "version": "1.0.0", "api_version": "^1", "author": "A",
            "hooks": [{"event": "contact.created", "function": "on_created"}]}"#,
        &format!(
            "fn on_created(e) {{ let f = 0; for i in 0..100000000 {{ let g = f; f = || g; }} 1 }}\n// {}",
            DEEP_CLOSURES.replace('\n', " ")
        ),
    );
    ok(crm(&dir).args(["plugin", "install", &s(&plug), "--dev"]));
    ok(crm(&dir).args(["plugin", "enable", "acme.deep", "--grant-all"]));
    for i in 0..5 {
        let (id, err) = ok(crm(&dir).args(["contacts", "add", "--first-name", &format!("P{i}")]));
        assert!(!id.trim().is_empty());
        assert!(
            err.contains("warning: plugin acme.deep (hook:contact.created) failed: memory error")
                || err.contains(
                    "warning: plugin acme.deep (hook:contact.created) failed: limit error"
                ),
            "{err}"
        );
    }
    let (count, _) = ok(crm(&dir).args(["contacts", "count"]));
    assert_eq!(count.trim(), "5");
    // Every run was recorded as failed, and the breaker tripped.
    let (stats, _) = ok(crm(&dir).args(["plugin", "stats", "acme.deep", "--json"]));
    let h: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(h[0]["runs"], 5, "{stats}");
    assert_eq!(h[0]["errors"], 5, "{stats}");
    assert_eq!(h[0]["enabled"], false, "{stats}");
}

#[test]
fn a_loop_inside_a_sort_comparator_fails_the_script() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    let file = tmp.path().join("sort.rhai");
    std::fs::write(&file, "let a = [3, 2, 1]; a.sort(|x, y| { loop { } }); a").unwrap();
    let o = run(crm(&dir).args(["script", "run", &s(&file), "--timeout-ms", "500"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: limit error") || err.starts_with("error: timeout error"),
        "{err}"
    );
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn plugin_text_cannot_drive_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    let evil = r#""\x1b]0;pwned\x07\r\x1b[2Kerror: your disk is full\n\u202egnp.exe""#;
    let plug = plugin(
        tmp.path(),
        "noisy",
        r#"{"id": "acme.noisy", "name": "Noisy", "version": "1.0.0", "api_version": "^1", "author": "A",
            "permissions": ["ui:notify"],
            "actions": [{"id": "go", "label": "Go", "target": "global", "function": "act"},
                        {"id": "fail", "label": "Fail", "target": "global", "function": "fail"}]}"#,
        &format!(
            "fn act() {{ let t = {evil}; print(t); log::info(t); log::error(t); ui::notify(\"info\", t); 1 }}\n\
             fn fail() {{ throw {evil}; }}"
        ),
    );
    ok(crm(&dir).args(["plugin", "install", &s(&plug), "--dev"]));
    ok(crm(&dir).args(["plugin", "enable", "acme.noisy", "--grant-all"]));
    let (_, err) = ok(crm(&dir).args(["plugin", "run", "acme.noisy", "go"]));
    let failed = run(crm(&dir).args(["plugin", "run", "acme.noisy", "fail"]));
    let failed_err = String::from_utf8_lossy(&failed.stderr).into_owned();
    let (stats, _) = ok(crm(&dir).args(["plugin", "stats"]));
    let file = tmp.path().join("p.rhai");
    std::fs::write(
        &file,
        format!("print({evil}); print(\"error: your disk is full\"); 1"),
    )
    .unwrap();
    let (_, script_err) = ok(crm(&dir).args(["script", "run", &s(&file)]));
    for text in [&err, &failed_err, &stats, &script_err] {
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "raw control characters reached the terminal: {text:?}"
        );
        // No line the plugin wrote can pose as the CLI's own `error:` line.
        for line in text.lines().filter(|l| l.contains("disk is full")) {
            assert!(!line.starts_with("error: your disk"), "{text}");
        }
    }
    assert!(err.contains("\\u{1b}]0;pwned"), "{err}");
    assert!(failed_err.contains("\\u{202e}"), "{failed_err}");
}

#[test]
fn error_messages_are_capped_where_kept_and_where_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    // Fails on every other run, so the breaker never trips.
    let plug = plugin(
        tmp.path(),
        "loud",
        r#"{"id": "acme.loud", "name": "Loud", "version": "1.0.0", "api_version": "^1", "author": "A",
            "permissions": ["storage"],
            "actions": [{"id": "go", "label": "Go", "target": "global", "function": "act"}]}"#,
        "fn act() { let n = storage::get(\"n\") ?? 0; storage::set(\"n\", n + 1); \
         if n % 2 == 0 { let s = \"x\"; while s.len() < 1000000 { s += s; } throw s; } n }",
    );
    ok(crm(&dir).args(["plugin", "install", &s(&plug), "--dev"]));
    ok(crm(&dir).args(["plugin", "enable", "acme.loud", "--grant-all"]));
    let size = |d: &Path| -> u64 {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    let before = size(&dir);
    for _ in 0..6 {
        let o = run(crm(&dir).args(["plugin", "run", "acme.loud", "go"]));
        assert!(o.stderr.len() < 8_000, "{} bytes printed", o.stderr.len());
    }
    let grown = size(&dir).saturating_sub(before);
    let (stats, _) = ok(crm(&dir).args(["plugin", "stats"]));
    assert!(stats.len() < 8_000, "{} bytes printed", stats.len());
    assert!(stats.contains("runs 6  errors 3"), "{stats}");
    // Six runs with three megabyte errors: well under a megabyte more.
    assert!(grown < 1 << 20, "the profile grew by {grown} bytes");
}

#[test]
fn a_secret_stays_secret_when_an_upgrade_retypes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    let manifest = |version: &str, kind: &str| {
        format!(
            r#"{{"id": "acme.token", "name": "Token", "version": "{version}", "api_version": "^1", "author": "A",
                "settings": [{{"key": "token", "label": "API token", "type": "{kind}"}}]}}"#
        )
    };
    let script = "fn noop() { 1 }";
    let v1 = plugin(tmp.path(), "v1", &manifest("1.0.0", "secret"), script);
    let v2 = plugin(tmp.path(), "v2", &manifest("1.1.0", "string"), script);
    ok(crm(&dir).args(["plugin", "install", &s(&v1), "--dev"]));
    ok(crm(&dir).args(["plugin", "configure", "acme.token", "token=tok-SECRET-123"]));
    ok(crm(&dir).args(["plugin", "install", &s(&v2), "--dev"]));
    let (form, _) = ok(crm(&dir).args(["plugin", "configure", "acme.token"]));
    assert!(form.contains("token = (set)"), "{form}");
    let export = tmp.path().join("export.json");
    ok(crm(&dir).args(["plugin", "uninstall", "acme.token", "--export", &s(&export)]));
    let data = std::fs::read_to_string(&export).unwrap();
    assert!(!data.contains("tok-SECRET-123"), "{data}");
    // Set again under 1.1.0, where it is plain text: a new value is plain.
    ok(crm(&dir).args(["plugin", "install", &s(&v2), "--dev"]));
    ok(crm(&dir).args(["plugin", "configure", "acme.token", "token=visible"]));
    let (form, _) = ok(crm(&dir).args(["plugin", "configure", "acme.token"]));
    assert!(form.contains("token = \"visible\""), "{form}");
}
