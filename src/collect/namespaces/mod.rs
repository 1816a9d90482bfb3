//! Every network namespace on the host at once (`--all-namespaces`):
//! finding them, labelling them by container, and reading each cheaply.
//!
//! Owns: discovery, the cgroup parser, one reader per namespace and the
//! sampler that schedules them. Must not: judge or draw; it hands
//! per-namespace samples to the pipeline.

pub mod cgroup;
pub mod discovery;
pub mod fleet;
pub mod reader;
pub mod schedule;
