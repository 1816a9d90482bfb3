//! Judges every namespace apart: each has its own `Watch`, fed its light
//! samples (listeners, counters, sockstat, sysctls) and its listener
//! samples, so alert rules, peaks and counter deltas never mix namespaces;
//! and its own `TableJudge`, fed its whole tables (round-robin, or each
//! interval when opened), for the rules that need the whole table. A row's
//! alerts are both, each kind from the judge that can see it. The opened
//! namespace also gets a fresh `Watch` of its own for its whole tables: its
//! usual dashboard. A namespace that vanishes takes its state with it.
//!
//! Owns: `FleetJudge`, `FleetTick`. Must not: do I/O or read the clock;
//! every time comes in with the samples.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::name_namespace;
use super::rows::{Fullest, NamespaceRow, worst_first};
use super::table::{TableFigures, TableJudge};
use crate::alert::{Alert, AlertEvent, Thresholds};
use crate::collect::CollectError;
use crate::collect::namespaces::discovery::NamespaceId;
use crate::collect::namespaces::fleet::{FleetSample, NamespaceStatus};
use crate::collect::sample_loop::SamplerEvent;
use crate::model::{Aggregates, Counter, Sampled, TcpState};
use crate::watch::{FullTick, Tick, Watch};

/// What the all-namespaces pipeline hands every mode.
#[derive(Debug)]
pub enum FleetTick {
    /// After each discovery: what appeared and vanished since the last one.
    Namespaces {
        at_ms: u64,
        appeared: Vec<NamespaceStatus>,
        vanished: Vec<NamespaceStatus>,
        notes: Vec<String>,
    },
    /// After each light round: every namespace's row, worst first.
    Rows { at_ms: u64, rows: Vec<NamespaceRow> },
    /// Alerts raised or cleared in one namespace (they name it).
    Alerts {
        status: NamespaceStatus,
        at_ms: u64,
        events: Vec<AlertEvent>,
    },
    /// The opened namespace's usual ticks, for its dashboard.
    Opened { id: NamespaceId, tick: Tick },
    /// A namespace's whole table was judged (round-robin, or the opened
    /// one's): its figures. Comes before the `Alerts` it raised.
    Table {
        status: NamespaceStatus,
        figures: Box<TableFigures>,
    },
    /// With `for_export`: a namespace's judged light sample (listeners,
    /// counters, sockstat), with its active alerts of both judges, not yet
    /// naming it (`serve` labels the series instead).
    Judged {
        id: NamespaceId,
        tick: Box<FullTick>,
    },
    /// With `for_export`: a whole table of a namespace that is not opened
    /// (round-robin), all its counts: per-port states, listeners' SYN_RECV
    /// and owners.
    WholeTable {
        id: NamespaceId,
        aggregates: Box<Aggregates>,
    },
    /// With `for_export`: a listener sample of a namespace that is not
    /// opened, as (address, accept queue) for the peaks between scrapes.
    Queues {
        id: NamespaceId,
        at_ms: u64,
        queues: Vec<(SocketAddr, u32)>,
    },
    /// Sampling stopped for good.
    Stopped { error: CollectError },
}

struct Member {
    row: NamespaceRow,
    watch: Watch,
    /// The active alerts of its latest light sample.
    light_alerts: Vec<Alert>,
    table: TableJudge,
    /// ListenOverflows at the previous light sample.
    overflows: Option<(u64, u64)>,
}

/// Per-namespace judging. See the module docs.
pub struct FleetJudge {
    thresholds: Thresholds,
    members: BTreeMap<NamespaceId, Member>,
    opened: Option<(NamespaceId, Watch)>,
    /// Whether to hand on `Judged`, `WholeTable` and `Queues` (for `serve`).
    export: bool,
}

impl FleetJudge {
    pub fn new(thresholds: Thresholds) -> FleetJudge {
        FleetJudge {
            thresholds,
            members: BTreeMap::new(),
            opened: None,
            export: false,
        }
    }

    /// Also hands on every namespace's judged light samples, whole tables
    /// and listener queues (`Judged`, `WholeTable`, `Queues`): what `serve
    /// --all-namespaces` exports.
    pub fn for_export(mut self) -> FleetJudge {
        self.export = true;
        self
    }

    /// Opens a namespace's usual dashboard (a fresh watch), or none.
    pub fn open(&mut self, id: Option<NamespaceId>) {
        if self.opened.as_ref().map(|(open, _)| *open) != id {
            self.opened = id.map(|id| (id, Watch::new(self.thresholds.clone())));
        }
    }

    pub fn opened(&self) -> Option<NamespaceId> {
        self.opened.as_ref().map(|(id, _)| *id)
    }

    fn label_of(&self, id: NamespaceId) -> String {
        self.members
            .get(&id)
            .map_or_else(|| format!("netns:[{}]", id.0), |m| m.row.label())
    }

    /// One sample in, the ticks it makes out.
    pub fn ingest(&mut self, sample: FleetSample) -> Vec<FleetTick> {
        match sample {
            FleetSample::Namespaces { at_ms, list, notes } => {
                vec![self.reconcile(at_ms, list, notes)]
            }
            FleetSample::Light { id, at_ms, result } => self.light(id, at_ms, result),
            FleetSample::RoundDone { at_ms } => {
                let mut rows: Vec<NamespaceRow> =
                    self.members.values().map(|m| m.row.clone()).collect();
                rows.sort_by(worst_first);
                vec![FleetTick::Rows { at_ms, rows }]
            }
            FleetSample::Listeners {
                id,
                at_ms,
                listeners,
            } => {
                if let Some((open, watch)) = &mut self.opened
                    && *open == id
                {
                    let tick = watch.ingest(SamplerEvent::Listeners { at_ms, listeners });
                    return vec![FleetTick::Opened { id, tick }];
                }
                if let Some(member) = self.members.get_mut(&id) {
                    let queues = self.export.then(|| {
                        listeners
                            .iter()
                            .filter(|l| l.state == TcpState::Listen)
                            .map(|l| (l.local, l.recv_queue))
                            .collect()
                    });
                    member.row.fullest = Fullest::of(&listeners);
                    member.row.listeners = listeners.len();
                    member
                        .watch
                        .ingest(SamplerEvent::Listeners { at_ms, listeners });
                    if let Some(queues) = queues {
                        return vec![FleetTick::Queues { id, at_ms, queues }];
                    }
                }
                Vec::new()
            }
            FleetSample::Full {
                id,
                at_ms,
                opened,
                result,
            } => {
                let label = self.label_of(id);
                let mut ticks = match &result {
                    Ok(sampled) => self.table(id, sampled, opened),
                    Err(_) => Vec::new(),
                };
                if let (Some((open, watch)), true) = (&mut self.opened, opened)
                    && *open == id
                {
                    let mut tick = watch.ingest(SamplerEvent::Full { at_ms, result });
                    if let Tick::Full(full) = &mut tick {
                        name_all(full, &label);
                    }
                    ticks.push(FleetTick::Opened { id, tick });
                } else if self.export
                    && let Ok(sampled) = result
                {
                    ticks.push(FleetTick::WholeTable {
                        id,
                        aggregates: Box::new(sampled.aggregates),
                    });
                }
                ticks
            }
            FleetSample::OpenedChanged { id } => {
                self.open(id);
                Vec::new()
            }
            FleetSample::Stopped { error } => vec![FleetTick::Stopped { error }],
        }
    }

    fn reconcile(
        &mut self,
        at_ms: u64,
        list: Vec<NamespaceStatus>,
        notes: Vec<String>,
    ) -> FleetTick {
        let mut appeared = Vec::new();
        let ids: Vec<NamespaceId> = list.iter().map(|s| s.found.id).collect();
        let vanished: Vec<NamespaceStatus> = self
            .members
            .iter()
            .filter(|(id, _)| !ids.contains(id))
            .map(|(_, m)| m.row.status.clone())
            .collect();
        self.members.retain(|id, _| ids.contains(id));
        if self.opened().is_some_and(|id| !ids.contains(&id)) {
            self.opened = None;
        }
        for status in list {
            match self.members.get_mut(&status.found.id) {
                Some(member) => member.row.status = status,
                None => {
                    appeared.push(status.clone());
                    self.members.insert(
                        status.found.id,
                        Member {
                            row: NamespaceRow::new(status),
                            watch: Watch::new(self.thresholds.clone()),
                            light_alerts: Vec::new(),
                            table: TableJudge::new(self.thresholds.clone()),
                            overflows: None,
                        },
                    );
                }
            }
        }
        FleetTick::Namespaces {
            at_ms,
            appeared,
            vanished,
            notes,
        }
    }

    fn light(
        &mut self,
        id: NamespaceId,
        at_ms: u64,
        result: Result<Box<Sampled>, CollectError>,
    ) -> Vec<FleetTick> {
        let is_opened = self.opened() == Some(id);
        let Some(member) = self.members.get_mut(&id) else {
            return Vec::new();
        };
        let sampled = match result {
            Ok(sampled) => sampled,
            Err(error) => {
                member.row.error = Some(error.to_string());
                return Vec::new();
            }
        };
        let mut ticks = Vec::new();
        if is_opened && let Some(sockstat) = sampled.snapshot.sockstat {
            ticks.push(FleetTick::Opened {
                id,
                tick: Tick::Totals {
                    at_ms,
                    counters: Box::new(sampled.snapshot.counters),
                    sockstat,
                },
            });
        }
        let label = member.row.label();
        let mut full = member.watch.judge(*sampled);
        if self.export {
            // Each kind from the judge that can see it, as the row's alerts.
            let mut exported = full.clone();
            exported
                .active_alerts
                .retain(|alert| !alert.kind.needs_whole_table());
            exported
                .active_alerts
                .extend(member.table.active().cloned());
            ticks.push(FleetTick::Judged {
                id,
                tick: Box::new(exported),
            });
        }
        name_all(&mut full, &label);
        // Whole-table kinds come from the table judge (a light sample has
        // no table to read them from).
        full.alert_events
            .retain(|event| !event.alert().kind.needs_whole_table());
        member.light_alerts = full.active_alerts;
        member.refresh_alerts();
        let row = &mut member.row;
        row.error = None;
        row.at_ms = Some(at_ms);
        row.sockets = full.snapshot.sockstat.map(|s| s.inuse);
        row.time_wait = full.snapshot.sockstat.map(|s| s.tw);
        row.listeners = full.snapshot.listeners.len();
        row.fullest = Fullest::of(&full.snapshot.listeners);
        let overflows = full.snapshot.counters.get(Counter::ListenOverflows);
        row.overflows_per_sec = match (member.overflows, overflows) {
            (Some((then, before)), Some(now)) if at_ms > then => {
                Some(now.saturating_sub(before) as f64 * 1000.0 / (at_ms - then) as f64)
            }
            _ => None,
        };
        member.overflows = overflows.map(|value| (at_ms, value));
        if !full.alert_events.is_empty() {
            ticks.push(FleetTick::Alerts {
                status: row.status.clone(),
                at_ms,
                events: full.alert_events,
            });
        }
        ticks
    }
}

impl FleetJudge {
    /// Namespaces judged now (each holds its watches, table and row).
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// One whole table of a namespace: its whole-table rules and figures.
    fn table(&mut self, id: NamespaceId, sampled: &Sampled, opened: bool) -> Vec<FleetTick> {
        let Some(member) = self.members.get_mut(&id) else {
            return Vec::new();
        };
        let label = member.row.label();
        let mut events = member.table.judge(sampled, opened);
        for event in &mut events {
            match event {
                AlertEvent::Raised(alert) | AlertEvent::Cleared(alert) => {
                    name_namespace(alert, &label);
                }
            }
        }
        member.row.table = member.table.figures().cloned();
        member.refresh_alerts();
        let mut ticks = Vec::new();
        if let Some(figures) = &member.row.table {
            ticks.push(FleetTick::Table {
                status: member.row.status.clone(),
                figures: Box::new(figures.clone()),
            });
        }
        if !events.is_empty() {
            ticks.push(FleetTick::Alerts {
                status: member.row.status.clone(),
                at_ms: sampled.snapshot.taken_at_ms,
                events,
            });
        }
        ticks
    }
}

impl Member {
    /// The row's alerts: each kind from the judge that can see it, most
    /// severe first, naming the namespace.
    fn refresh_alerts(&mut self) {
        let label = self.row.label();
        let mut alerts: Vec<Alert> = self
            .light_alerts
            .iter()
            .filter(|alert| !alert.kind.needs_whole_table())
            .cloned()
            .chain(self.table.active().cloned().map(|mut alert| {
                name_namespace(&mut alert, &label);
                alert
            }))
            .collect();
        alerts.sort_by(|a, b| {
            (b.severity, a.kind, &a.subject).cmp(&(a.severity, b.kind, &b.subject))
        });
        self.row.alerts = alerts;
    }
}

/// Names the namespace in every alert of a tick.
fn name_all(full: &mut FullTick, label: &str) {
    for alert in &mut full.active_alerts {
        name_namespace(alert, label);
    }
    for event in &mut full.alert_events {
        match event {
            AlertEvent::Raised(alert) | AlertEvent::Cleared(alert) => name_namespace(alert, label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::app::namespaces::NamespacesList;
    use crate::collect::namespaces::cgroup::CgroupOrigin;
    use crate::collect::namespaces::discovery::FoundNamespace;
    use crate::collect::namespaces::reader::Access;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{Snapshot, SourceKind, StateMask, TcpState};

    fn status(id: u64) -> NamespaceStatus {
        NamespaceStatus {
            found: FoundNamespace {
                id: NamespaceId(id),
                is_host: id == 1,
                name: (id != 1).then(|| format!("ns{id}")),
                pid: None,
                command: None,
                origin: CgroupOrigin::default(),
            },
            access: Ok(Access::Entered),
        }
    }

    fn discovered(at_ms: u64, ids: &[u64]) -> FleetSample {
        FleetSample::Namespaces {
            at_ms,
            list: ids.iter().map(|id| status(*id)).collect(),
            notes: Vec::new(),
        }
    }

    /// What a light sample holds: the listeners, no table.
    fn light(id: u64, at_ms: u64) -> FleetSample {
        let mut snapshot = Snapshot::empty(at_ms, SourceKind::Netlink);
        snapshot.filter.states = StateMask::LISTEN_ONLY;
        snapshot.listeners.push(listener("127.0.0.1:10002", 0, 16));
        FleetSample::Light {
            id: NamespaceId(id),
            at_ms,
            result: Ok(Box::new(Sampled::from_snapshot(snapshot))),
        }
    }

    /// A whole table with five CLOSE_WAIT sockets on :10002.
    fn table(id: u64, at_ms: u64, opened: bool) -> FleetSample {
        let mut snapshot = Snapshot::empty(at_ms, SourceKind::Netlink);
        snapshot.listeners.push(listener("127.0.0.1:10002", 0, 16));
        for i in 0..5u16 {
            snapshot.sockets.push(record(
                TcpState::CloseWait,
                "127.0.0.1:10002",
                &format!("127.0.0.1:{}", 40000 + i),
            ));
        }
        FleetSample::Full {
            id: NamespaceId(id),
            at_ms,
            opened,
            result: Ok(Box::new(Sampled::from_snapshot(snapshot))),
        }
    }

    fn rows(ticks: &[FleetTick]) -> Option<&Vec<NamespaceRow>> {
        ticks.iter().find_map(|t| match t {
            FleetTick::Rows { rows, .. } => Some(rows),
            _ => None,
        })
    }

    #[test]
    fn a_close_wait_leak_in_a_round_robin_table_is_raised_naming_its_namespace() {
        let mut judge = FleetJudge::new(Thresholds::default());
        judge.ingest(discovered(0, &[1, 2]));
        let mut raised = Vec::new();
        for n in 0..6u64 {
            let at_ms = 1_000 + n * 1_000;
            for id in [1, 2] {
                assert!(judge.ingest(light(id, at_ms)).is_empty(), "nothing raised");
            }
            judge.ingest(FleetSample::RoundDone { at_ms });
            for tick in judge.ingest(table(2, at_ms + 500, false)) {
                if let FleetTick::Alerts { status, events, .. } = tick {
                    assert_eq!(status.found.id, NamespaceId(2));
                    raised.extend(events);
                }
            }
        }
        let [AlertEvent::Raised(alert)] = &raised[..] else {
            panic!("one raise: {raised:?}");
        };
        assert_eq!(alert.kind, AlertKind::CloseWaitLeak);
        assert_eq!(alert.subject, "port 10002 in netns ns2");
        // Light samples (no table) neither clear it nor raise it twice.
        for id in [1, 2] {
            assert!(judge.ingest(light(id, 9_000)).is_empty());
        }
        let ticks = judge.ingest(FleetSample::RoundDone { at_ms: 9_000 });
        let rows = rows(&ticks).expect("rows");
        assert_eq!(rows[0].id(), NamespaceId(2), "worst first");
        assert_eq!(rows[0].alerts.len(), 1, "{:?}", rows[0].alerts);
        let figures = rows[0].table.as_ref().expect("its table's figures");
        assert_eq!(figures.at_ms, 6_500);
        assert_eq!(figures.age_ms(9_000), 2_500);
        assert_eq!(figures.ports[0].counts.get(TcpState::CloseWait), 5);
        assert!(rows[1].table.is_none() && rows[1].alerts.is_empty());
    }

    #[test]
    fn the_opened_namespace_tables_feed_its_dashboard_and_its_row() {
        let mut judge = FleetJudge::new(Thresholds::default());
        judge.ingest(discovered(0, &[1, 2]));
        judge.ingest(FleetSample::OpenedChanged {
            id: Some(NamespaceId(2)),
        });
        let mut opened_ticks = 0;
        let mut raised = 0;
        for n in 0..5u64 {
            for tick in judge.ingest(table(2, 1_000 + n * 1_000, true)) {
                match tick {
                    FleetTick::Opened { .. } => opened_ticks += 1,
                    FleetTick::Alerts { events, .. } => raised += events.len(),
                    _ => {}
                }
            }
        }
        assert_eq!(opened_ticks, 5);
        assert_eq!(raised, 1, "raised once, for the row and the stream");
        let ticks = judge.ingest(FleetSample::RoundDone { at_ms: 6_000 });
        let row = &rows(&ticks).expect("rows")[0];
        assert!(row.table.as_ref().is_some_and(|t| t.opened));
    }

    /// Namespaces created and deleted over and over leave nothing behind:
    /// no member (watches, table, row), no opened namespace, no row in the
    /// panel, a bounded log of changes.
    #[test]
    fn vanished_namespaces_leave_no_state_behind() {
        let mut judge = FleetJudge::new(Thresholds::default());
        let mut list = NamespacesList::new("h".into(), false, String::new());
        let apply = |list: &mut NamespacesList, ticks: Vec<FleetTick>| {
            for tick in ticks {
                match tick {
                    FleetTick::Namespaces {
                        at_ms,
                        appeared,
                        vanished,
                        notes,
                    } => list.namespaces_changed(at_ms, &appeared, &vanished, notes, false),
                    FleetTick::Rows { at_ms, rows } => list.set_rows(at_ms, rows),
                    _ => {}
                }
            }
        };
        for cycle in 0..500u64 {
            let at_ms = cycle * 100;
            let id = 10 + cycle;
            let ticks = judge.ingest(discovered(at_ms, &[1, id]));
            apply(&mut list, ticks);
            judge.ingest(FleetSample::OpenedChanged {
                id: Some(NamespaceId(id)),
            });
            for sample in [
                light(id, at_ms + 10),
                FleetSample::Listeners {
                    id: NamespaceId(id),
                    at_ms: at_ms + 20,
                    listeners: vec![listener("127.0.0.1:10002", 2, 1)],
                },
                table(id, at_ms + 30, true),
                table(id, at_ms + 40, false),
                FleetSample::RoundDone { at_ms: at_ms + 50 },
            ] {
                let ticks = judge.ingest(sample);
                apply(&mut list, ticks);
            }
            assert_eq!(judge.member_count(), 2);
            let ticks = judge.ingest(discovered(at_ms + 60, &[1]));
            apply(&mut list, ticks);
            assert_eq!(judge.member_count(), 1, "cycle {cycle}");
            assert_eq!(judge.opened(), None);
        }
        // A late sample of a vanished namespace makes nothing come back.
        assert!(judge.ingest(light(42, 99_000)).is_empty());
        assert!(judge.ingest(table(42, 99_000, false)).is_empty());
        assert_eq!(judge.member_count(), 1);
        assert_eq!(list.rows().len(), 1, "only the host's row");
        assert!(list.recent().len() <= 4);
    }
}
