//! `crm-bench plugins`: the plugin runtime's overhead and the lead-scoring
//! template against the same logic in native Rust, in the same run, on
//! byte-identical copies of the same encrypted database.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crm_core::import::{ImportControl, ImportOptions};
use crm_core::{Contact, ContactQuery, DbKey, Store};
use crm_plugins::runtime::Runtime;
use crm_plugins::{Limits, Sandbox};

/// The lead-scoring template's rules, in Rust (keep in step with
/// `scripts-templates/lead-scoring/main.rhai`).
fn native_score(c: &Contact, senior: &[&str], hot: &str) -> i64 {
    let mut s = 0;
    if !c.emails.is_empty() {
        s += 20;
    }
    if !c.phones.is_empty() {
        s += 20;
    }
    if c.company_name.is_some() {
        s += 15;
    }
    if let Some(t) = c.details.get("job_title") {
        let t = t.to_lowercase();
        if senior.iter().any(|w| !w.is_empty() && t.contains(w)) {
            s += 15;
        }
    }
    if c.details
        .get("source")
        .is_some_and(|s| s.eq_ignore_ascii_case("referral"))
    {
        s += 10;
    }
    if c.tags.iter().any(|t| t == hot) {
        s += 15;
    }
    if c.details.get("address_line1").is_some() || c.details.get("postcode").is_some() {
        s += 5;
    }
    s.min(100)
}

fn native_score_all(store: &mut Store) -> Result<usize> {
    let senior: Vec<&str> = "owner,director,manager,head,founder,partner"
        .split(',')
        .collect();
    let mut after = None;
    let mut scored = 0;
    loop {
        let page = store.scan_contacts(after, 200)?;
        if page.is_empty() {
            break;
        }
        let mut changes = Vec::new();
        for c in &page {
            let s = native_score(c, &senior, "hot");
            if c.custom
                .get("lead_score")
                .and_then(|v| v.parse::<i64>().ok())
                != Some(s)
            {
                changes.push((c.id, vec![("lead_score".to_string(), Some(s.to_string()))]));
            }
        }
        if !changes.is_empty() {
            store.set_contacts_custom(&changes)?;
        }
        scored += page.len();
        after = page.last().map(|c| c.id);
    }
    Ok(scored)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Run the plugin benchmark with `rows` contacts.
pub fn run(rows: usize) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut o = std::io::stdout().lock();
    writeln!(o, "plugin benchmark")?;

    // 1. One empty hook invocation: the sandbox's own overhead (worker
    //    hand-off, cached AST, limits, context), with an event argument.
    let sb = Sandbox::new(Limits::default());
    let src = "fn on_event(event) { }";
    let event = rhai::serde::to_dynamic(serde_json::json!({
        "name": "contact.created", "table": "contacts", "row_id": "0190a0a0-0000-7000-8000-000000000000",
        "action": "created", "actor": {"kind": "user", "user": "u"}, "fields": ["first_name"]
    }))?;
    for _ in 0..500 {
        sb.call(src, "on_event", vec![event.clone()], Default::default())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let n = 20_000;
    let mut each = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        sb.call(src, "on_event", vec![event.clone()], Default::default())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        each.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mean = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let p50 = percentile(&mut each, 0.5);
    let p99 = percentile(&mut each, 0.99);
    // Baseline in the same run: a native boxed callback with the same argument.
    let native: Box<dyn Fn(&rhai::Dynamic) -> usize> = Box::new(|e| e.is_map() as usize);
    let t = Instant::now();
    let mut sink = 0;
    for _ in 0..n {
        sink += native(std::hint::black_box(&event));
    }
    let native_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    writeln!(
        o,
        "  empty hook invocation: mean {mean:.1} us, p50 {p50:.1} us, p99 {p99:.1} us  (native callback {native_us:.3} us; {sink} calls)"
    )?;

    // 2. Lead scoring over `rows` contacts: template vs native Rust.
    let csv = tmp.path().join("contacts.csv");
    crate::generate(&csv, rows)?;
    let key = DbKey::random();
    let a = tmp.path().join("rhai.db");
    {
        let mut s = Store::open_path(&a, Some(&key), true)?;
        s.import_contacts(
            &csv,
            &ImportOptions::default(),
            &ImportControl::new(),
            &mut |_| {},
        )?;
        if s.count_contacts()? != rows as i64 {
            bail!("setup: expected {rows} contacts");
        }
        let dir = tmp.path().join("lead-scoring");
        crm_plugins::templates::create("lead-scoring", &dir).map_err(|e| anyhow::anyhow!(e))?;
        let m = crm_plugins::lifecycle::install(&mut s, &dir, true)?;
        // One run for the whole book (the template works in batches of
        // `batch_size` to stay inside the default caps).
        let mut settings = serde_json::Map::new();
        settings.insert("batch_size".into(), serde_json::json!(rows + 1));
        s.set_plugin_settings(&m.id, &settings, &[])?;
        crm_plugins::lifecycle::enable(&mut s, &m.id, None)?;
    }
    let b = tmp.path().join("native.db");
    std::fs::copy(&a, &b).context("copy the database")?;

    let limits = Limits {
        max_operations: u64::MAX,
        max_rows_read: usize::MAX,
        max_writes: usize::MAX,
        max_memory: 1 << 30,
        timeout: Duration::from_secs(600),
        ..Default::default()
    };
    // For profiling one side: CRM_BENCH_ONLY=native skips the template.
    if std::env::var("CRM_BENCH_ONLY").as_deref() == Ok("native") {
        let mut native_store = Store::open_path(&b, Some(&key), false)?;
        let t = Instant::now();
        let scored = native_score_all(&mut native_store)?;
        writeln!(
            o,
            "  native only: {scored} in {:.2} s",
            t.elapsed().as_secs_f64()
        )?;
        return Ok(());
    }
    let store = Arc::new(Mutex::new(Store::open_path(&a, Some(&key), false)?));
    let rt = Runtime::new(store.clone(), limits)?;
    let t = Instant::now();
    let out = rt
        .run_action("local.lead-scoring", "score_all", None)?
        .into_output()?;
    let rhai_secs = t.elapsed().as_secs_f64();
    if out.value != serde_json::json!({ "scored": rows, "done": true }) {
        bail!("the template scored {} contacts, not {rows}", out.value);
    }
    let mut native_store = Store::open_path(&b, Some(&key), false)?;
    let t = Instant::now();
    let scored = native_score_all(&mut native_store)?;
    let native_secs = t.elapsed().as_secs_f64();
    if scored != rows {
        bail!("native scored {scored}, not {rows}");
    }
    // Both wrote the same scores.
    let probe = native_store.list_contacts(&ContactQuery {
        limit: Some(50),
        ..Default::default()
    })?;
    let s = store.lock().map_err(|_| anyhow::anyhow!("store"))?;
    for c in probe {
        let r = s.contact(c.id)?;
        if r.custom.get("lead_score") != c.custom.get("lead_score")
            || !r.custom.contains_key("lead_score")
        {
            bail!("template and native disagree on {}", c.id);
        }
    }
    let ratio = rhai_secs / native_secs;
    writeln!(
        o,
        "  lead scoring, {rows} contacts scored and written (SQLCipher):\n    template (Rhai): {rhai_secs:.2} s ({:.0} contacts/s), {} operations\n    native Rust    : {native_secs:.2} s ({:.0} contacts/s)\n    Rhai/native time ratio: {ratio:.2}",
        rows as f64 / rhai_secs,
        out.operations,
        rows as f64 / native_secs
    )?;
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    // The median: on a shared 2-core machine the mean carries other
    // processes' pauses.
    writeln!(
        o,
        "  target empty invocation <= 10 us (median): {}",
        verdict(p50 <= 10.0)
    )?;
    if rows == 100_000 {
        writeln!(
            o,
            "  target 100000 scored and written <= 3 s: {}",
            verdict(rhai_secs <= 3.0)
        )?;
    }
    writeln!(o, "  target ratio <= 5: {}", verdict(ratio <= 5.0))?;
    Ok(())
}
