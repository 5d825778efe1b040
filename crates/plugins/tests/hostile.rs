//! Hostile scripts: each is stopped with the right kind of error, within its
//! deadline, and the process and the store go on working afterwards.

crm_plugins::counting_allocator!();

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crm_plugins::{Context, ErrorKind, Limits, Sandbox};

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(3000),
        max_memory: 32 << 20,
        ..Default::default()
    }
}

/// Run `src`, expect `kind`, within the deadline plus slack.
fn check(sb: &Sandbox, src: &str, kind: ErrorKind) {
    check_any(sb, src, &[kind]);
}

/// Run `src`, expect one of `kinds` (where two guards may fire first).
fn check_any(sb: &Sandbox, src: &str, kinds: &[ErrorKind]) {
    let start = Instant::now();
    let err = sb
        .run(src, Context::default())
        .expect_err(&format!("script should fail: {src}"));
    let took = start.elapsed();
    assert!(kinds.contains(&err.kind), "{src}\n→ {err}");
    assert!(
        took < sb.limits().timeout + Duration::from_millis(1000),
        "{src} took {took:?}"
    );
    // The sandbox still works after every failure.
    let ok = sb
        .run("1 + 1", Context::default())
        .expect("sandbox survives");
    assert_eq!(ok.value, serde_json::json!(2));
}

#[test]
fn runaway_computation_is_stopped() {
    let sb = Sandbox::new(limits());
    for src in [
        "loop {}",
        "while true { let x = 1; }",
        "let i = 0; for x in 0..1_000_000_000 { i += x; } i",
        "fn f(n) { f(n + 1) } f(0)",
        "fn a(n) { b(n) } fn b(n) { a(n) } a(1)",
        "let f = |x| x; loop { f.call(1); }",
        "let s = \"\"; loop { s += \"a\"; }",
    ] {
        let err = sb.run(src, Context::default()).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Limit | ErrorKind::Timeout),
            "{src}: {err}"
        );
    }
}

#[test]
fn a_deadline_stops_slow_scripts_even_under_the_operation_limit() {
    let sb = Sandbox::new(Limits {
        timeout: Duration::from_millis(200),
        max_operations: u64::MAX / 2,
        ..limits()
    });
    check(
        &sb,
        "loop { let x = [1, 2, 3]; x.reverse(); }",
        ErrorKind::Timeout,
    );
    check(
        &sb,
        "let n = 0; while n >= 0 { n += 1 } n",
        ErrorKind::Timeout,
    );
}

#[test]
fn size_bombs_hit_limits() {
    let sb = Sandbox::new(limits());
    check(&sb, "let s = \"ab\"; loop { s += s; }", ErrorKind::Limit);
    check(
        &sb,
        "let s = \"x\"; s.pad(100_000_000, \"y\"); s",
        ErrorKind::Limit,
    );
    check(&sb, "let a = [1]; loop { a += a; }", ErrorKind::Limit);
    check(&sb, "let a = []; a.pad(10_000_000, 0); a", ErrorKind::Limit);
    check_any(
        &sb,
        "let m = #{}; for i in 0..1_000_000 { m[`k${i}`] = i; } m",
        &[ErrorKind::Limit, ErrorKind::Memory],
    );
    check(
        &sb,
        "let a = range(0, 100_000_000).collect(); a",
        ErrorKind::Runtime,
    );
}

#[test]
fn memory_held_across_many_values_hits_the_ceiling() {
    let sb = Sandbox::new(Limits {
        max_memory: 16 << 20,
        ..limits()
    });
    // Rhai caps the bytes inside one value, but not across values: 100
    // variables of 900 KB each stay under every size limit and together
    // exceed the ceiling.
    let mut src = String::from("let big = \"x\"; big.pad(900_000, \"x\");\n");
    for i in 0..100 {
        src.push_str(&format!("let v{i} = big + \"{i}\";\n"));
    }
    src.push_str("v99.len()");
    check(&sb, &src, ErrorKind::Memory);
    // The same script is fine under a large enough ceiling.
    let roomy = Sandbox::new(Limits {
        max_memory: 512 << 20,
        ..limits()
    });
    assert_eq!(
        roomy.run(&src, Context::default()).unwrap().value,
        serde_json::json!(900_002)
    );
}

#[test]
fn deep_nesting_at_parse_time_and_in_values() {
    let sb = Sandbox::new(limits());
    let deep_expr = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    check(&sb, &deep_expr, ErrorKind::Limit);
    let deep_blocks = format!("{}1{}", "{".repeat(5000), "}".repeat(5000));
    check(&sb, &deep_blocks, ErrorKind::Limit);
    let deep_array = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    check(&sb, &deep_array, ErrorKind::Limit);
    // Values nested at run time: serialisation of the result stays safe.
    let r = sb.run(
        "let a = [1]; for i in 0..40 { a = [a]; } a.len()",
        Context::default(),
    );
    assert_eq!(r.unwrap().value, serde_json::json!(1));
}

#[test]
fn eval_import_and_sleep_are_not_available() {
    let sb = Sandbox::new(limits());
    check(&sb, "eval(\"1 + 1\")", ErrorKind::Syntax);
    check(&sb, "import \"/etc/passwd\" as p; 1", ErrorKind::Limit);
    check(&sb, "sleep(10); 1", ErrorKind::Runtime);
    check(&sb, "let f = Fn(\"sleep\"); f.call(10)", ErrorKind::Runtime);
    check(
        &sb,
        "let f = Fn(\"eval\"); f.call(\"1\")",
        ErrorKind::Syntax,
    );
    check(&sb, "timestamp()", ErrorKind::Runtime);
}

#[test]
fn permissions_cannot_be_bypassed() {
    let sb = Sandbox::new(limits());
    check(&sb, "contacts::count()", ErrorKind::Permission);
    check(
        &sb,
        "let f = Fn(\"contacts::count\"); f.call()",
        ErrorKind::Runtime,
    );
    check(
        &sb,
        "let f = |x| contacts::list(x, 10); f.call(\"\")",
        ErrorKind::Permission,
    );
    check(&sb, "let f = contacts::get; 1", ErrorKind::Runtime);
    // Catching the refusal does not turn it into access.
    let out = sb
        .run(
            "let n = -1; try { n = contacts::count(); } catch (e) { } n",
            Context::default(),
        )
        .unwrap();
    assert_eq!(out.value, serde_json::json!(-1));
    // A caught refusal followed by another failure is that other failure.
    let err = sb
        .run(
            "try { contacts::count(); } catch (e) { } throw \"later\"",
            Context::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Runtime, "{err}");
    assert!(err.message.contains("later"), "{err}");
}

#[test]
fn output_floods_are_capped_and_syntax_errors_name_the_line() {
    let sb = Sandbox::new(Limits {
        max_output: 1000,
        ..limits()
    });
    let out = sb
        .run(
            "for i in 0..10_000 { print(`line ${i}`); } 7",
            Context::default(),
        )
        .unwrap();
    assert!(out.output_truncated);
    assert!(out.output.iter().map(String::len).sum::<usize>() <= 1000);
    assert_eq!(out.value, serde_json::json!(7));
    let err = sb.run("let x = ;\n", Context::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert!(err.message.contains("line 1"), "{}", err.message);
    let err = sb
        .run("throw \"custom failure\"", Context::default())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Runtime);
    assert!(err.message.contains("custom failure"));
}

#[test]
fn oversized_sources_are_refused_before_parsing() {
    let sb = Sandbox::new(Limits {
        max_source: 10_000,
        ..limits()
    });
    let big = "1;".repeat(10_000);
    check(&sb, &big, ErrorKind::Limit);
}

#[test]
fn granted_reads_work_and_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = crm_core::Store::create(
        tmp.path(),
        crm_core::KeyStoreChoice::Passphrase,
        &crm_core::FixedPassphrase(zeroize::Zeroizing::new("correct horse battery".into())),
    )
    .unwrap();
    for i in 0..30 {
        let mut d = crm_core::ContactDraft::default();
        d.set("first_name", &format!("P{i:02}")).unwrap();
        store.create_contact(&d).unwrap();
    }
    let store = Arc::new(Mutex::new(store));
    let sb = Sandbox::new(Limits {
        max_rows_read: 25,
        ..limits()
    });
    let ctx = || Context {
        grants: ["contacts:read".to_string()].into(),
        store: Some(store.clone()),
        ..Default::default()
    };
    let out = sb.run("contacts::count()", ctx()).unwrap();
    assert_eq!(out.value, serde_json::json!(30));
    let out = sb
        .run(
            "let l = contacts::list(\"P0\", 100); l.map(|c| c.display_name)",
            ctx(),
        )
        .unwrap();
    assert_eq!(out.value.as_array().unwrap().len(), 10);
    // 20 then 10 more: the second list is cut to the 5 left, then refused.
    let out = sb
        .run(
            "contacts::list(\"\", 20).len() + contacts::list(\"\", 10).len()",
            ctx(),
        )
        .unwrap();
    assert_eq!(out.value, serde_json::json!(25));
    let err = sb
        .run("contacts::list(\"\", 25); contacts::list(\"\", 1)", ctx())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Limit, "{err}");
    // Writing is not in the host API at all yet; the store is intact.
    assert_eq!(store.lock().unwrap().count_contacts().unwrap(), 30);
    assert_eq!(store.lock().unwrap().integrity_check().unwrap(), "ok");
}

/// A whole list longer than the rows an invocation may still read is a
/// cap error naming the list, never its first part passed off as the
/// whole; one that fits is given whole.
#[test]
fn a_whole_list_past_the_read_budget_is_refused_not_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = crm_core::Store::create(
        tmp.path(),
        crm_core::KeyStoreChoice::Passphrase,
        &crm_core::FixedPassphrase(zeroize::Zeroizing::new("correct horse battery".into())),
    )
    .unwrap();
    for i in 0..12 {
        store
            .create_task(&crm_core::TaskDraft {
                title: format!("T{i:02}"),
                ..Default::default()
            })
            .unwrap();
    }
    let store = Arc::new(Mutex::new(store));
    let ctx = || Context {
        grants: ["tasks:read".to_string()].into(),
        store: Some(store.clone()),
        ..Default::default()
    };
    let fits = Sandbox::new(Limits {
        max_rows_read: 12,
        ..limits()
    });
    let out = fits.run("tasks::list(\"all\").len()", ctx()).unwrap();
    assert_eq!(out.value, serde_json::json!(12));
    let short = Sandbox::new(Limits {
        max_rows_read: 10,
        ..limits()
    });
    let err = short.run("tasks::list(\"all\").len()", ctx()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Limit, "{err}");
    assert!(err.to_string().contains("the list of tasks"), "{err}");
}

#[test]
fn compiled_scripts_are_cached_and_the_cache_is_bounded() {
    let sb = Sandbox::new(limits());
    let a = sb.compile("let x = 1; x + 1").unwrap();
    let b = sb.compile("let x = 1; x + 1").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let c = sb.compile("let x = 1; x + 2").unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    // Filling the cache past its bound evicts; the script still compiles.
    for i in 0..crm_plugins::sandbox::MAX_CACHED_SCRIPTS {
        sb.compile(&format!("{i}")).unwrap();
    }
    let d = sb.compile("let x = 1; x + 1").unwrap();
    assert!(
        !Arc::ptr_eq(&a, &d),
        "the cache should have been cleared when full"
    );
}

#[test]
fn a_panicking_host_function_is_contained() {
    let sb = Sandbox::with_host(limits(), |e| {
        e.register_fn("boom", || -> i64 { panic!("host bug") });
    });
    check(&sb, "boom()", ErrorKind::Panic);
    check(&sb, "let f = Fn(\"boom\"); f.call()", ErrorKind::Panic);
}

#[test]
fn a_host_call_that_overruns_is_abandoned_a_second_after_the_deadline() {
    let sb = Sandbox::with_host(
        Limits {
            timeout: Duration::from_millis(300),
            ..limits()
        },
        |e| {
            e.register_fn("stall", || -> i64 {
                std::thread::sleep(Duration::from_secs(5));
                1
            });
        },
    );
    let start = Instant::now();
    let err = sb.run("stall()", Context::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1300) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_eq!(
        sb.run("2 * 21", Context::default()).unwrap().value,
        serde_json::json!(42)
    );
}

/// Every engine function that takes a callback, with `CB1` (one argument)
/// or `CB2` (two) standing for the callback.
const CALLBACK_CALLS: &[&str] = &[
    "a.for_each(CB1); a",
    "a.map(CB1)",
    "a.filter(CB1)",
    "a.find(CB1)",
    "a.find(CB1, 1)",
    "a.find_map(CB1)",
    "a.find_map(CB1, 1)",
    "a.some(CB1)",
    "a.all(CB1)",
    "a.index_of(CB1)",
    "a.index_of(CB1, 1)",
    "a.drain(CB1); a",
    "a.retain(CB1); a",
    "a.dedup(CB2); a",
    "a.reduce(CB2)",
    "a.reduce(CB2, 0)",
    "a.reduce_rev(CB2)",
    "a.reduce_rev(CB2, 0)",
    "a.sort(CB2); a",
    "a.sort_by(CB2); a",
    "a.order(CB2)",
    "a.order_by(CB2)",
    "m.map(CB2)",
    "m.filter(CB2)",
    "m.drain(CB2); m",
    "m.retain(CB2); m",
    "let f = CB1; f.call(1)",
    "try { a.sort(CB2) } catch { } a",
    "try { a.map(CB1) } catch { } a",
];

fn with_callback(call: &str, body: &str) -> String {
    let src = call
        .replace("CB1", &format!("|x| {{ {body} }}"))
        .replace("CB2", &format!("|x, y| {{ {body} }}"));
    format!("fn deep(n) {{ deep(n + 1) }} let a = [3, 2, 1, 3]; let m = #{{a: 1, b: 2}}; {src}")
}

#[test]
fn a_limit_hit_inside_any_callback_fails_the_invocation() {
    // Operations: the callback loops, the deadline is far.
    let ops = Sandbox::new(Limits {
        max_operations: 200_000,
        timeout: Duration::from_secs(30),
        ..limits()
    });
    // The deadline: operations are plenty.
    let clock = Sandbox::new(Limits {
        max_operations: u64::MAX / 2,
        timeout: Duration::from_millis(300),
        ..limits()
    });
    // Memory: the callback hoards.
    let memory = Sandbox::new(Limits {
        max_memory: 2 << 20,
        ..limits()
    });
    for call in CALLBACK_CALLS {
        check(&ops, &with_callback(call, "loop { }"), ErrorKind::Limit);
        check(&clock, &with_callback(call, "loop { }"), ErrorKind::Timeout);
        check_any(
            &memory,
            &with_callback(call, "let v = 0; loop { let g = v; v = || g; }"),
            &[ErrorKind::Memory],
        );
        // Call depth and data size inside the callback fail the call that
        // took it (no engine function swallows them). A script's own
        // `try` may catch them: the bound held (nothing went deeper or
        // grew larger), unlike operations, time and memory, which are
        // spent once used.
        if call.starts_with("try") {
            continue;
        }
        check(&ops, &with_callback(call, "deep(0)"), ErrorKind::Limit);
        check(
            &ops,
            &with_callback(call, "let s = \"x\"; loop { s += s; }"),
            ErrorKind::Limit,
        );
    }
}
