//! Turns a snapshot into what people read: state counts per service port,
//! one row per listener with its queue and half-open count, and the
//! TIME_WAIT picture.
//!
//! Owns: `Aggregates`, `PortStates`, `StateCounts`, `ListenerSummary`,
//! `TimeWaitSummary`, the streaming `Aggregator` (which also drives the
//! rules' aggregates, `judging`) and the service-port rule. Must not: do
//! I/O or read the clock.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use super::judging::{JudgingScope, RuleAggregates, RuleAggregator};
use super::snapshot::{Filter, ProcessInfo, Snapshot, port_listed};
use super::socket::SocketRecord;
use super::state::TcpState;

/// A count per TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct StateCounts([u64; 11]);

impl StateCounts {
    pub fn get(&self, state: TcpState) -> u64 {
        self.0[state.index()]
    }

    pub fn add(&mut self, state: TcpState, count: u64) {
        self.0[state.index()] += count;
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The states with a non-zero count, in display order.
    pub(crate) fn non_zero(&self) -> impl Iterator<Item = (TcpState, u64)> + '_ {
        TcpState::ALL
            .iter()
            .map(|s| (*s, self.get(*s)))
            .filter(|(_, n)| *n > 0)
    }
}

/// State counts for one service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortStates {
    pub port: u16,
    pub counts: StateCounts,
}

/// One listening socket, with what the kernel says about its queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSummary {
    pub local: SocketAddr,
    /// Connections completed by the kernel and waiting for accept().
    pub accept_queue: u32,
    /// The effective backlog (min(listen() argument, somaxconn)); `None` when
    /// the source cannot tell (/proc).
    pub backlog: Option<u32>,
    /// Half-open connections (SYN_RECV) for this listener.
    pub syn_recv: u32,
    pub inode: u64,
    pub uid: u32,
    pub process: Option<ProcessInfo>,
}

impl ListenerSummary {
    /// The kernel's own test (`sk_acceptq_is_full`): queue > backlog. So
    /// listen(N) holds N+1 connections before it is full.
    pub fn is_full(&self) -> Option<bool> {
        self.backlog.map(|backlog| self.accept_queue > backlog)
    }

    /// How many connections the queue holds at most: backlog + 1.
    pub(crate) fn capacity(&self) -> Option<u32> {
        self.backlog.map(|backlog| backlog.saturating_add(1))
    }

    /// Fill level in [0, 1] against the real capacity (backlog + 1).
    pub(crate) fn fill_ratio(&self) -> Option<f64> {
        self.capacity()
            .map(|cap| (f64::from(self.accept_queue) / f64::from(cap)).min(1.0))
    }

    pub fn port(&self) -> u16 {
        self.local.port()
    }
}

/// The TIME_WAIT picture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeWaitSummary {
    /// TIME_WAIT sockets seen in the table (for the filter).
    pub total: u64,
    /// The same, per service port, sorted by port.
    pub by_port: Vec<(u16, u64)>,
    /// The namespace-wide count from /proc/net/sockstat, if read.
    pub sockstat_total: Option<u64>,
    pub max_tw_buckets: Option<u64>,
}

impl TimeWaitSummary {
    /// How many more TIME_WAIT sockets fit before the kernel starts skipping
    /// TIME_WAIT (TCPTimeWaitOverflow). Uses the namespace-wide count.
    pub(crate) fn headroom(&self) -> Option<u64> {
        let used = self.sockstat_total.unwrap_or(self.total);
        self.max_tw_buckets.map(|max| max.saturating_sub(used))
    }
}

/// Everything the views and alerts read from one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aggregates {
    /// Sorted by port.
    pub ports: Vec<PortStates>,
    /// Sorted by port, then address.
    pub listeners: Vec<ListenerSummary>,
    pub time_wait: TimeWaitSummary,
    /// All states summed over every port.
    pub totals: StateCounts,
    /// What the alert rules read, over the whole table.
    pub rules: RuleAggregates,
}

impl Aggregates {
    pub fn port(&self, port: u16) -> Option<&PortStates> {
        self.ports
            .binary_search_by_key(&port, |p| p.port)
            .ok()
            .and_then(|i| self.ports.get(i))
    }
}

/// A set of ports that can answer "is this port in it?".
pub(crate) trait PortLookup {
    fn has_port(&self, port: u16) -> bool;
}

impl PortLookup for HashSet<u16> {
    fn has_port(&self, port: u16) -> bool {
        self.contains(&port)
    }
}

/// A set of ports as a 65,536-bit bitmap: one shift and mask per lookup,
/// for the per-socket hot path.
#[derive(Clone)]
pub(crate) struct PortSet {
    bits: Box<[u64; 1024]>,
}

impl PortSet {
    pub fn new() -> PortSet {
        PortSet {
            bits: Box::new([0; 1024]),
        }
    }

    pub fn insert(&mut self, port: u16) {
        self.bits[usize::from(port >> 6)] |= 1 << (port & 63);
    }
}

impl Default for PortSet {
    fn default() -> Self {
        PortSet::new()
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        write!(f, "PortSet({count} ports)")
    }
}

impl PortLookup for PortSet {
    fn has_port(&self, port: u16) -> bool {
        self.bits[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(ports: I) -> PortSet {
        let mut set = PortSet::new();
        for port in ports {
            set.insert(port);
        }
        set
    }
}

/// The port a socket is counted under: its local port if a listener owns that
/// port, else its remote port. A client's SYN_SENT towards :10000 and the
/// server's child both count under 10000. With a port filter, a socket whose
/// rule-port is outside the filter counts under the filtered port it matched.
pub(crate) fn service_port<P: PortLookup + ?Sized>(
    record: &SocketRecord,
    listener_ports: &P,
    filter_ports: &[u16],
) -> u16 {
    let local = record.local.port();
    let remote = record.remote.port();
    let by_rule = if listener_ports.has_port(local) {
        local
    } else {
        remote
    };
    if filter_ports.is_empty() || port_listed(filter_ports, by_rule) {
        by_rule
    } else if port_listed(filter_ports, local) {
        local
    } else {
        remote
    }
}

/// Summarises a snapshot from its own records, in one pass: for scripted
/// snapshots and tests, whose records are the whole table. A collector
/// aggregates while the dump streams in instead (`Sampled`), so its counts
/// stay exact when a snapshot keeps only part of the records. Pure.
pub fn aggregate(snapshot: &Snapshot) -> Aggregates {
    let mut aggregator = Aggregator::new(snapshot, JudgingScope::EVERYTHING);
    for record in &snapshot.sockets {
        aggregator.add(record);
    }
    aggregator.finish()
}

/// Builds `Aggregates` one socket at a time, so a collector can aggregate
/// while it receives instead of keeping every record. Costs a bitmap lookup
/// and an array index per socket.
#[derive(Debug, Clone)]
pub struct Aggregator {
    filter: Filter,
    /// The filter lets every socket through: `add` skips asking it.
    filter_takes_all: bool,
    listener_ports: PortSet,
    listeners: Vec<ListenerSummary>,
    /// Port → index into `rows`, `NO_ROW` when the port has none yet.
    row_of_port: Vec<u32>,
    rows: Vec<PortStates>,
    totals: StateCounts,
    sockstat_tw: Option<u64>,
    max_tw_buckets: Option<u64>,
    rules: RuleAggregator,
}

const NO_ROW: u32 = u32::MAX;

impl Aggregator {
    /// Starts from the snapshot's listeners, filter, owners and settings;
    /// its `sockets` are not read. `scope` bounds the rules' detail.
    pub fn new(snapshot: &Snapshot, scope: JudgingScope) -> Aggregator {
        let mut aggregator = Aggregator {
            filter: Filter::default(),
            filter_takes_all: true,
            listener_ports: PortSet::new(),
            listeners: Vec::new(),
            row_of_port: vec![NO_ROW; usize::from(u16::MAX) + 1],
            rows: Vec::new(),
            totals: StateCounts::default(),
            sockstat_tw: None,
            max_tw_buckets: None,
            rules: RuleAggregator::default(),
        };
        aggregator.restart(snapshot, scope);
        aggregator
    }

    /// Starts over for `snapshot` (listeners, settings and filter read, no
    /// socket counted yet), keeping the allocations of the samples before:
    /// the collector reuses one aggregator, so a steady table costs no
    /// reallocation and no page faults. Counts not yet finished are dropped.
    pub(crate) fn restart(&mut self, snapshot: &Snapshot, scope: JudgingScope) {
        self.filter.clone_from(&snapshot.filter);
        self.filter_takes_all = self.filter.takes_all();
        self.listener_ports = snapshot.listeners.iter().map(|l| l.local.port()).collect();
        self.listeners = snapshot
            .listeners
            .iter()
            .map(|l| ListenerSummary {
                local: l.local,
                accept_queue: l.recv_queue,
                backlog: l.backlog(),
                syn_recv: 0,
                inode: l.inode,
                uid: l.uid,
                process: snapshot.owners.get(&l.inode).cloned(),
            })
            .collect();
        self.listeners.sort_by_key(|l| (l.local.port(), l.local));
        self.forget_rows();
        self.totals = StateCounts::default();
        self.sockstat_tw = snapshot.sockstat.map(|s| s.tw);
        self.max_tw_buckets = snapshot.settings.tcp_max_tw_buckets;
        self.rules.reset(snapshot, scope);
        if self.filter.states.contains(TcpState::Listen) {
            for listener in &snapshot.listeners {
                self.count(listener.local.port(), TcpState::Listen);
            }
        }
    }

    /// Empties the port rows, clearing only the index slots they used.
    fn forget_rows(&mut self) {
        self.forget_row_slots();
        self.rows.clear();
    }

    fn forget_row_slots(&mut self) {
        for row in &self.rows {
            if let Some(slot) = self.row_of_port.get_mut(usize::from(row.port)) {
                *slot = NO_ROW;
            }
        }
    }

    fn count(&mut self, port: u16, state: TcpState) {
        let slot = &mut self.row_of_port[usize::from(port)];
        if *slot == NO_ROW {
            *slot = u32::try_from(self.rows.len()).unwrap_or(NO_ROW - 1);
            self.rows.push(PortStates {
                port,
                counts: StateCounts::default(),
            });
        }
        if let Some(row) = self.rows.get_mut(*slot as usize) {
            row.counts.add(state, 1);
        }
        self.totals.add(state, 1);
    }

    /// Counts one non-LISTEN socket (LISTEN sockets come from `listeners`).
    pub fn add(&mut self, record: &SocketRecord) {
        if record.state == TcpState::Listen
            || (!self.filter_takes_all && !self.filter.matches(record))
        {
            return;
        }
        let port = service_port(record, &self.listener_ports, &self.filter.ports);
        self.count(port, record.state);
        self.rules.add(record, port, &self.listener_ports);
        if record.state == TcpState::SynRecv
            && let Some(index) = owning_listener(&self.listeners, &record.local)
        {
            self.listeners[index].syn_recv += 1;
        }
    }

    pub fn finish(mut self) -> Aggregates {
        self.finish_reusable()
    }

    /// The aggregates counted since the last `restart`, leaving the
    /// aggregator ready for the next one.
    pub(crate) fn finish_reusable(&mut self) -> Aggregates {
        self.forget_row_slots();
        let mut rows = std::mem::take(&mut self.rows);
        rows.sort_unstable_by_key(|row| row.port);
        let by_port: Vec<(u16, u64)> = rows
            .iter()
            .map(|row| (row.port, row.counts.get(TcpState::TimeWait)))
            .filter(|(_, count)| *count > 0)
            .collect();
        Aggregates {
            time_wait: TimeWaitSummary {
                total: self.totals.get(TcpState::TimeWait),
                by_port,
                sockstat_total: self.sockstat_tw,
                max_tw_buckets: self.max_tw_buckets,
            },
            ports: rows,
            listeners: std::mem::take(&mut self.listeners),
            totals: self.totals,
            rules: self.rules.finish(),
        }
    }
}

/// The listener a half-open connection arrived at: an exact address match,
/// else a wildcard listener on the same port (IPv4 on 0.0.0.0, or a
/// dual-stack [::] listener taking IPv4 too).
fn owning_listener(listeners: &[ListenerSummary], local: &SocketAddr) -> Option<usize> {
    let same_port = |l: &ListenerSummary| l.local.port() == local.port();
    listeners
        .iter()
        .position(|l| same_port(l) && l.local.ip() == local.ip())
        .or_else(|| {
            listeners.iter().position(|l| {
                same_port(l)
                    && l.local.ip().is_unspecified()
                    && matches!(
                        (l.local.ip(), local.ip()),
                        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_))
                    )
            })
        })
        .or_else(|| {
            listeners
                .iter()
                .position(|l| same_port(l) && l.local.ip().is_unspecified())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::counters::{Settings, Sockstat};
    use crate::model::listen_one::ListenOne;
    use crate::model::snapshot::{Filter, SourceKind};
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::state::StateMask;

    /// The write-up's experiment: listen(1), no accept(), 5 clients.
    fn listen_one_experiment() -> Snapshot {
        ListenOne::experiment().snapshot(1_000)
    }

    #[test]
    fn listen_one_holds_two_and_is_full() {
        let agg = aggregate(&listen_one_experiment());
        let listener = &agg.listeners[0];
        assert_eq!(listener.accept_queue, 2);
        assert_eq!(listener.backlog, Some(1));
        assert_eq!(listener.is_full(), Some(true));
        assert_eq!(listener.capacity(), Some(2));
        assert_eq!(listener.fill_ratio(), Some(1.0));
        let port = agg.port(10000).expect("port 10000 row");
        assert_eq!(port.counts.get(TcpState::Listen), 1);
        assert_eq!(port.counts.get(TcpState::Established), 4);
        assert_eq!(port.counts.get(TcpState::SynSent), 3);
        assert_eq!(
            agg.ports.len(),
            1,
            "client ports must not get rows: {:?}",
            agg.ports
        );
    }

    /// A busy table for the reuse test: a crowded destination, half-open
    /// pairs, TIME_WAIT, CLOSE_WAIT and SYN_SENT on several ports.
    fn busy_table(base_port: u16, clients: u16) -> Snapshot {
        let mut snap = Snapshot::empty(0, SourceKind::Netlink);
        snap.settings.ip_local_port_range = Some((40000, 40099));
        snap.listeners
            .push(listener(&format!("127.0.0.1:{base_port}"), 2, 1));
        let server = format!("127.0.0.1:{base_port}");
        for i in 0..clients {
            let client = format!("127.0.0.1:{}", 40000 + i);
            snap.sockets
                .push(record(TcpState::Established, &client, &server));
            let server_end = match i % 3 {
                0 => Some(TcpState::Established),
                1 => Some(TcpState::SynRecv),
                _ => None,
            };
            if let Some(state) = server_end {
                snap.sockets.push(record(state, &server, &client));
            }
            let other = format!("127.0.0.1:{}", 41000 + i);
            snap.sockets
                .push(record(TcpState::TimeWait, &other, &server));
            snap.sockets.push(record(
                TcpState::CloseWait,
                &server,
                &format!("127.0.0.1:{}", 42000 + i),
            ));
        }
        snap.sockets.push(record(
            TcpState::SynSent,
            "127.0.0.1:40099",
            &format!("127.0.0.1:{}", base_port + 1),
        ));
        snap
    }

    #[test]
    fn a_reused_aggregator_counts_exactly_as_a_fresh_one() {
        let fresh = |snap: &Snapshot| {
            let mut aggregator = Aggregator::new(snap, JudgingScope::EVERYTHING);
            snap.sockets.iter().for_each(|r| aggregator.add(r));
            aggregator.finish()
        };
        let big = busy_table(8080, 90);
        let small = busy_table(9090, 7);
        let mut reused = Aggregator::new(&big, JudgingScope::EVERYTHING);
        for (snap, name) in [(&big, "big"), (&small, "small"), (&big, "big again")] {
            reused.restart(snap, JudgingScope::EVERYTHING);
            snap.sockets.iter().for_each(|r| reused.add(r));
            let again = reused.finish_reusable();
            assert_eq!(again, fresh(snap), "{name}");
            assert!(!again.rules.half_open.is_empty(), "{name}");
            assert!(!again.rules.destinations.is_empty(), "{name}");
        }
        assert_eq!(
            reused.finish_reusable().ports,
            Vec::new(),
            "nothing counted since"
        );
    }

    #[test]
    fn queue_equal_to_backlog_is_not_yet_full() {
        let summary = ListenerSummary {
            local: "127.0.0.1:1".parse().expect("addr"),
            accept_queue: 1,
            backlog: Some(1),
            syn_recv: 0,
            inode: 1,
            uid: 0,
            process: None,
        };
        assert_eq!(summary.is_full(), Some(false));
        assert_eq!(summary.fill_ratio(), Some(0.5));
        let unknown = ListenerSummary {
            backlog: None,
            ..summary
        };
        assert_eq!(unknown.is_full(), None);
        assert_eq!(unknown.fill_ratio(), None);
    }

    #[test]
    fn syn_recv_goes_to_the_wildcard_listener() {
        let mut snap = Snapshot::empty(0, SourceKind::Netlink);
        snap.listeners.push(listener("0.0.0.0:8080", 0, 128));
        snap.listeners.push(listener("[::]:8443", 0, 128));
        snap.sockets
            .push(record(TcpState::SynRecv, "10.0.0.1:8080", "10.0.0.2:5555"));
        snap.sockets
            .push(record(TcpState::SynRecv, "10.0.0.1:8080", "10.0.0.2:5556"));
        snap.sockets
            .push(record(TcpState::SynRecv, "10.0.0.1:8443", "10.0.0.2:5557"));
        let agg = aggregate(&snap);
        assert_eq!(agg.listeners[0].syn_recv, 2);
        assert_eq!(
            agg.listeners[1].syn_recv, 1,
            "dual-stack [::] takes IPv4 too"
        );
    }

    #[test]
    fn time_wait_is_counted_per_service_port_with_headroom() {
        let mut snap = Snapshot::empty(0, SourceKind::Netlink);
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        for port in 50000..50005 {
            let client = format!("127.0.0.1:{port}");
            snap.sockets
                .push(record(TcpState::TimeWait, &client, "127.0.0.1:10000"));
        }
        snap.sockets.push(record(
            TcpState::TimeWait,
            "127.0.0.1:10000",
            "127.0.0.1:50010",
        ));
        snap.sockstat = Some(Sockstat {
            tw: 7,
            ..Sockstat::default()
        });
        snap.settings = Settings {
            tcp_max_tw_buckets: Some(10),
            ..Settings::default()
        };
        let agg = aggregate(&snap);
        assert_eq!(agg.time_wait.total, 6);
        assert_eq!(agg.time_wait.by_port, vec![(10000, 6)]);
        assert_eq!(agg.time_wait.headroom(), Some(3));
    }

    #[test]
    fn state_and_port_filters_apply() {
        let mut snap = listen_one_experiment();
        snap.sockets.push(record(
            TcpState::Established,
            "127.0.0.1:50000",
            "127.0.0.1:22",
        ));
        snap.filter = Filter {
            ports: vec![10000],
            states: StateMask::of(&[TcpState::SynSent]),
            ..Filter::default()
        };
        let agg = aggregate(&snap);
        assert_eq!(agg.ports.len(), 1);
        assert_eq!(agg.ports[0].counts.get(TcpState::SynSent), 3);
        assert_eq!(
            agg.ports[0].counts.total(),
            3,
            "LISTEN is filtered out of the counts"
        );
        assert_eq!(agg.listeners.len(), 1, "listeners stay visible");
    }

    #[test]
    fn a_filter_takes_all_only_when_nothing_is_asked_and_is_applied_otherwise() {
        assert!(Filter::default().takes_all());
        let asked = [
            Filter {
                ports: vec![80],
                ..Filter::default()
            },
            Filter {
                states: StateMask::of(&[TcpState::Established]),
                ..Filter::default()
            },
            Filter {
                family: Some(crate::model::IpFamily::V6),
                ..Filter::default()
            },
            Filter {
                addrs: vec!["10.0.0.0/8".parse().expect("a prefix")],
                ..Filter::default()
            },
        ];
        for filter in asked {
            assert!(!filter.takes_all(), "{filter:?}");
        }
        let mut snap = listen_one_experiment();
        let everything = aggregate(&snap);
        assert_eq!(everything.totals.get(TcpState::SynSent), 3);
        snap.filter = Filter {
            family: Some(crate::model::IpFamily::V6),
            ..Filter::default()
        };
        let filtered = aggregate(&snap);
        assert_eq!(filtered.totals.get(TcpState::SynSent), 0, "IPv4 sockets");
        assert_eq!(filtered.totals.get(TcpState::Established), 0);
    }

    #[test]
    fn filtered_port_wins_over_the_service_port_rule() {
        // A client that bound local port 10000 and talks to :80, with no listener.
        let rec = record(TcpState::Established, "127.0.0.1:10000", "127.0.0.1:80");
        let none = HashSet::new();
        assert_eq!(service_port(&rec, &none, &[]), 80);
        assert_eq!(service_port(&rec, &none, &[10000]), 10000);
    }
}
