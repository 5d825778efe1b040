//! Benchmarks that report ratios against a baseline measured in the same run.
//!
//! `cargo run --release -p crm-bench -- import` imports generated contacts
//! (20 columns) through the real import path into SQLCipher and into plain
//! SQLite (the same bundled library, no key), each in its own child process
//! so each peak RSS is its own, and prints rows/second, the ratio and the
//! peak memory against the targets.
//!
//! `cargo run --release -p crm-bench -- plugins` measures one empty hook
//! invocation and the lead-scoring template over 100,000 contacts against
//! the same logic in native Rust (see `plugins.rs`).
//!
//! `cargo run --release -p crm-bench -- docs` measures the documents
//! library: retrieval quality on the labelled corpus, adding documents,
//! search at 100,000 passages and time to an answer's first token (see
//! `docs.rs`). It reads files in worker processes that are this
//! executable, hence `run_worker_if_asked` first in `main`.

crm_plugins::counting_allocator!();

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use crm_core::import::{ImportControl, ImportOptions};
use crm_core::{DbKey, Store};

mod compliance;
mod docs;
mod plugins;
mod studio;

const HEADERS: [&str; 20] = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone",
    "Company",
    "Job Title",
    "Street Address",
    "Address 2",
    "City",
    "State/Region",
    "Postal Code",
    "Country",
    "Lifecycle Stage",
    "Contact Owner",
    "Tags",
    "Lead Source",
    "Date of Birth",
    "Notes",
];

fn generate(path: &Path, rows: usize) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(std::fs::File::create(path)?));
    w.write_record(HEADERS)?;
    let stages = ["lead", "customer", "subscriber", "former customer"];
    let cities = [
        "Leeds",
        "York",
        "Bristol",
        "Manchester",
        "Köln",
        "Edinburgh",
    ];
    for i in 0..rows {
        let rec = [
            format!("HS-{i}"),
            format!("First{i}"),
            format!("Last{}", i * 7 % 100_003),
            format!("Person.{i}@Example{}.com", i % 97),
            format!("07911 {:06}", i % 1_000_000),
            format!("+44 20 7946 {:04}", i % 10_000),
            format!("Company {} Ltd", i % 5_000),
            "Account Manager".to_string(),
            format!("{} High Street", i % 300 + 1),
            format!("Flat {}", i % 20),
            cities[i % cities.len()].to_string(),
            "West Yorkshire".to_string(),
            format!("LS{} {}AB", i % 30 + 1, i % 9 + 1),
            "United Kingdom".to_string(),
            stages[i % stages.len()].to_string(),
            format!("agent{}", i % 12),
            "motor, home".to_string(),
            "Website".to_string(),
            format!("{:02}/{:02}/19{}", i % 28 + 1, i % 12 + 1, 50 + i % 50),
            format!("Note about contact {i}, renewal in spring"),
        ];
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Run one import in this process and print `rows secs peak_kb`.
fn child(mode: &str, csv: &Path, db: &Path) -> Result<()> {
    let key = DbKey::random();
    let key = match mode {
        "sqlcipher" => Some(&key),
        "plain" => None,
        other => bail!("unknown mode {other}"),
    };
    let mut store = Store::open_path(db, key, true)?;
    let opts = ImportOptions {
        mappings: vec![("Notes".into(), "custom.notes".into())],
        ..Default::default()
    };
    let start = Instant::now();
    let rep = store.import_contacts(csv, &opts, &ImportControl::new(), &mut |_| {})?;
    let secs = start.elapsed().as_secs_f64();
    if rep.skipped > 0 {
        bail!("benchmark rows were skipped: {:?}", rep.problems.first());
    }
    let n = store.count_contacts()?;
    println!("{} {secs} {}", n, peak_rss_kb());
    Ok(())
}

fn measure(exe: &Path, mode: &str, csv: &Path, dir: &Path) -> Result<(u64, f64, u64)> {
    let db = dir.join(format!("{mode}.db"));
    let out = Command::new(exe)
        .args(["child", mode])
        .arg(csv)
        .arg(&db)
        .output()
        .context("run benchmark child")?;
    if !out.status.success() {
        bail!(
            "{mode} run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let mut parts = text.split_whitespace();
    let rows: u64 = parts.next().context("rows")?.parse()?;
    let secs: f64 = parts.next().context("secs")?.parse()?;
    let kb: u64 = parts.next().context("rss")?.parse()?;
    Ok((rows, secs, kb))
}

fn main() -> Result<()> {
    // The documents benchmark's extraction workers are this executable:
    // started as one, it works and exits here, before any benchmark runs.
    crm_extract::run_worker_if_asked();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") => {
            let (mode, csv, db) = (&args[2], PathBuf::from(&args[3]), PathBuf::from(&args[4]));
            child(mode, &csv, &db)
        }
        Some("import") | None => {
            let rows: usize = match args.iter().position(|a| a == "--rows") {
                Some(i) => args.get(i + 1).context("--rows N")?.parse()?,
                None => 100_000,
            };
            if cfg!(debug_assertions) {
                eprintln!("warning: debug build; run with --release for meaningful figures");
            }
            let tmp = tempfile::tempdir()?;
            let csv = tmp.path().join("contacts.csv");
            generate(&csv, rows)?;
            let size = std::fs::metadata(&csv)?.len();
            println!(
                "import benchmark: {rows} contacts x 20 columns ({:.1} MB CSV)",
                size as f64 / 1e6
            );
            let exe = std::env::current_exe()?;
            // Alternate plain and SQLCipher on the same file, same machine,
            // same run, and take medians: single runs on a busy 2-core box
            // swing by 20%.
            let rounds: usize = match args.iter().position(|a| a == "--rounds") {
                Some(i) => args.get(i + 1).context("--rounds N")?.parse()?,
                None => 3,
            };
            let (mut plain, mut cipher) = (Vec::new(), Vec::new());
            let (mut pkb, mut ckb) = (0, 0);
            for round in 0..rounds.max(1) {
                for (mode, times, kb) in [
                    ("plain", &mut plain, &mut pkb),
                    ("sqlcipher", &mut cipher, &mut ckb),
                ] {
                    let dir = tmp.path().join(format!("{mode}-{round}"));
                    std::fs::create_dir_all(&dir)?;
                    let (n, secs, rss) = measure(&exe, mode, &csv, &dir)?;
                    if n != rows as u64 {
                        bail!("expected {rows} contacts in {mode}, got {n}");
                    }
                    times.push(secs);
                    *kb = (*kb).max(rss);
                }
            }
            let median = |v: &mut Vec<f64>| {
                v.sort_by(|a, b| a.total_cmp(b));
                v[v.len() / 2]
            };
            let (ps, cs) = (median(&mut plain), median(&mut cipher));
            println!("  (median of {} alternating runs each)", plain.len());
            let prate = rows as f64 / ps;
            let crate_ = rows as f64 / cs;
            let ratio = cs / ps;
            let mut o = std::io::stdout().lock();
            writeln!(
                o,
                "  plain SQLite : {prate:>9.0} rows/s  ({ps:.2} s)  peak RSS {:.0} MB",
                pkb as f64 / 1024.0
            )?;
            writeln!(
                o,
                "  SQLCipher    : {crate_:>9.0} rows/s  ({cs:.2} s)  peak RSS {:.0} MB",
                ckb as f64 / 1024.0
            )?;
            writeln!(o, "  SQLCipher/plain time ratio: {ratio:.2}")?;
            let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
            writeln!(
                o,
                "  target >= 50000 rows/s into SQLCipher: {}",
                verdict(crate_ >= 50_000.0)
            )?;
            writeln!(o, "  target ratio <= 1.3: {}", verdict(ratio <= 1.3))?;
            writeln!(
                o,
                "  target peak RSS <= 200 MB: {}",
                verdict(ckb.max(pkb) <= 200 * 1024)
            )?;
            Ok(())
        }
        Some("generate") => {
            // The benchmark's file on its own, for profiling single runs
            // (`crm-bench child sqlcipher FILE DB`).
            let path = PathBuf::from(args.get(2).context("generate FILE [--rows N]")?);
            let rows: usize = match args.iter().position(|a| a == "--rows") {
                Some(i) => args.get(i + 1).context("--rows N")?.parse()?,
                None => 100_000,
            };
            generate(&path, rows)
        }
        Some("plugins") => {
            let rows: usize = match args.iter().position(|a| a == "--rows") {
                Some(i) => args.get(i + 1).context("--rows N")?.parse()?,
                None => 100_000,
            };
            if cfg!(debug_assertions) {
                eprintln!("warning: debug build; run with --release for meaningful figures");
            }
            plugins::run(rows)
        }
        Some("studio") => {
            let rows: usize = match args.iter().position(|a| a == "--rows") {
                Some(i) => args.get(i + 1).context("--rows N")?.parse()?,
                None => 10_000,
            };
            if cfg!(debug_assertions) {
                eprintln!("warning: debug build; run with --release for meaningful figures");
            }
            studio::run(rows)
        }
        Some("compliance") => {
            if cfg!(debug_assertions) {
                eprintln!("warning: debug build; run with --release for meaningful figures");
            }
            compliance::run()
        }
        Some("docs") => {
            if cfg!(debug_assertions) {
                eprintln!("warning: debug build; run with --release for meaningful figures");
            }
            docs::run()
        }
        Some(other) => {
            bail!("unknown benchmark {other:?}; try `import [--rows N]`, `plugins [--rows N]`, `studio [--rows N]`, `docs`, `compliance` or `generate FILE [--rows N]`")
        }
    }
}
