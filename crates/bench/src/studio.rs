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
    { "field": "source", "op": "is", "value": "Referral" },
    { "field": "stage", "op": "is_one_of", "value": ["prospect", "client"] }
  ],
  "actions": [
    { "kind": "create_task", "title": "Call back {first_name}", "due_in_days": 1, "for_owner": true },
    { "kind": "add_tag", "tag": "web-lead" }
  ]
}"#;

/// Run the Studio benchmark with `rows` contacts.
pub fn run(rows: usize) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut o = std::io::stdout().lock();
    writeln!(o, "studio benchmark ({rows} contacts)")?;
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
