//! A scripted `SnapshotSource`: plays back prepared snapshots (and failures)
//! for tests and the demo, with no kernel access.
//!
//! Owns: `ScriptedSource`, `ScriptStep`. Must not: touch the kernel or the
//! clock; times come from the script or from the caller.

use std::collections::VecDeque;

use super::{CollectError, SnapshotSource};
use crate::model::{Sampled, Snapshot, SocketRecord};

/// One step of a script.
#[derive(Debug, Clone)]
pub enum ScriptStep {
    Sample(Box<Snapshot>),
    /// A failed sample, with the reason the error carries.
    Fail(String),
}

/// Plays a script of snapshots. After the last step it repeats that step
/// (or starts over when looping).
#[derive(Debug, Clone)]
pub struct ScriptedSource {
    steps: Vec<ScriptStep>,
    next: usize,
    looping: bool,
    restamp: bool,
    listener_samples: VecDeque<Vec<SocketRecord>>,
    last_listeners: Vec<SocketRecord>,
}

impl ScriptedSource {
    pub fn new(snapshots: Vec<Snapshot>) -> ScriptedSource {
        ScriptedSource::from_steps(
            snapshots
                .into_iter()
                .map(|s| ScriptStep::Sample(Box::new(s)))
                .collect(),
        )
    }

    pub fn from_steps(steps: Vec<ScriptStep>) -> ScriptedSource {
        ScriptedSource {
            steps,
            next: 0,
            looping: false,
            restamp: false,
            listener_samples: VecDeque::new(),
            last_listeners: Vec::new(),
        }
    }

    /// Starts over after the last step instead of repeating it.
    pub fn looping(mut self) -> ScriptedSource {
        self.looping = true;
        self
    }

    /// Stamps each snapshot with the time passed to `sample` (for a demo that
    /// runs in real time) instead of the time in the script.
    pub fn restamped(mut self) -> ScriptedSource {
        self.restamp = true;
        self
    }

    fn next_step(&mut self) -> Option<ScriptStep> {
        let step = self.steps.get(self.next).cloned()?;
        self.next += 1;
        if self.next >= self.steps.len() {
            self.next = if self.looping {
                0
            } else {
                self.steps.len() - 1
            };
        }
        Some(step)
    }
}

impl SnapshotSource for ScriptedSource {
    fn sample(&mut self, taken_at_ms: u64) -> Result<Sampled, CollectError> {
        match self.next_step() {
            Some(ScriptStep::Sample(mut snapshot)) => {
                if self.restamp {
                    snapshot.taken_at_ms = taken_at_ms;
                }
                self.last_listeners = snapshot.listeners.clone();
                Ok(Sampled::from_snapshot(*snapshot))
            }
            Some(ScriptStep::Fail(reason)) => Err(CollectError::NetlinkDecode { reason }),
            None => Err(CollectError::NetlinkDecode {
                reason: "the script is empty".to_string(),
            }),
        }
    }

    fn sample_listeners(&mut self) -> Result<Vec<SocketRecord>, CollectError> {
        Ok(self
            .listener_samples
            .pop_front()
            .unwrap_or_else(|| self.last_listeners.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceKind;
    use crate::model::socket::fixtures::listener;

    #[test]
    fn plays_steps_then_repeats_the_last() {
        let mut first = Snapshot::empty(1, SourceKind::Netlink);
        first.listeners.push(listener("127.0.0.1:10000", 2, 1));
        let steps = vec![
            ScriptStep::Sample(Box::new(first)),
            ScriptStep::Fail("boom".to_string()),
            ScriptStep::Sample(Box::new(Snapshot::empty(3, SourceKind::Proc))),
        ];
        let mut source = ScriptedSource::from_steps(steps);
        assert_eq!(
            source.sample(100).map(|s| s.snapshot.taken_at_ms).ok(),
            Some(1)
        );
        assert_eq!(source.sample_listeners().map(|l| l.len()).ok(), Some(1));
        let error = source.sample(200).expect_err("scripted failure");
        assert!(error.to_string().contains("boom"), "{error}");
        assert_eq!(
            source.sample(300).map(|s| s.snapshot.taken_at_ms).ok(),
            Some(3)
        );
        assert_eq!(
            source.sample(400).map(|s| s.snapshot.taken_at_ms).ok(),
            Some(3)
        );
    }

    #[test]
    fn restamps_and_loops_for_the_demo() {
        let script = vec![
            Snapshot::empty(1, SourceKind::Netlink),
            Snapshot::empty(2, SourceKind::Netlink),
        ];
        let mut source = ScriptedSource::new(script).looping().restamped();
        let times: Vec<u64> = (0..3)
            .filter_map(|i| source.sample(1_000 + i).ok())
            .map(|s| s.snapshot.taken_at_ms)
            .collect();
        assert_eq!(times, [1_000, 1_001, 1_002]);
        assert!(ScriptedSource::new(Vec::new()).sample(0).is_err());
    }
}
