//! The alerts the dashboard shows: the active ones and a bounded log of
//! raised/cleared events with their times.
//!
//! Owns: `AlertView` (the app's own picture of an alert, so any rule engine
//! can feed it), `AlertChange`, `AlertBoard`. Must not: decide what is wrong
//! (rules do), draw, or read the clock.

use std::collections::VecDeque;

/// Log entries kept at most.
pub(crate) const ALERT_LOG_CAPACITY: usize = 200;

pub use crate::alert::Severity;
use crate::alert::{Alert, AlertEvent};

/// Four-letter label for the alert list: `CRIT`, `WARN`, `INFO`.
pub(crate) fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFO",
        Severity::Warning => "WARN",
        Severity::Critical => "CRIT",
    }
}

/// One alert as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertView {
    /// The rule, e.g. `backlog_full`.
    pub kind: String,
    /// What it is about, e.g. `127.0.0.1:10000`.
    pub subject: String,
    /// The headline, e.g. `backlog full on 127.0.0.1:10000`.
    pub title: String,
    pub severity: Severity,
    pub summary: String,
    pub cause: String,
    pub fix: String,
    pub since_ms: u64,
    pub last_seen_ms: u64,
    pub fire_count: u32,
}

impl AlertView {
    fn same_alert(&self, other: &AlertView) -> bool {
        self.kind == other.kind && self.subject == other.subject
    }
}

impl From<&Alert> for AlertView {
    fn from(alert: &Alert) -> AlertView {
        AlertView {
            kind: alert.kind.name().to_string(),
            subject: alert.subject.clone(),
            title: format!("{} on {}", alert.kind.title(), alert.subject),
            severity: alert.severity,
            summary: alert.summary.clone(),
            cause: alert.cause.clone(),
            fix: alert.fix.clone(),
            since_ms: alert.since_ms,
            last_seen_ms: alert.last_seen_ms,
            fire_count: alert.fire_count,
        }
    }
}

impl From<&AlertEvent> for AlertChange {
    fn from(event: &AlertEvent) -> AlertChange {
        match event {
            AlertEvent::Raised(alert) => AlertChange::Raised(alert.into()),
            AlertEvent::Cleared(alert) => AlertChange::Cleared(alert.into()),
        }
    }
}

/// What a rule reports: an alert starts, or stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    Raised(AlertView),
    Cleared(AlertView),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEvent {
    Raised,
    Cleared,
    /// A kernel counter jumped (an RST sent, a queue overflowed…).
    Counter,
}

impl LogEvent {
    pub fn label(self) -> &'static str {
        match self {
            LogEvent::Raised => "RAISED",
            LogEvent::Cleared => "CLEARED",
            LogEvent::Counter => "COUNTER",
        }
    }
}

/// Runs of the same counter's jumps closer than this are one log entry.
const COUNTER_RUN_GAP_MS: u64 = 10_000;
/// How far back in the log a run of the same counter is looked for.
const COUNTER_RUN_LOOKBACK: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertLogEntry {
    pub at_ms: u64,
    pub event: LogEvent,
    pub alert: AlertView,
}

/// Active alerts (most severe first, then oldest) and the log (newest first).
#[derive(Debug, Clone, Default)]
pub struct AlertBoard {
    active: Vec<AlertView>,
    log: VecDeque<AlertLogEntry>,
}

impl AlertBoard {
    pub fn active(&self) -> &[AlertView] {
        &self.active
    }

    /// Newest first.
    pub fn log(&self) -> impl Iterator<Item = &AlertLogEntry> {
        self.log.iter()
    }

    /// Active alerts, then log entries: what the panel lists, in order.
    pub fn item_count(&self) -> usize {
        self.active.len() + self.log.len()
    }

    /// The alert behind the panel's `index`th item.
    pub fn item(&self, index: usize) -> Option<&AlertView> {
        match index.checked_sub(self.active.len()) {
            None => self.active.get(index),
            Some(i) => self.log.get(i).map(|e| &e.alert),
        }
    }

    /// Logs counter jumps seen at `at_ms`; a jump of a counter that also
    /// jumped moments ago extends that entry instead of adding one.
    pub fn log_counter_jumps(&mut self, at_ms: u64, jumps: Vec<AlertView>) {
        for jump in jumps {
            let run = self.log.iter_mut().take(COUNTER_RUN_LOOKBACK).find(|e| {
                e.event == LogEvent::Counter
                    && e.alert.subject == jump.subject
                    && at_ms.saturating_sub(e.alert.last_seen_ms) <= COUNTER_RUN_GAP_MS
            });
            match run {
                Some(entry) => super::counter_jumps::merge(&mut entry.alert, &jump),
                None => self.push_log(at_ms, LogEvent::Counter, jump),
            }
        }
    }

    pub(crate) fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Applies changes evaluated at `at_ms`.
    pub fn apply(&mut self, at_ms: u64, changes: Vec<AlertChange>) {
        for change in changes {
            match change {
                AlertChange::Raised(alert) => {
                    match self.active.iter_mut().find(|a| a.same_alert(&alert)) {
                        Some(existing) => *existing = alert.clone(),
                        None => self.active.push(alert.clone()),
                    }
                    self.push_log(at_ms, LogEvent::Raised, alert);
                }
                AlertChange::Cleared(alert) => {
                    self.active.retain(|a| !a.same_alert(&alert));
                    self.push_log(at_ms, LogEvent::Cleared, alert);
                }
            }
        }
        self.active
            .sort_by_key(|a| (std::cmp::Reverse(a.severity), a.since_ms));
    }

    /// Replaces the active alerts' details (numbers in the summary, last
    /// seen) with the engine's current view; raises and clears stay with
    /// `apply`, which also logs them.
    pub(crate) fn refresh_active(&mut self, current: &[AlertView]) {
        for alert in &mut self.active {
            if let Some(latest) = current.iter().find(|c| c.same_alert(alert)) {
                *alert = latest.clone();
            }
        }
    }

    fn push_log(&mut self, at_ms: u64, event: LogEvent, alert: AlertView) {
        if self.log.len() == ALERT_LOG_CAPACITY {
            self.log.pop_back();
        }
        self.log.push_front(AlertLogEntry {
            at_ms,
            event,
            alert,
        });
    }
}
