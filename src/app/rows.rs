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
    pub role: ListenerRole,
}

/// Where a row stands in a SO_REUSEPORT group: several listening sockets
/// bound to one address, each with its own accept queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerRole {
    /// The only socket on its address.
    Single,
    /// The group's heading: the members' queues, backlogs and SYN_RECV
    /// summed, and who owns them (`gunicorn ×2`).
    Group { members: usize, owners: String },
    /// One socket of the group above; `last` for the final one.
    Member { last: bool },
}

impl ListenerRow {
    /// True for a row that is one listening socket (not a group heading).
    pub fn is_socket(&self) -> bool {
        !matches!(self.role, ListenerRole::Group { .. })
    }
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
                    role: ListenerRole::Single,
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
                    role: ListenerRole::Single,
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
    group_reuseport(rows)
}

/// Puts the members of each SO_REUSEPORT group (sockets on one address)
/// under a heading row with their sums; the group sits where its fullest
/// member would.
fn group_reuseport(rows: Vec<ListenerRow>) -> Vec<ListenerRow> {
    let mut groups: Vec<Vec<ListenerRow>> = Vec::new();
    let mut group_of: std::collections::HashMap<std::net::SocketAddr, usize> =
        std::collections::HashMap::new();
    for row in rows {
        match group_of.get(&row.summary.local) {
            Some(index) => groups[*index].push(row),
            None => {
                group_of.insert(row.summary.local, groups.len());
                groups.push(vec![row]);
            }
        }
    }
    let mut out = Vec::new();
    for mut members in groups {
        if members.len() == 1 {
            out.extend(members);
            continue;
        }
        out.push(group_heading(&members));
        let count = members.len();
        for (i, member) in members.iter_mut().enumerate() {
            member.role = ListenerRole::Member {
                last: i + 1 == count,
            };
        }
        out.extend(members);
    }
    out
}

fn group_heading(members: &[ListenerRow]) -> ListenerRow {
    let first = &members[0];
    let sum = |f: fn(&ListenerRow) -> Option<u32>| -> Option<u32> {
        members
            .iter()
            .map(f)
            .try_fold(0u32, |total, v| v.map(|v| total.saturating_add(v)))
    };
    let mut names: Vec<&str> = members
        .iter()
        .filter_map(|m| m.owner.as_ref().ok().map(|p| p.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let known = members.iter().filter(|m| m.owner.is_ok()).count();
    let owners = match names.as_slice() {
        [] => "owners unknown".to_string(),
        [one] if known == members.len() => format!("{one} ×{known}"),
        _ => format!("{} processes", members.len()),
    };
    ListenerRow {
        summary: ListenerSummary {
            local: first.summary.local,
            accept_queue: sum(|m| Some(m.summary.accept_queue)).unwrap_or(u32::MAX),
            backlog: sum(|m| m.summary.backlog),
            syn_recv: sum(|m| Some(m.summary.syn_recv)).unwrap_or(u32::MAX),
            inode: 0,
            uid: first.summary.uid,
            process: None,
        },
        owner: Err(NoOwnerReason::Unknown),
        sampled_at_ms: first.sampled_at_ms,
        role: ListenerRole::Group {
            members: members.len(),
            owners,
        },
    }
}

/// The connections counted under `port` (every one when `None`) that pass
/// the filter: listeners first, then the sockets, in the order the app
/// sorts them.
pub(crate) fn connection_rows(
    sample: &FullTick,
    port: Option<u16>,
    query: &FilterQuery,
) -> Vec<ConnectionRef> {
    let snapshot = &sample.snapshot;
    let listening = listener_ports(sample);
    let mut rows: Vec<ConnectionRef> = snapshot
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| port.is_none_or(|p| l.local.port() == p) && query.matches_socket(l))
        .map(|(i, _)| ConnectionRef::Listener(i))
        .collect();
    rows.extend(
        snapshot
            .sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                port.is_none_or(|p| service_port(s, &listening, &snapshot.filter.ports) == p)
                    && query.matches_socket(s)
            })
            .map(|(i, _)| ConnectionRef::Socket(i)),
    );
    rows
}

/// The sockets (listeners first) owned by process `pid`.
pub fn process_connection_rows(sample: &FullTick, pid: u32) -> Vec<ConnectionRef> {
    let snapshot = &sample.snapshot;
    let owned = |record: &SocketRecord| snapshot.owner_of(record).is_ok_and(|p| p.pid == pid);
    let mut rows: Vec<ConnectionRef> = snapshot
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| owned(l))
        .map(|(i, _)| ConnectionRef::Listener(i))
        .collect();
    rows.extend(
        snapshot
            .sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| owned(s))
            .map(|(i, _)| ConnectionRef::Socket(i)),
    );
    rows
}
