//! The `dates` module: today, now and date arithmetic on "YYYY-MM-DD"
//! text; pure functions with no permission needed.

use rhai::{Engine, FuncRegistration, Module, INT};

use super::{fail, today, HostResult};
use crate::sandbox::ErrorKind;

fn date_arg(what: &str, s: &str) -> HostResult<chrono::NaiveDate> {
    crm_core::normalize::date(s)
        .map_err(|r| fail(ErrorKind::Runtime, format!("dates::{what}: {s:?}: {r}")))
}

pub(super) fn register_dates(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "today",
        ["String"],
        "Today's date (local), \"YYYY-MM-DD\".",
        || today().to_string()
    );
    func!(
        m,
        "now",
        ["String"],
        "The current time, RFC 3339 in UTC.",
        || { chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true) }
    );
    func!(
        m,
        "parse",
        ["text: &str", "String"],
        "A date in any common form (2024-03-31, 31/03/2024, 31.03.2024) as \"YYYY-MM-DD\"; an error if it is not one.",
        |s: &str| -> HostResult<String> { Ok(date_arg("parse", s)?.to_string()) }
    );
    func!(
        m,
        "add_days",
        ["date: &str", "days: i64", "String"],
        "The date `days` days after `date` (negative: before).",
        |s: &str, days: INT| -> HostResult<String> {
            let d = date_arg("add_days", s)?;
            d.checked_add_signed(chrono::Duration::days(days.clamp(-1_000_000, 1_000_000)))
                .map(|d| d.to_string())
                .ok_or_else(|| fail(ErrorKind::Runtime, "dates::add_days: out of range"))
        }
    );
    func!(
        m,
        "add_months",
        ["date: &str", "months: i64", "String"],
        "The date `months` months after `date`, clamped to the month's end.",
        |s: &str, months: INT| -> HostResult<String> {
            let d = date_arg("add_months", s)?;
            let n = months.clamp(-12_000, 12_000);
            let r = if n >= 0 {
                d.checked_add_months(chrono::Months::new(n as u32))
            } else {
                d.checked_sub_months(chrono::Months::new((-n) as u32))
            };
            r.map(|d| d.to_string())
                .ok_or_else(|| fail(ErrorKind::Runtime, "dates::add_months: out of range"))
        }
    );
    func!(
        m,
        "days_between",
        ["from: &str", "to: &str", "i64"],
        "Whole days from `from` to `to` (negative when `to` is earlier).",
        |a: &str, b: &str| -> HostResult<INT> {
            Ok((date_arg("days_between", b)? - date_arg("days_between", a)?).num_days())
        }
    );
    func!(
        m,
        "weekday",
        ["date: &str", "String"],
        "The day of the week: \"Mon\" … \"Sun\".",
        |s: &str| -> HostResult<String> {
            use chrono::Datelike;
            Ok(date_arg("weekday", s)?.weekday().to_string())
        }
    );
    engine.register_static_module("dates", m.into());
}
