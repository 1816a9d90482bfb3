//! The /proc socket table: `/proc/.../net/tcp` and `tcp6`, the fallback when
//! sock_diag netlink cannot be used (another user's namespace, no privilege).
//!
//! Owns: `ProcTable` and the pure parser for one line of those files. Must
//! not: resolve processes, aggregate, or pretend to know a listener's backlog
//! (the files do not carry it: `backlog_known` is always false here).
//!
//! The line format is the kernel's `get_tcp4_sock`/`get_tcp6_sock`
//! (`net/ipv4/tcp_ipv4.c`, `net/ipv6/tcp_ipv6.c`): addresses are 32-bit
//! words printed in host byte order, ports in host order; `st`, the queues,
//! `tr`, `tm->when` and `retrnsmt` are hex; `uid` and `inode` are decimal.
//! `tm->when` is in clock ticks (USER_HZ, 100 on Linux: 10 ms a tick).
//!
//! Parsed by hand on purpose, not with the `procfs` crate: that crate drops
//! the timer columns (`tr`, `tm->when`, `retrnsmt`) that the SYN-retry and
//! TIME_WAIT countdowns need, and allocates per line, where this parser
//! reuses one line buffer and allocates nothing per socket.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::error::ParseError;
use super::{CollectError, DumpRequest, RecordSink, SocketTable};
use crate::model::{SocketRecord, SourceKind, TcpState, TimerKind};

/// Milliseconds per clock tick when USER_HZ is 100 (every mainstream arch).
pub(crate) const DEFAULT_MS_PER_TICK: u32 = 10;

/// The TCP socket table of one network namespace, read from its `net`
/// directory in /proc.
#[derive(Debug)]
pub struct ProcTable {
    net_dir: PathBuf,
    ms_per_tick: u32,
    /// Reused for every line of every dump.
    line: String,
}

impl ProcTable {
    /// `net_dir` is e.g. `/proc/thread-self/net` (the calling thread's
    /// namespace) or `/proc/1234/net` (pid 1234's namespace).
    pub fn new(net_dir: PathBuf) -> ProcTable {
        ProcTable {
            net_dir,
            ms_per_tick: ms_per_clock_tick(),
            line: String::with_capacity(256),
        }
    }

    pub fn net_dir(&self) -> &Path {
        &self.net_dir
    }

    fn dump_file(
        &mut self,
        name: &str,
        optional: bool,
        request: &DumpRequest,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), CollectError> {
        let path = self.net_dir.join(name);
        let file = match File::open(&path) {
            Ok(file) => file,
            // tcp6 is absent when the kernel runs without IPv6 (ipv6.disable=1).
            Err(err) if optional && err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(match self.watched_pid_gone(&source) {
                    Some(pid) => CollectError::NoSuchPid { pid },
                    None => CollectError::ProcUnreadable { path, source },
                });
            }
        };
        let reader = BufReader::with_capacity(64 * 1024, file);
        dump_lines(reader, &mut self.line, self.ms_per_tick, request, sink).map_err(|fault| {
            match fault {
                LineFault::Io(source) => CollectError::ProcUnreadable {
                    path: path.clone(),
                    source,
                },
                LineFault::Parse(err) => err.in_file(path.clone()),
            }
        })
    }
}

impl ProcTable {
    /// For a `/proc/PID/net` table whose process has exited, that pid.
    fn watched_pid_gone(&self, err: &io::Error) -> Option<u32> {
        if err.kind() != io::ErrorKind::NotFound {
            return None;
        }
        let process_dir = self.net_dir.parent()?;
        let pid = process_dir.file_name()?.to_str()?.parse().ok()?;
        (process_dir.parent() == Some(Path::new("/proc")) && !process_dir.exists()).then_some(pid)
    }
}

impl SocketTable for ProcTable {
    fn kind(&self) -> SourceKind {
        SourceKind::Proc
    }

    fn dump(
        &mut self,
        request: &DumpRequest,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), CollectError> {
        // `admits` binary-searches long port lists: sort a copy if needed.
        let sorted;
        let request = if request.ports.is_sorted() {
            request
        } else {
            sorted = request.with_sorted_ports();
            &sorted
        };
        self.dump_file("tcp", false, request, sink)?;
        self.dump_file("tcp6", true, request, sink)
    }
}

/// Why streaming a table stopped.
#[derive(Debug)]
pub(crate) enum LineFault {
    Io(io::Error),
    Parse(ParseError),
}

/// Streams a whole `tcp`/`tcp6` file: checks the header, parses each line
/// into `line_buf` (reused), and hands the records that match `request` to
/// `sink`. Lines whose state the model does not know are skipped.
pub(crate) fn dump_lines<R: BufRead>(
    mut reader: R,
    line_buf: &mut String,
    ms_per_tick: u32,
    request: &DumpRequest,
    sink: &mut RecordSink<'_>,
) -> Result<(), LineFault> {
    let mut line_number = 0;
    loop {
        line_buf.clear();
        if reader.read_line(line_buf).map_err(LineFault::Io)? == 0 {
            break;
        }
        line_number += 1;
        if line_number == 1 {
            if !line_buf.contains("local_address") {
                return Err(LineFault::Parse(ParseError::new(
                    1,
                    "expected the header line (sl local_address ...)",
                )));
            }
            continue;
        }
        if line_buf.trim().is_empty() {
            continue;
        }
        let record = parse_socket_line(line_buf, ms_per_tick)
            .map_err(|reason| LineFault::Parse(ParseError::new(line_number, reason)))?;
        if let Some(record) = record
            && request.admits(&record)
        {
            sink(&record);
        }
    }
    Ok(())
}

/// Parses one data line of /proc/net/tcp or tcp6. `Ok(None)` for a state
/// number the model does not know (a newer kernel's), an `Err` with the
/// reason for anything else that does not fit the format.
pub(crate) fn parse_socket_line(
    line: &str,
    ms_per_tick: u32,
) -> Result<Option<SocketRecord>, String> {
    let mut fields = line.split_ascii_whitespace();
    let mut next = |name: &str| {
        fields
            .next()
            .ok_or_else(|| format!("missing the {name} column"))
    };
    let _slot = next("sl")?;
    let local = parse_endpoint(next("local_address")?)?;
    let remote = parse_endpoint(next("rem_address")?)?;
    let state_code = parse_hex_u8(next("st")?, "st")?;
    let (tx_queue, rx_queue) = split_pair(next("tx_queue:rx_queue")?, "tx_queue:rx_queue")?;
    let (timer, when) = split_pair(next("tr:tm->when")?, "tr:tm->when")?;
    let retransmits = next("retrnsmt")?;
    let uid = next("uid")?;
    let _timeout = next("timeout")?;
    let inode = next("inode")?;

    let Some(state) = TcpState::from_kernel(state_code) else {
        return Ok(None);
    };
    let when_ticks = parse_hex_u64(when, "tm->when")?;
    let timer_expires_ms =
        u32::try_from(when_ticks.saturating_mul(u64::from(ms_per_tick))).unwrap_or(u32::MAX);
    Ok(Some(SocketRecord {
        state,
        local,
        remote,
        recv_queue: parse_hex_u32(rx_queue, "rx_queue")?,
        send_queue: parse_hex_u32(tx_queue, "tx_queue")?,
        backlog_known: false,
        inode: inode
            .parse()
            .map_err(|_| format!("inode '{inode}' is not a decimal number"))?,
        uid: uid
            .parse()
            .map_err(|_| format!("uid '{uid}' is not a decimal number"))?,
        timer: TimerKind::from_kernel(parse_hex_u8(timer, "tr")?),
        timer_expires_ms,
        retransmits: u8::try_from(parse_hex_u32(retransmits, "retrnsmt")?).unwrap_or(u8::MAX),
    }))
}

fn split_pair<'a>(field: &'a str, name: &str) -> Result<(&'a str, &'a str), String> {
    field
        .split_once(':')
        .ok_or_else(|| format!("{name} '{field}' has no ':'"))
}

/// `0100007F:2710` → 127.0.0.1:10000; 32 hex digits before the colon for IPv6.
fn parse_endpoint(field: &str) -> Result<SocketAddr, String> {
    let (addr, port) = field
        .split_once(':')
        .ok_or_else(|| format!("address '{field}' has no ':port'"))?;
    let port = u16::from_str_radix(port, 16)
        .map_err(|_| format!("port '{port}' in '{field}' is not 4 hex digits"))?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(host_order_word(addr, field)?)),
        32 => {
            let mut octets = [0u8; 16];
            for (chunk, word) in octets.chunks_exact_mut(4).zip(0..4) {
                let start = word * 8;
                let hex = addr
                    .get(start..start + 8)
                    .ok_or_else(|| format!("address '{field}' is not hex"))?;
                chunk.copy_from_slice(&host_order_word(hex, field)?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        n => {
            return Err(format!(
                "address '{addr}' has {n} hex digits, expected 8 or 32"
            ));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// The kernel prints each 32-bit word of a network-order address as a host
/// integer, so its bytes in memory order are the wire bytes.
fn host_order_word(hex: &str, field: &str) -> Result<[u8; 4], String> {
    u32::from_str_radix(hex, 16)
        .map(u32::to_ne_bytes)
        .map_err(|_| format!("address '{field}' is not hex"))
}

fn parse_hex_u8(text: &str, name: &str) -> Result<u8, String> {
    u8::from_str_radix(text, 16).map_err(|_| format!("{name} '{text}' is not a hex byte"))
}

fn parse_hex_u32(text: &str, name: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 16).map_err(|_| format!("{name} '{text}' is not a hex number"))
}

fn parse_hex_u64(text: &str, name: &str) -> Result<u64, String> {
    u64::from_str_radix(text, 16).map_err(|_| format!("{name} '{text}' is not a hex number"))
}

/// Milliseconds per USER_HZ tick, from sysconf(_SC_CLK_TCK); 10 if unknown.
fn ms_per_clock_tick() -> u32 {
    // SAFETY: sysconf has no preconditions and only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    match u32::try_from(ticks) {
        Ok(hz) if hz > 0 && hz <= 1000 => 1000 / hz,
        _ => DEFAULT_MS_PER_TICK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StateMask;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/proc");

    fn collect(path: &str, request: &DumpRequest) -> Result<Vec<SocketRecord>, CollectError> {
        let mut table = ProcTable::new(PathBuf::from(path));
        let mut out = Vec::new();
        table.dump(request, &mut |r| out.push(*r))?;
        Ok(out)
    }

    fn line(text: &str) -> SocketRecord {
        parse_socket_line(text, 10)
            .expect("parses")
            .expect("known state")
    }

    #[test]
    fn listener_has_its_accept_queue_but_no_backlog() {
        let rec = line(
            "   2: 0100007F:2710 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 25495 2 000000003a754645 100 0 0 10 0",
        );
        assert_eq!(rec.state, TcpState::Listen);
        assert_eq!(rec.local, "127.0.0.1:10000".parse().expect("addr"));
        assert_eq!(rec.remote, "0.0.0.0:0".parse().expect("addr"));
        assert_eq!(rec.recv_queue, 1);
        assert_eq!(rec.send_queue, 0);
        assert!(!rec.backlog_known);
        assert_eq!(rec.backlog(), None, "never a backlog of 0");
        assert_eq!(rec.inode, 25495);
        assert_eq!(rec.uid, 0);
        assert_eq!(rec.timer, TimerKind::None);
    }

    #[test]
    fn time_wait_timer_is_in_ticks_of_ten_ms() {
        // 0x1611 = 5649 ticks = 56.49 s of the 60 s TIME_WAIT.
        let rec = line(
            "   8: 0100007F:9904 0100007F:2710 06 00000000:00000000 03:00001611 00000000     0        0 0 3 0000000057efc87a",
        );
        assert_eq!(rec.state, TcpState::TimeWait);
        assert_eq!(rec.timer, TimerKind::TimeWait);
        assert_eq!(rec.timer_expires_ms, 56_490);
        assert_eq!(rec.inode, 0);
    }

    #[test]
    fn syn_sent_reports_retransmit_timer_and_count() {
        let rec = line(
            "   5: 0100007F:885E 0100007F:2711 02 00000001:00000000 01:00000039 00000003     0        0 25525 2 00000000a82f6bec 100 0 0 1 -1",
        );
        assert_eq!(rec.state, TcpState::SynSent);
        assert_eq!(
            rec.send_queue, 1,
            "the SYN counts as one unacknowledged byte"
        );
        assert_eq!(rec.timer, TimerKind::Retransmit);
        assert_eq!(rec.timer_expires_ms, 570);
        assert_eq!(rec.retransmits, 3);
    }

    #[test]
    fn retransmits_are_hex_and_saturate() {
        let rec = line(
            "   5: 0100007F:885E 0100007F:2711 02 00000001:00000000 01:00000039 00000010     0        0 1 2 0 100 0 0 1 -1",
        );
        assert_eq!(rec.retransmits, 16);
        let rec = line(
            "   5: 0100007F:885E 0100007F:2711 02 00000001:00000000 01:FFFFFFFFFFFF 00000100  1000        0 1 2 0",
        );
        assert_eq!(rec.retransmits, u8::MAX);
        assert_eq!(rec.timer_expires_ms, u32::MAX);
        assert_eq!(rec.uid, 1000);
    }

    #[test]
    fn ipv6_and_v4_mapped_addresses_decode() {
        let rec = line(
            "   1: 00000000000000000000000001000000:8968 00000000000000000000000001000000:28CB 01 00000000:00000000 00:00000000 00000000     0        0 25528 1 00000000d054a80b 20 0 0 10 -1",
        );
        assert_eq!(rec.local, "[::1]:35176".parse().expect("addr"));
        assert_eq!(rec.remote, "[::1]:10443".parse().expect("addr"));
        let mapped = line(
            "   3: 0000000000000000FFFF00000100007F:28CB 0000000000000000FFFF00000100007F:88FC 01 00000000:00000000 00:00000000 00000000     0        0 25529 1 000000000a4983dd 20 0 0 10 -1",
        );
        assert_eq!(
            mapped.local,
            "[::ffff:127.0.0.1]:10443".parse().expect("addr")
        );
        let global = line(
            "   0: 000000FD000000000000000002000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0 100 0 0 10 0",
        );
        assert_eq!(global.local, "[fd00::2]:80".parse().expect("addr"));
    }

    #[test]
    fn unknown_state_is_skipped_not_an_error() {
        let parsed = parse_socket_line(
            "   0: 0100007F:2710 00000000:0000 0D 00000000:00000000 00:00000000 00000000     0        0 1 1 0",
            10,
        );
        assert_eq!(parsed, Ok(None));
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        let cases = [
            ("   0: 0100007F:2710", "missing the rem_address column"),
            (
                "   0: 0100007G:2710 00000000:0000 0A 0:0 00:0 0 0 0 1",
                "is not hex",
            ),
            (
                "   0: 0100007F2710 00000000:0000 0A 0:0 00:0 0 0 0 1",
                "has no ':port'",
            ),
            (
                "   0: 01007F:2710 00000000:0000 0A 0:0 00:0 0 0 0 1",
                "expected 8 or 32",
            ),
            (
                "   0: 0100007F:2710 00000000:0000 0A 00000000 00:0 0 0 0 1",
                "has no ':'",
            ),
            (
                "   0: 0100007F:2710 00000000:0000 XY 0:0 00:0 0 0 0 1",
                "st 'XY'",
            ),
            (
                "   0: 0100007F:2710 00000000:0000 0A 0:0 00:0 0 0 0 -1",
                "inode '-1'",
            ),
            (
                "   0: 0100007F:2710 00000000:0000 0A 0:0 00:0 0 root 0 1",
                "uid 'root'",
            ),
            (
                "   0: 0100007F:2710 00000000:0000 0A 0:0 00:0 0 0 0",
                "missing the inode column",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_socket_line(text, 10).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn fixture_table_reads_every_socket_of_both_families() {
        let all = collect(FIXTURES, &DumpRequest::all()).expect("fixture reads");
        assert_eq!(all.len(), 16, "12 IPv4 + 4 IPv6 lines");
        let count = |s: TcpState| all.iter().filter(|r| r.state == s).count();
        assert_eq!(count(TcpState::Listen), 4);
        assert_eq!(count(TcpState::TimeWait), 1);
        assert_eq!(count(TcpState::SynSent), 1);
        assert_eq!(count(TcpState::Established), 10);
        let unread = all
            .iter()
            .find(|r| r.inode == 25521)
            .expect("server child with unread bytes");
        assert_eq!(unread.recv_queue, 5);
        let keepalive = all.iter().find(|r| r.inode == 25520).expect("client");
        assert_eq!(keepalive.timer, TimerKind::KeepAlive);
        assert!(all.iter().all(|r| !r.backlog_known));
        let not_accepted = all
            .iter()
            .filter(|r| r.state == TcpState::Established && r.inode == 0)
            .count();
        assert_eq!(not_accepted, 2, "children waiting in accept queues");
    }

    #[test]
    fn state_mask_and_ports_are_applied() {
        let listeners =
            collect(FIXTURES, &DumpRequest::listeners(&[10000, 10443])).expect("fixture reads");
        let ports: Vec<u16> = listeners.iter().map(|r| r.local.port()).collect();
        assert_eq!(ports, vec![10000, 10443]);
        let request = DumpRequest {
            states: StateMask::ALL.without(TcpState::Listen),
            ports: vec![10001],
            ..DumpRequest::all()
        };
        let to_full = collect(FIXTURES, &request).expect("fixture reads");
        assert_eq!(to_full.len(), 3, "{to_full:?}");
        assert!(
            to_full
                .iter()
                .all(|r| r.local.port() == 10001 || r.remote.port() == 10001)
        );
    }

    #[test]
    fn missing_directory_is_unreadable_and_names_the_fix() {
        let err = collect("/nonexistent/net", &DumpRequest::all()).expect_err("no file");
        assert!(
            matches!(err, CollectError::ProcUnreadable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("/nonexistent/net/tcp"), "{err}");
        assert!(err.to_string().contains("mount -t proc"), "{err}");
    }

    #[test]
    fn exited_process_is_no_such_pid() {
        let err = collect("/proc/999999999/net", &DumpRequest::all()).expect_err("gone");
        assert!(
            matches!(err, CollectError::NoSuchPid { pid: 999_999_999 }),
            "{err:?}"
        );
    }

    #[test]
    fn missing_tcp6_means_no_ipv6_not_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(format!("{FIXTURES}/tcp"), dir.path().join("tcp")).expect("copy");
        let all = collect(dir.path().to_str().expect("utf-8"), &DumpRequest::all())
            .expect("tcp alone is enough");
        assert_eq!(all.len(), 12);
    }

    #[test]
    fn malformed_file_reports_path_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = std::fs::read_to_string(format!("{FIXTURES}/tcp")).expect("fixture");
        let mut lines: Vec<&str> = good.lines().collect();
        lines[3] = "   2: 0100007F:2710 garbage";
        std::fs::write(dir.path().join("tcp"), lines.join("\n")).expect("write");
        let err = collect(dir.path().to_str().expect("utf-8"), &DumpRequest::all())
            .expect_err("malformed");
        match err {
            CollectError::Malformed { path, line, reason } => {
                assert_eq!(path, dir.path().join("tcp"));
                assert_eq!(line, 4);
                assert!(reason.contains("garbage"), "{reason}");
            }
            other => panic!("expected Malformed, got {other:?}"),
        }

        std::fs::write(dir.path().join("tcp"), "not a header\n").expect("write");
        let err = collect(dir.path().to_str().expect("utf-8"), &DumpRequest::all())
            .expect_err("bad header");
        assert!(err.to_string().contains(":1: expected the header"), "{err}");
    }

    #[test]
    fn empty_and_header_only_files_are_empty_tables() {
        let mut buf = String::new();
        let mut out = Vec::new();
        for text in ["", "  sl  local_address rem_address   st\n"] {
            dump_lines(
                text.as_bytes(),
                &mut buf,
                10,
                &DumpRequest::all(),
                &mut |r| out.push(*r),
            )
            .expect("empty table");
        }
        assert!(out.is_empty());
    }

    #[test]
    fn user_hz_is_100_here() {
        assert_eq!(ms_per_clock_tick(), DEFAULT_MS_PER_TICK);
    }

    #[test]
    fn live_table_shows_our_own_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let found =
            collect("/proc/thread-self/net", &DumpRequest::listeners(&[port])).expect("live /proc");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_ne!(found[0].inode, 0);
    }
}
