//! Where the pipeline hands its ticks to a recorder, when one is open: the
//! sampling thread writes each full tick; the dashboard can open one later
//! (its record key) and any mode closes it at the end.
//!
//! Owns: `RecordSlot`. Must not: stop the pipeline when recording fails:
//! the failure is reported once and the watching goes on.

use std::sync::{Arc, Mutex, PoisonError};

use super::{RecordError, Recorder};
use crate::watch::Tick;

/// A shared, possibly empty, place for the recorder.
#[derive(Clone, Default)]
pub struct RecordSlot {
    inner: Arc<Mutex<SlotState>>,
}

#[derive(Default)]
struct SlotState {
    recorder: Option<Recorder>,
    /// The error that stopped the recording, until someone takes it.
    failure: Option<String>,
}

impl std::fmt::Debug for RecordSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordSlot")
    }
}

impl RecordSlot {
    pub fn new(recorder: Option<Recorder>) -> RecordSlot {
        RecordSlot {
            inner: Arc::new(Mutex::new(SlotState {
                recorder,
                failure: None,
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts recording into `recorder` (ending any recording before).
    pub fn start(&self, recorder: Recorder) -> Result<(), RecordError> {
        let previous = self.state().recorder.replace(recorder);
        previous.map_or(Ok(()), Recorder::finish)
    }

    pub fn is_recording(&self) -> bool {
        self.state().recorder.is_some()
    }

    /// The path and frame count of the recording going on.
    pub fn status(&self) -> Option<(std::path::PathBuf, usize)> {
        let state = self.state();
        let recorder = state.recorder.as_ref()?;
        Some((recorder.path().to_path_buf(), recorder.frames()))
    }

    /// Records a full tick. A write error ends the recording (what was
    /// written stays whole) and is kept for `take_failure`.
    pub fn observe(&self, tick: &Tick) {
        let Tick::Full(full) = tick else {
            return;
        };
        let mut state = self.state();
        let Some(recorder) = state.recorder.as_mut() else {
            return;
        };
        if let Err(error) = recorder.write_tick(full) {
            state.recorder = None;
            state.failure = Some(error.to_string());
        }
    }

    /// Why the recording stopped, once.
    pub fn take_failure(&self) -> Option<String> {
        self.state().failure.take()
    }

    /// Closes the recording (index and footer).
    pub fn finish(&self) -> Result<(), RecordError> {
        let recorder = self.state().recorder.take();
        recorder.map_or(Ok(()), Recorder::finish)
    }
}
