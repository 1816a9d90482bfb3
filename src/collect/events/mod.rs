//! Exact kernel events from tracepoints, read with `perf_event_open` (no BPF):
//! `sock:inet_sock_set_state`, `tcp:tcp_send_reset`, `tcp:tcp_receive_reset`,
//! `tcp:tcp_retransmit_synack` and `skb:kfree_skb`.
//!
//! Owns: finding tracefs, parsing format files, the perf fds and rings, and
//! decoding records into `model::event::TcpEvent`. Must not: enable tracing
//! globally, write under tracefs, or keep an fd open after its owner drops.

pub mod decode;
pub mod error;
pub mod format;
pub mod perf;
pub mod reader;
pub mod ring;
pub mod source;
pub mod tracefs;

pub use error::EventsError;
pub use reader::{EventBatch, EventReader, EventsChoice, EventsStart, start_events};
pub use source::{EventOptions, EventSource, EventStats};
