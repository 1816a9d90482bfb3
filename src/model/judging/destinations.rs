//! Local ports held per destination, for port exhaustion: every client-side
//! socket whose local port is in net.ipv4.ip_local_port_range (and is not a
//! listener's) holds that port towards (its source IP, its destination).
//!
//! Streaming keeps one compact entry per such socket, grouped by remote
//! endpoint (few on any host); at the end only remotes that could be crowded
//! are split per source IP. Owns: `DestinationHold`, `DestinationCounter`.
//! Must not: judge.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use foldhash::HashMap;

use super::OWNER_SAMPLE;
use crate::model::aggregate::StateCounts;
use crate::model::slack::release_vec_slack;
use crate::model::socket::SocketRecord;
use crate::model::state::TcpState;

/// The ports one source IP holds towards one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationHold {
    pub source: IpAddr,
    pub destination: SocketAddr,
    /// Its sockets per state (TIME_WAIT included: it keeps its port 60 s).
    pub states: StateCounts,
    /// Owner inodes of its non-TIME_WAIT sockets in dump order (0 when not
    /// accept()ed), the first `OWNER_SAMPLE`.
    pub inodes: Vec<u64>,
}

impl DestinationHold {
    /// How many local ports it holds.
    pub fn held(&self) -> u64 {
        self.states.total()
    }
}

/// Up to this many remotes, a remote is found by scanning their keys.
const SCAN_REMOTES_UP_TO: usize = 16;

/// One held port, 16 bytes: the source is an IPv4 address's bits or an
/// index into the interned IPv6 sources.
#[derive(Debug, Clone, Copy)]
struct Held {
    inode: u64,
    source: u32,
    state: TcpState,
}

#[derive(Debug, Clone)]
struct Remote {
    destination: SocketAddr,
    sockets: Vec<Held>,
}

/// A remote endpoint as a map key: an IPv4 one packed into 48 bits (cheap
/// to hash and compare), an IPv6 one as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RemoteKey {
    V4(u64),
    V6(SocketAddrV6),
}

impl RemoteKey {
    fn of(destination: SocketAddr) -> RemoteKey {
        match destination {
            SocketAddr::V4(v4) => {
                RemoteKey::V4((u64::from(u32::from(*v4.ip())) << 16) | u64::from(v4.port()))
            }
            SocketAddr::V6(v6) => RemoteKey::V6(v6),
        }
    }
}

/// Streams client-side sockets in, grouped by remote endpoint. Its lists
/// are kept from one sample to the next (`reset`), so a steady table costs
/// neither reallocation nor page faults.
#[derive(Debug, Clone, Default)]
pub(super) struct DestinationCounter {
    /// The ephemeral range and its size; `None` when unread (nothing counted).
    range: Option<(u16, u16, u32)>,
    ratio: f64,
    remote_index: HashMap<RemoteKey, u32>,
    /// The key of each remote, by index: few remotes are found by a scan
    /// of this list, cheaper than hashing.
    remote_keys: Vec<RemoteKey>,
    remotes: Vec<Remote>,
    /// The last remote looked up: dumps often list a remote's sockets in runs.
    last_remote: Option<(RemoteKey, u32)>,
    v6_index: HashMap<Ipv6Addr, u32>,
    v6_sources: Vec<Ipv6Addr>,
}

impl DestinationCounter {
    #[cfg(test)]
    pub fn new(range: Option<(u16, u16)>, ratio: f64) -> DestinationCounter {
        let mut counter = DestinationCounter::default();
        counter.reset(range, ratio);
        counter
    }

    /// Empties the counter for the next sample. Remotes the last sample did
    /// not meet are forgotten; the others keep their lists' allocations (a
    /// burst's beyond four times the last need is given back).
    pub fn reset(&mut self, range: Option<(u16, u16)>, ratio: f64) {
        self.range =
            range.map(|(first, last)| (first, last, u32::from(last.saturating_sub(first)) + 1));
        self.ratio = ratio;
        if self.remotes.iter().any(|r| r.sockets.is_empty()) {
            self.remotes.retain(|r| !r.sockets.is_empty());
            self.remote_keys = self
                .remotes
                .iter()
                .map(|r| RemoteKey::of(r.destination))
                .collect();
            self.remote_index = self
                .remote_keys
                .iter()
                .enumerate()
                .map(|(i, key)| (*key, u32::try_from(i).unwrap_or(u32::MAX)))
                .collect();
        }
        for remote in &mut self.remotes {
            let used = remote.sockets.len();
            release_vec_slack(&mut remote.sockets, used);
            remote.sockets.clear();
        }
        self.last_remote = None;
        self.v6_index.clear();
        self.v6_sources.clear();
    }

    /// Counts one non-LISTEN socket whose local port is not a listener's.
    pub fn add(&mut self, record: &SocketRecord) {
        let Some((first, last, _)) = self.range else {
            return;
        };
        if !(first..=last).contains(&record.local.port()) {
            return;
        }
        // Matched in place: an `IpAddr` built per socket only to be taken
        // apart again costs a stalled load.
        let source = match &record.local {
            SocketAddr::V4(v4) => u32::from(*v4.ip()),
            SocketAddr::V6(v6) => {
                let ip = *v6.ip();
                let next = u32::try_from(self.v6_sources.len()).unwrap_or(u32::MAX);
                let index = *self.v6_index.entry(ip).or_insert(next);
                if index == next {
                    self.v6_sources.push(ip);
                }
                index
            }
        };
        let remote = self.remote_slot(record.remote);
        if let Some(remote) = self.remotes.get_mut(remote) {
            remote.sockets.push(Held {
                inode: record.inode,
                source,
                state: record.state,
            });
        }
    }

    fn remote_slot(&mut self, destination: SocketAddr) -> usize {
        let key = RemoteKey::of(destination);
        if let Some((last, index)) = self.last_remote
            && last == key
        {
            return index as usize;
        }
        let scanned = (self.remote_keys.len() <= SCAN_REMOTES_UP_TO)
            .then(|| self.remote_keys.iter().position(|k| *k == key))
            .flatten();
        let next = u32::try_from(self.remotes.len()).unwrap_or(u32::MAX);
        let index = match scanned {
            Some(index) => u32::try_from(index).unwrap_or(u32::MAX),
            None => *self.remote_index.entry(key).or_insert(next),
        };
        if index == next {
            self.remote_keys.push(key);
            self.remotes.push(Remote {
                destination,
                sockets: Vec::new(),
            });
        }
        self.last_remote = Some((key, index));
        index as usize
    }

    /// The (source, destination) pairs holding at least the scope's share of
    /// the ephemeral range, sorted by source then destination. Leaves the
    /// lists in place for `reset`.
    pub fn finish(&mut self) -> Vec<DestinationHold> {
        let Some((_, _, range)) = self.range else {
            return Vec::new();
        };
        let floor = self.ratio * f64::from(range);
        let crowded = |held: usize| held > 0 && held as f64 >= floor;
        let mut out = Vec::new();
        for remote in &mut self.remotes {
            if !crowded(remote.sockets.len()) {
                continue;
            }
            // Stable: each source's sockets stay in dump order.
            remote.sockets.sort_by_key(|held| held.source);
            for run in remote.sockets.chunk_by(|a, b| a.source == b.source) {
                if !crowded(run.len()) {
                    continue;
                }
                let source = match remote.destination {
                    SocketAddr::V4(_) => IpAddr::V4(run[0].source.into()),
                    SocketAddr::V6(_) => IpAddr::V6(
                        self.v6_sources
                            .get(run[0].source as usize)
                            .copied()
                            .unwrap_or(Ipv6Addr::UNSPECIFIED),
                    ),
                };
                let mut states = StateCounts::default();
                for held in run {
                    states.add(held.state, 1);
                }
                let inodes = run
                    .iter()
                    .filter(|held| held.state != TcpState::TimeWait)
                    .map(|held| held.inode)
                    .take(OWNER_SAMPLE)
                    .collect();
                out.push(DestinationHold {
                    source,
                    destination: remote.destination,
                    states,
                    inodes,
                });
            }
        }
        out.sort_by_key(|d| (d.source, d.destination));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;

    fn counter(ratio: f64) -> DestinationCounter {
        DestinationCounter::new(Some((50000, 50009)), ratio)
    }

    #[test]
    fn counts_per_source_and_destination_in_the_range_only() {
        let mut counter = counter(0.0);
        for port in 50000..50004 {
            counter.add(&record(
                TcpState::TimeWait,
                &format!("10.0.0.1:{port}"),
                "10.0.0.5:80",
            ));
            counter.add(&record(
                TcpState::Established,
                &format!("10.0.0.2:{port}"),
                "10.0.0.5:80",
            ));
        }
        counter.add(&record(
            TcpState::Established,
            "10.0.0.1:1000",
            "10.0.0.5:80",
        ));
        let holds = counter.finish();
        assert_eq!(holds.len(), 2);
        assert_eq!(holds[0].source.to_string(), "10.0.0.1");
        assert_eq!(holds[0].held(), 4, "port 1000 is outside the range");
        assert_eq!(holds[0].states.get(TcpState::TimeWait), 4);
        assert!(holds[0].inodes.is_empty(), "TIME_WAIT has no owner");
        assert_eq!(holds[1].states.get(TcpState::Established), 4);
        assert_eq!(holds[1].inodes.len(), 4);
    }

    #[test]
    fn only_destinations_at_the_ratio_are_listed() {
        let mut counter = counter(0.5);
        for port in 50000..50005 {
            counter.add(&record(
                TcpState::Established,
                &format!("10.0.0.1:{port}"),
                "10.0.0.5:80",
            ));
        }
        for port in 50000..50004 {
            counter.add(&record(
                TcpState::Established,
                &format!("[fd00::1]:{port}"),
                "[fd00::5]:80",
            ));
        }
        let holds = counter.finish();
        assert_eq!(holds.len(), 1, "{holds:?}");
        assert_eq!(holds[0].held(), 5);
    }

    #[test]
    fn many_remotes_met_in_any_order_and_over_resets_count_alike() {
        // While there are 16 remotes or fewer they are found by a scan,
        // past that through the map. 40, then 10 (the reset forgets the
        // other 30 and rebuilds both), then 40 again; interleaved, so the
        // last-remote shortcut rarely helps.
        let mut counter = counter(0.0);
        for round in 0..3 {
            let remotes = if round == 1 { 10 } else { 40 };
            for port in 50000..50004 {
                for remote in 0..remotes {
                    counter.add(&record(
                        TcpState::Established,
                        &format!("10.0.0.1:{port}"),
                        &format!("10.0.1.{remote}:80"),
                    ));
                }
            }
            let holds = counter.finish();
            assert_eq!(holds.len(), remotes, "round {round}");
            assert!(holds.iter().all(|h| h.held() == 4), "round {round}");
            counter.reset(Some((50000, 50009)), 0.0);
        }
    }

    #[test]
    fn ipv6_sources_are_told_apart() {
        let mut counter = counter(0.0);
        counter.add(&record(
            TcpState::Established,
            "[fd00::1]:50000",
            "[fd00::5]:80",
        ));
        counter.add(&record(
            TcpState::Established,
            "[fd00::2]:50000",
            "[fd00::5]:80",
        ));
        counter.add(&record(
            TcpState::Established,
            "[fd00::1]:50001",
            "[fd00::5]:80",
        ));
        let holds = counter.finish();
        let summary: Vec<(String, u64)> = holds
            .iter()
            .map(|h| (h.source.to_string(), h.held()))
            .collect();
        assert_eq!(
            summary,
            vec![("fd00::1".to_string(), 2), ("fd00::2".to_string(), 1)]
        );
    }
}
