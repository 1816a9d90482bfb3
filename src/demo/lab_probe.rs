//! For tests: what the kernel's socket table says about the lab's ports,
//! read with the real sampler (sock_diag), as tcpwatch itself sees them.
//!
//! Owns: `LabProbe`. Must not: be built outside tests.

use std::thread;
use std::time::{Duration, Instant};

use super::lab::LabPorts;
use crate::collect::namespace::NetnsTarget;
use crate::collect::sampler::{Sampler, SamplerConfig};
use crate::collect::{SnapshotSource, SourceChoice};
use crate::model::{Filter, JudgingScope, Sampled, TcpState};

/// Samples the lab's ports.
pub(crate) struct LabProbe {
    sampler: Sampler,
}

impl LabProbe {
    pub(crate) fn open(ports: &LabPorts) -> LabProbe {
        let sampler = Sampler::open(SamplerConfig {
            source: SourceChoice::Netlink,
            target: NetnsTarget::Host,
            filter: Filter {
                ports: ports.all(),
                ..Filter::default()
            },
            scope: JudgingScope::default(),
        })
        .expect("sock_diag sampler on the lab's ports");
        LabProbe { sampler }
    }

    pub(crate) fn sample(&mut self, at_ms: u64) -> Sampled {
        self.sampler
            .sample(at_ms)
            .expect("a sample of the lab's ports")
    }

    /// How many sockets of `port` are in `state` now.
    pub(crate) fn count(&mut self, port: u16, state: TcpState) -> u64 {
        self.sample(crate::collect::clock::now_ms())
            .aggregates
            .port(port)
            .map_or(0, |row| row.counts.get(state))
    }

    /// How many sockets of `port` are in `state` once it reaches
    /// `expected` (the kernel's ACKs and RSTs take a moment), or after 5 s.
    pub(crate) fn settled(&mut self, port: u16, state: TcpState, expected: u64) -> u64 {
        self.once(expected, |probe| probe.count(port, state))
    }

    /// `queue`, once it is `expected` or after 5 s.
    pub(crate) fn queue_settled(
        &mut self,
        port: u16,
        expected: Option<(u32, Option<u32>)>,
    ) -> Option<(u32, Option<u32>)> {
        self.once(expected, |probe| probe.queue(port))
    }

    fn once<T: PartialEq>(&mut self, expected: T, mut read: impl FnMut(&mut Self) -> T) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let value = read(self);
            if value == expected || Instant::now() > deadline {
                return value;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The listener on `port`: its accept queue and backlog.
    pub(crate) fn queue(&mut self, port: u16) -> Option<(u32, Option<u32>)> {
        self.sample(crate::collect::clock::now_ms())
            .aggregates
            .listeners
            .iter()
            .find(|l| l.local.port() == port)
            .map(|l| (l.accept_queue, l.backlog))
    }
}
