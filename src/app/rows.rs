//! The rows the views draw, built from a sample when it arrives or the
//! filter or sort changes, so drawing stays cheap: the ports table, the
//! listener gauges, and the connections of one port.
//!
//! Owns: `ListenerRow`, `ConnectionRef` and the builders. Must not: draw or
//! read the clock.

use std::collections::HashSet;

use super::filter::FilterQuery;
use super::sort::SortMode;
use crate::model::aggregate::service_port;
use crate::model::{
    ListenerSummary, NoOwnerReason, PortStates, ProcessInfo, SocketRecord, TcpState,
};
use crate::watch::FullTick;

/// A listener as the gauges show it: the snapshot's summary with the queue
/// of the newest listener sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRow {
    pub summary: ListenerSummary,
    pub owner: Result<ProcessInfo, NoOwnerReason>,
    /// When the queue figures were read.
    pub sampled_at_ms: u64,
}

/// One row of the connection view: an index into the shown snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRef {
    Listener(usize),
    Socket(usize),
}

impl ConnectionRef {
    pub fn record<'a>(&self, sample: &'a FullTick) -> Option<&'a SocketRecord> {
        match *self {
            ConnectionRef::Listener(i) => sample.snapshot.listeners.get(i),
            ConnectionRef::Socket(i) => sample.snapshot.sockets.get(i),
        }
    }
}

fn listener_ports(sample: &FullTick) -> HashSet<u16> {
    sample
        .snapshot
        .listeners
        .iter()
        .map(|l| l.local.port())
        .collect()
}

/// Ports-table rows that pass the live filter, in the chosen order.
pub(crate) fn port_rows(sample: &FullTick, query: &FilterQuery, sort: SortMode) -> Vec<PortStates> {
    let mut by_address: HashSet<u16> = HashSet::new();
    if query.searches_addresses() {
        let listening = listener_ports(sample);
        let filter_ports = &sample.snapshot.filter.ports;
        for listener in sample
            .snapshot
            .listeners
            .iter()
            .filter(|l| query.matches_socket(l))
        {
            by_address.insert(listener.local.port());
        }
        for socket in sample
            .snapshot
            .sockets
            .iter()
            .filter(|s| query.matches_socket(s))
        {
            by_address.insert(service_port(socket, &listening, filter_ports));
        }
    }
    let mut rows: Vec<PortStates> = sample
        .aggregates
        .ports
        .iter()
        .filter(|row| query.matches_port(row.port, &row.counts) || by_address.contains(&row.port))
        .cloned()
        .collect();
    sort.sort(&mut rows);
    rows
}

/// Listener rows: queue figures from `live` when it is newer than the
/// snapshot, the rest (SYN_RECV, owner) from the snapshot. Only listeners
/// on `ports` when given.
pub(crate) fn listener_rows(
    sample: &FullTick,
    live: Option<(u64, &[SocketRecord])>,
    ports: Option<&HashSet<u16>>,
) -> Vec<ListenerRow> {
    let snapshot = &sample.snapshot;
    let summaries = &sample.aggregates.listeners;
    let wanted = |local: &std::net::SocketAddr| ports.is_none_or(|p| p.contains(&local.port()));
    let owner_of = |record: &SocketRecord| snapshot.owner_of(record).cloned();
    let mut rows: Vec<ListenerRow> = match live {
        Some((at_ms, records)) if at_ms > snapshot.taken_at_ms => records
            .iter()
            .filter(|r| r.state == TcpState::Listen && wanted(&r.local))
            .map(|record| {
                let known = summaries
                    .iter()
                    .find(|s| s.local == record.local && s.inode == record.inode);
                let summary = ListenerSummary {
                    local: record.local,
                    accept_queue: record.recv_queue,
                    backlog: record.backlog(),
                    syn_recv: known.map_or(0, |s| s.syn_recv),
                    inode: record.inode,
                    uid: record.uid,
                    process: known.and_then(|s| s.process.clone()),
                };
                ListenerRow {
                    owner: summary
                        .process
                        .clone()
                        .ok_or(())
                        .or_else(|()| owner_of(record)),
                    summary,
                    sampled_at_ms: at_ms,
                }
            })
            .collect(),
        _ => summaries
            .iter()
            .filter(|s| wanted(&s.local))
            .map(|summary| {
                let record = snapshot
                    .listeners
                    .iter()
                    .find(|r| r.local == summary.local && r.inode == summary.inode);
                let owner = match (&summary.process, record) {
                    (Some(process), _) => Ok(process.clone()),
                    (None, Some(record)) => owner_of(record),
                    (None, None) => Err(NoOwnerReason::Unknown),
                };
                ListenerRow {
                    summary: summary.clone(),
                    owner,
                    sampled_at_ms: snapshot.taken_at_ms,
                }
            })
            .collect(),
    };
    // The fullest queues first, so a full listener is never scrolled out of
    // sight on a host with many listeners; then by port.
    rows.sort_by_key(|r| {
        let pressure = r.summary.backlog.map_or(0, |backlog| {
            u64::from(r.summary.accept_queue) * 1000 / (u64::from(backlog) + 1)
        });
        (
            std::cmp::Reverse(pressure),
            r.summary.local.port(),
            r.summary.local,
        )
    });
    rows
}

/// The connections counted under `port` that pass the filter: listeners
/// first, then by state in display order, remote and local address.
pub(crate) fn connection_rows(
    sample: &FullTick,
    port: u16,
    query: &FilterQuery,
) -> Vec<ConnectionRef> {
    let snapshot = &sample.snapshot;
    let listening = listener_ports(sample);
    let mut rows: Vec<ConnectionRef> = snapshot
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| l.local.port() == port && query.matches_socket(l))
        .map(|(i, _)| ConnectionRef::Listener(i))
        .collect();
    let first_socket = rows.len();
    rows.extend(
        snapshot
            .sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                service_port(s, &listening, &snapshot.filter.ports) == port
                    && query.matches_socket(s)
            })
            .map(|(i, _)| ConnectionRef::Socket(i)),
    );
    let display_order = |state: TcpState| TcpState::ALL.iter().position(|s| *s == state);
    if let Some(sockets) = rows.get_mut(first_socket..) {
        sockets.sort_by_key(|r| {
            r.record(sample)
                .map(|s| (display_order(s.state), s.remote, s.local))
        });
    }
    rows
}
