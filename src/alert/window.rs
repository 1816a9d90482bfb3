//! Every alert raised during a window of samples (`--once --for`): the ones
//! still active at its end with their latest numbers, and the ones that
//! cleared before it, said so in their summary.
//!
//! Owns: `RaisedDuring`. Must not: read the clock or judge samples; it reads
//! the events and active alerts the pipeline already judged.

use super::{Alert, AlertEvent, AlertKind};

/// What the summary of an alert that cleared before the end gains.
pub const CLEARED_NOTE: &str = " (raised during --for, cleared before its end)";

/// The alerts of a window, in the order they were first raised.
#[derive(Debug, Clone, Default)]
pub struct RaisedDuring {
    /// The latest version of each alert, and whether it is still active.
    entries: Vec<(Alert, bool)>,
}

impl RaisedDuring {
    /// Takes one judged sample: the alerts it raised and cleared, and every
    /// alert active after it.
    pub fn observe(&mut self, events: &[AlertEvent], active: &[Alert]) {
        for event in events {
            match event {
                AlertEvent::Raised(alert) => self.upsert(alert, true),
                AlertEvent::Cleared(alert) => self.upsert(alert, false),
            }
        }
        for alert in active {
            self.upsert(alert, true);
        }
    }

    fn upsert(&mut self, alert: &Alert, active: bool) {
        let key = |a: &Alert| -> (AlertKind, String) { (a.kind, a.subject.clone()) };
        match self.entries.iter_mut().find(|(a, _)| key(a) == key(alert)) {
            Some(entry) => *entry = (alert.clone(), active),
            None => self.entries.push((alert.clone(), active)),
        }
    }

    /// Every alert of the window; those no longer active say so.
    pub fn finish(self) -> Vec<Alert> {
        self.entries
            .into_iter()
            .map(|(mut alert, active)| {
                if !active {
                    alert.summary.push_str(CLEARED_NOTE);
                }
                alert
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    fn alert(kind: AlertKind, subject: &str, summary: &str) -> Alert {
        Alert {
            kind,
            subject: subject.to_string(),
            severity: Severity::Warning,
            summary: summary.to_string(),
            cause: "cause".to_string(),
            fix: "fix".to_string(),
            since_ms: 0,
            last_seen_ms: 0,
            fire_count: 1,
        }
    }

    #[test]
    fn keeps_every_alert_of_the_window_with_its_latest_numbers() {
        let leak = |n: &str| alert(AlertKind::CloseWaitLeak, "port 80", n);
        let burst = alert(AlertKind::BacklogFull, "127.0.0.1:80", "2/1 FULL");
        let mut window = RaisedDuring::default();
        window.observe(&[], &[]);
        window.observe(
            &[AlertEvent::Raised(burst.clone())],
            std::slice::from_ref(&burst),
        );
        window.observe(&[AlertEvent::Cleared(burst.clone())], &[]);
        window.observe(
            &[AlertEvent::Raised(leak("3 sockets"))],
            &[leak("3 sockets")],
        );
        window.observe(&[], &[leak("5 sockets")]);
        let alerts = window.finish();
        assert_eq!(alerts.len(), 2);
        assert_eq!(
            alerts[0].kind,
            AlertKind::BacklogFull,
            "order of first raise"
        );
        assert!(
            alerts[0].summary.ends_with(CLEARED_NOTE),
            "{}",
            alerts[0].summary
        );
        assert_eq!(
            alerts[1].summary, "5 sockets",
            "the latest numbers, not cleared"
        );
    }

    #[test]
    fn an_alert_raised_again_after_clearing_is_active() {
        let full = alert(AlertKind::BacklogFull, "127.0.0.1:80", "2/1 FULL");
        let mut window = RaisedDuring::default();
        window.observe(
            &[AlertEvent::Raised(full.clone())],
            std::slice::from_ref(&full),
        );
        window.observe(&[AlertEvent::Cleared(full.clone())], &[]);
        window.observe(
            &[AlertEvent::Raised(full.clone())],
            std::slice::from_ref(&full),
        );
        assert_eq!(window.finish(), vec![full]);
    }

    #[test]
    fn an_empty_window_has_no_alerts() {
        assert!(RaisedDuring::default().finish().is_empty());
    }
}
