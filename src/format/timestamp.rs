//! Formats Unix-millisecond timestamps as UTC text without reading the clock.
//!
//! Owns: civil-date arithmetic for display. Must not: read the clock or the
//! time zone database.

use std::time::{Duration, UNIX_EPOCH};

/// `2026-11-23 21:40:12` (UTC) for a Unix time in milliseconds.
pub(crate) fn format_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    format!("{year:04}-{month:02}-{day:02} {}", format_hms(unix_ms))
}

/// `21:40:12` (UTC) for a Unix time in milliseconds.
pub(crate) fn format_hms(unix_ms: u64) -> String {
    let secs_of_day = (unix_ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// `21:40:12.345678` (UTC) for a Unix time in microseconds: the exact time
/// of a kernel event.
pub(crate) fn format_hms_micros(unix_us: u64) -> String {
    format!("{}.{:06}", format_hms(unix_us / 1000), unix_us % 1_000_000)
}

/// `2026-11-23T21:40:12.345Z`: RFC 3339 in UTC with milliseconds, the
/// `time` of every JSON document.
pub fn format_rfc3339(unix_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(unix_ms)).to_string()
}

/// Parses RFC 3339 in UTC (`2026-11-23T21:40:12Z`, `…12.345Z`) to Unix
/// milliseconds; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let time = humantime::parse_rfc3339(text.trim()).ok()?;
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_millis()).ok()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_utc(1_795_470_012_345), "2026-11-23 21:40:12");
        assert_eq!(format_hms(1_795_470_012_999), "21:40:12");
    }

    #[test]
    fn rfc3339_round_trips() {
        for ms in [0, 951_782_400_000, 1_795_470_012_345, 1_795_470_012_999] {
            let text = format_rfc3339(ms);
            assert_eq!(parse_rfc3339(&text), Some(ms), "{text}");
        }
        assert_eq!(
            format_rfc3339(1_795_470_012_345),
            "2026-11-23T21:40:12.345Z"
        );
        assert_eq!(
            parse_rfc3339("2026-11-23T21:40:12Z"),
            Some(1_795_470_012_000)
        );
        for bad in ["", "yesterday", "2026-13-01T00:00:00Z", "+90s"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
