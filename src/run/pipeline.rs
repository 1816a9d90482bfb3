//! The one way every mode starts sampling: a thread opens the source (it may
//! enter another namespace), runs the sampling schedule, judges each sample
//! with a `Watch` on the same thread, and hands the ticks on. A slow dump
//! or a large judgement delays ticks, never the consumer.
//!
//! Owns: `spawn_watch`, `WatchHandle`, `WatchSpec`. Must not: interpret
//! ticks (each mode does) or draw.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;
use std::time::Duration;

use super::heap::HeapTrimmer;
use crate::alert::Thresholds;
use crate::cli::Config;
use crate::collect::clock::now_ms;
use crate::collect::events::reader::BATCH_BACKLOG;
use crate::collect::events::{
    EventBatch, EventOptions, EventReader, EventsChoice, EventsStart, start_events,
};
use crate::collect::host::{host_name, kernel_release};
use crate::collect::sample_loop::{SamplerControl, sample_forever};
use crate::collect::sampler::{Sampler, SamplerConfig};
use crate::collect::schedule::SamplingTiming;
use crate::collect::{CollectError, SnapshotSource};
use crate::error::AppError;
use crate::model::JudgingScope;
use crate::record::{RecordOptions, RecordSlot, Recorder, RecordingHeader};
use crate::watch::{FullTick, Tick, Watch};

/// Ticks waiting for a slow consumer at most; the sampler then waits too,
/// so memory stays bounded.
const TICK_BACKLOG: usize = 256;

/// How to sample and judge.
#[derive(Debug, Clone)]
pub(crate) struct WatchSpec {
    pub timing: SamplingTiming,
    pub thresholds: Thresholds,
    /// Where full ticks are recorded (`--record`, or later the dashboard's
    /// record key); empty when not recording.
    pub record: RecordSlot,
    /// Exact kernel events, and the ports they are filtered to.
    pub events: EventsSpec,
    /// Whether to follow connections from tick to tick (the transitions
    /// the dashboard's diagram, `--stream` and recordings show). `serve`
    /// shows none and turns it off.
    pub follow_connections: bool,
}

/// Whether to read tracepoint events, for which ports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsSpec {
    pub choice: EventsChoice,
    pub ports: Vec<u16>,
    /// Set when the watched namespace is not tcpwatch's own: tracepoints
    /// carry no namespace, so `auto` leaves events off there.
    pub other_namespace: bool,
}

impl EventsSpec {
    /// What the command line asks for: `--events`, filtered to its ports.
    /// A `--pid` or `--netns` that names tcpwatch's own namespace counts as
    /// its own (events there are exact); any other namespace does not.
    pub(crate) fn asked(config: &Config) -> EventsSpec {
        EventsSpec {
            choice: config.events,
            ports: config.filter.ports.clone(),
            other_namespace: config.all_namespaces || !config.target.is_own_namespace(),
        }
    }

    pub fn off() -> EventsSpec {
        EventsSpec {
            choice: EventsChoice::Off,
            ..EventsSpec::default()
        }
    }
}

impl WatchSpec {
    /// The spec of the command line; with `--record FILE`, the recording
    /// is created now, so a bad path fails before anything starts.
    pub(crate) fn from_config(config: &Config) -> Result<WatchSpec, AppError> {
        let recorder = match &config.record {
            Some(options) => Some(open_recorder(config, options.clone(), now_ms())?),
            None => None,
        };
        Ok(WatchSpec {
            timing: SamplingTiming {
                interval: config.interval,
                listen_interval: config.listen_interval,
            },
            thresholds: config.thresholds.clone(),
            record: RecordSlot::new(recorder),
            // The modes that show events ask for them (`EventsSpec::asked`);
            // `--stream` always does, the others never open the tracepoints.
            events: if config.stream {
                EventsSpec::asked(config)
            } else {
                EventsSpec::off()
            },
            follow_connections: true,
        })
    }
}

/// What became of the event reader: on, or off with the one-line note
/// saying why (none when the user asked for off).
pub(crate) type EventReaderStart = (Option<(EventReader, Receiver<EventBatch>)>, Option<String>);

/// Starts the event reader as `spec` says. When `auto` falls back to
/// polling, the note says why; each mode shows it (stderr, or the
/// dashboard's transition log).
pub(crate) fn start_event_reader(spec: &EventsSpec) -> Result<EventReaderStart, AppError> {
    if spec.choice == EventsChoice::Auto && spec.other_namespace {
        return Ok((None, Some(OTHER_NAMESPACE_NOTE.to_string())));
    }
    match start_events(spec.choice, &EventOptions::for_ports(&spec.ports))? {
        EventsStart::On(reader, batches) => {
            if spec.other_namespace {
                // Asked for: said once, the events flow.
                eprintln!("{HOST_WIDE_NOTE}");
            }
            Ok((Some((reader, batches)), None))
        }
        EventsStart::Off(note) => Ok((None, note)),
    }
}

/// What `--events on` means when another namespace is watched.
const HOST_WIDE_NOTE: &str = "tcpwatch: --events on with another namespace: tracepoints carry no namespace, so the event lines on the watched ports may belong to any namespace";

/// Why `auto` leaves events off when another namespace is watched.
pub(crate) const OTHER_NAMESPACE_NOTE: &str = "tcpwatch: exact events off (tracepoints carry no network namespace, so another namespace's events cannot be told apart; --events on reads them host-wide); polling only";

/// Creates a recording for this command line.
pub(crate) fn open_recorder(
    config: &Config,
    options: RecordOptions,
    start_ms: u64,
) -> Result<Recorder, AppError> {
    ignore_file_size_signal();
    let header = RecordingHeader::new(
        &host_name(),
        &kernel_release(),
        &config.target.label(),
        std::env::args().collect(),
        start_ms,
        config.interval,
        options.max_connections,
    );
    Ok(Recorder::create(options, header)?)
}

/// A file size limit (RLIMIT_FSIZE) must fail the write (EFBIG), which the
/// recorder survives, rather than kill the process with SIGXFSZ.
fn ignore_file_size_signal() {
    let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, ignored);
}

/// What the sampler reads, from the command line.
pub(crate) fn sampler_config(config: &Config) -> SamplerConfig {
    SamplerConfig {
        source: config.source,
        target: config.target.clone(),
        filter: config.filter.clone(),
        scope: JudgingScope {
            crowded_destination_ratio: config.thresholds.port_exhaustion_ratio,
        },
    }
}

/// Opens the real sampler with owners looked up in the background (the
/// live modes: ticks never wait for a /proc scan).
pub(crate) fn open_live_sampler(
    config: SamplerConfig,
) -> impl FnOnce() -> Result<Box<dyn SnapshotSource>, CollectError> + Send + 'static {
    move || {
        Sampler::open(config)
            .and_then(Sampler::with_background_owners)
            .map(|sampler| Box::new(sampler) as Box<dyn SnapshotSource>)
    }
}

/// `open_live_sampler` keeping no socket records: counts, queues, alerts
/// and owners stay exact (they are aggregated while the dump streams in),
/// but no per-connection detail is copied or held. For `serve`, which
/// shows none: up to 2 × 19 MiB less at a million sockets.
pub(crate) fn open_live_counting_sampler(
    config: SamplerConfig,
) -> impl FnOnce() -> Result<Box<dyn SnapshotSource>, CollectError> + Send + 'static {
    move || {
        Sampler::open(config)
            .map(Sampler::counting_only)
            .and_then(Sampler::with_background_owners)
            .map(|sampler| Box::new(sampler) as Box<dyn SnapshotSource>)
    }
}

/// Controls a running pipeline; dropping it stops the sampling thread.
#[derive(Debug)]
pub(crate) struct WatchHandle {
    control: Sender<SamplerControl>,
    record: RecordSlot,
    events_note: Option<String>,
}

impl WatchHandle {
    /// Why exact events are off when `--events auto` fell back to polling.
    pub(crate) fn events_note(&self) -> Option<&str> {
        self.events_note.as_deref()
    }

    /// Prints the events note, if any, on stderr (the line modes).
    pub(crate) fn print_events_note(&self) {
        if let Some(note) = &self.events_note {
            eprintln!("{note}");
        }
    }

    /// The recording slot of this pipeline (start, status, failures).
    pub(crate) fn recording(&self) -> &RecordSlot {
        &self.record
    }

    pub(crate) fn set_interval(&self, interval: Duration) {
        let _ = self.control.send(SamplerControl::SetInterval(interval));
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        let _ = self.control.send(SamplerControl::Stop);
        // The index and footer; the frames are already whole on disk.
        if let Err(error) = self.record.finish() {
            eprintln!("tcpwatch: {error}");
        }
    }
}

/// Starts the pipeline: `emit` receives every tick on the sampling thread
/// until it returns false or the handle is dropped. Returns once the source
/// is open, or with the error that kept it from opening (before a mode
/// touches the terminal).
pub(crate) fn spawn_watch<F>(
    spec: WatchSpec,
    open_source: F,
    mut emit: impl FnMut(Tick) -> bool + Send + 'static,
) -> Result<WatchHandle, AppError>
where
    F: FnOnce() -> Result<Box<dyn SnapshotSource>, CollectError> + Send + 'static,
{
    let (control, control_inbox) = mpsc::channel();
    let record = spec.record.clone();
    let (ready, ready_inbox) = mpsc::channel::<Result<(), CollectError>>();
    let (events, events_note) = start_event_reader(&spec.events)?;
    let event_ports = spec.events.ports.clone();
    thread::Builder::new()
        .name("tcpwatch-sampler".to_string())
        .spawn(move || {
            let mut source = match open_source() {
                Ok(source) => source,
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            let mut watch = Watch::new(spec.thresholds);
            if !spec.follow_connections {
                watch = watch.without_following();
            }
            // The reader lives (and its fds stay open) as long as this thread.
            let (_reader, batches) = match events {
                Some((reader, batches)) => {
                    watch = watch.with_events(&event_ports);
                    (Some(reader), Some(batches))
                }
                None => (None, None),
            };
            let mut heap = HeapTrimmer::default();
            sample_forever(source.as_mut(), spec.timing, &control_inbox, |event| {
                if let Some(batches) = &batches {
                    take_event_batches(&mut watch, batches);
                }
                let tick = watch.ingest(event);
                spec.record.observe(&tick);
                heap.after_tick(tick.at_ms());
                emit(tick)
            });
        })
        .map_err(AppError::Thread)?;
    ready_inbox.recv().map_err(|_| AppError::SamplerLost)??;
    Ok(WatchHandle {
        control,
        record,
        events_note,
    })
}

/// Hands the watch the event batches waiting, at most a backlog's worth:
/// when events come faster than they are taken (host-wide churn), the
/// reader counts the batches it cannot queue as lost, and ticks still flow.
pub(crate) fn take_event_batches(watch: &mut Watch, batches: &Receiver<EventBatch>) {
    for mut batch in batches.try_iter().take(BATCH_BACKLOG) {
        watch.ingest_events(&mut batch.events, batch.lost);
    }
}

/// `spawn_watch` into a bounded channel, for the modes that only read ticks.
pub(crate) fn spawn_watch_channel<F>(
    spec: WatchSpec,
    open_source: F,
) -> Result<(Receiver<Tick>, WatchHandle), AppError>
where
    F: FnOnce() -> Result<Box<dyn SnapshotSource>, CollectError> + Send + 'static,
{
    let (sender, ticks): (SyncSender<Tick>, Receiver<Tick>) = mpsc::sync_channel(TICK_BACKLOG);
    let handle = spawn_watch(spec, open_source, move |tick| sender.send(tick).is_ok())?;
    Ok((ticks, handle))
}

/// Runs the live pipeline and hands each full tick to `on_full` until it
/// fails, or until `--count` full ticks were handed on. The first sample
/// must work; later failures are reported on stderr and sampling goes on,
/// unless the watched target is gone (then the run ends with that error).
/// The line modes use it.
pub(crate) fn for_each_full_tick(
    config: &Config,
    mut on_full: impl FnMut(&FullTick) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let (ticks, handle) = spawn_watch_channel(
        WatchSpec::from_config(config)?,
        open_live_sampler(sampler_config(config)),
    )?;
    handle.print_events_note();
    let mut first = true;
    let mut handed_on = 0u64;
    for tick in ticks {
        match tick {
            Tick::Full(full) => {
                first = false;
                on_full(&full)?;
                handed_on += 1;
                if config.count.is_some_and(|count| handed_on >= count) {
                    return Ok(());
                }
            }
            // A vanished target (`pid N is gone`) ends the run, said once.
            Tick::Failed { error, .. } if first || error.is_final() => return Err(error.into()),
            Tick::Failed { error, .. } => eprintln!("tcpwatch: sample failed: {error}"),
            // The line modes print whole pictures, at full ticks only.
            Tick::Listeners { .. } | Tick::Totals { .. } => {}
        }
    }
    Err(AppError::SamplerLost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::fake::ScriptedSource;
    use crate::collect::scenarios::listen_one_script;

    fn spec() -> WatchSpec {
        WatchSpec {
            timing: SamplingTiming {
                interval: Duration::from_secs(3600),
                listen_interval: Duration::from_secs(3600),
            },
            thresholds: Thresholds::default(),
            record: RecordSlot::default(),
            events: EventsSpec::off(),
            follow_connections: true,
        }
    }

    #[test]
    fn the_first_tick_is_a_judged_full_sample() {
        let (ticks, _handle) = spawn_watch_channel(spec(), || {
            Ok(Box::new(ScriptedSource::new(listen_one_script(0, 3))) as Box<dyn SnapshotSource>)
        })
        .expect("the scripted source opens");
        let first = ticks.recv().expect("a tick");
        let Tick::Full(full) = first else {
            panic!("expected a full tick, got {first:?}");
        };
        assert!(!full.snapshot.listeners.is_empty());
        assert_eq!(full.deltas, None);
    }

    #[test]
    fn a_spec_that_follows_no_connections_gives_ticks_without_transitions() {
        let spec = WatchSpec {
            follow_connections: false,
            timing: SamplingTiming {
                interval: Duration::from_millis(1),
                listen_interval: Duration::from_secs(3600),
            },
            ..spec()
        };
        let (ticks, _handle) = spawn_watch_channel(spec, || {
            Ok(Box::new(ScriptedSource::new(listen_one_script(0, 3))) as Box<dyn SnapshotSource>)
        })
        .expect("the scripted source opens");
        let full: Vec<FullTick> = ticks
            .iter()
            .filter_map(|tick| match tick {
                Tick::Full(full) => Some(*full),
                _ => None,
            })
            .take(3)
            .collect();
        assert_eq!(full.len(), 3);
        assert!(full.iter().all(|t| t.transitions.is_empty()), "{full:?}");
    }

    #[test]
    fn a_source_that_cannot_open_is_an_error_before_any_tick() {
        let result =
            spawn_watch_channel(spec(), || Err(CollectError::NoSuchPid { pid: 4_194_304 }));
        let Err(error) = result else {
            panic!("the open error comes back");
        };
        assert!(error.to_string().contains("4194304"), "{error}");
    }

    #[test]
    fn dropping_the_handle_stops_the_thread() {
        let (ticks, handle) = spawn_watch_channel(spec(), || {
            Ok(Box::new(ScriptedSource::new(listen_one_script(0, 1))) as Box<dyn SnapshotSource>)
        })
        .expect("opens");
        let _ = ticks.recv().expect("the first tick");
        drop(handle);
        // The thread ends and drops its sender: the channel disconnects.
        assert!(ticks.iter().all(|tick| matches!(tick, Tick::Full(_))));
    }
}
