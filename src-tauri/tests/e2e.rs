//! End-to-end: the real app (this crate's binary, with the bundled UI) in a
//! real window under Xvfb, driven over WebDriver by `tauri-driver` and
//! WebKitWebDriver. Each test saves screenshots of the screens it passes
//! through to `artifacts/screenshots/`.
//!
//! Needs: Xvfb, WebKitWebDriver (Debian's webkit2gtk-driver) and
//! `tauri-driver` on PATH (`scripts/install-deps` installs them). The
//! tests run one at a time (one window each, a fresh profile each); D-Bus
//! is cut off, so there is no keyring and the first run asks for a
//! passphrase, as on a machine without a Secret Service.

use std::time::{Duration, Instant};

#[path = "support/driver.rs"]
mod driver;
#[path = "support/window.rs"]
mod window;
use window::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_asks_for_a_passphrase_and_refuses_a_mismatch() {
    let _one = serial().await;
    let mut app = App::start("first-run").await;
    app.find("passphrase").await;
    app.type_into("passphrase", "correct horse battery").await;
    app.type_into("passphrase-confirm", "correct horse batteyr")
        .await;
    app.click("create-profile").await;
    app.field_error("error-passphrase-confirm", "match", "mismatch")
        .await;
    app.type_into("passphrase-confirm", "correct horse battery")
        .await;
    app.click("create-profile").await;
    app.click("nav-contacts").await;
    app.find("contacts-empty").await;
    app.snap("contacts-empty").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_a_csv_shows_the_contacts_and_the_bad_rows_reason() {
    let _one = serial().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("contacts.csv");
    std::fs::write(
        &csv,
        "First Name,Last Name,Email,Phone,Company\n\
         Ada,Lovelace,ada@example.com,020 7946 0001,Analytical Ltd\n\
         Alan,Turing,alan@example.com,020 7946 0002,Bletchley\n\
         Grace,Hopper,not-an-email,020 7946 0003,Navy\n\
         Mary,Somerville,mary@example.com,,\n",
    )
    .expect("write csv");
    let mut app = App::start("import").await;
    app.first_run().await;
    app.click("nav-import").await;
    app.type_into("import-path", &csv.display().to_string())
        .await;
    app.click("import-preview").await;
    app.find("map-0").await;
    app.snap("mapping").await;
    app.click("import-run").await;
    let created = app
        .wait_text("report-created", "shows 3", |t| t.trim() == "3")
        .await;
    assert_eq!(created.trim(), "3");
    assert_eq!(app.text("report-skipped").await.trim(), "1");
    let problems = app.wait_count("problem-row", 1).await;
    let p = problems[0].text().await.unwrap_or_default();
    assert!(
        p.contains('4') && p.to_lowercase().contains("email"),
        "the bad row's number, column and reason: {p:?}"
    );
    app.snap("report").await;
    app.click("nav-contacts").await;
    app.wait_text("contacts-total", "counts 3", |t| t.contains('3'))
        .await;
    let rows = app.wait_count("contact-row", 3).await;
    app.snap("contacts").await;
    let mut names = Vec::new();
    for r in &rows {
        names.push(
            r.prop("textContent")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    }
    assert!(
        names[0].contains("Ada Lovelace"),
        "sorted by name: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("Grace")),
        "the bad row was not imported: {names:?}"
    );
    app.type_into("contacts-search", "turing").await;
    app.wait_count("contact-row", 1).await;
    app.snap("search").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_gets_a_policy_a_premium_schedule_and_a_payment() {
    let _one = serial().await;
    let mut app = App::start("policy").await;
    app.first_run().await;
    app.fill_new_contact("Edith", "Clarke", "not an email")
        .await;
    app.wait_text("error-email", "explains the bad email", |t| {
        !t.trim().is_empty()
    })
    .await;
    app.snap("contact-form-error").await;
    app.type_into("field-email", "edith@example.com").await;
    // A detail declared in the core's schema (no UI code of its own) is on
    // the form and on the contact page.
    app.select("field-preferred_contact_method", "text_message")
        .await;
    app.click("save-contact").await;
    app.wait_text("contact-name", "shows the name", |t| {
        t.contains("Edith Clarke")
    })
    .await;
    app.wait_text(
        "contact-details",
        "shows the preferred contact method",
        |t| t.contains("Preferred contact method") && t.contains("Text message"),
    )
    .await;
    app.click("add-policy").await;
    app.type_into("policy-policy_number", "MOT-1001").await;
    app.type_into("policy-carrier", "Aviva").await;
    app.type_into("policy-line_of_business", "motor").await;
    app.type_into("policy-premium", "42.50").await;
    app.select("policy-frequency", "monthly").await;
    let start = (chrono::Local::now().date_naive() - chrono::Days::new(70)).to_string();
    app.type_into("policy-effective", &start).await;
    app.click("save-policy").await;
    app.wait_count("policy-row", 1).await;
    app.click("schedule-premiums").await;
    let instalments = {
        let start = Instant::now();
        loop {
            let n = app.all("payment-row").await.len();
            if n >= 12 || start.elapsed() > WAIT {
                break n;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    assert!(
        instalments >= 12,
        "a year of monthly instalments: {instalments}"
    );
    let before = app.text("arrears-total").await;
    app.click("record-payment").await;
    app.type_into("payment-amount", "42.50").await;
    app.select("payment-method", "card").await;
    app.click("save-payment").await;
    let after = app
        .wait_text("arrears-total", "goes down", |t| t != before)
        .await;
    assert_ne!(before, after, "the payment reduces the arrears");
    app.snap("contact-with-policy").await;
    // A look at every other screen with this data in it.
    for screen in [
        "dashboard",
        "policies",
        "payments",
        "tasks",
        "plugins",
        "sync",
        "settings",
    ] {
        app.click(&format!("nav-{screen}")).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        app.snap(screen).await;
    }
    // Settings, About: the version this build was made as.
    app.wait_text("about-version", "shows the build's version", |t| {
        t == env!("CARGO_PKG_VERSION")
    })
    .await;
    app.click("nav-payments").await;
    app.wait_text("arrears-row", "lists the overdue policy", |t| {
        t.contains("MOT-1001")
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_plugin_is_installed_enabled_and_its_action_runs() {
    let _one = serial().await;
    let mut app = App::start("plugin").await;
    app.first_run().await;
    app.fill_new_contact("Rosalind", "Franklin", "rosalind@example.com")
        .await;
    app.wait_text("contact-name", "shows the name", |t| t.contains("Rosalind"))
        .await;
    app.click("nav-plugins").await;
    app.click("install-template-lead-scoring").await;
    let id = "local-lead-scoring";
    app.wait_text(&format!("status-{id}"), "is Disabled", |t| {
        t.contains("Disabled")
    })
    .await;
    app.snap("installed").await;
    app.click(&format!("enable-{id}")).await;
    let perms = app.all("permission").await;
    let mut words = Vec::new();
    for p in &perms {
        words.push(p.text().await.unwrap_or_default());
    }
    assert!(
        words.iter().any(|w| w.contains("See your contacts")),
        "permissions in plain words: {words:?}"
    );
    app.snap("review-permissions").await;
    app.click("confirm-enable").await;
    app.wait_text(&format!("status-{id}"), "is Enabled", |t| {
        t.contains("Enabled")
    })
    .await;
    app.click("nav-contacts").await;
    app.wait_count("contact-row", 1).await[0]
        .click()
        .await
        .expect("open the contact");
    app.click(&format!("action-{id}-score_one")).await;
    // The action writes a score to the contact: the custom field shows.
    app.wait_text("contact-details", "shows the score", |t| {
        t.to_lowercase().contains("lead_score")
    })
    .await;
    app.snap("action-ran").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_passphrase_unlocks_the_same_contacts() {
    let _one = serial().await;
    let mut app = App::start("restart").await;
    app.first_run().await;
    app.fill_new_contact("Rosalind", "Franklin", "rosalind@example.com")
        .await;
    app.wait_text("contact-name", "shows the name", |t| {
        t.contains("Rosalind Franklin")
    })
    .await;

    // Quit and start again: the key is behind the passphrase, so the
    // unlock screen comes first and nothing is readable before it.
    let mut app = app.restart().await;
    app.find("unlock-passphrase").await;
    app.snap("unlock").await;
    app.type_into("unlock-passphrase", "correct horse battery staple")
        .await;
    app.click("unlock-submit").await;
    app.field_error("error-passphrase", "passphrase", "unlock-wrong")
        .await;
    app.type_into("unlock-passphrase", "correct horse battery")
        .await;
    app.click("unlock-submit").await;
    app.click("nav-contacts").await;
    let rows = app.wait_count("contact-row", 1).await;
    let text = rows[0]
        .prop("textContent")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(
        text.contains("Rosalind Franklin"),
        "the saved contact: {text:?}"
    );
    app.snap("contacts-after-restart").await;
    app.stop().await;
}

/// A device of the window's colleagues, beside the app: an encrypted profile
/// and the real client, as `crm` would use them.
struct Colleague {
    store: crm_core::Store,
    conn: crm_sync_client::Connection,
    token: String,
    heard: std::sync::Arc<std::sync::Mutex<Vec<crm_sync_client::Notice>>>,
}

impl Colleague {
    /// Signed in as `email`, listening to the server's notices.
    fn new(dir: &std::path::Path, url: &str, email: &str) -> Colleague {
        let pass = crm_core::FixedPassphrase(zeroize::Zeroizing::new("colleague pass".into()));
        let mut store = crm_core::Store::create(
            &dir.join(email),
            crm_core::KeyStoreChoice::Passphrase,
            &pass,
        )
        .expect("profile");
        let conn = crm_sync_client::Connection::new(url, Default::default()).expect("client");
        let resp = conn
            .login(
                email,
                crm_sync_testkit::PASSWORD,
                store.identity().device_id,
                email,
            )
            .expect("login");
        store
            .bind_to_server(url, email, resp.tenant_id, resp.user_id, &resp.role)
            .expect("bind");
        let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (keep, url, token) = (heard.clone(), url.to_string(), resp.token.clone());
        std::thread::spawn(move || loop {
            let conn = crm_sync_client::Connection::new(&url, Default::default()).expect("client");
            let _ = conn.listen(&token, |n| {
                if n != crm_sync_client::Notice::Alive {
                    keep.lock().expect("lock").push(n);
                }
                true
            });
            std::thread::sleep(Duration::from_millis(200));
        });
        Colleague {
            store,
            conn,
            token: resp.token,
            heard,
        }
    }

    fn sync(&mut self) -> crm_sync_client::Report {
        crm_sync_client::sync(&mut self.store, &self.conn, &self.token).expect("sync")
    }

    fn told_of_changes(&self) -> usize {
        self.heard
            .lock()
            .expect("lock")
            .iter()
            .filter(|n| matches!(n, crm_sync_client::Notice::Changed(_)))
            .count()
    }
}

/// Two agents of one team, one in the app's window, one on a device beside
/// it: the colleague's new contact and their edit appear in the open
/// contacts list with no click (the app's periodic sync is a minute away:
/// only the server's notice brings them this soon); a contact made in the
/// window reaches the colleague by itself. An agent of another team is
/// never told and never gets the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_colleagues_changes_appear_in_the_open_window_without_a_click() {
    use crm_sync_server::auth::Role;
    let _one = serial().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    let (server, mate, outsider) = tokio::task::spawn_blocking(move || {
        let server = crm_sync_testkit::Throwaway::start().expect("sync server");
        server
            .tenant(
                "Acme",
                &[
                    ("red1@acme.test", Role::Agent, Some("red")),
                    ("red2@acme.test", Role::Agent, Some("red")),
                    ("blue@acme.test", Role::Agent, Some("blue")),
                ],
            )
            .expect("tenant");
        let mate = Colleague::new(&root, &server.url(), "red2@acme.test");
        let outsider = Colleague::new(&root, &server.url(), "blue@acme.test");
        (server, mate, outsider)
    })
    .await
    .expect("world");
    let url = server.url();

    let mut app = App::start("live-sync").await;
    app.first_run().await;
    app.click("nav-sync").await;
    app.type_into("sync-server", &url).await;
    app.type_into("sync-email", "red1@acme.test").await;
    app.type_into("sync-password", crm_sync_testkit::PASSWORD)
        .await;
    app.click("sync-login").await;
    app.wait_text("sync-state", "says synced", |t| t == "Synced")
        .await;
    app.click("nav-contacts").await;
    app.find("contacts-empty").await;

    // The colleague adds a contact: it appears in the open list.
    let (mut mate, id) = tokio::task::spawn_blocking(move || {
        let mut mate = mate;
        let mut d = crm_core::ContactDraft::default();
        d.set("first_name", "Zelda").expect("name");
        d.set("last_name", "Colleague").expect("name");
        d.set("owner", "red2@acme.test").expect("owner");
        let id = mate.store.create_contact(&d).expect("create").id;
        mate.sync();
        (mate, id)
    })
    .await
    .expect("colleague");
    app.wait_content("contact-row", "shows the colleague's contact", |t| {
        t.contains("Zelda Colleague")
    })
    .await;
    app.snap("colleague-contact-arrived").await;

    // The colleague edits it: the row in the open list follows.
    mate = tokio::task::spawn_blocking(move || {
        mate.store
            .update_contact(id, &[("city".into(), "Whitby".into())])
            .expect("edit");
        mate.sync();
        mate
    })
    .await
    .expect("colleague");
    app.wait_content("contact-row", "shows the colleague's edit", |t| {
        t.contains("Whitby")
    })
    .await;

    // Open the contact and its history: the colleague's edit is theirs,
    // named by email and device. Their next edit appears there too, with
    // no click.
    app.wait_count("contact-row", 1).await[0]
        .click()
        .await
        .expect("open the contact");
    app.click("history-toggle").await;
    app.wait_content("history-item", "puts the city to the colleague", |t| {
        t.contains("City: set to Whitby") && t.contains("red2@acme.test on red2@acme.test")
    })
    .await;
    mate = tokio::task::spawn_blocking(move || {
        mate.store
            .update_contact(id, &[("job_title".into(), "Broker".into())])
            .expect("edit");
        mate.sync();
        mate
    })
    .await
    .expect("colleague");
    app.wait_content("history-item", "shows the next edit by itself", |t| {
        t.contains("Job title: set to Broker") && t.contains("red2@acme.test")
    })
    .await;
    app.snap("history-names-the-colleague").await;

    // A contact made in the window reaches the colleague by itself.
    app.fill_new_contact("Wendy", "Window", "wendy@example.com")
        .await;
    app.find("contact-name").await;
    let start = Instant::now();
    let mate = loop {
        let (m, has) = tokio::task::spawn_blocking(move || {
            let mut m = mate;
            let told = m.told_of_changes() > 0;
            if told {
                m.sync();
            }
            let has = m
                .store
                .list_contacts(&Default::default())
                .map(|l| l.iter().any(|c| c.display_name == "Wendy Window"))
                .unwrap_or(false);
            (m, has)
        })
        .await
        .expect("colleague");
        if has {
            break m;
        }
        assert!(
            start.elapsed() < WAIT,
            "the window's contact never reached the colleague"
        );
        mate = m;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    app.stop().await;

    // The other team's agent: never told, and nothing of red's arrives.
    let outsider = tokio::task::spawn_blocking(move || {
        let mut outsider = outsider;
        assert_eq!(
            outsider.told_of_changes(),
            0,
            "the blue agent was told of red's changes"
        );
        let got = outsider.sync();
        assert_eq!(got.pulled, 0, "the blue agent got red's records");
        drop(mate);
        drop(server);
        outsider
    })
    .await
    .expect("outsider");
    drop(outsider);
}
