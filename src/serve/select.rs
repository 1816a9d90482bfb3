//! Which listeners, ports and alerts become series: at most `max_series`
//! per family, the fullest listeners and the busiest ports first, and how
//! many were left out. A port becomes a label value only when something
//! listens on it or the user asked for it with `--port`, so the client side
//! of connections (ephemeral ports) never does.
//!
//! Owns: `ListenerRow` (one listening address, SO_REUSEPORT sockets merged),
//! the ordering and the caps. Must not: encode metrics or do I/O.

use std::cmp::Ordering;
use std::net::SocketAddr;

use crate::alert::Alert;
use crate::model::{Aggregates, PortStates, StateMask};

/// One listening address as exported. SO_REUSEPORT sockets share an address
/// but each has its own queue: the row shows the fullest of them (the one
/// that overflows first) and sums their half-open connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenerRow {
    /// Which namespace (the index of its member; 0 for a single one).
    pub member: usize,
    pub local: SocketAddr,
    pub process: Option<String>,
    pub accept_queue: u32,
    pub backlog: Option<u32>,
    pub syn_recv: u32,
    /// The inodes of the sockets behind this address.
    pub inodes: Vec<u64>,
}

impl ListenerRow {
    fn is_full(&self) -> bool {
        self.backlog
            .is_some_and(|backlog| self.accept_queue > backlog)
    }

    /// Fill against what the queue holds (backlog + 1); 0 when unknown.
    fn fill(&self) -> f64 {
        self.backlog.map_or(0.0, |backlog| {
            f64::from(self.accept_queue) / (f64::from(backlog) + 1.0)
        })
    }

    /// Fullest first: full, then fill ratio, queue, half-open, address.
    fn fuller_first(a: &ListenerRow, b: &ListenerRow) -> Ordering {
        b.is_full()
            .cmp(&a.is_full())
            .then_with(|| b.fill().total_cmp(&a.fill()))
            .then_with(|| b.accept_queue.cmp(&a.accept_queue))
            .then_with(|| b.syn_recv.cmp(&a.syn_recv))
            .then_with(|| a.local.cmp(&b.local))
            .then_with(|| a.member.cmp(&b.member))
    }
}

/// The listeners of one namespace (`member`) merged by address, in
/// address order.
pub(crate) fn listener_rows(member: usize, aggregates: &Aggregates) -> Vec<ListenerRow> {
    let mut rows: Vec<ListenerRow> = Vec::with_capacity(aggregates.listeners.len());
    let mut sorted: Vec<_> = aggregates.listeners.iter().collect();
    sorted.sort_by_key(|l| (l.local, l.inode));
    for listener in sorted {
        let row = ListenerRow {
            member,
            local: listener.local,
            process: listener.process.as_ref().map(|p| p.name.clone()),
            accept_queue: listener.accept_queue,
            backlog: listener.backlog,
            syn_recv: listener.syn_recv,
            inodes: vec![listener.inode],
        };
        match rows.last_mut() {
            Some(last) if last.local == row.local => {
                let syn_recv = last.syn_recv.saturating_add(row.syn_recv);
                let mut inodes = std::mem::take(&mut last.inodes);
                inodes.push(listener.inode);
                if ListenerRow::fuller_first(&row, last) == Ordering::Less {
                    *last = row;
                }
                last.syn_recv = syn_recv;
                last.inodes = inodes;
            }
            _ => rows.push(row),
        }
    }
    rows
}

/// At most `max` listeners, fullest first, and how many were left out.
pub(crate) fn fullest_listeners(
    mut rows: Vec<ListenerRow>,
    max: usize,
) -> (Vec<ListenerRow>, usize) {
    rows.sort_by(ListenerRow::fuller_first);
    let omitted = rows.len().saturating_sub(max);
    rows.truncate(max);
    (rows, omitted)
}

/// The ports that may be label values: listener ports and `--port` ports.
pub(crate) fn labelled_port(port: u16, listener_ports: &[u16], watched: &[u16]) -> bool {
    listener_ports.binary_search(&port).is_ok() || watched.contains(&port)
}

/// The busiest labelled ports of every namespace (by member index), as
/// many as fit `max_series` series at one series per counted state, and
/// how many series were left out. A namespace's labelled ports are its own
/// listeners' and the watched ones.
pub(crate) fn busiest_ports<'a>(
    members: &[&'a Aggregates],
    watched: &[u16],
    states: StateMask,
    max_series: usize,
) -> (Vec<(usize, &'a PortStates)>, usize) {
    let mut ports: Vec<(usize, &PortStates)> = Vec::new();
    for (member, aggregates) in members.iter().enumerate() {
        let mut listener_ports: Vec<u16> = aggregates.listeners.iter().map(|l| l.port()).collect();
        listener_ports.sort_unstable();
        listener_ports.dedup();
        ports.extend(
            aggregates
                .ports
                .iter()
                .filter(|row| labelled_port(row.port, &listener_ports, watched))
                .map(|row| (member, row)),
        );
    }
    ports.sort_by(|(ma, a), (mb, b)| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then(a.port.cmp(&b.port))
            .then(ma.cmp(mb))
    });
    let per_port = states_in(states).max(1);
    let keep = max_series / per_port;
    let omitted = ports.len().saturating_sub(keep) * per_port;
    ports.truncate(keep);
    ports.sort_by_key(|(member, row)| (*member, row.port));
    (ports, omitted)
}

/// How many states a port row exports.
pub(crate) fn states_in(states: StateMask) -> usize {
    crate::model::TcpState::ALL
        .iter()
        .filter(|s| states.contains(**s))
        .count()
}

/// At most `max` active alerts (each with its namespace's member index),
/// most severe first, and how many were left out.
pub(crate) fn most_severe_alerts<'a>(
    alerts: impl IntoIterator<Item = (usize, &'a Alert)>,
    max: usize,
) -> (Vec<(usize, &'a Alert)>, usize) {
    let mut sorted: Vec<(usize, &Alert)> = alerts.into_iter().collect();
    sorted.sort_by(|(ma, a), (mb, b)| {
        b.severity
            .cmp(&a.severity)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.subject.cmp(&b.subject))
            .then(ma.cmp(mb))
    });
    let omitted = sorted.len().saturating_sub(max);
    sorted.truncate(max);
    (sorted, omitted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Snapshot, SourceKind, TcpState, aggregate};

    fn aggregates_with(listeners: &[(&str, u32, u32, u64)]) -> Aggregates {
        let mut snap = Snapshot::empty(0, SourceKind::Netlink);
        for (addr, queue, backlog, inode) in listeners {
            let mut l = listener(addr, *queue, *backlog);
            l.inode = *inode;
            snap.listeners.push(l);
        }
        aggregate(&snap)
    }

    #[test]
    fn reuseport_sockets_merge_into_their_fullest() {
        let agg = aggregates_with(&[
            ("0.0.0.0:80", 1, 128, 1),
            ("0.0.0.0:80", 129, 128, 2),
            ("127.0.0.1:22", 0, 128, 3),
        ]);
        let rows = listener_rows(0, &agg);
        assert_eq!(rows.len(), 2);
        let web = rows.iter().find(|r| r.local.port() == 80).expect("port 80");
        assert_eq!(web.accept_queue, 129);
        assert_eq!(web.inodes, vec![1, 2]);
    }

    #[test]
    fn the_fullest_listeners_are_kept() {
        let agg = aggregates_with(&[
            ("127.0.0.1:1000", 0, 128, 1),
            ("127.0.0.1:1001", 2, 1, 2),
            ("127.0.0.1:1002", 100, 128, 3),
            ("127.0.0.1:1003", 5, 128, 4),
        ]);
        let (kept, omitted) = fullest_listeners(listener_rows(0, &agg), 2);
        assert_eq!(omitted, 2);
        let ports: Vec<u16> = kept.iter().map(|r| r.local.port()).collect();
        assert_eq!(ports, vec![1001, 1002], "full first, then the fullest");
    }

    #[test]
    fn client_ports_never_become_labels_and_busy_ports_come_first() {
        let mut snap = Snapshot::empty(0, SourceKind::Netlink);
        snap.listeners.push(listener("127.0.0.1:10000", 0, 128));
        snap.listeners.push(listener("127.0.0.1:22", 0, 128));
        for client in 40000..40010 {
            let c = format!("127.0.0.1:{client}");
            snap.sockets
                .push(record(TcpState::Established, &c, "127.0.0.1:10000"));
        }
        // An outbound connection to a remote service nobody listens on here.
        snap.sockets.push(record(
            TcpState::Established,
            "10.0.0.1:51000",
            "10.0.0.2:443",
        ));
        let agg = aggregate(&snap);
        let (ports, omitted) = busiest_ports(&[&agg], &[], StateMask::ALL, 11);
        assert_eq!(
            ports.iter().map(|(_, p)| p.port).collect::<Vec<_>>(),
            vec![10000]
        );
        assert_eq!(omitted, 11, "port 22's eleven states");
        let (ports, _) = busiest_ports(&[&agg], &[443], StateMask::ALL, 2000);
        let labelled: Vec<u16> = ports.iter().map(|(_, p)| p.port).collect();
        assert_eq!(labelled, vec![22, 443, 10000]);
        // Across namespaces: each one's own listener ports are labels.
        let mut other = Snapshot::empty(0, SourceKind::Netlink);
        other.listeners.push(listener("10.0.0.1:443", 0, 128));
        other.sockets.push(record(
            TcpState::Established,
            "10.0.0.1:443",
            "10.0.0.9:50000",
        ));
        let other = aggregate(&other);
        let (ports, _) = busiest_ports(&[&agg, &other], &[], StateMask::ALL, 2000);
        let labelled: Vec<(usize, u16)> = ports.iter().map(|(m, p)| (*m, p.port)).collect();
        assert_eq!(labelled, vec![(0, 22), (0, 10000), (1, 443)]);
    }

    #[test]
    fn alerts_keep_the_most_severe() {
        use crate::alert::{AlertKind, Severity};
        let alert = |kind, severity| Alert {
            kind,
            subject: "s".to_string(),
            severity,
            summary: String::new(),
            cause: String::new(),
            fix: String::new(),
            since_ms: 0,
            last_seen_ms: 0,
            fire_count: 1,
        };
        let alerts = [
            alert(AlertKind::BacklogClamped, Severity::Info),
            alert(AlertKind::BacklogFull, Severity::Critical),
        ];
        let (kept, omitted) = most_severe_alerts(alerts.iter().map(|a| (0, a)), 1);
        assert_eq!(omitted, 1);
        assert_eq!(kept[0].1.kind, AlertKind::BacklogFull);
    }
}
