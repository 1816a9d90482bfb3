//! `serve --all-namespaces`: the exporter's side of the all-namespaces
//! pipeline. It keeps each namespace's latest judged light sample (its
//! listeners, counters, sockstat and alerts) and its latest whole table
//! (round-robin: ports, states, SYN_RECV, owners), and after each round of
//! light samples encodes every namespace into one exposition, each series
//! labelled `netns` (and `container` where one is known). A namespace that
//! vanishes takes its series and state with it.
//!
//! Owns: `FleetExporter`, `FleetOutput`, the `netns`/`container` label
//! values. Must not: do I/O, read the clock, or encode anything but at the
//! end of a round (never per listener sample).

use std::collections::BTreeMap;

use super::exporter::{FullTickView, OverflowBlame, facts_of};
use super::metrics::{
    ExportOptions, Exposition, Facts, ListenerKey, Member, Scope, Watching, render_members,
};
use crate::collect::namespaces::discovery::{FoundNamespace, NamespaceId};
use crate::fleet::judge::FleetTick;
use crate::model::{Aggregates, Filter, TcpState};

/// What a fleet tick asks of the shared state.
#[derive(Debug)]
pub(crate) enum FleetOutput {
    Nothing,
    /// A new picture, and the listener queues of the interval it closes.
    Publish {
        exposition: Exposition,
        queues: Vec<(ListenerKey, u32)>,
    },
    /// A listener sample of one namespace: queues for the peaks.
    Observe(Vec<(ListenerKey, u32)>),
    /// Sampling stopped for good.
    Stopped(String),
}

/// One namespace as the exporter remembers it.
struct Exported {
    scope: Scope,
    blame: OverflowBlame,
    /// Its latest judged light sample, merged with its latest table.
    facts: Option<Facts>,
    /// Its latest whole table (round-robin), when one was taken.
    table: Option<Aggregates>,
}

/// Every namespace's latest facts. See the module docs.
pub(crate) struct FleetExporter {
    options: ExportOptions,
    watching: Watching,
    /// The command line's filter (a light sample's says LISTEN only).
    filter: Filter,
    namespaces: BTreeMap<NamespaceId, Exported>,
    /// The listener peaks of the light samples judged since the last picture.
    pending_queues: Vec<(ListenerKey, u32)>,
}

/// The `netns` label: the `ip netns` name, `host`, or the inode.
pub(crate) fn netns_label(found: &FoundNamespace) -> String {
    match &found.name {
        Some(name) => name.clone(),
        None if found.is_host => "host".to_string(),
        None => found.id.0.to_string(),
    }
}

/// The scope labels of a namespace: `netns`, and `container`
/// (`docker://3f2a9c1b7d0e`) when its lowest process runs in one.
pub(crate) fn scope_of(found: &FoundNamespace) -> Scope {
    let mut scope = vec![("netns", netns_label(found))];
    if let Some(container) = &found.origin.container {
        scope.push((
            "container",
            format!("{}://{}", container.runtime.name(), container.short_id()),
        ));
    }
    scope
}

impl FleetExporter {
    pub fn new(options: ExportOptions, watching: Watching, filter: Filter) -> FleetExporter {
        FleetExporter {
            options,
            watching,
            filter,
            namespaces: BTreeMap::new(),
            pending_queues: Vec::new(),
        }
    }

    /// One fleet tick in.
    pub fn ingest(&mut self, tick: FleetTick) -> FleetOutput {
        match tick {
            FleetTick::Namespaces {
                appeared, vanished, ..
            } => {
                for status in vanished {
                    self.namespaces.remove(&status.found.id);
                }
                for status in appeared {
                    self.namespaces.insert(
                        status.found.id,
                        Exported {
                            scope: scope_of(&status.found),
                            blame: OverflowBlame::default(),
                            facts: None,
                            table: None,
                        },
                    );
                }
                FleetOutput::Nothing
            }
            FleetTick::Judged { id, tick } => {
                let Some(exported) = self.namespaces.get_mut(&id) else {
                    return FleetOutput::Nothing;
                };
                let crate::watch::FullTick {
                    snapshot,
                    aggregates,
                    deltas,
                    active_alerts,
                    peaks,
                    ..
                } = *tick;
                self.pending_queues.extend(peaks.iter().map(|p| {
                    (
                        ListenerKey {
                            netns: id.0,
                            local: p.local,
                        },
                        p.max_queue,
                    )
                }));
                let view = FullTickView {
                    snapshot: &snapshot,
                    aggregates,
                    deltas,
                    active_alerts,
                    peaks: &peaks,
                };
                let overflows = exported.blame.update(&view);
                let mut facts = facts_of(view, overflows, self.watching.failed_samples);
                facts.filter.clone_from(&self.filter);
                facts.table_size = 0;
                if let Some(table) = &exported.table {
                    merge_table(&mut facts, table);
                }
                exported.facts = Some(facts);
                FleetOutput::Nothing
            }
            FleetTick::WholeTable { id, aggregates } => {
                if let Some(exported) = self.namespaces.get_mut(&id) {
                    if let Some(facts) = &mut exported.facts {
                        merge_table(facts, &aggregates);
                    }
                    exported.table = Some(*aggregates);
                }
                FleetOutput::Nothing
            }
            FleetTick::Queues { id, queues, .. } => FleetOutput::Observe(
                queues
                    .into_iter()
                    .map(|(local, queue)| (ListenerKey { netns: id.0, local }, queue))
                    .collect(),
            ),
            FleetTick::Rows { .. } => FleetOutput::Publish {
                exposition: self.render(),
                queues: std::mem::take(&mut self.pending_queues),
            },
            FleetTick::Stopped { error } => FleetOutput::Stopped(error.to_string()),
            FleetTick::Alerts { .. } | FleetTick::Opened { .. } | FleetTick::Table { .. } => {
                FleetOutput::Nothing
            }
        }
    }

    /// Every namespace with a judged sample, in one exposition.
    pub fn render(&self) -> Exposition {
        let members: Vec<Member<'_>> = self
            .namespaces
            .iter()
            .filter_map(|(id, exported)| {
                Some(Member {
                    netns: id.0,
                    scope: &exported.scope,
                    facts: exported.facts.as_ref()?,
                })
            })
            .collect();
        render_members(&members, &self.watching, self.options)
    }
}

/// What a light sample does not have, from the namespace's latest whole
/// table: per-port states and totals, the table's size, and each
/// listener's SYN_RECV count and owner.
fn merge_table(facts: &mut Facts, table: &Aggregates) {
    let aggregates = &mut facts.aggregates;
    aggregates.ports.clone_from(&table.ports);
    aggregates.totals = table.totals;
    aggregates.time_wait = table.time_wait.clone();
    facts.table_size = table
        .totals
        .total()
        .saturating_sub(table.totals.get(TcpState::Listen));
    for listener in &mut aggregates.listeners {
        if let Some(whole) = table
            .listeners
            .iter()
            .find(|t| t.local == listener.local && t.inode == listener.inode)
        {
            listener.syn_recv = whole.syn_recv;
            if listener.process.is_none() {
                listener.process.clone_from(&whole.process);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Thresholds;
    use crate::collect::namespaces::cgroup::{CgroupOrigin, Container, Runtime};
    use crate::collect::namespaces::fleet::NamespaceStatus;
    use crate::collect::namespaces::reader::Access;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Counter, Sampled, Snapshot, SourceKind, StateMask, aggregate};
    use crate::serve::metrics::Format;
    use crate::watch::Watch;

    fn found(id: u64, name: Option<&str>, container: Option<&str>) -> FoundNamespace {
        FoundNamespace {
            id: NamespaceId(id),
            is_host: id == 1,
            name: name.map(str::to_string),
            pid: None,
            command: None,
            origin: CgroupOrigin {
                container: container.map(|id| Container {
                    runtime: Runtime::Docker,
                    id: id.to_string(),
                }),
                ..CgroupOrigin::default()
            },
        }
    }

    fn appeared(list: Vec<FoundNamespace>) -> FleetTick {
        FleetTick::Namespaces {
            at_ms: 0,
            appeared: list
                .into_iter()
                .map(|found| NamespaceStatus {
                    found,
                    access: Ok(Access::Entered),
                })
                .collect(),
            vanished: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A light sample: listeners and counters, no table (its filter says
    /// LISTEN only, as the sampler's does).
    fn light(at_ms: u64, listeners: &[(&str, u32, u32)], overflows: u64) -> Sampled {
        let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
        snap.filter.states = StateMask::LISTEN_ONLY;
        for (addr, queue, backlog) in listeners {
            snap.listeners.push(listener(addr, *queue, *backlog));
        }
        snap.counters.set(Counter::ListenOverflows, overflows);
        Sampled::from_snapshot(snap)
    }

    fn judged(watch: &mut Watch, id: u64, sampled: Sampled) -> FleetTick {
        FleetTick::Judged {
            id: NamespaceId(id),
            tick: Box::new(watch.judge(sampled)),
        }
    }

    fn published(output: FleetOutput) -> String {
        match output {
            FleetOutput::Publish { exposition, .. } => {
                exposition.with_peaks(Format::Prometheus, |_| 0)
            }
            other => panic!("expected a picture, got {other:?}"),
        }
    }

    fn exporter(max_series: usize) -> FleetExporter {
        FleetExporter::new(
            ExportOptions { max_series },
            Watching {
                namespace: "all".to_string(),
                source: "netlink",
                filter: "all".to_string(),
                failed_samples: 0,
            },
            Filter::default(),
        )
    }

    #[test]
    fn every_series_says_its_namespace_and_container() {
        let mut fleet = exporter(2000);
        fleet.ingest(appeared(vec![
            found(1, None, None),
            found(4026532500, Some("blue"), None),
            found(4026532600, None, Some(&"3f2a9c1b7d0e".repeat(5))),
        ]));
        let mut watches: Vec<Watch> = (0..3).map(|_| Watch::new(Thresholds::default())).collect();
        for round in 0..2u64 {
            let at = 1_000 * (round + 1);
            fleet.ingest(judged(
                &mut watches[0],
                1,
                light(at, &[("0.0.0.0:22", 0, 128)], 0),
            ));
            fleet.ingest(judged(
                &mut watches[1],
                4026532500,
                light(at, &[("127.0.0.1:10000", 2, 1)], 5 * round),
            ));
            fleet.ingest(judged(
                &mut watches[2],
                4026532600,
                light(at, &[("0.0.0.0:80", 0, 511)], 0),
            ));
        }
        let text = published(fleet.ingest(FleetTick::Rows {
            at_ms: 2_000,
            rows: Vec::new(),
        }));
        assert!(
            text.contains(
                "tcpwatch_listener_accept_queue{netns=\"blue\",listen=\"127.0.0.1:10000\",port=\"10000\",process=\"\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "tcpwatch_listener_accept_queue{netns=\"host\",listen=\"0.0.0.0:22\",port=\"22\",process=\"\"} 0\n"
        ));
        assert!(text.contains(
            "tcpwatch_listener_backlog{netns=\"4026532600\",container=\"docker://3f2a9c1b7d0e\",listen=\"0.0.0.0:80\",port=\"80\",process=\"\"} 511\n"
        ), "{text}");
        assert!(
            text.contains("tcpwatch_alert_active{netns=\"blue\",kind=\"backlog_full\",severity=\"critical\",subject=\"127.0.0.1:10000\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "tcpwatch_listener_overflows_total{netns=\"blue\",listen=\"127.0.0.1:10000\",port=\"10000\",process=\"\"} 5\n"
        ), "{text}");
        assert!(text.contains("tcpwatch_kernel_listen_overflows_total{netns=\"blue\"} 5\n"));
        assert!(text.contains("tcpwatch_time_wait_sockets{netns=\"host\"} 0\n"));
        assert!(text.contains("tcpwatch_watch_info{namespace=\"all\""));
        assert!(
            !text.contains("alert_active{netns=\"host\""),
            "the alert belongs to one namespace: {text}"
        );
    }

    #[test]
    fn a_table_adds_ports_states_and_syn_recv_and_a_vanished_namespace_leaves_nothing() {
        let mut fleet = exporter(2000);
        fleet.ingest(appeared(vec![found(7, Some("red"), None)]));
        let mut watch = Watch::new(Thresholds::default());
        fleet.ingest(judged(
            &mut watch,
            7,
            light(1_000, &[("127.0.0.1:10000", 0, 128)], 0),
        ));
        let mut whole = Snapshot::empty(1_100, SourceKind::Netlink);
        whole.listeners.push(listener("127.0.0.1:10000", 0, 128));
        whole.sockets.push(record(
            TcpState::SynRecv,
            "127.0.0.1:10000",
            "127.0.0.1:40001",
        ));
        whole.sockets.push(record(
            TcpState::SynSent,
            "127.0.0.1:40002",
            "127.0.0.1:10000",
        ));
        fleet.ingest(FleetTick::WholeTable {
            id: NamespaceId(7),
            aggregates: Box::new(aggregate(&whole)),
        });
        let text = published(fleet.ingest(FleetTick::Rows {
            at_ms: 1_200,
            rows: Vec::new(),
        }));
        assert!(
            text.contains("tcpwatch_sockets{netns=\"red\",port=\"10000\",state=\"syn_sent\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "tcpwatch_listener_syn_recv{netns=\"red\",listen=\"127.0.0.1:10000\",port=\"10000\",process=\"\"} 1\n"
        ), "{text}");
        assert!(
            !text.contains("port=\"40002\""),
            "client ports are no labels"
        );
        // The next light sample keeps the table's figures.
        fleet.ingest(judged(
            &mut watch,
            7,
            light(2_000, &[("127.0.0.1:10000", 0, 128)], 0),
        ));
        let text = published(fleet.ingest(FleetTick::Rows {
            at_ms: 2_000,
            rows: Vec::new(),
        }));
        assert!(
            text.contains("tcpwatch_sockets{netns=\"red\",port=\"10000\",state=\"syn_sent\"} 1\n")
        );
        fleet.ingest(FleetTick::Namespaces {
            at_ms: 3_000,
            appeared: Vec::new(),
            vanished: vec![NamespaceStatus {
                found: found(7, Some("red"), None),
                access: Ok(Access::Entered),
            }],
            notes: Vec::new(),
        });
        assert!(fleet.namespaces.is_empty(), "no state left behind");
        let text = published(fleet.ingest(FleetTick::Rows {
            at_ms: 3_000,
            rows: Vec::new(),
        }));
        assert!(!text.contains("netns=\"red\""), "{text}");
    }

    #[test]
    fn max_series_keeps_the_fullest_listeners_across_namespaces() {
        let mut fleet = exporter(2);
        let ids = [11u64, 12, 13];
        fleet.ingest(appeared(
            ids.iter()
                .map(|id| found(*id, Some(&format!("ns{id}")), None))
                .collect(),
        ));
        let queues = [(11, 0u32), (12, 2), (13, 100)];
        for (id, queue) in queues {
            let mut watch = Watch::new(Thresholds::default());
            let backlog = if id == 12 { 1 } else { 128 };
            fleet.ingest(judged(
                &mut watch,
                id,
                light(1_000, &[("127.0.0.1:8080", queue, backlog)], 0),
            ));
        }
        let FleetOutput::Publish { exposition, .. } = fleet.ingest(FleetTick::Rows {
            at_ms: 1_000,
            rows: Vec::new(),
        }) else {
            panic!("a picture");
        };
        let kept: Vec<u64> = exposition.listeners.iter().map(|l| l.key.netns).collect();
        assert_eq!(kept, vec![12, 13], "the full one, then the fullest");
        let text = exposition.with_peaks(Format::Prometheus, |_| 0);
        assert!(text.contains("tcpwatch_series_omitted{family=\"tcpwatch_listener\"} 1\n"));
    }

    #[test]
    fn listener_samples_feed_the_peaks_of_their_namespace() {
        let mut fleet = exporter(2000);
        let local = "127.0.0.1:10000".parse().expect("addr");
        let output = fleet.ingest(FleetTick::Queues {
            id: NamespaceId(9),
            at_ms: 100,
            queues: vec![(local, 3)],
        });
        let FleetOutput::Observe(queues) = output else {
            panic!("queues to observe, got {output:?}");
        };
        assert_eq!(queues, vec![(ListenerKey { netns: 9, local }, 3)]);
    }
}
