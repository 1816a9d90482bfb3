//! Replays captured sock_diag replies (tests/fixtures/netlink, recorded by
//! `tests/netlink_capture.rs`) through the parser, and feeds it truncated,
//! garbled and hand-built messages: errors, never panics.

use std::path::Path;

use tcpwatch::collect::CollectError;
use tcpwatch::collect::netlink_wire::{
    BLANK_RECORD, INET_DIAG_MSG_LEN, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR,
    ReplyProgress, ReplyReader, SOCK_DIAG_BY_FAMILY, decode_inet_diag_msg,
};
use tcpwatch::model::{SocketRecord, TcpState, TimerKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/netlink")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected_lines() -> Vec<String> {
    String::from_utf8(fixture("scenario.expected"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The same line format the capture wrote from the socket side.
fn line(r: &SocketRecord) -> String {
    let queues = if r.state == TcpState::Listen {
        format!(" rq={} wq={}", r.recv_queue, r.send_queue)
    } else {
        String::new()
    };
    format!(
        "{} {} {}{queues} inode={}",
        r.state, r.local, r.remote, r.inode
    )
}

fn parse_all(bytes: &[u8], seq: u32) -> Result<(ReplyProgress, Vec<SocketRecord>), CollectError> {
    let mut reader = ReplyReader::new(seq);
    let mut record = BLANK_RECORD;
    let mut records = Vec::new();
    let progress = reader.feed(bytes, &mut record, &mut |r| records.push(*r))?;
    assert_eq!(reader.delivered(), records.len() as u64);
    Ok((progress, records))
}

#[test]
fn the_one_walk_capture_decodes_to_the_scenario() {
    let (progress, records) = parse_all(&fixture("one_walk.bin"), 1).unwrap();
    assert_eq!(progress, ReplyProgress::Done);
    let mut lines: Vec<String> = records.iter().map(line).collect();
    lines.sort();
    assert_eq!(lines, expected_lines());

    assert!(records.iter().any(|r| r.local.is_ipv4()) && records.iter().any(|r| r.local.is_ipv6()));
    assert!(records.iter().all(|r| r.backlog_known));
    let listener = records.iter().find(|r| r.recv_queue == 2).unwrap();
    assert_eq!(listener.backlog(), Some(1));
    for r in &records {
        match r.state {
            TcpState::SynSent => {
                assert_eq!(r.timer, TimerKind::Retransmit);
                assert!(
                    r.timer_expires_ms > 0 && r.timer_expires_ms <= 1_000,
                    "{r:?}"
                );
                assert!(r.retransmits <= 1);
            }
            TcpState::TimeWait => {
                assert_eq!(r.timer, TimerKind::TimeWait);
                assert!(
                    r.timer_expires_ms > 0 && r.timer_expires_ms <= 60_000,
                    "{r:?}"
                );
                assert_eq!(r.uid, 0);
            }
            TcpState::Listen => assert_eq!(r.timer, TimerKind::None),
            _ => {}
        }
    }
}

#[test]
fn the_by_family_capture_holds_only_ipv6_and_matches_the_scenario() {
    let (progress, records) = parse_all(&fixture("by_family_inet6.bin"), 2).unwrap();
    assert_eq!(progress, ReplyProgress::Done);
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|r| r.local.is_ipv6() && r.remote.is_ipv6())
    );
    let mut lines: Vec<String> = records.iter().map(line).collect();
    lines.sort();
    let ipv6: Vec<String> = expected_lines()
        .into_iter()
        .filter(|l| l.contains('['))
        .collect();
    assert_eq!(lines, ipv6);
}

#[test]
fn a_reply_split_at_message_boundaries_decodes_the_same() {
    let bytes = fixture("one_walk.bin");
    let mut reader = ReplyReader::new(1);
    let mut record = BLANK_RECORD;
    let mut count = 0;
    let mut offset = 0;
    let mut progress = ReplyProgress::More;
    while offset < bytes.len() {
        let len = u32::from_ne_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        progress = reader
            .feed(&bytes[offset..offset + len], &mut record, &mut |_| {
                count += 1
            })
            .unwrap();
        offset += (len + 3) & !3;
    }
    assert_eq!(progress, ReplyProgress::Done);
    assert_eq!(count, expected_lines().len());
}

#[test]
fn every_truncation_is_an_error_or_a_clean_prefix_never_a_panic() {
    let bytes = fixture("one_walk.bin");
    let mut boundaries = vec![0];
    let mut offset = 0;
    while offset < bytes.len() {
        let len = u32::from_ne_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        offset += (len + 3) & !3;
        boundaries.push(offset);
    }
    for cut in 1..bytes.len() {
        let result = parse_all(&bytes[..cut], 1);
        if boundaries.contains(&cut) {
            assert_eq!(result.unwrap().0, ReplyProgress::More, "cut {cut}");
        } else {
            assert!(
                matches!(result, Err(CollectError::NetlinkDecode { .. })),
                "cut {cut}: {result:?}"
            );
        }
    }
}

#[test]
fn garbage_never_panics() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let real = fixture("one_walk.bin");
    for round in 0..2000 {
        let mut bytes = if round % 2 == 0 {
            (0..(next() % 600) as usize)
                .map(|_| next() as u8)
                .collect::<Vec<_>>()
        } else {
            real.clone()
        };
        // flip a few bytes of the real capture
        for _ in 0..(1 + next() % 8) {
            if !bytes.is_empty() {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
        }
        let _ = parse_all(&bytes, 1);
        let _ = decode_inet_diag_msg(&bytes, &mut BLANK_RECORD.clone());
    }
}

fn message(message_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = 16 + payload.len();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&(len as u32).to_ne_bytes());
    bytes.extend_from_slice(&message_type.to_ne_bytes());
    bytes.extend_from_slice(&flags.to_ne_bytes());
    bytes.extend_from_slice(&seq.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(payload);
    bytes.resize((len + 3) & !3, 0);
    bytes
}

fn diag_msg(family: u8, state: u8) -> Vec<u8> {
    let mut msg = vec![0u8; INET_DIAG_MSG_LEN];
    msg[0] = family;
    msg[1] = state;
    msg[4..6].copy_from_slice(&8080u16.to_be_bytes());
    msg[8..12].copy_from_slice(&[10, 1, 2, 3]);
    msg[68..72].copy_from_slice(&77u32.to_ne_bytes());
    msg
}

#[test]
fn a_kernel_error_reply_is_netlink_refused_with_its_errno() {
    let mut payload = (-libc::EINVAL).to_ne_bytes().to_vec();
    payload.extend_from_slice(&[0; 16]); // the echoed request header
    let result = parse_all(&message(NLMSG_ERROR, 0, 5, &payload), 5);
    match result {
        Err(CollectError::NetlinkRefused { source }) => {
            assert_eq!(source.raw_os_error(), Some(libc::EINVAL));
        }
        other => panic!("{other:?}"),
    }
    // A DONE that reports a failure is an error too.
    let done = message(NLMSG_DONE, NLM_F_MULTI, 5, &(-libc::ENOBUFS).to_ne_bytes());
    assert!(matches!(
        parse_all(&done, 5),
        Err(CollectError::NetlinkRefused { source }) if source.raw_os_error() == Some(libc::ENOBUFS)
    ));
}

#[test]
fn stale_messages_unknown_states_and_interrupted_dumps() {
    let mut bytes = message(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, 4, &diag_msg(2, 1)); // old dump
    bytes.extend(message(NLMSG_DONE, NLM_F_MULTI, 4, &0i32.to_ne_bytes())); // its end
    bytes.extend(message(
        SOCK_DIAG_BY_FAMILY,
        NLM_F_MULTI,
        5,
        &diag_msg(2, 99),
    )); // unknown state
    bytes.extend(message(
        SOCK_DIAG_BY_FAMILY,
        NLM_F_MULTI | NLM_F_DUMP_INTR,
        5,
        &diag_msg(2, 10),
    ));
    bytes.extend(message(NLMSG_DONE, NLM_F_MULTI, 5, &0i32.to_ne_bytes()));

    let mut reader = ReplyReader::new(5);
    let mut record = BLANK_RECORD;
    let mut records = Vec::new();
    let progress = reader
        .feed(&bytes, &mut record, &mut |r| records.push(*r))
        .unwrap();
    assert_eq!(progress, ReplyProgress::Done);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state, TcpState::Listen);
    assert_eq!(records[0].local, "10.1.2.3:8080".parse().unwrap());
    assert_eq!(records[0].inode, 77);
    assert!(reader.interrupted());
}

#[test]
fn short_messages_and_unknown_families_are_decode_errors() {
    let short = message(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, 1, &diag_msg(2, 1)[..40]);
    assert!(matches!(
        parse_all(&short, 1),
        Err(CollectError::NetlinkDecode { .. })
    ));
    let unix = message(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, 1, &diag_msg(1, 1));
    assert!(matches!(
        parse_all(&unix, 1),
        Err(CollectError::NetlinkDecode { .. })
    ));
    let mut zero_length = message(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, 1, &diag_msg(2, 1));
    zero_length[..4].copy_from_slice(&0u32.to_ne_bytes());
    assert!(matches!(
        parse_all(&zero_length, 1),
        Err(CollectError::NetlinkDecode { .. })
    ));
}
