//! The admin console in the real window (Xvfb, WebKitWebDriver,
//! tauri-driver), against a real sync server on a throwaway PostgreSQL: an
//! admin publishes an automation made in the Studio to the agency's
//! catalog, then blocks it with a reason; the catalog, the trusted
//! publishers and the audit each get a screenshot in
//! `artifacts/screenshots/`.

crm_plugins::counting_allocator!();

#[path = "support/driver.rs"]
mod driver;
#[path = "support/window.rs"]
mod window;
use window::*;

const PASS: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_console_publishes_a_studio_automation_and_blocks_it() {
    use crm_sync_server::auth::Role;
    let _one = serial().await;
    let (server, profile, id) = tokio::task::spawn_blocking(|| {
        let server = crm_sync_testkit::Throwaway::start().expect("sync server");
        server
            .tenant("Acme", &[("ada@acme.test", Role::Admin, None)])
            .expect("tenant");
        let tmp = tempfile::tempdir().expect("temp dir");
        let backend = crm_app::App::new(tmp.path().join("profile"));
        backend
            .profile_create(Some(PASS.into()), "GB")
            .expect("profile");
        backend
            .sync_login(crm_app::dto::LoginArgs {
                server: server.url(),
                email: "ada@acme.test".into(),
                password: crm_sync_testkit::PASSWORD.into(),
                new_password: None,
            })
            .expect("sign in");
        let model = r#"{"version": 1, "name": "Web lead follow-up", "trigger": {"kind": "contact_created"},
            "conditions": [{"field": "source", "op": "is", "value": "web"}],
            "actions": [{"kind": "add_tag", "tag": "web-lead"}]}"#;
        let p = backend.studio_save(model, false).expect("saved");
        backend.profile_lock().expect("lock");
        (server, tmp, p.id)
    })
    .await
    .expect("world");

    let mut app = App::start_in("agency", profile).await;
    app.type_into("unlock-passphrase", PASS).await;
    app.click("unlock-submit").await;
    app.click("nav-agency").await;
    app.find("agency-publish").await;
    app.find("agency-empty").await;
    app.snap("agency-empty-catalog").await;

    app.select("agency-publish-plugin", &id).await;
    app.select("agency-publish-mode", "force_installed").await;
    app.find(&format!("agency-grant-{}", "contacts-write"))
        .await;
    app.snap("agency-publish").await;
    app.click("agency-publish-go").await;
    let card = format!("agency-plugin-{}", id.replace('.', "-"));
    app.wait_text(&card, "lists the published automation", |t| {
        t.contains("Web lead follow-up")
            && t.contains("Installed for everyone")
            && t.contains("1.0.0")
    })
    .await;
    app.snap("agency-published").await;

    let tid = |prefix: &str| format!("{prefix}-{}", id.replace('.', "-"));
    app.select(&tid("agency-set-mode"), "blocked").await;
    app.type_into(&tid("agency-reason"), "tags the wrong people")
        .await;
    app.click(&tid("agency-apply")).await;
    app.wait_text(&tid("agency-mode"), "says it is blocked", |t| {
        t == "Blocked"
    })
    .await;
    app.wait_text(&card, "gives the reason", |t| {
        t.contains("Reason: tags the wrong people")
    })
    .await;
    app.snap("agency-blocked").await;

    app.click("agency-tab-publishers").await;
    app.wait_text("agency-publishers", "trusts the admin's own key", |t| {
        t.contains("ada@acme.test (Studio)")
    })
    .await;
    app.snap("agency-publishers").await;

    // People: an invitation gives a one-time password, shown once.
    app.click("agency-tab-people").await;
    app.find("agency-people").await;
    app.type_into("invite-email", "sam@acme.test").await;
    app.type_into("invite-team", "north").await;
    app.click("invite-send").await;
    app.wait_text("otp-password", "shows the one-time password", |t| {
        t.trim().len() >= 16
    })
    .await;
    app.snap("agency-invite-password").await;
    app.click("otp-done").await;
    app.wait_text("agency-people", "lists the invited person", |t| {
        t.contains("sam@acme.test") && t.contains("Has a one-time password")
    })
    .await;
    app.snap("agency-people").await;
    // Devices: this one, with the version it runs.
    app.click("agency-tab-devices").await;
    app.wait_text("agency-devices", "lists the admin's device", |t| {
        t.contains("ada@acme.test") && t.contains(env!("CARGO_PKG_VERSION"))
    })
    .await;
    app.snap("agency-devices").await;
    app.click("agency-tab-audit").await;
    app.wait_text("agency-people-audit", "lists the invitation", |t| {
        t.contains("invited sam@acme.test as agent")
    })
    .await;
    app.wait_text("agency-audit", "lists every change by whom", |t| {
        t.contains("set mode blocked, reason: tags the wrong people")
            && t.contains("published version 1.0.0")
            && t.contains("trusted the publisher")
            && t.contains("ada@acme.test")
    })
    .await;
    app.snap("agency-audit").await;

    // The plugin on this device stops at the next sync (the Plugins screen
    // says why).
    app.click("nav-sync").await;
    app.click("sync-now").await;
    app.click("nav-plugins").await;
    app.wait_text(&tid("catalog"), "says the agency stopped it", |t| {
        t.contains("Stopped by your agency: tags the wrong people")
    })
    .await;
    app.wait_text(&tid("status"), "shows it switched off", |t| t == "Disabled")
        .await;
    assert!(
        app.all(&tid("enable")).await.is_empty(),
        "a plugin the agency stopped offers no Enable"
    );
    app.snap("agency-plugin-stopped").await;
    app.stop().await;
    // The server's own runtime stops on a thread that may block.
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .expect("server stopped");
}
