//! The namespace-wide TCP counters: /proc/net/netstat (`TcpExt:`),
//! /proc/net/snmp (`Tcp:`) and /proc/net/sockstat (`TCP:`).
//!
//! Owns: the pure parsers for those three files and `read_counters`, the
//! only function here that touches the file system. Must not: compute
//! deltas or judge the values (that is `model` and `alert`).
//!
//! netstat and snmp share a layout: for each table, a header line
//! `Prefix: Name1 Name2 ...` followed by a value line `Prefix: v1 v2 ...`.

use std::fs;
use std::path::Path;

use super::CollectError;
use super::error::ParseError;
use crate::model::counters::CounterTable;
use crate::model::{Counter, Counters, Sockstat};

/// The tracked `TcpExt:` counters from /proc/net/netstat. Counters the
/// kernel does not print (an older kernel) stay `None`.
pub(crate) fn parse_netstat(text: &str) -> Result<Counters, ParseError> {
    let mut counters = Counters::default();
    fill_table(text, "TcpExt:", CounterTable::TcpExt, &mut counters)?;
    Ok(counters)
}

/// The tracked `Tcp:` counters from /proc/net/snmp.
pub(crate) fn parse_snmp(text: &str) -> Result<Counters, ParseError> {
    let mut counters = Counters::default();
    fill_table(text, "Tcp:", CounterTable::Tcp, &mut counters)?;
    Ok(counters)
}

/// The `TCP: inuse N orphan N tw N alloc N mem N` line of /proc/net/sockstat.
pub(crate) fn parse_sockstat(text: &str) -> Result<Sockstat, ParseError> {
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, line)| line.starts_with("TCP:"))
        .ok_or_else(|| ParseError::new(0, "no 'TCP:' line"))?;
    let line_number = index + 1;
    let mut words = line.split_ascii_whitespace().skip(1);
    let mut found: [Option<u64>; 5] = [None; 5];
    const KEYS: [&str; 5] = ["inuse", "orphan", "tw", "alloc", "mem"];
    while let Some(key) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| ParseError::new(line_number, format!("'{key}' has no value")))?;
        if let Some(slot) = KEYS.iter().position(|k| *k == key) {
            found[slot] = Some(value.parse().map_err(|_| {
                ParseError::new(line_number, format!("{key} '{value}' is not a number"))
            })?);
        }
    }
    let take = |slot: usize| {
        found[slot]
            .ok_or_else(|| ParseError::new(line_number, format!("no '{}' value", KEYS[slot])))
    };
    Ok(Sockstat {
        inuse: take(0)?,
        orphan: take(1)?,
        tw: take(2)?,
        alloc: take(3)?,
        mem_pages: take(4)?,
    })
}

/// Finds the header/value pair of lines for `prefix` and stores each
/// tracked counter of `table` into `counters`.
fn fill_table(
    text: &str,
    prefix: &str,
    table: CounterTable,
    counters: &mut Counters,
) -> Result<(), ParseError> {
    let mut lines = text.lines().enumerate();
    let (header_index, header) = lines
        .by_ref()
        .find(|(_, line)| line.starts_with(prefix))
        .ok_or_else(|| ParseError::new(0, format!("no '{prefix}' table")))?;
    let (value_index, values) = lines.next().ok_or_else(|| {
        ParseError::new(
            header_index + 1,
            format!("'{prefix}' header has no value line"),
        )
    })?;
    let value_line = value_index + 1;
    if !values.starts_with(prefix) {
        return Err(ParseError::new(
            value_line,
            format!("expected the '{prefix}' value line after its header"),
        ));
    }
    let names: Vec<&str> = header.split_ascii_whitespace().skip(1).collect();
    let numbers: Vec<&str> = values.split_ascii_whitespace().skip(1).collect();
    if names.len() != numbers.len() {
        return Err(ParseError::new(
            value_line,
            format!(
                "'{prefix}' has {} names but {} values",
                names.len(),
                numbers.len()
            ),
        ));
    }
    for counter in Counter::ALL.into_iter().filter(|c| c.table() == table) {
        let Some(position) = names.iter().position(|n| *n == counter.kernel_name()) else {
            continue;
        };
        let text = numbers.get(position).copied().unwrap_or_default();
        let value = text.parse().map_err(|_| {
            ParseError::new(
                value_line,
                format!("{} '{text}' is not a number", counter.kernel_name()),
            )
        })?;
        counters.set(counter, value);
    }
    Ok(())
}

/// Reads netstat, snmp and sockstat from a namespace's `net` directory
/// (e.g. `/proc/thread-self/net`).
pub(crate) fn read_counters(net_dir: &Path) -> Result<(Counters, Sockstat), CollectError> {
    let netstat = read_and_parse(net_dir, "netstat", parse_netstat)?;
    let snmp = read_and_parse(net_dir, "snmp", parse_snmp)?;
    let sockstat = read_and_parse(net_dir, "sockstat", parse_sockstat)?;
    let mut counters = netstat;
    for (counter, value) in snmp.iter() {
        if let Some(value) = value {
            counters.set(counter, value);
        }
    }
    Ok((counters, sockstat))
}

fn read_and_parse<T>(
    net_dir: &Path,
    name: &str,
    parse: fn(&str) -> Result<T, ParseError>,
) -> Result<T, CollectError> {
    let path = net_dir.join(name);
    let text = fs::read_to_string(&path).map_err(|source| CollectError::ProcUnreadable {
        path: path.clone(),
        source,
    })?;
    parse(&text).map_err(|err| err.in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/proc");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture")
    }

    #[test]
    fn netstat_fixture_gives_every_tcpext_counter_the_kernel_has() {
        let counters = parse_netstat(&fixture("netstat")).expect("parses");
        for counter in Counter::ALL {
            let value = counters.get(counter);
            match counter.table() {
                // Linux 6.18 has no TCPAbortOnOverflow MIB: with
                // tcp_abort_on_overflow=1 the RST is sent without a counter
                // of its own. Absent must read as None, never 0.
                _ if counter == Counter::TcpAbortOnOverflow => assert_eq!(value, None),
                CounterTable::TcpExt => assert!(value.is_some(), "{counter:?} missing"),
                CounterTable::Tcp => assert_eq!(value, None, "{counter:?} is not in netstat"),
            }
        }
    }

    #[test]
    fn snmp_fixture_gives_every_tcp_counter_and_skips_maxconn() {
        let counters = parse_snmp(&fixture("snmp")).expect("parses MaxConn -1 without fuss");
        for counter in Counter::ALL {
            assert_eq!(
                counters.get(counter).is_some(),
                counter.table() == CounterTable::Tcp,
                "{counter:?}"
            );
        }
    }

    #[test]
    fn values_land_on_the_right_names() {
        let text = "TcpExt: SyncookiesSent TW ListenOverflows ListenDrops\n\
                    TcpExt: 1 2 3 4\n\
                    IpExt: InNoRoutes\nIpExt: 9\n";
        let counters = parse_netstat(text).expect("parses");
        assert_eq!(counters.get(Counter::SyncookiesSent), Some(1));
        assert_eq!(counters.get(Counter::TimeWaitClosed), Some(2));
        assert_eq!(counters.get(Counter::ListenOverflows), Some(3));
        assert_eq!(counters.get(Counter::ListenDrops), Some(4));
        assert_eq!(
            counters.get(Counter::TcpReqQFullDrop),
            None,
            "absent, not 0"
        );

        let snmp = "Ip: Forwarding\nIp: 1\n\
                    Tcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab OutRsts\n\
                    Tcp: 1 -1 20 3 12\nUdp: InDatagrams\nUdp: 5\n";
        let counters = parse_snmp(snmp).expect("parses");
        assert_eq!(counters.get(Counter::ActiveOpens), Some(20));
        assert_eq!(counters.get(Counter::CurrEstab), Some(3));
        assert_eq!(counters.get(Counter::OutRsts), Some(12));
    }

    #[test]
    fn broken_tables_are_errors_with_line_numbers() {
        let mismatch = parse_netstat("TcpExt: TW ListenDrops\nTcpExt: 1\n").expect_err("count");
        assert_eq!(mismatch.line, 2);
        assert!(
            mismatch.reason.contains("2 names but 1 values"),
            "{mismatch}"
        );

        let not_number = parse_netstat("TcpExt: TW ListenDrops\nTcpExt: 1 x\n").expect_err("nan");
        assert!(
            not_number.reason.contains("ListenDrops 'x'"),
            "{not_number}"
        );

        let no_values = parse_snmp("Ip: a\nIp: 1\nTcp: ActiveOpens\n").expect_err("no values");
        assert_eq!(no_values.line, 3);

        let swapped = parse_snmp("Tcp: ActiveOpens\nUdp: 1\n").expect_err("wrong value line");
        assert_eq!(swapped.line, 2);

        let missing = parse_snmp("Ip: a\nIp: 1\n").expect_err("no Tcp");
        assert!(missing.reason.contains("no 'Tcp:' table"), "{missing}");

        let empty = parse_netstat("").expect_err("empty");
        assert!(empty.reason.contains("TcpExt"), "{empty}");
    }

    #[test]
    fn tcp_prefix_does_not_match_tcpext() {
        // "TcpExt:" must not be mistaken for "Tcp:".
        let err = parse_snmp("TcpExt: TW\nTcpExt: 1\n").expect_err("no Tcp: table");
        assert!(err.reason.contains("'Tcp:'"), "{err}");
    }

    #[test]
    fn sockstat_fixture_and_variants() {
        let stat = parse_sockstat(&fixture("sockstat")).expect("parses");
        assert_eq!(
            stat,
            Sockstat {
                inuse: 11,
                orphan: 0,
                tw: 1,
                alloc: 15,
                mem_pages: 0
            }
        );
        let odd_order = parse_sockstat("TCP: tw 5 mem 1 inuse 2 orphan 3 alloc 4 extra 9\n")
            .expect("keys by name");
        assert_eq!(odd_order.tw, 5);
        assert_eq!(odd_order.alloc, 4);

        let missing_line = parse_sockstat("sockets: used 3\nUDP: inuse 0 mem 0\n").expect_err("");
        assert!(
            missing_line.reason.contains("no 'TCP:' line"),
            "{missing_line}"
        );
        let dangling = parse_sockstat("sockets: used 3\nTCP: inuse 1 tw\n").expect_err("");
        assert_eq!(dangling.line, 2);
        assert!(dangling.reason.contains("'tw' has no value"), "{dangling}");
        let nan = parse_sockstat("TCP: inuse 1 orphan 0 tw many alloc 1 mem 0").expect_err("");
        assert!(nan.reason.contains("tw 'many'"), "{nan}");
        let short = parse_sockstat("TCP: inuse 1 orphan 0").expect_err("");
        assert!(short.reason.contains("no 'tw' value"), "{short}");
    }

    #[test]
    fn read_counters_merges_the_three_files() {
        let (counters, sockstat) = read_counters(Path::new(FIXTURES)).expect("fixtures");
        let missing: Vec<Counter> = counters
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(counter, _)| counter)
            .collect();
        assert_eq!(missing, vec![Counter::TcpAbortOnOverflow]);
        assert_eq!(sockstat.tw, 1);
    }

    #[test]
    fn read_counters_names_the_broken_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["netstat", "snmp"] {
            std::fs::copy(format!("{FIXTURES}/{name}"), dir.path().join(name)).expect("copy");
        }
        let err = read_counters(dir.path()).expect_err("no sockstat");
        assert!(
            matches!(err, CollectError::ProcUnreadable { .. }),
            "{err:?}"
        );
        std::fs::write(dir.path().join("sockstat"), "TCP: inuse x\n").expect("write");
        let err = read_counters(dir.path()).expect_err("broken sockstat");
        assert!(
            err.to_string()
                .starts_with(&format!("{}:1:", dir.path().join("sockstat").display())),
            "{err}"
        );
    }

    #[test]
    fn live_counters_read() {
        let (counters, _) = read_counters(Path::new("/proc/thread-self/net")).expect("live /proc");
        assert!(counters.get(Counter::ListenOverflows).is_some());
        assert!(counters.get(Counter::ActiveOpens).is_some());
    }
}
