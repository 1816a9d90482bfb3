//! The sock_diag wire format: building dump requests and decoding the
//! kernel's replies into `SocketRecord`s, on byte slices only.
//!
//! Owns: the layouts of `nlmsghdr`, `inet_diag_req` (the compat request of
//! `TCPDIAG_GETSOCK`), `inet_diag_req_v2` (`SOCK_DIAG_BY_FAMILY`) and
//! `inet_diag_msg`, and walking the messages of one reply datagram. Must not:
//! do I/O, allocate per message or per socket, or panic on any input: bad
//! bytes become `CollectError::NetlinkDecode`.
//!
//! Hand-written on purpose, not `netlink-packet-sock-diag`: that crate has
//! no `TCPDIAG_GETSOCK` (the one walk for both families) and no
//! `INET_DIAG_REQ_BYTECODE`, and it builds an owned message per socket where
//! this decoder fills one reused `SocketRecord` (zero allocation per socket).
//!
//! Byte orders: netlink headers and the `u32` fields of `inet_diag_msg` are
//! in host order; ports and addresses are in network order, an IPv4 address
//! being the first 4 bytes of its 16-byte field.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use super::CollectError;
use super::bytecode::INET_DIAG_REQ_BYTECODE;
use crate::model::{SocketRecord, TcpState, TimerKind};

/// `struct nlmsghdr`: len u32, type u16, flags u16, seq u32, pid u32.
pub(crate) const NLMSG_HEADER_LEN: usize = 16;
/// `sizeof(struct inet_diag_msg)`.
pub const INET_DIAG_MSG_LEN: usize = 72;
/// `sizeof(struct inet_diag_req)`, the compat request.
pub(crate) const INET_DIAG_REQ_LEN: usize = 60;
/// `sizeof(struct inet_diag_req_v2)`.
pub(crate) const INET_DIAG_REQ_V2_LEN: usize = 56;
/// `sizeof(struct inet_diag_sockid)`.
const SOCKID_LEN: usize = 48;

pub(crate) const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;
/// Message types below this are netlink control messages.
pub(crate) const NLMSG_MIN_TYPE: u16 = 16;
/// The old TCP-only request: one table walk for IPv4 and IPv6 together.
pub const TCPDIAG_GETSOCK: u16 = 18;
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub(crate) const NLM_F_DUMP: u16 = 0x300;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;

/// Which dump request to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpQuery {
    /// `TCPDIAG_GETSOCK` with `struct inet_diag_req`: the kernel dumps with
    /// family `AF_UNSPEC`, so one walk returns both families.
    BothFamiliesOneWalk,
    /// `SOCK_DIAG_BY_FAMILY` with `struct inet_diag_req_v2` for one family
    /// (`AF_INET` or `AF_INET6`).
    Family(u8),
}

/// Writes a complete dump request into `out` (cleared first): header, request
/// struct with `states` as `idiag_states`, and, if `bytecode` is not empty,
/// an `INET_DIAG_REQ_BYTECODE` attribute carrying it. `bytecode` comes from
/// `bytecode::port_filter`, so its length is a multiple of 4 and below 64 KiB.
pub fn encode_dump_request(
    out: &mut Vec<u8>,
    query: DumpQuery,
    states: u32,
    seq: u32,
    bytecode: &[u8],
) {
    let (message_type, body_len) = match query {
        DumpQuery::BothFamiliesOneWalk => (TCPDIAG_GETSOCK, INET_DIAG_REQ_LEN),
        DumpQuery::Family(_) => (SOCK_DIAG_BY_FAMILY, INET_DIAG_REQ_V2_LEN),
    };
    let attribute_len = if bytecode.is_empty() {
        0
    } else {
        4 + bytecode.len()
    };
    let total_len = NLMSG_HEADER_LEN + body_len + align4(attribute_len);

    out.clear();
    out.extend_from_slice(&(total_len as u32).to_ne_bytes());
    out.extend_from_slice(&message_type.to_ne_bytes());
    out.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel

    match query {
        DumpQuery::BothFamiliesOneWalk => {
            // idiag_family (ignored by the dump, which uses AF_UNSPEC),
            // idiag_src_len, idiag_dst_len, idiag_ext
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(&[0; SOCKID_LEN]);
            out.extend_from_slice(&states.to_ne_bytes());
            out.extend_from_slice(&0u32.to_ne_bytes()); // idiag_dbs
        }
        DumpQuery::Family(family) => {
            // sdiag_family, sdiag_protocol, idiag_ext, pad
            out.extend_from_slice(&[family, IPPROTO_TCP, 0, 0]);
            out.extend_from_slice(&states.to_ne_bytes());
            out.extend_from_slice(&[0; SOCKID_LEN]);
        }
    }

    if !bytecode.is_empty() {
        let nla_len = u16::try_from(attribute_len).unwrap_or(u16::MAX);
        out.extend_from_slice(&nla_len.to_ne_bytes());
        out.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        out.extend_from_slice(bytecode);
        out.resize(total_len, 0);
    }
}

/// A record to start from; every field is overwritten for each socket.
pub const BLANK_RECORD: SocketRecord = SocketRecord {
    state: TcpState::Close,
    local: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
    remote: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
    recv_queue: 0,
    send_queue: 0,
    backlog_known: true,
    inode: 0,
    uid: 0,
    timer: TimerKind::None,
    timer_expires_ms: 0,
    retransmits: 0,
};

/// Decodes one `inet_diag_msg` (a message payload, attributes may follow)
/// into `record`. Returns `Ok(false)` for a state tcpwatch does not know,
/// leaving the record unspecified: skip it.
pub fn decode_inet_diag_msg(
    payload: &[u8],
    record: &mut SocketRecord,
) -> Result<bool, CollectError> {
    let Some(msg) = payload.get(..INET_DIAG_MSG_LEN) else {
        return Err(decode_error(format!(
            "inet_diag_msg of {} bytes, expected at least {INET_DIAG_MSG_LEN}",
            payload.len()
        )));
    };
    let Some(state) = TcpState::from_kernel(msg[1]) else {
        return Ok(false);
    };
    let family = msg[0];
    let sport = u16::from_be_bytes([msg[4], msg[5]]);
    let dport = u16::from_be_bytes([msg[6], msg[7]]);
    let (local_ip, remote_ip) = match family {
        AF_INET => (
            IpAddr::V4(Ipv4Addr::new(msg[8], msg[9], msg[10], msg[11])),
            IpAddr::V4(Ipv4Addr::new(msg[24], msg[25], msg[26], msg[27])),
        ),
        AF_INET6 => (IpAddr::V6(ipv6_at(msg, 8)), IpAddr::V6(ipv6_at(msg, 24))),
        other => {
            return Err(decode_error(format!(
                "inet_diag_msg with address family {other}"
            )));
        }
    };

    record.state = state;
    record.local = SocketAddr::new(local_ip, sport);
    record.remote = SocketAddr::new(remote_ip, dport);
    record.timer = TimerKind::from_kernel(msg[2]);
    record.retransmits = msg[3];
    record.timer_expires_ms = u32_at(msg, 52);
    record.recv_queue = u32_at(msg, 56);
    record.send_queue = u32_at(msg, 60);
    record.uid = u32_at(msg, 64);
    record.inode = u64::from(u32_at(msg, 68));
    record.backlog_known = true;
    Ok(true)
}

/// Whether the kernel's reply to a dump has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyProgress {
    /// Read another datagram.
    More,
    /// `NLMSG_DONE` arrived.
    Done,
}

/// Walks the datagrams answering one dump request (identified by its
/// sequence number) and hands each socket to a sink. Messages with another
/// sequence number are leftovers of an abandoned dump and are skipped.
#[derive(Debug)]
pub struct ReplyReader {
    seq: u32,
    delivered: u64,
    interrupted: bool,
}

impl ReplyReader {
    pub fn new(seq: u32) -> ReplyReader {
        ReplyReader {
            seq,
            delivered: 0,
            interrupted: false,
        }
    }

    /// Sockets handed to the sink so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether a message carried `NLM_F_DUMP_INTR`: the table changed in a
    /// way the kernel could not follow, so the dump may miss or repeat
    /// sockets.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Decodes the messages of one datagram. `record` is the one record
    /// reused for every socket; `sink` sees it once per socket.
    ///
    /// An `NLMSG_ERROR` (or an `NLMSG_DONE` carrying a negative error) for
    /// this dump becomes `CollectError::NetlinkRefused` with the kernel's
    /// errno; malformed bytes become `CollectError::NetlinkDecode`.
    pub fn feed(
        &mut self,
        datagram: &[u8],
        record: &mut SocketRecord,
        sink: &mut dyn FnMut(&SocketRecord),
    ) -> Result<ReplyProgress, CollectError> {
        let mut rest = datagram;
        while !rest.is_empty() {
            let header = NetlinkHeader::read(rest)?;
            let payload = &rest[NLMSG_HEADER_LEN..header.len];
            rest = rest.get(align4(header.len)..).unwrap_or(&[]);

            if header.seq != self.seq {
                continue;
            }
            if header.flags & NLM_F_DUMP_INTR != 0 {
                self.interrupted = true;
            }
            match header.message_type {
                NLMSG_NOOP => {}
                NLMSG_DONE => {
                    // Since Linux 4.x the payload is the dump's final status.
                    return match i32_at(payload, 0) {
                        Some(status) if status < 0 => Err(refused(status)),
                        _ => Ok(ReplyProgress::Done),
                    };
                }
                NLMSG_ERROR => match i32_at(payload, 0) {
                    Some(0) => {} // an acknowledgement, not an error
                    Some(errno) => return Err(refused(errno)),
                    None => {
                        return Err(decode_error(
                            "NLMSG_ERROR without an error code".to_string(),
                        ));
                    }
                },
                NLMSG_OVERRUN => {
                    return Err(decode_error(
                        "the kernel reported NLMSG_OVERRUN".to_string(),
                    ));
                }
                t if t < NLMSG_MIN_TYPE => {
                    return Err(decode_error(format!(
                        "unexpected netlink control message type {t}"
                    )));
                }
                _ => {
                    if decode_inet_diag_msg(payload, record)? {
                        self.delivered += 1;
                        sink(record);
                    }
                }
            }
        }
        Ok(ReplyProgress::More)
    }
}

/// Scans a datagram of an abandoned dump: whether it holds the end
/// (`NLMSG_DONE` or `NLMSG_ERROR`) of the dump numbered `seq`. Malformed
/// bytes count as "not the end" so the caller keeps draining.
pub fn ends_dump(datagram: &[u8], seq: u32) -> bool {
    let mut rest = datagram;
    while let Ok(header) = NetlinkHeader::read(rest) {
        if header.seq == seq && matches!(header.message_type, NLMSG_DONE | NLMSG_ERROR) {
            return true;
        }
        rest = rest.get(align4(header.len)..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
    }
    false
}

/// A validated `nlmsghdr`: `len` covers the header and fits in the buffer.
struct NetlinkHeader {
    len: usize,
    message_type: u16,
    flags: u16,
    seq: u32,
}

impl NetlinkHeader {
    fn read(bytes: &[u8]) -> Result<NetlinkHeader, CollectError> {
        let Some(header) = bytes.get(..NLMSG_HEADER_LEN) else {
            return Err(decode_error(format!(
                "truncated netlink header: {} bytes left, need {NLMSG_HEADER_LEN}",
                bytes.len()
            )));
        };
        let len = u32_at(header, 0) as usize;
        if len < NLMSG_HEADER_LEN || len > bytes.len() {
            return Err(decode_error(format!(
                "netlink message length {len} outside 16..={} bytes",
                bytes.len()
            )));
        }
        Ok(NetlinkHeader {
            len,
            message_type: u16::from_ne_bytes([header[4], header[5]]),
            flags: u16::from_ne_bytes([header[6], header[7]]),
            seq: u32_at(header, 8),
        })
    }
}

fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// Reads a host-order u32; `bytes` must hold `at + 4` bytes (callers slice
/// to a known length first).
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    u32::from_ne_bytes(word)
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    let src = bytes.get(at..at + 4)?;
    let mut word = [0u8; 4];
    word.copy_from_slice(src);
    Some(i32::from_ne_bytes(word))
}

fn ipv6_at(bytes: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    if let Some(src) = bytes.get(at..at + 16) {
        octets.copy_from_slice(src);
    }
    Ipv6Addr::from(octets)
}

fn refused(negative_errno: i32) -> CollectError {
    CollectError::NetlinkRefused {
        source: io::Error::from_raw_os_error(negative_errno.saturating_neg()),
    }
}

fn decode_error(reason: String) -> CollectError {
    CollectError::NetlinkDecode { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_walk_request_layout() {
        let mut out = Vec::new();
        encode_dump_request(&mut out, DumpQuery::BothFamiliesOneWalk, 0x400, 7, &[]);
        assert_eq!(out.len(), 16 + 60);
        assert_eq!(u32_at(&out, 0), 76);
        assert_eq!(u16::from_ne_bytes([out[4], out[5]]), TCPDIAG_GETSOCK);
        assert_eq!(u16::from_ne_bytes([out[6], out[7]]), 0x301);
        assert_eq!(u32_at(&out, 8), 7);
        // idiag_states sits after family/lens/ext (4) and the sockid (48)
        assert_eq!(u32_at(&out, 16 + 52), 0x400);
    }

    #[test]
    fn by_family_request_carries_the_bytecode_attribute() {
        let mut out = Vec::new();
        let program = [1u8, 4, 4, 0];
        encode_dump_request(&mut out, DumpQuery::Family(AF_INET6), 0xFFF, 9, &program);
        assert_eq!(out.len(), 16 + 56 + 8);
        assert_eq!(u32_at(&out, 0) as usize, out.len());
        assert_eq!(u16::from_ne_bytes([out[4], out[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!(&out[16..20], &[AF_INET6, 6, 0, 0]);
        assert_eq!(u32_at(&out, 20), 0xFFF);
        assert_eq!(u16::from_ne_bytes([out[72], out[73]]), 8);
        assert_eq!(
            u16::from_ne_bytes([out[74], out[75]]),
            INET_DIAG_REQ_BYTECODE
        );
        assert_eq!(&out[76..], &program);
    }
}
