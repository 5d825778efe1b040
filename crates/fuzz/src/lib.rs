//! Fuzzing on stable Rust, as long property-test runs.
//!
//! Each target is a function that takes any bytes and must neither panic
//! nor break an invariant. The driver ([`fuzz`]) first replays every file of
//! the target's committed corpus (`corpus/<target>/`: valid seeds and every
//! crash ever found), then feeds proptest-generated mutations of the seeds
//! (bit flips, byte and token insertions, deletions, duplications) for a
//! budget of cases or seconds. A failing input is shrunk by proptest, saved
//! into the corpus as `crash-<hash>` and reported: committed, it is a
//! regression test from then on.
//!
//! Budget: `CRM_FUZZ_CASES` (per target, default 200: the short run of
//! `make test`) or `CRM_FUZZ_SECONDS` (per target: `make fuzz`).

pub mod mutate;
pub mod targets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use sha2::{Digest, Sha256};

/// Where a target's corpus lives.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Every file of a corpus folder, sorted by name.
pub fn corpus_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no seeds", dir.display());
    files
}

/// How much fuzzing each target gets.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub cases: u32,
    pub seconds: Option<u64>,
}

impl Budget {
    pub fn from_env() -> Budget {
        let num = |name: &str| {
            std::env::var(name).ok().map(|v| {
                v.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
            })
        };
        Budget {
            cases: num("CRM_FUZZ_CASES").unwrap_or(200).min(u32::MAX as u64) as u32,
            seconds: num("CRM_FUZZ_SECONDS"),
        }
    }
}

/// Replay the corpus, then fuzz `target` within `budget`. Panics, naming the
/// saved input, when the target fails.
pub fn fuzz(name: &str, budget: Budget, target: &dyn Fn(&[u8])) {
    fuzz_in(&corpus_dir(name), name, budget, target)
}

/// [`fuzz`] over the corpus in `dir`.
pub fn fuzz_in(dir: &Path, name: &str, budget: Budget, target: &dyn Fn(&[u8])) {
    let seeds = corpus_in(dir);
    for (file, bytes) in &seeds {
        if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(bytes))) {
            panic!(
                "{name}: corpus file {file} fails: {}",
                panic_text(e.as_ref())
            );
        }
    }
    let strategy = (
        0..seeds.len(),
        vec((any::<u8>(), any::<u32>(), any::<u8>()), 0..16),
        vec(any::<u8>(), 0..48),
    );
    let started = Instant::now();
    let deadline = budget.seconds.map(|s| started + Duration::from_secs(s));
    let mut cases: u64 = 0;
    loop {
        let chunk = if deadline.is_some() {
            500
        } else {
            budget.cases
        };
        let mut runner = TestRunner::new(Config {
            cases: chunk,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |(seed, edits, extra)| {
            let input = mutate::apply(&seeds[seed].1, &edits, &extra);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)))
                .map_err(|e| TestCaseError::fail(panic_text(e.as_ref())))
        });
        cases += chunk as u64;
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, (seed, edits, extra))) => {
                let input = mutate::apply(&seeds[seed].1, &edits, &extra);
                let hash = hex::encode(&Sha256::digest(&input)[..8]);
                let path = dir.join(format!("crash-{hash}"));
                let _ = std::fs::write(&path, &input);
                panic!(
                    "{name}: an input fails ({why}); saved as {} — fix the bug and commit the file: it is a regression test from then on",
                    path.display()
                );
            }
            Err(TestError::Abort(why)) => panic!("{name}: fuzzing stopped: {why}"),
        }
        if deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
    }
    println!(
        "fuzz {name}: {} seeds replayed, {cases} mutated inputs in {:.1} s, no failure",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}
