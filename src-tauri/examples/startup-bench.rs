//! `make bench-app`: the desktop app's start-up time to the first rendered
//! contacts list, and its memory, with 100,000 contacts, against the same
//! app on an empty profile measured in the same run (the baseline).
//!
//! The real app under Xvfb, launched through tauri-driver (as the
//! end-to-end tests do). Profiles are passphrase-protected (no keyring
//! here), so start-up is measured in two legs: launch → unlock screen
//! rendered, and unlock submitted → first contacts row rendered (this leg
//! includes deriving the key with Argon2id and opening the database). Their
//! sum is the time to first list, typing aside. RSS is the sum over the app
//! process and its children (the WebKit web and network processes), read
//! from /proc after the list is drawn and after a jump to its middle.
//!
//! `cargo run --release -p crm-desktop --example startup-bench [-- --rows N --rounds N]`

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Locator;

#[path = "../tests/support/driver.rs"]
mod driver;
#[path = "../tests/support/launch.rs"]
mod launch;
use driver::{app_memory_mib, start_xvfb, stop_driver, Memory};
use launch::{arg, median, sibling, start, wait_css};

const PASSPHRASE: &str = "benchmark passphrase";

/// Make a passphrase profile with `rows` generated contacts.
fn make_profile(dir: &Path, rows: usize) {
    let app = crm_app::App::new(dir.to_path_buf());
    app.profile_create(Some(PASSPHRASE.into()), "GB")
        .expect("create profile");
    if rows == 0 {
        return;
    }
    let csv = dir.with_extension("csv");
    let mut text = String::from("First Name,Last Name,Email,Phone,Company,City,Tags\n");
    let first = [
        "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo",
    ];
    let last = [
        "Hughes", "Patel", "Jones", "Smith", "Khan", "Evans", "Brown", "Wilson",
    ];
    for i in 0..rows {
        text.push_str(&format!(
            "{},{},person{i}@example.com,020 7{:03} {:04},Firm {} Ltd,Leeds,{}\n",
            first[i % first.len()],
            last[(i / 8) % last.len()],
            100 + (i / 10_000) % 900,
            i % 10_000,
            i % 997,
            if i % 3 == 0 { "hot" } else { "cold" }
        ));
    }
    std::fs::write(&csv, text).expect("write csv");
    let rep = app
        .import_run(
            &crm_app::dto::ImportArgs {
                path: csv.display().to_string(),
                mappings: Vec::new(),
                dry_run: false,
            },
            &mut |_| {},
        )
        .expect("import");
    assert_eq!(
        rep.created as usize,
        rows,
        "every generated row imported: {:?}",
        rep.problems.first()
    );
    let _ = std::fs::remove_file(csv);
}

struct Run {
    to_unlock_screen: f64,
    unlock_to_list: f64,
    mem: Memory,
}

/// The platform's floor: the blank-window example (same stack, empty
/// page), measured the same way once it has loaded.
async fn floor_run(display: &str, scratch: &Path) -> Memory {
    let (mut driver, _, c) = start(&sibling("examples/blank-window"), scratch, display).await;
    std::thread::sleep(Duration::from_millis(2000));
    let m = app_memory_mib(driver.id());
    let _ = c.close().await;
    stop_driver(&mut driver);
    m
}

async fn one_run(profile: &Path, display: &str, empty: bool) -> Run {
    let (mut driver, t0, c) = start(&sibling("crm-desktop"), profile, display).await;
    wait_css(&c, "[data-testid='unlock-passphrase']").await;
    let to_unlock_screen = t0.elapsed().as_secs_f64();
    c.execute("location.hash = '#/contacts'", vec![])
        .await
        .expect("route");
    let input = c
        .find(Locator::Css("[data-testid='unlock-passphrase']"))
        .await
        .expect("input");
    input.send_keys(PASSPHRASE).await.expect("type");
    let button = c
        .find(Locator::Css("[data-testid='unlock-submit']"))
        .await
        .expect("button");
    let t1 = Instant::now();
    button.click().await.expect("unlock");
    wait_css(
        &c,
        if empty {
            "[data-testid='contacts-empty']"
        } else {
            "[data-testid='contact-row']"
        },
    )
    .await;
    let unlock_to_list = t1.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    let at_top = app_memory_mib(driver.id());
    // Jump to the middle of the list and let the rows there load.
    let _ = c
        .execute(
            "const l = document.querySelector('.vlist, [role=listbox]'); if (l) { l.scrollTop = l.scrollHeight / 2; l.dispatchEvent(new Event('scroll')); }",
            vec![],
        )
        .await;
    std::thread::sleep(Duration::from_millis(1500));
    let in_middle = app_memory_mib(driver.id());
    let _ = c.close().await;
    stop_driver(&mut driver);
    Run {
        to_unlock_screen,
        unlock_to_list,
        mem: at_top.max(in_middle),
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rows = arg("--rows", 100_000);
    let rounds = arg("--rounds", 3).max(1);
    let tmp = tempfile::tempdir().expect("temp dir");
    let big = tmp.path().join("big");
    let empty = tmp.path().join("empty");
    eprintln!("making a profile with {rows} contacts…");
    make_profile(&big, rows);
    make_profile(&empty, 0);
    let (mut xvfb, display) = start_xvfb();
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let mut big_runs = Vec::new();
    let mut empty_runs = Vec::new();
    let mut floor_runs = Vec::new();
    let scratch = tmp.path().join("floor");
    // One warm-up launch (fills the OS page cache), then alternate.
    rt.block_on(one_run(&empty, &display, true));
    for r in 0..rounds {
        eprintln!("round {}/{rounds}", r + 1);
        empty_runs.push(rt.block_on(one_run(&empty, &display, true)));
        big_runs.push(rt.block_on(one_run(&big, &display, false)));
        floor_runs.push(rt.block_on(floor_run(&display, &scratch)));
    }
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let m = |runs: &[Run], f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    let first_list = |r: &Run| r.to_unlock_screen + r.unlock_to_list;
    println!("desktop app start-up and memory, median of {rounds} rounds ({rows} contacts vs an empty profile)");
    println!(
        "  launch → unlock screen:     {:>7.3} s   (empty: {:.3} s)",
        m(&big_runs, |r| r.to_unlock_screen),
        m(&empty_runs, |r| r.to_unlock_screen)
    );
    println!(
        "  unlock → first list row:    {:>7.3} s   (empty: {:.3} s, to the empty list)",
        m(&big_runs, |r| r.unlock_to_list),
        m(&empty_runs, |r| r.unlock_to_list)
    );
    let big_first = m(&big_runs, first_list);
    let empty_first = m(&empty_runs, first_list);
    println!(
        "  time to first list:         {:>7.3} s   (empty: {:.3} s; ratio {:.2})   target ≤ 1.5 s: {}",
        big_first,
        empty_first,
        big_first / empty_first,
        if big_first <= 1.5 { "met" } else { "MISSED" }
    );
    let mm = |runs: &[Memory], f: fn(&Memory) -> f64| median(runs.iter().map(f).collect());
    let big_mem: Vec<Memory> = big_runs.iter().map(|r| r.mem).collect();
    let empty_mem: Vec<Memory> = empty_runs.iter().map(|r| r.mem).collect();
    let rows_of = |label: &str, f: fn(&Memory) -> f64| {
        println!(
            "    {label:<26} {:>7.1} MiB   (empty: {:>6.1}; blank page: {:>6.1})",
            mm(&big_mem, f),
            mm(&empty_mem, f),
            mm(&floor_runs, f)
        );
    };
    println!("  memory (RSS, MiB), {rows} contacts vs an empty profile vs the blank-window floor:");
    rows_of("app process", |m| m.app);
    rows_of("WebKit web process", |m| m.web);
    rows_of("WebKit network process", |m| m.network);
    rows_of("app + web process", |m| m.app + m.web);
    let big_rss = mm(&big_mem, Memory::rss);
    let empty_rss = mm(&empty_mem, Memory::rss);
    let floor_rss = mm(&floor_runs, Memory::rss);
    println!(
        "  RSS, all three processes:   {:>7.1} MiB (empty: {:.1}, ratio {:.2}; blank page: {:.1}, ratio {:.2})   target ≤ 250 MB: {}",
        big_rss,
        empty_rss,
        big_rss / empty_rss,
        floor_rss,
        big_rss / floor_rss,
        if big_rss * 1.048_576 <= 250.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  above the blank page:       {:>7.1} MiB RSS is the app's own (UI bundle, Rust side, database, {rows} contacts)",
        big_rss - floor_rss
    );
    println!(
        "  PSS, all three processes:   {:>7.1} MiB (empty: {:.1}; blank page: {:.1})   (shared libraries counted once)",
        mm(&big_mem, |m| m.pss),
        mm(&empty_mem, |m| m.pss),
        mm(&floor_runs, |m| m.pss)
    );
}
