//! Turns values into short screen text: counts, durations, ages, times,
//! addresses that fit a column.
//!
//! Owns: those text forms. Must not: read the clock; times come in.

use std::time::Duration;

use crate::model::seen::SocketAge;

/// `262,144`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `500ms`, `1s`, `2.5s`, `5m`.
pub fn interval(value: Duration) -> String {
    let ms = value.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// How long a sample took: `2.4ms`, `340ms`, `1.2s`.
pub fn took(value: Duration) -> String {
    let micros = value.as_micros();
    if micros < 10_000 {
        format!("{:.1}ms", micros as f64 / 1000.0)
    } else if micros < 1_000_000 {
        format!("{}ms", micros / 1000)
    } else {
        format!("{:.1}s", micros as f64 / 1_000_000.0)
    }
}

/// Time left on a timer: `0.4s`, `42s`, `7199s`.
pub(crate) fn seconds_left(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// `12s`, `4m05s`, `3h02m`; `≥` when it was there before we started.
pub(crate) fn age(value: SocketAge) -> String {
    let secs = value.ms / 1000;
    let text = if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs / 60) % 60)
    };
    if value.at_least {
        format!("≥{text}")
    } else {
        text
    }
}

/// Cuts `text` to `width` characters, keeping its end (the port) and
/// marking the cut with `…`.
pub(crate) fn fit_keep_end(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = chars[chars.len() - (width - 1)..].iter().collect();
    format!("…{tail}")
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let head: String = text.chars().take(width - 1).collect();
    format!("{head}…")
}

/// Word-wraps `text` into at most `max_lines` lines of `width` characters;
/// the last line is cut with `…` when text remains.
pub(crate) fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed =
            current.chars().count() + word.chars().count() + usize::from(!current.is_empty());
        if needed > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = fit(&format!("{last} …"), width);
        }
    }
    lines.into_iter().map(|l| fit(&l, width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_short_and_exact() {
        assert_eq!(count(262_144), "262,144");
        assert_eq!(count(12), "12");
        assert_eq!(interval(Duration::from_millis(500)), "500ms");
        assert_eq!(interval(Duration::from_millis(2500)), "2.5s");
        assert_eq!(interval(Duration::from_secs(120)), "2m");
        assert_eq!(took(Duration::from_micros(2400)), "2.4ms");
        assert_eq!(seconds_left(42_500), "42s");
        assert_eq!(
            age(SocketAge {
                ms: 245_000,
                at_least: true
            }),
            "≥4m05s"
        );
        assert_eq!(fit_keep_end("[2001:db8::1]:10000", 10), "…:1]:10000");
        assert_eq!(fit("python3", 4), "pyt…");
        assert_eq!(wrap("a bb ccc dddd", 6, 2), ["a bb", "ccc …"]);
        assert_eq!(wrap("a bb", 6, 2), ["a bb"]);
    }
}
