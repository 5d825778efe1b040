//! The editor's checks: syntax at the right line from the sandbox's own
//! engine, host calls whose permission the manifest lacks (with the fix),
//! functions the manifest names that the script lacks (with the fix).

use crm_plugins::{Limits, Sandbox};
use crm_studio::editor::{diagnose, File};

const MANIFEST: &str = r#"{"id": "acme.t", "name": "T", "version": "1.0.0", "api_version": "^1", "author": "A",
  "permissions": ["contacts:read"],
  "actions": [{"id": "go", "label": "Go", "target": "contact", "function": "run_it"}]}"#;

fn sandbox() -> Sandbox {
    Sandbox::new(Limits::default())
}

#[test]
fn a_typo_is_reported_at_its_line_and_column() {
    let script = "fn run_it(id) {\n    let c = contacts::get(id);\n    let x = = 2;\n}\n";
    let d = diagnose(&sandbox(), MANIFEST, script);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].file, File::Script);
    assert_eq!(d[0].line, Some(3), "{d:?}");
    assert!(d[0].column.is_some());
}

#[test]
fn a_clean_plugin_has_nothing_to_say() {
    let script = "// contacts::update(x) in a comment is not a call\nfn run_it(id) {\n    let c = contacts::get(id);\n    log::info(\"tasks::create( in a string\");\n}\n";
    assert!(diagnose(&sandbox(), MANIFEST, script).is_empty());
}

#[test]
fn a_call_needing_an_undeclared_permission_is_flagged_and_fixed() {
    let script = "fn run_it(id) {\n    tasks::create(#{ title: \"x\" });\n    http::post(\"https://hooks.example.com/x?t=1\", #{});\n}\n";
    let d = diagnose(&sandbox(), MANIFEST, script);
    assert_eq!(d.len(), 2, "{d:?}");
    let task = d
        .iter()
        .find(|x| x.message.starts_with("tasks::create"))
        .expect("tasks");
    assert_eq!(
        (task.line, task.column, task.length),
        (Some(2), Some(5), 13)
    );
    let post = d
        .iter()
        .find(|x| x.message.starts_with("http::post"))
        .expect("http");
    assert_eq!(post.line, Some(3));
    let fix = post.fix.as_ref().expect("a fix");
    assert_eq!(fix.file, File::Manifest);
    let fixed: serde_json::Value = serde_json::from_str(&fix.text).expect("json");
    assert_eq!(
        fixed["permissions"],
        serde_json::json!(["contacts:read", "net:https://hooks.example.com"])
    );
    // Applying both fixes leaves nothing to say.
    let fixed = task.fix.as_ref().expect("task fix").text.clone();
    let d = diagnose(&sandbox(), &fixed, script);
    let fixed = d[0].fix.as_ref().expect("then the net fix").text.clone();
    assert!(diagnose(&sandbox(), &fixed, script).is_empty());
}

#[test]
fn a_function_the_manifest_names_but_the_script_lacks_gets_a_stub() {
    let script = "fn other() {}\n";
    let d = diagnose(&sandbox(), MANIFEST, script);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].path.as_deref(), Some("actions[0].function"));
    let fix = d[0].fix.as_ref().expect("fix");
    assert_eq!(fix.file, File::Script);
    assert!(fix.text.ends_with("fn run_it(id) {\n}\n"), "{}", fix.text);
    assert!(diagnose(&sandbox(), MANIFEST, &fix.text).is_empty());
}

#[test]
fn manifest_problems_name_their_path() {
    let bad = MANIFEST.replace(
        r#""actions""#,
        r#""hooks": [{"event": "contact.exploded", "function": "run_it"}], "actions""#,
    );
    let d = diagnose(&sandbox(), &bad, "fn run_it(id) {}");
    assert!(
        d.iter()
            .any(|x| x.file == File::Manifest && x.message.contains("contact.exploded")),
        "{d:?}"
    );
    let d = diagnose(&sandbox(), "{ not json", "fn run_it(id) {}");
    assert_eq!(d[0].file, File::Manifest);
    assert_eq!(d[0].line, Some(1));
}

#[test]
fn every_template_checks_clean() {
    for (name, _) in crm_plugins::templates::list() {
        let files = crm_plugins::templates::files(&name, "local.t", "T").expect("files");
        let text = |f: &str| String::from_utf8(files[f].clone()).expect("utf8");
        let d = diagnose(&sandbox(), &text("manifest.json"), &text("main.rhai"));
        assert!(d.is_empty(), "{name}: {d:?}");
    }
}
