//! `crm import contacts`: a CSV file into the profile, with progress, a
//! clean Ctrl-C and a report of what was (or would be) done.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use crm_core::import::{ImportControl, ImportOptions, ImportReport};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{Profile, CANCELLABLE, INTERRUPTED};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Import contacts (creates new ones, updates those with the same email).
    Contacts {
        /// The CSV file.
        file: PathBuf,
        /// Check and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Map a column: "CSV Column=field" (field, custom.NAME or ignore). Repeatable.
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        maps: Vec<String>,
        /// Also write the problems found to this CSV file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Rows per transaction.
        #[arg(long, default_value_t = crm_core::import::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `crm import …`.
pub fn run(profile: &mut Profile, cmd: ImportCmd) -> Result<()> {
    match cmd {
        ImportCmd::Contacts {
            file,
            dry_run,
            maps,
            report,
            batch_size,
            json,
        } => {
            let mut mappings = Vec::new();
            for m in &maps {
                let (c, f) = m
                    .rsplit_once('=')
                    .ok_or_else(|| anyhow!("--map {m:?}: expected \"CSV Column=field\""))?;
                mappings.push((c.to_string(), f.to_string()));
            }
            let store = profile.store()?;
            let control = ImportControl::new();
            let c2 = control.clone();
            // Ctrl-C cancels cleanly: the open batch rolls back.
            CANCELLABLE.store(true, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || loop {
                if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                    c2.cancel();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            });
            let bar = ProgressBar::new(std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:40}] {bytes}/{total_bytes} {msg} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let opts = ImportOptions {
                dry_run,
                mappings,
                batch_size,
            };
            // Off a terminal (logs, scripts, the crash-loop harness) the bar
            // is hidden: say instead what each committed batch brought.
            let lines = !dry_run && !std::io::stderr().is_terminal();
            let mut said = 0;
            let rep = store.import_contacts(&file, &opts, &control, &mut |p| {
                bar.set_length(p.total_bytes);
                bar.set_position(p.bytes_read);
                bar.set_message(format!("{} rows", p.rows));
                if lines && p.rows > said {
                    said = p.rows;
                    eprintln!("committed: {} rows", p.rows);
                }
            });
            bar.finish_and_clear();
            let rep = rep?;
            if let Some(path) = &report {
                rep.write_csv(path)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&rep)?);
            } else {
                print_import_report(&rep, report.as_deref());
            }
            if rep.cancelled {
                bail!("import cancelled after {} rows; run it again to continue (imported rows are updated, not duplicated)", rep.rows);
            }
        }
    }
    Ok(())
}

fn print_import_report(r: &ImportReport, report_file: Option<&Path>) {
    let verb = if r.dry_run { "would be " } else { "" };
    println!(
        "{}: {} rows ({}, delimiter {:?})",
        r.file.display(),
        r.rows,
        r.encoding,
        r.delimiter
    );
    for c in &r.columns {
        match &c.field {
            Some(f) => println!("  column {:?} → {f}", c.header),
            None => println!(
                "  column {:?} not imported (map it with --map \"{}=FIELD\")",
                c.header, c.header
            ),
        }
    }
    println!(
        "{verb}created {}, {verb}updated {}, unchanged {}, skipped {}, blank {}",
        r.created, r.updated, r.unchanged, r.skipped, r.blank
    );
    for p in r.problems.iter().take(20) {
        match &p.column {
            Some(c) => println!("  row {}, column {c:?}: {}", p.row, p.reason),
            None => println!("  row {}: {}", p.row, p.reason),
        }
    }
    if r.skipped > 20 {
        match report_file {
            Some(f) => println!("  … all problems are in {}", f.display()),
            None => println!(
                "  … and {} more (use --report FILE for all)",
                r.skipped - 20
            ),
        }
    }
    if r.possible_duplicate_count > 0 {
        println!(
            "possible duplicates (same phone or record id, different email): {}",
            r.possible_duplicate_count
        );
        for d in r.possible_duplicates.iter().take(10) {
            println!(
                "  row {}: {} and {} share {} {}",
                d.row, d.contact_id, d.other_contact_id, d.shared, d.value
            );
        }
    }
}
