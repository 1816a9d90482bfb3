//! The one rule built into the app until the alert engine lands: "backlog
//! full" the moment a listener's accept queue exceeds its backlog (the
//! kernel's own test), cleared when it no longer does.
//!
//! Owns: `BacklogFullRule`. Must not: draw or read the clock. To switch to
//! the alert engine, feed its events through `App::apply_alert_events`
//! instead of calling this rule.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::alerts::{AlertChange, AlertView, Severity};
use crate::model::{Settings, SocketRecord, TcpState};

pub const KIND: &str = "backlog-full";

/// Raise counts kept for at most this many listeners.
const FIRE_COUNT_CAPACITY: usize = 256;

/// One listener's queue as a sample saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLevel {
    pub local: SocketAddr,
    pub accept_queue: u32,
    pub backlog: Option<u32>,
}

impl QueueLevel {
    pub fn from_record(record: &SocketRecord) -> Option<QueueLevel> {
        (record.state == TcpState::Listen).then(|| QueueLevel {
            local: record.local,
            accept_queue: record.recv_queue,
            backlog: record.backlog(),
        })
    }

    fn is_full(&self) -> bool {
        self.backlog.is_some_and(|b| self.accept_queue > b)
    }
}

#[derive(Debug, Clone, Default)]
pub struct BacklogFullRule {
    firing: HashMap<SocketAddr, AlertView>,
    fire_counts: HashMap<SocketAddr, u32>,
}

impl BacklogFullRule {
    /// Evaluates every listener of one sample (the full set: a listener
    /// missing from it is gone, and its alert clears).
    pub fn evaluate(
        &mut self,
        at_ms: u64,
        levels: &[QueueLevel],
        settings: &Settings,
    ) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        let mut still_full = Vec::new();
        for level in levels.iter().filter(|l| l.is_full()) {
            still_full.push(level.local);
            match self.firing.get_mut(&level.local) {
                Some(alert) => alert.last_seen_ms = at_ms,
                None => {
                    if self.fire_counts.len() >= FIRE_COUNT_CAPACITY
                        && !self.fire_counts.contains_key(&level.local)
                    {
                        self.fire_counts.clear();
                    }
                    let count = self.fire_counts.entry(level.local).or_default();
                    *count += 1;
                    let alert = backlog_full_alert(at_ms, level, *count, settings);
                    self.firing.insert(level.local, alert.clone());
                    changes.push(AlertChange::Raised(alert));
                }
            }
        }
        let cleared: Vec<SocketAddr> = self
            .firing
            .keys()
            .filter(|local| !still_full.contains(local))
            .copied()
            .collect();
        for local in cleared {
            if let Some(mut alert) = self.firing.remove(&local) {
                alert.last_seen_ms = at_ms;
                changes.push(AlertChange::Cleared(alert));
            }
        }
        changes
    }
}

fn backlog_full_alert(
    at_ms: u64,
    level: &QueueLevel,
    fire_count: u32,
    settings: &Settings,
) -> AlertView {
    let backlog = level.backlog.unwrap_or(0);
    let somaxconn = settings
        .somaxconn
        .map(|v| format!(" (capped by net.core.somaxconn = {v})"))
        .unwrap_or_else(|| " (capped by net.core.somaxconn)".to_string());
    AlertView {
        kind: KIND.to_string(),
        subject: level.local.to_string(),
        severity: Severity::Critical,
        summary: format!(
            "backlog full on {} ({}/{})",
            level.local, level.accept_queue, backlog
        ),
        cause: format!(
            "{} connections wait for accept(), listen({backlog}) holds {}: new SYNs are dropped, clients stay in SYN_SENT retrying their SYN (every 1 s at first on Linux 6.x, then 2, 4, 8… s)",
            level.accept_queue,
            backlog.saturating_add(1)
        ),
        fix: format!("make the process accept() faster, or raise its listen() backlog{somaxconn}"),
        since_ms: at_ms,
        last_seen_ms: at_ms,
        fire_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(queue: u32, backlog: Option<u32>) -> QueueLevel {
        QueueLevel {
            local: "127.0.0.1:10000".parse().expect("addr"),
            accept_queue: queue,
            backlog,
        }
    }

    #[test]
    fn raises_above_backlog_clears_below_and_counts_fires() {
        let mut rule = BacklogFullRule::default();
        let settings = Settings::default();
        assert!(rule.evaluate(0, &[level(1, Some(1))], &settings).is_empty());
        let raised = rule.evaluate(100, &[level(2, Some(1))], &settings);
        assert!(matches!(&raised[..], [AlertChange::Raised(a)] if a.summary.contains("(2/1)")));
        assert!(
            rule.evaluate(200, &[level(2, Some(1))], &settings)
                .is_empty()
        );
        let cleared = rule.evaluate(300, &[level(1, Some(1))], &settings);
        assert!(matches!(&cleared[..], [AlertChange::Cleared(a)] if a.last_seen_ms == 300));
        let again = rule.evaluate(400, &[level(2, Some(1))], &settings);
        assert!(matches!(&again[..], [AlertChange::Raised(a)] if a.fire_count == 2));
        let gone = rule.evaluate(500, &[], &settings);
        assert!(matches!(&gone[..], [AlertChange::Cleared(_)]));
    }

    #[test]
    fn unknown_backlog_never_fires() {
        let mut rule = BacklogFullRule::default();
        assert!(
            rule.evaluate(0, &[level(500, None)], &Settings::default())
                .is_empty()
        );
    }
}
