//! Half-open pairs: both ends of a loopback or same-host connection are in
//! the table, and the client end is ESTABLISHED while the server end (the
//! reversed 4-tuple) is SYN_RECV or missing. Counted per server endpoint.
//!
//! Streaming keeps the candidate client ends (ESTABLISHED, towards a
//! listener's port from a port that is not one) and the possible server
//! ends (on a listener's port, from a port that is not one) as compact
//! sortable keys; they are joined by sorting once the dump is over, because
//! the kernel lists the two ends in any order. Whether the server IP belongs
//! to this host is decided then too, against every local address in the
//! table.
//!
//! Owns: `HalfOpenServer`, `HalfOpenExample`, `PairMatcher`. Must not:
//! judge (whether the listener was full is the rule's evidence).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

use foldhash::{HashMap, HashSet};

use crate::model::slack::release_vec_slack;
use crate::model::socket::SocketRecord;
use crate::model::state::TcpState;

/// Clients of one server endpoint whose server end is not ESTABLISHED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HalfOpenServer {
    pub server: SocketAddr,
    /// Client ESTABLISHED, server end SYN_RECV.
    pub syn_recv: u64,
    /// Client ESTABLISHED, no server end at all.
    pub missing: u64,
    /// The first of each kind in dump order.
    pub first_syn_recv: Option<HalfOpenExample>,
    pub first_missing: Option<HalfOpenExample>,
}

/// One client end, for the alert's "e.g.".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HalfOpenExample {
    /// Its position in the dump (earlier is smaller).
    pub order: u64,
    pub client: SocketAddr,
    pub inode: u64,
}

/// An IPv4 pair as one sortable number: server IP, server port, client IP,
/// client port (96 bits, from the top), and 32 low bits left for a tag.
/// Sorting by it groups the pairs by server endpoint.
fn pair_key4(client: SocketAddr, server: SocketAddr, tag: u32) -> Option<u128> {
    match (client, server) {
        (SocketAddr::V4(c), SocketAddr::V4(s)) => Some(
            (u128::from(u32::from(*s.ip())) << 96)
                | (u128::from(s.port()) << 80)
                | (u128::from(u32::from(*c.ip())) << 48)
                | (u128::from(c.port()) << 32)
                | u128::from(tag),
        ),
        _ => None,
    }
}

/// The pair of a key, without its tag.
fn pair_of_key4(key: u128) -> u128 {
    key >> 32
}

/// The tag of a key.
fn tag_of_key4(key: u128) -> u32 {
    (key & 0xffff_ffff) as u32
}

/// The (client, server) addresses of a key.
fn unkey4(key: u128) -> (SocketAddr, SocketAddr) {
    let addr = |ip: u128, port: u128| {
        SocketAddr::V4(SocketAddrV4::new(
            ((ip & 0xffff_ffff) as u32).into(),
            (port & 0xffff) as u16,
        ))
    };
    (addr(key >> 48, key >> 32), addr(key >> 96, key >> 80))
}

/// What the server end of a client's pair was seen as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Unseen,
    SynRecv,
    /// ESTABLISHED or later: the pair is whole.
    Other,
}

/// A candidate client end: where it was in the dump, and its socket.
#[derive(Debug, Clone, Copy)]
struct ClientEnd {
    order: u64,
    inode: u64,
    peer: Peer,
}

/// Streams candidate ends in, joins them at the end.
///
/// IPv4 ends, the bulk of a busy table, are kept as sortable keys in two
/// flat lists and joined by sorting both: a hash map with an entry per
/// client costs a cache miss per socket once it outgrows the cache (a
/// third of the rules' time at a million sockets). The lists are cleared,
/// not freed, between samples (`reset`), so a steady table costs no page
/// faults either. IPv6 ends go through a map.
#[derive(Debug, Clone, Default)]
pub(super) struct PairMatcher {
    /// Records seen so far (for `order`).
    order: u64,
    /// IPv4 client ends, tagged with their index in `client4_ends`.
    clients4: Vec<u128>,
    /// Order and inode of each IPv4 client end, by index.
    client4_ends: Vec<(u64, u64)>,
    /// IPv6 client ends.
    clients: HashMap<(SocketAddr, SocketAddr), ClientEnd>,
    /// IPv4 server ends keyed as (client, server), tagged 1 when SYN_RECV.
    servers4: Vec<u128>,
    servers: Vec<((SocketAddr, SocketAddr), bool)>,
    /// Addresses of this host seen in the table (besides loopback).
    local_ips: HashSet<IpAddr>,
    last_local_ip: Option<IpAddr>,
}

impl PairMatcher {
    #[cfg(test)]
    pub fn new(listeners: &[SocketRecord]) -> PairMatcher {
        let mut matcher = PairMatcher::default();
        matcher.reset(listeners);
        matcher
    }

    /// Empties the matcher for the next sample, keeping its allocations
    /// (what a burst left beyond four times the last sample's need is
    /// given back).
    pub fn reset(&mut self, listeners: &[SocketRecord]) {
        self.order = 0;
        for list in [&mut self.clients4, &mut self.servers4] {
            let used = list.len();
            release_vec_slack(list, used);
            list.clear();
        }
        let used = self.client4_ends.len();
        release_vec_slack(&mut self.client4_ends, used);
        self.client4_ends.clear();
        self.clients.clear();
        self.servers.clear();
        self.local_ips.clear();
        self.last_local_ip = None;
        for listener in listeners {
            self.note_local_ip(&listener.local);
        }
    }

    /// Remembers the local address of a socket as one of this host's. The
    /// common cases (loopback, the address seen last) are decided on the
    /// address in place: building an `IpAddr` per socket only to compare it
    /// cost a stalled load per record.
    fn note_local_ip(&mut self, local: &SocketAddr) {
        let ip = match local {
            SocketAddr::V4(v4) => {
                let ip = v4.ip();
                if ip.is_loopback() || ip.is_unspecified() {
                    return;
                }
                if let Some(IpAddr::V4(last)) = &self.last_local_ip
                    && last == ip
                {
                    return;
                }
                IpAddr::V4(*ip)
            }
            SocketAddr::V6(v6) => {
                let ip = v6.ip();
                if ip.is_loopback() || ip.is_unspecified() {
                    return;
                }
                if let Some(IpAddr::V6(last)) = &self.last_local_ip
                    && last == ip
                {
                    return;
                }
                IpAddr::V6(*ip)
            }
        };
        self.last_local_ip = Some(ip);
        self.local_ips.insert(ip);
    }

    /// Considers one non-LISTEN record. `local_is_listener` /
    /// `remote_is_listener`: whether its local / remote port is a listener's.
    pub fn add(
        &mut self,
        record: &SocketRecord,
        local_is_listener: bool,
        remote_is_listener: bool,
    ) {
        self.order += 1;
        self.note_local_ip(&record.local);
        if !local_is_listener && remote_is_listener && record.state == TcpState::Established {
            let index = u32::try_from(self.client4_ends.len()).unwrap_or(u32::MAX);
            match pair_key4(record.local, record.remote, index) {
                Some(key) if index != u32::MAX => {
                    self.clients4.push(key);
                    self.client4_ends.push((self.order, record.inode));
                }
                Some(_) => {}
                None => {
                    let end = ClientEnd {
                        order: self.order,
                        inode: record.inode,
                        peer: Peer::Unseen,
                    };
                    self.clients.insert((record.local, record.remote), end);
                }
            }
        } else if local_is_listener && !remote_is_listener {
            let syn_recv = record.state == TcpState::SynRecv;
            match pair_key4(record.remote, record.local, u32::from(syn_recv)) {
                Some(key) => self.servers4.push(key),
                None => self.servers.push(((record.remote, record.local), syn_recv)),
            }
        }
    }

    /// Joins the ends: half-open clients per local server endpoint, sorted
    /// by server. Leaves the lists sorted (cleared by the next `reset`).
    pub fn finish(&mut self) -> Vec<HalfOpenServer> {
        let mut by_server: BTreeMap<SocketAddr, HalfOpenServer> = BTreeMap::new();
        for ((client, server), end) in self.half_open_ends4() {
            if self.is_local(server) {
                count_half_open(&mut by_server, client, server, end);
            }
        }
        if !self.clients.is_empty() {
            let seen = |syn_recv: bool| if syn_recv { Peer::SynRecv } else { Peer::Other };
            for (key, syn_recv) in &self.servers {
                if let Some(client) = self.clients.get_mut(key) {
                    client.peer = seen(*syn_recv);
                }
            }
            for (&(client, server), &end) in &self.clients {
                if end.peer != Peer::Other && self.is_local(server) {
                    count_half_open(&mut by_server, client, server, end);
                }
            }
        }
        by_server.into_values().collect()
    }

    fn is_local(&self, server: SocketAddr) -> bool {
        server.ip().is_loopback() || self.local_ips.contains(&server.ip())
    }

    /// The IPv4 client ends whose server end is SYN_RECV or absent: both
    /// lists sorted, then walked side by side. A pair listed twice (the
    /// table changed during the dump) counts once, as its first listing.
    fn half_open_ends4(&mut self) -> Vec<((SocketAddr, SocketAddr), ClientEnd)> {
        let mut ends = Vec::new();
        if self.clients4.is_empty() {
            return ends;
        }
        self.clients4.sort_unstable();
        self.servers4.sort_unstable();
        let mut servers = self.servers4.iter().peekable();
        let mut previous_pair = None;
        for &key in &self.clients4 {
            let pair = pair_of_key4(key);
            if previous_pair == Some(pair) {
                continue;
            }
            previous_pair = Some(pair);
            while servers.next_if(|s| pair_of_key4(**s) < pair).is_some() {}
            // Equal pairs are sorted ESTABLISHED (tag 0) before SYN_RECV (1):
            // one whole server end makes the pair whole.
            let peer = match servers.peek() {
                Some(s) if pair_of_key4(**s) == pair => {
                    if tag_of_key4(**s) == 0 {
                        continue;
                    }
                    Peer::SynRecv
                }
                _ => Peer::Unseen,
            };
            let Some(&(order, inode)) = self.client4_ends.get(tag_of_key4(key) as usize) else {
                continue;
            };
            ends.push((unkey4(key), ClientEnd { order, inode, peer }));
        }
        ends
    }
}

/// Adds one half-open client end to its server's entry.
fn count_half_open(
    by_server: &mut BTreeMap<SocketAddr, HalfOpenServer>,
    client: SocketAddr,
    server: SocketAddr,
    end: ClientEnd,
) {
    let entry = by_server.entry(server).or_insert(HalfOpenServer {
        server,
        syn_recv: 0,
        missing: 0,
        first_syn_recv: None,
        first_missing: None,
    });
    let (count, first) = if end.peer == Peer::SynRecv {
        (&mut entry.syn_recv, &mut entry.first_syn_recv)
    } else {
        (&mut entry.missing, &mut entry.first_missing)
    };
    *count += 1;
    if first.is_none_or(|f| f.order > end.order) {
        *first = Some(HalfOpenExample {
            order: end.order,
            client,
            inode: end.inode,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;

    fn matcher_with(records: &[SocketRecord], listener_ports: &[u16]) -> Vec<HalfOpenServer> {
        let mut matcher = PairMatcher::new(&[]);
        for r in records {
            matcher.add(
                r,
                listener_ports.contains(&r.local.port()),
                listener_ports.contains(&r.remote.port()),
            );
        }
        matcher.finish()
    }

    #[test]
    fn pairs_match_in_either_order() {
        let est = |l: &str, r: &str| record(TcpState::Established, l, r);
        let records = [
            // Server end first, then the client, for one pair; the reverse for the other.
            record(TcpState::SynRecv, "127.0.0.1:80", "127.0.0.1:40001"),
            est("127.0.0.1:40001", "127.0.0.1:80"),
            est("127.0.0.1:40002", "127.0.0.1:80"),
            record(TcpState::SynRecv, "127.0.0.1:80", "127.0.0.1:40002"),
            // Healthy pair.
            est("127.0.0.1:40003", "127.0.0.1:80"),
            est("127.0.0.1:80", "127.0.0.1:40003"),
            // No server end.
            est("127.0.0.1:40004", "127.0.0.1:80"),
            // IPv6, SYN_RECV.
            est("[::1]:40005", "[::1]:80"),
            record(TcpState::SynRecv, "[::1]:80", "[::1]:40005"),
        ];
        let servers = matcher_with(&records, &[80]);
        assert_eq!(servers.len(), 2);
        let v4 = &servers[0];
        assert_eq!(v4.server.to_string(), "127.0.0.1:80");
        assert_eq!((v4.syn_recv, v4.missing), (2, 1));
        assert_eq!(
            v4.first_syn_recv.map(|e| e.client.to_string()),
            Some("127.0.0.1:40001".to_string())
        );
        assert_eq!(
            v4.first_missing.map(|e| e.client.to_string()),
            Some("127.0.0.1:40004".to_string())
        );
        assert_eq!(servers[1].syn_recv, 1);
    }

    #[test]
    fn servers_on_other_hosts_are_left_out() {
        let records = [
            record(TcpState::Established, "10.0.0.1:40000", "10.0.0.9:80"),
            record(TcpState::Established, "10.0.0.1:40001", "10.0.0.1:80"),
        ];
        let servers = matcher_with(&records, &[80]);
        assert_eq!(servers.len(), 1, "10.0.0.1 is local (a socket's address)");
        assert_eq!(servers[0].server.to_string(), "10.0.0.1:80");
    }

    #[test]
    fn keys_round_trip() {
        let client: SocketAddr = "10.1.2.3:40000".parse().expect("addr");
        let server: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let key = pair_key4(client, server, 7).expect("v4");
        assert_eq!(unkey4(key), (client, server));
        assert_eq!(tag_of_key4(key), 7);
    }
}
