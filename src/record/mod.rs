//! Recording and replaying: `tcpwatch record FILE` (and `--record FILE`
//! beside any mode) writes each full tick as a compressed, checksummed,
//! independently decodable frame; `tcpwatch replay FILE` reads them back as
//! ticks for the same views.
//!
//! Owns: the file format (`format`), frames (`frame`), the writer and the
//! reader. Must not: sample, judge or draw; the recorder is given ticks and
//! the reader hands ticks back.

pub mod format;
pub mod frame;
pub mod player;
pub mod reader;
pub mod slot;
pub mod writer;

use std::io;
use std::path::PathBuf;

use thiserror::Error;

pub use frame::DEFAULT_MAX_CONNECTIONS;
pub use reader::Recording;
pub use slot::RecordSlot;
pub use writer::{RecordOptions, Recorder, RecordingHeader};

/// What went wrong with a recording, each naming the file and what to do.
#[derive(Debug, Error)]
pub enum RecordError {
    #[error(
        "cannot create recording {}: {source} (it must not exist yet: choose a new name or remove the old file)",
        path.display()
    )]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "writing recording {} failed: {source}; the frames written before are intact (free some space or use --max-size)",
        path.display()
    )]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot open recording {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{} is not a tcpwatch recording (made by `tcpwatch record FILE`)", path.display())]
    NotARecording { path: PathBuf },
    #[error("recording {} is damaged at {what}", path.display())]
    Damaged { path: PathBuf, what: String },
    #[error("the recording has {count} frames, no frame {number}")]
    NoSuchFrame { number: usize, count: usize },
    #[error("recording a frame failed: {0}")]
    Frame(#[from] frame::FrameError),
}
