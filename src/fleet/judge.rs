//! Judges every namespace apart: each has its own `Watch`, fed its light
//! samples (listeners, counters, sockstat, sysctls) and its listener
//! samples, so alert rules, peaks and counter deltas never mix namespaces.
//! The opened namespace also gets a fresh `Watch` of its own for its whole
//! tables: its usual dashboard. A namespace that vanishes takes its state
//! with it.
//!
//! Owns: `FleetJudge`, `FleetTick`. Must not: do I/O or read the clock;
//! every time comes in with the samples.

use std::collections::BTreeMap;

use super::name_namespace;
use super::rows::{Fullest, NamespaceRow, worst_first};
use crate::alert::{AlertEvent, Thresholds};
use crate::collect::CollectError;
use crate::collect::namespaces::discovery::NamespaceId;
use crate::collect::namespaces::fleet::{FleetSample, NamespaceStatus};
use crate::collect::sample_loop::SamplerEvent;
use crate::model::{Aggregates, Counter, Sampled};
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
    /// A whole table of another namespace (round-robin): its counts.
    Table {
        id: NamespaceId,
        at_ms: u64,
        aggregates: Box<Aggregates>,
    },
    /// Sampling stopped for good.
    Stopped { error: CollectError },
}

struct Member {
    row: NamespaceRow,
    watch: Watch,
    /// ListenOverflows at the previous light sample.
    overflows: Option<(u64, u64)>,
}

/// Per-namespace judging. See the module docs.
pub struct FleetJudge {
    thresholds: Thresholds,
    members: BTreeMap<NamespaceId, Member>,
    opened: Option<(NamespaceId, Watch)>,
}

impl FleetJudge {
    pub fn new(thresholds: Thresholds) -> FleetJudge {
        FleetJudge {
            thresholds,
            members: BTreeMap::new(),
            opened: None,
        }
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
                    member.row.fullest = Fullest::of(&listeners);
                    member.row.listeners = listeners.len();
                    member
                        .watch
                        .ingest(SamplerEvent::Listeners { at_ms, listeners });
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
                match (&mut self.opened, opened) {
                    (Some((open, watch)), true) if *open == id => {
                        let mut tick = watch.ingest(SamplerEvent::Full { at_ms, result });
                        if let Tick::Full(full) = &mut tick {
                            name_all(full, &label);
                        }
                        vec![FleetTick::Opened { id, tick }]
                    }
                    _ => match result {
                        Ok(sampled) => vec![FleetTick::Table {
                            id,
                            at_ms,
                            aggregates: Box::new(sampled.aggregates),
                        }],
                        Err(_) => Vec::new(),
                    },
                }
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
        name_all(&mut full, &label);
        let row = &mut member.row;
        row.error = None;
        row.at_ms = Some(at_ms);
        row.sockets = full.snapshot.sockstat.map(|s| s.inuse);
        row.time_wait = full.snapshot.sockstat.map(|s| s.tw);
        row.listeners = full.snapshot.listeners.len();
        row.fullest = Fullest::of(&full.snapshot.listeners);
        row.alerts = full.active_alerts.clone();
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
