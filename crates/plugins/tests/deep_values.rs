//! Values nested as deep as the limits allow: built, dropped, cloned,
//! compared, printed and returned, on the worker's stack. Each run ends
//! with a value or a limit error; none may overflow the stack (which would
//! abort this test process, not fail one test).
//!
//! Rhai bounds how deep evaluation goes, not how deep a value nests: these
//! scripts nest by closures capturing closures, curried function pointers,
//! arrays and maps holding closures, and plain arrays of arrays.

crm_plugins::counting_allocator!();

use std::time::Duration;

use crm_plugins::{Context, ErrorKind, Limits, Sandbox};

/// A smaller memory ceiling than the shipped one, so that the deepest
/// values come quickly; the worker's stack is sized from the ceiling
/// (`worker_stack`) whatever it is, so what holds here holds for any.
fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(10),
        max_operations: 50_000_000,
        max_memory: 16 << 20,
        ..Limits::default()
    }
}

/// Run `src`: a value, or an error of one of `kinds`.
fn survives(sb: &Sandbox, src: &str, kinds: &[ErrorKind]) -> Result<serde_json::Value, ErrorKind> {
    let r = sb.run(src, Context::default());
    match r {
        Ok(out) => Ok(out.value),
        Err(e) => {
            assert!(kinds.contains(&e.kind), "{src}\n→ {e}");
            Err(e.kind)
        }
    }
}

const STOPS: &[ErrorKind] = &[ErrorKind::Memory, ErrorKind::Limit, ErrorKind::Timeout];

#[test]
fn a_chain_of_closures_as_deep_as_memory_allows_is_dropped() {
    // The attack run's script, with the shipped limits: 200,000 closures
    // deep, then dropped.
    let v = survives(
        &Sandbox::new(Limits::default()),
        "let f = 0; for i in 0..200000 { let g = f; f = || g; } \"survived\"",
        STOPS,
    );
    assert_eq!(v, Ok(serde_json::json!("survived")));
    let sb = Sandbox::new(limits());
    // Until the memory ceiling stops it: the deepest chain there can be.
    let r = survives(
        &sb,
        "let f = 0; for i in 0..100000000 { let g = f; f = || g; } \"survived\"",
        STOPS,
    );
    assert_eq!(r, Err(ErrorKind::Memory));
    // Dropped in the middle of a script, which then goes on.
    let v = survives(
        &sb,
        "let f = 0; for i in 0..50000 { let g = f; f = || g; } f = 0; 40 + 2",
        STOPS,
    );
    assert_eq!(v, Ok(serde_json::json!(42)));
    assert_eq!(sb.run("1 + 1", Context::default()).unwrap().value, 2);
}

/// Builders of a deep value `v`, `N` levels deep.
const BUILDERS: &[&str] = &[
    // Closures capturing the previous one.
    "let v = 0; for i in 0..N { let g = v; v = || g; }",
    // Curried function pointers holding the previous one.
    "let v = Fn(\"x\"); for i in 0..N { let g = v; v = Fn(\"x\").curry(|| g); }",
    // Arrays and maps holding closures over the previous one.
    "let v = []; for i in 0..N { let p = v; v = [|| p]; }",
    "let v = #{}; for i in 0..N { let p = v; v = #{ next: || p }; }",
    // Closures capturing two of the previous (a shared tree).
    "let v = 0; for i in 0..N { let g = v; let h = v; v = || [g, h]; }",
    // Cloned on the way: passed by value through a function each time.
    "fn keep(x) { x } let v = 0; for i in 0..N { let g = v; v = keep(|| g); }",
];

/// What is then done with the deep value.
const USES: &[&str] = &[
    "1",
    "v",
    "print(v); debug(v); v.to_string(); type_of(v); 1",
    "let w = v; w == v",
    "[v, v].len()",
    "#{v: v}",
    "v = 0; 1",
];

/// The deepest `N` a builder reaches under the memory ceiling, to within
/// an eighth: doubled until the ceiling stops it, then halved in between.
fn deepest(sb: &Sandbox, builder: &str) -> u64 {
    let fits = |n: u64| -> bool {
        let src = format!("{} 1", builder.replace('N', &n.to_string()));
        match survives(sb, &src, STOPS) {
            Ok(_) => true,
            Err(ErrorKind::Memory) => false,
            Err(other) => panic!("{src}: stopped by {other:?} before the memory ceiling"),
        }
    };
    let (mut ok, mut too_deep) = (1_000u64, 2_000u64);
    while fits(too_deep) {
        ok = too_deep;
        too_deep *= 2;
    }
    for _ in 0..3 {
        let mid = (ok + too_deep) / 2;
        if fits(mid) {
            ok = mid
        } else {
            too_deep = mid
        }
    }
    ok
}

#[test]
fn the_deepest_values_of_every_kind_are_dropped_cloned_compared_and_shown() {
    let sb = Sandbox::new(limits());
    for builder in BUILDERS {
        let n = deepest(&sb, builder);
        assert!(n >= 16_000, "{builder}: only {n} deep");
        for used in USES {
            let src = format!("{} {used}", builder.replace('N', &n.to_string()));
            let _ = survives(
                &sb,
                &src,
                &[ErrorKind::Memory, ErrorKind::Limit, ErrorKind::Runtime],
            );
        }
        // And the process, the worker and the sandbox go on.
        assert_eq!(sb.run("1 + 1", Context::default()).unwrap().value, 2);
    }
}

#[test]
fn plain_nested_arrays_and_maps_stop_at_their_size_limits() {
    // Built by copying (values, not references): slow, so a short deadline.
    let sb = Sandbox::new(Limits {
        timeout: Duration::from_secs(3),
        ..limits()
    });
    for src in [
        "let a = []; for i in 0..100000000 { a = [a]; } 1",
        "let m = #{}; for i in 0..100000000 { m = #{ next: m }; } 1",
        "let a = []; for i in 0..5000 { a = [a]; } a == a",
        "let a = []; for i in 0..5000 { a = [a]; } print(a); a",
    ] {
        let _ = survives(
            &sb,
            src,
            &[ErrorKind::Memory, ErrorKind::Limit, ErrorKind::Timeout],
        );
        assert_eq!(sb.run("1 + 1", Context::default()).unwrap().value, 2);
    }
}

#[test]
fn a_deep_value_never_leaves_the_worker() {
    // A value that leaves the sandbox is printed and dropped by the caller,
    // whose thread may have a small stack: refused past 128 levels, on a
    // thread with the smallest stack Rust gives.
    let sb = Sandbox::new(limits());
    let caller = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || {
            let deep = sb
                .run(
                    "let a = []; for i in 0..3000 { a = [a]; } a",
                    Context::default(),
                )
                .expect_err("too deep to return");
            assert_eq!(deep.kind, ErrorKind::Limit, "{deep}");
            assert!(deep.message.contains("at most 128"), "{deep}");
            let ok = sb
                .run(
                    "let a = []; for i in 0..120 { a = [a]; } a",
                    Context::default(),
                )
                .expect("shallow enough");
            assert!(ok.value.is_array());
            let m = sb
                .run(
                    "let m = #{}; for i in 0..3000 { m = #{ n: m }; } m",
                    Context::default(),
                )
                .expect_err("too deep to return");
            assert_eq!(m.kind, ErrorKind::Limit, "{m}");
        })
        .unwrap();
    caller.join().expect("the caller's small stack held");
}

#[test]
fn recursion_through_callbacks_is_a_limit() {
    let sb = Sandbox::new(limits());
    for src in [
        "fn r(n) { [1].map(|x| r(n + 1)) } r(0)",
        "fn r(n) { [2, 1].sort(|a, b| { r(n + 1); a - b }) } r(0)",
        "let f = 0; f = |n| f.call(n + 1); f.call(0)",
        "fn r(n) { #{a: 1}.filter(|k, v| r(n + 1).len() > 0) } r(0)",
        "fn r(n) { [1].reduce(|s, x| r(n + 1), 0) } r(0)",
    ] {
        let _ = survives(&sb, src, &[ErrorKind::Limit, ErrorKind::Runtime]);
        assert_eq!(sb.run("1 + 1", Context::default()).unwrap().value, 2);
    }
}
