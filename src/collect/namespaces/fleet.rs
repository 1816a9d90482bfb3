//! Every namespace at once, on one dedicated thread: keeps one reader per
//! namespace discovery finds (dropping it the moment discovery no longer
//! does), and runs the schedule: light samples of all, listeners of all,
//! the opened namespace's full table, round-robin full tables of the rest.
//!
//! Owns: `Fleet`, `FleetSample`, `FleetControl`, `NamespaceStatus` and the
//! loop `sample_fleet`. Must not: judge or draw; it emits raw per-namespace
//! samples. Must run on one thread from `Fleet::open` on (see `reader`).

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::discovery::{Discovery, FoundNamespace, NamespaceId};
use super::reader::{Access, Home, NamespaceReader, Stranded};
use super::schedule::{FleetAction, FleetSchedule, FleetTiming};
use crate::collect::owner_thread::BackgroundOwners;
use crate::collect::process::ProcessResolver;
use crate::collect::{CollectError, SnapshotSource, SourceChoice};
use crate::model::judging::JudgingScope;
use crate::model::{Filter, ProcessInfo, Sampled, SocketRecord};

/// One namespace as the user sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceStatus {
    pub found: FoundNamespace,
    /// How it is read, or why it cannot be.
    pub access: Result<Access, String>,
}

/// What the fleet thread produces.
#[derive(Debug)]
pub enum FleetSample {
    /// After each discovery: every namespace, readable or not.
    Namespaces {
        at_ms: u64,
        list: Vec<NamespaceStatus>,
        notes: Vec<String>,
    },
    /// Listeners, counters, sockstat and sysctls, without the table.
    Light {
        id: NamespaceId,
        at_ms: u64,
        result: Result<Box<Sampled>, CollectError>,
    },
    /// The namespace whose whole table is sampled changed (`Open`).
    OpenedChanged { id: Option<NamespaceId> },
    /// Every namespace's light sample has been emitted for this round.
    RoundDone { at_ms: u64 },
    Listeners {
        id: NamespaceId,
        at_ms: u64,
        listeners: Vec<SocketRecord>,
    },
    /// A whole table: the opened namespace's, or a round-robin one.
    Full {
        id: NamespaceId,
        at_ms: u64,
        opened: bool,
        result: Result<Box<Sampled>, CollectError>,
    },
    /// The thread cannot go on (it could not return to its own namespace).
    Stopped { error: CollectError },
}

/// One namespace in a `--once` picture.
#[derive(Debug)]
pub struct OnceSample {
    pub status: NamespaceStatus,
    /// `None` when the namespace cannot be read (`status.access` says why).
    pub result: Option<Result<Sampled, CollectError>>,
    /// Whether the whole table was dumped, or listeners and totals only.
    pub whole_table: bool,
}

/// What the consumer tells the fleet thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetControl {
    /// Sample this namespace's whole table each interval (`None`: none).
    Open(Option<NamespaceId>),
    SetInterval(Duration),
    Stop,
}

struct Member {
    found: FoundNamespace,
    reader: Result<NamespaceReader, String>,
    /// When its latest light sample was taken.
    last_light: Option<Instant>,
}

/// Sockets named by whole-table rules whose owners are looked up, at most.
const RULE_OWNERS_AT_MOST: usize = 4096;

/// A namespace whose queue fills is judged at once, but at most this often.
const FAST_JUDGE_GAP: Duration = Duration::from_millis(500);

/// Where the owners of listeners come from.
enum Owners {
    Inline(ProcessResolver),
    Background(BackgroundOwners),
}

/// The readers of every namespace. See the module docs for the thread rule.
pub struct Fleet {
    home: Home,
    source: SourceChoice,
    filter: Filter,
    scope: JudgingScope,
    members: BTreeMap<NamespaceId, Member>,
    opened: Option<NamespaceId>,
    round_robin_after: Option<NamespaceId>,
    owners: Owners,
}

impl Fleet {
    /// Remembers the calling thread's namespace as home; opens nothing yet.
    pub fn open(
        source: SourceChoice,
        filter: Filter,
        scope: JudgingScope,
    ) -> Result<Fleet, CollectError> {
        Ok(Fleet {
            home: Home::here()?,
            source,
            filter,
            scope,
            members: BTreeMap::new(),
            opened: None,
            round_robin_after: None,
            owners: Owners::Inline(ProcessResolver::new()),
        })
    }

    /// Looks owners up on a thread of their own (live runs).
    pub fn with_background_owners(mut self) -> Result<Fleet, CollectError> {
        if let Owners::Inline(resolver) =
            std::mem::replace(&mut self.owners, Owners::Inline(ProcessResolver::new()))
        {
            self.owners = Owners::Background(
                BackgroundOwners::spawn(resolver)
                    .map_err(|source| CollectError::Thread { source })?,
            );
        }
        Ok(self)
    }

    /// Takes a discovery: opens readers for new namespaces, drops those of
    /// vanished ones (releasing them), retries unreadable ones, and reopens
    /// outside readers whose process changed.
    pub fn apply(&mut self, discovery: &Discovery) -> Vec<NamespaceStatus> {
        let found: HashMap<NamespaceId, &FoundNamespace> =
            discovery.namespaces.iter().map(|ns| (ns.id, ns)).collect();
        self.members.retain(|id, _| found.contains_key(id));
        if self.opened.is_some_and(|id| !found.contains_key(&id)) {
            self.opened = None;
        }
        for ns in &discovery.namespaces {
            let reopen = match self.members.get(&ns.id) {
                None => true,
                Some(member) => match &member.reader {
                    Err(_) => true,
                    Ok(reader) => {
                        matches!(reader.access(), Access::Outside { pid } if Some(pid) != ns.pid)
                    }
                },
            };
            if reopen {
                let reader =
                    NamespaceReader::open(ns, &self.home, self.source, &self.filter, self.scope);
                self.members.insert(
                    ns.id,
                    Member {
                        found: ns.clone(),
                        reader,
                        last_light: None,
                    },
                );
            } else if let Some(member) = self.members.get_mut(&ns.id) {
                member.found = ns.clone();
            }
        }
        self.statuses()
    }

    pub fn statuses(&self) -> Vec<NamespaceStatus> {
        let mut list: Vec<NamespaceStatus> = self
            .members
            .values()
            .map(|m| NamespaceStatus {
                found: m.found.clone(),
                access: m
                    .reader
                    .as_ref()
                    .map(NamespaceReader::access)
                    .map_err(Clone::clone),
            })
            .collect();
        list.sort_by_key(|s| (!s.found.is_host, s.found.id));
        list
    }

    pub fn set_opened(&mut self, id: Option<NamespaceId>) {
        self.opened = id.filter(|id| self.members.contains_key(id));
    }

    pub fn opened(&self) -> Option<NamespaceId> {
        self.opened
    }

    /// Light samples of every readable namespace.
    pub fn light_round(
        &mut self,
        at_ms: u64,
        emit: &mut dyn FnMut(FleetSample) -> bool,
    ) -> Result<bool, CollectError> {
        let home = &self.home;
        for (id, member) in &mut self.members {
            let Ok(reader) = &mut member.reader else {
                continue;
            };
            member.last_light = Some(Instant::now());
            let result = reader
                .visit(home, |sampler| sampler.sample_light(at_ms))
                .map_err(|Stranded(e)| e)?
                .map(Box::new);
            if !emit(FleetSample::Light {
                id: *id,
                at_ms,
                result,
            }) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Listener-only samples: of the opened namespace, or of all others.
    pub fn listeners_round(
        &mut self,
        opened_only: bool,
        at_ms: u64,
        emit: &mut dyn FnMut(FleetSample) -> bool,
    ) -> Result<bool, CollectError> {
        let home = &self.home;
        let opened = self.opened;
        for (id, member) in &mut self.members {
            if (Some(*id) == opened) != opened_only {
                continue;
            }
            let Ok(reader) = &mut member.reader else {
                continue;
            };
            let visited = reader.visit(home, |sampler| sampler.sample_listeners());
            if let Ok(listeners) = visited.map_err(|Stranded(e)| e)? {
                let full_now = listeners
                    .iter()
                    .any(|l| l.backlog().is_some_and(|b| l.recv_queue > b));
                let sample = FleetSample::Listeners {
                    id: *id,
                    at_ms,
                    listeners,
                };
                if !emit(sample) {
                    return Ok(false);
                }
                // A queue just filled: judge this namespace now rather than
                // at the next light round (at most twice a second).
                let due = member
                    .last_light
                    .is_none_or(|then| then.elapsed() >= FAST_JUDGE_GAP);
                if full_now && !opened_only && due {
                    member.last_light = Some(Instant::now());
                    let result = reader
                        .visit(home, |sampler| sampler.sample_light(at_ms))
                        .map_err(|Stranded(e)| e)?
                        .map(Box::new);
                    let light = FleetSample::Light {
                        id: *id,
                        at_ms,
                        result,
                    };
                    if !emit(light) || !emit(FleetSample::RoundDone { at_ms }) {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// One namespace's whole table, with the owners of its listeners.
    pub fn full(
        &mut self,
        id: NamespaceId,
        at_ms: u64,
    ) -> Result<Option<Result<Box<Sampled>, CollectError>>, CollectError> {
        let home = &self.home;
        let Some(Ok(reader)) = self.members.get_mut(&id).map(|m| &mut m.reader) else {
            return Ok(None);
        };
        let mut result = reader
            .visit(home, |sampler| sampler.sample(at_ms))
            .map_err(|Stranded(e)| e)?;
        if let Ok(sampled) = &mut result {
            self.fill_owners(sampled, at_ms);
        }
        Ok(Some(result.map(Box::new)))
    }

    /// One picture of every namespace (`--once`): whole tables while they
    /// fit in `budget` (every dump walks the host's whole table), light
    /// samples after that; owners of all listeners resolved in one scan.
    /// Unreadable namespaces come back with `None`.
    pub fn sample_all_once(&mut self, at_ms: u64, budget: Duration) -> Vec<OnceSample> {
        let started = Instant::now();
        let home = &self.home;
        let mut samples = Vec::new();
        for member in self.members.values_mut() {
            let status = NamespaceStatus {
                found: member.found.clone(),
                access: member
                    .reader
                    .as_ref()
                    .map(NamespaceReader::access)
                    .map_err(Clone::clone),
            };
            let Ok(reader) = &mut member.reader else {
                samples.push(OnceSample {
                    status,
                    result: None,
                    whole_table: false,
                });
                continue;
            };
            let whole_table = started.elapsed() < budget;
            let visited = reader.visit(home, |sampler| {
                if whole_table {
                    sampler.sample(at_ms)
                } else {
                    sampler.sample_light(at_ms)
                }
            });
            match visited {
                Ok(result) => samples.push(OnceSample {
                    status,
                    result: Some(result),
                    whole_table,
                }),
                Err(Stranded(error)) => {
                    // Nothing more can be read safely from this thread.
                    samples.push(OnceSample {
                        status,
                        result: Some(Err(error)),
                        whole_table,
                    });
                    break;
                }
            }
        }
        let wanted: Vec<u64> = samples
            .iter()
            .filter_map(|s| s.result.as_ref()?.as_ref().ok())
            .flat_map(|sampled| sampled.snapshot.listeners.iter().map(|l| l.inode))
            .filter(|inode| *inode != 0)
            .collect();
        let (owners, complete) = match &mut self.owners {
            Owners::Inline(resolver) => {
                let owners = resolver.resolve(&wanted, at_ms);
                (owners, resolver.can_see_all_processes())
            }
            Owners::Background(background) => background.lookup(wanted, at_ms),
        };
        for sample in &mut samples {
            if let Some(Ok(sampled)) = &mut sample.result {
                let own: HashMap<u64, ProcessInfo> = sampled
                    .snapshot
                    .listeners
                    .iter()
                    .filter_map(|l| owners.get(&l.inode).map(|p| (l.inode, p.clone())))
                    .collect();
                attach_owners(sampled, own, complete);
            }
        }
        samples
    }

    /// The next namespace for a round-robin full dump (not the opened one).
    pub fn next_round_robin(&mut self) -> Option<NamespaceId> {
        let readable = |(id, m): (&NamespaceId, &Member)| {
            (m.reader.is_ok() && Some(*id) != self.opened).then_some(*id)
        };
        let after = self.round_robin_after;
        let next = self
            .members
            .iter()
            .filter_map(readable)
            .find(|id| after.is_none_or(|a| *id > a))
            .or_else(|| self.members.iter().filter_map(readable).next());
        self.round_robin_after = next;
        next
    }

    /// Owners of the listeners and of the sockets a whole-table rule may
    /// name (a CLOSE_WAIT leak's), so its alert can say whose they are.
    fn fill_owners(&mut self, sampled: &mut Sampled, at_ms: u64) {
        let mut wanted: Vec<u64> = sampled
            .snapshot
            .listeners
            .iter()
            .map(|l| l.inode)
            .filter(|i| *i != 0)
            .collect();
        wanted.extend(sampled.aggregates.rules.inodes_to_name(RULE_OWNERS_AT_MOST));
        let (owners, complete) = match &mut self.owners {
            Owners::Inline(resolver) => {
                let owners = resolver.resolve(&wanted, at_ms);
                (owners, resolver.can_see_all_processes())
            }
            Owners::Background(background) => background.lookup(wanted, at_ms),
        };
        attach_owners(sampled, owners, complete);
    }
}

/// Puts owners into a sample and onto its listener summaries.
pub fn attach_owners(sampled: &mut Sampled, owners: HashMap<u64, ProcessInfo>, complete: bool) {
    let snapshot = &mut sampled.snapshot;
    snapshot.owners = owners;
    snapshot.owners_complete = complete;
    for listener in &mut sampled.aggregates.listeners {
        listener.process = snapshot.owners.get(&listener.inode).cloned();
    }
}

/// Runs the schedule until told to stop, the control channel closes, or
/// `emit` returns false. `now_ms` is the wall clock for the samples.
pub fn sample_fleet(
    fleet: &mut Fleet,
    timing: FleetTiming,
    control: &Receiver<FleetControl>,
    now_ms: fn() -> u64,
    discover: &mut dyn FnMut() -> Discovery,
    emit: &mut dyn FnMut(FleetSample) -> bool,
) {
    let mut schedule = FleetSchedule::new(timing, Instant::now());
    loop {
        let now = Instant::now();
        let action = schedule.next(now);
        let at_ms = now_ms();
        let step: Result<bool, CollectError> = match action {
            FleetAction::WaitUntil(wake) => {
                match control.recv_timeout(wake.saturating_duration_since(now)) {
                    Ok(FleetControl::Open(id)) => {
                        fleet.set_opened(id);
                        schedule.set_opened(fleet.opened().is_some(), Instant::now());
                        if !emit(FleetSample::OpenedChanged { id: fleet.opened() }) {
                            return;
                        }
                    }
                    Ok(FleetControl::SetInterval(interval)) => {
                        schedule.set_interval(interval, Instant::now());
                    }
                    Ok(FleetControl::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                continue;
            }
            FleetAction::Discover => {
                let discovery = discover();
                let was_opened = fleet.opened();
                let list = fleet.apply(&discovery);
                if was_opened.is_some() && fleet.opened().is_none() {
                    schedule.set_opened(false, now);
                    if !emit(FleetSample::OpenedChanged { id: None }) {
                        return;
                    }
                }
                Ok(emit(FleetSample::Namespaces {
                    at_ms,
                    list,
                    notes: discovery.notes,
                }))
            }
            FleetAction::LightRound => fleet
                .light_round(at_ms, emit)
                .map(|go_on| go_on && emit(FleetSample::RoundDone { at_ms })),
            FleetAction::OthersListeners => fleet.listeners_round(false, at_ms, emit),
            FleetAction::OpenedListeners => fleet.listeners_round(true, at_ms, emit),
            FleetAction::OpenedFull => match fleet.opened() {
                Some(id) => fleet.full(id, at_ms).map(|result| {
                    result.is_none_or(|result| {
                        emit(FleetSample::Full {
                            id,
                            at_ms,
                            opened: true,
                            result,
                        })
                    })
                }),
                None => Ok(true),
            },
            FleetAction::RoundRobinFull => match fleet.next_round_robin() {
                Some(id) => fleet.full(id, at_ms).map(|result| {
                    result.is_none_or(|result| {
                        emit(FleetSample::Full {
                            id,
                            at_ms,
                            opened: false,
                            result,
                        })
                    })
                }),
                None => Ok(true),
            },
        };
        schedule.done(action, now, Instant::now());
        match step {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                emit(FleetSample::Stopped { error });
                return;
            }
        }
    }
}
