//! Records beyond contacts through the store: policies, premium schedules
//! and payments, tasks, and the settings that govern plugins.

mod support;

use crm_core::{CoreError, Store};
use support::*;

#[test]
fn policies_schedules_payments_and_arrears() {
    use chrono::NaiveDate;
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let c = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
        ]))
        .unwrap();
    let p = s
        .create_policy(&crm_core::PolicyDraft {
            contact_id: Some(c.id),
            policy_number: "MTR-1".into(),
            carrier: "Aviva".into(),
            line_of_business: "Motor".into(),
            premium: "£42.50".into(),
            currency: None,
            frequency: Some("monthly".into()),
            effective: "01/01/2025".into(),
            expiry: None,
            status: None,
        })
        .unwrap();
    assert_eq!(p.premium_minor, 4250);
    assert_eq!(p.expiry_date.as_deref(), Some("2025-12-31"));
    // An active policy makes the holder a client.
    assert_eq!(s.contact(c.id).unwrap().stage, crm_core::Stage::Client);
    let made = s.schedule_premiums(p.id).unwrap();
    assert_eq!(made.len(), 12);
    assert_eq!(
        s.schedule_premiums(p.id).unwrap().len(),
        0,
        "scheduling twice must not duplicate"
    );
    let on = NaiveDate::from_ymd_opt(2025, 3, 15).unwrap();
    // Jan, Feb, Mar due before 15 Mar: three instalments owed.
    let a = s.arrears(on, usize::MAX).unwrap().rows;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].outstanding_minor, 3 * 4250);
    assert_eq!(a[0].instalments, 3);
    s.record_payment(p.id, "42.50", on, "direct debit", None)
        .unwrap();
    s.record_payment(p.id, "20", on, "card", Some("ref-1"))
        .unwrap();
    let a = s.arrears(on, usize::MAX).unwrap().rows;
    assert_eq!(a[0].outstanding_minor, 4250 + 2250);
    assert_eq!(a[0].oldest_due, "2025-02-01");
    // Cut at a limit, the list says there were more; the one shown is
    // the oldest, and its amount is the whole policy's.
    let cut = s.arrears(on, 0).unwrap();
    assert!(cut.rows.is_empty() && cut.more);
    let whole = s.arrears(on, 1).unwrap();
    assert!(!whole.more);
    assert_eq!(whole.rows[0].outstanding_minor, 4250 + 2250);
    // Bad input names the field.
    let err = s
        .record_payment(p.id, "abc", on, "card", None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("amount:"), "{err}");
    let err = s
        .record_payment(p.id, "1", on, "bitcoin", None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("method:"), "{err}");
    let dup = s.create_policy(&crm_core::PolicyDraft {
        contact_id: Some(c.id),
        policy_number: "MTR-1".into(),
        carrier: "Aviva".into(),
        line_of_business: "motor".into(),
        premium: "1".into(),
        effective: "2025-01-01".into(),
        ..Default::default()
    });
    assert!(dup.unwrap_err().to_string().contains("already exists"));
    // Renewals: expires 2025-12-31, due within 30 days of 2025-12-10.
    let r = s
        .renewals_due(
            NaiveDate::from_ymd_opt(2025, 12, 10).unwrap(),
            30,
            usize::MAX,
        )
        .unwrap()
        .rows;
    assert_eq!(r.len(), 1);
    assert!(s
        .renewals_due(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(), 30, usize::MAX)
        .unwrap()
        .rows
        .is_empty());
    // Counted without loading, the same numbers.
    assert_eq!(
        s.count_renewals_due(NaiveDate::from_ymd_opt(2025, 12, 10).unwrap(), 30)
            .unwrap(),
        1
    );
    assert_eq!(
        s.count_renewals_due(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(), 30)
            .unwrap(),
        0
    );
}

#[test]
fn tasks_due_today_and_overdue() {
    use chrono::NaiveDate;
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let today = NaiveDate::from_ymd_opt(2025, 5, 10).unwrap();
    let mk = |s: &mut Store, t: &str, due: &str| {
        s.create_task(&crm_core::TaskDraft {
            title: t.into(),
            due: Some(due.into()),
            ..Default::default()
        })
        .unwrap()
    };
    let late = mk(&mut s, "call back", "2025-05-01");
    mk(&mut s, "renewal", "2025-05-10");
    mk(&mut s, "later", "2025-06-01");
    assert_eq!(
        s.list_tasks(crm_core::TaskFilter::Overdue, today, usize::MAX)
            .unwrap()
            .rows
            .len(),
        1
    );
    assert_eq!(
        s.list_tasks(crm_core::TaskFilter::DueToday, today, usize::MAX)
            .unwrap()
            .rows[0]
            .title,
        "renewal"
    );
    s.set_task_status(late.id, crm_core::TaskStatus::Done)
        .unwrap();
    assert!(s
        .list_tasks(crm_core::TaskFilter::Overdue, today, usize::MAX)
        .unwrap()
        .rows
        .is_empty());
    assert_eq!(
        s.list_tasks(crm_core::TaskFilter::All, today, usize::MAX)
            .unwrap()
            .rows
            .len(),
        3
    );
    // A list cut by its limit says so; one that fits does not.
    let two = s.list_tasks(crm_core::TaskFilter::All, today, 2).unwrap();
    assert_eq!((two.rows.len(), two.more), (2, true));
    assert_eq!(two.rows[0].title, "call back", "soonest first, then cut");
    let three = s.list_tasks(crm_core::TaskFilter::All, today, 3).unwrap();
    assert_eq!((three.rows.len(), three.more), (3, false));
    // Counted without loading, each filter agrees with its list.
    for f in [
        crm_core::TaskFilter::All,
        crm_core::TaskFilter::Open,
        crm_core::TaskFilter::DueToday,
        crm_core::TaskFilter::Overdue,
    ] {
        assert_eq!(
            s.count_tasks(f, today).unwrap(),
            s.list_tasks(f, today, usize::MAX).unwrap().rows.len(),
            "{f:?}"
        );
    }
    assert_eq!(s.count_tasks(crm_core::TaskFilter::All, today).unwrap(), 3);
    assert!(s
        .create_task(&crm_core::TaskDraft {
            title: " ".into(),
            ..Default::default()
        })
        .unwrap_err()
        .to_string()
        .contains("title"));
}

#[test]
fn policy_rules_name_the_field_at_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let c = s.create_contact(&draft(&[("first_name", "Ann")])).unwrap();
    let base = crm_core::PolicyDraft {
        contact_id: Some(c.id),
        policy_number: "P-1".into(),
        carrier: "Aviva".into(),
        line_of_business: "home".into(),
        premium: "10".into(),
        effective: "2025-06-01".into(),
        ..Default::default()
    };
    let cases: Vec<(crm_core::PolicyDraft, &str)> = vec![
        (
            crm_core::PolicyDraft {
                expiry: Some("2025-01-01".into()),
                ..base.clone()
            },
            "expiry:",
        ),
        (
            crm_core::PolicyDraft {
                premium: "-5".into(),
                ..base.clone()
            },
            "premium:",
        ),
        (
            crm_core::PolicyDraft {
                currency: Some("pounds".into()),
                ..base.clone()
            },
            "currency:",
        ),
        (
            crm_core::PolicyDraft {
                frequency: Some("fortnightly".into()),
                ..base.clone()
            },
            "frequency:",
        ),
        (
            crm_core::PolicyDraft {
                effective: "someday".into(),
                ..base.clone()
            },
            "effective:",
        ),
        (
            crm_core::PolicyDraft {
                carrier: " ".into(),
                ..base.clone()
            },
            "carrier:",
        ),
        (
            crm_core::PolicyDraft {
                contact_id: None,
                ..base.clone()
            },
            "contact:",
        ),
    ];
    for (d, field) in cases {
        let err = s.create_policy(&d).unwrap_err().to_string();
        assert!(err.starts_with(field), "expected {field} error, got {err}");
    }
    assert!(
        s.list_policies(None, usize::MAX).unwrap().rows.is_empty(),
        "no refused policy was stored"
    );
    let err = s
        .create_policy(&crm_core::PolicyDraft {
            contact_id: Some(uuid::Uuid::now_v7()),
            ..base
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::NotFound {
                kind: "contact",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn settings_that_govern_plugins_are_an_admins_and_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    // The owner of a profile never signed in may: audited with old and new.
    s.set_setting("plugins.allow_private_network", Some("true"))
        .unwrap();
    s.set_setting("plugins.limit.max_writes", Some("50"))
        .unwrap();
    // Where plugins' AI requests go is governed too; its key is audited
    // only as set or not.
    s.set_setting("ai.api_key", Some("sk-owners-key")).unwrap();
    let trail = s.setting_audit("ai.api_key").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&trail[0].1).unwrap(),
        serde_json::json!({"ai.api_key": ["not set", "set"]})
    );
    let trail = s.setting_audit("plugins.allow_private_network").unwrap();
    assert_eq!(trail.len(), 1);
    let changes: serde_json::Value = serde_json::from_str(&trail[0].1).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"plugins.allow_private_network": [null, "true"]})
    );
    let tenant = uuid::Uuid::now_v7();
    let bind = |s: &mut Store, role: &str| {
        s.bind_to_server(
            "https://sync.example.com",
            "ann@example.com",
            tenant,
            uuid::Uuid::now_v7(),
            role,
        )
        .unwrap()
    };
    // Signed in as an agent: what the owner set before goes back to the
    // defaults (audited), and changing it is refused in the core.
    bind(&mut s, "agent");
    assert_eq!(s.setting("plugins.allow_private_network").unwrap(), None);
    assert_eq!(s.setting("plugins.limit.max_writes").unwrap(), None);
    assert_eq!(s.setting("ai.api_key").unwrap(), None);
    let key_trail = s.setting_audit("ai.api_key").unwrap();
    assert_eq!(key_trail.len(), 2);
    assert!(!key_trail[1].1.contains("sk-owners-key"), "{key_trail:?}");
    let trail = s.setting_audit("plugins.limit.max_writes").unwrap();
    assert_eq!(trail.len(), 2);
    let changes: serde_json::Value = serde_json::from_str(&trail[1].1).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"plugins.limit.max_writes": ["50", null]})
    );
    for (key, value) in [
        ("plugins.allow_private_network", None),
        ("plugins.limit.max_writes", Some("100000000")),
        ("plugins.extra_ca_pem", Some("-----BEGIN CERTIFICATE-----")),
        ("plugins.developer_mode", Some("true")),
        ("ai.endpoint", Some("https://llm.example.com/v1")),
        ("ai.model", Some("small")),
    ] {
        match s.set_setting(key, value) {
            Err(CoreError::Forbidden(m)) => assert!(m.contains("only an admin"), "{m}"),
            other => panic!("{key}: {other:?}"),
        }
    }
    assert_eq!(s.setting("plugins.limit.max_writes").unwrap(), None);
    assert_eq!(s.setting("plugins.extra_ca_pem").unwrap(), None);
    assert_eq!(
        s.setting_audit("plugins.limit.max_writes").unwrap().len(),
        2
    );
    // The agent's own settings are still theirs.
    s.set_setting("ui.density", Some("compact")).unwrap();
    s.set_default_region("DE").unwrap();
    // An admin may again.
    bind(&mut s, "admin");
    s.set_setting("plugins.limit.max_writes", Some("60"))
        .unwrap();
    assert_eq!(
        s.setting_audit("plugins.limit.max_writes").unwrap().len(),
        3
    );
    // Signing in again as an admin keeps an admin's settings.
    bind(&mut s, "admin");
    assert_eq!(
        s.setting("plugins.limit.max_writes").unwrap().as_deref(),
        Some("60")
    );
}
