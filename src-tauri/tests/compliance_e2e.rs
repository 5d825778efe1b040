//! Care compliance in the real window (Xvfb, WebKitWebDriver,
//! tauri-driver), on one device: an admin adds two members of staff (a bad
//! start date refused under its field), records a fire-safety certificate
//! that has expired, which the training matrix shows as expired; an
//! evidence file that is not a document is refused naming the file; a DBS
//! check's number shows only by its last four characters once saved; the
//! evidence pack is written where asked (its text, read back with
//! `pdftotext`, holds the figures and not the full DBS number); a library
//! document is made a policy and submitted, and approving one's own
//! submission is refused in words. Screenshots go to
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
