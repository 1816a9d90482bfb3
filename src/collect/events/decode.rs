//! Decodes raw tracepoint records into `TcpEvent`s, reading every field at
//! the offset and size the tracepoint's `format` file gives (never a
//! hard-coded offset), and reason names from its `__print_symbolic` table.
//!
//! Owns: `Decoder`, the five tracepoints tcpwatch reads. Must not: do I/O or
//! panic on any input: a short or odd record decodes to `None`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::format::{FieldSpec, TraceFormat};
use super::tracefs::TracepointName;
use crate::model::TcpState;
use crate::model::event::{EventKind, Reason, TcpEvent};

pub const SET_STATE: TracepointName = TracepointName {
    group: "sock",
    name: "inet_sock_set_state",
};
pub const SEND_RESET: TracepointName = TracepointName {
    group: "tcp",
    name: "tcp_send_reset",
};
pub const RECEIVE_RESET: TracepointName = TracepointName {
    group: "tcp",
    name: "tcp_receive_reset",
};
pub const RETRANSMIT_SYNACK: TracepointName = TracepointName {
    group: "tcp",
    name: "tcp_retransmit_synack",
};
pub const RETRANSMIT_SKB: TracepointName = TracepointName {
    group: "tcp",
    name: "tcp_retransmit_skb",
};
pub const KFREE_SKB: TracepointName = TracepointName {
    group: "skb",
    name: "kfree_skb",
};

/// The tracepoints tcpwatch opens, in this order.
pub const TRACEPOINTS: [TracepointName; 6] = [
    SET_STATE,
    SEND_RESET,
    RECEIVE_RESET,
    RETRANSMIT_SYNACK,
    RETRANSMIT_SKB,
    KFREE_SKB,
];

const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const IPPROTO_TCP: u64 = 6;

/// Where a field sits in the raw record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    offset: usize,
    size: usize,
}

impl Slot {
    fn of(spec: &FieldSpec) -> Slot {
        Slot {
            offset: spec.offset,
            size: spec.size,
        }
    }

    fn bytes<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        raw.get(self.offset..self.offset.checked_add(self.size)?)
    }

    /// An unsigned integer of 1, 2, 4 or 8 bytes, native-endian.
    fn uint(&self, raw: &[u8]) -> Option<u64> {
        let bytes = self.bytes(raw)?;
        Some(match bytes.len() {
            1 => u64::from(bytes[0]),
            2 => u64::from(u16::from_ne_bytes(bytes.try_into().ok()?)),
            4 => u64::from(u32::from_ne_bytes(bytes.try_into().ok()?)),
            8 => u64::from_ne_bytes(bytes.try_into().ok()?),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
struct AddrSlots {
    family: Slot,
    sport: Slot,
    dport: Slot,
    saddr: Slot,
    daddr: Slot,
    saddr_v6: Slot,
    daddr_v6: Slot,
}

impl AddrSlots {
    /// (source, destination) as the tracepoint names them.
    fn read(&self, raw: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
        let family = self.family.uint(raw)?;
        let sport = u16::try_from(self.sport.uint(raw)?).ok()?;
        let dport = u16::try_from(self.dport.uint(raw)?).ok()?;
        let (source, destination) = match family {
            AF_INET => (
                IpAddr::V4(ipv4(self.saddr.bytes(raw)?)?),
                IpAddr::V4(ipv4(self.daddr.bytes(raw)?)?),
            ),
            AF_INET6 => (
                IpAddr::V6(ipv6(self.saddr_v6.bytes(raw)?)?),
                IpAddr::V6(ipv6(self.daddr_v6.bytes(raw)?)?),
            ),
            _ => return None,
        };
        Some((
            SocketAddr::new(source, sport),
            SocketAddr::new(destination, dport),
        ))
    }
}

fn ipv4(bytes: &[u8]) -> Option<Ipv4Addr> {
    let octets: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(octets))
}

fn ipv6(bytes: &[u8]) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

/// A `struct sockaddr_in` / `sockaddr_in6` stored in a `__u8[28]` field.
fn sockaddr(bytes: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
    match u64::from(family) {
        AF_INET => Some(SocketAddr::new(IpAddr::V4(ipv4(bytes.get(4..)?)?), port)),
        AF_INET6 => Some(SocketAddr::new(IpAddr::V6(ipv6(bytes.get(8..)?)?), port)),
        _ => None,
    }
}

#[derive(Debug, Clone)]
struct SetStateLayout {
    skaddr: Slot,
    oldstate: Slot,
    newstate: Slot,
    protocol: Slot,
    addrs: AddrSlots,
}

#[derive(Debug, Clone)]
struct SendResetLayout {
    skaddr: Slot,
    state: Slot,
    reason: Slot,
    saddr: Slot,
    daddr: Slot,
}

#[derive(Debug, Clone)]
struct ReceiveResetLayout {
    skaddr: Slot,
    cookie: Slot,
    addrs: AddrSlots,
}

#[derive(Debug, Clone)]
struct SynAckLayout {
    skaddr: Slot,
    addrs: AddrSlots,
}

#[derive(Debug, Clone)]
struct RetransmitLayout {
    skaddr: Slot,
    state: Slot,
    addrs: AddrSlots,
}

#[derive(Debug, Clone)]
struct DropLayout {
    rx_sk: Slot,
    reason: Slot,
}

#[derive(Debug, Clone)]
enum Layout {
    SetState(SetStateLayout),
    SendReset(SendResetLayout),
    ReceiveReset(ReceiveResetLayout),
    SynAck(SynAckLayout),
    Retransmit(RetransmitLayout),
    Drop(DropLayout),
}

/// Decodes the records of the five tracepoints, built from their format files.
#[derive(Debug, Clone)]
pub struct Decoder {
    common_type: Slot,
    layouts: HashMap<u16, Layout>,
    rst_reasons: HashMap<u64, &'static str>,
    drop_reasons: HashMap<u64, &'static str>,
}

/// A field the decoder needs is missing from a format file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{tracepoint}: no field '{field}' in its format file")]
pub struct MissingField {
    pub tracepoint: &'static str,
    pub field: &'static str,
}

impl Decoder {
    /// Builds the decoder from `(tracepoint, format)` pairs. Reason names are
    /// interned once here (a few hundred short strings for the whole run).
    pub fn new(formats: &[(TracepointName, TraceFormat)]) -> Result<Decoder, MissingField> {
        let mut layouts = HashMap::new();
        let mut common_type = Slot { offset: 0, size: 2 };
        let mut rst_reasons = HashMap::new();
        let mut drop_reasons = HashMap::new();
        for (tracepoint, format) in formats {
            let slot = |field: &'static str| -> Result<Slot, MissingField> {
                format.field(field).map(Slot::of).ok_or(MissingField {
                    tracepoint: tracepoint.name,
                    field,
                })
            };
            common_type = slot("common_type")?;
            let addrs = || -> Result<AddrSlots, MissingField> {
                Ok(AddrSlots {
                    family: slot("family")?,
                    sport: slot("sport")?,
                    dport: slot("dport")?,
                    saddr: slot("saddr")?,
                    daddr: slot("daddr")?,
                    saddr_v6: slot("saddr_v6")?,
                    daddr_v6: slot("daddr_v6")?,
                })
            };
            let layout = match tracepoint.name {
                "inet_sock_set_state" => Layout::SetState(SetStateLayout {
                    skaddr: slot("skaddr")?,
                    oldstate: slot("oldstate")?,
                    newstate: slot("newstate")?,
                    protocol: slot("protocol")?,
                    addrs: addrs()?,
                }),
                "tcp_send_reset" => {
                    rst_reasons = intern(format.symbols("reason"));
                    Layout::SendReset(SendResetLayout {
                        skaddr: slot("skaddr")?,
                        state: slot("state")?,
                        reason: slot("reason")?,
                        saddr: slot("saddr")?,
                        daddr: slot("daddr")?,
                    })
                }
                "tcp_receive_reset" => Layout::ReceiveReset(ReceiveResetLayout {
                    skaddr: slot("skaddr")?,
                    cookie: slot("sock_cookie")?,
                    addrs: addrs()?,
                }),
                "tcp_retransmit_synack" => Layout::SynAck(SynAckLayout {
                    skaddr: slot("skaddr")?,
                    addrs: addrs()?,
                }),
                "tcp_retransmit_skb" => Layout::Retransmit(RetransmitLayout {
                    skaddr: slot("skaddr")?,
                    state: slot("state")?,
                    addrs: addrs()?,
                }),
                "kfree_skb" => {
                    drop_reasons = intern(format.symbols("reason"));
                    Layout::Drop(DropLayout {
                        rx_sk: slot("rx_sk")?,
                        reason: slot("reason")?,
                    })
                }
                _ => continue,
            };
            // Tracepoint ids fit the u16 common_type field of every record.
            if let Ok(id) = u16::try_from(format.id) {
                layouts.insert(id, layout);
            }
        }
        Ok(Decoder {
            common_type,
            layouts,
            rst_reasons,
            drop_reasons,
        })
    }

    /// The drop reason codes whose names are in `names`, for an in-kernel filter.
    pub fn drop_reason_codes(&self, wanted: impl Fn(&str) -> bool) -> Vec<u64> {
        let mut codes: Vec<u64> = self
            .drop_reasons
            .iter()
            .filter(|(_, name)| wanted(name))
            .map(|(code, _)| *code)
            .collect();
        codes.sort_unstable();
        codes
    }

    /// Decodes one raw record stamped at `at_us`. `None`: not one of ours, not
    /// TCP, or malformed.
    pub fn decode(&self, at_us: u64, raw: &[u8]) -> Option<TcpEvent> {
        let id = u16::try_from(self.common_type.uint(raw)?).ok()?;
        let event = |kind, local, remote, cookie, sk| TcpEvent {
            at_us,
            kind,
            local,
            remote,
            cookie,
            sk,
        };
        match self.layouts.get(&id)? {
            Layout::SetState(layout) => {
                if layout.protocol.uint(raw)? != IPPROTO_TCP {
                    return None;
                }
                let old = state(layout.oldstate.uint(raw)?)?;
                let new = state(layout.newstate.uint(raw)?)?;
                let (local, remote) = layout.addrs.read(raw)?;
                Some(event(
                    EventKind::StateChange { old, new },
                    Some(local),
                    Some(remote),
                    None,
                    layout.skaddr.uint(raw)?,
                ))
            }
            Layout::SendReset(layout) => {
                let sk = layout.skaddr.uint(raw)?;
                let code = layout.reason.uint(raw)?;
                let reason = reason(&self.rst_reasons, code)?;
                // 0 means "no full socket": the state is unknown.
                let state = match layout.state.uint(raw)? {
                    0 => None,
                    number => Some(self::state(number)?),
                };
                // The tracepoint stores the RST's own direction: source is
                // this host's end, destination the peer.
                let local = sockaddr(layout.saddr.bytes(raw)?);
                let remote = sockaddr(layout.daddr.bytes(raw)?);
                Some(event(
                    EventKind::RstSent { reason, state },
                    local,
                    remote,
                    None,
                    sk,
                ))
            }
            Layout::ReceiveReset(layout) => {
                let (local, remote) = layout.addrs.read(raw)?;
                Some(event(
                    EventKind::RstReceived,
                    Some(local),
                    Some(remote),
                    Some(layout.cookie.uint(raw)?),
                    layout.skaddr.uint(raw)?,
                ))
            }
            Layout::SynAck(layout) => {
                let (local, remote) = layout.addrs.read(raw)?;
                Some(event(
                    EventKind::SynAckRetransmit,
                    Some(local),
                    Some(remote),
                    None,
                    layout.skaddr.uint(raw)?,
                ))
            }
            Layout::Retransmit(layout) => {
                let (local, remote) = layout.addrs.read(raw)?;
                let state = self::state(layout.state.uint(raw)?);
                Some(event(
                    EventKind::Retransmit { state },
                    Some(local),
                    Some(remote),
                    None,
                    layout.skaddr.uint(raw)?,
                ))
            }
            Layout::Drop(layout) => {
                let rx_sk = layout.rx_sk.uint(raw)?;
                let reason = reason(&self.drop_reasons, layout.reason.uint(raw)?)?;
                Some(event(
                    EventKind::Drop { reason, rx_sk },
                    None,
                    None,
                    None,
                    rx_sk,
                ))
            }
        }
    }
}

/// Kernel state numbers; TCP_NEW_SYN_RECV (12) counts as SYN_RECV.
fn state(number: u64) -> Option<TcpState> {
    TcpState::from_kernel(u8::try_from(number).ok()?)
}

fn reason(names: &HashMap<u64, &'static str>, code: u64) -> Option<Reason> {
    Some(Reason {
        code: u32::try_from(code).ok()?,
        name: names.get(&code).copied().unwrap_or("UNKNOWN"),
    })
}

fn intern(table: HashMap<u64, String>) -> HashMap<u64, &'static str> {
    table
        .into_iter()
        .map(|(code, name)| (code, &*Box::leak(name.into_boxed_str())))
        .collect()
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The format files captured on Linux 6.18 (tests/fixtures/tracepoints/format).
    pub fn captured_formats() -> Vec<(TracepointName, TraceFormat)> {
        let texts = [
            include_str!(
                "../../../tests/fixtures/tracepoints/format/sock_inet_sock_set_state.format"
            ),
            include_str!("../../../tests/fixtures/tracepoints/format/tcp_tcp_send_reset.format"),
            include_str!("../../../tests/fixtures/tracepoints/format/tcp_tcp_receive_reset.format"),
            include_str!(
                "../../../tests/fixtures/tracepoints/format/tcp_tcp_retransmit_synack.format"
            ),
            include_str!(
                "../../../tests/fixtures/tracepoints/format/tcp_tcp_retransmit_skb.format"
            ),
            include_str!("../../../tests/fixtures/tracepoints/format/skb_kfree_skb.format"),
        ];
        TRACEPOINTS
            .iter()
            .zip(texts)
            .map(|(tp, text)| (*tp, TraceFormat::parse(text).expect("captured format")))
            .collect()
    }

    pub fn captured_decoder() -> Decoder {
        Decoder::new(&captured_formats()).expect("decoder from captured formats")
    }
}
