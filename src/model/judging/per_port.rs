//! Per service port: TIME_WAIT (who closed first, and how long ago from the
//! TIME_WAIT timer) and CLOSE_WAIT (which side, with a sample of owner
//! inodes); per remote endpoint: SYN_SENT clients and their retransmits.
//!
//! Owns: `PortTimeWait`, `PortCloseWait`, `SynSentTarget`, `PortCounter`.
//! Must not: judge or know the evaluation interval (ages are kept, so any
//! interval can be asked).

use std::net::SocketAddr;

use foldhash::HashMap;

use super::OWNER_SAMPLE;
use crate::model::socket::{SocketRecord, TimerKind};
use crate::model::state::TcpState;

/// TIME_WAIT lasts TCP_TIMEWAIT_LEN, 60 s, on Linux.
pub const TIME_WAIT_MS: u64 = 60_000;

/// TIME_WAIT sockets of one service port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortTimeWait {
    pub port: u16,
    pub total: u64,
    /// Local port is the service port: this host's server closed first.
    pub server_closed: u64,
    /// Remote port is the service port: this host's clients closed first.
    pub client_closed: u64,
    /// For each socket whose TIME_WAIT timer shows, how long it has been in
    /// TIME_WAIT (60 s minus the time left), in ms.
    pub ages_ms: Vec<u16>,
}

impl PortTimeWait {
    /// How many entered TIME_WAIT within the last `interval_ms`, by their
    /// timers (0 for an interval of 0).
    pub fn entered_within(&self, interval_ms: u64) -> u64 {
        if interval_ms == 0 {
            return 0;
        }
        let window = interval_ms.min(TIME_WAIT_MS);
        self.ages_ms
            .iter()
            .filter(|age| u64::from(**age) < window)
            .count() as u64
    }
}

/// CLOSE_WAIT sockets of one service port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortCloseWait {
    pub port: u16,
    pub total: u64,
    /// Local port is the service port (the server did not close).
    pub server_side: u64,
    /// Owner inodes in dump order (0 when not accept()ed), the first
    /// `OWNER_SAMPLE`.
    pub inodes: Vec<u64>,
}

/// SYN_SENT sockets aimed at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynSentTarget {
    pub remote: SocketAddr,
    pub count: u64,
    pub max_retransmits: u8,
}

const NO_ENTRY: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub(super) struct PortCounter {
    /// Port → index into `time_wait`, dense: TIME_WAIT is the bulk of a
    /// busy table.
    time_wait_of_port: Vec<u32>,
    time_wait: Vec<PortTimeWait>,
    close_wait_of_port: HashMap<u16, usize>,
    close_wait: Vec<PortCloseWait>,
    syn_sent: HashMap<SocketAddr, (u64, u8)>,
}

impl PortCounter {
    pub fn add(&mut self, record: &SocketRecord, port: u16) {
        match record.state {
            TcpState::TimeWait => self.add_time_wait(record, port),
            TcpState::CloseWait => self.add_close_wait(record, port),
            TcpState::SynSent => {
                let entry = self.syn_sent.entry(record.remote).or_default();
                entry.0 += 1;
                entry.1 = entry.1.max(record.retransmits);
            }
            _ => {}
        }
    }

    /// Forgets every count, clearing only the index slots used.
    pub fn reset(&mut self) {
        self.forget_time_wait_slots();
        self.time_wait.clear();
        self.close_wait.clear();
        self.close_wait_of_port.clear();
        self.syn_sent.clear();
    }

    fn forget_time_wait_slots(&mut self) {
        for entry in &self.time_wait {
            if let Some(slot) = self.time_wait_of_port.get_mut(usize::from(entry.port)) {
                *slot = NO_ENTRY;
            }
        }
    }

    fn add_time_wait(&mut self, record: &SocketRecord, port: u16) {
        if self.time_wait_of_port.is_empty() {
            self.time_wait_of_port = vec![NO_ENTRY; usize::from(u16::MAX) + 1];
        }
        let slot = &mut self.time_wait_of_port[usize::from(port)];
        if *slot == NO_ENTRY {
            *slot = u32::try_from(self.time_wait.len()).unwrap_or(NO_ENTRY - 1);
            self.time_wait.push(PortTimeWait {
                port,
                ..PortTimeWait::default()
            });
        }
        let Some(entry) = self.time_wait.get_mut(*slot as usize) else {
            return;
        };
        entry.total += 1;
        if record.local.port() == port {
            entry.server_closed += 1;
        } else {
            entry.client_closed += 1;
        }
        let expires = u64::from(record.timer_expires_ms);
        if record.timer == TimerKind::TimeWait && expires <= TIME_WAIT_MS {
            // Fits: TIME_WAIT_MS < 2^16.
            entry.ages_ms.push((TIME_WAIT_MS - expires) as u16);
        }
    }

    fn add_close_wait(&mut self, record: &SocketRecord, port: u16) {
        let next = self.close_wait.len();
        let index = *self.close_wait_of_port.entry(port).or_insert(next);
        if index == next {
            self.close_wait.push(PortCloseWait {
                port,
                ..PortCloseWait::default()
            });
        }
        let entry = &mut self.close_wait[index];
        entry.total += 1;
        if record.local.port() == port {
            entry.server_side += 1;
        }
        if entry.inodes.len() < OWNER_SAMPLE {
            entry.inodes.push(record.inode);
        }
    }

    /// The per-port and per-target counts, sorted. Leaves the counter empty
    /// for the next sample, its port index kept (64k slots, reset one by one).
    pub fn finish(&mut self) -> (Vec<PortTimeWait>, Vec<PortCloseWait>, Vec<SynSentTarget>) {
        let mut syn_sent: Vec<SynSentTarget> = self
            .syn_sent
            .drain()
            .map(|(remote, (count, max_retransmits))| SynSentTarget {
                remote,
                count,
                max_retransmits,
            })
            .collect();
        syn_sent.sort_unstable_by_key(|t| t.remote);
        let mut close_wait = std::mem::take(&mut self.close_wait);
        close_wait.sort_unstable_by_key(|p| p.port);
        self.forget_time_wait_slots();
        let mut time_wait = std::mem::take(&mut self.time_wait);
        time_wait.sort_unstable_by_key(|p| p.port);
        self.reset();
        (time_wait, close_wait, syn_sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;

    fn time_wait(local: &str, remote: &str, expires_ms: u32) -> SocketRecord {
        let mut rec = record(TcpState::TimeWait, local, remote);
        rec.timer = TimerKind::TimeWait;
        rec.timer_expires_ms = expires_ms;
        rec
    }

    #[test]
    fn time_wait_ages_answer_any_interval() {
        let mut counter = PortCounter::default();
        // Entered 0.5 s, 1.5 s and 30 s ago.
        counter.add(&time_wait("127.0.0.1:80", "127.0.0.1:40000", 59_500), 80);
        counter.add(&time_wait("127.0.0.1:40001", "127.0.0.1:80", 58_500), 80);
        counter.add(&time_wait("127.0.0.1:80", "127.0.0.1:40002", 30_000), 80);
        let mut no_timer = record(TcpState::TimeWait, "127.0.0.1:80", "127.0.0.1:40003");
        no_timer.timer_expires_ms = 59_999;
        counter.add(&no_timer, 80);
        let (tw, _, _) = counter.finish();
        let port = &tw[0];
        assert_eq!(
            (port.total, port.server_closed, port.client_closed),
            (4, 3, 1)
        );
        assert_eq!(port.entered_within(0), 0);
        assert_eq!(port.entered_within(1_000), 1);
        assert_eq!(port.entered_within(2_000), 2);
        assert_eq!(port.entered_within(120_000), 3, "every timed socket");
    }

    #[test]
    fn close_wait_keeps_a_bounded_inode_sample() {
        let mut counter = PortCounter::default();
        for i in 0..(OWNER_SAMPLE as u64 + 10) {
            let mut rec = record(
                TcpState::CloseWait,
                "127.0.0.1:80",
                &format!("127.0.0.1:{}", 40000 + i),
            );
            rec.inode = i + 1;
            counter.add(&rec, 80);
        }
        counter.add(
            &record(TcpState::CloseWait, "127.0.0.1:40000", "127.0.0.1:81"),
            81,
        );
        let (_, cw, _) = counter.finish();
        assert_eq!(cw.len(), 2);
        assert_eq!(cw[0].total, OWNER_SAMPLE as u64 + 10);
        assert_eq!(cw[0].server_side, cw[0].total);
        assert_eq!(cw[0].inodes.len(), OWNER_SAMPLE);
        assert_eq!(cw[0].inodes[0], 1, "dump order");
        assert_eq!(cw[1].server_side, 0);
    }

    #[test]
    fn syn_sent_is_counted_per_target() {
        let mut counter = PortCounter::default();
        for retransmits in [0, 3, 1] {
            let mut rec = record(TcpState::SynSent, "127.0.0.1:40000", "127.0.0.1:7000");
            rec.retransmits = retransmits;
            counter.add(&rec, 7000);
        }
        let (_, _, syn_sent) = counter.finish();
        assert_eq!(syn_sent.len(), 1);
        assert_eq!((syn_sent[0].count, syn_sent[0].max_retransmits), (3, 3));
    }
}
