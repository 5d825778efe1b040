//! `crm-bench studio`: a dry run of a wizard-made automation over every
//! contact, against the same runs done for real on a byte copy of the same
//! encrypted database, in the same process.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use crm_core::import::{ImportControl, ImportOptions};
use crm_core::{DbKey, Store};
use crm_plugins::dry_run::{self, DryRunOptions, DryTarget, Records};
use crm_plugins::runtime::Runtime;
use crm_plugins::{Limits, Sandbox};

/// The automation: the Studio's first end-to-end case.
const MODEL: &str = r#"{
  "version": 1,
  "name": "Web lead follow-up",
  "trigger": { "kind": "contact_created" },
  "match": "all",
  "conditions": [
    { "field": "source", "op": "is", "value": "Website" },
    { "field": "city", "op": "is", "value": "Leeds" }
  ],
  "actions": [
    { "kind": "create_task", "title": "Call back {first_name}", "due_in_days": 1, "for_owner": true },
    { "kind": "add_tag", "tag": "web-lead" }
  ]
}"#;

/// Keystroke to diagnostics, as the editor asks for them: a 500-line
/// script (the lead-scoring template's functions, repeated under new
/// names) checked with its manifest after each one-character edit.
fn diagnostics(o: &mut impl Write) -> Result<()> {
    let files = crm_plugins::templates::files("lead-scoring", "local.bench", "Bench")
        .map_err(|e| anyhow!(e))?;
    let text = |f: &str| -> Result<String> {
        String::from_utf8(files.get(f).cloned().context("template file")?).context("utf8")
    };
    let manifest = text("manifest.json")?;
    let base = text("main.rhai")?;
    let mut script = base.clone();
    let mut copy = 0;
    while script.lines().count() < 500 {
        copy += 1;
        script.push_str(&base.replace("fn ", &format!("fn v{copy}_")));
    }
    let lines = script.lines().count();
    let sandbox = Sandbox::new(Limits::default());
    // Warm the metadata the checks read once per process.
    let _ = crm_studio::editor::diagnose(&sandbox, &manifest, &script);
    let mut each = Vec::new();
    for i in 0..200 {
        let edited = format!("{script}// edit {i}\n");
        let t = Instant::now();
        let d = crm_studio::editor::diagnose(&sandbox, &manifest, &edited);
        each.push(t.elapsed().as_secs_f64() * 1000.0);
        if !d.is_empty() {
            bail!("the benchmark script has problems: {d:?}");
        }
    }
    each.sort_by(|a, b| a.total_cmp(b));
    let p50 = each[each.len() / 2];
    let p95 = each[(each.len() as f64 * 0.95) as usize - 1];
    writeln!(
        o,
        "  diagnostics of a {lines}-line script: p50 {p50:.2} ms, p95 {p95:.2} ms (target p95 <= 50 ms: {})",
        if p95 <= 50.0 { "ok" } else { "MISSED" }
    )?;
    Ok(())
}

/// Run the Studio benchmark with `rows` contacts.
pub fn run(rows: usize) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut o = std::io::stdout().lock();
    writeln!(o, "studio benchmark ({rows} contacts)")?;
    diagnostics(&mut o)?;
    let csv = tmp.path().join("contacts.csv");
    crate::generate(&csv, rows)?;
    let key = DbKey::random();
    let a = tmp.path().join("dry.db");
    let model = crm_studio::wizard::parse(MODEL).map_err(|e| anyhow!("{e}"))?;
    let g = crm_studio::wizard::build(&model).map_err(|e| anyhow!("{e}"))?;
    {
        let mut s = Store::open_path(&a, Some(&key), true)?;
        s.import_contacts(
            &csv,
            &ImportOptions::default(),
            &ImportControl::new(),
            &mut |_| {},
        )?;
        let dir = tmp.path().join("plugin");
        crm_studio::wizard::write_folder(&g, &dir).map_err(|e| anyhow!("{e}"))?;
        crm_plugins::lifecycle::install(&mut s, &dir, true)?;
    }
    let b = tmp.path().join("real.db");
    std::fs::copy(&a, &b).context("copy the database")?;
    let sandbox = Arc::new(Sandbox::new(Limits::default()));

    // The dry run: copy into memory, run per contact, diff.
    let store = Store::open_path(&a, Some(&key), false)?;
    let before = store.content_digest()?;
    let t = Instant::now();
    let report = dry_run::dry_run(
        &store,
        sandbox.clone(),
        &g.id,
        &DryTarget::Event {
            event: "contact.created".into(),
            records: Records::All,
        },
        DryRunOptions::default(),
        &mut |_, _| true,
    )?;
    let dry_secs = t.elapsed().as_secs_f64();
    if report.considered != rows || report.failed != 0 {
        bail!(
            "the dry run went through {} contacts ({} failed), not {rows}",
            report.considered,
            report.failed
        );
    }
    if store.content_digest()? != before {
        bail!("the dry run changed the profile");
    }

    // The same runs for real, on the copy.
    let mut real = Store::open_path(&b, Some(&key), false)?;
    crm_plugins::lifecycle::enable(&mut real, &g.id, None)?;
    let ids = real.live_ids(crm_core::Table::Contacts, usize::MAX)?;
    let user = real.identity().user_id.clone();
    let rt = Runtime::with_sandbox(Arc::new(Mutex::new(real)), sandbox)?;
    let t = Instant::now();
    let mut acted = 0;
    for id in ids {
        let e = crm_core::ChangeEvent {
            name: "contact.created".into(),
            table: crm_core::Table::Contacts,
            row_id: id,
            action: crm_core::store::Action::Created,
            actor: crm_core::Actor::User { user: user.clone() },
            fields: Vec::new(),
        };
        for r in rt.run_hooks(&g.id, &e)? {
            let out = r.into_output()?;
            if out.value.get("skipped").is_none() {
                acted += 1;
            }
        }
    }
    let real_secs = t.elapsed().as_secs_f64();
    if acted != report.would_change {
        bail!(
            "the dry run said {} would change; the real runs changed {acted}",
            report.would_change
        );
    }
    writeln!(
        o,
        "  dry run : {dry_secs:.2} s ({:.0} contacts/s), would change {} of {}\n  for real: {real_secs:.2} s ({:.0} contacts/s)\n  dry/real time ratio: {:.2}",
        rows as f64 / dry_secs,
        report.would_change,
        report.considered,
        rows as f64 / real_secs,
        dry_secs / real_secs
    )?;
    if rows == 10_000 {
        let verdict = if dry_secs <= 3.0 { "ok" } else { "MISSED" };
        writeln!(o, "  target dry run of 10000 contacts <= 3 s: {verdict}")?;
    }
    Ok(())
}
