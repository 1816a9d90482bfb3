//! The life of an alert: pending, raised, kept, cleared. Turns each
//! evaluation's findings into `AlertEvent`s with hysteresis, and remembers
//! fire counts per identity.
//!
//! Owns: `Lifecycle`. Must not: look at snapshots or decide what is wrong
//! (rules do); it only sees findings and `now_ms`.

use std::collections::{BTreeMap, HashMap};

use super::{Alert, AlertEvent, AlertKind, Evidence, Finding, Severity};

type AlertId = (AlertKind, String);

#[derive(Debug, Clone)]
struct Tracked {
    alert: Alert,
    raised: bool,
    /// Consecutive evaluations with the condition present (pending alerts).
    present: u32,
    /// Consecutive evaluations with the condition absent (raised alerts).
    absent: u32,
}

/// Active and pending alerts, with the fire counts of past ones.
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    raise_after: u32,
    clear_after: u32,
    memory: usize,
    tracked: BTreeMap<AlertId, Tracked>,
    /// Identity → (times raised, last evaluation it was seen).
    fire_counts: HashMap<AlertId, (u32, u64)>,
}

impl Lifecycle {
    pub fn new(raise_after: u32, clear_after: u32, memory: usize) -> Lifecycle {
        Lifecycle {
            raise_after: raise_after.max(1),
            clear_after: clear_after.max(1),
            memory: memory.max(1),
            tracked: BTreeMap::new(),
            fire_counts: HashMap::new(),
        }
    }

    /// Applies one evaluation's findings. Events come out raised first, then
    /// cleared, each by severity (highest first), kind and subject.
    pub fn apply(&mut self, findings: Vec<Finding>, now_ms: u64) -> Vec<AlertEvent> {
        let mut seen: BTreeMap<AlertId, Finding> = BTreeMap::new();
        for finding in findings {
            let id = (finding.kind, finding.subject.clone());
            match seen.get(&id) {
                // Two findings for one identity (e.g. SO_REUSEPORT listeners
                // on one address): keep the worse, else the first.
                Some(kept) if kept.severity >= finding.severity => {}
                _ => {
                    seen.insert(id, finding);
                }
            }
        }

        let mut events = Vec::new();
        let absent: Vec<AlertId> = self
            .tracked
            .keys()
            .filter(|id| !seen.contains_key(*id))
            .cloned()
            .collect();
        for id in absent {
            let Some(entry) = self.tracked.get_mut(&id) else {
                continue;
            };
            if !entry.raised {
                self.tracked.remove(&id);
                continue;
            }
            entry.absent += 1;
            if entry.absent >= self.clear_after
                && let Some(entry) = self.tracked.remove(&id)
            {
                events.push(AlertEvent::Cleared(entry.alert));
            }
        }

        for (id, finding) in seen {
            let immediate =
                finding.severity == Severity::Critical || finding.evidence == Evidence::Event;
            let entry = self.tracked.entry(id.clone()).or_insert_with(|| Tracked {
                alert: Alert {
                    kind: finding.kind,
                    subject: finding.subject.clone(),
                    severity: finding.severity,
                    summary: String::new(),
                    cause: String::new(),
                    fix: String::new(),
                    since_ms: now_ms,
                    last_seen_ms: now_ms,
                    fire_count: 0,
                },
                raised: false,
                present: 0,
                absent: 0,
            });
            let escalated = entry.raised && finding.severity > entry.alert.severity;
            entry.present = entry.present.saturating_add(1);
            entry.absent = 0;
            entry.alert.severity = finding.severity;
            entry.alert.summary = finding.summary;
            entry.alert.cause = finding.cause;
            entry.alert.fix = finding.fix;
            entry.alert.last_seen_ms = now_ms;
            if !entry.raised && (immediate || entry.present >= self.raise_after) {
                entry.raised = true;
                let count = self.fire_counts.entry(id).or_insert((0, now_ms));
                count.0 = count.0.saturating_add(1);
                count.1 = now_ms;
                entry.alert.fire_count = count.0;
                events.push(AlertEvent::Raised(entry.alert.clone()));
            } else if escalated {
                events.push(AlertEvent::Raised(entry.alert.clone()));
            }
        }

        for (id, entry) in &self.tracked {
            if entry.raised
                && let Some(count) = self.fire_counts.get_mut(id)
            {
                count.1 = now_ms;
            }
        }
        self.forget_old_fire_counts();

        events.sort_by(|a, b| {
            let key = |e: &AlertEvent| {
                let alert = e.alert();
                (
                    !e.is_raised(),
                    std::cmp::Reverse(alert.severity),
                    alert.kind,
                    alert.subject.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        events
    }

    /// Raised alerts, most severe first, then by kind and subject.
    pub fn active(&self) -> impl Iterator<Item = &Alert> + '_ {
        let mut alerts: Vec<&Alert> = self
            .tracked
            .values()
            .filter(|t| t.raised)
            .map(|t| &t.alert)
            .collect();
        alerts.sort_by(|a, b| {
            (std::cmp::Reverse(a.severity), a.kind, &a.subject).cmp(&(
                std::cmp::Reverse(b.severity),
                b.kind,
                &b.subject,
            ))
        });
        alerts.into_iter()
    }

    /// Identities whose fire count is remembered (for tests of the bound).
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.fire_counts.len()
    }

    /// Drops the least recently seen fire counts beyond the memory bound,
    /// never those of alerts still tracked.
    fn forget_old_fire_counts(&mut self) {
        if self.fire_counts.len() <= self.memory {
            return;
        }
        let mut idle: Vec<(u64, AlertId)> = self
            .fire_counts
            .iter()
            .filter(|(id, _)| !self.tracked.contains_key(*id))
            .map(|(id, (_, last))| (*last, id.clone()))
            .collect();
        idle.sort();
        let excess = self.fire_counts.len() - self.memory;
        for (_, id) in idle.into_iter().take(excess) {
            self.fire_counts.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: AlertKind, subject: &str, severity: Severity, evidence: Evidence) -> Finding {
        Finding {
            kind,
            subject: subject.to_string(),
            severity,
            evidence,
            summary: format!("{} on {subject}", kind.name()),
            cause: "cause".to_string(),
            fix: "fix".to_string(),
        }
    }

    fn warn(subject: &str) -> Finding {
        finding(
            AlertKind::BacklogNearlyFull,
            subject,
            Severity::Warning,
            Evidence::Level,
        )
    }

    fn crit(subject: &str) -> Finding {
        finding(
            AlertKind::BacklogFull,
            subject,
            Severity::Critical,
            Evidence::Level,
        )
    }

    #[test]
    fn critical_raises_at_once_and_clears_after_k_absences() {
        let mut life = Lifecycle::new(2, 2, 16);
        let events = life.apply(vec![crit("a")], 1000);
        assert!(
            matches!(&events[..], [AlertEvent::Raised(a)] if a.fire_count == 1 && a.since_ms == 1000)
        );
        assert!(
            life.apply(vec![crit("a")], 2000).is_empty(),
            "still active: no event"
        );
        assert_eq!(life.active().next().map(|a| a.last_seen_ms), Some(2000));
        assert!(
            life.apply(vec![], 3000).is_empty(),
            "one absence is not enough"
        );
        let events = life.apply(vec![], 4000);
        assert!(matches!(&events[..], [AlertEvent::Cleared(a)] if a.last_seen_ms == 2000));
        assert_eq!(life.active().count(), 0);
    }

    #[test]
    fn warning_level_waits_for_raise_after_but_counter_evidence_does_not() {
        let mut life = Lifecycle::new(2, 2, 16);
        assert!(life.apply(vec![warn("a")], 1000).is_empty(), "pending");
        assert_eq!(life.active().count(), 0);
        let events = life.apply(vec![warn("a")], 2000);
        assert!(matches!(&events[..], [AlertEvent::Raised(a)] if a.since_ms == 1000));

        let mut life = Lifecycle::new(2, 2, 16);
        let counter = finding(
            AlertKind::SynCookies,
            "host",
            Severity::Warning,
            Evidence::Event,
        );
        assert_eq!(life.apply(vec![counter], 1000).len(), 1);
    }

    #[test]
    fn a_blip_does_not_raise_a_warning() {
        let mut life = Lifecycle::new(2, 2, 16);
        for tick in 0..6 {
            let findings = if tick % 2 == 0 {
                vec![warn("a")]
            } else {
                vec![]
            };
            assert!(life.apply(findings, tick * 1000).is_empty());
        }
    }

    #[test]
    fn hovering_at_the_edge_does_not_flap() {
        let mut life = Lifecycle::new(2, 2, 16);
        let mut events = Vec::new();
        events.extend(life.apply(vec![warn("a")], 1000));
        events.extend(life.apply(vec![warn("a")], 2000));
        for tick in 3..20 {
            let findings = if tick % 2 == 0 {
                vec![warn("a")]
            } else {
                vec![]
            };
            events.extend(life.apply(findings, tick * 1000));
        }
        assert_eq!(events.len(), 1, "one raise, no clear: {events:?}");
        assert_eq!(life.active().count(), 1);
    }

    #[test]
    fn re_raise_counts_fires_and_escalation_reports_again() {
        let mut life = Lifecycle::new(1, 1, 16);
        life.apply(vec![crit("a")], 1000);
        life.apply(vec![], 2000);
        let events = life.apply(vec![crit("a")], 3000);
        assert!(
            matches!(&events[..], [AlertEvent::Raised(a)] if a.fire_count == 2 && a.since_ms == 3000)
        );

        let mut life = Lifecycle::new(1, 1, 16);
        let low = finding(
            AlertKind::PortExhaustion,
            "p",
            Severity::Warning,
            Evidence::Level,
        );
        let high = finding(
            AlertKind::PortExhaustion,
            "p",
            Severity::Critical,
            Evidence::Level,
        );
        assert_eq!(life.apply(vec![low.clone()], 4000).len(), 1);
        let events = life.apply(vec![high], 5000);
        assert!(
            matches!(&events[..], [AlertEvent::Raised(a)] if a.severity == Severity::Critical && a.fire_count == 1)
        );
        assert!(
            life.apply(vec![low], 6000).is_empty(),
            "de-escalation is quiet"
        );
    }

    #[test]
    fn active_is_sorted_and_duplicates_keep_the_worst() {
        let mut life = Lifecycle::new(1, 1, 16);
        let info = finding(
            AlertKind::BacklogClamped,
            "z",
            Severity::Info,
            Evidence::Level,
        );
        let dup = finding(
            AlertKind::BacklogFull,
            "b",
            Severity::Warning,
            Evidence::Level,
        );
        life.apply(vec![info, warn("b"), crit("b"), dup, crit("a")], 1000);
        let order: Vec<(Severity, &str, &str)> = life
            .active()
            .map(|a| (a.severity, a.kind.name(), a.subject.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                (Severity::Critical, "backlog_full", "a"),
                (Severity::Critical, "backlog_full", "b"),
                (Severity::Warning, "backlog_nearly_full", "b"),
                (Severity::Info, "backlog_clamped", "z"),
            ]
        );
    }

    #[test]
    fn fire_counts_are_bounded() {
        let mut life = Lifecycle::new(1, 1, 4);
        for i in 0..20u64 {
            life.apply(vec![crit(&format!("s{i}"))], i * 1000);
        }
        life.apply(vec![], 100_000);
        assert!(life.remembered() <= 4, "{}", life.remembered());
    }
}
