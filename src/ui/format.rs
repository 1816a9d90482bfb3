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

/// A byte count in at most five characters, `ls -h` style (powers of
/// 1024): `512`, `4.0K`, `163K`, `4.0M`, `1.2G`. Used only where the exact
/// figure does not fit.
pub fn bytes_short(value: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    if value < 1024 {
        return value.to_string();
    }
    let mut scaled = value as f64 / 1024.0;
    let mut unit = 0;
    while scaled >= 999.5 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    if scaled < 9.95 {
        format!("{scaled:.1}{}", UNITS[unit])
    } else {
        format!("{scaled:.0}{}", UNITS[unit])
    }
}

/// A peer address as ss prints it: `0.0.0.0:*` / `[::]:*` for a socket
/// with no peer (a listener), the address otherwise.
pub fn peer(remote: &std::net::SocketAddr) -> String {
    if remote.port() == 0 && remote.ip().is_unspecified() {
        match remote {
            std::net::SocketAddr::V4(_) => "0.0.0.0:*".to_string(),
            std::net::SocketAddr::V6(_) => "[::]:*".to_string(),
        }
    } else {
        remote.to_string()
    }
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
        assert_eq!(bytes_short(1023), "1023");
        assert_eq!(bytes_short(4_163_072), "4.0M");
        assert_eq!(bytes_short(166_912), "163K");
        assert_eq!(bytes_short(3_782_145), "3.6M");
        assert_eq!(bytes_short(u64::from(u32::MAX)), "4.0G");
        assert_eq!(peer(&"0.0.0.0:0".parse().expect("addr")), "0.0.0.0:*");
        assert_eq!(peer(&"[::]:0".parse().expect("addr")), "[::]:*");
        assert_eq!(peer(&"10.0.0.9:5".parse().expect("addr")), "10.0.0.9:5");
        assert_eq!(wrap("a bb ccc dddd", 6, 2), ["a bb", "ccc …"]);
        assert_eq!(wrap("a bb", 6, 2), ["a bb"]);
    }
}
