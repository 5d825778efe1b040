//! Each target: its corpus replayed, then mutated inputs within the budget
//! (`CRM_FUZZ_CASES`, default 200 each; `CRM_FUZZ_SECONDS` for long runs).

crm_plugins::counting_allocator!();

use crm_fuzz::{fuzz, fuzz_in, targets, Budget};

/// The driver itself: a target that fails on inputs holding `{` (one of the
/// tokens mutations insert) is caught, and the input is saved into the
/// corpus, where the next replay fails on it.
#[test]
fn the_driver_finds_a_planted_bug_and_keeps_the_input() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("seed"), b"hello").expect("seed");
    let planted = |data: &[u8]| assert!(!data.contains(&b'{'), "planted bug");
    let budget = Budget {
        cases: 2_000,
        seconds: None,
    };
    let caught = std::panic::catch_unwind(|| fuzz_in(dir.path(), "planted", budget, &planted));
    let message = caught
        .err()
        .and_then(|e| e.downcast_ref::<String>().cloned())
        .expect("the planted bug is found");
    assert!(message.contains("saved as"), "{message}");
    let crash = crm_fuzz::corpus_in(dir.path())
        .into_iter()
        .find(|(name, _)| name.starts_with("crash-"))
        .expect("the input is kept");
    assert!(crash.1.contains(&b'{'));
    let replay = std::panic::catch_unwind(|| fuzz_in(dir.path(), "planted", budget, &planted));
    assert!(replay.is_err(), "the kept input fails the replay");
}

#[test]
fn manifest_parser() {
    fuzz("manifest", Budget::from_env(), &targets::manifest);
}

#[test]
fn package_reader() {
    fuzz("package", Budget::from_env(), &targets::package);
}

#[test]
fn script_compiler() {
    fuzz("script", Budget::from_env(), &targets::script);
}

#[test]
fn csv_import() {
    fuzz("csv", Budget::from_env(), &targets::csv_import);
}

#[test]
fn push_body() {
    // The seeds must be accepted as they are: mutations of them then reach
    // the merge, not only the body's validation.
    for (file, seed) in crm_fuzz::corpus_in(&crm_fuzz::corpus_dir("push")) {
        if !file.starts_with("crash-") {
            let (status, body) = targets::push_status(&seed);
            assert_eq!(status, 200, "seed {file}: {body}");
        }
    }
    fuzz("push", Budget::from_env(), &targets::push);
}

#[test]
fn pull_query() {
    fuzz("pull", Budget::from_env(), &targets::pull);
}
