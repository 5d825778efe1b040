//! A generated office for benchmarks and demonstrations: `staff` people,
//! the seeded courses topped up to `courses`, and one training record per
//! person and course with dates spread so that every standing (valid, due
//! soon, expired) occurs. Deterministic: the same call gives the same
//! office (ids aside).

use crm_core::Store;

use crate::{dates, policies, staff, training, Result, FEATURE};

/// Fill `store` with the office; returns the staff ids in creation order.
/// The training records go in one write (setup, not what is measured).
pub fn training_office(
    store: &mut Store,
    today: chrono::NaiveDate,
    people: usize,
    courses: usize,
) -> Result<Vec<String>> {
    policies::statements(store)?; // installs the tables and the seeded courses
    let seeded = training::courses(store, false)?.len();
    for i in seeded..courses {
        training::add_course(
            store,
            &training::CourseDraft {
                name: format!("Local course {i}"),
                category: "other".into(),
                renewal_months: Some(12 + (i as i64 % 3) * 12),
                active: true,
            },
        )?;
    }
    let courses = training::courses(store, false)?;
    let mut ids = Vec::with_capacity(people);
    for i in 0..people {
        let s = staff::create(
            store,
            &staff::StaffDraft {
                name: format!("Staff member {i:03}"),
                role: if i % 10 == 0 {
                    "senior carer".into()
                } else {
                    "carer".into()
                },
                team: Some(format!("team {}", i % 6)),
                start_date: "2022-04-01".into(),
                supervision_weeks: Some(8),
                ..Default::default()
            },
        )?;
        ids.push(s.id);
    }
    let actor = store.user_actor();
    store.feature_write(&FEATURE, actor, |tx| -> Result<()> {
        let mut st = tx.conn().prepare(
            "INSERT INTO compliance_training (id, staff_id, course_id, achieved, expires, provider, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'Sample Training Ltd', ?6, 'sample')",
        )?;
        for (i, s) in ids.iter().enumerate() {
            for (j, c) in courses.iter().enumerate() {
                let achieved = today - chrono::Duration::days(((i * 7 + j * 13) % 700) as i64 + 1);
                let expires = training::expiry(achieved, c.renewal_months);
                st.execute(rusqlite::params![
                    uuid::Uuid::now_v7().to_string(),
                    s,
                    c.id,
                    dates::text(achieved),
                    expires.map(dates::text),
                    tx.now()
                ])?;
            }
        }
        Ok(())
    })?;
    Ok(ids)
}
