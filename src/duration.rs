//! Durations typed by the user (`--interval`, and any later duration flag).
//!
//! Owns: turning `500ms`, `1s`, `2.5s`, `1min`, `1h` or a bare number of
//! seconds into a `Duration` through humantime, and range checks that cannot
//! overflow. Must not: panic on any input (it is fuzzed), read a clock.

use std::time::Duration;

/// What every rejection suggests instead.
const EXAMPLES: &str = "write e.g. 500ms, 1s, 2.5s, 1min or 1h";

/// Parses a duration: humantime spans (`250ms`, `1.5s`, `2m`, `1min`, `1h`,
/// `1h 30min`) or a bare decimal number of seconds (`3`, `0.5`).
/// Exponents (`1e3`), signs and other forms are refused with a one-line
/// message naming the fix. Never panics.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let is_bare_number = !trimmed.is_empty()
        && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.')
        && trimmed.chars().any(|c| c.is_ascii_digit());
    let spelled = if is_bare_number {
        format!("{trimmed}s")
    } else {
        trimmed.to_string()
    };
    match humantime::parse_duration(&spelled) {
        Ok(duration) => Ok(duration),
        Err(humantime::DurationError::NumberOverflow) => Err(format!(
            "'{trimmed}' is too long to be a duration: {EXAMPLES}"
        )),
        Err(_) => Err(format!("'{trimmed}' is not a duration: {EXAMPLES}")),
    }
}

/// Parses a duration and checks it lies within `[min, max]`; `what` names
/// the flag in the message (e.g. "interval").
pub(crate) fn parse_duration_within(
    text: &str,
    what: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < min || duration > max {
        return Err(format!(
            "{what} '{}' must be between {} and {}",
            text.trim(),
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1min"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h 30min"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration(" 0.5 "), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn exponents_signs_and_huge_numbers_are_refused_without_panic() {
        for text in [
            "1e3",
            "1e20",
            "-1s",
            "+1s",
            "inf",
            "NaN",
            "",
            ".",
            "1..2",
            "18446744073709551615999",
            "44674407370951651616",
            "99999999999999999999999999h",
            "18446744073709551615y",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains("500ms"), "{text}: {err}");
        }
    }

    #[test]
    fn limits_are_checked_after_an_exact_parse() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(3600));
        let check = |text| parse_duration_within(text, "interval", min, max);
        assert_eq!(check("1h"), Ok(max));
        assert_eq!(check("100ms"), Ok(min));
        for text in ["18446744073709551615", "1h 1s", "99ms", "0"] {
            let err = check(text).expect_err(text);
            assert!(err.contains("between 100ms and 1h"), "{text}: {err}");
        }
    }
}
