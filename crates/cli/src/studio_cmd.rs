//! `crm plugin dry-run` and `crm plugin wizard`: the Studio's work from the
//! terminal (what the app's Studio screen does, for power users and checks).

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use crm_core::Store;
use crm_plugins::dry_run::{self, DryRunOptions, DryRunReport, DryTarget, Outcome, Records};
use crm_plugins::Sandbox;

use crate::plugin_cmd::limits_of;

/// What `crm plugin dry-run` was asked.
pub struct DryRunArgs {
    pub id: String,
    pub action: Option<String>,
    pub event: Option<String>,
    pub record: Vec<String>,
    pub records: Option<String>,
    pub include_ai: bool,
    pub json: bool,
}

fn records_of(record: &[String], records: Option<&str>) -> Result<Records> {
    if !record.is_empty() {
        return Ok(Records::Ids(record.to_vec()));
    }
    match records.unwrap_or("all") {
        "all" => Ok(Records::All),
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Records::First(n)),
            _ => bail!("--records {n:?}: give all, or how many records (a whole number above 0)"),
        },
    }
}

/// `crm plugin dry-run ID ACTION|--event EVENT`.
pub fn dry_run(store: Store, a: DryRunArgs) -> Result<()> {
    let records = records_of(&a.record, a.records.as_deref())?;
    let target = match (a.action, a.event) {
        (Some(action), None) => DryTarget::Action { action, records },
        (None, Some(event)) => DryTarget::Event { event, records },
        _ => bail!("name an action, or an event with --event (e.g. --event contact.created)"),
    };
    let sandbox = Arc::new(Sandbox::new(limits_of(&store)?));
    let bar = (!a.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_message("dry run");
        bar
    });
    let report = dry_run::dry_run(
        &store,
        sandbox,
        &a.id,
        &target,
        DryRunOptions {
            include_ai: a.include_ai,
        },
        &mut |done, total| {
            if let Some(b) = &bar {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
            true
        },
    )
    .map_err(|e| anyhow!("{e}"))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if a.json {
        use std::io::Write;
        let text = serde_json::to_string_pretty(&report)?;
        // A reader that stops early (`| head`) is not an error.
        match writeln!(std::io::stdout().lock(), "{text}") {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &DryRunReport) {
    let kind = r.table.as_deref().unwrap_or("runs");
    if r.table.is_some() {
        println!(
            "{}: would change {} of {} {kind} ({} skipped, {} unchanged, {} failed) in {} ms; nothing was changed",
            r.plugin_id,
            r.would_change,
            r.considered,
            r.skipped,
            r.unchanged,
            r.failed,
            r.elapsed_ms
        );
    } else {
        println!(
            "{} {}: {} in {} ms; nothing was changed",
            r.plugin_id,
            r.trigger,
            if r.would_change > 0 {
                "would make changes"
            } else {
                "would change nothing"
            },
            r.elapsed_ms
        );
    }
    for res in &r.results {
        let who = res.record.as_deref().unwrap_or("(the run)");
        match res.outcome {
            Outcome::Changed => {
                println!("changed {who}");
                for c in &res.changes {
                    if c.action == "created" {
                        println!(
                            "  + new {} {}",
                            dry_run::noun(&c.table),
                            compact(&c.changes)
                        );
                        continue;
                    }
                    for (field, span) in &c.changes {
                        let (before, after) = (
                            span.get(0).cloned().unwrap_or_default(),
                            span.get(1).cloned().unwrap_or_default(),
                        );
                        println!("  {} {field}: {before} → {after}", dry_run::noun(&c.table));
                    }
                }
                for q in &res.requests {
                    println!(
                        "  would send {} {} {}",
                        q.method,
                        q.url,
                        q.body.as_deref().unwrap_or("")
                    );
                }
                for n in &res.notifications {
                    println!("  would show [{}] {}", n.level, n.message);
                }
            }
            Outcome::Skipped => println!("skipped {who}: {}", res.reason.as_deref().unwrap_or("")),
            Outcome::Failed => println!("failed {who}: {}", res.reason.as_deref().unwrap_or("")),
            Outcome::Unchanged => {}
        }
    }
    if r.truncated {
        println!(
            "(the first {} records are shown; --json gives the same)",
            dry_run::DETAIL_CAP
        );
    }
    if r.cancelled {
        println!("cancelled before the end");
    }
}

fn compact(fields: &serde_json::Map<String, serde_json::Value>) -> String {
    fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "tenant_id" | "deleted"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `crm plugin wizard SPEC.json -o DIR`.
pub fn wizard(spec: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(spec).map_err(|e| anyhow!("{}: {e}", spec.display()))?;
    let model = crm_studio::wizard::parse(&text).map_err(|e| anyhow!("{}: {e}", spec.display()))?;
    let g = crm_studio::wizard::build(&model).map_err(|e| anyhow!("{}:\n{e}", spec.display()))?;
    crm_studio::wizard::write_folder(&g, out).map_err(|e| anyhow!("{e}"))?;
    println!("made {} in {}", g.id, out.display());
    println!("{}", g.summary);
    println!("it will ask for: {}", g.permissions.join(", "));
    println!(
        "next: crm plugin install --dev {} && crm plugin dry-run {} …",
        out.display(),
        g.id
    );
    Ok(())
}
