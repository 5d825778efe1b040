//! The Studio in the real window (Xvfb, WebKitWebDriver, tauri-driver):
//! an automation made with clicks only (counted), tried on the book, then
//! switched on; and a dry run over a thousand contacts that changes nothing
//! (by digest of every table) and sends nothing (a counting server).
//! Screenshots of each Studio screen go to `artifacts/screenshots/`.

crm_plugins::counting_allocator!();

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crm_app::dto::ContactForm;

#[path = "support/driver.rs"]
mod driver;
#[path = "support/window.rs"]
mod window;
use window::*;

const PASS: &str = "correct horse battery";

/// A profile made beforehand through the app's own API, with contacts.
fn profile_with(contacts: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let backend = crm_app::App::new(tmp.path().join("profile"));
    backend
        .profile_create(Some(PASS.into()), "GB")
        .expect("profile");
    for (first, source, stage) in contacts {
        let mut details = BTreeMap::new();
        details.insert("source".to_string(), source.to_string());
        backend
            .contact_create(ContactForm {
                first_name: first.to_string(),
                stage: stage.to_string(),
                owner: "sam".into(),
                details,
                ..Default::default()
            })
            .expect("contact");
    }
    backend.profile_lock().expect("lock");
    tmp
}

async fn unlock(app: &App) {
    app.type_into("unlock-passphrase", PASS).await;
    app.click("unlock-submit").await;
    app.find("nav-studio").await;
    app.clicks.store(0, Ordering::SeqCst);
    app.keys.store(0, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automation_made_with_clicks_is_tried_on_the_book_then_switched_on() {
    let _one = serial().await;
    let profile = profile_with(&[
        ("Ann", "web", "prospect"),
        ("Bob", "phone", "prospect"),
        ("Cy", "web", "client"),
    ]);
    let bob = {
        let backend = crm_app::App::new(profile.path().join("profile"));
        backend.profile_unlock(PASS.into()).expect("unlock");
        let page = backend
            .contacts_page(crm_app::dto::ContactQueryArgs {
                search: Some("Bob".into()),
                offset: 0,
                limit: 5,
                ..Default::default()
            })
            .expect("page");
        backend.profile_lock().expect("lock");
        page.rows[0].id.clone()
    };
    let mut app = App::start_in("studio", profile).await;
    unlock(&app).await;

    app.click("nav-studio").await;
    app.find("gallery-renewal-reminders").await;
    app.wait_text(
        "gallery-renewal-reminders",
        "says it ships with the app",
        |t| t.contains("Ships with the app") && t.contains("Every day at 08:00"),
    )
    .await;
    app.snap("studio-gallery").await;
    app.click("studio-new-automation").await;
    app.find("trigger-contact_created").await;
    app.snap("studio-triggers").await;
    app.click("trigger-contact_created").await;

    // Only if source is web and stage is prospect: chosen, not typed.
    app.click("add-condition").await;
    app.select("cond-field-0", "source").await;
    app.find("cond-value-0").await;
    app.wait_content("cond-value-0", "offers the book's sources", |t| {
        t.contains("web")
    })
    .await;
    app.select("cond-value-0", "web").await;
    app.click("add-condition").await;
    app.select("cond-field-1", "stage").await;
    app.click("cond-choice-1-prospect").await;
    // Looking at a sample contact is optional, so not counted: each row
    // shows Bob's value and whether it passes.
    let before = app.clicks.load(Ordering::SeqCst);
    app.select("wizard-sample", &bob).await;
    app.wait_text("cond-sample-0", "shows Bob's source fails", |t| {
        t.contains("does not hold") && t.contains("\"phone\"")
    })
    .await;
    app.wait_text("cond-sample-1", "shows Bob's stage passes", |t| {
        t.contains("holds") && t.contains("\"prospect\"")
    })
    .await;
    app.clicks.store(before, Ordering::SeqCst);
    let ticked = app
        .find("cond-choice-1-prospect")
        .await
        .prop("checked")
        .await
        .ok()
        .flatten();
    assert_eq!(ticked.as_deref(), Some("true"), "the tick shows");

    // Then a call-back task for tomorrow for the owner, and a tag.
    app.click("add-action-create_task").await;
    let title = "Call back {first_name}";
    app.type_into("action-title-0", title).await;
    app.click("add-action-add_tag").await;
    let tag = "web-lead";
    app.type_into("action-tag-1", tag).await;
    app.snap("studio-wizard").await;

    app.click("wizard-review").await;
    app.wait_text("wizard-summary", "says it in a sentence", |t| {
        t.contains("When a contact is created") && t.contains("web-lead")
    })
    .await;
    app.wait_text("wizard-permissions", "lists what it may do", |t| {
        !t.is_empty()
    })
    .await;
    app.snap("studio-review").await;
    app.click("wizard-save").await;

    // The dry run: which contacts would change, and why the others not.
    app.wait_text("dry-run-headline", "counts the changes", |t| {
        t.contains("Would change 1 of 3 contacts")
    })
    .await;
    app.wait_text("dry-run-changed", "shows Ann's task and tag", |t| {
        t.contains("Ann")
            && t.contains("Title Call back Ann")
            && t.contains("Tags (empty) → web-lead")
    })
    .await;
    app.wait_content("dry-run-skipped", "says why the others were skipped", |t| {
        t.contains("Source is \"phone\"") && t.contains("Stage is \"client\"")
    })
    .await;
    app.snap("studio-dry-run").await;

    app.click("studio-enable").await;
    app.find("studio-enable-dialog").await;
    app.snap("studio-enable").await;
    app.click("studio-confirm-enable").await;
    app.find("studio-enabled").await;

    let clicks = app.clicks.load(Ordering::SeqCst);
    let keys = app.keys.load(Ordering::SeqCst);
    println!("studio: an automation from the gallery to switched on took {clicks} clicks and {keys} keystrokes (the task title and the tag)");
    assert!(clicks <= 20, "{clicks} clicks");
    assert_eq!(
        keys,
        title.len() + tag.len(),
        "no typing beyond the title and the tag"
    );

    // From now on: a new web prospect gets the task and the tag.
    app.click("nav-contacts").await;
    app.click("new-contact").await;
    app.type_into("field-first_name", "Dee").await;
    app.type_into("field-source", "web").await;
    app.click("save-contact").await;
    app.wait_text("contact-name", "shows Dee", |t| t.contains("Dee"))
        .await;
    app.wait_text("contact-tags", "shows the tag", |t| t.contains("web-lead"))
        .await;
    app.wait_text("task-row", "lists the call-back", |t| {
        t.contains("Call back Dee")
    })
    .await;
    app.snap("studio-automation-ran").await;

    // Its history says what started the run, on whom, and what it did.
    app.click("nav-studio").await;
    app.client
        .wait()
        .at_most(WAIT)
        .for_element(fantoccini::Locator::Css("[data-testid^='plugin-history-']"))
        .await
        .expect("a History button")
        .click()
        .await
        .expect("opened the history");
    app.wait_text("run", "shows Dee's run", |t| {
        t.contains("When a contact is created")
            && t.contains("on Dee")
            && t.contains("Made a task")
            && t.contains("web-lead")
    })
    .await;
    app.snap("studio-run-history").await;
    app.stop().await;
}

/// A local server that counts the connections made to it.
fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut c) = conn {
                let mut buf = [0u8; 512];
                let _ = c.read(&mut buf);
            }
        }
    });
    (port, hits)
}

fn digest(dir: &std::path::Path) -> String {
    let pass = crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.to_string()));
    let s = crm_core::Store::open(dir, &pass).expect("open the profile beside the app");
    s.snapshot(|s| s.content_digest())
        .expect("snapshot")
        .expect("digest")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_over_a_thousand_contacts_changes_nothing_and_sends_nothing() {
    let _one = serial().await;
    let people: Vec<(String, &str, &str)> = (0..1_000)
        .map(|i| {
            (
                format!("P{i}"),
                if i % 4 == 0 { "web" } else { "phone" },
                "prospect",
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = people
        .iter()
        .map(|(a, b, c)| (a.as_str(), *b, *c))
        .collect();
    let profile = profile_with(&refs);
    let (port, hits) = counting_server();
    let id = {
        let backend = crm_app::App::new(profile.path().join("profile"));
        backend.profile_unlock(PASS.into()).expect("unlock");
        let model = format!(
            r#"{{"version": 1, "name": "Tell the website", "trigger": {{"kind": "contact_created"}},
                "conditions": [{{"field": "source", "op": "is", "value": "web"}}],
                "actions": [{{"kind": "add_tag", "tag": "sent"}},
                            {{"kind": "post_json", "url": "https://127.0.0.1:{port}/leads"}}]}}"#
        );
        let p = backend.studio_save(&model, false).expect("saved");
        backend.profile_lock().expect("lock");
        p.id
    };
    let dir = profile.path().join("profile");
    let mut app = App::start_in("studio-dry-run", profile).await;
    unlock(&app).await;
    app.click("nav-studio").await;
    let try_id = format!("automation-try-{}", id.replace('.', "-"));
    app.find(&try_id).await;
    let before = digest(&dir);
    app.click(&try_id).await;
    app.wait_text("dry-run-headline", "counts the changes", |t| {
        t.contains("Would change 250 of 1000 contacts")
    })
    .await;
    app.wait_text("dry-run-changed", "shows the request it would send", |t| {
        t.contains(&format!("Would send POST https://127.0.0.1:{port}/leads"))
    })
    .await;
    app.snap("studio-try-1000").await;
    assert_eq!(
        digest(&dir),
        before,
        "the profile is unchanged, audit and outbox included"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request was sent");
    app.stop().await;
}

/// Put `text` at the end of line `line` (1-based) of the CodeMirror editor
/// `tid`, or in place of that line's text with `replace`, through the
/// browser's own editing (`insertText` on the focused editor, as typing
/// does: CodeMirror reads it as typed input). WebKitWebDriver's key
/// sending into a contenteditable stalls, so keys are not sent one by one.
/// Returns nothing; the page changes as if typed.
async fn edit_line(app: &App, tid: &str, line: usize, text: &str, replace: bool) {
    let script = r#"
        const [tid, line, text, replace] = arguments;
        const content = document.querySelector(`[data-testid='${tid}-text']`);
        if (!content) return 'no editor';
        const lines = content.querySelectorAll('.cm-line');
        const el = lines[line - 1];
        if (!el) return `no line ${line} of ${lines.length}`;
        content.focus();
        const range = document.createRange();
        range.selectNodeContents(el);
        if (!replace) range.collapse(false);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        document.execCommand('insertText', false, text);
        return 'ok';
    "#;
    app.keys.fetch_add(text.chars().count(), Ordering::SeqCst);
    let out = app
        .client
        .execute(
            script,
            vec![tid.into(), line.into(), text.into(), replace.into()],
        )
        .await
        .unwrap_or_else(|e| panic!("cannot edit {tid}: {e}"));
    assert_eq!(out.as_str(), Some("ok"), "editing {tid} line {line}");
}

/// Run `js` in the page until it returns something other than null (or
/// 30 s pass), and return that.
async fn wait_js(app: &App, what: &str, js: &str) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let v = app
            .client
            .execute(js, Vec::new())
            .await
            .unwrap_or(serde_json::Value::Null);
        if !v.is_null() {
            return v;
        }
        if start.elapsed() > WAIT {
            app.shot("timeout").await;
            panic!("[{}] never {what}", app.name);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_editor_underlines_completes_fixes_and_runs_in_the_window() {
    let _one = serial().await;
    let profile = profile_with(&[("Ann", "web", "prospect")]);
    let mut app = App::start_in("studio-editor", profile).await;
    unlock(&app).await;
    app.click("nav-studio").await;
    app.click("studio-new-code").await;
    app.find("code-script-text").await;
    app.wait_content("code-script", "shows the new plugin's script", |t| {
        t.contains("fn hello()")
    })
    .await;
    app.snap("studio-editor").await;

    // 1. A typo on line 5 is underlined there within a second, timed in
    // the page from the edit to the underline (debounce included).
    let underline = r#"
        const [done] = [arguments[arguments.length - 1]];
        const content = document.querySelector("[data-testid='code-script-text']");
        const lines = [...content.querySelectorAll('.cm-line')];
        const el = lines[4];
        content.focus();
        const range = document.createRange();
        range.selectNodeContents(el);
        range.collapse(false);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        const t0 = performance.now();
        document.execCommand('insertText', false, ' let = ;');
        const look = () => {
            const mark = content.querySelector('.cm-lintRange-error');
            if (mark) {
                const at = [...content.querySelectorAll('.cm-line')].indexOf(mark.closest('.cm-line')) + 1;
                done({ ms: performance.now() - t0, line: at });
            } else if (performance.now() - t0 > 10000) {
                done({ ms: -1, line: 0 });
            } else {
                requestAnimationFrame(look);
            }
        };
        look();
    "#;
    let seen = app
        .client
        .execute_async(underline, Vec::new())
        .await
        .expect("typed a typo");
    let ms = seen["ms"].as_f64().unwrap_or(-1.0);
    println!("typo underlined after {ms:.0} ms");
    assert_eq!(seen["line"], 5, "underlined on the typo's line: {seen}");
    assert!(
        (0.0..=1_000.0).contains(&ms),
        "underlined within a second: {ms} ms"
    );
    app.wait_text("code-problems", "names the line", |t| {
        t.contains("main.rhai line 5")
    })
    .await;
    app.snap("studio-editor-typo").await;
    edit_line(
        &app,
        "code-script",
        5,
        "    let n = contacts::count();",
        true,
    )
    .await;
    app.wait_text("code-problems", "clears", |t| t.contains("None found"))
        .await;

    // 2. Completion after `contacts::` lists the host functions, with docs,
    // from the engine's own metadata.
    edit_line(&app, "code-script", 5, "\n    contacts::", false).await;
    let labels = wait_js(
        &app,
        "opened completion",
        r#"const items = [...document.querySelectorAll('.cm-tooltip-autocomplete li .cm-completionLabel')]
               .map((e) => e.textContent);
           return items.length > 0 ? items : null;"#,
    )
    .await;
    let reference = crm_plugins::reference::host_api().expect("reference");
    let contacts = reference
        .modules
        .iter()
        .find(|m| m.name == "contacts")
        .expect("contacts module");
    let mut expected: Vec<String> = contacts.functions.iter().map(|f| f.name.clone()).collect();
    expected.sort();
    expected.dedup();
    let mut shown: Vec<String> = labels
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    shown.sort();
    shown.dedup();
    assert_eq!(shown, expected, "every contacts:: function is offered");
    let info = wait_js(
        &app,
        "showed the selected function's documentation",
        r#"const info = document.querySelector('.cm-completionInfo');
           return info && info.textContent.trim().length > 0 ? info.textContent : null;"#,
    )
    .await;
    let info = info.as_str().unwrap_or_default().to_string();
    assert!(
        contacts
            .functions
            .iter()
            .any(|f| !f.doc.is_empty() && info.contains(f.doc.lines().next().unwrap_or("-"))),
        "the documentation is the engine's: {info}"
    );
    app.snap("studio-editor-completion").await;

    // 3. http::post with no net: permission is flagged; the fix adds it.
    edit_line(
        &app,
        "code-script",
        6,
        r#"    http::post("https://hooks.example.com/in", #{ n: n });"#,
        true,
    )
    .await;
    app.wait_text("code-problems", "flags the missing permission", |t| {
        t.contains("net:https://hooks.example.com")
    })
    .await;
    app.snap("studio-editor-permission").await;
    app.click("code-fix").await;
    app.wait_text("code-problems", "clears once fixed", |t| {
        t.contains("None found")
    })
    .await;
    app.click("code-tab-manifest").await;
    let granted = wait_js(
        &app,
        "lists the added permission in the form",
        r#"const v = [...document.querySelectorAll("[data-testid^='mf-permission-']")]
               .map((e) => e.value).filter((v) => typeof v === 'string');
           return v.includes('net:https://hooks.example.com') ? v : null;"#,
    )
    .await;
    println!("permissions now: {granted}");
    app.snap("studio-editor-manifest-form").await;
    app.click("code-tab-script").await;

    // 4. The test console runs the action (a dry run) and shows its log and
    // the request it would send; an error's line is marked in the editor.
    edit_line(
        &app,
        "code-script",
        6,
        "\n    log::info(\"hello from the console\");",
        false,
    )
    .await;
    app.click("console-run").await;
    app.wait_text("console-log", "shows the log", |t| {
        t.contains("info: hello from the console")
            && t.contains("would send POST https://hooks.example.com/in")
    })
    .await;
    app.snap("studio-editor-console").await;
    edit_line(&app, "code-script", 7, "    throw \"stop here\";", true).await;
    app.click("console-run").await;
    app.wait_text("console-error", "names the failing line", |t| {
        t.contains("stop here") && t.contains("line 7")
    })
    .await;
    let marked = wait_js(
        &app,
        "marked the failing line",
        r#"const content = document.querySelector("[data-testid='code-script-text']");
           const mark = content.querySelector("[data-testid='run-error-line']");
           return mark ? [...content.querySelectorAll('.cm-line')].indexOf(mark) + 1 : null;"#,
    )
    .await;
    assert_eq!(marked, 7, "the failing line is marked");
    app.snap("studio-editor-error-line").await;
    app.stop().await;
}
