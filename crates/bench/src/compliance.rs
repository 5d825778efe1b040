//! `crm-bench compliance`: a care office of 300 staff, 40 courses and
//! 12,000 training records (with DBS checks, supervisions and 20 policies
//! assigned to read), on an encrypted profile. Measures the training
//! matrix (target: under 200 ms with the screen) against reading the same
//! 12,000 rows raw, and the evidence pack (target: under 5 s) against the
//! matrix.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{ensure, Result};
use crm_compliance::{checks, dates, pack, policies, readsign, training};
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use serde_json::json;

const STAFF: usize = 300;
const COURSES: usize = 40;
const POLICIES: usize = 20;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn timed(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms)
}

/// Run the benchmark.
pub fn run() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut store = Store::create(
        &tmp.path().join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("crm-bench compliance".into())),
    )?;
    let today = dates::today();
    let t = Instant::now();
    let office = build(&mut store, tmp.path(), today)?;
    eprintln!("office made in {:.1} s", t.elapsed().as_secs_f64());

    let m = training::matrix(&store, &Default::default(), today)?;
    ensure!(
        m.rows.len() == STAFF && m.courses.len() == COURSES,
        "the office is not {STAFF} by {COURSES}"
    );
    let raw = timed(20, || {
        let n = store.feature_read(|c| {
            let mut st = c.prepare(
                "SELECT staff_id, course_id, achieved, expires FROM compliance_training",
            )?;
            let mut rows = st.query([])?;
            let mut n = 0usize;
            while let Some(r) = rows.next()? {
                let _: (String, String, String, Option<String>) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                n += 1;
            }
            Ok(n)
        })?;
        ensure!(n == office.records, "read {n} rows");
        Ok(())
    })?;
    let matrix = timed(20, || {
        let m = training::matrix(&store, &Default::default(), today)?;
        ensure!(m.rows.len() == STAFF);
        Ok(())
    })?;
    let out = tmp.path().join("pack.pdf");
    let packs = timed(3, || {
        let w = pack::write(&mut store, &out, "Benchmark Care", today)?;
        ensure!(w.pack.staff == STAFF && std::fs::metadata(&w.pdf)?.len() > 0);
        Ok(())
    })?;
    let (raw50, m50, m95, p50) = (
        percentile(&raw, 0.5),
        percentile(&matrix, 0.5),
        percentile(&matrix, 0.95),
        percentile(&packs, 0.5),
    );
    println!("compliance benchmark: {STAFF} staff, {COURSES} courses, {} training records, {POLICIES} policies", office.records);
    println!("| measure | figure | against | target |");
    println!("|---|---|---|---|");
    println!(
        "| reading the {} records raw | p50 {raw50:.1} ms | baseline | |",
        office.records
    );
    println!("| training matrix (query) | p50 {m50:.1} ms, p95 {m95:.1} ms | {:.1}x raw | < 200 ms with the screen |", m50 / raw50);
    println!(
        "| evidence pack (PDF + CSV, written) | p50 {:.2} s | {:.1}x the matrix | < 5 s |",
        p50 / 1000.0,
        p50 / m50
    );
    Ok(())
}

struct Office {
    records: usize,
}

fn build(store: &mut Store, dir: &Path, today: chrono::NaiveDate) -> Result<Office> {
    let staff_ids = crm_compliance::sample::training_office(store, today, STAFF, COURSES)?;
    let records = staff_ids.len() * COURSES;
    for (i, s) in staff_ids.iter().enumerate() {
        let issue = dates::text(today - chrono::Duration::days((i % 1400) as i64));
        let d = json!({"level": "enhanced", "certificate_number": format!("00{:010}", i), "issue_date": issue, "recheck_months": "36"});
        checks::set(
            store,
            s,
            "dbs",
            "verified",
            d.as_object().expect("an object"),
            None,
        )?;
        if i % 3 != 0 {
            let r = json!({"document_type": "share code", "expiry": dates::text(today + chrono::Duration::days(i as i64 - 50)), "checked_on": "2024-01-01"});
            checks::set(
                store,
                s,
                "right_to_work",
                "verified",
                r.as_object().expect("an object"),
                None,
            )?;
        }
        crm_compliance::supervision::record(
            store,
            s,
            "supervision",
            &dates::text(today - chrono::Duration::days((i % 90) as i64)),
            "Registered manager",
            None,
            today,
        )?;
    }
    // Policies: documents read by this executable's worker, approved by a
    // second admin, published and assigned.
    let files = dir.join("policies");
    std::fs::create_dir_all(&files)?;
    for i in 0..POLICIES {
        std::fs::write(
            files.join(format!("policy-{i:02}.md")),
            format!("# Policy {i}\n\nWhat staff do in case {i}.\n"),
        )?;
    }
    let added = crm_documents::add(
        store,
        &crm_extract::Extractor::this_executable()?,
        &[files],
        &crm_documents::AddOptions {
            draft: true,
            ..Default::default()
        },
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    let statements = policies::statements(store)?;
    for (i, a) in added.iter().enumerate() {
        let doc = a
            .document_id
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{:?} was not added", a.path))?;
        policies::register(
            store,
            &doc,
            &policies::PolicyDraft {
                kind: "policy".into(),
                owner: "Registered manager".into(),
                review_months: 12,
                statements: vec![statements[i % 34].id.clone()],
            },
            today,
        )?;
        store.with_actor(
            crm_core::Actor::User {
                user: "admin-a".into(),
            },
            |s| policies::submit(s, &doc, today),
        )?;
        store.with_actor(
            crm_core::Actor::User {
                user: "admin-b".into(),
            },
            |s| policies::approve(s, &doc, today),
        )?;
        policies::publish(store, &doc, false, today)?;
        readsign::assign(
            store,
            &doc,
            &format!("team:team {}", i % 6),
            &dates::text(today + chrono::Duration::days(14)),
            today,
        )?;
    }
    Ok(Office { records })
}
