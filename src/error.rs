//! The top-level error: anything that ends a run, worded for the user.
//!
//! Owns: `AppError` and whether an error is really a quiet exit (a closed
//! pipe). Must not: print; `main` does.

use std::io;

use crate::collect::CollectError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),
    #[error("cannot start the sampling thread: {0}")]
    Thread(#[source] io::Error),
    #[error("the sampling thread stopped unexpectedly; please report this")]
    SamplerLost,
    #[error("a demo experiment failed on loopback: {0}")]
    Demo(#[source] io::Error),
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    #[error("{0}")]
    RecordingStopped(String),
    #[error("replay: {0}")]
    Replay(String),
    #[error("cannot listen on {addr}: {source}; choose a free address with --listen ADDR:PORT")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("the metrics server failed: {0}")]
    Serve(#[source] io::Error),
    #[error("--events on: {0}")]
    Events(#[from] crate::collect::events::EventsError),
    #[error("terminal error: {0}; run with --once for plain output")]
    Terminal(#[source] io::Error),
}

impl AppError {
    /// A reader that went away (`tcpwatch --once | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, AppError::Output(e) | AppError::Terminal(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
