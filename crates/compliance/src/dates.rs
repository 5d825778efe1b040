//! Dates as care offices use them: whole days in the office's own time
//! zone. A certificate expiring today is still valid today; renewal periods
//! are calendar months, ending on the month's last day when the start day
//! does not exist there (31 January + 1 month = 28 or 29 February).

use chrono::{DateTime, Months, NaiveDate, Offset, TimeZone, Utc};
use serde::Serialize;

use crate::error::{ComplianceError, Result};

/// How many days ahead "due soon" looks (the usual expiring panel).
pub const DUE_SOON_DAYS: i64 = 60;

/// Read a date typed by a person: `YYYY-MM-DD` or the UK's `DD/MM/YYYY`.
/// The error names `field` and shows both forms.
pub fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate> {
    let t = text.trim();
    let parsed = if t.contains('/') {
        NaiveDate::parse_from_str(t, "%d/%m/%Y")
    } else {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
    };
    match parsed {
        // Four-digit years only: "26/01/25" is not 0025.
        Ok(d) if (1900..=2200).contains(&chrono::Datelike::year(&d)) => Ok(d),
        _ => Err(ComplianceError::invalid(
            field,
            format!("{t:?} is not a date; write it as YYYY-MM-DD (e.g. 2026-03-31) or DD/MM/YYYY"),
        )),
    }
}

/// An optional date: empty text is none.
pub fn parse_opt_date(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => parse_date(field, t).map(Some),
    }
}

/// `date` plus `months` calendar months, on the month's last day when the
/// day does not exist there. `None` beyond the calendar.
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

/// The day it is at `instant` for an office at UTC offset `offset`: what
/// "today" means for expiry.
pub fn day_at<Tz: TimeZone>(instant: DateTime<Utc>, zone: &Tz) -> NaiveDate {
    let offset = zone.offset_from_utc_datetime(&instant.naive_utc()).fix();
    instant.with_timezone(&offset).date_naive()
}

/// Today in this machine's time zone.
pub fn today() -> NaiveDate {
    day_at(Utc::now(), &chrono::Local)
}

/// Where something that lapses stands on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// In date, and not within [`DUE_SOON_DAYS`] of lapsing.
    Valid,
    /// In date, lapsing within [`DUE_SOON_DAYS`].
    DueSoon,
    /// Lapsed: its last valid day is past.
    Expired,
    /// Never done.
    Missing,
}

impl Standing {
    /// The stored / shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Valid => "valid",
            Standing::DueSoon => "due_soon",
            Standing::Expired => "expired",
            Standing::Missing => "missing",
        }
    }

    /// The name a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Standing::Valid => "valid",
            Standing::DueSoon => "due soon",
            Standing::Expired => "expired",
            Standing::Missing => "missing",
        }
    }

    /// Parse a filter's name.
    pub fn parse(s: &str) -> Option<Standing> {
        match s.trim().to_lowercase().replace([' ', '-'], "_").as_str() {
            "valid" => Some(Standing::Valid),
            "due_soon" | "due" => Some(Standing::DueSoon),
            "expired" => Some(Standing::Expired),
            "missing" => Some(Standing::Missing),
            _ => None,
        }
    }

    /// Whether it counts as compliant (in date).
    pub fn compliant(self) -> bool {
        matches!(self, Standing::Valid | Standing::DueSoon)
    }
}

/// Where a thing last valid on `expires` (`None`: never lapses) stands on
/// `today`: its expiry day itself is still valid.
pub fn standing(expires: Option<NaiveDate>, today: NaiveDate) -> Standing {
    match expires {
        None => Standing::Valid,
        Some(e) if e < today => Standing::Expired,
        Some(e) if (e - today).num_days() <= DUE_SOON_DAYS => Standing::DueSoon,
        Some(_) => Standing::Valid,
    }
}

/// The stored form of a date.
pub fn text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stored date read back (stored dates were checked on the way in; one
/// that is not a date reads as none).
pub fn stored(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, FixedOffset};
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn month_ends_and_leap_years() {
        assert_eq!(add_months(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(add_months(d("2028-01-31"), 1), Some(d("2028-02-29")));
        assert_eq!(add_months(d("2028-02-29"), 12), Some(d("2029-02-28")));
        assert_eq!(add_months(d("2028-02-29"), 48), Some(d("2032-02-29")));
        assert_eq!(add_months(d("2026-08-31"), 1), Some(d("2026-09-30")));
        assert_eq!(add_months(d("2026-12-15"), 3), Some(d("2027-03-15")));
    }

    #[test]
    fn a_certificate_expiring_today_is_valid_today() {
        let e = d("2026-12-07");
        assert_eq!(standing(Some(e), d("2026-12-07")), Standing::DueSoon);
        assert!(standing(Some(e), d("2026-12-07")).compliant());
        assert_eq!(standing(Some(e), d("2026-12-08")), Standing::Expired);
        assert_eq!(standing(Some(e), d("2026-10-08")), Standing::DueSoon);
        assert_eq!(standing(Some(e), d("2026-10-07")), Standing::Valid);
        assert_eq!(standing(None, d("2099-01-01")), Standing::Valid);
    }

    #[test]
    fn today_is_the_office_s_day_not_utc_s() {
        // 23:30 UTC is already the next day an hour east of Greenwich
        // (British Summer Time).
        let late = Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).unwrap();
        let gmt = FixedOffset::east_opt(0).unwrap();
        let bst = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(day_at(late, &gmt), d("2026-03-28"));
        assert_eq!(day_at(late, &bst), d("2026-03-29"));
        // A certificate last valid on the 28th, looked at from UTC+1 at that
        // instant, has lapsed; from UTC it has not.
        let e = Some(d("2026-03-28"));
        assert!(standing(e, day_at(late, &gmt)).compliant());
        assert_eq!(standing(e, day_at(late, &bst)), Standing::Expired);
    }

    #[test]
    fn dates_that_are_not_dates_name_the_field() {
        for bad in [
            "2026-02-30",
            "31/02/2026",
            "tomorrow",
            "",
            "26/01/25",
            "2026-13-01",
        ] {
            let err = parse_date("expiry date", bad).unwrap_err().to_string();
            assert!(err.starts_with("expiry date: "), "{err}");
            assert!(err.contains("YYYY-MM-DD"), "{err}");
        }
        assert_eq!(parse_date("x", "29/02/2028").unwrap(), d("2028-02-29"));
        assert_eq!(parse_date("x", " 2026-03-31 ").unwrap(), d("2026-03-31"));
        assert_eq!(parse_opt_date("x", Some("  ")).unwrap(), None);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1950i32..2150, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real day", |(y, m, dd)| NaiveDate::from_ymd_opt(y, m, dd))
    }

    proptest! {
        #[test]
        fn adding_months_lands_in_the_right_month_on_the_right_day(date in any_date(), n in 0u32..240) {
            let got = add_months(date, n).unwrap();
            let months = date.year() * 12 + date.month0() as i32 + n as i32;
            prop_assert_eq!(got.year(), months.div_euclid(12));
            prop_assert_eq!(got.month0() as i32, months.rem_euclid(12));
            // The same day of the month, or the month's last day when it
            // has no such day.
            let last = NaiveDate::from_ymd_opt(got.year(), got.month(), 1).unwrap()
                .checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap().day();
            prop_assert_eq!(got.day(), date.day().min(last));
            prop_assert!(got >= date);
        }

        #[test]
        fn standing_only_gets_worse_as_days_pass(exp in any_date(), day in any_date(), later in 0i64..800) {
            let a = standing(Some(exp), day);
            let b = standing(Some(exp), day + chrono::Duration::days(later));
            prop_assert!(b >= a, "{a:?} then {b:?}");
            // Valid up to and including the expiry day, expired after it.
            prop_assert_eq!(a.compliant(), day <= exp);
        }

        #[test]
        fn both_written_forms_read_as_the_same_day(date in any_date()) {
            let iso = text(date);
            let uk = date.format("%d/%m/%Y").to_string();
            prop_assert_eq!(parse_date("d", &iso).unwrap(), date);
            prop_assert_eq!(parse_date("d", &uk).unwrap(), date);
        }
    }
}
