//! Running a plugin's own tests (`crm plugin test DIR`), and a local server
//! that speaks the OpenAI chat-completions protocol, so the real `ai` client
//! is exercised without reaching the internet.
//!
//! A plugin's tests are `tests/*.rhai` files. Each file gets a throwaway
//! encrypted profile with the plugin installed (developer mode) and enabled
//! with everything it asks for; every function named `test_*` in it is
//! called in turn, with the plugin's own script loaded, so a test calls the
//! plugin's hook and action functions directly. The `test` module adds
//! `test::assert(cond, message)`, `test::assert_eq(actual, expected)`,
//! fixtures written as the user whatever the plugin may do
//! (`test::contact(fields)`, `test::policy(fields)` with `schedule: true` to
//! lay out its premium instalments, `test::call_logged(contact_id)`),
//! `test::set_setting(key, value)` (for the rest of the test),
//! `test::event(name, row_id)` (an event map as hooks receive it),
//! `test::reminder(name, fields)` (a compliance reminder as hooks on
//! `training.expiring` and the like receive it), `test::staff(fields)` and
//! `test::training(fields)` (a staff record, a training record),
//! `test::ai_reply(text)` (what the stub model answers next) and
//! `test::ai_prompts()` (what it was asked).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, EvalAltResult, FuncRegistration, Module, Position};

use crate::runtime::Runtime;
use crate::sandbox::{Limits, Sandbox};

/// A local OpenAI-compatible endpoint answering with a set reply.
pub struct OpenAiStub {
    /// Base URL to configure as the AI endpoint (ends in `/v1`).
    pub endpoint: String,
    state: Arc<Mutex<StubState>>,
}

#[derive(Default)]
struct StubState {
    reply: String,
    status: u16,
    prompts: Vec<String>,
    auth: Vec<Option<String>>,
}

impl OpenAiStub {
    /// Start it on a free loopback port; it stops with the process.
    pub fn start() -> std::io::Result<OpenAiStub> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let endpoint = format!("http://{}/v1", listener.local_addr()?);
        let state = Arc::new(Mutex::new(StubState {
            reply: "ok".into(),
            status: 200,
            ..Default::default()
        }));
        let st = state.clone();
        std::thread::Builder::new()
            .name("openai-stub".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let st = st.clone();
                    std::thread::spawn(move || {
                        let _ = serve(conn, &st);
                    });
                }
            })?;
        Ok(OpenAiStub { endpoint, state })
    }

    /// What the model answers next.
    pub fn set_reply(&self, text: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.reply = text.to_string();
        }
    }

    /// Answer with this HTTP status (e.g. 500) instead of a completion.
    pub fn set_status(&self, status: u16) {
        if let Ok(mut s) = self.state.lock() {
            s.status = status;
        }
    }

    /// The user messages received so far.
    pub fn prompts(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.prompts.clone())
            .unwrap_or_default()
    }

    /// The `Authorization` headers received so far.
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.state
            .lock()
            .map(|s| s.auth.clone())
            .unwrap_or_default()
    }
}

fn serve(conn: std::net::TcpStream, state: &Mutex<StubState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path_ok = line.starts_with("POST ") && line.contains("/chat/completions");
    let mut length = 0usize;
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().unwrap_or(0);
            } else if k == "authorization" {
                auth = Some(v.trim().to_string());
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let prompt = req["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string();
    let (status, reply) = {
        let mut s = state
            .lock()
            .map_err(|_| std::io::Error::other("stub state poisoned"))?;
        s.prompts.push(prompt);
        s.auth.push(auth);
        (s.status, s.reply.clone())
    };
    let (status, out) = if !path_ok {
        (404, serde_json::json!({"error": {"message": "not found"}}))
    } else if status != 200 {
        (
            status,
            serde_json::json!({"error": {"message": "stub failure"}}),
        )
    } else {
        (
            200,
            serde_json::json!({
                "id": "chatcmpl-stub", "object": "chat.completion", "model": req["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply}}]
            }),
        )
    };
    let text = out.to_string();
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    )?;
    conn.flush()
}

/// One test's outcome.
#[derive(Debug)]
pub struct TestOutcome {
    /// `tests/FILE.rhai::test_name`.
    pub name: String,
    /// `None` when it passed, else why it failed.
    pub failure: Option<String>,
}

fn test_error(msg: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

fn test_module(stub: Arc<OpenAiStub>) -> Module {
    let mut m = Module::new();
    FuncRegistration::new("assert")
        .with_params_info(["condition: bool", "message: &str", "()"])
        .set_into_module(
            &mut m,
            |c: bool, msg: &str| -> Result<(), Box<EvalAltResult>> {
                if c {
                    Ok(())
                } else {
                    Err(test_error(format!("assertion failed: {msg}")))
                }
            },
        );
    FuncRegistration::new("assert_eq")
        .with_params_info(["actual: Dynamic", "expected: Dynamic", "()"])
        .set_into_module(
            &mut m,
            |a: Dynamic, b: Dynamic| -> Result<(), Box<EvalAltResult>> {
                let ja: serde_json::Value = rhai::serde::from_dynamic(&a).unwrap_or_default();
                let jb: serde_json::Value = rhai::serde::from_dynamic(&b).unwrap_or_default();
                if ja == jb {
                    Ok(())
                } else {
                    Err(test_error(format!("expected {jb}, got {ja}")))
                }
            },
        );
    FuncRegistration::new("event")
        .with_params_info(["name: &str", "row_id: &str", "Map"])
        .set_into_module(
            &mut m,
            |name: &str, id: &str| -> Result<Dynamic, Box<EvalAltResult>> {
                let table = match name.split('.').next().unwrap_or("") {
                    "contact" => "contacts",
                    "policy" => "policies",
                    "payment" => "payments",
                    "task" => "tasks",
                    _ => "activities",
                };
                let action = match name.rsplit('.').next().unwrap_or("") {
                    "deleted" => "deleted",
                    "updated" => "updated",
                    _ => "created",
                };
                // The contract's event shape (`contract::EVENT`).
                rhai::serde::to_dynamic(serde_json::json!({
                    "name": name, "table": table, "row_id": id, "action": action,
                    "actor": {"kind": "user", "user": "test"}, "fields": []
                }))
            },
        );
    FuncRegistration::new("reminder")
        .with_params_info(["name: &str", "fields: Map", "Map"])
        .set_into_module(
            &mut m,
            |name: &str, f: rhai::Map| -> Result<Dynamic, Box<EvalAltResult>> {
                if !crate::manifest::REMINDER_HOOKS.contains(&name) {
                    return Err(test_error(format!(
                        "test::reminder: {name:?} is not a reminder event; use one of: {}",
                        crate::manifest::REMINDER_HOOKS.join(", ")
                    )));
                }
                let text = |k: &str| f.get(k).map(crate::host::field_text);
                let date =
                    text("date").unwrap_or_else(|| crm_compliance::dates::today().to_string());
                // The contract's reminder shape (`contract::compliance::REMINDER`).
                rhai::serde::to_dynamic(serde_json::json!({
                    "name": name,
                    "staff_id": text("staff_id"),
                    "doc_id": text("doc_id"),
                    "course_id": text("course_id"),
                    "date": date,
                    "title": text("title").unwrap_or_else(|| name.to_string()),
                    "due": text("due").unwrap_or_else(|| date.clone()),
                    "task_id": text("task_id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
                    "key": text("key").unwrap_or_else(|| format!("test:{name}")),
                }))
            },
        );
    // Fixtures, written as the user (not the plugin): a test sets the scene
    // with them whatever the plugin was granted.
    FuncRegistration::new("staff")
        .with_params_info(["fields: Map", "Map"])
        .set_into_module(
            &mut m,
            |f: rhai::Map| -> Result<Dynamic, Box<EvalAltResult>> {
                fixture(|s| {
                    let text = |k: &str| {
                        f.get(k)
                            .map(crate::host::field_text)
                            .filter(|t| !t.is_empty())
                    };
                    let int = |k: &str| f.get(k).and_then(|v| v.as_int().ok());
                    let d = crm_compliance::staff::StaffDraft {
                        name: text("name").unwrap_or_else(|| "Test Carer".into()),
                        role: text("role").unwrap_or_else(|| "carer".into()),
                        team: text("team"),
                        manager_id: text("manager_id"),
                        start_date: text("start_date").unwrap_or_else(|| "2025-01-06".into()),
                        contract: text("contract"),
                        user_id: text("user_id"),
                        supervision_weeks: int("supervision_weeks"),
                        appraisal_months: int("appraisal_months"),
                        left_date: text("left_date"),
                    };
                    let st = crm_compliance::staff::create(s, &d).map_err(|e| e.to_string())?;
                    crate::contract::to_script(&st).map_err(|e| e.to_string())
                })
            },
        );
    FuncRegistration::new("training")
        .with_params_info(["fields: Map", "Map"])
        .set_into_module(
            &mut m,
            |f: rhai::Map| -> Result<Dynamic, Box<EvalAltResult>> {
                fixture(|s| {
                    let text = |k: &str| {
                        f.get(k)
                            .map(crate::host::field_text)
                            .filter(|t| !t.is_empty())
                    };
                    let d = crm_compliance::training::RecordDraft {
                        staff_id: text("staff_id").unwrap_or_default(),
                        course: text("course").unwrap_or_default(),
                        achieved: text("achieved").unwrap_or_default(),
                        expires: text("expires"),
                        provider: text("provider"),
                        evidence_id: None,
                    };
                    let today = crm_compliance::dates::today();
                    let r = crm_compliance::training::record(s, &d, None, today)
                        .map_err(|e| e.to_string())?;
                    crate::contract::to_script(&r).map_err(|e| e.to_string())
                })
            },
        );
    FuncRegistration::new("contact")
        .with_params_info(["fields: Map", "Map"])
        .set_into_module(
            &mut m,
            |fields: rhai::Map| -> Result<Dynamic, Box<EvalAltResult>> {
                fixture(|s| {
                    let mut d = crm_core::ContactDraft::default();
                    for (k, v) in &fields {
                        d.set(k, &crate::host::field_text(v))
                            .map_err(|e| e.to_string())?;
                    }
                    let c = s.create_contact(&d).map_err(|e| e.to_string())?;
                    crate::contract::to_script(&c).map_err(|e| e.to_string())
                })
            },
        );
    FuncRegistration::new("policy")
        .with_params_info(["fields: Map", "Map"])
        .set_into_module(
            &mut m,
            |f: rhai::Map| -> Result<Dynamic, Box<EvalAltResult>> {
                fixture(|s| {
                    let text = |k: &str| f.get(k).map(|v| v.to_string());
                    let contact_id = match text("contact_id") {
                        Some(c) => {
                            Some(crm_core::parse_id("contact", &c).map_err(|e| e.to_string())?)
                        }
                        None => None,
                    };
                    let d = crm_core::PolicyDraft {
                        contact_id,
                        policy_number: text("policy_number").unwrap_or_else(|| "POL-1".into()),
                        carrier: text("carrier").unwrap_or_else(|| "Carrier".into()),
                        line_of_business: text("line_of_business").unwrap_or_else(|| "home".into()),
                        premium: text("premium").unwrap_or_else(|| "10.00".into()),
                        currency: text("currency"),
                        frequency: text("frequency"),
                        effective: text("effective").unwrap_or_else(|| "2024-01-01".into()),
                        expiry: text("expiry"),
                        status: text("status"),
                    };
                    let p = s.create_policy(&d).map_err(|e| e.to_string())?;
                    if f.get("schedule")
                        .is_some_and(|v| v.as_bool().unwrap_or(false))
                    {
                        s.schedule_premiums(p.id).map_err(|e| e.to_string())?;
                    }
                    crate::contract::to_script(&p).map_err(|e| e.to_string())
                })
            },
        );
    FuncRegistration::new("call_logged")
        .with_params_info(["contact_id: &str", "()"])
        .set_into_module(&mut m, |id: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            fixture(|s| {
                let id = crm_core::parse_id("contact", id).map_err(|e| e.to_string())?;
                let a = s
                    .log_activity(id, crm_core::ActivityKind::Call, "test call")
                    .map_err(|e| e.to_string())?;
                crate::contract::to_script(&a).map_err(|e| e.to_string())
            })
        });
    FuncRegistration::new("set_setting")
        .with_params_info(["key: &str", "value: Dynamic", "()"])
        .set_into_module(
            &mut m,
            |k: &str, v: Dynamic| -> Result<(), Box<EvalAltResult>> {
                let v: serde_json::Value = rhai::serde::from_dynamic(&v)?;
                crate::host::with_inv(|inv| {
                    inv.ctx.settings.insert(k.to_string(), v);
                    Ok(())
                })
            },
        );
    let s = stub.clone();
    FuncRegistration::new("ai_reply")
        .with_params_info(["text: &str", "()"])
        .set_into_module(&mut m, move |t: &str| s.set_reply(t));
    let s = stub;
    FuncRegistration::new("ai_prompts")
        .with_params_info(["Array"])
        .set_into_module(&mut m, move || -> rhai::Array {
            s.prompts().into_iter().map(Dynamic::from).collect()
        });
    m
}

fn fixture(
    f: impl FnOnce(&mut crm_core::Store) -> Result<Dynamic, String>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let store = crate::host::with_inv(|inv| {
        inv.ctx
            .store
            .clone()
            .ok_or_else(|| test_error("no profile".into()))
    })?;
    let mut guard = store
        .lock()
        .map_err(|_| test_error("the store is unavailable".into()))?;
    f(&mut guard).map_err(|e| test_error(format!("fixture: {e}")))
}

/// The `test_*` functions a test script defines, in order.
fn test_functions(sandbox: &Sandbox, source: &str) -> Result<Vec<String>, String> {
    let ast = sandbox.compile(source).map_err(|e| e.to_string())?;
    Ok(ast
        .iter_functions()
        .filter(|f| f.name.starts_with("test_") && f.params.is_empty())
        .map(|f| f.name.to_string())
        .collect())
}

/// A throwaway encrypted profile with the plugin in `dir` installed
/// (developer mode) and enabled with everything it asks for, the AI
/// endpoint pointing at the stub; the runtime over it, the plugin's context
/// and its script.
fn fresh_runtime(
    dir: &Path,
    stub: &OpenAiStub,
    sandbox: Arc<Sandbox>,
) -> Result<(tempfile::TempDir, Runtime, crate::Context, String), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let pass: String = {
        use rand::Rng;
        let b: [u8; 16] = rand::thread_rng().gen();
        hex::encode(b)
    };
    let mut store = crm_core::Store::create(
        &tmp.path().join("profile"),
        crm_core::KeyStoreChoice::Passphrase,
        &crm_core::FixedPassphrase(zeroize::Zeroizing::new(pass)),
    )
    .map_err(|e| format!("throwaway profile: {e}"))?;
    store
        .set_setting("ai.endpoint", Some(&stub.endpoint))
        .map_err(|e| e.to_string())?;
    store
        .set_setting("ai.model", Some("stub"))
        .map_err(|e| e.to_string())?;
    let m = crate::lifecycle::install(&mut store, dir, true).map_err(|e| e.to_string())?;
    crate::lifecycle::enable(&mut store, &m.id, None).map_err(|e| e.to_string())?;
    let rt =
        Runtime::with_sandbox(Arc::new(Mutex::new(store)), sandbox).map_err(|e| e.to_string())?;
    let (ctx, main_src) = rt.context_for(&m.id).map_err(|e| e.to_string())?;
    Ok((tmp, rt, ctx, main_src))
}

/// Run the tests of the plugin in `dir`.
pub fn run_plugin_tests(dir: &Path) -> Result<Vec<TestOutcome>, String> {
    let tests_dir = dir.join("tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .map_err(|e| {
            format!(
                "{}: {e} (put test scripts in tests/NAME.rhai)",
                tests_dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no tests; add tests/NAME.rhai with functions named test_*",
            tests_dir.display()
        ));
    }
    let stub = Arc::new(OpenAiStub::start().map_err(|e| format!("cannot start the AI stub: {e}"))?);
    let st = stub.clone();
    let sandbox = Arc::new(Sandbox::with_host(Limits::default(), move |e| {
        e.register_static_module("test", test_module(st).into());
    }));
    let mut outcomes = Vec::new();
    for file in files {
        let rel = format!(
            "tests/{}",
            file.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let test_src = std::fs::read_to_string(&file).map_err(|e| format!("{rel}: {e}"))?;
        let names = test_functions(&sandbox, &test_src).map_err(|e| format!("{rel}: {e}"))?;
        if names.is_empty() {
            outcomes.push(TestOutcome {
                name: rel.clone(),
                failure: Some("defines no test_* functions".into()),
            });
        }
        for name in names {
            // Each test gets its own throwaway profile: tests cannot see
            // each other's records.
            let failure = match fresh_runtime(dir, &stub, sandbox.clone()) {
                Err(e) => Some(format!("setting up: {e}")),
                Ok((_tmp, rt, ctx, main_src)) => {
                    let source = format!("{main_src}\n{test_src}");
                    rt.sandbox()
                        .call(&source, &name, Vec::new(), ctx)
                        .err()
                        .map(|e| e.to_string())
                }
            };
            outcomes.push(TestOutcome {
                name: format!("{rel}::{name}"),
                failure,
            });
        }
    }
    Ok(outcomes)
}
