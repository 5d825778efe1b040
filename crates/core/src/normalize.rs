//! Normalising what people type: emails, phone numbers, dates, money.
//!
//! Each function returns the canonical form or a reason a person can act on.

use chrono::NaiveDate;
use rlibphonenumber::{PhoneNumberFormat, PHONE_NUMBER_UTIL};

/// Normalise an email: trimmed, case-folded, validated.
pub fn email(raw: &str) -> Result<String, String> {
    let e = raw.trim().to_lowercase();
    let e = e.strip_prefix("mailto:").unwrap_or(&e).to_string();
    if e.is_empty() {
        return Err("is empty".into());
    }
    if !email_address::EmailAddress::is_valid(&e) || !e.contains('@') {
        return Err(format!("{:?} is not a valid email address", clip(raw)));
    }
    let domain = e.rsplit('@').next().unwrap_or("");
    if !domain.contains('.') {
        return Err(format!(
            "{:?} has no domain (expected name@example.com)",
            clip(raw)
        ));
    }
    Ok(e)
}

/// The base address of a service (sync server, AI endpoint): `http://` or
/// `https://`, no user name or password in it, no spaces; a trailing slash
/// is dropped.
pub fn base_url(raw: &str) -> Result<String, String> {
    let t = raw.trim().trim_end_matches('/');
    if !(t.starts_with("https://") || t.starts_with("http://"))
        || t.contains('@')
        || t.contains(char::is_whitespace)
    {
        return Err(format!(
            "{raw:?}: give an http:// or https:// address (e.g. https://sync.example.com) without a user name or password"
        ));
    }
    Ok(t.to_string())
}

/// A region whose phone numbering plan is known (e.g. GB, DE, US).
pub use rlibphonenumber::enums::Region;

/// A two-letter region code, as used for phone numbers without a country code.
pub fn region(raw: &str) -> Result<Region, String> {
    let bad = || format!("{raw:?} is not a region code (use two letters, e.g. GB, DE, US)");
    let r = Region::from_code(raw.trim()).map_err(|_| bad())?;
    // Every pair of letters names a `Region`; only those with a numbering
    // plan in the metadata are regions for phone numbers.
    match PHONE_NUMBER_UTIL.get_country_code_for_region(r) {
        Some(_) => Ok(r),
        None => Err(bad()),
    }
}

/// Normalise a phone number to E.164, reading national numbers as `region`.
pub fn phone(raw: &str, region: Region) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("is empty".into());
    }
    // Spreadsheets turn "07911 123456" into the number 7700900123 and
    // "+44..." into 44...; "00" is the international prefix in most of Europe.
    let cleaned: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let candidate = if let Some(rest) = cleaned.strip_prefix("00") {
        format!("+{rest}")
    } else {
        cleaned
    };
    let parsed = PHONE_NUMBER_UTIL
        .parse(&candidate, Some(region))
        .map_err(|_| format!("{:?} is not a phone number", clip(raw)))?;
    if !parsed.is_valid() {
        return Err(format!(
            "{:?} is not a valid phone number for region {region:?} (add the country code, e.g. +44)",
            clip(raw)
        ));
    }
    let mut e164 = parsed.format_as(PhoneNumberFormat::E164).into_owned();
    // An extension ("ext. 123", "x123") is kept the way RFC 3966 writes
    // it, which this function reads back: dropped, it would be lost
    // without a word.
    if let Some(ext) = parsed.extension.as_deref().filter(|e| !e.is_empty()) {
        e164.push_str(";ext=");
        e164.push_str(ext);
    }
    Ok(e164)
}

/// The numbers in a cell holding several, separated by semicolons (our
/// own export writes them so). A `;ext=…` after a number is its extension
/// (how [`phone`] keeps one), not a number of its own.
pub fn split_phones(cell: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut from = 0;
    while let Some(i) = cell[from..].find(';').map(|i| i + from) {
        let next = cell[i + 1..].trim_start();
        let is_param = next
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("ext=") || p.eq_ignore_ascii_case("isub"));
        if !is_param {
            out.push(&cell[start..i]);
            start = i + 1;
        }
        from = i + 1;
    }
    out.push(&cell[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A date cell that means "no date": all zeros, as Outlook writes an
/// unknown birthday (`0/0/00`, `00.00.0000`, `0000-00-00`).
pub fn is_unknown_date(raw: &str) -> bool {
    let t = raw.trim();
    t.bytes().any(|b| b == b'0') && t.bytes().all(|b| b == b'0' || b"/.-".contains(&b))
}

/// Parse a date in ISO (2024-03-31), UK (31/03/2024) or German (31.03.2024) form.
/// Years have four digits: chrono alone would take `+12345-01-01` or
/// `-0001-01-01`, which no other system (nor the sync server) reads.
pub fn date(raw: &str) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    let t = raw.trim();
    // chrono's %Y takes "85" as the year 85: a two-digit year is refused
    // with what to write instead, never stored as 0085.
    let parts: Vec<&str> = t.split(['/', '.', '-']).collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0].len() <= 2
        && parts[2].len() <= 2
    {
        return Err(format!(
            "{:?} has a two-digit year; write the year in full (31/03/1985, not 31/03/85)",
            clip(raw)
        ));
    }
    let parsed = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d"]
        .iter()
        .find_map(|fmt| NaiveDate::parse_from_str(t, fmt).ok())
        // ISO date-times from CRM exports: keep the date part.
        .or_else(|| {
            t.get(..10)
                .filter(|_| t.len() > 10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        });
    parsed
        .filter(|d| !t.starts_with(['+', '-']) && (1..=9999).contains(&d.year()))
        .ok_or_else(|| {
            format!(
                "{:?} is not a date (use 2025-03-31, 31/03/2025 or 31.03.2025)",
                clip(raw)
            )
        })
}

/// Parse an amount of money into minor units (pence, cents).
/// Accepts "1234.56", "1,234.56", "£1,234.56", "1.234,56", "1234".
pub fn money_minor(raw: &str) -> Result<i64, String> {
    let bad = || format!("{:?} is not an amount (e.g. 1234.56)", clip(raw));
    let t: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '£' | '€' | '$' | ' ' | '\u{a0}' | '\''))
        .collect();
    let t = t
        .trim_start_matches("GBP")
        .trim_start_matches("EUR")
        .trim_start_matches("USD");
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if t.is_empty() {
        return Err(bad());
    }
    // The decimal separator is the last '.' or ',' followed by 1-2 digits.
    let last_sep = t.rfind(['.', ',']);
    let (int_part, frac_part) = match last_sep {
        Some(i) if t.len() - i - 1 <= 2 && t.len() - i - 1 > 0 => (&t[..i], &t[i + 1..]),
        _ => (t, ""),
    };
    let int_digits: String = int_part
        .chars()
        .filter(|c| !matches!(c, ',' | '.'))
        .collect();
    if int_digits.is_empty() && frac_part.is_empty()
        || !int_digits.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let int: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| bad())?
    };
    let frac: i64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac_part.parse().map_err(|_| bad())?,
    };
    let v = int
        .checked_mul(100)
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(bad)?;
    Ok(if neg { -v } else { v })
}

/// Format minor units as "1234.56".
pub fn format_minor(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        v.unsigned_abs() / 100,
        v.unsigned_abs() % 100
    )
}

/// `s` cut to at most `max` bytes (at a character boundary), with `…`
/// after it when cut: for messages that are kept or shown whole.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Shorten a value for an error message.
pub fn clip(s: &str) -> String {
    if s.chars().count() > 60 {
        let mut c: String = s.chars().take(57).collect();
        c.push_str("...");
        c
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_need_a_scheme_and_no_credentials_or_spaces() {
        assert_eq!(
            base_url(" https://sync.example.com/ ").as_deref(),
            Ok("https://sync.example.com")
        );
        assert_eq!(
            base_url("http://10.0.0.2:8080").as_deref(),
            Ok("http://10.0.0.2:8080")
        );
        for bad in [
            "sync.example.com",
            "ftp://x.example.com",
            "https://user:pw@x.example.com",
            "https://x.example .com",
            "",
        ] {
            assert!(base_url(bad).is_err(), "{bad:?} accepted");
        }
    }
    use super::Region as Id;

    #[test]
    fn emails_are_trimmed_and_case_folded() {
        assert_eq!(
            email("  Ann.Lee@Example.CO.UK ").unwrap(),
            "ann.lee@example.co.uk"
        );
        assert!(email("ann@").is_err());
        assert!(email("not an email").is_err());
        assert!(email("ann@localhost").is_err());
    }

    #[test]
    fn uk_phone_forms_all_become_the_same_e164() {
        for raw in [
            "07911 123456",
            "+44 7911 123456",
            "0044 7911 123456",
            "(07911) 123-456",
            "+44 (0)7911 123456",
            "7911123456",
        ] {
            assert_eq!(phone(raw, Id::GB).unwrap(), "+447911123456", "{raw}");
        }
        assert_eq!(phone("020 7946 0018", Id::GB).unwrap(), "+442079460018");
        assert_eq!(phone("030 1234567", Id::DE).unwrap(), "+49301234567");
        assert!(phone("12", Id::GB).is_err());
        assert!(phone("call me", Id::GB).is_err());
    }

    /// Numbers the previous phone library judged wrongly, checked against
    /// Google's libphonenumber (through its Python port, 9.0.43).
    #[test]
    fn phones_follow_libphonenumber_where_the_old_library_did_not() {
        // Valid numbers it refused.
        assert_eq!(phone("+1 260 340 1084", Id::GB).unwrap(), "+12603401084");
        assert_eq!(phone("+49 8099 500", Id::GB).unwrap(), "+498099500");
        // Invalid numbers it accepted, or "repaired" by dropping digits.
        assert!(phone("+353 96 719222", Id::GB).is_err());
        assert!(phone("+33 1148757 6959", Id::US).is_err());
        // Common ways of writing a UK number from abroad, and back.
        assert_eq!(phone("+44 07911 123456", Id::GB).unwrap(), "+447911123456");
        assert_eq!(phone("0171 1234567", Id::DE).unwrap(), "+491711234567");
        assert_eq!(phone("+44 20 7946 0018", Id::DE).unwrap(), "+442079460018");
    }

    #[test]
    fn region_codes_must_have_a_numbering_plan() {
        assert_eq!(region(" gb ").unwrap(), Id::GB);
        assert_eq!(region("DE").unwrap(), Id::DE);
        // Two letters, but no country's numbering plan ("UK" is not ISO).
        for bad in ["UK", "ZZ", "XX", "G", "GBR", "", "1", "ü"] {
            assert!(region(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn dates_in_iso_uk_and_german_forms() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
        assert_eq!(date("2025-03-31").unwrap(), d);
        assert_eq!(date("31/03/2025").unwrap(), d);
        assert_eq!(date("31.03.2025").unwrap(), d);
        assert_eq!(date("2025-03-31T10:00:00Z").unwrap(), d);
        assert!(date("31/13/2025").is_err());
        // Signed or five-digit years: refused (the server would refuse them).
        for bad in [
            "+12345-01-01",
            "-0001-01-01",
            "12345-01-01",
            "01/01/12345",
            "+2025-03-31",
        ] {
            assert!(date(bad).is_err(), "{bad:?} accepted");
        }
        // Two-digit years: refused with what to write, never year 85
        // (chrono alone reads "31.03.85" as 0085-03-31).
        for short in ["31.03.85", "01/02/03", "85-03-31", "1/2/85"] {
            let e = date(short).expect_err(short);
            assert!(e.contains("two-digit year"), "{short:?}: {e}");
        }
        assert_eq!(
            date("1.2.1985").unwrap(),
            NaiveDate::from_ymd_opt(1985, 2, 1).unwrap()
        );
    }

    #[test]
    fn money_in_common_forms() {
        assert_eq!(money_minor("1234.56").unwrap(), 123456);
        assert_eq!(money_minor("£1,234.56").unwrap(), 123456);
        assert_eq!(money_minor("1.234,56").unwrap(), 123456);
        assert_eq!(money_minor("1234").unwrap(), 123400);
        assert_eq!(money_minor("12.5").unwrap(), 1250);
        assert_eq!(money_minor("1,234").unwrap(), 123400);
        assert!(money_minor("twelve").is_err());
        assert!(money_minor("").is_err());
        assert_eq!(format_minor(123456), "1234.56");
        assert_eq!(format_minor(-5), "-0.05");
    }

    /// An extension is kept, RFC 3966 style, and reads back the same: a
    /// phone stored this way normalises to itself.
    #[test]
    fn phone_extensions_are_kept_and_read_back() {
        for raw in [
            "020 7946 0000 ext. 123",
            "+44 20 7946 0000 x123",
            "020 7946 0000 extension 123",
            "tel:+44-20-7946-0000;ext=123",
        ] {
            assert_eq!(
                phone(raw, Region::GB).as_deref(),
                Ok("+442079460000;ext=123"),
                "{raw}"
            );
        }
        assert_eq!(
            phone("+442079460000;ext=123", Region::GB).as_deref(),
            Ok("+442079460000;ext=123")
        );
        assert_eq!(
            phone("020 7946 0000", Region::GB).as_deref(),
            Ok("+442079460000")
        );
        assert_eq!(
            split_phones("+442079460000;ext=123; +447911123456;;07911 123457 ; "),
            ["+442079460000;ext=123", "+447911123456", "07911 123457"]
        );
        assert_eq!(
            split_phones("+44 20 7946 0000; EXT=9"),
            ["+44 20 7946 0000; EXT=9"]
        );
    }
}
