//! The population plan: how many sockets of each kind a table of N holds,
//! and how they are spread over holder processes and loopback addresses.
//!
//! Owns: the mix (40% ESTABLISHED, 55% TIME_WAIT, 2.5% FIN_WAIT2 + 2.5%
//! CLOSE_WAIT, listeners), the address plan and the per-holder shares. Must
//! not: open sockets (that is `holder`).

use std::net::Ipv4Addr;

/// Service ports and their share of connections, in tenths.
pub const SERVICES: [(u16, usize); 3] = [(BUSY_PORT, 5), (5432, 3), (6379, 2)];
/// The busy port: the `--port` tick and `ss` filter watch it.
pub const BUSY_PORT: u16 = 8080;
/// The listener with `listen(1)` and a full accept queue (holder 0).
pub const FULL_QUEUE_PORT: u16 = 7000;
pub const FULL_QUEUE_ADDR: Ipv4Addr = Ipv4Addr::new(127, 3, 0, 1);
/// Clients aimed at the full listener: two fill its queue, one stays SYN_SENT.
pub const FULL_QUEUE_CLIENTS: usize = 3;
/// Idle listeners of holder 0: 0.0.0.0:22 and [::]:443.
pub const IDLE_PORTS: [u16; 2] = [22, 443];

/// File descriptors one holder may keep open (the hard limit is 20,000 per
/// process; the rest covers listeners, stdio and a batch in flight).
pub const HELD_FDS_PER_HOLDER: usize = 18_000;
/// Connections opened per batch (connect all, then accept all).
pub const BATCH: usize = 512;

/// One holder's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolderPlan {
    pub index: usize,
    /// Established pairs kept open (two ESTABLISHED sockets each), IPv4.
    pub established_pairs: usize,
    /// Of which this many are IPv6 (::1 → [::1]:8080), holder 0 only.
    pub ipv6_pairs: usize,
    /// Pairs half-closed by the client: FIN_WAIT2 + CLOSE_WAIT.
    pub half_closed_pairs: usize,
    /// Connections opened and closed by the client: TIME_WAIT.
    pub time_wait: usize,
    /// Holder 0 also opens the full-queue and idle listeners.
    pub extras: bool,
}

impl HolderPlan {
    pub const ENV: &'static str = "TCPWATCH_BENCH_HOLDER";

    pub fn held_fds(&self) -> usize {
        2 * (self.established_pairs + self.half_closed_pairs)
    }

    pub fn to_env(self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.index,
            self.established_pairs,
            self.ipv6_pairs,
            self.half_closed_pairs,
            self.time_wait,
            u8::from(self.extras)
        )
    }

    pub fn from_env(text: &str) -> Result<HolderPlan, String> {
        let numbers: Vec<usize> = text
            .split_whitespace()
            .map(|n| n.parse().map_err(|_| format!("bad holder plan {text:?}")))
            .collect::<Result<_, _>>()?;
        let [
            index,
            established_pairs,
            ipv6_pairs,
            half_closed_pairs,
            time_wait,
            extras,
        ] = numbers[..]
        else {
            return Err(format!("bad holder plan {text:?}"));
        };
        Ok(HolderPlan {
            index,
            established_pairs,
            ipv6_pairs,
            half_closed_pairs,
            time_wait,
            extras: extras != 0,
        })
    }

    /// The listener address of this holder's services: 127.2.<index>.1.
    pub fn service_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(127, 2, self.index as u8, 1)
    }

    /// The source address of this holder's i-th connection: many clients
    /// (127.<10+index>.x.y, 62,500 of them) so no (source, destination,
    /// port) triple runs out of ephemeral ports.
    pub fn client_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(
            127,
            10 + self.index as u8,
            1 + ((i / 250) % 250) as u8,
            1 + (i % 250) as u8,
        )
    }
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub size: usize,
    pub holders: Vec<HolderPlan>,
}

/// Socket counts by state the plan should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expected {
    pub established: usize,
    pub time_wait: usize,
    pub fin_wait2: usize,
    pub close_wait: usize,
    pub listen: usize,
    pub syn_sent: usize,
    /// IPv6 client ends, all from ::1 to [::1]:8080: the one destination
    /// that holds more than a few ephemeral ports.
    pub ipv6_clients: usize,
}

impl Expected {
    pub fn total(&self) -> usize {
        self.established
            + self.time_wait
            + self.fin_wait2
            + self.close_wait
            + self.listen
            + self.syn_sent
    }
}

impl Plan {
    pub fn new(size: usize) -> Plan {
        let time_wait = size * 55 / 100;
        let half_closed_pairs = size * 25 / 1000;
        let fixed = 2 + FULL_QUEUE_CLIENTS + 1 + IDLE_PORTS.len() + 1;
        let established_pairs = (size - time_wait - 2 * half_closed_pairs - fixed) / 2;
        let held = 2 * (established_pairs + half_closed_pairs);
        // At least two holders, so both cores build in parallel.
        let count = held.div_ceil(HELD_FDS_PER_HOLDER).max(2);
        // Leave room for the listener sockets in the total.
        let established_pairs = established_pairs.saturating_sub(SERVICES.len() * count / 2);
        let share = |total: usize, i: usize| total / count + usize::from(i < total % count);
        let ipv6_pairs = (established_pairs / 100).min(10_000);
        let holders = (0..count)
            .map(|index| HolderPlan {
                index,
                established_pairs: share(established_pairs, index),
                ipv6_pairs: if index == 0 { ipv6_pairs } else { 0 },
                half_closed_pairs: share(half_closed_pairs, index),
                time_wait: share(time_wait, index),
                extras: index == 0,
            })
            .collect();
        Plan { size, holders }
    }

    pub fn expected(&self) -> Expected {
        let sum = |f: fn(&HolderPlan) -> usize| self.holders.iter().map(f).sum::<usize>();
        Expected {
            // Two ends of each pair, plus the two queued on the full
            // listener (client and server side each).
            established: 2 * sum(|h| h.established_pairs) + 4,
            time_wait: sum(|h| h.time_wait),
            fin_wait2: sum(|h| h.half_closed_pairs),
            close_wait: sum(|h| h.half_closed_pairs),
            listen: SERVICES.len() * self.holders.len() + 1 + 1 + IDLE_PORTS.len(),
            syn_sent: FULL_QUEUE_CLIENTS - 2,
            ipv6_clients: sum(|h| h.ipv6_pairs),
        }
    }
}

/// Why a size cannot be built on this machine, if it cannot: a held socket
/// costs the kernel about 4 KiB, a TIME_WAIT one about 0.5 KiB; we want
/// twice that free.
pub fn memory_shortfall(size: usize) -> Option<String> {
    let plan = Plan::new(size);
    let expected = plan.expected();
    let needed_kib = 2
        * (4 * (expected.established + expected.fin_wait2 + expected.close_wait)
            + expected.time_wait / 2);
    let available_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<usize>()
        .ok()?;
    (available_kib < needed_kib).then(|| {
        format!(
            "needs about {} MiB free, MemAvailable is {} MiB",
            needed_kib / 1024,
            available_kib / 1024
        )
    })
}
