//! Documents in the real window (Xvfb, WebKitWebDriver, tauri-driver),
//! against a real sync server on a throwaway PostgreSQL: an admin adds two
//! PDFs and a Word file (a folder) for team north (each file's status shown as it
//! is read), opens one, asks a question and follows the citation to the
//! cited page with the passage marked; after a sync an agent of team north
//! finds them on their device and an agent of team south does not.
//! Screenshots of each screen go to `artifacts/screenshots/`.

crm_plugins::counting_allocator!();

#[path = "support/driver.rs"]
mod driver;
#[path = "support/window.rs"]
mod window;
use window::*;

const PASS: &str = "correct horse battery";

fn agent(server: &crm_sync_testkit::Throwaway, dir: &std::path::Path, email: &str) -> crm_app::App {
    signed_in_device(server, dir, PASS, email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_documents_for_a_team_asks_and_opens_the_cited_page() {
    use crm_sync_server::auth::Role;
    let _one = serial().await;
    let (server, profile, folder) = tokio::task::spawn_blocking(|| {
        let server = crm_sync_testkit::Throwaway::start().expect("sync server");
        server
            .tenant(
                "Acme",
                &[
                    ("ada@acme.test", Role::Admin, None),
                    ("nina@acme.test", Role::Agent, Some("north")),
                    ("sam@acme.test", Role::Agent, Some("south")),
                ],
            )
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
        backend.profile_lock().expect("lock");
        let files = tmp.path().join("files");
        std::fs::create_dir_all(&files).expect("files");
        for id in [
            "i02-complaints-handling-disp",
            "c01-safeguarding-adults",
            "c08-complaints-care",
        ] {
            let doc = crm_docs_fixtures::corpus::corpus_doc(id).expect("fixture");
            let path = files.join(doc.file_name());
            std::fs::write(&path, doc.bytes()).expect("write");
        }
        (server, tmp, files.display().to_string())
    })
    .await
    .expect("world");

    let mut app = App::start_in("docs", profile).await;
    app.type_into("unlock-passphrase", PASS).await;
    app.click("unlock-submit").await;
    app.click("nav-documents").await;
    app.find("docs-empty").await;
    app.click("docs-add-open").await;
    // The folder: every document in it.
    app.type_into("docs-paths", &folder).await;
    // For team north only.
    app.click("docs-add-audience-everyone").await;
    app.type_into("docs-add-audience-team", "north").await;
    app.click("docs-add-audience-add-team").await;
    app.snap("docs-add").await;
    app.click("docs-add-go").await;
    app.wait_count("docs-added", 3).await;
    app.wait_text("docs-add-progress", "says each file was indexed", |t| {
        t.matches("Indexed").count() == 3
    })
    .await;
    app.snap("docs-added").await;
    app.click("docs-add-open").await;
    app.wait_text("docs-count", "lists the three documents", |t| {
        t == "1–3 of 3"
    })
    .await;
    app.snap("docs-library").await;

    // One document: published for team north, its version in force.
    app.type_into("docs-filter", "i02").await;
    app.wait_text("docs-count", "finds it by file name", |t| t == "1–1 of 1")
        .await;
    let link = app
        .client
        .find(fantoccini::Locator::Css("[data-testid^='docs-open-']"))
        .await
        .expect("a document link");
    link.click().await.expect("open the document");
    app.wait_text("doc-status", "is published", |t| t == "Published")
        .await;
    app.wait_text("doc-audience", "is for team north", |t| {
        t == "For Team: north"
    })
    .await;
    app.find("doc-version-1").await;
    app.snap("docs-document").await;

    // Ask: the first source is the page with the answer; it opens there.
    app.click("nav-ask").await;
    app.type_into(
        "ask-question",
        "How long does a customer have to take their complaint to the Financial Ombudsman after our final response?",
    )
    .await;
    app.click("ask-go").await;
    app.wait_text("ask-sources", "cites the complaints procedure", |t| {
        t.contains("page 3")
    })
    .await;
    app.wait_text("ask-note", "says no model is set up", |t| {
        t.contains("No language model is set up")
    })
    .await;
    let first = app.text("ask-source-1").await;
    assert!(first.contains("page 3"), "first citation: {first}");
    app.snap("docs-ask").await;
    app.click("ask-source-1").await;
    app.wait_text("viewer-page", "opens at the cited page", |t| {
        t == "Page 3 of 4" || t.starts_with("Page 3 of")
    })
    .await;
    app.wait_text("viewer-mark", "marks the passage", |t| {
        t.contains("six months from the date of the final response")
    })
    .await;
    app.snap("docs-viewer").await;

    // Sent at the next sync; north's agent has them, south's does not.
    app.click("nav-sync").await;
    app.click("sync-now").await;
    let tmp = tempfile::tempdir().expect("agents");
    let dir = tmp.path().to_path_buf();
    let (north, hits, south, server) = tokio::task::spawn_blocking(move || {
        let nina = agent(&server, &dir.join("nina"), "nina@acme.test");
        let list = |a: &crm_app::App| {
            a.docs_list(crm_app::documents::DocsQueryArgs {
                limit: 50,
                ..Default::default()
            })
            .expect("list")
            .documents
            .into_iter()
            .map(|d| d.file_name)
            .collect::<Vec<_>>()
        };
        // The admin's window sends them (sync now, or its automatic sync).
        let since = std::time::Instant::now();
        let mut north = Vec::new();
        while north.len() < 3 && since.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(500));
            nina.sync_now().expect("nina syncs");
            north = list(&nina);
        }
        let hits = nina
            .docs_search("Financial Ombudsman final response", 5)
            .expect("search");
        let sam = agent(&server, &dir.join("sam"), "sam@acme.test");
        sam.sync_now().expect("sam syncs");
        (north, hits, list(&sam), server)
    })
    .await
    .expect("agents");
    app.stop().await;
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .expect("server stopped");
    assert_eq!(
        north.len(),
        3,
        "team north receives the three documents: {north:?}"
    );
    assert!(
        hits.first().is_some_and(|h| h.file_name == "i02-complaints-handling-disp.pdf" && h.page == Some(3)),
        "and finds the answer on its page: {hits:?}"
    );
    assert!(south.is_empty(), "team south receives none: {south:?}");
}
