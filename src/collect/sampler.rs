//! Takes whole snapshots of one network namespace: listeners first (cheap),
//! then the filtered table, then counters, sysctls and the owners of
//! listeners.
//!
//! Owns: choosing the source (netlink, /proc, auto with fallback), the order
//! of the reads, and the notes that tell the user what a fallback costs.
//! Must not: judge. It aggregates only by feeding each record to the
//! model's `Aggregator` as the dump streams in, and returns the snapshot
//! and those aggregates side by side (`Sampled`). Must be opened
//! and used on one dedicated thread, because entering a namespace changes
//! the calling thread.

use std::collections::HashMap;
use std::time::Instant;

use super::counters::read_counters;
use super::huge_pages::record_buffer;
use super::namespace::{NamespaceContext, NetnsTarget, enter};
use super::netlink::NetlinkTable;
use super::owner_thread::BackgroundOwners;
use super::process::ProcessResolver;
use super::procfs::ProcTable;
use super::sysctl::read_settings;
use super::target_pin::TargetPin;
use super::{CollectError, DumpRequest, SnapshotSource, SocketTable, SourceChoice};
use crate::model::aggregate::Aggregator;
use crate::model::retained::{DEFAULT_RETAIN_LIMIT, Retained};
use crate::model::{
    Aggregates, Filter, JudgingScope, ProcessInfo, Sampled, Snapshot, SocketRecord, TcpState,
};

/// At most this many non-listener sockets get their owner looked up per
/// tick; owners come from the cache built for listeners.
const OWNER_LOOKUP_LIMIT: usize = 4096;

/// Tables of at least this many sockets keep their aggregator for the next
/// sample (its lists and maps stay allocated, so the next dump of a steady
/// table costs no page fault); smaller ones build a fresh one each time.
const REUSE_AGGREGATOR_FROM: u64 = 10_000;

/// What to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    pub source: SourceChoice,
    pub target: NetnsTarget,
    pub filter: Filter,
    /// How much per-destination detail the rules' aggregates keep: give it
    /// the port-exhaustion threshold (`JudgingScope::default()` is the
    /// rule's default).
    pub scope: JudgingScope,
}

/// Samples one namespace. See the module docs for the threading rule.
pub struct Sampler {
    config: SamplerConfig,
    context: NamespaceContext,
    /// The target as it was at start; checked after every read.
    pin: TargetPin,
    table: Box<dyn SocketTable + Send>,
    owners: OwnerLookup,
    /// Notes that stay true for every sample (fallbacks, permissions).
    standing_notes: Vec<String>,
    /// Capacity hint so each tick allocates its socket list once.
    last_socket_count: usize,
    /// Full samples taken so far.
    samples_taken: u64,
    /// Socket records kept per snapshot at most.
    retain_limit: usize,
    /// Keep no record, only say what the limit would have kept.
    counting_only: bool,
    /// How much per-destination detail the rules' aggregates keep.
    scope: JudgingScope,
    /// The last sample's aggregator, restarted for the next: its lists keep
    /// their allocations from tick to tick.
    aggregator: Option<Aggregator>,
}

impl Sampler {
    /// Enters the target namespace on the calling thread and opens the source.
    pub fn open(config: SamplerConfig) -> Result<Sampler, CollectError> {
        let pin = TargetPin::open(&config.target)?;
        let context = enter(&config.target)?;
        // The pid may have been recycled between pinning and entering.
        pin.check()?;
        Sampler::pinned(config, context, pin)
    }

    /// Opens the source for a namespace the caller has already arranged to
    /// read: `context` says where (the calling thread's own namespace, or
    /// another process's /proc/PID/net). Enters and pins nothing;
    /// `config.target` is not used (the caller notices a vanished namespace).
    pub fn in_context(
        config: SamplerConfig,
        context: NamespaceContext,
    ) -> Result<Sampler, CollectError> {
        let pin = TargetPin::open(&super::namespace::NetnsTarget::Host)?;
        Sampler::pinned(config, context, pin)
    }

    fn pinned(
        config: SamplerConfig,
        context: NamespaceContext,
        pin: TargetPin,
    ) -> Result<Sampler, CollectError> {
        let mut standing_notes = context.notes.clone();
        let table = open_table(config.source, &context, &mut standing_notes)?;
        Ok(Sampler {
            context,
            pin,
            table,
            owners: OwnerLookup::Inline(ProcessResolver::new()),
            standing_notes,
            last_socket_count: 0,
            samples_taken: 0,
            retain_limit: DEFAULT_RETAIN_LIMIT,
            counting_only: false,
            scope: config.scope,
            aggregator: None,
            config,
        })
    }

    /// Keeps at most `limit` socket records per snapshot (counts stay exact).
    pub fn with_retain_limit(mut self, limit: usize) -> Sampler {
        self.retain_limit = limit;
        self
    }

    /// Copies no socket record into snapshots: counts, queues, alerts and
    /// listener owners are unchanged, and the table still says what the
    /// retention limit would have kept (complete or not, and the note). For
    /// the modes that show no connection (`--once`, `serve`): the records
    /// of a large table cost a copy each and a page fault per 42.
    pub(crate) fn counting_only(mut self) -> Sampler {
        self.counting_only = true;
        self
    }

    /// What the sampler watches: "host", "pid 1234", "netns blue".
    pub(crate) fn namespace_label(&self) -> &str {
        &self.context.label
    }

    /// Falls back from netlink to /proc after a failed dump, when allowed.
    fn fall_back_to_proc(&mut self, error: &CollectError) -> bool {
        if self.config.source != SourceChoice::Auto
            || self.table.kind() != crate::model::SourceKind::Netlink
            || !netlink_is_unusable(error)
        {
            return false;
        }
        self.standing_notes.push(format!(
            "sock_diag failed ({error}); reading /proc/net/tcp instead: listener backlogs unknown"
        ));
        self.table = Box::new(ProcTable::new(self.context.net_dir.clone()));
        true
    }

    fn dump_into(
        &mut self,
        request: &DumpRequest,
        out: &mut Vec<SocketRecord>,
    ) -> Result<(), CollectError> {
        let result = self.table.dump(request, &mut |record| out.push(*record));
        match result {
            Err(error) if self.fall_back_to_proc(&error) => {
                out.clear();
                self.table.dump(request, &mut |record| out.push(*record))
            }
            other => other,
        }
    }

    /// Owners of the listeners, of the sockets the alert rules may name
    /// (`rule_inodes`), and of every socket when there are few; with whether
    /// every process could be inspected.
    fn owners_for(
        &mut self,
        listeners: &[SocketRecord],
        sockets: &[SocketRecord],
        rule_inodes: Vec<u64>,
        now_ms: u64,
    ) -> (HashMap<u64, ProcessInfo>, bool) {
        let mut wanted = rule_inodes;
        wanted.extend(listeners.iter().map(|l| l.inode).filter(|i| *i != 0));
        if sockets.len() <= OWNER_LOOKUP_LIMIT {
            wanted.extend(sockets.iter().map(|s| s.inode).filter(|i| *i != 0));
        }
        match &mut self.owners {
            OwnerLookup::Inline(resolver) => {
                let owners = resolver.resolve(&wanted, now_ms);
                (owners, resolver.can_see_all_processes())
            }
            OwnerLookup::Background(background) => background.lookup(wanted, now_ms),
            OwnerLookup::Off => (HashMap::new(), true),
        }
    }

    /// Listeners, counters, sockstat and sysctls without walking the table
    /// (a LISTEN-only dump costs about 0.1 ms at any table size): the light
    /// sample `--all-namespaces` takes of every namespace each interval. Its
    /// filter says LISTEN only, so nothing reads it as an empty table.
    pub fn sample_light(&mut self, taken_at_ms: u64) -> Result<Sampled, CollectError> {
        let states = self.config.filter.states;
        self.config.filter.states = crate::model::StateMask::LISTEN_ONLY;
        let result = self.sample(taken_at_ms);
        self.config.filter.states = states;
        result
    }

    /// Leaves owners to the caller: snapshots come with none.
    pub fn without_owners(mut self) -> Sampler {
        self.owners = OwnerLookup::Off;
        self
    }

    /// Looks owners up on a thread of its own from now on: ticks never wait
    /// for a /proc scan, and owners appear a tick or two later. For the live
    /// modes; `--once` keeps the inline lookup so its one picture is complete.
    pub(crate) fn with_background_owners(mut self) -> Result<Sampler, CollectError> {
        let resolver = match std::mem::replace(
            &mut self.owners,
            OwnerLookup::Inline(ProcessResolver::new()),
        ) {
            OwnerLookup::Inline(resolver) => resolver,
            other @ (OwnerLookup::Background(_) | OwnerLookup::Off) => {
                self.owners = other;
                return Ok(self);
            }
        };
        let background =
            BackgroundOwners::spawn(resolver).map_err(|source| CollectError::Thread { source })?;
        self.owners = OwnerLookup::Background(background);
        Ok(self)
    }
}

/// Whether a failed dump means sock_diag cannot be used here at all
/// (refused, unsupported), rather than a transient failure (a receive
/// overrun, an interrupted dump) that the next tick may not meet: only the
/// former is worth giving up the backlogs for.
fn netlink_is_unusable(error: &CollectError) -> bool {
    match error {
        CollectError::NetlinkRefused { source } => {
            matches!(
                source.raw_os_error(),
                Some(
                    libc::EPERM
                        | libc::EACCES
                        | libc::EPROTONOSUPPORT
                        | libc::EINVAL
                        | libc::EOPNOTSUPP
                        | libc::ENOENT
                )
            ) || source.kind() == std::io::ErrorKind::PermissionDenied
        }
        _ => false,
    }
}

/// Where socket owners come from.
enum OwnerLookup {
    /// Resolved during the tick (one-shot runs).
    Inline(ProcessResolver),
    /// Resolved on a thread of its own (live runs).
    Background(BackgroundOwners),
    /// Not looked up here: the caller fills owners in (one resolver shared
    /// by every namespace, `--all-namespaces`).
    Off,
}

/// What one streamed table dump produced.
struct Streamed {
    sockets: Vec<SocketRecord>,
    /// Records kept, or that would have been (`Sampler::counting_only`).
    kept: usize,
    aggregates: Aggregates,
    table_size: u64,
    complete: bool,
}

impl Streamed {
    fn empty(base: &Snapshot, scope: JudgingScope) -> Streamed {
        Streamed {
            sockets: Vec::new(),
            kept: 0,
            aggregates: Aggregator::new(base, scope).finish(),
            table_size: 0,
            complete: true,
        }
    }
}

impl Sampler {
    /// Dumps the table once, counting every socket into the aggregates as it
    /// arrives and keeping records up to the retention limit.
    fn dump_aggregating(
        &mut self,
        request: &DumpRequest,
        base: &Snapshot,
    ) -> Result<Streamed, CollectError> {
        let mut aggregator = match self.aggregator.take() {
            Some(mut aggregator) => {
                aggregator.restart(base, self.scope);
                aggregator
            }
            None => Aggregator::new(base, self.scope),
        };
        let mut retained = if self.counting_only {
            Retained::counting_only(self.retain_limit)
        } else {
            let hint = (self.last_socket_count + self.last_socket_count / 8).min(self.retain_limit);
            Retained::in_buffer(self.retain_limit, record_buffer(hint))
        };
        self.table.dump(request, &mut |record| {
            aggregator.add(record);
            retained.offer(record);
        })?;
        let aggregates = aggregator.finish_reusable();
        // Kept only where a rebuild would cost: its port tables alone are
        // 0.5 MiB, which every namespace of `--all-namespaces` would hold.
        if retained.offered() >= REUSE_AGGREGATOR_FROM {
            self.aggregator = Some(aggregator);
        }
        Ok(Streamed {
            table_size: retained.offered(),
            complete: retained.is_complete(),
            kept: retained.kept(),
            sockets: retained.into_records(),
            aggregates,
        })
    }
}

fn open_table(
    source: SourceChoice,
    context: &NamespaceContext,
    notes: &mut Vec<String>,
) -> Result<Box<dyn SocketTable + Send>, CollectError> {
    let proc_table = || Box::new(ProcTable::new(context.net_dir.clone()));
    match source {
        SourceChoice::Proc => {
            notes.push(
                "source /proc/net/tcp: listener backlogs are unknown (use --source netlink)"
                    .to_string(),
            );
            Ok(proc_table())
        }
        SourceChoice::Netlink => {
            if let Some(errno) = context.entry_refused {
                // sock_diag itself was never asked: entering the namespace
                // was refused.
                return Err(CollectError::NamespacePermission {
                    target: context.label.clone(),
                    source: std::io::Error::from_raw_os_error(errno),
                });
            }
            if !context.netlink_usable {
                return Err(CollectError::NetlinkRefused {
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                });
            }
            Ok(Box::new(NetlinkTable::open()?.with_decoding_aside()))
        }
        SourceChoice::Auto => {
            if !context.netlink_usable {
                return Ok(proc_table());
            }
            match NetlinkTable::open() {
                Ok(table) => Ok(Box::new(table.with_decoding_aside())),
                Err(error) => {
                    notes.push(format!(
                        "sock_diag unavailable ({error}); reading /proc/net/tcp instead: listener backlogs unknown"
                    ));
                    Ok(proc_table())
                }
            }
        }
    }
}

impl SnapshotSource for Sampler {
    /// A snapshot, unless the target vanished meanwhile: what was read is
    /// then dropped (it may come from a recycled pid's namespace).
    fn sample(&mut self, taken_at_ms: u64) -> Result<Sampled, CollectError> {
        let result = self.sample_table(taken_at_ms);
        self.pin.check()?;
        result
    }

    fn sample_totals(&mut self) -> Option<(crate::model::Counters, crate::model::Sockstat)> {
        let totals = read_counters(&self.context.net_dir).ok();
        self.pin.check().ok().and(totals)
    }

    fn sample_listeners(&mut self) -> Result<Vec<SocketRecord>, CollectError> {
        let mut listeners = Vec::new();
        let request = DumpRequest::listeners_for(&self.config.filter);
        let result = self.dump_into(&request, &mut listeners);
        self.pin.check()?;
        result.map(|()| listeners)
    }
}

impl Sampler {
    fn sample_table(&mut self, taken_at_ms: u64) -> Result<Sampled, CollectError> {
        let started = Instant::now();
        let filter = self.config.filter.clone();
        let mut listeners = Vec::new();
        self.dump_into(&DumpRequest::listeners_for(&filter), &mut listeners)?;
        let (counters, sockstat) = read_counters(&self.context.net_dir)?;
        let settings = self
            .context
            .sys_root
            .as_deref()
            .map(read_settings)
            .unwrap_or_default();

        let mut snapshot = Snapshot::empty(taken_at_ms, self.table.kind());
        snapshot.namespace = self.context.label.clone();
        snapshot.notes = self.standing_notes.clone();
        snapshot.filter = filter;
        snapshot.listeners = listeners;
        snapshot.counters = counters;
        snapshot.sockstat = Some(sockstat);
        snapshot.settings = settings;

        let table_states = snapshot.filter.states.without(TcpState::Listen);
        let request = DumpRequest::table_for(&snapshot.filter, table_states);
        if request.ports.is_empty() && request.addrs.is_empty() {
            self.table
                .expect_sockets(sockstat.inuse.saturating_add(sockstat.tw));
        }
        let streamed = if table_states.0 == 0 {
            Streamed::empty(&snapshot, self.scope)
        } else {
            match self.dump_aggregating(&request, &snapshot) {
                Err(error) if self.fall_back_to_proc(&error) => {
                    snapshot.source = self.table.kind();
                    snapshot.notes = self.standing_notes.clone();
                    self.dump_aggregating(&request, &snapshot)?
                }
                other => other?,
            }
        };
        self.last_socket_count = streamed.sockets.len();
        let streamed_kept = streamed.kept;
        snapshot.table_size = streamed.table_size;
        snapshot.sockets_complete = streamed.complete;
        snapshot.sockets = streamed.sockets;
        if !snapshot.sockets_complete {
            snapshot.notes.push(format!(
                "{} sockets: counts are exact, connection details kept for {} (TIME_WAIT left out first)",
                snapshot.table_size, streamed_kept
            ));
        }

        let mut aggregates = streamed.aggregates;
        // The sockets a rule may name (a CLOSE_WAIT leak's owners) are spread
        // over every process, so finding them costs a whole /proc/*/fd scan:
        // asked from the second sample on, never for the first picture
        // (`--once`, the dashboard's first screen). Rules that need several
        // samples are the ones that name them.
        self.samples_taken += 1;
        let rule_inodes = if self.samples_taken > 1 {
            aggregates.rules.inodes_to_name(OWNER_LOOKUP_LIMIT)
        } else {
            Vec::new()
        };
        let (owners, owners_complete) = self.owners_for(
            &snapshot.listeners,
            &snapshot.sockets,
            rule_inodes,
            taken_at_ms,
        );
        snapshot.owners = owners;
        snapshot.owners_complete = owners_complete;
        for listener in &mut aggregates.listeners {
            listener.process = snapshot.owners.get(&listener.inode).cloned();
        }
        snapshot.elapsed = started.elapsed();
        Ok(Sampled {
            snapshot,
            aggregates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;
    use std::io;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A table of `sockets` ESTABLISHED connections and no listener, which
    /// remembers the size it was told to expect (`u64::MAX`: none).
    struct ScriptedTable {
        sockets: u16,
        expected: Arc<AtomicU64>,
    }

    impl SocketTable for ScriptedTable {
        fn kind(&self) -> crate::model::SourceKind {
            crate::model::SourceKind::Netlink
        }

        fn dump(
            &mut self,
            request: &DumpRequest,
            sink: &mut crate::collect::RecordSink<'_>,
        ) -> Result<(), CollectError> {
            if !request.states.contains(TcpState::Established) {
                return Ok(());
            }
            for port in 1..=self.sockets {
                let local = format!("10.0.{}.{}:80", port >> 8, port & 0xff);
                sink(&record(TcpState::Established, &local, "10.1.0.1:40000"));
            }
            Ok(())
        }

        fn expect_sockets(&mut self, sockets: u64) {
            self.expected.store(sockets, Ordering::Relaxed);
        }
    }

    fn scripted_sampler(sockets: u16, filter: Filter) -> (Sampler, Arc<AtomicU64>) {
        let config = SamplerConfig {
            source: SourceChoice::Proc,
            target: NetnsTarget::Host,
            filter,
            scope: JudgingScope::default(),
        };
        let mut sampler = Sampler::in_context(config, NamespaceContext::own("test".to_string()))
            .expect("the own namespace opens")
            .without_owners();
        let expected = Arc::new(AtomicU64::new(u64::MAX));
        sampler.table = Box::new(ScriptedTable {
            sockets,
            expected: Arc::clone(&expected),
        });
        (sampler, expected)
    }

    #[test]
    fn the_table_is_told_sockstats_count_unless_a_filter_narrows_the_walk() {
        let (mut sampler, expected) = scripted_sampler(10, Filter::default());
        let sampled = sampler.sample(1).expect("sampled");
        let sockstat = sampled.snapshot.sockstat.expect("sockstat read");
        assert_eq!(
            expected.load(Ordering::Relaxed),
            sockstat.inuse + sockstat.tw
        );
        let port_80 = Filter {
            ports: vec![80],
            ..Filter::default()
        };
        let (mut sampler, expected) = scripted_sampler(10, port_80);
        assert_eq!(
            sampler.sample(1).expect("sampled").snapshot.sockets.len(),
            10
        );
        assert_eq!(expected.load(Ordering::Relaxed), u64::MAX, "not told");
    }

    #[test]
    fn samples_of_a_big_table_through_the_reused_aggregator_agree() {
        let (mut sampler, _) = scripted_sampler(12_000, Filter::default());
        let first = sampler.sample(1).expect("sampled");
        assert!(sampler.aggregator.is_some(), "kept for the next sample");
        let second = sampler.sample(2).expect("sampled");
        assert_eq!(second.snapshot.sockets, first.snapshot.sockets);
        assert_eq!(second.aggregates, first.aggregates);
        assert_eq!(second.aggregates.totals.total(), 12_000);
    }

    #[test]
    fn only_a_refusal_gives_up_sock_diag() {
        let refused = |errno| CollectError::NetlinkRefused {
            source: io::Error::from_raw_os_error(errno),
        };
        assert!(netlink_is_unusable(&refused(libc::EPERM)));
        assert!(netlink_is_unusable(&refused(libc::EPROTONOSUPPORT)));
        assert!(
            !netlink_is_unusable(&refused(libc::ENOBUFS)),
            "a receive overrun is transient"
        );
        assert!(!netlink_is_unusable(&refused(libc::EBUSY)));
        assert!(!netlink_is_unusable(&CollectError::NetlinkDecode {
            reason: "truncated".to_string()
        }));
    }
}
