//! The Studio through the app API: a wizard model saved as a plugin, a dry
//! run that changes nothing, switching it on for new records only or for
//! the matching ones too, and where each plugin's code comes from.

crm_plugins::counting_allocator!();

use std::collections::BTreeMap;

use crm_app::dto::*;
use crm_app::App;

const PASS: &str = "a long enough passphrase";

const WEB_LEAD: &str = r#"{"version": 1, "name": "Web lead follow-up",
  "trigger": {"kind": "contact_created"}, "match": "all",
  "conditions": [{"field": "source", "op": "is", "value": "web"},
                 {"field": "stage", "op": "is_one_of", "value": ["prospect"]}],
  "actions": [{"kind": "create_task", "title": "Call back {first_name}", "due_in_days": 1, "for_owner": true},
              {"kind": "add_tag", "tag": "web-lead"}]}"#;

fn open_app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::new(dir.path().join("profile"));
    app.profile_create(Some(PASS.into()), "GB")
        .expect("create profile");
    (dir, app)
}

fn contact(app: &App, first: &str, source: &str, stage: &str) -> String {
    let mut details = BTreeMap::new();
    details.insert("source".to_string(), source.to_string());
    app.contact_create(ContactForm {
        first_name: first.into(),
        stage: stage.into(),
        owner: "sam".into(),
        details,
        ..Default::default()
    })
    .expect("contact")
    .id
}

fn console(
    manifest: &str,
    script: &str,
    action: &str,
    record: &str,
) -> crm_app::studio_console::ConsoleRunArgs {
    crm_app::studio_console::ConsoleRunArgs {
        manifest: manifest.into(),
        script: script.into(),
        action: Some(action.into()),
        record: Some(record.into()),
        ..Default::default()
    }
}

fn tags(app: &App, id: &str) -> Vec<String> {
    app.contact_detail(id).expect("detail").contact.tags
}

#[test]
fn a_wizard_automation_is_tried_on_the_book_then_switched_on_for_new_contacts() {
    let (_d, app) = open_app();
    let web = contact(&app, "Ann", "web", "prospect");
    let phone = contact(&app, "Bob", "phone", "prospect");
    let client = contact(&app, "Cy", "web", "client");

    let preview = app.studio_preview(WEB_LEAD).expect("preview");
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    let perms: Vec<&str> = preview
        .permissions
        .iter()
        .map(|p| p.permission.as_str())
        .collect();
    assert_eq!(perms, ["contacts:read", "contacts:write", "tasks:write"]);
    assert!(preview.summary.starts_with("When a contact is created"));
    // The values the book holds are offered, most common first.
    assert_eq!(
        app.studio_field_values("source").expect("values"),
        ["web", "phone"]
    );

    let p = app.studio_save(WEB_LEAD, false).expect("saved");
    assert_eq!(p.origin, PluginOrigin::Studio);
    assert!(!p.enabled);
    assert!(
        app.studio_model(&p.id).expect("model").is_some(),
        "reopens in the wizard"
    );

    let mut seen = Vec::new();
    let dry = app
        .studio_dry_run(&p.id, &mut |x| seen.push((x.done, x.total)))
        .expect("dry run");
    assert_eq!((dry.considered, dry.would_change, dry.skipped), (3, 1, 2));
    assert_eq!(seen.last(), Some(&(3, 3)));
    let changed = &dry.results[0];
    assert_eq!(changed.record.as_deref(), Some(web.as_str()));
    assert_eq!(changed.name.as_deref(), Some("Ann"));
    assert!(changed
        .changes
        .iter()
        .any(|c| c.what == "task" && c.fields.iter().any(|f| f.after == "Call back Ann")));
    let why: Vec<String> = dry
        .results
        .iter()
        .filter(|r| r.outcome == "skipped")
        .filter_map(|r| r.reason.clone())
        .collect();
    assert!(
        why.iter().any(|w| w.contains("Source is \"phone\"")),
        "{why:?}"
    );
    assert!(
        why.iter().any(|w| w.contains("Stage is \"client\"")),
        "{why:?}"
    );
    // Nothing happened for real.
    assert!(app.tasks(TaskView::Open).expect("tasks").is_empty());
    assert!(tags(&app, &web).is_empty());

    // Only from now on: the existing contacts stay as they are.
    let grants = p.permissions.iter().map(|x| x.permission.clone()).collect();
    let on = app
        .studio_enable(&p.id, grants, false, &mut |_| {})
        .expect("enable");
    assert_eq!(on.applied, 0);
    assert!(on.plugin.enabled);
    assert!(tags(&app, &web).is_empty());
    let dee = contact(&app, "Dee", "web", "prospect");
    assert_eq!(tags(&app, &dee), ["web-lead"]);
    let tasks = app.tasks(TaskView::Open).expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].title, "Call back Dee");
    assert!(tags(&app, &phone).is_empty() && tags(&app, &client).is_empty());
}

#[test]
fn switching_on_can_apply_to_the_matching_records_now() {
    let (_d, app) = open_app();
    let web = contact(&app, "Ann", "web", "prospect");
    let phone = contact(&app, "Bob", "phone", "prospect");
    let p = app.studio_save(WEB_LEAD, false).expect("saved");
    let grants = p.permissions.iter().map(|x| x.permission.clone()).collect();
    let on = app
        .studio_enable(&p.id, grants, true, &mut |_| {})
        .expect("enable");
    assert_eq!((on.applied, on.failed), (1, 0));
    assert_eq!(tags(&app, &web), ["web-lead"]);
    assert!(tags(&app, &phone).is_empty());
}

#[test]
fn saving_again_upgrades_the_same_automation_and_a_bad_model_names_its_field() {
    let (_d, app) = open_app();
    let first = app.studio_save(WEB_LEAD, false).expect("saved");
    let changed = WEB_LEAD.replace("web-lead", "hot-lead");
    // A new automation may not take an existing one's name.
    let e = app.studio_save(&changed, false).expect_err("refused");
    assert_eq!(e.field.as_deref(), Some("name"));
    let second = app.studio_save(&changed, true).expect("saved again");
    assert_eq!(second.id, first.id);
    assert_eq!(second.version, "1.0.1");
    assert!(app
        .studio_model(&first.id)
        .expect("model")
        .is_some_and(|m| m.contains("hot-lead")));

    let bad = WEB_LEAD.replace(r#""due_in_days": 1"#, r#""due_in_days": -4"#);
    let e = app.studio_save(&bad, true).expect_err("refused");
    assert_eq!(e.field.as_deref(), Some("actions[0].due_in_days"), "{e:?}");
    let preview = app.studio_preview(&bad).expect("a preview still");
    assert_eq!(preview.problems[0].field, "actions[0].due_in_days");
}

#[test]
fn templates_say_they_ship_with_the_app_and_what_they_do() {
    let (_d, app) = open_app();
    let templates = app.plugin_templates().expect("templates");
    let renewals = templates
        .iter()
        .find(|t| t.name == "renewal-reminders")
        .expect("renewal reminders");
    assert_eq!(renewals.title, "Renewal reminders");
    assert!(
        renewals.runs.iter().any(|r| r == "Every day at 08:00"),
        "{:?}",
        renewals.runs
    );
    assert!(!renewals.may.is_empty());
    let p = app
        .plugin_install_template("renewal-reminders")
        .expect("install");
    assert_eq!(p.origin, PluginOrigin::App);
    assert_eq!(p.schedules, ["Every day at 08:00"]);
}

#[test]
fn the_code_editor_checks_runs_the_console_on_a_copy_and_saves() {
    let (_d, app) = open_app();
    let ann = contact(&app, "Ann", "web", "prospect");
    let src = app.studio_source("").expect("a new plugin's files");
    assert!(src.script.contains("fn hello"));
    let reference = app.studio_reference().expect("reference");
    assert!(reference.functions.iter().any(|f| f.module == "contacts"
        && f.name == "get"
        && f.permission.as_deref() == Some("contacts:read")));

    // A tag written from the console stays on the copy.
    let script = format!(
        "{}\nfn tag(id) {{ log::info(\"tagging\"); contacts::update(id, #{{ tags: [\"x\"] }}); 7 }}\n",
        src.script
    );
    let problems = app
        .studio_diagnose(&src.manifest, &script)
        .expect("diagnose");
    let fix = problems
        .iter()
        .find_map(|p| p.fix.clone())
        .expect("contacts:write is missing, with a fix");
    assert_eq!(fix.file, "manifest");
    let manifest = fix.text.replace(
        r#""actions": ["#,
        r#""actions": [{"id": "tag", "label": "Tag", "target": "contact", "function": "tag"}, "#,
    );
    assert!(app
        .studio_diagnose(&manifest, &script)
        .expect("diagnose")
        .is_empty());
    let out = app
        .studio_console(console(&manifest, &script, "tag", &ann))
        .expect("console");
    assert!(out.ok, "{:?}", out.error);
    assert!(!out.for_real);
    assert_eq!(out.value, "7");
    assert_eq!(out.logs, ["info: tagging"]);
    assert!(tags(&app, &ann).is_empty(), "the console changed nothing");

    // A runtime error names its line.
    let broken = script.replace("7 }", "throw \"no luck\"; }");
    let out = app
        .studio_console(console(&manifest, &broken, "tag", &ann))
        .expect("console");
    assert!(!out.ok);
    assert!(out.error.as_deref().is_some_and(|e| e.contains("no luck")));
    assert!(out.error_line.is_some(), "{:?}", out.error);

    // The plugin's own tests run against the code as edited: the blank
    // template's test passes, and one that expects too much fails with why.
    let results = app
        .studio_run_tests(&manifest, &script, src.tests.clone())
        .expect("tests");
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].passed, "{results:?}");
    let mut failing = src.tests.clone();
    failing.push(crm_app::studio_code::PluginFileDto {
        name: "tests/more.rhai".into(),
        text: "fn test_wrong() {\n    test::assert_eq(hello(), \"Hi\");\n}\n".into(),
    });
    let results = app
        .studio_run_tests(&manifest, &script, failing.clone())
        .expect("tests");
    let wrong = results
        .iter()
        .find(|r| r.name == "tests/more.rhai::test_wrong")
        .expect("the new test ran");
    assert!(!wrong.passed);
    assert!(
        wrong.failure.as_deref().is_some_and(|f| f.contains("Hi")),
        "{wrong:?}"
    );

    // Run for real, asked for explicitly: the tag is kept.
    let mut real = console(&manifest, &script, "tag", &ann);
    real.for_real = true;
    let out = app.studio_console(real).expect("console");
    assert!(out.ok && out.for_real, "{:?}", out.error);
    assert_eq!(tags(&app, &ann), ["x"]);

    let saved = app
        .studio_save_code(&manifest, &script, failing)
        .expect("saved");
    assert_eq!(saved.origin, PluginOrigin::Unsigned);
    assert!(!saved.enabled);
    assert!(app
        .studio_source(&saved.id)
        .expect("source")
        .script
        .contains("fn tag(id)"));
    let tests = app.studio_source(&saved.id).expect("source").tests;
    assert_eq!(tests.len(), 2, "the tests are saved with the plugin");
}

/// A plugin saved from the editor with two actions on a contact: one tags
/// it, one fails on its third line. Enabled with what it asks for.
fn tagger(app: &App) -> String {
    let manifest = r#"{"id": "local.tagger", "name": "Tagger", "version": "0.1.0", "api_version": "^1",
        "author": "Us", "description": "Tags contacts.",
        "permissions": ["contacts:read", "contacts:write"],
        "actions": [{"id": "tag", "label": "Tag them", "target": "contact", "function": "tag"},
                    {"id": "boom", "label": "Break", "target": "contact", "function": "boom"}]}"#;
    let script = "fn tag(id) {\n    contacts::update(id, #{ tags: [\"vip\"] });\n}\nfn boom(id) {\n    let x = 1;\n    throw \"no luck\";\n}\n";
    let p = app
        .studio_save_code(manifest, script, Vec::new())
        .expect("saved");
    app.plugin_enable(
        &p.id,
        p.permissions.iter().map(|x| x.permission.clone()).collect(),
    )
    .expect("enabled");
    p.id
}

#[test]
fn each_run_is_in_the_history_with_what_started_it_what_it_changed_and_its_error_line() {
    let (_d, app) = open_app();
    let ann = contact(&app, "Ann", "web", "prospect");
    let id = tagger(&app);
    app.plugin_run_action(&id, "tag", Some(ann.clone()))
        .expect("tag ran");
    assert!(app
        .plugin_run_action(&id, "boom", Some(ann.clone()))
        .is_err());
    // A change the person made meanwhile is not the plugin's.
    contact(&app, "Bob", "web", "prospect");

    let runs = app.plugin_runs(&id, 50).expect("history");
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (failed, tagged) = (&runs[0], &runs[1]);
    assert_eq!(tagged.started_by, "Someone pressed “Tag them”");
    assert_eq!(tagged.record.as_deref(), Some(ann.as_str()));
    assert_eq!(tagged.record_name.as_deref(), Some("Ann"));
    assert!(tagged.ok);
    assert_eq!(tagged.changes.len(), 1, "{:?}", tagged.changes);
    assert_eq!(tagged.changes[0].what, "contact");
    let field = tagged.changes[0]
        .fields
        .iter()
        .find(|f| f.field == "tags")
        .expect("the tags changed");
    assert_eq!(field.after, "vip");

    assert!(!failed.ok);
    assert!(failed.changes.is_empty());
    assert!(
        failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no luck")),
        "{:?}",
        failed.error
    );
    assert_eq!(failed.error_line, Some(6), "{:?}", failed.error);
}

#[test]
fn a_plugin_is_exported_signed_by_this_profiles_publisher_key_or_saved_as_a_folder() {
    let (dir, app) = open_app();
    let id = tagger(&app);
    let out = dir.path().join("tagger.crmplugin");
    let first = app
        .studio_export_package(&id, &out.display().to_string())
        .expect("exported");
    // No keyring in this test: the key is kept in the encrypted profile.
    assert_eq!(first.kept_in, "profile");
    let bytes = std::fs::read(&out).expect("package written");
    let key = crm_plugins::package::parse_public_key(&first.publisher_key).expect("a key");
    let pkg = crm_plugins::package::read_package(&bytes, &[key], false)
        .expect("verifies against the publisher key");
    assert!(pkg.files.contains_key("main.rhai"));
    let stranger = crm_plugins::package::generate_key().verifying_key();
    assert!(
        crm_plugins::package::read_package(&bytes, &[stranger], false).is_err(),
        "another key does not verify it"
    );
    let again = app
        .studio_export_package(&id, &out.display().to_string())
        .expect("exported again");
    assert_eq!(
        again.publisher_key, first.publisher_key,
        "one key per profile"
    );

    let folder = dir.path().join("tagger");
    let written = app
        .studio_save_folder(&id, &folder.display().to_string())
        .expect("saved as a folder");
    assert!(written.iter().any(|f| f == "manifest.json"));
    assert!(folder.join("main.rhai").is_file());
    let err = app
        .studio_save_folder(&id, &folder.display().to_string())
        .expect_err("a folder with files in it is refused");
    assert!(err.message.contains("not empty"), "{}", err.message);
}

#[test]
fn each_condition_shows_on_a_sample_contact_as_it_is_built() {
    let (_d, app) = open_app();
    let phone = contact(&app, "Bob", "phone", "prospect");
    let sample = app.studio_sample(WEB_LEAD, &phone).expect("sample");
    assert_eq!(sample.len(), 2);
    assert!(!sample[0].holds);
    assert_eq!(sample[0].seen, "\"phone\"");
    assert!(sample[1].holds);
    assert_eq!(sample[1].seen, "\"prospect\"");
    // Read permissions only: a sample never writes.
    assert!(tags(&app, &phone).is_empty());
    assert!(app.studio_sample(WEB_LEAD, "not-an-id").is_err());
}

#[test]
fn a_sample_can_be_a_policy_a_policy_in_arrears_or_an_overdue_task() {
    let (_d, app) = open_app();
    let ann = contact(&app, "Ann", "web", "client");
    let start = (chrono::Local::now().date_naive() - chrono::Days::new(70)).to_string();
    let p = app
        .policy_create(PolicyForm {
            contact_id: ann.clone(),
            policy_number: "MOT-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "motor".into(),
            premium: "40.00".into(),
            frequency: "monthly".into(),
            effective: start,
            ..Default::default()
        })
        .expect("policy");
    app.policy_schedule(&p.id)
        .expect("instalments, some overdue");
    let yesterday = (chrono::Local::now().date_naive() - chrono::Days::new(1)).to_string();
    let task = app
        .task_create(TaskForm {
            title: "Call Ann".into(),
            due: yesterday,
            contact_id: ann.clone(),
            ..Default::default()
        })
        .expect("task");

    let model = |trigger: &str, field: &str, value: &str| {
        format!(
            r#"{{"version": 1, "name": "s", "trigger": {trigger},
                "conditions": [{{"field": "{field}", "op": "is", "value": "{value}"}}],
                "actions": []}}"#
        )
    };
    for (trigger, field, value, id, name) in [
        (
            r#"{"kind": "policy_renewal_due", "days": 30}"#,
            "carrier",
            "aviva",
            p.id.clone(),
            "MOT-1 (Ann)",
        ),
        (
            r#"{"kind": "instalment_overdue", "days": 7}"#,
            "policy_number",
            "mot-1",
            p.id.clone(),
            "MOT-1 (Ann)",
        ),
        (
            r#"{"kind": "task_overdue"}"#,
            "title",
            "call ann",
            task.id.clone(),
            "Call Ann",
        ),
    ] {
        let m = model(trigger, field, value);
        let offered = app.studio_sample_records(&m).expect("records to sample");
        assert!(
            offered.iter().any(|r| r.id == id && r.name == name),
            "{trigger}: {offered:?}"
        );
        let sample = app.studio_sample(&m, &id).expect("sample");
        assert_eq!(sample.len(), 1, "{trigger}");
        assert!(sample[0].holds, "{trigger}: {:?}", sample[0]);
        let m = model(trigger, field, "something else");
        assert!(!app.studio_sample(&m, &id).expect("sample")[0].holds);
    }
    // A policy that is not in arrears cannot be an arrears sample.
    let m = model(
        r#"{"kind": "instalment_overdue", "days": 7}"#,
        "policy_number",
        "x",
    );
    assert!(app.studio_sample(&m, &ann).is_err());
}

#[test]
fn the_console_runs_a_hook_as_if_its_event_had_just_happened_to_the_chosen_record() {
    let (_d, app) = open_app();
    let ann = contact(&app, "Ann", "web", "prospect");
    let manifest = r#"{"id": "local.hooked", "name": "Hooked", "version": "0.1.0", "api_version": "^1",
        "author": "Us", "description": "Logs.", "permissions": ["contacts:read"],
        "hooks": [{"event": "contact.updated", "function": "on_update"}]}"#;
    let script = "fn on_update(event) {\n    let c = contacts::get(event.row_id);\n    log::info(event.name + \" \" + c.first_name);\n}\n";
    let out = app
        .studio_console(crm_app::studio_console::ConsoleRunArgs {
            manifest: manifest.into(),
            script: script.into(),
            event: Some("contact.updated".into()),
            record: Some(ann.clone()),
            ..Default::default()
        })
        .expect("console");
    assert!(out.ok, "{:?}", out.error);
    assert_eq!(out.logs, ["info: contact.updated Ann"]);
    // A hook the manifest does not declare, or no record, is refused by name.
    let err = app
        .studio_console(crm_app::studio_console::ConsoleRunArgs {
            manifest: manifest.into(),
            script: script.into(),
            event: Some("policy.created".into()),
            record: Some(ann.clone()),
            ..Default::default()
        })
        .expect_err("no such hook");
    assert_eq!(err.field.as_deref(), Some("event"));
    let err = app
        .studio_console(crm_app::studio_console::ConsoleRunArgs {
            manifest: manifest.into(),
            script: script.into(),
            event: Some("contact.updated".into()),
            ..Default::default()
        })
        .expect_err("no record");
    assert_eq!(err.field.as_deref(), Some("record"));
    let offered = app.studio_records("contact").expect("contacts");
    assert!(offered.iter().any(|r| r.id == ann && r.name == "Ann"));
    assert!(app.studio_records("nonsense").expect("none").is_empty());
}
