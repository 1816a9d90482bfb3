//! Text formatting shared by the dashboard and the line outputs.
//!
//! Owns: formats that more than one view uses. Must not: read the clock or
//! do I/O.

pub mod timestamp;
