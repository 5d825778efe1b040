//! The app API without a window: real SQLCipher profiles (passphrase keys;
//! no keyring is needed), real imports, real plugins.

crm_plugins::counting_allocator!();

use crm_app::dto::*;
use crm_app::App;

const PASS: &str = "a long enough passphrase";

fn open_app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::new(dir.path().join("profile"));
    let st = app
        .profile_create(Some(PASS.into()), "GB")
        .expect("create profile");
    assert!(st.exists && st.unlocked);
    (dir, app)
}

/// The arguments of a real (not dry-run) import of `csv`, auto-mapped.
fn import_args(csv: &std::path::Path) -> ImportArgs {
    ImportArgs {
        path: csv.display().to_string(),
        mappings: vec![],
        dry_run: false,
    }
}

fn form(first: &str, last: &str, email: &str) -> ContactForm {
    ContactForm {
        first_name: first.into(),
        last_name: last.into(),
        emails: vec![email.into()],
        ..Default::default()
    }
}

#[test]
fn nothing_is_readable_before_the_profile_is_open_and_a_wrong_passphrase_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::new(dir.path().join("p"));
    let st = app.profile_state().expect("state");
    assert!(!st.exists && !st.unlocked);
    assert_eq!(
        app.contacts_page(ContactQueryArgs::default())
            .unwrap_err()
            .code,
        "locked"
    );
    let weak = app.profile_create(Some("short".into()), "GB").unwrap_err();
    assert_eq!(
        (weak.code.as_str(), weak.field.as_deref()),
        ("invalid", Some("passphrase"))
    );
    let bad_region = app.profile_create(Some(PASS.into()), "XX").unwrap_err();
    assert_eq!(bad_region.field.as_deref(), Some("region"));
    app.profile_create(Some(PASS.into()), "GB").expect("create");
    app.contact_create(form("Ann", "Lee", "ann@example.com"))
        .expect("contact");
    app.profile_lock().expect("lock");

    // A new app on the same folder: the passphrase is needed, a wrong one refused.
    let again = App::new(dir.path().join("p"));
    let st = again.profile_state().expect("state");
    assert!(st.exists && st.needs_passphrase && !st.unlocked);
    assert_eq!(
        again
            .profile_unlock("wrong passphrase!".into())
            .unwrap_err()
            .code,
        "wrong_passphrase"
    );
    again.profile_unlock(PASS.into()).expect("unlock");
    let page = again
        .contacts_page(ContactQueryArgs {
            limit: 10,
            ..Default::default()
        })
        .expect("page");
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].display_name, "Ann Lee");
}

#[test]
fn the_contacts_list_pages_and_counts_through_filters() {
    let (_d, app) = open_app();
    for i in 0..25 {
        let mut f = form(&format!("P{i:02}"), "Person", &format!("p{i}@example.com"));
        f.stage = if i % 5 == 0 { "client" } else { "prospect" }.into();
        f.tags = if i % 2 == 0 { "hot" } else { "" }.into();
        app.contact_create(f).expect("create");
    }
    let page = app
        .contacts_page(ContactQueryArgs {
            offset: 20,
            limit: 10,
            ..Default::default()
        })
        .expect("page");
    assert_eq!((page.total, page.offset, page.rows.len()), (25, 20, 5));
    assert_eq!(page.rows[0].display_name, "P20 Person");
    let clients = app
        .contacts_page(ContactQueryArgs {
            stage: Some("client".into()),
            limit: 100,
            ..Default::default()
        })
        .expect("clients");
    assert_eq!(clients.total, 5);
    let hot_clients = app
        .contacts_page(ContactQueryArgs {
            stage: Some("client".into()),
            tag: Some("HOT".into()),
            limit: 100,
            ..Default::default()
        })
        .expect("hot clients");
    assert_eq!(hot_clients.total, 3, "0, 10 and 20");
    let search = app
        .contacts_page(ContactQueryArgs {
            search: Some("p7@".into()),
            limit: 100,
            ..Default::default()
        })
        .expect("search");
    assert_eq!(search.total, 1);
    let meta = app.meta().expect("meta");
    assert_eq!(meta.tags, vec!["hot".to_string()]);
}

#[test]
fn validation_errors_name_the_field_and_nothing_is_written() {
    let (_d, app) = open_app();
    let e = app
        .contact_create(form("Bob", "Ray", "not-an-email"))
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.field.as_deref()),
        ("invalid", Some("email"))
    );
    let mut f = form("Bob", "Ray", "bob@example.com");
    f.phones = vec!["12".into()];
    assert_eq!(
        app.contact_create(f).unwrap_err().field.as_deref(),
        Some("phone")
    );
    let nothing = app.contact_create(ContactForm::default()).unwrap_err();
    assert_eq!(nothing.code, "invalid");
    assert_eq!(app.dashboard().expect("dashboard").contacts, 0);

    let c = app
        .contact_create(form("Bob", "Ray", "bob@example.com"))
        .expect("ok");
    let bad_policy = app
        .policy_create(PolicyForm {
            contact_id: c.id.clone(),
            policy_number: "P-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "motor".into(),
            premium: "lots".into(),
            effective: "2026-01-01".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(bad_policy.code, "invalid");
    assert!(app
        .contact_detail(&c.id)
        .expect("detail")
        .policies
        .is_empty());
    assert_eq!(
        app.contact_detail("nonsense").unwrap_err().code,
        "not_found"
    );
}

#[test]
fn a_policy_schedule_and_a_payment_show_on_the_contact_with_arrears() {
    let (_d, app) = open_app();
    let c = app
        .contact_create(form("Cara", "Moss", "cara@example.com"))
        .expect("contact");
    let start = (chrono::Local::now().date_naive() - chrono::Days::new(70)).to_string();
    let p = app
        .policy_create(PolicyForm {
            contact_id: c.id.clone(),
            policy_number: "MOT-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "motor".into(),
            premium: "40.00".into(),
            frequency: "monthly".into(),
            effective: start,
            ..Default::default()
        })
        .expect("policy");
    let other = app
        .contact_create(form("Olly", "Other", "olly@example.com"))
        .expect("other contact");
    for (who, title) in [(&c.id, "call Cara"), (&other.id, "call Olly")] {
        app.task_create(TaskForm {
            title: title.into(),
            contact_id: who.clone(),
            ..Default::default()
        })
        .expect("task");
    }
    let tasks = app.contact_detail(&c.id).expect("detail").tasks;
    assert_eq!(
        tasks.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        vec!["call Cara"],
        "the contact's own tasks only"
    );
    let inst = app.policy_schedule(&p.id).expect("schedule");
    assert_eq!(inst.len(), 12);
    let before = app.contact_detail(&c.id).expect("detail").arrears_minor;
    assert!(before >= 8000, "two or three instalments overdue: {before}");
    app.payment_record(PaymentForm {
        policy_id: p.id.clone(),
        amount: "40.00".into(),
        method: "card".into(),
        ..Default::default()
    })
    .expect("payment");
    let d = app.contact_detail(&c.id).expect("detail");
    assert_eq!(d.arrears_minor, before - 4000);
    assert_eq!(d.payments[&p.id][0].amount_paid_minor, 4000);
    let arrears = app.arrears().expect("arrears");
    assert_eq!(arrears.len(), 1);
    assert_eq!(arrears[0].contact_name, "Cara Moss");
    let bad = app
        .payment_record(PaymentForm {
            policy_id: p.id.clone(),
            amount: "10".into(),
            method: "bitcoin".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(bad.field.as_deref(), Some("method"));
}

#[test]
fn an_import_reports_progress_and_bad_rows_and_its_report_saves() {
    let (d, app) = open_app();
    let csv = d.path().join("in.csv");
    std::fs::write(
        &csv,
        "Vorname;Nachname;E-Mail\nAnna;Schmidt;anna@example.de\nBen;Bauer;kaputt\n",
    )
    .expect("csv");
    let prev = app
        .import_preview(&csv.display().to_string(), &[])
        .expect("preview");
    assert_eq!(prev.delimiter, ";");
    assert_eq!(prev.columns[2].field.as_deref(), Some("email"));
    assert_eq!(prev.sample.len(), 2);
    let mut events = Vec::new();
    let rep = app
        .import_run(&import_args(&csv), &mut |p| events.push(p))
        .expect("import");
    assert_eq!((rep.created, rep.skipped), (1, 1));
    assert_eq!(rep.problems[0].row, 3);
    assert_eq!(rep.problems[0].column.as_deref(), Some("E-Mail"));
    assert!(events.iter().any(|e| e.phase == "reading" && e.done == 2));
    let out = d.path().join("report.csv");
    app.import_report_save(&out.display().to_string())
        .expect("save");
    let saved = std::fs::read_to_string(&out).expect("read");
    assert!(
        saved
            .lines()
            .any(|l| l.starts_with('3') && l.contains("E-Mail")),
        "the saved report names row 3 and its column: {saved}"
    );
    let missing = app
        .import_preview(&d.path().join("nope.csv").display().to_string(), &[])
        .unwrap_err();
    assert_eq!(missing.field.as_deref(), Some("path"));
}

#[test]
fn a_template_plugin_installs_disabled_enables_with_its_grants_and_runs_its_action() {
    let (_d, app) = open_app();
    let c = app
        .contact_create(ContactForm {
            details: details(&[("job_title", "Managing Director")]),
            ..form("Dee", "Holt", "dee@example.com")
        })
        .expect("contact");
    let templates = app.plugin_templates().expect("templates");
    assert!(templates.iter().any(|t| t.name == "lead-scoring"));
    let p = app
        .plugin_install_template("lead-scoring")
        .expect("install");
    assert!(!p.enabled);
    assert!(p
        .permissions
        .iter()
        .any(|x| x.permission == "contacts:write" && x.description.contains("change")));
    assert_eq!(
        app.plugin_run_action(&p.id, "score_one", Some(c.id.clone()))
            .unwrap_err()
            .code,
        "plugin",
        "a disabled plugin does not run"
    );
    let grants: Vec<String> = p.permissions.iter().map(|x| x.permission.clone()).collect();
    let p = app.plugin_enable(&p.id, grants).expect("enable");
    assert!(p.enabled && p.permissions.iter().all(|x| x.granted));
    let detail = app.contact_detail(&c.id).expect("detail");
    assert!(detail
        .actions
        .iter()
        .any(|a| a.plugin_id == p.id && a.action_id == "score_one"));
    app.plugin_run_action(&p.id, "score_one", Some(c.id.clone()))
        .expect("run");
    let after = app.contact_detail(&c.id).expect("detail");
    assert!(after.contact.custom.contains_key("lead_score"));
    let bad = app
        .plugin_configure(
            &p.id,
            [("batch_size".to_string(), "many".to_string())].into(),
        )
        .unwrap_err();
    assert_eq!(bad.code, "invalid");
    let p = app.plugin_disable(&p.id).expect("disable");
    assert!(!p.enabled);
    assert!(app
        .contact_detail(&c.id)
        .expect("detail")
        .actions
        .is_empty());
    app.plugin_uninstall(&p.id, None).expect("uninstall");
    assert!(app.plugins().expect("plugins").is_empty());
}

#[test]
fn unsigned_packages_need_developer_mode() {
    let (d, app) = open_app();
    let folder = d.path().join("mine");
    crm_plugins::templates::create("blank", &folder).expect("template");
    let e = app
        .plugin_install_file(&folder.display().to_string())
        .unwrap_err();
    assert_eq!(e.code, "plugin");
    assert!(app.settings().expect("settings").key_storage == "passphrase");
    app.settings_set_developer_mode(true).expect("dev mode");
    app.plugin_install_file(&folder.display().to_string())
        .expect("installs in developer mode");
}

#[test]
fn settings_refuse_bad_values_and_keep_secrets_out_of_answers() {
    let (_d, app) = open_app();
    assert_eq!(
        app.settings_set_region("ZZ").unwrap_err().field.as_deref(),
        Some("region")
    );
    assert_eq!(app.settings_set_region("ie").expect("region").region, "IE");
    let bad = app
        .settings_set_ai(AiSettingsArgs {
            endpoint: "https://user:pw@example.com".into(),
            model: String::new(),
            api_key: None,
        })
        .unwrap_err();
    assert_eq!(bad.field.as_deref(), Some("endpoint"));
    let s = app
        .settings_set_ai(AiSettingsArgs {
            endpoint: "https://ai.example.com/v1/".into(),
            model: "m".into(),
            api_key: Some("sk-secret".into()),
        })
        .expect("ai");
    assert!(s.ai_key_set);
    assert_eq!(s.ai_endpoint.as_deref(), Some("https://ai.example.com/v1"));
    let json = serde_json::to_string(&s).expect("json");
    assert!(!json.contains("sk-secret"));
    assert_eq!(
        app.sync_now().unwrap_err().code,
        "signed_out",
        "not signed in has a code of its own (the frame says: sign in)"
    );
    let login = app
        .sync_login(LoginArgs {
            server: "ftp://x".into(),
            email: "a@b.c".into(),
            password: "p".into(),
            new_password: None,
        })
        .unwrap_err();
    assert_eq!(login.field.as_deref(), Some("server"));
}

/// The screens read while an import holds the store: the contacts list
/// answers at once from the last committed batch instead of waiting for
/// the import to end.
#[test]
fn the_contacts_list_answers_during_an_import_with_what_is_committed() {
    use std::sync::{mpsc, Arc};
    use std::time::Duration;
    let (d, app) = open_app();
    let app = Arc::new(app);
    let csv = d.path().join("big.csv");
    let batch = crm_core::import::DEFAULT_BATCH_SIZE as u64;
    let rows = batch + batch / 2;
    let mut text = String::from("First Name,Last Name,Email\n");
    for i in 0..rows {
        text.push_str(&format!("P{i},Q{i},p{i}@example.com\n"));
    }
    std::fs::write(&csv, text).expect("csv");
    let mut seen: Option<Result<ContactPage, String>> = None;
    let reader = app.clone();
    let rep = app
        .import_run(&import_args(&csv), &mut |p| {
            // The first batch is committed; the import still holds the
            // store while this runs.
            if seen.is_none() && p.phase == "reading" && p.done >= batch {
                let (tx, rx) = mpsc::channel();
                let r = reader.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(r.contacts_page(ContactQueryArgs::default()));
                });
                seen = Some(match rx.recv_timeout(Duration::from_secs(20)) {
                    Ok(Ok(page)) => Ok(page),
                    Ok(Err(e)) => Err(format!("error: {e:?}")),
                    Err(_) => Err("no answer while the import ran".into()),
                });
            }
        })
        .expect("import");
    assert_eq!(rep.created, rows);
    let page = seen
        .expect("a progress event after the first batch")
        .expect("the list answered during the import");
    assert_eq!(page.total as u64, batch, "exactly the committed batch");
    assert!(!page.rows.is_empty());
    // Afterwards the reader sees everything.
    let after = app
        .contacts_page(ContactQueryArgs::default())
        .expect("list");
    assert_eq!(after.total as u64, rows);
}

/// A plugin cannot end the app's process: a `contact.created` hook that
/// nests closures as deep as memory allows, prints terminal controls and
/// fails with a megabyte of text runs inside the app as it would for a
/// user. Every save stands and answers, every run is recorded as failed,
/// the breaker stops the plugin, and what the app shows of its error is
/// capped and free of control characters.
#[test]
fn a_hostile_hook_costs_its_runs_not_the_app() {
    let (d, app) = open_app();
    app.settings_set_developer_mode(true).expect("dev mode");
    let folder = d.path().join("hostile");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(
        folder.join("manifest.json"),
        r#"{"id": "acme.hostile", "name": "Hostile", "version": "1.0.0", "api_version": "^1", "author": "A",
            "permissions": ["contacts:read"],
            "hooks": [{"event": "contact.created", "function": "on_created"}]}"#,
    )
    .expect("manifest");
    std::fs::write(
        folder.join("main.rhai"),
        "fn on_created(e) {\n\
           print(\"\\x1b]0;owned\\x07\\x1b[2K\");\n\
           if contacts::get(e.row_id).last_name == \"Lee0\" {\n\
             let s = \"\\x1b[31m\"; s.pad(1000000, 'x'); throw s;\n\
           }\n\
           let f = 0; for i in 0..100000000 { let g = f; f = || g; } 1\n\
         }",
    )
    .expect("script");
    let p = app
        .plugin_install_file(&folder.display().to_string())
        .expect("install");
    let p = app
        .plugin_enable(&p.id, vec!["contacts:read".into()])
        .expect("enable");
    assert!(p.enabled);
    for i in 0..5 {
        app.contact_create(form(
            "Pat",
            &format!("Lee{i}"),
            &format!("p{i}@example.com"),
        ))
        .expect("the save stands");
    }
    // Hooks run after the commit, beside the window's calls.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let p = loop {
        let p = app
            .plugins()
            .expect("plugins")
            .into_iter()
            .find(|x| x.id == "acme.hostile")
            .expect("still installed");
        if !p.enabled || std::time::Instant::now() > deadline {
            break p;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!p.enabled, "the breaker stopped it: {:?}", p.health);
    assert!(
        p.health.runs >= 1 && p.health.errors == p.health.runs,
        "{:?}",
        p.health
    );
    let shown = p.health.last_error.clone().expect("an error is shown");
    assert!(shown.len() <= 4_096, "{} bytes shown", shown.len());
    assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    // The last runs reached the deep closures, which end as a memory or
    // limit error of the run (the first threw the megabyte).
    assert!(
        shown.contains("memory") || shown.contains("limit"),
        "{shown:?}"
    );
    assert_eq!(
        app.contacts_page(Default::default())
            .expect("the app still answers")
            .total,
        5
    );
}

/// Saving an edit writes only the fields the person changed: a value that
/// synced in to another field while the form was open is kept, not
/// overwritten by what the form was opened with.
#[test]
fn an_edit_saves_only_the_fields_it_changed() {
    let (_d, app) = open_app();
    let c = app
        .contact_create(ContactForm {
            details: details(&[("city", "York"), ("job_title", "Buyer")]),
            ..form("Ann", "Lee", "ann@example.com")
        })
        .expect("contact");
    // The form was opened before the job title changed elsewhere (here:
    // a second save), so it still holds the old one.
    let opened = ContactForm {
        details: details(&[("city", "York"), ("job_title", "Buyer")]),
        kind: "person".into(),
        stage: "prospect".into(),
        ..form("Ann", "Lee", "ann@example.com")
    };
    app.contact_update(
        &c.id,
        ContactForm {
            details: details(&[("city", "York"), ("job_title", "Director")]),
            changed: Some(vec!["job_title".into()]),
            ..opened.clone()
        },
    )
    .expect("the other change");
    let saved = app
        .contact_update(
            &c.id,
            ContactForm {
                details: details(&[("city", "Leeds"), ("job_title", "Buyer")]),
                changed: Some(vec!["city".into()]),
                ..opened
            },
        )
        .expect("save");
    assert_eq!(saved.details["city"], "Leeds");
    assert_eq!(saved.details["job_title"], "Director", "kept");
    assert_eq!(saved.emails, vec!["ann@example.com".to_string()]);
}

fn details(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A detail declared in the schema (here the preferred contact method) is
/// offered by `meta`, saved from the form, refused with its name when not
/// one of its choices, and cleared by an edit that empties it.
#[test]
fn a_declared_detail_goes_from_meta_to_the_form_and_back() {
    let (_d, app) = open_app();
    let meta = app.meta().expect("meta");
    let spec = meta
        .contact_details
        .iter()
        .find(|d| d.name == "preferred_contact_method")
        .expect("offered");
    assert_eq!(spec.label, "Preferred contact method");
    assert!(spec.choices.contains(&"text_message".to_string()));
    assert!(meta
        .import_fields
        .contains(&"preferred_contact_method".to_string()));

    let c = app
        .contact_create(ContactForm {
            details: details(&[("preferred_contact_method", "post")]),
            ..form("Ann", "Lee", "ann@example.com")
        })
        .expect("contact");
    assert_eq!(c.details["preferred_contact_method"], "post");

    let e = app
        .contact_update(
            &c.id,
            ContactForm {
                details: details(&[("preferred_contact_method", "pigeon")]),
                changed: Some(vec!["preferred_contact_method".into()]),
                ..form("Ann", "Lee", "ann@example.com")
            },
        )
        .expect_err("not a choice");
    assert_eq!(e.code, "invalid");
    assert_eq!(e.field.as_deref(), Some("preferred_contact_method"));

    let e = app
        .contact_create(ContactForm {
            details: details(&[("favourite_colour", "red")]),
            ..form("Bo", "Ray", "bo@example.com")
        })
        .expect_err("not a detail");
    assert_eq!(e.field.as_deref(), Some("favourite_colour"));

    let cleared = app
        .contact_update(
            &c.id,
            ContactForm {
                changed: Some(vec!["preferred_contact_method".into()]),
                ..form("Ann", "Lee", "ann@example.com")
            },
        )
        .expect("cleared");
    assert!(!cleared.details.contains_key("preferred_contact_method"));
}

/// Every field the synced schema declares reaches the window: each DTO
/// carries it under its declared name (a contact's details in `details`),
/// or it is named here as left out, with why. A field declared and not
/// carried fails here, not in a screen that silently shows nothing.
#[test]
fn every_declared_field_reaches_the_window() {
    use crm_protocol::schema;
    let (_d, app) = open_app();
    let c = app
        .contact_create(form("Cara", "Moss", "cara@example.com"))
        .expect("contact");
    let p = app
        .policy_create(PolicyForm {
            contact_id: c.id.clone(),
            policy_number: "MOT-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "motor".into(),
            premium: "40.00".into(),
            frequency: "monthly".into(),
            effective: "2026-01-01".into(),
            ..Default::default()
        })
        .expect("policy");
    let payments = app.policy_schedule(&p.id).expect("schedule");
    let task = app
        .task_create(TaskForm {
            title: "Call".into(),
            contact_id: c.id.clone(),
            ..Default::default()
        })
        .expect("task");
    let note = app.contact_log(&c.id, "note", "met").expect("note");
    let json = |v: serde_json::Value| v.as_object().cloned().expect("an object");
    let shown: [(
        &schema::Table,
        serde_json::Map<String, serde_json::Value>,
        &[&str],
    ); 5] = [
        (
            &schema::CONTACTS,
            json(serde_json::to_value(&c).expect("json")),
            // The old system's id is kept for re-imports, not shown.
            &["external_id"],
        ),
        (
            &schema::POLICIES,
            json(serde_json::to_value(&p).expect("json")),
            &[],
        ),
        (
            &schema::PAYMENTS,
            json(serde_json::to_value(&payments[0]).expect("json")),
            &[],
        ),
        (
            &schema::TASKS,
            json(serde_json::to_value(&task).expect("json")),
            &[],
        ),
        (
            &schema::ACTIVITIES,
            json(serde_json::to_value(&note).expect("json")),
            // A timeline is always read as its contact's.
            &["contact_id"],
        ),
    ];
    for (table, dto, left_out) in shown {
        for f in table.fields {
            let carried = if f.label.is_some() {
                // Set or not, a detail travels in `details` by name; the
                // form and page take the list from `meta`.
                app.meta()
                    .expect("meta")
                    .contact_details
                    .iter()
                    .any(|d| d.name == f.name)
            } else {
                dto.contains_key(f.name)
            };
            assert!(
                carried || left_out.contains(&f.name),
                "{}.{} is declared but its DTO does not carry it",
                table.name,
                f.name
            );
        }
    }
}
