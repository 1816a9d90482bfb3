//! tcpwatch: a live TCP connection monitor for Linux.
//!
//! Data flows one way: `collect` (kernel I/O: sockets, counters, the
//! sampling schedule) → `model` (pure snapshot, aggregates, history) →
//! `alert` (pure rules) → `watch` (the one pipeline step that judges each
//! sample into a `Tick`) → `app` (dashboard state) → `ui` (pure rendering)
//! → terminal (`tui`). `run` holds one file per mode, each a consumer of
//! ticks; `output` and `format` turn them into text.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod alert;
pub mod app;
pub mod cli;
pub mod collect;
pub mod demo;
pub mod duration;
pub mod error;
pub mod explain;
pub mod fleet;
pub mod format;
#[cfg(test)]
mod fuzz;
pub mod generate;
pub mod model;
pub mod output;
pub mod record;
pub mod run;
pub mod serve;
pub mod tui;
pub mod ui;
pub mod watch;
