//! Manifest validation: every rule broken once, each error naming its path.

use crm_plugins::{Limits, Manifest, Sandbox};
use serde_json::{json, Value};

fn good() -> Value {
    json!({
        "id": "acme.lead-scoring",
        "name": "Lead scoring",
        "version": "1.2.0",
        "api_version": "^1",
        "author": "Acme Ltd",
        "description": "Scores new prospects.",
        "permissions": ["contacts:read", "contacts:write", "net:https://api.example.com", "storage"],
        "hooks": [{"event": "contact.created", "function": "on_created"}],
        "actions": [{"id": "rescore", "label": "Re-score", "target": "contact", "function": "rescore"}],
        "schedules": [{"id": "nightly", "cron": "0 2 * * *", "function": "nightly"}],
        "settings": [{"key": "threshold", "label": "Threshold", "type": "integer", "default": 50}],
        "ui": {"widgets": [{"id": "top", "title": "Top prospects", "kind": "table", "function": "top"}]},
        "custom_fields": [{"entity": "contact", "name": "lead_score", "label": "Lead score", "type": "integer"}],
        "role_templates": [{"name": "Scorer", "permissions": ["contacts:read"]}],
        "dependencies": {"acme.base": "^2.1"}
    })
}

/// One broken rule: the edit, the path expected, words expected.
type Case = (Box<dyn FnOnce(&mut Value)>, &'static str, &'static str);

/// Apply `edit` to a good manifest and return the error paths and text.
fn errors(edit: impl FnOnce(&mut Value)) -> (Vec<String>, String) {
    let mut v = good();
    edit(&mut v);
    match Manifest::parse(&v.to_string()) {
        Ok(_) => (Vec::new(), String::new()),
        Err(errs) => (
            errs.iter().map(|e| e.path.clone()).collect(),
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}

#[test]
fn a_good_manifest_parses_with_defaults() {
    let m = Manifest::parse(&good().to_string()).unwrap();
    assert_eq!(m.entry, "main.rhai");
    assert_eq!(m.permissions.len(), 4);
}

#[test]
fn every_rule_names_its_json_path() {
    let cases: Vec<Case> = vec![
        (
            Box::new(|v| v["id"] = json!("Acme Scoring")),
            "id",
            "not a plugin id",
        ),
        (
            Box::new(|v| v["version"] = json!("1.2")),
            "version",
            "semantic version",
        ),
        (
            Box::new(|v| v["api_version"] = json!("^2")),
            "api_version",
            "provides 1.3.0",
        ),
        (
            Box::new(|v| v["api_version"] = json!("not a req")),
            "api_version",
            "requirement",
        ),
        (
            Box::new(|v| v["permissions"][1] = json!("contacts:delete")),
            "permissions[1]",
            "unknown permission",
        ),
        (
            Box::new(|v| v["permissions"][2] = json!("net:http://api.example.com")),
            "permissions[2]",
            "https",
        ),
        (
            Box::new(|v| v["permissions"][2] = json!("net:https://api.example.com/v1")),
            "permissions[2]",
            "origin only",
        ),
        (
            Box::new(|v| v["permissions"][2] = json!("net:https://*.example.com")),
            "permissions[2]",
            "origin only",
        ),
        (
            Box::new(|v| v["permissions"][2] = json!("net:https://user@example.com")),
            "permissions[2]",
            "origin only",
        ),
        (
            Box::new(|v| v["permissions"][3] = json!("contacts:read")),
            "permissions[3]",
            "listed twice",
        ),
        (
            Box::new(|v| v["hooks"][0]["event"] = json!("contact.exploded")),
            "hooks[0].event",
            "unknown event",
        ),
        (
            Box::new(|v| v["hooks"][0]["function"] = json!("on created")),
            "hooks[0].function",
            "function name",
        ),
        (
            Box::new(|v| v["schedules"][0]["cron"] = json!("0 25 * * *")),
            "schedules[0].cron",
            "cron",
        ),
        (
            Box::new(|v| v["schedules"][0]["cron"] = json!("* * * * * *")),
            "schedules[0].cron",
            "five fields",
        ),
        (
            Box::new(|v| v["schedules"][0]["id"] = json!("rescore")),
            "schedules[0].id",
            "used twice",
        ),
        (
            Box::new(|v| v["settings"][0]["default"] = json!("fifty")),
            "settings[0].default",
            "type",
        ),
        (
            Box::new(|v| v["ui"]["widgets"][0]["kind"] = json!("iframe")),
            "ui.widgets[0].kind",
            "not stat",
        ),
        (
            Box::new(|v| v["custom_fields"][0]["entity"] = json!("user")),
            "custom_fields[0].entity",
            "contact or policy",
        ),
        (
            Box::new(|v| v["role_templates"][0]["permissions"][0] = json!("root")),
            "role_templates[0].permissions[0]",
            "unknown permission",
        ),
        (
            Box::new(|v| v["dependencies"]["acme.base"] = json!("two")),
            "dependencies.acme.base",
            "requirement",
        ),
        (
            Box::new(|v| v["dependencies"]["acme.lead-scoring"] = json!("^1")),
            "dependencies.acme.lead-scoring",
            "itself",
        ),
        (
            Box::new(|v| v["entry"] = json!("../evil.rhai")),
            "entry",
            "own folder",
        ),
        // Shape and type errors come from serde, with the path.
        (
            Box::new(|v| v["actions"][0]["target"] = json!("spaceship")),
            "actions[0].target",
            "unknown variant",
        ),
        (
            Box::new(|v| v["permissions"] = json!("contacts:read")),
            "permissions",
            "invalid type",
        ),
        (
            Box::new(|v| v["surprise"] = json!(true)),
            "surprise",
            "unknown field",
        ),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("author");
            }),
            "$",
            "missing field `author`",
        ),
    ];
    for (edit, path, words) in cases {
        let (paths, text) = errors(edit);
        assert!(
            paths.iter().any(|p| p == path),
            "expected an error at {path}, got {paths:?}: {text}"
        );
        assert!(text.contains(words), "expected {words:?} in: {text}");
    }
}

#[test]
fn secrets_cannot_ship_defaults_and_oversized_manifests_are_refused() {
    let (paths, text) = errors(|v| {
        v["settings"] =
            json!([{"key": "api_key", "label": "Key", "type": "secret", "default": "sk-123"}])
    });
    assert_eq!(paths, ["settings[0].default"], "{text}");
    let huge = format!("{{\"id\": \"{}\"}}", "a".repeat(300_000));
    let errs = Manifest::parse(&huge).unwrap_err();
    assert_eq!(errs[0].path, "$");
    let errs = Manifest::parse("{ not json").unwrap_err();
    assert!(errs[0].reason.contains("line 1"), "{:?}", errs[0]);
}

#[test]
fn the_published_schema_is_generated_from_the_types_and_current() {
    let generated = serde_json::to_string_pretty(&Manifest::json_schema()).unwrap() + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/plugin-manifest.schema.json"
    );
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        committed, generated,
        "schemas/plugin-manifest.schema.json is stale: run `UPDATE_SCHEMAS=1 cargo test -p crm-plugins --test manifest`"
    );
    let schema: Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(schema["additionalProperties"], json!(false));
    assert!(schema["required"]
        .as_array()
        .unwrap()
        .contains(&json!("api_version")));
}

#[test]
fn a_plugin_folder_is_checked_against_its_script() {
    let tmp = tempfile::tempdir().unwrap();
    let sb = Sandbox::new(Limits::default());
    std::fs::write(tmp.path().join("manifest.json"), good().to_string()).unwrap();
    let err = crm_plugins::check::check_dir(tmp.path(), &sb).unwrap_err();
    assert!(err[0].contains("entry script is missing"), "{err:?}");
    std::fs::write(
        tmp.path().join("main.rhai"),
        "fn on_created(ev) { 1 }\nfn rescore(id) { 2 }\nfn nightly() { 3 }\n",
    )
    .unwrap();
    let err = crm_plugins::check::check_dir(tmp.path(), &sb).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains("ui.widgets[0].function") && err[0].contains("\"top\""),
        "{err:?}"
    );
    std::fs::write(
        tmp.path().join("main.rhai"),
        "fn on_created(ev) { 1 }\nfn rescore(id) { 2 }\nfn nightly() { 3 }\nfn top() { [] }\n",
    )
    .unwrap();
    let m = crm_plugins::check::check_dir(tmp.path(), &sb).unwrap();
    assert_eq!(m.id, "acme.lead-scoring");
    std::fs::write(tmp.path().join("main.rhai"), "fn top( {").unwrap();
    let err = crm_plugins::check::check_dir(tmp.path(), &sb).unwrap_err();
    assert!(err[0].contains("syntax error"), "{err:?}");
}

#[test]
fn manifest_text_cannot_carry_terminal_controls() {
    let evil = r#"{"id": "acme.evil", "name": "Evil\u001b]0;pwned\u0007", "version": "1.0.0",
        "api_version": "^1", "author": "A\u202egnp",
        "description": "Two lines\nare fine here",
        "settings": [{"key": "k", "label": "L\u009b31m", "type": "string"}]}"#;
    let problems = crm_plugins::Manifest::parse(evil).expect_err("refused");
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["$.author", "$.name", "$.settings[0].label"],
        "{problems:?}"
    );
    assert!(problems[0].to_string().contains("U+202E"), "{problems:?}");
    let fine = r#"{"id": "acme.fine", "name": "Fine", "version": "1.0.0", "api_version": "^1",
        "author": "A", "description": "Two lines\nare fine here"}"#;
    crm_plugins::Manifest::parse(fine).expect("a description may have line breaks");
}

/// Found by fuzzing: text after the closing brace was ignored, and because
/// the whole text was then not JSON, the control-character check was skipped
/// (a right-to-left override in the name got through).
#[test]
fn nothing_may_follow_the_manifest_and_hide_a_control_character() {
    let text = good().to_string();
    let e = Manifest::parse(&format!("{text} trailing")).unwrap_err();
    assert!(e[0].reason.contains("nothing may follow"), "{e:?}");
    let mut v = good();
    v["name"] = json!("\u{202E}Scoring");
    let e = Manifest::parse(&format!("{v}}}")).unwrap_err();
    assert_eq!(e[0].path, "$", "{e:?}");
    let e = Manifest::parse(&v.to_string()).unwrap_err();
    assert!(e[0].reason.contains("U+202E"), "{e:?}");
}
