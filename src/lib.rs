//! tcpwatch: a live TCP connection monitor for Linux.
//!
//! Data flows one way: `collect` (kernel I/O) → `model` (pure snapshot,
//! aggregates, history) → `alert` (pure rules) → views → terminal.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod alert;
pub mod app;
pub mod cli;
pub mod collect;
pub mod demo;
pub mod duration;
pub mod error;
pub mod explain;
pub mod live;
pub mod model;
pub mod output;
pub mod run;
pub mod sampling;
pub mod serve;
pub mod tui;
pub mod ui;
