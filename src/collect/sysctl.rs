//! The sysctls that explain queue, TIME_WAIT and port behaviour, read from
//! /proc/sys (or a test tree laid out the same way).
//!
//! Owns: `read_settings` and the pure `parse_*` helpers for sysctl text.
//! Must not: fail a sample over a sysctl: an unreadable or odd value is
//! `None`. Must not write sysctls.
//!
//! /proc/sys/net is per network namespace, and the namespace is the one of
//! the thread that opens the file: read these on the collector's thread.

use std::fs;
use std::path::Path;

use crate::model::{Settings, Sysctl};

/// Reads every `Sysctl` below `sys_root` (normally `/proc/sys`).
pub fn read_settings(sys_root: &Path) -> Settings {
    let read = |sysctl: Sysctl| fs::read_to_string(sys_root.join(sysctl.proc_path())).ok();
    let number_u32 = |sysctl| read(sysctl).as_deref().and_then(parse_u32);
    Settings {
        somaxconn: number_u32(Sysctl::Somaxconn),
        tcp_max_syn_backlog: number_u32(Sysctl::TcpMaxSynBacklog),
        tcp_syncookies: number_u32(Sysctl::TcpSyncookies),
        tcp_abort_on_overflow: number_u32(Sysctl::TcpAbortOnOverflow),
        tcp_max_tw_buckets: read(Sysctl::TcpMaxTwBuckets).as_deref().and_then(parse_u64),
        ip_local_port_range: read(Sysctl::IpLocalPortRange)
            .as_deref()
            .and_then(parse_port_range),
        tcp_tw_reuse: number_u32(Sysctl::TcpTwReuse),
        tcp_fin_timeout: number_u32(Sysctl::TcpFinTimeout),
    }
}

/// `"4096\n"` → 4096.
pub(crate) fn parse_u32(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

/// `"262144\n"` → 262144.
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `"32768\t60999\n"` → (32768, 60999). Any whitespace between the two;
/// `None` unless exactly two ports with first ≤ last.
pub(crate) fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut parts = text.split_ascii_whitespace();
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    (parts.next().is_none() && first <= last).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_or_without_newline() {
        assert_eq!(parse_u32("4096\n"), Some(4096));
        assert_eq!(parse_u32(" 1 "), Some(1));
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u32("-1\n"), None);
        assert_eq!(parse_u32("4096 1\n"), None);
        assert_eq!(parse_u64("18446744073709551615\n"), Some(u64::MAX));
        assert_eq!(parse_u64("x"), None);
    }

    #[test]
    fn port_range_parses_tab_separated() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("1024 65535"), Some((1024, 65535)));
        assert_eq!(parse_port_range("5000\t5000\n"), Some((5000, 5000)));
        assert_eq!(parse_port_range("60999\t32768\n"), None, "reversed");
        assert_eq!(parse_port_range("32768\n"), None);
        assert_eq!(parse_port_range("1 2 3"), None);
        assert_eq!(parse_port_range("1\t70000"), None);
    }

    #[test]
    fn reads_a_tree_and_leaves_missing_or_odd_values_unset() {
        let root = tempfile::tempdir().expect("tempdir");
        let write = |sysctl: Sysctl, text: &str| {
            let path = root.path().join(sysctl.proc_path());
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        };
        write(Sysctl::Somaxconn, "1234\n");
        write(Sysctl::TcpMaxSynBacklog, "512\n");
        write(Sysctl::TcpSyncookies, "1\n");
        write(Sysctl::TcpMaxTwBuckets, "262144\n");
        write(Sysctl::IpLocalPortRange, "32768\t60999\n");
        write(Sysctl::TcpTwReuse, "2\n");
        write(Sysctl::TcpFinTimeout, "garbage\n");
        // tcp_abort_on_overflow left out.
        let settings = read_settings(root.path());
        assert_eq!(
            settings,
            Settings {
                somaxconn: Some(1234),
                tcp_max_syn_backlog: Some(512),
                tcp_syncookies: Some(1),
                tcp_abort_on_overflow: None,
                tcp_max_tw_buckets: Some(262_144),
                ip_local_port_range: Some((32768, 60999)),
                tcp_tw_reuse: Some(2),
                tcp_fin_timeout: None,
            }
        );
    }

    #[test]
    fn missing_root_gives_all_none() {
        assert_eq!(
            read_settings(Path::new("/nonexistent")),
            Settings::default()
        );
    }

    #[test]
    fn live_proc_sys_has_every_value() {
        let settings = read_settings(Path::new("/proc/sys"));
        for sysctl in Sysctl::ALL {
            assert!(
                settings.display_value(sysctl).is_some(),
                "{}",
                sysctl.name()
            );
        }
    }
}
