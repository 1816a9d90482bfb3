//! The event reader thread: opens the tracepoints, then drains the rings
//! every few tens of milliseconds and hands each batch on, lost counts
//! included. `--events auto|on|off` is decided here too.
//!
//! Owns: the reader thread and the choice to read events. Must not: judge
//! events (the pure `EventLedger` does) or print; it returns the one-line
//! note that explains why events are off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::error::EventsError;
use super::source::{EventOptions, EventSource};
use crate::model::event::TcpEvent;

/// How long the reader sleeps at most between two drains.
pub const DRAIN_EVERY: Duration = Duration::from_millis(50);
/// Batches waiting for a slow consumer at most; beyond that a batch is
/// counted as dropped (never silently).
pub const BATCH_BACKLOG: usize = 1024;

/// `--events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventsChoice {
    /// On when permitted (root or CAP_PERFMON), else polling with a note.
    #[default]
    Auto,
    /// On, or an error saying why not.
    On,
    Off,
}

/// What the reader drained since the previous batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    pub events: Vec<TcpEvent>,
    /// Samples the kernel lost (ring full, or counted and never written), plus batches this side dropped
    /// because the consumer fell behind, counted in events.
    pub lost: u64,
}

/// A running reader; dropping it stops the thread and closes every fd.
#[derive(Debug)]
pub struct EventReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for EventReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What `--events` came to.
#[derive(Debug)]
pub enum EventsStart {
    On(EventReader, Receiver<EventBatch>),
    /// Off; the note says why when the user did not ask for off.
    Off(Option<String>),
}

/// Starts the reader as `choice` says. `Err` only for `--events on` when the
/// events cannot be read.
pub fn start_events(
    choice: EventsChoice,
    options: &EventOptions,
) -> Result<EventsStart, EventsError> {
    match choice {
        EventsChoice::Off => Ok(EventsStart::Off(None)),
        EventsChoice::On => {
            let (reader, batches) = spawn_reader(options)?;
            Ok(EventsStart::On(reader, batches))
        }
        EventsChoice::Auto => match spawn_reader(options) {
            Ok((reader, batches)) => Ok(EventsStart::On(reader, batches)),
            Err(error) => Ok(EventsStart::Off(Some(auto_off_note(&error)))),
        },
    }
}

/// The one line `--events auto` prints when it falls back to polling.
pub fn auto_off_note(error: &EventsError) -> String {
    if error.is_permission() {
        "tcpwatch: exact events off (reading tracepoints needs root or CAP_PERFMON); polling only"
            .to_string()
    } else {
        format!("tcpwatch: exact events off ({error}); polling only")
    }
}

/// Opens the source on the calling thread (so errors come back at once),
/// then drains it on a thread of its own.
pub fn spawn_reader(
    options: &EventOptions,
) -> Result<(EventReader, Receiver<EventBatch>), EventsError> {
    let mut source = EventSource::open(options)?;
    let (sender, batches) = mpsc::sync_channel(BATCH_BACKLOG);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name("tcpwatch-events".into())
        .spawn(move || read_until_stopped(&mut source, &sender, &stop_flag))
        .map_err(|source| EventsError::Thread { source })?;
    Ok((
        EventReader {
            stop,
            thread: Some(thread),
        },
        batches,
    ))
}

fn read_until_stopped(
    source: &mut EventSource,
    sender: &SyncSender<EventBatch>,
    stop: &AtomicBool,
) {
    let mut carried_lost = 0u64;
    while !stop.load(Ordering::Relaxed) {
        source.wait(DRAIN_EVERY);
        let mut batch = EventBatch::default();
        batch.lost = source.drain(&mut batch.events) + carried_lost;
        carried_lost = 0;
        if batch.events.is_empty() && batch.lost == 0 {
            continue;
        }
        match sender.try_send(batch) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(batch)) => {
                carried_lost = batch.lost + batch.events.len() as u64;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return,
        }
    }
}
