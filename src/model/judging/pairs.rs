//! Half-open pairs: both ends of a loopback or same-host connection are in
//! the table, and the client end is ESTABLISHED while the server end (the
//! reversed 4-tuple) is SYN_RECV or missing. Counted per server endpoint.
//!
//! Streaming keeps the candidate client ends (ESTABLISHED, towards a
//! listener's port from a port that is not one) in a map, and the possible
//! server ends (on a listener's port, from a port that is not one) as compact
//! keys; they are joined once the dump is over, because the kernel lists the
//! two ends in any order. Whether the server IP belongs to this host is
//! decided then too, against every local address in the table.
//!
//! Owns: `HalfOpenServer`, `HalfOpenExample`, `PairMatcher`. Must not:
//! judge (whether the listener was full is the rule's evidence).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

use foldhash::{HashMap, HashSet};

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

/// An IPv4 (client, server) pair in 12 bytes.
type Key4 = (u64, u32);

fn key4(client: SocketAddr, server: SocketAddr) -> Option<Key4> {
    match (client, server) {
        (SocketAddr::V4(c), SocketAddr::V4(s)) => Some((
            (u64::from(u32::from(*c.ip())) << 32) | u64::from(u32::from(*s.ip())),
            (u32::from(c.port()) << 16) | u32::from(s.port()),
        )),
        _ => None,
    }
}

fn unkey4((ips, ports): Key4) -> (SocketAddr, SocketAddr) {
    let addr = |ip: u64, port: u32| {
        SocketAddr::V4(SocketAddrV4::new(
            ((ip & 0xffff_ffff) as u32).into(),
            (port & 0xffff) as u16,
        ))
    };
    (addr(ips >> 32, ports >> 16), addr(ips, ports))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Unseen,
    SynRecv,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct ClientEnd {
    order: u64,
    inode: u64,
    peer: Peer,
}

#[derive(Debug, Clone)]
pub(super) struct PairMatcher {
    order: u64,
    clients4: HashMap<Key4, ClientEnd>,
    clients: HashMap<(SocketAddr, SocketAddr), ClientEnd>,
    /// Server ends, keyed as their client's (client, server), with whether
    /// they are SYN_RECV.
    servers4: Vec<(Key4, bool)>,
    servers: Vec<((SocketAddr, SocketAddr), bool)>,
    /// Local addresses seen that are neither loopback nor unspecified.
    local_ips: HashSet<IpAddr>,
    last_local_ip: Option<IpAddr>,
}

impl PairMatcher {
    pub fn new(listeners: &[SocketRecord]) -> PairMatcher {
        let mut matcher = PairMatcher {
            order: 0,
            clients4: HashMap::default(),
            clients: HashMap::default(),
            servers4: Vec::new(),
            servers: Vec::new(),
            local_ips: HashSet::default(),
            last_local_ip: None,
        };
        for listener in listeners {
            matcher.note_local_ip(listener.local.ip());
        }
        matcher
    }

    fn note_local_ip(&mut self, ip: IpAddr) {
        if self.last_local_ip == Some(ip) || ip.is_loopback() || ip.is_unspecified() {
            return;
        }
        self.last_local_ip = Some(ip);
        self.local_ips.insert(ip);
    }

    pub fn add(
        &mut self,
        record: &SocketRecord,
        local_is_listener: bool,
        remote_is_listener: bool,
    ) {
        self.order += 1;
        self.note_local_ip(record.local.ip());
        if !local_is_listener && remote_is_listener && record.state == TcpState::Established {
            let end = ClientEnd {
                order: self.order,
                inode: record.inode,
                peer: Peer::Unseen,
            };
            match key4(record.local, record.remote) {
                Some(key) => self.clients4.insert(key, end),
                None => self.clients.insert((record.local, record.remote), end),
            };
        } else if local_is_listener && !remote_is_listener {
            let syn_recv = record.state == TcpState::SynRecv;
            match key4(record.remote, record.local) {
                Some(key) => self.servers4.push((key, syn_recv)),
                None => self.servers.push(((record.remote, record.local), syn_recv)),
            }
        }
    }

    pub fn finish(mut self) -> Vec<HalfOpenServer> {
        if self.clients4.is_empty() && self.clients.is_empty() {
            return Vec::new();
        }
        let seen = |syn_recv: bool| if syn_recv { Peer::SynRecv } else { Peer::Other };
        for (key, syn_recv) in &self.servers4 {
            if let Some(client) = self.clients4.get_mut(key) {
                client.peer = seen(*syn_recv);
            }
        }
        for (key, syn_recv) in &self.servers {
            if let Some(client) = self.clients.get_mut(key) {
                client.peer = seen(*syn_recv);
            }
        }
        let ends = self
            .clients4
            .iter()
            .map(|(key, end)| (unkey4(*key), *end))
            .chain(self.clients.iter().map(|(pair, end)| (*pair, *end)));
        let mut by_server: BTreeMap<SocketAddr, HalfOpenServer> = BTreeMap::new();
        for ((client, server), end) in ends {
            if end.peer == Peer::Other
                || !(server.ip().is_loopback() || self.local_ips.contains(&server.ip()))
            {
                continue;
            }
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
            let example = HalfOpenExample {
                order: end.order,
                client,
                inode: end.inode,
            };
            if first.is_none_or(|f| f.order > end.order) {
                *first = Some(example);
            }
        }
        by_server.into_values().collect()
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
        let key = key4(client, server).expect("v4");
        assert_eq!(unkey4(key), (client, server));
    }
}
