//! Alerts that diagnose: pure rules that read one snapshot (with its
//! aggregates, the counter deltas since the previous evaluation and the
//! listener peaks seen between ticks) and say what went wrong, which socket
//! call or setting is behind it, and what to change.
//!
//! Owns: the alert types (`Severity`, `AlertKind`, `Alert`, `AlertEvent`),
//! the engine and its lifecycle (raise, keep, clear with hysteresis), the
//! thresholds and one file per rule family. Must not: do I/O, read the clock
//! (time is `now_ms`, passed in), draw, or change the model.

mod backlog;
mod close_wait;
mod context;
mod engine;
mod half_open;
mod lifecycle;
mod monitor;
mod overflow;
mod ports;
mod syn_queue;
#[cfg(test)]
mod testkit;
mod thresholds;
mod time_wait;
mod window;

use std::fmt;

use serde::Serialize;

pub use crate::model::peaks::{ListenerPeak, ListenerPeaks};
pub use engine::{AlertEngine, EvaluationInput};
pub use monitor::AlertMonitor;
pub(crate) use overflow::blamed_listeners;
pub use thresholds::Thresholds;
pub use window::RaisedDuring;

/// How a client retries a SYN nobody answers, on this kernel generation:
/// Linux 6.x retries every 1 s for `net.ipv4.tcp_syn_linear_timeouts` (4)
/// tries, then doubles; the classic schedule is 1, 2, 4, 8, 16 s.
pub(crate) const SYN_RETRY_SCHEDULE: &str =
    "every ~1 s for the first tries (Linux 6.x, net.ipv4.tcp_syn_linear_timeouts), then 2, 4, 8… s";

/// How bad an alert is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// Lowercase name, as in JSON: `info`, `warning`, `critical`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an alert is about. `name()` is stable (JSON, tests, filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A listener's accept queue is full (queue > backlog), now or in a burst.
    BacklogFull,
    /// A listener's accept queue is at or above the nearly-full ratio.
    BacklogNearlyFull,
    /// ListenOverflows rose but no listener was seen full.
    OverflowUnattributed,
    /// Many half-open (SYN_RECV) connections against a listener's backlog.
    SynQueuePressure,
    /// The kernel answered SYNs with syncookies (SYN queue full).
    SynCookies,
    /// The kernel dropped SYNs because the SYN queue was full.
    SynDrops,
    /// TIME_WAIT count close to net.ipv4.tcp_max_tw_buckets.
    TimeWaitNearLimit,
    /// Sockets skipped TIME_WAIT (TCPTimeWaitOverflow rose).
    TimeWaitOverflow,
    /// TIME_WAIT on one port grows fast.
    TimeWaitGrowth,
    /// Local ports towards one destination running out.
    PortExhaustion,
    /// CLOSE_WAIT sockets that stay: the application never calls close().
    CloseWaitLeak,
    /// Client ESTABLISHED while the server side is SYN_RECV or gone.
    HalfOpenMismatch,
    /// A listener's backlog equals net.core.somaxconn.
    BacklogClamped,
}

impl AlertKind {
    pub const ALL: [AlertKind; 13] = [
        AlertKind::BacklogFull,
        AlertKind::BacklogNearlyFull,
        AlertKind::OverflowUnattributed,
        AlertKind::SynQueuePressure,
        AlertKind::SynCookies,
        AlertKind::SynDrops,
        AlertKind::TimeWaitNearLimit,
        AlertKind::TimeWaitOverflow,
        AlertKind::TimeWaitGrowth,
        AlertKind::PortExhaustion,
        AlertKind::CloseWaitLeak,
        AlertKind::HalfOpenMismatch,
        AlertKind::BacklogClamped,
    ];

    /// The stable snake_case name, e.g. `backlog_full`.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::BacklogFull => "backlog_full",
            AlertKind::BacklogNearlyFull => "backlog_nearly_full",
            AlertKind::OverflowUnattributed => "overflow_unattributed",
            AlertKind::SynQueuePressure => "syn_queue_pressure",
            AlertKind::SynCookies => "syn_cookies",
            AlertKind::SynDrops => "syn_drops",
            AlertKind::TimeWaitNearLimit => "time_wait_near_limit",
            AlertKind::TimeWaitOverflow => "time_wait_overflow",
            AlertKind::TimeWaitGrowth => "time_wait_growth",
            AlertKind::PortExhaustion => "port_exhaustion",
            AlertKind::CloseWaitLeak => "close_wait_leak",
            AlertKind::HalfOpenMismatch => "half_open_mismatch",
            AlertKind::BacklogClamped => "backlog_clamped",
        }
    }

    /// A short headline for people, e.g. `backlog full`.
    pub fn title(self) -> &'static str {
        match self {
            AlertKind::BacklogFull => "backlog full",
            AlertKind::BacklogNearlyFull => "backlog nearly full",
            AlertKind::OverflowUnattributed => "SYNs dropped, no full listener seen",
            AlertKind::SynQueuePressure => "SYN queue pressure",
            AlertKind::SynCookies => "SYN cookies sent",
            AlertKind::SynDrops => "SYNs dropped",
            AlertKind::TimeWaitNearLimit => "TIME_WAIT near its limit",
            AlertKind::TimeWaitOverflow => "TIME_WAIT skipped",
            AlertKind::TimeWaitGrowth => "TIME_WAIT growing fast",
            AlertKind::PortExhaustion => "ephemeral ports running out",
            AlertKind::CloseWaitLeak => "CLOSE_WAIT leak",
            AlertKind::HalfOpenMismatch => "half-open mismatch",
            AlertKind::BacklogClamped => "backlog clamped by somaxconn",
        }
    }

    /// Whether the rule reads the whole socket table (states per port,
    /// SYN_RECV and CLOSE_WAIT sockets, destinations), rather than the
    /// listeners, counters and sockstat a LISTEN-only sample has. Under
    /// `--all-namespaces` such kinds are judged on each namespace's whole
    /// tables only (round-robin), and kept between them.
    pub fn needs_whole_table(self) -> bool {
        matches!(
            self,
            AlertKind::SynQueuePressure
                | AlertKind::TimeWaitGrowth
                | AlertKind::PortExhaustion
                | AlertKind::CloseWaitLeak
                | AlertKind::HalfOpenMismatch
        )
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One diagnosis. Identity is `(kind, subject)`: the same kind on the same
/// subject is one alert that stays active across evaluations.
///
/// Serializes (for JSON) as `kind`, `severity` (lowercase), `subject`,
/// `summary`, `cause`, `fix`, `message` (the three joined), `since_ms`,
/// `last_seen_ms`, `fire_count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    /// What it is about: `127.0.0.1:10000` (a listener), `port 10000`,
    /// `127.0.0.1 → 127.0.0.1:10000` (a destination), or the namespace
    /// (`host`, `pid 1234`) for namespace-wide counters.
    pub subject: String,
    pub severity: Severity,
    /// One line: what happened, with numbers.
    pub summary: String,
    /// Which socket call or setting is behind it.
    pub cause: String,
    /// What to change.
    pub fix: String,
    /// The first evaluation (ms) in which the condition was seen, for this raise.
    pub since_ms: u64,
    /// The latest evaluation (ms) in which the condition was seen.
    pub last_seen_ms: u64,
    /// How many times this kind+subject has been raised (1 on the first raise).
    pub fire_count: u32,
}

impl Alert {
    /// Summary, cause and fix as one text: `summary. Cause: …. Fix: ….`
    pub fn message(&self) -> String {
        format!(
            "{}. Cause: {}. Fix: {}.",
            self.summary, self.cause, self.fix
        )
    }

    /// How long the condition has lasted at `now_ms`.
    #[cfg(test)]
    pub(crate) fn age_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.since_ms)
    }
}

impl Serialize for Alert {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Alert", 10)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("subject", &self.subject)?;
        s.serialize_field("summary", &self.summary)?;
        s.serialize_field("cause", &self.cause)?;
        s.serialize_field("fix", &self.fix)?;
        s.serialize_field("message", &self.message())?;
        s.serialize_field("since_ms", &self.since_ms)?;
        s.serialize_field("last_seen_ms", &self.last_seen_ms)?;
        s.serialize_field("fire_count", &self.fire_count)?;
        s.end()
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<8} {} {}: {}",
            self.severity.name(),
            self.kind.name(),
            self.subject,
            self.summary
        )
    }
}

/// One line of text for an alert: severity, kind, subject and summary.
#[cfg(test)]
pub(crate) fn render_line(alert: &Alert) -> String {
    alert.to_string()
}

/// What changed in one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", content = "alert", rename_all = "lowercase")]
pub enum AlertEvent {
    /// The alert appeared, or its severity rose while active (same
    /// `fire_count` then: it is the same occurrence, now worse).
    Raised(Alert),
    /// The condition has been absent for the configured number of
    /// evaluations; carries the alert as it was last seen.
    Cleared(Alert),
}

impl AlertEvent {
    pub fn alert(&self) -> &Alert {
        match self {
            AlertEvent::Raised(alert) | AlertEvent::Cleared(alert) => alert,
        }
    }

    pub fn is_raised(&self) -> bool {
        matches!(self, AlertEvent::Raised(_))
    }
}

/// Whether a finding comes from a level seen in the snapshot (which may be a
/// transient blip) or from a counter that rose (something did happen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    Level,
    Event,
}

/// What a rule found in one evaluation, before the lifecycle decides whether
/// it is raised, kept or pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub kind: AlertKind,
    pub subject: String,
    pub severity: Severity,
    pub evidence: Evidence,
    pub summary: String,
    pub cause: String,
    pub fix: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Alert {
        Alert {
            kind: AlertKind::BacklogFull,
            subject: "127.0.0.1:10000".to_string(),
            severity: Severity::Critical,
            summary: "accept queue full".to_string(),
            cause: "no accept()".to_string(),
            fix: "call accept()".to_string(),
            since_ms: 1000,
            last_seen_ms: 3000,
            fire_count: 1,
        }
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Warning < Severity::Critical);
    }

    #[test]
    fn names_match_serde_names() {
        for kind in AlertKind::ALL {
            let json = serde_json::to_string(&kind).expect("json");
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            let json = serde_json::to_string(&severity).expect("json");
            assert_eq!(json, format!("\"{}\"", severity.name()));
        }
    }

    #[test]
    fn message_and_line_read_well() {
        let alert = sample();
        assert_eq!(
            alert.message(),
            "accept queue full. Cause: no accept(). Fix: call accept()."
        );
        assert_eq!(
            render_line(&alert),
            "critical backlog_full 127.0.0.1:10000: accept queue full"
        );
        assert_eq!(alert.age_ms(4000), 3000);
    }

    #[test]
    fn events_serialize_with_a_tag() {
        let json = serde_json::to_value(AlertEvent::Raised(sample())).expect("json");
        assert_eq!(json["event"], "raised");
        assert_eq!(json["alert"]["kind"], "backlog_full");
        assert_eq!(json["alert"]["severity"], "critical");
        assert_eq!(json["alert"]["since_ms"], 1000);
        assert_eq!(json["alert"]["subject"], "127.0.0.1:10000");
        assert_eq!(
            json["alert"]["message"],
            "accept queue full. Cause: no accept(). Fix: call accept()."
        );
        assert_eq!(json["alert"]["fire_count"], 1);
    }
}
