//! Care compliance in the real window (Xvfb, WebKitWebDriver,
//! tauri-driver), on one device: an admin adds two members of staff (a bad
//! start date refused under its field), records a fire-safety certificate
//! that has expired, which the training matrix shows as expired; an
//! evidence file that is not a document is refused naming the file; a DBS
//! check's number shows only by its last four characters once saved; the
//! evidence pack is written where asked (its text, read back with
//! `pdftotext`, holds the figures and not the full DBS number); a library
//! document is made a policy and submitted, and approving one's own
//! submission is refused in words. Then two devices through a real sync
//! server: a policy approved by a second admin is published and assigned
//! to a team in the admin's window; a carer signs it in her own window
//! while the server is down, sends it when it is back, and the admin's
//! window shows 100%. Screenshots go to
//! `artifacts/screenshots/compliance-*.png`.

crm_plugins::counting_allocator!();

#[path = "support/driver.rs"]
mod driver;
#[path = "support/window.rs"]
mod window;
use window::*;

const PASS: &str = "correct horse battery";
const DBS_NUMBER: &str = "001234567890";

/// The id at the end of the window's address (`#/compliance/staff/<id>`).
async fn id_in_url(app: &App) -> String {
    let url = app.client.current_url().await.expect("url");
    let frag = url.fragment().unwrap_or_default().to_string();
    frag.rsplit('/').next().unwrap_or_default().to_string()
}

/// Wait until the address names a record under `prefix`, and return its id.
async fn wait_for_record(app: &App, prefix: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let url = app.client.current_url().await.expect("url");
        let frag = url.fragment().unwrap_or_default().to_string();
        if let Some(rest) = frag.strip_prefix(prefix) {
            if !rest.is_empty() && rest != "new" && !rest.contains('/') {
                return id_in_url(app).await;
            }
        }
        assert!(
            start.elapsed() < WAIT,
            "[{}] never reached {prefix}…: at {frag}",
            app.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        pdf.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_keeps_staff_records_training_and_policies_and_makes_the_evidence_pack() {
    let _one = serial().await;
    // The profile, with a policy document in the library (a draft), and
    // the files the admin will pick.
    let (profile, doc_id, files) = tokio::task::spawn_blocking(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let backend = crm_app::App::new(tmp.path().join("profile"));
        backend.set_extractor(app_binary().into());
        backend
            .profile_create(Some(PASS.into()), "GB")
            .expect("profile");
        let files = tmp.path().join("files");
        std::fs::create_dir_all(&files).expect("files");
        let doc = files.join("safeguarding-adults.md");
        std::fs::write(
            &doc,
            "# Safeguarding adults policy\n\nReport any concern about abuse or neglect to the manager on duty the same day.\n",
        )
        .expect("policy file");
        let added = backend
            .docs_add(
                &crm_app::documents::DocAddArgs {
                    paths: vec![doc.display().to_string()],
                    audience: vec![],
                    draft: true,
                    change_note: None,
                },
                &mut |_| {},
            )
            .expect("document added");
        assert_eq!(added[0].status, "indexed", "{:?}", added[0]);
        let doc_id = added[0].document_id.clone().expect("document id");
        backend.profile_lock().expect("lock");
        std::fs::write(
            files.join("fire-certificate.pdf"),
            b"%PDF-1.4\n% Fire safety certificate\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
        )
        .expect("certificate");
        std::fs::write(files.join("dbs-notes.txt"), "DBS seen on the day").expect("notes");
        (tmp, doc_id, files)
    })
    .await
    .expect("profile");

    let mut app = App::start_in("compliance", profile).await;
    app.type_into("unlock-passphrase", PASS).await;
    app.click("unlock-submit").await;
    app.click("nav-compliance").await;
    app.find("cx-policies-none").await;
    app.click("compliance-tab-compliance-staff").await;
    app.find("staff-empty").await;

    // The first member of staff; a start date that is not one is refused
    // under its field.
    app.click("staff-new").await;
    app.type_into("staff-name", "Ann Able").await;
    app.type_into("staff-role", "senior carer").await;
    app.type_into("staff-team", "north").await;
    app.type_into("staff-start_date", "31/02/2025").await;
    app.type_into("staff-supervision_weeks", "8").await;
    app.click("staff-save").await;
    app.field_error("error-start_date", "not a date", "staff-form-error")
        .await;
    app.type_into("staff-start_date", "06/01/2025").await;
    app.click("staff-save").await;
    let ann = wait_for_record(&app, "/compliance/staff/").await;
    app.find("person-facts").await;

    // The second, managed by the first.
    app.click("compliance-tab-compliance-staff").await;
    app.wait_count("staff-open", 1).await;
    app.click("staff-new").await;
    app.type_into("staff-name", "Bob Best").await;
    app.type_into("staff-role", "carer").await;
    app.type_into("staff-team", "north").await;
    app.wait_content("staff-manager_id", "offers Ann as manager", |t| {
        t.contains("Ann Able")
    })
    .await;
    app.select("staff-manager_id", &ann).await;
    app.type_into("staff-start_date", "2025-02-03").await;
    app.click("staff-save").await;
    let bob = wait_for_record(&app, "/compliance/staff/").await;
    assert_ne!(bob, ann);
    app.wait_text("person-facts", "names Bob's manager", |t| {
        t.contains("Ann Able")
    })
    .await;
    app.snap("person").await;

    // A fire-safety certificate that lapsed last year, kept with its record.
    app.click("training-add-open").await;
    app.wait_content("training-course", "offers the courses", |t| {
        t.contains("Fire safety")
    })
    .await;
    app.select("training-course", "fire-safety").await;
    app.type_into("training-achieved", "10/01/2024").await;
    app.type_into("training-expires", "2025-01-10").await;
    app.type_into("training-provider", "Acme Training").await;
    app.type_into(
        "training-certificate",
        &files.join("fire-certificate.pdf").display().to_string(),
    )
    .await;
    app.click("training-save").await;
    app.wait_text("training-standing-fire-safety", "shows it expired", |t| {
        t.contains("Expired")
    })
    .await;
    app.wait_text("person-training", "lists the certificate", |t| {
        t.contains("fire-certificate.pdf")
    })
    .await;
    app.snap("person-training-expired").await;

    // A DBS check: a text file is no evidence, and the refusal names the file.
    app.click("check-dbs-open").await;
    app.type_into(
        "evidence-dbs-path",
        &files.join("dbs-notes.txt").display().to_string(),
    )
    .await;
    app.click("evidence-dbs-go").await;
    app.field_error(
        "error-evidence_file",
        "not a document or a picture",
        "evidence-type-refused",
    )
    .await;
    // Its fields, drawn from the item's definition.
    app.select("check-dbs-field-level", "enhanced").await;
    app.type_into("check-dbs-field-certificate_number", DBS_NUMBER)
        .await;
    app.type_into("check-dbs-field-issue_date", "2025-01-02")
        .await;
    app.select("check-dbs-field-update_service", "yes").await;
    app.type_into("check-dbs-field-recheck_months", "36").await;
    app.click("check-dbs-save").await;
    app.wait_text(
        "check-dbs-value-certificate_number",
        "shows the number by its last four characters",
        |t| t == "ending 7890",
    )
    .await;
    app.wait_text("check-dbs-status", "says verified", |t| t == "Verified")
        .await;
    let page = app
        .wait_content("person-checks", "lists the DBS check", |t| {
            t.contains("Enhanced")
        })
        .await;
    assert!(!page.contains(DBS_NUMBER), "the full number is on the page");
    app.snap("person-dbs-masked").await;

    // The matrix: Bob's fire safety is expired, in a mark and in words.
    app.click("compliance-tab-compliance-matrix").await;
    let row = format!("mx-row-{bob}");
    app.wait_content(&row, "has Bob's row", |t| t.contains("Bob Best"))
        .await;
    app.find("mx-legend").await;
    app.snap("matrix").await;
    app.select("mx-filter-standing", "expired").await;
    app.wait_text("mx-count", "keeps only Bob", |t| t.starts_with("1 person"))
        .await;
    app.select("mx-filter-course", "fire-safety").await;
    app.wait_content(&row, "marks fire safety expired", |t| {
        t.contains("Bob Best") && t.contains('✗')
    })
    .await;
    let cell = app
        .find(&row)
        .await
        .find(fantoccini::Locator::Css("td.mx-expired"))
        .await
        .expect("an expired cell");
    let title = cell.attr("title").await.expect("title").unwrap_or_default();
    assert!(
        title.contains("expired after 10 Jan 2025"),
        "the cell says it in words: {title}"
    );
    app.snap("matrix-expired").await;

    // The evidence pack, saved where asked.
    app.click("compliance-tab-compliance").await;
    let pdf = files.join("evidence-pack.pdf");
    app.type_into("cx-pack-org", "Acme Care").await;
    app.type_into("cx-pack-path", &pdf.display().to_string())
        .await;
    app.click("cx-pack-make").await;
    app.wait_text("cx-pack-files", "says where it went", |t| {
        t.contains("evidence-pack.pdf") && t.contains("evidence-pack.csv")
    })
    .await;
    app.wait_text("cx-pack-staff", "counts two people", |t| t == "2")
        .await;
    app.wait_text("cx-pack-gaps", "lists the expired training", |t| {
        t.contains("Fire safety: 1 expired, 1 never done")
    })
    .await;
    app.snap("evidence-pack").await;
    // Lines wrap where the PDF wraps them: compare words.
    let text = pdftotext(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for want in [
        "CQC evidence pack: Acme Care",
        "Staff in post: 2",
        "Training in date:",
        "Fire safety",
        "ending 7890",
    ] {
        assert!(
            text.contains(want),
            "{want:?} missing from the pack: {text}"
        );
    }
    assert!(
        !text.replace(' ', "").contains(DBS_NUMBER),
        "the full DBS number is in the pack"
    );
    let csv = std::fs::read_to_string(files.join("evidence-pack.csv")).expect("csv");
    assert!(
        !csv.contains(DBS_NUMBER),
        "the full DBS number is in the CSV"
    );

    // A document of the library made a policy, submitted, and refused when
    // the same admin tries to approve it.
    app.click("compliance-tab-compliance-policies").await;
    app.find("cp-empty").await;
    app.click("cp-add-open").await;
    app.wait_content("cp-doc", "offers the library's document", |t| {
        t.contains("safeguarding-adults.md")
    })
    .await;
    app.select("cp-doc", &doc_id).await;
    app.type_into("cp-owner", "Registered manager").await;
    app.type_into("cp-review-months", "12").await;
    app.click("cp-stmt-S3").await;
    app.snap("policy-register").await;
    app.click("cp-register-save").await;
    app.wait_text("cp-approval-state", "is a draft", |t| t == "Draft")
        .await;
    app.wait_text("cp-statement-list", "evidences S3", |t| {
        t.contains("S3 Safeguarding")
    })
    .await;
    app.click("cp-submit").await;
    app.wait_text("cp-approval-state", "awaits approval", |t| {
        t == "Awaiting approval"
    })
    .await;
    app.find("cp-own-submission").await;
    app.click("cp-approve").await;
    app.wait_text("cp-action-error", "refuses in words", |t| {
        t.contains("you submitted this version: another admin must approve it")
    })
    .await;
    app.wait_text("cp-approval-state", "still awaits approval", |t| {
        t == "Awaiting approval"
    })
    .await;
    app.snap("policy-approve-refused").await;

    // The overview counts it.
    app.click("compliance-tab-compliance").await;
    app.wait_text("cx-awaiting", "counts the policy waiting", |t| t == "1")
        .await;
    app.stop().await;
}

/// Sync from the Sync screen and wait for its "Synced: …" toast.
async fn sync_in_window(app: &mut App, label: &str) {
    app.click("nav-sync").await;
    app.click("sync-now").await;
    let start = std::time::Instant::now();
    loop {
        let mut said = Vec::new();
        for t in app.all("toast").await {
            said.push(t.text().await.unwrap_or_default());
        }
        if said.iter().any(|t| t.starts_with("Synced:")) {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "[{}] never synced; toasts: {said:?}",
            app.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.snap(label).await;
}

/// Stop or restart the sync server off the async runtime (its own runtime
/// blocks).
async fn server_do(
    mut server: crm_sync_testkit::Throwaway,
    up: bool,
) -> crm_sync_testkit::Throwaway {
    tokio::task::spawn_blocking(move || {
        if up {
            server.restart().expect("server restarts");
        } else {
            server.stop();
        }
        server
    })
    .await
    .expect("server")
}

/// Two devices, two windows, one real sync server: the policy approved by a
/// second admin is published and assigned to team north in the admin's
/// window; the carer's own window receives it, the server goes away, she
/// says "I have read and understood" offline, and sends it when the server
/// is back; the admin's window then shows 100% with her signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carer_signs_a_policy_offline_on_her_own_device_and_the_admin_sees_100_percent() {
    use crm_sync_server::auth::Role;
    let _one = serial().await;
    let world = tokio::task::spawn_blocking(|| {
        let server = crm_sync_testkit::Throwaway::start().expect("sync server");
        server
            .tenant(
                "Sunrise Care",
                &[
                    ("ada@sunrise.test", Role::Admin, None),
                    ("kim@sunrise.test", Role::Admin, None),
                    ("cara@sunrise.test", Role::Agent, Some("north")),
                    ("dan@sunrise.test", Role::Agent, Some("south")),
                ],
            )
            .expect("tenant");
        let ada_dir = tempfile::tempdir().expect("ada");
        let cara_dir = tempfile::tempdir().expect("cara");
        let kim_dir = tempfile::tempdir().expect("kim");
        let ada = signed_in_device(&server, &ada_dir.path().join("profile"), PASS, "ada@sunrise.test");
        let users = ada.admin_users().expect("accounts");
        let user = |email: &str| {
            users
                .iter()
                .find(|u| u.email == email)
                .map(|u| u.id.clone())
                .unwrap_or_else(|| panic!("{email} is an account"))
        };
        let person = |name: &str, team: &str, email: &str| crm_app::compliance::StaffForm {
            name: name.into(),
            role: "carer".into(),
            team: team.into(),
            start_date: "2025-03-03".into(),
            user_id: user(email),
            ..Default::default()
        };
        let cara = ada
            .compliance_staff_create(person("Cara Jones", "north", "cara@sunrise.test"))
            .expect("Cara's record");
        ada.compliance_staff_create(person("Dan Evans", "south", "dan@sunrise.test"))
            .expect("Dan's record");
        let file = ada_dir.path().join("medication-policy.md");
        std::fs::write(
            &file,
            "# Medication policy\n\nTwo carers check every controlled drug before it is given, and both sign the record.\n",
        )
        .expect("policy file");
        let added = ada
            .docs_add(
                &crm_app::documents::DocAddArgs {
                    paths: vec![file.display().to_string()],
                    audience: vec![],
                    draft: true,
                    change_note: None,
                },
                &mut |_| {},
            )
            .expect("document added");
        let doc_id = added[0].document_id.clone().expect("document id");
        ada.compliance_policy_register(
            &doc_id,
            crm_app::compliance_policies::CompliancePolicyForm {
                kind: "policy".into(),
                owner: "Registered manager".into(),
                review_months: "12".into(),
                statements: vec!["S8".into()],
            },
        )
        .expect("a policy");
        ada.compliance_policy_submit(&doc_id).expect("submitted");
        ada.sync_now().expect("ada sends it");
        // Approved on the second admin's device.
        let kim = signed_in_device(&server, &kim_dir.path().join("profile"), PASS, "kim@sunrise.test");
        kim.sync_now().expect("kim receives it");
        kim.compliance_policy_approve(&doc_id)
            .expect("kim approves ada's submission");
        kim.sync_now().expect("kim sends the approval");
        ada.sync_now().expect("ada receives the approval");
        ada.profile_lock().expect("lock");
        // Cara's own device: signed in, nothing on it yet.
        let carer = signed_in_device(&server, &cara_dir.path().join("profile"), PASS, "cara@sunrise.test");
        carer.profile_lock().expect("lock");
        (server, ada_dir, cara_dir, doc_id, cara.id)
    })
    .await
    .expect("the office");
    let (server, ada_dir, cara_dir, doc_id, cara_id) = world;
    let due = (chrono::Local::now().date_naive() + chrono::Days::new(14))
        .format("%Y-%m-%d")
        .to_string();

    // The admin's window: publish the approved version, ask team north.
    let mut admin = App::start_in("compliance-sync-admin", ada_dir).await;
    admin.type_into("unlock-passphrase", PASS).await;
    admin.click("unlock-submit").await;
    admin.click("nav-compliance").await;
    admin.click("compliance-tab-compliance-policies").await;
    admin.click(&format!("cp-open-{doc_id}")).await;
    admin
        .wait_text("cp-approval-state", "was approved on kim's device", |t| {
            t.starts_with("Approved")
        })
        .await;
    admin.click("cp-publish").await;
    admin
        .wait_text("cp-approval-state", "is published", |t| t == "Published")
        .await;
    admin
        .wait_text("cp-ack-percent", "asks nobody yet", |t| t == "—")
        .await;
    admin.select("cp-assign-kind", "team").await;
    admin.type_into("cp-assign-value", "north").await;
    admin.type_into("cp-assign-due", &due).await;
    admin.click("cp-assign-save").await;
    let cara_row = format!("cp-person-{cara_id}");
    admin
        .wait_text(&cara_row, "asks Cara, of team north", |t| {
            t.contains("Cara Jones") && t.contains("Pending")
        })
        .await;
    admin
        .wait_text("cp-ack-percent", "has nobody signed", |t| t == "0%")
        .await;
    assert!(
        !admin.text("cp-people").await.contains("Dan Evans"),
        "team south is not asked"
    );
    admin.snap("assigned").await;
    sync_in_window(&mut admin, "sent").await;
    let ada_dir = admin.halt().await.expect("ada's profile");

    // Cara's window: it arrives with a sync; then the server goes away.
    let mut carer = App::start_in("compliance-sync-carer", cara_dir).await;
    carer.type_into("unlock-passphrase", PASS).await;
    carer.click("unlock-submit").await;
    sync_in_window(&mut carer, "received").await;
    let server = server_do(server, false).await;
    carer.click("nav-compliance").await;
    carer.click("compliance-tab-compliance-reading").await;
    carer
        .wait_text(
            &format!("reading-state-{doc_id}"),
            "asks her to sign",
            |t| t == "Pending",
        )
        .await;
    carer.snap("to-read").await;
    // Her device holds her own staff record and nobody else's.
    carer.click("compliance-tab-compliance-staff").await;
    let listed = carer.wait_count("staff-open", 1).await;
    assert_eq!(
        listed[0].text().await.unwrap_or_default(),
        "Cara Jones",
        "a carer sees only her own record"
    );
    carer.click("compliance-tab-compliance-reading").await;
    carer.click(&format!("reading-sign-{doc_id}")).await;
    carer
        .wait_text(&format!("reading-state-{doc_id}"), "signed offline", |t| {
            t == "Done"
        })
        .await;
    carer.snap("signed-offline").await;
    // Offline: the sync says so, and the signature waits on the device.
    carer.click("nav-sync").await;
    carer.click("sync-now").await;
    carer
        .wait_text("form-error", "says the server cannot be reached", |t| {
            !t.is_empty()
        })
        .await;
    carer
        .wait_text("sync-pending", "counts the signature waiting", |t| t == "1")
        .await;
    carer.snap("offline").await;
    let server = server_do(server, true).await;
    sync_in_window(&mut carer, "sent").await;
    carer
        .wait_text("sync-pending", "has nothing left to send", |t| t == "0")
        .await;
    carer.stop().await;

    // The admin's window again: after a sync, 100%.
    let mut admin = App::start_in("compliance-sync-admin", ada_dir).await;
    admin.shots = 2;
    admin.type_into("unlock-passphrase", PASS).await;
    admin.click("unlock-submit").await;
    sync_in_window(&mut admin, "received").await;
    admin.click("nav-compliance").await;
    admin.click("compliance-tab-compliance-policies").await;
    admin.click(&format!("cp-open-{doc_id}")).await;
    admin
        .wait_text("cp-ack-percent", "shows everyone asked has signed", |t| {
            t == "100%"
        })
        .await;
    admin
        .wait_text(&cara_row, "shows Cara's signature", |t| {
            t.contains("Done") && t.contains("(v1)")
        })
        .await;
    admin
        .wait_text(
            "cp-statement-list",
            "keeps the statement it evidences",
            |t| t.contains("S8 Medicines optimisation"),
        )
        .await;
    admin.snap("all-signed").await;
    admin.stop().await;
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .expect("server stopped");
}

async fn rows_drawn(app: &App) -> usize {
    app.client
        .find_all(fantoccini::Locator::Css("tr[data-testid^='mx-row-']"))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

/// The matrix of a large office draws only the rows in view (and a
/// margin), yet every person is there: scrolled to the end, the last
/// person's row is drawn with a cell per course; found by name, one in the
/// middle is; back at the top, the first again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_office_matrix_draws_the_rows_in_view_and_reaches_every_person() {
    const STAFF: usize = 120;
    const COURSES: usize = 40;
    let _one = serial().await;
    let (profile, people) = tokio::task::spawn_blocking(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("profile");
        let backend = crm_app::App::new(dir.clone());
        backend
            .profile_create(Some(PASS.into()), "GB")
            .expect("profile");
        backend.profile_lock().expect("lock");
        let source = crm_core::FixedPassphrase(zeroize::Zeroizing::new(PASS.to_string()));
        let mut store = crm_core::Store::open(&dir, &source).expect("open the profile");
        let today = chrono::Local::now().date_naive();
        crm_compliance::sample::training_office(&mut store, today, STAFF, COURSES)
            .expect("the office");
        let m =
            crm_compliance::training::matrix(&store, &Default::default(), today).expect("matrix");
        let people: Vec<(String, String)> = m
            .rows
            .iter()
            .map(|r| (r.staff_id.clone(), r.name.clone()))
            .collect();
        (tmp, people)
    })
    .await
    .expect("office");
    assert_eq!(people.len(), STAFF);

    let mut app = App::start_in("compliance-matrix", profile).await;
    app.type_into("unlock-passphrase", PASS).await;
    app.click("unlock-submit").await;
    app.click("nav-compliance").await;
    app.click("compliance-tab-compliance-matrix").await;
    app.wait_text("mx-count", "counts everyone", |t| {
        t == format!("{STAFF} people × {COURSES} courses")
    })
    .await;
    let (first_id, first_name) = &people[0];
    app.wait_content(
        &format!("mx-row-{first_id}"),
        "shows the first person",
        |t| t.contains(first_name.as_str()),
    )
    .await;
    let drawn = rows_drawn(&app).await;
    assert!(
        drawn < STAFF / 2,
        "{drawn} rows of {STAFF} drawn: the rows in view and a margin expected"
    );
    app.snap("matrix-large-top").await;

    // To the end: the last person, with a cell per course.
    app.client
        .execute(
            "const w = document.querySelector(\"[data-testid='mx-table']\"); w.scrollTop = w.scrollHeight;",
            vec![],
        )
        .await
        .expect("scroll");
    let (last_id, last_name) = &people[STAFF - 1];
    let last = format!("mx-row-{last_id}");
    app.wait_content(&last, "shows the last person", |t| {
        t.contains(last_name.as_str())
    })
    .await;
    let cells = app
        .find(&last)
        .await
        .find_all(fantoccini::Locator::Css("td"))
        .await
        .expect("cells");
    assert_eq!(cells.len(), COURSES, "the last row has a cell per course");
    let drawn = rows_drawn(&app).await;
    assert!(drawn < STAFF / 2, "{drawn} rows drawn at the end");
    app.snap("matrix-large-end").await;

    // Found by name: one in the middle, alone; then back to everyone, at
    // the top.
    let (mid_id, mid_name) = &people[STAFF / 2];
    app.type_into("mx-filter-text", mid_name).await;
    app.wait_text("mx-count", "keeps one person", |t| {
        t.starts_with("1 person")
    })
    .await;
    app.wait_content(&format!("mx-row-{mid_id}"), "shows them", |t| {
        t.contains(mid_name.as_str())
    })
    .await;
    // Emptied as a person would: backspace over the name.
    app.find("mx-filter-text")
        .await
        .send_keys(&"\u{E003}".repeat(mid_name.chars().count()))
        .await
        .expect("backspace");
    app.wait_text("mx-count", "counts everyone again", |t| {
        t.starts_with(&format!("{STAFF} people"))
    })
    .await;
    app.wait_content(
        &format!("mx-row-{first_id}"),
        "starts at the top again",
        |t| t.contains(first_name.as_str()),
    )
    .await;
    app.stop().await;
}
