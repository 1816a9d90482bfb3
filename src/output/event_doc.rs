//! The `--stream` line of an exact kernel event (`"type": "event"`,
//! `"source": "event"`), beside the polled transition lines
//! (`"source": "poll"`). Part of the JSON contract v1
//! (assets/tcpwatch-v1.schema.json, `event_line`).
//!
//! Owns: `EventLineDoc`. Must not: do I/O or read the clock; never shows a
//! kernel address.

use serde::{Deserialize, Serialize};

use super::contract::Envelope;
use crate::format::timestamp::format_rfc3339;
use crate::model::event::EventKind;
use crate::model::event_ledger::EventLine;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLineDoc {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Always `event`: read from a kernel tracepoint, exact.
    pub source: String,
    /// `state`, `rst_sent`, `rst_received`, `synack_retransmit`,
    /// `retransmit`, `drop`, or `lost` (the kernel dropped events).
    pub event: String,
    pub time: String,
    pub time_ms: u64,
    /// Microseconds since the epoch, as the kernel stamped the event.
    pub time_us: u64,
    pub local: Option<String>,
    pub remote: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The kernel's reason name (`NO_SOCKET`, `TCP_LISTEN_OVERFLOW`, …).
    pub reason: Option<String>,
    /// The port the event counts under.
    pub port: Option<u16>,
    /// The listener the kernel named, for drops and SYN-ACK retransmits.
    pub listener: Option<String>,
    /// The socket cookie (sock_diag's `idiag_cookie`), when the tracepoint has it.
    pub cookie: Option<u64>,
    /// For `lost`: how many events the kernel dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    pub text: String,
}

impl EventLineDoc {
    pub fn of(host: &str, namespace: &str, line: &EventLine) -> EventLineDoc {
        let event = &line.event;
        let reason = match event.kind {
            EventKind::RstSent { reason, .. } | EventKind::Drop { reason, .. } => {
                Some(reason.name.to_string())
            }
            _ => None,
        };
        let (from, to) = match line.states {
            Some((from, to)) => (Some(from.name().to_string()), Some(to.name().to_string())),
            None => (None, None),
        };
        EventLineDoc {
            envelope: Envelope::new("event", host, namespace),
            source: "event".to_string(),
            event: event.kind_name().to_string(),
            time: format_rfc3339(event.at_ms()),
            time_ms: event.at_ms(),
            time_us: event.at_us,
            local: event.local.map(|a| a.to_string()),
            remote: event.remote.map(|a| a.to_string()),
            from,
            to,
            reason,
            port: line.port,
            listener: line.listener.map(|a| a.to_string()),
            cookie: event.cookie,
            count: None,
            text: line.text.clone(),
        }
    }

    /// The line saying the kernel lost `count` events at `at_ms`.
    pub fn lost(host: &str, namespace: &str, count: u64, at_ms: u64) -> EventLineDoc {
        EventLineDoc {
            envelope: Envelope::new("event", host, namespace),
            source: "event".to_string(),
            event: "lost".to_string(),
            time: format_rfc3339(at_ms),
            time_ms: at_ms,
            time_us: at_ms.saturating_mul(1000),
            local: None,
            remote: None,
            from: None,
            to: None,
            reason: None,
            port: None,
            listener: None,
            cookie: None,
            count: Some(count),
            text: format!(
                "the kernel lost {count} events (counted, never written to the ring): the event lines above are incomplete"
            ),
        }
    }
}
